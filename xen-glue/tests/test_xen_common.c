/* SPDX-License-Identifier: MIT */
/*
 * xen-glue/common against a real core (tests/unit's fake host):
 * HVM_PARAM_VIRIDIAN <-> features, and Xen's viridian save records
 * turned into core blobs and back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hvshim/hvshim.h"
#include "tests/unit/fake_host.h"
#include "xen-glue/common/legacy_records.h"
#include "xen-glue/common/viridian_mask.h"

#define FB(f) HV_FEATURE_BIT(HV_F_##f)
#define BASE (FB(HYPERCALL) | FB(VP_INDEX) | FB(APIC_MSRS) | FB(VP_ASSIST))
/* What Xen's viridian gives with base (and every mask has base). */
#define IMPLIED (FB(RELAXED_TIMING) | FB(SPIN_WAIT))

/* ------------------------------------------------------------ masks */

static void test_mask_zero_is_no_features(void **state)
{
    hv_features_t f = 123;

    (void)state;
    assert_int_equal(hvshim_xen_mask_to_features(0, &f), 0);
    assert_int_equal(f, 0);
}

static void test_mask_libxl_default_keeps_meaning(void **state)
{
    hv_features_t f;

    (void)state;
    /* viridian=1 in libxl: base freq time_ref_count apic_assist crash_ctl
     * no_vp_limit cpu_hotplug. */
    assert_int_equal(hvshim_xen_mask_to_features(0x1865, &f), 0);
    assert_int_equal(f, BASE | IMPLIED | FB(FREQ) | FB(TIME_REF_COUNT) | FB(APIC_ASSIST) |
                     FB(CRASH_CTL) | FB(NO_VP_LIMIT) | FB(CPU_HOTPLUG));
}

static void test_mask_no_freq_bit(void **state)
{
    hv_features_t f;

    (void)state;
    assert_int_equal(hvshim_xen_mask_to_features(0x1, &f), 0);
    assert_true(f & FB(FREQ));
    assert_int_equal(hvshim_xen_mask_to_features(0x3, &f), 0);
    assert_false(f & FB(FREQ));
}

static void test_mask_synic_implies_polling(void **state)
{
    hv_features_t f;

    (void)state;
    assert_int_equal(hvshim_xen_mask_to_features(0x1 | (1u << 7), &f), 0);
    assert_true(f & FB(SINT_POLLING));
    assert_int_equal(hvshim_xen_mask_to_features(0x1, &f), 0);
    assert_false(f & FB(SINT_POLLING));
}

static void test_mask_stimer_closes_over_synic(void **state)
{
    hv_features_t f;

    (void)state;
    /* The stimer bit alone (libxl always adds the others, the hypervisor
     * does not rely on it). */
    assert_int_equal(hvshim_xen_mask_to_features(0x1 | (1u << 8), &f), 0);
    assert_true(f & FB(STIMER));
    assert_true(f & FB(SYNIC));
    assert_true(f & FB(TIME_REF_COUNT));
    /* ... and, having synic, what synic gives: it round-trips. */
    assert_true(f & FB(SINT_POLLING));
    {
        uint64_t m;
        hv_features_t unsup, forced, back;
        assert_int_equal(hvshim_xen_features_to_mask(f, &m, &unsup, &forced), 0);
        assert_int_equal(hvshim_xen_mask_to_features(m, &back), 0);
        assert_int_equal(back, f);
    }
}

/* Every mask Xen accepts gives features that have a mask of their own
 * which gives the same features (what the fuzz target checks at random). */
static void test_every_legacy_mask_round_trips(void **state)
{
    (void)state;
    for (uint64_t m = 1; m < 0x2000; m += 2) {
        hv_features_t f, back, unsup, forced;
        uint64_t m2;
        assert_int_equal(hvshim_xen_mask_to_features(m, &f), 0);
        assert_int_equal(hvshim_xen_features_to_mask(f, &m2, &unsup, &forced), 0);
        assert_int_equal(hvshim_xen_mask_to_features(m2, &back), 0);
        assert_int_equal(back, f);
    }
}

