/* SPDX-License-Identifier: MIT */
/* SynIC: SCONTROL/SVERSION/SIEFP/SIMP/EOM/SINT MSRs, overlay pages, message
 * slots and the per-VP queue, event flags, AutoEOI queries, life cycle and
 * a two-thread run of the slot protocol against a guest that acks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hvshim/internal.h"
#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define SYNIC_F (F(HYPERCALL) | F(VP_INDEX) | F(SYNIC))
#define VMBUS_SINT 2u
#define VMBUS_VECTOR 0xF3u


/* Each VP's pages: SIMP at page 10 + 4*vp, SIEFP right after it. */
static uint64_t simp_gpa(uint32_t vp) { return PAGE(10 + 4 * vp); }
static uint64_t siefp_gpa(uint32_t vp) { return PAGE(11 + 4 * vp); }

static struct hv_message *slot(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    return fake_gpa_ptr(vm, simp_gpa(vp) + sint * HV_MESSAGE_SIZE);
}

static uint8_t *flags_area(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    return fake_gpa_ptr(vm, siefp_gpa(vp) + sint * HV_EVENT_FLAGS_BYTES);
}

static uint64_t sint_value(uint8_t vector, bool auto_eoi)
{
    return vector | (auto_eoi ? HV_SINT_AUTO_EOI : 0);
}

/* What Linux's hv_synic_enable_regs does, in its order (read, then write). */
static void guest_enable_synic(struct fake_vm *vm, uint32_t vp, uint32_t sint, uint8_t vector,
                               bool auto_eoi)
{
    (void)fake_rdmsr(vm, vp, HV_MSR_SIMP);
    fake_wrmsr(vm, vp, HV_MSR_SIMP, simp_gpa(vp) | HV_PAGE_MSR_ENABLE);
    (void)fake_rdmsr(vm, vp, HV_MSR_SIEFP);
    fake_wrmsr(vm, vp, HV_MSR_SIEFP, siefp_gpa(vp) | HV_PAGE_MSR_ENABLE);
    (void)fake_rdmsr(vm, vp, HV_MSR_SINT0 + sint);
    fake_wrmsr(vm, vp, HV_MSR_SINT0 + sint, sint_value(vector, auto_eoi));
    uint64_t sc = fake_rdmsr(vm, vp, HV_MSR_SCONTROL);
    fake_wrmsr(vm, vp, HV_MSR_SCONTROL, sc | HV_SCONTROL_ENABLE);
}

static struct fake_vm *synic_vm(hv_features_t extra, uint32_t nr_vps)
{
    struct fake_vm *vm = fake_vm_new(SYNIC_F | extra, nr_vps);
    for (uint32_t v = 0; v < nr_vps; v++)
        guest_enable_synic(vm, v, VMBUS_SINT, VMBUS_VECTOR, true);
    fake_clear_irqs(vm);
    return vm;
}

/* The guest's side of a slot, as vmbus_signal_eom does it: free the slot
 * with a full barrier, then EOM only if msg_pending was set. */
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

static uint32_t slot_type(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    return __atomic_load_n(&slot(vm, vp, sint)->message_type, __ATOMIC_ACQUIRE);
}

/* A message whose payload starts with a 32-bit tag. */
static int post_tagged(struct fake_vm *vm, uint32_t vp, uint32_t sint, uint32_t tag)
{
    return hv_synic_post_message(&vm->part, vp, sint, 1, 0x1234, &tag, sizeof(tag));
}

static uint32_t slot_tag(struct fake_vm *vm, uint32_t vp, uint32_t sint)
{
    uint32_t tag;
    memcpy(&tag, slot(vm, vp, sint)->payload, sizeof(tag));
    return tag;
}

static uint32_t queued_count(const struct fake_vm *vm, uint32_t vp)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < HV_MSG_QUEUE_DEPTH; i++)
        n += vm->vps[vp].queue[i].used ? 1 : 0;
    return n;
}

static const uint32_t synic_msrs[] = {
    HV_MSR_SCONTROL, HV_MSR_SVERSION, HV_MSR_SIEFP, HV_MSR_SIMP, HV_MSR_EOM,
};

/* ------------------------------------------------------------ MSR gates */

static void test_all_msrs_gp_without_synic(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL) | F(VP_INDEX) | F(STIMER), 1);
    uint64_t v;
    for (size_t i = 0; i < HV_ARRAY_SIZE(synic_msrs); i++) {
        assert_int_equal(fake_rdmsr_r(vm, 0, synic_msrs[i], &v), HV_MSR_GP);
        assert_int_equal(fake_wrmsr_r(vm, 0, synic_msrs[i], 0), HV_MSR_GP);
    }
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++) {
        assert_int_equal(fake_rdmsr_r(vm, 0, HV_MSR_SINT0 + i, &v), HV_MSR_GP);
        assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0 + i, 0x10000), HV_MSR_GP);
    }
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SIMP, PAGE(10) | 1), HV_MSR_GP);
    assert_int_equal(vm->host.maps, 0);
    fake_vm_free(vm);
}

static void test_power_on_values(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SCONTROL), 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SVERSION), 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIEFP), 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIMP), 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_EOM), 0);
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++)
        assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + i), 0x10000);
    fake_vm_free(vm);
}

static void test_neighbouring_msrs_not_synic(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    uint64_t v;
    /* 0x85-0x8F and 0xA0-0xAF are holes in the window: #GP. */
    assert_int_equal(fake_rdmsr_r(vm, 0, 0x40000085, &v), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, 0x4000008F, 0), HV_MSR_GP);
    assert_int_equal(fake_rdmsr_r(vm, 0, 0x400000A0, &v), HV_MSR_GP);
    /* And the handler itself refuses an MSR that is not its own. */
    assert_int_equal(hv_synic_rdmsr(&vm->vps[0], HV_MSR_STIMER0_CONFIG, &v), HV_MSR_GP);
    assert_int_equal(hv_synic_wrmsr(&vm->vps[0], HV_MSR_GUEST_OS_ID, 0), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_scontrol_only_bit0(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SCONTROL), 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SCONTROL, 2), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SCONTROL, 3), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SCONTROL, 1ull << 63), HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SCONTROL), 1);   /* unchanged */
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SCONTROL), 0);
    fake_vm_free(vm);
}

static void test_sversion_read_only(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SVERSION, 1), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SVERSION, 0), HV_MSR_GP);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SVERSION), 1);
    fake_vm_free(vm);
}

static void test_eom_accepts_anything_reads_zero(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_EOM, 0);
    fake_wrmsr(vm, 0, HV_MSR_EOM, ~0ull);
    fake_wrmsr(vm, 0, HV_MSR_EOM, 0x8000000000000001ull);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_EOM), 0);
    fake_vm_free(vm);
}

/* --------------------------------------------------------- SIMP / SIEFP */

static void test_page_msr_reserved_bits_preserved(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    uint64_t v = simp_gpa(0) | 0xFFE | 1;
    fake_wrmsr(vm, 0, HV_MSR_SIMP, v);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIMP), v);
    v = siefp_gpa(0) | 0xAA0;
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, v);       /* disabled, bits kept */
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIEFP), v);
    assert_int_equal(vm->host.maps, 1);       /* only the enabled SIMP */
    fake_vm_free(vm);
}

