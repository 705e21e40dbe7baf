/* SPDX-License-Identifier: MIT */
/* Sparse VP sets (HV_VP_SET): parsing bounds and expansion into existing VPs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hypercalls/hypercalls.h"
#include "tests/unit/fake_host.h"

/* Number of VPs in a set (any bit, even beyond nr_vps). */
static unsigned members(const struct hv_vp_set *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < HV_VPSET_WORDS; i++)
        n += (unsigned)__builtin_popcountll(s->bits[i]);
    return n;
}

static void expand(const uint64_t *q, uint32_t avail, uint32_t nr_vps, struct hv_vp_set *out,
                   uint32_t *dropped)
{
    struct hv_vpset_view v;
    assert_int_not_equal(hv_vpset_parse(q, avail, &v), 0);
    hv_vpset_expand(&v, nr_vps, out, dropped);
}

/* ------------------------------------------------------------- parse */

static void test_parse_needs_format_and_mask(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    uint64_t q[2] = { 0, 0 };
    assert_int_equal(hv_vpset_parse(NULL, 0, &v), 0);
    assert_int_equal(hv_vpset_parse(q, 1, &v), 0);
    assert_int_equal(hv_vpset_parse(q, 2, &v), 2);
    assert_int_equal(v.nr_banks, 0);
}

static void test_parse_consumes_one_bank_per_mask_bit(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    uint64_t q[8] = { HV_VPSET_FORMAT_SPARSE_4K, 0x8000000000000005ull, 1, 2, 3, 99, 99, 99 };
    assert_int_equal(hv_vpset_parse(q, 8, &v), 5);
    assert_int_equal(v.nr_banks, 3);
    assert_ptr_equal(v.banks, &q[2]);
    assert_int_equal(v.valid_bank_mask, 0x8000000000000005ull);
    assert_int_equal(v.format, HV_VPSET_FORMAT_SPARSE_4K);
}

static void test_parse_short_of_banks(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    uint64_t q[4] = { 0, 0x7, 1, 2 };   /* three banks named, two present */
    assert_int_equal(hv_vpset_parse(q, 4, &v), 0);
    assert_int_equal(hv_vpset_parse(q, 3, &v), 0);
}

static void test_parse_64_banks(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    uint64_t q[66];
    q[0] = HV_VPSET_FORMAT_SPARSE_4K;
    q[1] = ~0ull;
    for (int i = 2; i < 66; i++)
        q[i] = (uint64_t)i;
    assert_int_equal(hv_vpset_parse(q, 66, &v), 66);
    assert_int_equal(v.nr_banks, 64);
    assert_int_equal(hv_vpset_parse(q, 65, &v), 0);
}

static void test_parse_keeps_unknown_format(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    uint64_t q[3] = { 7, 1, 0xF };
    /* the format is the caller's to judge; the layout still parses */
    assert_int_equal(hv_vpset_parse(q, 3, &v), 3);
    assert_int_equal(v.format, 7);
}

static void test_parse_never_reads_past_avail(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    /* The array ends exactly at avail: a read beyond it would trip ASan
     * in the sanitizer build; here the answer must be "malformed". */
    uint64_t *q = test_malloc(3 * sizeof(uint64_t));
    q[0] = 0;
    q[1] = 0x3;
    q[2] = 1;
    assert_int_equal(hv_vpset_parse(q, 3, &v), 0);
    test_free(q);
}

/* ------------------------------------------------------------ expand */

static void test_expand_sparse_bank0(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped = 99;
    uint64_t q[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1, 0x21 };
    expand(q, 3, 8, &out, &dropped);
    assert_true(hv_vpset_has(&out, 0));
    assert_true(hv_vpset_has(&out, 5));
    assert_int_equal(members(&out), 2);
    assert_int_equal(dropped, 0);
}

