/* SPDX-License-Identifier: MIT */
/*
 * The SCSI controller through the VMBus server, driven the way Linux 6.1's
 * storvsc drives it: the init sequence (each protocol version), the
 * probe-time scan of 8 channels x 2 targets with absent LUNs, disk
 * revalidation, I/O on in-memory and file disks (worker threads, wakes),
 * hot add/remove, and hostile packets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/devices/dev_harness.h"
#include "vmbus/devices/scsi.h"
#include "vmbus/devices/storvsc.h"
#include "vmbus/devices/vstor.h"

#define RQST_INIT 0xFFFFFFFFFFFFFFFDull   /* Linux's VMBUS_RQST_INIT */
#define RING_PAGES 33u                    /* 128 KiB of data + header */
#define DISK_MB 16u

struct sv {
    struct vh *h;
    struct vh_chan c;
    struct storvsc *s;
    uint32_t relid;
    uint64_t tag;
    struct blk_dev *mem;          /* LUN 0 unless a test says otherwise */
};

static const struct vmbus_guid scsi_guid = VMBUS_GUID_SCSI;

static struct sv *sv_new(uint32_t max_version, bool with_disk)
{
    struct sv *t = calloc(1, sizeof(*t));
    t->h = vh_create(2, 0);
    struct storvsc_options opt = {
        .instance = VMBUS_GUID_INIT(0x12345678, 0x1111, 0x2222, 1, 2, 3, 4, 5, 6, 7, 8),
        .max_version = max_version,
    };
    t->s = storvsc_create(t->h->srv, &opt);
    assert_non_null(t->s);
    if (with_disk) {
        t->mem = blk_mem_create((uint64_t)DISK_MB << 20, false);
        assert_int_equal(storvsc_attach(t->s, t->mem, 0, "disk0"), 0);
    }
    t->relid = dh_bringup(t->h, &scsi_guid, &t->c, RING_PAGES);
    return t;
}

static void sv_free(struct sv *t)
{
    vh_destroy(t->h);
    free(t);
}

/* Wait (real time, for worker threads) for the next host packet. */
static void wait_packet(struct sv *t, void *buf, uint32_t buflen, uint32_t *len)
{
    for (int i = 0; i < 2000; i++) {
        dh_pump(t->h);
        if (dh_recv(t->h, &t->c, buf, buflen, len))
            return;
        vh_wait_wake(t->h, __atomic_load_n(&t->h->wakes, __ATOMIC_ACQUIRE), 5);
    }
    fail_msg("no reply from the controller");
}

/* One init-style operation: INBAND, completion requested, Linux's id. */
static struct vstor_packet vstor_op(struct sv *t, uint32_t op, uint16_t version)
{
    struct vstor_packet p;
    memset(&p, 0, sizeof(p));
    p.operation = op;
    p.flags = VSTOR_FLAG_REQUEST_COMPLETION;
    if (op == VSTOR_OP_QUERY_PROTOCOL_VERSION)
        p.version.major_minor = version;
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND,
                             VMBUS_PACKET_FLAG_COMPLETION_REQUESTED, RQST_INIT, NULL, 0, &p,
                             sizeof(p)),
                     0);
    uint8_t buf[256];
    uint32_t len;
    wait_packet(t, buf, sizeof(buf), &len);
    const struct vmbus_packet_desc *d = (const void *)buf;
    assert_int_equal(d->type, VMBUS_PKT_COMP);
    assert_true(d->trans_id == RQST_INIT);
    /* Linux wants the whole 64-byte packet for a non-zero id. */
    assert_true(len - d->offset8 * 8u >= sizeof(struct vstor_packet));
    struct vstor_packet r;
    memcpy(&r, buf + d->offset8 * 8u, sizeof(r));
    assert_int_equal(r.operation, VSTOR_OP_COMPLETE_IO);
    return r;
}

/* storvsc_channel_init: returns the negotiated version. */
static uint16_t linux_init(struct sv *t, uint32_t *max_transfer)
{
    static const uint16_t versions[] = { VSTOR_VERSION_WIN10, VSTOR_VERSION_WIN8_1,
                                         VSTOR_VERSION_WIN8 };
    assert_int_equal(vstor_op(t, VSTOR_OP_BEGIN_INIT, 0).status, 0);
    uint16_t got = 0;
    for (size_t i = 0; i < 3 && !got; i++)
        if (vstor_op(t, VSTOR_OP_QUERY_PROTOCOL_VERSION, versions[i]).status == 0)
            got = versions[i];
    struct vstor_packet p = vstor_op(t, VSTOR_OP_QUERY_PROPERTIES, 0);
    assert_int_equal(p.status, 0);
    assert_true(p.props.max_transfer_bytes != 0);
    assert_int_equal(p.props.flags & VSTOR_PROP_MULTI_CHANNEL, 0);
    if (max_transfer)
        *max_transfer = p.props.max_transfer_bytes;
    assert_int_equal(vstor_op(t, VSTOR_OP_END_INIT, 0).status, 0);
    return got;
}

struct srb_res {
    uint8_t srb_status, scsi_status;
    uint32_t xfer;
    uint8_t sense[20];
    uint8_t sense_len;
};

