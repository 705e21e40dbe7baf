/* SPDX-License-Identifier: MIT */
/*
 * Guest memory as the VMBus server sees it: a small interface a host fills
 * in. The KVM host has all guest RAM mapped (vmbus_memview_flat below);
 * Xen's daemon maps foreign frames on demand. Every operation may fail for
 * any page, and callers treat failure as "the guest gave a bad address".
 */
#ifndef HVSHIM_VMBUS_MEMVIEW_H
#define HVSHIM_VMBUS_MEMVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Highest guest frame number the architecture allows (52-bit GPAs). */
#define VMBUS_MAX_PFN ((1ull << 40) - 1)

struct vmbus_memview_ops {
    /* Copy len bytes from/to guest physical memory; 0, or -1 if any byte
     * is not guest RAM. */
    int (*read)(void *ctx, uint64_t gpa, void *buf, size_t len);
    int (*write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
    /* Whether every frame of pfns[0..n) is guest RAM. */
    bool (*pfns_valid)(void *ctx, const uint64_t *pfns, size_t n);
    /* Map frames pfns[0..n) in order as one contiguous, writable host
     * range (rings and buffers are accessed with plain memcpy). NULL if a
     * frame is not RAM or the host cannot stitch these frames together.
     * Each successful map is paired with one unmap of the same n. */
    void *(*map)(void *ctx, const uint64_t *pfns, size_t n);
    void (*unmap)(void *ctx, void *addr, size_t n);
};

struct vmbus_memview {
    const struct vmbus_memview_ops *ops;
    void *ctx;
};

static inline int vmbus_mem_read(const struct vmbus_memview *m, uint64_t gpa, void *buf,
                                 size_t len)
{
    return m->ops->read(m->ctx, gpa, buf, len);
}

static inline int vmbus_mem_write(const struct vmbus_memview *m, uint64_t gpa,
                                  const void *buf, size_t len)
{
    return m->ops->write(m->ctx, gpa, buf, len);
}

static inline bool vmbus_mem_pfns_valid(const struct vmbus_memview *m, const uint64_t *pfns,
                                        size_t n)
{
    return m->ops->pfns_valid(m->ctx, pfns, n);
}

static inline void *vmbus_mem_map(const struct vmbus_memview *m, const uint64_t *pfns,
                                  size_t n)
{
    return m->ops->map(m->ctx, pfns, n);
}

static inline void vmbus_mem_unmap(const struct vmbus_memview *m, void *addr, size_t n)
{
    m->ops->unmap(m->ctx, addr, n);
}

/* ------------------------------------------------------------ flat view */

/*
 * Guest RAM as a few host-mapped regions (e.g. below and above the PCI
 * hole). A map of frames that are consecutive inside one region returns a
 * pointer into it, which is what Linux's physically contiguous rings give.
 * Anything else is stitched with mmap(MAP_FIXED) of the backing file, if
 * the region has one (fd >= 0, e.g. a memfd); without it such maps fail.
 */
#define VMBUS_MEMVIEW_MAX_REGIONS 8u

struct vmbus_mem_region {
    uint64_t gpa;            /* page aligned */
    uint64_t size;           /* page multiple */
    uint8_t *host;           /* mapping of the whole region */
    int fd;                  /* backing file, or -1 */
    uint64_t fd_offset;      /* file offset of gpa */
};

struct vmbus_memview_flat {
    struct vmbus_memview view;
    uint32_t nr_regions;
    struct vmbus_mem_region regions[VMBUS_MEMVIEW_MAX_REGIONS];
    uint32_t stitched_maps;  /* live maps built with mmap */
};

/* Returns 0, or -1 if a region is misaligned, overlaps another or there
 * are too many. */
int vmbus_memview_flat_init(struct vmbus_memview_flat *f,
                            const struct vmbus_mem_region *regions, uint32_t n);

#endif /* HVSHIM_VMBUS_MEMVIEW_H */
