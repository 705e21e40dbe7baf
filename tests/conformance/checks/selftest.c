/* SPDX-License-Identifier: MIT */
/*
 * Runtime self-tests: the machinery every other check relies on (fault
 * capture, SMP, CPL3, interrupts, timeouts). They need no Hyper-V and must
 * pass on any x86-64 machine, TCG included. Section "rt" = runtime.
 */
#include "groups.h"

#include "../rt/apic.h"
#include "../rt/cpu.h"
#include "../rt/lib.h"
#include "../rt/paging.h"
#include "../rt/platform.h"
#include "../rt/smp.h"
#include "../rt/timebase.h"
#include "../rt/user.h"
#include "../rt/x86.h"

#define SELFTEST_VEC 0xE8

static void st_ud(const struct check *k)
{
    (void)k;
    expect_fault(FAULT_OF(__asm__ volatile("ud2")), 6, "ud2");
}

static void st_gp(const struct check *k)
{
    (void)k;
    expect_fault(FAULT_OF((void)*(volatile uint64_t *)0x8000000000000000ull), 13,
                 "non-canonical load");
}

static void st_pf(const struct check *k)
{
    (void)k;
    test_unmap(511);
    invlpg((uint64_t)(uintptr_t)test_va(511));
    struct jmpctx j;
    int v = -1;
    if (CATCH(&j)) {
        (void)*test_va(511);
        catch_pop(&j);
    } else {
        v = (int)j.vector;
    }
    if (expect_fault(v, 14, "load from an unmapped page"))
        expect(j.cr2 == (uint64_t)(uintptr_t)test_va(511), "CR2 %lx, expected %lx", j.cr2,
               (uint64_t)(uintptr_t)test_va(511));
}

static void st_de(const struct check *k)
{
    (void)k;
    uint32_t zero = 0;
    expect_fault(FAULT_OF(__asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0"
                                           : "+r"(zero) : : "rax", "rdx")),
                 0, "divide by zero");
}

static uint64_t user_rdmsr(uint64_t msr)
{
    return rdmsr((uint32_t)msr);
}

static void st_msr_safe(const struct check *k)
{
    (void)k;
    const uint32_t kgs = 0xC0000102;    /* IA32_KERNEL_GS_BASE: free to use */
    uint64_t v = 0;
    expect_no_fault(wrmsr_safe(kgs, 0x123456789000ull), "wrmsr_safe");
    expect_no_fault(rdmsr_safe(kgs, &v), "rdmsr_safe");
    expect(v == 0x123456789000ull, "read back %lx", v);
    uint64_t r;
    expect_fault(run_user(user_rdmsr, kgs, &r), 13, "rdmsr at CPL3");
}

static void st_tsc(const struct check *k)
{
    (void)k;
    note("TSC %lu Hz from %s", tsc_hz, tsc_hz_source);
    expect(tsc_hz >= 100000000ull && tsc_hz <= 10000000000ull,
           "TSC frequency %lu Hz is implausible", tsc_hz);
    uint64_t a = rdtsc();
    delay_us(1000);
    uint64_t b = rdtsc();
    expect(b > a, "TSC does not advance");
}

static volatile uint32_t timer_fired;
static void timer_hook(struct cpu *c, unsigned v)
{
    (void)c;
    (void)v;
    timer_fired = 1;
}

static void st_apic_timer(const struct check *k)
{
    (void)k;
    note("APIC timer %lu Hz", apic_timer_hz);
    timer_fired = 0;
    irq_set_hook(SELFTEST_VEC, timer_hook, 0);
    watchdog_disarm();
    apic_timer_oneshot((uint32_t)(apic_timer_hz / 1000), SELFTEST_VEC);   /* 1 ms */
    bool ok = wait_flag(&timer_fired, 2000000);
    apic_timer_stop();
    watchdog_arm(10000000);
    expect(ok, "LAPIC one-shot timer interrupt did not arrive within 2 s");
}

static void st_self_ipi(const struct check *k)
{
    (void)k;
    struct cpu *c = this_cpu();
    uint32_t before = c->irq_count[SELFTEST_VEC];
    apic_icr(c->apic_id, ICR_FIXED | SELFTEST_VEC);
    deadline_t d = deadline_us(1000000);
    while (c->irq_count[SELFTEST_VEC] == before && !deadline_passed(d))
        cpu_relax();
    expect(c->irq_count[SELFTEST_VEC] == before + 1, "self IPI delivered %u times",
           c->irq_count[SELFTEST_VEC] - before);
}

static void st_smp_online(const struct check *k)
{
    (void)k;
    note("%u CPUs online, %u expected", ncpus, expected_cpus);
    if (expected_cpus)
        expect(ncpus == expected_cpus, "%u CPUs came up, %u expected", ncpus, expected_cpus);
    else
        expect(ncpus >= 1, "no CPU online");
    for (unsigned i = 0; i < ncpus; i++)
        for (unsigned j = i + 1; j < ncpus; j++)
            expect(cpus[i].apic_id != cpus[j].apic_id, "CPUs %u and %u share APIC ID %u", i,
                   j, cpus[i].apic_id);
}

static void whoami(void *arg)
{
    *(volatile uint32_t *)arg = this_cpu()->index + 100;
}

static void st_run_on(const struct check *k)
{
    (void)k;
    if (ncpus < 2) {
        skip("needs 2 CPUs");
        return;
    }
    for (unsigned i = 1; i < ncpus; i++) {
        volatile uint32_t out = 0;
        bool ok = run_on(i, whoami, (void *)&out, 2000000);
        expect(ok && out == i + 100, "run_on(%u) ok=%d result %u", i, ok, out);
    }
}

