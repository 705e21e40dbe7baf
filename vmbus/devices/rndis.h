/* SPDX-License-Identifier: MIT */
/*
 * RNDIS as the synthetic NIC carries it: message types, statuses, the OIDs
 * guests use, the NDIS offload/RSS structures, and pure functions for the
 * device side: answer a control message, parse a data packet (with its
 * per-packet info), build the headers of received frames and link
 * indications, and decide whether the guest's packet filter takes a frame.
 *
 * Facts: Linux 6.1 drivers/net/hyperv/rndis_filter.c, hyperv_net.h,
 * include/linux/rndis.h, and the shared reference (vmbus.md section 7).
 */
#ifndef HVSHIM_VMBUS_DEVICES_RNDIS_H
#define HVSHIM_VMBUS_DEVICES_RNDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus/protocol.h"

/* Message types */
#define RNDIS_MSG_PACKET      0x00000001u
#define RNDIS_MSG_INIT        0x00000002u
#define RNDIS_MSG_HALT        0x00000003u
#define RNDIS_MSG_QUERY       0x00000004u
#define RNDIS_MSG_SET         0x00000005u
#define RNDIS_MSG_RESET       0x00000006u
#define RNDIS_MSG_INDICATE    0x00000007u
#define RNDIS_MSG_KEEPALIVE   0x00000008u
#define RNDIS_MSG_COMPLETION  0x80000000u

/* Statuses */
#define RNDIS_STATUS_SUCCESS          0x00000000u
#define RNDIS_STATUS_FAILURE          0xC0000001u
#define RNDIS_STATUS_NOT_SUPPORTED    0xC00000BBu
#define RNDIS_STATUS_INVALID_LENGTH   0xC0010014u
#define RNDIS_STATUS_INVALID_DATA     0xC0010015u
#define RNDIS_STATUS_MEDIA_CONNECT    0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define RNDIS_STATUS_LINK_SPEED_CHANGE 0x40010013u

/* OIDs */
#define OID_GEN_SUPPORTED_LIST          0x00010101u
#define OID_GEN_HARDWARE_STATUS         0x00010102u
#define OID_GEN_MEDIA_SUPPORTED         0x00010103u
#define OID_GEN_MEDIA_IN_USE            0x00010104u
#define OID_GEN_MAXIMUM_LOOKAHEAD       0x00010105u
#define OID_GEN_MAXIMUM_FRAME_SIZE      0x00010106u
#define OID_GEN_LINK_SPEED              0x00010107u
#define OID_GEN_TRANSMIT_BLOCK_SIZE     0x0001010Au
#define OID_GEN_RECEIVE_BLOCK_SIZE      0x0001010Bu
#define OID_GEN_VENDOR_ID               0x0001010Cu
#define OID_GEN_VENDOR_DESCRIPTION      0x0001010Du
#define OID_GEN_CURRENT_PACKET_FILTER   0x0001010Eu
#define OID_GEN_CURRENT_LOOKAHEAD       0x0001010Fu
#define OID_GEN_MAXIMUM_TOTAL_SIZE      0x00010111u
#define OID_GEN_MAC_OPTIONS             0x00010113u
#define OID_GEN_MEDIA_CONNECT_STATUS    0x00010114u
#define OID_GEN_MAXIMUM_SEND_PACKETS    0x00010115u
#define OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u
#define OID_GEN_RECEIVE_SCALE_PARAMETERS   0x00010204u
#define OID_GEN_RNDIS_CONFIG_PARAMETER  0x0001021Bu
#define OID_GEN_FRIENDLY_NAME           0x00020216u
#define OID_802_3_PERMANENT_ADDRESS     0x01010101u
#define OID_802_3_CURRENT_ADDRESS       0x01010102u
#define OID_802_3_MULTICAST_LIST        0x01010103u
#define OID_802_3_MAXIMUM_LIST_SIZE     0x01010104u
#define OID_OFFLOAD_ENCAPSULATION       0x0101010Au
#define OID_TCP_OFFLOAD_PARAMETERS      0xFC01020Cu
#define OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du
#define OID_TCP_OFFLOAD_CURRENT_CONFIG  0xFC01020Bu

/* Packet filter bits */
#define NDIS_PACKET_TYPE_DIRECTED       0x00000001u
#define NDIS_PACKET_TYPE_MULTICAST      0x00000002u
#define NDIS_PACKET_TYPE_ALL_MULTICAST  0x00000004u
#define NDIS_PACKET_TYPE_BROADCAST      0x00000008u
#define NDIS_PACKET_TYPE_PROMISCUOUS    0x00000020u

/* NDIS object types and the offload structure sizes per revision. */
#define NDIS_OBJECT_TYPE_DEFAULT        0x80u
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES 0x88u
#define NDIS_OBJECT_TYPE_OFFLOAD        0xA7u
#define NDIS_OFFLOAD_SIZE_6_0           112u  /* revision 1 */
#define NDIS_OFFLOAD_SIZE_6_1           144u  /* revision 2 */
#define NDIS_OFFLOAD_SIZE               156u  /* revision 3 */

