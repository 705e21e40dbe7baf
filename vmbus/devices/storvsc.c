/* SPDX-License-Identifier: MIT */
/* The synthetic SCSI controller (see storvsc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/devices/scsi.h"
#include "vmbus/devices/sg.h"
#include "vmbus/devices/storvsc.h"
#include "vmbus/devices/vstor.h"

/* Guest pages one request can name: max transfer / 4 KiB, plus a partial
 * page at each end. */
#define MAX_TRANSFER_LIMIT (2u << 20)
#define SG_MAX (MAX_TRANSFER_LIMIT / HV_PAGE_SIZE + 2u)
#define DEFAULT_OUTSTANDING 1024u
/* UNMAP: Linux sends one descriptor; a few more are accepted. */
#define MAX_UNMAP_DESC 16u
#define UNMAP_PARAM_MAX (8u + 16u * MAX_UNMAP_DESC)
#define MAX_WRITE_SAME_BLOCKS 0xFFFFu
#define SCRATCH_BYTES 4096u

struct disk {
    struct blk_dev *blk;
    struct scsi_lu lu;
    uint32_t inflight;            /* requests not yet reaped */
    bool removed;                 /* detached: close when idle */
    struct disk *next_removed;
};

struct sreq {
    struct sreq *next;            /* free list or send queue */
    struct storvsc *s;
    struct disk *disk;
    uint64_t trans_id;
    struct vstor_request vreq;
    struct scsi_cmd cmd;
    bool is_srb;
    uint32_t pending;             /* backend requests still out */
    int error;                    /* first backend error */
    struct blk_req blk;
    struct blk_req *subs;         /* UNMAP ranges beyond the first */
    struct dev_sg sg;
    struct iovec pattern_iov;
    struct vstor_packet reply;
    uint8_t param[UNMAP_PARAM_MAX > 4096 ? UNMAP_PARAM_MAX : 4096];
    struct iovec iov[SG_MAX];
    struct dev_sg_map maps[SG_MAX];
};

struct storvsc {
    struct vmbus_server *srv;
    struct vmbus_channel *ch;
    struct storvsc_options opt;
    uint32_t version;
    bool initialized;             /* END_INIT seen */
    bool scanned;                 /* an SRB came after END_INIT: the guest's
                                   * SCSI host exists and can rescan */
    bool enumerate_pending;
    bool paused;
    struct disk *luns[STORVSC_MAX_LUNS];
    struct disk *removed;         /* detached with I/O still out */
    struct blk_cq cq;
    struct sreq *free;
    uint32_t in_use;
    struct sreq *send_head, *send_tail;
    struct storvsc_stats stats;
    uint8_t scratch[SCRATCH_BYTES];
};

/* ------------------------------------------------------------- requests */

static struct sreq *sreq_get(struct storvsc *s)
{
    struct sreq *r = s->free;
    if (r)
        s->free = r->next;
    else if (!(r = malloc(sizeof(*r))))
        return NULL;
    r->next = NULL;
    r->s = s;
    r->disk = NULL;
    r->is_srb = false;
    r->pending = 0;
    r->error = 0;
    r->subs = NULL;
    dev_sg_init(&r->sg, vmbus_channel_mem(s->ch), r->iov, SG_MAX, r->maps, SG_MAX);
    s->in_use++;
    return r;
}

static void sreq_put(struct storvsc *s, struct sreq *r)
{
    dev_sg_release(&r->sg);
    free(r->subs);
    r->subs = NULL;
    r->next = s->free;
    s->free = r;
    s->in_use--;
}

static void update_pause(struct storvsc *s)
{
    /* Stop reading the ring while replies wait for room or too much is in
     * flight; the guest's own queue depth then holds it back. */
    bool want = s->send_head || s->in_use >= s->opt.max_outstanding;
    if (want != s->paused) {
        s->paused = want;
        vmbus_channel_pause_rx(s->ch, want);
    }
}

