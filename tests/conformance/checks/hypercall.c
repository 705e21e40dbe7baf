/* SPDX-License-Identifier: MIT */
/*
 * Group "hypercall": the calling convention (TLFS 3.5-3.14): control-word
 * validation, rep semantics and continuation, parameter alignment, fast
 * and XMM-fast input/output, register preservation, privileges.
 */
#include "common.h"

#include "../rt/user.h"

static uint64_t in_gpa(void)
{
    return (uint64_t)(uintptr_t)hv_page_in(this_cpu()->index);
}

static uint64_t out_gpa(void)
{
    return (uint64_t)(uintptr_t)hv_page_out(this_cpu()->index);
}

/* A simple call every host that advertises it must accept, used as the
 * carrier for control-word corruption. */
struct base_call {
    uint64_t control, in, out;
    const char *what;
};

static bool find_base_call(struct base_call *b)
{
    if (!need_hypercalls())
        return false;
    uint64_t *in = (uint64_t *)hv_page_in(this_cpu()->index);
    if (hv_rec(HV_REC_CLUSTER_IPI)) {
        /* An empty processor mask: valid, and nothing is delivered. */
        in[0] = VEC_PROBE;
        in[1] = 0;
        *b = (struct base_call){ HVCALL_SEND_IPI, in_gpa(), 0,
                                 "SendSyntheticClusterIpi (empty mask)" };
    } else if (hv_rec(HV_REC_REMOTE_FLUSH)) {
        in[0] = 0;
        in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
        in[2] = 0;
        *b = (struct base_call){ HVCALL_FLUSH_SPACE, in_gpa(), 0, "FlushVirtualAddressSpace" };
    } else {
        skip("no simple hypercall is advertised (neither cluster IPI nor flush)");
        return false;
    }
    uint64_t rax = hv_call(b->control, b->in, b->out);
    if (HV_STATUS(rax) != HV_STATUS_SUCCESS) {
        expect_status(rax, HV_STATUS_SUCCESS, b->what);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------- CPL3 / codes */

static uint64_t user_hypercall(uint64_t control)
{
    return hv_call(control, 0, 0);
}

static void h_cpl3(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t r;
    int v = run_user(user_hypercall, HVCALL_FLUSH_SPACE, &r);
    if (v < 0)
        note("the call returned %#lx at CPL3", r);
    expect_fault(v, 6, "hypercall from CPL3");
}

static void h_unknown_code(const struct check *k)
{
    unsigned code = (unsigned)(uintptr_t)k->arg;
    if (!need_hypercalls())
        return;
    uint64_t rax = hv_call(code, in_gpa(), out_gpa());
    expect_status(rax, HV_STATUS_INVALID_HYPERCALL_CODE, "unknown call code");
}

static void h_ext_query(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t *out = (uint64_t *)hv_page_out(this_cpu()->index);
    out[0] = 0xDEADBEEFull;
    uint64_t rax = hv_call(HVCALL_EXT_QUERY_CAPS, 0, out_gpa());
    if (!hv_priv_ebx(HV_EBX_EXT_HYPERCALLS)) {
        /* TLFS 3.12: ACCESS_DENIED preferred; "unknown" is truthful too. */
        expect_status2(rax, HV_STATUS_ACCESS_DENIED, HV_STATUS_INVALID_HYPERCALL_CODE,
                       "ExtCallQueryCapabilities without EnableExtendedHypercalls");
        return;
    }
    if (expect_status(rax, HV_STATUS_SUCCESS, "ExtCallQueryCapabilities")) {
        note("capabilities %#lx", out[0]);
        expect(!(out[0] & ~0x1Full), "reserved capability bits 63:5 set: %#lx", out[0]);
    }
}

static void h_ext_unknown(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint64_t rax = hv_call(0x80FF, in_gpa(), out_gpa());
    if (hv_priv_ebx(HV_EBX_EXT_HYPERCALLS))
        expect_status(rax, HV_STATUS_INVALID_HYPERCALL_CODE, "unknown extended call");
    else /* TLFS 3.12: ACCESS_DENIED is the preferred answer, unknown code
          * is also truthful. */
        expect_status2(rax, HV_STATUS_ACCESS_DENIED, HV_STATUS_INVALID_HYPERCALL_CODE,
                       "extended call without EnableExtendedHypercalls");
}

/* ---------------------------------------------------- control word */

static void h_reserved_bits(const struct check *k)
{
    uint64_t mask = (uint64_t)(uintptr_t)k->arg;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    note("carrier: %s", b.what);
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(mask & (1ull << bit)))
            continue;
        uint64_t rax = hv_call(b.control | (1ull << bit), b.in, b.out);
        char what[48];
        snprintf(what, sizeof(what), "control bit %u set", bit);
        expect_status(rax, HV_STATUS_INVALID_HYPERCALL_INPUT, what);
    }
}

