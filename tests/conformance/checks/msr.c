/* SPDX-License-Identifier: MIT */
/*
 * Group "msr": synthetic MSRs. Reset values first (they must run before
 * anything touches the state), then CPUID <-> access consistency for every
 * MSR in both directions (TLFS 8.10: an MSR is emulated only when the
 * partition holds its privilege, otherwise #GP), then semantics.
 */
#include "common.h"

#include "../rt/user.h"

/* ------------------------------------------------------ reset values */

static void m_os_id_reset(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_HYPERCALL_MSRS, "AccessHypercallMsrs"))
        return;
    if (hv_hypercall_va) {
        skip("GUEST_OS_ID was already written by an earlier check");
        return;
    }
    uint64_t v = 1;
    if (expect_no_fault(rdmsr_safe(HV_MSR_GUEST_OS_ID, &v), "rdmsr GUEST_OS_ID"))
        expect(v == 0, "GUEST_OS_ID is %#lx at boot, TLFS: initially zero", v);
}

static void m_hypercall_needs_os_id(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_HYPERCALL_MSRS, "AccessHypercallMsrs"))
        return;
    uint64_t id = 0, hc = 0;
    if (hv_hypercall_va || rdmsr_safe(HV_MSR_GUEST_OS_ID, &id) >= 0 || id) {
        skip("GUEST_OS_ID already set");
        return;
    }
    uint64_t page = (uint64_t)(uintptr_t)hv_page_scratch(0);
    expect_no_fault(wrmsr_safe(HV_MSR_HYPERCALL, page | 1), "wrmsr HYPERCALL without OS ID");
    expect_no_fault(rdmsr_safe(HV_MSR_HYPERCALL, &hc), "rdmsr HYPERCALL");
    expect(!(hc & 1), "hypercall page enabled without a guest OS ID (HYPERCALL = %#lx)", hc);
    wrmsr_safe(HV_MSR_HYPERCALL, 0);
}

struct reset_vals {
    uint64_t scontrol, simp, siefp, sint[16], stimer[4];
    int fault;
};
static struct reset_vals reset_of[MAX_CPUS];

static void read_reset_values(void *arg)
{
    (void)arg;
    struct reset_vals *r = &reset_of[this_cpu()->index];
    r->fault = -1;
    if (hv_priv(HV_EAX_SYNIC)) {
        if (rdmsr_safe(HV_MSR_SCONTROL, &r->scontrol) >= 0 ||
            rdmsr_safe(HV_MSR_SIMP, &r->simp) >= 0 ||
            rdmsr_safe(HV_MSR_SIEFP, &r->siefp) >= 0)
            r->fault = 13;
        for (unsigned s = 0; s < 16; s++)
            if (rdmsr_safe(HV_MSR_SINT(s), &r->sint[s]) >= 0)
                r->fault = 13;
    }
    if (hv_priv(HV_EAX_STIMER))
        for (unsigned t = 0; t < 4; t++)
            if (rdmsr_safe(HV_MSR_STIMER_CONFIG(t), &r->stimer[t]) >= 0)
                r->fault = 13;
}

static bool gather_reset_values(void)
{
    read_reset_values(0);
    for (unsigned i = 1; i < ncpus; i++)
        if (!expect(run_on(i, read_reset_values, 0, 1000000), "CPU %u did not answer", i))
            return false;
    return true;
}

static void m_synic_reset(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs") || !gather_reset_values())
        return;
    for (unsigned i = 0; i < ncpus; i++) {
        struct reset_vals *r = &reset_of[i];
        expect(r->fault < 0, "CPU %u: a SynIC MSR read faulted", i);
        expect(!r->scontrol, "CPU %u: SCONTROL = %#lx at reset, TLFS: 0", i, r->scontrol);
        expect(!r->simp, "CPU %u: SIMP = %#lx at reset, TLFS: 0", i, r->simp);
        expect(!r->siefp, "CPU %u: SIEFP = %#lx at reset, TLFS: 0", i, r->siefp);
        for (unsigned s = 0; s < 16; s++)
            expect(r->sint[s] == 0x10000, "CPU %u: SINT%u = %#lx at reset, TLFS: 0x10000", i,
                   s, r->sint[s]);
    }
}

static void m_stimer_reset(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") || !gather_reset_values())
        return;
    for (unsigned i = 0; i < ncpus; i++)
        for (unsigned t = 0; t < 4; t++)
            expect(!reset_of[i].stimer[t], "CPU %u: STIMER%u_CONFIG = %#lx at reset, TLFS: 0",
                   i, t, reset_of[i].stimer[t]);
}

static void m_ref_tsc_reset(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_REFERENCE_TSC, "AccessPartitionReferenceTsc"))
        return;
    uint64_t v = 1;
    if (expect_no_fault(rdmsr_safe(HV_MSR_REFERENCE_TSC, &v), "rdmsr REFERENCE_TSC"))
        expect(v == 0, "REFERENCE_TSC = %#lx at creation, TLFS: 0", v);
}

