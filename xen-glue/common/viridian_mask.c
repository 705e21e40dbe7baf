/* SPDX-License-Identifier: MIT */
/* HVM_PARAM_VIRIDIAN <-> hvshim features on Xen (see viridian_mask.h). */
#include "xen-glue/common/viridian_mask.h"

#define FB(f) HV_FEATURE_BIT(HV_F_##f)

/* hvshim's own HVM_PARAM_VIRIDIAN bits (xen-glue/abi/hvshim.h). */
static const struct {
    uint8_t bit;
    uint8_t feature;
} hvshim_bits[] = {
    { 13, HV_F_STIMER_DIRECT },
    { 14, HV_F_VP_RUNTIME },
    { 15, HV_F_RESET },
    { 16, HV_F_POST_MESSAGES },
    { 17, HV_F_SIGNAL_EVENTS },
    { 18, HV_F_DEPRECATE_AUTO_EOI },
    { 19, HV_F_ADDRESS_SPACE_SWITCH },
    { 20, HV_F_EXT_HYPERCALLS },
};

#define XEN_LEGACY_BITS 0x1FFFull      /* HVMPV_base_freq .. HVMPV_cpu_hotplug */
#define XEN_SYNIC_BIT   7

/* What Xen's viridian gives every viridian guest, and every guest with
 * synic, beyond what the HVMPV_ names say: the relaxed-timing hint and
 * spin-wait notification (leaf 4), SINT polling (leaf 3 EDX bit 17). */
#define IMPLIED_BY_BASE  (FB(RELAXED_TIMING) | FB(SPIN_WAIT))
#define IMPLIED_BY_SYNIC FB(SINT_POLLING)

uint64_t hvshim_xen_mask_valid_bits(void)
{
    uint64_t m = XEN_LEGACY_BITS;

    for (unsigned i = 0; i < sizeof(hvshim_bits) / sizeof(hvshim_bits[0]); i++)
        m |= 1ull << hvshim_bits[i].bit;
    return m;
}

hv_features_t hvshim_xen_features_supported(void)
{
    hv_features_t f = 0;

    /* Everything the legacy bits can express ... */
    (void)hv_features_from_viridian_mask(XEN_LEGACY_BITS & ~2ull, &f);
    f |= IMPLIED_BY_BASE | IMPLIED_BY_SYNIC | FB(FREQ);
    /* ... and hvshim's bits. */
    for (unsigned i = 0; i < sizeof(hvshim_bits) / sizeof(hvshim_bits[0]); i++)
        f |= HV_FEATURE_BIT(hvshim_bits[i].feature);
    return f;
}

int hvshim_xen_mask_to_features(uint64_t mask, hv_features_t *out)
{
    hv_features_t f = 0;

    *out = 0;
    if (mask == 0)
        return 0;
    if (mask & ~hvshim_xen_mask_valid_bits())
        return -1;
    if (hv_features_from_viridian_mask(mask & XEN_LEGACY_BITS, &f) != 0 || f == 0)
        return -1;
    f |= IMPLIED_BY_BASE;
    if (mask & (1ull << XEN_SYNIC_BIT))
        f |= IMPLIED_BY_SYNIC;
    for (unsigned i = 0; i < sizeof(hvshim_bits) / sizeof(hvshim_bits[0]); i++)
        if (mask & (1ull << hvshim_bits[i].bit))
            f |= HV_FEATURE_BIT(hvshim_bits[i].feature);
    f = hv_features_close(f);
    /* Closure may bring synic in (stimer needs it): then polling too, so
     * every feature set a mask gives has a mask of its own. */
    if (f & FB(SYNIC))
        f |= IMPLIED_BY_SYNIC;
    *out = f;
    return 0;
}

int hvshim_xen_features_to_mask(hv_features_t f, uint64_t *mask,
                                hv_features_t *unsupported, hv_features_t *forced)
{
    hv_features_t back = 0;
    uint64_t m;

    *mask = 0;
    *unsupported = f & ~hvshim_xen_features_supported();
    *forced = 0;
    if (f == 0)
        return *unsupported ? -1 : 0;
    m = hv_features_to_viridian_mask(f);
    for (unsigned i = 0; i < sizeof(hvshim_bits) / sizeof(hvshim_bits[0]); i++)
        if (f & HV_FEATURE_BIT(hvshim_bits[i].feature))
            m |= 1ull << hvshim_bits[i].bit;
    if (m == 0 || hvshim_xen_mask_to_features(m, &back) != 0)
        back = 0;
    *forced = back & ~f;
    *unsupported |= f & ~back;
    *mask = m;
    return (*unsupported || *forced) ? -1 : 0;
}