static void h_rep_on_simple(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    expect_status(hv_call(b.control | HC_REP_COUNT(1), b.in, b.out),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "rep count 1 on a simple call");
    expect_status(hv_call(b.control | HC_REP_COUNT(0xFFF), b.in, b.out),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "rep count 4095 on a simple call");
}

static void h_start_on_simple(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    expect_status(hv_call(b.control | HC_REP_START(1), b.in, b.out),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "rep start 1 on a simple call");
}

static void h_varhead_on_fixed(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    expect_status(hv_call(b.control | HC_VARHEAD(1), b.in, b.out),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "variable header on a fixed-header call");
}

/* ------------------------------------------------------------- rep */

static bool need_flush_list(void)
{
    return need_hypercalls() && need_rec(HV_REC_REMOTE_FLUSH, "remote TLB flush hypercalls");
}

/* Header {space, flags, mask} then n GVAs of one page each. */
static uint64_t list_input(unsigned n, unsigned extra_pages)
{
    uint64_t *in = (uint64_t *)hv_page_in(this_cpu()->index);
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    for (unsigned i = 0; i < n && 3 + i < 512; i++)
        in[3 + i] = (0x200000ull + (uint64_t)i * 0x1000000ull) | (extra_pages & 0xFFF);
    return in_gpa();
}

static void h_rep_zero(const struct check *k)
{
    (void)k;
    if (!need_flush_list())
        return;
    expect_status(hv_call(HVCALL_FLUSH_LIST, list_input(1, 0), 0),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "rep count 0 on a rep call");
}

static void h_rep_start_ge_count(const struct check *k)
{
    (void)k;
    if (!need_flush_list())
        return;
    uint64_t gpa = list_input(4, 0);
    expect_status(hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(4) | HC_REP_START(4), gpa, 0),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "rep start == rep count");
    expect_status(hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(4) | HC_REP_START(9), gpa, 0),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "rep start > rep count");
}

/* Re-issues a rep call the way a guest must: start index = reps done. */
static uint64_t rep_until_done(uint64_t control, uint64_t in, unsigned count, unsigned start,
                               unsigned *calls, bool *progress_ok)
{
    uint64_t rax = 0;
    *calls = 0;
    *progress_ok = true;
    while (*calls < 10000) {
        rax = hv_call(control | HC_REP_COUNT(count) | HC_REP_START(start), in, 0);
        (*calls)++;
        unsigned done = HV_REPS_DONE(rax);
        if (HV_STATUS(rax) != HV_STATUS_SUCCESS || done >= count)
            break;
        /* TLFS 3.2: at least one rep per call on a valid list. */
        if (done <= start) {
            *progress_ok = false;
            break;
        }
        start = done;
    }
    return rax;
}

static void h_rep_complete(const struct check *k)
{
    (void)k;
    if (!need_flush_list())
        return;
    unsigned calls;
    bool progress;
    uint64_t rax = rep_until_done(HVCALL_FLUSH_LIST, list_input(8, 0), 8, 0, &calls, &progress);
    if (expect_status(rax, HV_STATUS_SUCCESS, "FlushVirtualAddressList, 8 reps"))
        expect(HV_REPS_DONE(rax) == 8, "reps completed %u, expected 8", HV_REPS_DONE(rax));
    expect(progress, "a call completed no rep");
}

