/* SPDX-License-Identifier: MIT */
/*
 * SynIC event flags: 2048 flags per SINT in the SIEFP page (area n at
 * n * 256, flag b = bit b % 8 of byte b / 8). The guest clears flags with
 * atomic operations while it scans, so the host sets them with an atomic OR
 * and raises the SINT only for a flag it turned on: a flag already set means
 * an interrupt for it is already on its way or being handled.
 */
#include "hvshim/internal.h"

int hv_synic_signal_event(struct hv_partition *p, uint32_t vp_index, uint32_t sint,
                          uint32_t flag)
{
    struct hv_vp *vp;
    uint64_t *word;
    uint64_t bit, old;
    int newly;

    if (!p)
        return HV_ERR_INVAL;
    vp = hv_partition_vp(p, vp_index);
    if (!vp || sint >= HV_SINT_COUNT)
        return HV_ERR_NOENT;
    if (flag >= HV_EVENT_FLAGS_COUNT)
        return HV_ERR_INVAL;
    if (!hv_feature(p, HV_F_SYNIC))
        return HV_ERR_DISABLED;

    hv_lock(&vp->lock);
    /* The lock keeps the page mapped while we touch it (SIEFP writes unmap
     * under the same lock). */
    if (!(vp->scontrol & HV_SCONTROL_ENABLE) || !(vp->siefp & HV_PAGE_MSR_ENABLE) ||
        !vp->siefp_page) {
        hv_unlock(&vp->lock);
        return HV_ERR_DISABLED;
    }
    /* 64-bit words, as the guest scans them; little-endian, so bit b of the
     * area is bit b % 64 of word b / 64. */
    word = (uint64_t *)((uint8_t *)vp->siefp_page + (size_t)sint * HV_EVENT_FLAGS_BYTES) +
           flag / 64u;
    bit = 1ull << (flag % 64u);
    old = __atomic_fetch_or(word, bit, __ATOMIC_SEQ_CST);
    newly = (old & bit) ? 0 : 1;
    if (newly) {
        hv_stat_inc(&vp->stats.synic_events);
        hv_synic_raise_sint_locked(vp, sint);
    }
    hv_trace(p, vp->index, HV_TRACE_SYNIC_EVENT, sint, flag, (uint64_t)newly, 0);
    hv_unlock(&vp->lock);
    return newly;
}
