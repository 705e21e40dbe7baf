/* SPDX-License-Identifier: MIT */
/*
 * Group "flush": the virtual TLB flush hypercalls (TLFS 9.4). The effect
 * checks map a page, let the other CPU cache the translation, repoint the
 * PTE without INVLPG on that CPU, flush by hypercall, and require the other
 * CPU to see the new page.
 */
#include "common.h"

#include "../rt/paging.h"
#include "../rt/platform.h"

#define PAGE_A_MAGIC 0xAAAA0000AAAA0000ull
#define PAGE_B_MAGIC 0xBBBB0000BBBB0000ull
#define TEST_SLOT    7

static bool need_flush(void)
{
    return need_hypercalls() && need_rec(HV_REC_REMOTE_FLUSH, "remote TLB flush hypercalls");
}

static bool need_flush_ex(void)
{
    return need_flush() && need_rec(HV_REC_EX_PROCESSOR_MASK, "ExProcessorMasks");
}

static uint64_t mask_of(unsigned cpu)
{
    return hv_vp_index[cpu] < 64 ? 1ull << hv_vp_index[cpu] : 0;
}

static uint64_t *in_page(void)
{
    return (uint64_t *)hv_page_in(this_cpu()->index);
}

static uint64_t gpa(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ---------------------------------------------------- the TLB effect */

static volatile uint64_t seen_value;

static void touch_test_page(void *arg)
{
    (void)arg;
    seen_value = *test_va(TEST_SLOT);
}

enum flush_kind { F_SPACE_ALL, F_SPACE_CR3, F_LIST, F_SPACE_EX, F_LIST_EX, F_ALL_PROCS };

static uint64_t do_flush(enum flush_kind kind, unsigned target)
{
    uint64_t *in = in_page();
    uint64_t va = (uint64_t)(uintptr_t)test_va(TEST_SLOT);
    in[0] = read_cr3();
    in[1] = 0;
    switch (kind) {
    case F_SPACE_ALL:
        in[1] = HV_FLUSH_ALL_SPACES;
        in[2] = mask_of(target);
        return hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0);
    case F_SPACE_CR3:
        in[2] = mask_of(target);
        return hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0);
    case F_ALL_PROCS:
        in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
        in[2] = 0;
        return hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0);
    case F_LIST:
        in[2] = mask_of(target);
        in[3] = va;
        return hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(1), gpa(in), 0);
    case F_SPACE_EX:
        in[1] = HV_FLUSH_ALL_SPACES;
        in[2] = 0;                      /* sparse */
        in[3] = 1;                      /* bank 0 */
        in[4] = mask_of(target);
        return hv_call(HVCALL_FLUSH_SPACE_EX | HC_VARHEAD(1), gpa(in), 0);
    case F_LIST_EX:
        in[2] = 0;
        in[3] = 1;
        in[4] = mask_of(target);
        in[5] = va;
        return hv_call(HVCALL_FLUSH_LIST_EX | HC_VARHEAD(1) | HC_REP_COUNT(1), gpa(in), 0);
    }
    return ~0ull;
}

static void flush_effect(enum flush_kind kind, bool remote)
{
    unsigned target = remote ? 1 : 0;
    volatile uint64_t *a = (volatile uint64_t *)hv_page_scratch(5);
    volatile uint64_t *b = (volatile uint64_t *)hv_page_scratch(6);
    a[0] = PAGE_A_MAGIC;
    b[0] = PAGE_B_MAGIC;
    test_map(TEST_SLOT, gpa((const void *)a));
    invlpg((uint64_t)(uintptr_t)test_va(TEST_SLOT));

    /* The target caches the translation to page A. */
    if (remote) {
        if (!expect(run_on(1, touch_test_page, 0, 1000000), "CPU 1 did not answer"))
            return;
    } else {
        touch_test_page(0);
    }
    expect(seen_value == PAGE_A_MAGIC, "first read saw %#lx, not page A", seen_value);

    /* Repoint to page B; the target's TLB is left alone. */
    test_map(TEST_SLOT, gpa((const void *)b));
    if (remote) {
        run_on(1, touch_test_page, 0, 1000000);
        note("before the flush CPU 1 saw %s", seen_value == PAGE_A_MAGIC ? "the stale page A"
                                                                         : "page B already");
    }
    uint64_t rax = do_flush(kind, target);
    if (!expect_status(rax, HV_STATUS_SUCCESS, "flush hypercall"))
        return;
    if (remote)
        run_on(1, touch_test_page, 0, 1000000);
    else
        touch_test_page(0);
    expect(seen_value == PAGE_B_MAGIC, "after the flush the %s CPU still reads %#lx",
           remote ? "other" : "calling", seen_value);
    test_unmap(TEST_SLOT);
    invlpg((uint64_t)(uintptr_t)test_va(TEST_SLOT));
}