static void m_ref_count_start(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return;
    uint64_t v = 0;
    if (!expect_no_fault(rdmsr_safe(HV_MSR_TIME_REF_COUNT, &v), "rdmsr TIME_REF_COUNT"))
        return;
    note("TIME_REF_COUNT %lu (%lu ms since partition creation)", v, v / 10000);
    /* Counted from zero at partition creation: a boot is not ten minutes. */
    expect(v < 6000000000ull, "TIME_REF_COUNT %lu: not counted from partition creation", v);
}

/* -------------------------------------------- CPUID <-> access gating */

enum { R = 1, W = 2, RW = 3 };
enum { EAX = 0, EBX = 1, EDX = 3 };

struct gate {
    uint32_t msr;
    uint8_t reg;
    uint8_t bit;
    uint8_t access;
};

static bool gate_advertised(const struct gate *g)
{
    return hv.features[g->reg] & (1u << g->bit);
}

/* GUEST_IDLE blocks until an interrupt: keep one coming (LAPIC timer),
 * and have CPU 1 rescue this one if the host never wakes it. */
static int idle_read(uint64_t *v)
{
    watchdog_disarm();
    irq_enable();
    bool rescue = rescue_begin(3000000);
    apic_timer_oneshot((uint32_t)(apic_timer_hz / 1000), VEC_LAPIC_TMR);
    int f = rdmsr_safe(HV_MSR_GUEST_IDLE, v);
    apic_timer_stop();
    if (rescue)
        rescue_end();
    watchdog_arm(20000000);
    return f;
}

static void m_gate(const struct check *k)
{
    const struct gate *g = k->arg;
    static const char *const regname[] = { "EAX", "EBX", "ECX", "EDX" };
    uint64_t v = 0;
    bool adv = gate_advertised(g);
    note("0x40000003.%s bit %u is %s", regname[g->reg], g->bit, adv ? "set" : "clear");
    if (adv) {
        if (g->access & R) {
            int f = g->msr == HV_MSR_GUEST_IDLE ? idle_read(&v) : rdmsr_safe(g->msr, &v);
            expect_no_fault(f, "rdmsr of an advertised MSR");
        } else {
            /* Write-only (EOI, EOM): 0 is harmless with nothing pending. */
            expect_no_fault(wrmsr_safe(g->msr, 0), "wrmsr of an advertised MSR");
        }
        return;
    }
    int f = g->msr == HV_MSR_GUEST_IDLE ? idle_read(&v) : rdmsr_safe(g->msr, &v);
    expect_fault(f, 13, "rdmsr of an MSR whose privilege is not granted");
    /* 0 changes nothing on a host that wrongly implements it (RESET,
     * CRASH_CTL included). */
    expect_fault(wrmsr_safe(g->msr, 0), 13, "wrmsr of an MSR whose privilege is not granted");
}

#define GATE(sec, m, name, reg, bit, acc)                                              \
    CHECK_ARG(sec, name " (" #m ") access follows 0x40000003." #reg " bit " #bit, m_gate, \
              (&(const struct gate){ m, reg, bit, acc }))

/* ------------------------------------------------ unimplemented MSRs */

static void m_undefined(const struct check *k)
{
    uint32_t msr = (uint32_t)(uintptr_t)k->arg;
    uint64_t v;
    expect_fault(rdmsr_safe(msr, &v), 13, "rdmsr of an unimplemented synthetic MSR");
    expect_fault(wrmsr_safe(msr, 0), 13, "wrmsr of an unimplemented synthetic MSR");
}

#define UNDEF(m) \
    CHECK_ARG("8.10", "unimplemented synthetic MSR " #m " gives #GP", m_undefined, (void *)(m))

/* --------------------------------------------------- read-only MSRs */

struct ro {
    uint32_t msr;
    uint8_t reg;
    uint8_t bit;
};

static void m_read_only(const struct check *k)
{
    const struct ro *r = k->arg;
    if (!(hv.features[r->reg] & (1u << r->bit))) {
        skip("MSR not available (privilege bit %u clear)", r->bit);
        return;
    }
    uint64_t v;
    if (!expect_no_fault(rdmsr_safe(r->msr, &v), "rdmsr"))
        return;
    expect_fault(wrmsr_safe(r->msr, v), 13, "writing a read-only MSR (its own value)");
    uint64_t after = 0;
    rdmsr_safe(r->msr, &after);
    if (r->msr != HV_MSR_TIME_REF_COUNT && r->msr != HV_MSR_VP_RUNTIME)
        expect(after == v, "value changed from %#lx to %#lx", v, after);
}

#define RO(sec, m, name, reg, bit)                                                         \
    CHECK_ARG(sec, name " (" #m ") is read-only: write gives #GP", m_read_only, \
              (&(const struct ro){ m, reg, bit }))

/* -------------------------------------------------------- semantics */

static void m_os_id_roundtrip(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t v = 0;
    expect_no_fault(rdmsr_safe(HV_MSR_GUEST_OS_ID, &v), "rdmsr GUEST_OS_ID");
    expect(v == CONF_GUEST_OS_ID, "GUEST_OS_ID reads %#lx after writing %#lx", v,
           CONF_GUEST_OS_ID);
}

static volatile uint64_t remote_val;
static volatile int remote_fault;
static void remote_rdmsr(void *arg)
{
    uint64_t v = 0;
    remote_fault = rdmsr_safe((uint32_t)(uintptr_t)arg, &v);
    remote_val = v;
}

static bool read_on(unsigned cpu, uint32_t msr, uint64_t *v)
{
    remote_fault = -1;
    if (!run_on(cpu, remote_rdmsr, (void *)(uintptr_t)msr, 1000000))
        return expect(false, "CPU %u did not answer", cpu);
    *v = remote_val;
    return expect_no_fault(remote_fault, "rdmsr on the other CPU");
}

static void m_partition_wide(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_cpus(2))
        return;
    uint64_t id0 = 0, id1 = 0, hc0 = 0, hc1 = 0;
    rdmsr_safe(HV_MSR_GUEST_OS_ID, &id0);
    rdmsr_safe(HV_MSR_HYPERCALL, &hc0);
    if (read_on(1, HV_MSR_GUEST_OS_ID, &id1))
        expect(id1 == id0, "GUEST_OS_ID: CPU 0 %#lx, CPU 1 %#lx", id0, id1);
    if (read_on(1, HV_MSR_HYPERCALL, &hc1))
        expect(hc1 == hc0, "HYPERCALL: CPU 0 %#lx, CPU 1 %#lx", hc0, hc1);
}

