/* SPDX-License-Identifier: MIT */
/* Synthetic timers: STIMERn_CONFIG/COUNT, one-shot and periodic (lazy and
 * catch-up), direct and message mode, blocked slots and redelivery, XSA-472
 * and XSA-504 regressions, spurious host callbacks, life cycle, accuracy.
 *
 * Time: the fake host starts at 1 ms of host time with reference time 0,
 * and every advance here is a whole number of 100 ns ticks, so reference
 * time and host timers line up exactly. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hvshim/internal.h"
#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define STIMER_F (F(HYPERCALL) | F(VP_INDEX) | F(SYNIC) | F(STIMER) | F(TIME_REF_COUNT))
#define DIRECT_F (F(HYPERCALL) | F(VP_INDEX) | F(STIMER) | F(STIMER_DIRECT))
#define SINT2 2u
#define VEC_F3 0xF3u
#define TICK_NS 100ull
#define MS_TICKS 10000ull            /* 1 ms in reference ticks */

/* Linux's values: message mode on SINT2, and direct mode on vector 0xED. */
#define CFG_MSG_ONESHOT  0x20009ull  /* enable | auto_enable | SINT2 */
#define CFG_MSG_PERIODIC (CFG_MSG_ONESHOT | HV_STIMER_PERIODIC)
#define CFG_DIRECT_ED    0x1ED9ull   /* enable | auto_enable | vector 0xED | direct */

static uint32_t cfg_msr(uint32_t n) { return HV_MSR_STIMER0_CONFIG + 2 * n; }
static uint32_t cnt_msr(uint32_t n) { return HV_MSR_STIMER0_CONFIG + 2 * n + 1; }
static uint64_t simp_gpa(uint32_t vp) { return PAGE(10 + 4 * vp); }
static uint64_t siefp_gpa(uint32_t vp) { return PAGE(11 + 4 * vp); }

static uint64_t direct_cfg(uint8_t vector, uint64_t extra)
{
    return HV_STIMER_ENABLE | HV_STIMER_AUTO_ENABLE | HV_STIMER_DIRECT_MODE |
           ((uint64_t)vector << HV_STIMER_VECTOR_SHIFT) | extra;
}

static uint64_t now_ref(struct fake_vm *vm)
{
    return hv_time_ref_now(&vm->part);
}

static void advance_ticks(struct fake_vm *vm, uint64_t ticks)
{
    fake_advance_ns(vm, ticks * TICK_NS);
}

static struct hv_message *slot(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    return fake_gpa_ptr(vm, simp_gpa(vp) + sint * HV_MESSAGE_SIZE);
}

static uint32_t slot_type(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    return __atomic_load_n(&slot(vm, vp, sint)->message_type, __ATOMIC_ACQUIRE);
}

static struct hv_timer_message_payload slot_timer(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    struct hv_timer_message_payload pl;
    assert_int_equal(slot_type(vm, vp, sint), HVMSG_TIMER_EXPIRED);
    memcpy(&pl, slot(vm, vp, sint)->payload, sizeof(pl));
    return pl;
}

/* Linux's vmbus_signal_eom: free the slot, EOM only if msg_pending. */
static bool guest_ack(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    struct hv_message *m = slot(vm, vp, sint);
    __atomic_store_n(&m->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&m->flags, __ATOMIC_SEQ_CST) & HV_MESSAGE_FLAG_PENDING) {
        fake_wrmsr(vm, vp, HV_MSR_EOM, 0);
        return true;
    }
    return false;
}

static void guest_enable_synic(struct fake_vm *vm, uint32_t vp)
{
    fake_wrmsr(vm, vp, HV_MSR_SIMP, simp_gpa(vp) | 1);
    fake_wrmsr(vm, vp, HV_MSR_SIEFP, siefp_gpa(vp) | 1);
    fake_wrmsr(vm, vp, HV_MSR_SINT0 + SINT2, VEC_F3 | HV_SINT_AUTO_EOI);
    fake_wrmsr(vm, vp, HV_MSR_SCONTROL, 1);
}

static struct fake_vm *msg_vm(hv_features_t extra, uint32_t nr_vps)
{
    struct fake_vm *vm = fake_vm_new(STIMER_F | extra, nr_vps);
    for (uint32_t v = 0; v < nr_vps; v++)
        guest_enable_synic(vm, v);
    fake_clear_irqs(vm);
    return vm;
}

static uint32_t count_irqs(struct fake_vm *vm, uint32_t vp, uint8_t vector)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < vm->host.nr_irqs; i++)
        n += vm->host.irqs[i].vp == vp && vm->host.irqs[i].vector == vector;
    return n;
}

/* Stop the fake from firing the host timer, as a host running late would. */
static void hold_host_timer(struct fake_vm *vm, uint32_t vp, uint32_t n)
{
    vm->host.timers[vp][n].armed = false;
}

static const struct fake_timer *host_timer(struct fake_vm *vm, uint32_t vp, uint32_t n)
{
    return &vm->host.timers[vp][n];
}

/* Host ns at which reference time reaches `ref` (exact in this fake). */
static uint64_t ns_at(struct fake_vm *vm, uint64_t ref)
{
    return vm->host.ns + (ref - now_ref(vm)) * TICK_NS;
}

/* ----------------------------------------------------------------- MSRs */

static void test_gate_without_stimer(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL) | F(SYNIC) | F(STIMER_DIRECT), 1);
    uint64_t v;
    for (uint32_t msr = HV_MSR_STIMER0_CONFIG; msr <= HV_MSR_STIMER3_COUNT; msr++) {
        assert_int_equal(fake_rdmsr_r(vm, 0, msr, &v), HV_MSR_GP);
        assert_int_equal(fake_wrmsr_r(vm, 0, msr, 0), HV_MSR_GP);
    }
    assert_int_equal(fake_wrmsr_r(vm, 0, cnt_msr(0), 1000), HV_MSR_GP);
    assert_int_equal(host_timer(vm, 0, 0)->arms, 0);
    fake_vm_free(vm);
}

static void test_power_on_zero(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F, 1);
    for (uint32_t msr = HV_MSR_STIMER0_CONFIG; msr <= HV_MSR_STIMER3_COUNT; msr++)
        assert_int_equal(fake_rdmsr(vm, 0, msr), 0);
    fake_vm_free(vm);
}

static void test_config_reserved_bits_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F | F(STIMER_DIRECT), 1);
    static const uint64_t bad_bits[] = { 1ull << 13, 1ull << 14, 1ull << 15, 1ull << 20,
                                         1ull << 31, 1ull << 32, 1ull << 63 };
    fake_wrmsr(vm, 0, cfg_msr(1), 0x20000);
    for (size_t i = 0; i < HV_ARRAY_SIZE(bad_bits); i++) {
        assert_int_equal(fake_wrmsr_r(vm, 0, cfg_msr(1), 0x20000 | bad_bits[i]), HV_MSR_GP);
        assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(1)), 0x20000);
    }
    fake_vm_free(vm);
}

