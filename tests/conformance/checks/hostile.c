/* SPDX-License-Identifier: MIT */
/*
 * Group "hostile": garbage a guest may legally or illegally hand the host.
 * The bar: the exact TLFS answer where one exists, otherwise #GP or the
 * value accepted; and afterwards the partition still works (time counts,
 * hypercalls answer, every VP responds). XSA-472/475/504 are the patterns.
 */
#include "common.h"

#include "../rt/platform.h"

static void nop_work(void *arg)
{
    (void)arg;
}

/* The partition survived: time, the hypercall path and every VP work. */
static void expect_alive(const char *after)
{
    uint64_t v = 0;
    if (hv_priv(HV_EAX_VP_INDEX))
        expect(rdmsr_safe(HV_MSR_VP_INDEX, &v) < 0, "after %s: VP_INDEX faults", after);
    if (hv_priv(HV_EAX_TIME_REF_COUNT)) {
        uint64_t a = ref_now();
        delay_us(1000);
        expect(ref_now() > a, "after %s: TIME_REF_COUNT stopped", after);
    }
    if (hv_hypercall_va) {
        uint64_t rax = hv_call(0x0000, 0, 0);
        expect(HV_STATUS(rax) == HV_STATUS_INVALID_HYPERCALL_CODE,
               "after %s: hypercalls answer %#lx", after, rax);
    }
    for (unsigned i = 1; i < ncpus; i++)
        expect(run_on(i, nop_work, 0, 1000000), "after %s: CPU %u stopped answering", after,
               i);
}

/* #GP or accepted; anything else (another vector, a hang) fails. */
static void expect_gp_or_ok(int f, const char *what)
{
    expect(f < 0 || f == 13, "%s: %s", what, vector_name((unsigned)f));
}

/* ------------------------------------------------- garbage page GPAs */

struct page_msr {
    uint32_t msr;
    uint32_t eax_bit;
    const char *name;
};

static const struct page_msr page_msrs[] = {
    { HV_MSR_SIMP, HV_EAX_SYNIC, "SIMP" },
    { HV_MSR_SIEFP, HV_EAX_SYNIC, "SIEFP" },
    { HV_MSR_VP_ASSIST_PAGE, HV_EAX_APIC_MSRS, "VP_ASSIST_PAGE" },
    { HV_MSR_REFERENCE_TSC, HV_EAX_REFERENCE_TSC, "REFERENCE_TSC" },
};

/* Something that makes the host touch the pages: a timer message, an
 * IPI (assist page), reference time reads (TSC page). No hypercall when
 * the pages may cover the hypercall page. */
static void poke_pages(bool hypercall_ok)
{
    if (hv_priv(HV_EAX_STIMER) && hv_priv(HV_EAX_SYNIC)) {
        sint_set(3, VEC_SINT, 0);
        stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_SINT(3), ref_now() + 5000);
        stimer_start(1, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_SINT(3), 20000);
        delay_us(20000);
        stimer_stop(0);
        stimer_stop(1);
    }
    if (hypercall_ok && hv_hypercall_va && hv_rec(HV_REC_CLUSTER_IPI))
        hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_PROBE, hv_vp_index[0] < 64 ? 1ull << hv_vp_index[0] : 0);
    for (unsigned i = 0; i < 100; i++)
        ref_now();
}

static void garbage_pages(uint64_t gpa, const char *what)
{
    hv_state_dirty();
    if (hv_priv(HV_EAX_SYNIC))
        wrmsr_safe(HV_MSR_SCONTROL, 1);
    for (unsigned i = 0; i < ARRAY_SIZE(page_msrs); i++) {
        const struct page_msr *p = &page_msrs[i];
        if (!hv_priv(p->eax_bit))
            continue;
        char name[64];
        snprintf(name, sizeof(name), "%s = %s", p->name, what);
        int f = wrmsr_safe(p->msr, gpa | 1);
        expect_gp_or_ok(f, name);
        if (f < 0) {
            uint64_t back = 0;
            rdmsr_safe(p->msr, &back);
            note("%s accepted, reads back %#lx", name, back);
        }
    }
    poke_pages(true);
    for (unsigned i = 0; i < ARRAY_SIZE(page_msrs); i++)
        if (hv_priv(page_msrs[i].eax_bit))
            wrmsr_safe(page_msrs[i].msr, 0);
    expect_alive(what);
}

