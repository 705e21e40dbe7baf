/* SPDX-License-Identifier: MIT */
/* Partition life cycle, MSR dispatch, and the partition-level MSRs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define OS_ID 0x8100000601C00000ull
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)

/* --------------------------------------------------------- init */

static void test_init_rejects_bad_config(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(0, 1);   /* for its ops and host */
    struct hv_partition p;
    struct hv_vp vps[2];
    struct hv_config cfg;

    hv_config_defaults(&cfg, 0, FAKE_DEFAULT_TSC_HZ);
    assert_int_equal(hv_partition_init(&p, &vm->ops, &vm->host, &cfg, vps), HV_ERR_INVAL);
    hv_config_defaults(&cfg, HV_MAX_VPS + 1, FAKE_DEFAULT_TSC_HZ);
    assert_int_equal(hv_partition_init(&p, &vm->ops, &vm->host, &cfg, vps), HV_ERR_INVAL);
    hv_config_defaults(&cfg, 1, HV_REF_TIME_HZ);   /* scale would overflow */
    assert_int_equal(hv_partition_init(&p, &vm->ops, &vm->host, &cfg, vps), HV_ERR_INVAL);
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = 1ull << 62;
    assert_int_equal(hv_partition_init(&p, &vm->ops, &vm->host, &cfg, vps), HV_ERR_INVAL);
    cfg.features = 0;
    assert_int_equal(hv_partition_init(&p, NULL, &vm->host, &cfg, vps), HV_ERR_INVAL);
    struct hv_host_ops ops = vm->ops;
    ops.timer_arm = NULL;
    assert_int_equal(hv_partition_init(&p, &ops, &vm->host, &cfg, vps), HV_ERR_INVAL);
    assert_int_equal(hv_partition_init(&p, &vm->ops, &vm->host, &cfg, NULL), HV_ERR_INVAL);
    fake_vm_free(vm);
}

static void test_missing_optional_ops_mask_features(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(0, 1);
    struct hv_host_ops ops = vm->ops;
    struct hv_partition p;
    struct hv_vp vps[1];
    struct hv_config cfg;

    ops.ipi_send = NULL;
    ops.tlb_flush = NULL;
    ops.vp_runtime_ns = NULL;
    ops.post_message = NULL;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURES_ALL;
    assert_int_equal(hv_partition_init(&p, &ops, &vm->host, &cfg, vps), HV_OK);
    assert_false(p.cfg.features & F(HCALL_IPI));
    assert_false(p.cfg.features & F(HCALL_REMOTE_TLB_FLUSH));
    assert_false(p.cfg.features & F(VP_RUNTIME));
    assert_false(p.cfg.features & F(POST_MESSAGES));
    assert_true(p.cfg.features & F(SIGNAL_EVENTS));
    hv_partition_destroy(&p);
    fake_vm_free(vm);
}

static void test_vp_index_per_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(VP_INDEX), 4);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(fake_rdmsr(vm, i, HV_MSR_VP_INDEX), i);
        assert_ptr_equal(hv_partition_vp(&vm->part, i), &vm->vps[i]);
    }
    assert_null(hv_partition_vp(&vm->part, 4));
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_VP_INDEX, 1), HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_VP_INDEX), 0);
    fake_vm_free(vm);
}

/* --------------------------------------------------------- dispatch */

static void test_outside_window_unhandled(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 1);
    uint64_t v = 7;
    assert_int_equal(fake_rdmsr_r(vm, 0, 0x3FFFFFFF, &v), HV_MSR_UNHANDLED);
    assert_int_equal(fake_rdmsr_r(vm, 0, 0x40000200, &v), HV_MSR_UNHANDLED);
    assert_int_equal(fake_wrmsr_r(vm, 0, 0x10, 0), HV_MSR_UNHANDLED);
    assert_int_equal(fake_wrmsr_r(vm, 0, 0xC0000080, 0), HV_MSR_UNHANDLED);
    fake_vm_free(vm);
}

static void test_unimplemented_in_window_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 1);
    static const uint32_t holes[] = {
        0x40000004, 0x4000000F, 0x40000011, 0x4000001F, 0x40000024, 0x4000006F,
        0x40000074, 0x4000007F, 0x40000085, 0x4000008F, 0x400000A0, 0x400000AF,
        0x400000B8, 0x400000EF, 0x400000F1, 0x400000F5, 0x400000FF, /* synthetic debugger */
        0x40000109, 0x40000117, 0x40000119, 0x400001FF,
    };
    for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        uint64_t v = 99;
        assert_int_equal(fake_rdmsr_r(vm, 0, holes[i], &v), HV_MSR_GP);
        assert_int_equal(v, 0);
        assert_int_equal(fake_wrmsr_r(vm, 0, holes[i], 0), HV_MSR_GP);
    }
    assert_int_equal(fake_stats(vm).msr_faults, 2 * sizeof(holes) / sizeof(holes[0]));
    fake_vm_free(vm);
}

