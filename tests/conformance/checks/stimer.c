/* SPDX-License-Identifier: MIT */
/* Group "stimer": synthetic timers (TLFS 12.1, 12.2, 12.5, 13.3). */
#include "common.h"

#define SINT_T 3

static bool need_stimers(void)
{
    return need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") &&
           need_eax(HV_EAX_SYNIC, "AccessSynicRegs") &&
           need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter");
}

static bool need_direct(void)
{
    return need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") &&
           need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter") &&
           need_edx(HV_EDX_STIMER_DIRECT, "direct synthetic timers");
}

static uint64_t config_of(unsigned n)
{
    uint64_t v = 0;
    rdmsr_safe(HV_MSR_STIMER_CONFIG(n), &v);
    return v;
}

static void t_oneshot(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    uint64_t due = ref_now() + 30000;
    stimer_start(2, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), due);
    if (!expect(msg_wait(cpu, 1, 2000000), "one-shot did not fire"))
        return;
    struct msg_seen *e = &msg_logs[cpu].e[0];
    expect(e->seen >= due, "signalled at %lu, before expiry %lu (TLFS 12.1: never early)",
           e->seen, due);
    note("late by %lu us", (e->seen - due) / 10);
    delay_us(2000);
    /* TLFS 12.5: a one-shot timer is marked disabled when it expires. */
    expect(!(config_of(2) & HV_STIMER_ENABLE), "enable still set after expiry (%#lx)",
           config_of(2));
    delay_us(10000);
    expect(msg_logs[cpu].n == 1, "one-shot fired %u times", msg_logs[cpu].n);
}

static void t_past(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    uint64_t now = ref_now();
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), now > 1000 ? now - 1000 : 1);
    bool fired = msg_wait(cpu, 1, 50000);
    expect(fired, "a one-shot in the past did not fire within 50 ms "
                  "(TLFS 12.5: it expires immediately)");
    if (fired)
        note("fired %lu us after arming", (msg_logs[cpu].e[0].seen - now) / 10);
}

static void t_periodic(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    const uint64_t period = 10000;      /* 1 ms */
    uint64_t start = ref_now();
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_SINT(SINT_T), period);
    wait_ref(start + 100 * period, 3000000);
    stimer_stop(0);
    uint64_t end = ref_now();
    uint32_t n = msg_logs[cpu].n;
    uint64_t max = (end - start) / period + 1;
    note("%u expirations in %lu us (at most %lu possible)", n, (end - start) / 10, max);
    expect(n <= max, "%u expirations in %lu periods: some came early", n, max - 1);
    /* Missed periods may be skipped (TLFS 12.1); a timer that keeps under
     * a tenth of its rate is broken, not late. */
    expect(n >= max / 10, "only %u of %lu periods signalled", n, max);
    /* Expiration times advance by at least one period each time. */
    for (uint32_t i = 1; i < n && i < MSG_LOG_MAX; i++) {
        uint64_t d = msg_logs[cpu].e[i].expiration - msg_logs[cpu].e[i - 1].expiration;
        if (!expect(d >= period, "expirations %u and %u are %lu apart, less than a period",
                    i - 1, i, d))
            break;
    }
    /* Periodic timers stay enabled until disabled (TLFS 12.5). */
    uint32_t after = msg_logs[cpu].n;
    delay_us(10000);
    expect(msg_logs[cpu].n <= after + 1, "%u expirations after the timer was stopped",
           msg_logs[cpu].n - after);
}

static void t_auto_enable(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    hv_state_dirty();
    stimer_stop(1);
    /* Linux's order: CONFIG (auto-enable, not enabled), then COUNT. */
    expect_no_fault(wrmsr_safe(HV_MSR_STIMER_CONFIG(1),
                               HV_STIMER_AUTO_ENABLE | HV_STIMER_SINT(SINT_T)),
                    "CONFIG with auto-enable");
    expect(!(config_of(1) & HV_STIMER_ENABLE), "enabled before COUNT was written");
    expect_no_fault(wrmsr_safe(HV_MSR_STIMER_COUNT(1), ref_now() + 20000), "COUNT");
    uint64_t cfg = config_of(1);
    expect((cfg & HV_STIMER_ENABLE) || msg_logs[cpu].n,
           "writing COUNT did not set enable (CONFIG %#lx)", cfg);
    expect(msg_wait(cpu, 1, 2000000), "the auto-enabled timer did not fire");
}

static void t_count_zero_stops(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    uint64_t due = ref_now() + 100000;  /* 10 ms */
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_AUTO_ENABLE | HV_STIMER_SINT(SINT_T), due);
    expect_no_fault(wrmsr_safe(HV_MSR_STIMER_COUNT(0), 0), "COUNT = 0");
    expect(!(config_of(0) & HV_STIMER_ENABLE), "COUNT = 0 left the timer enabled (%#lx)",
           config_of(0));
    wait_ref(due + 100000, 1000000);
    expect(msg_logs[cpu].n == 0, "a timer stopped by COUNT = 0 still fired");
}