static void test_simp_enable_maps_and_zeroes(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    memset(fake_gpa_ptr(vm, simp_gpa(0)), 0xA5, HV_PAGE_SIZE);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    assert_int_equal(vm->host.maps, 1);
    const uint8_t *pg = fake_gpa_ptr(vm, simp_gpa(0));
    for (uint32_t i = 0; i < HV_PAGE_SIZE; i++)
        assert_int_equal(pg[i], 0);
    assert_ptr_equal(vm->vps[0].simp_page, pg);
    fake_vm_free(vm);
}

static void test_siefp_enable_maps_and_zeroes(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    memset(fake_gpa_ptr(vm, siefp_gpa(0)), 0xFF, HV_PAGE_SIZE);
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, siefp_gpa(0) | 1);
    const uint8_t *pg = fake_gpa_ptr(vm, siefp_gpa(0));
    for (uint32_t i = 0; i < HV_PAGE_SIZE; i++)
        assert_int_equal(pg[i], 0);
    assert_int_equal(vm->host.maps, 1);
    fake_vm_free(vm);
}

static void test_page_rewrite_same_value_keeps_contents(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, siefp_gpa(0) | 1);
    memset(fake_gpa_ptr(vm, simp_gpa(0)), 0x5A, 64);
    memset(fake_gpa_ptr(vm, siefp_gpa(0)), 0x3C, 64);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, siefp_gpa(0) | 1);
    /* Changing only the preserved bits is not a move either. */
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 0x10 | 1);
    assert_int_equal(*(uint8_t *)fake_gpa_ptr(vm, simp_gpa(0) + 63), 0x5A);
    assert_int_equal(*(uint8_t *)fake_gpa_ptr(vm, siefp_gpa(0) + 63), 0x3C);
    assert_int_equal(vm->host.maps, 2);
    assert_int_equal(vm->host.unmaps, 0);
    fake_vm_free(vm);
}

static void test_simp_move_remaps_and_zeroes_new(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, PAGE(20) | 1);
    memset(fake_gpa_ptr(vm, PAGE(20)), 0x11, 16);
    memset(fake_gpa_ptr(vm, PAGE(21)), 0x22, 16);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, PAGE(21) | 1);
    assert_int_equal(vm->host.maps, 2);
    assert_int_equal(vm->host.unmaps, 1);
    assert_int_equal(*(uint8_t *)fake_gpa_ptr(vm, PAGE(21)), 0);      /* fresh page */
    assert_int_equal(*(uint8_t *)fake_gpa_ptr(vm, PAGE(20)), 0x11);   /* old page left alone */
    assert_ptr_equal(vm->vps[0].simp_page, fake_gpa_ptr(vm, PAGE(21)));
    fake_vm_free(vm);
}

static void test_page_disable_unmaps_keeps_value(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, siefp_gpa(0) | 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0));
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, siefp_gpa(0));
    assert_int_equal(vm->host.unmaps, 2);
    assert_null(vm->vps[0].simp_page);
    assert_null(vm->vps[0].siefp_page);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIMP), simp_gpa(0));
    /* A disabled page that "moves" maps nothing. */
    fake_wrmsr(vm, 0, HV_MSR_SIMP, PAGE(30));
    assert_int_equal(vm->host.maps, 2);
    fake_vm_free(vm);
}

static void test_page_in_hole_accepted_not_mapped(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    uint64_t hole = fake_hole_gpa(vm);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, hole | 1);
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, (hole + HV_PAGE_SIZE) | 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIMP), hole | 1);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIEFP), (hole + HV_PAGE_SIZE) | 1);
    assert_null(vm->vps[0].simp_page);
    assert_int_equal(vm->host.maps, 0);
    /* A GPA beyond any RAM, up to the top page. */
    fake_wrmsr(vm, 0, HV_MSR_SIMP, 0xFFFFFFFFFFFFF001ull);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIMP), 0xFFFFFFFFFFFFF001ull);
    assert_int_equal(vm->host.maps, 0);
    fake_vm_free(vm);
}

static void test_xsa472_post_to_unmapped_simp_queues(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, VMBUS_VECTOR);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, fake_hole_gpa(vm) | 1);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 7), HV_OK);
    assert_int_equal(queued_count(vm, 0), 1);
    assert_int_equal(vm->host.nr_irqs, 0);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(queued_count(vm, 0), 1);
    /* Moving SIMP to RAM lets the message through. */
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 7);
    assert_int_equal(queued_count(vm, 0), 0);
    assert_int_equal(vm->host.nr_irqs, 1);
    fake_vm_free(vm);
}

/* ---------------------------------------------------------------- SINTs */

static void test_sint_reserved_bits_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    static const uint64_t bad[] = {
        0x100 | 0x20, 0x8000 | 0x20, (1ull << 19) | 0x20, (1ull << 32) | 0x20,
        (1ull << 63) | 0x20, 0x10000 | 0xFF00,
    };
    for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
        assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0 + 3, bad[i]), HV_MSR_GP);
        assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + 3), 0x10000);
    }
    fake_vm_free(vm);
}

static void test_sint_low_vector_unmasked_gp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0, 0), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0, 15), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0, 15 | HV_SINT_AUTO_EOI), HV_MSR_GP);
    fake_wrmsr(vm, 0, HV_MSR_SINT0, 16);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0), 16);
    fake_vm_free(vm);
}

static void test_sint_masked_any_vector(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 5, HV_SINT_MASKED);           /* power-on value back */
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 6, HV_SINT_MASKED | 3);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 7, HV_SINT_MASKED | HV_SINT_AUTO_EOI | 0xF3);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + 5), HV_SINT_MASKED);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + 6), HV_SINT_MASKED | 3);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + 7),
                     HV_SINT_MASKED | HV_SINT_AUTO_EOI | 0xF3);
    /* Unmasking a low vector is still refused. */
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0 + 6, 3), HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_sint_polling_needs_feature(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0 + 1, HV_SINT_POLLING | 0x40), HV_MSR_GP);
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0 + 1,
                                  HV_SINT_POLLING | HV_SINT_MASKED | 0x40), HV_MSR_GP);
    fake_vm_free(vm);
    vm = fake_vm_new(SYNIC_F | F(SINT_POLLING), 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 1, HV_SINT_POLLING | 0x40);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + 1), HV_SINT_POLLING | 0x40);
    /* Polling can deliver, so it needs a real vector even when masked. */
    assert_int_equal(fake_wrmsr_r(vm, 0, HV_MSR_SINT0 + 1, HV_SINT_POLLING | HV_SINT_MASKED),
                     HV_MSR_GP);
    fake_vm_free(vm);
}

static void test_sints_independent(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++)
        fake_wrmsr(vm, 0, HV_MSR_SINT0 + i, 0x20 + i + ((i & 1) ? HV_SINT_AUTO_EOI : 0));
    for (uint32_t i = 0; i < HV_SINT_COUNT; i++)
        assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + i),
                         0x20 + i + ((i & 1) ? HV_SINT_AUTO_EOI : 0));
    fake_vm_free(vm);
}

static void test_linux_enable_sequence(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 2);
    for (uint32_t v = 0; v < 2; v++)
        guest_enable_synic(vm, v, VMBUS_SINT, VMBUS_VECTOR, true);
    for (uint32_t v = 0; v < 2; v++) {
        assert_int_equal(fake_rdmsr(vm, v, HV_MSR_SIMP), simp_gpa(v) | 1);
        assert_int_equal(fake_rdmsr(vm, v, HV_MSR_SIEFP), siefp_gpa(v) | 1);
        assert_int_equal(fake_rdmsr(vm, v, HV_MSR_SINT0 + VMBUS_SINT),
                         VMBUS_VECTOR | HV_SINT_AUTO_EOI);
        assert_int_equal(fake_rdmsr(vm, v, HV_MSR_SCONTROL), 1);
    }
    assert_int_equal(vm->host.maps, 4);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------- messages */