static void test_no_features_everything_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(0, 1);
    for (uint32_t msr = HV_MSR_RANGE_FIRST; msr <= HV_MSR_RANGE_LAST; msr++) {
        uint64_t v;
        assert_int_equal(fake_rdmsr_r(vm, 0, msr, &v), HV_MSR_GP);
        assert_int_equal(fake_wrmsr_r(vm, 0, msr, 0), HV_MSR_GP);
    }
    /* nothing was mapped, armed, injected or reported */
    assert_int_equal(vm->host.maps, 0);
    assert_int_equal(vm->host.nr_irqs, 0);
    assert_int_equal(vm->host.resets, 0);
    fake_vm_free(vm);
}

static void test_trace_and_stats(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(VP_INDEX), 2);
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_VP_INDEX), 1);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_MSR_READ);
    assert_int_equal(vm->host.last_trace[0], HV_MSR_VP_INDEX);
    assert_int_equal(vm->host.last_trace[1], 1);
    assert_int_equal(vm->host.last_trace[2], HV_MSR_OK);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_VP_INDEX, 5), HV_MSR_GP);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_MSR_WRITE);
    assert_int_equal(vm->host.last_trace[2], HV_MSR_GP);
    assert_int_equal(fake_stats(vm).msr_reads, 1);
    assert_int_equal(fake_stats(vm).msr_writes, 1);
    assert_int_equal(fake_stats(vm).msr_faults, 1);
    fake_vm_free(vm);
}

/* ------------------------------------------ GUEST_OS_ID, HYPERCALL */

static void test_os_id_gated(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(VP_INDEX), 1);
    uint64_t v;
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_GUEST_OS_ID, OS_ID), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_GUEST_OS_ID, &v), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_HYPERCALL, PAGE(1) | 1), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_HYPERCALL, &v), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_os_id_roundtrip(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 2);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_GUEST_OS_ID), 0);
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, OS_ID);
    /* partition-wide: visible from the other VP */
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_GUEST_OS_ID), OS_ID);
    fake_wrmsr(vm, 1, HV_MSR_GUEST_OS_ID, ~0ull);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_GUEST_OS_ID), ~0ull);
    fake_vm_free(vm);
}

static void test_hypercall_needs_os_id(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    fake_wrmsr(vm, 0, HV_MSR_HYPERCALL, PAGE(3) | 1);
    /* accepted, but the enable bit does not stick */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), PAGE(3));
    assert_int_equal(vm->host.hypercall_page_fills, 0);
    fake_vm_free(vm);
}

static void test_hypercall_enable_fills_page(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    fake_enable_hypercalls(vm, PAGE(3));
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), PAGE(3) | 1);
    assert_int_equal(vm->host.hypercall_page_fills, 1);
    assert_int_equal(vm->host.hypercall_page_gpa, PAGE(3));
    uint8_t endbr[4];
    fake_read(vm, PAGE(3), endbr, 4);
    assert_memory_equal(endbr, "\xf3\x0f\x1e\xfa", 4);
    /* disabling keeps the GPA, drops the enable bit */
    fake_wrmsr(vm, 0, HV_MSR_HYPERCALL, PAGE(3));
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), PAGE(3));
    fake_vm_free(vm);
}

static void test_hypercall_reserved_bits_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, OS_ID);
    for (unsigned bit = 2; bit < 12; bit++)
        assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_HYPERCALL, PAGE(3) | 1 | (1ull << bit)),
                         HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), 0);
    fake_vm_free(vm);
}

static void test_hypercall_page_not_ram_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, OS_ID);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_HYPERCALL, fake_hole_gpa(vm) | 1), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_HYPERCALL, 0xFFFFFFFFFFFFF001ull), HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), 0);
    fake_vm_free(vm);
}

static void test_hypercall_lock(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, OS_ID);
    fake_wrmsr(vm, 0, HV_MSR_HYPERCALL, PAGE(3) | HV_HYPERCALL_MSR_LOCKED | 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_HYPERCALL, PAGE(4) | 1), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_HYPERCALL, 0), HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), PAGE(3) | HV_HYPERCALL_MSR_LOCKED | 1);
    /* reset unlocks */
    hv_partition_reset(&vm->part);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), 0);
    fake_vm_free(vm);
}

