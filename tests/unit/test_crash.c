/* SPDX-License-Identifier: MIT */
/* Crash MSRs: parameters, CRASH_CTL capabilities, notify and notify-msg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)

static struct fake_vm *crash_vm(void)
{
    return fake_vm_new(F(HYPERCALL) | F(CRASH_CTL), 2);
}

static void test_gated(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL), 1);
    uint64_t v;
    for (uint32_t m = HV_MSR_CRASH_P0; m <= HV_MSR_CRASH_CTL; m++) {
        assert_int_equal(fake_rdmsr_r(vm, 0, m, &v), HV_MSR_GP);
        assert_int_equal(fake_wrmsr_r(vm, 0, m, HV_CRASH_CTL_NOTIFY), HV_MSR_GP);
    }
    assert_int_equal(vm->host.crashes, 0);
    fake_vm_free(vm);
}

static void test_ctl_read_advertises(void **s)
{
    (void)s;
    struct fake_vm *vm = crash_vm();
    /* Linux registers its kmsg dumper only when bit 62 reads back. */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_CRASH_CTL),
                     HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
    fake_vm_free(vm);
}

static void test_params_roundtrip_partition_wide(void **s)
{
    (void)s;
    struct fake_vm *vm = crash_vm();
    for (uint32_t i = 0; i < 5; i++)
        fake_wrmsr(vm, 0, HV_MSR_CRASH_P0 + i, 0x1111111111111111ull * (i + 1));
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(fake_rdmsr(vm, 1, HV_MSR_CRASH_P0 + i), 0x1111111111111111ull * (i + 1));
    assert_int_equal(vm->host.crashes, 0);
    fake_vm_free(vm);
}

static void test_notify_reports_linux_layout(void **s)
{
    (void)s;
    struct fake_vm *vm = crash_vm();
    /* Linux: P0 error code, P1 OS id, P2 RIP, P3 RAX, P4 RSP */
    uint64_t p[5] = { 0xE, 0x8100000601C00000ull, 0xffffffff81000000ull, 0x63, 0xffffc90000003e00ull };
    for (uint32_t i = 0; i < 5; i++)
        fake_wrmsr(vm, 1, HV_MSR_CRASH_P0 + i, p[i]);
    fake_wrmsr(vm, 1, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY);
    assert_int_equal(vm->host.crashes, 1);
    assert_memory_equal(vm->host.last_crash.params, p, sizeof(p));
    assert_int_equal(vm->host.last_crash.ctl, HV_CRASH_CTL_NOTIFY);
    assert_null(vm->host.last_crash.message);
    fake_vm_free(vm);
}

static void test_notify_msg_passes_text(void **s)
{
    (void)s;
    struct fake_vm *vm = crash_vm();
    const char text[] = "Kernel panic - not syncing: sysrq triggered crash";
    fake_write(vm, PAGE(9), text, sizeof(text) - 1);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P3, PAGE(9));
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P4, sizeof(text) - 1);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
    assert_int_equal(vm->host.crashes, 1);
    assert_string_equal(vm->host.crash_message, text);
    assert_int_equal(vm->host.last_crash.message_len, sizeof(text) - 1);
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    fake_vm_free(vm);
}

static void test_notify_msg_hostile_buffers(void **s)
{
    (void)s;
    struct fake_vm *vm = crash_vm();
    /* length past the page: clipped to the page end */
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P3, PAGE(9) + 4000);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P4, 1ull << 40);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
    assert_int_equal(vm->host.last_crash.message_len, 96);
    /* not RAM: reported without text */
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P3, fake_hole_gpa(vm));
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P4, 100);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
    assert_int_equal(vm->host.crashes, 2);
    assert_null(vm->host.last_crash.message);
    /* top of the address space */
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P3, UINT64_MAX - 3);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P4, 100);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
    assert_int_equal(vm->host.crashes, 3);
    assert_null(vm->host.last_crash.message);
    /* zero length */
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P3, PAGE(9));
    fake_wrmsr(vm, 0, HV_MSR_CRASH_P4, 0);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
    assert_null(vm->host.last_crash.message);
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    fake_vm_free(vm);
}

static void test_ctl_reserved_and_no_notify(void **s)
{
    (void)s;
    struct fake_vm *vm = crash_vm();
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_CRASH_CTL, 1), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_CRASH_CTL, 1ull << 61), HV_MSR_GP);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, 0);
    fake_wrmsr(vm, 0, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY_MSG);  /* msg alone: no notify */
    assert_int_equal(vm->host.crashes, 0);
    fake_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gated),
        cmocka_unit_test(test_ctl_read_advertises),
        cmocka_unit_test(test_params_roundtrip_partition_wide),
        cmocka_unit_test(test_notify_reports_linux_layout),
        cmocka_unit_test(test_notify_msg_passes_text),
        cmocka_unit_test(test_notify_msg_hostile_buffers),
        cmocka_unit_test(test_ctl_reserved_and_no_notify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
