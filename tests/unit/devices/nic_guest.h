/* SPDX-License-Identifier: MIT */
/*
 * Guest side of the synthetic NIC for tests, written after Linux 6.1's
 * netvsc and rndis_filter: NVSP negotiation and buffers
 * (netvsc_connect_vsp, netvsc_init_buf), RNDIS requests from guest memory
 * and their answers through the receive buffer, transfer-page packets read
 * and completed as netvsc_receive does.
 */
#ifndef HVSHIM_TESTS_DEVICES_NIC_GUEST_H
#define HVSHIM_TESTS_DEVICES_NIC_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/unit/devices/dev_harness.h"
#include "vmbus/devices/netvsc.h"
#include "vmbus/devices/nvsp.h"
#include "vmbus/devices/rndis.h"

#define NV_RING_PAGES 129u              /* 512 KiB + header, as Linux */

struct nv {
    struct vh *h;
    struct vh_chan c;
    struct netvsc *n;
    int peer;                           /* the "network" end */
    uint8_t mac[6];                     /* what the NIC should report */
    uint32_t mtu;
    uint32_t relid;
    uint32_t version;
    uint64_t recv_gpa, send_gpa;
    uint32_t recv_bytes, send_bytes;
    uint32_t sub_size, nsubs, section_size;
    uint64_t next_id;
    uint32_t req_id;
    /* Host packets read but not yet consumed by a test. */
    uint8_t pending[16][8192];
    uint32_t pending_len[16];
    uint32_t npending;
};


/* A received transfer-page packet, decoded the way netvsc_receive does. */
struct xfer {
    uint64_t trans_id;
    uint32_t channel_type;
    uint32_t count;
    uint32_t off[64], len[64];
};

/* Open the NIC's channel (t->h set, the NIC added). */
void nv_bringup(struct nv *t);
/* Next host packet (whole), waiting in real time for backend threads. */
bool next_packet(struct nv *t, uint8_t *buf, uint32_t *len, int tries);
const struct vmbus_packet_desc *desc_of(const uint8_t *buf);
/* Wait for the completion of trans_id; other packets are kept. */
struct nvsp_msg wait_comp(struct nv *t, uint64_t id);
struct nvsp_msg nvsp_call(struct nv *t, const struct nvsp_msg *m);
void nvsp_post(struct nv *t, const struct nvsp_msg *m);
/* netvsc_connect_vsp + netvsc_init_buf: the negotiated version. */
uint32_t linux_connect(struct nv *t, uint32_t recv_bytes, uint32_t send_bytes);
bool take_xfer(struct nv *t, struct xfer *x, int tries);
void complete_xfer(struct nv *t, uint64_t id);
uint8_t *recv_at(struct nv *t, uint32_t off);
uint32_t rndis_call(struct nv *t, const uint8_t *req, uint32_t len, uint8_t *resp);
uint32_t nv_rd32(const uint8_t *p);
void nv_wr32(uint8_t *p, uint32_t v);
int rndis_query(struct nv *t, uint32_t oid, uint8_t *info, uint32_t info_max);
uint32_t rndis_set(struct nv *t, uint32_t oid, const void *val, uint32_t n);
/* rndis_filter_device_add, then the filter set on ifup. */
void linux_rndis(struct nv *t);
/* An RNDIS PACKET message with the frame (NULL: header only), padding,
 * and an 802.1Q per-packet info when vlan >= 0. Returns its length. */
uint32_t build_packet_msg(uint8_t *p, const uint8_t *frame, uint32_t flen, uint32_t pad,
                          int vlan);

#endif /* HVSHIM_TESTS_DEVICES_NIC_GUEST_H */
