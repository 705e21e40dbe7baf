/* SPDX-License-Identifier: MIT */
/*
 * VMBus wire protocol: channel messages, versions, GUIDs, ring and packet
 * layout, and the integration-service (IC) framing. Definitions only.
 * Everything is little-endian; structs are packed and their sizes and
 * offsets are checked below against the values Linux 6.1 and Hyper-V use.
 */
#ifndef HVSHIM_VMBUS_PROTOCOL_H
#define HVSHIM_VMBUS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "hvshim/tlfs.h"

#define VMBUS_PACKED __attribute__((packed))

/* ------------------------------------------------------------ transport */

/* Guest -> host channel messages: HvPostMessage type 1 to these ids. */
#define VMBUS_MESSAGE_CONNECTION_ID    1u
#define VMBUS_MESSAGE_CONNECTION_ID_4  4u   /* INITIATE_CONTACT for >= 5.0 */
#define VMBUS_MESSAGE_TYPE             1u
/* Host -> guest channel messages and channel signals use SINT 2. */
#define VMBUS_MESSAGE_SINT             2u
/* Per-channel event connection ids the server hands out: base + relid
 * (24-bit, away from the message ids). */
#define VMBUS_EVENT_CONNECTION_BASE    0x2000u
/* relid 0 is never used: Linux skips event flag 0. */
#define VMBUS_MAX_RELID                2047u

/* NTSTATUS-style values some messages carry. */
#define VMBUS_STATUS_SUCCESS           0x00000000u
#define VMBUS_STATUS_UNSUCCESSFUL      0xC0000001u

/* ------------------------------------------------------------- versions */

#define VMBUS_VERSION(major, minor)    (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define VMBUS_VERSION_WS2008           0x0000000Du
#define VMBUS_VERSION_WIN7             VMBUS_VERSION(1, 1)
#define VMBUS_VERSION_WIN8             VMBUS_VERSION(2, 4)
#define VMBUS_VERSION_WIN8_1           VMBUS_VERSION(3, 0)
#define VMBUS_VERSION_WIN10            VMBUS_VERSION(4, 0)
#define VMBUS_VERSION_WIN10_V4_1       VMBUS_VERSION(4, 1)
#define VMBUS_VERSION_WIN10_V5         VMBUS_VERSION(5, 0)
#define VMBUS_VERSION_WIN10_V5_1       VMBUS_VERSION(5, 1)
#define VMBUS_VERSION_WIN10_V5_2       VMBUS_VERSION(5, 2)
#define VMBUS_VERSION_WIN10_V5_3       VMBUS_VERSION(5, 3)
#define VMBUS_VERSION_COPPER           VMBUS_VERSION(6, 0)  /* not supported */

/* ------------------------------------------------------------------ GUID */

/* A GUID as it travels: data1-data3 little-endian, then data4 as written. */
struct vmbus_guid {
    uint8_t b[16];
};

#define VMBUS_GUID_INIT(d1, d2, d3, a, b_, c, d, e, f, g, h) {{              \
    (uint8_t)(d1), (uint8_t)((d1) >> 8), (uint8_t)((d1) >> 16),             \
    (uint8_t)((d1) >> 24), (uint8_t)(d2), (uint8_t)((d2) >> 8),             \
    (uint8_t)(d3), (uint8_t)((d3) >> 8), a, b_, c, d, e, f, g, h }}

/* Device classes (offer if_type). */
#define VMBUS_GUID_SHUTDOWN  VMBUS_GUID_INIT(0x0e0b6031, 0x5213, 0x4934, \
    0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb)
#define VMBUS_GUID_TIMESYNC  VMBUS_GUID_INIT(0x9527e630, 0xd0ae, 0x497b, \
    0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf)
#define VMBUS_GUID_HEARTBEAT VMBUS_GUID_INIT(0x57164f39, 0x9115, 0x4e78, \
    0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d)
#define VMBUS_GUID_KVP       VMBUS_GUID_INIT(0xa9a0f4e7, 0x5a45, 0x4d96, \
    0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6)
#define VMBUS_GUID_VSS       VMBUS_GUID_INIT(0x35fa2e29, 0xea23, 0x4236, \
    0x96, 0xae, 0x3a, 0x6e, 0xba, 0xcb, 0xa4, 0x40)
#define VMBUS_GUID_NIC       VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, \
    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)
