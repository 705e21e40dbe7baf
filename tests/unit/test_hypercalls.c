/* SPDX-License-Identifier: MIT */
/*
 * Each hypercall's own semantics and statuses: address-space switch, TLB
 * flushes (plain and Ex), cluster IPIs (plain and Ex), PostMessage,
 * SignalEvent and the connection table, NotifyLongSpinWait,
 * ExtCallQueryCapabilities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define HC_PAGE PAGE(1)
#define IN PAGE(16)
#define OUT PAGE(17)

#define FAST HV_HC_FAST
#define REPS(n) ((uint64_t)(n) << HV_HC_REP_COUNT_SHIFT)
#define VARHEAD(n) ((uint64_t)(n) << HV_HC_VARHEAD_SHIFT)
#define STATUS(r) ((uint16_t)((r) & HV_HC_RESULT_STATUS_MASK))

#define FL_ALL_VPS HV_FLUSH_ALL_PROCESSORS
#define FL_ALL_AS HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES
#define FL_NON_GLOBAL HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY

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

static uint64_t call(struct fake_vm *vm, uint64_t control, uint64_t in, uint64_t out)
{
    uint64_t r;
    assert_int_equal(fake_hypercall(vm, 0, control, in, out, &r), HV_HC_COMPLETE);
    return r;
}

static uint16_t status_of(struct fake_vm *vm, uint64_t control, uint64_t in, uint64_t out)
{
    return STATUS(call(vm, control, in, out));
}

/* Write qwords at IN and make a slow call on them. */
static uint16_t slow(struct fake_vm *vm, uint64_t control, const uint64_t *q, size_t n)
{
    fake_write(vm, IN, q, n * sizeof(uint64_t));
    return status_of(vm, control, IN, 0);
}

static unsigned members(const struct hv_vp_set *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < HV_VPSET_WORDS; i++)
        n += (unsigned)__builtin_popcountll(s->bits[i]);
    return n;
}

/* ======================================================= address space */

static void test_switch_as_fast_and_slow(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, 0x1234000, 0), 0);
    assert_int_equal(vm->host.cr3[0], 0x1234000);
    uint64_t q = 0x99000;
    assert_int_equal(slow(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, &q, 1), 0);
    assert_int_equal(vm->host.cr3[0], 0x99000);
    fake_vm_free(vm);
}

static void test_switch_as_reserved_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, 1ull << 52, 0),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, 1ull << 62, 0),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.cr3[0], 0);
    /* bit 63 is MOV CR3's PCID no-flush hint, not reserved */
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, (1ull << 63) | 0x5000, 0),
                     HV_STATUS_SUCCESS);
    fake_vm_free(vm);
}

static void test_switch_as_host_refuses(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    vm->host.fail_switch_as = true;
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, 0x1000, 0),
                     HV_STATUS_INVALID_PARAMETER);
    fake_vm_free(vm);
}

/* ============================================================= flushes */

static void test_flush_space_mask(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    uint64_t q[3] = { 0x7000, 0, 0x5 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    struct fake_flush *f = &vm->host.flushes[0];
    assert_int_equal(vm->host.nr_flushes, 1);
    assert_int_equal(f->caller, 0);
    assert_int_equal(f->vps.bits[0], 0x5);
    assert_true(f->whole_tlb);
    assert_false(f->all_address_spaces);
    assert_false(f->non_global_only);
    assert_int_equal(f->address_space, 0x7000);
    fake_vm_free(vm);
}

static void test_flush_all_processors_ignores_mask(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(3);
    uint64_t q[3] = { 0x7000, FL_ALL_VPS, 0 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x7);
    q[2] = 0x1;
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    assert_int_equal(vm->host.flushes[1].vps.bits[0], 0x7);
    fake_vm_free(vm);
}

static void test_flush_empty_mask_is_invalid(void **s)
{
    (void)s;
    /* MSDN TLFS: processor mask all zero without "flush all processors" */
    struct fake_vm *vm = vm_all(3);
    uint64_t q[4] = { 0x7000, 0, 0, 0x1000 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(1), q, 4),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_flush_mask_beyond_nr_vps(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[3] = { 0x7000, 0, 0xFFFFFFFFFFFFFFFCull };  /* VPs 2-63 only */
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    assert_int_equal(vm->host.nr_flushes, 0);
    q[2] = 0x8000000000000002ull;
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x2);
    assert_int_equal(members(&vm->host.flushes[0].vps), 1);
    fake_vm_free(vm);
}

static void test_flush_flags(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[3] = { 0x7000, FL_ALL_AS | FL_NON_GLOBAL, 1 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    assert_true(vm->host.flushes[0].all_address_spaces);
    assert_true(vm->host.flushes[0].non_global_only);
    assert_int_equal(vm->host.flushes[0].address_space, 0);   /* ignored */
    fake_vm_free(vm);
}

static void test_flush_reserved_flags(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    static const uint64_t bad[] = { HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, 1ull << 4, 1ull << 31,
                                    1ull << 63 };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t q[4] = { 0x7000, bad[i], 1, 0x1000 };
        assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3),
                         HV_STATUS_INVALID_PARAMETER);
        assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(1), q, 4),
                         HV_STATUS_INVALID_PARAMETER);
    }
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_flush_list_non_global_invalid(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[4] = { 0x7000, FL_NON_GLOBAL, 1, 0x1000 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(1), q, 4),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_flush_address_space_reserved_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[3] = { 1ull << 55, 0, 1 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), HV_STATUS_INVALID_PARAMETER);
    /* ignored when all address spaces are flushed */
    q[1] = FL_ALL_AS;
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, q, 3), 0);
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

