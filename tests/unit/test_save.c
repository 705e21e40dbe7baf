/* SPDX-License-Identifier: MIT */
/* Save/restore: round trips, time continuity, and the loader's refusal
 * of truncated, corrupt or mismatched blobs (with state untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define PAGE(n) ((uint64_t)(n) * HV_PAGE_SIZE)
#define OS_ID 0x8100000601C00000ull
#define HEADER 16

static uint32_t crc32(const uint8_t *d, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

/* Re-seal a hand-edited blob so only the field checks can catch it. */
static void reseal(uint8_t *blob, size_t len)
{
    uint32_t c = crc32(blob + HEADER, len - HEADER);
    memcpy(blob + 12, &c, 4);
}

static void put64(uint8_t *blob, size_t payload_off, uint64_t v)
{
    memcpy(blob + HEADER + payload_off, &v, 8);
}

struct snapshot {
    struct hv_partition part;
    struct hv_vp vps[FAKE_MAX_VPS];
};

static void snap(struct fake_vm *vm, struct snapshot *s)
{
    memcpy(&s->part, &vm->part, sizeof(s->part));
    memcpy(s->vps, vm->vps, sizeof(s->vps));
}

static void assert_unchanged(struct fake_vm *vm, const struct snapshot *s)
{
    assert_memory_equal(&s->part, &vm->part, sizeof(s->part));
    assert_memory_equal(s->vps, vm->vps, sizeof(s->vps));
}

static struct fake_vm *busy_vm(void)
{
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 2);
    fake_enable_hypercalls(vm, PAGE(3));
    fake_wrmsr(vm, 0, HV_MSR_REFERENCE_TSC, PAGE(4) | 1);
    for (uint32_t i = 0; i < 5; i++)
        fake_wrmsr(vm, 1, HV_MSR_CRASH_P0 + i, 100 + i);
    fake_wrmsr(vm, 0, HV_MSR_REENLIGHTENMENT_CONTROL,
               HV_REENLIGHTENMENT_ENABLE | 0xEE | (1ull << 32));
    fake_wrmsr(vm, 0, HV_MSR_TSC_EMULATION_CONTROL, 1);
    fake_wrmsr(vm, 0, HV_MSR_TSC_INVARIANT_CONTROL, 1);
    /* VP 1: SynIC with a message in the slot and one queued behind it */
    fake_wrmsr(vm, 1, HV_MSR_VP_ASSIST_PAGE, PAGE(5) | 1);
    fake_wrmsr(vm, 1, HV_MSR_SIMP, PAGE(6) | 1);
    fake_wrmsr(vm, 1, HV_MSR_SIEFP, PAGE(7) | 1);
    fake_wrmsr(vm, 1, HV_MSR_SINT0 + 2, 0xF3);
    fake_wrmsr(vm, 1, HV_MSR_SCONTROL, 1);
    uint8_t payload[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_int_equal(hv_synic_post_message(&vm->part, 1, 2, 1, 0, payload, 8), HV_OK);
    payload[0] = 0x42;
    assert_int_equal(hv_synic_post_message(&vm->part, 1, 2, 1, 0, payload, 8), HV_OK);
    /* a periodic timer in direct mode */
    fake_wrmsr(vm, 1, HV_MSR_STIMER0_CONFIG + 2, HV_STIMER_ENABLE | HV_STIMER_PERIODIC |
               HV_STIMER_DIRECT_MODE | (0xEDull << HV_STIMER_VECTOR_SHIFT));
    fake_wrmsr(vm, 1, HV_MSR_STIMER0_CONFIG + 3, 10000);
    fake_advance_ns(vm, 2500000);
    return vm;
}

static uint8_t *save_partition(struct fake_vm *vm, size_t *len)
{
    long need = hv_partition_save(&vm->part, NULL, 0);
    assert_true(need > HEADER);
    uint8_t *b = calloc(1, (size_t)need);
    assert_int_equal(hv_partition_save(&vm->part, b, (size_t)need), need);
    *len = (size_t)need;
    return b;
}

static uint8_t *save_vp(struct fake_vm *vm, uint32_t vp, size_t *len)
{
    long max = hv_vp_save(&vm->vps[vp], NULL, 0);
    assert_true(max > HEADER);
    uint8_t *b = calloc(1, (size_t)max);
    long n = hv_vp_save(&vm->vps[vp], b, (size_t)max);
    assert_true(n > HEADER && n <= max);
    *len = (size_t)n;
    return b;
}

