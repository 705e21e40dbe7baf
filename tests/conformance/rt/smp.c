/* SPDX-License-Identifier: MIT */
#include "smp.h"

#include "apic.h"
#include "console.h"
#include "lib.h"
#include "timebase.h"
#include "x86.h"

struct cpu cpus[MAX_CPUS];
unsigned ncpus = 1;
uint8_t cpu_stacks[MAX_CPUS][CPU_STACK_SIZE] ALIGNED(4096);
volatile uint32_t ap_next_index = 1;

extern char ap_tramp_start[], ap_tramp_end[];
extern uint64_t tramp_cr3, tramp_target;
void ap_entry64(void);

void ap_main(uint32_t index);
void ap_main(uint32_t index)
{
    struct cpu *c = &cpus[index];
    c->index = index;
    cpu_setup_common(c);
    apic_init_cpu();
    c->apic_id = apic_id();
    __atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);

    uint32_t seen = 0;
    for (;;) {
        irq_disable();
        uint32_t seq = __atomic_load_n(&c->work_seq, __ATOMIC_ACQUIRE);
        if (seq == seen) {
            safe_halt();            /* VEC_WAKE or any test interrupt */
            continue;
        }
        irq_enable();
        seen = seq;
        struct jmpctx j;
        c->work_fault = CATCH_NONE;
        if (CATCH(&j)) {
            c->check_ctx = &j;
            watchdog_arm(c->work_timeout_us);
            c->work(c->work_arg);
            catch_pop(&j);
        } else {
            c->work_fault = j.vector;
        }
        watchdog_disarm();
        c->check_ctx = 0;
        c->nmi_rescue_armed = false;
        __atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
    }
}

unsigned smp_boot(unsigned expected)
{
    size_t len = (size_t)(ap_tramp_end - ap_tramp_start);
    tramp_cr3 = read_cr3();
    tramp_target = (uint64_t)ap_entry64;
    memcpy((void *)(uintptr_t)TRAMP_BASE, ap_tramp_start, len);

    if (expected == 1)
        return 1;

    apic_icr(0, ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT);
    delay_us(10000);
    apic_icr(0, ICR_ALL_BUT_SELF | ICR_STARTUP | (TRAMP_BASE >> 12));
    delay_us(200);
    apic_icr(0, ICR_ALL_BUT_SELF | ICR_STARTUP | (TRAMP_BASE >> 12));

    /* Wait for the expected count, or a fixed grace period if unknown. */
    deadline_t d = deadline_us(expected ? 3000000 : 300000);
    for (;;) {
        unsigned online = 1;
        for (unsigned i = 1; i < MAX_CPUS; i++)
            online += __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE) ? 1 : 0;
        ncpus = online;
        if ((expected && online >= expected) || deadline_passed(d))
            break;
        cpu_relax();
    }
    /* CPUs that came up are numbered densely 1..n-1 by ap_entry64. */
    return ncpus;
}

bool cpu_usable(unsigned n)
{
    return n < MAX_CPUS && (n == 0 || (cpus[n].online && !cpus[n].lost));
}

bool run_start_timeout(unsigned n, work_fn fn, void *arg, uint64_t timeout_us)
{
    if (n == 0 || !cpu_usable(n))
        return false;
    struct cpu *c = &cpus[n];
    c->work_timeout_us = timeout_us;
    c->work = fn;
    c->work_arg = arg;
    __atomic_fetch_add(&c->work_seq, 1, __ATOMIC_RELEASE);
    apic_icr(c->apic_id, ICR_FIXED | VEC_WAKE);
    return true;
}

bool run_start(unsigned n, work_fn fn, void *arg)
{
    return run_start_timeout(n, fn, arg, 5000000);
}

bool run_wait(unsigned n, uint64_t timeout_us)
{
    struct cpu *c = &cpus[n];
    deadline_t d = deadline_us(timeout_us);
    while (__atomic_load_n(&c->done_seq, __ATOMIC_ACQUIRE) !=
           __atomic_load_n(&c->work_seq, __ATOMIC_ACQUIRE)) {
        if (deadline_passed(d)) {
            c->lost = 1;
            return false;
        }
        cpu_relax();
    }
    return true;
}

bool run_on(unsigned n, work_fn fn, void *arg, uint64_t timeout_us)
{
    /* The AP's own watchdog fires first; the extra second covers a CPU
     * that is stuck with interrupts off. */
    if (!run_start_timeout(n, fn, arg, timeout_us))
        return false;
    return run_wait(n, timeout_us + 1000000) && cpus[n].work_fault == CATCH_NONE;
}
