/* SPDX-License-Identifier: MIT */
/*
 * SynIC registers (SCONTROL, SVERSION, SIEFP, SIMP, EOM, SINT0-15), the
 * overlay pages behind SIMP and SIEFP, SINT raising, EOI/AutoEOI queries
 * and the per-VP poll that retries everything still owed to the guest.
 *
 * All state lives in struct hv_vp under vp->lock, because hosts post
 * messages, signal events and fire timers from other threads while the VP
 * rewrites these MSRs.
 */
#include "hvshim/internal.h"

#define SINT_ALL 0xFFFFu

/* TLFS "SynIC Messages": a VP whose SynIC is disabled is no target; a
 * masked SINT still gets its message written, only the interrupt "is
 * lost" (hv_synic_raise_sint_locked). */
static bool sint_usable(const struct hv_vp *vp, uint32_t sint)
{
    HV_UNUSED(sint);
    return (vp->scontrol & HV_SCONTROL_ENABLE) != 0;
}

bool hv_synic_sint_usable_locked(const struct hv_vp *vp, uint32_t sint)
{
    return sint < HV_SINT_COUNT && sint_usable(vp, sint);
}

void hv_synic_raise_sint_locked(struct hv_vp *vp, uint32_t sint)
{
    struct hv_partition *p = vp->partition;
    uint64_t v;
    uint8_t vector;

    if (sint >= HV_SINT_COUNT || !(vp->scontrol & HV_SCONTROL_ENABLE))
        return;
    v = vp->sint[sint];
    if (v & (HV_SINT_MASKED | HV_SINT_POLLING))
        return;
    vector = (uint8_t)(v & HV_SINT_VECTOR_MASK);
    /* The MSR write refuses these for unmasked SINTs; a restored blob
     * could still carry one, and vectors 0-15 are exceptions. */
    if (vector < HV_SINT_MIN_VECTOR)
        return;
    p->ops->irq_inject(p->ctx, vp->index, vector, (v & HV_SINT_AUTO_EOI) != 0);
}

/*
 * SIMP and SIEFP: bit 0 enable, bits 1-11 kept as written, 12-63 the page.
 * Returns true when the guest now has a fresh (zeroed) page at a new place,
 * which is when queued work can flow again.
 */
static bool overlay_write_locked(struct hv_vp *vp, uint64_t *msr, void **page, uint64_t val)
{
    struct hv_partition *p = vp->partition;
    bool was_on = (*msr & HV_PAGE_MSR_ENABLE) != 0;
    bool now_on = (val & HV_PAGE_MSR_ENABLE) != 0;
    bool same_place = was_on == now_on &&
                      (!now_on || (val & HV_PAGE_MASK) == (*msr & HV_PAGE_MASK));

    *msr = val;
    if (same_place)
        return false;   /* a rewrite keeps the page and what is in it */
    hv_overlay_unmap(p, page);
    *page = hv_overlay_map(p, val);
    if (!*page)
        return false;   /* disabled, or not RAM: the value still reads back */
    memset(*page, 0, HV_PAGE_SIZE);
    return true;
}

static enum hv_msr_result write_sint_locked(struct hv_vp *vp, uint32_t sint, uint64_t val,
                                            uint16_t *redeliver)
{
    bool was_usable = sint_usable(vp, sint);

    vp->sint[sint] = val;
    if (!was_usable && sint_usable(vp, sint))
        *redeliver |= (uint16_t)(1u << sint);
    /* An interrupt raised while the SINT was masked is lost (TLFS): the
     * guest finds what arrived meanwhile by scanning, as it does on
     * unmasking. Nothing is re-raised here. */
    return HV_MSR_OK;
}

static bool sint_value_valid(const struct hv_partition *p, uint64_t val)
{
    bool masked = (val & HV_SINT_MASKED) != 0;
    bool polling = (val & HV_SINT_POLLING) != 0;

    if (val & ~HV_SINT_VALID_BITS)
        return false;
    if (polling && !hv_feature(p, HV_F_SINT_POLLING))
        return false;
    /* Linux writes back the power-on value (masked, vector 0), so only a
     * SINT that can fire must carry a real vector. */
    if ((!masked || polling) && (val & HV_SINT_VECTOR_MASK) < HV_SINT_MIN_VECTOR)
        return false;
    return true;
}

enum hv_msr_result hv_synic_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
    struct hv_partition *p = vp->partition;
    enum hv_msr_result r = HV_MSR_OK;

    if (!hv_feature(p, HV_F_SYNIC))
        return HV_MSR_GP;
    hv_lock(&vp->lock);
    switch (msr) {
    case HV_MSR_SCONTROL:
        *val = vp->scontrol;
        break;
    case HV_MSR_SVERSION:
        *val = HV_SYNIC_VERSION;
        break;
    case HV_MSR_SIEFP:
        *val = vp->siefp;
        break;
    case HV_MSR_SIMP:
        *val = vp->simp;
        break;
    case HV_MSR_EOM:
        *val = 0;   /* write-only on Hyper-V; reads give 0 as on KVM */
        break;
    default:
        if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15)
            *val = vp->sint[msr - HV_MSR_SINT0];
        else
            r = HV_MSR_GP;
        break;
    }
    hv_unlock(&vp->lock);
    return r;
}

