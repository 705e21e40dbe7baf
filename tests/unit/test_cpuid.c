/* SPDX-License-Identifier: MIT */
/* CPUID leaves 0x40000000-0x4000000A against the feature configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)

static void leaf(struct fake_vm *vm, uint32_t l, uint32_t out[4])
{
    assert_true(hv_cpuid(&vm->part, l, 0, out));
}

static void test_outside_range(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 1);
    uint32_t r[4];
    assert_false(hv_cpuid(&vm->part, 0x3FFFFFFF, 0, r));
    assert_false(hv_cpuid(&vm->part, 0x40000100, 0, r));
    assert_false(hv_cpuid(&vm->part, 0, 0, r));
    fake_vm_free(vm);
}

static void test_vendor_and_interface(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 2);
    uint32_t r[4];
    char vendor[13];
    leaf(vm, 0x40000000, r);
    /* Linux accepts a max leaf in [0x40000005, 0x4000FFFF] */
    assert_true(r[0] >= 0x40000005 && r[0] <= 0x4000FFFF);
    assert_int_equal(r[0], 0x4000000A);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[2], 4);
    memcpy(vendor + 8, &r[3], 4);
    vendor[12] = 0;
    assert_string_equal(vendor, "Microsoft Hv");
    leaf(vm, 0x40000001, r);
    assert_memory_equal(&r[0], "Hv#1", 4);
    assert_int_equal(r[1] | r[2] | r[3], 0);
    fake_vm_free(vm);
}

static void test_no_features_no_hyperv(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(0, 1);
    for (uint32_t l = 0x40000000; l <= 0x400000FF; l++) {
        uint32_t r[4] = { 1, 1, 1, 1 };
        leaf(vm, l, r);
        assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    }
    fake_vm_free(vm);
}

static void test_version_fields(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURES_ALL;
    cfg.version_build = 0x1234;
    cfg.version_major = 6;
    cfg.version_minor = 3;
    cfg.version_service_pack = 2;
    cfg.version_service_number = 0x1ABCDEF; /* only 24 bits are the service number */
    cfg.version_branch = 7;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, false);
    uint32_t r[4];
    leaf(vm, 0x40000002, r);
    assert_int_equal(r[0], 0x1234);
    assert_int_equal(r[1], (6u << 16) | 3);
    assert_int_equal(r[2], 2);
    assert_int_equal(r[3], 0x07ABCDEF);
    fake_vm_free(vm);
}

/* Each feature must show up exactly in its bit and nowhere else. */
struct bit_case {
    enum hv_feature f;
    unsigned reg;     /* 0 EAX .. 3 EDX of leaf */
    uint32_t leaf;
    uint32_t bits;
};

static const struct bit_case cases[] = {
    { HV_F_VP_RUNTIME, 0, 0x40000003, HV_PRIV_VP_RUNTIME },
    { HV_F_TIME_REF_COUNT, 0, 0x40000003, HV_PRIV_TIME_REF_COUNT },
    { HV_F_SYNIC, 0, 0x40000003, HV_PRIV_SYNIC },
    { HV_F_STIMER, 0, 0x40000003, HV_PRIV_SYNTHETIC_TIMERS },
    { HV_F_APIC_MSRS, 0, 0x40000003, HV_PRIV_APIC_ACCESS },
    { HV_F_VP_INDEX, 0, 0x40000003, HV_PRIV_VP_INDEX },
    { HV_F_RESET, 0, 0x40000003, HV_PRIV_RESET },
    { HV_F_REFERENCE_TSC, 0, 0x40000003, HV_PRIV_REFERENCE_TSC },
    { HV_F_REENLIGHTENMENT, 0, 0x40000003, HV_PRIV_REENLIGHTENMENT },
    { HV_F_TSC_INVARIANT, 0, 0x40000003, HV_PRIV_TSC_INVARIANT },
    { HV_F_POST_MESSAGES, 1, 0x40000003, HV_PRIV_POST_MESSAGES },
    { HV_F_SIGNAL_EVENTS, 1, 0x40000003, HV_PRIV_SIGNAL_EVENTS },
    { HV_F_EXT_HYPERCALLS, 1, 0x40000003, HV_PRIV_EXTENDED_HYPERCALLS },
    { HV_F_CPU_HOTPLUG, 3, 0x40000003, HV_FEAT_CPU_DYNAMIC_PARTITION },
    { HV_F_XMM_INPUT, 3, 0x40000003, HV_FEAT_XMM_HYPERCALL_INPUT },
    { HV_F_CRASH_CTL, 3, 0x40000003, HV_FEAT_CRASH_MSRS },
    { HV_F_XMM_OUTPUT, 3, 0x40000003, HV_FEAT_XMM_HYPERCALL_OUTPUT },
    { HV_F_SINT_POLLING, 3, 0x40000003, HV_FEAT_SINT_POLLING },
    { HV_F_STIMER_DIRECT, 3, 0x40000003, HV_FEAT_STIMER_DIRECT },
    { HV_F_ADDRESS_SPACE_SWITCH, 0, 0x40000004, HV_HINT_ADDRESS_SPACE_SWITCH },
    { HV_F_HCALL_REMOTE_TLB_FLUSH, 0, 0x40000004, HV_HINT_REMOTE_TLB_FLUSH | HV_HINT_LOCAL_TLB_FLUSH },
    { HV_F_RELAXED_TIMING, 0, 0x40000004, HV_HINT_RELAXED_TIMING },
    { HV_F_DEPRECATE_AUTO_EOI, 0, 0x40000004, HV_HINT_DEPRECATE_AUTO_EOI },
    { HV_F_HCALL_IPI, 0, 0x40000004, HV_HINT_CLUSTER_IPI },
    { HV_F_EX_PROCESSOR_MASKS, 0, 0x40000004, HV_HINT_EX_PROCESSOR_MASKS },
};

