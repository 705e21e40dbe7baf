/* SPDX-License-Identifier: MIT */
/*
 * NVSP, the synthetic NIC's VMBus protocol (netvsc <-> netvsp): versions,
 * message types, the 40-byte message and its bodies, and a pure decoder for
 * guest messages.
 *
 * Facts: Linux 6.1 drivers/net/hyperv/{hyperv_net.h,netvsc.c} and the
 * shared reference (vmbus.md section 7). Little-endian, packed.
 */
#ifndef HVSHIM_VMBUS_DEVICES_NVSP_H
#define HVSHIM_VMBUS_DEVICES_NVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus/protocol.h"

/* Versions Linux tries, newest first. */
#define NVSP_VERSION_1   0x00002u
#define NVSP_VERSION_2   0x30002u
#define NVSP_VERSION_4   0x40000u
#define NVSP_VERSION_5   0x50000u
#define NVSP_VERSION_6   0x60000u
#define NVSP_VERSION_61  0x60001u

enum nvsp_msg_type {
    NVSP_MSG_INIT = 1,
    NVSP_MSG_INIT_COMPLETE = 2,
    NVSP_MSG1_SEND_NDIS_VERSION = 100,
    NVSP_MSG1_SEND_RECV_BUF = 101,
    NVSP_MSG1_SEND_RECV_BUF_COMPLETE = 102,
    NVSP_MSG1_REVOKE_RECV_BUF = 103,
    NVSP_MSG1_SEND_SEND_BUF = 104,
    NVSP_MSG1_SEND_SEND_BUF_COMPLETE = 105,
    NVSP_MSG1_REVOKE_SEND_BUF = 106,
    NVSP_MSG1_SEND_RNDIS_PKT = 107,
    NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE = 108,
    NVSP_MSG2_SEND_NDIS_CONFIG = 125,
    NVSP_MSG4_SEND_VF_ASSOCIATION = 128,
    NVSP_MSG4_SWITCH_DATA_PATH = 129,
    NVSP_MSG5_SUBCHANNEL = 133,
    NVSP_MSG5_SEND_INDIRECTION_TABLE = 134,
};

enum nvsp_status {
    NVSP_STATUS_NONE = 0,
    NVSP_STATUS_SUCCESS = 1,
    NVSP_STATUS_FAIL = 2,
};

/* Receive buffer pageset id Linux expects in transfer-page packets. */
#define NVSP_RECV_BUF_ID 0xCAFEu
/* send_buf_section_index meaning "data not in the send buffer". */
#define NVSP_NO_SECTION 0xFFFFFFFFu
/* channel_type of SEND_RNDIS_PKT */
#define NVSP_CHANNEL_DATA    0u
#define NVSP_CHANNEL_CONTROL 1u

#define NVSP_MSG_SIZE 40u

struct nvsp_init {
    uint32_t min_version;
    uint32_t max_version;
} VMBUS_PACKED;

struct nvsp_init_complete {
    uint32_t negotiated_version;
    uint32_t max_mdl_chain_length;
    uint32_t status;
} VMBUS_PACKED;

struct nvsp_ndis_version {
    uint32_t major;
    uint32_t minor;
} VMBUS_PACKED;

struct nvsp_send_buf {           /* SEND_RECV_BUF and SEND_SEND_BUF */
    uint32_t gpadl;
    uint16_t id;
} VMBUS_PACKED;

struct nvsp_recv_section {
    uint32_t offset;
    uint32_t sub_alloc_size;
    uint32_t num_sub_allocs;
    uint32_t end_offset;
} VMBUS_PACKED;

struct nvsp_recv_buf_complete {
    uint32_t status;
    uint32_t num_sections;
    struct nvsp_recv_section section;
} VMBUS_PACKED;

struct nvsp_send_buf_complete {
    uint32_t status;
    uint32_t section_size;
} VMBUS_PACKED;

struct nvsp_revoke_buf {
    uint16_t id;
} VMBUS_PACKED;

struct nvsp_rndis_pkt {
    uint32_t channel_type;       /* NVSP_CHANNEL_* */
    uint32_t section_index;      /* or NVSP_NO_SECTION */
    uint32_t section_size;       /* bytes used in that section */
} VMBUS_PACKED;

struct nvsp_rndis_pkt_complete {
    uint32_t status;
} VMBUS_PACKED;

struct nvsp_ndis_config {
    uint32_t mtu;                /* guest MTU + 14 */
    uint32_t reserved;
    uint64_t capabilities;       /* bit 0 VMQ, 2 SR-IOV, 3 802.1q, 5 teaming, 7 RSC */
} VMBUS_PACKED;

struct nvsp_subchannel {         /* request (op, n) and completion (status, n) */
    uint32_t op_or_status;
    uint32_t count;
} VMBUS_PACKED;

#define NVSP_SUBCHANNEL_ALLOCATE 1u

struct nvsp_msg {
    uint32_t type;
    union {
        struct nvsp_init init;
        struct nvsp_init_complete init_complete;
        struct nvsp_ndis_version ndis_version;
        struct nvsp_send_buf send_buf;
        struct nvsp_recv_buf_complete recv_buf_complete;
        struct nvsp_send_buf_complete send_buf_complete;
        struct nvsp_revoke_buf revoke;
        struct nvsp_rndis_pkt rndis_pkt;
        struct nvsp_rndis_pkt_complete rndis_pkt_complete;
        struct nvsp_ndis_config ndis_config;
        struct nvsp_subchannel subchannel;
        uint8_t body[NVSP_MSG_SIZE - 4];
    };
} VMBUS_PACKED;

_Static_assert(sizeof(struct nvsp_msg) == NVSP_MSG_SIZE, "NVSP messages are 40 bytes");
_Static_assert(sizeof(struct nvsp_recv_buf_complete) == 24, "receive buffer completion");
_Static_assert(sizeof(struct nvsp_ndis_config) == 16, "NDIS config");

/* Decode a guest message (len bytes of packet data). Bytes the guest did
 * not send read as zero. false if shorter than the type field. Pure. */
bool nvsp_decode(const void *data, uint32_t len, struct nvsp_msg *out);

/* Whether the host speaks version v (one of the six above, <= max). */
bool nvsp_version_ok(uint32_t v, uint32_t max);

/* Highest version the host speaks inside [min, max] of an INIT, capped at
 * host_max; 0 if none. */
uint32_t nvsp_negotiate(uint32_t min, uint32_t max, uint32_t host_max);

/* The receive buffer carve-up: sub_alloc bytes each, as many as fit in
 * `bytes` (at most max_subs). false if not even one fits. */
bool nvsp_recv_layout(uint32_t bytes, uint32_t sub_alloc, uint32_t max_subs,
                      struct nvsp_recv_section *out);

#endif /* HVSHIM_VMBUS_DEVICES_NVSP_H */
