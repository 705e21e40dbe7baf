/* SPDX-License-Identifier: MIT */
/*
 * Xen's viridian entry points (asm/hvm/viridian.h, same signatures as Xen
 * 4.17) implemented on the hvshim core, so no caller in Xen changes:
 * CPUID leaves, MSRs, the hypercall, domain/vCPU init and deinit, SynIC
 * poll and AutoEOI, APIC assist, and time freeze/thaw.
 */

#include <xen/init.h>
#include <xen/lib.h>
#include <xen/param.h>
#include <xen/sched.h>
#include <xen/vmap.h>
#include <xen/xmalloc.h>

#include <asm/apic.h>
#include <asm/event.h>
#include <asm/hvm/hvm.h>
#include <asm/hvm/support.h>
#include <asm/hvm/vlapic.h>
#include <asm/hvm/viridian.h>
#include <asm/hvm/vmx/vmcs.h>
#include <asm/time.h>
#include <public/hvm/params.h>

#include "private.h"
#include "xen-glue/common/viridian_mask.h"

/*
 * CPUID 0x40000002 and the spin-retry hint: the defaults and boot options
 * of Xen's own viridian, so a guest sees the same host identity.
 */
static uint16_t __read_mostly version_major = 6;
static uint16_t __read_mostly version_minor = 0;
static uint32_t __read_mostly version_build = 0x1772;
static uint32_t __read_mostly spin_retries = 2047;
integer_param("viridian-spinlock-retry-count", spin_retries);

/* "viridian-version=major,minor,build"; an empty field keeps its value. */
static int __init cf_check parse_version(const char *s)
{
    unsigned long v[3] = { version_major, version_minor, version_build };
    unsigned int i;

    for ( i = 0; i < 3; i++ )
    {
        const char *end = s;

        if ( *s && *s != ',' )
            v[i] = simple_strtoul(s, &end, 0);
        if ( *end != (i < 2 ? ',' : '\0') )
            return -EINVAL;
        s = end + (i < 2);
    }
    if ( v[0] > 0xffff || v[1] > 0xffff || v[2] > 0xffffffffUL )
        return -EINVAL;

    version_major = v[0];
    version_minor = v[1];
    version_build = v[2];
    return 0;
}
custom_param("viridian-version", parse_version);

/* What this glue cannot do on Xen, whatever the mask says. */
#define XEN_HOST_FEATURES_MISSING \
    (HV_FEATURE_BIT(HV_F_GUEST_IDLE) | HV_FEATURE_BIT(HV_F_TSC_INVARIANT) | \
     HV_FEATURE_BIT(HV_F_REENLIGHTENMENT) | HV_FEATURE_BIT(HV_F_XMM_INPUT) | \
     HV_FEATURE_BIT(HV_F_XMM_OUTPUT))

static void build_config(const struct domain *d, uint64_t mask, hv_features_t f,
                         struct hv_config *cfg)
{
    hv_config_defaults(cfg, d->max_vcpus, (uint64_t)d->arch.tsc_khz * 1000);
    cfg->features = f & ~XEN_HOST_FEATURES_MISSING;
    cfg->apic_hz = 1000000000ULL / APIC_BUS_CYCLE_NS;
    /* Same rule as Xen's TSC page: invalid when the host TSC is unsafe or
     * the guest's TSC is emulated. */
    cfg->tsc_reliable = host_tsc_is_safe() && !d->arch.vtsc;
    cfg->hw_features = 0;
    if ( cpu_has_vmx_virtualize_apic_accesses )
        cfg->hw_features |= HV_HW_APIC_OVERLAY_ASSIST;
    if ( cpu_has_vmx_msr_bitmap || (read_efer() & EFER_SVME) )
        cfg->hw_features |= HV_HW_MSR_BITMAPS;
    if ( hap_enabled(d) )
        cfg->hw_features |= HV_HW_SLAT;
    cfg->spin_retries = spin_retries;
    cfg->version_build = version_build;
    cfg->version_major = version_major;
    cfg->version_minor = version_minor;
    cfg->version_service_pack = 0;
    cfg->version_service_number = 0;
    cfg->version_branch = 0;
    (void)mask;
}