static void h_rep_absolute(const struct check *k)
{
    (void)k;
    if (!need_flush_list())
        return;
    unsigned calls;
    bool progress;
    uint64_t rax = rep_until_done(HVCALL_FLUSH_LIST, list_input(8, 0), 8, 5, &calls, &progress);
    /* TLFS 3.8: the total, not relative to the start index. */
    if (expect_status(rax, HV_STATUS_SUCCESS, "FlushVirtualAddressList from rep 5 of 8"))
        expect(HV_REPS_DONE(rax) == 8, "reps completed %u, expected 8 (absolute)",
               HV_REPS_DONE(rax));
}

static void h_rep_continuation(const struct check *k)
{
    (void)k;
    if (!need_flush_list())
        return;
    /* The largest list that fits in one input page, each entry 4096 pages. */
    const unsigned n = 509;
    unsigned calls;
    bool progress;
    uint64_t t0 = rdtsc();
    uint64_t rax =
        rep_until_done(HVCALL_FLUSH_LIST, list_input(n, 0xFFF), n, 0, &calls, &progress);
    uint64_t us = tsc_to_ns(rdtsc() - t0) / 1000;
    note("%u reps took %u call(s), %lu us", n, calls, us);
    if (expect_status(rax, HV_STATUS_SUCCESS, "long FlushVirtualAddressList"))
        expect(HV_REPS_DONE(rax) == n, "reps completed %u of %u", HV_REPS_DONE(rax), n);
    expect(progress, "a re-issued call made no progress");
}

/* ------------------------------------------------------- alignment */

static void h_in_unaligned(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    /* Move the input up 4 bytes so only the alignment is wrong. */
    uint8_t *p = hv_page_in(this_cpu()->index);
    for (int i = 23; i >= 0; i--)
        p[i + 4] = p[i];
    expect_status(hv_call(b.control, b.in + 4, 0), HV_STATUS_INVALID_ALIGNMENT,
                  "input GPA 4 bytes off alignment");
}

static void h_in_cross_page(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_rec(HV_REC_REMOTE_FLUSH, "remote TLB flush hypercalls"))
        return;
    /* 24 bytes starting 8 bytes before the end of a page. */
    uint8_t *pg = hv_page_scratch(0);
    uint64_t *tail = (uint64_t *)(pg + PAGE_SIZE - 8);
    uint64_t *next = (uint64_t *)(hv_page_scratch(1));
    if (hv_page_scratch(1) != pg + PAGE_SIZE) {
        skip("scratch pages not contiguous");
        return;
    }
    tail[0] = 0;
    next[0] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
    next[1] = 0;
    expect_status(hv_call(HVCALL_FLUSH_SPACE, (uint64_t)(uintptr_t)tail, 0),
                  HV_STATUS_INVALID_ALIGNMENT, "input that spans two pages");
}

static void h_in_beyond(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    note("input GPA %#lx", gpa_beyond());
    expect_status(hv_call(b.control, gpa_beyond(), 0), HV_STATUS_INVALID_ALIGNMENT,
                  "input GPA beyond the GPA space");
}

static void h_out_ignored(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    /* TLFS 3.6: a call without output ignores the output GPA. */
    expect_status(hv_call(b.control, b.in, 0x5), HV_STATUS_SUCCESS,
                  "garbage (unaligned) output GPA on a call without output");
    expect_status(hv_call(b.control, b.in, gpa_beyond()), HV_STATUS_SUCCESS,
                  "output GPA beyond the GPA space on a call without output");
}