static void x_pages_beyond(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    garbage_pages(gpa_beyond(), "GPA beyond MAXPHYADDR");
}

static void x_pages_unbacked(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    garbage_pages(gpa_unbacked(), "GPA with no memory");
}

static void x_pages_mmio(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    /* The LAPIC page: a host that writes it as RAM would reprogram it. */
    garbage_pages(0xFEE00000ull, "the LAPIC MMIO page");
    struct cpu *c = this_cpu();
    uint32_t before = irq_count(c->index, VEC_PROBE);
    apic_icr(c->apic_id, ICR_FIXED | VEC_PROBE);
    expect(wait_irq(c->index, VEC_PROBE, before, 1000000), "the LAPIC stopped working");
}

static void x_pages_overlap(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_eax(HV_EAX_SYNIC, "AccessSynicRegs"))
        return;
    /* SIMP, SIEFP and the hypercall page on one GPA: undefined for the
     * guest (TLFS 11.9), survivable for the host. */
    hv_state_dirty();
    uint64_t hc = (uint64_t)(uintptr_t)hv_page_hcall();
    static uint8_t code[PAGE_SIZE];
    memcpy(code, hv_page_hcall(), PAGE_SIZE);
    expect_gp_or_ok(wrmsr_safe(HV_MSR_SIMP, hc | 1), "SIMP on the hypercall page");
    expect_gp_or_ok(wrmsr_safe(HV_MSR_SIEFP, hc | 1), "SIEFP on the hypercall page");
    wrmsr_safe(HV_MSR_SCONTROL, 1);
    poke_pages(false);
    wrmsr_safe(HV_MSR_SIMP, 0);
    wrmsr_safe(HV_MSR_SIEFP, 0);
    /* Disable and re-enable the hypercall page so the host writes its code
     * again (the messages may have landed on top of it). */
    wrmsr_safe(HV_MSR_HYPERCALL, 0);
    wrmsr_safe(HV_MSR_HYPERCALL, hc | 1);
    if (!expect(!memcmp(code, hv_page_hcall(), PAGE_SIZE),
                "re-enabling HYPERCALL did not restore the hypercall code")) {
        /* Keep the later checks usable on a host that left it broken. */
        struct jmpctx j;
        if (CATCH(&j)) {
            memcpy(hv_page_hcall(), code, PAGE_SIZE);
            catch_pop(&j);
        }
    }
    expect_alive("overlapping overlay pages");
}

/* ------------------------------------------------------ all-ones MSRs */

struct ones {
    uint32_t msr;
    uint32_t eax_bit;       /* 0: gated by EDX crash bit */
    uint64_t restore;
};

