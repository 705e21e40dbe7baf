/* SPDX-License-Identifier: MIT */
/*
 * HvCallFlushVirtualAddressSpace (0x0002), HvCallFlushVirtualAddressList
 * (0x0003) and their Ex forms with a sparse VP set (0x0013, 0x0014).
 *
 * Input: {u64 address_space; u64 flags; u64 processor_mask} or, for Ex,
 * {address_space; flags; HV_VP_SET}; the List calls add one u64 per rep:
 * a page-aligned GVA whose low 12 bits count the additional pages.
 *
 * Statuses (the MSDN edition of the TLFS reference pages for
 * HvFlushVirtualAddressSpace/List; the current pages only say "all other
 * flags are reserved and must be set to zero"), all INVALID_PARAMETER:
 *  - a reserved flag bit. HV_FLUSH_USE_EXTENDED_RANGE_FORMAT counts as
 *    reserved: hvshim never advertises extended GVA ranges;
 *  - HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY on a List call ("does not make sense
 *    for this call and is treated as an invalid option");
 *  - reserved CR3 bits in address_space, unless every address space is
 *    flushed (the parameter is then ignored);
 *  - a processor mask of zero without HV_FLUSH_ALL_PROCESSORS (non-Ex).
 * For Ex calls the TLFS is silent on an empty set; it is a no-op there.
 *
 * VPs that do not exist are dropped; an empty result makes no host call.
 * The host gets one tlb_flush per invocation. A List call gathers up to
 * HC_FLUSH_MAX_RANGES ranges; a longer list flushes the whole TLB of the
 * address space(s) instead (over-flushing is always correct, and Linux
 * does the same beyond what one page of ranges holds).
 */
#include "hypercalls/hypercalls.h"

#define HC_FLUSH_MAX_RANGES 16u

static bool is_list(uint16_t code)
{
    return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST || code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

static bool is_ex(uint16_t code)
{
    return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX ||
           code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

static uint16_t target_vps(const struct hc_call *c, uint64_t flags, struct hv_vp_set *vps)
{
    uint32_t nr_vps = c->p->cfg.nr_vps;

    if (is_ex(c->ctl.code)) {
        /* Header qwords: address_space, flags, format, valid_bank_mask,
         * banks. The set is checked even when the flag overrides it. */
        uint16_t st = hc_vpset_from_header(c, 2, vps);
        if (st != HV_STATUS_SUCCESS)
            return st;
        if (flags & HV_FLUSH_ALL_PROCESSORS)
            hc_vpset_all(vps, nr_vps);
        return HV_STATUS_SUCCESS;
    }
    if (flags & HV_FLUSH_ALL_PROCESSORS) {
        hc_vpset_all(vps, nr_vps);
        return HV_STATUS_SUCCESS;
    }
    if (c->hdr[2] == 0)
        return HV_STATUS_INVALID_PARAMETER;
    hc_vpset_from_mask(c->hdr[2], nr_vps, vps);
    return HV_STATUS_SUCCESS;
}

/* Walk the GVA list from the rep start, gathering ranges, until done, the
 * buffer is full (then: whole TLB) or the host asks to stop. */
static uint16_t gather_ranges(struct hc_call *c, struct hv_gva_range *ranges, uint32_t *nr,
                              bool *whole)
{
    uint32_t count = c->ctl.rep_count;
    uint32_t i = c->reps_done;
    uint16_t status = HV_STATUS_SUCCESS;
    bool one_by_one = false;

    *nr = 0;
    *whole = false;
    while (i < count) {
        uint64_t gvas[HC_FLUSH_MAX_RANGES];
        uint32_t room = HC_FLUSH_MAX_RANGES - *nr;
        uint32_t chunk;

        if (room == 0) {
            *whole = true;
            i = count;
            break;
        }
        chunk = one_by_one ? 1 : (count - i < room ? count - i : room);
        if (!hc_read_reps(c, i, chunk, gvas)) {
            /* Find the element that is not RAM, so the reps completed
             * count the ones before it (TLFS: reps done before the error). */
            if (chunk > 1) {
                one_by_one = true;
                continue;
            }
            status = HV_STATUS_INVALID_ALIGNMENT;
            break;
        }
        for (uint32_t k = 0; k < chunk; k++) {
            ranges[*nr].gva = gvas[k] & HV_PAGE_MASK;
            ranges[*nr].pages = (gvas[k] & (HV_PAGE_SIZE - 1)) + 1;
            (*nr)++;
            i++;
            if (i < count && hc_should_preempt(c)) {
                c->preempted = true;
                break;
            }
        }
        if (c->preempted)
            break;
    }
    c->reps_done = i;
    return status;
}

uint16_t hc_flush_virtual_address(struct hc_call *c)
{
    const struct hv_host_ops *o = c->p->ops;
    const bool list = is_list(c->ctl.code);
    const uint64_t address_space = c->hdr[0];
    const uint64_t flags = c->hdr[1];
    uint64_t allowed = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
    struct hv_vp_set vps;
    struct hv_gva_range ranges[HC_FLUSH_MAX_RANGES];
    uint32_t nr_ranges = 0;
    bool whole = !list;
    uint16_t status;

    if (!list)
        allowed |= HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
    if (flags & ~allowed)
        return HV_STATUS_INVALID_PARAMETER;
    if (!(flags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES) && (address_space & HC_CR3_RESERVED_MASK))
        return HV_STATUS_INVALID_PARAMETER;
    status = target_vps(c, flags, &vps);
    if (status != HV_STATUS_SUCCESS)
        return status;

    if (list)
        status = gather_ranges(c, ranges, &nr_ranges, &whole);
    /* Elements gathered before a failing one are complete: flush them. */
    if ((whole || nr_ranges != 0) && hc_vpset_any(&vps, c->p->cfg.nr_vps)) {
        const struct hv_tlb_flush req = {
            .vps = &vps,
            .ranges = whole ? 0 : ranges,
            .nr_ranges = whole ? 0 : nr_ranges,
            .all_address_spaces = (flags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES) != 0,
            .non_global_only = (flags & HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY) != 0,
            .address_space = (flags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES) ? 0 : address_space,
        };
        o->tlb_flush(c->p->ctx, c->vp->index, &req);
    }
    return status;
}