static void test_each_feature_bit(void **s)
{
    (void)s;
    hv_features_t base = HV_FEATURE_BIT(HV_F_HYPERCALL);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bit_case *c = &cases[i];
        struct fake_vm *off = fake_vm_new(base, 1);
        struct fake_vm *on = fake_vm_new(base | HV_FEATURE_BIT(c->f), 1);
        uint32_t a[4], b[4];
        leaf(off, c->leaf, a);
        leaf(on, c->leaf, b);
        assert_int_equal(a[c->reg] & c->bits, 0);
        assert_int_equal(b[c->reg] & c->bits, c->bits);
        /* nothing else in the leaf changes */
        for (unsigned r = 0; r < 4; r++)
            if (r != c->reg)
                assert_int_equal(a[r], b[r]);
        assert_int_equal(a[c->reg] | c->bits, b[c->reg]);
        fake_vm_free(off);
        fake_vm_free(on);
    }
}

static void test_base_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL) | HV_FEATURE_BIT(HV_F_VP_INDEX), 1);
    uint32_t r[4];
    leaf(vm, 0x40000003, r);
    /* Linux's presence test: HypercallMsrs (5) and VpIndex (6) */
    assert_int_equal(r[0], HV_PRIV_HYPERCALL_MSRS | HV_PRIV_VP_INDEX);
    fake_vm_free(vm);
}

static void test_never_partition_id_or_cpu_management(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 4);
    uint32_t r[4];
    leaf(vm, 0x40000003, r);
    assert_int_equal(r[1] & HV_PRIV_ACCESS_PARTITION_ID, 0);
    assert_int_equal(r[1] & HV_PRIV_CPU_MANAGEMENT, 0);
    assert_int_equal(r[1] & HV_PRIV_CREATE_PARTITIONS, 0);
    assert_int_equal(r[1] & HV_PRIV_ISOLATION, 0);
    leaf(vm, 0x40000007, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    fake_vm_free(vm);
}

static void test_guest_idle_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL) | HV_FEATURE_BIT(HV_F_GUEST_IDLE), 1);
    uint32_t r[4];
    leaf(vm, 0x40000003, r);
    assert_true(r[0] & HV_PRIV_GUEST_IDLE);
    assert_true(r[3] & HV_FEAT_GUEST_IDLE_STATE);
    fake_vm_free(vm);
}

static void test_freq_bits(void **s)
{
    (void)s;
    /* Linux uses the frequency MSRs only with both bits set. */
    struct fake_vm *vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL) | HV_FEATURE_BIT(HV_F_FREQ), 1);
    uint32_t r[4];
    leaf(vm, 0x40000003, r);
    assert_true(r[0] & HV_PRIV_FREQUENCY_MSRS);
    assert_true(r[3] & HV_FEAT_FREQUENCY_MSRS);
    fake_vm_free(vm);
    vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL), 1);
    leaf(vm, 0x40000003, r);
    assert_false(r[0] & HV_PRIV_FREQUENCY_MSRS);
    assert_false(r[3] & HV_FEAT_FREQUENCY_MSRS);
    fake_vm_free(vm);
}