/* One SRB as storvsc_queuecommand builds it; data in guest memory at gpa. */
static struct srb_res srb_at(struct sv *t, uint8_t chan, uint8_t target, uint8_t lun,
                             const uint8_t *cdb, uint8_t cdb_len, uint8_t dir, uint64_t gpa,
                             uint32_t len)
{
    struct vstor_packet p;
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.flags = VSTOR_FLAG_REQUEST_COMPLETION;
    p.srb.length = sizeof(struct vstor_srb);
    p.srb.path_id = chan;
    p.srb.target_id = target;
    p.srb.lun = lun;
    p.srb.cdb_length = cdb_len;
    p.srb.sense_info_length = VSTOR_SENSE_MAX;
    p.srb.data_in = dir;
    p.srb.data_transfer_length = len;
    p.srb.timeout = 60;
    p.srb.srb_flags = dir == VSTOR_DIR_READ ? VSTOR_SRB_FLAG_DATA_IN
                      : dir == VSTOR_DIR_WRITE ? VSTOR_SRB_FLAG_DATA_OUT : 0;
    memcpy(p.srb.cdb, cdb, cdb_len);
    uint64_t id = ++t->tag;
    if (len) {
        struct dh_range r = { gpa, len };
        assert_int_equal(dh_send_gpa(t->h, &t->c, id, &r, 1, &p, sizeof(p)), 0);
    } else {
        assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND,
                                 VMBUS_PACKET_FLAG_COMPLETION_REQUESTED, id, NULL, 0, &p,
                                 sizeof(p)),
                         0);
    }
    uint8_t buf[256];
    uint32_t plen;
    wait_packet(t, buf, sizeof(buf), &plen);
    const struct vmbus_packet_desc *d = (const void *)buf;
    assert_int_equal(d->type, VMBUS_PKT_COMP);
    assert_true(d->trans_id == id);
    struct vstor_packet r;
    memcpy(&r, buf + d->offset8 * 8u, sizeof(r));
    assert_int_equal(r.operation, VSTOR_OP_COMPLETE_IO);
    struct srb_res res = {
        .srb_status = r.srb.srb_status,
        .scsi_status = r.srb.scsi_status,
        .xfer = r.srb.data_transfer_length,
        .sense_len = r.srb.sense_info_length,
    };
    memcpy(res.sense, r.srb.sense, sizeof(res.sense));
    return res;
}

static struct srb_res srb(struct sv *t, uint8_t lun, const uint8_t *cdb, uint8_t cdb_len,
                          uint8_t dir, uint64_t gpa, uint32_t len)
{
    return srb_at(t, 0, 0, lun, cdb, cdb_len, dir, gpa, len);
}

static void assert_sense(const struct srb_res *r, uint8_t key, uint16_t asc)
{
    assert_int_equal(r->scsi_status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r->srb_status, SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID);
    assert_true(r->sense_len >= 14);
    assert_int_equal(r->sense[0], 0x70);
    assert_int_equal(r->sense[2] & 0x0F, key);
    assert_int_equal(r->sense[12], asc >> 8);
    assert_int_equal(r->sense[13], asc & 0xFF);
}

static void cdb_rw16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t blocks)
{
    memset(cdb, 0, 16);
    cdb[0] = op;
    for (int i = 0; i < 8; i++)
        cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        cdb[10 + i] = (uint8_t)(blocks >> (24 - 8 * i));
}

static void cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
    memset(cdb, 0, 10);
    cdb[0] = op;
    for (int i = 0; i < 4; i++)
        cdb[2 + i] = (uint8_t)(lba >> (24 - 8 * i));
    cdb[7] = (uint8_t)(blocks >> 8);
    cdb[8] = (uint8_t)blocks;
}

/* ------------------------------------------------------------------ init */

static void test_init_versions(void **state)
{
    (void)state;
    /* Each host cap: Linux walks 0x0602, 0x0600, 0x0501 and takes the first
     * the host accepts. */
    static const uint32_t caps[] = { VSTOR_VERSION_WIN10, VSTOR_VERSION_WIN8_1,
                                     VSTOR_VERSION_WIN8 };
    for (size_t i = 0; i < 3; i++) {
        struct sv *t = sv_new(caps[i], true);
        uint32_t mtb;
        assert_int_equal(linux_init(t, &mtb), caps[i]);
        assert_int_equal(storvsc_version(t->s), caps[i]);
        assert_int_equal(mtb, STORVSC_DEFAULT_MAX_TRANSFER);
        sv_free(t);
    }
    /* Versions Linux no longer tries are refused. */
    struct sv *t = sv_new(0, true);
    assert_int_equal(vstor_op(t, VSTOR_OP_BEGIN_INIT, 0).status, 0);
    assert_int_equal(vstor_op(t, VSTOR_OP_QUERY_PROTOCOL_VERSION, 0x0402).status,
                     VSTOR_STATUS_REVISION_MISMATCH);
    assert_int_equal(vstor_op(t, VSTOR_OP_QUERY_PROTOCOL_VERSION, 0x0200).status,
                     VSTOR_STATUS_REVISION_MISMATCH);
    /* Operations a host never takes from a guest. */
    assert_int_equal(vstor_op(t, VSTOR_OP_ENUMERATE_BUS, 0).status,
                     VSTOR_STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(vstor_op(t, VSTOR_OP_CREATE_SUB_CHANNELS, 0).status,
                     VSTOR_STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(vstor_op(t, 0x77, 0).status, VSTOR_STATUS_INVALID_DEVICE_REQUEST);
    /* storvsc_host_reset_handler */
    assert_int_equal(vstor_op(t, VSTOR_OP_RESET_BUS, 0).status, 0);
    sv_free(t);
}

/* ------------------------------------------------------------------ scan */

static void test_probe_scan(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, false);
    /* Disks at LUN 1 and 3 only: LUN 0 is absent, as after a removal. */
    assert_int_equal(storvsc_attach(t->s, blk_mem_create(1 << 20, false), 1, NULL), 1);
    assert_int_equal(storvsc_attach(t->s, blk_mem_create(2 << 20, true), 3, NULL), 3);
    linux_init(t, NULL);
    uint64_t buf = vh_alloc_pages(t->h, 2);
    uint8_t *p = vh_ptr(t->h, buf);
    uint32_t found = 0;
    /* scsi_scan_host: channels 0..7, targets 0..1, LUN 0 first. */
    for (uint8_t ch = 0; ch < 8; ch++) {
        for (uint8_t tg = 0; tg < 2; tg++) {
            uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
            memset(p, 0xEE, 4096);
            struct srb_res r = srb_at(t, ch, tg, 0, inq, 6, VSTOR_DIR_READ, buf, 36);
            /* Linux forces INQUIRY to success; the data must say "absent". */
            assert_int_equal(r.xfer, 36);
            assert_int_equal(p[0], SCSI_PQ_NOT_CONNECTED);
            /* Qualifier 3 on LUN 0 still means "target present": REPORT LUNS. */
            uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };
            memset(p, 0xEE, 4096);
            r = srb_at(t, ch, tg, 0, rl, 12, VSTOR_DIR_READ, buf, 4096);
            assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
            uint32_t list = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
            assert_int_equal(r.xfer, 8 + list);
            if (ch == 0 && tg == 0) {
                assert_int_equal(list, 16);
                assert_int_equal(p[8 + 1], 1);
                assert_int_equal(p[16 + 1], 3);
            } else {
                assert_int_equal(list, 0);   /* empty target: empty list */
            }
            uint8_t listed[8];
            for (uint32_t e = 0; e < list / 8 && e < 8; e++)
                listed[e] = p[8 + e * 8 + 1];
            for (uint32_t e = 0; e < list / 8; e++) {
                uint8_t lun = listed[e];
                memset(p, 0, 4096);
                r = srb_at(t, ch, tg, lun, inq, 6, VSTOR_DIR_READ, buf, 36);
                assert_int_equal(p[0], 0x00);
                assert_memory_equal(p + 8, "Msft    Virtual Disk    ", 24);
                /* Linux re-reads at full length when byte 4 asks for more. */
                assert_true(p[4] + 5u <= 36u);
                /* VPD 0x00 and each page it lists. */
                uint8_t vpd[6] = { SCSI_INQUIRY, 1, 0, 0, 255, 0 };
                r = srb_at(t, ch, tg, lun, vpd, 6, VSTOR_DIR_READ, buf, 255);
                assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
                uint8_t pages[16];
                uint32_t np = p[3];
                assert_true(np <= sizeof(pages));
                memcpy(pages, p + 4, np);
                for (uint32_t k = 0; k < np; k++) {
                    vpd[2] = pages[k];
                    r = srb_at(t, ch, tg, lun, vpd, 6, VSTOR_DIR_READ, buf, 255);
                    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
                    assert_int_equal(p[1], pages[k]);
                }
                found++;
            }
        }
    }
    assert_int_equal(found, 2);
    /* A command other than INQUIRY to an absent LUN: INVALID_LUN, which
     * makes Linux drop the device (hot removal path). */
    uint8_t tur[6] = { 0 };
    struct srb_res r = srb(t, 0, tur, 6, VSTOR_DIR_NONE, 0, 0);
    assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
    r = srb_at(t, 2, 1, 0, tur, 6, VSTOR_DIR_NONE, 0, 0);
    assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
    assert_int_equal(storvsc_get_stats(t->s)->invalid_lun, 2);
    sv_free(t);
}