static void test_expand_tlfs_example(void **s)
{
    (void)s;
    /* TLFS HV_VP_SET example: {0, 5, 130} = mask 0x5, banks {0x21, 0x4} */
    struct hv_vp_set out;
    uint64_t q[4] = { HV_VPSET_FORMAT_SPARSE_4K, 0x5, 0x21, 0x4 };
    expand(q, 4, 200, &out, NULL);
    assert_true(hv_vpset_has(&out, 0));
    assert_true(hv_vpset_has(&out, 5));
    assert_true(hv_vpset_has(&out, 130));
    assert_int_equal(members(&out), 3);
}

static void test_expand_mask_bit_63(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1ull << 63, 1ull << 63 };
    expand(q, 3, HV_MAX_VPS, &out, &dropped);
    assert_true(hv_vpset_has(&out, 4095));
    assert_int_equal(members(&out), 1);
    assert_int_equal(dropped, 0);
}

static void test_expand_vp_4095_dropped_when_absent(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1ull << 63, 1ull << 63 };
    expand(q, 3, 4095, &out, &dropped);
    assert_false(hv_vpset_has(&out, 4095));
    assert_int_equal(members(&out), 0);
    assert_int_equal(dropped, 1);
}

/* XSA-475: a set naming only VPs that do not exist must produce nothing
 * beyond nr_vps (Xen wrote out of bounds building its mask). */
static void test_xsa475_set_entirely_beyond_nr_vps(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[66];
    q[0] = HV_VPSET_FORMAT_SPARSE_4K;
    q[1] = ~1ull;                    /* banks 1-63, each full */
    for (int i = 2; i < 65; i++)
        q[i] = ~0ull;
    memset(&out, 0xAA, sizeof(out)); /* stale data must not survive */
    expand(q, 65, 4, &out, &dropped);
    assert_int_equal(members(&out), 0);
    assert_int_equal(dropped, 63u * 64u);
}

static void test_expand_partial_last_bank(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[4] = { HV_VPSET_FORMAT_SPARSE_4K, 0x3, 0x1, ~0ull };
    expand(q, 4, 70, &out, &dropped);
    for (uint32_t vp = 64; vp < 70; vp++)
        assert_true(hv_vpset_has(&out, vp));
    assert_false(hv_vpset_has(&out, 70));
    assert_int_equal(members(&out), 7);
    assert_int_equal(dropped, 58);
}

static void test_expand_all_format(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped = 5;
    /* the mask still describes the layout; format ALL ignores the banks */
    uint64_t q[3] = { HV_VPSET_FORMAT_ALL, 1, 0 };
    static const uint32_t sizes[] = { 1, 63, 64, 65, 130, 4096 };
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        expand(q, 3, sizes[i], &out, &dropped);
        assert_int_equal(members(&out), sizes[i]);
        assert_true(hv_vpset_has(&out, sizes[i] - 1));
        assert_false(hv_vpset_has(&out, sizes[i]));
        assert_int_equal(dropped, 0);
    }
}

static void test_expand_unknown_format_is_empty(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint64_t q[3] = { 2, 1, ~0ull };
    memset(&out, 0xFF, sizeof(out));
    expand(q, 3, 8, &out, NULL);
    assert_int_equal(members(&out), 0);
}

static void test_expand_clamps_nr_vps(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[3] = { HV_VPSET_FORMAT_ALL, 0 };
    expand(q, 2, 100000, &out, &dropped);
    assert_int_equal(members(&out), HV_MAX_VPS);
    uint64_t q2[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1ull << 63, ~0ull };
    expand(q2, 3, 100000, &out, &dropped);
    assert_int_equal(members(&out), 64);
    assert_int_equal(dropped, 0);
}

static void test_expand_empty_banks(void **s)
{
    (void)s;
    /* "it is valid state for the corresponding element ... to be all 0s" */
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[5] = { HV_VPSET_FORMAT_SPARSE_4K, 0x7, 0, 0, 0 };
    expand(q, 5, 200, &out, &dropped);
    assert_int_equal(members(&out), 0);
    assert_int_equal(dropped, 0);
}