static void test_mask_hvshim_bits(void **state)
{
    static const struct { unsigned bit; enum hv_feature f; } bits[] = {
        { 13, HV_F_STIMER_DIRECT }, { 14, HV_F_VP_RUNTIME }, { 15, HV_F_RESET },
        { 16, HV_F_POST_MESSAGES }, { 17, HV_F_SIGNAL_EVENTS },
        { 18, HV_F_DEPRECATE_AUTO_EOI }, { 19, HV_F_ADDRESS_SPACE_SWITCH },
        { 20, HV_F_EXT_HYPERCALLS },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        hv_features_t f;
        assert_int_equal(hvshim_xen_mask_to_features(1 | (1ull << bits[i].bit), &f), 0);
        assert_true(f & HV_FEATURE_BIT(bits[i].f));
    }
    assert_int_equal(hvshim_xen_mask_valid_bits(), 0x1FFFFF);
}

static void test_mask_rejects_like_xen(void **state)
{
    hv_features_t f;

    (void)state;
    /* no base_freq */
    assert_int_equal(hvshim_xen_mask_to_features(1u << 2, &f), -1);
    /* unknown bits */
    assert_int_equal(hvshim_xen_mask_to_features(1 | (1ull << 21), &f), -1);
    assert_int_equal(hvshim_xen_mask_to_features(1 | (1ull << 63), &f), -1);
}

static void test_features_to_mask_round_trip(void **state)
{
    uint64_t m;
    hv_features_t unsup, forced, back;
    hv_features_t f = BASE | IMPLIED | FB(FREQ) | FB(TIME_REF_COUNT) | FB(REFERENCE_TSC) |
                      FB(SYNIC) | FB(SINT_POLLING) | FB(STIMER) | FB(STIMER_DIRECT) |
                      FB(POST_MESSAGES) | FB(SIGNAL_EVENTS) | FB(HCALL_IPI);

    (void)state;
    assert_int_equal(hvshim_xen_features_to_mask(f, &m, &unsup, &forced), 0);
    assert_int_equal(unsup, 0);
    assert_int_equal(forced, 0);
    assert_int_equal(hvshim_xen_mask_to_features(m, &back), 0);
    assert_int_equal(back, f);
    /* the legacy part is what Xen's own toolstack would write */
    assert_int_equal(m & 0x1FFF, 0x1 | (1u << 2) | (1u << 3) | (1u << 7) | (1u << 8) |
                                 (1u << 9));
}

static void test_features_to_mask_reports_what_xen_cannot(void **state)
{
    uint64_t m;
    hv_features_t unsup, forced;

    (void)state;
    /* XMM hypercall registers and guest idle have no bit on Xen. */
    assert_int_equal(hvshim_xen_features_to_mask(BASE | IMPLIED | FB(XMM_INPUT) | FB(GUEST_IDLE),
                                                 &m, &unsup, &forced), -1);
    assert_int_equal(unsup, FB(XMM_INPUT) | FB(GUEST_IDLE));
    /* Base without the hints Xen's viridian always gave: they are forced. */
    assert_int_equal(hvshim_xen_features_to_mask(BASE, &m, &unsup, &forced), -1);
    assert_int_equal(unsup, 0);
    assert_int_equal(forced, IMPLIED);
    /* Half of base cannot be expressed. */
    assert_int_equal(hvshim_xen_features_to_mask(FB(HYPERCALL) | FB(VP_INDEX) | IMPLIED,
                                                 &m, &unsup, &forced), -1);
    assert_int_equal(forced, FB(APIC_MSRS) | FB(VP_ASSIST));
}

/* --------------------------------------------------- legacy records */

#define ALL_XEN (BASE | IMPLIED | FB(FREQ) | FB(TIME_REF_COUNT) | FB(REFERENCE_TSC) | \
                 FB(APIC_ASSIST) | FB(CRASH_CTL) | FB(SYNIC) | FB(STIMER) | FB(SINT_POLLING))

#define PAGE_HC 0x10000
#define PAGE_TSC 0x11000
#define PAGE_ASSIST 0x12000
#define PAGE_SIMP 0x13000

static void load_domain_record(struct fake_vm *vm, const struct hvshim_legacy_domain *rec)
{
    uint8_t blob[HVSHIM_LEGACY_PARTITION_BLOB_SIZE];
    long n = hvshim_legacy_domain_to_blob(&vm->part, rec, blob, sizeof(blob));

    assert_int_equal(n, sizeof(blob));
    assert_int_equal(hv_partition_load(&vm->part, blob, (size_t)n), HV_OK);
}

static int load_vcpu_record(struct fake_vm *vm, uint32_t vp, const struct hvshim_legacy_vcpu *rec)
{
    uint8_t blob[HVSHIM_LEGACY_VP_BLOB_SIZE];
    long n = hvshim_legacy_vcpu_to_blob(&vm->vps[vp], rec, blob, sizeof(blob));

    if (n < 0)
        return -1;
    assert_int_equal(n, sizeof(blob));
    return hv_vp_load(&vm->vps[vp], blob, (size_t)n);
}