static void test_config_valid_bits_read_back(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F, 1);
    /* periodic | lazy | auto_enable | vector 0xFF | SINT15, not enabled */
    uint64_t v = HV_STIMER_PERIODIC | HV_STIMER_LAZY | HV_STIMER_AUTO_ENABLE |
        HV_STIMER_VECTOR_MASK | HV_STIMER_SINT_MASK;
    fake_wrmsr(vm, 0, cfg_msr(3), v);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(3)), v);
    assert_int_equal(host_timer(vm, 0, 3)->arms, 0);
    fake_vm_free(vm);
}

static void test_direct_needs_feature(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, cfg_msr(0), CFG_DIRECT_ED), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, cfg_msr(0), HV_STIMER_DIRECT_MODE | 0x400), HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), 0);
    fake_vm_free(vm);
    vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_DIRECT_ED);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), CFG_DIRECT_ED);
    fake_vm_free(vm);
}

static void test_direct_low_vector_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, cfg_msr(0), direct_cfg(15, 0)), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, cfg_msr(0), direct_cfg(0, 0)), HV_MSR_GP);
    /* Even a disabled direct-mode config must name a real vector. */
    assert_int_equal(fake_wrmsr_r(vm, 0, cfg_msr(0), HV_STIMER_DIRECT_MODE), HV_MSR_GP);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(16, 0));
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), direct_cfg(16, 0));
    /* Message mode does not look at the vector field. */
    fake_wrmsr(vm, 0, cfg_msr(1), 0x20000 | (3ull << HV_STIMER_VECTOR_SHIFT));
    fake_vm_free(vm);
}

static void test_count_reads_back(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F, 1);
    fake_wrmsr(vm, 0, cnt_msr(2), ~0ull);
    assert_int_equal(fake_rdmsr(vm, 0, cnt_msr(2)), ~0ull);
    fake_wrmsr(vm, 0, cnt_msr(2), 12345);
    assert_int_equal(fake_rdmsr(vm, 0, cnt_msr(2)), 12345);
    assert_int_equal(host_timer(vm, 0, 2)->arms, 0);   /* disabled: nothing armed */
    fake_vm_free(vm);
}

static void test_msr_numbers_map_to_timers(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F, 1);
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        fake_wrmsr(vm, 0, cfg_msr(n), (uint64_t)(n + 1) << HV_STIMER_SINT_SHIFT);
        fake_wrmsr(vm, 0, cnt_msr(n), 1000 + n);
    }
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        assert_int_equal(vm->vps[0].stimer[n].config, (uint64_t)(n + 1) << HV_STIMER_SINT_SHIFT);
        assert_int_equal(vm->vps[0].stimer[n].count, 1000 + n);
    }
    fake_vm_free(vm);
}

static void test_sintx_zero_clears_enable(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 100);
    fake_wrmsr(vm, 0, cfg_msr(0), HV_STIMER_ENABLE | HV_STIMER_AUTO_ENABLE);   /* SINT 0 */
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), HV_STIMER_AUTO_ENABLE);
    assert_false(host_timer(vm, 0, 0)->armed);
    /* auto_enable cannot bring it back while SINT is 0. */
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 100);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), HV_STIMER_AUTO_ENABLE);
    advance_ticks(vm, 1000);
    assert_int_equal(vm->host.nr_irqs, 0);
    assert_int_equal(slot_type(vm, 0, 0), HVMSG_NONE);
    fake_vm_free(vm);
}

static void test_sintx_zero_fine_in_direct_mode(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x40, 0));
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    assert_true(fake_rdmsr(vm, 0, cfg_msr(0)) & HV_STIMER_ENABLE);
    advance_ticks(vm, 10);
    assert_int_equal(count_irqs(vm, 0, 0x40), 1);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------- enabling */

static void test_auto_enable_on_count(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT & ~HV_STIMER_ENABLE);
    assert_false(host_timer(vm, 0, 0)->armed);
    uint64_t due = now_ref(vm) + 500;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), CFG_MSG_ONESHOT);
    assert_true(host_timer(vm, 0, 0)->armed);
    assert_int_equal(host_timer(vm, 0, 0)->deadline_ns, ns_at(vm, due));
    fake_vm_free(vm);
}

static void test_count_alone_without_auto_enable(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), 0x20000);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 500);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), 0x20000);
    assert_false(host_timer(vm, 0, 0)->armed);
    advance_ticks(vm, 1000);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_enable_first_then_count(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    /* enabled with count 0: idle, not armed, and still reads enabled */
    fake_wrmsr(vm, 0, cfg_msr(0), 0x20001);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), 0x20001);
    assert_false(host_timer(vm, 0, 0)->armed);
    uint64_t due = now_ref(vm) + 300;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    assert_true(host_timer(vm, 0, 0)->armed);
    advance_ticks(vm, 300);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, due);
    fake_vm_free(vm);
}

static void test_count_zero_disables(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    assert_true(host_timer(vm, 0, 0)->armed);
    fake_wrmsr(vm, 0, cnt_msr(0), 0);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), CFG_MSG_PERIODIC & ~HV_STIMER_ENABLE);
    assert_false(host_timer(vm, 0, 0)->armed);
    advance_ticks(vm, 5000);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_config_zero_stops(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 1000);
    fake_wrmsr(vm, 0, cfg_msr(0), 0);
    assert_false(host_timer(vm, 0, 0)->armed);
    assert_int_equal(fake_rdmsr(vm, 0, cnt_msr(0)), now_ref(vm) + 1000);  /* count kept */
    advance_ticks(vm, 2000);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_linux_shutdown_sequence(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_DIRECT_ED);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 100);
    fake_wrmsr(vm, 0, cnt_msr(0), 0);
    fake_wrmsr(vm, 0, cfg_msr(0), 0);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), 0);
    assert_false(host_timer(vm, 0, 0)->armed);
    advance_ticks(vm, 1000);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------- one-shot */

static void test_oneshot_message_on_time(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint64_t before = fake_stats(vm).stimer_expiries;
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + MS_TICKS;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    assert_int_equal(host_timer(vm, 0, 0)->deadline_ns, vm->host.ns + 1000000);
    advance_ticks(vm, MS_TICKS - 1);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    assert_int_equal(vm->host.nr_irqs, 0);
    advance_ticks(vm, 1);
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.timer_index, 0);
    assert_int_equal(pl.expiration_time, due);
    assert_int_equal(pl.delivery_time, due);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vector, VEC_F3);
    assert_true(vm->host.irqs[0].auto_eoi);
    /* One-shot: enable clears once delivered. */
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), CFG_MSG_ONESHOT & ~HV_STIMER_ENABLE);
    assert_false(host_timer(vm, 0, 0)->armed);
    assert_int_equal(fake_stats(vm).stimer_expiries, before + 1);
    advance_ticks(vm, 10 * MS_TICKS);
    assert_int_equal(vm->host.nr_irqs, 1);
    fake_vm_free(vm);
}

