/* SPDX-License-Identifier: MIT */
/*
 * CPUID leaves 0x40000000-0x4000000A, computed from the partition's
 * features alone: what a leaf advertises is exactly what the MSR and
 * hypercall handlers accept. Leaves are complete before the guest writes
 * GUEST_OS_ID (Linux reads the hints first).
 */
#include "hvshim/internal.h"

#define LEAF_RANGE_LAST 0x400000FFu

/* "Microsoft Hv" as EBX, ECX, EDX */
#define VENDOR_EBX 0x7263694Du
#define VENDOR_ECX 0x666F736Fu
#define VENDOR_EDX 0x76482074u

struct feature_bit {
    uint8_t feature;
    uint32_t bit;
};

static const struct feature_bit privilege_low[] = {
    { HV_F_VP_RUNTIME, HV_PRIV_VP_RUNTIME },
    { HV_F_TIME_REF_COUNT, HV_PRIV_TIME_REF_COUNT },
    { HV_F_SYNIC, HV_PRIV_SYNIC },
    { HV_F_STIMER, HV_PRIV_SYNTHETIC_TIMERS },
    { HV_F_APIC_MSRS, HV_PRIV_APIC_ACCESS },
    { HV_F_HYPERCALL, HV_PRIV_HYPERCALL_MSRS },
    { HV_F_VP_INDEX, HV_PRIV_VP_INDEX },
    { HV_F_RESET, HV_PRIV_RESET },
    { HV_F_REFERENCE_TSC, HV_PRIV_REFERENCE_TSC },
    { HV_F_GUEST_IDLE, HV_PRIV_GUEST_IDLE },
    { HV_F_FREQ, HV_PRIV_FREQUENCY_MSRS },
    { HV_F_REENLIGHTENMENT, HV_PRIV_REENLIGHTENMENT },
    { HV_F_TSC_INVARIANT, HV_PRIV_TSC_INVARIANT },
};

/* Never AccessPartitionId or CpuManagement: those make Linux act as the
 * root partition. */
static const struct feature_bit privilege_high[] = {
    { HV_F_POST_MESSAGES, HV_PRIV_POST_MESSAGES },
    { HV_F_SIGNAL_EVENTS, HV_PRIV_SIGNAL_EVENTS },
    { HV_F_EXT_HYPERCALLS, HV_PRIV_EXTENDED_HYPERCALLS },
};

static const struct feature_bit misc_features[] = {
    { HV_F_CPU_HOTPLUG, HV_FEAT_CPU_DYNAMIC_PARTITION },
    { HV_F_XMM_INPUT, HV_FEAT_XMM_HYPERCALL_INPUT },
    { HV_F_GUEST_IDLE, HV_FEAT_GUEST_IDLE_STATE },
    { HV_F_FREQ, HV_FEAT_FREQUENCY_MSRS },
    { HV_F_CRASH_CTL, HV_FEAT_CRASH_MSRS },
    { HV_F_XMM_OUTPUT, HV_FEAT_XMM_HYPERCALL_OUTPUT },
    { HV_F_SINT_POLLING, HV_FEAT_SINT_POLLING },
    { HV_F_STIMER_DIRECT, HV_FEAT_STIMER_DIRECT },
};

static const struct feature_bit hints[] = {
    { HV_F_ADDRESS_SPACE_SWITCH, HV_HINT_ADDRESS_SPACE_SWITCH },
    { HV_F_HCALL_REMOTE_TLB_FLUSH, HV_HINT_LOCAL_TLB_FLUSH },
    { HV_F_HCALL_REMOTE_TLB_FLUSH, HV_HINT_REMOTE_TLB_FLUSH },
    { HV_F_APIC_MSRS, HV_HINT_APIC_MSRS },
    { HV_F_RESET, HV_HINT_RESET_MSR },
    { HV_F_RELAXED_TIMING, HV_HINT_RELAXED_TIMING },
    { HV_F_DEPRECATE_AUTO_EOI, HV_HINT_DEPRECATE_AUTO_EOI },
    { HV_F_HCALL_IPI, HV_HINT_CLUSTER_IPI },
    { HV_F_EX_PROCESSOR_MASKS, HV_HINT_EX_PROCESSOR_MASKS },
};

static uint32_t collect(const struct hv_partition *p, const struct feature_bit *t, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        if (hv_feature(p, (enum hv_feature)t[i].feature))
            v |= t[i].bit;
    return v;
}

bool hv_cpuid(const struct hv_partition *p, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    const struct hv_config *c = &p->cfg;

    HV_UNUSED(subleaf);
    if (leaf < HV_CPUID_VENDOR_AND_MAX || leaf > LEAF_RANGE_LAST)
        return false;
    out[0] = out[1] = out[2] = out[3] = 0;
    /* Without the base enlightenments there is no Hyper-V to detect. */
    if (!hv_feature(p, HV_F_HYPERCALL) || leaf > HV_CPUID_MAX_LEAF)
        return true;

    switch (leaf) {
    case HV_CPUID_VENDOR_AND_MAX:
        out[0] = HV_CPUID_MAX_LEAF;
        out[1] = VENDOR_EBX;
        out[2] = VENDOR_ECX;
        out[3] = VENDOR_EDX;
        break;
    case HV_CPUID_INTERFACE:
        out[0] = HV_CPUID_SIGNATURE_HV1;
        break;
    case HV_CPUID_VERSION:
        out[0] = c->version_build;
        out[1] = ((uint32_t)c->version_major << 16) | c->version_minor;
        out[2] = c->version_service_pack;
        out[3] = (c->version_service_number & 0x00FFFFFFu) | ((uint32_t)c->version_branch << 24);
        break;
    case HV_CPUID_FEATURES:
        out[0] = collect(p, privilege_low, HV_ARRAY_SIZE(privilege_low));
        out[1] = collect(p, privilege_high, HV_ARRAY_SIZE(privilege_high));
        out[3] = collect(p, misc_features, HV_ARRAY_SIZE(misc_features));
        break;
    case HV_CPUID_ENLIGHTENMENT:
        out[0] = collect(p, hints, HV_ARRAY_SIZE(hints));
        /* 0xFFFFFFFF: never notify long spin waits */
        out[1] = hv_feature(p, HV_F_SPIN_WAIT) ? c->spin_retries : 0xFFFFFFFFu;
        break;
    case HV_CPUID_LIMITS:
        out[0] = hv_feature(p, HV_F_NO_VP_LIMIT) ? 0xFFFFFFFFu : c->nr_vps;
        out[1] = c->nr_vps;
        break;
    case HV_CPUID_HW_FEATURES:
        out[0] = c->hw_features;
        break;
    default:
        /* 0x40000007-0x4000000A: root-only CPU management, reserved, and
         * nested virtualization, none of which hvshim offers. */
        break;
    }
    return true;
}
