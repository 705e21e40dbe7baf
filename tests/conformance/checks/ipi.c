/* SPDX-License-Identifier: MIT */
/*
 * Group "ipi": HvCallSendSyntheticClusterIpi(Ex) (TLFS 10.5) with plain and
 * sparse VP sets, and the VP assist page's EOI assist (TLFS 10.3.4).
 */
#include "common.h"

static bool need_ipi(void)
{
    return need_hypercalls() && need_rec(HV_REC_CLUSTER_IPI, "SyntheticClusterIpi");
}

static bool need_ipi_ex(void)
{
    return need_ipi() && need_rec(HV_REC_EX_PROCESSOR_MASK, "ExProcessorMasks");
}

static uint64_t mask_of(unsigned cpu)
{
    return hv_vp_index[cpu] < 64 ? 1ull << hv_vp_index[cpu] : 0;
}

static void snapshot(uint32_t before[MAX_CPUS], unsigned vec)
{
    for (unsigned i = 0; i < ncpus; i++)
        before[i] = irq_count(i, vec);
}

/* Waits for the expected CPUs to see one more interrupt, then checks the
 * others saw none (after a grace period). */
static void expect_delivery(const uint32_t before[MAX_CPUS], unsigned vec, uint64_t want_cpus,
                            const char *what)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (want_cpus & (1ull << i))
            expect(wait_irq(i, vec, before[i], 1000000), "%s: CPU %u got nothing", what, i);
    delay_us(5000);
    for (unsigned i = 0; i < ncpus; i++) {
        uint32_t got = irq_count(i, vec) - before[i];
        uint32_t want = (want_cpus >> i) & 1;
        expect(got == want, "%s: CPU %u got %u interrupts, expected %u", what, i, got, want);
    }
}

static uint64_t all_cpus(void)
{
    return ncpus >= 64 ? ~0ull : (1ull << ncpus) - 1;
}

static void i_fast_self(const struct check *k)
{
    (void)k;
    if (!need_ipi())
        return;
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI, mask_of(0));
    if (expect_status(rax, HV_STATUS_SUCCESS, "fast IPI to self"))
        expect_delivery(before, VEC_IPI, 1, "fast IPI to self");
}

static void i_slow_other(const struct check *k)
{
    (void)k;
    if (!need_ipi() || !need_cpus(2))
        return;
    uint64_t *in = (uint64_t *)hv_page_in(0);
    in[0] = VEC_IPI;
    in[1] = mask_of(1);
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI, (uint64_t)(uintptr_t)in, 0);
    if (expect_status(rax, HV_STATUS_SUCCESS, "slow IPI to CPU 1"))
        expect_delivery(before, VEC_IPI, 2, "slow IPI to CPU 1");
}

static void i_all(const struct check *k)
{
    (void)k;
    if (!need_ipi())
        return;
    uint64_t mask = 0;
    for (unsigned i = 0; i < ncpus; i++)
        mask |= mask_of(i);
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI, mask);
    if (expect_status(rax, HV_STATUS_SUCCESS, "IPI to every VP"))
        expect_delivery(before, VEC_IPI, all_cpus(), "IPI to every VP");
}

static void i_bad_vector(const struct check *k)
{
    (void)k;
    if (!need_ipi())
        return;
    static const uint32_t vecs[] = { 0, 2, 8, 14, 15, 0x100, 0xFFFFFFFFu };
    for (unsigned i = 0; i < ARRAY_SIZE(vecs); i++) {
        uint32_t before[MAX_CPUS];
        snapshot(before, vecs[i] & 0xFF);
        uint64_t rax = hv_call(HVCALL_SEND_IPI | HC_FAST, vecs[i], mask_of(0));
        char what[40];
        snprintf(what, sizeof(what), "IPI vector %#x", vecs[i]);
        /* TLFS 10.5: 0x10 <= vector <= 0xFF, else INVALID_PARAMETER. */
        expect_status(rax, HV_STATUS_INVALID_PARAMETER, what);
        delay_us(1000);
        /* Vectors below 32 would arrive as fake exceptions and end the
         * check; the others are counted. */
        expect(irq_count(0, vecs[i] & 0xFF) == before[0], "%s was delivered", what);
    }
}

static void i_bad_vtl(const struct check *k)
{
    (void)k;
    if (!need_ipi())
        return;
    /* Target VTL 1 does not exist without VSM. */
    uint64_t rax = hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI | (1ull << 32), mask_of(0));
    expect_status(rax, HV_STATUS_INVALID_PARAMETER, "IPI to VTL 1");
}