static void test_partition_roundtrip(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t len;
    uint8_t *blob = save_partition(a, &len);
    uint64_t t_saved = fake_rdmsr(a, 0, HV_MSR_TIME_REF_COUNT);

    struct fake_vm *b = fake_vm_new(HV_FEATURES_ALL, 2);
    b->host.tsc += 987654321;              /* another host, another TSC */
    assert_int_equal(hv_partition_load(&b->part, blob, len), HV_OK);
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_GUEST_OS_ID), OS_ID);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_HYPERCALL), PAGE(3) | 1);
    assert_int_equal(b->host.hypercall_page_fills, 1);   /* this host's stub */
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_REFERENCE_TSC), PAGE(4) | 1);
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(fake_rdmsr(b, 0, HV_MSR_CRASH_P0 + i), 100 + i);
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_REENLIGHTENMENT_CONTROL),
                     HV_REENLIGHTENMENT_ENABLE | 0xEE | (1ull << 32));
    assert_int_equal(fake_rdmsr(b, 0, HV_MSR_TSC_EMULATION_CONTROL), 1);
    assert_true(hv_time_invariant_tsc_exposed(&b->part));
    /* reference time continues from the saved value */
    uint64_t t = fake_rdmsr(b, 0, HV_MSR_TIME_REF_COUNT);
    assert_true(t >= t_saved && t - t_saved <= 1);
    /* and the TSC page on the new host agrees with it */
    struct hv_reference_tsc_page pg;
    fake_read(b, PAGE(4), &pg, sizeof(pg));
    assert_int_not_equal(pg.tsc_sequence, 0);
    uint64_t from_page = (uint64_t)(((unsigned __int128)b->host.tsc * pg.tsc_scale) >> 64) +
                         (uint64_t)pg.tsc_offset;
    assert_int_equal(from_page, t);
    free(blob);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_vp_roundtrip(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t plen, vlen;
    uint8_t *pblob = save_partition(a, &plen);
    uint8_t *vblob = save_vp(a, 1, &vlen);

    struct fake_vm *b = fake_vm_new(HV_FEATURES_ALL, 2);
    assert_int_equal(hv_partition_load(&b->part, pblob, plen), HV_OK);
    assert_int_equal(hv_vp_load(&b->vps[1], vblob, vlen), HV_OK);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SCONTROL), 1);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SIMP), PAGE(6) | 1);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SIEFP), PAGE(7) | 1);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SINT0 + 2), 0xF3);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_VP_ASSIST_PAGE), PAGE(5) | 1);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_STIMER0_CONFIG + 3), 10000);
    /* the timer runs again on the new host */
    assert_true(b->host.timers[1][1].armed);
    /* guest memory travels separately: copy the slot the guest still holds */
    memcpy(fake_gpa_ptr(b, PAGE(6)), fake_gpa_ptr(a, PAGE(6)), HV_PAGE_SIZE);
    /* the queued message comes out after the guest frees the slot + EOM */
    struct hv_message *slot = fake_gpa_ptr(b, PAGE(6) + 2 * HV_MESSAGE_SIZE);
    assert_int_equal(slot->payload[0], 1);
    assert_true(slot->flags & HV_MESSAGE_FLAG_PENDING);
    slot->message_type = HVMSG_NONE;
    fake_wrmsr(b, 1, HV_MSR_EOM, 0);
    assert_int_equal(slot->message_type, 1);
    assert_int_equal(slot->payload[0], 0x42);
    free(pblob);
    free(vblob);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_size_queries_and_short_buffers(void **s)
{
    (void)s;
    struct fake_vm *vm = busy_vm();
    uint8_t small[8];
    assert_int_equal(hv_partition_save(&vm->part, small, sizeof(small)), HV_ERR_TRUNCATED);
    assert_int_equal(hv_vp_save(&vm->vps[0], small, sizeof(small)), HV_ERR_TRUNCATED);
    fake_vm_free(vm);
}

