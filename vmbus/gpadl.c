/* SPDX-License-Identifier: MIT */
/* GPADL assembly, validation and life cycle. */
#include <stdlib.h>
#include <string.h>

#include "vmbus/gpadl.h"
#include "vmbus/memview.h"
#include "hvshim/tlfs.h"

int vmbus_gpadl_table_init(struct vmbus_gpadl_table *t, uint32_t max_gpadls,
                           uint64_t max_total_qwords, vmbus_pfn_check_fn check, void *ctx)
{
    memset(t, 0, sizeof(*t));
    if (!max_gpadls)
        return -1;
    t->entries = calloc(max_gpadls, sizeof(*t->entries));
    if (!t->entries)
        return -1;
    t->capacity = max_gpadls;
    t->qword_budget = max_total_qwords;
    t->pfn_check = check;
    t->pfn_check_ctx = ctx;
    return 0;
}

static void release(struct vmbus_gpadl_table *t, struct vmbus_gpadl *g)
{
    t->qwords_used -= g->qwords;
    t->count--;
    free(g->buf);
    memset(g, 0, sizeof(*g));
}

void vmbus_gpadl_table_destroy(struct vmbus_gpadl_table *t)
{
    if (t->entries)
        vmbus_gpadl_drop_all(t);
    free(t->entries);
    memset(t, 0, sizeof(*t));
}

struct vmbus_gpadl *vmbus_gpadl_find(struct vmbus_gpadl_table *t, uint32_t handle)
{
    for (uint32_t i = 0; i < t->capacity; i++) {
        struct vmbus_gpadl *g = &t->entries[i];
        if (g->state != VMBUS_GPADL_FREE && g->handle == handle)
            return g;
    }
    return NULL;
}