static void test_post_into_free_slot(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    uint8_t payload[40];
    for (uint32_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 3 + 1);
    uint64_t before = fake_stats(vm).synic_messages;
    assert_int_equal(hv_synic_post_message(&vm->part, 0, VMBUS_SINT, 1, 0xABCDEF, payload,
                                           sizeof(payload)), HV_OK);
    struct hv_message *m = slot(vm, 0, VMBUS_SINT);
    assert_int_equal(m->message_type, 1);
    assert_int_equal(m->payload_size, sizeof(payload));
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->sender, 0xABCDEF);
    assert_memory_equal(m->payload, payload, sizeof(payload));
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vp, 0);
    assert_int_equal(vm->host.irqs[0].vector, VMBUS_VECTOR);
    assert_true(vm->host.irqs[0].auto_eoi);
    assert_int_equal(fake_stats(vm).synic_messages, before + 1);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_SYNIC_MSG);
    assert_int_equal(vm->host.last_trace[0], VMBUS_SINT);
    assert_int_equal(vm->host.last_trace[2], 0);     /* delivered */
    /* Other slots untouched. */
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT + 1), HVMSG_NONE);
    assert_int_equal(queued_count(vm, 0), 0);
    fake_vm_free(vm);
}

static void test_post_without_auto_eoi(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    guest_enable_synic(vm, 0, 4, 0x50, false);
    assert_int_equal(post_tagged(vm, 0, 4, 1), HV_OK);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vector, 0x50);
    assert_false(vm->host.irqs[0].auto_eoi);
    fake_vm_free(vm);
}

static void test_post_full_payload_and_stale_tail_cleared(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    uint8_t big[HV_MESSAGE_PAYLOAD_MAX];
    memset(big, 0xEE, sizeof(big));
    assert_int_equal(hv_synic_post_message(&vm->part, 0, VMBUS_SINT, 1, 0, big, sizeof(big)),
                     HV_OK);
    assert_int_equal(slot(vm, 0, VMBUS_SINT)->payload_size, HV_MESSAGE_PAYLOAD_MAX);
    assert_memory_equal(slot(vm, 0, VMBUS_SINT)->payload, big, sizeof(big));
    guest_ack(vm, 0, VMBUS_SINT);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 0x01020304), HV_OK);
    /* The short message does not carry the long one's bytes along. */
    const uint8_t *pl = slot(vm, 0, VMBUS_SINT)->payload;
    for (uint32_t i = 4; i < HV_MESSAGE_PAYLOAD_MAX; i++)
        assert_int_equal(pl[i], 0);
    fake_vm_free(vm);
}

static void test_post_zero_payload(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, VMBUS_SINT, 9, 0, NULL, 0), HV_OK);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 9);
    assert_int_equal(slot(vm, 0, VMBUS_SINT)->payload_size, 0);
    fake_vm_free(vm);
}

static void test_post_argument_checks(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 2);
    uint8_t pl[HV_MESSAGE_PAYLOAD_MAX + 1] = { 0 };
    assert_int_equal(hv_synic_post_message(&vm->part, 2, 0, 1, 0, pl, 4), HV_ERR_NOENT);
    assert_int_equal(hv_synic_post_message(&vm->part, 0xFFFFFFFFu, 0, 1, 0, pl, 4),
                     HV_ERR_NOENT);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 16, 1, 0, pl, 4), HV_ERR_NOENT);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 0xFFFFFFFFu, 1, 0, pl, 4),
                     HV_ERR_NOENT);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 2, HVMSG_NONE, 0, pl, 4),
                     HV_ERR_INVAL);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 2, 1, 0, pl, 241), HV_ERR_INVAL);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 2, 1, 0, pl, 0xFFFFFFFFu),
                     HV_ERR_INVAL);
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 2, 1, 0, NULL, 8), HV_ERR_INVAL);
    assert_int_equal(vm->host.nr_irqs, 0);
    assert_int_equal(slot_type(vm, 0, 2), HVMSG_NONE);
    assert_int_equal(queued_count(vm, 0), 0);
    fake_vm_free(vm);
}

static void test_post_without_synic_feature(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(F(HYPERCALL) | F(VP_INDEX), 1);
    uint32_t tag = 1;
    assert_int_equal(hv_synic_post_message(&vm->part, 0, 2, 1, 0, &tag, 4), HV_ERR_DISABLED);
    assert_int_equal(queued_count(vm, 0), 0);
    fake_vm_free(vm);
}

static void test_busy_slot_sets_msg_pending_and_queues(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 1), HV_OK);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 2), HV_OK);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 1);     /* occupant untouched */
    assert_int_equal(slot(vm, 0, VMBUS_SINT)->flags & HV_MESSAGE_FLAG_PENDING, 1);
    assert_int_equal(queued_count(vm, 0), 1);
    assert_int_equal(vm->vps[0].eom_wanted, 1u << VMBUS_SINT);
    assert_int_equal(vm->host.nr_irqs, 1);                /* no interrupt for a queued one */
    assert_int_equal(vm->host.last_trace[2], 1);          /* queued */
    fake_vm_free(vm);
}

static void test_eom_redelivers_next_message(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    assert_true(guest_ack(vm, 0, VMBUS_SINT));            /* pending seen: EOM */
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    assert_int_equal(slot(vm, 0, VMBUS_SINT)->flags, 0);  /* nothing more behind it */
    assert_int_equal(vm->host.nr_irqs, 2);
    assert_int_equal(queued_count(vm, 0), 0);
    assert_int_equal(vm->vps[0].eom_wanted, 0);
    assert_int_equal(vm->host.slot_freed[0][VMBUS_SINT], 1);
    assert_false(guest_ack(vm, 0, VMBUS_SINT));           /* no pending: no EOM */
    fake_vm_free(vm);
}

static void test_fifo_order_through_acks(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    for (uint32_t t = 1; t <= 5; t++)
        assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, t), HV_OK);
    for (uint32_t t = 1; t <= 5; t++) {
        assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), t);
        /* Every message with more behind it carries msg_pending. */
        bool eom = guest_ack(vm, 0, VMBUS_SINT);
        assert_int_equal(eom, t < 5);
    }
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    assert_int_equal(vm->host.nr_irqs, 5);
    assert_int_equal(vm->host.slot_freed[0][VMBUS_SINT], 4);
    fake_vm_free(vm);
}

static void test_fifo_kept_when_slot_frees_without_eom(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    /* The guest frees the slot but skips EOM; a newer post must not jump
     * ahead of the queued message. */
    __atomic_store_n(&slot(vm, 0, VMBUS_SINT)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    post_tagged(vm, 0, VMBUS_SINT, 3);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    assert_true(guest_ack(vm, 0, VMBUS_SINT));
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 3);
    fake_vm_free(vm);
}

/* A host that cannot see EOIs is told when work waits behind a busy slot,
 * and polls until hv_vp_slot_waiters() says nothing does (TLFS 11.4: an
 * EOI alone must bring the next message). */