static void h_out_checked(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() ||
        !need_ebx(HV_EBX_EXT_HYPERCALLS, "EnableExtendedHypercalls (a call with output)"))
        return;
    expect_status(hv_call(HVCALL_EXT_QUERY_CAPS, 0, out_gpa() + 4),
                  HV_STATUS_INVALID_ALIGNMENT, "unaligned output GPA");
    expect_status(hv_call(HVCALL_EXT_QUERY_CAPS, 0, out_gpa() + PAGE_SIZE - 4),
                  HV_STATUS_INVALID_ALIGNMENT, "output that spans two pages");
    expect_status(hv_call(HVCALL_EXT_QUERY_CAPS, 0, gpa_beyond()),
                  HV_STATUS_INVALID_ALIGNMENT, "output GPA beyond the GPA space");
}

/* ---------------------------------------------------------- registers */

static const char *const reg_names[14] = { "RBX", "RCX", "RDX", "RSI", "RDI",
                                           "RBP", "R8",  "R9",  "R10", "R11",
                                           "R12", "R13", "R14", "R15" };

static void check_preserved(const uint64_t after[14], uint64_t control, uint64_t rdx,
                            uint64_t r8)
{
    for (unsigned i = 0; i < 14; i++) {
        uint64_t want = hv_preserve_pattern[i];
        if (i == 1)
            want = control;
        else if (i == 2)
            want = rdx;
        else if (i == 6)
            want = r8;
        expect(after[i] == want, "%s changed: %#lx -> %#lx", reg_names[i], want, after[i]);
    }
}

static void h_regs_slow(const struct check *k)
{
    (void)k;
    struct base_call b;
    if (!find_base_call(&b))
        return;
    uint64_t after[14];
    uint64_t rax = hv_call_preserve(b.control, b.in, b.out, after);
    expect_status(rax, HV_STATUS_SUCCESS, b.what);
    check_preserved(after, b.control, b.in, b.out);
}

static void h_regs_fast(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_rec(HV_REC_CLUSTER_IPI, "SyntheticClusterIpi"))
        return;
    uint64_t after[14];
    /* Empty processor mask: nothing is sent. */
    uint64_t rax = hv_call_preserve(HVCALL_SEND_IPI | HC_FAST, VEC_PROBE, 0, after);
    expect_status(rax, HV_STATUS_SUCCESS, "fast SendSyntheticClusterIpi");
    check_preserved(after, HVCALL_SEND_IPI | HC_FAST, VEC_PROBE, 0);
}

static void h_xmm_input(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() || !need_rec(HV_REC_REMOTE_FLUSH, "remote TLB flush hypercalls"))
        return;
    /* FlushVirtualAddressSpace needs 24 bytes: only XMM-fast can carry it
     * (RDX, R8, then XMM0). */
    uint64_t in[14] = { 0 }, out[14];
    in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
    for (unsigned i = 3; i < 14; i++)
        in[i] = 0xA5A5000000000000ull | i;
    in[2] = 0;   /* XMM0 low: processor mask */
    uint64_t rax = 0;
    int f = hv_call_xmm_safe(HVCALL_FLUSH_SPACE | HC_FAST, in, out, &rax);
    if (!hv_feat_edx(HV_EDX_XMM_INPUT)) {
        note("XMM input not advertised (0x40000003.EDX bit 4 clear)");
        expect_fault(f, 6, "XMM-fast call without XMM input support (TLFS 3.7.2)");
        return;
    }
    if (!expect_no_fault(f, "XMM-fast FlushVirtualAddressSpace"))
        return;
    expect_status(rax, HV_STATUS_SUCCESS, "XMM-fast FlushVirtualAddressSpace");
    /* TLFS 3.9: input registers remain unmodified. */
    for (unsigned i = 0; i < 14; i++)
        expect(out[i] == in[i], "input register %u changed: %#lx -> %#lx", i, in[i], out[i]);
}

