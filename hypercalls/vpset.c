/* SPDX-License-Identifier: MIT */
/*
 * Virtual processor sets (TLFS HV_VP_SET, the "Ex" processor masks): a
 * format, a valid_bank_mask and one 64-bit bank per set mask bit, bank n
 * covering VP indexes 64n to 64n+63.
 *
 * Both functions are pure and bounded by what they are given: parse never
 * reads past `avail` qwords, expand writes only banks 0-63 of a 4096-VP
 * bitmap and keeps only VPs that exist (XSA-475: Xen built the mask from
 * unchecked bank numbers and indexed its vCPU array with them).
 */
#include "hypercalls/hypercalls.h"

uint32_t hv_vpset_parse(const uint64_t *q, uint32_t avail, struct hv_vpset_view *out)
{
    uint32_t banks;

    if (avail < 2)
        return 0;
    /* A 64-bit mask names at most 64 banks, so the count is bounded before
     * it is compared with what the caller holds. */
    banks = hv_popcount64(q[1]);
    if (banks > HV_VPSET_MAX_BANKS || banks > avail - 2)
        return 0;
    out->format = q[0];
    out->valid_bank_mask = q[1];
    out->banks = q + 2;
    out->nr_banks = banks;
    return 2 + banks;
}

/* The bits of bank `bank` that name existing VPs. */
static uint64_t bank_existing(uint32_t bank, uint32_t nr_vps)
{
    uint32_t base = bank * 64u;
    if (base >= nr_vps)
        return 0;
    if (nr_vps - base >= 64u)
        return ~0ull;
    return (1ull << (nr_vps - base)) - 1;
}

void hc_vpset_all(struct hv_vp_set *s, uint32_t nr_vps)
{
    hv_vpset_clear(s);
    if (nr_vps > HV_MAX_VPS)
        nr_vps = HV_MAX_VPS;
    for (uint32_t bank = 0; bank * 64u < nr_vps; bank++)
        s->bits[bank] = bank_existing(bank, nr_vps);
}

void hv_vpset_expand(const struct hv_vpset_view *v, uint32_t nr_vps,
                     struct hv_vp_set *out, uint32_t *dropped)
{
    uint32_t lost = 0;

    if (nr_vps > HV_MAX_VPS)
        nr_vps = HV_MAX_VPS;
    if (v->format == HV_VPSET_FORMAT_ALL) {
        hc_vpset_all(out, nr_vps);
    } else {
        hv_vpset_clear(out);
        /* Unknown formats (callers reject them first) name nobody. */
        if (v->format == HV_VPSET_FORMAT_SPARSE_4K) {
            /* Banks are stored in ascending bank order, one per mask bit:
             * the work is one step per bank, never per possible VP. */
            uint64_t mask = v->valid_bank_mask;
            for (uint32_t i = 0; mask != 0 && i < v->nr_banks; i++) {
                uint32_t bank = hv_ctz64(mask);
                uint64_t keep = bank_existing(bank, nr_vps);

                mask &= mask - 1;
                out->bits[bank] = v->banks[i] & keep;
                lost += hv_popcount64(v->banks[i] & ~keep);
            }
        }
    }
    if (dropped)
        *dropped = lost;
}

bool hc_vpset_any(const struct hv_vp_set *s, uint32_t nr_vps)
{
    if (nr_vps > HV_MAX_VPS)
        nr_vps = HV_MAX_VPS;
    for (uint32_t bank = 0; bank * 64u < nr_vps; bank++)
        if (s->bits[bank] & bank_existing(bank, nr_vps))
            return true;
    return false;
}

void hc_vpset_from_mask(uint64_t mask, uint32_t nr_vps, struct hv_vp_set *s)
{
    const struct hv_vpset_view v = {
        .format = HV_VPSET_FORMAT_SPARSE_4K, .valid_bank_mask = 1, .banks = &mask, .nr_banks = 1,
    };
    hv_vpset_expand(&v, nr_vps, s, 0);
}

uint16_t hc_vpset_from_header(const struct hc_call *c, uint32_t first, struct hv_vp_set *s)
{
    struct hv_vpset_view v;
    uint32_t avail, used;

    if (first > c->hdr_qwords)
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    avail = c->hdr_qwords - first;
    used = hv_vpset_parse(&c->hdr[first], avail, &v);

    /* The variable header must hold exactly one bank per valid_bank_mask
     * bit (TLFS: "for every bit that is set ... there must be an element"),
     * so the control word's size and the mask agree. */
    if (used == 0 || used != avail)
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    /* TLFS defines formats 0 (sparse) and 1 (all) only; it is silent on the
     * status for others: INVALID_PARAMETER, like other bad parameters. */
    if (v.format != HV_VPSET_FORMAT_SPARSE_4K && v.format != HV_VPSET_FORMAT_ALL)
        return HV_STATUS_INVALID_PARAMETER;
    hv_vpset_expand(&v, c->p->cfg.nr_vps, s, 0);
    return HV_STATUS_SUCCESS;
}