static void test_slot_wait_told_and_poll_delivers(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    assert_int_equal(vm->host.slot_waits[0], 0);          /* written: nothing waits */
    assert_int_equal(hv_vp_slot_waiters(&vm->vps[0]), 0);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    assert_int_equal(vm->host.slot_waits[0], 1);
    assert_int_equal(hv_vp_slot_waiters(&vm->vps[0]), 1u << VMBUS_SINT);
    hv_vp_poll(&vm->vps[0]);                              /* slot still busy */
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(hv_vp_slot_waiters(&vm->vps[0]), 1u << VMBUS_SINT);
    /* The guest frees the slot and EOIs, no EOM. */
    __atomic_store_n(&slot(vm, 0, VMBUS_SINT)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    assert_int_equal(hv_vp_slot_waiters(&vm->vps[0]), 0);
    assert_int_equal(vm->host.nr_irqs, 2);
    fake_vm_free(vm);
}

static void test_slot_waiters_ignores_disabled_synic(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    assert_int_equal(hv_msr_write(&vm->vps[0], HV_MSR_SCONTROL, 0), HV_MSR_OK);
    /* Nothing can be delivered until the guest enables the SynIC again,
     * which it does by an MSR write the host sees: no polling needed. */
    assert_int_equal(hv_vp_slot_waiters(&vm->vps[0]), 0);
    assert_int_equal(hv_vp_slot_waiters(NULL), 0);
    fake_vm_free(vm);
}

/* A guest CPU that frees the slot (without EOM, as it saw no msg_pending)
 * at the moment the host is between retrying older work and writing the
 * new message. The trace hook runs under the VP lock at exactly that
 * point: when a blocked stimer expiry is retried. */
static struct fake_vm *g_racing_vm;

static void guest_frees_slot_on_blocked_timer(void *ctx, uint32_t vp, enum hv_trace_kind kind,
                                              uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    (void)ctx; (void)a0; (void)a2; (void)a3;
    if (kind == HV_TRACE_STIMER && a1 == HV_STIMER_TRACE_BLOCKED)
        __atomic_store_n(&slot(g_racing_vm, vp, VMBUS_SINT)->message_type, HVMSG_NONE,
                         __ATOMIC_SEQ_CST);
}

static void test_new_message_never_overtakes_waiting_timer(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(F(STIMER), 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);                       /* slot taken */
    fake_advance_ns(vm, 1000);
    fake_wrmsr(vm, 0, HV_MSR_STIMER0_CONFIG, 0x20009);       /* one-shot, SINT2 */
    fake_wrmsr(vm, 0, HV_MSR_STIMER0_CONFIG + 1, 1);         /* already due: blocked */
    assert_true(vm->vps[0].stimer[0].pending);
    g_racing_vm = vm;
    vm->ops.trace = guest_frees_slot_on_blocked_timer;
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 2), HV_OK);
    vm->ops.trace = NULL;
    /* The slot came free too late for the timer; the new message must
     * still wait behind it. */
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    assert_int_equal(queued_count(vm, 0), 1);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_TIMER_EXPIRED);
    assert_true(guest_ack(vm, 0, VMBUS_SINT));
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    fake_vm_free(vm);
}

static void test_queue_full_busy_and_slot_freed(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 5, 0x55);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 0), HV_OK);        /* in the slot */
    for (uint32_t i = 1; i <= HV_MSG_QUEUE_DEPTH; i++)
        assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, i), HV_OK);    /* queued */
    assert_int_equal(queued_count(vm, 0), HV_MSG_QUEUE_DEPTH);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 99), HV_ERR_BUSY);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_SYNIC_MSG);
    assert_int_equal(vm->host.last_trace[2], 2);                        /* dropped */
    /* The queue is shared: another SINT's slot is free but the queue is
     * not needed for it... */
    assert_int_equal(post_tagged(vm, 0, 5, 50), HV_OK);
    assert_int_equal(slot_tag(vm, 0, 5), 50);
    /* ...until that slot is busy too. */
    assert_int_equal(post_tagged(vm, 0, 5, 51), HV_ERR_BUSY);
    assert_int_equal(vm->host.slot_freed[0][VMBUS_SINT], 0);
    assert_true(guest_ack(vm, 0, VMBUS_SINT));
    /* One entry freed: its SINT and the refused SINT 5 both hear of it. */
    assert_int_equal(vm->host.slot_freed[0][VMBUS_SINT], 1);
    assert_int_equal(vm->host.slot_freed[0][5], 1);
    assert_int_equal(post_tagged(vm, 0, 5, 51), HV_OK);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 99), HV_ERR_BUSY);
    fake_vm_free(vm);
}

static void test_slot_freed_not_called_for_direct_write(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    guest_ack(vm, 0, VMBUS_SINT);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    guest_ack(vm, 0, VMBUS_SINT);
    assert_int_equal(vm->host.slot_freed[0][VMBUS_SINT], 0);
    fake_vm_free(vm);
}

static void test_slot_freed_op_optional(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    vm->ops.message_slot_freed = NULL;
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    assert_true(guest_ack(vm, 0, VMBUS_SINT));
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    fake_vm_free(vm);
}

static void test_sints_have_separate_slots(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 3, 0x60);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);      /* SINT2 busy */
    assert_int_equal(post_tagged(vm, 0, 3, 3), HV_OK);
    assert_int_equal(slot_tag(vm, 0, 3), 3);
    assert_int_equal(slot(vm, 0, 3)->flags, 0);
    assert_int_equal(vm->host.nr_irqs, 2);
    assert_int_equal(vm->host.irqs[1].vector, 0x60);
    fake_vm_free(vm);
}

static void test_eoi_redelivers(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    guest_enable_synic(vm, 0, VMBUS_SINT, VMBUS_VECTOR, false);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 4, 0x70);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    /* Freed without EOM (as a guest that missed msg_pending would). */
    __atomic_store_n(&slot(vm, 0, VMBUS_SINT)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    hv_synic_eoi(&vm->vps[0], 0x70);                /* another SINT's vector */
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    hv_synic_eoi(&vm->vps[0], VMBUS_VECTOR);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    assert_int_equal(vm->host.nr_irqs, 2);
    hv_synic_eoi(NULL, VMBUS_VECTOR);               /* tolerated */
    fake_vm_free(vm);
}

static void test_eoi_of_masked_sint_vector_ignored(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, HV_SINT_MASKED | VMBUS_VECTOR);
    __atomic_store_n(&slot(vm, 0, VMBUS_SINT)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    hv_synic_eoi(&vm->vps[0], VMBUS_VECTOR);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    assert_int_equal(queued_count(vm, 0), 1);
    fake_vm_free(vm);
}

static void test_vp_poll_redelivers(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    hv_vp_poll(&vm->vps[0]);                        /* slot still busy: nothing moves */
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(queued_count(vm, 0), 1);
    __atomic_store_n(&slot(vm, 0, VMBUS_SINT)->message_type, HVMSG_NONE, __ATOMIC_SEQ_CST);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    assert_int_equal(queued_count(vm, 0), 0);
    assert_int_equal(vm->host.slot_freed[0][VMBUS_SINT], 1);
    hv_vp_poll(NULL);
    fake_vm_free(vm);
}

/* TLFS "SynIC Messages": the message is copied into a free slot; "if the
 * SINTx is masked, the interrupt is lost". Unmasking raises nothing. */
static void test_masked_sint_message_written_interrupt_lost(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, HV_SINT_MASKED | VMBUS_VECTOR);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 1), HV_OK);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(queued_count(vm, 0), 0);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, VMBUS_VECTOR);
    assert_int_equal(vm->host.nr_irqs, 0);
    /* a second message waits behind the first as usual */
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 2), HV_OK);
    assert_int_equal(queued_count(vm, 0), 1);
    fake_vm_free(vm);
}