static void t_periodic_zero(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    uint64_t t0 = ref_now();
    /* A zero period must never run (XSA-504 divided by it). */
    int f = stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_SINT(SINT_T), 0);
    note("CONFIG write %s; CONFIG now %#lx", f < 0 ? "accepted" : vector_name((unsigned)f),
         config_of(0));
    wait_ref(t0 + 100000, 1000000);
    expect(msg_logs[cpu].n == 0, "a periodic timer with COUNT 0 fired %u times",
           msg_logs[cpu].n);
    expect(ref_now() > t0, "TIME_REF_COUNT stopped");
}

static void t_sint_zero(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    hv_state_dirty();
    stimer_stop(3);
    wrmsr_safe(HV_MSR_STIMER_COUNT(3), ref_now() + 1000000);
    expect_no_fault(wrmsr_safe(HV_MSR_STIMER_CONFIG(3), HV_STIMER_ENABLE | HV_STIMER_SINT(0)),
                    "CONFIG enable with SINTx 0");
    /* TLFS 12.5: "the timer will be marked disabled immediately". */
    expect(!(config_of(3) & HV_STIMER_ENABLE), "enabled with SINTx 0 (CONFIG %#lx)",
           config_of(3));
}

static void t_four_timers(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    uint64_t now = ref_now();
    for (unsigned t = 0; t < 4; t++)
        stimer_start(t, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), now + 20000);
    if (!expect(msg_wait(cpu, 4, 2000000), "%u of 4 simultaneous timers signalled",
                msg_logs[cpu].n))
        return;
    unsigned mask = 0;
    for (unsigned i = 0; i < 4; i++)
        mask |= 1u << (msg_logs[cpu].e[i].timer & 31);
    expect(mask == 0xF, "timer indexes seen: mask %#x", mask);
    delay_us(5000);
    expect(msg_logs[cpu].n == 4, "%u messages from 4 one-shots", msg_logs[cpu].n);
}

static void t_stop_periodic(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    stimer_start(1, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_SINT(SINT_T), 20000);
    if (!expect(msg_wait(cpu, 2, 2000000), "periodic timer did not run"))
        return;
    hv_state_dirty();
    wrmsr_safe(HV_MSR_STIMER_CONFIG(1), 0);
    delay_us(2000);
    uint32_t n = msg_logs[cpu].n;
    uint64_t t0 = ref_now();
    wait_ref(t0 + 100000, 1000000);
    expect(msg_logs[cpu].n == n, "%u expirations after CONFIG = 0", msg_logs[cpu].n - n);
}

static void per_vp_here(void *arg)
{
    (void)arg;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), ref_now() + 20000);
    expect(msg_wait(cpu, 1, 2000000), "CPU %u: its timer did not fire", cpu);
}

static void t_per_vp(const struct check *k)
{
    (void)k;
    if (!need_stimers() || !need_cpus(2))
        return;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    bool ok = run_on(1, per_vp_here, 0, 5000000);
    expect(ok, "CPU 1: %s", ap_failure(1));
    delay_us(5000);
    expect(msg_logs[0].n == 0, "CPU 1's timer signalled CPU 0");
    /* And CPU 0's timer 0 is independent of CPU 1's timer 0. */
    uint64_t cfg = config_of(0);
    expect(!(cfg & HV_STIMER_ENABLE), "CPU 0's STIMER0 shows CPU 1's setting (%#lx)", cfg);
}

static void t_accuracy(const struct check *k)
{
    (void)k;
    if (!need_stimers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    enum { RUNS = 21 };
    uint64_t late[RUNS];
    unsigned early = 0, got = 0;
    for (unsigned i = 0; i < RUNS; i++) {
        uint64_t due = ref_now() + 5000 + i * 700;  /* 0.5-1.9 ms ahead */
        stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), due);
        if (!msg_wait(cpu, i + 1, 1000000))
            break;
        uint64_t seen = msg_logs[cpu].e[i].seen;
        early += seen < due;
        late[got++] = seen >= due ? seen - due : 0;
    }
    /* Sort for the median (tiny insertion sort). */
    for (unsigned i = 1; i < got; i++)
        for (unsigned j = i; j && late[j - 1] > late[j]; j--) {
            uint64_t t = late[j];
            late[j] = late[j - 1];
            late[j - 1] = t;
        }
    uint64_t median = got ? late[got / 2] : 0, worst = got ? late[got - 1] : 0;
    note("%u/%u fired; lateness median %lu us, worst %lu us", got, (unsigned)RUNS,
         median / 10, worst / 10);
    expect(got == RUNS, "only %u of %u one-shots fired", got, (unsigned)RUNS);
    expect(!early, "%u one-shots signalled before their expiry (TLFS 12.1: never early)",
           early);
    /* A quality bound, generous enough for nested emulation; single late
     * ones are the host scheduler's (shared CPUs), so only the median. */
    expect(median <= 50000, "median lateness %lu us exceeds 5 ms", median / 10);
}