#define VMBUS_GUID_SCSI      VMBUS_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, \
    0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f)
#define VMBUS_GUID_IDE       VMBUS_GUID_INIT(0x32412632, 0x86cb, 0x44a2, \
    0x9b, 0x5c, 0x50, 0xd1, 0x41, 0x73, 0x54, 0xf5)
#define VMBUS_GUID_DYNMEM    VMBUS_GUID_INIT(0x525074dc, 0x8985, 0x46e2, \
    0x80, 0x57, 0xa3, 0x07, 0xdc, 0x18, 0xa5, 0x02)
#define VMBUS_GUID_KEYBOARD  VMBUS_GUID_INIT(0xf912ad6d, 0x2b17, 0x48ea, \
    0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84)

/* Instance ids hvshim gives its integration services (the shutdown,
 * timesync and KVP ones are the ids Hyper-V and OpenVMM use, so guest
 * tooling keyed on them keeps working; heartbeat has no well-known one). */
#define VMBUS_GUID_SHUTDOWN_INSTANCE  VMBUS_GUID_INIT(0xb6650ff7, 0x33bc, 0x4840, \
    0x80, 0x48, 0xe0, 0x67, 0x67, 0x86, 0xf3, 0x93)
#define VMBUS_GUID_TIMESYNC_INSTANCE  VMBUS_GUID_INIT(0x2dd1ce17, 0x079e, 0x403c, \
    0xb3, 0x52, 0xa1, 0x92, 0x1e, 0xe2, 0x07, 0xee)
#define VMBUS_GUID_KVP_INSTANCE       VMBUS_GUID_INIT(0x242ff919, 0x07db, 0x4180, \
    0x9c, 0x2e, 0xb8, 0x6c, 0xb6, 0x8c, 0x8c, 0x55)
#define VMBUS_GUID_HEARTBEAT_INSTANCE VMBUS_GUID_INIT(0x6b1c8e25, 0x43a1, 0x4f3e, \
    0x9d, 0x2a, 0x68, 0x76, 0x73, 0x68, 0x69, 0x6d)

/* ------------------------------------------------------ channel messages */

enum vmbus_msg_type {
    VMBUS_MSG_INVALID = 0,
    VMBUS_MSG_OFFERCHANNEL = 1,
    VMBUS_MSG_RESCIND_CHANNELOFFER = 2,
    VMBUS_MSG_REQUESTOFFERS = 3,
    VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
    VMBUS_MSG_OPENCHANNEL = 5,
    VMBUS_MSG_OPENCHANNEL_RESULT = 6,
    VMBUS_MSG_CLOSECHANNEL = 7,
    VMBUS_MSG_GPADL_HEADER = 8,
    VMBUS_MSG_GPADL_BODY = 9,
    VMBUS_MSG_GPADL_CREATED = 10,
    VMBUS_MSG_GPADL_TEARDOWN = 11,
    VMBUS_MSG_GPADL_TORNDOWN = 12,
    VMBUS_MSG_RELID_RELEASED = 13,
    VMBUS_MSG_INITIATE_CONTACT = 14,
    VMBUS_MSG_VERSION_RESPONSE = 15,
    VMBUS_MSG_UNLOAD = 16,
    VMBUS_MSG_UNLOAD_RESPONSE = 17,
    VMBUS_MSG_OPEN_RESERVED = 18,
    VMBUS_MSG_CLOSE_RESERVED = 19,
    VMBUS_MSG_CLOSE_RESERVED_RESPONSE = 20,
    VMBUS_MSG_TL_CONNECT_REQUEST = 21,
    VMBUS_MSG_MODIFYCHANNEL = 22,
    VMBUS_MSG_TL_CONNECT_RESULT = 23,
    VMBUS_MSG_MODIFYCHANNEL_RESPONSE = 24,
    VMBUS_MSG_COUNT
};

struct vmbus_msg_header {
    uint32_t msgtype;
    uint32_t padding;
} VMBUS_PACKED;

#define VMBUS_OFFER_USER_DEFINED_BYTES 120u
#define VMBUS_PIPE_MODE_MESSAGE 4u

/* OFFERCHANNEL chn_flags */
#define VMBUS_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE 0x0001u
#define VMBUS_OFFER_FLAG_NAMED_PIPE_MODE            0x0010u
#define VMBUS_OFFER_FLAG_TLNPI_PROVIDER             0x2000u