/* sd_revalidate_disk's sequence on a present disk. */
static void test_revalidate(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, true);
    linux_init(t, NULL);
    uint64_t buf = vh_alloc_pages(t->h, 1);
    uint8_t *p = vh_ptr(t->h, buf);

    uint8_t tur[6] = { 0 };
    assert_int_equal(srb(t, 0, tur, 6, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_SUCCESS);

    uint8_t rc16[16] = { SCSI_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    rc16[13] = 32;
    struct srb_res r = srb(t, 0, rc16, 16, VSTOR_DIR_READ, buf, 32);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(r.xfer, 32);
    uint64_t last = 0;
    for (int i = 0; i < 8; i++)
        last = last << 8 | p[i];
    assert_int_equal(last, ((uint64_t)DISK_MB << 20) / 512 - 1);
    assert_int_equal(p[8] << 24 | p[9] << 16 | p[10] << 8 | p[11], 512);
    assert_int_equal(p[14] & 0x80, 0x80);          /* LBPME: thin, UNMAP works */

    uint8_t rc10[10] = { SCSI_READ_CAPACITY_10 };
    r = srb(t, 0, rc10, 10, VSTOR_DIR_READ, buf, 8);
    assert_int_equal(r.xfer, 8);
    assert_int_equal((uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3],
                     ((uint64_t)DISK_MB << 20) / 512 - 1);

    /* VPD B0: limits Linux reads (len >= 64 for the unmap fields). */
    uint8_t vpd[6] = { SCSI_INQUIRY, 1, 0xB0, 0, 64, 0 };
    r = srb(t, 0, vpd, 6, VSTOR_DIR_READ, buf, 64);
    assert_int_equal(r.xfer, 64);
    assert_int_equal(p[3], 0x3C);
    assert_int_equal((uint32_t)p[8] << 24 | p[9] << 16 | p[10] << 8 | p[11],
                     STORVSC_DEFAULT_MAX_TRANSFER / 512);
    assert_true(((uint32_t)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23]) > 0);
    vpd[2] = 0xB2;
    r = srb(t, 0, vpd, 6, VSTOR_DIR_READ, buf, 64);
    assert_int_equal(r.xfer, 8);
    assert_int_equal(p[5] & 0x80, 0x80);           /* LBPU */
    vpd[2] = 0xB1;
    r = srb(t, 0, vpd, 6, VSTOR_DIR_READ, buf, 64);
    assert_int_equal(p[4] << 8 | p[5], 1);         /* non-rotating */
    vpd[2] = 0x80;
    r = srb(t, 0, vpd, 6, VSTOR_DIR_READ, buf, 64);
    assert_int_equal(p[3], 5);
    assert_memory_equal(p + 4, "disk0", 5);
    vpd[2] = 0x83;
    r = srb(t, 0, vpd, 6, VSTOR_DIR_READ, buf, 64);
    assert_int_equal(p[4] & 0x0F, 1);              /* binary NAA first */
    assert_int_equal(p[5] & 0x0F, 3);
    assert_int_equal(p[8] >> 4, 3);                /* NAA 3: locally assigned */
    vpd[2] = 0x89;                                 /* ATA page: not ours */
    assert_sense((const struct srb_res[]){ srb(t, 0, vpd, 6, VSTOR_DIR_READ, buf, 64) },
                 SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);

    /* sd_read_write_protect_flag: MODE SENSE(6) page 0x3F; caching page. */
    uint8_t ms6[6] = { SCSI_MODE_SENSE_6, 0, 0x3F, 0, 192, 0 };
    r = srb(t, 0, ms6, 6, VSTOR_DIR_READ, buf, 192);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(p[0] + 1u, r.xfer);
    assert_int_equal(p[2] & 0x80, 0);              /* not write protected */
    uint8_t ms6c[6] = { SCSI_MODE_SENSE_6, 0x08, 0x08, 0, 4, 0 };   /* header only */
    r = srb(t, 0, ms6c, 6, VSTOR_DIR_READ, buf, 4);
    assert_int_equal(r.xfer, 4);
    uint32_t full = p[0] + 1u;
    ms6c[4] = (uint8_t)full;
    r = srb(t, 0, ms6c, 6, VSTOR_DIR_READ, buf, full);
    assert_int_equal(r.xfer, full);
    assert_int_equal(p[3], 0);                     /* DBD: no block descriptor */
    assert_int_equal(p[4], 0x08);
    assert_int_equal(p[6] & 0x04, 0x04);           /* WCE: flushes are sent */
    uint8_t ms10[10] = { SCSI_MODE_SENSE_10, 0, 0x08, 0, 0, 0, 0, 0, 64, 0 };
    r = srb(t, 0, ms10, 10, VSTOR_DIR_READ, buf, 64);
    assert_int_equal(p[7], 8);                     /* block descriptor present */
    assert_int_equal(p[3] & 0x10, 0x10);           /* DPOFUA */
    sv_free(t);
}

