/* SPDX-License-Identifier: MIT */
/*
 * Synthetic MSR dispatch: route each MSR of the Hyper-V window to the area
 * that owns it. Anything in the window that no area implements #GPs, as on
 * Hyper-V; anything outside is left to the host.
 */
#include "hvshim/internal.h"

typedef enum hv_msr_result (*rdmsr_fn)(struct hv_vp *, uint32_t, uint64_t *);
typedef enum hv_msr_result (*wrmsr_fn)(struct hv_vp *, uint32_t, uint64_t);

struct msr_area {
    rdmsr_fn rd;
    wrmsr_fn wr;
};

static bool msr_area_of(uint32_t msr, struct msr_area *a)
{
    switch (msr) {
    case HV_MSR_GUEST_OS_ID:
    case HV_MSR_HYPERCALL:
    case HV_MSR_VP_INDEX:
    case HV_MSR_RESET:
    case HV_MSR_VP_RUNTIME:
    case HV_MSR_GUEST_IDLE:
        *a = (struct msr_area){ hv_partition_rdmsr, hv_partition_wrmsr };
        return true;
    case HV_MSR_TIME_REF_COUNT:
    case HV_MSR_REFERENCE_TSC:
    case HV_MSR_TSC_FREQUENCY:
    case HV_MSR_APIC_FREQUENCY:
    case HV_MSR_REENLIGHTENMENT_CONTROL:
    case HV_MSR_TSC_EMULATION_CONTROL:
    case HV_MSR_TSC_EMULATION_STATUS:
    case HV_MSR_TSC_INVARIANT_CONTROL:
        *a = (struct msr_area){ hv_time_rdmsr, hv_time_wrmsr };
        return true;
    case HV_MSR_EOI:
    case HV_MSR_ICR:
    case HV_MSR_TPR:
    case HV_MSR_VP_ASSIST_PAGE:
        *a = (struct msr_area){ hv_apic_rdmsr, hv_apic_wrmsr };
        return true;
    case HV_MSR_SCONTROL:
    case HV_MSR_SVERSION:
    case HV_MSR_SIEFP:
    case HV_MSR_SIMP:
    case HV_MSR_EOM:
        *a = (struct msr_area){ hv_synic_rdmsr, hv_synic_wrmsr };
        return true;
    default:
        break;
    }
    if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15) {
        *a = (struct msr_area){ hv_synic_rdmsr, hv_synic_wrmsr };
        return true;
    }
    if (msr >= HV_MSR_STIMER0_CONFIG && msr <= HV_MSR_STIMER3_COUNT) {
        *a = (struct msr_area){ hv_stimer_rdmsr, hv_stimer_wrmsr };
        return true;
    }
    if (msr >= HV_MSR_CRASH_P0 && msr <= HV_MSR_CRASH_CTL) {
        *a = (struct msr_area){ hv_crash_rdmsr, hv_crash_wrmsr };
        return true;
    }
    return false;
}

static bool in_window(uint32_t msr)
{
    return msr >= HV_MSR_RANGE_FIRST && msr <= HV_MSR_RANGE_LAST;
}

enum hv_msr_result hv_msr_read(struct hv_vp *vp, uint32_t msr, uint64_t *value)
{
    struct hv_partition *p = vp->partition;
    struct msr_area a;
    enum hv_msr_result r;
    uint64_t v = 0;

    if (!in_window(msr))
        return HV_MSR_UNHANDLED;
    hv_stat_inc(&vp->stats.msr_reads);
    r = msr_area_of(msr, &a) ? a.rd(vp, msr, &v) : HV_MSR_GP;
    if (r == HV_MSR_GP) {
        hv_stat_inc(&vp->stats.msr_faults);
        v = 0;
    }
    *value = v;
    hv_trace(p, vp->index, HV_TRACE_MSR_READ, msr, v, r, 0);
    return r;
}

enum hv_msr_result hv_msr_write(struct hv_vp *vp, uint32_t msr, uint64_t value)
{
    struct hv_partition *p = vp->partition;
    struct msr_area a;
    enum hv_msr_result r;

    if (!in_window(msr))
        return HV_MSR_UNHANDLED;
    hv_stat_inc(&vp->stats.msr_writes);
    r = msr_area_of(msr, &a) ? a.wr(vp, msr, value) : HV_MSR_GP;
    if (r == HV_MSR_GP)
        hv_stat_inc(&vp->stats.msr_faults);
    hv_trace(p, vp->index, HV_TRACE_MSR_WRITE, msr, value, r, 0);
    return r;
}
