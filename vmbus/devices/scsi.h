/* SPDX-License-Identifier: MIT */
/*
 * SCSI block device emulation (SPC-4 / SBC-3 subset), as pure functions:
 * a CDB and a description of the logical unit in, the response data, the
 * status and sense, and the block I/O to perform out. The caller (storvsc)
 * does the I/O through its block backend and builds the completion; tests
 * and the fuzzer run the same code against an in-memory disk.
 *
 * Commands: TEST UNIT READY, REQUEST SENSE, INQUIRY (standard; VPD 0x00,
 * 0x80, 0x83, 0xB0, 0xB1, 0xB2), MODE SENSE(6/10) (pages 0x01, 0x08, 0x0A,
 * 0x3F), READ CAPACITY(10/16), READ/WRITE(6/10/12/16), VERIFY(10/16),
 * WRITE SAME(10/16), SYNCHRONIZE CACHE(10/16), UNMAP, START STOP UNIT,
 * PREVENT ALLOW MEDIUM REMOVAL; REPORT LUNS and absent LUNs separately.
 * Everything else: CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND
 * OPERATION CODE.
 */
#ifndef HVSHIM_VMBUS_DEVICES_SCSI_H
#define HVSHIM_VMBUS_DEVICES_SCSI_H

#include <stdbool.h>
#include <stdint.h>

/* ---------------------------------------------------------------- opcodes */
#define SCSI_TEST_UNIT_READY      0x00u
#define SCSI_REQUEST_SENSE        0x03u
#define SCSI_READ_6               0x08u
#define SCSI_WRITE_6              0x0Au
#define SCSI_INQUIRY              0x12u
#define SCSI_MODE_SELECT_6        0x15u
#define SCSI_MODE_SENSE_6         0x1Au
#define SCSI_START_STOP_UNIT      0x1Bu
#define SCSI_PREVENT_ALLOW        0x1Eu
#define SCSI_READ_CAPACITY_10     0x25u
#define SCSI_READ_10              0x28u
#define SCSI_WRITE_10             0x2Au
#define SCSI_VERIFY_10            0x2Fu
#define SCSI_SYNCHRONIZE_CACHE_10 0x35u
#define SCSI_WRITE_SAME_10        0x41u
#define SCSI_UNMAP                0x42u
#define SCSI_MODE_SELECT_10       0x55u
#define SCSI_MODE_SENSE_10        0x5Au
#define SCSI_READ_16              0x88u
#define SCSI_WRITE_16             0x8Au
#define SCSI_VERIFY_16            0x8Fu
#define SCSI_SYNCHRONIZE_CACHE_16 0x91u
#define SCSI_WRITE_SAME_16        0x93u
#define SCSI_SERVICE_ACTION_IN_16 0x9Eu
#define SCSI_SAI_READ_CAPACITY_16 0x10u
#define SCSI_REPORT_LUNS          0xA0u
#define SCSI_READ_12              0xA8u
#define SCSI_WRITE_12             0xAAu

/* ---------------------------------------------------------------- status */
#define SCSI_STATUS_GOOD            0x00u
#define SCSI_STATUS_CHECK_CONDITION 0x02u

/* Sense keys */
#define SCSI_SENSE_NO_SENSE        0x0u
#define SCSI_SENSE_NOT_READY       0x2u
#define SCSI_SENSE_MEDIUM_ERROR    0x3u
#define SCSI_SENSE_HARDWARE_ERROR  0x4u
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5u
#define SCSI_SENSE_UNIT_ATTENTION  0x6u
#define SCSI_SENSE_DATA_PROTECT    0x7u
#define SCSI_SENSE_ABORTED_COMMAND 0xBu

/* Additional sense code << 8 | qualifier */
#define SCSI_ASC_WRITE_ERROR               0x0C00u
#define SCSI_ASC_UNRECOVERED_READ_ERROR    0x1100u
#define SCSI_ASC_PARAMETER_LIST_LENGTH     0x1A00u
#define SCSI_ASC_INVALID_OPCODE            0x2000u
#define SCSI_ASC_LBA_OUT_OF_RANGE          0x2100u
#define SCSI_ASC_INVALID_FIELD_IN_CDB      0x2400u
#define SCSI_ASC_LUN_NOT_SUPPORTED         0x2500u
#define SCSI_ASC_INVALID_FIELD_IN_PARAM    0x2600u
#define SCSI_ASC_WRITE_PROTECTED           0x2700u
#define SCSI_ASC_SPACE_ALLOC_FAILED_WP     0x2707u
#define SCSI_ASC_CAPACITY_CHANGED          0x2A09u
#define SCSI_ASC_SAVING_NOT_SUPPORTED      0x3900u
#define SCSI_ASC_INTERNAL_TARGET_FAILURE   0x4400u

