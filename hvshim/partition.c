/* SPDX-License-Identifier: MIT */
/*
 * Partition and VP life cycle, and the partition-level MSRs: GUEST_OS_ID,
 * HYPERCALL, VP_INDEX, RESET, VP_RUNTIME, GUEST_IDLE.
 */
#include "hvshim/internal.h"

void hv_config_defaults(struct hv_config *cfg, uint32_t nr_vps, uint64_t tsc_hz)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nr_vps = nr_vps;
    cfg->tsc_hz = tsc_hz;
    cfg->apic_hz = 1000000000ull;   /* KVM's and Xen's virtual LAPIC bus: 1 GHz */
    cfg->tsc_reliable = true;
    cfg->spin_retries = 2047;       /* what Windows on Hyper-V gets by default */
    /* Report a Windows Server 2019 era host: guests gate nothing on it. */
    cfg->version_build = 17763;
    cfg->version_major = 10;
    cfg->version_minor = 0;
}

/* Features that need a host op the host did not provide are dropped, so
 * CPUID never advertises what the host cannot do. */
static hv_features_t mask_by_host_ops(const struct hv_host_ops *o, hv_features_t f)
{
    if (!o->apic_eoi || !o->apic_icr_read || !o->apic_icr_write || !o->apic_tpr_read ||
        !o->apic_tpr_write)
        f &= ~(HV_FEATURE_BIT(HV_F_APIC_MSRS) | HV_FEATURE_BIT(HV_F_APIC_ASSIST));
    if (!o->xmm_read)
        f &= ~(HV_FEATURE_BIT(HV_F_XMM_INPUT) | HV_FEATURE_BIT(HV_F_XMM_OUTPUT));
    if (!o->xmm_write)
        f &= ~HV_FEATURE_BIT(HV_F_XMM_OUTPUT);
    if (!o->vp_runtime_ns)
        f &= ~HV_FEATURE_BIT(HV_F_VP_RUNTIME);
    if (!o->ipi_send)
        f &= ~HV_FEATURE_BIT(HV_F_HCALL_IPI);
    if (!o->tlb_flush)
        f &= ~HV_FEATURE_BIT(HV_F_HCALL_REMOTE_TLB_FLUSH);
    if (!o->switch_address_space)
        f &= ~HV_FEATURE_BIT(HV_F_ADDRESS_SPACE_SWITCH);
    if (!o->post_message)
        f &= ~HV_FEATURE_BIT(HV_F_POST_MESSAGES);
    if (!o->signal_event)
        f &= ~HV_FEATURE_BIT(HV_F_SIGNAL_EVENTS);
    if (!o->vp_idle)
        f &= ~HV_FEATURE_BIT(HV_F_GUEST_IDLE);
    if (!o->vp_yield)
        f &= ~HV_FEATURE_BIT(HV_F_SPIN_WAIT);
    if (!o->partition_event)
        f &= ~(HV_FEATURE_BIT(HV_F_RESET) | HV_FEATURE_BIT(HV_F_CRASH_CTL));
    return f;
}

static bool required_ops_present(const struct hv_host_ops *o)
{
    return o && o->gpa_read && o->gpa_write && o->page_map && o->page_unmap &&
           o->hypercall_page_fill && o->irq_inject && o->vp_kick && o->guest_tsc &&
           o->now_ns && o->timer_arm && o->timer_cancel;
}

static void vps_init(struct hv_partition *p, bool keep_stats)
{
    _Static_assert(sizeof(struct hv_stats) % sizeof(uint64_t) == 0, "stats are u64 counters");
    for (uint32_t i = 0; i < p->cfg.nr_vps; i++) {
        struct hv_vp *vp = &p->vps[i];
        struct hv_stats stats = vp->stats;
        memset(vp, 0, sizeof(*vp));
        if (keep_stats)
            vp->stats = stats;   /* counters span guest reboots */
        vp->partition = p;
        vp->index = i;
        hv_synic_vp_init(vp);
        hv_stimer_vp_init(vp);
    }
}

int hv_partition_init(struct hv_partition *p, const struct hv_host_ops *ops, void *ctx,
                      const struct hv_config *cfg, struct hv_vp *vps)
{
    if (!p || !cfg || !vps || !required_ops_present(ops))
        return HV_ERR_INVAL;
    if (cfg->nr_vps == 0 || cfg->nr_vps > HV_MAX_VPS)
        return HV_ERR_INVAL;
    /* The TSC page scale (10^7 * 2^64 / tsc_hz) must fit in 64 bits. */
    if (cfg->tsc_hz <= HV_REF_TIME_HZ)
        return HV_ERR_INVAL;
    if ((cfg->features & ~HV_FEATURES_ALL) != 0)
        return HV_ERR_INVAL;

    memset(p, 0, sizeof(*p));
    p->ops = ops;
    p->ctx = ctx;
    p->cfg = *cfg;
    p->cfg.features = mask_by_host_ops(ops, cfg->features);
    p->vps = vps;
    hv_time_partition_init(p);
    vps_init(p, false);
    return HV_OK;
}