static void m_hypercall_page(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t hc = 0;
    rdmsr_safe(HV_MSR_HYPERCALL, &hc);
    expect((hc & ~0xFFEull) == ((uint64_t)(uintptr_t)hv_page_hcall() | 1),
           "HYPERCALL reads %#lx, wrote %p | 1", hc, hv_page_hcall());
    const uint8_t *p = hv_page_hcall();
    bool code = false;
    for (unsigned i = 0; i < 64; i++)
        code |= p[i] != 0;
    expect(code, "the hypercall page holds no code");
    note("page starts %02x %02x %02x %02x %02x %02x %02x %02x", p[0], p[1], p[2], p[3], p[4],
         p[5], p[6], p[7]);
}

static void m_hypercall_page_ro(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    volatile uint8_t *p = (volatile uint8_t *)hv_page_hcall();
    uint8_t b = p[0];
    /* Rewriting the same byte keeps the page intact where it is RAM. */
    expect_fault(write8_safe(p, b), 13, "write to the hypercall page");
}

static void m_os_id_zero_disables(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t id = 0, hc = 0;
    rdmsr_safe(HV_MSR_GUEST_OS_ID, &id);
    expect_no_fault(wrmsr_safe(HV_MSR_GUEST_OS_ID, 0), "clear GUEST_OS_ID");
    rdmsr_safe(HV_MSR_HYPERCALL, &hc);
    expect(!(hc & 1), "hypercall page still enabled after GUEST_OS_ID = 0 (%#lx)", hc);
    /* Restore for the checks that follow. */
    wrmsr_safe(HV_MSR_GUEST_OS_ID, id);
    wrmsr_safe(HV_MSR_HYPERCALL, (uint64_t)(uintptr_t)hv_page_hcall() | 1);
    rdmsr_safe(HV_MSR_HYPERCALL, &hc);
    expect(hc & 1, "hypercall page could not be re-enabled (%#lx)", hc);
}

static void m_hypercall_beyond(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t g = gpa_beyond();
    note("GPA %#lx (physical address bits %u)", g, __builtin_ctzll(g));
    expect_fault(wrmsr_safe(HV_MSR_HYPERCALL, g | 1), 13,
                 "hypercall page beyond the GPA space");
    uint64_t hc = 0;
    rdmsr_safe(HV_MSR_HYPERCALL, &hc);
    if ((hc & ~0xFFFull) != (uint64_t)(uintptr_t)hv_page_hcall()) {
        expect(false, "HYPERCALL changed to %#lx", hc);
        wrmsr_safe(HV_MSR_HYPERCALL, (uint64_t)(uintptr_t)hv_page_hcall() | 1);
    }
}

static void m_vp_runtime(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_VP_RUNTIME, "AccessVpRunTimeReg") ||
        !need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return;
    uint64_t r0 = 0, r1 = 0, t0 = ref_now();
    rdmsr_safe(HV_MSR_VP_RUNTIME, &r0);
    delay_us(20000);    /* busy: the VP runs all along */
    rdmsr_safe(HV_MSR_VP_RUNTIME, &r1);
    uint64_t t1 = ref_now();
    note("runtime +%lu, reference time +%lu (100 ns)", r1 - r0, t1 - t0);
    expect(r1 > r0, "VP_RUNTIME did not advance while the VP ran (%lu -> %lu)", r0, r1);
    expect(r1 - r0 <= (t1 - t0) + (t1 - t0) / 10 + 1000,
           "VP_RUNTIME advanced %lu, more than the %lu of reference time", r1 - r0, t1 - t0);
}