static void test_oneshot_past_fires_at_once(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    advance_ticks(vm, 5000);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), 1);
    /* Delivered inside the MSR write, no host timer round trip. */
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.expiration_time, 1);
    assert_int_equal(pl.delivery_time, now_ref(vm));
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_false(host_timer(vm, 0, 0)->armed);
    fake_vm_free(vm);
}

static void test_oneshot_exactly_now(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    advance_ticks(vm, 77);
    fake_wrmsr(vm, 0, cfg_msr(1), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(1), now_ref(vm));
    assert_int_equal(slot_timer(vm, 0, SINT2).timer_index, 1);
    fake_vm_free(vm);
}

static void test_oneshot_linux_reprogramming(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    for (uint64_t i = 1; i <= 20; i++) {
        uint64_t due = now_ref(vm) + i * 37;
        fake_wrmsr(vm, 0, cnt_msr(0), due);     /* set_next_event */
        advance_ticks(vm, i * 37);
        assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, due);
        assert_false(guest_ack(vm, 0, SINT2));
    }
    assert_int_equal(vm->host.nr_irqs, 20);
    fake_vm_free(vm);
}

static void test_oneshot_reprogram_before_expiry(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 1000);
    uint64_t due = now_ref(vm) + 5000;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    advance_ticks(vm, 1000);
    assert_int_equal(vm->host.nr_irqs, 0);
    advance_ticks(vm, 4000);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, due);
    assert_int_equal(vm->host.nr_irqs, 1);
    fake_vm_free(vm);
}

static void test_oneshot_far_future_never_fires(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), ~0ull);
    assert_false(host_timer(vm, 0, 0)->armed);     /* unreachable: not armed */
    fake_wrmsr(vm, 0, cnt_msr(0), 1ull << 63);
    assert_true(host_timer(vm, 0, 0)->armed);
    /* The host delay is bounded so a naive host cannot wrap around. */
    assert_true(host_timer(vm, 0, 0)->deadline_ns - vm->host.ns <= (1ull << 62));
    advance_ticks(vm, 3600ull * HV_REF_TIME_HZ);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_timing_accuracy(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    static const uint64_t deltas[] = { 1, 2, 7, 123, 9999, 10000, 10001, 999999, 36000000 };
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_DIRECT_ED);
    for (size_t i = 0; i < HV_ARRAY_SIZE(deltas); i++) {
        uint64_t due = now_ref(vm) + deltas[i];
        uint64_t ns0 = vm->host.ns;
        fake_wrmsr(vm, 0, cnt_msr(0), due);
        assert_int_equal(host_timer(vm, 0, 0)->deadline_ns, ns0 + deltas[i] * TICK_NS);
        uint32_t irqs = vm->host.nr_irqs;
        advance_ticks(vm, deltas[i] - 1);
        assert_int_equal(vm->host.nr_irqs, irqs);
        advance_ticks(vm, 1);
        assert_int_equal(vm->host.nr_irqs, irqs + 1);
        assert_int_equal(now_ref(vm), due);
    }
    fake_vm_free(vm);
}

static void test_timing_with_unaligned_host_steps(void **s)
{
    (void)s;
    /* Host time moving in odd steps: the expiry is never delivered early
     * and at most one tick late. */
    struct fake_vm *vm = msg_vm(0, 1);
    fake_advance_ns(vm, 37);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + 1234;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    for (int i = 0; i < 2000 && slot_type(vm, 0, SINT2) == HVMSG_NONE; i++) {
        assert_true(now_ref(vm) < due + 1);
        fake_advance_ns(vm, 71);
    }
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.expiration_time, due);
    assert_true(pl.delivery_time >= due && pl.delivery_time <= due + 1);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------- periodic */

static void test_periodic_every_period_no_drift(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), MS_TICKS);
    for (uint64_t k = 1; k <= 50; k++) {
        advance_ticks(vm, MS_TICKS);
        struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
        assert_int_equal(pl.expiration_time, start + k * MS_TICKS);
        assert_int_equal(pl.delivery_time, start + k * MS_TICKS);
        assert_false(guest_ack(vm, 0, SINT2));
    }
    assert_int_equal(vm->host.nr_irqs, 50);
    assert_true(fake_rdmsr(vm, 0, cfg_msr(0)) & HV_STIMER_ENABLE);
    fake_vm_free(vm);
}

static void test_periodic_late_callback_keeps_grid(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    hold_host_timer(vm, 0, 0);
    advance_ticks(vm, 1300);               /* the host is 300 ticks late */
    hv_stimer_expired(&vm->vps[0], 0);
    assert_int_equal(count_irqs(vm, 0, 0x50), 1);
    /* Next due is start + 2 periods, not "now + period". */
    assert_int_equal(vm->vps[0].stimer[0].expiration, start + 2000);
    assert_int_equal(host_timer(vm, 0, 0)->deadline_ns, ns_at(vm, start + 2000));
    advance_ticks(vm, 700);
    assert_int_equal(count_irqs(vm, 0, 0x50), 2);
    fake_vm_free(vm);
}

static void test_periodic_lazy_skips_missed(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC | HV_STIMER_LAZY));
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    hold_host_timer(vm, 0, 0);
    advance_ticks(vm, 2500);               /* due at 1000 and 2000 */
    hv_stimer_expired(&vm->vps[0], 0);
    assert_int_equal(count_irqs(vm, 0, 0x50), 1);
    assert_int_equal(vm->vps[0].stimer[0].expiration, start + 3000);
    fake_vm_free(vm);
}

static uint32_t late_direct_run(bool lazy, uint64_t late_ticks, uint64_t *next)
{
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0),
               direct_cfg(0x50, HV_STIMER_PERIODIC | (lazy ? HV_STIMER_LAZY : 0)));
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    hold_host_timer(vm, 0, 0);
    advance_ticks(vm, late_ticks);
    hv_stimer_expired(&vm->vps[0], 0);
    uint32_t n = count_irqs(vm, 0, 0x50);
    *next = vm->vps[0].stimer[0].expiration - start;
    assert_true(host_timer(vm, 0, 0)->armed);
    fake_vm_free(vm);
    return n;
}

static void test_periodic_catch_up_delivers_missed(void **s)
{
    (void)s;
    uint64_t next;
    /* Due at 1000, 2000, 3000: the first plus two missed, all delivered. */
    assert_int_equal(late_direct_run(false, 3500, &next), 3);
    assert_int_equal(next, 4000);
    /* Due at 1000..4000: three missed is still within the catch-up limit. */
    assert_int_equal(late_direct_run(false, 4500, &next), 4);
    assert_int_equal(next, 5000);
    /* The same delays on a lazy timer give one expiry each. */
    assert_int_equal(late_direct_run(true, 3500, &next), 1);
    assert_int_equal(next, 4000);
    assert_int_equal(late_direct_run(true, 4500, &next), 1);
    assert_int_equal(next, 5000);
}

