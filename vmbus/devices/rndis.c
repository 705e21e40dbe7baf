/* SPDX-License-Identifier: MIT */
/* RNDIS device side: control answers, data parsing, RX headers (pure). */
#include <string.h>

#include "vmbus/devices/rndis.h"
#include "vmbus/devices/nvsp.h"

static const uint32_t supported_oids[] = {
    OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS, OID_GEN_MEDIA_SUPPORTED,
    OID_GEN_MEDIA_IN_USE, OID_GEN_MAXIMUM_LOOKAHEAD, OID_GEN_MAXIMUM_FRAME_SIZE,
    OID_GEN_LINK_SPEED, OID_GEN_TRANSMIT_BLOCK_SIZE, OID_GEN_RECEIVE_BLOCK_SIZE,
    OID_GEN_VENDOR_ID, OID_GEN_VENDOR_DESCRIPTION, OID_GEN_CURRENT_PACKET_FILTER,
    OID_GEN_CURRENT_LOOKAHEAD, OID_GEN_MAXIMUM_TOTAL_SIZE, OID_GEN_MAC_OPTIONS,
    OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_MAXIMUM_SEND_PACKETS, OID_GEN_FRIENDLY_NAME,
    OID_GEN_RECEIVE_SCALE_CAPABILITIES, OID_802_3_PERMANENT_ADDRESS,
    OID_802_3_CURRENT_ADDRESS, OID_802_3_MULTICAST_LIST, OID_802_3_MAXIMUM_LIST_SIZE,
    OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, OID_TCP_OFFLOAD_CURRENT_CONFIG,
};

#define MULTICAST_LIST_MAX 32u

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void header(uint8_t *resp, uint32_t type, uint32_t len)
{
    wr32(resp, type);
    wr32(resp + 4, len);
}

/* ---------------------------------------------------------------- QUERY */

/* The NDIS_OFFLOAD a guest of this NVSP version expects: all capabilities
 * zero (no checksum or segmentation offload; the guest does it all). */
static uint32_t offload_caps(const struct rndis_nic *nic, uint8_t *out)
{
    uint8_t rev;
    uint32_t size;
    if (nic->nvsp_version >= NVSP_VERSION_5) {
        rev = 3;
        size = NDIS_OFFLOAD_SIZE;
    } else if (nic->nvsp_version >= NVSP_VERSION_4) {
        rev = 2;
        size = NDIS_OFFLOAD_SIZE_6_1;
    } else {
        rev = 1;
        size = NDIS_OFFLOAD_SIZE_6_0;
    }
    memset(out, 0, size);
    out[0] = NDIS_OBJECT_TYPE_OFFLOAD;
    out[1] = rev;
    out[2] = (uint8_t)size;
    out[3] = (uint8_t)(size >> 8);
    return size;
}