static void x_all_ones(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    hv_state_dirty();
    /* Not RESET or CRASH_CTL: all-ones there would legitimately reset or
     * crash the partition. */
    static const struct ones list[] = {
        { HV_MSR_SCONTROL, HV_EAX_SYNIC, 0 },
        { HV_MSR_SIMP, HV_EAX_SYNIC, 0 },
        { HV_MSR_SIEFP, HV_EAX_SYNIC, 0 },
        { HV_MSR_EOM, HV_EAX_SYNIC, 0 },
        { HV_MSR_SINT(0), HV_EAX_SYNIC, HV_SINT_MASKED },
        { HV_MSR_SINT(15), HV_EAX_SYNIC, HV_SINT_MASKED },
        { HV_MSR_STIMER_COUNT(0), HV_EAX_STIMER, 0 },
        { HV_MSR_STIMER_CONFIG(0), HV_EAX_STIMER, 0 },
        { HV_MSR_STIMER_CONFIG(3), HV_EAX_STIMER, 0 },
        { HV_MSR_STIMER_COUNT(3), HV_EAX_STIMER, 0 },
        { HV_MSR_VP_ASSIST_PAGE, HV_EAX_APIC_MSRS, 0 },
        { HV_MSR_TPR, HV_EAX_APIC_MSRS, 0 },
        { HV_MSR_EOI, HV_EAX_APIC_MSRS, 0 },
        { HV_MSR_REFERENCE_TSC, HV_EAX_REFERENCE_TSC, 0 },
        { HV_MSR_REENLIGHTENMENT, HV_EAX_REENLIGHTENMENT, 0 },
        { HV_MSR_TSC_EMU_CONTROL, HV_EAX_REENLIGHTENMENT, 0 },
        { HV_MSR_TSC_EMU_STATUS, HV_EAX_REENLIGHTENMENT, 0 },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(list); i++) {
        if (!hv_priv(list[i].eax_bit))
            continue;
        char what[48];
        snprintf(what, sizeof(what), "all-ones to %#x", list[i].msr);
        expect_gp_or_ok(wrmsr_safe(list[i].msr, ~0ull), what);
        delay_us(2000);     /* let an accepted timer or page do its worst */
        wrmsr_safe(list[i].msr, list[i].restore);
    }
    if (hv_feat_edx(HV_EDX_CRASH))
        for (unsigned p = 0; p < 5; p++)
            expect_gp_or_ok(wrmsr_safe(HV_MSR_CRASH_P(p), ~0ull), "all-ones to CRASH_Pn");
    apic_write(APIC_TPR, 0);
    expect_alive("all-ones MSR writes");
}

/* ------------------------------------------------------------ timers */

static void x_timer_storm(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") ||
        !need_eax(HV_EAX_SYNIC, "AccessSynicRegs") || !need_hypercalls())
        return;
    /* Period 100 ns, message and (if offered) direct mode. */
    msg_receive(3, VEC_SINT, 0, MSG_CONSUME);
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_SINT(3), 1);
    if (hv_feat_edx(HV_EDX_STIMER_DIRECT))
        stimer_start(1,
                     HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT |
                         HV_STIMER_VECTOR(VEC_STIMER),
                     1);
    delay_us(20000);
    uint64_t t0 = rdtsc();
    stimer_stop(0);
    stimer_stop(1);
    note("stopping took %lu us; %u messages, %u direct interrupts in 20 ms",
         tsc_to_ns(rdtsc() - t0) / 1000, msg_logs[this_cpu()->index].n,
         irq_count(this_cpu()->index, VEC_STIMER));
    expect(!(rdmsr(HV_MSR_STIMER_CONFIG(0)) & HV_STIMER_ENABLE), "storm timer still enabled");
    expect_alive("a 100 ns periodic timer storm");
}

static void x_direct_period_zero(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") ||
        !need_edx(HV_EDX_STIMER_DIRECT, "direct synthetic timers") || !need_hypercalls())
        return;
    unsigned cpu = this_cpu()->index;
    uint32_t before = irq_count(cpu, VEC_STIMER);
    int f = stimer_start(2,
                         HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT |
                             HV_STIMER_VECTOR(VEC_STIMER),
                         0);
    expect_gp_or_ok(f, "periodic direct timer with COUNT 0");
    /* And with auto-enable, COUNT 0 written afterwards. */
    wrmsr_safe(HV_MSR_STIMER_CONFIG(3), HV_STIMER_AUTO_ENABLE | HV_STIMER_PERIODIC |
                                            HV_STIMER_DIRECT | HV_STIMER_VECTOR(VEC_STIMER));
    wrmsr_safe(HV_MSR_STIMER_COUNT(3), 0);
    delay_us(20000);
    expect(irq_count(cpu, VEC_STIMER) == before, "a zero-period timer fired %u times",
           irq_count(cpu, VEC_STIMER) - before);
    expect_alive("a periodic timer with period 0 (XSA-504)");
}

