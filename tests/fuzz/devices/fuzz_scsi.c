/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the SCSI command emulation on a small in-memory disk, with
 * no transport around it. Input: blocks:u16 flags:u8 cdblen:u8 cdb[16]
 * buflen:u32, then the data-out bytes (UNMAP parameter list, WRITE SAME
 * block, write data). Every I/O decision is checked against the unit
 * (ranges inside the disk, transfers inside the buffer and the limit, no
 * writes to a read-only unit) and then carried out on the disk's memory;
 * REPORT LUNS and the absent-LUN path see the same CDB.
 */
#include <string.h>

#include "tests/fuzz/devices/fuzz_dev.h"
#include "vmbus/devices/blk.h"
#include "vmbus/devices/scsi.h"

#define DISK_MAX (256u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t disk[DISK_MAX];
    static uint8_t buf[1u << 20];
    static uint8_t out[4096];
    struct fd_in in = { data, size };
    struct scsi_lu lu = {
        .block_size = 512,
        .max_transfer_blocks = 2048,
        .max_unmap_blocks = 4096,
        .max_unmap_descriptors = 8,
        .max_write_same_blocks = 0xFFFF,
        .write_cache = true,
        .fua = true,
    };
    uint16_t blocks = fd_u16(&in);
    lu.blocks = blocks % (DISK_MAX / 512 + 1);
    uint8_t flags = fd_u8(&in);
    lu.read_only = flags & 1;
    if (flags & 2)
        lu.max_unmap_blocks = 0;
    if (flags & 4)
        lu.block_size = 4096, lu.blocks /= 8, lu.max_transfer_blocks = 256;
    scsi_lu_identity(&lu, flags & 8 ? "fuzz-serial" : NULL, "fuzz");
    uint8_t cdb[16] = { 0 };
    uint32_t cdb_len = fd_u8(&in) % 17;
    fd_bytes(&in, cdb, 16);
    uint32_t buf_len = fd_u32(&in) % (sizeof(buf) + 1);
    memset(buf, 0, buf_len);
    fd_bytes(&in, buf, buf_len);

    struct scsi_cmd c;
    scsi_execute(&lu, cdb, cdb_len, buf_len, out, sizeof(out), &c);
    FD_CHECK(c.status == SCSI_STATUS_GOOD || c.status == SCSI_STATUS_CHECK_CONDITION);
    FD_CHECK(c.data_len <= sizeof(out));
    if (c.status == SCSI_STATUS_CHECK_CONDITION)
        FD_CHECK(c.io == SCSI_IO_NONE && c.sense_len == SCSI_SENSE_LEN && c.data_len == 0);
    uint64_t bs = lu.block_size;
    struct iovec iov = { buf, c.xfer_bytes };
    struct blk_req r = { .iov = &iov, .iovcnt = 1 };
    switch (c.io) {
    case SCSI_IO_NONE:
        break;
    case SCSI_IO_READ:
    case SCSI_IO_WRITE:
        FD_CHECK(c.blocks >= 1 && c.blocks <= lu.max_transfer_blocks);
        FD_CHECK(c.lba <= lu.blocks && c.blocks <= lu.blocks - c.lba);
        FD_CHECK(c.xfer_bytes == c.blocks * bs && c.xfer_bytes <= buf_len);
        FD_CHECK(c.io == SCSI_IO_READ || !lu.read_only);
        r.op = c.io == SCSI_IO_READ ? BLK_OP_READ : BLK_OP_WRITE;
        r.offset = c.lba * bs;
        r.len = c.xfer_bytes;
        FD_CHECK(blk_mem_execute(disk, lu.blocks * bs, &r) == 0);
        break;
    case SCSI_IO_FLUSH:
        FD_CHECK(!lu.read_only);
        break;
    case SCSI_IO_WRITE_SAME:
        FD_CHECK(!lu.read_only && c.blocks >= 1);
        FD_CHECK(c.lba <= lu.blocks && c.blocks <= lu.blocks - c.lba);
        FD_CHECK(c.ndob || c.xfer_bytes == bs);
        FD_CHECK(c.xfer_bytes <= buf_len);
        r.op = BLK_OP_WRITE_SAME;
        r.offset = c.lba * bs;
        r.len = c.blocks * bs;
        r.iovcnt = c.ndob ? 0 : 1;
        FD_CHECK(blk_mem_execute(disk, lu.blocks * bs, &r) == 0);
        break;
    case SCSI_IO_UNMAP: {
        FD_CHECK(!lu.read_only && lu.max_unmap_blocks);
        FD_CHECK(c.xfer_bytes >= 8 && c.xfer_bytes <= buf_len);
        struct scsi_unmap_range ranges[8];
        uint32_t n;
        struct scsi_cmd pc;
        if (scsi_unmap_parse(&lu, buf, c.xfer_bytes, ranges, 8, &n, &pc) == 0) {
            uint64_t total = 0;
            for (uint32_t i = 0; i < n; i++) {
                FD_CHECK(ranges[i].blocks >= 1);
                FD_CHECK(ranges[i].lba <= lu.blocks &&
                         ranges[i].blocks <= lu.blocks - ranges[i].lba);
                total += ranges[i].blocks;
                struct blk_req u = { .op = BLK_OP_DISCARD, .offset = ranges[i].lba * bs,
                                     .len = ranges[i].blocks * bs };
                FD_CHECK(blk_mem_execute(disk, lu.blocks * bs, &u) == 0);
            }
            FD_CHECK(total <= lu.max_unmap_blocks);
        } else {
            FD_CHECK(pc.status == SCSI_STATUS_CHECK_CONDITION);
        }
        break;
    }
    default:
        FD_CHECK(!"unknown I/O kind");
    }

    /* The same CDB to a LUN that is not there, and as REPORT LUNS. */
    if (scsi_execute_absent(cdb, cdb_len, out, sizeof(out), &c))
        FD_CHECK(c.data_len <= sizeof(out));
    uint16_t luns[4] = { 0, 1, 255, 300 };
    scsi_report_luns(cdb, cdb_len, luns, flags >> 6, out, 24, &c);
    FD_CHECK(c.data_len <= 24);
    return 0;
}
