/* SPDX-License-Identifier: MIT */
/*
 * The hypercall ABI: #UD conditions, check order, gates, control word
 * form, slow-call placement, fast and XMM input, XMM output, rep
 * continuation, result layout, statistics and trace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hypercalls/hypercalls.h"
#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define HC_PAGE PAGE(1)
#define IN PAGE(16)
#define OUT PAGE(17)

#define FAST HV_HC_FAST
#define REPS(n) ((uint64_t)(n) << HV_HC_REP_COUNT_SHIFT)
#define START(n) ((uint64_t)(n) << HV_HC_REP_START_SHIFT)
#define VARHEAD(n) ((uint64_t)(n) << HV_HC_VARHEAD_SHIFT)

#define STATUS(r) ((uint16_t)((r) & HV_HC_RESULT_STATUS_MASK))
#define REPS_DONE(r) ((uint32_t)(((r) >> HV_HC_RESULT_REPS_SHIFT) & 0xFFF))
/* Everything a result value may not set */
#define RESULT_RESERVED (~(HV_HC_RESULT_STATUS_MASK | HV_HC_REP_COUNT_MASK))

static struct fake_vm *vm_with(hv_features_t f, uint32_t nr_vps)
{
    struct fake_vm *vm = fake_vm_new(f | F(HYPERCALL), nr_vps);
    fake_enable_hypercalls(vm, HC_PAGE);
    return vm;
}

static struct fake_vm *vm_all(uint32_t nr_vps)
{
    return vm_with(HV_FEATURES_ALL, nr_vps);
}

/* A 64-bit CPL0 call that must complete; returns the result value. */
static uint64_t call(struct fake_vm *vm, uint64_t control, uint64_t in, uint64_t out)
{
    uint64_t r;
    assert_int_equal(fake_hypercall(vm, 0, control, in, out, &r), HV_HC_COMPLETE);
    assert_int_equal(r & RESULT_RESERVED, 0);
    return r;
}

static uint16_t status_of(struct fake_vm *vm, uint64_t control, uint64_t in, uint64_t out)
{
    return STATUS(call(vm, control, in, out));
}

static enum hv_hypercall_outcome call_regs(struct fake_vm *vm, struct hv_hypercall_regs *r)
{
    return hv_hypercall(&vm->vps[0], r);
}

/* The input of a flush of VP 0's TLB, placed at IN. */
static void put_flush_space(struct fake_vm *vm, uint64_t gpa)
{
    uint64_t in[3] = { 0x5000, 0, 0x1 };
    fake_write(vm, gpa, in, sizeof(in));
}

/* ------------------------------------------------------------------ #UD */

static void assert_ud(struct fake_vm *vm, uint8_t mode, uint8_t cpl)
{
    struct hv_hypercall_regs r = {
        .control = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, .input = 0x30, .output = 1,
        .result = 0x1234, .mode = mode, .cpl = cpl,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_INJECT_UD);
    assert_int_equal(r.result, 0x1234);        /* registers left alone */
    assert_int_equal(vm->host.nr_ipis, 0);
}

static void test_ud_real_mode(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_ud(vm, HV_CPU_MODE_REAL, 0);
    fake_vm_free(vm);
}

static void test_ud_cpl_above_zero(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_ud(vm, HV_CPU_MODE_LONG, 3);
    assert_ud(vm, HV_CPU_MODE_LONG, 1);
    assert_ud(vm, HV_CPU_MODE_PROTECTED, 3);
    fake_vm_free(vm);
}

static void test_ud_unknown_mode(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_ud(vm, 3, 0);
    assert_ud(vm, 0xFF, 0);
    fake_vm_free(vm);
}

static void test_ud_hypercall_page_disabled(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 2);
    assert_ud(vm, HV_CPU_MODE_LONG, 0);      /* never enabled */
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, 0x8100000601C00000ull);
    fake_wrmsr(vm, 0, HV_MSR_HYPERCALL, HC_PAGE);  /* enable bit clear */
    assert_ud(vm, HV_CPU_MODE_LONG, 0);
    fake_wrmsr(vm, 0, HV_MSR_HYPERCALL, HC_PAGE | 1);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x30, 1), 0);
    fake_vm_free(vm);
}

static void test_ud_after_guest_os_id_cleared(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, 0);   /* kexec path */
    assert_ud(vm, HV_CPU_MODE_LONG, 0);
    fake_vm_free(vm);
}

static void test_ud_without_hypercall_feature(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL & ~F(HYPERCALL), 2);
    assert_ud(vm, HV_CPU_MODE_LONG, 0);
    fake_vm_free(vm);
}