#define VMBUS_MONITOR_ID_NONE 0xFFu

struct vmbus_msg_offer_channel {
    struct vmbus_msg_header header;
    struct vmbus_guid if_type;
    struct vmbus_guid if_instance;
    uint64_t reserved1;
    uint64_t reserved2;
    uint16_t chn_flags;
    uint16_t mmio_megabytes;
    uint8_t user_defined[VMBUS_OFFER_USER_DEFINED_BYTES];
    uint16_t sub_channel_index;
    uint16_t reserved3;
    uint32_t child_relid;
    uint8_t monitor_id;
    uint8_t monitor_allocated;         /* bit 0 */
    uint16_t is_dedicated_interrupt;   /* bit 0 */
    uint32_t connection_id;
} VMBUS_PACKED;

struct vmbus_msg_rescind_offer {
    struct vmbus_msg_header header;
    uint32_t child_relid;
} VMBUS_PACKED;

struct vmbus_msg_open_channel {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t open_id;
    uint32_t ring_gpadl;
    uint32_t target_vp;
    uint32_t downstream_page_offset;   /* pages: G->H ring first, then H->G */
    uint8_t user_data[VMBUS_OFFER_USER_DEFINED_BYTES];
} VMBUS_PACKED;

struct vmbus_msg_open_result {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t open_id;
    uint32_t status;
} VMBUS_PACKED;

struct vmbus_msg_close_channel {
    struct vmbus_msg_header header;
    uint32_t child_relid;
} VMBUS_PACKED;

/* One range of a GPADL: byte_count bytes starting byte_offset into the
 * first of ceil((byte_offset + byte_count) / 4096) PFNs that follow. */
struct vmbus_gpa_range {
    uint32_t byte_count;
    uint32_t byte_offset;
} VMBUS_PACKED;

struct vmbus_msg_gpadl_header {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t gpadl;
    uint16_t range_buflen;      /* bytes of ranges + PFNs over all messages */
    uint16_t range_count;
    /* range buffer follows: {vmbus_gpa_range, u64 pfn[]} x range_count */
} VMBUS_PACKED;

struct vmbus_msg_gpadl_body {
    struct vmbus_msg_header header;
    uint32_t msg_number;        /* Linux leaves it 0: not checked */
    uint32_t gpadl;
    /* u64 pfn[] follows: the next bytes of the range buffer */
} VMBUS_PACKED;

struct vmbus_msg_gpadl_created {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t gpadl;
    uint32_t creation_status;
} VMBUS_PACKED;

struct vmbus_msg_gpadl_teardown {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t gpadl;
} VMBUS_PACKED;

struct vmbus_msg_gpadl_torndown {
    struct vmbus_msg_header header;
    uint32_t gpadl;
} VMBUS_PACKED;

struct vmbus_msg_relid_released {
    struct vmbus_msg_header header;
    uint32_t child_relid;
} VMBUS_PACKED;

struct vmbus_msg_initiate_contact {
    struct vmbus_msg_header header;
    uint32_t version_requested;
    uint32_t target_vcpu;
    uint64_t interrupt_page;    /* < 5.0: GPA; >= 5.0: byte 0 = message SINT */
    uint64_t monitor_page1;     /* parent -> child */
    uint64_t monitor_page2;     /* child -> parent: the guest sets pending bits */
} VMBUS_PACKED;

#define VMBUS_CONNECTION_STATE_OK         0u
#define VMBUS_CONNECTION_STATE_LOW_RES    1u
#define VMBUS_CONNECTION_STATE_FAILED     2u

struct vmbus_msg_version_response {
    struct vmbus_msg_header header;
    uint8_t version_supported;
    uint8_t connection_state;
    uint16_t padding;
    uint32_t msg_conn_id;
} VMBUS_PACKED;

struct vmbus_msg_tl_connect_request {
    struct vmbus_msg_header header;
    struct vmbus_guid guest_endpoint_id;
    struct vmbus_guid host_service_id;
} VMBUS_PACKED;

struct vmbus_msg_modify_channel {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t target_vp;
} VMBUS_PACKED;

struct vmbus_msg_modify_channel_response {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t status;
} VMBUS_PACKED;

