/* SPDX-License-Identifier: MIT */
/*
 * Group "synic": message slots, queueing and redelivery, SINT modes,
 * SCONTROL/SIMP enables, event flags (TLFS 11). Host->guest messages come
 * from synthetic timers, which need no host-side connection;
 * HvPostMessage/HvSignalEvent loops are used only when the command line
 * names a host connection that leads back to this guest.
 */
#include "common.h"

#include "../rt/platform.h"

#define SINT_T 3        /* SINT the timer messages use */

static bool need_msg_timers(void)
{
    return need_eax(HV_EAX_SYNIC, "AccessSynicRegs") &&
           need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") &&
           need_eax(HV_EAX_TIME_REF_COUNT, "AccessPartitionReferenceCounter");
}

/* One-shot message-mode timer n, due `delay` (100 ns) from now. */
static uint64_t arm_oneshot(unsigned n, unsigned sint, uint64_t delay)
{
    uint64_t due = ref_now() + delay;
    int f = stimer_start(n, HV_STIMER_ENABLE | HV_STIMER_SINT(sint), due);
    expect_no_fault(f, "programming a one-shot stimer");
    return due;
}

static void s_sim_zero(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    /* A page the guest filled: after enabling, the SIM page must read as
     * cleared (TLFS 11.4: cleared at VP creation and reset). */
    uint8_t *pg = hv_page_scratch(2);
    memset(pg, 0xA5, PAGE_SIZE);
    hv_state_dirty();
    expect_no_fault(wrmsr_safe(HV_MSR_SIMP, (uint64_t)(uintptr_t)pg | 1), "enable SIMP");
    unsigned nonzero = 0;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        nonzero += pg[i] != 0;
    expect(!nonzero, "%u bytes of the SIM page are not zero after enabling it", nonzero);
    wrmsr_safe(HV_MSR_SIMP, 0);
}

static void s_sief_zero(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    uint8_t *pg = hv_page_scratch(3);
    memset(pg, 0x5A, PAGE_SIZE);
    hv_state_dirty();
    expect_no_fault(wrmsr_safe(HV_MSR_SIEFP, (uint64_t)(uintptr_t)pg | 1), "enable SIEFP");
    unsigned nonzero = 0;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        nonzero += pg[i] != 0;
    expect(!nonzero, "%u bytes of the SIEF page are not zero after enabling it", nonzero);
    wrmsr_safe(HV_MSR_SIEFP, 0);
}

static void timer_message_here(void *arg)
{
    (void)arg;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    uint64_t due = arm_oneshot(1, SINT_T, 20000);    /* 2 ms */
    if (!expect(msg_wait(cpu, 1, 2000000), "CPU %u: no message within 2 s", cpu))
        return;
    struct msg_seen *e = &msg_logs[cpu].e[0];
    note("CPU %u: type %#x size %u timer %u exp %lu deliv %lu seen %lu (due %lu)", cpu,
         e->type, e->payload_size, e->timer, e->expiration, e->delivery, e->seen, due);
    expect(e->type == HV_MSG_TIMER_EXPIRED, "CPU %u: message type %#x", cpu, e->type);
    expect(e->payload_size == sizeof(struct hv_timer_payload), "CPU %u: payload size %u",
           cpu, e->payload_size);
    expect(e->timer == 1, "CPU %u: timer index %u, expected 1", cpu, e->timer);
    expect(e->expiration == due, "CPU %u: expiration %lu, programmed %lu", cpu, e->expiration,
           due);
    expect(e->delivery >= e->expiration, "CPU %u: delivered (%lu) before expiry (%lu)", cpu,
           e->delivery, e->expiration);
    expect(e->seen >= due, "CPU %u: handler ran at %lu, before the due time %lu", cpu,
           e->seen, due);
    delay_us(5000);
    expect(msg_logs[cpu].n == 1, "CPU %u: %u messages from one one-shot", cpu,
           msg_logs[cpu].n);
}

static void s_message_self(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    timer_message_here(0);
}

static void s_message_other_vp(const struct check *k)
{
    (void)k;
    if (!need_msg_timers() || !need_cpus(2))
        return;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);     /* CPU 0 listens too */
    bool ok = run_on(1, timer_message_here, 0, 5000000);
    expect(ok, "CPU 1: the check faulted or timed out (%s)",
           ap_failure(1));
    expect(msg_logs[0].n == 0, "CPU 0 received CPU 1's timer message");
}

