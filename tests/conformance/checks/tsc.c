/* SPDX-License-Identifier: MIT */
/* Group "tsc": the partition reference TSC page (TLFS 12.7). */
#include "common.h"

static const struct hv_tsc_page *page(void)
{
    return (const struct hv_tsc_page *)hv_page_tsc();
}

/* Enables the page; false (check skipped) if the host marks it invalid. */
static bool need_tsc_page(void)
{
    if (!need_eax(HV_EAX_REFERENCE_TSC, "AccessPartitionReferenceTsc") ||
        !need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return false;
    uint64_t v = (uint64_t)(uintptr_t)hv_page_tsc() | 1;
    if (!expect_no_fault(wrmsr_safe(HV_MSR_REFERENCE_TSC, v), "enable REFERENCE_TSC"))
        return false;
    uint64_t t;
    if (!hv_tsc_page_read(page(), &t)) {
        skip("TSC page sequence is 0: the host says use TIME_REF_COUNT");
        return false;
    }
    return true;
}

static void z_valid(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_REFERENCE_TSC, "AccessPartitionReferenceTsc"))
        return;
    wrmsr_safe(HV_MSR_REFERENCE_TSC, (uint64_t)(uintptr_t)hv_page_tsc() | 1);
    const struct hv_tsc_page *p = page();
    note("sequence %u scale %#lx offset %ld", p->sequence, p->scale, p->offset);
    /* 0 is legal but means the page is unusable; 0xFFFFFFFF was the old,
     * wrong "invalid" marker some guests still honour. */
    expect(p->sequence != 0 && p->sequence != 0xFFFFFFFFu,
           "TSC page not usable right after enabling (sequence %#x)", p->sequence);
    expect(p->scale != 0, "TSC page scale is 0");
}

static void z_matches_msr(const struct check *k)
{
    (void)k;
    if (!need_tsc_page())
        return;
    unsigned bad = 0;
    int64_t worst = 0;
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t a, m, b;
        hv_tsc_page_read(page(), &a);
        m = ref_now();
        hv_tsc_page_read(page(), &b);
        /* One clock: the MSR read between two page reads lies between
         * them (1 us of slack for rounding). */
        if (m + 10 < a || m > b + 10) {
            bad++;
            int64_t off = m < a ? (int64_t)(m - a) : (int64_t)(m - b);
            if ((off < 0 ? -off : off) > (worst < 0 ? -worst : worst))
                worst = off;
        }
    }
    expect(!bad, "%u of 1000 TIME_REF_COUNT reads fell outside the page reads around them "
                 "(worst by %ld x 100 ns)", bad, worst);
}

static void z_monotonic(const struct check *k)
{
    (void)k;
    if (!need_tsc_page())
        return;
    uint64_t prev = 0;
    hv_tsc_page_read(page(), &prev);
    for (unsigned i = 0; i < 20000; i++) {
        uint64_t t;
        hv_tsc_page_read(page(), &t);
        if (!expect(t >= prev, "page time went back: %lu -> %lu", prev, t))
            return;
        prev = t;
    }
}

static volatile uint64_t zz_val;
static volatile uint32_t zz_turn, zz_bad;

static void zz_ap(void *arg)
{
    unsigned rounds = (unsigned)(uintptr_t)arg;
    wrmsr_safe(HV_MSR_REFERENCE_TSC, (uint64_t)(uintptr_t)hv_page_tsc() | 1);
    for (unsigned i = 0; i < rounds; i++) {
        deadline_t d = deadline_us(1000000);
        while (__atomic_load_n(&zz_turn, __ATOMIC_ACQUIRE) != 2 * i + 1)
            if (deadline_passed(d))
                return;
        uint64_t t = 0;
        hv_tsc_page_read(page(), &t);
        if (t < zz_val)
            zz_bad++;
        zz_val = t;
        __atomic_store_n(&zz_turn, 2 * i + 2, __ATOMIC_RELEASE);
    }
}