static void f_effect(const struct check *k)
{
    enum flush_kind kind = (enum flush_kind)(uintptr_t)k->arg;
    bool ex = kind == F_SPACE_EX || kind == F_LIST_EX;
    if (!(ex ? need_flush_ex() : need_flush()) || !need_cpus(2))
        return;
    flush_effect(kind, true);
}

static void f_local_list(const struct check *k)
{
    (void)k;
    if (!need_flush())
        return;
    flush_effect(F_LIST, false);
}

/* ------------------------------------------------------------ status */

static void f_empty_mask(const struct check *k)
{
    (void)k;
    if (!need_flush())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    /* TLFS 9.4: no processor and no "all processors" flag. */
    expect_status(hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0), HV_STATUS_INVALID_PARAMETER,
                  "FlushVirtualAddressSpace with an empty mask");
}

static void f_reserved_flags(const struct check *k)
{
    (void)k;
    if (!need_flush())
        return;
    uint64_t *in = in_page();
    static const uint64_t bad[] = { 1ull << 4, 1ull << 31, 1ull << 63 };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        in[0] = 0;
        in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES | bad[i];
        in[2] = 0;
        char what[40];
        snprintf(what, sizeof(what), "reserved flag %#lx", bad[i]);
        expect_status(hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0), HV_STATUS_INVALID_PARAMETER,
                      what);
    }
}

static void f_list_non_global(const struct check *k)
{
    (void)k;
    if (!need_flush())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES | HV_FLUSH_NON_GLOBAL_ONLY;
    in[2] = 0;
    in[3] = 0x200000;
    expect_status(hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(1), gpa(in), 0),
                  HV_STATUS_INVALID_PARAMETER, "FlushVirtualAddressList with NON_GLOBAL_ONLY");
}

static void f_bad_cr3(const struct check *k)
{
    (void)k;
    if (!need_flush())
        return;
    if (plat.phys_bits >= 62) {
        skip("no reserved CR3 bit below 62");
        return;
    }
    uint64_t *in = in_page();
    in[0] = read_cr3() | (1ull << 62);      /* above MAXPHYADDR: reserved */
    in[1] = HV_FLUSH_ALL_PROCESSORS;
    in[2] = 0;
    expect_status(hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0), HV_STATUS_INVALID_PARAMETER,
                  "address space with reserved CR3 bits");
}

static void f_bad_gva_ignored(const struct check *k)
{
    (void)k;
    if (!need_flush())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    in[3] = 0x8000000000000000ull;  /* non-canonical */
    in[4] = 0xFFFFFFFFFFFFFFFFull;  /* last page, 4095 more: wraps */
    expect_status(hv_call(HVCALL_FLUSH_LIST | HC_REP_COUNT(2), gpa(in), 0), HV_STATUS_SUCCESS,
                  "GVAs beyond the GVA space are ignored");
}

static void f_ex_64_banks(const struct check *k)
{
    (void)k;
    if (!need_flush_ex())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    in[3] = ~0ull;
    for (unsigned i = 0; i < 64; i++)
        in[4 + i] = ~0ull;
    uint64_t rax = hv_call(HVCALL_FLUSH_SPACE_EX | HC_VARHEAD(64), gpa(in), 0);
    note("status %s", hv_status_name(HV_STATUS(rax)));
    expect_status2(rax, HV_STATUS_SUCCESS, HV_STATUS_INVALID_PARAMETER,
                   "FlushVirtualAddressSpaceEx over 64 full banks");
}

