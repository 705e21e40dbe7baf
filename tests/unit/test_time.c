/* SPDX-License-Identifier: MIT */
/* Reference time, the TSC page, frequency MSRs, invariant TSC control,
 * reenlightenment and TSC emulation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hvshim/internal.h"
#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define TIME_FEATURES (F(HYPERCALL) | F(TIME_REF_COUNT) | F(REFERENCE_TSC) | F(FREQ) | \
                       F(TSC_INVARIANT) | F(REENLIGHTENMENT))

static struct hv_reference_tsc_page read_page(struct fake_vm *vm, uint64_t gpa)
{
    struct hv_reference_tsc_page pg;
    fake_read(vm, gpa, &pg, sizeof(pg));
    return pg;
}

/* What a guest computes from the page at its current TSC. */
static uint64_t page_time(const struct hv_reference_tsc_page *pg, uint64_t tsc)
{
    return (uint64_t)(((unsigned __int128)tsc * pg->tsc_scale) >> 64) + (uint64_t)pg->tsc_offset;
}

static void test_ref_count_starts_at_zero_and_ticks(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    uint64_t t0 = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(t0 <= 1);
    fake_advance_ns(vm, 1000000000ull);
    uint64_t t1 = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    /* one second = 10^7 units, exact to the rounding of the scale */
    assert_true(t1 - t0 >= 9999999 && t1 - t0 <= 10000001);
    fake_advance_ns(vm, 100);
    assert_true(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT) - t1 <= 2);
    fake_vm_free(vm);
}

static void test_ref_count_long_run_accuracy(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    uint64_t t0 = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    fake_advance_ns(vm, 3600ull * 1000000000ull);   /* an hour */
    uint64_t d = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT) - t0;
    uint64_t want = 36000000000ull;
    /* within 1 ppm */
    assert_true(d >= want - want / 1000000 && d <= want + want / 1000000);
    fake_vm_free(vm);
}

static void test_ref_count_read_only_and_gated(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TIME_REF_COUNT, 0), HV_MSR_GP);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    uint64_t v;
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_TIME_REF_COUNT, &v), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_REFERENCE_TSC, &v), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(2) | 1), HV_MSR_GP);
    assert_int_equal(vm->host.maps, 0);
    fake_vm_free(vm);
}

static void test_tsc_page_contents(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    fake_advance_ns(vm, 5000000);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_REFERENCE_TSC), PAGE(7) | 1);
    struct hv_reference_tsc_page pg = read_page(vm, PAGE(7));
    assert_int_not_equal(pg.tsc_sequence, 0);
    assert_int_not_equal(pg.tsc_sequence, 0xFFFFFFFF);
    /* scale = 10^7 * 2^64 / tsc_hz */
    uint64_t want = (uint64_t)(((unsigned __int128)10000000 << 64) / FAKE_DEFAULT_TSC_HZ);
    assert_int_equal(pg.tsc_scale, want);
    /* the page and the MSR agree exactly at several points in time */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(page_time(&pg, vm->host.tsc), fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT));
        fake_advance_ns(vm, 123456789);
    }
    fake_vm_free(vm);
}

static void test_tsc_page_reserved_bits(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    for (unsigned bit = 1; bit < 12; bit++)
        assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1 | (1ull << bit)),
                         HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_REFERENCE_TSC), 0);
    assert_int_equal(vm->host.maps, 0);
    fake_vm_free(vm);
}

/* XSA-472: a TSC page at a GPA that is not RAM must neither crash nor
 * stop the clock. */
static void test_xsa472_tsc_page_unmapped_gpa(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, fake_hole_gpa(vm) | 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_REFERENCE_TSC), fake_hole_gpa(vm) | 1);
    assert_null(vm->part.tsc_page);
    fake_advance_ns(vm, 1000);
    assert_true(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT) >= 10);
    hv_time_tsc_changed(&vm->part, FAKE_DEFAULT_TSC_HZ / 2, true);
    hv_time_freeze(&vm->part);
    hv_time_thaw(&vm->part);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, 0xFFFFFFFFFFFFF001ull);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, 0);
    fake_vm_free(vm);
}