static void test_ud_counted_and_traced(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t errors = fake_stats(vm).hypercall_errors;
    assert_ud(vm, HV_CPU_MODE_REAL, 0);
    assert_int_equal(fake_stats(vm).hypercall_errors, errors + 1);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_HYPERCALL);
    assert_int_equal(vm->host.last_trace[0], HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST);
    assert_int_equal(vm->host.last_trace[3], UINT64_MAX);
    fake_vm_free(vm);
}

static void test_protected_mode_calls_work(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t in[2] = { 0x40, 0x2 };
    fake_write(vm, IN, in, sizeof(in));
    struct hv_hypercall_regs r = {
        .control = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, .input = IN, .mode = HV_CPU_MODE_PROTECTED,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_COMPLETE);
    assert_int_equal(r.result, 0);
    assert_int_equal(vm->host.nr_ipis, 1);
    assert_int_equal(vm->host.ipis[0].vector, 0x40);
    fake_vm_free(vm);
}

/* --------------------------------------------------------- check order */

static void test_reserved_control_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    static const uint64_t bits[] = { 1ull << 27, 1ull << 31, 1ull << 44, 1ull << 47,
                                     1ull << 60, 1ull << 63 };
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST | bits[i], 0x30, 1),
                         HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_ipis, 0);
    fake_vm_free(vm);
}

static void test_access_denied_before_reserved_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_with(F(VP_INDEX), 2);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST | (1ull << 30), 0x30, 1),
                     HV_STATUS_ACCESS_DENIED);
    assert_int_equal(status_of(vm, HVCALL_GET_PARTITION_ID | (1ull << 63), IN, OUT),
                     HV_STATUS_ACCESS_DENIED);
    fake_vm_free(vm);
}

static void test_reserved_bits_before_unknown_code(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, 0x7777 | (1ull << 28), IN, OUT),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    fake_vm_free(vm);
}

static void test_unknown_codes(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    static const uint16_t codes[] = { 0x0000, 0x0004, 0x0050, 0x0051, 0x007E, 0x00AF, 0x00B0,
                                      0x7FFF, 0x8000, 0x8004, 0xFFFF };
    for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_int_equal(status_of(vm, codes[i], IN, OUT), HV_STATUS_INVALID_HYPERCALL_CODE);
    fake_vm_free(vm);
}

static void test_unreported_extended_calls(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_EXT_GET_BOOT_ZEROED_MEMORY, IN, OUT),
                     HV_STATUS_INVALID_HYPERCALL_CODE);
    assert_int_equal(status_of(vm, HVCALL_EXT_MEMORY_HEAT_HINT | REPS(1), IN, OUT),
                     HV_STATUS_INVALID_HYPERCALL_CODE);
    fake_vm_free(vm);
    /* without the privilege, extended calls are denied, not unknown */
    vm = vm_with(HV_FEATURES_ALL & ~F(EXT_HYPERCALLS), 2);
    assert_int_equal(status_of(vm, HVCALL_EXT_GET_BOOT_ZEROED_MEMORY, IN, OUT),
                     HV_STATUS_ACCESS_DENIED);
    fake_vm_free(vm);
}

static void test_never_granted_codes(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    static const uint16_t codes[] = {
        HVCALL_GET_PARTITION_ID, HVCALL_POST_DEBUG_DATA, HVCALL_RETRIEVE_DEBUG_DATA,
        HVCALL_RESET_DEBUG_SESSION, 0x000C, 0x000D, 0x000F, 0x0011, 0x0012, 0x0040, 0x0048,
        0x004E, 0x0076, 0x007C, 0x0095, 0x0096, 0x00DB,
    };
    for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_int_equal(status_of(vm, codes[i], IN, OUT), HV_STATUS_ACCESS_DENIED);
    /* nothing was written to the output page */
    assert_int_equal(fake_read64(vm, OUT), 0);
    fake_vm_free(vm);
}

/* Each call, with one of its gate features missing, is denied. */
struct gated {
    uint64_t control;
    hv_features_t gates;
};

static void test_every_gate(void **s)
{
    (void)s;
    static const struct gated calls[] = {
        { HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, F(ADDRESS_SPACE_SWITCH) },
        { HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, F(HCALL_REMOTE_TLB_FLUSH) },
        { HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(1), F(HCALL_REMOTE_TLB_FLUSH) },
        { HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST, F(SPIN_WAIT) },
        { HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, F(HCALL_IPI) },
        { HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, F(HCALL_REMOTE_TLB_FLUSH) | F(EX_PROCESSOR_MASKS) },
        { HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | REPS(1),
          F(HCALL_REMOTE_TLB_FLUSH) | F(EX_PROCESSOR_MASKS) },
        { HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, F(HCALL_IPI) | F(EX_PROCESSOR_MASKS) },
        { HVCALL_POST_MESSAGE, F(POST_MESSAGES) },
        { HVCALL_SIGNAL_EVENT | FAST, F(SIGNAL_EVENTS) },
        { HVCALL_EXT_QUERY_CAPABILITIES, F(EXT_HYPERCALLS) },
    };
    for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        hv_features_t g = calls[i].gates;
        while (g) {
            hv_features_t one = g & -g;
            g &= g - 1;
            struct fake_vm *vm = vm_with(HV_FEATURES_ALL & ~one, 2);
            uint64_t before = fake_stats(vm).hypercall_errors;
            assert_int_equal(status_of(vm, calls[i].control, IN, OUT), HV_STATUS_ACCESS_DENIED);
            assert_int_equal(fake_stats(vm).hypercall_errors, before + 1);
            assert_int_equal(vm->host.nr_flushes + vm->host.nr_ipis + vm->host.nr_posts +
                             vm->host.nr_signals + vm->host.yields[0], 0);
            fake_vm_free(vm);
        }
    }
}

