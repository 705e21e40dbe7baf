/* SPDX-License-Identifier: MIT */
/* GPADL table: assembly, validation, limits, teardown, hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vmbus/gpadl.h"
#include "vmbus/protocol.h"

/* Frames below 0x1000 are "RAM" for these tests. */
static bool check_ram(void *ctx, const uint64_t *pfns, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        if (pfns[i] >= 0x1000)
            return false;
    return true;
}

static struct vmbus_gpadl_table t;

static int setup(void **state)
{
    (void)state;
    return vmbus_gpadl_table_init(&t, 8, 4096, check_ram, NULL);
}

static int teardown(void **state)
{
    (void)state;
    vmbus_gpadl_table_destroy(&t);
    return 0;
}

/* Range buffer of one range of `pages` whole pages starting at pfn. */
static size_t one_range(uint64_t *buf, uint64_t pfn, uint32_t pages)
{
    buf[0] = (uint64_t)pages * HV_PAGE_SIZE;   /* byte_count, offset 0 */
    for (uint32_t i = 0; i < pages; i++)
        buf[1 + i] = pfn + i;
    return (1 + pages) * 8;
}

static void single_message(void **state)
{
    (void)state;
    uint64_t buf[8];
    size_t len = one_range(buf, 0x100, 4);
    struct vmbus_gpadl *g;
    assert_int_equal(vmbus_gpadl_header(&t, 3, 0xE1E10, 1, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(g->state, VMBUS_GPADL_CREATED);
    assert_int_equal(g->total_pages, 4);
    uint32_t pages;
    const uint64_t *pfns = vmbus_gpadl_whole_pages(g, &pages);
    assert_non_null(pfns);
    assert_int_equal(pages, 4);
    assert_int_equal(pfns[3], 0x103);
    assert_ptr_equal(vmbus_gpadl_find(&t, 0xE1E10), g);
}

static void header_and_bodies(void **state)
{
    (void)state;
    /* 80 pages: 26 in the header, then 28 + 26 in two bodies. */
    uint64_t buf[81];
    size_t len = one_range(buf, 0x200, 80);
    struct vmbus_gpadl *g;
    uint32_t relid = 0;
    assert_int_equal(vmbus_gpadl_header(&t, 5, 7, 1, (uint16_t)len, buf, 8 + 26 * 8, &g),
                     VMBUS_GPADL_MORE);
    assert_int_equal(g->state, VMBUS_GPADL_ASSEMBLING);
    assert_int_equal(vmbus_gpadl_body(&t, 7, &buf[27], 28 * 8, &relid, &g), VMBUS_GPADL_MORE);
    assert_int_equal(relid, 5);
    assert_int_equal(vmbus_gpadl_body(&t, 7, &buf[55], 26 * 8, &relid, &g),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(g->total_pages, 80);
    uint32_t pages;
    const uint64_t *pfns = vmbus_gpadl_whole_pages(g, &pages);
    for (uint32_t i = 0; i < 80; i++)
        assert_int_equal(pfns[i], 0x200 + i);
    /* A body after completion has no GPADL to go to. */
    assert_int_equal(vmbus_gpadl_body(&t, 7, &buf[1], 8, &relid, &g), VMBUS_GPADL_E_UNKNOWN);
}

static void multi_range(void **state)
{
    (void)state;
    /* Range 0: 100 bytes at offset 4000 (spans 2 pages); range 1: 1 page. */
    uint64_t buf[6] = {
        100 | (uint64_t)4000 << 32, 0x10, 0x11,
        4096, 0x20,
        0xdead,   /* trailing qword: tolerated, ignored */
    };
    struct vmbus_gpadl *g;
    assert_int_equal(vmbus_gpadl_header(&t, 1, 9, 2, sizeof(buf), buf, sizeof(buf), &g),
                     VMBUS_GPADL_COMPLETE);
    struct vmbus_gpadl_range_view r;
    assert_true(vmbus_gpadl_range(g, 0, &r));
    assert_int_equal(r.byte_count, 100);
    assert_int_equal(r.byte_offset, 4000);
    assert_int_equal(r.nr_pfns, 2);
    assert_true(vmbus_gpadl_range(g, 1, &r));
    assert_int_equal(r.nr_pfns, 1);
    assert_int_equal(r.pfns[0], 0x20);
    assert_false(vmbus_gpadl_range(g, 2, &r));
    uint32_t pages;
    assert_null(vmbus_gpadl_whole_pages(g, &pages));   /* not one whole-page range */
}

static void duplicate_handle(void **state)
{
    (void)state;
    uint64_t buf[3];
    size_t len = one_range(buf, 0x10, 2);
    struct vmbus_gpadl *g;
    assert_int_equal(vmbus_gpadl_header(&t, 1, 42, 1, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_header(&t, 2, 42, 1, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_E_DUPLICATE);
    assert_int_equal(t.count, 1);
    /* Also while the first is still being assembled. */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 43, 1, (uint16_t)len, buf, 8, &g),
                     VMBUS_GPADL_MORE);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 43, 1, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_E_DUPLICATE);
}

static void overlapping_gpadls_are_independent(void **state)
{
    (void)state;
    uint64_t a[5], b[5];
    size_t la = one_range(a, 0x40, 4), lb = one_range(b, 0x42, 4);
    struct vmbus_gpadl *ga, *gb;
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, (uint16_t)la, a, la, &ga),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 2, 1, (uint16_t)lb, b, lb, &gb),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_teardown(&t, 1, 1), VMBUS_GPADL_TORN);
    uint32_t pages;
    const uint64_t *pfns = vmbus_gpadl_whole_pages(vmbus_gpadl_find(&t, 2), &pages);
    assert_int_equal(pfns[0], 0x42);
    assert_int_equal(pages, 4);
}

