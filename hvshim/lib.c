/* SPDX-License-Identifier: MIT */
/* Small helpers the freestanding core needs: wide arithmetic, logging
 * shortcuts, overlay-page mapping. */
#include "hvshim/internal.h"

uint64_t hv_div128_64(uint64_t hi, uint64_t lo, uint64_t d)
{
    /* Restoring long division, one quotient bit per step; hi < d keeps the
     * quotient within 64 bits and the partial remainder within 65. */
    uint64_t rem = hi;
    uint64_t q = 0;
    for (int i = 63; i >= 0; i--) {
        uint64_t top = rem >> 63;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        if (top || rem >= d) {
            rem -= d;
            q |= 1;
        }
    }
    return q;
}

uint64_t hv_muldiv64(uint64_t a, uint64_t b, uint64_t d)
{
    unsigned __int128 prod = (unsigned __int128)a * b;
    uint64_t hi = (uint64_t)(prod >> 64);
    uint64_t lo = (uint64_t)prod;
    if (hi >= d)
        return UINT64_MAX;
    return hv_div128_64(hi, lo, d);
}

void *hv_overlay_map(struct hv_partition *p, uint64_t msr_value)
{
    if (!(msr_value & HV_PAGE_MSR_ENABLE))
        return 0;
    return p->ops->page_map(p->ctx, msr_value >> HV_PAGE_SHIFT);
}

void hv_overlay_unmap(struct hv_partition *p, void **page)
{
    if (*page) {
        p->ops->page_unmap(p->ctx, *page);
        *page = 0;
    }
}

const char *hv_strerror(int err)
{
    switch (err) {
    case HV_OK:            return "success";
    case HV_ERR_INVAL:     return "invalid argument";
    case HV_ERR_BUSY:      return "no free message slot or queue entry";
    case HV_ERR_NOENT:     return "no such VP, SINT or connection";
    case HV_ERR_NOSPC:     return "table full";
    case HV_ERR_DISABLED:  return "target SynIC, message page or SINT disabled";
    case HV_ERR_TRUNCATED: return "saved state truncated";
    case HV_ERR_CORRUPT:   return "saved state corrupt (checksum or field check failed)";
    case HV_ERR_VERSION:   return "saved state has an unknown version";
    case HV_ERR_MISMATCH:  return "saved state belongs to another kind, VP or configuration";
    default:               return "unknown error";
    }
}
