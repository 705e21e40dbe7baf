/* SPDX-License-Identifier: MIT */
/* SCSI block device emulation (see scsi.h). Pure: no I/O, no allocation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmbus/devices/scsi.h"

/* The identity Linux's storvsc keys on (WRITE SAME policy, SPC level). */
static const char vendor_id[8] = { 'M', 's', 'f', 't', ' ', ' ', ' ', ' ' };
static const char product_id[16] = { 'V', 'i', 'r', 't', 'u', 'a', 'l', ' ',
                                     'D', 'i', 's', 'k', ' ', ' ', ' ', ' ' };
static const char revision[4] = { '1', '.', '0', ' ' };

#define INQUIRY_STD_LEN 36u
#define VPD_BLOCK_LIMITS_LEN 0x3Cu      /* page length: 64 bytes in all */
#define VPD_CHARACTERISTICS_LEN 0x3Cu
#define VPD_PROVISIONING_LEN 0x04u

/* ------------------------------------------------------------- helpers */

static void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void good(struct scsi_cmd *out)
{
    memset(out, 0, sizeof(*out));
    out->status = SCSI_STATUS_GOOD;
}

void scsi_check_condition(struct scsi_cmd *out, uint8_t key, uint16_t asc)
{
    memset(out, 0, sizeof(*out));
    out->status = SCSI_STATUS_CHECK_CONDITION;
    out->io = SCSI_IO_NONE;
    out->sense[0] = 0x70;                        /* current, fixed format */
    out->sense[2] = key & 0x0F;
    out->sense[7] = SCSI_SENSE_LEN - 8;          /* additional length */
    out->sense[12] = (uint8_t)(asc >> 8);
    out->sense[13] = (uint8_t)asc;
    out->sense_len = SCSI_SENSE_LEN;
}

static void illegal(struct scsi_cmd *out, uint16_t asc)
{
    scsi_check_condition(out, SCSI_SENSE_ILLEGAL_REQUEST, asc);
}