static void test_no_features_denies_everything_known(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_with(0, 1);
    static const uint16_t codes[] = { 0x0001, 0x0002, 0x0003, 0x0008, 0x000B, 0x0013, 0x0014,
                                      0x0015, 0x005C, 0x005D, 0x8001, 0x8002, 0x8003 };
    for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_int_equal(status_of(vm, codes[i], IN, OUT), HV_STATUS_ACCESS_DENIED);
    fake_vm_free(vm);
}

/* ----------------------------------------------------------------- form */

static void test_rep_fields_on_simple_call(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST | REPS(1), 0x30, 1),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST | START(1), 0x30, 1),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_ipis, 0);
    fake_vm_free(vm);
}

static void test_rep_call_needs_count(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_flush_space(vm, IN);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, IN, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    fake_vm_free(vm);
}

static void test_rep_start_must_be_below_count(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_flush_space(vm, IN);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(2) | START(2), IN, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(2) | START(3), IN, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_flushes, 0);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(2) | START(1), IN, 0),
                     HV_STATUS_SUCCESS);
    fake_vm_free(vm);
}

static void test_varhead_on_fixed_call(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_flush_space(vm, IN);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | VARHEAD(1), IN, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_varhead_longer_than_any_set(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(65), IN, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(1023), IN, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    fake_vm_free(vm);
}

static void test_fast_on_memory_only_call(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(hv_partition_register_connection(&vm->part, 1, HV_CONNECTION_MESSAGE), HV_OK);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE | FAST, 1, 1),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_posts, 0);
    fake_vm_free(vm);
}

/* ------------------------------------------------- slow-call placement */

static void test_input_misaligned(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_flush_space(vm, IN + 4);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN + 4, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN + 1, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_input_crossing_page(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    /* 24 bytes from 16 before the page end: crosses */
    put_flush_space(vm, IN + HV_PAGE_SIZE - 16);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN + HV_PAGE_SIZE - 16, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_flushes, 0);
    /* ending exactly at the page end is fine */
    put_flush_space(vm, IN + HV_PAGE_SIZE - 24);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN + HV_PAGE_SIZE - 24, 0),
                     HV_STATUS_SUCCESS);
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

static void test_rep_list_crossing_page(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t gpa = IN + HV_PAGE_SIZE - 24 - 16;   /* header + 2 elements fit, 3 do not */
    put_flush_space(vm, gpa);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(3), gpa, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(2), gpa, 0),
                     HV_STATUS_SUCCESS);
    fake_vm_free(vm);
}

static void test_input_not_ram(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t hole = fake_hole_gpa(vm);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, hole, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, PAGE(1u << 30), 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    /* the last page of the 64-bit GPA space: no wrap-around */
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0xFFFFFFFFFFFFF000ull, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0xFFFFFFFFFFFFFFE8ull, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_list_tail_not_ram_fails_before_any_flush(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    /* A hole starting inside the input page: header and first elements
     * are RAM, the list's last element is not. */
    put_flush_space(vm, IN);
    vm->host.hole_start = IN + 64;
    vm->host.hole_end = IN + HV_PAGE_SIZE;
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(8), IN, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_output_misaligned_or_not_ram(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_EXT_QUERY_CAPABILITIES, 0, OUT + 4),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_EXT_QUERY_CAPABILITIES, 0, fake_hole_gpa(vm)),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_EXT_QUERY_CAPABILITIES, 0, 0xFFFFFFFFFFFFFFF8ull),
                     HV_STATUS_INVALID_ALIGNMENT);
    fake_vm_free(vm);
}