/* Pages spanned by a range, or 0 if the range header is malformed. */
static uint64_t range_pages(uint64_t hdr)
{
    uint32_t byte_count = (uint32_t)hdr;
    uint32_t byte_offset = (uint32_t)(hdr >> 32);
    if (byte_count == 0 || byte_offset >= HV_PAGE_SIZE)
        return 0;
    return ((uint64_t)byte_offset + byte_count + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;
}

/*
 * Walk the ranges of a full buffer: each must be well formed and its
 * frames present and valid. Trailing qwords past the last range are
 * tolerated (some guests send maximum-length messages), and ignored.
 */
static int validate(struct vmbus_gpadl_table *t, const uint64_t *buf, uint32_t qwords,
                    uint16_t range_count, uint64_t *total_pages)
{
    uint64_t pos = 0, pages_sum = 0;
    for (uint32_t r = 0; r < range_count; r++) {
        if (pos >= qwords)
            return VMBUS_GPADL_E_RANGE;
        uint64_t pages = range_pages(buf[pos]);
        if (!pages || pages > qwords - pos - 1)
            return VMBUS_GPADL_E_RANGE;
        const uint64_t *pfns = &buf[pos + 1];
        for (uint64_t i = 0; i < pages; i++)
            if (pfns[i] > VMBUS_MAX_PFN)
                return VMBUS_GPADL_E_PFN;
        if (t->pfn_check && !t->pfn_check(t->pfn_check_ctx, pfns, (size_t)pages))
            return VMBUS_GPADL_E_PFN;
        pos += 1 + pages;
        pages_sum += pages;
    }
    *total_pages = pages_sum;
    return 0;
}

/* Append what fits; the buffer is complete once filled == qwords. */
static void append(struct vmbus_gpadl *g, const void *data, size_t len)
{
    size_t room = (size_t)(g->qwords - g->filled);
    size_t n = len / 8;
    if (n > room)
        n = room;
    memcpy(&g->buf[g->filled], data, n * 8);
    g->filled += (uint32_t)n;
}

static int finish(struct vmbus_gpadl_table *t, struct vmbus_gpadl *g)
{
    uint64_t pages;
    int rc = validate(t, g->buf, g->qwords, g->range_count, &pages);
    if (rc)
        return rc;
    g->total_pages = pages;
    g->state = VMBUS_GPADL_CREATED;
    return VMBUS_GPADL_COMPLETE;
}

static struct vmbus_gpadl *alloc_entry(struct vmbus_gpadl_table *t, uint32_t qwords)
{
    if (t->count >= t->capacity || qwords > t->qword_budget - t->qwords_used)
        return NULL;
    for (uint32_t i = 0; i < t->capacity; i++) {
        struct vmbus_gpadl *g = &t->entries[i];
        if (g->state != VMBUS_GPADL_FREE)
            continue;
        g->buf = malloc((size_t)qwords * 8);
        if (!g->buf)
            return NULL;
        g->qwords = qwords;
        t->qwords_used += qwords;
        t->count++;
        return g;
    }
    return NULL;
}

int vmbus_gpadl_header(struct vmbus_gpadl_table *t, uint32_t relid, uint32_t handle,
                       uint16_t range_count, uint16_t range_buflen, const void *data,
                       size_t len, struct vmbus_gpadl **out)
{
    *out = NULL;
    /* At least one range header and one frame, in whole qwords. */
    if (range_count == 0 || range_buflen < 16 || range_buflen % 8)
        return VMBUS_GPADL_E_INVALID;
    if ((uint32_t)range_count * 2 > range_buflen / 8u)
        return VMBUS_GPADL_E_INVALID;
    if (vmbus_gpadl_find(t, handle))
        return VMBUS_GPADL_E_DUPLICATE;

    struct vmbus_gpadl *g = alloc_entry(t, range_buflen / 8u);
    if (!g)
        return VMBUS_GPADL_E_NOSPC;
    g->handle = handle;
    g->relid = relid;
    g->range_count = range_count;
    g->state = VMBUS_GPADL_ASSEMBLING;
    append(g, data, len);
    if (g->filled < g->qwords) {
        *out = g;
        return VMBUS_GPADL_MORE;
    }
    int rc = finish(t, g);
    if (rc < 0) {
        release(t, g);
        return rc;
    }
    *out = g;
    return rc;
}

int vmbus_gpadl_body(struct vmbus_gpadl_table *t, uint32_t handle, const void *data,
                     size_t len, uint32_t *relid, struct vmbus_gpadl **out)
{
    *out = NULL;
    struct vmbus_gpadl *g = vmbus_gpadl_find(t, handle);
    if (!g || g->state != VMBUS_GPADL_ASSEMBLING)
        return VMBUS_GPADL_E_UNKNOWN;
    *relid = g->relid;
    append(g, data, len);
    if (g->filled < g->qwords) {
        *out = g;
        return VMBUS_GPADL_MORE;
    }
    int rc = finish(t, g);
    if (rc < 0) {
        release(t, g);
        return rc;
    }
    *out = g;
    return rc;
}

int vmbus_gpadl_teardown(struct vmbus_gpadl_table *t, uint32_t relid, uint32_t handle)
{
    struct vmbus_gpadl *g = vmbus_gpadl_find(t, handle);
    if (!g)
        return VMBUS_GPADL_E_UNKNOWN;
    if (g->relid != relid)
        return VMBUS_GPADL_E_CHANNEL;
    if (g->state == VMBUS_GPADL_TEARING_DOWN)
        return VMBUS_GPADL_DEFERRED;
    if (g->users) {
        g->state = VMBUS_GPADL_TEARING_DOWN;
        return VMBUS_GPADL_DEFERRED;
    }
    /* Created, or abandoned half-way: either way it is gone now. */
    release(t, g);
    return VMBUS_GPADL_TORN;
}

void vmbus_gpadl_get(struct vmbus_gpadl *g)
{
    g->users++;
}

bool vmbus_gpadl_put(struct vmbus_gpadl_table *t, struct vmbus_gpadl *g)
{
    if (g->users)
        g->users--;
    if (g->users == 0 && g->state == VMBUS_GPADL_TEARING_DOWN) {
        release(t, g);
        return true;
    }
    return false;
}

void vmbus_gpadl_drop_channel(struct vmbus_gpadl_table *t, uint32_t relid)
{
    for (uint32_t i = 0; i < t->capacity; i++) {
        struct vmbus_gpadl *g = &t->entries[i];
        if (g->state != VMBUS_GPADL_FREE && g->relid == relid)
            release(t, g);
    }
}

void vmbus_gpadl_drop_all(struct vmbus_gpadl_table *t)
{
    for (uint32_t i = 0; i < t->capacity; i++)
        if (t->entries[i].state != VMBUS_GPADL_FREE)
            release(t, &t->entries[i]);
}

bool vmbus_gpadl_range(const struct vmbus_gpadl *g, uint32_t i,
                       struct vmbus_gpadl_range_view *out)
{
    if (g->state != VMBUS_GPADL_CREATED && g->state != VMBUS_GPADL_TEARING_DOWN)
        return false;
    if (i >= g->range_count)
        return false;
    /* Validated at creation: every header and its frames are in bounds. */
    uint64_t pos = 0;
    for (uint32_t r = 0; r < i; r++)
        pos += 1 + range_pages(g->buf[pos]);
    out->byte_count = (uint32_t)g->buf[pos];
    out->byte_offset = (uint32_t)(g->buf[pos] >> 32);
    out->pfns = &g->buf[pos + 1];
    out->nr_pfns = (uint32_t)range_pages(g->buf[pos]);
    return true;
}

const uint64_t *vmbus_gpadl_whole_pages(const struct vmbus_gpadl *g, uint32_t *nr_pages)
{
    struct vmbus_gpadl_range_view r;
    if (g->range_count != 1 || !vmbus_gpadl_range(g, 0, &r))
        return NULL;
    if (r.byte_offset != 0 || r.byte_count % HV_PAGE_SIZE)
        return NULL;
    *nr_pages = r.nr_pfns;
    return r.pfns;
}

int vmbus_gpadl_restore(struct vmbus_gpadl_table *t, uint32_t relid, uint32_t handle,
                        uint16_t range_count, uint32_t qwords, const void *buf,
                        uint32_t filled, bool tearing_down, struct vmbus_gpadl **out)
{
    *out = NULL;
    if (qwords > 0xFFFFu / 8u || filled > qwords || (tearing_down && filled < qwords))
        return VMBUS_GPADL_E_INVALID;
    int rc = vmbus_gpadl_header(t, relid, handle, range_count, (uint16_t)(qwords * 8u), buf,
                                (size_t)filled * 8u, out);
    if (rc == VMBUS_GPADL_COMPLETE && tearing_down)
        (*out)->state = VMBUS_GPADL_TEARING_DOWN;
    return rc;
}