static void h_xmm_output(const struct check *k)
{
    (void)k;
    if (!need_hypercalls() ||
        !need_ebx(HV_EBX_EXT_HYPERCALLS, "EnableExtendedHypercalls (a call with output)"))
        return;
    uint64_t *slow = (uint64_t *)hv_page_out(this_cpu()->index);
    slow[0] = ~0ull;
    uint64_t rax = hv_call(HVCALL_EXT_QUERY_CAPS, 0, out_gpa());
    if (!expect_status(rax, HV_STATUS_SUCCESS, "slow ExtCallQueryCapabilities"))
        return;
    uint64_t in[14] = { 0 }, out[14];
    for (unsigned i = 0; i < 14; i++)
        in[i] = 0x5A5A5A5A00000000ull | i;
    int f = hv_call_xmm_safe(HVCALL_EXT_QUERY_CAPS | HC_FAST, in, out, &rax);
    if (!hv_feat_edx(HV_EDX_XMM_OUTPUT)) {
        note("XMM output not advertised (0x40000003.EDX bit 15 clear)");
        expect_fault(f, 6, "fast call with output, no XMM output support (TLFS 3.8.1)");
        return;
    }
    if (!expect_no_fault(f, "fast ExtCallQueryCapabilities") ||
        !expect_status(rax, HV_STATUS_SUCCESS, "fast ExtCallQueryCapabilities"))
        return;
    note("after: RDX %#lx R8 %#lx XMM0 %#lx:%#lx", out[0], out[1], out[3], out[2]);
    /* No input: the output starts in RDX. */
    expect(out[0] == slow[0], "RDX %#lx, the slow call returned %#lx", out[0], slow[0]);
}

/* ---------------------------------------------------------- privileges */

struct priv_call {
    uint16_t code;
    uint32_t ebx_bit;
    bool rep;
};

static void h_privilege(const struct check *k)
{
    const struct priv_call *p = k->arg;
    if (!need_hypercalls())
        return;
    if (hv_priv_ebx(p->ebx_bit)) {
        skip("privilege granted (0x40000003.EBX bit %u); its call is not exercised here",
             __builtin_ctz(p->ebx_bit));
        return;
    }
    memset(hv_page_in(this_cpu()->index), 0, 64);
    uint64_t rax = hv_call(p->code | (p->rep ? HC_REP_COUNT(1) : 0), in_gpa(), out_gpa());
    /* TLFS 3.12: ACCESS_DENIED is preferred; a host that does not know the
     * call at all may say so. */
    expect_status2(rax, HV_STATUS_ACCESS_DENIED, HV_STATUS_INVALID_HYPERCALL_CODE,
                   "call without its privilege");
}

#define PRIV(code, bit, rep, name)                                                      \
    CHECK_ARG("2.4", name " without its privilege is denied", h_privilege, \
              (&(const struct priv_call){ code, bit, rep }))

static void h_spin_wait(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    uint32_t retry = hv.recommend[1];
    if (retry == 0 || retry == 0xFFFFFFFFu) {
        skip("spin-wait notification not recommended (0x40000004.EBX = %#x)", retry);
        return;
    }
    uint64_t *in = (uint64_t *)hv_page_in(this_cpu()->index);
    in[0] = retry;
    expect_status(hv_call(HVCALL_SPIN_WAIT, in_gpa(), 0), HV_STATUS_SUCCESS,
                  "slow NotifyLongSpinWait");
    expect_status(hv_call(HVCALL_SPIN_WAIT | HC_FAST, retry, 0), HV_STATUS_SUCCESS,
                  "fast NotifyLongSpinWait");
}