static void m_ref_count_monotonic(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return;
    uint64_t prev = ref_now();
    unsigned equal = 0;
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t v = ref_now();
        if (!expect(v >= prev, "TIME_REF_COUNT went back: %lu -> %lu", prev, v))
            return;
        equal += v == prev;
        prev = v;
    }
    /* TLFS 12.1: "strictly monotonically increasing". */
    expect(!equal, "%u of 2000 successive reads returned the same value", equal);
}

static volatile uint64_t pp_val;
static volatile uint32_t pp_turn;
static volatile uint32_t pp_bad;

static void pingpong_ap(void *arg)
{
    unsigned rounds = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < rounds; i++) {
        deadline_t d = deadline_us(1000000);
        while (__atomic_load_n(&pp_turn, __ATOMIC_ACQUIRE) != 2 * i + 1)
            if (deadline_passed(d))
                return;
        uint64_t v = ref_now();
        if (v < pp_val)
            pp_bad++;
        pp_val = v;
        __atomic_store_n(&pp_turn, 2 * i + 2, __ATOMIC_RELEASE);
    }
}

static void m_ref_count_cross_cpu(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter") || !need_cpus(2))
        return;
    const unsigned rounds = 300;
    pp_turn = 0;
    pp_bad = 0;
    pp_val = 0;
    run_start(1, pingpong_ap, (void *)(uintptr_t)rounds);
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t v = ref_now();
        if (v < pp_val)
            pp_bad++;
        pp_val = v;
        __atomic_store_n(&pp_turn, 2 * i + 1, __ATOMIC_RELEASE);
        deadline_t d = deadline_us(1000000);
        while (__atomic_load_n(&pp_turn, __ATOMIC_ACQUIRE) != 2 * i + 2)
            if (!expect(!deadline_passed(d), "CPU 1 stopped answering at round %u", i))
                return;
    }
    run_wait(1, 1000000);
    expect(!pp_bad, "%u of %u hand-overs saw TIME_REF_COUNT go back across CPUs", pp_bad,
           2 * rounds);
}

static void m_ref_count_rate(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return;
    uint64_t t0 = rdtsc(), r0 = ref_now();
    delay_us(100000);
    uint64_t t1 = rdtsc(), r1 = ref_now();
    uint64_t ns = tsc_to_ns(t1 - t0);
    uint64_t ref_ns = (r1 - r0) * 100;
    note("100 ms of TSC (%s) = %lu ns of reference time", tsc_hz_source, ref_ns);
    /* 10 MHz, within 2% of the TSC's view. */
    expect(ref_ns > ns - ns / 50 && ref_ns < ns + ns / 50,
           "reference counter ran %lu ns in %lu ns of TSC time", ref_ns, ns);
}

static void m_tsc_frequency(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_FREQUENCY, "AccessFrequencyRegs") ||
        !need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return;
    uint64_t f = 0;
    if (!expect_no_fault(rdmsr_safe(HV_MSR_TSC_FREQUENCY, &f), "rdmsr TSC_FREQUENCY"))
        return;
    uint64_t r0 = ref_now(), t0 = rdtsc();
    while (ref_now() < r0 + 1000000)   /* 100 ms of reference time */
        cpu_relax();
    uint64_t r1 = ref_now(), t1 = rdtsc();
    uint64_t measured = muldiv64(t1 - t0, 10000000ull, r1 - r0);
    note("TSC_FREQUENCY %lu Hz, measured against the reference counter %lu Hz", f, measured);
    expect(f > measured - measured / 100 && f < measured + measured / 100,
           "TSC_FREQUENCY %lu Hz vs measured %lu Hz (more than 1%% apart)", f, measured);
}

static void m_apic_frequency(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_FREQUENCY, "AccessFrequencyRegs") ||
        !need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter"))
        return;
    uint64_t f = 0;
    if (!expect_no_fault(rdmsr_safe(HV_MSR_APIC_FREQUENCY, &f), "rdmsr APIC_FREQUENCY"))
        return;
    watchdog_disarm();
    apic_write(APIC_TMR_DIV, 0xB);
    apic_write(APIC_LVT_TMR, (1u << 16) | VEC_LAPIC_TMR);
    apic_write(APIC_TMR_INIT, 0xFFFFFFFFu);
    uint64_t r0 = ref_now();
    uint32_t c0 = apic_timer_current();
    while (ref_now() < r0 + 200000)     /* 20 ms */
        cpu_relax();
    uint32_t c1 = apic_timer_current();
    uint64_t r1 = ref_now();
    apic_timer_stop();
    watchdog_arm(20000000);
    uint64_t measured = muldiv64(c0 - c1, 10000000ull, r1 - r0);
    note("APIC_FREQUENCY %lu Hz, LAPIC timer measured at %lu Hz", f, measured);
    expect(f > measured - measured / 50 && f < measured + measured / 50,
           "APIC_FREQUENCY %lu Hz vs measured %lu Hz (more than 2%% apart)", f, measured);
}

