/* SPDX-License-Identifier: MIT */
/*
 * HvCallSendSyntheticClusterIpi (0x000B) and ...Ex (0x0015): a fixed
 * interrupt to a set of VPs.
 *
 * Input: {u32 vector; HV_INPUT_VTL target_vtl; u8 padding[3]; u64 mask}, or
 * for Ex {u32 vector; target_vtl; padding; HV_VP_SET}. Fast form of 0x0B:
 * RDX = vector (+ target_vtl), R8 = mask (what Linux sends).
 *
 * Statuses:
 *  - vector outside 0x10-0xFF -> INVALID_PARAMETER (TLFS: "Must be between
 *    >= 0x10 and <= 0xFF"; the status for it is not listed: INVALID_
 *    PARAMETER is the TLFS status for bad parameter values);
 *  - target_vtl: hvshim partitions have VTL 0 only, so only "current VTL"
 *    (0) or "VTL 0" (UseTargetVtl with TargetVtl 0, 0x10) is accepted; any
 *    other value -> INVALID_PARAMETER. Padding is ignored (TLFS: padding
 *    values are ignored by the hypervisor);
 *  - Ex: bank count != popcount(valid_bank_mask) -> INVALID_HYPERCALL_INPUT,
 *    unknown set format -> INVALID_PARAMETER (hc_vpset_from_header).
 * VPs that do not exist are dropped (XSA-475); an empty set sends nothing.
 */
#include "hypercalls/hypercalls.h"

#define HC_IPI_VECTOR_MIN 0x10u
#define HC_IPI_VECTOR_MAX 0xFFu
/* HV_INPUT_VTL: bits 0-3 TargetVtl, bit 4 UseTargetVtl, bits 5-7 reserved */
#define HC_INPUT_VTL_USE_TARGET 0x10u

uint16_t hc_send_cluster_ipi(struct hc_call *c)
{
    const uint32_t vector = (uint32_t)c->hdr[0];
    const uint8_t target_vtl = (uint8_t)(c->hdr[0] >> 32);
    struct hv_vp_set vps;

    if (c->ctl.code == HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX) {
        uint16_t st = hc_vpset_from_header(c, 1, &vps);
        if (st != HV_STATUS_SUCCESS)
            return st;
    } else {
        hc_vpset_from_mask(c->hdr[1], c->p->cfg.nr_vps, &vps);
    }
    if (vector < HC_IPI_VECTOR_MIN || vector > HC_IPI_VECTOR_MAX)
        return HV_STATUS_INVALID_PARAMETER;
    if (target_vtl != 0 && target_vtl != HC_INPUT_VTL_USE_TARGET)
        return HV_STATUS_INVALID_PARAMETER;
    if (hc_vpset_any(&vps, c->p->cfg.nr_vps))
        c->p->ops->ipi_send(c->p->ctx, &vps, (uint8_t)vector);
    return HV_STATUS_SUCCESS;
}
