/* SPDX-License-Identifier: MIT */
/* Guest memory through xenforeignmemory (see memview_xen.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenforeignmemory.h>

#include "hvshim/tlfs.h"
#include "xen-glue/toolstack/memview_xen.h"

static void *cached_frame(struct hvx_memview *m, uint64_t pfn)
{
    xen_pfn_t arr[1] = { (xen_pfn_t)pfn };
    int err[1] = { 0 };
    unsigned slot;
    void *va;

    for (unsigned i = 0; i < HVX_MEMVIEW_CACHE; i++)
        if (m->cache[i].va && m->cache[i].pfn == pfn)
            return m->cache[i].va;

    va = xenforeignmemory_map(m->fmem, m->domid, PROT_READ | PROT_WRITE, 1, arr, err);
    m->maps++;
    if (!va || err[0]) {
        if (va)
            xenforeignmemory_unmap(m->fmem, va, 1);
        m->map_failures++;
        return NULL;
    }
    slot = m->next_victim;
    m->next_victim = (slot + 1) % HVX_MEMVIEW_CACHE;
    if (m->cache[slot].va)
        xenforeignmemory_unmap(m->fmem, m->cache[slot].va, 1);
    m->cache[slot].pfn = pfn;
    m->cache[slot].va = va;
    return va;
}

static int copy(struct hvx_memview *m, uint64_t gpa, uint8_t *buf, size_t len, bool to_guest)
{
    if (gpa + len < gpa || ((gpa + len) >> HV_PAGE_SHIFT) > VMBUS_MAX_PFN + 1)
        return -1;
    while (len) {
        size_t off = gpa & (HV_PAGE_SIZE - 1);
        size_t chunk = HV_PAGE_SIZE - off < len ? HV_PAGE_SIZE - off : len;
        uint8_t *va = cached_frame(m, gpa >> HV_PAGE_SHIFT);

        if (!va)
            return -1;
        if (to_guest)
            memcpy(va + off, buf, chunk);
        else
            memcpy(buf, va + off, chunk);
        gpa += chunk;
        buf += chunk;
        len -= chunk;
    }
    return 0;
}

static int mv_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return copy(ctx, gpa, buf, len, false);
}

static int mv_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    return copy(ctx, gpa, (uint8_t *)buf, len, true);
}

static void *mv_map(void *ctx, const uint64_t *pfns, size_t n)
{
    struct hvx_memview *m = ctx;
    xen_pfn_t *arr;
    int *err;
    void *va = NULL;

    if (n == 0 || n > (1u << 20))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (pfns[i] > VMBUS_MAX_PFN)
            return NULL;
    arr = calloc(n, sizeof(*arr));
    err = calloc(n, sizeof(*err));
    if (arr && err) {
        for (size_t i = 0; i < n; i++)
            arr[i] = (xen_pfn_t)pfns[i];
        va = xenforeignmemory_map(m->fmem, m->domid, PROT_READ | PROT_WRITE, n, arr, err);
        m->maps++;
        for (size_t i = 0; va && i < n; i++)
            if (err[i]) {
                xenforeignmemory_unmap(m->fmem, va, n);
                va = NULL;
            }
        if (va)
            m->live_ranges++;
        else
            m->map_failures++;
    }
    free(arr);
    free(err);
    return va;
}

static void mv_unmap(void *ctx, void *addr, size_t n)
{
    struct hvx_memview *m = ctx;

    if (!addr)
        return;
    xenforeignmemory_unmap(m->fmem, addr, n);
    m->live_ranges--;
}

static bool mv_pfns_valid(void *ctx, const uint64_t *pfns, size_t n)
{
    void *va = mv_map(ctx, pfns, n);

    if (!va)
        return false;
    mv_unmap(ctx, va, n);
    return true;
}

static const struct vmbus_memview_ops ops = {
    .read = mv_read,
    .write = mv_write,
    .pfns_valid = mv_pfns_valid,
    .map = mv_map,
    .unmap = mv_unmap,
};

void hvx_memview_init(struct hvx_memview *m, struct xenforeignmemory_handle *fmem,
                      uint32_t domid)
{
    memset(m, 0, sizeof(*m));
    m->fmem = fmem;
    m->domid = domid;
    m->view.ops = &ops;
    m->view.ctx = m;
}

void hvx_memview_fini(struct hvx_memview *m)
{
    for (unsigned i = 0; i < HVX_MEMVIEW_CACHE; i++)
        if (m->cache[i].va) {
            xenforeignmemory_unmap(m->fmem, m->cache[i].va, 1);
            m->cache[i].va = NULL;
        }
}
