/* SPDX-License-Identifier: MIT */
/*
 * APIC-access MSRs (EOI, ICR, TPR), the VP assist page, and APIC assist
 * ("lazy EOI"): the host marks an injected vector as not needing an EOI,
 * the guest clears the mark instead of writing EOI, and the host notices.
 */
#include "hvshim/internal.h"

/* xAPIC-layout ICR: destination in bits 56-63; 20-55 reserved. */
#define ICR_RESERVED 0x00FFFFFFFFF00000ull
#define TPR_RESERVED (~0xFFull)
#define VP_ASSIST_RESERVED HV_PAGE_MSR_RESERVED

static uint32_t *apic_assist_word(struct hv_vp *vp)
{
    return (uint32_t *)((uint8_t *)vp->vp_assist_page + HV_VP_ASSIST_APIC_ASSIST_OFFSET);
}

static enum hv_msr_result write_vp_assist(struct hv_vp *vp, uint64_t val)
{
    struct hv_partition *p = vp->partition;

    if (val & VP_ASSIST_RESERVED)
        return HV_MSR_GP;
    hv_lock(&vp->lock);
    hv_overlay_unmap(p, &vp->vp_assist_page);
    vp->vp_assist_msr = val;
    vp->vp_assist_page = hv_overlay_map(p, val);
    /* A pending assist belonged to the old page: forget it, the host
     * will see the vector still in service and EOI normally. */
    vp->apic_assist_pending = false;
    hv_unlock(&vp->lock);
    return HV_MSR_OK;
}

enum hv_msr_result hv_apic_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
    struct hv_partition *p = vp->partition;

    switch (msr) {
    case HV_MSR_VP_ASSIST_PAGE:
        if (!hv_feature(p, HV_F_VP_ASSIST))
            return HV_MSR_GP;
        *val = vp->vp_assist_msr;
        return HV_MSR_OK;
    case HV_MSR_ICR:
        if (!hv_feature(p, HV_F_APIC_MSRS))
            return HV_MSR_GP;
        *val = p->ops->apic_icr_read(p->ctx, vp->index);
        return HV_MSR_OK;
    case HV_MSR_TPR:
        if (!hv_feature(p, HV_F_APIC_MSRS))
            return HV_MSR_GP;
        *val = p->ops->apic_tpr_read(p->ctx, vp->index);
        return HV_MSR_OK;
    case HV_MSR_EOI:      /* write-only */
    default:
        return HV_MSR_GP;
    }
}

enum hv_msr_result hv_apic_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
    struct hv_partition *p = vp->partition;

    switch (msr) {
    case HV_MSR_VP_ASSIST_PAGE:
        if (!hv_feature(p, HV_F_VP_ASSIST))
            return HV_MSR_GP;
        return write_vp_assist(vp, val);
    case HV_MSR_EOI:
        if (!hv_feature(p, HV_F_APIC_MSRS))
            return HV_MSR_GP;
        /* A real EOI supersedes any lazy one in flight. */
        hv_apic_assist_clear(vp);
        p->ops->apic_eoi(p->ctx, vp->index);
        return HV_MSR_OK;
    case HV_MSR_ICR:
        if (!hv_feature(p, HV_F_APIC_MSRS) || (val & ICR_RESERVED))
            return HV_MSR_GP;
        p->ops->apic_icr_write(p->ctx, vp->index, val);
        return HV_MSR_OK;
    case HV_MSR_TPR:
        if (!hv_feature(p, HV_F_APIC_MSRS) || (val & TPR_RESERVED))
            return HV_MSR_GP;
        p->ops->apic_tpr_write(p->ctx, vp->index, (uint8_t)val);
        return HV_MSR_OK;
    default:
        return HV_MSR_GP;
    }
}

bool hv_apic_assist_set(struct hv_vp *vp, uint8_t vector)
{
    struct hv_partition *p = vp->partition;
    bool set = false;

    if (!hv_feature(p, HV_F_APIC_ASSIST) || vector < 16)
        return false;
    hv_lock(&vp->lock);
    if (vp->vp_assist_page && !vp->apic_assist_pending) {
        __atomic_store_n(apic_assist_word(vp), HV_APIC_ASSIST_NO_EOI, __ATOMIC_RELEASE);
        vp->apic_assist_pending = true;
        vp->apic_assist_vector = vector;
        set = true;
    }
    hv_unlock(&vp->lock);
    return set;
}

bool hv_apic_assist_completed(struct hv_vp *vp, uint8_t *vector)
{
    bool done = false;

    hv_lock(&vp->lock);
    if (vp->apic_assist_pending && vp->vp_assist_page &&
        !(__atomic_load_n(apic_assist_word(vp), __ATOMIC_ACQUIRE) & HV_APIC_ASSIST_NO_EOI)) {
        vp->apic_assist_pending = false;
        if (vector)
            *vector = vp->apic_assist_vector;
        done = true;
    }
    hv_unlock(&vp->lock);
    return done;
}

void hv_apic_assist_clear(struct hv_vp *vp)
{
    hv_lock(&vp->lock);
    if (vp->apic_assist_pending) {
        if (vp->vp_assist_page)
            __atomic_fetch_and(apic_assist_word(vp), ~HV_APIC_ASSIST_NO_EOI, __ATOMIC_RELEASE);
        vp->apic_assist_pending = false;
    }
    hv_unlock(&vp->lock);
}

void hv_apic_vp_destroy(struct hv_vp *vp)
{
    hv_lock(&vp->lock);
    hv_overlay_unmap(vp->partition, &vp->vp_assist_page);
    vp->apic_assist_pending = false;
    hv_unlock(&vp->lock);
}

void hv_apic_vp_restored(struct hv_vp *vp)
{
    hv_lock(&vp->lock);
    hv_overlay_unmap(vp->partition, &vp->vp_assist_page);
    vp->vp_assist_page = hv_overlay_map(vp->partition, vp->vp_assist_msr);
    hv_unlock(&vp->lock);
}