#define SCSI_SENSE_LEN 18u           /* fixed format */

/* INQUIRY byte 0 for "no logical unit here" (qualifier 3, type 0x1F). */
#define SCSI_PQ_NOT_CONNECTED 0x7Fu

/* ---------------------------------------------------- the logical unit */

#define SCSI_SERIAL_MAX 20u

struct scsi_lu {
    uint64_t blocks;              /* capacity in logical blocks */
    uint32_t block_size;          /* 512 or 4096 */
    uint32_t max_transfer_blocks; /* per READ/WRITE; > 0 */
    uint32_t max_unmap_blocks;    /* per UNMAP command; 0 = no UNMAP */
    uint32_t max_unmap_descriptors;
    uint32_t max_write_same_blocks;
    bool read_only;
    bool write_cache;             /* WCE: the guest sends SYNCHRONIZE CACHE */
    bool fua;                     /* DPOFUA: FUA writes honoured */
    char serial[SCSI_SERIAL_MAX + 1];  /* printable ASCII */
    uint64_t naa;                 /* NAA 3 (locally assigned) identifier */
};

/* Build the identity of a disk: serial and NAA id derived from `seed`
 * (e.g. the image path) unless serial is given. */
void scsi_lu_identity(struct scsi_lu *lu, const char *serial, const char *seed);

/* -------------------------------------------------------------- execute */

enum scsi_io {
    SCSI_IO_NONE = 0,     /* done: status/sense/data are final */
    SCSI_IO_READ,         /* read blocks into the guest buffer */
    SCSI_IO_WRITE,        /* write blocks from the guest buffer */
    SCSI_IO_FLUSH,
    SCSI_IO_UNMAP,        /* fetch param_len bytes, scsi_unmap_parse them */
    SCSI_IO_WRITE_SAME,   /* fetch one block (unless ndob), repeat it */
};

struct scsi_cmd {
    uint8_t status;               /* SCSI_STATUS_* */
    uint8_t sense_len;
    uint8_t sense[SCSI_SENSE_LEN];
    uint32_t data_len;            /* data-in bytes produced (SCSI_IO_NONE) */
    uint8_t io;                   /* enum scsi_io */
    bool fua;                     /* write through */
    bool ndob;                    /* WRITE SAME without data: zeros */
    uint64_t lba;
    uint64_t blocks;
    uint32_t xfer_bytes;          /* guest buffer bytes the I/O moves */
};

/*
 * Run one command against a present logical unit. buf_len is the size of
 * the guest's data buffer (0 if none); emulated data-in goes to
 * data[0..data_cap) and is already cut to the allocation length (the caller
 * also cuts it to buf_len). Never fails for any input: garbage gets CHECK
 * CONDITION with the sense SPC/SBC prescribe.
 */
void scsi_execute(const struct scsi_lu *lu, const uint8_t *cdb, uint32_t cdb_len,
                  uint32_t buf_len, uint8_t *data, uint32_t data_cap, struct scsi_cmd *out);

/* A command to a LUN with nothing behind it: INQUIRY answers qualifier 3
 * (Linux's scan wants data, not an error), REQUEST SENSE says LOGICAL UNIT
 * NOT SUPPORTED; anything else returns false (the transport reports an
 * invalid LUN). */
bool scsi_execute_absent(const uint8_t *cdb, uint32_t cdb_len, uint8_t *data,
                         uint32_t data_cap, struct scsi_cmd *out);

/* REPORT LUNS for a target holding luns[0..n) (ascending, < 16384). */
void scsi_report_luns(const uint8_t *cdb, uint32_t cdb_len, const uint16_t *luns, uint32_t n,
                      uint8_t *data, uint32_t data_cap, struct scsi_cmd *out);

struct scsi_unmap_range {
    uint64_t lba;
    uint32_t blocks;
};

/* Check an UNMAP parameter list against the unit: 0 and the ranges
 * (zero-length descriptors dropped), or -1 with out set to CHECK
 * CONDITION. */
int scsi_unmap_parse(const struct scsi_lu *lu, const uint8_t *param, uint32_t len,
                     struct scsi_unmap_range *ranges, uint32_t max, uint32_t *n,
                     struct scsi_cmd *out);

/* Set out to CHECK CONDITION with fixed-format sense (key, asc << 8 | ascq). */
void scsi_check_condition(struct scsi_cmd *out, uint8_t key, uint16_t asc);

/* Map a backend errno (negative) to CHECK CONDITION for a read or write. */
void scsi_io_error(struct scsi_cmd *out, int err, bool write);

#endif /* HVSHIM_VMBUS_DEVICES_SCSI_H */