static void test_os_id_zero_disables_hypercalls(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    fake_enable_hypercalls(vm, PAGE(3));
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), PAGE(3));
    fake_vm_free(vm);
}

/* ------------------------------------------- RESET, RUNTIME, IDLE */

static void test_reset_msr(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(RESET), 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_RESET), 0);
    fake_wrmsr(vm, 0, HV_MSR_RESET, 0);
    assert_int_equal(vm->host.resets, 0);
    fake_wrmsr(vm, 0, HV_MSR_RESET, 1);
    assert_int_equal(vm->host.resets, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_RESET, 2), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_RESET, 3), HV_MSR_GP);
    assert_int_equal(vm->host.resets, 1);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_RESET, 1), HV_MSR_GP);
    assert_int_equal(vm->host.resets, 0);
    fake_vm_free(vm);
}

static void test_vp_runtime(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(VP_RUNTIME), 2);
    vm->host.runtime_ns[1] = 12345678;
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_VP_RUNTIME), 123456);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_VP_RUNTIME), 0);
    fake_advance_ns(vm, 1000);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_VP_RUNTIME), 10);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_VP_RUNTIME, 0), HV_MSR_GP);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    uint64_t v;
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_VP_RUNTIME, &v), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_guest_idle(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(GUEST_IDLE), 2);
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_GUEST_IDLE), 0);
    assert_int_equal(vm->host.idles[1], 1);
    assert_int_equal(vm->host.idles[0], 0);
    assert_int_equal(fake_wrmsr_r(vm, 1, HV_MSR_GUEST_IDLE, 0), HV_MSR_GP);
    assert_int_equal(vm->host.idles[1], 1);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    uint64_t v;
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_GUEST_IDLE, &v), HV_MSR_GP);
    assert_int_equal(vm->host.idles[0], 0);
    fake_vm_free(vm);
}

/* ------------------------------------------------------ life cycle */

static void test_reset_keeps_connections_and_config(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 2);
    assert_int_equal(hv_partition_register_connection(&vm->part, 1, HV_CONNECTION_MESSAGE), HV_OK);
    fake_enable_hypercalls(vm, PAGE(3));
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P0, 5);
    hv_partition_reset(&vm->part);
    assert_int_equal(hv_partition_connection_kinds(&vm->part, 1), HV_CONNECTION_MESSAGE);
    assert_int_equal(vm->part.cfg.features, HV_FEATURES_ALL);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_GUEST_OS_ID), 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_CRASH_P0), 0);
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_VP_INDEX), 1);
    fake_vm_free(vm);
}

static void test_destroy_idempotent(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 2);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(5) | 1);
    fake_wrmsr(vm, 1, HV_MSR_VP_ASSIST_PAGE, PAGE(6) | 1);
    hv_partition_destroy(&vm->part);
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    hv_partition_destroy(&vm->part);
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    fake_vm_free(vm);   /* destroys a third time */
}

static void test_strerror(void **s)
{
    (void)s;
    for (int e = HV_OK; e >= HV_ERR_MISMATCH; e--)
        assert_string_not_equal(hv_strerror(e), "unknown error");
    assert_string_equal(hv_strerror(-100), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_bad_config),
        cmocka_unit_test(test_missing_optional_ops_mask_features),
        cmocka_unit_test(test_vp_index_per_vp),
        cmocka_unit_test(test_outside_window_unhandled),
        cmocka_unit_test(test_unimplemented_in_window_gp),
        cmocka_unit_test(test_no_features_everything_gp),
        cmocka_unit_test(test_trace_and_stats),
        cmocka_unit_test(test_os_id_gated),
        cmocka_unit_test(test_os_id_roundtrip),
        cmocka_unit_test(test_hypercall_needs_os_id),
        cmocka_unit_test(test_hypercall_enable_fills_page),
        cmocka_unit_test(test_hypercall_reserved_bits_gp),
        cmocka_unit_test(test_hypercall_page_not_ram_gp),
        cmocka_unit_test(test_hypercall_lock),
        cmocka_unit_test(test_os_id_zero_disables_hypercalls),
        cmocka_unit_test(test_reset_msr),
        cmocka_unit_test(test_vp_runtime),
        cmocka_unit_test(test_guest_idle),
        cmocka_unit_test(test_reset_keeps_connections_and_config),
        cmocka_unit_test(test_destroy_idempotent),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