static int partition_setup(struct viridian_domain *vd)
{
    struct domain *d = vd->d;
    uint64_t mask = viridian_feature_mask(d);
    hv_features_t f;
    struct hv_config cfg;
    struct hv_vp *vps;
    int rc;

    if ( hvshim_xen_mask_to_features(mask, &f) || !f )
        return -EINVAL;
    if ( !d->arch.tsc_khz )
        return -EINVAL;

    build_config(d, mask, f, &cfg);

    vps = vzalloc(sizeof(*vps) * d->max_vcpus);
    if ( !vps )
        return -ENOMEM;

    spin_lock(&vd->lock);
    if ( vd->ready )
    {
        spin_unlock(&vd->lock);
        vfree(vps);
        return 0;
    }
    rc = hv_partition_init(&vd->part, &hvshim_xen_ops, vd, &cfg, vps);
    if ( rc == HV_OK )
    {
        vd->vps = vps;
        vd->mask = mask;
        smp_wmb();
        vd->ready = true;
    }
    spin_unlock(&vd->lock);

    if ( rc != HV_OK )
    {
        vfree(vps);
        return -EINVAL;
    }

    printk(XENLOG_G_INFO "%pd: hvshim: partition up, viridian mask %#"PRIx64
           ", %u VPs\n", d, mask, d->max_vcpus);
    return 0;
}

struct hv_partition *hvshim_partition_if_ready(const struct domain *d)
{
    struct viridian_domain *vd = d->arch.hvm.viridian;

    if ( !vd || !vd->ready )
        return NULL;
    smp_rmb();
    return &vd->part;
}

struct hv_partition *hvshim_partition(struct domain *d)
{
    struct viridian_domain *vd = d->arch.hvm.viridian;
    struct hv_partition *p = hvshim_partition_if_ready(d);

    if ( p || !vd || !is_viridian_domain(d) )
        return p;
    if ( partition_setup(vd) )
    {
        printk(XENLOG_G_ERR "%pd: hvshim: cannot set up partition (mask %#"
               PRIx64 ")\n", d, viridian_feature_mask(d));
        return NULL;
    }
    return hvshim_partition_if_ready(d);
}

struct hv_vp *hvshim_vp(const struct vcpu *v)
{
    struct hv_partition *p = hvshim_partition(v->domain);

    return p ? hv_partition_vp(p, v->vcpu_id) : NULL;
}

/* ------------------------------------------------------------- CPUID */

void cpuid_viridian_leaves(const struct vcpu *v, uint32_t leaf,
                           uint32_t subleaf, struct cpuid_leaf *res)
{
    struct hv_partition *p = hvshim_partition(v->domain);
    uint32_t out[4];

    if ( !p || !hv_cpuid(p, leaf, subleaf, out) )
        return;

    res->a = out[0];
    res->b = out[1];
    res->c = out[2];
    res->d = out[3];
}

/* -------------------------------------------------------------- MSRs */

static int msr_result(enum hv_msr_result r)
{
    return r == HV_MSR_OK ? X86EMUL_OKAY : X86EMUL_EXCEPTION;
}

int guest_wrmsr_viridian(struct vcpu *v, uint32_t idx, uint64_t val)
{
    struct hv_vp *vp = hvshim_vp(v);

    if ( !vp )
        return X86EMUL_EXCEPTION;

    /* The core's per-VP entry points run on that VP or with it stopped. */
    if ( v != current && v->is_running )
    {
        ASSERT_UNREACHABLE();
        return X86EMUL_EXCEPTION;
    }

    return msr_result(hv_msr_write(vp, idx, val));
}

int guest_rdmsr_viridian(const struct vcpu *v, uint32_t idx, uint64_t *val)
{
    struct hv_vp *vp = hvshim_vp(v);

    if ( !vp )
        return X86EMUL_EXCEPTION;

    return msr_result(hv_msr_read(vp, idx, val));
}

/* --------------------------------------------------------- hypercall */

/*
 * The hypercall page (hostops.c) sets EAX bit 31 so hvm_hypercall() routes
 * the call here. In 32-bit mode EAX is the low half of the control word,
 * so that bit is ours, not the guest's: strip it before the core sees the
 * reserved bits, and put it back when the call has to run again.
 */
#define PAGE_MARK 0x80000000UL