/* Send queued replies until the ring is full. */
static void send_replies(struct storvsc *s)
{
    bool sent = false;
    while (s->send_head) {
        struct sreq *r = s->send_head;
        struct vmbus_ring_seg seg = { &r->reply, sizeof(r->reply) };
        int rc = vmbus_channel_send_more(s->ch, VMBUS_PKT_COMP, 0, r->trans_id, NULL, 0, &seg,
                                         1);
        if (rc == VMBUS_RING_FULL) {
            s->stats.ring_full++;
            break;
        }
        /* OK, or the channel is going away: either way this one is done. */
        s->send_head = r->next;
        if (!s->send_head)
            s->send_tail = NULL;
        sreq_put(s, r);
        sent = true;
    }
    if (sent)
        vmbus_channel_flush(s->ch);
    update_pause(s);
}

static void queue_reply(struct storvsc *s, struct sreq *r)
{
    r->next = NULL;
    if (s->send_tail)
        s->send_tail->next = r;
    else
        s->send_head = r;
    s->send_tail = r;
}

static void complete_srb(struct storvsc *s, struct sreq *r, uint8_t srb_status,
                         uint8_t scsi_status, uint32_t transferred)
{
    const struct scsi_cmd *c = &r->cmd;
    vstor_srb_completion(&r->vreq, srb_status, scsi_status, transferred,
                         scsi_status ? c->sense : NULL, scsi_status ? c->sense_len : 0,
                         &r->reply);
    dev_sg_release(&r->sg);
    queue_reply(s, r);
}

/* The SCSI outcome in cmd becomes the SRB's. */
static void complete_cmd(struct storvsc *s, struct sreq *r, uint32_t transferred)
{
    if (r->cmd.status == SCSI_STATUS_GOOD) {
        complete_srb(s, r, SRB_STATUS_SUCCESS, SCSI_STATUS_GOOD, transferred);
    } else {
        s->stats.check_conditions++;
        complete_srb(s, r, SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID, r->cmd.status, 0);
    }
}

/* ---------------------------------------------------------------- disks */

static void disk_free(struct disk *d)
{
    blk_close(d->blk);
    free(d);
}

static void disk_io_done(struct storvsc *s, struct disk *d)
{
    d->inflight--;
    if (d->removed && d->inflight == 0) {
        for (struct disk **p = &s->removed; *p; p = &(*p)->next_removed) {
            if (*p == d) {
                *p = d->next_removed;
                break;
            }
        }
        disk_free(d);
    }
}

static void send_enumerate(struct storvsc *s)
{
    if (!vmbus_channel_is_open(s->ch) || !s->scanned) {
        /* Not yet scanning: the coming scan sees the change anyway. */
        s->enumerate_pending = false;
        return;
    }
    struct vstor_packet p;
    memset(&p, 0, sizeof(p));
    p.operation = VSTOR_OP_ENUMERATE_BUS;
    int rc = vmbus_channel_send_inband(s->ch, 0, 0, &p, sizeof(p));
    s->enumerate_pending = rc == VMBUS_RING_FULL;
}

int storvsc_attach(struct storvsc *s, struct blk_dev *blk, int lun, const char *serial)
{
    if (!blk || lun >= (int)STORVSC_MAX_LUNS)
        return -1;
    if (lun < 0) {
        for (lun = 0; lun < (int)STORVSC_MAX_LUNS && s->luns[lun]; lun++)
            ;
        if (lun == (int)STORVSC_MAX_LUNS)
            return -1;
    } else if (s->luns[lun]) {
        return -1;
    }
    struct disk *d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    d->blk = blk;
    struct scsi_lu *lu = &d->lu;
    lu->block_size = 512;
    lu->blocks = blk->size / lu->block_size;
    lu->max_transfer_blocks = s->opt.max_transfer / lu->block_size;
    lu->read_only = blk->read_only;
    lu->write_cache = true;
    lu->fua = true;
    lu->max_unmap_blocks = blk->discard && !blk->read_only ? 0x400000u : 0;
    lu->max_unmap_descriptors = MAX_UNMAP_DESC;
    lu->max_write_same_blocks = MAX_WRITE_SAME_BLOCKS;
    scsi_lu_identity(lu, serial, blk->name);
    s->luns[lun] = d;
    send_enumerate(s);
    return lun;
}