static void x_direct_low_vector(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") ||
        !need_edx(HV_EDX_STIMER_DIRECT, "direct synthetic timers") || !need_hypercalls())
        return;
    /* Vector 14 would arrive as a fake #PF (no error code): the check
     * would be abandoned, which counts as a failure. */
    static const unsigned vecs[] = { 0, 2, 14, 15 };
    for (unsigned i = 0; i < ARRAY_SIZE(vecs); i++) {
        int f = stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_DIRECT | HV_STIMER_VECTOR(vecs[i]),
                             ref_now() + 1000);
        expect_gp_or_ok(f, "direct timer with vector < 16");
        delay_us(5000);
        stimer_stop(0);
    }
    expect(cpus[0].nmi_count == 0, "vector 2 arrived as an NMI");
    expect_alive("direct timers with vectors 0-15");
}

static void x_icr_low_vector(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_APIC_MSRS, "AccessIntrCtrlRegs") || !need_hypercalls())
        return;
    struct cpu *c = this_cpu();
    uint64_t dest = apic_x2 ? (uint64_t)c->apic_id << 32 : (uint64_t)c->apic_id << 56;
    /* Architecturally an illegal vector: not delivered (ESR reports it). */
    for (unsigned v = 0; v < 16; v += 5)
        expect_gp_or_ok(wrmsr_safe(HV_MSR_ICR, dest | v), "ICR MSR with vector < 16");
    delay_us(5000);
    apic_write(APIC_ESR, 0);
    expect_alive("ICR MSR writes with vectors 0-15");
}

/* ---------------------------------------------------------- hypercalls */

static void x_all_ones_control(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t rax = 0;
    int f = hv_call_safe(~0ull, ~0ull, ~0ull, &rax);
    if (expect_no_fault(f, "all-ones control word"))
        /* Reserved bits and an unknown code: either error is right. */
        expect_status2(rax, HV_STATUS_INVALID_HYPERCALL_INPUT, HV_STATUS_INVALID_HYPERCALL_CODE,
                       "all-ones control word");
    expect_alive("an all-ones control word");
}

static void x_huge_rep(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_rec(HV_REC_REMOTE_FLUSH, "remote TLB flush hypercalls"))
        return;
    uint64_t *in = (uint64_t *)hv_page_in(this_cpu()->index);
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    /* 4095 GVAs would take 32 KiB: the list spans pages (TLFS 3.6). */
    uint64_t rax = hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(0xFFF), (uint64_t)(uintptr_t)in, 0);
    note("reps completed %u", HV_REPS_DONE(rax));
    expect_status(rax, HV_STATUS_INVALID_ALIGNMENT, "rep list of 4095 spanning 8 pages");
    rax = hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(0xFFF) | HC_REP_START(0xFFF),
                  (uint64_t)(uintptr_t)in, 0);
    expect_status(rax, HV_STATUS_INVALID_HYPERCALL_INPUT, "rep start 4095 of 4095");
    expect_alive("huge rep counts");
}

static void x_input_mmio(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_rec(HV_REC_REMOTE_FLUSH, "remote TLB flush hypercalls"))
        return;
    uint32_t tpr = apic_read(APIC_TPR);
    /* Input from MMIO, from no memory, from the hypercall page itself:
     * any answer, as long as nothing breaks. */
    uint64_t a = hv_call(HVCALL_FLUSH_SPACE, 0xFEE00000ull, 0);
    uint64_t b = hv_call(HVCALL_FLUSH_SPACE, gpa_unbacked(), 0);
    uint64_t c = hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(3), (uint64_t)(uintptr_t)hv_page_hcall(),
                         (uint64_t)(uintptr_t)hv_page_hcall());
    note("statuses: LAPIC page %s, unbacked %s, hypercall page %s",
         hv_status_name(HV_STATUS(a)), hv_status_name(HV_STATUS(b)),
         hv_status_name(HV_STATUS(c)));
    expect(apic_read(APIC_TPR) == tpr, "the LAPIC changed under a hypercall reading it");
    expect_alive("inputs at MMIO, unbacked and overlay GPAs");
}