static void test_periodic_catch_up_limit_then_lazy(void **s)
{
    (void)s;
    uint64_t next;
    /* Due at 1000..5000: four missed, more than three: skip like lazy. */
    assert_int_equal(late_direct_run(false, 5500, &next), 1);
    assert_int_equal(next, 6000);
    /* Exactly on a due time counts that one as due. */
    assert_int_equal(late_direct_run(false, 5000, &next), 1);
    assert_int_equal(next, 6000);
    assert_int_equal(late_direct_run(false, 4000, &next), 4);
    assert_int_equal(next, 5000);
    /* Hours late: still one expiry, bounded work. */
    assert_int_equal(late_direct_run(false, 36000000000ull, &next), 1);
    assert_int_equal(next, 36000001000ull);
}

static void test_periodic_tiny_period_bounded(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    fake_wrmsr(vm, 0, cnt_msr(0), 1);      /* 100 ns period */
    hold_host_timer(vm, 0, 0);
    advance_ticks(vm, 10000000);
    hv_stimer_expired(&vm->vps[0], 0);
    assert_int_equal(count_irqs(vm, 0, 0x50), 1);
    fake_vm_free(vm);
}

/* A hostile 100 ns period reads back as written but expires at most every
 * 50 us, so timer work cannot swallow the host CPU or the guest's VP. */
static void test_periodic_min_period_floor(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    fake_wrmsr(vm, 0, cnt_msr(0), 1);
    assert_int_equal(fake_rdmsr(vm, 0, cnt_msr(0)), 1);
    advance_ticks(vm, 100000);                 /* 10 ms */
    uint32_t n = count_irqs(vm, 0, 0x50);
    assert_true(n >= 199 && n <= 200);         /* 10 ms / 50 us */
    /* periods at or above the floor are kept exactly */
    fake_clear_irqs(vm);
    fake_wrmsr(vm, 0, cnt_msr(0), 700);
    advance_ticks(vm, 7000);
    assert_int_equal(count_irqs(vm, 0, 0x50), 10);
    fake_vm_free(vm);
}

static void test_periodic_huge_period_saturates(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    fake_wrmsr(vm, 0, cnt_msr(0), ~0ull);  /* now + period overflows */
    assert_int_equal(vm->vps[0].stimer[0].expiration, ~0ull);
    assert_false(host_timer(vm, 0, 0)->armed);
    advance_ticks(vm, 1000000);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

/* Message mode, lazy, slot busy: an expiry waits, later periods fold in. */
static void test_periodic_busy_slot_lazy_coalesces(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC | HV_STIMER_LAZY);
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    advance_ticks(vm, 1000);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, start + 1000);
    advance_ticks(vm, 1000);               /* due at 2000: slot still full */
    assert_true(vm->vps[0].stimer[0].pending);
    assert_true(slot(vm, 0, SINT2)->flags & HV_MESSAGE_FLAG_PENDING);
    assert_false(host_timer(vm, 0, 0)->armed);   /* no ticking while blocked */
    advance_ticks(vm, 3500);               /* now 5500 */
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_true(guest_ack(vm, 0, SINT2));
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.expiration_time, start + 2000);
    assert_int_equal(pl.delivery_time, start + 5500);
    assert_int_equal(vm->vps[0].stimer[0].expiration, start + 6000);
    assert_true(host_timer(vm, 0, 0)->armed);
    assert_false(guest_ack(vm, 0, SINT2));
    advance_ticks(vm, 500);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, start + 6000);
    assert_int_equal(vm->host.nr_irqs, 3);
    fake_vm_free(vm);
}

static void test_periodic_busy_slot_catch_up(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    advance_ticks(vm, 4500);               /* 1000 delivered, 2000 blocked */
    uint64_t seen[8];
    uint32_t n = 0;
    seen[n++] = slot_timer(vm, 0, SINT2).expiration_time;
    while (guest_ack(vm, 0, SINT2))
        seen[n++] = slot_timer(vm, 0, SINT2).expiration_time;
    /* Nothing lost: 1000, 2000, 3000, 4000, each in its own message. */
    assert_int_equal(n, 4);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(seen[i], start + 1000 * (i + 1));
    assert_int_equal(vm->vps[0].stimer[0].expiration, start + 5000);
    advance_ticks(vm, 500);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, start + 5000);
    fake_vm_free(vm);
}

static void test_periodic_busy_slot_too_far_behind(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    advance_ticks(vm, 9500);
    assert_true(guest_ack(vm, 0, SINT2));
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, start + 2000);
    assert_false(guest_ack(vm, 0, SINT2));  /* 3000..9000 folded: nothing behind */
    assert_int_equal(vm->vps[0].stimer[0].expiration, start + 10000);
    fake_vm_free(vm);
}

static void test_periodic_restart_on_count_write(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    fake_wrmsr(vm, 0, cnt_msr(0), 10000);
    advance_ticks(vm, 6000);
    uint64_t t = now_ref(vm);
    fake_wrmsr(vm, 0, cnt_msr(0), 2500);   /* new period, counted from now */
    assert_int_equal(vm->vps[0].stimer[0].expiration, t + 2500);
    advance_ticks(vm, 10000);
    assert_int_equal(count_irqs(vm, 0, 0x50), 4);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------- XSA-504 */

static void test_xsa504_periodic_count_zero_never_starts(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(F(STIMER_DIRECT), 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cfg_msr(1), CFG_MSG_PERIODIC | HV_STIMER_LAZY);
    fake_wrmsr(vm, 0, cfg_msr(2), direct_cfg(0x60, HV_STIMER_PERIODIC));
    for (uint32_t n = 0; n < 3; n++) {
        assert_int_equal(fake_rdmsr(vm, 0, cnt_msr(n)), 0);
        assert_int_equal(host_timer(vm, 0, n)->arms, 0);
        assert_int_equal(vm->vps[0].stimer[n].expiration, 0);
    }
    advance_ticks(vm, HV_REF_TIME_HZ);
    /* Spurious host callbacks and polls must not compute with period 0. */
    for (uint32_t n = 0; n < 3; n++)
        hv_stimer_expired(&vm->vps[0], n);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(vm->host.nr_irqs, 0);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    for (uint32_t n = 0; n < 3; n++)
        assert_false(host_timer(vm, 0, n)->armed);
    fake_vm_free(vm);
}

static void test_xsa504_count_zero_stops_running_periodic(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC | HV_STIMER_LAZY));
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    advance_ticks(vm, 2500);
    assert_int_equal(count_irqs(vm, 0, 0x50), 2);
    fake_wrmsr(vm, 0, cnt_msr(0), 0);
    assert_false(fake_rdmsr(vm, 0, cfg_msr(0)) & HV_STIMER_ENABLE);
    hv_stimer_expired(&vm->vps[0], 0);
    advance_ticks(vm, 10000);
    assert_int_equal(count_irqs(vm, 0, 0x50), 2);
    /* Re-enabling through CONFIG with count still 0 stays idle. */
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    hv_stimer_expired(&vm->vps[0], 0);
    advance_ticks(vm, 10000);
    assert_int_equal(count_irqs(vm, 0, 0x50), 2);
    assert_false(host_timer(vm, 0, 0)->armed);
    fake_vm_free(vm);
}

