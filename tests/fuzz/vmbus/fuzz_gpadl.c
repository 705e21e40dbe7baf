/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: GPADL assembly and life cycle on a small table, checking
 * its bookkeeping after every step. Input: operations
 *   00 relid handle count:u16 buflen:u16 len bytes   GPADL_HEADER
 *   01 handle len bytes                              GPADL_BODY
 *   02 relid handle                                  GPADL_TEARDOWN
 *   03 handle / 04 handle                            take / drop a user
 *   05 relid                                         drop a channel's GPADLs
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/vmbus/fuzz_bus.h"
#include "vmbus/gpadl.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static bool ram(void *ctx, const uint64_t *pfns, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        if (pfns[i] >= 0x10000)
            return false;
    return true;
}

/* Every created GPADL's ranges lie inside its buffer; totals add up. */
static void check_table(struct vmbus_gpadl_table *t)
{
    uint32_t count = 0;
    uint64_t qwords = 0;
    for (uint32_t i = 0; i < t->capacity; i++) {
        struct vmbus_gpadl *g = &t->entries[i];
        if (g->state == VMBUS_GPADL_FREE)
            continue;
        count++;
        qwords += g->qwords;
        CHECK(g->filled <= g->qwords);
        if (g->state == VMBUS_GPADL_ASSEMBLING) {
            CHECK(g->filled < g->qwords);
            continue;
        }
        CHECK(g->filled == g->qwords);
        uint64_t pages = 0;
        for (uint32_t r = 0; r < g->range_count; r++) {
            struct vmbus_gpadl_range_view v;
            CHECK(vmbus_gpadl_range(g, r, &v));
            CHECK(v.byte_count > 0 && v.byte_offset < 4096);
            CHECK(v.pfns >= g->buf && v.pfns + v.nr_pfns <= g->buf + g->qwords);
            CHECK(ram(NULL, v.pfns, v.nr_pfns));
            pages += v.nr_pfns;
        }
        CHECK(pages == g->total_pages);
        uint32_t n;
        const uint64_t *p = vmbus_gpadl_whole_pages(g, &n);
        if (p)
            CHECK(n == g->total_pages);
    }
    CHECK(count == t->count);
    CHECK(qwords == t->qwords_used);
    CHECK(t->qwords_used <= t->qword_budget);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fb_in in = { data, size };
    struct vmbus_gpadl_table t;
    CHECK(vmbus_gpadl_table_init(&t, 16, 8192, ram, NULL) == 0);
    uint8_t buf[256];
    struct vmbus_gpadl *g;
    uint32_t relid;
    while (fb_more(&in)) {
        switch (fb_u8(&in) % 6) {
        case 0: {
            uint32_t r = fb_u8(&in), h = fb_u8(&in);
            uint16_t count = fb_u16(&in), buflen = fb_u16(&in);
            size_t len = fb_bytes(&in, buf, fb_u8(&in));
            vmbus_gpadl_header(&t, r, h, count, buflen, buf, len, &g);
            break;
        }
        case 1: {
            uint32_t h = fb_u8(&in);
            size_t len = fb_bytes(&in, buf, fb_u8(&in));
            vmbus_gpadl_body(&t, h, buf, len, &relid, &g);
            break;
        }
        case 2: {
            uint32_t r = fb_u8(&in);
            vmbus_gpadl_teardown(&t, r, fb_u8(&in));
            break;
        }
        case 3:
            if ((g = vmbus_gpadl_find(&t, fb_u8(&in))) && g->state == VMBUS_GPADL_CREATED)
                vmbus_gpadl_get(g);
            break;
        case 4:
            if ((g = vmbus_gpadl_find(&t, fb_u8(&in))) && g->users)
                vmbus_gpadl_put(&t, g);
            break;
        case 5:
            vmbus_gpadl_drop_channel(&t, fb_u8(&in));
            break;
        }
        check_table(&t);
    }
    vmbus_gpadl_table_destroy(&t);
    return 0;
}