static void i_absent_vps(const struct check *k)
{
    (void)k;
    if (!need_ipi())
        return;
    /* VP 63 does not exist in a small guest; the TLFS does not say whether
     * the call fails or skips it, but it must not deliver half-way. */
    if (ncpus >= 64 || hv_vp_index[0] == 63) {
        skip("VP 63 exists");
        return;
    }
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI, mask_of(0) | (1ull << 63));
    note("status %s", hv_status_name(HV_STATUS(rax)));
    if (HV_STATUS(rax) == HV_STATUS_SUCCESS)
        expect_delivery(before, VEC_IPI, 1, "IPI with an absent VP in the mask");
    else
        expect_status(rax, HV_STATUS_INVALID_PARAMETER, "IPI with an absent VP in the mask");
}

/* --------------------------------------------------------------- Ex */

/* {vector, vtl/pad, format, valid_bank_mask, banks...}; returns the GPA. */
static uint64_t ex_input(uint64_t format, uint64_t bank_mask, const uint64_t *banks,
                         unsigned nbanks)
{
    uint64_t *in = (uint64_t *)hv_page_in(this_cpu()->index);
    in[0] = VEC_IPI;
    in[1] = format;
    in[2] = bank_mask;
    for (unsigned i = 0; i < nbanks; i++)
        in[3 + i] = banks[i];
    return (uint64_t)(uintptr_t)in;
}

static uint64_t bank0_mask(uint64_t cpus_wanted)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus_wanted & (1ull << i))
            m |= mask_of(i);
    return m;
}

static void i_ex_sparse(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex())
        return;
    uint64_t want = ncpus > 1 ? 2 : 1;
    uint64_t bank = bank0_mask(want);
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(1), ex_input(0, 1, &bank, 1), 0);
    if (expect_status(rax, HV_STATUS_SUCCESS, "IPI Ex, sparse bank 0"))
        expect_delivery(before, VEC_IPI, want, "IPI Ex, sparse bank 0");
}

static void i_ex_all(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex())
        return;
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI_EX, ex_input(1, 0, 0, 0), 0);
    if (expect_status(rax, HV_STATUS_SUCCESS, "IPI Ex, format ALL"))
        expect_delivery(before, VEC_IPI, all_cpus(), "IPI Ex, format ALL");
}

static void i_ex_64_banks(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex())
        return;
    uint64_t banks[64];
    for (unsigned i = 0; i < 64; i++)
        banks[i] = i ? ~0ull : bank0_mask(all_cpus());
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(64), ex_input(0, ~0ull, banks, 64),
                           0);
    /* Banks 1-63 name VPs that do not exist: skipped, or the whole call
     * refused; never a partial delivery. */
    note("status %s", hv_status_name(HV_STATUS(rax)));
    if (HV_STATUS(rax) == HV_STATUS_SUCCESS)
        expect_delivery(before, VEC_IPI, all_cpus(), "IPI Ex, 64 banks");
    else
        expect_status(rax, HV_STATUS_INVALID_PARAMETER, "IPI Ex, 64 banks");
}

static void i_ex_empty_banks(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex())
        return;
    /* A listed bank may be all zeros (TLFS 7.8.7.4). */
    uint64_t banks[2] = { 0, 0 };
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(2), ex_input(0, 3, banks, 2), 0);
    if (expect_status(rax, HV_STATUS_SUCCESS, "IPI Ex, two empty banks"))
        expect_delivery(before, VEC_IPI, 0, "IPI Ex, two empty banks");
}

static void i_ex_varhead_mismatch(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex())
        return;
    uint64_t banks[2] = { bank0_mask(1), 0 };
    /* Two banks named in the mask, one qword of variable header. */
    uint64_t rax = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(1), ex_input(0, 3, banks, 2), 0);
    expect_status(rax, HV_STATUS_INVALID_HYPERCALL_INPUT,
                  "variable header shorter than the bank list");
}

static void i_ex_bad_format(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex())
        return;
    uint64_t bank = bank0_mask(1);
    uint64_t rax = hv_call(HVCALL_SEND_IPI_EX | HC_VARHEAD(1), ex_input(2, 1, &bank, 1), 0);
    expect_status(rax, HV_STATUS_INVALID_PARAMETER, "VP set format 2");
}

static void i_ex_xmm(const struct check *k)
{
    (void)k;
    if (!need_ipi_ex() || !need_edx(HV_EDX_XMM_INPUT, "XMM fast hypercall input"))
        return;
    uint64_t want = ncpus > 1 ? 3 : 1;
    uint64_t in[14] = { 0 }, out[14];
    in[0] = VEC_IPI;            /* RDX: vector, VTL */
    in[1] = 0;                  /* R8: format sparse */
    in[2] = 1;                  /* XMM0 low: valid bank mask */
    in[3] = bank0_mask(want);   /* XMM0 high: bank 0 */
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    uint64_t rax = 0;
    int f = hv_call_xmm_safe(HVCALL_SEND_IPI_EX | HC_FAST | HC_VARHEAD(1), in, out, &rax);
    if (expect_no_fault(f, "XMM-fast IPI Ex") &&
        expect_status(rax, HV_STATUS_SUCCESS, "XMM-fast IPI Ex"))
        expect_delivery(before, VEC_IPI, want, "XMM-fast IPI Ex");
}