/* ------------------------------------------------------------------ I/O */

static void test_read_write_mem(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, true);
    linux_init(t, NULL);
    /* 64 KiB write at an odd offset into a page, then read back. */
    uint64_t buf = vh_alloc_pages(t->h, 20);
    uint32_t len = 64 * 1024;
    uint64_t gpa = buf + 512;
    dh_pattern(vh_ptr(t->h, gpa), len, 7);
    uint8_t cdb[16];
    cdb_rw10(cdb, SCSI_WRITE_10, 100, (uint16_t)(len / 512));
    struct srb_res r = srb(t, 0, cdb, 10, VSTOR_DIR_WRITE, gpa, len);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(r.xfer, len);
    assert_true(dh_check_pattern(blk_mem_data(t->mem) + 100 * 512, len, 7));

    memset(vh_ptr(t->h, gpa), 0, len);
    cdb_rw16(cdb, SCSI_READ_16, 100, len / 512);
    r = srb(t, 0, cdb, 16, VSTOR_DIR_READ, gpa, len);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_true(dh_check_pattern(vh_ptr(t->h, gpa), len, 7));

    /* A buffer larger than the transfer: only the transfer moves. */
    memset(vh_ptr(t->h, gpa), 0xAB, 8192);
    cdb_rw10(cdb, SCSI_READ_10, 100, 1);
    r = srb(t, 0, cdb, 10, VSTOR_DIR_READ, gpa, 8192);
    assert_int_equal(r.xfer, 512);
    assert_int_equal(vh_ptr(t->h, gpa)[512], 0xAB);

    /* Scattered pages: the data lands in each, in order. */
    uint64_t pages[3] = { (buf >> 12) + 17, (buf >> 12) + 3, (buf >> 12) + 11 };
    for (int i = 0; i < 3; i++)
        dh_pattern(vh_ptr(t->h, pages[i] << 12), 4096, 100 + (uint32_t)i);
    struct vstor_packet p;
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.srb.length = 52;
    p.srb.cdb_length = 10;
    p.srb.data_in = VSTOR_DIR_WRITE;
    p.srb.data_transfer_length = 3 * 4096;
    cdb_rw10(p.srb.cdb, SCSI_WRITE_10, 2000, 24);
    assert_int_equal(dh_send_gpa_pfns(t->h, &t->c, 77, 0, 3 * 4096, pages, 3, &p, sizeof(p)), 0);
    uint8_t raw[256];
    uint32_t plen;
    wait_packet(t, raw, sizeof(raw), &plen);
    const struct vmbus_packet_desc *d = (const void *)raw;
    assert_true(d->trans_id == 77);
    struct vstor_packet rp;
    memcpy(&rp, raw + d->offset8 * 8u, sizeof(rp));
    assert_int_equal(rp.srb.srb_status, SRB_STATUS_SUCCESS);
    for (int i = 0; i < 3; i++)
        assert_true(dh_check_pattern(blk_mem_data(t->mem) + 2000 * 512 + i * 4096, 4096,
                                     100 + (uint32_t)i));

    const struct storvsc_stats *st = storvsc_get_stats(t->s);
    assert_int_equal(st->writes, 2);
    assert_int_equal(st->reads, 2);
    sv_free(t);
}

