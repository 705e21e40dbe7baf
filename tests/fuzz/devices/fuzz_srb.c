/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the SCSI controller through the VMBus server, with two
 * in-memory disks (LUN 0 writable 1 MiB, LUN 2 read-only 256 KiB). The
 * guest sends fuzzed storage packets (init operations, SRBs with fuzzed
 * addressing, CDBs, directions and lengths) inline or with fuzzed page
 * ranges, over fuzzed guest memory; disks come and go. Every host packet
 * must be a 64-byte completion or an ENUMERATE_BUS.
 *
 * Input: ops (u8 % 6):
 *   0 op:u8 ver:u16 id:u16                     init-style operation, inline
 *   1 addr:u8 cdblen:u8 cdb[16] dir:u8 len:u32 ranges   SRB (GPA-direct if ranges)
 *   2 page:u8 off:u16 len:u8 bytes             write guest memory (scratch)
 *   3 n:u8                                     guest reads up to n host packets
 *   4 lun:u8                                   hot add / remove a disk
 *   5                                          timers
 */
#include <string.h>

#include "tests/fuzz/devices/fuzz_dev.h"
#include "vmbus/devices/scsi.h"
#include "vmbus/devices/vstor.h"

static void drain(struct fdev *d, uint32_t max)
{
    static uint8_t buf[4096];
    for (uint32_t i = 0; i < max; i++) {
        struct vmbus_packet pkt;
        int n = fd_recv(d, &pkt, buf, sizeof(buf));
        if (n < 0)
            break;
        struct vstor_packet p;
        FD_CHECK((uint32_t)n >= sizeof(p));
        memcpy(&p, pkt.data, sizeof(p));
        if (pkt.type == VMBUS_PKT_COMP) {
            FD_CHECK(p.operation == VSTOR_OP_COMPLETE_IO);
            FD_CHECK(p.srb.sense_info_length <= VSTOR_SENSE_MAX);
        } else {
            FD_CHECK(pkt.type == VMBUS_PKT_DATA_INBAND && pkt.trans_id == 0);
            FD_CHECK(p.operation == VSTOR_OP_ENUMERATE_BUS);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fd_in in = { data, size };
    struct fdev *d = fd_start(FD_SCSI);
    static const uint32_t ops[] = {
        VSTOR_OP_BEGIN_INIT, VSTOR_OP_QUERY_PROTOCOL_VERSION, VSTOR_OP_QUERY_PROPERTIES,
        VSTOR_OP_END_INIT, VSTOR_OP_RESET_BUS, VSTOR_OP_RESET_LUN, VSTOR_OP_ENUMERATE_BUS,
        VSTOR_OP_CREATE_SUB_CHANNELS,
    };
    bool present[4] = { true, false, true, false };
    for (int steps = 0; in.n && steps < 500; steps++) {
        switch (fd_u8(&in) % 6) {
        case 0: {
            struct vstor_packet p;
            memset(&p, 0, sizeof(p));
            uint8_t op = fd_u8(&in);
            p.operation = op < 0xF0 ? ops[op % 8] : op;
            p.flags = 1;
            p.version.major_minor = fd_u16(&in);
            uint16_t id = fd_u16(&in);
            fd_send(d, VMBUS_PKT_DATA_INBAND, 1, id, NULL, 0, &p, op & 0x40 ? 40 : sizeof(p));
            break;
        }
        case 1: {
            struct vstor_packet p;
            memset(&p, 0, sizeof(p));
            p.operation = VSTOR_OP_EXECUTE_SRB;
            p.flags = 1;
            uint8_t addr = fd_u8(&in);
            p.srb.lun = addr & 3;
            p.srb.target_id = (addr >> 2) & 1;
            p.srb.path_id = (addr >> 3) & 1;
            if (addr >= 0xF0)
                p.srb.lun = fd_u8(&in);
            p.srb.cdb_length = fd_u8(&in) % 18;
            fd_bytes(&in, p.srb.cdb, 16);
            uint8_t dir = fd_u8(&in);
            p.srb.data_in = dir % 4;
            p.srb.sense_info_length = dir >> 2;
            p.srb.data_transfer_length = fd_u32(&in) % (1u << 21);
            uint8_t ext[512];
            uint32_t elen = fd_gpa_ext(&in, ext, sizeof(ext));
            bool gpa = elen > 8;
            fd_send(d, gpa ? VMBUS_PKT_DATA_USING_GPA_DIRECT : VMBUS_PKT_DATA_INBAND, 1,
                    fd_u16(&in), gpa ? ext : NULL, gpa ? elen : 0, &p, sizeof(p));
            fd_run(d);
            break;
        }
        case 2: {
            uint32_t page = FD_SCRATCH_PAGE + fd_u8(&in) % FD_SCRATCH_PAGES;
            uint32_t off = fd_u16(&in) % 4096u;
            uint32_t len = fd_u8(&in);
            if (page == FD_RAM_PAGES - 1 && off + len > 4096)
                len = 4096 - off;
            fd_bytes(&in, fd_page(d, page) + off, len);
            break;
        }
        case 3:
            drain(d, fd_u8(&in));
            break;
        case 4: {
            uint32_t lun = fd_u8(&in) % 4;
            if (present[lun]) {
                FD_CHECK(storvsc_detach(d->scsi, lun) == 0);
                present[lun] = false;
            } else {
                struct blk_dev *b = blk_mem_create(64u << 10, lun & 1);
                FD_CHECK(storvsc_attach(d->scsi, b, (int)lun, NULL) == (int)lun);
                present[lun] = true;
            }
            break;
        }
        case 5:
            d->now += 1000000;
            fd_run(d);
            break;
        }
    }
    fd_run(d);
    drain(d, 100000);
    fd_stop(d);
    return 0;
}