static void m_eom_reads_zero(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    uint64_t v = 1;
    if (expect_no_fault(rdmsr_safe(HV_MSR_EOM, &v), "rdmsr EOM"))
        expect(v == 0, "EOM reads %#lx, TLFS: always zero", v);
}

static void m_sversion(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    uint64_t v = 0;
    if (expect_no_fault(rdmsr_safe(HV_MSR_SVERSION, &v), "rdmsr SVERSION"))
        expect(v == 1, "SVERSION = %#lx, expected 1", v);
}

static bool roundtrip(uint32_t msr, uint64_t val, const char *name)
{
    uint64_t back = ~val;
    if (!expect_no_fault(wrmsr_safe(msr, val), name) ||
        !expect_no_fault(rdmsr_safe(msr, &back), name))
        return false;
    return expect(back == val, "%s: wrote %#lx, read %#lx", name, val, back);
}

static void m_synic_roundtrip(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    hv_state_dirty();
    unsigned cpu = this_cpu()->index;
    roundtrip(HV_MSR_SIMP, (uint64_t)(uintptr_t)hv_page_simp(cpu) | 1, "SIMP");
    roundtrip(HV_MSR_SIEFP, (uint64_t)(uintptr_t)hv_page_siefp(cpu) | 1, "SIEFP");
    roundtrip(HV_MSR_SCONTROL, 1, "SCONTROL");
    roundtrip(HV_MSR_SINT(3), VEC_SINT | HV_SINT_MASKED | HV_SINT_AUTO_EOI, "SINT3");
    roundtrip(HV_MSR_SINT(3), VEC_SINT, "SINT3");
    roundtrip(HV_MSR_SINT(3), HV_SINT_MASKED, "SINT3 (reset value, vector 0)");
}

static void m_synic_per_vp(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs") || !need_cpus(2))
        return;
    hv_state_dirty();
    uint64_t simp1 = 1;
    wrmsr_safe(HV_MSR_SIMP, (uint64_t)(uintptr_t)hv_page_simp(0) | 1);
    wrmsr_safe(HV_MSR_SINT(5), VEC_SINT);
    if (read_on(1, HV_MSR_SIMP, &simp1))
        expect(simp1 == 0, "CPU 1 sees SIMP %#lx after CPU 0 set its own", simp1);
    uint64_t sint1 = 0;
    if (read_on(1, HV_MSR_SINT(5), &sint1))
        expect(sint1 == 0x10000, "CPU 1 sees SINT5 %#lx after CPU 0 set its own", sint1);
}

static void m_sint_low_vector(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    hv_state_dirty();
    static const unsigned vecs[] = { 0, 1, 2, 8, 14, 15 };
    for (unsigned i = 0; i < ARRAY_SIZE(vecs); i++) {
        int f = wrmsr_safe(HV_MSR_SINT(4), vecs[i]);
        expect_fault(f, 13, "unmasked SINT4 with vector < 16");
        if (f < 0)
            note("vector %u was accepted", vecs[i]);
        wrmsr_safe(HV_MSR_SINT(4), HV_SINT_MASKED);
    }
    expect_no_fault(wrmsr_safe(HV_MSR_SINT(4), 16), "unmasked SINT4 with vector 16");
    wrmsr_safe(HV_MSR_SINT(4), HV_SINT_MASKED);
}

static void m_stimer_roundtrip(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs"))
        return;
    hv_state_dirty();
    /* A disabled timer keeps what is written (enable clear). */
    for (unsigned t = 0; t < 4; t++) {
        roundtrip(HV_MSR_STIMER_COUNT(t), (uint64_t)0x123456789ull + t, "STIMER COUNT");
        roundtrip(HV_MSR_STIMER_CONFIG(t), HV_STIMER_PERIODIC | HV_STIMER_SINT(2 + t),
                  "STIMER CONFIG");
        stimer_stop(t);
    }
}

static void m_vp_assist_roundtrip(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_APIC_MSRS, "AccessIntrCtrlRegs"))
        return;
    hv_state_dirty();
    unsigned cpu = this_cpu()->index;
    roundtrip(HV_MSR_VP_ASSIST_PAGE, (uint64_t)(uintptr_t)hv_page_assist(cpu) | 1,
              "VP_ASSIST_PAGE");
    if (ncpus > 1) {
        uint64_t other = 1;
        if (read_on(1, HV_MSR_VP_ASSIST_PAGE, &other))
            expect(other == 0, "VP_ASSIST_PAGE is per VP: CPU 1 reads %#lx", other);
    }
    roundtrip(HV_MSR_VP_ASSIST_PAGE, 0, "VP_ASSIST_PAGE");
}

static void m_ref_tsc_roundtrip(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_REFERENCE_TSC, "AccessPartitionReferenceTsc"))
        return;
    roundtrip(HV_MSR_REFERENCE_TSC, (uint64_t)(uintptr_t)hv_page_tsc() | 1, "REFERENCE_TSC");
    if (ncpus > 1) {
        uint64_t other = 0;
        if (read_on(1, HV_MSR_REFERENCE_TSC, &other))
            expect(other == ((uint64_t)(uintptr_t)hv_page_tsc() | 1),
                   "REFERENCE_TSC is partition-wide: CPU 1 reads %#lx", other);
    }
}

