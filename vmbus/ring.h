/* SPDX-License-Identifier: MIT */
/*
 * One VMBus ring over a bounded, host-mapped span of guest memory: a 4 KiB
 * header page and a data area of size bytes. The host is the reader of
 * the guest-to-host ring ("in") and the writer of the host-to-guest ring
 * ("out").
 *
 * The guest can change the shared page at any moment, so the host keeps
 * its own copy of the index it owns (read index of "in", write index of
 * "out") and never reads that one back; every index it takes from the
 * guest is loaded once, checked (in range, 8-byte aligned, consistent),
 * and every packet is copied out before it is parsed. A check failure is
 * VMBUS_RING_BROKEN: the channel is to be closed.
 *
 * Copies are wrap-aware and span-checked once: at most two memcpy calls per
 * piece, no per-byte checks.
 */
#ifndef HVSHIM_VMBUS_RING_H
#define HVSHIM_VMBUS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/protocol.h"

enum vmbus_ring_result {
    VMBUS_RING_OK = 0,
    VMBUS_RING_EMPTY = 1,      /* in: nothing to read */
    VMBUS_RING_FULL = -1,      /* out: no room now (try after a signal) */
    VMBUS_RING_TOO_BIG = -2,   /* larger than the caller's buffer / the ring */
    VMBUS_RING_BROKEN = -3,    /* the guest broke the ring rules */
};

struct vmbus_ring {
    uint8_t *base;             /* header page; data follows */
    uint32_t size;             /* data bytes */
    uint32_t priv;             /* host-owned index: in = read, out = write */
    uint32_t published;        /* index last written to the page: in = read,
                                * out = write (priv runs ahead in a batch) */
    uint32_t guest_seen;       /* guest-owned index last loaded (validated):
                                * in = write, out = read */
};

/* Smallest ring: header page + one data page. */
#define VMBUS_RING_MIN_BYTES (2u * HV_PAGE_SIZE)

/* bytes = header page + data, page multiple. Takes the host-owned index
 * from the page (0 on a fresh ring; validated). 0, or BROKEN. */
int vmbus_ring_in_init(struct vmbus_ring *r, void *mem, uint32_t bytes);
int vmbus_ring_out_init(struct vmbus_ring *r, void *mem, uint32_t bytes);

/* -------------------------------------------------------------- reading */

/* A packet copied out of the ring; fields parsed from the copy. */
struct vmbus_packet {
    uint16_t type;
    uint16_t flags;
    uint64_t trans_id;
    const uint8_t *raw;        /* descriptor onwards */
    uint32_t raw_len;          /* len8 * 8 */
    const uint8_t *data;       /* raw + offset8 * 8 */
    uint32_t data_len;         /* includes padding, as Linux reports it */
};

/*
 * Copy the next packet into buf (up to buflen bytes) without consuming it.
 * OK: *pkt describes it and *consumed is what vmbus_ring_in_advance takes.
 * EMPTY, BROKEN, or TOO_BIG (packet valid but larger than buflen: *consumed
 * is set so the caller can skip it).
 */
int vmbus_ring_in_peek(struct vmbus_ring *r, void *buf, uint32_t buflen,
                       struct vmbus_packet *pkt, uint32_t *consumed);
void vmbus_ring_in_advance(struct vmbus_ring *r, uint32_t consumed);

/* Publish the read index. Returns true if the guest must be signalled: it
 * asked (pending_send_sz, feature bit set) to hear when free space grows
 * past its need, and this publication crossed that line. */
bool vmbus_ring_in_publish(struct vmbus_ring *r);

/* Reader's interrupt mask. After unmasking, returns true if data arrived
 * meanwhile (the caller must read again: the guest did not signal). */
bool vmbus_ring_in_set_mask(struct vmbus_ring *r, bool masked);

/* Bytes the guest has written and the host has not consumed, or -1 if the
 * guest's write index is invalid. */
int64_t vmbus_ring_in_avail(const struct vmbus_ring *r);

/* -------------------------------------------------------------- writing */

struct vmbus_ring_seg {
    const void *p;
    uint32_t len;
};

/* Ring bytes a packet takes: descriptor, ext, payload padded, trailer. */
static inline uint64_t vmbus_ring_packet_bytes(uint32_t ext_len, uint64_t payload_len)
{
    return sizeof(struct vmbus_packet_desc) + ext_len + ((payload_len + 7) & ~7ull) +
           VMBUS_PACKET_TRAILER_SIZE;
}

/*
 * Write one packet: descriptor, ext (ext_len multiple of 8, part of the
 * header: offset8 covers it), then the segments as payload, zero padding,
 * and the trailer; then publish. *signal is set when the guest must be
 * signalled (its mask is clear and the ring was empty before).
 * OK, FULL, TOO_BIG (can never fit), or BROKEN (the packet may have been
 * written; the channel is to be closed anyway).
 */
int vmbus_ring_out_write(struct vmbus_ring *r, uint16_t type, uint16_t flags,
                         uint64_t trans_id, const void *ext, uint32_t ext_len,
                         const struct vmbus_ring_seg *segs, uint32_t nsegs, bool *signal);

/* Batching: write_more copies a packet without making it visible;
 * publish makes everything written since the last publish visible with one
 * barrier and returns 1 if the guest must be signalled (judged from the
 * start of the batch, as for a single packet), 0 if not, or BROKEN if the
 * guest's read index is invalid. write = both.
 * The guest's read index is loaded (and checked) only when the space known
 * from its last value is not enough, and at every publish. */
int vmbus_ring_out_write_more(struct vmbus_ring *r, uint16_t type, uint16_t flags,
                              uint64_t trans_id, const void *ext, uint32_t ext_len,
                              const struct vmbus_ring_seg *segs, uint32_t nsegs);
int vmbus_ring_out_publish(struct vmbus_ring *r);

/* Whether a packet of `bytes` (vmbus_ring_packet_bytes) fits now. -1 on a
 * broken guest read index. */
int vmbus_ring_out_fits(struct vmbus_ring *r, uint64_t bytes);

/* Blocked writer: ask the guest to signal once `bytes` are free (0 clears).
 * Returns 1 if they are free already (no signal will come), 0 if not,
 * -1 on a broken guest read index. */
int vmbus_ring_out_wait_for(struct vmbus_ring *r, uint32_t bytes);

#endif /* HVSHIM_VMBUS_RING_H */