static void ap_ud(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

static void st_ap_fault(const struct check *k)
{
    (void)k;
    if (ncpus < 2) {
        skip("needs 2 CPUs");
        return;
    }
    bool ok = run_on(1, ap_ud, 0, 2000000);
    expect(!ok && cpus[1].work_fault == 6 && !cpus[1].lost,
           "fault on CPU 1: ok=%d vector %u lost %d", ok, cpus[1].work_fault, cpus[1].lost);
}

static void st_ipi_to_ap(const struct check *k)
{
    (void)k;
    if (ncpus < 2) {
        skip("needs 2 CPUs");
        return;
    }
    struct cpu *t = &cpus[1];
    uint32_t before = t->irq_count[SELFTEST_VEC];
    apic_icr(t->apic_id, ICR_FIXED | SELFTEST_VEC);
    deadline_t d = deadline_us(1000000);
    while (t->irq_count[SELFTEST_VEC] == before && !deadline_passed(d))
        cpu_relax();
    expect(t->irq_count[SELFTEST_VEC] == before + 1, "IPI to CPU 1 delivered %u times",
           t->irq_count[SELFTEST_VEC] - before);
}

static void st_nmi_to_ap(const struct check *k)
{
    (void)k;
    if (ncpus < 2) {
        skip("needs 2 CPUs");
        return;
    }
    struct cpu *t = &cpus[1];
    uint32_t before = t->nmi_count;
    apic_icr(t->apic_id, ICR_NMI);
    deadline_t d = deadline_us(1000000);
    while (t->nmi_count == before && !deadline_passed(d))
        cpu_relax();
    expect(t->nmi_count == before + 1, "NMI to CPU 1 delivered %u times",
           t->nmi_count - before);
}

static uint64_t user_cs(uint64_t arg)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3) | (arg << 8);
}

static void st_cpl3_call(const struct check *k)
{
    (void)k;
    uint64_t r;
    int v = run_user(user_cs, 0x5A, &r);
    if (expect_no_fault(v, "CPL3 function"))
        expect(r == (3 | (0x5Aull << 8)), "CPL3 function returned %lx", r);
}

static uint64_t user_cli(uint64_t arg)
{
    (void)arg;
    __asm__ volatile("cli");
    return 0;
}

static uint64_t user_out(uint64_t arg)
{
    (void)arg;
    outb(0x80, 0);
    return 0;
}

static void st_cpl3_priv(const struct check *k)
{
    (void)k;
    uint64_t r;
    expect_fault(run_user(user_cli, 0, &r), 13, "cli at CPL3");
    expect_fault(run_user(user_out, 0, &r), 13, "port I/O at CPL3");
}

static void st_watchdog(const struct check *k)
{
    (void)k;
    struct cpu *c = this_cpu();
    struct jmpctx *outer = c->check_ctx;
    struct jmpctx j;
    if (CATCH(&j)) {
        c->check_ctx = &j;
        watchdog_arm(50000);
        for (;;)
            safe_halt();    /* nothing else will wake us */
    }
    c->check_ctx = outer;
    watchdog_arm(10000000);
    expect(j.vector == CATCH_TIMEOUT, "hung wait ended with %s, expected the watchdog",
           vector_name(j.vector));
}

static void st_fw_cfg(const struct check *k)
{
    (void)k;
    if (!plat.fw_cfg) {
        skip("no fw_cfg device");
        return;
    }
    note("fw_cfg reports %u CPUs", plat.fw_cfg_cpus);
    expect(plat.fw_cfg_cpus >= 1 && plat.fw_cfg_cpus <= 1024, "fw_cfg CPU count %u",
           plat.fw_cfg_cpus);
    if (!opt.cpus)
        expect(ncpus == (plat.fw_cfg_cpus < MAX_CPUS ? plat.fw_cfg_cpus : MAX_CPUS),
               "%u CPUs online, fw_cfg says %u", ncpus, plat.fw_cfg_cpus);
}

const struct check selftest_checks[] = {
    CHECK("rt", "runtime: #UD is captured", st_ud),
    CHECK("rt", "runtime: #GP is captured", st_gp),
    CHECK("rt", "runtime: #PF is captured with CR2", st_pf),
    CHECK("rt", "runtime: #DE is captured", st_de),
    CHECK("rt", "runtime: safe MSR access and #GP capture", st_msr_safe),
    CHECK("rt", "runtime: TSC frequency known and TSC advances", st_tsc),
    CHECK("rt", "runtime: LAPIC timer interrupt", st_apic_timer),
    CHECK("rt", "runtime: self IPI", st_self_ipi),
    CHECK("rt", "runtime: fw_cfg CPU count", st_fw_cfg),
    CHECK("rt", "runtime: all CPUs online with distinct APIC IDs", st_smp_online),
    CHECK("rt", "runtime: run a function on every AP", st_run_on),
    CHECK("rt", "runtime: a fault on an AP is captured", st_ap_fault),
    CHECK("rt", "runtime: fixed IPI to an AP", st_ipi_to_ap),
    CHECK("rt", "runtime: NMI to an AP", st_nmi_to_ap),
    CHECK("rt", "runtime: CPL3 entry and return", st_cpl3_call),
    CHECK("rt", "runtime: privileged instructions at CPL3 give #GP", st_cpl3_priv),
    CHECK("rt", "runtime: the watchdog ends a hung wait", st_watchdog),
    CHECK_END,
};