static void m_crash_roundtrip(const struct check *k)
{
    (void)k;
    if (!need_edx(HV_EDX_CRASH, "guest crash MSRs"))
        return;
    for (unsigned i = 0; i < 5; i++)
        roundtrip(HV_MSR_CRASH_P(i), (uint64_t)0xC0FFEE0000ull + i, "CRASH_Pn");
}

static volatile uint32_t eoi_seen;
static void isr_probe_hook(struct cpu *c, unsigned v)
{
    (void)c;
    eoi_seen = apic_isr_set(v) ? 1 : 2;
}

static void m_eoi_msr(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_APIC_MSRS, "AccessIntrCtrlRegs"))
        return;
    struct cpu *c = this_cpu();
    eoi_seen = 0;
    irq_set_hook(VEC_PROBE, isr_probe_hook, IRQ_NO_EOI);
    uint32_t before = irq_count(c->index, VEC_PROBE);
    apic_icr(c->apic_id, ICR_FIXED | VEC_PROBE);
    if (!expect(wait_irq(c->index, VEC_PROBE, before, 1000000), "self IPI not delivered"))
        return;
    expect(eoi_seen == 1, "vector not in service inside its handler");
    expect(apic_isr_set(VEC_PROBE), "vector not in service before the EOI");
    expect_no_fault(wrmsr_safe(HV_MSR_EOI, 0), "wrmsr EOI");
    expect(!apic_isr_set(VEC_PROBE), "the EOI MSR did not end the interrupt");
}

static void m_icr_msr(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_APIC_MSRS, "AccessIntrCtrlRegs"))
        return;
    for (unsigned t = 0; t < ncpus && t < 2; t++) {
        struct cpu *c = &cpus[t];
        uint32_t before = irq_count(t, VEC_PROBE);
        uint64_t dest = apic_x2 ? (uint64_t)c->apic_id << 32 : (uint64_t)c->apic_id << 56;
        if (!expect_no_fault(wrmsr_safe(HV_MSR_ICR, dest | VEC_PROBE), "wrmsr ICR"))
            return;
        expect(wait_irq(t, VEC_PROBE, before, 1000000), "IPI via the ICR MSR to CPU %u lost",
               t);
        uint64_t icr = 0;
        if (expect_no_fault(rdmsr_safe(HV_MSR_ICR, &icr), "rdmsr ICR"))
            expect((icr & 0xFF) == VEC_PROBE && (icr & ~0xFFFFFFFFull) == dest,
                   "ICR reads %#lx after writing %#lx", icr, dest | VEC_PROBE);
    }
}

static void m_tpr_msr(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_APIC_MSRS, "AccessIntrCtrlRegs"))
        return;
    uint64_t v = 0, cr8 = 0;
    expect_no_fault(wrmsr_safe(HV_MSR_TPR, 0x20), "wrmsr TPR");
    expect_no_fault(rdmsr_safe(HV_MSR_TPR, &v), "rdmsr TPR");
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    uint32_t apic = apic_read(APIC_TPR);
    expect(v == 0x20, "TPR MSR reads %#lx", v);
    expect(apic == 0x20, "LAPIC TPR is %#x after the TPR MSR wrote 0x20", apic);
    expect(cr8 == 2, "CR8 is %lu after TPR 0x20", cr8);
    wrmsr_safe(HV_MSR_TPR, 0);
}

static bool any_irr(void)
{
    for (unsigned i = 0; i < 8; i++)
        if (apic_read(APIC_IRR + 0x10 * i))
            return true;
    return false;
}

static void m_guest_idle(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_GUEST_IDLE, "AccessGuestIdleReg"))
        return;
    /* Interrupts masked: the TLFS says the idle still ends when one
     * arrives, and (we check) not before. */
    watchdog_disarm();
    bool rescue = rescue_begin(3000000);
    uint32_t before = irq_count(this_cpu()->index, VEC_LAPIC_TMR);
    irq_disable();
    apic_timer_oneshot((uint32_t)(apic_timer_hz / 500), VEC_LAPIC_TMR);   /* 2 ms */
    uint64_t t0 = rdtsc(), v;
    int f = rdmsr_safe(HV_MSR_GUEST_IDLE, &v);
    uint64_t t1 = rdtsc();
    bool pending = any_irr();
    irq_enable();
    bool delivered = wait_irq(this_cpu()->index, VEC_LAPIC_TMR, before, 100000);
    apic_timer_stop();
    if (rescue)
        rescue_end();
    watchdog_arm(20000000);
    expect_no_fault(f, "rdmsr GUEST_IDLE");
    note("idle lasted %lu us", tsc_to_ns(t1 - t0) / 1000);
    expect(pending, "GUEST_IDLE returned with no interrupt pending");
    expect(delivered, "the waking interrupt was not delivered after IF=1");
}