static void s_busy_slot(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    struct hv_message *m = sim_slot(cpu, SINT_T);
    /* Occupy the slot the way an unread message would. */
    m->type = 0x1234;
    m->flags = 0;
    uint64_t due = arm_oneshot(0, SINT_T, 10000);
    wait_ref(due + 50000, 1000000);     /* 5 ms past due */
    expect(m->type == 0x1234, "the busy slot was overwritten (type now %#x)", m->type);
    expect(m->flags & 1, "message pending flag not set in the busy slot (flags %#x)",
           m->flags);
    expect(msg_logs[cpu].n == 0, "a message was consumed while the slot was busy");
    /* Guest consumes the "message": free the slot, then EOM. */
    m->type = HV_MSG_NONE;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    expect_no_fault(wrmsr_safe(HV_MSR_EOM, 0), "EOM");
    if (expect(msg_wait(cpu, 1, 1000000), "queued message not delivered after EOM"))
        expect(msg_logs[cpu].e[0].type == HV_MSG_TIMER_EXPIRED, "redelivered type %#x",
               msg_logs[cpu].e[0].type);
}

static void s_redeliver_on_eoi(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    /* Handler frees the slot and EOIs, never EOM: TLFS 11.4 lists the
     * APIC EOI as one of the events that make the host deliver the next
     * queued message. */
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME_NO_EOM);
    irq_disable();
    uint64_t now = ref_now();
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), now + 10000);
    stimer_start(1, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), now + 20000);
    wait_ref(now + 60000, 1000000);     /* both expired, interrupts held */
    irq_enable();
    bool both = msg_wait(cpu, 2, 1000000);
    expect(both, "%u of 2 messages delivered using EOI only", msg_logs[cpu].n);
    if (both)
        expect(msg_logs[cpu].e[0].timer != msg_logs[cpu].e[1].timer,
               "the same timer was delivered twice");
}

static void s_queue_depth(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    struct hv_message *m = sim_slot(cpu, SINT_T);
    /* Four timers expire behind an unread message: TLFS 11.4 queues them
     * all ("multiple message buffers with the same SINTx can be queued").
     * Timer order is not defined (12.1), so only the set is checked. */
    m->type = 0x1234;
    m->flags = 0;
    uint64_t now = ref_now();
    for (unsigned t = 0; t < 4; t++)
        stimer_start(t, HV_STIMER_ENABLE | HV_STIMER_SINT(SINT_T), now + 10000 + t * 2000);
    wait_ref(now + 100000, 1000000);
    expect(m->type == 0x1234, "the busy slot was overwritten");
    m->type = HV_MSG_NONE;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wrmsr_safe(HV_MSR_EOM, 0);
    bool all = msg_wait(cpu, 4, 2000000);
    expect(all, "%u of 4 queued timer messages delivered", msg_logs[cpu].n);
    unsigned seen = 0;
    for (unsigned i = 0; i < msg_logs[cpu].n && i < 8; i++)
        seen |= 1u << (msg_logs[cpu].e[i].timer & 31);
    if (all)
        expect(seen == 0xF, "timer indexes seen: mask %#x", seen);
    delay_us(5000);
    expect(msg_logs[cpu].n <= 4, "%u messages from 4 one-shots", msg_logs[cpu].n);
}

static void s_masked(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    uint32_t before = irq_count(cpu, VEC_SINT);
    msg_receive(SINT_T, VEC_SINT, HV_SINT_MASKED, MSG_CONSUME);
    uint64_t due = arm_oneshot(0, SINT_T, 10000);
    wait_ref(due + 50000, 1000000);
    /* TLFS 11.4: the message is written; only the interrupt is lost. */
    expect(sim_slot(cpu, SINT_T)->type == HV_MSG_TIMER_EXPIRED,
           "no message in the masked SINT's slot (type %#x)", sim_slot(cpu, SINT_T)->type);
    expect(irq_count(cpu, VEC_SINT) == before, "a masked SINT raised its vector");
}

static void s_polling(const struct check *k)
{
    (void)k;
    if (!need_msg_timers() || !need_edx(HV_EDX_SINT_POLLING, "SINT polling mode"))
        return;
    unsigned cpu = this_cpu()->index;
    uint32_t before = irq_count(cpu, VEC_SINT);
    expect_no_fault(msg_receive(SINT_T, VEC_SINT, HV_SINT_POLLING, MSG_CONSUME),
                    "SINT in polling mode");
    uint64_t due = arm_oneshot(0, SINT_T, 10000);
    wait_ref(due + 50000, 1000000);
    expect(sim_slot(cpu, SINT_T)->type == HV_MSG_TIMER_EXPIRED,
           "no message in the polled SINT's slot");
    expect(irq_count(cpu, VEC_SINT) == before, "a polled SINT raised its vector");
}