/* PFNs that fit in one message (240-byte payload). */
#define VMBUS_GPADL_HEADER_MAX_PFNS \
    ((HV_MESSAGE_PAYLOAD_MAX - sizeof(struct vmbus_msg_gpadl_header) - \
      sizeof(struct vmbus_gpa_range)) / 8u)
#define VMBUS_GPADL_BODY_MAX_PFNS \
    ((HV_MESSAGE_PAYLOAD_MAX - sizeof(struct vmbus_msg_gpadl_body)) / 8u)

/* --------------------------------------------------------- monitor page */

struct vmbus_monitor_trigger_group {
    uint32_t pending;
    uint32_t armed;
} VMBUS_PACKED;

struct vmbus_monitor_parameter {
    uint32_t connection_id;
    uint16_t flag_number;
    uint16_t reserved;
} VMBUS_PACKED;

#define VMBUS_MONITOR_GROUPS 4u
#define VMBUS_MONITOR_IDS    (VMBUS_MONITOR_GROUPS * 32u)

struct vmbus_monitor_page {
    uint32_t trigger_state;
    uint32_t reserved1;
    struct vmbus_monitor_trigger_group trigger_group[VMBUS_MONITOR_GROUPS];
    uint64_t reserved2[3];
    int32_t next_check_time[VMBUS_MONITOR_GROUPS][32];
    uint16_t latency[VMBUS_MONITOR_GROUPS][32];
    uint64_t reserved3[32];
    struct vmbus_monitor_parameter parameter[VMBUS_MONITOR_GROUPS][32];
    uint8_t reserved4[1984];
} VMBUS_PACKED;

/* --------------------------------------------------------- ring buffers */

/* The first page of each ring. Indices are byte offsets into the data area
 * (which starts at the next page), multiples of 8; equal means empty. */
struct vmbus_ring_header {
    uint32_t write_index;
    uint32_t read_index;
    uint32_t interrupt_mask;    /* set by the reader: "don't signal me" */
    uint32_t pending_send_sz;   /* set by a blocked writer */
    uint32_t reserved1[12];
    uint32_t feature_bits;      /* bit 0: pending_send_sz is honoured */
    uint8_t reserved2[HV_PAGE_SIZE - 68];
} VMBUS_PACKED;

#define VMBUS_RING_FEATURE_PENDING_SEND_SZ 0x1u
#define VMBUS_RING_HEADER_SIZE HV_PAGE_SIZE
/* Each packet is followed by 8 bytes: the writer's old write index << 32. */
#define VMBUS_PACKET_TRAILER_SIZE 8u

struct vmbus_packet_desc {
    uint16_t type;
    uint16_t offset8;           /* payload starts at offset8 * 8 */
    uint16_t len8;              /* descriptor + payload + padding, qwords */
    uint16_t flags;
    uint64_t trans_id;
} VMBUS_PACKED;

#define VMBUS_PACKET_FLAG_COMPLETION_REQUESTED 0x1u

enum vmbus_packet_type {
    VMBUS_PKT_INVALID = 0,
    VMBUS_PKT_SYNCH = 1,
    VMBUS_PKT_ADD_XFER_PAGESET = 2,
    VMBUS_PKT_RM_XFER_PAGESET = 3,
    VMBUS_PKT_ESTABLISH_GPADL = 4,
    VMBUS_PKT_TEARDOWN_GPADL = 5,
    VMBUS_PKT_DATA_INBAND = 6,
    VMBUS_PKT_DATA_USING_XFER_PAGES = 7,
    VMBUS_PKT_DATA_USING_GPADL = 8,
    VMBUS_PKT_DATA_USING_GPA_DIRECT = 9,
    VMBUS_PKT_CANCEL_REQUEST = 10,
    VMBUS_PKT_COMP = 11,
    VMBUS_PKT_DATA_USING_ADDITIONAL_PKT = 12,
    VMBUS_PKT_ADDITIONAL_DATA = 13,
};

/* Type 7: after the descriptor. */
struct vmbus_xfer_page_range {
    uint32_t byte_count;
    uint32_t byte_offset;
} VMBUS_PACKED;

struct vmbus_xfer_page_header {
    uint16_t pageset_id;
    uint8_t sender_owns_set;
    uint8_t reserved;
    uint32_t range_count;
    /* struct vmbus_xfer_page_range ranges[range_count] */
} VMBUS_PACKED;

/* Type 9: after the descriptor; each range is {len, offset, pfn[n]} with
 * n = ceil((offset + len) / 4096). */