static void test_polling_sint_writes_without_interrupt(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(F(SINT_POLLING), 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 6, HV_SINT_POLLING | HV_SINT_MASKED | 0x66);
    assert_int_equal(post_tagged(vm, 0, 6, 1), HV_OK);
    assert_int_equal(slot_tag(vm, 0, 6), 1);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 7, HV_SINT_POLLING | 0x67);   /* unmasked polling */
    assert_int_equal(post_tagged(vm, 0, 7, 2), HV_OK);
    assert_int_equal(slot_tag(vm, 0, 7), 2);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_synic_disabled_queues_until_scontrol(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 0);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 1), HV_OK);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 2), HV_OK);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    assert_int_equal(vm->host.nr_irqs, 0);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 1);
    assert_true(slot(vm, 0, VMBUS_SINT)->flags & HV_MESSAGE_FLAG_PENDING);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_true(guest_ack(vm, 0, VMBUS_SINT));
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    fake_vm_free(vm);
}

static void test_simp_disabled_queues_until_enable(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, VMBUS_VECTOR);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 4), HV_OK);
    assert_int_equal(queued_count(vm, 0), 1);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, simp_gpa(0) | 1);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 4);
    assert_int_equal(vm->host.nr_irqs, 1);
    fake_vm_free(vm);
}

static void test_simp_move_redelivers_to_fresh_page(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    fake_wrmsr(vm, 0, HV_MSR_SIMP, PAGE(40) | 1);
    struct hv_message *m = fake_gpa_ptr(vm, PAGE(40) + VMBUS_SINT * HV_MESSAGE_SIZE);
    uint32_t tag;
    memcpy(&tag, m->payload, 4);
    assert_int_equal(m->message_type, 1);
    assert_int_equal(tag, 2);
    assert_int_equal(queued_count(vm, 0), 0);
    fake_vm_free(vm);
}

static void test_messages_per_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 3);
    assert_int_equal(post_tagged(vm, 2, VMBUS_SINT, 22), HV_OK);
    assert_int_equal(slot_tag(vm, 2, VMBUS_SINT), 22);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), HVMSG_NONE);
    assert_int_equal(slot_type(vm, 1, VMBUS_SINT), HVMSG_NONE);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vp, 2);
    /* VP 1's busy slot does not affect VP 0. */
    post_tagged(vm, 1, VMBUS_SINT, 10);
    post_tagged(vm, 1, VMBUS_SINT, 11);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 0), HV_OK);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 0);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(queued_count(vm, 1), 1);
    assert_int_equal(queued_count(vm, 0), 0);
    fake_vm_free(vm);
}

static void test_guest_garbage_type_blocks_only_its_slot(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 3, 0x33);
    /* A hostile guest scribbles over its own slot header. */
    memset(slot(vm, 0, VMBUS_SINT), 0xFF, HV_MESSAGE_SIZE);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 1), HV_OK);
    assert_int_equal(queued_count(vm, 0), 1);
    assert_int_equal(post_tagged(vm, 0, 3, 3), HV_OK);
    assert_int_equal(slot_tag(vm, 0, 3), 3);
    /* EOM storms change nothing while the slot stays "busy". */
    for (int i = 0; i < 100; i++)
        fake_wrmsr(vm, 0, HV_MSR_EOM, 0);
    assert_int_equal(queued_count(vm, 0), 1);
    fake_vm_free(vm);
}

/* Every trace record of a run, in order. */
struct trace_rec {
    enum hv_trace_kind kind;
    uint64_t a[4];
};
static struct trace_rec g_traces[256];
static uint32_t g_nr_traces;

static void record_trace(void *ctx, uint32_t vp, enum hv_trace_kind kind, uint64_t a0,
                         uint64_t a1, uint64_t a2, uint64_t a3)
{
    (void)ctx; (void)vp;
    if (g_nr_traces < HV_ARRAY_SIZE(g_traces))
        g_traces[g_nr_traces++] = (struct trace_rec){ kind, { a0, a1, a2, a3 } };
}

static const struct trace_rec *find_trace(enum hv_trace_kind kind)
{
    for (uint32_t i = 0; i < g_nr_traces; i++)
        if (g_traces[i].kind == kind)
            return &g_traces[i];
    return NULL;
}

static void test_eom_traces_waiting_sints(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 9, 0x99);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    post_tagged(vm, 0, 9, 1);
    post_tagged(vm, 0, 9, 2);
    g_nr_traces = 0;
    vm->ops.trace = record_trace;
    guest_ack(vm, 0, VMBUS_SINT);
    const struct trace_rec *t = find_trace(HV_TRACE_SYNIC_EOM);
    assert_non_null(t);
    assert_int_equal(t->a[0], (1u << VMBUS_SINT) | (1u << 9));
    /* The EOM moved the queued SINT2 message into its slot. */
    t = find_trace(HV_TRACE_SYNIC_MSG);
    assert_non_null(t);
    assert_int_equal(t->a[0], VMBUS_SINT);
    assert_int_equal(t->a[2], 0);
    vm->ops.trace = NULL;       /* also fine with no trace op at all */
    guest_ack(vm, 0, 9);
    assert_int_equal(slot_tag(vm, 0, 9), 2);
    fake_vm_free(vm);
}

/* ---------------------------------------------------------- event flags */

static bool flag_is_set(struct fake_vm *vm, uint32_t vp, uint32_t sint, uint32_t flag)
{
    return (flags_area(vm, vp, sint)[flag / 8] >> (flag % 8)) & 1;
}

static void test_signal_sets_flag_and_raises(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    uint64_t before = fake_stats(vm).synic_events;
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 13), 1);
    assert_true(flag_is_set(vm, 0, VMBUS_SINT, 13));
    assert_int_equal(flags_area(vm, 0, VMBUS_SINT)[1], 1u << 5);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.irqs[0].vector, VMBUS_VECTOR);
    assert_true(vm->host.irqs[0].auto_eoi);
    assert_int_equal(fake_stats(vm).synic_events, before + 1);
    assert_int_equal(vm->host.last_trace_kind, HV_TRACE_SYNIC_EVENT);
    assert_int_equal(vm->host.last_trace[1], 13);
    assert_int_equal(vm->host.last_trace[2], 1);
    fake_vm_free(vm);
}

static void test_signal_already_set_no_interrupt(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 1), 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 1), 0);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 1), 0);
    assert_int_equal(vm->host.nr_irqs, 1);
    assert_int_equal(vm->host.last_trace[2], 0);
    /* The guest consumes it; the next signal raises again. */
    __atomic_fetch_and(&flags_area(vm, 0, VMBUS_SINT)[0], (uint8_t)~2u, __ATOMIC_SEQ_CST);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 1), 1);
    assert_int_equal(vm->host.nr_irqs, 2);
    fake_vm_free(vm);
}

static void test_signal_other_flag_raises_again(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 1), 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 64), 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 65), 1);
    assert_int_equal(vm->host.nr_irqs, 3);
    assert_int_equal(flags_area(vm, 0, VMBUS_SINT)[8], 3);
    fake_vm_free(vm);
}