static void test_xsa504_restored_zero_period_stays_idle(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    struct hv_stimer *t = &vm->vps[0].stimer[0];
    /* State a broken blob could hold. */
    t->config = direct_cfg(0x50, HV_STIMER_PERIODIC);
    t->count = 0;
    t->expiration = 5;
    t->pending = true;
    hv_stimer_vp_restored(&vm->vps[0]);
    assert_false(host_timer(vm, 0, 0)->armed);
    hv_stimer_expired(&vm->vps[0], 0);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

/* ---------------------------------------------------------- direct mode */

static void test_direct_mode_without_synic(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    uint64_t v;
    assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_SCONTROL, &v), HV_MSR_GP);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_DIRECT_ED);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 200);
    advance_ticks(vm, 200);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vector, 0xED);
    assert_false(vm->host.irqs[0].auto_eoi);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), CFG_DIRECT_ED & ~HV_STIMER_ENABLE);
    assert_int_equal(fake_stats(vm).stimer_expiries, 1);
    fake_vm_free(vm);
}

static void test_direct_periodic_touches_no_slot(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(F(STIMER_DIRECT), 1);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 0);      /* SynIC off: direct mode doesn't care */
    fake_wrmsr(vm, 0, cfg_msr(1), direct_cfg(0x70, HV_STIMER_PERIODIC) |
                                  (2ull << HV_STIMER_SINT_SHIFT));
    fake_wrmsr(vm, 0, cnt_msr(1), 500);
    advance_ticks(vm, 5000);
    assert_int_equal(count_irqs(vm, 0, 0x70), 10);
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++)
        assert_int_equal(slot_type(vm, 0, i), HVMSG_NONE);
    fake_vm_free(vm);
}

/* ------------------------------------------------- message mode delivery */

static void test_xsa472_stimer_with_unmapped_simp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(STIMER_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, fake_hole_gpa(vm) | 1);   /* enabled, not RAM */
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + SINT2, VEC_F3);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + 100;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    advance_ticks(vm, 100);                 /* fires: must not touch a NULL page */
    assert_true(vm->vps[0].stimer[0].pending);
    assert_int_equal(fake_stats(vm).stimer_expiries, 0);
    assert_int_equal(vm->host.nr_irqs, 0);
    hv_vp_poll(&vm->vps[0]);
    hv_stimer_expired(&vm->vps[0], 0);
    fake_wrmsr(vm, 0, HV_MSR_EOM, 0);
    assert_true(vm->vps[0].stimer[0].pending);
    advance_ticks(vm, 50);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.expiration_time, due);
    assert_int_equal(pl.delivery_time, due + 50);
    assert_false(vm->vps[0].stimer[0].pending);
    assert_int_equal(vm->host.nr_irqs, 1);
    fake_vm_free(vm);
}

static void test_simp_disabled_timer_waits(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0));
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    assert_true(vm->vps[0].stimer[0].pending);
    assert_true(fake_rdmsr(vm, 0, cfg_msr(0)) & HV_STIMER_ENABLE);  /* not delivered yet */
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_TIMER_EXPIRED);
    assert_false(fake_rdmsr(vm, 0, cfg_msr(0)) & HV_STIMER_ENABLE);
    fake_vm_free(vm);
}

static void test_masked_sint_timer_message_without_interrupt(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + SINT2, HV_SINT_MASKED | VEC_F3);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    /* written on time; only the interrupt is lost (TLFS) */
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_TIMER_EXPIRED);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + SINT2, VEC_F3);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_scontrol_off_timer_waits(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 0);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_TIMER_EXPIRED);
    fake_vm_free(vm);
}

static void post_vmbus(struct fake_vm *vm, uint32_t tag)
{
    assert_int_equal(hv_synic_post_message(&vm->part, 0, SINT2, 1, 0, &tag, 4), HV_OK);
}

static void test_busy_slot_msg_pending_then_eom(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    post_vmbus(vm, 1);                     /* the slot is taken */
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + 100;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    advance_ticks(vm, 100);
    assert_int_equal(slot_type(vm, 0, SINT2), 1);
    assert_true(slot(vm, 0, SINT2)->flags & HV_MESSAGE_FLAG_PENDING);
    assert_true(vm->vps[0].stimer[0].pending);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_STIMER);
    assert_int_equal(vm->host.last_trace[1], HV_STIMER_TRACE_BLOCKED);
    advance_ticks(vm, 30);
    assert_true(guest_ack(vm, 0, SINT2));
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.expiration_time, due);
    assert_int_equal(pl.delivery_time, due + 30);
    assert_int_equal(vm->host.nr_irqs, 2);
    fake_vm_free(vm);
}

static void test_busy_slot_eoi_redelivers_timer(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    post_vmbus(vm, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    /* Freed without EOM; the host then sees the EOI of the SINT vector. */
    __atomic_store_n(&slot(vm, 0, SINT2)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    hv_synic_eoi(&vm->vps[0], 0x99);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    hv_synic_eoi(&vm->vps[0], VEC_F3);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_TIMER_EXPIRED);
    fake_vm_free(vm);
}

static void test_busy_slot_poll_redelivers_timer(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    post_vmbus(vm, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_type(vm, 0, SINT2), 1);
    __atomic_store_n(&slot(vm, 0, SINT2)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_TIMER_EXPIRED);
    fake_vm_free(vm);
}

static void test_timer_goes_before_queued_message(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    post_vmbus(vm, 1);                     /* in the slot */
    post_vmbus(vm, 2);                     /* queued */
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);                 /* timer blocked too */
    assert_true(guest_ack(vm, 0, SINT2));
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_TIMER_EXPIRED);
    assert_true(slot(vm, 0, SINT2)->flags & HV_MESSAGE_FLAG_PENDING);
    assert_true(guest_ack(vm, 0, SINT2));
    assert_int_equal(slot_type(vm, 0, SINT2), 1);
    uint32_t tag;
    memcpy(&tag, slot(vm, 0, SINT2)->payload, 4);
    assert_int_equal(tag, 2);
    fake_vm_free(vm);
}

