/* SPDX-License-Identifier: MIT */
/*
 * The synthetic SCSI controller protocol ("vstor", storvsc <-> storvsp):
 * the 64-byte storage packet, its operations, the SCSI request block (SRB)
 * it carries, SRB statuses, and a pure decoder for guest packets.
 *
 * Facts: Linux 6.1 drivers/scsi/storvsc_drv.c and the shared reference
 * (vmbus.md section 8). Only the Windows 8+ layout (52-byte SRB) exists:
 * Linux 6.1 negotiates nothing older. Little-endian, packed.
 */
#ifndef HVSHIM_VMBUS_DEVICES_VSTOR_H
#define HVSHIM_VMBUS_DEVICES_VSTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus/protocol.h"

/* Protocol versions (major << 8 | minor) Linux tries, newest first. */
#define VSTOR_VERSION_WIN8    0x0501u
#define VSTOR_VERSION_WIN8_1  0x0600u
#define VSTOR_VERSION_WIN10   0x0602u

enum vstor_operation {
    VSTOR_OP_COMPLETE_IO = 1,
    VSTOR_OP_REMOVE_DEVICE = 2,
    VSTOR_OP_EXECUTE_SRB = 3,
    VSTOR_OP_RESET_LUN = 4,
    VSTOR_OP_RESET_ADAPTER = 5,
    VSTOR_OP_RESET_BUS = 6,
    VSTOR_OP_BEGIN_INIT = 7,
    VSTOR_OP_END_INIT = 8,
    VSTOR_OP_QUERY_PROTOCOL_VERSION = 9,
    VSTOR_OP_QUERY_PROPERTIES = 10,
    VSTOR_OP_ENUMERATE_BUS = 11,
    VSTOR_OP_FCHBA_DATA = 12,
    VSTOR_OP_CREATE_SUB_CHANNELS = 13,
};

/* Packet flags */
#define VSTOR_FLAG_REQUEST_COMPLETION 0x1u

/* Packet status (NTSTATUS). Linux only tests for zero. */
#define VSTOR_STATUS_SUCCESS            0x00000000u
#define VSTOR_STATUS_INVALID_PARAMETER  0xC000000Du
#define VSTOR_STATUS_REVISION_MISMATCH  0xC0000059u
#define VSTOR_STATUS_INVALID_DEVICE_REQUEST 0xC0000010u

#define VSTOR_CDB_MAX 16u
#define VSTOR_SENSE_MAX 20u

/* SRB data direction (data_in) */
enum vstor_direction {
    VSTOR_DIR_WRITE = 0,
    VSTOR_DIR_READ = 1,
    VSTOR_DIR_NONE = 2,
};

/* SRB flags Linux sets */
#define VSTOR_SRB_FLAG_DATA_IN   0x40u
#define VSTOR_SRB_FLAG_DATA_OUT  0x80u

/* SRB status (srb_status); the two top bits are flags. */
#define SRB_STATUS_SUCCESS          0x01u
#define SRB_STATUS_ABORTED          0x02u
#define SRB_STATUS_ERROR            0x04u
#define SRB_STATUS_INVALID_REQUEST  0x06u
#define SRB_STATUS_DATA_OVERRUN     0x12u
#define SRB_STATUS_INVALID_LUN      0x20u
#define SRB_STATUS_QUEUE_FROZEN     0x40u
#define SRB_STATUS_AUTOSENSE_VALID  0x80u

struct vstor_srb {
    uint16_t length;             /* 52 */
    uint8_t srb_status;
    uint8_t scsi_status;
    uint8_t port;
    uint8_t path_id;             /* SCSI channel */
    uint8_t target_id;
    uint8_t lun;
    uint8_t cdb_length;
    uint8_t sense_info_length;   /* 20 from Linux */
    uint8_t data_in;             /* enum vstor_direction */
    uint8_t reserved;
    uint32_t data_transfer_length;
    union {
        uint8_t cdb[VSTOR_CDB_MAX];
        uint8_t sense[VSTOR_SENSE_MAX];
    };
    uint16_t reserve;
    uint8_t queue_tag;
    uint8_t queue_action;
    uint32_t srb_flags;
    uint32_t timeout;
    uint32_t queue_sort_key;
} VMBUS_PACKED;

struct vstor_channel_properties {
    uint32_t reserved;
    uint16_t max_channel_count;  /* subchannels offered */
    uint16_t reserved1;
    uint32_t flags;              /* VSTOR_PROP_MULTI_CHANNEL */
    uint32_t max_transfer_bytes;
    uint64_t reserved2;
} VMBUS_PACKED;

#define VSTOR_PROP_MULTI_CHANNEL 0x1u

struct vstor_protocol_version {
    uint16_t major_minor;
    uint16_t revision;
} VMBUS_PACKED;

#define VSTOR_PAYLOAD_BYTES 52u

struct vstor_packet {
    uint32_t operation;
    uint32_t flags;
    uint32_t status;
    union {
        struct vstor_srb srb;
        struct vstor_channel_properties props;
        struct vstor_protocol_version version;
        uint16_t sub_channel_count;
        uint8_t payload[VSTOR_PAYLOAD_BYTES];
    };
} VMBUS_PACKED;

_Static_assert(sizeof(struct vstor_srb) == 52, "SRB is 52 bytes (Windows 8+ layout)");
_Static_assert(sizeof(struct vstor_packet) == 64, "storage packet is 64 bytes");
_Static_assert(offsetof(struct vstor_srb, data_transfer_length) == 12, "SRB layout");
_Static_assert(offsetof(struct vstor_srb, cdb) == 16, "SRB layout");
_Static_assert(offsetof(struct vstor_srb, srb_flags) == 40, "SRB layout");
_Static_assert(sizeof(struct vstor_channel_properties) == 24, "properties layout");

/* ---------------------------------------------------------------- decode */

enum vstor_decode_result {
    VSTOR_DECODE_OK = 0,
    VSTOR_DECODE_SHORT = -1,     /* fewer than the 64 bytes Linux sends */
    VSTOR_DECODE_BAD_SRB = -2,   /* EXECUTE_SRB with impossible fields */
};

/* A guest packet, decoded and checked. For EXECUTE_SRB the SRB's own
 * fields are bounded: cdb_length <= 16 and >= 1 (the CDB is zero-padded
 * to 16 in the copy), sense length clamped to 20, direction known. */
struct vstor_request {
    uint32_t operation;
    uint32_t flags;
    struct vstor_packet pkt;     /* the copy everything was read from */
    /* EXECUTE_SRB */
    uint8_t cdb[VSTOR_CDB_MAX];
    uint8_t cdb_length;
    uint8_t sense_max;
    uint8_t direction;           /* enum vstor_direction */
    uint32_t transfer_length;    /* as the guest claims it */
};

/* Decode a guest packet's inline data (len bytes). Pure. */
int vstor_decode(const void *data, uint32_t len, struct vstor_request *out);

/* Build the 64-byte completion for an SRB: COMPLETE_IO, status 0, the
 * guest's SRB with statuses, transferred length and sense filled in. */
void vstor_srb_completion(const struct vstor_request *req, uint8_t srb_status,
                          uint8_t scsi_status, uint32_t transferred, const uint8_t *sense,
                          uint8_t sense_len, struct vstor_packet *out);

/* A completion for a non-SRB operation (COMPLETE_IO + status). */
void vstor_simple_completion(uint32_t status, struct vstor_packet *out);

#endif /* HVSHIM_VMBUS_DEVICES_VSTOR_H */