void hv_partition_stats(const struct hv_partition *p, struct hv_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < p->cfg.nr_vps; i++) {
        const uint64_t *src = (const uint64_t *)&p->vps[i].stats;
        uint64_t *dst = (uint64_t *)out;
        for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
            dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
    }
}

void hv_partition_destroy(struct hv_partition *p)
{
    if (!p->vps)
        return;
    for (uint32_t i = 0; i < p->cfg.nr_vps; i++) {
        struct hv_vp *vp = &p->vps[i];
        hv_stimer_vp_destroy(vp);
        hv_synic_vp_destroy(vp);
        hv_apic_vp_destroy(vp);
    }
    hv_time_partition_destroy(p);
}

void hv_partition_reset(struct hv_partition *p)
{
    const struct hv_host_ops *ops = p->ops;
    void *ctx = p->ctx;
    struct hv_config cfg = p->cfg;
    struct hv_vp *vps = p->vps;

    hv_partition_destroy(p);
    /* The connection table is host configuration: everything before it
     * returns to power-on state, the table itself stays. */
    memset(p, 0, offsetof(struct hv_partition, connections_seq));
    p->ops = ops;
    p->ctx = ctx;
    p->cfg = cfg;
    p->vps = vps;
    hv_time_partition_init(p);
    vps_init(p, true);
}

/* ------------------------------------------------------------------ MSRs */

#define HYPERCALL_MSR_RESERVED 0xFFCull  /* bits 2-11 */

static enum hv_msr_result write_hypercall_msr(struct hv_partition *p, uint64_t val)
{
    enum hv_msr_result r = HV_MSR_OK;

    if (val & HYPERCALL_MSR_RESERVED)
        return HV_MSR_GP;
    hv_lock(&p->lock);
    if (p->hypercall_msr & HV_HYPERCALL_MSR_LOCKED) {
        /* Locked until the partition is reset. */
        r = HV_MSR_GP;
    } else {
        /* Without an OS identity the page stays disabled (the guest reads
         * the enable bit back to learn that). */
        if (p->guest_os_id == 0)
            val &= ~HV_PAGE_MSR_ENABLE;
        if ((val & HV_PAGE_MSR_ENABLE) &&
            p->ops->hypercall_page_fill(p->ctx, val & HV_PAGE_MASK) != 0)
            r = HV_MSR_GP;   /* the page is not guest RAM */
        else
            p->hypercall_msr = val;
    }
    hv_unlock(&p->lock);
    return r;
}

enum hv_msr_result hv_partition_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
    struct hv_partition *p = vp->partition;

    switch (msr) {
    case HV_MSR_GUEST_OS_ID:
        if (!hv_feature(p, HV_F_HYPERCALL))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->guest_os_id, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_HYPERCALL:
        if (!hv_feature(p, HV_F_HYPERCALL))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->hypercall_msr, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_VP_INDEX:
        if (!hv_feature(p, HV_F_VP_INDEX))
            return HV_MSR_GP;
        *val = vp->index;
        return HV_MSR_OK;
    case HV_MSR_RESET:
        if (!hv_feature(p, HV_F_RESET))
            return HV_MSR_GP;
        *val = 0;
        return HV_MSR_OK;
    case HV_MSR_VP_RUNTIME:
        if (!hv_feature(p, HV_F_VP_RUNTIME))
            return HV_MSR_GP;
        *val = p->ops->vp_runtime_ns(p->ctx, vp->index) / HV_NS_PER_REF_TICK;
        return HV_MSR_OK;
    case HV_MSR_GUEST_IDLE:
        if (!hv_feature(p, HV_F_GUEST_IDLE))
            return HV_MSR_GP;
        /* The read is the request: idle until an interrupt, even with IF=0. */
        p->ops->vp_idle(p->ctx, vp->index);
        *val = 0;
        return HV_MSR_OK;
    default:
        return HV_MSR_GP;
    }
}

enum hv_msr_result hv_partition_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
    struct hv_partition *p = vp->partition;

    switch (msr) {
    case HV_MSR_GUEST_OS_ID:
        if (!hv_feature(p, HV_F_HYPERCALL))
            return HV_MSR_GP;
        hv_lock(&p->lock);
        p->guest_os_id = val;
        /* Clearing the identity turns hypercalls off (kexec does this). */
        if (val == 0)
            p->hypercall_msr &= ~HV_PAGE_MSR_ENABLE;
        hv_unlock(&p->lock);
        return HV_MSR_OK;
    case HV_MSR_HYPERCALL:
        if (!hv_feature(p, HV_F_HYPERCALL))
            return HV_MSR_GP;
        return write_hypercall_msr(p, val);
    case HV_MSR_RESET:
        if (!hv_feature(p, HV_F_RESET) || (val & ~1ull))
            return HV_MSR_GP;
        if (val & 1)
            p->ops->partition_event(p->ctx, vp->index, HV_EVENT_RESET, 0);
        return HV_MSR_OK;
    case HV_MSR_VP_INDEX:      /* read-only */
    case HV_MSR_VP_RUNTIME:    /* read-only */
    case HV_MSR_GUEST_IDLE:    /* read-only: the read is the operation */
    default:
        return HV_MSR_GP;
    }
}