static void test_flush_list_ranges(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[6] = { 0x7000, 0, 1, 0x400000, 0x800000 | 0x1F, 0xFFFFFFFFFFFFF000ull | 0xFFF };
    fake_write(vm, IN, q, sizeof(q));
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(3), IN, 0), REPS(3));
    struct fake_flush *f = &vm->host.flushes[0];
    assert_false(f->whole_tlb);
    assert_int_equal(f->nr_ranges, 3);
    assert_int_equal(f->ranges[0].gva, 0x400000);
    assert_int_equal(f->ranges[0].pages, 1);
    assert_int_equal(f->ranges[1].gva, 0x800000);
    assert_int_equal(f->ranges[1].pages, 32);
    assert_int_equal(f->ranges[2].gva, 0xFFFFFFFFFFFFF000ull);
    assert_int_equal(f->ranges[2].pages, 4096);
    fake_vm_free(vm);
}

static void test_flush_list_long_becomes_whole_tlb(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[3 + 40] = { 0x7000, 0, 1 };
    for (int i = 0; i < 40; i++)
        q[3 + i] = 0x1000ull * (uint64_t)i;
    fake_write(vm, IN, q, sizeof(q));
    /* 16 ranges fit */
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(16), IN, 0), REPS(16));
    assert_false(vm->host.flushes[0].whole_tlb);
    assert_int_equal(vm->host.flushes[0].nr_ranges, 16);
    /* 17 or more: one whole-TLB flush of that address space, all reps done */
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(40), IN, 0), REPS(40));
    assert_int_equal(vm->host.nr_flushes, 2);
    assert_true(vm->host.flushes[1].whole_tlb);
    assert_int_equal(vm->host.flushes[1].address_space, 0x7000);
    assert_false(vm->host.flushes[1].all_address_spaces);
    fake_vm_free(vm);
}

static void test_flush_list_no_vps_completes(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[5] = { 0x7000, 0, 1ull << 40, 0x1000, 0x2000 };
    fake_write(vm, IN, q, sizeof(q));
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(2), IN, 0), REPS(2));
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

/* Ex: {as, flags, format, valid_bank_mask} + banks */
static void test_flush_ex_sparse(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[6] = { 0x7000, 0, HV_VPSET_FORMAT_SPARSE_4K, 0x1, 0x81 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(1), q, 5), 0);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x81);
    assert_true(vm->host.flushes[0].whole_tlb);
    fake_vm_free(vm);
}

static void test_flush_ex_bank_count_mismatch(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[6] = { 0x7000, 0, HV_VPSET_FORMAT_SPARSE_4K, 0x3, 0x1, 0x1 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(1), q, 6),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(3), q, 6),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(2), q, 6), 0);
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

static void test_flush_ex_unknown_format(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[4] = { 0x7000, 0, 2, 0 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, q, 4), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

static void test_flush_ex_all_format(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(5);
    /* what Linux sends for "all present CPUs": format ALL, no banks */
    uint64_t q[4] = { 0, FL_ALL_AS, HV_VPSET_FORMAT_ALL, 0 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, q, 4), 0);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x1F);
    assert_true(vm->host.flushes[0].all_address_spaces);
    fake_vm_free(vm);
}

static void test_flush_ex_all_processors_flag(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(5);
    uint64_t q[5] = { 0x7000, FL_ALL_VPS, HV_VPSET_FORMAT_SPARSE_4K, 0x1, 0x1 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(1), q, 5), 0);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x1F);
    fake_vm_free(vm);
}

static void test_flush_ex_empty_set_no_call(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(5);
    uint64_t q[5] = { 0x7000, 0, HV_VPSET_FORMAT_SPARSE_4K, 0x1, 0 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(1), q, 5), 0);
    uint64_t none[4] = { 0x7000, 0, HV_VPSET_FORMAT_SPARSE_4K, 0 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, none, 4), 0);
    assert_int_equal(vm->host.nr_flushes, 0);
    fake_vm_free(vm);
}

/* XSA-475 regression through the hypercall: a 64-bank set naming VPs up to
 * 4095 on a 2-VP partition reaches the host as VPs 0-1 only. */