static void s_auto_eoi(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    if (hv_rec(HV_REC_DEPRECATE_AUTOEOI)) {
        skip("AutoEOI deprecated by the host (0x40000004.EAX bit 9)");
        return;
    }
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, HV_SINT_AUTO_EOI, MSG_CONSUME);
    arm_oneshot(0, SINT_T, 10000);
    if (!expect(msg_wait(cpu, 1, 1000000), "no message"))
        return;
    expect(!msg_logs[cpu].e[0].in_service, "AutoEOI vector was in service in its handler");
    expect(!apic_isr_set(VEC_SINT), "AutoEOI vector still in service after the handler");
}

static void s_eoi_mode(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    arm_oneshot(0, SINT_T, 10000);
    if (!expect(msg_wait(cpu, 1, 1000000), "no message"))
        return;
    expect(msg_logs[cpu].e[0].in_service, "vector not in service in its handler");
    expect(!apic_isr_set(VEC_SINT), "vector still in service after the handler's EOI");
}

static void s_scontrol_off(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    wrmsr_safe(HV_MSR_SCONTROL, 0);
    uint64_t due = arm_oneshot(0, SINT_T, 10000);
    wait_ref(due + 100000, 1000000);
    /* TLFS 11.8.1: with SCONTROL clear, messages cannot be directed to
     * this VP. */
    expect(msg_logs[cpu].n == 0 && sim_slot(cpu, SINT_T)->type == HV_MSG_NONE,
           "a message arrived with SCONTROL.enable clear");
}

static void s_simp_off(const struct check *k)
{
    (void)k;
    if (!need_msg_timers())
        return;
    unsigned cpu = this_cpu()->index;
    uint32_t before = irq_count(cpu, VEC_SINT);
    msg_receive(SINT_T, VEC_SINT, 0, MSG_CONSUME);
    wrmsr_safe(HV_MSR_SIMP, 0);
    uint64_t due = arm_oneshot(0, SINT_T, 10000);
    wait_ref(due + 50000, 1000000);
    /* TLFS 11.4: with the SIM page off the message stays queued and no
     * interrupt is raised. */
    expect(irq_count(cpu, VEC_SINT) == before, "interrupt raised with the SIM page disabled");
    wrmsr_safe(HV_MSR_SIMP, (uint64_t)(uintptr_t)hv_page_simp(cpu) | 1);
    wrmsr_safe(HV_MSR_EOM, 0);
    expect(msg_wait(cpu, 1, 1000000),
           "the queued message was not delivered after enabling SIMP and EOM");
}

/* ------------------------------------------------ post/signal, no peer */

static void s_signal_unknown(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t rax = hv_call(HVCALL_SIGNAL_EVENT | HC_FAST, 0x00ABCDEF, 0);
    if (!hv_priv_ebx(HV_EBX_SIGNAL_EVENTS))
        expect_status(rax, HV_STATUS_ACCESS_DENIED, "SignalEvent without SignalEvents");
    else
        expect_status(rax, HV_STATUS_INVALID_CONNECTION_ID, "SignalEvent, unknown connection");
}

static uint64_t post_input(uint32_t conn, uint32_t type, uint32_t size)
{
    uint32_t *in = (uint32_t *)hv_page_in(this_cpu()->index);
    memset(in, 0, 256);
    in[0] = conn;
    in[2] = type;
    in[3] = size;
    return (uint64_t)(uintptr_t)in;
}

static void s_post_unknown(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t rax = hv_call(HVCALL_POST_MESSAGE, post_input(0x00ABCDEF, 1, 16), 0);
    if (!hv_priv_ebx(HV_EBX_POST_MESSAGES))
        expect_status(rax, HV_STATUS_ACCESS_DENIED, "PostMessage without PostMessages");
    else
        expect_status(rax, HV_STATUS_INVALID_CONNECTION_ID, "PostMessage, unknown connection");
}

static void s_post_params(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_ebx(HV_EBX_POST_MESSAGES, "PostMessages"))
        return;
    /* With a real connection the parameter error is exact; with an unknown
     * one the TLFS leaves the order of the two errors open (3.12). */
    uint32_t conn = opt.msg_conn ? opt.msg_conn : 0x00ABCDEF;
    unsigned alt = opt.msg_conn ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_INVALID_CONNECTION_ID;
    expect_status2(hv_call(HVCALL_POST_MESSAGE, post_input(conn, 0, 16), 0),
                   HV_STATUS_INVALID_PARAMETER, alt, "message type 0");
    expect_status2(hv_call(HVCALL_POST_MESSAGE, post_input(conn, 0x80000001u, 16), 0),
                   HV_STATUS_INVALID_PARAMETER, alt, "message type with bit 31 set");
    expect_status2(hv_call(HVCALL_POST_MESSAGE, post_input(conn, 1, 241), 0),
                   HV_STATUS_INVALID_PARAMETER, alt, "payload size 241");
}

