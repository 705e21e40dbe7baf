/* SPDX-License-Identifier: MIT */
/* The flat memory view: bounds, the hole, contiguous and stitched maps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>

#include "tests/unit/vmbus/harness.h"

static void bounds_and_hole(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    const struct vmbus_memview *m = &h->view.view;
    uint8_t buf[16];
    assert_int_equal(vmbus_mem_read(m, 0, buf, 16), 0);
    assert_int_equal(vmbus_mem_read(m, VH_LOW_SIZE - 16, buf, 16), 0);
    assert_int_equal(vmbus_mem_read(m, VH_LOW_SIZE - 8, buf, 16), -1);   /* into the hole */
    assert_int_equal(vmbus_mem_read(m, VH_LOW_SIZE + 4096, buf, 16), -1);
    assert_int_equal(vmbus_mem_write(m, VH_HIGH_GPA, "hello", 5), 0);
    assert_memory_equal(vh_ptr(h, VH_HIGH_GPA), "hello", 5);
    assert_int_equal(vmbus_mem_read(m, VH_HIGH_GPA + VH_HIGH_SIZE - 4, buf, 8), -1);
    assert_int_equal(vmbus_mem_read(m, UINT64_MAX - 4, buf, 8), -1);

    uint64_t ok[2] = { 0, (VH_HIGH_GPA >> 12) + 3 };
    uint64_t hole[2] = { 1, (VH_LOW_SIZE >> 12) + 1 };
    uint64_t huge[1] = { 1ull << 45 };
    assert_true(vmbus_mem_pfns_valid(m, ok, 2));
    assert_false(vmbus_mem_pfns_valid(m, hole, 2));
    assert_false(vmbus_mem_pfns_valid(m, huge, 1));
    assert_null(vmbus_mem_map(m, hole, 2));
    vh_destroy(h);
}

static void contiguous_map_is_direct(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    const struct vmbus_memview *m = &h->view.view;
    uint64_t pfns[3] = { 10, 11, 12 };
    uint8_t *p = vmbus_mem_map(m, pfns, 3);
    assert_ptr_equal(p, vh_ptr(h, 10 * 4096));
    assert_int_equal(h->view.stitched_maps, 0);
    vmbus_mem_unmap(m, p, 3);
    vh_destroy(h);
}

static void scattered_map_is_stitched(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    const struct vmbus_memview *m = &h->view.view;
    /* Out of order, across the hole, with a run of two. */
    uint64_t pfns[4] = { 50, (VH_HIGH_GPA >> 12) + 7, (VH_HIGH_GPA >> 12) + 8, 3 };
    uint8_t *p = vmbus_mem_map(m, pfns, 4);
    assert_non_null(p);
    assert_int_equal(h->view.stitched_maps, 1);
    memset(p, 0x11, 4096);
    memset(p + 4096, 0x22, 8192);
    memset(p + 3 * 4096, 0x33, 4096);
    assert_int_equal(vh_ptr(h, 50 * 4096)[100], 0x11);
    assert_int_equal(vh_ptr(h, VH_HIGH_GPA + 7 * 4096)[0], 0x22);
    assert_int_equal(vh_ptr(h, VH_HIGH_GPA + 8 * 4096)[4095], 0x22);
    assert_int_equal(vh_ptr(h, 3 * 4096)[7], 0x33);
    /* and the other way round */
    vh_ptr(h, 3 * 4096)[8] = 0x44;
    assert_int_equal(p[3 * 4096 + 8], 0x44);
    vmbus_mem_unmap(m, p, 4);
    assert_int_equal(h->view.stitched_maps, 0);
    vh_destroy(h);
}

static void without_backing_file_scattered_maps_fail(void **state)
{
    (void)state;
    uint8_t *ram = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    struct vmbus_mem_region r = { .gpa = 0, .size = 1 << 20, .host = ram, .fd = -1 };
    struct vmbus_memview_flat f;
    assert_int_equal(vmbus_memview_flat_init(&f, &r, 1), 0);
    uint64_t seq[2] = { 4, 5 }, scat[2] = { 5, 4 };
    void *p = vmbus_mem_map(&f.view, seq, 2);
    assert_ptr_equal(p, ram + 4 * 4096);
    vmbus_mem_unmap(&f.view, p, 2);
    assert_null(vmbus_mem_map(&f.view, scat, 2));
    /* bad region sets */
    struct vmbus_mem_region bad[2] = { r, r };
    assert_int_equal(vmbus_memview_flat_init(&f, bad, 2), -1);       /* overlap */
    bad[0].gpa = 100;
    assert_int_equal(vmbus_memview_flat_init(&f, bad, 1), -1);       /* misaligned */
    assert_int_equal(vmbus_memview_flat_init(&f, bad, 9), -1);       /* too many */
    munmap(ram, 1 << 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bounds_and_hole),
        cmocka_unit_test(contiguous_map_is_direct),
        cmocka_unit_test(scattered_map_is_stitched),
        cmocka_unit_test(without_backing_file_scattered_maps_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
