/* SPDX-License-Identifier: MIT */
/*
 * Guest buffers as host iovecs. A device describes the bytes a guest
 * packet points at (GPA-direct ranges, a slice of an already mapped send
 * buffer) and gets an iovec list straight over guest memory, so the data
 * moves once: readv/writev/preadv/pwritev between the backend and guest
 * pages. Frames are mapped in runs of consecutive page numbers (one
 * pointer per run with the flat memory view, no copying, no stitching).
 * Server thread only; the iovecs stay valid until dev_sg_release().
 */
#ifndef HVSHIM_VMBUS_DEVICES_SG_H
#define HVSHIM_VMBUS_DEVICES_SG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmbus/memview.h"
#include "vmbus/packet.h"

struct dev_sg_map {
    void *addr;
    uint32_t pages;
};

struct dev_sg {
    const struct vmbus_memview *mem;
    struct iovec *iov;           /* caller's storage */
    uint32_t niov, max_iov;
    struct dev_sg_map *maps;     /* caller's storage */
    uint32_t nmaps, max_maps;
    uint64_t bytes;              /* total over iov */
};

void dev_sg_init(struct dev_sg *s, const struct vmbus_memview *mem, struct iovec *iov,
                 uint32_t max_iov, struct dev_sg_map *maps, uint32_t max_maps);

/* Append a GPA-direct range. 0, or -1 if a frame is not guest RAM or the
 * storage is exhausted (the sg keeps what it had; release it). */
int dev_sg_add_range(struct dev_sg *s, const struct vmbus_gpa_direct_range *r);
/* Append every range of a GPA-direct packet; -1 if malformed or as above. */
int dev_sg_add_packet(struct dev_sg *s, const struct vmbus_packet *pkt);
/* Append host memory the caller keeps mapped (no unmap on release). */
int dev_sg_add_host(struct dev_sg *s, void *p, size_t len);

/* Keep only the first len bytes in the iovecs (mappings stay until
 * release). No-op if the sg is shorter. */
void dev_sg_truncate(struct dev_sg *s, uint64_t len);

/* Unmap everything mapped; the sg is empty afterwards. */
void dev_sg_release(struct dev_sg *s);

/* Copy between a flat buffer and the sg starting `off` bytes in; returns
 * the bytes copied (less when the sg ends first). */
size_t dev_sg_copy_to(const struct dev_sg *s, uint64_t off, const void *src, size_t len);
size_t dev_sg_copy_from(const struct dev_sg *s, uint64_t off, void *dst, size_t len);

/* The iovecs covering [off, off + len) of the sg, in out[0..max). Returns
 * how many, or -1 if the range leaves the sg or needs more than max. */
int dev_sg_slice(const struct dev_sg *s, uint64_t off, uint64_t len, struct iovec *out,
                 uint32_t max);

#endif /* HVSHIM_VMBUS_DEVICES_SG_H */