static void test_flush_ex_xsa475_banks_beyond_partition(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[4 + 64];
    q[0] = 0x7000;
    q[1] = 0;
    q[2] = HV_VPSET_FORMAT_SPARSE_4K;
    q[3] = ~0ull;
    for (int i = 0; i < 64; i++)
        q[4 + i] = ~0ull;
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(64), q, 68), 0);
    assert_int_equal(vm->host.nr_flushes, 1);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x3);
    assert_int_equal(members(&vm->host.flushes[0].vps), 2);
    /* only banks beyond the partition: nothing reaches the host */
    q[3] = 1ull << 63;
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(1), q, 5), 0);
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

static void test_flush_list_ex_elements_after_banks(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[8] = { 0x7000, 0, HV_VPSET_FORMAT_SPARSE_4K, 0x5, 0x2, 0x0, 0xA000 | 1, 0xC000 };
    fake_write(vm, IN, q, sizeof(q));
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | VARHEAD(2) | REPS(2), IN, 0),
                     REPS(2));
    struct fake_flush *f = &vm->host.flushes[0];
    assert_int_equal(f->vps.bits[0], 0x2);
    assert_int_equal(f->nr_ranges, 2);
    assert_int_equal(f->ranges[0].gva, 0xA000);
    assert_int_equal(f->ranges[0].pages, 2);
    assert_int_equal(f->ranges[1].gva, 0xC000);
    fake_vm_free(vm);
}

static void test_flush_list_ex_non_global_invalid(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[5] = { 0x7000, FL_NON_GLOBAL, HV_VPSET_FORMAT_ALL, 0, 0x1000 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | REPS(1), q, 5),
                     HV_STATUS_INVALID_PARAMETER);
    fake_vm_free(vm);
}

/* ================================================================ IPIs */

static void test_ipi_fast(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0xEF, 0xA), 0);
    assert_int_equal(vm->host.nr_ipis, 1);
    assert_int_equal(vm->host.ipis[0].vector, 0xEF);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0xA);
    fake_vm_free(vm);
}

static void test_ipi_slow(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    uint64_t q[2] = { 0x31, 0x1 };
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, q, 2), 0);
    assert_int_equal(vm->host.ipis[0].vector, 0x31);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0x1);
    fake_vm_free(vm);
}

static void test_ipi_vector_range(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    static const uint64_t bad[] = { 0, 0x0F, 0x100, 0xFFFFFFFF };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, bad[i], 1),
                         HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_ipis, 0);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x10, 1), 0);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0xFF, 1), 0);
    assert_int_equal(vm->host.nr_ipis, 2);
    fake_vm_free(vm);
}

static void test_ipi_target_vtl(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    /* VTL 0 named explicitly is fine; padding bytes are ignored */
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x10ull << 32 | 0x40, 1), 0);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST,
                               0xFFFFFF00ull << 32 | 0x40, 1), 0);
    /* another VTL, or UseTargetVtl clear with a VTL number, or reserved bits */
    static const uint64_t bad[] = { 0x11, 0x01, 0x20, 0x80 };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST,
                                   bad[i] << 32 | 0x40, 1), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_ipis, 2);
    fake_vm_free(vm);
}

static void test_ipi_drops_absent_vps(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(3);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x40, ~0ull), 0);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0x7);
    assert_int_equal(members(&vm->host.ipis[0].vps), 3);
    /* nobody left: success, nothing sent */
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x40, 1ull << 3), 0);
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | FAST, 0x40, 0), 0);
    assert_int_equal(vm->host.nr_ipis, 1);
    fake_vm_free(vm);
}

static void test_ipi_ex_sparse(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[4] = { 0x50, HV_VPSET_FORMAT_SPARSE_4K, 0x1, 0xC0 };
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(1), q, 4), 0);
    assert_int_equal(vm->host.ipis[0].vector, 0x50);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0xC0);
    fake_vm_free(vm);
}

static void test_ipi_ex_all(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(6);
    uint64_t q[3] = { 0x50, HV_VPSET_FORMAT_ALL, 0 };
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, q, 3), 0);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0x3F);
    fake_vm_free(vm);
}

static void test_ipi_ex_fast_xmm(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(6);
    /* vector in RDX, format in R8, mask and bank 0 in XMM0 */
    vm->host.xmm[0][0] = 0x1;
    vm->host.xmm[0][1] = 0x30;
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | FAST | VARHEAD(1), 0x60,
                               HV_VPSET_FORMAT_SPARSE_4K), 0);
    assert_int_equal(vm->host.ipis[0].vps.bits[0], 0x30);
    assert_int_equal(vm->host.ipis[0].vector, 0x60);
    fake_vm_free(vm);
}

static void test_ipi_ex_malformed(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    uint64_t q[5] = { 0x50, HV_VPSET_FORMAT_SPARSE_4K, 0x3, 0x1, 0x1 };
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(1), q, 5),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    q[1] = 5;
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(2), q, 5),
                     HV_STATUS_INVALID_PARAMETER);
    q[1] = HV_VPSET_FORMAT_SPARSE_4K;
    q[0] = 0x5;
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(2), q, 5),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_ipis, 0);
    fake_vm_free(vm);
}