static void f_ex_varhead(const struct check *k)
{
    (void)k;
    if (!need_flush_ex())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    in[3] = 0x7;                        /* three banks */
    in[4] = mask_of(0);
    in[5] = 0;
    in[6] = 0;
    expect_status(hv_call(HVCALL_FLUSH_SPACE_EX | HC_VARHEAD(2), gpa(in), 0),
                  HV_STATUS_INVALID_HYPERCALL_INPUT, "three banks, two qwords of header");
}

static void f_ex_format(const struct check *k)
{
    (void)k;
    if (!need_flush_ex())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_SPACES;
    in[2] = 5;                          /* no such format */
    in[3] = 1;
    in[4] = mask_of(0);
    expect_status(hv_call(HVCALL_FLUSH_SPACE_EX | HC_VARHEAD(1), gpa(in), 0),
                  HV_STATUS_INVALID_PARAMETER, "VP set format 5");
}

static void f_ex_all_format(const struct check *k)
{
    (void)k;
    if (!need_flush_ex())
        return;
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_SPACES;
    in[2] = 1;                          /* all VPs */
    in[3] = 0;
    expect_status(hv_call(HVCALL_FLUSH_SPACE_EX, gpa(in), 0), HV_STATUS_SUCCESS,
                  "FlushVirtualAddressSpaceEx, format ALL");
}

static void f_not_advertised(const struct check *k)
{
    (void)k;
    if (!need_hypercalls())
        return;
    if (hv_rec(HV_REC_REMOTE_FLUSH)) {
        skip("flush hypercalls are recommended");
        return;
    }
    uint64_t *in = in_page();
    in[0] = 0;
    in[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_SPACES;
    in[2] = 0;
    expect_status2(hv_call(HVCALL_FLUSH_SPACE, gpa(in), 0), HV_STATUS_ACCESS_DENIED,
                   HV_STATUS_INVALID_HYPERCALL_CODE, "flush while not recommended");
}

const struct check flush_checks[] = {
    CHECK_ARG("9.4", "remote flush: FlushVirtualAddressSpace, all address spaces", f_effect,
              (void *)F_SPACE_ALL),
    CHECK_ARG("9.4", "remote flush: FlushVirtualAddressSpace, this CR3", f_effect,
              (void *)F_SPACE_CR3),
    CHECK_ARG("9.4", "remote flush: FlushVirtualAddressSpace, all processors", f_effect,
              (void *)F_ALL_PROCS),
    CHECK_ARG("9.4", "remote flush: FlushVirtualAddressList", f_effect, (void *)F_LIST),
    CHECK_ARG("9.4", "remote flush: FlushVirtualAddressSpaceEx (sparse set)", f_effect,
              (void *)F_SPACE_EX),
    CHECK_ARG("9.4", "remote flush: FlushVirtualAddressListEx (sparse set)", f_effect,
              (void *)F_LIST_EX),
    CHECK("9.4", "local flush: FlushVirtualAddressList on the calling VP", f_local_list),
    CHECK("9.4", "empty processor mask is INVALID_PARAMETER", f_empty_mask),
    CHECK("9.4", "reserved flag bits are INVALID_PARAMETER", f_reserved_flags),
    CHECK("9.4", "NON_GLOBAL_ONLY on a list flush is INVALID_PARAMETER", f_list_non_global),
    CHECK("9.4", "address space with reserved CR3 bits is INVALID_PARAMETER", f_bad_cr3),
    CHECK("9.4", "GVAs outside the GVA space are ignored", f_bad_gva_ignored),
    CHECK("7.8.7.4", "flush Ex: 64 full banks (absent VPs) refused or ignored", f_ex_64_banks),
    CHECK("3.7", "flush Ex: variable header shorter than the banks is INVALID_HYPERCALL_INPUT",
          f_ex_varhead),
    CHECK("7.8.7", "flush Ex: unknown VP set format is INVALID_PARAMETER", f_ex_format),
    CHECK("7.8.7", "flush Ex: format ALL", f_ex_all_format),
    CHECK("2.4", "flush calls not recommended are refused", f_not_advertised),
    CHECK_END,
};
