/* SPDX-License-Identifier: MIT */
/*
 * Enlightenment configuration: one bit per feature, presets, and an
 * xl-style list parser ("base","freq","stimer","!apic_assist").
 */
#ifndef HVSHIM_FEATURES_H
#define HVSHIM_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every enlightenment a guest can be given. The first thirteen keep the
 * names of Xen's viridian= groups (HVM_PARAM_VIRIDIAN bit order is kept in
 * hv_features_from_viridian_mask()); the rest are hvshim's own.
 */
enum hv_feature {
    HV_F_HYPERCALL,          /* GUEST_OS_ID, HYPERCALL page       (xl: base) */
    HV_F_VP_INDEX,           /* VP_INDEX                          (xl: base) */
    HV_F_APIC_MSRS,          /* EOI/ICR/TPR MSRs                  (xl: base) */
    HV_F_VP_ASSIST,          /* VP_ASSIST_PAGE                    (xl: base) */
    HV_F_FREQ,               /* TSC/APIC frequency MSRs           (xl: freq) */
    HV_F_TIME_REF_COUNT,     /* TIME_REF_COUNT */
    HV_F_REFERENCE_TSC,      /* REFERENCE_TSC page */
    HV_F_HCALL_REMOTE_TLB_FLUSH, /* flush hypercalls 0x02/0x03 (+Ex) */
    HV_F_APIC_ASSIST,        /* lazy EOI through the VP assist page */
    HV_F_CRASH_CTL,          /* CRASH_P0-P4, CRASH_CTL */
    HV_F_SYNIC,              /* SCONTROL ... SINT15, messages, event flags */
    HV_F_STIMER,             /* STIMER0-3 */
    HV_F_HCALL_IPI,          /* SendSyntheticClusterIpi (+Ex) */
    HV_F_EX_PROCESSOR_MASKS, /* sparse VP sets: 0x13/0x14/0x15 */
    HV_F_NO_VP_LIMIT,        /* 0x40000005.EAX = unlimited */
    HV_F_CPU_HOTPLUG,        /* 0x40000003.EDX bit 3 */
    /* hvshim additions */
    HV_F_STIMER_DIRECT,      /* direct-mode synthetic timers */
    HV_F_VP_RUNTIME,         /* VP_RUNTIME */
    HV_F_RESET,              /* RESET MSR + its recommendation */
    HV_F_GUEST_IDLE,         /* GUEST_IDLE MSR */
    HV_F_TSC_INVARIANT,      /* TSC_INVARIANT_CONTROL */
    HV_F_REENLIGHTENMENT,    /* REENLIGHTENMENT_CONTROL, TSC_EMULATION_* */
    HV_F_XMM_INPUT,          /* XMM fast hypercall input */
    HV_F_XMM_OUTPUT,         /* XMM fast hypercall output */
    HV_F_POST_MESSAGES,      /* HvPostMessage (VMBus) */
    HV_F_SIGNAL_EVENTS,      /* HvSignalEvent (VMBus) */
    HV_F_SPIN_WAIT,          /* HvNotifyLongSpinWait + retry count */
    HV_F_RELAXED_TIMING,     /* "no watchdogs" recommendation */
    HV_F_DEPRECATE_AUTO_EOI, /* recommend EOI instead of AutoEOI */
    HV_F_ADDRESS_SPACE_SWITCH, /* HvSwitchVirtualAddressSpace + hint */
    HV_F_EXT_HYPERCALLS,     /* extended hypercalls (0x8001 ...) */
    HV_F_SINT_POLLING,       /* SINT polling mode */
    HV_F_COUNT
};

typedef uint64_t hv_features_t;

#define HV_FEATURE_BIT(f) ((hv_features_t)1 << (f))
#define HV_FEATURES_ALL   (HV_FEATURE_BIT(HV_F_COUNT) - 1)

_Static_assert(HV_F_COUNT <= 63, "features fit in a u64 with room for ALL");

static inline bool hv_has(hv_features_t set, enum hv_feature f)
{
    return (set >> f) & 1;
}

/* The named groups the parser knows; a group may expand to several bits. */
struct hv_feature_group {
    const char   *name;
    hv_features_t bits;
    const char   *help;
};

/* NULL-terminated table of all names (features and groups). */
const struct hv_feature_group *hv_feature_groups(void);

/* Canonical name of a single feature. */
const char *hv_feature_name(enum hv_feature f);

/* Presets. */
hv_features_t hv_features_preset_xen_defaults(void);
hv_features_t hv_features_preset_all(void);

/*
 * Parse an xl-style list: names separated by commas, each optionally
 * double-quoted, optionally wrapped in [ ]; "!name" removes; presets
 * "all", "none", "defaults"/"xen-defaults" and "host" (= host_default)
 * may appear. Enabling and disabling the same group is an error, as is a
 * non-empty set without "base" (as libxl requires).
 *
 * Returns 0 and writes *out, or -1 and writes a one-line reason into err.
 */
int hv_features_parse(const char *text, hv_features_t host_default,
                      hv_features_t *out, char *err, size_t err_len);

/* As hv_features_parse, and also reports which features the text named
 * one by one (not through a group or preset), so a host can refuse those
 * it cannot provide while quietly trimming group members. */
int hv_features_parse_ex(const char *text, hv_features_t host_default,
                         hv_features_t *out, hv_features_t *named,
                         char *err, size_t err_len);

/* Writes the feature names of f, comma-separated, NUL-terminated and
 * truncated to len; returns the length the full text needs. */
size_t hv_features_format(hv_features_t f, char *buf, size_t len);

/* Xen's HVM_PARAM_VIRIDIAN mask <-> hvshim features (bit for bit). */
int hv_features_from_viridian_mask(uint64_t mask, hv_features_t *out);
uint64_t hv_features_to_viridian_mask(hv_features_t f);

/* Adds the features another one needs (stimer needs synic, ...). */
hv_features_t hv_features_close(hv_features_t f);

#endif /* HVSHIM_FEATURES_H */