static void test_ipi_ex_beyond_partition(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    uint64_t q[4] = { 0x50, HV_VPSET_FORMAT_SPARSE_4K, 1ull << 40, ~0ull };
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(1), q, 4), 0);
    assert_int_equal(vm->host.nr_ipis, 0);
    fake_vm_free(vm);
}

/* ============================================================ messaging */

static void put_message(struct fake_vm *vm, uint64_t gpa, uint32_t conn, uint32_t rsvd,
                        uint32_t type, uint32_t size)
{
    uint8_t buf[HV_POST_MESSAGE_INPUT_SIZE];
    memcpy(buf, &conn, 4);
    memcpy(buf + 4, &rsvd, 4);
    memcpy(buf + 8, &type, 4);
    memcpy(buf + 12, &size, 4);
    for (unsigned i = 16; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    fake_write(vm, gpa, buf, sizeof(buf));
}

static struct fake_vm *vm_messages(void)
{
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(hv_partition_register_connection(&vm->part, 4, HV_CONNECTION_MESSAGE), HV_OK);
    assert_int_equal(hv_partition_register_connection(&vm->part, 0x2001, HV_CONNECTION_EVENT), HV_OK);
    return vm;
}

static void test_post_message(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 4, 0, 1, 240);
    assert_int_equal(call(vm, HVCALL_POST_MESSAGE, IN, 0), 0);
    assert_int_equal(vm->host.nr_posts, 1);
    struct fake_post *p = &vm->host.posts[0];
    assert_int_equal(p->vp, 0);
    assert_int_equal(p->connection_id, 4);
    assert_int_equal(p->message_type, 1);
    assert_int_equal(p->payload_size, 240);
    assert_int_equal(p->payload[0], 16);
    assert_int_equal(p->payload[239], 255);
    fake_vm_free(vm);
}

static void test_post_message_sizes(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 4, 0, 0x7FFFFFFF, 0);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), 0);
    assert_int_equal(vm->host.posts[0].payload_size, 0);
    put_message(vm, IN, 4, 0, 1, 241);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PARAMETER);
    put_message(vm, IN, 4, 0, 1, 0xFFFFFFFF);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_posts, 1);
    fake_vm_free(vm);
}

static void test_post_message_type(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 4, 0, 0, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PARAMETER);
    put_message(vm, IN, 4, 0, HVMSG_TIMER_EXPIRED, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PARAMETER);
    put_message(vm, IN, 4, 0, 0x80000000u, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_posts, 0);
    fake_vm_free(vm);
}

static void test_post_message_reserved(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 4, 1, 1, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_posts, 0);
    fake_vm_free(vm);
}

static void test_post_message_connections(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 1, 0, 1, 8);         /* not registered */
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_CONNECTION_ID);
    put_message(vm, IN, 0x2001, 0, 1, 8);    /* an event connection */
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_PORT_ID);
    put_message(vm, IN, 0x01000004, 0, 1, 8); /* reserved id bits */
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_CONNECTION_ID);
    put_message(vm, IN, 0, 0, 1, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INVALID_CONNECTION_ID);
    assert_int_equal(vm->host.nr_posts, 0);
    fake_vm_free(vm);
}

static void test_post_message_host_status(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 4, 0, 1, 8);
    vm->host.post_status = HV_STATUS_INSUFFICIENT_BUFFERS;
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INSUFFICIENT_BUFFERS);
    vm->host.post_status = HV_STATUS_INSUFFICIENT_MEMORY;
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), HV_STATUS_INSUFFICIENT_MEMORY);
    assert_int_equal(fake_stats(vm).hypercall_errors, 2);
    vm->host.post_status = 0;
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), 0);
    fake_vm_free(vm);
}

static void test_post_message_placement(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    /* 256 bytes from 248 before the page end cross it */
    put_message(vm, IN + HV_PAGE_SIZE - 248, 4, 0, 1, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN + HV_PAGE_SIZE - 248, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    put_message(vm, IN + HV_PAGE_SIZE - 256, 4, 0, 1, 8);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN + HV_PAGE_SIZE - 256, 0), 0);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN + 4, 0), HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, fake_hole_gpa(vm), 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_posts, 1);
    fake_vm_free(vm);
}

static void test_signal_event_fast(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0x2001, 0), 0);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 2047ull << 32 | 0x2001, 0), 0);
    assert_int_equal(vm->host.nr_signals, 2);
    assert_int_equal(vm->host.signals[0].connection_id, 0x2001);
    assert_int_equal(vm->host.signals[0].flag, 0);
    assert_int_equal(vm->host.signals[1].flag, 2047);
    fake_vm_free(vm);
}

static void test_signal_event_slow(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    uint64_t q = 7ull << 32 | 0x2001;
    assert_int_equal(slow(vm, HVCALL_SIGNAL_EVENT, &q, 1), 0);
    assert_int_equal(vm->host.signals[0].flag, 7);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT, IN + 4, 0), HV_STATUS_INVALID_ALIGNMENT);
    fake_vm_free(vm);
}