/* Fill info for oid; returns its length, or -1 if the OID is unknown. */
static int query_info(const struct rndis_nic *nic, uint32_t oid, uint8_t *info)
{
    uint32_t frame = nic->mtu + 14;
    switch (oid) {
    case OID_GEN_SUPPORTED_LIST:
        memcpy(info, supported_oids, sizeof(supported_oids));
        return (int)sizeof(supported_oids);
    case OID_GEN_HARDWARE_STATUS:
    case OID_GEN_MEDIA_SUPPORTED:
    case OID_GEN_MEDIA_IN_USE:          /* 802.3 */
    case OID_GEN_MAC_OPTIONS:
        wr32(info, 0);
        return 4;
    case OID_GEN_MAXIMUM_LOOKAHEAD:
    case OID_GEN_CURRENT_LOOKAHEAD:
    case OID_GEN_MAXIMUM_FRAME_SIZE:    /* excludes the Ethernet header */
        wr32(info, nic->mtu);
        return 4;
    case OID_GEN_TRANSMIT_BLOCK_SIZE:
    case OID_GEN_RECEIVE_BLOCK_SIZE:
    case OID_GEN_MAXIMUM_TOTAL_SIZE:
        wr32(info, frame);
        return 4;
    case OID_GEN_LINK_SPEED:
        wr32(info, nic->link_speed > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)nic->link_speed);
        return 4;
    case OID_GEN_VENDOR_ID:
        wr32(info, 0x00FFFFFFu);        /* no IEEE OUI of our own */
        return 4;
    case OID_GEN_VENDOR_DESCRIPTION: {
        static const char desc[] = "hvshim synthetic NIC";
        memcpy(info, desc, sizeof(desc));
        return (int)sizeof(desc);
    }
    case OID_GEN_CURRENT_PACKET_FILTER:
        wr32(info, nic->filter);
        return 4;
    case OID_GEN_MEDIA_CONNECT_STATUS:
        wr32(info, nic->link_up ? 0u : 1u);   /* 0 connected, 1 disconnected */
        return 4;
    case OID_GEN_MAXIMUM_SEND_PACKETS:
        wr32(info, RNDIS_MAX_PACKETS_PER_MSG);
        return 4;
    case OID_GEN_FRIENDLY_NAME: {
        /* The name Linux leaves alone (no interface alias). */
        static const char name[] = "Network Adapter";
        for (size_t i = 0; i < sizeof(name); i++) {
            info[2 * i] = (uint8_t)name[i];
            info[2 * i + 1] = 0;
        }
        return (int)(2 * sizeof(name));
    }
    case OID_GEN_RECEIVE_SCALE_CAPABILITIES:
        /* One receive queue: Linux stays single-queue and never asks for
         * subchannels. */
        memset(info, 0, 18);
        info[0] = NDIS_OBJECT_TYPE_RSS_CAPABILITIES;
        info[1] = 2;
        info[2] = 18;
        wr32(info + 8, 1);              /* interrupt messages */
        wr32(info + 12, 1);             /* receive queues */
        return 18;
    case OID_802_3_PERMANENT_ADDRESS:
    case OID_802_3_CURRENT_ADDRESS:
        memcpy(info, nic->mac, 6);
        return 6;
    case OID_802_3_MULTICAST_LIST:
        return 0;
    case OID_802_3_MAXIMUM_LIST_SIZE:
        wr32(info, MULTICAST_LIST_MAX);
        return 4;
    case OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
    case OID_TCP_OFFLOAD_CURRENT_CONFIG:
        return (int)offload_caps(nic, info);
    default:
        return -1;
    }
}

static uint32_t do_query(struct rndis_nic *nic, const uint8_t *msg, uint32_t len, uint8_t *resp)
{
    /* req_id, oid, buflen, buf_offset, vc_handle */
    uint32_t req_id = rd32(msg + 8);
    uint32_t oid = len >= 16 ? rd32(msg + 12) : 0;
    uint8_t *body = resp + 8;
    wr32(body, req_id);
    int n = len >= 28 ? query_info(nic, oid, body + 16) : -1;
    if (n < 0) {
        /* Linux checks lengths, not the status: offset 0 makes it fail. */
        wr32(body + 4, len >= 28 ? RNDIS_STATUS_NOT_SUPPORTED : RNDIS_STATUS_INVALID_LENGTH);
        wr32(body + 8, 0);
        wr32(body + 12, 0);
        header(resp, RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION, 24);
        return 24;
    }
    wr32(body + 4, RNDIS_STATUS_SUCCESS);
    wr32(body + 8, (uint32_t)n);
    wr32(body + 12, 16);
    uint32_t total = 24 + (uint32_t)n;
    header(resp, RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION, total);
    return total;
}

/* ------------------------------------------------------------------ SET */