int storvsc_detach(struct storvsc *s, uint32_t lun)
{
    if (lun >= STORVSC_MAX_LUNS || !s->luns[lun])
        return -1;
    struct disk *d = s->luns[lun];
    s->luns[lun] = NULL;
    if (d->inflight) {
        d->removed = true;
        d->next_removed = s->removed;
        s->removed = d;
    } else {
        disk_free(d);
    }
    send_enumerate(s);
    return 0;
}

/* ------------------------------------------------------------ SRB path */

static bool is_write_io(uint8_t io)
{
    return io == SCSI_IO_WRITE || io == SCSI_IO_UNMAP || io == SCSI_IO_WRITE_SAME;
}

static void submit(struct storvsc *s, struct sreq *r, struct blk_req *b)
{
    b->cq = &s->cq;
    b->opaque = r;
    b->result = 0;
    r->pending++;
    blk_submit(r->disk->blk, b);
}

/* Start the backend I/O a command asked for. Fills in cmd on failures
 * found before any I/O (bad parameter lists) and completes the request. */
static void start_io(struct storvsc *s, struct sreq *r)
{
    struct disk *d = r->disk;
    struct scsi_cmd *c = &r->cmd;
    uint64_t bs = d->lu.block_size;
    memset(&r->blk, 0, sizeof(r->blk));
    d->inflight++;
    switch (c->io) {
    case SCSI_IO_READ:
    case SCSI_IO_WRITE:
        dev_sg_truncate(&r->sg, c->xfer_bytes);
        r->blk.op = c->io == SCSI_IO_READ ? BLK_OP_READ : BLK_OP_WRITE;
        r->blk.fua = c->fua;
        r->blk.offset = c->lba * bs;
        r->blk.len = c->xfer_bytes;
        r->blk.iov = r->sg.iov;
        r->blk.iovcnt = r->sg.niov;
        if (c->io == SCSI_IO_READ) {
            s->stats.reads++;
            s->stats.bytes_read += c->xfer_bytes;
        } else {
            s->stats.writes++;
            s->stats.bytes_written += c->xfer_bytes;
        }
        submit(s, r, &r->blk);
        return;
    case SCSI_IO_FLUSH:
        s->stats.flushes++;
        r->blk.op = BLK_OP_FLUSH;
        submit(s, r, &r->blk);
        return;
    case SCSI_IO_WRITE_SAME:
        s->stats.write_sames++;
        r->blk.op = BLK_OP_WRITE_SAME;
        r->blk.offset = c->lba * bs;
        r->blk.len = c->blocks * bs;
        if (!c->ndob) {
            dev_sg_copy_from(&r->sg, 0, r->param, (size_t)bs);
            r->pattern_iov.iov_base = r->param;
            r->pattern_iov.iov_len = (size_t)bs;
            r->blk.iov = &r->pattern_iov;
            r->blk.iovcnt = 1;
        }
        submit(s, r, &r->blk);
        return;
    case SCSI_IO_UNMAP: {
        s->stats.unmaps++;
        uint32_t len = c->xfer_bytes < UNMAP_PARAM_MAX ? c->xfer_bytes : UNMAP_PARAM_MAX;
        len = (uint32_t)dev_sg_copy_from(&r->sg, 0, r->param, len);
        struct scsi_unmap_range ranges[MAX_UNMAP_DESC];
        uint32_t n;
        if (scsi_unmap_parse(&d->lu, r->param, len, ranges, MAX_UNMAP_DESC, &n, c)) {
            disk_io_done(s, d);
            complete_cmd(s, r, 0);
            return;
        }
        if (n == 0) {
            disk_io_done(s, d);
            complete_cmd(s, r, 0);
            return;
        }
        if (n > 1 && !(r->subs = calloc(n - 1, sizeof(*r->subs)))) {
            disk_io_done(s, d);
            scsi_io_error(c, -ENOMEM, true);
            complete_cmd(s, r, 0);
            return;
        }
        /* Count them all first: completions may arrive during submit. */
        r->pending = n;
        for (uint32_t i = 0; i < n; i++) {
            struct blk_req *b = i ? &r->subs[i - 1] : &r->blk;
            memset(b, 0, sizeof(*b));
            b->op = BLK_OP_DISCARD;
            b->offset = ranges[i].lba * bs;
            b->len = (uint64_t)ranges[i].blocks * bs;
            b->cq = &s->cq;
            b->opaque = r;
        }
        for (uint32_t i = 0; i < n; i++)
            blk_submit(d->blk, i ? &r->subs[i - 1] : &r->blk);
        return;
    }
    default:
        disk_io_done(s, d);
        complete_cmd(s, r, 0);
        return;
    }
}