static void bad_counts_and_lengths(void **state)
{
    (void)state;
    uint64_t buf[4];
    size_t len = one_range(buf, 0x10, 3);
    struct vmbus_gpadl *g;
    /* zero ranges */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 0, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_E_INVALID);
    /* not whole qwords, too short for one range */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 31, buf, len, &g), VMBUS_GPADL_E_INVALID);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 8, buf, len, &g), VMBUS_GPADL_E_INVALID);
    /* more ranges than the buffer could hold */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1000, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_E_INVALID);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 0xFFFF, 0xFFF8, buf, len, &g),
                     VMBUS_GPADL_E_INVALID);
    /* range count larger than what the ranges describe */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 2, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_E_RANGE);
    assert_int_equal(t.count, 0);
    assert_int_equal(t.qwords_used, 0);
}

static void malformed_ranges(void **state)
{
    (void)state;
    struct vmbus_gpadl *g;
    uint64_t zero_count[2] = { 0, 0x10 };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 16, zero_count, 16, &g),
                     VMBUS_GPADL_E_RANGE);
    uint64_t big_offset[2] = { 8 | (uint64_t)4096 << 32, 0x10 };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 16, big_offset, 16, &g),
                     VMBUS_GPADL_E_RANGE);
    /* claims 3 pages, carries 2 */
    uint64_t short_pfns[3] = { 3 * 4096, 0x10, 0x11 };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 24, short_pfns, 24, &g),
                     VMBUS_GPADL_E_RANGE);
    /* byte_count near 4 GiB with an offset: no overflow, just too many pages */
    uint64_t huge[2] = { 0xFFFFFFFFull | (uint64_t)4095 << 32, 0x10 };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 16, huge, 16, &g), VMBUS_GPADL_E_RANGE);
    assert_int_equal(t.count, 0);
}

static void out_of_range_pfns(void **state)
{
    (void)state;
    struct vmbus_gpadl *g;
    uint64_t beyond_ram[3] = { 2 * 4096, 0x10, 0x1000 };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 24, beyond_ram, 24, &g),
                     VMBUS_GPADL_E_PFN);
    uint64_t beyond_arch[2] = { 4096, 1ull << 52 };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 16, beyond_arch, 16, &g),
                     VMBUS_GPADL_E_PFN);
    uint64_t all_ones[2] = { 4096, UINT64_MAX };
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 16, all_ones, 16, &g), VMBUS_GPADL_E_PFN);
    /* Found bad only when the last body arrives: the half-built one goes. */
    uint64_t buf[3] = { 2 * 4096, 0x10, 0x5000 };
    uint32_t relid;
    assert_int_equal(vmbus_gpadl_header(&t, 4, 2, 1, 24, buf, 16, &g), VMBUS_GPADL_MORE);
    assert_int_equal(vmbus_gpadl_body(&t, 2, &buf[2], 8, &relid, &g), VMBUS_GPADL_E_PFN);
    assert_int_equal(relid, 4);
    assert_null(vmbus_gpadl_find(&t, 2));
    assert_int_equal(t.count, 0);
    assert_int_equal(t.qwords_used, 0);
}

static void extra_bytes_are_ignored(void **state)
{
    (void)state;
    /* Some guests post maximum-size messages: bytes beyond range_buflen. */
    uint64_t buf[30];
    memset(buf, 0xAB, sizeof(buf));
    one_range(buf, 0x10, 2);
    struct vmbus_gpadl *g;
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 24, buf, sizeof(buf), &g),
                     VMBUS_GPADL_COMPLETE);
    /* odd trailing bytes in a body are dropped too */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 2, 1, 24, buf, 12, &g), VMBUS_GPADL_MORE);
    assert_int_equal(g->filled, 1);
}