static uint32_t set_oid(struct rndis_nic *nic, uint32_t oid, const uint8_t *info, uint32_t n)
{
    switch (oid) {
    case OID_GEN_CURRENT_PACKET_FILTER:
        if (n < 4)
            return RNDIS_STATUS_INVALID_LENGTH;
        nic->filter = rd32(info);
        return RNDIS_STATUS_SUCCESS;
    case OID_TCP_OFFLOAD_PARAMETERS:
        /* Nothing was offered, so whatever the guest asks for is what it
         * already has: all offloads off. Linux fails the probe unless this
         * succeeds. */
        if (n < 4)
            return RNDIS_STATUS_INVALID_LENGTH;
        nic->offload_sets++;
        return RNDIS_STATUS_SUCCESS;
    case OID_OFFLOAD_ENCAPSULATION:
        return RNDIS_STATUS_SUCCESS;
    case OID_802_3_MULTICAST_LIST:
        /* Multicast is delivered like ALL_MULTICAST: a superset. */
        if (n % 6 || n / 6 > MULTICAST_LIST_MAX)
            return RNDIS_STATUS_INVALID_LENGTH;
        return RNDIS_STATUS_SUCCESS;
    default:
        return RNDIS_STATUS_NOT_SUPPORTED;
    }
}

static uint32_t do_set(struct rndis_nic *nic, const uint8_t *msg, uint32_t len, uint8_t *resp)
{
    uint32_t status = RNDIS_STATUS_INVALID_LENGTH;
    if (len >= 28) {
        uint32_t oid = rd32(msg + 12), n = rd32(msg + 16), off = rd32(msg + 20);
        /* The info buffer lies after the request fields, inside the message. */
        if (off >= 20 && (uint64_t)8 + off + n <= len)
            status = set_oid(nic, oid, msg + 8 + off, n);
        else
            status = RNDIS_STATUS_INVALID_DATA;
    }
    wr32(resp + 8, rd32(msg + 8));
    wr32(resp + 12, status);
    header(resp, RNDIS_MSG_SET | RNDIS_MSG_COMPLETION, 16);
    return 16;
}

/* -------------------------------------------------------------- control */

uint32_t rndis_control(struct rndis_nic *nic, const uint8_t *msg, uint32_t len, uint8_t *resp,
                       uint32_t cap)
{
    if (len < 12 || cap < RNDIS_RESPONSE_MAX)
        return 0;
    uint32_t type = rd32(msg);
    /* The message's own length field, bounded by what arrived. */
    uint32_t mlen = rd32(msg + 4);
    if (mlen < 12)
        return 0;
    if (mlen < len)
        len = mlen;
    memset(resp, 0, RNDIS_RESPONSE_MAX);
    switch (type) {
    case RNDIS_MSG_INIT: {
        struct rndis_init_complete c = {
            .req_id = rd32(msg + 8),
            .status = RNDIS_STATUS_SUCCESS,
            .major = 1,
            .minor = 0,
            .device_flags = 1,          /* connectionless */
            .medium = 0,                /* 802.3 */
            .max_packets_per_message = RNDIS_MAX_PACKETS_PER_MSG,
            .max_transfer_size = 0x00040000u,
            .packet_alignment_factor = RNDIS_ALIGN_SHIFT,
        };
        nic->initialized = true;
        memcpy(resp + 8, &c, sizeof(c));
        header(resp, RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION, 8 + sizeof(c));
        return 8 + sizeof(c);
    }
    case RNDIS_MSG_QUERY:
        return do_query(nic, msg, len, resp);
    case RNDIS_MSG_SET:
        return do_set(nic, msg, len, resp);
    case RNDIS_MSG_KEEPALIVE:
        wr32(resp + 8, rd32(msg + 8));
        wr32(resp + 12, RNDIS_STATUS_SUCCESS);
        header(resp, RNDIS_MSG_KEEPALIVE | RNDIS_MSG_COMPLETION, 16);
        return 16;
    case RNDIS_MSG_RESET:
        nic->filter = 0;
        wr32(resp + 8, RNDIS_STATUS_SUCCESS);
        wr32(resp + 12, 1);             /* addressing reset: re-send filters */
        header(resp, RNDIS_MSG_RESET | RNDIS_MSG_COMPLETION, 16);
        return 16;
    case RNDIS_MSG_HALT:
        nic->initialized = false;
        nic->filter = 0;
        return 0;
    default:
        return 0;
    }
}

/* ----------------------------------------------------------------- data */