static void m_tsc_invariant(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_TSC_INVARIANT, "AccessTscInvariantControls"))
        return;
    uint64_t v = 0;
    expect_no_fault(wrmsr_safe(HV_MSR_TSC_INVARIANT, 1), "wrmsr TSC_INVARIANT_CONTROL = 1");
    expect_no_fault(rdmsr_safe(HV_MSR_TSC_INVARIANT, &v), "rdmsr TSC_INVARIANT_CONTROL");
    expect(v & 1, "TSC_INVARIANT_CONTROL reads %#lx after writing 1", v);
    uint32_t r[4];
    cpuid(0x80000007, r);
    expect(r[3] & (1u << 8), "CPUID 0x80000007.EDX[8] (invariant TSC) still clear");
}

static uint64_t user_rdmsr(uint64_t msr)
{
    return rdmsr((uint32_t)msr);
}

static void m_cpl3(const struct check *k)
{
    (void)k;
    uint64_t r;
    /* Architectural: RDMSR at CPL > 0 is #GP, synthetic MSRs included. */
    expect_fault(run_user(user_rdmsr, HV_MSR_VP_INDEX, &r), 13, "rdmsr VP_INDEX at CPL3");
    expect_fault(run_user(user_rdmsr, HV_MSR_TIME_REF_COUNT, &r), 13,
                 "rdmsr TIME_REF_COUNT at CPL3");
}