static void test_unused_gpas_ignored(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    /* QueryCapabilities has no input, SignalEvent's slow form no output,
     * NotifyLongSpinWait reads nothing: those GPAs may be anything. */
    fake_write64(vm, OUT, 0x5555);
    assert_int_equal(status_of(vm, HVCALL_EXT_QUERY_CAPABILITIES, 0xFFFFFFFFFFFFFFFFull, OUT),
                     HV_STATUS_SUCCESS);
    assert_int_equal(fake_read64(vm, OUT), 0);
    assert_int_equal(status_of(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT, 3, 5), HV_STATUS_SUCCESS);
    assert_int_equal(hv_partition_register_connection(&vm->part, 9, HV_CONNECTION_EVENT), HV_OK);
    fake_write64(vm, IN, 9);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT, IN, 0xFFFFFFFFFFFFFFF1ull),
                     HV_STATUS_SUCCESS);
    fake_vm_free(vm);
}

/* ---------------------------------------------------- fast and XMM input */

static void test_fast_input_in_rdx_r8(void **s)
{
    (void)s;
    struct fake_host *h;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 4, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURES_ALL;
    /* No XMM ops at all: 16 bytes or less never needs them. */
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, true);
    fake_enable_hypercalls(vm, HC_PAGE);
    h = &vm->host;
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0xF3, 0x6), 0);
    assert_int_equal(h->nr_ipis, 1);
    assert_int_equal(h->ipis[0].vector, 0xF3);
    assert_int_equal(h->ipis[0].vps.bits[0], 0x6);
    fake_vm_free(vm);
}

static void test_xmm_input_flush(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    /* address_space in RDX, flags in R8, processor mask in XMM0 low */
    vm->host.xmm[0][0] = 0xC;
    vm->host.xmm[0][1] = 0xDEAD;      /* beyond the input: ignored */
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | FAST, 0x7000, 0), 0);
    assert_int_equal(vm->host.nr_flushes, 1);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0xC);
    assert_int_equal(vm->host.flushes[0].address_space, 0x7000);
    assert_true(vm->host.flushes[0].whole_tlb);
    fake_vm_free(vm);
}

static void test_xmm_input_list_elements(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    /* header: RDX, R8, XMM0.lo; elements: XMM0.hi, XMM1.lo, XMM1.hi */
    vm->host.xmm[0][0] = 0x1;
    vm->host.xmm[0][1] = 0x10000 | 2;
    vm->host.xmm[0][2] = 0x20000;
    vm->host.xmm[0][3] = 0x30000 | 0xFFF;
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | FAST | REPS(3), 0x7000, 0),
                     HV_STATUS_SUCCESS);
    struct fake_flush *f = &vm->host.flushes[0];
    assert_int_equal(f->nr_ranges, 3);
    assert_int_equal(f->ranges[0].gva, 0x10000);
    assert_int_equal(f->ranges[0].pages, 3);
    assert_int_equal(f->ranges[2].pages, 4096);
    fake_vm_free(vm);
}

static void test_xmm_input_without_feature_is_ud(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_with(HV_FEATURES_ALL & ~F(XMM_INPUT), 4);
    struct hv_hypercall_regs r = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | FAST, .input = 0, .output = 0,
        .result = 77, .mode = HV_CPU_MODE_LONG,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_INJECT_UD);
    assert_int_equal(r.result, 77);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_xmm_input_without_host_ops_is_ud(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 2, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURES_ALL;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, true);
    fake_enable_hypercalls(vm, HC_PAGE);
    struct hv_hypercall_regs r = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | FAST, .mode = HV_CPU_MODE_LONG,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_INJECT_UD);
    fake_vm_free(vm);
}

static void test_xmm_input_limit(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    /* Ex flush: 32 bytes fixed + banks. 10 banks = 112 bytes fits. */
    vm->host.xmm[0][0] = HV_VPSET_FORMAT_SPARSE_4K;
    vm->host.xmm[0][1] = 0x3FF;
    vm->host.xmm[0][2] = 0x3;
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | FAST | VARHEAD(10), 0x7000, 0),
                     HV_STATUS_SUCCESS);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x3);
    /* 11 banks = 120 bytes: too long for the registers */
    vm->host.xmm[0][1] = 0x7FF;
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | FAST | VARHEAD(11), 0x7000, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    /* a fast list whose elements overflow the block (mask in XMM0 low) */
    vm->host.xmm[0][0] = 0x1;
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | FAST | REPS(12), 0x7000, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | FAST | REPS(11), 0x7000, 0),
                     HV_STATUS_SUCCESS);
    assert_int_equal(vm->host.nr_flushes, 2);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------ XMM output */

static void test_fast_output_query_in_rdx(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    struct hv_hypercall_regs r = {
        .control = HVCALL_EXT_QUERY_CAPABILITIES | FAST, .input = 0xAAAA, .output = 0xBBBB,
        .mode = HV_CPU_MODE_LONG,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_COMPLETE);
    assert_int_equal(r.result, 0);
    /* no input: the output starts at RDX */
    assert_int_equal(r.output_in_gprs, 1);
    assert_int_equal(r.input, 0);
    assert_int_equal(r.output, 0xBBBB);
    fake_vm_free(vm);
}