static void test_expand_bounded_by_nr_banks(void **s)
{
    (void)s;
    /* A hand-made view claiming fewer banks than its mask: only nr_banks
     * entries may be read. */
    uint64_t banks[1] = { 0x1 };
    struct hv_vpset_view v = {
        .format = HV_VPSET_FORMAT_SPARSE_4K, .valid_bank_mask = 0x3, .banks = banks, .nr_banks = 1,
    };
    struct hv_vp_set out;
    hv_vpset_expand(&v, 128, &out, NULL);
    assert_true(hv_vpset_has(&out, 0));
    assert_int_equal(members(&out), 1);
}

static void test_expand_all_64_banks(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint32_t dropped;
    uint64_t q[66];
    q[0] = HV_VPSET_FORMAT_SPARSE_4K;
    q[1] = ~0ull;
    for (int i = 2; i < 66; i++)
        q[i] = 1ull << (i - 2);       /* bank b holds VP 64b + b */
    expand(q, 66, HV_MAX_VPS, &out, &dropped);
    assert_int_equal(members(&out), 64);
    for (uint32_t b = 0; b < 64; b++)
        assert_true(hv_vpset_has(&out, 64 * b + b));
    expand(q, 66, 2048, &out, &dropped);
    assert_int_equal(members(&out), 32);
    assert_int_equal(dropped, 32);
}


static void test_parse_huge_avail(void **s)
{
    (void)s;
    struct hv_vpset_view v;
    uint64_t q[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1ull << 40, 0x9 };
    /* avail far beyond the banks named: only those are consumed */
    assert_int_equal(hv_vpset_parse(q, UINT32_MAX, &v), 3);
    assert_int_equal(v.nr_banks, 1);
}

static void test_expand_reuses_output(void **s)
{
    (void)s;
    struct hv_vp_set out;
    uint64_t a[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1ull << 1, 0x3 };
    uint64_t b[3] = { HV_VPSET_FORMAT_SPARSE_4K, 1ull << 0, 0x4 };
    expand(a, 3, 256, &out, NULL);
    assert_true(hv_vpset_has(&out, 64));
    expand(b, 3, 256, &out, NULL);
    assert_false(hv_vpset_has(&out, 64));
    assert_true(hv_vpset_has(&out, 2));
    assert_int_equal(members(&out), 1);
}

/* ------------------------------------------------------------ helpers */

static void test_vpset_any_ignores_beyond_nr_vps(void **s)
{
    (void)s;
    struct hv_vp_set set;
    hv_vpset_clear(&set);
    assert_false(hc_vpset_any(&set, HV_MAX_VPS));
    hv_vpset_add(&set, 100);
    assert_true(hc_vpset_any(&set, 101));
    assert_false(hc_vpset_any(&set, 100));
    assert_false(hc_vpset_any(&set, 64));
}

static void test_vpset_from_mask(void **s)
{
    (void)s;
    struct hv_vp_set set;
    hc_vpset_from_mask(0x8000000000000011ull, 5, &set);
    assert_true(hv_vpset_has(&set, 0));
    assert_true(hv_vpset_has(&set, 4));
    assert_false(hv_vpset_has(&set, 63));
    assert_int_equal(members(&set), 2);
    hc_vpset_from_mask(~0ull, 64, &set);
    assert_int_equal(members(&set), 64);
}

static void test_vpset_all(void **s)
{
    (void)s;
    struct hv_vp_set set;
    hc_vpset_all(&set, 3);
    assert_int_equal(set.bits[0], 0x7);
    assert_int_equal(members(&set), 3);
    hc_vpset_all(&set, 128);
    assert_int_equal(set.bits[0], ~0ull);
    assert_int_equal(set.bits[1], ~0ull);
    assert_int_equal(set.bits[2], 0);
}