void scsi_io_error(struct scsi_cmd *out, int err, bool write)
{
    switch (err) {
    case -EROFS:
    case -EPERM:
    case -EACCES:
        scsi_check_condition(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
        break;
    case -ENOSPC:
    case -EDQUOT:
        /* A sparse image that cannot grow: the thin-provisioning answer. */
        scsi_check_condition(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_SPACE_ALLOC_FAILED_WP);
        break;
    case -EIO:
    case -ENXIO:
    case -ENODATA:
        scsi_check_condition(out, SCSI_SENSE_MEDIUM_ERROR,
                             write ? SCSI_ASC_WRITE_ERROR : SCSI_ASC_UNRECOVERED_READ_ERROR);
        break;
    default:
        scsi_check_condition(out, SCSI_SENSE_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
        break;
    }
}

/* Copy a finished response, cut to the allocation length and the scratch. */
static void respond(struct scsi_cmd *out, uint8_t *data, uint32_t data_cap, const uint8_t *src,
                    uint32_t len, uint32_t alloc_len)
{
    good(out);
    if (len > alloc_len)
        len = alloc_len;
    if (len > data_cap)
        len = data_cap;
    memcpy(data, src, len);
    out->data_len = len;
}

/* FNV-1a: a stable 64-bit digest for derived identities. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; s && *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

void scsi_lu_identity(struct scsi_lu *lu, const char *serial, const char *seed)
{
    uint64_t h = fnv1a(seed);
    if (serial && *serial) {
        size_t n = 0;
        for (; serial[n] && n < SCSI_SERIAL_MAX; n++) {
            char c = serial[n];
            lu->serial[n] = c >= 0x20 && c < 0x7F ? c : '_';
        }
        lu->serial[n] = 0;
        h ^= fnv1a(lu->serial);
    } else {
        snprintf(lu->serial, sizeof(lu->serial), "HVS%016llX", (unsigned long long)h);
    }
    /* NAA 3: locally assigned, 60 bits of our choosing. */
    lu->naa = 0x3000000000000000ull | (h & 0x0FFFFFFFFFFFFFFFull);
}

/* ------------------------------------------------------------- INQUIRY */

static uint32_t standard_inquiry(uint8_t *b, uint8_t byte0)
{
    memset(b, 0, INQUIRY_STD_LEN);
    b[0] = byte0;
    b[2] = 0x06;                     /* SPC-4: Linux reads capacity with RC16 first */
    b[3] = 0x12;                     /* HiSup, response data format 2 */
    b[4] = INQUIRY_STD_LEN - 5;
    b[7] = 0x02;                     /* CmdQue: tagged commands */
    memcpy(b + 8, vendor_id, sizeof(vendor_id));
    memcpy(b + 16, product_id, sizeof(product_id));
    memcpy(b + 32, revision, sizeof(revision));
    return INQUIRY_STD_LEN;
}

static uint32_t vpd_page(const struct scsi_lu *lu, uint8_t page, uint8_t *b, bool *known)
{
    uint32_t n = 0;
    *known = true;
    b[0] = 0x00;                     /* direct-access block device */
    b[1] = page;
    b[2] = 0;
    switch (page) {
    case 0x00: {
        static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2 };
        memcpy(b + 4, pages, sizeof(pages));
        n = sizeof(pages);
        break;
    }
    case 0x80:
        n = (uint32_t)strlen(lu->serial);
        memcpy(b + 4, lu->serial, n);
        break;
    case 0x83: {
        uint8_t *d = b + 4;
        /* NAA designator, binary, associated with the logical unit. */
        d[0] = 0x01;
        d[1] = 0x03;
        d[2] = 0;
        d[3] = 8;
        put_be64(d + 4, lu->naa);
        d += 12;
        /* T10 vendor id designator: vendor + serial, ASCII. */
        uint32_t slen = (uint32_t)strlen(lu->serial);
        d[0] = 0x02;
        d[1] = 0x01;
        d[2] = 0;
        d[3] = (uint8_t)(sizeof(vendor_id) + slen);
        memcpy(d + 4, vendor_id, sizeof(vendor_id));
        memcpy(d + 4 + sizeof(vendor_id), lu->serial, slen);
        d += 4 + sizeof(vendor_id) + slen;
        n = (uint32_t)(d - (b + 4));
        break;
    }
    case 0xB0:
        n = VPD_BLOCK_LIMITS_LEN;
        memset(b + 4, 0, n);
        b[4] = 0x01;                 /* WSNZ: WRITE SAME of 0 blocks is refused */
        put_be32(b + 8, lu->max_transfer_blocks);
        put_be32(b + 20, lu->max_unmap_blocks);
        put_be32(b + 24, lu->max_unmap_blocks ? lu->max_unmap_descriptors : 0);
        put_be32(b + 28, lu->max_unmap_blocks ? 4096u / lu->block_size : 0);
        put_be64(b + 36, lu->read_only ? 0 : lu->max_write_same_blocks);
        break;
    case 0xB1:
        n = VPD_CHARACTERISTICS_LEN;
        memset(b + 4, 0, n);
        put_be16(b + 4, 0x0001);     /* non-rotating medium */
        break;
    case 0xB2:
        n = VPD_PROVISIONING_LEN;
        memset(b + 4, 0, n);
        /* LBPU when UNMAP works; reads of unmapped blocks are not promised
         * to be zero (a block device's discard does not say). */
        b[5] = lu->max_unmap_blocks && !lu->read_only ? 0x80 : 0x00;
        b[6] = lu->max_unmap_blocks ? 0x02 : 0x00;   /* thin provisioned */
        break;
    default:
        *known = false;
        return 0;
    }
    put_be16(b + 2, n);
    return n + 4;
}