static void test_signal_flag_limits(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 3, 0x40);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 2047), 1);
    assert_int_equal(flags_area(vm, 0, VMBUS_SINT)[255], 0x80);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 2048), HV_ERR_INVAL);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 0xFFFFFFFFu),
                     HV_ERR_INVAL);
    /* Nothing spilled into the next SINT's area. */
    for (uint32_t i = 0; i < HV_EVENT_FLAGS_BYTES; i++)
        assert_int_equal(flags_area(vm, 0, 3)[i], 0);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, 15, 2047), 1);
    assert_int_equal(*(uint8_t *)fake_gpa_ptr(vm, siefp_gpa(0) + HV_PAGE_SIZE - 1), 0x80);
    assert_int_equal(*(uint8_t *)fake_gpa_ptr(vm, siefp_gpa(0) + HV_PAGE_SIZE), 0);
    fake_vm_free(vm);
}

static void test_signal_flag_zero(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, 0, 0), 1);   /* SINT0 masked */
    assert_int_equal(flags_area(vm, 0, 0)[0], 1);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_signal_disabled_cases(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 0);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 5), HV_ERR_DISABLED);
    assert_false(flag_is_set(vm, 0, VMBUS_SINT, 5));
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, siefp_gpa(0));   /* disabled */
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 5), HV_ERR_DISABLED);
    assert_false(flag_is_set(vm, 0, VMBUS_SINT, 5));
    fake_wrmsr(vm, 0, HV_MSR_SIEFP, fake_hole_gpa(vm) | 1);   /* not RAM */
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 5), HV_ERR_DISABLED);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_signal_argument_checks(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 1, VMBUS_SINT, 0), HV_ERR_NOENT);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, 16, 0), HV_ERR_NOENT);
    fake_vm_free(vm);
    vm = fake_vm_new(F(HYPERCALL), 1);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, 2, 0), HV_ERR_DISABLED);
    fake_vm_free(vm);
}

static void test_signal_masked_sets_flag_interrupt_lost(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, HV_SINT_MASKED | VMBUS_VECTOR);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 9), 1);
    assert_true(flag_is_set(vm, 0, VMBUS_SINT, 9));
    assert_int_equal(vm->host.nr_irqs, 0);
    /* the interrupt was lost; unmasking does not bring it back */
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, VMBUS_VECTOR);
    assert_int_equal(vm->host.nr_irqs, 0);
    /* the next 0->1 transition raises as usual */
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 10), 1);
    assert_int_equal(vm->host.nr_irqs, 1);
    fake_vm_free(vm);
}

static void test_unmask_without_flags_raises_nothing(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 4, HV_SINT_MASKED | 0x44);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 4, 0x44);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_signal_polling_sint_no_interrupt(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(F(SINT_POLLING), 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 8, HV_SINT_POLLING | 0x48);
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, 8, 100), 1);
    assert_true(flag_is_set(vm, 0, 8, 100));
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

static void test_signal_on_other_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 2);
    assert_int_equal(hv_synic_signal_event(&vm->part, 1, VMBUS_SINT, 0), 1);
    assert_true(flag_is_set(vm, 1, VMBUS_SINT, 0));
    assert_false(flag_is_set(vm, 0, VMBUS_SINT, 0));
    assert_int_equal(vm->host.irqs[0].vp, 1);
    fake_vm_free(vm);
}

/* ------------------------------------------------------------- AutoEOI */

static void test_auto_eoi_vector_query(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    assert_true(hv_synic_is_auto_eoi_vector(&vm->vps[0], VMBUS_VECTOR));
    assert_false(hv_synic_is_auto_eoi_vector(&vm->vps[0], 0xF4));
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 5, 0x80);                      /* no auto_eoi */
    assert_false(hv_synic_is_auto_eoi_vector(&vm->vps[0], 0x80));
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT,
               HV_SINT_MASKED | HV_SINT_AUTO_EOI | VMBUS_VECTOR);   /* masked */
    assert_false(hv_synic_is_auto_eoi_vector(&vm->vps[0], VMBUS_VECTOR));
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + 9, HV_SINT_AUTO_EOI | VMBUS_VECTOR);
    assert_true(hv_synic_is_auto_eoi_vector(&vm->vps[0], VMBUS_VECTOR));
    assert_false(hv_synic_is_auto_eoi_vector(NULL, VMBUS_VECTOR));
    /* Power-on SINTs are masked with vector 0: vector 0 is not AutoEOI. */
    struct fake_vm *fresh = fake_vm_new(SYNIC_F, 1);
    assert_false(hv_synic_is_auto_eoi_vector(&fresh->vps[0], 0));
    fake_vm_free(fresh);
    fake_vm_free(vm);
}

static void test_auto_eoi_per_vp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 2);
    guest_enable_synic(vm, 0, VMBUS_SINT, VMBUS_VECTOR, true);
    guest_enable_synic(vm, 1, VMBUS_SINT, VMBUS_VECTOR, false);
    assert_true(hv_synic_is_auto_eoi_vector(&vm->vps[0], VMBUS_VECTOR));
    assert_false(hv_synic_is_auto_eoi_vector(&vm->vps[1], VMBUS_VECTOR));
    fake_vm_free(vm);
}

/* ----------------------------------------------------------- life cycle */

static void test_destroy_unmaps_idempotent(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 2);
    assert_int_equal(vm->host.maps, 4);
    hv_partition_destroy(&vm->part);
    assert_int_equal(vm->host.unmaps, 4);
    assert_null(vm->vps[0].simp_page);
    assert_null(vm->vps[1].siefp_page);
    hv_partition_destroy(&vm->part);
    assert_int_equal(vm->host.unmaps, 4);
    /* Late senders after destroy find no page and touch nothing. */
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 1), HV_ERR_DISABLED);
    fake_vm_free(vm);
}

static void test_reset_back_to_power_on(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);
    hv_partition_reset(&vm->part);
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SCONTROL), 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SIMP), 0);
    assert_int_equal(fake_rdmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT), HV_SINT_MASKED);
    assert_int_equal(queued_count(vm, 0), 0);
    /* And it works again afterwards. */
    guest_enable_synic(vm, 0, VMBUS_SINT, VMBUS_VECTOR, true);
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 3), HV_OK);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 3);
    fake_vm_free(vm);
}

static void test_restore_remaps_without_zeroing(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    uint8_t blob[8192];
    post_tagged(vm, 0, VMBUS_SINT, 1);
    post_tagged(vm, 0, VMBUS_SINT, 2);          /* queued behind 1 */
    assert_int_equal(hv_synic_signal_event(&vm->part, 0, VMBUS_SINT, 3), 1);
    long n = hv_vp_save(&vm->vps[0], blob, sizeof(blob));
    assert_true(n > 0);
    fake_clear_irqs(vm);
    uint32_t kicks = vm->host.kicks[0];
    assert_int_equal(hv_vp_load(&vm->vps[0], blob, (size_t)n), HV_OK);
    /* Same pages, contents kept: the message in the slot and the flag. */
    assert_ptr_equal(vm->vps[0].simp_page, fake_gpa_ptr(vm, simp_gpa(0)));
    assert_ptr_equal(vm->vps[0].siefp_page, fake_gpa_ptr(vm, siefp_gpa(0)));
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 1);
    assert_true(flag_is_set(vm, 0, VMBUS_SINT, 3));
    assert_int_equal(vm->host.nr_irqs, 0);         /* nothing re-raised by the load */
    assert_int_equal(queued_count(vm, 0), 1);
    assert_true(vm->host.kicks[0] > kicks);         /* but the VP is told to poll */
    assert_true(guest_ack(vm, 0, VMBUS_SINT));
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    fake_vm_free(vm);
}