static void i_not_advertised(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    if (hv_rec(HV_REC_CLUSTER_IPI) && hv_rec(HV_REC_EX_PROCESSOR_MASK)) {
        skip("both IPI calls are recommended");
        return;
    }
    uint32_t before[MAX_CPUS];
    snapshot(before, VEC_IPI);
    if (!hv_rec(HV_REC_CLUSTER_IPI))
        expect_status2(hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI, mask_of(0)),
                       HV_STATUS_ACCESS_DENIED, HV_STATUS_INVALID_HYPERCALL_CODE,
                       "SendSyntheticClusterIpi while not recommended");
    expect_status2(hv_call(HVCALL_SEND_IPI_EX, ex_input(1, 0, 0, 0), 0),
                   HV_STATUS_ACCESS_DENIED, HV_STATUS_INVALID_HYPERCALL_CODE,
                   "SendSyntheticClusterIpiEx while not recommended");
    expect_delivery(before, VEC_IPI, 0, "IPI call that was refused");
}

/* ------------------------------------------------------- EOI assist */

static volatile uint32_t assist_state;
static void assist_hook(struct cpu *c, unsigned v)
{
    volatile uint32_t *assist = (volatile uint32_t *)hv_page_assist(c->index);
    /* The guest side of TLFS 10.3.4: clear the bit; EOI only if it was 0. */
    uint32_t old = __atomic_fetch_and(assist, ~1u, __ATOMIC_SEQ_CST);
    if (old & 1) {
        assist_state = 1;
    } else {
        assist_state = 2;
        apic_eoi();
    }
    (void)v;
}

static void i_eoi_assist(const struct check *k)
{
    (void)k;
    if (!need_eax(HV_EAX_APIC_MSRS, "AccessIntrCtrlRegs") || !need_ipi())
        return;
    hv_state_dirty();
    unsigned cpu = this_cpu()->index;
    memset(hv_page_assist(cpu), 0, PAGE_SIZE);
    expect_no_fault(wrmsr_safe(HV_MSR_VP_ASSIST_PAGE,
                               (uint64_t)(uintptr_t)hv_page_assist(cpu) | 1),
                    "enable the VP assist page");
    irq_set_hook(VEC_IPI, assist_hook, IRQ_NO_EOI);
    unsigned skipped = 0;
    for (unsigned round = 0; round < 3; round++) {
        assist_state = 0;
        uint32_t before = irq_count(cpu, VEC_IPI);
        hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI, mask_of(cpu));
        if (!expect(wait_irq(cpu, VEC_IPI, before, 1000000), "round %u: IPI lost", round))
            return;
        skipped += assist_state == 1;
        /* Either way the vector must be finished now: a second one gets in. */
        delay_us(1000);
    }
    note("the host offered \"no EOI required\" in %u of 3 rounds", skipped);
    expect(!apic_isr_set(VEC_IPI), "vector still in service after a lazy EOI");
    uint32_t before = irq_count(cpu, VEC_IPI);
    hv_call(HVCALL_SEND_IPI | HC_FAST, VEC_IPI, mask_of(cpu));
    expect(wait_irq(cpu, VEC_IPI, before, 1000000), "next interrupt blocked after lazy EOIs");
}

const struct check ipi_checks[] = {
    CHECK("10.5", "fast cluster IPI to this VP", i_fast_self),
    CHECK("10.5", "slow cluster IPI to another VP", i_slow_other),
    CHECK("10.5", "cluster IPI to every VP, once each", i_all),
    CHECK("10.5", "vectors 0-15 and above 255 are INVALID_PARAMETER, not delivered",
          i_bad_vector),
    CHECK("10.5", "target VTL 1 (no VSM) is INVALID_PARAMETER", i_bad_vtl),
    CHECK("10.5", "absent VP in the mask: refused or skipped, never partial", i_absent_vps),
    CHECK("7.8.7.4", "IPI Ex: sparse set, bank 0", i_ex_sparse),
    CHECK("7.8.7", "IPI Ex: format ALL reaches every VP", i_ex_all),
    CHECK("7.8.7.4", "IPI Ex: 64 valid banks", i_ex_64_banks),
    CHECK("7.8.7.4", "IPI Ex: listed banks may be empty", i_ex_empty_banks),
    CHECK("3.7", "IPI Ex: variable header shorter than the banks is INVALID_HYPERCALL_INPUT",
          i_ex_varhead_mismatch),
    CHECK("7.8.7", "IPI Ex: unknown VP set format is INVALID_PARAMETER", i_ex_bad_format),
    CHECK("3.7.2", "IPI Ex: XMM-fast with the VP set in registers", i_ex_xmm),
    CHECK("2.4", "IPI calls not recommended are refused", i_not_advertised),
    CHECK("10.3.4", "EOI assist: lazy EOI through the VP assist page", i_eoi_assist),
    CHECK_END,
};