static void test_flush_unmap_write_same(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, true);
    linux_init(t, NULL);
    uint8_t *disk = blk_mem_data(t->mem);
    memset(disk, 0x5A, 64 * 512);
    uint64_t buf = vh_alloc_pages(t->h, 1);
    uint8_t *p = vh_ptr(t->h, buf);

    uint8_t sync[10] = { SCSI_SYNCHRONIZE_CACHE_10 };
    assert_int_equal(srb(t, 0, sync, 10, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(storvsc_get_stats(t->s)->flushes, 1);

    /* UNMAP blocks 8..15 as sd_setup_unmap_cmnd sends it (24 bytes). */
    memset(p, 0, 24);
    p[1] = 22;
    p[3] = 16;
    p[8 + 7] = 8;
    p[8 + 11] = 8;
    uint8_t unmap[10] = { SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
    struct srb_res r = srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 24);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(disk[7 * 512], 0x5A);
    assert_int_equal(disk[8 * 512], 0);
    assert_int_equal(disk[15 * 512 + 511], 0);
    assert_int_equal(disk[16 * 512], 0x5A);
    /* A range past the end: LBA OUT OF RANGE, nothing unmapped. */
    p[8 + 7] = 0xFF;
    p[8 + 6] = 0xFF;
    p[8 + 5] = 0xFF;
    r = srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 24);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    /* Descriptor length not a multiple of 16. */
    p[8 + 7] = 8;
    p[8 + 6] = p[8 + 5] = 0;
    p[3] = 15;
    r = srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 24);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
    /* Two descriptors, one of them empty. */
    memset(p, 0, 40);
    p[3] = 32;
    p[8 + 7] = 20;
    p[8 + 11] = 2;
    p[24 + 7] = 30;
    r = srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 40);
    unmap[8] = 40;
    r = srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 40);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(disk[20 * 512], 0);
    assert_int_equal(disk[22 * 512], 0x5A);

    /* WRITE SAME(10): a pattern block repeated. */
    for (int i = 0; i < 512; i++)
        p[i] = (uint8_t)i;
    uint8_t ws[10] = { SCSI_WRITE_SAME_10, 0, 0, 0, 0, 40, 0, 0, 4, 0 };
    r = srb(t, 0, ws, 10, VSTOR_DIR_WRITE, buf, 512);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    for (int b = 40; b < 44; b++)
        assert_memory_equal(disk + b * 512, p, 512);
    assert_int_equal(disk[44 * 512], 0x5A);
    /* WRITE SAME(16) without a data buffer (NDOB): zeros. */
    uint8_t ws16[16];
    cdb_rw16(ws16, SCSI_WRITE_SAME_16, 41, 2);
    ws16[1] = 0x01;
    r = srb(t, 0, ws16, 16, VSTOR_DIR_NONE, 0, 0);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(disk[41 * 512 + 100], 0);
    assert_int_equal(disk[42 * 512 + 511], 0);
    assert_int_equal(disk[43 * 512 + 1], 1);
    /* Zero blocks is refused (WSNZ). */
    ws[8] = 0;
    r = srb(t, 0, ws, 10, VSTOR_DIR_WRITE, buf, 512);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    sv_free(t);
}

