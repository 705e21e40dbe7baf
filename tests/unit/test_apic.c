/* SPDX-License-Identifier: MIT */
/* EOI/ICR/TPR MSRs, the VP assist page, and APIC assist (lazy EOI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define APIC_FEATURES (F(HYPERCALL) | F(APIC_MSRS) | F(VP_ASSIST) | F(APIC_ASSIST))

static uint32_t assist_word(struct fake_vm *vm, uint64_t page)
{
    uint32_t v;
    fake_read(vm, page, &v, sizeof(v));
    return v;
}

static void test_eoi_write_only(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(APIC_FEATURES, 2);
    uint64_t v;
    fake_wrmsr(vm, 1, HV_MSR_EOI, 0);
    assert_int_equal(vm->host.eois[1], 1);
    assert_int_equal(vm->host.eois[0], 0);
    assert_int_equal(fake_rdmsr_r(vm, 1, HV_MSR_EOI, &v), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_icr(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(APIC_FEATURES, 1);
    uint64_t icr = (3ull << 56) | 0x4000 | 0xFD;   /* dest 3, level assert, vector 0xFD */
    fake_wrmsr(vm, 0, HV_MSR_ICR, icr);
    assert_int_equal(vm->host.icr[0], icr);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_ICR), icr);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_ICR, 1ull << 20), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_ICR, 1ull << 55), HV_MSR_GP);
    assert_int_equal(vm->host.icr[0], icr);
    fake_vm_free(vm);
}

static void test_tpr(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(APIC_FEATURES, 1);
    fake_wrmsr(vm, 0, HV_MSR_TPR, 0x50);
    assert_int_equal(vm->host.tpr[0], 0x50);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_TPR), 0x50);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TPR, 0x100), HV_MSR_GP);
    assert_int_equal(vm->host.tpr[0], 0x50);
    fake_vm_free(vm);
}

static void test_apic_msrs_gated(void **s)
{
    (void)s;
    /* Hosts that cannot make them exact (no ops) never expose them. */
    struct hv_config cfg;
    hv_config_defaults(&cfg, 1, FAKE_DEFAULT_TSC_HZ);
    cfg.features = APIC_FEATURES;
    struct fake_vm *vm = fake_vm_new_cfg(&cfg, 0, true, false);
    uint64_t v;
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_EOI, 0), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_ICR, &v), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_ICR, 0), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_TPR, &v), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_TPR, 0), HV_MSR_GP);
    /* ... but the VP assist page stays: Linux writes it unconditionally */
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1);
    assert_false(hv_apic_assist_set(&vm->vps[0], 0x40));
    fake_vm_free(vm);
}

static void test_vp_assist_page_msr(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL) | F(VP_ASSIST), 2);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE), 0);
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1);
    fake_wrmsr(vm, 1, HV_MSR_VP_ASSIST_PAGE, PAGE(5) | 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE), PAGE(4) | 1);
    assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_VP_ASSIST_PAGE), PAGE(5) | 1);
    assert_int_equal(vm->host.maps, 2);
    for (unsigned bit = 1; bit < 12; bit++)
        assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1 | (1ull << bit)),
                         HV_MSR_GP);
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4));
    assert_int_equal(vm->host.unmaps, 1);
    /* not RAM: accepted, nothing mapped */
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, fake_hole_gpa(vm) | 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE), fake_hole_gpa(vm) | 1);
    assert_int_equal(vm->host.maps, 2);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_apic_assist_cycle(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(APIC_FEATURES, 1);
    struct hv_vp *vp = &vm->vps[0];
    uint8_t vec = 0;
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1);
    assert_true(hv_apic_assist_set(vp, 0x41));
    assert_int_equal(assist_word(vm, PAGE(4)) & 1, 1);
    /* a second vector cannot be made lazy while one is outstanding */
    assert_false(hv_apic_assist_set(vp, 0x42));
    assert_false(hv_apic_assist_completed(vp, &vec));
    /* the guest clears the bit instead of writing EOI */
    uint32_t zero = 0;
    fake_write(vm, PAGE(4), &zero, sizeof(zero));
    assert_true(hv_apic_assist_completed(vp, &vec));
    assert_int_equal(vec, 0x41);
    assert_false(hv_apic_assist_completed(vp, &vec));
    assert_true(hv_apic_assist_set(vp, 0x42));
    fake_vm_free(vm);
}

static void test_apic_assist_real_eoi_clears(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(APIC_FEATURES, 1);
    struct hv_vp *vp = &vm->vps[0];
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1);
    assert_true(hv_apic_assist_set(vp, 0x41));
    fake_wrmsr(vm, 0, HV_MSR_EOI, 0);
    assert_int_equal(assist_word(vm, PAGE(4)) & 1, 0);
    assert_int_equal(vm->host.eois[0], 1);
    assert_false(hv_apic_assist_completed(vp, NULL));
    fake_vm_free(vm);
}

static void test_apic_assist_needs_page_and_vector(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(APIC_FEATURES, 1);
    struct hv_vp *vp = &vm->vps[0];
    assert_false(hv_apic_assist_set(vp, 0x41));           /* no page */
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, fake_hole_gpa(vm) | 1);
    assert_false(hv_apic_assist_set(vp, 0x41));           /* page not RAM */
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(4) | 1);
    assert_false(hv_apic_assist_set(vp, 0x0F));           /* exception vectors never */
    assert_true(hv_apic_assist_set(vp, 0x10));
    /* moving the page drops the pending assist */
    fake_wrmsr(vm, 0, HV_MSR_VP_ASSIST_PAGE, PAGE(5) | 1);
    assert_false(hv_apic_assist_completed(vp, NULL));
    hv_apic_assist_clear(vp);                             /* nothing pending: no-op */
    fake_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eoi_write_only),
        cmocka_unit_test(test_icr),
        cmocka_unit_test(test_tpr),
        cmocka_unit_test(test_apic_msrs_gated),
        cmocka_unit_test(test_vp_assist_page_msr),
        cmocka_unit_test(test_apic_assist_cycle),
        cmocka_unit_test(test_apic_assist_real_eoi_clears),
        cmocka_unit_test(test_apic_assist_needs_page_and_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