static void x_ex_all_ones(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_rec(HV_REC_EX_PROCESSOR_MASK, "ExProcessorMasks"))
        return;
    uint64_t *in = (uint64_t *)hv_page_in(this_cpu()->index);
    for (unsigned i = 0; i < 512; i++)
        in[i] = ~0ull;
    /* Format all-ones, 64 banks of all-ones, vector all-ones (XSA-475). */
    uint64_t a = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(64), (uint64_t)(uintptr_t)in, 0);
    in[0] = VEC_PROBE;
    in[1] = 0;
    uint64_t b = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(64), (uint64_t)(uintptr_t)in, 0);
    uint64_t c = hv_call(HVCALL_FLUSH_LIST_EX | HC_VARHEAD(64) | HC_REP_COUNT(400),
                         (uint64_t)(uintptr_t)in, 0);
    note("IPI Ex all-ones %s; 64 full banks %s; flush Ex %s", hv_status_name(HV_STATUS(a)),
         hv_status_name(HV_STATUS(b)), hv_status_name(HV_STATUS(c)));
    expect(HV_STATUS(a) != HV_STATUS_SUCCESS, "all-ones IPI Ex (vector 0xFFFFFFFF) accepted");
    if (hv_feat_edx(HV_EDX_XMM_INPUT)) {
        uint64_t xin[14], xout[14], rax = 0;
        for (unsigned i = 0; i < 14; i++)
            xin[i] = ~0ull;
        int f = hv_call_xmm_safe(HVCALL_SEND_IPI_EX | HC_FAST | HC_VARHEAD(64), xin, xout, &rax);
        expect_no_fault(f, "XMM-fast IPI Ex with a header larger than the registers");
        if (f < 0)
            expect(HV_STATUS(rax) != HV_STATUS_SUCCESS,
                   "XMM-fast call with 64 banks (more than XMM can hold) accepted");
    }
    expect_alive("all-ones sparse VP sets");
}

static void x_post_garbage(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_ebx(HV_EBX_POST_MESSAGES, "PostMessages"))
        return;
    uint32_t *in = (uint32_t *)hv_page_in(this_cpu()->index);
    memset(in, 0xFF, 256);
    in[0] = opt.msg_conn ? opt.msg_conn : 0x00ABCDEF;
    uint64_t rax = hv_call(HVCALL_POST_MESSAGE, (uint64_t)(uintptr_t)in, 0);
    expect(HV_STATUS(rax) != HV_STATUS_SUCCESS, "PostMessage with payload size 0xFFFFFFFF "
                                                "accepted");
    rax = hv_call(HVCALL_POST_MESSAGE | HC_FAST, in[0], ~0ull);
    expect(HV_STATUS(rax) != HV_STATUS_SUCCESS, "fast PostMessage accepted (slow only)");
    /* A sane 256-byte message that starts 128 bytes before a page end. */
    uint32_t *h = (uint32_t *)(hv_page_in(this_cpu()->index) + PAGE_SIZE - 128);
    h[0] = in[0];
    h[1] = 0;
    h[2] = 1;
    h[3] = 16;
    rax = hv_call(HVCALL_POST_MESSAGE, (uint64_t)(uintptr_t)h, 0);
    expect_status2(rax, HV_STATUS_INVALID_ALIGNMENT,
                   opt.msg_conn ? HV_STATUS_INVALID_ALIGNMENT : HV_STATUS_INVALID_CONNECTION_ID,
                   "PostMessage input spanning a page");
    expect_alive("garbage PostMessage input");
}

/* ----------------------------------------------------------- races */

static volatile uint32_t race_stop;

static void tsc_toggler(void *arg)
{
    (void)arg;
    uint64_t on = (uint64_t)(uintptr_t)hv_page_scratch(7) | 1;
    for (unsigned i = 0; i < 2000 && !race_stop; i++) {
        wrmsr_safe(HV_MSR_REFERENCE_TSC, i & 1 ? 0 : on);
        ref_now();
    }
}