static void test_read_only_and_errors(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, false);
    struct blk_dev *ro = blk_mem_create(1 << 20, true);
    struct blk_dev *rw = blk_mem_create(4 << 20, false);   /* 8192 blocks */
    assert_int_equal(storvsc_attach(t->s, ro, 0, NULL), 0);
    assert_int_equal(storvsc_attach(t->s, rw, -1, NULL), 1);
    linux_init(t, NULL);
    uint64_t buf = vh_alloc_pages(t->h, 2);
    uint8_t cdb[16];

    /* Write protect shows in MODE SENSE; writes get DATA PROTECT. */
    uint8_t ms6[6] = { SCSI_MODE_SENSE_6, 0, 0x3F, 0, 192, 0 };
    srb(t, 0, ms6, 6, VSTOR_DIR_READ, buf, 192);
    assert_int_equal(vh_ptr(t->h, buf)[2] & 0x80, 0x80);
    cdb_rw10(cdb, SCSI_WRITE_10, 0, 8);
    struct srb_res r = srb(t, 0, cdb, 10, VSTOR_DIR_WRITE, buf, 4096);
    assert_sense(&r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    assert_int_equal(r.xfer, 0);
    uint8_t unmap[10] = { SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
    r = srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 24);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    cdb_rw10(cdb, SCSI_READ_10, 0, 8);
    assert_int_equal(srb(t, 0, cdb, 10, VSTOR_DIR_READ, buf, 4096).srb_status,
                     SRB_STATUS_SUCCESS);

    /* LBA and length overflow, on the writable disk. */
    cdb_rw16(cdb, SCSI_READ_16, 0xFFFFFFFFFFFFFFF0ull, 0x20);
    r = srb(t, 1, cdb, 16, VSTOR_DIR_READ, buf, 0x20 * 512 > 8192 ? 8192 : 0x20 * 512);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    cdb_rw16(cdb, SCSI_WRITE_16, 8191, 2);          /* one past the end */
    r = srb(t, 1, cdb, 16, VSTOR_DIR_WRITE, buf, 1024);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    cdb_rw16(cdb, SCSI_WRITE_16, 8190, 2);          /* the last two blocks */
    assert_int_equal(srb(t, 1, cdb, 16, VSTOR_DIR_WRITE, buf, 1024).srb_status,
                     SRB_STATUS_SUCCESS);
    /* The buffer is shorter than the transfer: refused, no partial I/O. */
    cdb_rw10(cdb, SCSI_READ_10, 0, 16);
    r = srb(t, 1, cdb, 10, VSTOR_DIR_READ, buf, 4096);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* More than max transfer. */
    cdb_rw16(cdb, SCSI_READ_16, 0, STORVSC_DEFAULT_MAX_TRANSFER / 512 + 1);
    r = srb(t, 1, cdb, 16, VSTOR_DIR_READ, buf, 8192);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Direction that contradicts the CDB. */
    cdb_rw10(cdb, SCSI_READ_10, 0, 1);
    r = srb(t, 1, cdb, 10, VSTOR_DIR_WRITE, buf, 512);
    assert_int_equal(r.srb_status, SRB_STATUS_INVALID_REQUEST);
    /* A data-in command given no buffer: success, nothing transferred. */
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    r = srb(t, 1, inq, 6, VSTOR_DIR_READ, 0, 0);
    assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(r.xfer, 0);
    /* Backend failures become sense data. */
    blk_mem_fail_next(rw, 1, -EIO);
    cdb_rw10(cdb, SCSI_READ_10, 0, 1);
    r = srb(t, 1, cdb, 10, VSTOR_DIR_READ, buf, 512);
    assert_sense(&r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
    blk_mem_fail_next(rw, 1, -ENOSPC);
    cdb_rw10(cdb, SCSI_WRITE_10, 0, 1);
    r = srb(t, 1, cdb, 10, VSTOR_DIR_WRITE, buf, 512);
    assert_sense(&r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_SPACE_ALLOC_FAILED_WP);
    /* Unknown opcode. */
    uint8_t odd[6] = { 0x04 };
    r = srb(t, 1, odd, 6, VSTOR_DIR_NONE, 0, 0);
    assert_sense(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    sv_free(t);
}

/* ----------------------------------------------------------- hostile */

static void test_hostile_packets(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, true);
    linux_init(t, NULL);
    uint8_t raw[256];
    uint32_t plen;
    struct vstor_packet p;

    /* Short packet: answered with an error status, no crash. */
    uint32_t op = VSTOR_OP_EXECUTE_SRB;
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 1, 5, NULL, 0, &op, 4), 0);
    wait_packet(t, raw, sizeof(raw), &plen);
    memcpy(&p, raw + 16, sizeof(p));
    assert_int_equal(p.status, VSTOR_STATUS_INVALID_PARAMETER);

    /* CDB length 0 and 17; direction 3. */
    uint8_t bad_len[] = { 0, 17 };
    for (size_t i = 0; i < 2; i++) {
        memset(&p, 0, sizeof(p));
        p.operation = VSTOR_OP_EXECUTE_SRB;
        p.srb.cdb_length = bad_len[i];
        assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 1, 6, NULL, 0, &p,
                                 sizeof(p)),
                         0);
        wait_packet(t, raw, sizeof(raw), &plen);
        struct vstor_packet rp;
        memcpy(&rp, raw + 16, sizeof(rp));
        assert_int_equal(rp.srb.srb_status, SRB_STATUS_INVALID_REQUEST);
    }
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.srb.cdb_length = 6;
    p.srb.data_in = 3;
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 1, 7, NULL, 0, &p, sizeof(p)), 0);
    wait_packet(t, raw, sizeof(raw), &plen);
    memcpy(&p, raw + 16, sizeof(p));
    assert_int_equal(p.srb.srb_status, SRB_STATUS_INVALID_REQUEST);

    /* Data range outside guest RAM (the hole at 8-16 MiB) and past 52 bits. */
    uint8_t cdb[16];
    cdb_rw10(cdb, SCSI_READ_10, 0, 8);
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.srb.cdb_length = 10;
    p.srb.data_in = VSTOR_DIR_READ;
    p.srb.data_transfer_length = 4096;
    memcpy(p.srb.cdb, cdb, 10);
    uint64_t hole = (12u << 20) >> 12, huge = 1ull << 50;
    assert_int_equal(dh_send_gpa_pfns(t->h, &t->c, 8, 0, 4096, &hole, 1, &p, sizeof(p)), 0);
    wait_packet(t, raw, sizeof(raw), &plen);
    struct vstor_packet rp;
    memcpy(&rp, raw + plen - 64, sizeof(rp));
    assert_int_equal(rp.srb.srb_status, SRB_STATUS_INVALID_REQUEST);
    assert_int_equal(dh_send_gpa_pfns(t->h, &t->c, 9, 0, 4096, &huge, 1, &p, sizeof(p)), 0);
    wait_packet(t, raw, sizeof(raw), &plen);
    memcpy(&rp, raw + plen - 64, sizeof(rp));
    assert_int_equal(rp.srb.srb_status, SRB_STATUS_INVALID_REQUEST);

    /* SRB claims 1 MiB but the range is one page: the page bounds it. */
    uint64_t buf = vh_alloc_pages(t->h, 1);
    uint64_t pfn = buf >> 12;
    p.srb.data_transfer_length = 1u << 20;
    cdb_rw10(p.srb.cdb, SCSI_READ_10, 0, 2048);
    assert_int_equal(dh_send_gpa_pfns(t->h, &t->c, 10, 0, 4096, &pfn, 1, &p, sizeof(p)), 0);
    wait_packet(t, raw, sizeof(raw), &plen);
    memcpy(&rp, raw + plen - 64, sizeof(rp));
    assert_int_equal(rp.srb.scsi_status, SCSI_STATUS_CHECK_CONDITION);

    /* A range of length 0 (malformed) and a packet type storvsc never uses. */
    assert_int_equal(dh_send_gpa_pfns(t->h, &t->c, 11, 0, 0, &pfn, 1, &p, sizeof(p)), 0);
    wait_packet(t, raw, sizeof(raw), &plen);
    memcpy(&rp, raw + plen - 64, sizeof(rp));
    assert_int_equal(rp.srb.srb_status, SRB_STATUS_INVALID_REQUEST);
    uint8_t ext[8] = { 0 };
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_USING_XFER_PAGES, 1, 12, ext, 8, &p,
                             sizeof(p)),
                     0);
    wait_packet(t, raw, sizeof(raw), &plen);
    memcpy(&rp, raw + plen - 64, sizeof(rp));
    assert_int_equal(rp.srb.srb_status, SRB_STATUS_INVALID_REQUEST);
    assert_true(storvsc_get_stats(t->s)->bad_packets >= 7);
    /* The channel survived all of it. */
    uint8_t tur[6] = { 0 };
    assert_int_equal(srb(t, 0, tur, 6, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_SUCCESS);
    sv_free(t);
}

/* The guest stops reading replies: the host keeps them, stops taking
 * requests, and catches up when the guest makes room. */