static void test_signal_event_flag_and_reserved(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 2048ull << 32 | 0x2001, 0),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0xFFFFull << 32 | 0x2001, 0),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 1ull << 48 | 0x2001, 0),
                     HV_STATUS_INVALID_PARAMETER);
    /* parameters are judged before the id is looked up */
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 1ull << 63 | 0x77, 0),
                     HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(vm->host.nr_signals, 0);
    fake_vm_free(vm);
}

static void test_signal_event_connections(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0x2002, 0),
                     HV_STATUS_INVALID_CONNECTION_ID);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 4, 0), HV_STATUS_INVALID_PORT_ID);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0xFF002001, 0),
                     HV_STATUS_INVALID_CONNECTION_ID);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0, 0), HV_STATUS_INVALID_CONNECTION_ID);
    assert_int_equal(vm->host.nr_signals, 0);
    fake_vm_free(vm);
}

static void test_signal_event_host_status(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    vm->host.signal_status = HV_STATUS_INSUFFICIENT_BUFFERS;
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0x2001, 0),
                     HV_STATUS_INSUFFICIENT_BUFFERS);
    fake_vm_free(vm);
}

static void test_signal_event_from_other_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    uint64_t r;
    assert_int_equal(fake_hypercall(vm, 1, HVCALL_SIGNAL_EVENT | FAST, 0x2001, 0, &r), HV_HC_COMPLETE);
    assert_int_equal(r, 0);
    assert_int_equal(vm->host.signals[0].vp, 1);
    fake_vm_free(vm);
}

/* ----------------------------------------------------- connection table */

static void test_register_rejects_bad_ids_and_kinds(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(1);
    assert_int_equal(hv_partition_register_connection(&vm->part, 0, HV_CONNECTION_EVENT), HV_ERR_INVAL);
    assert_int_equal(hv_partition_register_connection(&vm->part, 0x1000000, HV_CONNECTION_EVENT),
                     HV_ERR_INVAL);
    assert_int_equal(hv_partition_register_connection(&vm->part, 5, (enum hv_connection_kind)0),
                     HV_ERR_INVAL);
    assert_int_equal(hv_partition_register_connection(&vm->part, 5, (enum hv_connection_kind)4),
                     HV_ERR_INVAL);
    assert_int_equal(hv_partition_register_connection(&vm->part, 0xFFFFFF, HV_CONNECTION_EVENT), HV_OK);
    fake_vm_free(vm);
}

static void test_register_merges_kinds(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(1);
    assert_int_equal(hv_partition_register_connection(&vm->part, 9, HV_CONNECTION_EVENT), HV_OK);
    assert_int_equal(hv_partition_register_connection(&vm->part, 9, HV_CONNECTION_MESSAGE), HV_OK);
    assert_int_equal(hv_partition_register_connection(&vm->part, 9, HV_CONNECTION_MESSAGE), HV_OK);
    assert_int_equal(vm->part.nr_connections, 1);
    assert_int_equal(hv_partition_connection_kinds(&vm->part, 9),
                     HV_CONNECTION_EVENT | HV_CONNECTION_MESSAGE);
    put_message(vm, IN, 9, 0, 1, 4);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), 0);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 9, 0), 0);
    fake_vm_free(vm);
}

static void test_register_table_full(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(1);
    for (uint32_t i = 1; i <= HV_MAX_CONNECTIONS; i++)
        assert_int_equal(hv_partition_register_connection(&vm->part, i, HV_CONNECTION_EVENT), HV_OK);
    assert_int_equal(hv_partition_register_connection(&vm->part, 1000, HV_CONNECTION_EVENT),
                     HV_ERR_NOSPC);
    /* an existing id still takes another kind */
    assert_int_equal(hv_partition_register_connection(&vm->part, 7, HV_CONNECTION_MESSAGE), HV_OK);
    /* a freed entry is reused */
    hv_partition_unregister_connection(&vm->part, 30);
    assert_int_equal(hv_partition_register_connection(&vm->part, 1000, HV_CONNECTION_EVENT), HV_OK);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 1000, 0), 0);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 30, 0), HV_STATUS_INVALID_CONNECTION_ID);
    fake_vm_free(vm);
}

/* The open-addressed table against a plain array, through long random
 * register/unregister sequences at full load (collisions, wrap-around at
 * the table's end, backward-shift deletion). */
