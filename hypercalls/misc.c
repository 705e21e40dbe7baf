/* SPDX-License-Identifier: MIT */
/*
 * Single-purpose calls: HvCallSwitchVirtualAddressSpace (0x0001),
 * HvCallNotifyLongSpinWait (0x0008), HvExtCallQueryCapabilities (0x8001).
 */
#include "hypercalls/hypercalls.h"

/*
 * Input: u64 address space (a CR3 value). TLFS (MSDN edition):
 * INVALID_PARAMETER when it "is not a valid CR3 value" or has reserved
 * bits set. Which CR3 values the host can load is the host's call.
 */
uint16_t hc_switch_address_space(struct hc_call *c)
{
    const struct hv_partition *p = c->p;
    const uint64_t cr3 = c->hdr[0];

    if (cr3 & HC_CR3_RESERVED_MASK)
        return HV_STATUS_INVALID_PARAMETER;
    if (p->ops->switch_address_space(p->ctx, c->vp->index, cr3) != 0)
        return HV_STATUS_INVALID_PARAMETER;
    return HV_STATUS_SUCCESS;
}

/* An advisory hint: "only HV_STATUS_SUCCESS will be returned". */
uint16_t hc_notify_long_spin_wait(struct hc_call *c)
{
    c->p->ops->vp_yield(c->p->ctx, c->vp->index);
    return HV_STATUS_SUCCESS;
}

/*
 * Output: u64 bit mask of the extended calls offered (bit 0
 * GetBootZeroedMemory, bit 1 MemoryHeatHint, ...). hvshim offers none
 * beyond this query, so their codes answer INVALID_HYPERCALL_CODE.
 */
uint16_t hc_ext_query_capabilities(struct hc_call *c)
{
    c->out[0] = 0;
    return HV_STATUS_SUCCESS;
}