static void test_ring_full_backpressure(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, true);
    linux_init(t, NULL);
    uint8_t tur[6] = { 0 };
    struct vstor_packet p;
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.srb.cdb_length = 6;
    p.srb.data_in = VSTOR_DIR_NONE;
    memcpy(p.srb.cdb, tur, 6);
    /* 128 KiB ring: each reply takes 88 bytes; 3000 requests overflow it. */
    uint32_t sent = 0, got = 0;
    uint8_t raw[256];
    uint32_t plen;
    for (uint32_t i = 0; i < 3000; i++) {
        if (dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 1, 1000 + i, NULL, 0, &p, sizeof(p)))
            break;
        sent++;
    }
    dh_pump(t->h);
    assert_true(sent > 2000);
    assert_true(storvsc_get_stats(t->s)->ring_full > 0);
    /* Drain and refill until every request is answered, in order. */
    for (int round = 0; round < 10000 && got < sent; round++) {
        if (dh_recv(t->h, &t->c, raw, sizeof(raw), &plen)) {
            const struct vmbus_packet_desc *d = (const void *)raw;
            assert_true(d->trans_id == 1000 + got);
            got++;
        } else {
            dh_pump(t->h);
        }
    }
    assert_int_equal(got, sent);
    sv_free(t);
}

/* ------------------------------------------------------ hot add/remove */