static void test_tsc_page_move_and_disable(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    uint32_t seq1 = read_page(vm, PAGE(7)).tsc_sequence;
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(8) | 1);
    assert_int_equal(vm->host.maps, 2);
    assert_int_equal(vm->host.unmaps, 1);
    uint32_t seq2 = read_page(vm, PAGE(8)).tsc_sequence;
    assert_int_not_equal(seq2, 0);
    assert_int_not_equal(seq1, seq2);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(8));
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    /* disabled: the GPA stays readable in the MSR */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_REFERENCE_TSC), PAGE(8));
    fake_vm_free(vm);
}

static void test_tsc_sequence_skips_invalid_values(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    vm->part.tsc_sequence = 0xFFFFFFFD;
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    assert_int_equal(read_page(vm, PAGE(7)).tsc_sequence, 0xFFFFFFFE);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    /* neither 0xFFFFFFFF (old "invalid") nor 0 (invalid) */
    assert_int_equal(read_page(vm, PAGE(7)).tsc_sequence, 1);
    fake_vm_free(vm);
}

static void test_unreliable_tsc_marks_page_invalid(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = TIME_FEATURES;
    cfg.tsc_reliable = false;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, false);
    fake_write64(vm, PAGE(7), 0x1234);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    assert_int_equal(read_page(vm, PAGE(7)).tsc_sequence, 0);
    /* the MSR still works: it is the fallback */
    fake_advance_ns(vm, 1000);
    assert_true(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT) >= 10);
    /* the host regains trust: the page becomes valid */
    hv_time_tsc_changed(&vm->part, FAKE_DEFAULT_TSC_HZ, true);
    assert_int_not_equal(read_page(vm, PAGE(7)).tsc_sequence, 0);
    hv_time_tsc_changed(&vm->part, FAKE_DEFAULT_TSC_HZ, false);
    assert_int_equal(read_page(vm, PAGE(7)).tsc_sequence, 0);
    fake_vm_free(vm);
}

static void test_frequency_msrs(void **s)
{
    (void)s;
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, 3000000000ull);
    cfg.features = TIME_FEATURES;
    cfg.apic_hz = 200000000ull;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, false, false);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_FREQUENCY), 3000000000ull);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_APIC_FREQUENCY), 200000000ull);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TSC_FREQUENCY, 1), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_APIC_FREQUENCY, 1), HV_MSR_GP);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    uint64_t v;
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_TSC_FREQUENCY, &v), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_APIC_FREQUENCY, &v), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_tsc_invariant_control(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    assert_false(hv_time_invariant_tsc_exposed(&vm->part));
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL), 0);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL, 2), HV_MSR_GP);
    fake_wrmsr(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL, 1);
    assert_true(hv_time_invariant_tsc_exposed(&vm->part));
    /* sticky */
    fake_wrmsr(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL, 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL), 1);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL, 1), HV_MSR_GP);
    assert_false(hv_time_invariant_tsc_exposed(&vm->part));
    fake_vm_free(vm);
}

static void test_freeze_thaw(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    fake_advance_ns(vm, 1000000);
    uint64_t before = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    hv_time_freeze(&vm->part);
    hv_time_freeze(&vm->part);              /* idempotent */
    fake_advance_ns(vm, 5000000000ull);     /* paused for 5 s */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT), before);
    hv_time_thaw(&vm->part);
    uint64_t after = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(after >= before && after - before <= 1);
    /* the page was rewritten with the new offset and agrees */
    struct hv_reference_tsc_page pg = read_page(vm, PAGE(7));
    assert_int_not_equal(pg.tsc_sequence, 0);
    assert_int_equal(page_time(&pg, vm->host.tsc), after);
    hv_time_thaw(&vm->part);                /* idempotent */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT), after);
    fake_vm_free(vm);
}