static void execute_srb(struct storvsc *s, const struct vmbus_packet *pkt, struct sreq *r)
{
    const struct vstor_srb *srb = &r->vreq.pkt.srb;
    s->stats.srbs++;
    if (s->initialized)
        s->scanned = true;

    uint32_t buf_len = 0;
    if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
        if (dev_sg_add_packet(&r->sg, pkt)) {
            s->stats.bad_packets++;
            vmbus_channel_log(s->ch, VMBUS_LOG_WARN,
                              "SRB data ranges malformed or outside guest RAM");
            complete_srb(s, r, SRB_STATUS_INVALID_REQUEST, 0, 0);
            return;
        }
        /* The smaller of what the ranges cover and what the SRB claims. */
        buf_len = r->sg.bytes < r->vreq.transfer_length ? (uint32_t)r->sg.bytes
                                                        : r->vreq.transfer_length;
    } else if (pkt->type != VMBUS_PKT_DATA_INBAND) {
        s->stats.bad_packets++;
        complete_srb(s, r, SRB_STATUS_INVALID_REQUEST, 0, 0);
        return;
    }

    const uint8_t *cdb = r->vreq.cdb;
    uint32_t cdb_len = r->vreq.cdb_length;
    bool here = srb->path_id == 0 && srb->target_id == 0;
    struct disk *d = here && srb->lun < STORVSC_MAX_LUNS ? s->luns[srb->lun] : NULL;
    struct scsi_cmd *c = &r->cmd;

    if (cdb[0] == SCSI_REPORT_LUNS) {
        uint16_t luns[STORVSC_MAX_LUNS];
        uint32_t n = 0;
        for (uint32_t i = 0; here && i < STORVSC_MAX_LUNS; i++)
            if (s->luns[i])
                luns[n++] = (uint16_t)i;
        scsi_report_luns(cdb, cdb_len, luns, n, s->scratch, sizeof(s->scratch), c);
    } else if (!d) {
        if (!scsi_execute_absent(cdb, cdb_len, s->scratch, sizeof(s->scratch), c)) {
            s->stats.invalid_lun++;
            complete_srb(s, r, SRB_STATUS_INVALID_LUN, 0, 0);
            return;
        }
    } else {
        scsi_execute(&d->lu, cdb, cdb_len, buf_len, s->scratch, sizeof(s->scratch), c);
    }

    if (c->io == SCSI_IO_NONE) {
        uint32_t n = c->data_len < buf_len ? c->data_len : buf_len;
        if (n && r->vreq.direction != VSTOR_DIR_READ) {
            complete_srb(s, r, SRB_STATUS_INVALID_REQUEST, 0, 0);
            return;
        }
        n = (uint32_t)dev_sg_copy_to(&r->sg, 0, s->scratch, n);
        complete_cmd(s, r, n);
        return;
    }
    /* Data moves the way the command says, and the guest must agree. */
    bool needs_buf = c->xfer_bytes != 0;
    uint8_t dir = is_write_io(c->io) ? VSTOR_DIR_WRITE : VSTOR_DIR_READ;
    if (needs_buf && r->vreq.direction != dir) {
        complete_srb(s, r, SRB_STATUS_INVALID_REQUEST, 0, 0);
        return;
    }
    r->disk = d;
    start_io(s, r);
}

