/* SPDX-License-Identifier: MIT */
/*
 * Guest crash reporting: CRASH_P0-P4 hold what the guest wants the host to
 * know, CRASH_CTL with CrashNotify hands them over. With CrashNotifyMsg,
 * P3/P4 name a buffer of text (Linux: its kernel log) in guest memory.
 */
#include "hvshim/internal.h"

#define CRASH_CTL_SUPPORTED (HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG)

static void report_crash(struct hv_vp *vp, uint64_t ctl)
{
    struct hv_partition *p = vp->partition;
    struct hv_crash_report rep;
    void *page = 0;

    hv_lock(&p->lock);
    memcpy(rep.params, p->crash_param, sizeof(rep.params));
    hv_unlock(&p->lock);
    rep.ctl = ctl;
    rep.message = 0;
    rep.message_len = 0;

    if (ctl & HV_CRASH_CTL_NOTIFY_MSG) {
        uint64_t gpa = rep.params[3];
        uint64_t len = rep.params[4];
        uint64_t room = HV_PAGE_SIZE - (gpa & (HV_PAGE_SIZE - 1));

        /* The text must live in guest RAM; at most the rest of its page is
         * shown (Linux hands over exactly one page). */
        if (len > room)
            len = room;
        if (len && gpa <= UINT64_MAX - len &&
            (page = p->ops->page_map(p->ctx, gpa >> HV_PAGE_SHIFT)) != 0) {
            rep.message = (const char *)page + (gpa & (HV_PAGE_SIZE - 1));
            rep.message_len = (uint32_t)len;
        }
    }
    p->ops->partition_event(p->ctx, vp->index, HV_EVENT_CRASH, &rep);
    if (page)
        p->ops->page_unmap(p->ctx, page);
}

enum hv_msr_result hv_crash_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
    struct hv_partition *p = vp->partition;

    if (!hv_feature(p, HV_F_CRASH_CTL))
        return HV_MSR_GP;
    if (msr == HV_MSR_CRASH_CTL) {
        /* Reading advertises what the host supports; Linux registers its
         * kmsg dumper only when it sees CrashNotifyMsg here. */
        *val = CRASH_CTL_SUPPORTED;
        return HV_MSR_OK;
    }
    hv_lock(&p->lock);
    *val = p->crash_param[msr - HV_MSR_CRASH_P0];
    hv_unlock(&p->lock);
    return HV_MSR_OK;
}

enum hv_msr_result hv_crash_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
    struct hv_partition *p = vp->partition;

    if (!hv_feature(p, HV_F_CRASH_CTL))
        return HV_MSR_GP;
    if (msr == HV_MSR_CRASH_CTL) {
        if (val & ~CRASH_CTL_SUPPORTED)
            return HV_MSR_GP;
        hv_lock(&p->lock);
        p->crash_ctl = val;
        hv_unlock(&p->lock);
        if (val & HV_CRASH_CTL_NOTIFY)
            report_crash(vp, val);
        return HV_MSR_OK;
    }
    hv_lock(&p->lock);
    p->crash_param[msr - HV_MSR_CRASH_P0] = val;
    hv_unlock(&p->lock);
    return HV_MSR_OK;
}