static void test_set_ref_rebases_msr_and_page(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    fake_advance_ns(vm, 5000000000ull);
    uint32_t seq = read_page(vm, PAGE(7)).tsc_sequence;
    /* the host moved the guest TSC back to 0 before the guest ran */
    vm->host.tsc = 0;
    hv_time_set_ref(&vm->part, 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT), 0);
    struct hv_reference_tsc_page pg = read_page(vm, PAGE(7));
    assert_int_not_equal(pg.tsc_sequence, seq);
    fake_advance_ns(vm, 1000000);
    assert_int_equal(page_time(&pg, vm->host.tsc), fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT));
    assert_true(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT) >= 9999);
    hv_time_set_ref(&vm->part, 123456789);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT), 123456789);
    fake_vm_free(vm);
}

static void test_ns_until(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    uint64_t now = hv_time_ref_now(&vm->part);
    assert_int_equal(hv_time_ns_until(&vm->part, now), 0);
    assert_int_equal(hv_time_ns_until(&vm->part, now > 0 ? now - 1 : 0), 0);
    assert_int_equal(hv_time_ns_until(&vm->part, now + 10), 1000);
    assert_int_equal(hv_time_ns_until(&vm->part, UINT64_MAX), UINT64_MAX);
    fake_vm_free(vm);
}

static void test_frequency_change_rescales_continuously(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 2);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    fake_wrmsr(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL,
               HV_REENLIGHTENMENT_ENABLE | 0xEE | (1ull << HV_REENLIGHTENMENT_TARGET_SHIFT));
    fake_advance_ns(vm, 7000000);
    uint64_t before = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    uint32_t seq = read_page(vm, PAGE(7)).tsc_sequence;

    vm->host.tsc_hz = 1000000000ull;   /* the host TSC now runs at 1 GHz */
    hv_time_tsc_changed(&vm->part, 1000000000ull, true);

    uint64_t after = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(after >= before && after - before <= 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_FREQUENCY), 1000000000ull);
    struct hv_reference_tsc_page pg = read_page(vm, PAGE(7));
    assert_int_not_equal(pg.tsc_sequence, seq);
    assert_int_equal(pg.tsc_scale, (uint64_t)(((unsigned __int128)10000000 << 64) / 1000000000ull));
    fake_advance_ns(vm, 1000000000ull);
    uint64_t later = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(later - after >= 9999999 && later - after <= 10000001);
    assert_int_equal(page_time(&pg, vm->host.tsc), later);
    /* the guest was told: its vector on its target VP */
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vp, 1);
    assert_int_equal(vm->host.irqs[0].vector, 0xEE);
    assert_false(vm->host.irqs[0].auto_eoi);
    fake_vm_free(vm);
}

static void test_frequency_change_with_tsc_emulation(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(7) | 1);
    fake_wrmsr(vm, 0, HV_MSR_TSC_EMULATION_CONTROL, HV_TSC_EMULATION_ENABLE);
    fake_wrmsr(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL, HV_REENLIGHTENMENT_ENABLE | 0xEE);
    uint64_t old_scale = read_page(vm, PAGE(7)).tsc_scale;

    /* the host emulates the old frequency: the fake TSC keeps its rate */
    hv_time_tsc_changed(&vm->part, 1000000000ull, true);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_EMULATION_STATUS), HV_TSC_EMULATION_IN_PROGRESS);
    assert_int_equal(read_page(vm, PAGE(7)).tsc_scale, old_scale);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_FREQUENCY), FAKE_DEFAULT_TSC_HZ);
    assert_int_equal(vm->host.nr_irqs, 1);

    /* setting the bit is the hypervisor's job */
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TSC_EMULATION_STATUS, 2), HV_MSR_GP);
    fake_wrmsr(vm, 0, HV_MSR_TSC_EMULATION_STATUS, HV_TSC_EMULATION_IN_PROGRESS); /* no-op */
    assert_int_equal(vm->host.tsc_emulation_done, 0);

    /* the guest re-read its clocks and ends emulation */
    uint64_t before = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    vm->host.tsc_hz = 1000000000ull;
    fake_wrmsr(vm, 0, HV_MSR_TSC_EMULATION_STATUS, 0);
    assert_int_equal(vm->host.tsc_emulation_done, 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_FREQUENCY), 1000000000ull);
    assert_int_not_equal(read_page(vm, PAGE(7)).tsc_scale, old_scale);
    uint64_t after = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(after >= before && after - before <= 1);
    /* once more is nothing */
    fake_wrmsr(vm, 0, HV_MSR_TSC_EMULATION_STATUS, 0);
    assert_int_equal(vm->host.tsc_emulation_done, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TSC_EMULATION_STATUS, 1), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_frequency_change_invalid_ignored(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    uint32_t logs = vm->host.logs;
    hv_time_tsc_changed(&vm->part, 1000, true);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TSC_FREQUENCY), FAKE_DEFAULT_TSC_HZ);
    assert_int_equal(vm->host.logs, logs + 1);
    fake_vm_free(vm);
}