static void test_truncated_at_every_length(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t plen, vlen;
    uint8_t *pblob = save_partition(a, &plen);
    uint8_t *vblob = save_vp(a, 1, &vlen);
    struct fake_vm *b = fake_vm_new(HV_FEATURES_ALL, 2);
    struct snapshot before;
    snap(b, &before);
    for (size_t n = 0; n < plen; n++)
        assert_int_not_equal(hv_partition_load(&b->part, pblob, n), HV_OK);
    for (size_t n = 0; n < vlen; n++)
        assert_int_not_equal(hv_vp_load(&b->vps[1], vblob, n), HV_OK);
    assert_int_equal(hv_partition_load(&b->part, pblob, HEADER - 1), HV_ERR_TRUNCATED);
    assert_int_equal(hv_partition_load(&b->part, pblob, plen - 1), HV_ERR_TRUNCATED);
    assert_int_equal(hv_partition_load(&b->part, NULL, 100), HV_ERR_TRUNCATED);
    assert_unchanged(b, &before);
    free(pblob);
    free(vblob);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_every_flipped_byte_rejected(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t plen, vlen;
    uint8_t *pblob = save_partition(a, &plen);
    uint8_t *vblob = save_vp(a, 1, &vlen);
    struct fake_vm *b = fake_vm_new(HV_FEATURES_ALL, 2);
    struct snapshot before;
    snap(b, &before);
    for (size_t i = 0; i < plen; i++) {
        pblob[i] ^= 0x10;
        assert_int_not_equal(hv_partition_load(&b->part, pblob, plen), HV_OK);
        pblob[i] ^= 0x10;
    }
    for (size_t i = 0; i < vlen; i++) {
        vblob[i] ^= 0x01;
        assert_int_not_equal(hv_vp_load(&b->vps[1], vblob, vlen), HV_OK);
        vblob[i] ^= 0x01;
    }
    assert_unchanged(b, &before);
    free(pblob);
    free(vblob);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_header_errors(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t plen, vlen;
    uint8_t *pblob = save_partition(a, &plen);
    uint8_t *vblob = save_vp(a, 1, &vlen);
    /* a VP blob is not a partition blob, and vice versa */
    assert_int_equal(hv_partition_load(&a->part, vblob, vlen), HV_ERR_MISMATCH);
    assert_int_equal(hv_vp_load(&a->vps[1], pblob, plen), HV_ERR_MISMATCH);
    pblob[0] = 'X';
    assert_int_equal(hv_partition_load(&a->part, pblob, plen), HV_ERR_CORRUPT);
    pblob[0] = 'H';
    pblob[4] = 2;   /* version 2 */
    assert_int_equal(hv_partition_load(&a->part, pblob, plen), HV_ERR_VERSION);
    pblob[4] = 1;
    pblob[6] = 1;   /* reserved header bytes */
    assert_int_equal(hv_partition_load(&a->part, pblob, plen), HV_ERR_CORRUPT);
    pblob[6] = 0;
    assert_int_equal(hv_partition_load(&a->part, pblob, plen), HV_OK);
    free(pblob);
    free(vblob);
    fake_vm_free(a);
}

static void test_configuration_mismatch(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t plen, vlen;
    uint8_t *pblob = save_partition(a, &plen);
    uint8_t *vblob = save_vp(a, 1, &vlen);
    struct fake_vm *fewer = fake_vm_new(HV_FEATURES_ALL & ~F(STIMER_DIRECT), 2);
    assert_int_equal(hv_partition_load(&fewer->part, pblob, plen), HV_ERR_MISMATCH);
    struct fake_vm *smaller = fake_vm_new(HV_FEATURES_ALL, 1);
    assert_int_equal(hv_partition_load(&smaller->part, pblob, plen), HV_ERR_MISMATCH);
    /* a VP's blob only fits the VP with its index */
    assert_int_equal(hv_vp_load(&a->vps[0], vblob, vlen), HV_ERR_MISMATCH);
    free(pblob);
    free(vblob);
    fake_vm_free(a);
    fake_vm_free(fewer);
    fake_vm_free(smaller);
}

/* Field checks behind a valid checksum: offsets into the payload. */
static void test_field_checks_partition(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t plen;
    uint8_t *orig = save_partition(a, &plen);
    uint8_t *blob = malloc(plen);
    struct fake_vm *b = fake_vm_new(HV_FEATURES_ALL, 2);
    struct snapshot before;
    snap(b, &before);
    const struct { size_t off; uint64_t v; } bad[] = {
        { 5 * 8, PAGE(3) | 1 | 4 },              /* HYPERCALL reserved bit */
        { 6 * 8, PAGE(4) | 1 | 2 },              /* REFERENCE_TSC reserved bit */
        { 7 * 8, 1ull << 32 },                   /* TSC sequence over 32 bits */
        { 13 * 8, 1 },                           /* CRASH_CTL unknown bit */
        { 14 * 8, HV_REENLIGHTENMENT_ENABLE | 0xEE | (7ull << 32) }, /* no VP 7 */
        { 15 * 8, 2 },                           /* TSC emulation control */
        { 16 * 8, 2 },                           /* TSC emulation status */
        { 17 * 8, 2 },                           /* invariant control */
        { 4 * 8, 0 },                            /* hypercalls on without OS id */
        { 3 * 8, 1ull << 62 },                   /* reference time that would wrap */
        { 3 * 8, ~0ull },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(blob, orig, plen);
        put64(blob, bad[i].off, bad[i].v);
        reseal(blob, plen);
        assert_int_equal(hv_partition_load(&b->part, blob, plen), HV_ERR_CORRUPT);
    }
    assert_unchanged(b, &before);
    assert_int_equal(b->host.hypercall_page_fills, 0);
    free(orig);
    free(blob);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_field_checks_vp(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t vlen;
    uint8_t *orig = save_vp(a, 1, &vlen);
    uint8_t *blob = malloc(vlen);
    struct fake_vm *b = fake_vm_new(HV_FEATURES_ALL, 2);
    struct snapshot before;
    snap(b, &before);
    const size_t sint0 = 7 * 8, stimer0 = (7 + 16 + 1) * 8, queued = stimer0 + 20 * 8;
    const struct { size_t off; uint64_t v; } bad[] = {
        { 1 * 8, PAGE(5) | 1 | 8 },              /* VP assist reserved bit */
        { 2 * 8, 2 },                            /* assist pending not a bool */
        { 4 * 8, 2 },                            /* SCONTROL reserved bit */
        { sint0 + 2 * 8, 0x5 },                  /* unmasked SINT with vector 5 */
        { sint0, 1ull << 20 },                   /* SINT reserved bit */
        { stimer0, 1ull << 40 },                 /* stimer config reserved bit */
        { stimer0 + 4 * 8, 3 },                  /* stimer pending not a bool */
        /* XSA-504: enabled periodic timer with period 0 */
        { stimer0 + 5 * 8 + 8, 0 },
        { queued, HV_MSG_QUEUE_DEPTH + 1 },      /* too many queued messages */
        { queued + 8, 16 },                      /* queued message for SINT 16 */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(blob, orig, vlen);
        put64(blob, bad[i].off, bad[i].v);
        reseal(blob, vlen);
        assert_int_equal(hv_vp_load(&b->vps[1], blob, vlen), HV_ERR_CORRUPT);
    }
    assert_unchanged(b, &before);
    free(orig);
    free(blob);
    fake_vm_free(a);
    fake_vm_free(b);
}

static void test_load_replaces_mappings(void **s)
{
    (void)s;
    struct fake_vm *a = busy_vm();
    size_t vlen;
    uint8_t *vblob = save_vp(a, 1, &vlen);
    /* loading over live state unmaps the old pages and maps the saved ones */
    struct fake_vm *b = busy_vm();
    fake_wrmsr(b, 1, HV_MSR_SIMP, PAGE(20) | 1);
    assert_int_equal(hv_vp_load(&b->vps[1], vblob, vlen), HV_OK);
    assert_int_equal(fake_rdmsr(b, 1, HV_MSR_SIMP), PAGE(6) | 1);
    assert_int_equal(hv_vp_load(&b->vps[1], vblob, vlen), HV_OK);   /* twice is fine */
    free(vblob);
    fake_vm_free(a);
    fake_vm_free(b);   /* checks maps == unmaps */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_roundtrip),
        cmocka_unit_test(test_vp_roundtrip),
        cmocka_unit_test(test_size_queries_and_short_buffers),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_every_flipped_byte_rejected),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_configuration_mismatch),
        cmocka_unit_test(test_field_checks_partition),
        cmocka_unit_test(test_field_checks_vp),
        cmocka_unit_test(test_load_replaces_mappings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
