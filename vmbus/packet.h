/* SPDX-License-Identifier: MIT */
/*
 * Decoders for the packet kinds that carry more than inline data: transfer
 * page ranges (type 7) and GPA-direct ranges (type 9). They work on a
 * packet already copied out of the ring (struct vmbus_packet) and check
 * that every range lies inside the packet's header area.
 */
#ifndef HVSHIM_VMBUS_PACKET_H
#define HVSHIM_VMBUS_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus/ring.h"

/* Type 7: the pageset id and the range array. false if malformed. */
bool vmbus_packet_xfer_pages(const struct vmbus_packet *pkt, uint16_t *pageset_id,
                             uint32_t *range_count,
                             const struct vmbus_xfer_page_range **ranges);

/* Type 9: iterate the ranges. */
struct vmbus_gpa_direct_iter {
    const uint8_t *pos;
    const uint8_t *end;        /* end of the header area */
    uint32_t left;             /* ranges still to decode */
};

struct vmbus_gpa_direct_range {
    uint32_t len;
    uint32_t offset;           /* into the first page, < 4096 */
    const uint8_t *pfns;       /* nr_pfns little-endian u64s (maybe unaligned) */
    uint32_t nr_pfns;
};

/* false if the packet is not a well-formed type 9 header. */
bool vmbus_packet_gpa_direct_begin(const struct vmbus_packet *pkt,
                                   struct vmbus_gpa_direct_iter *it, uint32_t *range_count);
/* 1: *out filled; 0: no more ranges; -1: malformed range. */
int vmbus_packet_gpa_direct_next(struct vmbus_gpa_direct_iter *it,
                                 struct vmbus_gpa_direct_range *out);

uint64_t vmbus_gpa_direct_pfn(const struct vmbus_gpa_direct_range *r, uint32_t i);

#endif /* HVSHIM_VMBUS_PACKET_H */