struct vmbus_gpa_direct_header {
    uint32_t reserved;
    uint32_t range_count;
} VMBUS_PACKED;

/* --------------------------------------------- integration services (IC) */

/* Every IC message: pipe header, IC header, body. */
#define VMBUS_PIPE_FLAG_DATA 1u

struct vmbus_pipe_header {
    uint32_t flags;
    uint32_t msgsize;           /* bytes after this header */
} VMBUS_PACKED;

struct vmbus_ic_version {
    uint16_t major;
    uint16_t minor;
} VMBUS_PACKED;

enum vmbus_ic_msg_type {
    VMBUS_IC_MSG_NEGOTIATE = 0,
    VMBUS_IC_MSG_HEARTBEAT = 1,
    VMBUS_IC_MSG_KVP = 2,
    VMBUS_IC_MSG_SHUTDOWN = 3,
    VMBUS_IC_MSG_TIMESYNC = 4,
    VMBUS_IC_MSG_VSS = 5,
    VMBUS_IC_MSG_FCOPY = 7,
};

#define VMBUS_IC_FLAG_TRANSACTION 0x1u
#define VMBUS_IC_FLAG_REQUEST     0x2u
#define VMBUS_IC_FLAG_RESPONSE    0x4u

struct vmbus_ic_header {
    struct vmbus_ic_version framework_version;
    uint16_t msgtype;
    struct vmbus_ic_version msg_version;
    uint16_t msgsize;           /* body bytes after this header */
    uint32_t status;
    uint8_t transaction_id;
    uint8_t flags;
    uint8_t reserved[2];
} VMBUS_PACKED;

#define VMBUS_IC_PREFIX_SIZE \
    (sizeof(struct vmbus_pipe_header) + sizeof(struct vmbus_ic_header))

/* HRESULT-style statuses in the IC header. */
#define VMBUS_IC_S_OK                 0x00000000u
#define VMBUS_IC_E_FAIL               0x80004005u
#define VMBUS_IC_S_CONT               0x80070103u  /* KVP: no more items */
#define VMBUS_IC_E_NOT_SUPPORTED      0x80070032u
#define VMBUS_IC_E_GUID_NOT_FOUND     0x80041002u

struct vmbus_ic_negotiate {
    uint16_t framework_count;
    uint16_t message_count;
    uint32_t reserved;
    /* struct vmbus_ic_version versions[framework_count + message_count] */
} VMBUS_PACKED;

/* Linux refuses negotiate messages listing more than this many of either. */
#define VMBUS_IC_MAX_VERSION_COUNT 100u

struct vmbus_ic_heartbeat {
    uint64_t seq_num;
    uint32_t reserved[8];
} VMBUS_PACKED;

#define VMBUS_IC_SHUTDOWN_MESSAGE_BYTES 2048u
#define VMBUS_IC_SHUTDOWN_FLAG_FORCE     0x1u
#define VMBUS_IC_SHUTDOWN_FLAG_REBOOT    0x2u
#define VMBUS_IC_SHUTDOWN_FLAG_HIBERNATE 0x4u

struct vmbus_ic_shutdown {
    uint32_t reason_code;
    uint32_t timeout_seconds;
    uint32_t flags;
    uint8_t display_message[VMBUS_IC_SHUTDOWN_MESSAGE_BYTES];
} VMBUS_PACKED;

#define VMBUS_IC_TIMESYNC_FLAG_PROBE  0u
#define VMBUS_IC_TIMESYNC_FLAG_SYNC   1u
#define VMBUS_IC_TIMESYNC_FLAG_SAMPLE 2u
/* 100 ns units between 1601-01-01 and 1970-01-01. */
#define VMBUS_TIME_1601_TO_1970 116444736000000000ull

/* TimeSync before 4.0. */
struct vmbus_ic_timesync {
    uint64_t parent_time;
    uint64_t child_time;
    uint64_t round_trip_time;
    uint8_t flags;
} VMBUS_PACKED;

/* TimeSync 4.0: the sample carries the guest reference time it was taken at. */
struct vmbus_ic_timesync_ref {
    uint64_t parent_time;
    uint64_t vm_reference_time;
    uint8_t flags;
    int8_t leap_flags;
    int8_t stratum;
    uint8_t reserved[3];
} VMBUS_PACKED;

