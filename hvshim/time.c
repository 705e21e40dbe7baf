/* SPDX-License-Identifier: MIT */
/*
 * Partition reference time (100 ns units) and everything derived from it:
 * TIME_REF_COUNT, the reference TSC page, the frequency MSRs, invariant-TSC
 * control, and reenlightenment with TSC emulation for frequency changes.
 *
 * One formula serves the MSR and the page, so they always agree:
 *     ref = ((guest_tsc * tsc_scale) >> 64) + ref_offset
 * with tsc_scale = 10^7 * 2^64 / tsc_hz. The parameters sit behind a
 * seqlock (time_seq) so readers never take p->lock.
 */
#include "hvshim/internal.h"

#define REFERENCE_TSC_RESERVED HV_PAGE_MSR_RESERVED
#define TSC_SEQUENCE_INVALID   0u
#define TSC_SEQUENCE_LEGACY_INVALID 0xFFFFFFFFu  /* what older TLFS texts said */

static uint64_t scale_for(uint64_t tsc_hz)
{
    /* tsc_hz > 10^7 is enforced at init, so the quotient fits. */
    return hv_div128_64(HV_REF_TIME_HZ, 0, tsc_hz);
}

static uint64_t ref_apply(uint64_t tsc, uint64_t scale, int64_t offset)
{
    return hv_mul64_hi(tsc, scale) + (uint64_t)offset;
}