static void limits(void **state)
{
    (void)state;
    uint64_t buf[3];
    size_t len = one_range(buf, 0x10, 2);
    struct vmbus_gpadl *g;
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(vmbus_gpadl_header(&t, 1, 100 + i, 1, (uint16_t)len, buf, len, &g),
                         VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 200, 1, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_E_NOSPC);
    vmbus_gpadl_drop_all(&t);
    assert_int_equal(t.count, 0);
    /* Size budget: 4096 qwords in all. Assembling ones count from the header. */
    assert_int_equal(vmbus_gpadl_header(&t, 1, 1, 1, 0x3FF8, buf, 8, &g), VMBUS_GPADL_MORE);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 2, 1, 0x3FF8, buf, 8, &g), VMBUS_GPADL_MORE);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 3, 1, 0x3FF8, buf, 8, &g), VMBUS_GPADL_E_NOSPC);
    assert_int_equal(vmbus_gpadl_header(&t, 1, 4, 1, 0xFFF8, buf, 8, &g), VMBUS_GPADL_E_NOSPC);
    assert_int_equal(t.qwords_used, 2 * (0x3FF8 / 8));
}

static void teardown_rules(void **state)
{
    (void)state;
    uint64_t buf[3];
    size_t len = one_range(buf, 0x10, 2);
    struct vmbus_gpadl *g;
    assert_int_equal(vmbus_gpadl_header(&t, 3, 1, 1, (uint16_t)len, buf, len, &g),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_teardown(&t, 3, 99), VMBUS_GPADL_E_UNKNOWN);
    assert_int_equal(vmbus_gpadl_teardown(&t, 4, 1), VMBUS_GPADL_E_CHANNEL);
    vmbus_gpadl_get(g);
    assert_int_equal(vmbus_gpadl_teardown(&t, 3, 1), VMBUS_GPADL_DEFERRED);
    assert_int_equal(vmbus_gpadl_teardown(&t, 3, 1), VMBUS_GPADL_DEFERRED);
    assert_int_equal(g->state, VMBUS_GPADL_TEARING_DOWN);
    assert_true(vmbus_gpadl_put(&t, g));
    assert_null(vmbus_gpadl_find(&t, 1));
    /* A half-built GPADL can be abandoned. */
    assert_int_equal(vmbus_gpadl_header(&t, 3, 2, 1, (uint16_t)len, buf, 8, &g),
                     VMBUS_GPADL_MORE);
    assert_int_equal(vmbus_gpadl_teardown(&t, 3, 2), VMBUS_GPADL_TORN);
    assert_int_equal(t.count, 0);
}

static void drop_channel(void **state)
{
    (void)state;
    uint64_t buf[3];
    size_t len = one_range(buf, 0x10, 2);
    struct vmbus_gpadl *g;
    vmbus_gpadl_header(&t, 1, 1, 1, (uint16_t)len, buf, len, &g);
    vmbus_gpadl_header(&t, 2, 2, 1, (uint16_t)len, buf, len, &g);
    vmbus_gpadl_header(&t, 1, 3, 1, (uint16_t)len, buf, 8, &g);
    vmbus_gpadl_drop_channel(&t, 1);
    assert_null(vmbus_gpadl_find(&t, 1));
    assert_null(vmbus_gpadl_find(&t, 3));
    assert_non_null(vmbus_gpadl_find(&t, 2));
    assert_int_equal(t.count, 1);
}

static void restore(void **state)
{
    (void)state;
    uint64_t buf[5];
    size_t len = one_range(buf, 0x10, 4);
    struct vmbus_gpadl *g;
    assert_int_equal(vmbus_gpadl_restore(&t, 1, 5, 1, 5, buf, 5, false, &g),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_restore(&t, 1, 6, 1, 5, buf, 2, false, &g), VMBUS_GPADL_MORE);
    uint32_t relid;
    assert_int_equal(vmbus_gpadl_body(&t, 6, &buf[2], 24, &relid, &g), VMBUS_GPADL_COMPLETE);
    assert_int_equal(vmbus_gpadl_restore(&t, 1, 7, 1, 5, buf, 5, true, &g),
                     VMBUS_GPADL_COMPLETE);
    assert_int_equal(g->state, VMBUS_GPADL_TEARING_DOWN);
    /* the same checks as new ones */
    buf[3] = 0x9999;
    assert_int_equal(vmbus_gpadl_restore(&t, 1, 8, 1, 5, buf, 5, false, &g), VMBUS_GPADL_E_PFN);
    assert_int_equal(vmbus_gpadl_restore(&t, 1, 9, 1, 5, buf, 6, false, &g),
                     VMBUS_GPADL_E_INVALID);
    (void)len;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(single_message, setup, teardown),
        cmocka_unit_test_setup_teardown(header_and_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(multi_range, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(overlapping_gpadls_are_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_counts_and_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_range_pfns, setup, teardown),
        cmocka_unit_test_setup_teardown(extra_bytes_are_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(limits, setup, teardown),
        cmocka_unit_test_setup_teardown(teardown_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(drop_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