/* hc_vpset_from_header: the set inside a call's header */
static struct hc_call *header_call(struct fake_vm *vm, const uint64_t *q, uint32_t n)
{
    struct hc_call *c = test_calloc(1, sizeof(*c));
    c->vp = &vm->vps[0];
    c->p = &vm->part;
    memcpy(c->hdr, q, n * sizeof(uint64_t));
    c->hdr_qwords = n;
    return c;
}

static void test_from_header_exact_length(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 4);
    struct hv_vp_set set;
    uint64_t ok[5] = { 0xAAAA, HV_VPSET_FORMAT_SPARSE_4K, 0x1, 0x6 };
    struct hc_call *c = header_call(vm, ok, 4);
    assert_int_equal(hc_vpset_from_header(c, 1, &set), HV_STATUS_SUCCESS);
    assert_int_equal(set.bits[0], 0x6);
    /* one qword too many: the header disagrees with the mask */
    c->hdr[4] = 0;
    c->hdr_qwords = 5;
    assert_int_equal(hc_vpset_from_header(c, 1, &set), HV_STATUS_INVALID_HYPERCALL_INPUT);
    /* one too few */
    c->hdr_qwords = 3;
    assert_int_equal(hc_vpset_from_header(c, 1, &set), HV_STATUS_INVALID_HYPERCALL_INPUT);
    /* first beyond the header */
    assert_int_equal(hc_vpset_from_header(c, 9, &set), HV_STATUS_INVALID_HYPERCALL_INPUT);
    test_free(c);
    fake_vm_free(vm);
}

static void test_from_header_format(void **s)
{
    (void)s;
    struct fake_vm *vm = fake_vm_new(HV_FEATURES_ALL, 4);
    struct hv_vp_set set;
    uint64_t q[2] = { 2, 0 };
    struct hc_call *c = header_call(vm, q, 2);
    assert_int_equal(hc_vpset_from_header(c, 0, &set), HV_STATUS_INVALID_PARAMETER);
    c->hdr[0] = HV_VPSET_FORMAT_ALL;
    assert_int_equal(hc_vpset_from_header(c, 0, &set), HV_STATUS_SUCCESS);
    assert_int_equal(set.bits[0], 0xF);
    c->hdr[0] = 1ull << 32;    /* high bits make it another format */
    assert_int_equal(hc_vpset_from_header(c, 0, &set), HV_STATUS_INVALID_PARAMETER);
    test_free(c);
    fake_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_needs_format_and_mask),
        cmocka_unit_test(test_parse_consumes_one_bank_per_mask_bit),
        cmocka_unit_test(test_parse_short_of_banks),
        cmocka_unit_test(test_parse_64_banks),
        cmocka_unit_test(test_parse_keeps_unknown_format),
        cmocka_unit_test(test_parse_never_reads_past_avail),
        cmocka_unit_test(test_expand_sparse_bank0),
        cmocka_unit_test(test_expand_tlfs_example),
        cmocka_unit_test(test_expand_mask_bit_63),
        cmocka_unit_test(test_expand_vp_4095_dropped_when_absent),
        cmocka_unit_test(test_xsa475_set_entirely_beyond_nr_vps),
        cmocka_unit_test(test_expand_partial_last_bank),
        cmocka_unit_test(test_expand_all_format),
        cmocka_unit_test(test_expand_unknown_format_is_empty),
        cmocka_unit_test(test_expand_clamps_nr_vps),
        cmocka_unit_test(test_expand_empty_banks),
        cmocka_unit_test(test_expand_bounded_by_nr_banks),
        cmocka_unit_test(test_expand_all_64_banks),
        cmocka_unit_test(test_parse_huge_avail),
        cmocka_unit_test(test_expand_reuses_output),
        cmocka_unit_test(test_vpset_any_ignores_beyond_nr_vps),
        cmocka_unit_test(test_vpset_from_mask),
        cmocka_unit_test(test_vpset_all),
        cmocka_unit_test(test_from_header_exact_length),
        cmocka_unit_test(test_from_header_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