int viridian_hypercall(struct cpu_user_regs *regs)
{
    struct vcpu *curr = current;
    struct viridian_vcpu *vv = curr->arch.hvm.viridian;
    struct hv_vp *vp = hvshim_vp(curr);
    struct hv_hypercall_regs hr = {};
    enum hv_hypercall_outcome out;
    int mode = hvm_guest_x86_mode(curr);

    if ( !vp || !vv )
        return HVM_HCALL_completed;

    switch ( mode )
    {
    case 8:
        hr.mode = HV_CPU_MODE_LONG;
        hr.control = regs->rcx;
        hr.input = regs->rdx;
        hr.output = regs->r8;
        break;

    case 4:
    case 2:
        hr.mode = HV_CPU_MODE_PROTECTED;
        hr.control = (regs->rdx << 32) | (regs->eax & ~PAGE_MARK);
        hr.input = (regs->rbx << 32) | regs->ecx;
        hr.output = (regs->rdi << 32) | regs->esi;
        break;

    default:
        hr.mode = HV_CPU_MODE_REAL;
        break;
    }
    hr.cpl = hvm_get_cpl(curr);

    vv->flush_retry = false;
    out = hv_hypercall(vp, &hr);

    /* Another vCPU held the flush (shadow paging): the guest runs the
     * call again, which is harmless for a flush. */
    if ( vv->flush_retry )
    {
        vv->flush_retry = false;
        return HVM_HCALL_preempted;
    }

    switch ( out )
    {
    case HV_HC_INJECT_UD:
        hvm_inject_hw_exception(TRAP_invalid_op, X86_EVENT_NO_EC);
        return HVM_HCALL_preempted;       /* the fault points at the call */

    case HV_HC_CONTINUE:
        if ( hr.mode == HV_CPU_MODE_LONG )
            regs->rcx = hr.control;
        else
        {
            regs->rdx = hr.control >> 32;
            regs->rax = (uint32_t)hr.control | PAGE_MARK;
        }
        return HVM_HCALL_preempted;

    case HV_HC_COMPLETE:
        break;
    }

    if ( hr.mode == HV_CPU_MODE_LONG )
    {
        regs->rax = hr.result;
        if ( hr.output_in_gprs )
        {
            regs->rdx = hr.input;
            regs->r8 = hr.output;
        }
    }
    else
    {
        regs->rdx = hr.result >> 32;
        regs->rax = (uint32_t)hr.result;
    }

    return HVM_HCALL_completed;
}

/* ----------------------------------------------------- init / deinit */

int viridian_vcpu_init(struct vcpu *v)
{
    struct viridian_vcpu *vv;
    unsigned int i;

    ASSERT(!v->arch.hvm.viridian);
    vv = xzalloc(struct viridian_vcpu);
    if ( !vv )
        return -ENOMEM;

    vv->v = v;
    for ( i = 0; i < HV_STIMER_COUNT; i++ )
    {
        vv->stimer[i].v = v;
        vv->stimer[i].index = i;
        init_timer(&vv->stimer[i].timer, hvshim_xen_timer_fn, &vv->stimer[i],
                   v->processor);
    }
    vv->timers_ready = true;
    v->arch.hvm.viridian = vv;

    return 0;
}

int viridian_domain_init(struct domain *d)
{
    struct viridian_domain *vd;

    ASSERT(!d->arch.hvm.viridian);
    vd = xzalloc(struct viridian_domain);
    if ( !vd )
        return -ENOMEM;

    vd->d = d;
    spin_lock_init(&vd->lock);
    d->arch.hvm.viridian = vd;

    return 0;
}

static void vcpu_timers_kill(struct viridian_vcpu *vv)
{
    unsigned int i;

    if ( !vv->timers_ready )
        return;
    /* kill_timer waits for a running callback, so none can reach the
     * partition after this. */
    for ( i = 0; i < HV_STIMER_COUNT; i++ )
        kill_timer(&vv->stimer[i].timer);
    vv->timers_ready = false;
}

void viridian_vcpu_deinit(struct vcpu *v)
{
    struct viridian_vcpu *vv = v->arch.hvm.viridian;

    if ( !vv )
        return;

    vcpu_timers_kill(vv);
    XFREE(v->arch.hvm.viridian);
}