static void test_restore_into_fresh_vm(void **s)
{
    (void)s;
    struct fake_vm *a = synic_vm(0, 1);
    uint8_t blob[8192];
    post_tagged(a, 0, VMBUS_SINT, 1);
    post_tagged(a, 0, VMBUS_SINT, 2);
    long n = hv_vp_save(&a->vps[0], blob, sizeof(blob));
    assert_true(n > 0);
    struct fake_vm *b = fake_vm_new(SYNIC_F, 1);
    memcpy(b->host.ram, a->host.ram, a->host.ram_size);   /* guest RAM travels too */
    assert_int_equal(hv_vp_load(&b->vps[0], blob, (size_t)n), HV_OK);
    assert_int_equal(b->host.maps, 2);
    assert_int_equal(slot_tag(b, 0, VMBUS_SINT), 1);
    assert_int_equal(b->host.nr_irqs, 0);
    hv_vp_poll(&b->vps[0]);                         /* slot busy: still queued */
    assert_int_equal(queued_count(b, 0), 1);
    assert_true(guest_ack(b, 0, VMBUS_SINT));
    assert_int_equal(slot_tag(b, 0, VMBUS_SINT), 2);
    assert_int_equal(b->host.nr_irqs, 1);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_restore_with_unmapped_simp(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(SYNIC_F, 1);
    uint8_t blob[8192];
    fake_wrmsr(vm, 0, HV_MSR_SIMP, fake_hole_gpa(vm) | 1);
    fake_wrmsr(vm, 0, HV_MSR_SINT0 + VMBUS_SINT, VMBUS_VECTOR);
    fake_wrmsr(vm, 0, HV_MSR_SCONTROL, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    long n = hv_vp_save(&vm->vps[0], blob, sizeof(blob));
    assert_int_equal(hv_vp_load(&vm->vps[0], blob, (size_t)n), HV_OK);
    assert_null(vm->vps[0].simp_page);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(queued_count(vm, 0), 1);
    fake_vm_free(vm);
}

static void test_restored_hook_drops_bad_queue_entries(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    /* State no loader should produce; the hook must not index with it. */
    vm->vps[0].queue[0].used = 1;
    vm->vps[0].queue[0].sint = 200;
    vm->vps[0].queue[0].msg.message_type = 1;
    vm->vps[0].queue[1].used = 1;
    vm->vps[0].queue[1].sint = 2;
    vm->vps[0].queue[1].msg.message_type = HVMSG_NONE;
    vm->vps[0].queue[2].used = 1;
    vm->vps[0].queue[2].sint = 2;
    vm->vps[0].queue[2].msg.message_type = 5;
    vm->vps[0].queue[2].msg.payload_size = 250;
    vm->vps[0].queue[3].used = 1;
    vm->vps[0].queue[3].sint = 2;
    vm->vps[0].queue[3].msg.message_type = 6;
    hv_synic_vp_restored(&vm->vps[0]);
    assert_int_equal(queued_count(vm, 0), 1);
    hv_vp_poll(&vm->vps[0]);
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 6);
    fake_vm_free(vm);
}

static void test_restored_sint_low_vector_not_injected(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    vm->vps[0].sint[VMBUS_SINT] = 2;   /* unmasked exception vector from a bad blob */
    assert_int_equal(post_tagged(vm, 0, VMBUS_SINT, 1), HV_OK);
    assert_int_equal(vm->host.nr_irqs, 0);
    fake_vm_free(vm);
}

/* ------------------------------------------------ the msg_pending race */

/*
 * The guest frees a slot and reads msg_pending between the host's look at
 * the slot type and its setting of msg_pending: the guest saw no flag, so
 * it will not EOM, and the host must notice the free slot itself. To hit
 * that instant every time, the host page under the slot is made read-only:
 * the host's atomic OR on the flags faults, the handler plays the guest CPU
 * (frees the slot, sees no msg_pending), unprotects, and the OR re-runs.
 */
static uint8_t *g_guard_page;
static size_t g_guard_len;
static struct hv_message *g_guard_slot;
static volatile sig_atomic_t g_guard_faults;
static volatile sig_atomic_t g_guest_saw_pending;

static void guest_frees_slot_on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uint8_t *a = si->si_addr;
    if (a < g_guard_page || a >= g_guard_page + g_guard_len) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    mprotect(g_guard_page, g_guard_len, PROT_READ | PROT_WRITE);
    /* Same thread as the faulting access, so plain volatile accesses are
     * ordered; atomics here would re-enter TSan's wrapper of that access. */
    *(volatile uint32_t *)&g_guard_slot->message_type = HVMSG_NONE;
    g_guest_saw_pending = *(volatile uint8_t *)&g_guard_slot->flags & HV_MESSAGE_FLAG_PENDING;
    g_guard_faults++;
}

static void test_slot_freed_while_host_flags_it(void **s)
{
    (void)s;
    struct fake_vm *vm = synic_vm(0, 1);
    post_tagged(vm, 0, VMBUS_SINT, 1);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    g_guard_slot = slot(vm, 0, VMBUS_SINT);
    g_guard_page = (uint8_t *)((uintptr_t)&g_guard_slot->flags & ~(uintptr_t)(pg - 1));
    g_guard_len = pg;
    g_guard_faults = 0;
    g_guest_saw_pending = 0;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = guest_frees_slot_on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
    assert_int_equal(mprotect(g_guard_page, g_guard_len, PROT_READ), 0);

    int rc = post_tagged(vm, 0, VMBUS_SINT, 2);

    mprotect(g_guard_page, g_guard_len, PROT_READ | PROT_WRITE);
    sigaction(SIGSEGV, &old, NULL);
    assert_int_equal(rc, HV_OK);
    assert_int_equal(g_guard_faults, 1);        /* the interleaving happened */
    assert_false(g_guest_saw_pending);           /* so the guest will never EOM */
    /* The host looked again and used the free slot. */
    assert_int_equal(slot_type(vm, 0, VMBUS_SINT), 1);
    assert_int_equal(slot_tag(vm, 0, VMBUS_SINT), 2);
    assert_int_equal(queued_count(vm, 0), 0);
    assert_int_equal(vm->host.nr_irqs, 2);
    fake_vm_free(vm);
}

/* -------------------------------------------------- two-thread protocol */

struct stress {
    struct fake_vm *vm;
    uint32_t messages;
    uint32_t events_newly;       /* signals that returned 1 */
    uint32_t busy;               /* HV_ERR_BUSY retries */
    uint32_t irqs;
    uint32_t freed;
    uint32_t errors;             /* unexpected results seen by the sender */
};

static struct stress *g_stress;

static void stress_irq(void *ctx, uint32_t vp, uint8_t vector, bool auto_eoi)
{
    (void)ctx; (void)vp; (void)vector; (void)auto_eoi;
    __atomic_fetch_add(&g_stress->irqs, 1, __ATOMIC_RELAXED);
}

static void stress_freed(void *ctx, uint32_t vp, uint32_t sint)
{
    (void)ctx; (void)vp; (void)sint;
    __atomic_fetch_add(&g_stress->freed, 1, __ATOMIC_RELAXED);
}