static void test_fast_output_without_feature_is_ud(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_with(HV_FEATURES_ALL & ~F(XMM_OUTPUT), 2);
    struct hv_hypercall_regs r = {
        .control = HVCALL_EXT_QUERY_CAPABILITIES | FAST, .input = 0xAAAA, .mode = HV_CPU_MODE_LONG,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_INJECT_UD);
    assert_int_equal(r.input, 0xAAAA);
    assert_int_equal(r.output_in_gprs, 0);
    fake_vm_free(vm);
}

static void test_fast_output_only_in_long_mode(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    struct hv_hypercall_regs r = {
        .control = HVCALL_EXT_QUERY_CAPABILITIES | FAST, .mode = HV_CPU_MODE_PROTECTED,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_INJECT_UD);
    fake_vm_free(vm);
}

static void test_fast_output_layout(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    struct hc_call c;
    memset(&c, 0, sizeof(c));
    c.vp = &vm->vps[0];
    c.p = &vm->part;
    c.out[0] = 0x1122334455667788ull;
    /* gpr 0: RDX; -1: XMM qword xmm_qword */
    static const struct { uint32_t in; int gpr; uint32_t xmm_qword; } cases[] = {
        { 0, 0, 0 },      /* RDX */
        { 8, -1, 0 },     /* 8 bytes round up to the RDX:R8 chunk: XMM0 low */
        { 16, -1, 0 },    /* RDX+R8 used: XMM0 low */
        { 20, -1, 2 },    /* TLFS example: 20 bytes in, 12 ignored, XMM1 */
        { 32, -1, 2 },
        { 96, -1, 10 },   /* last register: XMM5 low */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hv_hypercall_regs r = { .input = 1, .output = 2 };
        memset(vm->host.xmm[0], 0, sizeof(vm->host.xmm[0]));
        hc_place_fast_output(&c, &r, cases[i].in, 8);
        if (cases[i].gpr == 0) {
            assert_int_equal(r.output_in_gprs, 1);
            assert_int_equal(r.input, c.out[0]);
            assert_int_equal(r.output, 2);
            for (uint32_t q = 0; q < 12; q++)
                assert_int_equal(vm->host.xmm[0][q], 0);
        } else {
            assert_int_equal(r.output_in_gprs, 0);
            assert_int_equal(r.input, 1);
            assert_int_equal(r.output, 2);
            for (uint32_t q = 0; q < 12; q++)
                assert_int_equal(vm->host.xmm[0][q], q == cases[i].xmm_qword ? c.out[0] : 0);
        }
    }
    fake_vm_free(vm);
}

/* -------------------------------------------------- rep and continuation */

static void put_list(struct fake_vm *vm, uint32_t n)
{
    uint64_t hdr[3] = { 0x5000, 0, 0x3 };
    fake_write(vm, IN, hdr, sizeof(hdr));
    for (uint32_t i = 0; i < n; i++)
        fake_write64(vm, IN + 24 + 8 * i, 0x100000ull * (i + 1));
}

static void test_rep_preempt_continue_and_finish(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 5);
    vm->host.preempt_at = 2;          /* yes on the second question */
    struct hv_hypercall_regs r = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(5), .input = IN,
        .mode = HV_CPU_MODE_LONG,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_CONTINUE);
    /* two elements done: rep start advanced, partial result SUCCESS/2 */
    assert_int_equal((r.control & HV_HC_REP_START_MASK) >> HV_HC_REP_START_SHIFT, 2);
    assert_int_equal(r.control & ~HV_HC_REP_START_MASK, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(5));
    assert_int_equal(STATUS(r.result), 0);
    assert_int_equal(REPS_DONE(r.result), 2);
    assert_int_equal(vm->host.nr_flushes, 1);
    assert_int_equal(vm->host.flushes[0].nr_ranges, 2);
    assert_int_equal(vm->host.flushes[0].ranges[1].gva, 0x200000);
    /* continuation counts no call yet */
    assert_int_equal(fake_stats(vm).hypercalls[HV_HC_STAT_FLUSH_LIST], 0);

    assert_int_equal(call_regs(vm, &r), HV_HC_COMPLETE);
    assert_int_equal(r.result, REPS(5));
    assert_int_equal(vm->host.nr_flushes, 2);
    assert_int_equal(vm->host.flushes[1].nr_ranges, 3);
    assert_int_equal(vm->host.flushes[1].ranges[0].gva, 0x300000);
    assert_int_equal(fake_stats(vm).hypercalls[HV_HC_STAT_FLUSH_LIST], 1);
    fake_vm_free(vm);
}

static void test_rep_never_preempts_after_last(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 1);
    vm->host.preempt_at = 1;
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(1), IN, 0), REPS(1));
    assert_int_equal(vm->host.preempt_calls, 0);
    fake_vm_free(vm);
}