static void test_connection_table_model(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(1);
    enum { IDS = 3000 };
    static uint8_t model[IDS];
    uint32_t live = 0, seed = 12345;
    memset(model, 0, sizeof(model));
    for (unsigned step = 0; step < 200000; step++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t id = 1 + (seed >> 8) % (IDS - 1);
        if ((seed >> 4) & 1) {
            int rc = hv_partition_register_connection(&vm->part, id, HV_CONNECTION_EVENT);
            if (model[id]) {
                assert_int_equal(rc, HV_OK);
            } else if (live < HV_MAX_CONNECTIONS) {
                assert_int_equal(rc, HV_OK);
                model[id] = 1;
                live++;
            } else {
                assert_int_equal(rc, HV_ERR_NOSPC);
            }
        } else {
            hv_partition_unregister_connection(&vm->part, id);
            if (model[id]) {
                model[id] = 0;
                live--;
            }
        }
        if (step % 5000 == 0)
            for (uint32_t k = 1; k < IDS; k++)
                assert_int_equal(hv_partition_connection_kinds(&vm->part, k) != 0, model[k]);
    }
    assert_int_equal(vm->part.nr_connections, live);
    for (uint32_t k = 1; k < IDS; k++)
        assert_int_equal(hv_partition_connection_kinds(&vm->part, k) != 0, model[k]);
    assert_int_equal(hv_partition_connection_kinds(&vm->part, 0), 0);
    assert_int_equal(hv_partition_connection_kinds(&vm->part, 0x1000001), 0);
    fake_vm_free(vm);
}

static void test_unregister(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    hv_partition_unregister_connection(&vm->part, 0x2001);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0x2001, 0),
                     HV_STATUS_INVALID_CONNECTION_ID);
    /* unknown ids and id 0 are no-ops; other entries survive */
    hv_partition_unregister_connection(&vm->part, 0x2001);
    hv_partition_unregister_connection(&vm->part, 0);
    put_message(vm, IN, 4, 0, 1, 4);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), 0);
    fake_vm_free(vm);
}

static void test_connections_survive_reset(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    hv_partition_reset(&vm->part);
    fake_enable_hypercalls(vm, HC_PAGE);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 0x2001, 0), 0);
    fake_vm_free(vm);
}


static void test_flush_caller_is_calling_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    uint64_t q[3] = { 0x7000, 0, 0x1 };
    uint64_t r;
    fake_write(vm, IN, q, sizeof(q));
    assert_int_equal(fake_hypercall(vm, 2, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN, 0, &r),
                     HV_HC_COMPLETE);
    assert_int_equal(r, 0);
    assert_int_equal(vm->host.flushes[0].caller, 2);
    fake_vm_free(vm);
}

static void test_flush_list_rep_start_counts_room_from_start(void **s)
{
    (void)s;
    /* 40 elements from start 30: ten ranges fit, no whole-TLB fallback */
    struct fake_vm *vm = vm_all(2);
    uint64_t q[3 + 40] = { 0x7000, 0, 1 };
    for (int i = 0; i < 40; i++)
        q[3 + i] = 0x1000ull * (uint64_t)i;
    fake_write(vm, IN, q, sizeof(q));
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(40) | (30ull << 48), IN, 0),
                     REPS(40));
    assert_false(vm->host.flushes[0].whole_tlb);
    assert_int_equal(vm->host.flushes[0].nr_ranges, 10);
    assert_int_equal(vm->host.flushes[0].ranges[0].gva, 0x1E000);
    fake_vm_free(vm);
}

static void test_flush_list_ex_fast_xmm(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(8);
    /* RDX as, R8 flags, XMM0 format+mask, XMM1.lo bank, XMM1.hi and
     * XMM2.lo the two GVAs: 56 bytes */
    uint64_t x[12] = { HV_VPSET_FORMAT_SPARSE_4K, 0x1, 0x18, 0x3000, 0x5002 };
    memcpy(vm->host.xmm[0], x, sizeof(x));
    assert_int_equal(call(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | FAST | VARHEAD(1) | REPS(2),
                          0x9000, FL_ALL_AS), REPS(2));
    struct fake_flush *f = &vm->host.flushes[0];
    assert_int_equal(f->vps.bits[0], 0x18);
    assert_int_equal(f->nr_ranges, 2);
    assert_int_equal(f->ranges[1].gva, 0x5000);
    assert_int_equal(f->ranges[1].pages, 3);
    assert_true(f->all_address_spaces);
    fake_vm_free(vm);
}

static void test_flush_ex_all_format_with_banks(void **s)
{
    (void)s;
    /* the mask still sizes the header; format ALL then means everyone */
    struct fake_vm *vm = vm_all(3);
    uint64_t q[5] = { 0x7000, 0, HV_VPSET_FORMAT_ALL, 0x1, 0x1 };
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | VARHEAD(1), q, 5), 0);
    assert_int_equal(vm->host.flushes[0].vps.bits[0], 0x7);
    assert_int_equal(slow(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, q, 5),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    fake_vm_free(vm);
}

static void test_ipi_ex_varhead_without_mask(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    uint64_t q[4] = { 0x50, HV_VPSET_FORMAT_SPARSE_4K, 0, 0x1 };
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | VARHEAD(1), q, 4),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    q[2] = 0x1;
    assert_int_equal(slow(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, q, 4),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_ipis, 0);
    fake_vm_free(vm);
}