static void *stress_sender(void *arg)
{
    struct stress *st = arg;
    for (uint32_t i = 0; i < st->messages; i++) {
        int rc;
        while ((rc = post_tagged(st->vm, 0, VMBUS_SINT, i)) == HV_ERR_BUSY) {
            __atomic_fetch_add(&st->busy, 1, __ATOMIC_RELAXED);
            sched_yield();
        }
        /* cmocka asserts belong to the main thread: count, check later. */
        if (rc != HV_OK)
            __atomic_fetch_add(&st->errors, 1, __ATOMIC_RELAXED);
        int ev = hv_synic_signal_event(&st->vm->part, 0, VMBUS_SINT, i % 128);
        if (ev != 0 && ev != 1)
            __atomic_fetch_add(&st->errors, 1, __ATOMIC_RELAXED);
        if (ev == 1)
            __atomic_fetch_add(&st->events_newly, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The sender posts and signals from its own thread while this thread is
 * the guest: it takes messages in order, frees the slot as Linux does and
 * EOMs only when msg_pending says so, and never polls. Every message must
 * arrive exactly once and in order, and every flag the host newly set must
 * be consumed exactly once: a lost msg_pending would stall the run. */
static void test_two_thread_slot_protocol(void **s)
{
    (void)s;
    struct stress st = { .messages = 20000 };
    st.vm = synic_vm(0, 1);
    g_stress = &st;
    st.vm->ops.irq_inject = stress_irq;
    st.vm->ops.message_slot_freed = stress_freed;
    st.vm->ops.trace = NULL;   /* the fake's trace counters are not thread-safe */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stress_sender, &st), 0);

    struct hv_message *m = slot(st.vm, 0, VMBUS_SINT);
    uint64_t *flags = (uint64_t *)flags_area(st.vm, 0, VMBUS_SINT);
    uint32_t expect = 0, consumed = 0;
    uint64_t last_progress = mono_ns();
    while (expect < st.messages) {
        for (uint32_t w = 0; w < 2; w++)
            consumed += (uint32_t)__builtin_popcountll(
                __atomic_exchange_n(&flags[w], 0, __ATOMIC_SEQ_CST));
        uint32_t type = __atomic_load_n(&m->message_type, __ATOMIC_ACQUIRE);
        if (type == HVMSG_NONE) {
            assert_true(mono_ns() - last_progress < 5000000000ull);   /* stalled */
            sched_yield();
            continue;
        }
        assert_int_equal(type, 1);
        assert_int_equal(slot_tag(st.vm, 0, VMBUS_SINT), expect);
        expect++;
        last_progress = mono_ns();
        guest_ack(st.vm, 0, VMBUS_SINT);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(st.errors, 0);
    for (uint32_t w = 0; w < 2; w++)
        consumed += (uint32_t)__builtin_popcountll(
            __atomic_exchange_n(&flags[w], 0, __ATOMIC_SEQ_CST));
    assert_int_equal(consumed, st.events_newly);
    assert_int_equal(queued_count(st.vm, 0), 0);
    assert_true(st.irqs >= st.messages);
    print_message("two-thread run: %u messages, %u flags, %u busy retries, %u slot-freed\n",
                  st.messages, st.events_newly, st.busy, st.freed);
    fake_vm_free(st.vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_msrs_gp_without_synic),
        cmocka_unit_test(test_power_on_values),
        cmocka_unit_test(test_neighbouring_msrs_not_synic),
        cmocka_unit_test(test_scontrol_only_bit0),
        cmocka_unit_test(test_sversion_read_only),
        cmocka_unit_test(test_eom_accepts_anything_reads_zero),
        cmocka_unit_test(test_page_msr_reserved_bits_preserved),
        cmocka_unit_test(test_simp_enable_maps_and_zeroes),
        cmocka_unit_test(test_siefp_enable_maps_and_zeroes),
        cmocka_unit_test(test_page_rewrite_same_value_keeps_contents),
        cmocka_unit_test(test_simp_move_remaps_and_zeroes_new),
        cmocka_unit_test(test_page_disable_unmaps_keeps_value),
        cmocka_unit_test(test_page_in_hole_accepted_not_mapped),
        cmocka_unit_test(test_xsa472_post_to_unmapped_simp_queues),
        cmocka_unit_test(test_sint_reserved_bits_gp),
        cmocka_unit_test(test_sint_low_vector_unmasked_gp),
        cmocka_unit_test(test_sint_masked_any_vector),
        cmocka_unit_test(test_sint_polling_needs_feature),
        cmocka_unit_test(test_sints_independent),
        cmocka_unit_test(test_linux_enable_sequence),
        cmocka_unit_test(test_post_into_free_slot),
        cmocka_unit_test(test_post_without_auto_eoi),
        cmocka_unit_test(test_post_full_payload_and_stale_tail_cleared),
        cmocka_unit_test(test_post_zero_payload),
        cmocka_unit_test(test_post_argument_checks),
        cmocka_unit_test(test_post_without_synic_feature),
        cmocka_unit_test(test_busy_slot_sets_msg_pending_and_queues),
        cmocka_unit_test(test_eom_redelivers_next_message),
        cmocka_unit_test(test_fifo_order_through_acks),
        cmocka_unit_test(test_fifo_kept_when_slot_frees_without_eom),
        cmocka_unit_test(test_slot_wait_told_and_poll_delivers),
        cmocka_unit_test(test_slot_waiters_ignores_disabled_synic),
        cmocka_unit_test(test_new_message_never_overtakes_waiting_timer),
        cmocka_unit_test(test_queue_full_busy_and_slot_freed),
        cmocka_unit_test(test_slot_freed_not_called_for_direct_write),
        cmocka_unit_test(test_slot_freed_op_optional),
        cmocka_unit_test(test_sints_have_separate_slots),
        cmocka_unit_test(test_eoi_redelivers),
        cmocka_unit_test(test_eoi_of_masked_sint_vector_ignored),
        cmocka_unit_test(test_vp_poll_redelivers),
        cmocka_unit_test(test_masked_sint_message_written_interrupt_lost),
        cmocka_unit_test(test_polling_sint_writes_without_interrupt),
        cmocka_unit_test(test_synic_disabled_queues_until_scontrol),
        cmocka_unit_test(test_simp_disabled_queues_until_enable),
        cmocka_unit_test(test_simp_move_redelivers_to_fresh_page),
        cmocka_unit_test(test_messages_per_vp),
        cmocka_unit_test(test_guest_garbage_type_blocks_only_its_slot),
        cmocka_unit_test(test_eom_traces_waiting_sints),
        cmocka_unit_test(test_signal_sets_flag_and_raises),
        cmocka_unit_test(test_signal_already_set_no_interrupt),
        cmocka_unit_test(test_signal_other_flag_raises_again),
        cmocka_unit_test(test_signal_flag_limits),
        cmocka_unit_test(test_signal_flag_zero),
        cmocka_unit_test(test_signal_disabled_cases),
        cmocka_unit_test(test_signal_argument_checks),
        cmocka_unit_test(test_signal_masked_sets_flag_interrupt_lost),
        cmocka_unit_test(test_unmask_without_flags_raises_nothing),
        cmocka_unit_test(test_signal_polling_sint_no_interrupt),
        cmocka_unit_test(test_signal_on_other_vp),
        cmocka_unit_test(test_auto_eoi_vector_query),
        cmocka_unit_test(test_auto_eoi_per_vp),
        cmocka_unit_test(test_destroy_unmaps_idempotent),
        cmocka_unit_test(test_reset_back_to_power_on),
        cmocka_unit_test(test_restore_remaps_without_zeroing),
        cmocka_unit_test(test_restore_into_fresh_vm),
        cmocka_unit_test(test_restore_with_unmapped_simp),
        cmocka_unit_test(test_restored_hook_drops_bad_queue_entries),
        cmocka_unit_test(test_restored_sint_low_vector_not_injected),
        cmocka_unit_test(test_slot_freed_while_host_flags_it),
        cmocka_unit_test(test_two_thread_slot_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