static void test_rep_preempt_every_element(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 4);
    struct hv_hypercall_regs r = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(4), .input = IN,
        .mode = HV_CPU_MODE_LONG,
    };
    enum hv_hypercall_outcome o;
    unsigned runs = 0;
    do {
        vm->host.preempt_calls = 0;
        vm->host.preempt_at = 1;
        o = call_regs(vm, &r);
        runs++;
    } while (o == HV_HC_CONTINUE && runs < 10);
    assert_int_equal(o, HV_HC_COMPLETE);
    assert_int_equal(runs, 4);                /* one element per run */
    assert_int_equal(vm->host.nr_flushes, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(vm->host.flushes[i].nr_ranges, 1);
        assert_int_equal(vm->host.flushes[i].ranges[0].gva, 0x100000ull * (i + 1));
    }
    assert_int_equal(r.result, REPS(4));
    fake_vm_free(vm);
}

static void test_rep_guest_reissue_loop(void **s)
{
    (void)s;
    /* A host that hands the partial result back to the guest: Linux then
     * re-issues with rep start = reps completed until all are done. */
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 6);
    uint64_t control = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(6);
    uint32_t done = 0, calls = 0;
    while (done < 6 && calls < 10) {
        uint64_t result;
        vm->host.preempt_calls = 0;
        vm->host.preempt_at = 2;
        fake_hypercall(vm, 0, hc_control_with_rep_start(control, done), IN, 0, &result);
        assert_int_equal(STATUS(result), 0);
        assert_true(REPS_DONE(result) > done);
        done = REPS_DONE(result);
        calls++;
    }
    assert_int_equal(done, 6);
    assert_int_equal(calls, 3);
    fake_vm_free(vm);
}

static void test_rep_start_skips_done_elements(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 5);
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(5) | START(3), IN, 0), REPS(5));
    assert_int_equal(vm->host.flushes[0].nr_ranges, 2);
    assert_int_equal(vm->host.flushes[0].ranges[0].gva, 0x400000);
    fake_vm_free(vm);
}

static void test_rep_without_should_preempt_op(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    vm->ops.should_preempt = NULL;
    put_list(vm, 5);
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(5), IN, 0), REPS(5));
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

static void test_rep_error_reports_rep_start(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t hdr[3] = { 0x5000, 1ull << 9, 0x3 };    /* reserved flag */
    fake_write(vm, IN, hdr, sizeof(hdr));
    uint64_t r = call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(4) | START(2), IN, 0);
    assert_int_equal(STATUS(r), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(REPS_DONE(r), 2);
    /* form errors report nothing done: the start index is not trusted */
    r = call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(2) | START(3), IN, 0);
    assert_int_equal(r, HV_STATUS_INVALID_HYPERCALL_INPUT);
    fake_vm_free(vm);
}


static void test_rep_element_read_failure_reports_progress(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 5);
    /* element 2 (at IN + 40) is not RAM; the list's last element is */
    vm->host.hole_start = IN + 40;
    vm->host.hole_end = IN + 48;
    uint64_t r = call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(5), IN, 0);
    assert_int_equal(STATUS(r), HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(REPS_DONE(r), 2);
    /* the elements before it were done, and flushed */
    assert_int_equal(vm->host.nr_flushes, 1);
    assert_int_equal(vm->host.flushes[0].nr_ranges, 2);
    assert_int_equal(vm->host.flushes[0].ranges[1].gva, 0x200000);
    fake_vm_free(vm);
}

static void test_read_reps_bounds(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    bool never;
    struct hc_call c;
    uint64_t buf[4];
    memset(&c, 0, sizeof(c));
    c.vp = &vm->vps[0];
    c.p = &vm->part;
    c.desc = hc_lookup(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, &never);
    c.ctl.rep_count = 3;
    c.ctl.fast = true;
    c.hdr_qwords = 3;
    c.fast_in[3] = 11;
    c.fast_in[5] = 33;
    assert_true(hc_read_reps(&c, 0, 3, buf));
    assert_int_equal(buf[0], 11);
    assert_int_equal(buf[2], 33);
    assert_false(hc_read_reps(&c, 2, 2, buf));
    assert_false(hc_read_reps(&c, 4, 0, buf));
    assert_false(hc_read_reps(&c, 0xFFFFFFFFu, 2, buf));
    assert_true(hc_read_reps(&c, 3, 0, buf));
    fake_vm_free(vm);
}

static void test_fast_small_input_needs_no_xmm_feature(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_with(HV_FEATURES_ALL & ~(F(XMM_INPUT) | F(XMM_OUTPUT)), 2);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x30, 1), 0);
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, 0x3000, 0), 0);
    assert_int_equal(vm->host.nr_ipis, 1);
    fake_vm_free(vm);
}

