/* SPDX-License-Identifier: MIT */
/* Group "crash": the guest crash enlightenment (TLFS 4.3). Nothing here
 * sets CrashNotify: the guest must keep running. */
#include "common.h"

static bool need_crash(void)
{
    return need_edx(HV_EDX_CRASH, "guest crash MSRs");
}

static void c_ctl_capabilities(const struct check *k)
{
    (void)k;
    if (!need_crash())
        return;
    uint64_t v = 0;
    if (!expect_no_fault(rdmsr_safe(HV_MSR_CRASH_CTL, &v), "rdmsr CRASH_CTL"))
        return;
    note("CRASH_CTL reads %#lx", v);
    /* Reading reports the supported actions; CrashNotify is the basic one
     * (TLFS 4.3.1.1). */
    expect(v & HV_CRASH_CTL_NOTIFY, "CrashNotify (bit 63) not reported as supported");
}

static void c_ctl_reserved(const struct check *k)
{
    (void)k;
    if (!need_crash())
        return;
    uint64_t v = 0;
    rdmsr_safe(HV_MSR_CRASH_CTL, &v);
    /* Bits 0-57 are reserved in HV_CRASH_CTL_REG_CONTENTS. */
    uint64_t rsvd = v & (((uint64_t)1 << 58) - 1);
    expect(!rsvd, "reserved CRASH_CTL bits reported: %#lx", rsvd);
}

static void c_params_no_notify(const struct check *k)
{
    (void)k;
    if (!need_crash())
        return;
    /* Linux's layout: P0 error, P1 OS ID, P2 RIP, P3 RAX, P4 RSP. */
    static const uint64_t vals[5] = { 0xDEAD, CONF_GUEST_OS_ID, 0xFFFFFFFF81000000ull,
                                      0x1234, 0xFFFFC90000000000ull };
    for (unsigned i = 0; i < 5; i++)
        expect_no_fault(wrmsr_safe(HV_MSR_CRASH_P(i), vals[i]), "wrmsr CRASH_Pn");
    /* No notify bit: nothing happens, the values stay. */
    delay_us(10000);
    for (unsigned i = 0; i < 5; i++) {
        uint64_t v = 0;
        rdmsr_safe(HV_MSR_CRASH_P(i), &v);
        expect(v == vals[i], "CRASH_P%u reads %#lx, wrote %#lx", i, v, vals[i]);
    }
    expect(ref_now() || !hv_priv(HV_EAX_TIME_REF_COUNT), "the guest stopped");
}

static void c_ctl_write_zero(const struct check *k)
{
    (void)k;
    if (!need_crash())
        return;
    /* "At most a single write ... specifying one of the two variations":
     * writing no action must not crash the partition. */
    expect_no_fault(wrmsr_safe(HV_MSR_CRASH_CTL, 0), "CRASH_CTL = 0");
    delay_us(10000);
    uint64_t v = 0;
    expect_no_fault(rdmsr_safe(HV_MSR_CRASH_CTL, &v), "the guest still runs");
}

const struct check crash_checks[] = {
    CHECK("4.3", "reading CRASH_CTL reports CrashNotify", c_ctl_capabilities),
    CHECK("4.3", "CRASH_CTL reports no reserved bits", c_ctl_reserved),
    CHECK("4.3", "P0-P4 written without notify: kept, guest keeps running",
          c_params_no_notify),
    CHECK("4.3", "CRASH_CTL written with no action does not crash", c_ctl_write_zero),
    CHECK_END,
};
