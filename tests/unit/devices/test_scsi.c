/* SPDX-License-Identifier: MIT */
/* The SCSI emulation as pure functions: responses, sense, I/O decisions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmbus/devices/scsi.h"

static struct scsi_lu lu_of(uint64_t blocks, bool ro)
{
    struct scsi_lu lu = {
        .blocks = blocks,
        .block_size = 512,
        .max_transfer_blocks = 2048,
        .max_unmap_blocks = 1u << 20,
        .max_unmap_descriptors = 4,
        .max_write_same_blocks = 0xFFFF,
        .read_only = ro,
        .write_cache = true,
        .fua = true,
    };
    scsi_lu_identity(&lu, NULL, "/images/test.raw");
    return lu;
}

static void run(const struct scsi_lu *lu, const uint8_t *cdb, uint32_t len, uint32_t buf,
                uint8_t *data, struct scsi_cmd *c)
{
    memset(data, 0xCC, 4096);
    scsi_execute(lu, cdb, len, buf, data, 4096, c);
}

static void assert_check(const struct scsi_cmd *c, uint8_t key, uint16_t asc)
{
    assert_int_equal(c->status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(c->io, SCSI_IO_NONE);
    assert_int_equal(c->sense_len, SCSI_SENSE_LEN);
    assert_int_equal(c->sense[0], 0x70);
    assert_int_equal(c->sense[2], key);
    assert_int_equal(c->sense[7], 10);
    assert_int_equal(c->sense[12] << 8 | c->sense[13], asc);
}

static void test_inquiry(void **state)
{
    (void)state;
    struct scsi_lu lu = lu_of(2048, false);
    uint8_t d[4096];
    struct scsi_cmd c;
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    run(&lu, inq, 6, 4096, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    assert_int_equal(c.data_len, 36);
    assert_int_equal(d[0], 0);
    assert_int_equal(d[2], 6);
    assert_int_equal(d[3] & 0x0F, 2);
    assert_int_equal(d[4], 31);
    assert_int_equal(d[7] & 0x02, 0x02);
    /* Allocation length cuts the answer; 0 gives nothing. */
    inq[4] = 5;
    run(&lu, inq, 6, 4096, d, &c);
    assert_int_equal(c.data_len, 5);
    assert_int_equal(d[5], 0xCC);
    inq[4] = 0;
    run(&lu, inq, 6, 4096, d, &c);
    assert_int_equal(c.data_len, 0);
    /* Page code without EVPD, CmdDt: invalid field. */
    uint8_t bad[6] = { SCSI_INQUIRY, 0, 0x80, 0, 36, 0 };
    run(&lu, bad, 6, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    bad[1] = 2;
    bad[2] = 0;
    run(&lu, bad, 6, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Every listed VPD page answers with its own code and a sane length. */
    uint8_t vpd[6] = { SCSI_INQUIRY, 1, 0, 0, 255, 0 };
    run(&lu, vpd, 6, 4096, d, &c);
    uint8_t pages[8];
    uint32_t n = d[3];
    assert_int_equal(n, 6);
    memcpy(pages, d + 4, n);
    for (uint32_t i = 0; i < n; i++) {
        vpd[2] = pages[i];
        run(&lu, vpd, 6, 4096, d, &c);
        assert_int_equal(c.status, SCSI_STATUS_GOOD);
        assert_int_equal(d[1], pages[i]);
        assert_int_equal(c.data_len, 4u + (d[2] << 8 | d[3]));
    }
    /* Serial: derived, stable, printable. */
    vpd[2] = 0x80;
    run(&lu, vpd, 6, 4096, d, &c);
    assert_memory_equal(d + 4, lu.serial, strlen(lu.serial));
    struct scsi_lu again = lu_of(2048, false);
    assert_string_equal(again.serial, lu.serial);
    assert_true(again.naa == lu.naa);
    struct scsi_lu named = lu;
    scsi_lu_identity(&named, "MY\x01SERIAL", "x");
    assert_string_equal(named.serial, "MY_SERIAL");
}

static void test_capacity(void **state)
{
    (void)state;
    uint8_t d[4096];
    struct scsi_cmd c;
    /* More than 2^32 blocks: READ CAPACITY(10) says "use 16". */
    struct scsi_lu big = lu_of(0x200000000ull, false);
    uint8_t rc10[10] = { SCSI_READ_CAPACITY_10 };
    run(&big, rc10, 10, 8, d, &c);
    assert_int_equal(c.data_len, 8);
    assert_memory_equal(d, "\xFF\xFF\xFF\xFF", 4);
    uint8_t rc16[16] = { SCSI_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    rc16[13] = 12;                               /* allocation length 12 */
    run(&big, rc16, 16, 4096, d, &c);
    assert_int_equal(c.data_len, 12);
    assert_memory_equal(d, "\x00\x00\x00\x01\xFF\xFF\xFF\xFF\x00\x00\x02\x00", 12);
    /* RC10 with an LBA but no PMI. */
    rc10[5] = 1;
    run(&big, rc10, 10, 8, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Other service actions of 0x9E. */
    rc16[1] = 0x12;
    run(&big, rc16, 16, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
}

static void test_mode_sense(void **state)
{
    (void)state;
    struct scsi_lu lu = lu_of(2048, true);
    uint8_t d[4096];
    struct scsi_cmd c;
    /* All pages, with a block descriptor, current values. */
    uint8_t ms6[6] = { SCSI_MODE_SENSE_6, 0, 0x3F, 0, 255, 0 };
    run(&lu, ms6, 6, 4096, d, &c);
    assert_int_equal(c.data_len, d[0] + 1u);
    assert_int_equal(d[2] & 0x80, 0x80);        /* WP */
    assert_int_equal(d[3], 8);
    assert_int_equal(d[4 + 5] << 16 | d[4 + 6] << 8 | d[4 + 7], 512);
    uint32_t pos = 12;
    bool caching = false;
    while (pos < c.data_len) {
        if (d[pos] == 0x08) {
            caching = true;
            assert_int_equal(d[pos + 1], 0x12);
            assert_int_equal(d[pos + 2] & 0x04, 0x04);
        }
        pos += 2u + d[pos + 1];
    }
    assert_int_equal(pos, c.data_len);
    assert_true(caching);
    /* Changeable values: nothing can be changed. */
    uint8_t chg[6] = { SCSI_MODE_SENSE_6, 0x08, 0x48, 0, 255, 0 };
    run(&lu, chg, 6, 4096, d, &c);
    assert_int_equal(d[4], 0x08);
    assert_int_equal(d[6], 0);
    /* Saved values are not supported; unknown page; unknown subpage. */
    uint8_t sav[6] = { SCSI_MODE_SENSE_6, 0, 0xC8, 0, 255, 0 };
    run(&lu, sav, 6, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
    sav[2] = 0x1C;
    run(&lu, sav, 6, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    sav[2] = 0x08;
    sav[3] = 1;
    run(&lu, sav, 6, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* MODE SENSE(10) with long LBA descriptors. */
    uint8_t ms10[10] = { SCSI_MODE_SENSE_10, 0x10, 0x0A, 0, 0, 0, 0, 1, 0, 0 };
    run(&lu, ms10, 10, 4096, d, &c);
    assert_int_equal((d[0] << 8 | d[1]) + 2u, c.data_len);
    assert_int_equal(d[4] & 1, 1);
    assert_int_equal(d[7], 16);
    assert_int_equal(d[8 + 16], 0x0A);
}

static void test_read_write_decisions(void **state)
{
    (void)state;
    struct scsi_lu lu = lu_of(2048, false);
    uint8_t d[4096];
    struct scsi_cmd c;
    /* READ(6): 0 blocks means 256. */
    uint8_t r6[6] = { SCSI_READ_6, 0, 0, 10, 0, 0 };
    run(&lu, r6, 6, 256 * 512, d, &c);
    assert_int_equal(c.io, SCSI_IO_READ);
    assert_int_equal(c.lba, 10);
    assert_int_equal(c.blocks, 256);
    assert_int_equal(c.xfer_bytes, 256 * 512);
    /* READ(12), WRITE(16) with FUA. */
    uint8_t r12[12] = { SCSI_READ_12, 0, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0 };
    run(&lu, r12, 12, 4096, d, &c);
    assert_int_equal(c.io, SCSI_IO_READ);
    assert_int_equal(c.lba, 5);
    assert_int_equal(c.blocks, 3);
    uint8_t w16[16] = { SCSI_WRITE_16, 0x08 };
    w16[9] = 7;
    w16[13] = 1;
    run(&lu, w16, 16, 512, d, &c);
    assert_int_equal(c.io, SCSI_IO_WRITE);
    assert_true(c.fua);
    assert_int_equal(c.lba, 7);
    /* Zero-length transfer: GOOD, no I/O. */
    uint8_t r10[10] = { SCSI_READ_10, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
    run(&lu, r10, 10, 0, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    assert_int_equal(c.io, SCSI_IO_NONE);
    /* A CDB shorter than its group says. */
    run(&lu, r10, 6, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    run(&lu, r10, 0, 4096, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    /* VERIFY: range only; byte-check forms refused. */
    uint8_t v10[10] = { SCSI_VERIFY_10, 0, 0, 0, 0x07, 0xFF, 0, 0, 2, 0 };
    run(&lu, v10, 10, 0, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    v10[5] = 0xFE;
    run(&lu, v10, 10, 0, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    v10[1] = 0x02;
    run(&lu, v10, 10, 0, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* SYNCHRONIZE CACHE: flush; past the end refused; read-only: nothing. */
    uint8_t sc16[16] = { SCSI_SYNCHRONIZE_CACHE_16 };
    run(&lu, sc16, 16, 0, d, &c);
    assert_int_equal(c.io, SCSI_IO_FLUSH);
    sc16[2] = 0xFF;                              /* LBA far past the end */
    sc16[13] = 0xFF;
    run(&lu, sc16, 16, 0, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    struct scsi_lu ro = lu_of(2048, true);
    uint8_t sc10[10] = { SCSI_SYNCHRONIZE_CACHE_10 };
    run(&ro, sc10, 10, 0, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    assert_int_equal(c.io, SCSI_IO_NONE);
    /* Writes of every size on read-only: DATA PROTECT. */
    uint8_t w6[6] = { SCSI_WRITE_6, 0, 0, 0, 1, 0 };
    run(&ro, w6, 6, 512, d, &c);
    assert_check(&c, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    uint8_t ws[10] = { SCSI_WRITE_SAME_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    run(&ro, ws, 10, 512, d, &c);
    assert_check(&c, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    /* Commands that just succeed; an unknown one. */
    uint8_t ssu[6] = { SCSI_START_STOP_UNIT, 0, 0, 0, 1, 0 };
    run(&lu, ssu, 6, 0, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    uint8_t ms[6] = { SCSI_MODE_SELECT_6, 0x10, 0, 0, 12, 0 };
    run(&lu, ms, 6, 12, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    run(&lu, rs, 6, 4096, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    assert_int_equal(c.data_len, SCSI_SENSE_LEN);
    assert_int_equal(d[0], 0x70);
    assert_int_equal(d[2], SCSI_SENSE_NO_SENSE);
}

static void test_write_same_unmap(void **state)
{
    (void)state;
    struct scsi_lu lu = lu_of(2048, false);
    uint8_t d[4096];
    struct scsi_cmd c;
    uint8_t ws16[16] = { SCSI_WRITE_SAME_16, 0x01 };   /* NDOB */
    ws16[13] = 16;
    run(&lu, ws16, 16, 0, d, &c);
    assert_int_equal(c.io, SCSI_IO_WRITE_SAME);
    assert_true(c.ndob);
    assert_int_equal(c.xfer_bytes, 0);
    ws16[1] = 0x10;                                     /* ANCHOR */
    run(&lu, ws16, 16, 512, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    ws16[1] = 0;
    run(&lu, ws16, 16, 100, d, &c);                     /* buffer < a block */
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* UNMAP: a zero-length parameter list is fine and does nothing. */
    uint8_t um[10] = { SCSI_UNMAP };
    run(&lu, um, 10, 0, d, &c);
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    assert_int_equal(c.io, SCSI_IO_NONE);
    um[8] = 24;
    run(&lu, um, 10, 16, d, &c);                        /* list > buffer */
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
    run(&lu, um, 10, 24, d, &c);
    assert_int_equal(c.io, SCSI_IO_UNMAP);
    assert_int_equal(c.xfer_bytes, 24);
    /* The parameter list parser. */
    uint8_t p[8 + 16 * 5];
    memset(p, 0, sizeof(p));
    p[3] = 32;
    p[8 + 7] = 1;
    p[8 + 11] = 2;
    p[24 + 7] = 100;                                     /* 0 blocks: dropped */
    struct scsi_unmap_range r[8];
    uint32_t n;
    assert_int_equal(scsi_unmap_parse(&lu, p, 40, r, 8, &n, &c), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].lba, 1);
    assert_int_equal(r[0].blocks, 2);
    p[3] = 5 * 16;                                       /* more descriptors than allowed */
    assert_int_equal(scsi_unmap_parse(&lu, p, sizeof(p), r, 8, &n, &c), -1);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
    p[3] = 48;                                           /* longer than the list */
    assert_int_equal(scsi_unmap_parse(&lu, p, 40, r, 8, &n, &c), -1);
    assert_int_equal(scsi_unmap_parse(&lu, p, 7, r, 8, &n, &c), -1);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
    /* LBA + count wrapping around 2^64. */
    p[3] = 16;
    memset(p + 8, 0xFF, 8);
    p[8 + 11] = 2;
    assert_int_equal(scsi_unmap_parse(&lu, p, 24, r, 8, &n, &c), -1);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    /* Without discard there is no UNMAP. */
    struct scsi_lu nod = lu;
    nod.max_unmap_blocks = 0;
    run(&nod, um, 10, 24, d, &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    uint8_t vpd[6] = { SCSI_INQUIRY, 1, 0xB2, 0, 8, 0 };
    run(&nod, vpd, 6, 8, d, &c);
    assert_int_equal(d[5] & 0x80, 0);
}

static void test_absent_and_report_luns(void **state)
{
    (void)state;
    uint8_t d[4096];
    struct scsi_cmd c;
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 96, 0 };
    assert_true(scsi_execute_absent(inq, 6, d, sizeof(d), &c));
    assert_int_equal(c.status, SCSI_STATUS_GOOD);
    assert_int_equal(d[0], SCSI_PQ_NOT_CONNECTED);
    assert_true(c.data_len > 0);
    uint8_t vpd[6] = { SCSI_INQUIRY, 1, 0x83, 0, 96, 0 };
    assert_true(scsi_execute_absent(vpd, 6, d, sizeof(d), &c));
    assert_int_equal(d[0], SCSI_PQ_NOT_CONNECTED);
    assert_int_equal(d[1], 0x83);
    uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18, 0 };
    assert_true(scsi_execute_absent(rs, 6, d, sizeof(d), &c));
    assert_int_equal(d[2], SCSI_SENSE_ILLEGAL_REQUEST);
    assert_int_equal(d[12], 0x25);
    uint8_t tur[6] = { 0 };
    assert_false(scsi_execute_absent(tur, 6, d, sizeof(d), &c));

    uint16_t luns[3] = { 0, 5, 300 };
    uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
    scsi_report_luns(rl, 12, luns, 3, d, sizeof(d), &c);
    assert_int_equal(c.data_len, 32);
    assert_int_equal(d[3], 24);
    assert_int_equal(d[8 + 8 + 1], 5);
    assert_int_equal(d[8 + 16], 0x40 | (300 >> 8));     /* flat addressing */
    assert_int_equal(d[8 + 16 + 1], 300 & 0xFF);
    rl[8] = 0;
    rl[9] = 16;                                          /* room for one entry */
    scsi_report_luns(rl, 12, luns, 3, d, sizeof(d), &c);
    assert_int_equal(c.data_len, 16);
    assert_int_equal(d[3], 24);                          /* the full length anyway */
    rl[9] = 15;
    scsi_report_luns(rl, 12, luns, 3, d, sizeof(d), &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    scsi_report_luns(rl, 6, luns, 3, d, sizeof(d), &c);
    assert_check(&c, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
}

static void test_error_mapping(void **state)
{
    (void)state;
    struct scsi_cmd c;
    scsi_io_error(&c, -EIO, false);
    assert_check(&c, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
    scsi_io_error(&c, -EIO, true);
    assert_check(&c, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
    scsi_io_error(&c, -EROFS, true);
    assert_check(&c, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    scsi_io_error(&c, -ENOSPC, true);
    assert_check(&c, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_SPACE_ALLOC_FAILED_WP);
    scsi_io_error(&c, -ENOMEM, true);
    assert_check(&c, SCSI_SENSE_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inquiry),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_mode_sense),
        cmocka_unit_test(test_read_write_decisions),
        cmocka_unit_test(test_write_same_unmap),
        cmocka_unit_test(test_absent_and_report_luns),
        cmocka_unit_test(test_error_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