/* KVP: keys and values are UTF-16LE with a NUL; sizes count bytes, NUL
 * included. The body starts right after a 4-byte {op, pool, pad} header,
 * except for the IP-info messages whose body starts at byte 2. */
#define VMBUS_KVP_MAX_KEY_BYTES   512u
#define VMBUS_KVP_MAX_VALUE_BYTES 2048u

enum vmbus_kvp_op {
    VMBUS_KVP_OP_GET = 0,
    VMBUS_KVP_OP_SET = 1,
    VMBUS_KVP_OP_DELETE = 2,
    VMBUS_KVP_OP_ENUMERATE = 3,
    VMBUS_KVP_OP_GET_IP_INFO = 4,
    VMBUS_KVP_OP_SET_IP_INFO = 5,
};

/* Pools as the guest daemon files them (/var/lib/hyperv/.kvp_pool_N). */
enum vmbus_kvp_pool {
    VMBUS_KVP_POOL_EXTERNAL = 0,       /* host writes, guest reads */
    VMBUS_KVP_POOL_GUEST = 1,          /* guest writes, host reads */
    VMBUS_KVP_POOL_AUTO = 2,           /* guest facts (OS name, addresses) */
    VMBUS_KVP_POOL_AUTO_EXTERNAL = 3,  /* host facts the guest may read */
    VMBUS_KVP_POOL_AUTO_INTERNAL = 4,
    VMBUS_KVP_POOL_COUNT = 5,
};

#define VMBUS_KVP_REG_SZ  1u
#define VMBUS_KVP_REG_U32 4u
#define VMBUS_KVP_REG_U64 8u

struct vmbus_kvp_header {
    uint8_t operation;
    uint8_t pool;
    uint16_t pad;
} VMBUS_PACKED;

struct vmbus_kvp_value {
    uint32_t value_type;
    uint32_t key_size;
    uint32_t value_size;
    uint8_t key[VMBUS_KVP_MAX_KEY_BYTES];
    uint8_t value[VMBUS_KVP_MAX_VALUE_BYTES];
} VMBUS_PACKED;

/* GET, SET */
struct vmbus_kvp_msg_value {
    struct vmbus_kvp_header header;
    struct vmbus_kvp_value data;
} VMBUS_PACKED;

struct vmbus_kvp_msg_delete {
    struct vmbus_kvp_header header;
    uint32_t key_size;
    uint8_t key[VMBUS_KVP_MAX_KEY_BYTES];
} VMBUS_PACKED;

struct vmbus_kvp_msg_enumerate {
    struct vmbus_kvp_header header;
    uint32_t index;
    struct vmbus_kvp_value data;
} VMBUS_PACKED;

/* What hvshim sends for every GET/SET/DELETE/ENUMERATE: the largest of the
 * four, so the guest can write its answer in place. */
#define VMBUS_KVP_MSG_SIZE sizeof(struct vmbus_kvp_msg_enumerate)

/* GET_IP_INFO / SET_IP_INFO: UTF-16 strings, ';'-separated lists. */
#define VMBUS_KVP_ADAPTER_ID_CHARS 128u
#define VMBUS_KVP_IP_ADDR_CHARS    1024u
#define VMBUS_KVP_GATEWAY_CHARS    512u

#define VMBUS_KVP_ADDR_FAMILY_IPV4 1u
#define VMBUS_KVP_ADDR_FAMILY_IPV6 2u

struct vmbus_kvp_msg_ip_info {
    uint8_t operation;
    uint8_t pool;
    uint16_t adapter_id[VMBUS_KVP_ADAPTER_ID_CHARS];
    uint8_t addr_family;
    uint8_t dhcp_enabled;
    uint16_t ip_addr[VMBUS_KVP_IP_ADDR_CHARS];
    uint16_t sub_net[VMBUS_KVP_IP_ADDR_CHARS];
    uint16_t gate_way[VMBUS_KVP_GATEWAY_CHARS];
    uint16_t dns_addr[VMBUS_KVP_IP_ADDR_CHARS];
} VMBUS_PACKED;

/* ------------------------------------------------------ layout checks */