/* Per-packet info types */
#define RNDIS_PPI_CHECKSUM   0u
#define RNDIS_PPI_LSO        2u
#define RNDIS_PPI_8021Q      6u
#define RNDIS_PPI_HASH       8u

#define RNDIS_HEADER_SIZE 8u          /* type + length */
#define RNDIS_PACKET_HEADER 44u       /* header + struct rndis_packet */

struct rndis_header {
    uint32_t type;
    uint32_t length;
} VMBUS_PACKED;

/* After the header of a PACKET message. Offsets count from its start
 * (byte 8 of the message). */
struct rndis_packet {
    uint32_t data_offset;
    uint32_t data_length;
    uint32_t oob_offset;
    uint32_t oob_length;
    uint32_t oob_count;
    uint32_t ppi_offset;
    uint32_t ppi_length;
    uint32_t vc_handle;
    uint32_t reserved;
} VMBUS_PACKED;

struct rndis_ppi {
    uint32_t size;
    uint32_t type;                /* bit 31: internal */
    uint32_t offset;              /* of the value, from this entry */
} VMBUS_PACKED;

struct rndis_init_complete {
    uint32_t req_id;
    uint32_t status;
    uint32_t major;
    uint32_t minor;
    uint32_t device_flags;
    uint32_t medium;
    uint32_t max_packets_per_message;
    uint32_t max_transfer_size;
    uint32_t packet_alignment_factor;
    uint32_t af_list_offset;
    uint32_t af_list_size;
} VMBUS_PACKED;

struct rndis_indicate {
    uint32_t status;
    uint32_t buffer_length;
    uint32_t buffer_offset;
} VMBUS_PACKED;

_Static_assert(sizeof(struct rndis_packet) == 36, "RNDIS packet header");
_Static_assert(sizeof(struct rndis_init_complete) == 44, "INIT_C is 52 bytes with the header");

/* --------------------------------------------------------- device state */

struct rndis_nic {
    /* configuration */
    uint8_t mac[6];
    uint32_t mtu;                 /* IP MTU, e.g. 1500 */
    uint64_t link_speed;          /* in 100 bps units (10 Gb/s = 100000000) */
    uint32_t nvsp_version;        /* chooses the offload structure revision */
    /* state the guest sets */
    bool initialized;
    bool link_up;
    uint32_t filter;              /* NDIS_PACKET_TYPE_* */
    uint32_t offload_sets;        /* OFFLOAD_PARAMETERS sets seen */
};

#define RNDIS_MAX_PACKETS_PER_MSG 8u
#define RNDIS_ALIGN_SHIFT 3u          /* 8-byte alignment of batched messages */
#define RNDIS_RESPONSE_MAX 512u       /* largest answer produced */

/*
 * Answer one control message (INIT, QUERY, SET, KEEPALIVE, RESET, HALT)
 * of len bytes. Writes the response into resp (cap >= RNDIS_RESPONSE_MAX)
 * and returns its length; 0 if nothing is sent back (HALT, a message too
 * short to carry a request id, a non-control type). Pure apart from *nic.
 */
uint32_t rndis_control(struct rndis_nic *nic, const uint8_t *msg, uint32_t len, uint8_t *resp,
                       uint32_t cap);

/* A data message, checked: the frame is [frame_offset, + frame_len) of the
 * message; vlan_tci >= 0 when an 802.1Q per-packet info asks the host to
 * tag the frame. */
struct rndis_tx_info {
    uint32_t msg_len;
    uint32_t frame_offset;
    uint32_t frame_len;
    int32_t vlan_tci;
};

enum rndis_parse_result {
    RNDIS_PARSE_OK = 0,
    RNDIS_PARSE_SHORT = -1,       /* header or lengths do not fit */
    RNDIS_PARSE_NOT_PACKET = -2,  /* a control message in the data path */
    RNDIS_PARSE_BAD = -3,         /* offsets/lengths inconsistent */
};

/* hdr: the first hdr_len bytes of the message (at least 44 if the message
 * is that long; per-packet info is looked at only inside them); avail:
 * bytes from the message start to the end of the stream. Pure. */
int rndis_parse_packet(const uint8_t *hdr, uint32_t hdr_len, uint64_t avail,
                       struct rndis_tx_info *out);

/* The 44-byte header of a received frame of frame_len bytes (no
 * per-packet info). */
void rndis_rx_header(uint8_t out[RNDIS_PACKET_HEADER], uint32_t frame_len);

/* An INDICATE_STATUS message for a link change; returns its length (20). */
uint32_t rndis_link_indication(uint8_t *out, bool up);

/* Whether the packet filter admits a frame with this destination. */
bool rndis_filter_accepts(uint32_t filter, const uint8_t mac[6], const uint8_t *dst);

#endif /* HVSHIM_VMBUS_DEVICES_RNDIS_H */