static void test_switch_as_protected_mode(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    struct hv_hypercall_regs r = {
        .control = HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE | FAST, .input = 0xABC000,
        .mode = HV_CPU_MODE_PROTECTED,
    };
    assert_int_equal(hv_hypercall(&vm->vps[1], &r), HV_HC_COMPLETE);
    assert_int_equal(r.result, 0);
    assert_int_equal(vm->host.cr3[1], 0xABC000);
    assert_int_equal(vm->host.cr3[0], 0);
    fake_vm_free(vm);
}

static void test_post_message_passes_only_payload_size(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    put_message(vm, IN, 4, 0, 0x42, 5);
    uint64_t r;
    assert_int_equal(fake_hypercall(vm, 1, HVCALL_POST_MESSAGE, IN, 0, &r), HV_HC_COMPLETE);
    assert_int_equal(r, 0);
    struct fake_post *p = &vm->host.posts[0];
    assert_int_equal(p->vp, 1);
    assert_int_equal(p->message_type, 0x42);
    assert_int_equal(p->payload_size, 5);
    static const uint8_t want[5] = { 16, 17, 18, 19, 20 };
    assert_memory_equal(p->payload, want, 5);
    fake_vm_free(vm);
}

static void test_post_message_largest_connection_id(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(1);
    assert_int_equal(hv_partition_register_connection(&vm->part, 0xFFFFFF, HV_CONNECTION_MESSAGE),
                     HV_OK);
    put_message(vm, IN, 0xFFFFFF, 0, 1, 1);
    assert_int_equal(status_of(vm, HVCALL_POST_MESSAGE, IN, 0), 0);
    assert_int_equal(vm->host.posts[0].connection_id, 0xFFFFFF);
    fake_vm_free(vm);
}

static void test_signal_event_slow_reserved(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    uint64_t q = 0x8000ull << 48 | 0x2001;
    assert_int_equal(slow(vm, HVCALL_SIGNAL_EVENT, &q, 1), HV_STATUS_INVALID_PARAMETER);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT, fake_hole_gpa(vm), 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_signals, 0);
    fake_vm_free(vm);
}


static void test_ipi_ex_fast_too_long(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(4);
    /* 24 bytes fixed + 12 banks = 120 bytes: beyond RDX, R8 and XMM0-5 */
    vm->host.xmm[0][0] = 0xFFF;
    assert_int_equal(status_of(vm, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | FAST | VARHEAD(12), 0x40,
                               HV_VPSET_FORMAT_SPARSE_4K), HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.nr_ipis, 0);
    fake_vm_free(vm);
}

static void test_signal_event_on_dual_connection(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_messages();
    assert_int_equal(hv_partition_register_connection(&vm->part, 4, HV_CONNECTION_EVENT), HV_OK);
    assert_int_equal(status_of(vm, HVCALL_SIGNAL_EVENT | FAST, 9ull << 32 | 4, 0), 0);
    assert_int_equal(vm->host.signals[0].connection_id, 4);
    assert_int_equal(vm->host.signals[0].flag, 9);
    fake_vm_free(vm);
}

static void test_spin_wait_form(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST | REPS(1), 1, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(status_of(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST | VARHEAD(1), 1, 0),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(vm->host.yields[0], 0);
    fake_vm_free(vm);
}

static void test_switch_as_slow_placement(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, IN + 2, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(status_of(vm, HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, fake_hole_gpa(vm), 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.cr3[0], 0);
    fake_vm_free(vm);
}

static void test_flush_space_ignores_rep_elements_it_has_none(void **s)
{
    (void)s;
    /* a Space flush is simple: its input is the 24-byte header only, so a
     * header ending at the page end is fine whatever follows */
    struct fake_vm *vm = vm_all(2);
    uint64_t gpa = fake_hole_gpa(vm) - 24;
    uint64_t q[3] = { 0x7000, 0, 1 };
    fake_write(vm, gpa, q, sizeof(q));
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, gpa, 0), 0);
    assert_int_equal(status_of(vm, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | REPS(1), gpa, 0),
                     HV_STATUS_INVALID_ALIGNMENT);
    assert_int_equal(vm->host.nr_flushes, 1);
    fake_vm_free(vm);
}

/* ======================================================= misc calls */

static void test_spin_wait_yields(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(call(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST, 2047, 0), 0);
    assert_int_equal(call(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT | FAST, ~0ull, ~0ull), 0);
    assert_int_equal(call(vm, HVCALL_NOTIFY_LONG_SPIN_WAIT, fake_hole_gpa(vm) + 3, 0), 0);
    assert_int_equal(vm->host.yields[0], 3);
    fake_vm_free(vm);
}

static void test_ext_query_capabilities_slow(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    fake_write64(vm, OUT, 0xFFFFFFFFFFFFFFFFull);
    fake_write64(vm, OUT + 8, 0x1234);
    assert_int_equal(call(vm, HVCALL_EXT_QUERY_CAPABILITIES, 0, OUT), 0);
    assert_int_equal(fake_read64(vm, OUT), 0);
    assert_int_equal(fake_read64(vm, OUT + 8), 0x1234);   /* only 8 bytes written */
    assert_int_equal(fake_stats(vm).hypercalls[HV_HC_STAT_EXT_QUERY], 1);
    fake_vm_free(vm);
}