static void inquiry(const struct scsi_lu *lu, const uint8_t *cdb, uint8_t *data,
                    uint32_t data_cap, struct scsi_cmd *out)
{
    uint8_t b[256];
    uint32_t alloc = be16(cdb + 3);
    if (cdb[1] & 0x02) {             /* CmdDt: obsolete */
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    if (!(cdb[1] & 0x01)) {
        if (cdb[2] != 0) {
            illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
            return;
        }
        respond(out, data, data_cap, b, standard_inquiry(b, 0x00), alloc);
        return;
    }
    bool known;
    uint32_t n = vpd_page(lu, cdb[2], b, &known);
    if (!known) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    respond(out, data, data_cap, b, n, alloc);
}

/* ----------------------------------------------------------- MODE SENSE */

/* Append mode page `page` (current, or changeable = all zero) at p. */
static uint32_t mode_page(const struct scsi_lu *lu, uint8_t page, bool changeable, uint8_t *p)
{
    uint32_t len;
    switch (page) {
    case 0x01:                       /* read-write error recovery */
        len = 12;
        break;
    case 0x08:                       /* caching */
        len = 20;
        break;
    case 0x0A:                       /* control */
        len = 12;
        break;
    default:
        return 0;
    }
    memset(p, 0, len);
    p[0] = page;
    p[1] = (uint8_t)(len - 2);
    if (changeable)
        return len;
    if (page == 0x08 && lu->write_cache)
        p[2] = 0x04;                 /* WCE */
    if (page == 0x0A)
        p[3] = 0x10;                 /* queue algorithm: unrestricted reordering */
    return len;
}

static void mode_sense(const struct scsi_lu *lu, const uint8_t *cdb, bool ten, uint8_t *data,
                       uint32_t data_cap, struct scsi_cmd *out)
{
    uint8_t b[128];
    bool dbd = cdb[1] & 0x08;
    bool llbaa = ten && (cdb[1] & 0x10);
    uint8_t pc = cdb[2] >> 6, page = cdb[2] & 0x3F, subpage = cdb[3];
    uint32_t alloc = ten ? be16(cdb + 7) : cdb[4];

    if (pc == 3) {
        illegal(out, SCSI_ASC_SAVING_NOT_SUPPORTED);
        return;
    }
    if (subpage != 0 && !(page == 0x3F && subpage == 0xFF)) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    uint32_t hdr = ten ? 8 : 4;
    uint32_t n = hdr;
    memset(b, 0, sizeof(b));
    if (!dbd) {
        uint8_t *d = b + n;
        if (llbaa) {
            put_be64(d, lu->blocks);
            put_be32(d + 12, lu->block_size);
            n += 16;
        } else {
            /* Short form: density 0, 24-bit block count (saturated),
             * reserved byte, 24-bit block length. */
            uint32_t cnt = lu->blocks > 0xFFFFFFull ? 0xFFFFFFu : (uint32_t)lu->blocks;
            put_be32(d, cnt);
            put_be32(d + 4, lu->block_size);
            n += 8;
        }
    }
    uint32_t bd_len = n - hdr;
    if (page == 0x3F) {
        static const uint8_t all[] = { 0x01, 0x08, 0x0A };
        for (size_t i = 0; i < sizeof(all); i++)
            n += mode_page(lu, all[i], pc == 1, b + n);
    } else {
        uint32_t len = mode_page(lu, page, pc == 1, b + n);
        if (!len) {
            illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
            return;
        }
        n += len;
    }
    /* Device-specific parameter: write protect, DPO/FUA support. */
    uint8_t dev_spec = (uint8_t)((lu->read_only ? 0x80 : 0) | (lu->fua ? 0x10 : 0));
    if (ten) {
        put_be16(b, n - 2);
        b[3] = dev_spec;
        b[4] = llbaa && !dbd ? 0x01 : 0x00;
        put_be16(b + 6, bd_len);
    } else {
        b[0] = (uint8_t)(n - 1);
        b[2] = dev_spec;
        b[3] = (uint8_t)bd_len;
    }
    respond(out, data, data_cap, b, n, alloc);
}

/* ---------------------------------------------------------------- capacity */

static void read_capacity_10(const struct scsi_lu *lu, const uint8_t *cdb, uint8_t *data,
                             uint32_t data_cap, struct scsi_cmd *out)
{
    uint8_t b[8];
    /* Without PMI the LBA field must be zero. */
    if (!(cdb[8] & 0x01) && be32(cdb + 2) != 0) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    uint64_t last = lu->blocks ? lu->blocks - 1 : 0;
    put_be32(b, last > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)last);
    put_be32(b + 4, lu->block_size);
    respond(out, data, data_cap, b, sizeof(b), sizeof(b));
}