enum hv_msr_result hv_synic_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
    struct hv_partition *p = vp->partition;
    enum hv_msr_result r = HV_MSR_OK;
    uint16_t redeliver = 0;
    uint16_t freed = 0;

    if (!hv_feature(p, HV_F_SYNIC))
        return HV_MSR_GP;
    /* Checks that need no state come before the lock. */
    if (msr == HV_MSR_SVERSION)
        return HV_MSR_GP;
    if (msr == HV_MSR_SCONTROL && (val & ~HV_SCONTROL_ENABLE))
        return HV_MSR_GP;
    if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15 && !sint_value_valid(p, val))
        return HV_MSR_GP;

    hv_lock(&vp->lock);
    switch (msr) {
    case HV_MSR_SCONTROL: {
        bool was_on = (vp->scontrol & HV_SCONTROL_ENABLE) != 0;
        vp->scontrol = val;
        if (!was_on && (val & HV_SCONTROL_ENABLE))
            redeliver = SINT_ALL;
        break;
    }
    case HV_MSR_SIEFP:
        overlay_write_locked(vp, &vp->siefp, &vp->siefp_page, val);
        break;
    case HV_MSR_SIMP:
        if (overlay_write_locked(vp, &vp->simp, &vp->simp_page, val))
            redeliver = SINT_ALL;
        break;
    case HV_MSR_EOM:
        hv_trace(p, vp->index, HV_TRACE_SYNIC_EOM, hv_synic_sints_waiting_locked(vp), 0, 0, 0);
        redeliver = SINT_ALL;
        break;
    default:
        if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15)
            r = write_sint_locked(vp, msr - HV_MSR_SINT0, val, &redeliver);
        else
            r = HV_MSR_GP;
        break;
    }
    if (redeliver)
        freed = hv_synic_redeliver_locked(vp, redeliver);
    hv_unlock(&vp->lock);
    hv_synic_notify_slots_freed(vp, freed);
    return r;
}

void hv_synic_vp_init(struct hv_vp *vp)
{
    /* Power-on: every SINT masked with vector 0; everything else zero. */
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++)
        vp->sint[i] = HV_SINT_MASKED;
}

void hv_synic_vp_destroy(struct hv_vp *vp)
{
    struct hv_partition *p = vp->partition;

    hv_lock(&vp->lock);
    hv_overlay_unmap(p, &vp->simp_page);
    hv_overlay_unmap(p, &vp->siefp_page);
    hv_unlock(&vp->lock);
}

/* Drop queue entries a loaded blob could carry but the core never makes:
 * the SINT indexes the SIMP page, so it must be in range. */
static void queue_sanitize_locked(struct hv_vp *vp)
{
    for (uint32_t i = 0; i < HV_MSG_QUEUE_DEPTH; i++) {
        struct hv_queued_message *q = &vp->queue[i];
        if (!q->used)
            continue;
        if (q->sint >= HV_SINT_COUNT || q->msg.message_type == HVMSG_NONE ||
            q->msg.payload_size > HV_MESSAGE_PAYLOAD_MAX)
            memset(q, 0, sizeof(*q));
        else
            q->used = 1;
    }
}

void hv_synic_vp_restored(struct hv_vp *vp)
{
    struct hv_partition *p = vp->partition;
    bool waiting;

    hv_lock(&vp->lock);
    /* The pages already hold the guest's messages and flags (guest RAM
     * travels with the VP): map them again, never zero them. */
    hv_overlay_unmap(p, &vp->simp_page);
    hv_overlay_unmap(p, &vp->siefp_page);
    vp->simp_page = hv_overlay_map(p, vp->simp);
    vp->siefp_page = hv_overlay_map(p, vp->siefp);
    queue_sanitize_locked(vp);
    waiting = hv_synic_sints_waiting_locked(vp) != 0;
    hv_unlock(&vp->lock);
    /* Nothing is delivered from here; the VP's next poll does it. */
    if (waiting)
        p->ops->vp_kick(p->ctx, vp->index);
}

void hv_synic_eoi(struct hv_vp *vp, uint8_t vector)
{
    uint16_t mask = 0;
    uint16_t freed = 0;

    if (!vp)
        return;
    hv_lock(&vp->lock);
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++) {
        uint64_t v = vp->sint[i];
        if (!(v & HV_SINT_MASKED) && (v & HV_SINT_VECTOR_MASK) == vector)
            mask |= (uint16_t)(1u << i);
    }
    if (mask)
        freed = hv_synic_redeliver_locked(vp, mask);
    hv_unlock(&vp->lock);
    hv_synic_notify_slots_freed(vp, freed);
}

bool hv_synic_is_auto_eoi_vector(struct hv_vp *vp, uint8_t vector)
{
    bool found = false;

    if (!vp)
        return false;
    hv_lock(&vp->lock);
    for (uint32_t i = 0; i < HV_SINT_COUNT && !found; i++) {
        uint64_t v = vp->sint[i];
        found = !(v & HV_SINT_MASKED) && (v & HV_SINT_AUTO_EOI) &&
                (v & HV_SINT_VECTOR_MASK) == vector;
    }
    hv_unlock(&vp->lock);
    return found;
}

uint16_t hv_vp_slot_waiters(struct hv_vp *vp)
{
    uint16_t waiting, usable = 0;

    if (!vp)
        return 0;
    hv_lock(&vp->lock);
    waiting = hv_synic_sints_waiting_locked(vp);
    for (uint32_t s = 0; s < HV_SINT_COUNT; s++)
        if ((waiting & (1u << s)) && hv_synic_sint_usable_locked(vp, s) && vp->simp_page)
            usable |= (uint16_t)(1u << s);
    hv_unlock(&vp->lock);
    return usable;
}

void hv_vp_poll(struct hv_vp *vp)
{
    uint16_t freed;

    if (!vp)
        return;
    hv_stimer_poll(vp);
    hv_lock(&vp->lock);
    freed = hv_synic_redeliver_locked(vp, SINT_ALL);
    hv_unlock(&vp->lock);
    hv_synic_notify_slots_freed(vp, freed);
}
