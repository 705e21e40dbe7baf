/* SPDX-License-Identifier: MIT */
/*
 * The VMBus server's view of a Xen guest's memory (vmbus/memview.h) on
 * libxenforeignmemory: frames are mapped on demand. Copies go through a
 * small cache of single-frame mappings (control messages and GPADL setup
 * touch the same few pages again and again); rings and buffers are mapped
 * as one range per request. A frame that is not the guest's RAM fails the
 * access, which the server treats as a bad guest address.
 */
#ifndef HVSHIM_XEN_MEMVIEW_H
#define HVSHIM_XEN_MEMVIEW_H

#include <stdint.h>

#include "vmbus/memview.h"

struct xenforeignmemory_handle;

#define HVX_MEMVIEW_CACHE 16

struct hvx_memview {
    struct vmbus_memview view;
    struct xenforeignmemory_handle *fmem;
    uint32_t domid;
    struct {
        uint64_t pfn;
        void *va;            /* NULL: empty */
    } cache[HVX_MEMVIEW_CACHE];
    unsigned next_victim;
    uint64_t maps, map_failures, live_ranges;
};

void hvx_memview_init(struct hvx_memview *m, struct xenforeignmemory_handle *fmem,
                      uint32_t domid);
/* Drops the cached mappings (ranges are the server's to unmap). */
void hvx_memview_fini(struct hvx_memview *m);

#endif /* HVSHIM_XEN_MEMVIEW_H */