const struct check msr_checks[] = {
    /* Reset values: keep these first. */
    CHECK("2.6", "GUEST_OS_ID is zero at boot", m_os_id_reset),
    CHECK("3.13", "hypercall page cannot be enabled while GUEST_OS_ID is zero",
          m_hypercall_needs_os_id),
    CHECK("11.8", "SCONTROL/SIMP/SIEFP are 0 and SINTx 0x10000 at reset on every VP",
          m_synic_reset),
    CHECK("12.5", "STIMERn_CONFIG are 0 at reset on every VP", m_stimer_reset),
    CHECK("12.7", "REFERENCE_TSC is 0 at partition creation", m_ref_tsc_reset),
    CHECK("12.4", "TIME_REF_COUNT counts from partition creation", m_ref_count_start),

    GATE("2.6", 0x40000000, "GUEST_OS_ID", EAX, 5, RW),
    GATE("3.13", 0x40000001, "HYPERCALL", EAX, 5, RW),
    GATE("7.8.1", 0x40000002, "VP_INDEX", EAX, 6, R),
    GATE("2.4", 0x40000003, "RESET", EAX, 7, RW),
    GATE("7.9.1", 0x40000010, "VP_RUNTIME", EAX, 0, R),
    GATE("12.4", 0x40000020, "TIME_REF_COUNT", EAX, 1, R),
    GATE("12.7", 0x40000021, "REFERENCE_TSC", EAX, 9, RW),
    GATE("2.4", 0x40000022, "TSC_FREQUENCY", EAX, 11, R),
    GATE("2.4", 0x40000023, "APIC_FREQUENCY", EAX, 11, R),
    GATE("10.2.3", 0x40000070, "EOI", EAX, 4, W),
    GATE("10.2.3", 0x40000071, "ICR", EAX, 4, RW),
    GATE("10.2.3", 0x40000072, "TPR", EAX, 4, RW),
    GATE("7.8.7", 0x40000073, "VP_ASSIST_PAGE", EAX, 4, RW),
    GATE("11.8", 0x40000080, "SCONTROL", EAX, 2, RW),
    GATE("11.8", 0x40000081, "SVERSION", EAX, 2, R),
    GATE("11.8", 0x40000082, "SIEFP", EAX, 2, RW),
    GATE("11.8", 0x40000083, "SIMP", EAX, 2, RW),
    GATE("11.8", 0x40000084, "EOM", EAX, 2, W),
    GATE("11.8", HV_MSR_SINT0, "SINT0", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 1, "SINT1", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 2, "SINT2", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 3, "SINT3", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 4, "SINT4", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 5, "SINT5", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 6, "SINT6", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 7, "SINT7", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 8, "SINT8", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 9, "SINT9", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 10, "SINT10", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 11, "SINT11", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 12, "SINT12", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 13, "SINT13", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 14, "SINT14", EAX, 2, RW),
    GATE("11.8", HV_MSR_SINT0 + 15, "SINT15", EAX, 2, RW),
    GATE("12.5", 0x400000B0, "STIMER0_CONFIG", EAX, 3, RW),
    GATE("12.5", 0x400000B1, "STIMER0_COUNT", EAX, 3, RW),
    GATE("12.5", 0x400000B2, "STIMER1_CONFIG", EAX, 3, RW),
    GATE("12.5", 0x400000B3, "STIMER1_COUNT", EAX, 3, RW),
    GATE("12.5", 0x400000B4, "STIMER2_CONFIG", EAX, 3, RW),
    GATE("12.5", 0x400000B5, "STIMER2_COUNT", EAX, 3, RW),
    GATE("12.5", 0x400000B6, "STIMER3_CONFIG", EAX, 3, RW),
    GATE("12.5", 0x400000B7, "STIMER3_COUNT", EAX, 3, RW),
    GATE("7.5", 0x400000F0, "GUEST_IDLE", EAX, 10, R),
    GATE("4.3", 0x40000100, "CRASH_P0", EDX, 10, RW),
    GATE("4.3", 0x40000101, "CRASH_P1", EDX, 10, RW),
    GATE("4.3", 0x40000102, "CRASH_P2", EDX, 10, RW),
    GATE("4.3", 0x40000103, "CRASH_P3", EDX, 10, RW),
    GATE("4.3", 0x40000104, "CRASH_P4", EDX, 10, RW),
    GATE("4.3", 0x40000105, "CRASH_CTL", EDX, 10, RW),
    GATE("16.6", 0x40000106, "REENLIGHTENMENT_CONTROL", EAX, 13, RW),
    GATE("16.6", 0x40000107, "TSC_EMULATION_CONTROL", EAX, 13, RW),
    GATE("16.6", 0x40000108, "TSC_EMULATION_STATUS", EAX, 13, RW),
    GATE("2.4", 0x40000118, "TSC_INVARIANT_CONTROL", EAX, 15, RW),

    UNDEF(0x40000004),
    UNDEF(0x40000011),
    UNDEF(0x40000024),
    UNDEF(0x40000074),
    UNDEF(0x40000085),
    UNDEF(0x400000A0),
    UNDEF(0x400000B8),
    UNDEF(0x40000109),

    RO("7.8.1", 0x40000002, "VP_INDEX", EAX, 6),
    RO("7.9.1", 0x40000010, "VP_RUNTIME", EAX, 0),
    RO("12.4", 0x40000020, "TIME_REF_COUNT", EAX, 1),
    RO("2.4", 0x40000022, "TSC_FREQUENCY", EAX, 11),
    RO("2.4", 0x40000023, "APIC_FREQUENCY", EAX, 11),
    RO("11.8", 0x40000081, "SVERSION", EAX, 2),

    CHECK("8.10", "synthetic MSRs at CPL3 give #GP", m_cpl3),
    CHECK("2.6", "GUEST_OS_ID keeps the value written", m_os_id_roundtrip),
    CHECK("3.13", "GUEST_OS_ID and HYPERCALL are partition-wide", m_partition_wide),
    CHECK("3.13", "hypercall page enabled at the GPA written, holding code", m_hypercall_page),
    CHECK("3.13", "writing the hypercall page raises a general-protection fault", m_hypercall_page_ro),
    CHECK("3.13", "clearing GUEST_OS_ID disables the hypercall page", m_os_id_zero_disables),
    CHECK("3.13", "hypercall page beyond the GPA space gives #GP", m_hypercall_beyond),
    CHECK("7.9.1", "VP_RUNTIME advances while the VP runs, never faster than time",
          m_vp_runtime),
    CHECK("12.4", "TIME_REF_COUNT strictly increasing", m_ref_count_monotonic),
    CHECK("12.4", "TIME_REF_COUNT monotonic across VPs", m_ref_count_cross_cpu),
    CHECK("12.4", "TIME_REF_COUNT counts at 10 MHz", m_ref_count_rate),
    CHECK("2.4", "TSC_FREQUENCY matches the TSC rate", m_tsc_frequency),
    CHECK("2.4", "APIC_FREQUENCY matches the LAPIC timer rate", m_apic_frequency),
    CHECK("11.8.6", "EOM reads as zero", m_eom_reads_zero),
    CHECK("11.8", "SVERSION is 1", m_sversion),
    CHECK("11.8", "SIMP/SIEFP/SCONTROL/SINT keep the values written", m_synic_roundtrip),
    CHECK("11.8", "SynIC registers are per VP", m_synic_per_vp),
    CHECK("11.8.5", "unmasked SINT with vector 0-15 gives #GP, 16 is accepted",
          m_sint_low_vector),
    CHECK("12.5", "STIMER CONFIG/COUNT keep the values written while disabled",
          m_stimer_roundtrip),
    CHECK("7.8.7", "VP_ASSIST_PAGE keeps the value written and is per VP",
          m_vp_assist_roundtrip),
    CHECK("12.7", "REFERENCE_TSC keeps the value written and is partition-wide",
          m_ref_tsc_roundtrip),
    CHECK("4.3", "CRASH_P0-P4 keep the values written", m_crash_roundtrip),
    CHECK("10.2.3", "EOI MSR ends the interrupt in service", m_eoi_msr),
    CHECK("10.2.3", "ICR MSR sends a fixed IPI and reads back", m_icr_msr),
    CHECK("10.2.3", "TPR MSR is the LAPIC TPR", m_tpr_msr),
    CHECK("7.5", "GUEST_IDLE returns on an interrupt even with IF=0", m_guest_idle),
    CHECK("2.4", "TSC_INVARIANT_CONTROL exposes the invariant TSC", m_tsc_invariant),
    CHECK_END,
};