static void test_hot_add_remove(void **state)
{
    (void)state;
    struct sv *t = sv_new(0, true);
    linux_init(t, NULL);
    uint8_t raw[256];
    uint32_t plen;
    uint8_t tur[6] = { 0 };
    /* Scan started (an SRB after END_INIT): changes are announced. */
    assert_int_equal(srb(t, 0, tur, 6, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_SUCCESS);
    assert_int_equal(storvsc_attach(t->s, blk_mem_create(1 << 20, false), -1, NULL), 1);
    assert_int_equal(dh_recv(t->h, &t->c, raw, sizeof(raw), &plen), 1);
    const struct vmbus_packet_desc *d = (const void *)raw;
    struct vstor_packet p;
    memcpy(&p, raw + 16, sizeof(p));
    /* Unsolicited: INBAND, id 0, ENUMERATE_BUS. */
    assert_int_equal(d->type, VMBUS_PKT_DATA_INBAND);
    assert_true(d->trans_id == 0);
    assert_int_equal(p.operation, VSTOR_OP_ENUMERATE_BUS);
    assert_int_equal(srb(t, 1, tur, 6, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_SUCCESS);

    /* Removal with I/O in flight on a file-less disk is immediate; the
     * guest's TUR on the old LUN then says INVALID LUN. */
    assert_int_equal(storvsc_detach(t->s, 0), 0);
    assert_int_equal(dh_recv(t->h, &t->c, raw, sizeof(raw), &plen), 1);
    memcpy(&p, raw + 16, sizeof(p));
    assert_int_equal(p.operation, VSTOR_OP_ENUMERATE_BUS);
    assert_int_equal(srb(t, 0, tur, 6, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_INVALID_LUN);
    assert_int_equal(storvsc_detach(t->s, 0), -1);
    /* The LUN can be reused, and a taken LUN is refused. */
    struct blk_dev *again = blk_mem_create(1 << 20, false);
    assert_int_equal(storvsc_attach(t->s, again, 1, NULL), -1);
    assert_int_equal(storvsc_attach(t->s, again, 0, NULL), 0);
    sv_free(t);
}

/* ------------------------------------------------------------ file disk */

static char *temp_image(uint64_t size)
{
    char *path = strdup("/tmp/hvshim-storvsc-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    close(fd);
    return path;
}

static void file_disk_io(bool direct)
{
    char *path = temp_image(8u << 20);
    struct sv *t = sv_new(0, false);
    char why[256];
    int err;
    struct blk_file_options fo = { .direct = direct };
    struct blk_dev *d = blk_file_open(path, &fo, &err, why, sizeof(why));
    if (!d && direct && err == -EINVAL) {
        /* tmpfs and some others refuse O_DIRECT. */
        print_message("skipped O_DIRECT: %s\n", why);
        sv_free(t);
        unlink(path);
        free(path);
        return;
    }
    assert_non_null(d);
    assert_int_equal(d->size, 8u << 20);
    assert_int_equal(storvsc_attach(t->s, d, 0, NULL), 0);
    linux_init(t, NULL);
    /* 1 MiB writes and reads (the largest transfer), 4 in flight. */
    uint32_t len = 1u << 20;
    uint64_t buf = vh_alloc_pages(t->h, 4 * 256 + 1);
    for (uint32_t i = 0; i < 4; i++)
        dh_pattern(vh_ptr(t->h, buf + (uint64_t)i * len), len, 50 + i);
    uint8_t cdb[16];
    for (uint32_t i = 0; i < 4; i++) {
        cdb_rw10(cdb, SCSI_WRITE_10, i * 2048, 2048);
        struct srb_res r = srb(t, 0, cdb, 10, VSTOR_DIR_WRITE, buf + (uint64_t)i * len, len);
        assert_int_equal(r.srb_status, SRB_STATUS_SUCCESS);
        assert_int_equal(r.xfer, len);
    }
    /* FUA write and a flush: durable on return. */
    cdb_rw10(cdb, SCSI_WRITE_10, 5 * 2048, 8);
    cdb[1] = 0x08;
    assert_int_equal(srb(t, 0, cdb, 10, VSTOR_DIR_WRITE, buf, 4096).srb_status,
                     SRB_STATUS_SUCCESS);
    uint8_t sync[10] = { SCSI_SYNCHRONIZE_CACHE_10 };
    assert_int_equal(srb(t, 0, sync, 10, VSTOR_DIR_NONE, 0, 0).srb_status, SRB_STATUS_SUCCESS);
    /* The image holds the data. */
    int fd = open(path, O_RDONLY);
    uint8_t *chk = malloc(len);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(pread(fd, chk, len, (off_t)i * len), (ssize_t)len);
        assert_true(dh_check_pattern(chk, len, 50 + i));
    }
    close(fd);
    free(chk);
    /* Read back into zeroed guest memory, at a misaligned guest offset
     * (O_DIRECT: bounced). */
    memset(vh_ptr(t->h, buf), 0, 4 * len);
    cdb_rw10(cdb, SCSI_READ_10, 2048, 2048);
    assert_int_equal(srb(t, 0, cdb, 10, VSTOR_DIR_READ, buf, len).srb_status,
                     SRB_STATUS_SUCCESS);
    assert_true(dh_check_pattern(vh_ptr(t->h, buf), len, 51));
    cdb_rw10(cdb, SCSI_READ_10, 2048, 1);
    assert_int_equal(srb(t, 0, cdb, 10, VSTOR_DIR_READ, buf + 4096 + 100, 512).srb_status,
                     SRB_STATUS_SUCCESS);
    assert_true(dh_check_pattern(vh_ptr(t->h, buf + 4096 + 100), 512, 51));
    /* UNMAP punches a hole: the blocks read back as zeros from a file. */
    uint8_t *p = vh_ptr(t->h, buf);
    memset(p, 0, 24);
    p[1] = 22;
    p[3] = 16;
    p[8 + 11] = 8;                                   /* LBA 0, 8 blocks */
    uint8_t unmap[10] = { SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
    assert_int_equal(srb(t, 0, unmap, 10, VSTOR_DIR_WRITE, buf, 24).srb_status,
                     SRB_STATUS_SUCCESS);
    cdb_rw10(cdb, SCSI_READ_10, 0, 8);
    memset(p, 0xFF, 4096);
    assert_int_equal(srb(t, 0, cdb, 10, VSTOR_DIR_READ, buf, 4096).srb_status,
                     SRB_STATUS_SUCCESS);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(p[i], 0);
    assert_true(__atomic_load_n(&t->h->wakes, __ATOMIC_ACQUIRE) > 0);
    sv_free(t);
    unlink(path);
    free(path);
}

static void test_file_disk(void **state)
{
    (void)state;
    file_disk_io(false);
}

static void test_file_disk_direct(void **state)
{
    (void)state;
    file_disk_io(true);
}

/* Read-only file disk: writes fail with DATA PROTECT, not a hang. */
static void test_file_read_only(void **state)
{
    (void)state;
    char *path = temp_image(1u << 20);
    struct sv *t = sv_new(0, false);
    char why[256];
    int err;
    struct blk_file_options fo = { .read_only = true };
    struct blk_dev *d = blk_file_open(path, &fo, &err, why, sizeof(why));
    assert_non_null(d);
    assert_int_equal(storvsc_attach(t->s, d, 0, NULL), 0);
    linux_init(t, NULL);
    uint64_t buf = vh_alloc_pages(t->h, 1);
    uint8_t cdb[16];
    cdb_rw10(cdb, SCSI_WRITE_10, 0, 8);
    struct srb_res r = srb(t, 0, cdb, 10, VSTOR_DIR_WRITE, buf, 4096);
    assert_sense(&r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    cdb_rw10(cdb, SCSI_READ_10, 0, 8);
    assert_int_equal(srb(t, 0, cdb, 10, VSTOR_DIR_READ, buf, 4096).srb_status,
                     SRB_STATUS_SUCCESS);
    sv_free(t);
    unlink(path);
    free(path);
}

static void test_open_errors(void **state)
{
    (void)state;
    char why[256];
    int err;
    struct blk_file_options fo = { 0 };
    assert_null(blk_file_open("/nonexistent/disk.img", &fo, &err, why, sizeof(why)));
    assert_int_equal(err, -ENOENT);
    assert_non_null(strstr(why, "/nonexistent/disk.img"));
    assert_null(blk_file_open("/dev/null", &fo, &err, why, sizeof(why)));
    assert_non_null(strstr(why, "not a regular file"));
    char *path = temp_image(100);
    assert_null(blk_file_open(path, &fo, &err, why, sizeof(why)));
    assert_non_null(strstr(why, "below 512"));
    unlink(path);
    free(path);
}

/* Close (guest driver unload) with I/O in flight, then reopen. */
static void test_close_reopen(void **state)
{
    (void)state;
    char *path = temp_image(4u << 20);
    struct sv *t = sv_new(0, false);
    char why[256];
    int err;
    struct blk_file_options fo = { 0 };
    assert_int_equal(storvsc_attach(t->s, blk_file_open(path, &fo, &err, why, sizeof(why)), 0,
                                    NULL),
                     0);
    linux_init(t, NULL);
    uint64_t buf = vh_alloc_pages(t->h, 256);
    struct vstor_packet p;
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.srb.cdb_length = 10;
    p.srb.data_in = VSTOR_DIR_WRITE;
    p.srb.data_transfer_length = 1u << 20;
    cdb_rw10(p.srb.cdb, SCSI_WRITE_10, 0, 2048);
    struct dh_range r = { buf, 1u << 20 };
    for (int i = 0; i < 8; i++)
        assert_int_equal(dh_send_gpa(t->h, &t->c, 100 + (uint64_t)i, &r, 1, &p, sizeof(p)), 0);
    vh_close(t->h, &t->c);
    assert_int_equal(vh_gpadl_teardown(t->h, t->relid, t->c.gpadl), (int64_t)t->c.gpadl);
    /* Reopen: a fresh init works. */
    struct vh_chan c2;
    assert_int_equal(vh_open(t->h, &c2, t->relid, t->c.conn_id, 0xF0000, RING_PAGES, RING_PAGES,
                             0),
                     0);
    t->c = c2;
    assert_int_equal(linux_init(t, NULL), VSTOR_VERSION_WIN10);
    sv_free(t);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_versions),
        cmocka_unit_test(test_probe_scan),
        cmocka_unit_test(test_revalidate),
        cmocka_unit_test(test_read_write_mem),
        cmocka_unit_test(test_flush_unmap_write_same),
        cmocka_unit_test(test_read_only_and_errors),
        cmocka_unit_test(test_hostile_packets),
        cmocka_unit_test(test_ring_full_backpressure),
        cmocka_unit_test(test_hot_add_remove),
        cmocka_unit_test(test_file_disk),
        cmocka_unit_test(test_file_disk_direct),
        cmocka_unit_test(test_file_read_only),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_close_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