static void test_reenlightenment_control_validation(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 2);
    uint64_t en = HV_REENLIGHTENMENT_ENABLE;
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL, en | 0xEE | (1ull << 8)),
                     HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL, en | 0xEE | (1ull << 17)),
                     HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL, en | 0x0F), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL,
                                  en | 0xEE | (2ull << HV_REENLIGHTENMENT_TARGET_SHIFT)), HV_MSR_GP);
    /* disabled, anything in the fields goes */
    fake_wrmsr(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL, 0x05 | (9ull << 32));
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_REENLIGHTENMENT_CONTROL), 0x05 | (9ull << 32));
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TSC_EMULATION_CONTROL, 2), HV_MSR_GP);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    uint64_t v;
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL, &v), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_TSC_EMULATION_CONTROL, &v), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_TSC_EMULATION_STATUS, &v), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_large_tsc_values(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(TIME_FEATURES, 1);
    /* A host whose TSC has run for years: the 128-bit product must hold. */
    vm->host.tsc = 0x7FFFFFFFFFFF0000ull;
    hv_time_tsc_changed(&vm->part, FAKE_DEFAULT_TSC_HZ, true);   /* re-anchor */
    uint64_t t0 = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    fake_advance_ns(vm, 1000000000ull);
    uint64_t t1 = fake_rdmsr(vm, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(t1 - t0 >= 9999999 && t1 - t0 <= 10000001);
    fake_vm_free(vm);
}

static void test_muldiv_helpers(void **s)
{
    (void)s;
    assert_int_equal(hv_muldiv64(10, 3, 4), 7);
    assert_int_equal(hv_muldiv64(UINT64_MAX, 2, 4), UINT64_MAX / 2);
    assert_int_equal(hv_muldiv64(UINT64_MAX, UINT64_MAX, 1), UINT64_MAX); /* saturates */
    assert_int_equal(hv_div128_64(1, 0, 2), 1ull << 63);
    assert_int_equal(hv_div128_64(0, 100, 7), 14);
    unsigned __int128 n = ((unsigned __int128)12345 << 64) | 6789;
    assert_int_equal(hv_div128_64(12345, 6789, 99999), (uint64_t)(n / 99999));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_count_starts_at_zero_and_ticks),
        cmocka_unit_test(test_ref_count_long_run_accuracy),
        cmocka_unit_test(test_ref_count_read_only_and_gated),
        cmocka_unit_test(test_tsc_page_contents),
        cmocka_unit_test(test_tsc_page_reserved_bits),
        cmocka_unit_test(test_xsa472_tsc_page_unmapped_gpa),
        cmocka_unit_test(test_tsc_page_move_and_disable),
        cmocka_unit_test(test_tsc_sequence_skips_invalid_values),
        cmocka_unit_test(test_unreliable_tsc_marks_page_invalid),
        cmocka_unit_test(test_frequency_msrs),
        cmocka_unit_test(test_tsc_invariant_control),
        cmocka_unit_test(test_freeze_thaw),
        cmocka_unit_test(test_set_ref_rebases_msr_and_page),
        cmocka_unit_test(test_ns_until),
        cmocka_unit_test(test_frequency_change_rescales_continuously),
        cmocka_unit_test(test_frequency_change_with_tsc_emulation),
        cmocka_unit_test(test_frequency_change_invalid_ignored),
        cmocka_unit_test(test_reenlightenment_control_validation),
        cmocka_unit_test(test_large_tsc_values),
        cmocka_unit_test(test_muldiv_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