static void test_legacy_sizes_match_xen(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct hvshim_legacy_domain), HVSHIM_LEGACY_DOMAIN_SIZE);
    assert_int_equal(sizeof(struct hvshim_legacy_vcpu), HVSHIM_LEGACY_VCPU_SIZE);
    assert_int_equal(offsetof(struct hvshim_legacy_vcpu, simp_msr), 16);
    assert_int_equal(offsetof(struct hvshim_legacy_vcpu, sint_msr), 24);
    assert_int_equal(offsetof(struct hvshim_legacy_vcpu, stimer_config_msr), 152);
    assert_int_equal(offsetof(struct hvshim_legacy_vcpu, stimer_count_msr), 184);
}

static void test_legacy_round_trip_through_records(void **state)
{
    struct fake_vm *a = fake_vm_new(ALL_XEN, 2), *b = fake_vm_new(ALL_XEN, 2);
    struct hvshim_legacy_domain d;
    struct hvshim_legacy_vcpu v;

    (void)state;
    /* A Linux-like guest on VM a. */
    fake_enable_hypercalls(a, PAGE_HC);
    fake_wrmsr(a, 0, HV_MSR_REFERENCE_TSC, PAGE_TSC | 1);
    fake_wrmsr(a, 1, HV_MSR_VP_ASSIST_PAGE, PAGE_ASSIST | 1);
    fake_wrmsr(a, 1, HV_MSR_SIMP, PAGE_SIMP | 1);
    fake_wrmsr(a, 1, HV_MSR_SINT0 + 2, 0xF3 | HV_SINT_AUTO_EOI);
    fake_wrmsr(a, 1, HV_MSR_SCONTROL, 1);
    fake_wrmsr(a, 1, HV_MSR_STIMER0_CONFIG, 0x20009);     /* message mode, SINT2 */
    fake_advance_ns(a, 5000000);                          /* 50000 ticks */
    hv_time_freeze(&a->part);

    hvshim_legacy_domain_from_core(&a->part, &d);
    hvshim_legacy_vcpu_from_core(&a->vps[1], &v);
    assert_int_equal(d.hypercall_gpa, PAGE_HC | 1);
    assert_int_equal(d.reference_tsc, PAGE_TSC | 1);
    assert_int_equal(d.time_ref_count, hv_time_ref_now(&a->part));
    assert_int_equal(v.simp_msr, PAGE_SIMP | 1);
    assert_int_equal(v.sint_msr[2], 0xF3 | HV_SINT_AUTO_EOI);
    assert_int_equal(v.stimer_config_msr[0], 0x20009);

    /* ... and into VM b, as a restore from a Xen with its own viridian. */
    load_domain_record(b, &d);
    assert_int_equal(load_vcpu_record(b, 1, &v), HV_OK);
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_HYPERCALL), PAGE_HC | 1);
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_GUEST_OS_ID), d.guest_os_id);
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_REFERENCE_TSC), PAGE_TSC | 1);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SIMP), PAGE_SIMP | 1);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SINT0 + 2), 0xF3 | HV_SINT_AUTO_EOI);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_VP_ASSIST_PAGE), PAGE_ASSIST | 1);
    /* Xen never saved SCONTROL; the mapped SIMP brings it back on. */
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SCONTROL), 1);
    /* Reference time continues from the record. */
    uint64_t t = fake_rdmsr(b, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(t >= d.time_ref_count && t < d.time_ref_count + 10);

    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_legacy_cleans_what_xen_let_through(void **state)
{
    struct fake_vm *vm = fake_vm_new(ALL_XEN, 1);
    struct hvshim_legacy_domain d = {
        /* Xen stored reserved bits and allowed the page without an OS id. */
        .hypercall_gpa = PAGE_HC | 1 | 0x10,
        .guest_os_id = 0,
        .time_ref_count = 1000,
        .reference_tsc = PAGE_TSC | 1 | 0x20,
    };
    struct hvshim_legacy_vcpu v;

    (void)state;
    memset(&v, 0, sizeof(v));
    v.sint_msr[3] = 0x33 | (1ull << 40);                  /* reserved bit set */
    v.stimer_config_msr[1] = HV_STIMER_ENABLE | HV_STIMER_PERIODIC | (2u << 16);
    v.stimer_count_msr[1] = 0;                            /* XSA-504 */
    v.stimer_config_msr[2] = 0x1ED9;                      /* direct mode: Xen ignored it */
    v.stimer_count_msr[2] = 12345;

    load_domain_record(vm, &d);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_HYPERCALL), PAGE_HC);   /* no OS id: off */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_REFERENCE_TSC), PAGE_TSC | 1);
    assert_int_equal(load_vcpu_record(vm, 0, &v), HV_OK);
    /* never-written SINTs come back masked */
    assert_true(fake_rdmsr(vm, 0, HV_MSR_SINT0) & HV_SINT_MASKED);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + 3), 0x33);
    assert_false(fake_rdmsr(vm, 0, HV_MSR_STIMER0_CONFIG + 2) & HV_STIMER_ENABLE);
    assert_false(fake_rdmsr(vm, 0, HV_MSR_STIMER0_CONFIG + 4) & HV_STIMER_DIRECT_MODE);
    fake_vm_free(vm);
}

