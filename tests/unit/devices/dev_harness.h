/* SPDX-License-Identifier: MIT */
/*
 * Guest side for the device tests, on top of the VMBus harness
 * (tests/unit/vmbus/harness.h): bring a device's channel up the way Linux
 * 6.1 does, write packets of any type (GPA-direct with page ranges) to the
 * guest-to-host ring, and read whole host packets (descriptor included, for
 * transfer-page ranges) from the host-to-guest ring.
 */
#ifndef HVSHIM_TESTS_DEVICES_DEV_HARNESS_H
#define HVSHIM_TESTS_DEVICES_DEV_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/unit/vmbus/harness.h"

/* Connect at 5.3, take the offers, open the first channel of class
 * if_type with rings of ring_pages pages each way (header included).
 * Returns the offer's relid (the channel is in *c). */
uint32_t dh_bringup(struct vh *h, const struct vmbus_guid *if_type, struct vh_chan *c,
                    uint32_t ring_pages);

/* Write one packet: ext (multiple of 8) goes in the header area (offset8
 * covers it), data after it. Signals when Linux would. 0 or -1 (full). */
int dh_send(struct vh *h, struct vh_chan *c, uint16_t type, uint16_t flags, uint64_t trans_id,
            const void *ext, uint32_t ext_len, const void *data, uint32_t len);

/* A GPA-direct packet over guest buffers: n ranges {gpa, len}, each in
 * pages consecutive from its gpa's page. */
struct dh_range {
    uint64_t gpa;
    uint32_t len;
};
int dh_send_gpa(struct vh *h, struct vh_chan *c, uint64_t trans_id, const struct dh_range *r,
                uint32_t n, const void *data, uint32_t len);
/* Same with an explicit page list for one range (scattered pages). */
int dh_send_gpa_pfns(struct vh *h, struct vh_chan *c, uint64_t trans_id, uint32_t offset,
                     uint32_t len, const uint64_t *pfns, uint32_t npfns, const void *data,
                     uint32_t dlen);

/* Read the next host packet whole (descriptor onwards) into buf. Returns
 * 1 (len = len8 * 8), 0 if empty. Applies Linux's reader rules. */
int dh_recv(struct vh *h, struct vh_chan *c, void *buf, uint32_t buflen, uint32_t *len);

/* Let the server run: due timers and device wakes (no real time passes). */
void dh_pump(struct vh *h);

/* Fill/compare a pattern derived from seed (for data checks). */
void dh_pattern(void *p, uint32_t len, uint32_t seed);
bool dh_check_pattern(const void *p, uint32_t len, uint32_t seed);

#endif /* HVSHIM_TESTS_DEVICES_DEV_HARNESS_H */