int rndis_parse_packet(const uint8_t *hdr, uint32_t hdr_len, uint64_t avail,
                       struct rndis_tx_info *out)
{
    memset(out, 0, sizeof(*out));
    out->vlan_tci = -1;
    if (hdr_len < RNDIS_HEADER_SIZE || avail < RNDIS_HEADER_SIZE)
        return RNDIS_PARSE_SHORT;
    uint32_t type = rd32(hdr), mlen = rd32(hdr + 4);
    out->msg_len = mlen;
    if (mlen < RNDIS_HEADER_SIZE || mlen > avail)
        return RNDIS_PARSE_SHORT;
    if (type != RNDIS_MSG_PACKET)
        return RNDIS_PARSE_NOT_PACKET;
    if (mlen < RNDIS_PACKET_HEADER || hdr_len < RNDIS_PACKET_HEADER)
        return RNDIS_PARSE_SHORT;
    struct rndis_packet p;
    memcpy(&p, hdr + RNDIS_HEADER_SIZE, sizeof(p));
    /* The frame follows the header (and any per-packet info) and ends
     * inside the message. */
    if (p.data_offset < sizeof(p) || p.data_length < 14 ||
        (uint64_t)RNDIS_HEADER_SIZE + p.data_offset + p.data_length > mlen)
        return RNDIS_PARSE_BAD;
    out->frame_offset = RNDIS_HEADER_SIZE + p.data_offset;
    out->frame_len = p.data_length;
    if (p.ppi_length == 0)
        return RNDIS_PARSE_OK;
    uint64_t ppi_start = (uint64_t)RNDIS_HEADER_SIZE + p.ppi_offset;
    uint64_t ppi_end = ppi_start + p.ppi_length;
    if (p.ppi_offset < sizeof(p) || ppi_end > out->frame_offset || ppi_end > hdr_len)
        return RNDIS_PARSE_BAD;
    for (uint64_t pos = ppi_start; pos < ppi_end;) {
        if (ppi_end - pos < sizeof(struct rndis_ppi))
            return RNDIS_PARSE_BAD;
        struct rndis_ppi e;
        memcpy(&e, hdr + pos, sizeof(e));
        if (e.size < sizeof(e) || e.size > ppi_end - pos || e.offset < sizeof(e) ||
            e.offset > e.size)
            return RNDIS_PARSE_BAD;
        if (e.type == RNDIS_PPI_8021Q && e.size - e.offset >= 4) {
            uint32_t v = rd32(hdr + pos + e.offset);
            uint32_t pri = v & 7, cfi = (v >> 3) & 1, vid = (v >> 4) & 0xFFF;
            out->vlan_tci = (int32_t)(pri << 13 | cfi << 12 | vid);
        }
        pos += e.size;
    }
    return RNDIS_PARSE_OK;
}

void rndis_rx_header(uint8_t out[RNDIS_PACKET_HEADER], uint32_t frame_len)
{
    memset(out, 0, RNDIS_PACKET_HEADER);
    header(out, RNDIS_MSG_PACKET, RNDIS_PACKET_HEADER + frame_len);
    wr32(out + 8, sizeof(struct rndis_packet));   /* data right after */
    wr32(out + 12, frame_len);
}

uint32_t rndis_link_indication(uint8_t *out, bool up)
{
    struct rndis_indicate ind = {
        .status = up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT,
    };
    header(out, RNDIS_MSG_INDICATE, 8 + sizeof(ind));
    memcpy(out + 8, &ind, sizeof(ind));
    return 8 + sizeof(ind);
}

bool rndis_filter_accepts(uint32_t filter, const uint8_t mac[6], const uint8_t *dst)
{
    if (filter & NDIS_PACKET_TYPE_PROMISCUOUS)
        return true;
    static const uint8_t bcast[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    if (memcmp(dst, bcast, 6) == 0)
        return filter & NDIS_PACKET_TYPE_BROADCAST;
    if (dst[0] & 1)
        return filter & (NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_ALL_MULTICAST);
    return (filter & NDIS_PACKET_TYPE_DIRECTED) && memcmp(dst, mac, 6) == 0;
}