static void test_ext_query_capabilities_rejects_rep_and_varhead(void **s)
{
    (void)s;
    struct fake_vm *vm = vm_all(2);
    assert_int_equal(status_of(vm, HVCALL_EXT_QUERY_CAPABILITIES | REPS(1), 0, OUT),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    assert_int_equal(status_of(vm, HVCALL_EXT_QUERY_CAPABILITIES | VARHEAD(1), 0, OUT),
                     HV_STATUS_INVALID_HYPERCALL_INPUT);
    fake_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_as_fast_and_slow),
        cmocka_unit_test(test_switch_as_reserved_bits),
        cmocka_unit_test(test_switch_as_host_refuses),
        cmocka_unit_test(test_flush_space_mask),
        cmocka_unit_test(test_flush_all_processors_ignores_mask),
        cmocka_unit_test(test_flush_empty_mask_is_invalid),
        cmocka_unit_test(test_flush_mask_beyond_nr_vps),
        cmocka_unit_test(test_flush_flags),
        cmocka_unit_test(test_flush_reserved_flags),
        cmocka_unit_test(test_flush_list_non_global_invalid),
        cmocka_unit_test(test_flush_address_space_reserved_bits),
        cmocka_unit_test(test_flush_list_ranges),
        cmocka_unit_test(test_flush_list_long_becomes_whole_tlb),
        cmocka_unit_test(test_flush_list_no_vps_completes),
        cmocka_unit_test(test_flush_ex_sparse),
        cmocka_unit_test(test_flush_ex_bank_count_mismatch),
        cmocka_unit_test(test_flush_ex_unknown_format),
        cmocka_unit_test(test_flush_ex_all_format),
        cmocka_unit_test(test_flush_ex_all_processors_flag),
        cmocka_unit_test(test_flush_ex_empty_set_no_call),
        cmocka_unit_test(test_flush_ex_xsa475_banks_beyond_partition),
        cmocka_unit_test(test_flush_list_ex_elements_after_banks),
        cmocka_unit_test(test_flush_list_ex_non_global_invalid),
        cmocka_unit_test(test_ipi_fast),
        cmocka_unit_test(test_ipi_slow),
        cmocka_unit_test(test_ipi_vector_range),
        cmocka_unit_test(test_ipi_target_vtl),
        cmocka_unit_test(test_ipi_drops_absent_vps),
        cmocka_unit_test(test_ipi_ex_sparse),
        cmocka_unit_test(test_ipi_ex_all),
        cmocka_unit_test(test_ipi_ex_fast_xmm),
        cmocka_unit_test(test_ipi_ex_malformed),
        cmocka_unit_test(test_ipi_ex_beyond_partition),
        cmocka_unit_test(test_post_message),
        cmocka_unit_test(test_post_message_sizes),
        cmocka_unit_test(test_post_message_type),
        cmocka_unit_test(test_post_message_reserved),
        cmocka_unit_test(test_post_message_connections),
        cmocka_unit_test(test_post_message_host_status),
        cmocka_unit_test(test_post_message_placement),
        cmocka_unit_test(test_signal_event_fast),
        cmocka_unit_test(test_signal_event_slow),
        cmocka_unit_test(test_signal_event_flag_and_reserved),
        cmocka_unit_test(test_signal_event_connections),
        cmocka_unit_test(test_signal_event_host_status),
        cmocka_unit_test(test_signal_event_from_other_vp),
        cmocka_unit_test(test_register_rejects_bad_ids_and_kinds),
        cmocka_unit_test(test_register_merges_kinds),
        cmocka_unit_test(test_register_table_full),
        cmocka_unit_test(test_connection_table_model),
        cmocka_unit_test(test_unregister),
        cmocka_unit_test(test_connections_survive_reset),
        cmocka_unit_test(test_flush_caller_is_calling_vp),
        cmocka_unit_test(test_flush_list_rep_start_counts_room_from_start),
        cmocka_unit_test(test_flush_list_ex_fast_xmm),
        cmocka_unit_test(test_flush_ex_all_format_with_banks),
        cmocka_unit_test(test_ipi_ex_varhead_without_mask),
        cmocka_unit_test(test_switch_as_protected_mode),
        cmocka_unit_test(test_post_message_passes_only_payload_size),
        cmocka_unit_test(test_post_message_largest_connection_id),
        cmocka_unit_test(test_signal_event_slow_reserved),
        cmocka_unit_test(test_ipi_ex_fast_too_long),
        cmocka_unit_test(test_signal_event_on_dual_connection),
        cmocka_unit_test(test_spin_wait_form),
        cmocka_unit_test(test_switch_as_slow_placement),
        cmocka_unit_test(test_flush_space_ignores_rep_elements_it_has_none),
        cmocka_unit_test(test_spin_wait_yields),
        cmocka_unit_test(test_ext_query_capabilities_slow),
        cmocka_unit_test(test_ext_query_capabilities_rejects_rep_and_varhead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