/* Called for every HVM domain, possibly more than once: idempotent. */
void viridian_domain_deinit(struct domain *d)
{
    struct viridian_domain *vd = d->arch.hvm.viridian;
    struct vcpu *v;

    for_each_vcpu ( d, v )
        if ( v->arch.hvm.viridian )
            vcpu_timers_kill(v->arch.hvm.viridian);

    if ( !vd )
        return;

    hvshim_vmbus_destroy(vd);
    if ( vd->ready )
    {
        hv_partition_destroy(&vd->part);
        vd->ready = false;
    }
    if ( vd->vps )
    {
        vfree(vd->vps);
        vd->vps = NULL;
    }

    for_each_vcpu ( d, v )
        viridian_vcpu_deinit(v);

    XFREE(d->arch.hvm.viridian);
}

/* ------------------------------------------------------- APIC assist */

/* The vector being acknowledged is the highest one requested (vlapic's
 * ack path takes it from IRR just before calling us). */
static uint8_t highest_irr(const struct vcpu *v)
{
    const struct vlapic *vlapic = vcpu_vlapic(v);
    int word;

    for ( word = 7; word >= 0; word-- )
    {
        uint32_t irr = vlapic_get_reg(vlapic, APIC_IRR + 0x10 * word);

        if ( irr )
            return word * 32 + fls(irr) - 1;
    }
    return 0;
}

void viridian_apic_assist_set(const struct vcpu *v)
{
    struct hv_partition *p = hvshim_partition_if_ready(v->domain);
    struct hv_vp *vp = p ? hv_partition_vp(p, v->vcpu_id) : NULL;

    if ( vp )
        hv_apic_assist_set(vp, highest_irr(v));
}

bool viridian_apic_assist_completed(const struct vcpu *v)
{
    struct hv_partition *p = hvshim_partition_if_ready(v->domain);
    struct hv_vp *vp = p ? hv_partition_vp(p, v->vcpu_id) : NULL;

    /* The vLAPIC then EOIs its highest in-service vector itself. */
    return vp && hv_apic_assist_completed(vp, NULL);
}

void viridian_apic_assist_clear(const struct vcpu *v)
{
    struct hv_partition *p = hvshim_partition_if_ready(v->domain);
    struct hv_vp *vp = p ? hv_partition_vp(p, v->vcpu_id) : NULL;

    if ( vp )
        hv_apic_assist_clear(vp);
}

/* ------------------------------------------------------------- SynIC */

void viridian_synic_poll(struct vcpu *v)
{
    struct hv_partition *p = hvshim_partition_if_ready(v->domain);
    struct hv_vp *vp = p ? hv_partition_vp(p, v->vcpu_id) : NULL;

    /* Delivery writes the VP's own SIMP slots: only on its own CPU. The
     * vLAPIC polls again before the vCPU next enters the guest. */
    if ( vp && v == current )
        hv_vp_poll(vp);
}

bool viridian_synic_is_auto_eoi_sint(const struct vcpu *v,
                                     unsigned int vector)
{
    struct hv_partition *p = hvshim_partition_if_ready(v->domain);
    struct hv_vp *vp = p ? hv_partition_vp(p, v->vcpu_id) : NULL;

    return vp && vector < 256 && hv_synic_is_auto_eoi_vector(vp, vector);
}

/* -------------------------------------------------------------- time */

void viridian_time_domain_freeze(const struct domain *d)
{
    struct hv_partition *p = hvshim_partition_if_ready(d);

    if ( p && !d->is_dying )
        hv_time_freeze(p);
}

void viridian_time_domain_thaw(const struct domain *d)
{
    struct hv_partition *p = hvshim_partition_if_ready(d);
    struct vcpu *v;

    /* A domain that is shutting down keeps its clock stopped, as Xen's
     * viridian does. */
    if ( !p || d->is_dying || d->is_shutting_down )
        return;

    hv_time_thaw(p);
    /* Timers that fell due while paused are delivered by each VP's poll. */
    for_each_vcpu ( d, v )
        vcpu_kick(v);
}

/*
 * Local variables:
 * mode: C
 * c-file-style: "BSD"
 * c-basic-offset: 4
 * tab-width: 4
 * indent-tabs-mode: nil
 * End:
 */