static void test_fast_in_protected_mode(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    struct hv_hypercall_regs r = {
        .control = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, .input = 0x31, .output = 3,
        .mode = HV_CPU_MODE_PROTECTED,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_COMPLETE);
    assert_int_equal(r.result, 0);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0x3);
    /* XMM input is not limited to 64-bit mode */
    vm->host.xmm[0][0] = 0x1;
    struct hv_hypercall_regs f = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | FAST, .input = 0x4000,
        .mode = HV_CPU_MODE_PROTECTED,
    };
    assert_int_equal(call_regs(vm, &f), HV_HC_COMPLETE);
    assert_int_equal(f.result, 0);
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

static void test_continue_is_traced_not_counted(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    put_list(vm, 3);
    vm->host.preempt_at = 1;
    struct hv_hypercall_regs r = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(3), .input = IN,
        .mode = HV_CPU_MODE_LONG,
    };
    uint32_t traces = vm->host.traces;
    assert_int_equal(call_regs(vm, &r), HV_HC_CONTINUE);
    assert_int_equal(vm->host.traces, traces + 1);
    assert_int_equal(vm->host.last_trace[3], REPS(1));
    assert_int_equal(fake_stats(vm).hypercall_errors, 0);
    assert_int_equal(fake_stats(vm).hypercalls[HV_HC_STAT_FLUSH_LIST], 0);
    fake_vm_free(vm);
}

static void test_ud_counted_under_its_call(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_with(HV_FEATURES_ALL & ~F(XMM_INPUT), 2);
    struct hv_hypercall_regs r = {
        .control = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | FAST, .mode = HV_CPU_MODE_LONG,
    };
    assert_int_equal(call_regs(vm, &r), HV_HC_INJECT_UD);
    assert_int_equal(fake_stats(vm).hypercalls[HV_HC_STAT_FLUSH_SPACE], 1);
    assert_int_equal(fake_stats(vm).hypercall_errors, 1);
    fake_vm_free(vm);
}

static void test_calls_from_every_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    for (uint32_t vp = 0; vp < 4; vp++) {
        uint64_t r;
        assert_int_equal(fake_hypercall(vm, vp, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST, 1, 0, &r),
                         HV_HC_COMPLETE);
        assert_int_equal(r, 0);
        assert_int_equal(vm->host.yields[vp], 1);
    }
    fake_vm_free(vm);
}

/* ------------------------------------------------------- result and stats */

static void test_result_layout_simple_success(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(call(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x30, 1), 0);
    assert_int_equal(call(vm, 0x7777, 0, 0), HV_STATUS_INVALID_HYPERCALL_CODE);
    fake_vm_free(vm);
}

static void test_stats_and_trace(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    call(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x30, 1);
    call(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x3, 1);   /* bad vector */
    call(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST, 100, 0);
    call(vm, 0x7777, 0, 0);
    call(vm, HVCALL_GET_PARTITION_ID, 0, 0);
    struct hv_stats sum = fake_stats(vm), *st = &sum;
    assert_int_equal(st->hypercalls[HV_HC_STAT_IPI], 2);
    assert_int_equal(st->hypercalls[HV_HC_STAT_SPIN_WAIT], 1);
    assert_int_equal(st->hypercalls[HV_HC_STAT_OTHER], 2);
    assert_int_equal(st->hypercall_errors, 3);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_HYPERCALL);
    assert_int_equal(vm->host.last_trace[0], HVCALL_GET_PARTITION_ID);
    assert_int_equal(vm->host.last_trace[3], HV_STATUS_ACCESS_DENIED);
    call(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST, 123, 456);
    assert_int_equal(vm->host.last_trace[1], 123);
    assert_int_equal(vm->host.last_trace[2], 456);
    assert_int_equal(vm->host.last_trace[3], 0);
    fake_vm_free(vm);
}

static void test_decode_control(void **s)
{
    (void)s;
    struct hc_control c;
    hc_decode_control(0x0ABC0123000A0014ull | HV_HC_FAST | VARHEAD(0x3FF), &c);
    assert_int_equal(c.code, 0x0014);
    assert_true(c.fast);
    assert_int_equal(c.varhead, 0x3FF);
    assert_int_equal(c.rep_count, 0x123);
    assert_int_equal(c.rep_start, 0xABC);
    assert_true(c.reserved_set == false);
    hc_decode_control(HV_HC_RESERVED_MASK, &c);
    assert_true(c.reserved_set);
    assert_int_equal(c.code | c.varhead | c.rep_count | c.rep_start, 0);
    assert_false(c.fast);
    assert_int_equal(hc_control_with_rep_start(~0ull, 5),
                     (~0ull & ~HV_HC_REP_START_MASK) | START(5));
}