static void x_ref_tsc_race(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_REFERENCE_TSC, "AccessPartitionReferenceTsc") || !need_cpus(2))
        return;
    /* Both VPs rewrite the partition-wide MSR at once (XSA-472's race). */
    race_stop = 0;
    run_start(1, tsc_toggler, 0);
    uint64_t on = (uint64_t)(uintptr_t)hv_page_tsc() | 1;
    for (unsigned i = 0; i < 2000; i++) {
        wrmsr_safe(HV_MSR_REFERENCE_TSC, i & 1 ? on : 0);
        uint64_t t;
        hv_tsc_page_read((const struct hv_tsc_page *)hv_page_tsc(), &t);
    }
    race_stop = 1;
    expect(run_wait(1, 5000000), "CPU 1 did not finish toggling");
    wrmsr_safe(HV_MSR_REFERENCE_TSC, on);
    uint64_t v = 0, t = 0;
    rdmsr_safe(HV_MSR_REFERENCE_TSC, &v);
    expect(v == on, "REFERENCE_TSC reads %#lx after the race, wrote %#lx", v, on);
    expect(hv_tsc_page_read((const struct hv_tsc_page *)hv_page_tsc(), &t),
           "TSC page invalid after the race");
    expect_alive("concurrent REFERENCE_TSC writes");
}

static void simp_toggler(void *arg)
{
    (void)arg;
    unsigned cpu = this_cpu()->index;
    synic_on();
    sint_set(3, VEC_SINT, 0);
    stimer_start(0, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_SINT(3), 500);
    for (unsigned i = 0; i < 100; i++) {
        wrmsr_safe(HV_MSR_SIMP, i & 1 ? (uint64_t)(uintptr_t)hv_page_simp(cpu) | 1 : 0);
        sim_slot(cpu, 3)->type = HV_MSG_NONE;
        wrmsr_safe(HV_MSR_EOM, 0);
    }
    stimer_stop(0);
}

static void x_simp_race(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_STIMER, "AccessSyntheticTimerRegs") ||
        !need_eax(HV_EAX_SYNIC, "AccessSynicRegs") || !need_hypercalls() || !need_cpus(2))
        return;
    hv_state_dirty();
    /* A 50 us periodic timer delivering while the SIM page comes and goes
     * (XSA-472: message delivery into an unmapped SIM page). */
    bool ok = run_on(1, simp_toggler, 0, 25000000);
    expect(ok, "CPU 1: %s", ap_failure(1));
    expect_alive("SIMP toggled under a fast timer");
}

const struct check hostile_checks[] = {
    CHECK("11.8", "page MSRs at a GPA beyond MAXPHYADDR", x_pages_beyond),
    CHECK("11.8", "page MSRs at a GPA with no memory", x_pages_unbacked),
    CHECK("11.8", "page MSRs on the LAPIC MMIO page", x_pages_mmio),
    CHECK("11.9", "SIMP, SIEFP and the hypercall page on one GPA", x_pages_overlap),
    CHECK("8.10", "all-ones written to every writable synthetic MSR", x_all_ones),
    CHECK("12.5", "100 ns periodic timers (message and direct) for 20 ms", x_timer_storm),
    CHECK("12.5", "periodic direct timer with period 0", x_direct_period_zero),
    CHECK("12.2", "direct timers with vectors 0-15", x_direct_low_vector),
    CHECK("10.2.3", "ICR MSR with vectors 0-15", x_icr_low_vector),
    CHECK("3.7", "all-ones control word", x_all_ones_control),
    CHECK("3.6", "rep count 4095 spanning pages, rep start 4095", x_huge_rep),
    CHECK("3.6", "hypercall input at MMIO, unbacked and overlay GPAs", x_input_mmio),
    CHECK("7.8.7", "all-ones sparse VP sets, 64 banks, XMM overflow", x_ex_all_ones),
    CHECK("11.11", "garbage PostMessage input", x_post_garbage),
    CHECK_T("12.7", "both VPs rewriting REFERENCE_TSC at once", x_ref_tsc_race, 30),
    CHECK_T("11.8", "SIM page toggled under a 50 us periodic timer", x_simp_race, 30),
    CHECK_END,
};