/* Backend completions, on the server thread. */
static void reap(struct storvsc *s)
{
    struct blk_req *b = blk_cq_take(&s->cq);
    while (b) {
        struct blk_req *next = b->next;
        struct sreq *r = b->opaque;
        if (b->result && !r->error)
            r->error = b->result;
        if (--r->pending == 0) {
            struct scsi_cmd *c = &r->cmd;
            disk_io_done(s, r->disk);
            r->disk = NULL;
            uint32_t transferred = c->io == SCSI_IO_READ || c->io == SCSI_IO_WRITE
                                       ? c->xfer_bytes : 0;
            if (r->error) {
                scsi_io_error(c, r->error, is_write_io(c->io));
                transferred = 0;
            }
            complete_cmd(s, r, transferred);
        }
        b = next;
    }
}

/* ---------------------------------------------------------- device ops */

static void handle_packet(struct storvsc *s, const struct vmbus_packet *pkt)
{
    if (pkt->type == VMBUS_PKT_COMP)
        return;   /* we never ask for completions */
    struct sreq *r = sreq_get(s);
    if (!r)
        return;
    r->trans_id = pkt->trans_id;
    int rc = vstor_decode(pkt->data, pkt->data_len, &r->vreq);
    if (rc == VSTOR_DECODE_SHORT) {
        s->stats.bad_packets++;
        vstor_simple_completion(VSTOR_STATUS_INVALID_PARAMETER, &r->reply);
        queue_reply(s, r);
        return;
    }
    const struct vstor_packet *in = &r->vreq.pkt;
    switch (r->vreq.operation) {
    case VSTOR_OP_EXECUTE_SRB:
        r->is_srb = true;
        if (rc == VSTOR_DECODE_BAD_SRB) {
            s->stats.bad_packets++;
            complete_srb(s, r, SRB_STATUS_INVALID_REQUEST, 0, 0);
            return;
        }
        execute_srb(s, pkt, r);
        return;
    case VSTOR_OP_BEGIN_INIT:
        s->initialized = false;
        vstor_simple_completion(VSTOR_STATUS_SUCCESS, &r->reply);
        break;
    case VSTOR_OP_END_INIT:
        s->initialized = true;
        vstor_simple_completion(VSTOR_STATUS_SUCCESS, &r->reply);
        break;
    case VSTOR_OP_QUERY_PROTOCOL_VERSION: {
        uint16_t v = in->version.major_minor;
        bool ok = (v == VSTOR_VERSION_WIN10 || v == VSTOR_VERSION_WIN8_1 ||
                   v == VSTOR_VERSION_WIN8) && v <= s->opt.max_version;
        vstor_simple_completion(ok ? VSTOR_STATUS_SUCCESS : VSTOR_STATUS_REVISION_MISMATCH,
                                &r->reply);
        r->reply.version = in->version;
        if (ok)
            s->version = v;
        break;
    }
    case VSTOR_OP_QUERY_PROPERTIES:
        vstor_simple_completion(VSTOR_STATUS_SUCCESS, &r->reply);
        /* One channel, no subchannels: Linux then never asks for any. */
        r->reply.props.max_channel_count = 0;
        r->reply.props.flags = 0;
        r->reply.props.max_transfer_bytes = s->opt.max_transfer;
        break;
    case VSTOR_OP_RESET_LUN:
    case VSTOR_OP_RESET_ADAPTER:
    case VSTOR_OP_RESET_BUS:
        /* Nothing is lost here: requests in flight still complete. */
        vstor_simple_completion(VSTOR_STATUS_SUCCESS, &r->reply);
        break;
    default:
        s->stats.bad_packets++;
        vstor_simple_completion(VSTOR_STATUS_INVALID_DEVICE_REQUEST, &r->reply);
        break;
    }
    queue_reply(s, r);
}

static void stor_packet(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
    struct storvsc *s = dev;
    (void)ch;
    handle_packet(s, pkt);
    send_replies(s);
}

static void stor_wake(void *dev, struct vmbus_channel *ch)
{
    struct storvsc *s = dev;
    (void)ch;
    reap(s);
    send_replies(s);
}

static void stor_writable(void *dev, struct vmbus_channel *ch)
{
    struct storvsc *s = dev;
    (void)ch;
    send_replies(s);
    if (s->enumerate_pending)
        send_enumerate(s);
}