static void test_lookup_table(void **s)
{
    (void)s;
    bool never;
    const struct hc_desc *d = hc_lookup(HVCALL_POST_MESSAGE, &never);
    assert_non_null(d);
    assert_false(never);
    assert_int_equal(d->in_fixed, HV_POST_MESSAGE_INPUT_SIZE);
    assert_false(d->flags & HC_FAST_OK);
    assert_null(hc_lookup(HVCALL_GET_PARTITION_ID, &never));
    assert_true(never);
    assert_null(hc_lookup(0x1234, &never));
    assert_false(never);
    /* every descriptor is gated and sized in whole qwords */
    for (uint32_t code = 0; code <= 0xFFFF; code++) {
        d = hc_lookup((uint16_t)code, &never);
        if (!d)
            continue;
        assert_false(never);
        assert_int_equal(d->code, code);
        assert_int_not_equal(d->gates, 0);
        assert_int_equal(d->in_fixed % 8, 0);
        assert_int_equal(d->out_fixed % 8, 0);
        assert_true(d->out_fixed / 8 <= HC_OUTPUT_MAX_QWORDS);
        assert_true(d->in_fixed / 8 + ((d->flags & HC_VARHEAD) ? HC_MAX_VARHEAD_QWORDS : 0) <=
                    HC_HEADER_MAX_QWORDS);
        assert_int_equal(!!(d->flags & HC_REP), d->rep_in != 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ud_real_mode),
        cmocka_unit_test(test_ud_cpl_above_zero),
        cmocka_unit_test(test_ud_unknown_mode),
        cmocka_unit_test(test_ud_hypercall_page_disabled),
        cmocka_unit_test(test_ud_after_guest_os_id_cleared),
        cmocka_unit_test(test_ud_without_hypercall_feature),
        cmocka_unit_test(test_ud_counted_and_traced),
        cmocka_unit_test(test_protected_mode_calls_work),
        cmocka_unit_test(test_reserved_control_bits),
        cmocka_unit_test(test_access_denied_before_reserved_bits),
        cmocka_unit_test(test_reserved_bits_before_unknown_code),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_unreported_extended_calls),
        cmocka_unit_test(test_never_granted_codes),
        cmocka_unit_test(test_every_gate),
        cmocka_unit_test(test_no_features_denies_everything_known),
        cmocka_unit_test(test_rep_fields_on_simple_call),
        cmocka_unit_test(test_rep_call_needs_count),
        cmocka_unit_test(test_rep_start_must_be_below_count),
        cmocka_unit_test(test_varhead_on_fixed_call),
        cmocka_unit_test(test_varhead_longer_than_any_set),
        cmocka_unit_test(test_fast_on_memory_only_call),
        cmocka_unit_test(test_input_misaligned),
        cmocka_unit_test(test_input_crossing_page),
        cmocka_unit_test(test_rep_list_crossing_page),
        cmocka_unit_test(test_input_not_ram),
        cmocka_unit_test(test_list_tail_not_ram_fails_before_any_flush),
        cmocka_unit_test(test_output_misaligned_or_not_ram),
        cmocka_unit_test(test_unused_gpas_ignored),
        cmocka_unit_test(test_fast_input_in_rdx_r8),
        cmocka_unit_test(test_xmm_input_flush),
        cmocka_unit_test(test_xmm_input_list_elements),
        cmocka_unit_test(test_xmm_input_without_feature_is_ud),
        cmocka_unit_test(test_xmm_input_without_host_ops_is_ud),
        cmocka_unit_test(test_xmm_input_limit),
        cmocka_unit_test(test_fast_output_query_in_rdx),
        cmocka_unit_test(test_fast_output_without_feature_is_ud),
        cmocka_unit_test(test_fast_output_only_in_long_mode),
        cmocka_unit_test(test_fast_output_layout),
        cmocka_unit_test(test_rep_preempt_continue_and_finish),
        cmocka_unit_test(test_rep_never_preempts_after_last),
        cmocka_unit_test(test_rep_preempt_every_element),
        cmocka_unit_test(test_rep_guest_reissue_loop),
        cmocka_unit_test(test_rep_start_skips_done_elements),
        cmocka_unit_test(test_rep_without_should_preempt_op),
        cmocka_unit_test(test_rep_error_reports_rep_start),
        cmocka_unit_test(test_rep_element_read_failure_reports_progress),
        cmocka_unit_test(test_read_reps_bounds),
        cmocka_unit_test(test_fast_small_input_needs_no_xmm_feature),
        cmocka_unit_test(test_fast_in_protected_mode),
        cmocka_unit_test(test_continue_is_traced_not_counted),
        cmocka_unit_test(test_ud_counted_under_its_call),
        cmocka_unit_test(test_calls_from_every_vp),
        cmocka_unit_test(test_result_layout_simple_success),
        cmocka_unit_test(test_stats_and_trace),
        cmocka_unit_test(test_decode_control),
        cmocka_unit_test(test_lookup_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
