/* SPDX-License-Identifier: MIT */
/* The flat memory view: guest RAM as a few host-mapped regions. */
#include <string.h>
#include <sys/mman.h>

#include "vmbus/memview.h"
#include "hvshim/tlfs.h"

static const struct vmbus_mem_region *find_region(const struct vmbus_memview_flat *f,
                                                  uint64_t gpa, uint64_t len)
{
    for (uint32_t i = 0; i < f->nr_regions; i++) {
        const struct vmbus_mem_region *r = &f->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

/* Copies may cross from one region into the next adjacent one. */
static int flat_copy(struct vmbus_memview_flat *f, uint64_t gpa, uint8_t *buf, size_t len,
                     bool to_guest)
{
    while (len) {
        const struct vmbus_mem_region *r = find_region(f, gpa, 1);
        if (!r)
            return -1;
        uint64_t off = gpa - r->gpa;
        size_t chunk = r->size - off < len ? (size_t)(r->size - off) : len;
        if (to_guest)
            memcpy(r->host + off, buf, chunk);
        else
            memcpy(buf, r->host + off, chunk);
        buf += chunk;
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

static int flat_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    if (gpa + len < gpa)
        return -1;
    return flat_copy(ctx, gpa, buf, len, false);
}

static int flat_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa + len < gpa)
        return -1;
    return flat_copy(ctx, gpa, (uint8_t *)buf, len, true);
}

static bool flat_pfns_valid(void *ctx, const uint64_t *pfns, size_t n)
{
    struct vmbus_memview_flat *f = ctx;
    for (size_t i = 0; i < n; i++) {
        if (pfns[i] > VMBUS_MAX_PFN ||
            !find_region(f, pfns[i] << HV_PAGE_SHIFT, HV_PAGE_SIZE))
            return false;
    }
    return true;
}

static bool region_has_pfn(const struct vmbus_mem_region *r, uint64_t pfn)
{
    uint64_t gpa = pfn << HV_PAGE_SHIFT;
    return gpa >= r->gpa && gpa - r->gpa < r->size;
}

/* Length of the run of consecutive frames starting at pfns[i] that stays
 * inside region r. */
static size_t run_length(const struct vmbus_mem_region *r, const uint64_t *pfns, size_t i,
                         size_t n)
{
    size_t k = 1;
    while (i + k < n && pfns[i + k] == pfns[i] + k &&
           region_has_pfn(r, pfns[i + k]))
        k++;
    return k;
}

static void *flat_map(void *ctx, const uint64_t *pfns, size_t n)
{
    struct vmbus_memview_flat *f = ctx;
    if (n == 0 || n > SIZE_MAX / HV_PAGE_SIZE || !flat_pfns_valid(f, pfns, n))
        return NULL;

    const struct vmbus_mem_region *first = find_region(f, pfns[0] << HV_PAGE_SHIFT,
                                                       HV_PAGE_SIZE);
    if (run_length(first, pfns, 0, n) == n)
        return first->host + ((pfns[0] << HV_PAGE_SHIFT) - first->gpa);

    /* Stitch: reserve the span, then place each run of the backing file. */
    size_t bytes = n * HV_PAGE_SIZE;
    uint8_t *base = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    for (size_t i = 0; i < n;) {
        const struct vmbus_mem_region *r = find_region(f, pfns[i] << HV_PAGE_SHIFT,
                                                       HV_PAGE_SIZE);
        size_t k = run_length(r, pfns, i, n);
        if (r->fd < 0)
            goto fail;
        off_t off = (off_t)(r->fd_offset + ((pfns[i] << HV_PAGE_SHIFT) - r->gpa));
        void *p = mmap(base + i * HV_PAGE_SIZE, k * HV_PAGE_SIZE, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_FIXED, r->fd, off);
        if (p == MAP_FAILED)
            goto fail;
        i += k;
    }
    f->stitched_maps++;
    return base;
fail:
    munmap(base, bytes);
    return NULL;
}

static void flat_unmap(void *ctx, void *addr, size_t n)
{
    struct vmbus_memview_flat *f = ctx;
    uint8_t *p = addr;
    for (uint32_t i = 0; i < f->nr_regions; i++) {
        const struct vmbus_mem_region *r = &f->regions[i];
        if (p >= r->host && p < r->host + r->size)
            return;  /* a pointer into a region: nothing was created */
    }
    munmap(addr, n * HV_PAGE_SIZE);
    f->stitched_maps--;
}

static const struct vmbus_memview_ops flat_ops = {
    .read = flat_read,
    .write = flat_write,
    .pfns_valid = flat_pfns_valid,
    .map = flat_map,
    .unmap = flat_unmap,
};

int vmbus_memview_flat_init(struct vmbus_memview_flat *f,
                            const struct vmbus_mem_region *regions, uint32_t n)
{
    memset(f, 0, sizeof(*f));
    if (n > VMBUS_MEMVIEW_MAX_REGIONS)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const struct vmbus_mem_region *r = &regions[i];
        if ((r->gpa | r->size | r->fd_offset) & (HV_PAGE_SIZE - 1) || !r->size || !r->host ||
            r->gpa + r->size < r->gpa)
            return -1;
        for (uint32_t j = 0; j < i; j++) {
            const struct vmbus_mem_region *o = &regions[j];
            if (r->gpa < o->gpa + o->size && o->gpa < r->gpa + r->size)
                return -1;
        }
    }
    memcpy(f->regions, regions, n * sizeof(*regions));
    f->nr_regions = n;
    f->view.ops = &flat_ops;
    f->view.ctx = f;
    return 0;
}
