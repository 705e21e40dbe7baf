/* SPDX-License-Identifier: MIT */
/*
 * HVM_PARAM_VIRIDIAN on an hvshim Xen: bits 0-12 are Xen's HVMPV_ flags
 * with their meaning kept (hv_features_from_viridian_mask), plus what Xen's
 * own viridian always gave with them; bits 13 and up are hvshim's (see
 * xen-glue/abi/hvshim.h). Shared by the hypervisor glue (mask -> features)
 * and the toolstack (features -> mask). Pure functions, no libc.
 */
#ifndef HVSHIM_XEN_VIRIDIAN_MASK_H
#define HVSHIM_XEN_VIRIDIAN_MASK_H

#include <stdbool.h>
#include <stdint.h>

#include "hvshim/features.h"

/* Features an hvshim Xen can give a guest at all. */
hv_features_t hvshim_xen_features_supported(void);

/* Every bit HVM_PARAM_VIRIDIAN may hold on an hvshim Xen. */
uint64_t hvshim_xen_mask_valid_bits(void);

/*
 * mask -> features (closed under hv_features_close). A zero mask gives no
 * features. Returns -1 for unknown bits or a non-zero mask without base,
 * as Xen's own check does.
 */
int hvshim_xen_mask_to_features(uint64_t mask, hv_features_t *out);

/*
 * features -> mask. Returns 0 if the mask gives exactly f. Otherwise -1,
 * with *unsupported = features of f no mask can give on Xen, and
 * *forced = features every mask that gives f also gives (Xen's base and
 * synic imply some; xl's groups are not separable).
 */
int hvshim_xen_features_to_mask(hv_features_t f, uint64_t *mask,
                                hv_features_t *unsupported, hv_features_t *forced);

#endif /* HVSHIM_XEN_VIRIDIAN_MASK_H */