static void z_cross_cpu(const struct check *k)
{
    (void)k;
    if (!need_tsc_page() || !need_cpus(2))
        return;
    const unsigned rounds = 1000;
    zz_turn = 0;
    zz_bad = 0;
    zz_val = 0;
    run_start(1, zz_ap, (void *)(uintptr_t)rounds);
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t t = 0;
        hv_tsc_page_read(page(), &t);
        if (t < zz_val)
            zz_bad++;
        zz_val = t;
        __atomic_store_n(&zz_turn, 2 * i + 1, __ATOMIC_RELEASE);
        deadline_t d = deadline_us(1000000);
        while (__atomic_load_n(&zz_turn, __ATOMIC_ACQUIRE) != 2 * i + 2)
            if (!expect(!deadline_passed(d), "CPU 1 stopped answering at round %u", i))
                return;
    }
    run_wait(1, 1000000);
    expect(!zz_bad, "%u of %u hand-overs saw page time go back across CPUs", zz_bad,
           2 * rounds);
}

static void z_scale(const struct check *k)
{
    (void)k;
    if (!need_tsc_page())
        return;
    /* scale = 10^7 * 2^64 / TSC Hz: check the implied frequency against
     * the TSC measured over reference time. */
    uint64_t r0 = ref_now(), t0 = rdtsc();
    while (ref_now() < r0 + 500000)    /* 50 ms */
        cpu_relax();
    uint64_t r1 = ref_now(), t1 = rdtsc();
    uint64_t measured = muldiv64(t1 - t0, 10000000ull, r1 - r0);
    uint64_t scale = page()->scale;
    /* 10^7 * 2^64 / scale, as (10^7 << 32) / (scale >> 32) to stay in 64 bits. */
    uint64_t implied = scale >> 32 ? (10000000ull << 32) / (scale >> 32) : 0;
    note("scale %#lx implies %lu Hz; measured %lu Hz", scale, implied, measured);
    expect(implied > measured - measured / 200 && implied < measured + measured / 200,
           "scale implies %lu Hz, the TSC runs at %lu Hz (more than 0.5%% apart)", implied,
           measured);
}

static void z_disable(const struct check *k)
{
    (void)k;
    if (!need_tsc_page())
        return;
    expect_no_fault(wrmsr_safe(HV_MSR_REFERENCE_TSC, 0), "disable REFERENCE_TSC");
    uint64_t v = 1;
    rdmsr_safe(HV_MSR_REFERENCE_TSC, &v);
    expect(v == 0, "REFERENCE_TSC reads %#lx after writing 0", v);
    uint64_t a = ref_now();
    delay_us(1000);
    expect(ref_now() > a, "TIME_REF_COUNT stopped with the page disabled");
    /* Re-enabling at a new GPA publishes a valid page there. */
    uint8_t *pg = hv_page_scratch(4);
    memset(pg, 0, PAGE_SIZE);
    expect_no_fault(wrmsr_safe(HV_MSR_REFERENCE_TSC, (uint64_t)(uintptr_t)pg | 1),
                    "enable REFERENCE_TSC at another GPA");
    uint64_t t = 0;
    expect(hv_tsc_page_read((const struct hv_tsc_page *)pg, &t),
           "no valid page at the new GPA");
    uint64_t m = ref_now();
    expect(t <= m + 10 && m - t < 100000, "new page time %lu vs TIME_REF_COUNT %lu", t, m);
    wrmsr_safe(HV_MSR_REFERENCE_TSC, (uint64_t)(uintptr_t)hv_page_tsc() | 1);
}

const struct check tsc_checks[] = {
    CHECK("12.7", "TSC page valid once enabled (sequence, scale)", z_valid),
    CHECK("12.7", "TIME_REF_COUNT read between two page reads lies between them",
          z_matches_msr),
    CHECK("12.7", "page time monotonic on one VP", z_monotonic),
    CHECK("12.7", "page time monotonic across VPs", z_cross_cpu),
    CHECK("12.7", "TscScale matches the TSC frequency", z_scale),
    CHECK("12.7", "disable and re-enable at another GPA", z_disable),
    CHECK_END,
};