static void read_capacity_16(const struct scsi_lu *lu, const uint8_t *cdb, uint8_t *data,
                             uint32_t data_cap, struct scsi_cmd *out)
{
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    put_be64(b, lu->blocks ? lu->blocks - 1 : 0);
    put_be32(b + 8, lu->block_size);
    /* 4 KiB physical blocks for 512-byte logical ones: guests align to
     * host pages. */
    if (lu->block_size == 512)
        b[13] = 3;
    if (lu->max_unmap_blocks)
        b[14] = 0x80;                /* LBPME: UNMAP and VPD 0xB2 are meaningful */
    respond(out, data, data_cap, b, sizeof(b), be32(cdb + 10));
}

/* ------------------------------------------------------------ block I/O */

/* Range check shared by every command that addresses blocks. */
static bool lba_ok(const struct scsi_lu *lu, uint64_t lba, uint64_t blocks)
{
    return lba <= lu->blocks && blocks <= lu->blocks - lba;
}

static void rw(const struct scsi_lu *lu, bool write, uint64_t lba, uint64_t blocks, bool fua,
               uint32_t buf_len, struct scsi_cmd *out)
{
    if (!lba_ok(lu, lba, blocks)) {
        illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (write && lu->read_only) {
        scsi_check_condition(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
        return;
    }
    if (blocks == 0) {
        good(out);
        return;
    }
    if (blocks > lu->max_transfer_blocks) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    uint64_t bytes = blocks * lu->block_size;
    /* The guest's buffer must hold the whole transfer: a short one would
     * make the I/O partial. */
    if (bytes > buf_len) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    good(out);
    out->io = write ? SCSI_IO_WRITE : SCSI_IO_READ;
    out->lba = lba;
    out->blocks = blocks;
    out->fua = write && fua && lu->fua;
    out->xfer_bytes = (uint32_t)bytes;
}

static void write_same(const struct scsi_lu *lu, const uint8_t *cdb, bool sixteen,
                       uint32_t buf_len, struct scsi_cmd *out)
{
    uint64_t lba = sixteen ? be64(cdb + 2) : be32(cdb + 2);
    uint64_t blocks = sixteen ? be32(cdb + 10) : be16(cdb + 7);
    bool ndob = sixteen && (cdb[1] & 0x01);
    /* ANCHOR and the obsolete PBDATA/LBDATA bits are not supported. */
    if ((cdb[1] & 0x16) || blocks == 0 || blocks > lu->max_write_same_blocks) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    if (!lba_ok(lu, lba, blocks)) {
        illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (lu->read_only) {
        scsi_check_condition(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
        return;
    }
    if (!ndob && buf_len < lu->block_size) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    good(out);
    out->io = SCSI_IO_WRITE_SAME;
    out->lba = lba;
    out->blocks = blocks;
    out->ndob = ndob;
    out->xfer_bytes = ndob ? 0 : lu->block_size;
}

static void unmap_cmd(const struct scsi_lu *lu, const uint8_t *cdb, uint32_t buf_len,
                      struct scsi_cmd *out)
{
    uint32_t len = be16(cdb + 7);
    if (!lu->max_unmap_blocks) {
        illegal(out, SCSI_ASC_INVALID_OPCODE);
        return;
    }
    if (cdb[1] & 0x01) {             /* ANCHOR */
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    if (lu->read_only) {
        scsi_check_condition(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
        return;
    }
    good(out);
    if (len == 0)                    /* nothing to unmap: not an error */
        return;
    if (len < 8 || len > buf_len) {
        illegal(out, SCSI_ASC_PARAMETER_LIST_LENGTH);
        return;
    }
    out->io = SCSI_IO_UNMAP;
    out->xfer_bytes = len;
}

int scsi_unmap_parse(const struct scsi_lu *lu, const uint8_t *param, uint32_t len,
                     struct scsi_unmap_range *ranges, uint32_t max, uint32_t *n,
                     struct scsi_cmd *out)
{
    *n = 0;
    good(out);
    if (len < 8) {
        illegal(out, SCSI_ASC_PARAMETER_LIST_LENGTH);
        return -1;
    }
    uint32_t bd_len = be16(param + 2);
    if (bd_len % 16 || bd_len > len - 8) {
        scsi_check_condition(out, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
        return -1;
    }
    uint32_t count = bd_len / 16;
    if (count > lu->max_unmap_descriptors || count > max) {
        scsi_check_condition(out, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
        return -1;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *d = param + 8 + i * 16;
        uint64_t lba = be64(d);
        uint32_t blocks = be32(d + 8);
        if (!lba_ok(lu, lba, blocks)) {
            illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
            return -1;
        }
        total += blocks;
        if (total > lu->max_unmap_blocks) {
            scsi_check_condition(out, SCSI_SENSE_ILLEGAL_REQUEST,
                                 SCSI_ASC_INVALID_FIELD_IN_PARAM);
            return -1;
        }
        if (blocks) {
            ranges[*n].lba = lba;
            ranges[*n].blocks = blocks;
            (*n)++;
        }
    }
    return 0;
}

static void sync_cache(const struct scsi_lu *lu, uint64_t lba, uint64_t blocks,
                       struct scsi_cmd *out)
{
    if (!lba_ok(lu, lba, blocks)) {
        illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
        return;
    }
    good(out);
    if (!lu->read_only)
        out->io = SCSI_IO_FLUSH;
}

static void request_sense(const uint8_t *cdb, uint16_t asc, uint8_t key, uint8_t *data,
                          uint32_t data_cap, struct scsi_cmd *out)
{
    /* Errors are reported with autosense, so nothing is ever pending: the
     * answer is the state itself. */
    struct scsi_cmd s;
    scsi_check_condition(&s, key, asc);
    respond(out, data, data_cap, s.sense, SCSI_SENSE_LEN, cdb[4]);
}

/* The CDB length each opcode needs (group code rules, SPC-4 4.2.5.1). */
static uint32_t cdb_size(uint8_t op)
{
    switch (op >> 5) {
    case 0:
        return 6;
    case 1:
    case 2:
        return 10;
    case 4:
        return 16;
    case 5:
        return 12;
    default:
        return 16;
    }
}

void scsi_execute(const struct scsi_lu *lu, const uint8_t *cdb, uint32_t cdb_len,
                  uint32_t buf_len, uint8_t *data, uint32_t data_cap, struct scsi_cmd *out)
{
    good(out);
    if (cdb_len == 0 || cdb_len < cdb_size(cdb[0])) {
        illegal(out, cdb_len ? SCSI_ASC_INVALID_FIELD_IN_CDB : SCSI_ASC_INVALID_OPCODE);
        return;
    }
    switch (cdb[0]) {
    case SCSI_TEST_UNIT_READY:
    case SCSI_START_STOP_UNIT:
    case SCSI_PREVENT_ALLOW:
        return;
    case SCSI_REQUEST_SENSE:
        request_sense(cdb, 0, SCSI_SENSE_NO_SENSE, data, data_cap, out);
        return;
    case SCSI_INQUIRY:
        inquiry(lu, cdb, data, data_cap, out);
        return;
    case SCSI_MODE_SENSE_6:
        mode_sense(lu, cdb, false, data, data_cap, out);
        return;
    case SCSI_MODE_SENSE_10:
        mode_sense(lu, cdb, true, data, data_cap, out);
        return;
    case SCSI_READ_CAPACITY_10:
        read_capacity_10(lu, cdb, data, data_cap, out);
        return;
    case SCSI_SERVICE_ACTION_IN_16:
        if ((cdb[1] & 0x1F) == SCSI_SAI_READ_CAPACITY_16)
            read_capacity_16(lu, cdb, data, data_cap, out);
        else
            illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    case SCSI_READ_6:
    case SCSI_WRITE_6: {
        uint64_t lba = (uint64_t)(cdb[1] & 0x1F) << 16 | (uint64_t)cdb[2] << 8 | cdb[3];
        uint64_t blocks = cdb[4] ? cdb[4] : 256;    /* 0 means 256 here */
        rw(lu, cdb[0] == SCSI_WRITE_6, lba, blocks, false, buf_len, out);
        return;
    }
    case SCSI_READ_10:
    case SCSI_WRITE_10:
        rw(lu, cdb[0] == SCSI_WRITE_10, be32(cdb + 2), be16(cdb + 7), cdb[1] & 0x08, buf_len,
           out);
        return;
    case SCSI_READ_12:
    case SCSI_WRITE_12:
        rw(lu, cdb[0] == SCSI_WRITE_12, be32(cdb + 2), be32(cdb + 6), cdb[1] & 0x08, buf_len,
           out);
        return;
    case SCSI_READ_16:
    case SCSI_WRITE_16:
        rw(lu, cdb[0] == SCSI_WRITE_16, be64(cdb + 2), be32(cdb + 10), cdb[1] & 0x08, buf_len,
           out);
        return;
    case SCSI_VERIFY_10:
    case SCSI_VERIFY_16: {
        bool ten = cdb[0] == SCSI_VERIFY_10;
        uint64_t lba = ten ? be32(cdb + 2) : be64(cdb + 2);
        uint64_t blocks = ten ? be16(cdb + 7) : be32(cdb + 10);
        /* Only the medium check form (BYTCHK = 0): nothing to compare. */
        if (cdb[1] & 0x06)
            illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        else if (!lba_ok(lu, lba, blocks))
            illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
        return;
    }
    case SCSI_SYNCHRONIZE_CACHE_10:
        sync_cache(lu, be32(cdb + 2), be16(cdb + 7), out);
        return;
    case SCSI_SYNCHRONIZE_CACHE_16:
        sync_cache(lu, be64(cdb + 2), be32(cdb + 10), out);
        return;
    case SCSI_WRITE_SAME_10:
        write_same(lu, cdb, false, buf_len, out);
        return;
    case SCSI_WRITE_SAME_16:
        write_same(lu, cdb, true, buf_len, out);
        return;
    case SCSI_UNMAP:
        unmap_cmd(lu, cdb, buf_len, out);
        return;
    default:
        illegal(out, SCSI_ASC_INVALID_OPCODE);
        return;
    }
}

bool scsi_execute_absent(const uint8_t *cdb, uint32_t cdb_len, uint8_t *data,
                         uint32_t data_cap, struct scsi_cmd *out)
{
    uint8_t b[INQUIRY_STD_LEN];
    good(out);
    if (cdb_len < 6)
        return false;
    if (cdb[0] == SCSI_INQUIRY) {
        /* Standard or VPD: byte 0 says "no unit", which is all Linux reads. */
        uint32_t n = standard_inquiry(b, SCSI_PQ_NOT_CONNECTED);
        if (cdb[1] & 0x01) {
            memset(b, 0, 4);
            b[0] = SCSI_PQ_NOT_CONNECTED;
            b[1] = cdb[2];
            n = 4;
        }
        respond(out, data, data_cap, b, n, be16(cdb + 3));
        return true;
    }
    if (cdb[0] == SCSI_REQUEST_SENSE) {
        request_sense(cdb, SCSI_ASC_LUN_NOT_SUPPORTED, SCSI_SENSE_ILLEGAL_REQUEST, data,
                      data_cap, out);
        return true;
    }
    return false;
}

void scsi_report_luns(const uint8_t *cdb, uint32_t cdb_len, const uint16_t *luns, uint32_t n,
                      uint8_t *data, uint32_t data_cap, struct scsi_cmd *out)
{
    good(out);
    if (cdb_len < 12) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    uint32_t alloc = be32(cdb + 6);
    /* SPC: an allocation length below 16 is an error. */
    if (alloc < 16) {
        illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
        return;
    }
    uint8_t hdr[8] = { 0 };
    put_be32(hdr, n * 8);
    uint32_t len = 0;
    uint32_t limit = alloc < data_cap ? alloc : data_cap;
    for (uint32_t i = 0; i < 8 && len < limit; i++)
        data[len++] = hdr[i];
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[8] = { 0 };
        /* Peripheral (< 256) or flat (< 16384) addressing. */
        if (luns[i] < 256) {
            e[1] = (uint8_t)luns[i];
        } else {
            e[0] = (uint8_t)(0x40 | (luns[i] >> 8));
            e[1] = (uint8_t)luns[i];
        }
        for (uint32_t k = 0; k < 8 && len < limit; k++)
            data[len++] = e[k];
    }
    out->data_len = len;
}