static int stor_open(void *dev, struct vmbus_channel *ch, const uint8_t *user_data)
{
    struct storvsc *s = dev;
    (void)ch;
    (void)user_data;
    s->version = 0;
    s->initialized = s->scanned = false;
    s->enumerate_pending = false;
    s->paused = false;
    return 0;
}

/* Wait for every disk's I/O, then drop what was in flight or queued:
 * the channel is gone, nobody is waiting for the answers. */
static void quiesce(struct storvsc *s)
{
    for (uint32_t i = 0; i < STORVSC_MAX_LUNS; i++)
        if (s->luns[i])
            blk_drain(s->luns[i]->blk);
    for (struct disk *d = s->removed; d; d = d->next_removed)
        blk_drain(d->blk);
    struct blk_req *b = blk_cq_take(&s->cq);
    while (b) {
        struct blk_req *next = b->next;
        struct sreq *r = b->opaque;
        if (--r->pending == 0) {
            disk_io_done(s, r->disk);
            sreq_put(s, r);
        }
        b = next;
    }
    while (s->send_head) {
        struct sreq *r = s->send_head;
        s->send_head = r->next;
        sreq_put(s, r);
    }
    s->send_tail = NULL;
}

static void stor_close(void *dev, struct vmbus_channel *ch)
{
    struct storvsc *s = dev;
    (void)ch;
    quiesce(s);
    s->version = 0;
    s->initialized = s->scanned = false;
    s->paused = false;
}

static void stor_destroy(void *dev)
{
    struct storvsc *s = dev;
    quiesce(s);
    for (uint32_t i = 0; i < STORVSC_MAX_LUNS; i++)
        if (s->luns[i])
            disk_free(s->luns[i]);
    while (s->removed) {
        struct disk *d = s->removed;
        s->removed = d->next_removed;
        disk_free(d);
    }
    while (s->free) {
        struct sreq *r = s->free;
        s->free = r->next;
        free(r);
    }
    blk_cq_destroy(&s->cq);
    free(s);
}

static const struct vmbus_device_ops storvsc_ops = {
    .open = stor_open,
    .close = stor_close,
    .packet = stor_packet,
    .writable = stor_writable,
    .wake = stor_wake,
    .destroy = stor_destroy,
};

static void cq_notify(void *ctx)
{
    struct storvsc *s = ctx;
    vmbus_channel_wake(s->ch);
}

struct storvsc *storvsc_create(struct vmbus_server *srv, const struct storvsc_options *opt)
{
    struct storvsc *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->srv = srv;
    s->opt = *opt;
    if (!s->opt.max_version)
        s->opt.max_version = VSTOR_VERSION_WIN10;
    if (!s->opt.max_transfer)
        s->opt.max_transfer = STORVSC_DEFAULT_MAX_TRANSFER;
    if (s->opt.max_transfer < HV_PAGE_SIZE)
        s->opt.max_transfer = HV_PAGE_SIZE;
    if (s->opt.max_transfer > MAX_TRANSFER_LIMIT)
        s->opt.max_transfer = MAX_TRANSFER_LIMIT;
    s->opt.max_transfer &= ~(HV_PAGE_SIZE - 1);
    if (!s->opt.max_outstanding)
        s->opt.max_outstanding = DEFAULT_OUTSTANDING;
    blk_cq_init(&s->cq, cq_notify, s);

    struct vmbus_offer offer = {
        .if_type = VMBUS_GUID_SCSI,
        .if_instance = opt->instance,
        /* The largest request: a 64-byte packet and the page list. */
        .max_packet = 256u + (uint32_t)SG_MAX * 8u,
        .name = "storvsc",
    };
    s->ch = vmbus_server_add_device(srv, &offer, &storvsc_ops, s);
    if (!s->ch) {
        blk_cq_destroy(&s->cq);
        free(s);
        return NULL;
    }
    return s;
}

struct vmbus_channel *storvsc_channel(const struct storvsc *s)
{
    return s->ch;
}

const struct storvsc_stats *storvsc_get_stats(const struct storvsc *s)
{
    return &s->stats;
}

uint32_t storvsc_version(const struct storvsc *s)
{
    return s->version;
}