static void test_legacy_time_that_would_wrap_is_refused(void **state)
{
    struct fake_vm *vm = fake_vm_new(ALL_XEN, 1);
    struct hvshim_legacy_domain d = { .time_ref_count = 1ull << 62 };
    uint8_t blob[HVSHIM_LEGACY_PARTITION_BLOB_SIZE];

    (void)state;
    assert_int_equal(hvshim_legacy_domain_to_blob(&vm->part, &d, blob, sizeof(blob)), -1);
    d.time_ref_count = (1ull << 62) - 1;
    assert_int_equal(hvshim_legacy_domain_to_blob(&vm->part, &d, blob, sizeof(blob)),
                     sizeof(blob));
    fake_vm_free(vm);
}

static void test_legacy_vcpu_padding_must_be_zero(void **state)
{
    struct fake_vm *vm = fake_vm_new(ALL_XEN, 1);
    struct hvshim_legacy_vcpu v;

    (void)state;
    memset(&v, 0, sizeof(v));
    v.pad[3] = 1;
    assert_int_equal(load_vcpu_record(vm, 0, &v), -1);
    fake_vm_free(vm);
}

static void test_legacy_blob_needs_room(void **state)
{
    struct fake_vm *vm = fake_vm_new(ALL_XEN, 1);
    struct hvshim_legacy_domain d = { 0 };
    struct hvshim_legacy_vcpu v;
    uint8_t small[64];

    (void)state;
    memset(&v, 0, sizeof(v));
    assert_int_equal(hvshim_legacy_domain_to_blob(&vm->part, &d, small, sizeof(small)), -1);
    assert_int_equal(hvshim_legacy_vcpu_to_blob(&vm->vps[0], &v, small, sizeof(small)), -1);
    fake_vm_free(vm);
}

static void test_legacy_record_for_other_vp_is_refused(void **state)
{
    struct fake_vm *vm = fake_vm_new(ALL_XEN, 2);
    struct hvshim_legacy_vcpu v;
    uint8_t blob[HVSHIM_LEGACY_VP_BLOB_SIZE];

    (void)state;
    memset(&v, 0, sizeof(v));
    /* A blob built for VP 0 does not load into VP 1. */
    assert_true(hvshim_legacy_vcpu_to_blob(&vm->vps[0], &v, blob, sizeof(blob)) > 0);
    assert_int_equal(hv_vp_load(&vm->vps[1], blob, sizeof(blob)), HV_ERR_MISMATCH);
    fake_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_zero_is_no_features),
        cmocka_unit_test(test_mask_libxl_default_keeps_meaning),
        cmocka_unit_test(test_mask_no_freq_bit),
        cmocka_unit_test(test_mask_synic_implies_polling),
        cmocka_unit_test(test_mask_stimer_closes_over_synic),
        cmocka_unit_test(test_mask_hvshim_bits),
        cmocka_unit_test(test_every_legacy_mask_round_trips),
        cmocka_unit_test(test_mask_rejects_like_xen),
        cmocka_unit_test(test_features_to_mask_round_trip),
        cmocka_unit_test(test_features_to_mask_reports_what_xen_cannot),
        cmocka_unit_test(test_legacy_sizes_match_xen),
        cmocka_unit_test(test_legacy_round_trip_through_records),
        cmocka_unit_test(test_legacy_cleans_what_xen_let_through),
        cmocka_unit_test(test_legacy_time_that_would_wrap_is_refused),
        cmocka_unit_test(test_legacy_vcpu_padding_must_be_zero),
        cmocka_unit_test(test_legacy_blob_needs_room),
        cmocka_unit_test(test_legacy_record_for_other_vp_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