/* ------------------------------------------------ loops through a host */

static void s_event_flags(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_ebx(HV_EBX_SIGNAL_EVENTS, "SignalEvents"))
        return;
    if (!opt.event_conn) {
        skip("no host connection back to this guest (give event_conn=ID event_sint=N)");
        return;
    }
    unsigned cpu = this_cpu()->index, sint = opt.event_sint;
    msg_receive(sint, VEC_SINT, 0, MSG_CONSUME);
    uint8_t *area = sief_area(cpu, sint);
    uint32_t before = irq_count(cpu, VEC_SINT);
    uint64_t rax = hv_call(HVCALL_SIGNAL_EVENT | HC_FAST, opt.event_conn, 0);
    if (!expect_status(rax, HV_STATUS_SUCCESS, "SignalEvent"))
        return;
    if (!expect(wait_irq(cpu, VEC_SINT, before, 1000000), "no interrupt for a new flag"))
        return;
    int bit = -1;
    for (unsigned i = 0; i < 2048 && bit < 0; i++)
        if (area[i / 8] & (1u << (i % 8)))
            bit = (int)i;
    if (!expect(bit >= 0, "no flag set in the SINT%u area", sint))
        return;
    note("flag %d set", bit);
    /* Already set: the host must not interrupt again (TLFS 11.5). */
    uint32_t mid = irq_count(cpu, VEC_SINT);
    hv_call(HVCALL_SIGNAL_EVENT | HC_FAST, opt.event_conn, 0);
    delay_us(20000);
    expect(irq_count(cpu, VEC_SINT) == mid, "interrupt for a flag that was already set");
    __atomic_fetch_and(&area[bit / 8], (uint8_t)~(1u << (bit % 8)), __ATOMIC_SEQ_CST);
    hv_call(HVCALL_SIGNAL_EVENT | HC_FAST, opt.event_conn, 0);
    expect(wait_irq(cpu, VEC_SINT, mid, 1000000), "no interrupt after the flag was cleared");
}

static void s_post_loop(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_ebx(HV_EBX_POST_MESSAGES, "PostMessages"))
        return;
    if (!opt.msg_conn) {
        skip("no host connection back to this guest (give msg_conn=ID msg_sint=N)");
        return;
    }
    unsigned cpu = this_cpu()->index;
    msg_receive(opt.msg_sint, VEC_SINT, 0, MSG_LEAVE);
    uint64_t in = post_input(opt.msg_conn, 0x1234, 8);
    ((uint64_t *)(uintptr_t)in)[2] = 0xFEEDFACECAFEBEEFull;
    uint64_t rax = hv_call(HVCALL_POST_MESSAGE, in, 0);
    if (!expect_status(rax, HV_STATUS_SUCCESS, "PostMessage"))
        return;
    if (expect(msg_wait(cpu, 1, 1000000), "the posted message did not come back"))
        expect(msg_logs[cpu].e[0].type == 0x1234, "message type %#x came back",
               msg_logs[cpu].e[0].type);
}

const struct check synic_checks[] = {
    CHECK("11.9", "SIM page reads zero when first enabled", s_sim_zero),
    CHECK("11.9", "SIEF page reads zero when first enabled", s_sief_zero),
    CHECK("13.3", "timer message to this VP: header, payload, not early", s_message_self),
    CHECK("11.4", "timer message to another VP's SIM page", s_message_other_vp),
    CHECK("11.4", "busy slot: not overwritten, pending flag set, EOM redelivers", s_busy_slot),
    CHECK("11.4", "queued message delivered after an EOI alone", s_redeliver_on_eoi),
    CHECK("11.4", "four messages queued behind a busy slot are all delivered", s_queue_depth),
    CHECK("11.4", "masked SINT: message written, no interrupt", s_masked),
    CHECK("11.8.5", "polling SINT: message written, no interrupt", s_polling),
    CHECK("11.8.5", "AutoEOI SINT leaves nothing in service", s_auto_eoi),
    CHECK("11.8.5", "non-AutoEOI SINT is in service until EOI", s_eoi_mode),
    CHECK("11.8.1", "SCONTROL disabled: no message delivered", s_scontrol_off),
    CHECK("11.4", "SIM page disabled: message queued, delivered after enable + EOM",
          s_simp_off),
    CHECK("11.11", "SignalEvent to an unknown connection", s_signal_unknown),
    CHECK("11.11", "PostMessage to an unknown connection", s_post_unknown),
    CHECK("11.11", "PostMessage parameter checks", s_post_params),
    CHECK("11.5", "event flags: interrupt only when a flag goes 0 -> 1", s_event_flags),
    CHECK("11.4", "PostMessage loop through a host connection", s_post_loop),
    CHECK_END,
};