_Static_assert(sizeof(struct vmbus_guid) == 16, "guid");
_Static_assert(sizeof(struct vmbus_msg_offer_channel) == 196, "offer");
_Static_assert(offsetof(struct vmbus_msg_offer_channel, chn_flags) == 56, "offer flags");
_Static_assert(offsetof(struct vmbus_msg_offer_channel, sub_channel_index) == 180, "offer subch");
_Static_assert(offsetof(struct vmbus_msg_offer_channel, child_relid) == 184, "offer relid");
_Static_assert(offsetof(struct vmbus_msg_offer_channel, connection_id) == 192, "offer connid");
_Static_assert(sizeof(struct vmbus_msg_rescind_offer) == 12, "rescind");
_Static_assert(sizeof(struct vmbus_msg_open_channel) == 148, "open");
_Static_assert(sizeof(struct vmbus_msg_open_result) == 20, "open result");
_Static_assert(sizeof(struct vmbus_msg_close_channel) == 12, "close");
_Static_assert(sizeof(struct vmbus_msg_gpadl_header) == 20, "gpadl header");
_Static_assert(sizeof(struct vmbus_msg_gpadl_body) == 16, "gpadl body");
_Static_assert(sizeof(struct vmbus_msg_gpadl_created) == 20, "gpadl created");
_Static_assert(sizeof(struct vmbus_msg_gpadl_teardown) == 16, "gpadl teardown");
_Static_assert(sizeof(struct vmbus_msg_gpadl_torndown) == 12, "gpadl torndown");
_Static_assert(sizeof(struct vmbus_msg_relid_released) == 12, "relid released");
_Static_assert(sizeof(struct vmbus_msg_initiate_contact) == 40, "initiate contact");
_Static_assert(sizeof(struct vmbus_msg_version_response) == 16, "version response");
_Static_assert(sizeof(struct vmbus_msg_tl_connect_request) == 40, "tl connect");
_Static_assert(sizeof(struct vmbus_msg_modify_channel) == 16, "modify");
_Static_assert(sizeof(struct vmbus_msg_modify_channel_response) == 16, "modify response");
_Static_assert(VMBUS_GPADL_HEADER_MAX_PFNS == 26, "header pfns");
_Static_assert(VMBUS_GPADL_BODY_MAX_PFNS == 28, "body pfns");
_Static_assert(sizeof(struct vmbus_monitor_page) == HV_PAGE_SIZE, "monitor page");
_Static_assert(offsetof(struct vmbus_monitor_page, trigger_group) == 8, "monitor groups");
_Static_assert(offsetof(struct vmbus_monitor_page, next_check_time) == 0x40, "monitor check");
_Static_assert(offsetof(struct vmbus_monitor_page, latency) == 0x240, "monitor latency");
_Static_assert(offsetof(struct vmbus_monitor_page, parameter) == 0x440, "monitor param");
_Static_assert(sizeof(struct vmbus_ring_header) == HV_PAGE_SIZE, "ring header");
_Static_assert(offsetof(struct vmbus_ring_header, feature_bits) == 64, "ring features");
_Static_assert(sizeof(struct vmbus_packet_desc) == 16, "packet descriptor");
_Static_assert(sizeof(struct vmbus_xfer_page_header) == 8, "xfer pages");
_Static_assert(sizeof(struct vmbus_gpa_direct_header) == 8, "gpa direct");
_Static_assert(sizeof(struct vmbus_ic_header) == 20, "ic header");
_Static_assert(VMBUS_IC_PREFIX_SIZE == 28, "ic prefix");
_Static_assert(sizeof(struct vmbus_ic_negotiate) == 8, "ic negotiate");
_Static_assert(sizeof(struct vmbus_ic_heartbeat) == 40, "heartbeat");
_Static_assert(sizeof(struct vmbus_ic_shutdown) == 2060, "shutdown");
_Static_assert(sizeof(struct vmbus_ic_timesync) == 25, "timesync");
_Static_assert(sizeof(struct vmbus_ic_timesync_ref) == 22, "timesync v4");
_Static_assert(sizeof(struct vmbus_kvp_value) == 2572, "kvp value");
_Static_assert(sizeof(struct vmbus_kvp_msg_value) == 2576, "kvp get/set");
_Static_assert(sizeof(struct vmbus_kvp_msg_delete) == 520, "kvp delete");
_Static_assert(sizeof(struct vmbus_kvp_msg_enumerate) == 2580, "kvp enumerate");
_Static_assert(sizeof(struct vmbus_kvp_msg_ip_info) == 7428, "kvp ip info");

#endif /* HVSHIM_VMBUS_PROTOCOL_H */