static void test_polling_sint_timer_no_interrupt(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(F(SINT_POLLING), 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 4, HV_SINT_POLLING | 0x44);
    fake_wrmsr(vm, 0, cfg_msr(0), (CFG_MSG_ONESHOT & ~HV_STIMER_SINT_MASK) |
                                  (4ull << HV_STIMER_SINT_SHIFT));
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    assert_int_equal(slot_type(vm, 0, 4), HVMSG_TIMER_EXPIRED);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_message_layout(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 5, 0x55);
    memset(slot(vm, 0, 5)->payload, 0xCC, HV_MESSAGE_PAYLOAD_MAX);   /* stale bytes */
    fake_wrmsr(vm, 0, cfg_msr(3), HV_STIMER_ENABLE | HV_STIMER_AUTO_ENABLE |
                                  (5ull << HV_STIMER_SINT_SHIFT));
    uint64_t due = now_ref(vm) + 42;
    fake_wrmsr(vm, 0, cnt_msr(3), due);
    advance_ticks(vm, 42);
    const uint8_t *raw = (const uint8_t *)slot(vm, 0, 5);
    uint32_t u32;
    uint64_t u64;
    memcpy(&u32, raw + 0, 4);
    assert_int_equal(u32, 0x80000010u);
    assert_int_equal(raw[4], 24);            /* payload_size */
    assert_int_equal(raw[5], 0);             /* flags */
    memcpy(&u64, raw + 8, 8);
    assert_int_equal(u64, 0);                /* sender */
    memcpy(&u32, raw + 16, 4);
    assert_int_equal(u32, 3);                /* timer_index */
    memcpy(&u32, raw + 20, 4);
    assert_int_equal(u32, 0);                /* reserved */
    memcpy(&u64, raw + 24, 8);
    assert_int_equal(u64, due);
    memcpy(&u64, raw + 32, 8);
    assert_int_equal(u64, due);
    for (uint32_t i = 40; i < HV_MESSAGE_SIZE; i++)
        assert_int_equal(raw[i], 0);
    assert_int_equal(vm->host.irqs[0].vector, 0x55);
    fake_vm_free(vm);
}

/* ----------------------------------------------- spurious host callbacks */

static void test_early_callback_rearms(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + 1000;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    uint32_t arms = host_timer(vm, 0, 0)->arms;
    advance_ticks(vm, 400);
    hold_host_timer(vm, 0, 0);
    hv_stimer_expired(&vm->vps[0], 0);     /* 600 ticks early */
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    assert_true(host_timer(vm, 0, 0)->armed);
    assert_int_equal(host_timer(vm, 0, 0)->arms, arms + 1);
    assert_int_equal(host_timer(vm, 0, 0)->deadline_ns, ns_at(vm, due));
    advance_ticks(vm, 600);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, due);
    fake_vm_free(vm);
}

static void test_callback_after_disable_ignored(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), 100);
    fake_wrmsr(vm, 0, cfg_msr(0), 0x20000);
    uint32_t arms = host_timer(vm, 0, 0)->arms;
    advance_ticks(vm, 500);
    hv_stimer_expired(&vm->vps[0], 0);      /* in flight when it was disabled */
    assert_int_equal(host_timer(vm, 0, 0)->arms, arms);
    assert_false(host_timer(vm, 0, 0)->armed);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_callback_bad_arguments_ignored(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    hv_stimer_expired(&vm->vps[0], HV_STIMER_COUNT);
    hv_stimer_expired(&vm->vps[0], 0xFFFFFFFFu);
    hv_stimer_expired(NULL, 0);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_duplicate_callback_single_delivery(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 0, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    guest_ack(vm, 0, SINT2);
    hv_stimer_expired(&vm->vps[0], 0);
    hv_stimer_expired(&vm->vps[0], 0);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(fake_stats(vm).stimer_expiries, 1);
    fake_vm_free(vm);
}

static void test_poll_delivers_before_host_callback(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    hold_host_timer(vm, 0, 0);
    advance_ticks(vm, 1000);
    uint32_t arms = host_timer(vm, 0, 0)->arms;
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, start + 1000);
    assert_int_equal(host_timer(vm, 0, 0)->arms, arms + 1);    /* next period armed */
    /* The now-stale host callback delivers nothing more. */
    guest_ack(vm, 0, SINT2);
    hv_stimer_expired(&vm->vps[0], 0);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    /* Idle polls do not touch the host timer. */
    arms = host_timer(vm, 0, 0)->arms;
    for (int i = 0; i < 10; i++)
        hv_vp_poll(&vm->vps[0]);
    assert_int_equal(host_timer(vm, 0, 0)->arms, arms);
    fake_vm_free(vm);
}

/* ------------------------------------------------------- several timers */

static void test_four_timers_independent(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        fake_wrmsr(vm, 0, cfg_msr(n), direct_cfg((uint8_t)(0x40 + n), HV_STIMER_PERIODIC));
        fake_wrmsr(vm, 0, cnt_msr(n), 1000 * (n + 1));
    }
    advance_ticks(vm, 12000);
    assert_int_equal(count_irqs(vm, 0, 0x40), 12);
    assert_int_equal(count_irqs(vm, 0, 0x41), 6);
    assert_int_equal(count_irqs(vm, 0, 0x42), 4);
    assert_int_equal(count_irqs(vm, 0, 0x43), 3);
    fake_wrmsr(vm, 0, cfg_msr(1), 0);
    advance_ticks(vm, 12000);
    assert_int_equal(count_irqs(vm, 0, 0x40), 24);
    assert_int_equal(count_irqs(vm, 0, 0x41), 6);
    fake_vm_free(vm);
}

static void test_timers_per_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 3);
    fake_wrmsr(vm, 2, cfg_msr(0), CFG_MSG_ONESHOT);
    fake_wrmsr(vm, 2, cnt_msr(0), now_ref(vm) + 10);
    advance_ticks(vm, 10);
    assert_int_equal(slot_type(vm, 2, SINT2), HVMSG_TIMER_EXPIRED);
    assert_int_equal(slot_type(vm, 0, SINT2), HVMSG_NONE);
    assert_int_equal(slot_type(vm, 1, SINT2), HVMSG_NONE);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vp, 2);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), 0);
    fake_vm_free(vm);
}

/* ----------------------------------------------------------- life cycle */

static void test_destroy_cancels_every_timer(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(F(STIMER_DIRECT), 2);
    for (uint32_t v = 0; v < 2; v++)
        for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
            fake_wrmsr(vm, v, cfg_msr(n), direct_cfg(0x40, HV_STIMER_PERIODIC));
            fake_wrmsr(vm, v, cnt_msr(n), 1000);
            assert_true(host_timer(vm, v, n)->armed);
        }
    hv_partition_destroy(&vm->part);
    for (uint32_t v = 0; v < 2; v++)
        for (uint32_t n = 0; n < HV_STIMER_COUNT; n++)
            assert_false(host_timer(vm, v, n)->armed);
    /* A host callback racing with destroy arms and injects nothing. */
    hv_stimer_expired(&vm->vps[1], 2);
    assert_false(host_timer(vm, 1, 2)->armed);
    assert_int_equal(vm->host.nr_irqs, 0);
    hv_partition_destroy(&vm->part);        /* idempotent */
    fake_vm_free(vm);
}