/* Writer side of the seqlock; p->lock held. */
static void time_write_begin(struct hv_partition *p)
{
    __atomic_store_n(&p->time_seq, p->time_seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void time_write_end(struct hv_partition *p)
{
    __atomic_store_n(&p->time_seq, p->time_seq + 1, __ATOMIC_RELEASE);
}

uint64_t hv_time_ref_from_tsc(const struct hv_partition *p, uint64_t tsc)
{
    uint64_t scale;
    int64_t offset;
    uint32_t seq;

    do {
        while ((seq = __atomic_load_n(&p->time_seq, __ATOMIC_ACQUIRE)) & 1)
            hv_cpu_relax();
        scale = __atomic_load_n(&p->tsc_scale, __ATOMIC_RELAXED);
        offset = __atomic_load_n(&p->ref_offset, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while (__atomic_load_n(&p->time_seq, __ATOMIC_RELAXED) != seq);
    return ref_apply(tsc, scale, offset);
}

uint64_t hv_time_ref_now(struct hv_partition *p)
{
    uint64_t scale, frozen_at, tsc;
    int64_t offset;
    bool frozen;
    uint32_t seq;

    do {
        while ((seq = __atomic_load_n(&p->time_seq, __ATOMIC_ACQUIRE)) & 1)
            hv_cpu_relax();
        scale = __atomic_load_n(&p->tsc_scale, __ATOMIC_RELAXED);
        offset = __atomic_load_n(&p->ref_offset, __ATOMIC_RELAXED);
        frozen = __atomic_load_n(&p->time_frozen, __ATOMIC_RELAXED);
        frozen_at = __atomic_load_n(&p->frozen_ref_time, __ATOMIC_RELAXED);
        tsc = p->ops->guest_tsc(p->ctx);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while (__atomic_load_n(&p->time_seq, __ATOMIC_RELAXED) != seq);
    return frozen ? frozen_at : ref_apply(tsc, scale, offset);
}

uint64_t hv_time_ns_until(struct hv_partition *p, uint64_t when)
{
    uint64_t now = hv_time_ref_now(p);
    uint64_t ticks;

    if (when <= now)
        return 0;
    ticks = when - now;
    if (ticks > UINT64_MAX / HV_NS_PER_REF_TICK)
        return UINT64_MAX;
    return ticks * HV_NS_PER_REF_TICK;
}

/* ----------------------------------------------------- the TSC page */

static uint32_t next_sequence(uint32_t seq)
{
    seq++;
    if (seq == TSC_SEQUENCE_INVALID || seq == TSC_SEQUENCE_LEGACY_INVALID)
        seq = 1;
    return seq;
}

static bool tsc_page_valid(const struct hv_partition *p)
{
    return p->cfg.tsc_reliable && !p->time_frozen;
}

/*
 * Rewrite the mapped page following the TLFS update protocol: sequence 0
 * (readers fall back to the MSR), new scale/offset, then a fresh non-zero
 * sequence. The page is left invalid when the TSC cannot be trusted.
 * p->lock held.
 */
static void tsc_page_publish(struct hv_partition *p)
{
    struct hv_reference_tsc_page *pg = p->tsc_page;

    if (!pg)
        return;
    __atomic_store_n(&pg->tsc_sequence, TSC_SEQUENCE_INVALID, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!tsc_page_valid(p))
        return;
    __atomic_store_n(&pg->tsc_scale, p->tsc_scale, __ATOMIC_RELAXED);
    __atomic_store_n(&pg->tsc_offset, p->ref_offset, __ATOMIC_RELAXED);
    p->tsc_sequence = next_sequence(p->tsc_sequence);
    __atomic_store_n(&pg->tsc_sequence, p->tsc_sequence, __ATOMIC_RELEASE);
}

/* Switch to a new TSC frequency keeping reference time continuous at the
 * current TSC reading. p->lock held. */
static void apply_tsc_hz(struct hv_partition *p, uint64_t new_hz)
{
    uint64_t tsc = p->ops->guest_tsc(p->ctx);
    uint64_t now = ref_apply(tsc, p->tsc_scale, p->ref_offset);
    uint64_t scale = scale_for(new_hz);

    time_write_begin(p);
    p->cfg.tsc_hz = new_hz;
    p->tsc_scale = scale;
    p->ref_offset = (int64_t)(now - hv_mul64_hi(tsc, scale));
    time_write_end(p);
}

void hv_time_partition_init(struct hv_partition *p)
{
    uint64_t tsc = p->ops->guest_tsc(p->ctx);

    p->tsc_scale = scale_for(p->cfg.tsc_hz);
    /* Reference time starts at zero when the partition is created. */
    p->ref_offset = -(int64_t)hv_mul64_hi(tsc, p->tsc_scale);
}

void hv_time_partition_destroy(struct hv_partition *p)
{
    hv_lock(&p->lock);
    hv_overlay_unmap(p, &p->tsc_page);
    hv_unlock(&p->lock);
}

void hv_time_partition_restored(struct hv_partition *p)
{
    hv_lock(&p->lock);
    hv_overlay_unmap(p, &p->tsc_page);
    p->tsc_page = hv_overlay_map(p, p->reference_tsc_msr);
    tsc_page_publish(p);
    hv_unlock(&p->lock);
}

void hv_time_set_ref(struct hv_partition *p, uint64_t ref_now)
{
    uint64_t tsc;

    hv_lock(&p->lock);
    tsc = p->ops->guest_tsc(p->ctx);
    time_write_begin(p);
    p->ref_offset = (int64_t)(ref_now - hv_mul64_hi(tsc, p->tsc_scale));
    p->frozen_ref_time = ref_now;
    time_write_end(p);
    tsc_page_publish(p);
    hv_unlock(&p->lock);
}

void hv_time_freeze(struct hv_partition *p)
{
    hv_lock(&p->lock);
    if (!p->time_frozen) {
        uint64_t now = ref_apply(p->ops->guest_tsc(p->ctx), p->tsc_scale, p->ref_offset);
        time_write_begin(p);
        p->frozen_ref_time = now;
        p->time_frozen = true;
        time_write_end(p);
    }
    hv_unlock(&p->lock);
}

void hv_time_thaw(struct hv_partition *p)
{
    hv_lock(&p->lock);
    if (p->time_frozen) {
        uint64_t tsc = p->ops->guest_tsc(p->ctx);
        time_write_begin(p);
        p->ref_offset = (int64_t)(p->frozen_ref_time - hv_mul64_hi(tsc, p->tsc_scale));
        p->time_frozen = false;
        time_write_end(p);
        tsc_page_publish(p);
    }
    hv_unlock(&p->lock);
}

void hv_time_tsc_changed(struct hv_partition *p, uint64_t new_tsc_hz, bool reliable)
{
    uint64_t ctl;

    if (new_tsc_hz <= HV_REF_TIME_HZ) {
        hv_log(p, HV_LOG_ERROR, HV_NO_VP, "ignoring TSC frequency at or below 10 MHz",
               new_tsc_hz, 0);
        return;
    }
    hv_lock(&p->lock);
    p->cfg.tsc_reliable = reliable;
    if (new_tsc_hz != p->cfg.tsc_hz) {
        if (hv_feature(p, HV_F_REENLIGHTENMENT) &&
            (p->tsc_emulation_control & HV_TSC_EMULATION_ENABLE)) {
            /* The host keeps the old frequency visible until the guest has
             * re-read its clocks and cleared TSC_EMULATION_STATUS. */
            p->pending_tsc_hz = new_tsc_hz;
            p->tsc_emulation_status = HV_TSC_EMULATION_IN_PROGRESS;
        } else {
            apply_tsc_hz(p, new_tsc_hz);
        }
    }
    tsc_page_publish(p);
    ctl = p->reenlightenment_control;
    hv_unlock(&p->lock);

    if (hv_feature(p, HV_F_REENLIGHTENMENT) && (ctl & HV_REENLIGHTENMENT_ENABLE)) {
        uint32_t target = (uint32_t)(ctl >> HV_REENLIGHTENMENT_TARGET_SHIFT);
        p->ops->irq_inject(p->ctx, target, (uint8_t)(ctl & HV_REENLIGHTENMENT_VECTOR_MASK),
                           false);
    }
}

bool hv_time_invariant_tsc_exposed(const struct hv_partition *p)
{
    return hv_feature(p, HV_F_TSC_INVARIANT) &&
           (__atomic_load_n(&p->tsc_invariant_control, __ATOMIC_RELAXED) &
            HV_TSC_INVARIANT_ENABLE);
}

/* ------------------------------------------------------------------ MSRs */

static enum hv_msr_result write_reference_tsc(struct hv_partition *p, uint64_t val)
{
    if (val & REFERENCE_TSC_RESERVED)
        return HV_MSR_GP;
    /* One writer at a time: concurrent writes from several VPs must not
     * map or unmap the page twice (XSA-472). */
    hv_lock(&p->lock);
    hv_overlay_unmap(p, &p->tsc_page);
    p->reference_tsc_msr = val;
    /* A GPA that is not RAM leaves the MSR set and no page: readers then
     * see nothing and the MSR clock still works. */
    p->tsc_page = hv_overlay_map(p, val);
    tsc_page_publish(p);
    hv_unlock(&p->lock);
    return HV_MSR_OK;
}

static enum hv_msr_result write_reenlightenment(struct hv_partition *p, uint64_t val)
{
    uint32_t target = (uint32_t)(val >> HV_REENLIGHTENMENT_TARGET_SHIFT);
    uint8_t vector = (uint8_t)(val & HV_REENLIGHTENMENT_VECTOR_MASK);

    if (val & ~HV_REENLIGHTENMENT_VALID_BITS)
        return HV_MSR_GP;
    if ((val & HV_REENLIGHTENMENT_ENABLE) && (target >= p->cfg.nr_vps || vector < 16))
        return HV_MSR_GP;
    __atomic_store_n(&p->reenlightenment_control, val, __ATOMIC_RELAXED);
    return HV_MSR_OK;
}

static enum hv_msr_result write_tsc_emulation_status(struct hv_vp *vp, uint64_t val)
{
    struct hv_partition *p = vp->partition;
    bool done = false;

    if (val & ~HV_TSC_EMULATION_IN_PROGRESS)
        return HV_MSR_GP;
    hv_lock(&p->lock);
    if (val && !p->tsc_emulation_status) {
        /* Only the hypervisor starts emulation. */
        hv_unlock(&p->lock);
        return HV_MSR_GP;
    }
    if (!val && p->tsc_emulation_status) {
        p->tsc_emulation_status = 0;
        if (p->pending_tsc_hz) {
            apply_tsc_hz(p, p->pending_tsc_hz);
            p->pending_tsc_hz = 0;
            tsc_page_publish(p);
        }
        done = true;
    }
    hv_unlock(&p->lock);
    if (done)
        p->ops->partition_event(p->ctx, vp->index, HV_EVENT_TSC_EMULATION_DONE, 0);
    return HV_MSR_OK;
}

enum hv_msr_result hv_time_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
    struct hv_partition *p = vp->partition;

    switch (msr) {
    case HV_MSR_TIME_REF_COUNT:
        if (!hv_feature(p, HV_F_TIME_REF_COUNT))
            return HV_MSR_GP;
        *val = hv_time_ref_now(p);
        return HV_MSR_OK;
    case HV_MSR_REFERENCE_TSC:
        if (!hv_feature(p, HV_F_REFERENCE_TSC))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->reference_tsc_msr, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_TSC_FREQUENCY:
        if (!hv_feature(p, HV_F_FREQ))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->cfg.tsc_hz, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_APIC_FREQUENCY:
        if (!hv_feature(p, HV_F_FREQ))
            return HV_MSR_GP;
        *val = p->cfg.apic_hz;
        return HV_MSR_OK;
    case HV_MSR_TSC_INVARIANT_CONTROL:
        if (!hv_feature(p, HV_F_TSC_INVARIANT))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->tsc_invariant_control, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_REENLIGHTENMENT_CONTROL:
        if (!hv_feature(p, HV_F_REENLIGHTENMENT))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->reenlightenment_control, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_TSC_EMULATION_CONTROL:
        if (!hv_feature(p, HV_F_REENLIGHTENMENT))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->tsc_emulation_control, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_TSC_EMULATION_STATUS:
        if (!hv_feature(p, HV_F_REENLIGHTENMENT))
            return HV_MSR_GP;
        *val = __atomic_load_n(&p->tsc_emulation_status, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    default:
        return HV_MSR_GP;
    }
}

enum hv_msr_result hv_time_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
    struct hv_partition *p = vp->partition;

    switch (msr) {
    case HV_MSR_REFERENCE_TSC:
        if (!hv_feature(p, HV_F_REFERENCE_TSC))
            return HV_MSR_GP;
        return write_reference_tsc(p, val);
    case HV_MSR_TSC_INVARIANT_CONTROL:
        if (!hv_feature(p, HV_F_TSC_INVARIANT) || (val & ~HV_TSC_INVARIANT_ENABLE))
            return HV_MSR_GP;
        /* Sticky: once the guest has opted in, the invariant-TSC CPUID bit
         * must not disappear under it. */
        __atomic_fetch_or(&p->tsc_invariant_control, val, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_REENLIGHTENMENT_CONTROL:
        if (!hv_feature(p, HV_F_REENLIGHTENMENT))
            return HV_MSR_GP;
        return write_reenlightenment(p, val);
    case HV_MSR_TSC_EMULATION_CONTROL:
        if (!hv_feature(p, HV_F_REENLIGHTENMENT) || (val & ~HV_TSC_EMULATION_ENABLE))
            return HV_MSR_GP;
        __atomic_store_n(&p->tsc_emulation_control, val, __ATOMIC_RELAXED);
        return HV_MSR_OK;
    case HV_MSR_TSC_EMULATION_STATUS:
        if (!hv_feature(p, HV_F_REENLIGHTENMENT))
            return HV_MSR_GP;
        return write_tsc_emulation_status(vp, val);
    case HV_MSR_TIME_REF_COUNT:   /* read-only */
    case HV_MSR_TSC_FREQUENCY:    /* read-only */
    case HV_MSR_APIC_FREQUENCY:   /* read-only */
    default:
        return HV_MSR_GP;
    }
}