static void test_apic_msrs_hint_and_privilege(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL) | HV_FEATURE_BIT(HV_F_APIC_MSRS), 1);
    uint32_t r[4];
    leaf(vm, 0x40000004, r);
    assert_true(r[0] & HV_HINT_APIC_MSRS);
    leaf(vm, 0x40000003, r);
    assert_true(r[0] & HV_PRIV_APIC_ACCESS);
    fake_vm_free(vm);
}

static void test_host_without_apic_ops_hides_apic(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURES_ALL;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, true, true);
    uint32_t r[4];
    leaf(vm, 0x40000003, r);
    assert_int_equal(r[0] & HV_PRIV_APIC_ACCESS, 0);
    assert_int_equal(r[3] & (HV_FEAT_XMM_HYPERCALL_INPUT | HV_FEAT_XMM_HYPERCALL_OUTPUT), 0);
    leaf(vm, 0x40000004, r);
    assert_int_equal(r[0] & HV_HINT_APIC_MSRS, 0);
    /* the rest stays */
    assert_true(r[0] & HV_HINT_CLUSTER_IPI);
    fake_vm_free(vm);
}

static void test_spin_retries(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURE_BIT(HV_F_HYPERCALL);
    cfg.spin_retries = 777;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, false);
    uint32_t r[4];
    leaf(vm, 0x40000004, r);
    assert_int_equal(r[1], 0xFFFFFFFF);   /* never notify without spin_wait */
    fake_vm_free(vm);
    cfg.features |= HV_FEATURE_BIT(HV_F_SPIN_WAIT);
    vm = fake_vm_new_cfg(&cfg, 0, false, false);
    leaf(vm, 0x40000004, r);
    assert_int_equal(r[1], 777);
    fake_vm_free(vm);
}

static void test_limits(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL), 3);
    uint32_t r[4];
    leaf(vm, 0x40000005, r);
    assert_int_equal(r[0], 3);
    assert_int_equal(r[1], 3);
    fake_vm_free(vm);
    vm = fake_vm_new(HV_FEATURE_BIT(HV_F_HYPERCALL) | HV_FEATURE_BIT(HV_F_NO_VP_LIMIT), 3);
    leaf(vm, 0x40000005, r);
    assert_int_equal(r[0], 0xFFFFFFFF);
    fake_vm_free(vm);
}

static void test_hw_features_and_reserved_leaves(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = HV_FEATURES_ALL;
    cfg.hw_features = HV_HW_MSR_BITMAPS | HV_HW_SLAT;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, false);
    uint32_t r[4];
    leaf(vm, 0x40000006, r);
    assert_int_equal(r[0], HV_HW_MSR_BITMAPS | HV_HW_SLAT);
    for (uint32_t l = 0x40000007; l <= 0x400000FF; l++) {
        leaf(vm, l, r);
        assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    }
    fake_vm_free(vm);
}

static void test_hints_ready_before_os_id(void **s)
{
    (void)s;
    /* Linux reads 0x40000004 before it writes GUEST_OS_ID. */
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 1);
    uint32_t before[4], after[4];
    leaf(vm, 0x40000004, before);
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, 0x8100000601C00000ull);
    leaf(vm, 0x40000004, after);
    assert_memory_equal(before, after, sizeof(before));
    assert_true(before[0] != 0);
    fake_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outside_range),
        cmocka_unit_test(test_vendor_and_interface),
        cmocka_unit_test(test_no_features_no_hyperv),
        cmocka_unit_test(test_version_fields),
        cmocka_unit_test(test_each_feature_bit),
        cmocka_unit_test(test_base_bits),
        cmocka_unit_test(test_never_partition_id_or_cpu_management),
        cmocka_unit_test(test_guest_idle_bits),
        cmocka_unit_test(test_freq_bits),
        cmocka_unit_test(test_apic_msrs_hint_and_privilege),
        cmocka_unit_test(test_host_without_apic_ops_hides_apic),
        cmocka_unit_test(test_spin_retries),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hw_features_and_reserved_leaves),
        cmocka_unit_test(test_hints_ready_before_os_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