static void test_reset_stops_timers(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_PERIODIC);
    fake_wrmsr(vm, 0, cnt_msr(0), 100);
    hv_partition_reset(&vm->part);
    assert_false(host_timer(vm, 0, 0)->armed);
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), 0);
    assert_int_equal(fake_rdmsr(vm, 0, cnt_msr(0)), 0);
    advance_ticks(vm, 1000);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_save_restore_rearms_on_grid(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    uint8_t blob[8192];
    uint64_t start = now_ref(vm);
    fake_wrmsr(vm, 0, cfg_msr(0), direct_cfg(0x50, HV_STIMER_PERIODIC));
    fake_wrmsr(vm, 0, cnt_msr(0), 1000);
    advance_ticks(vm, 2500);
    long n = hv_vp_save(&vm->vps[0], blob, sizeof(blob));
    assert_true(n > 0);
    fake_wrmsr(vm, 0, cfg_msr(0), 0);       /* the state changes... */
    assert_false(host_timer(vm, 0, 0)->armed);
    assert_int_equal(hv_vp_load(&vm->vps[0], blob, (size_t)n), HV_OK);   /* ...and comes back */
    assert_int_equal(fake_rdmsr(vm, 0, cfg_msr(0)), direct_cfg(0x50, HV_STIMER_PERIODIC));
    assert_true(host_timer(vm, 0, 0)->armed);
    assert_int_equal(host_timer(vm, 0, 0)->deadline_ns, ns_at(vm, start + 3000));
    advance_ticks(vm, 500);
    assert_int_equal(count_irqs(vm, 0, 0x50), 3);
    fake_vm_free(vm);
}

static void test_restore_pending_expiry(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint8_t blob[8192];
    post_vmbus(vm, 1);
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + 10;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    advance_ticks(vm, 10);                  /* blocked behind the VMBus message */
    long n = hv_vp_save(&vm->vps[0], blob, sizeof(blob));
    uint32_t kicks = vm->host.kicks[0];
    assert_int_equal(hv_vp_load(&vm->vps[0], blob, (size_t)n), HV_OK);
    assert_true(vm->host.kicks[0] > kicks);
    assert_true(vm->vps[0].stimer[0].pending);
    assert_int_equal(vm->host.nr_irqs, 1);  /* the load injected nothing */
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_type(vm, 0, SINT2), 1);
    assert_true(guest_ack(vm, 0, SINT2));
    assert_int_equal(slot_timer(vm, 0, SINT2).expiration_time, due);
    fake_vm_free(vm);
}

static void test_restore_expiry_due_while_saved(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);
    uint8_t blob[8192];
    fake_wrmsr(vm, 0, cfg_msr(0), CFG_MSG_ONESHOT);
    uint64_t due = now_ref(vm) + 100;
    fake_wrmsr(vm, 0, cnt_msr(0), due);
    long n = hv_vp_save(&vm->vps[0], blob, sizeof(blob));
    hold_host_timer(vm, 0, 0);
    advance_ticks(vm, 300);                 /* the VP was away past the due time */
    uint32_t kicks = vm->host.kicks[0];
    assert_int_equal(hv_vp_load(&vm->vps[0], blob, (size_t)n), HV_OK);
    assert_true(vm->host.kicks[0] > kicks);
    assert_int_equal(vm->host.nr_irqs, 0);
    hv_vp_poll(&vm->vps[0]);
    struct hv_timer_message_payload pl = slot_timer(vm, 0, SINT2);
    assert_int_equal(pl.expiration_time, due);
    assert_int_equal(pl.delivery_time, due + 200);
    fake_vm_free(vm);
}

static void test_restored_bad_direct_vector_not_started(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    struct hv_stimer *t = &vm->vps[0].stimer[1];
    t->config = direct_cfg(5, 0);
    t->count = now_ref(vm) + 10;
    t->expiration = t->count;
    hv_stimer_vp_restored(&vm->vps[0]);
    assert_false(t->config & HV_STIMER_ENABLE);
    assert_false(host_timer(vm, 0, 1)->armed);
    advance_ticks(vm, 100);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_restored_direct_without_feature_not_started(void **s)
{
    (void)s;
    struct fake_vm *vm = msg_vm(0, 1);           /* no STIMER_DIRECT */
    struct hv_stimer *t = &vm->vps[0].stimer[0];
    t->config = direct_cfg(0x50, 0);
    t->count = now_ref(vm) + 10;
    hv_stimer_vp_restored(&vm->vps[0]);
    assert_false(host_timer(vm, 0, 0)->armed);
    advance_ticks(vm, 100);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

/* ------------------------------------------------------ counters, traces */

struct trace_rec {
    enum hv_trace_kind kind;
    uint64_t a[4];
};
static struct trace_rec g_traces[64];
static uint32_t g_nr_traces;

static void record_trace(void *ctx, uint32_t vp, enum hv_trace_kind kind, uint64_t a0,
                         uint64_t a1, uint64_t a2, uint64_t a3)
{
    (void)ctx; (void)vp;
    if (kind == HV_TRACE_STIMER && g_nr_traces < HV_ARRAY_SIZE(g_traces))
        g_traces[g_nr_traces++] = (struct trace_rec){ kind, { a0, a1, a2, a3 } };
}

static void test_trace_sequence_and_stats(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(DIRECT_F, 1);
    vm->ops.trace = record_trace;
    g_nr_traces = 0;
    fake_wrmsr(vm, 0, cfg_msr(1), CFG_DIRECT_ED);
    uint64_t due = now_ref(vm) + 10;
    fake_wrmsr(vm, 0, cnt_msr(1), due);
    advance_ticks(vm, 10);
    static const enum hv_stimer_trace want[] = {
        HV_STIMER_TRACE_ARM, HV_STIMER_TRACE_FIRE, HV_STIMER_TRACE_DELIVERED,
    };
    assert_int_equal(g_nr_traces, HV_ARRAY_SIZE(want));
    for (uint32_t i = 0; i < g_nr_traces; i++) {
        assert_int_equal(g_traces[i].a[0], 1);
        assert_int_equal(g_traces[i].a[1], want[i]);
    }
    assert_int_equal(g_traces[0].a[2], due);
    assert_int_equal(g_traces[1].a[2], due);
    assert_int_equal(fake_stats(vm).stimer_expiries, 1);
    /* A reprogrammed running timer traces a stop. */
    g_nr_traces = 0;
    fake_wrmsr(vm, 0, cnt_msr(1), now_ref(vm) + 100);
    fake_wrmsr(vm, 0, cnt_msr(1), now_ref(vm) + 200);
    assert_int_equal(g_traces[1].a[1], HV_STIMER_TRACE_STOP);
    vm->ops.trace = NULL;
    fake_vm_free(vm);
}

/* --------------------------------------------------------- two threads */

/* The fake host's clock and timer table are not thread-safe, so the race
 * test brings its own host side: an atomic clock and atomic timer flags. */
struct race {
    struct fake_vm *vm;
    bool stop;
    uint32_t irqs;
    uint64_t tsc;
    uint32_t armed[HV_STIMER_COUNT];
};
static struct race *g_race;

static void race_irq(void *ctx, uint32_t vp, uint8_t vector, bool auto_eoi)
{
    (void)ctx; (void)vp; (void)vector; (void)auto_eoi;
    __atomic_fetch_add(&g_race->irqs, 1, __ATOMIC_RELAXED);
}

static uint64_t race_tsc(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&g_race->tsc, __ATOMIC_RELAXED);
}

static uint64_t race_ns(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&g_race->tsc, __ATOMIC_RELAXED) * 2 / 5;   /* 2.5 GHz */
}