static volatile uint32_t direct_in_service;
static void direct_hook(struct cpu *c, unsigned v)
{
    (void)c;
    direct_in_service = apic_isr_set(v) ? 1 : 2;
}

static void t_direct(const struct check *k)
{
    (void)k;
    if (!need_direct())
        return;
    unsigned cpu = this_cpu()->index;
    irq_set_hook(VEC_STIMER, direct_hook, 0);
    if (hv_priv(HV_EAX_SYNIC))
        msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    direct_in_service = 0;
    uint32_t before = irq_count(cpu, VEC_STIMER);
    uint64_t due = ref_now() + 20000;
    int f = stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_DIRECT | HV_STIMER_VECTOR(VEC_STIMER) |
                                HV_STIMER_SINT(SINT_T),
                         due);
    expect_no_fault(f, "direct-mode CONFIG");
    if (!expect(wait_irq(cpu, VEC_STIMER, before, 2000000), "no interrupt on vector %#x",
                VEC_STIMER))
        return;
    expect(ref_now() >= due, "direct timer fired early");
    expect(direct_in_service == 1, "direct vector not in service in its handler (guest EOIs)");
    if (hv_priv(HV_EAX_SYNIC))
        expect(msg_logs[cpu].n == 0 && sim_slot(cpu, SINT_T)->type == HV_MSG_NONE,
               "direct mode also sent a message");
}

static void t_direct_no_synic(const struct check *k)
{
    (void)k;
    if (!need_direct())
        return;
    unsigned cpu = this_cpu()->index;
    hv_state_dirty();
    wrmsr_safe(HV_MSR_SCONTROL, 0);
    uint32_t before = irq_count(cpu, VEC_STIMER);
    stimer_start(1, HV_STIMER_ENABLE | HV_STIMER_DIRECT | HV_STIMER_VECTOR(VEC_STIMER),
                 ref_now() + 20000);
    /* No message, no SINT: nothing in TLFS 12.2 ties direct mode to
     * SCONTROL (which gates messages and event flags). */
    expect(wait_irq(cpu, VEC_STIMER, before, 2000000),
           "direct timer did not fire with SCONTROL clear");
}

static void t_direct_periodic(const struct check *k)
{
    (void)k;
    if (!need_direct())
        return;
    unsigned cpu = this_cpu()->index;
    uint32_t before = irq_count(cpu, VEC_STIMER);
    const uint64_t period = 10000;
    uint64_t start = ref_now();
    stimer_start(0,
                 HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT |
                     HV_STIMER_VECTOR(VEC_STIMER),
                 period);
    wait_ref(start + 50 * period, 3000000);
    stimer_stop(0);
    uint64_t end = ref_now();
    uint32_t n = irq_count(cpu, VEC_STIMER) - before;
    uint64_t max = (end - start) / period + 1;
    note("%u interrupts in %lu us", n, (end - start) / 10);
    expect(n <= max, "%u interrupts in %lu periods", n, max - 1);
    expect(n >= max / 10, "only %u of %lu periods signalled", n, max);
}

const struct check stimer_checks[] = {
    CHECK("12.5", "one-shot: fires once, not early, then disabled", t_oneshot),
    CHECK("12.5", "one-shot already in the past fires at once", t_past),
    CHECK("12.5", "periodic 1 ms: count over 100 ms, then stays stopped", t_periodic),
    CHECK("12.5", "auto-enable: writing COUNT enables the timer", t_auto_enable),
    CHECK("12.5", "writing COUNT = 0 stops an armed timer", t_count_zero_stops),
    CHECK("12.5", "periodic timer with COUNT 0 never fires", t_periodic_zero),
    CHECK("12.5", "enabling a message timer with SINTx 0 disables it", t_sint_zero),
    CHECK("13.3", "four timers into one SINT: four messages, indexes 0-3", t_four_timers),
    CHECK("12.5", "CONFIG = 0 stops a periodic timer", t_stop_periodic),
    CHECK("12.5", "timers are per VP", t_per_vp),
    CHECK("12.1", "accuracy: 21 one-shots never early, median lateness <= 5 ms", t_accuracy),
    CHECK("12.2", "direct mode: APIC vector, no message, guest EOIs", t_direct),
    CHECK("12.2", "direct mode works with SCONTROL disabled", t_direct_no_synic),
    CHECK("12.2", "direct periodic 1 ms: count over 50 ms", t_direct_periodic),
    CHECK_END,
};