const struct check hypercall_checks[] = {
    CHECK("3.5", "hypercall from CPL3 gives #UD", h_cpl3),
    CHECK_ARG("3.12", "call code 0x0000 is INVALID_HYPERCALL_CODE", h_unknown_code, (void *)0x0000),
    CHECK_ARG("3.12", "call code 0x1FFF is INVALID_HYPERCALL_CODE", h_unknown_code, (void *)0x1FFF),
    CHECK_ARG("3.12", "call code 0x3FFF is INVALID_HYPERCALL_CODE", h_unknown_code, (void *)0x3FFF),
    CHECK_ARG("3.12", "call code 0x7FFF is INVALID_HYPERCALL_CODE", h_unknown_code, (void *)0x7FFF),
    CHECK("3.14", "ExtCallQueryCapabilities follows EnableExtendedHypercalls", h_ext_query),
    CHECK("3.14", "unknown extended call code", h_ext_unknown),
    CHECK_ARG("3.7", "control bits 27-30 (RsvdZ) give INVALID_HYPERCALL_INPUT", h_reserved_bits,
              (void *)(uintptr_t)0x78000000ull),
    CHECK_ARG("3.7", "control bits 44-47 (RsvdZ) give INVALID_HYPERCALL_INPUT", h_reserved_bits,
              (void *)(uintptr_t)0x0000F00000000000ull),
    CHECK_ARG("3.7", "control bits 60-63 (RsvdZ) give INVALID_HYPERCALL_INPUT", h_reserved_bits,
              (void *)(uintptr_t)0xF000000000000000ull),
    CHECK("3.12", "rep count on a simple call is INVALID_HYPERCALL_INPUT", h_rep_on_simple),
    CHECK("3.7", "rep start index on a simple call is INVALID_HYPERCALL_INPUT",
          h_start_on_simple),
    CHECK("3.7", "variable header size on a fixed-header call is INVALID_HYPERCALL_INPUT",
          h_varhead_on_fixed),
    CHECK("3.12", "rep count 0 on a rep call is INVALID_HYPERCALL_INPUT", h_rep_zero),
    CHECK("3.12", "rep start index >= rep count is INVALID_HYPERCALL_INPUT",
          h_rep_start_ge_count),
    CHECK("3.2", "rep call completes every rep", h_rep_complete),
    CHECK("3.8", "reps completed counts from the list start, not the start index",
          h_rep_absolute),
    CHECK("3.3", "rep continuation: re-issue with start = reps completed until done",
          h_rep_continuation),
    CHECK("3.6", "unaligned input GPA is INVALID_ALIGNMENT", h_in_unaligned),
    CHECK("3.6", "input spanning a page boundary is INVALID_ALIGNMENT", h_in_cross_page),
    CHECK("3.6", "input GPA beyond the GPA space is INVALID_ALIGNMENT", h_in_beyond),
    CHECK("3.6", "output GPA is ignored by a call without output", h_out_ignored),
    CHECK("3.6", "bad output GPA on a call with output is INVALID_ALIGNMENT", h_out_checked),
    CHECK("3.9", "slow call preserves every register but RAX", h_regs_slow),
    CHECK("3.9", "fast call preserves RDX, R8 and the other registers", h_regs_fast),
    CHECK("3.7.2", "XMM-fast input: accepted when advertised (inputs preserved), else #UD",
          h_xmm_input),
    CHECK("3.8.1", "XMM-fast output: output in registers when advertised, else #UD",
          h_xmm_output),
    PRIV(HVCALL_CREATE_PARTITION, HV_EBX_CREATE_PARTITIONS, false, "HvCallCreatePartition"),
    PRIV(HVCALL_GET_PARTITION_ID, HV_EBX_PARTITION_ID, false, "HvCallGetPartitionId"),
    PRIV(HVCALL_DEPOSIT_MEMORY, HV_EBX_MEMORY_POOL, true, "HvCallDepositMemory"),
    PRIV(HVCALL_CREATE_PORT, HV_EBX_CREATE_PORT, false, "HvCallCreatePort"),
    PRIV(HVCALL_CONNECT_PORT, HV_EBX_CONNECT_PORT, false, "HvCallConnectPort"),
    PRIV(HVCALL_POST_DEBUG_DATA, HV_EBX_DEBUGGING, false, "HvCallPostDebugData"),
    PRIV(HVCALL_GET_VP_REGISTERS, HV_EBX_VP_REGISTERS, true, "HvCallGetVpRegisters"),
    PRIV(HVCALL_START_VP, HV_EBX_START_VP, false, "HvCallStartVirtualProcessor"),
    CHECK("7.10", "NotifyLongSpinWait succeeds (slow and fast) when recommended", h_spin_wait),
    CHECK_END,
};