static void race_arm(void *ctx, uint32_t vp, uint32_t n, uint64_t delay)
{
    (void)ctx; (void)vp; (void)delay;
    __atomic_store_n(&g_race->armed[n], 1, __ATOMIC_RELAXED);
}

static void race_cancel(void *ctx, uint32_t vp, uint32_t n)
{
    (void)ctx; (void)vp;
    __atomic_store_n(&g_race->armed[n], 0, __ATOMIC_RELAXED);
}

static void *race_host_timer(void *arg)
{
    struct race *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
        for (uint32_t n = 0; n < HV_STIMER_COUNT; n++)
            hv_stimer_expired(&r->vm->vps[0], n);
    return NULL;
}

/* Host callbacks from another thread while the VP reprograms its timers:
 * no deadlock, no lost state, and a timer the VP stopped stays stopped. */
static void test_expiry_thread_races_msr_writes(void **s)
{
    (void)s;
    struct race r = { 0 };
    r.vm = fake_vm_new(DIRECT_F, 1);
    r.tsc = r.vm->host.tsc;
    g_race = &r;
    r.vm->ops.irq_inject = race_irq;
    r.vm->ops.guest_tsc = race_tsc;
    r.vm->ops.now_ns = race_ns;
    r.vm->ops.timer_arm = race_arm;
    r.vm->ops.timer_cancel = race_cancel;
    r.vm->ops.trace = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race_host_timer, &r), 0);
    for (uint32_t i = 0; i < 20000; i++) {
        uint32_t n = i % HV_STIMER_COUNT;
        fake_wrmsr(r.vm, 0, cfg_msr(n), direct_cfg(0x40, (i & 1) ? HV_STIMER_PERIODIC : 0));
        fake_wrmsr(r.vm, 0, cnt_msr(n), (i & 1) ? 1 + i % 7 : now_ref(r.vm) + i % 3);
        if (i % 5 == 0)
            __atomic_fetch_add(&r.tsc, 250, __ATOMIC_RELAXED);   /* one tick */
    }
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++)
        fake_wrmsr(r.vm, 0, cfg_msr(n), 0);
    __atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(t, NULL), 0);
    uint32_t irqs = r.irqs;
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        assert_int_equal(r.armed[n], 0);
        hv_stimer_expired(&r.vm->vps[0], n);
        assert_int_equal(r.armed[n], 0);
    }
    assert_int_equal(r.irqs, irqs);
    assert_true(irqs > 0);
    fake_vm_free(r.vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_without_stimer),
        cmocka_unit_test(test_power_on_zero),
        cmocka_unit_test(test_config_reserved_bits_gp),
        cmocka_unit_test(test_config_valid_bits_read_back),
        cmocka_unit_test(test_direct_needs_feature),
        cmocka_unit_test(test_direct_low_vector_gp),
        cmocka_unit_test(test_count_reads_back),
        cmocka_unit_test(test_msr_numbers_map_to_timers),
        cmocka_unit_test(test_sintx_zero_clears_enable),
        cmocka_unit_test(test_sintx_zero_fine_in_direct_mode),
        cmocka_unit_test(test_auto_enable_on_count),
        cmocka_unit_test(test_count_alone_without_auto_enable),
        cmocka_unit_test(test_enable_first_then_count),
        cmocka_unit_test(test_count_zero_disables),
        cmocka_unit_test(test_config_zero_stops),
        cmocka_unit_test(test_linux_shutdown_sequence),
        cmocka_unit_test(test_oneshot_message_on_time),
        cmocka_unit_test(test_oneshot_past_fires_at_once),
        cmocka_unit_test(test_oneshot_exactly_now),
        cmocka_unit_test(test_oneshot_linux_reprogramming),
        cmocka_unit_test(test_oneshot_reprogram_before_expiry),
        cmocka_unit_test(test_oneshot_far_future_never_fires),
        cmocka_unit_test(test_timing_accuracy),
        cmocka_unit_test(test_timing_with_unaligned_host_steps),
        cmocka_unit_test(test_periodic_every_period_no_drift),
        cmocka_unit_test(test_periodic_late_callback_keeps_grid),
        cmocka_unit_test(test_periodic_lazy_skips_missed),
        cmocka_unit_test(test_periodic_catch_up_delivers_missed),
        cmocka_unit_test(test_periodic_catch_up_limit_then_lazy),
        cmocka_unit_test(test_periodic_tiny_period_bounded),
        cmocka_unit_test(test_periodic_min_period_floor),
        cmocka_unit_test(test_periodic_huge_period_saturates),
        cmocka_unit_test(test_periodic_busy_slot_lazy_coalesces),
        cmocka_unit_test(test_periodic_busy_slot_catch_up),
        cmocka_unit_test(test_periodic_busy_slot_too_far_behind),
        cmocka_unit_test(test_periodic_restart_on_count_write),
        cmocka_unit_test(test_xsa504_periodic_count_zero_never_starts),
        cmocka_unit_test(test_xsa504_count_zero_stops_running_periodic),
        cmocka_unit_test(test_xsa504_restored_zero_period_stays_idle),
        cmocka_unit_test(test_direct_mode_without_synic),
        cmocka_unit_test(test_direct_periodic_touches_no_slot),
        cmocka_unit_test(test_xsa472_stimer_with_unmapped_simp),
        cmocka_unit_test(test_simp_disabled_timer_waits),
        cmocka_unit_test(test_masked_sint_timer_message_without_interrupt),
        cmocka_unit_test(test_scontrol_off_timer_waits),
        cmocka_unit_test(test_busy_slot_msg_pending_then_eom),
        cmocka_unit_test(test_busy_slot_eoi_redelivers_timer),
        cmocka_unit_test(test_busy_slot_poll_redelivers_timer),
        cmocka_unit_test(test_timer_goes_before_queued_message),
        cmocka_unit_test(test_polling_sint_timer_no_interrupt),
        cmocka_unit_test(test_message_layout),
        cmocka_unit_test(test_early_callback_rearms),
        cmocka_unit_test(test_callback_after_disable_ignored),
        cmocka_unit_test(test_callback_bad_arguments_ignored),
        cmocka_unit_test(test_duplicate_callback_single_delivery),
        cmocka_unit_test(test_poll_delivers_before_host_callback),
        cmocka_unit_test(test_four_timers_independent),
        cmocka_unit_test(test_timers_per_vp),
        cmocka_unit_test(test_destroy_cancels_every_timer),
        cmocka_unit_test(test_reset_stops_timers),
        cmocka_unit_test(test_save_restore_rearms_on_grid),
        cmocka_unit_test(test_restore_pending_expiry),
        cmocka_unit_test(test_restore_expiry_due_while_saved),
        cmocka_unit_test(test_restored_bad_direct_vector_not_started),
        cmocka_unit_test(test_restored_direct_without_feature_not_started),
        cmocka_unit_test(test_trace_sequence_and_stats),
        cmocka_unit_test(test_expiry_thread_races_msr_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
