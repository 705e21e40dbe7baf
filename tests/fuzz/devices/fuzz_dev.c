/* SPDX-License-Identifier: MIT */
/* Device fuzz fixture (see fuzz_dev.h). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/devices/fuzz_dev.h"
#include "vmbus/devices/options.h"

#define RING_PAGES 8u
#define RING_GPADL 0xE1E10u

static int host_post(void *ctx, uint32_t vp, const void *msg, uint32_t size)
{
    struct fdev *d = ctx;
    FD_CHECK(vp == 0);
    FD_CHECK(size >= 8 && size <= 240);
    memcpy(d->msg, msg, size);
    d->msg_size = size;
    return VMBUS_POST_OK;
}

static void host_signal(void *ctx, uint32_t vp, uint32_t relid)
{
    struct fdev *d = ctx;
    FD_CHECK(vp == 0);
    FD_CHECK(relid == d->relid);
}

static int host_conn_add(void *ctx, uint32_t id, bool event)
{
    struct fdev *d = ctx;
    (void)event;
    for (uint32_t i = 0; i < d->nconns; i++)
        FD_CHECK(d->conns[i] != id);
    FD_CHECK(d->nconns < 64);
    d->conns[d->nconns++] = id;
    return 0;
}

static void host_conn_remove(void *ctx, uint32_t id)
{
    struct fdev *d = ctx;
    for (uint32_t i = 0; i < d->nconns; i++) {
        if (d->conns[i] == id) {
            d->conns[i] = d->conns[--d->nconns];
            return;
        }
    }
    FD_CHECK(!"removing an unknown connection");
}

static uint64_t host_now(void *ctx)
{
    return ((struct fdev *)ctx)->now;
}

static void host_wake(void *ctx)
{
    (void)ctx;   /* fd_run serves wakes; the deadline says "now" */
}

static const struct vmbus_server_host fd_host = {
    .post_message = host_post,
    .signal_event = host_signal,
    .connection_add = host_conn_add,
    .connection_remove = host_conn_remove,
    .now_ns = host_now,
    .wake = host_wake,
};

static uint32_t msg_type(const struct fdev *d)
{
    uint32_t t;
    memcpy(&t, d->msg, 4);
    return d->msg_size ? t : 0;
}

static void post(struct fdev *d, uint32_t conn, const void *m, uint32_t size)
{
    d->msg_size = 0;
    FD_CHECK(vmbus_server_post_message(d->srv, 0, conn, VMBUS_MESSAGE_TYPE, m, size) ==
             VMBUS_INPUT_DONE);
}

bool fd_gpadl(struct fdev *d, uint32_t handle, uint32_t first, uint32_t pages)
{
    uint8_t buf[240];
    struct vmbus_msg_gpadl_header h = {
        .header.msgtype = VMBUS_MSG_GPADL_HEADER,
        .child_relid = d->relid,
        .gpadl = handle,
        .range_buflen = (uint16_t)(8 + pages * 8),
        .range_count = 1,
    };
    struct vmbus_gpa_range r = { pages * 4096u, 0 };
    uint32_t in_hdr = pages < VMBUS_GPADL_HEADER_MAX_PFNS ? pages
                                                          : (uint32_t)VMBUS_GPADL_HEADER_MAX_PFNS;
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), &r, sizeof(r));
    for (uint32_t i = 0; i < in_hdr; i++) {
        uint64_t pfn = first + i;
        memcpy(buf + sizeof(h) + sizeof(r) + i * 8, &pfn, 8);
    }
    post(d, VMBUS_MESSAGE_CONNECTION_ID, buf, (uint32_t)(sizeof(h) + sizeof(r) + in_hdr * 8));
    for (uint32_t done = in_hdr; done < pages;) {
        uint32_t n = pages - done < VMBUS_GPADL_BODY_MAX_PFNS ? pages - done
                                                             : (uint32_t)VMBUS_GPADL_BODY_MAX_PFNS;
        struct vmbus_msg_gpadl_body b = { .header.msgtype = VMBUS_MSG_GPADL_BODY,
                                          .gpadl = handle };
        memcpy(buf, &b, sizeof(b));
        for (uint32_t i = 0; i < n; i++) {
            uint64_t pfn = first + done + i;
            memcpy(buf + sizeof(b) + i * 8, &pfn, 8);
        }
        post(d, VMBUS_MESSAGE_CONNECTION_ID, buf, (uint32_t)(sizeof(b) + n * 8));
        done += n;
    }
    if (msg_type(d) != VMBUS_MSG_GPADL_CREATED)
        return false;
    struct vmbus_msg_gpadl_created c;
    memcpy(&c, d->msg, sizeof(c));
    return c.creation_status == 0;
}

static void bring_up(struct fdev *d)
{
    struct vmbus_msg_initiate_contact ic = {
        .header.msgtype = VMBUS_MSG_INITIATE_CONTACT,
        .version_requested = VMBUS_VERSION_WIN10_V5_3,
        .interrupt_page = VMBUS_MESSAGE_SINT,
    };
    post(d, VMBUS_MESSAGE_CONNECTION_ID_4, &ic, sizeof(ic));
    FD_CHECK(msg_type(d) == VMBUS_MSG_VERSION_RESPONSE);
    struct vmbus_msg_header req = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    /* The one offer arrives before ALLOFFERS_DELIVERED; keep it. */
    d->msg_size = 0;
    struct vmbus_channel *ch = d->nic ? netvsc_channel(d->nic) : storvsc_channel(d->scsi);
    FD_CHECK(vmbus_server_post_message(d->srv, 0, 1, VMBUS_MESSAGE_TYPE, &req, sizeof(req)) ==
             VMBUS_INPUT_DONE);
    d->relid = vmbus_channel_relid(ch);
    d->conn_id = VMBUS_EVENT_CONNECTION_BASE + d->relid;
    /* Rings as hv_ringbuffer_init leaves them. */
    memset(fd_page(d, 0), 0, 2u * RING_PAGES * 4096u);
    uint32_t feat = VMBUS_RING_FEATURE_PENDING_SEND_SZ;
    memcpy(fd_page(d, 0) + 64, &feat, 4);
    memcpy(fd_page(d, RING_PAGES) + 64, &feat, 4);
    FD_CHECK(fd_gpadl(d, RING_GPADL, 0, 2 * RING_PAGES));
    struct vmbus_msg_open_channel op = {
        .header.msgtype = VMBUS_MSG_OPENCHANNEL,
        .child_relid = d->relid,
        .open_id = d->relid,
        .ring_gpadl = RING_GPADL,
        .downstream_page_offset = RING_PAGES,
    };
    post(d, VMBUS_MESSAGE_CONNECTION_ID, &op, sizeof(op));
    FD_CHECK(msg_type(d) == VMBUS_MSG_OPENCHANNEL_RESULT);
    struct vmbus_msg_open_result res;
    memcpy(&res, d->msg, sizeof(res));
    FD_CHECK(res.status == 0);
    FD_CHECK(vmbus_ring_out_init(&d->tx, fd_page(d, 0), RING_PAGES * 4096u) == 0);
    FD_CHECK(vmbus_ring_in_init(&d->rx, fd_page(d, RING_PAGES), RING_PAGES * 4096u) == 0);
    d->open = true;
}

struct fdev *fd_start(enum fd_kind kind)
{
    struct fdev *d = calloc(1, sizeof(*d));
    FD_CHECK(d);
    d->peer = -1;
    d->now = 1000000000ull;
    d->memfd = memfd_create("fuzz-dev-ram", 0);
    FD_CHECK(d->memfd >= 0 && ftruncate(d->memfd, FD_RAM_SIZE) == 0);
    d->ram = mmap(NULL, FD_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
    FD_CHECK(d->ram != MAP_FAILED);
    struct vmbus_mem_region r = { .gpa = 0, .size = FD_RAM_SIZE, .host = d->ram,
                                  .fd = d->memfd };
    FD_CHECK(vmbus_memview_flat_init(&d->view, &r, 1) == 0);
    struct vmbus_server_config cfg;
    vmbus_server_config_defaults(&cfg, 1);
    cfg.log_level = VMBUS_LOG_ERROR;
    d->srv = vmbus_server_create(&cfg, &fd_host, d, &d->view.view);
    FD_CHECK(d->srv);
    if (kind == FD_NIC) {
        int sv[2];
        FD_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
        d->peer = sv[1];
        struct netvsc_options o = { .instance = dev_instance_guid("nic", "fuzz") };
        nic_mac_derive("fuzz", o.mac);
        d->nic = netvsc_create(d->srv, &o, net_backend_from_fd(sv[0], true));
        FD_CHECK(d->nic);
    } else {
        struct storvsc_options o = { .instance = dev_instance_guid("scsi", "fuzz") };
        d->scsi = storvsc_create(d->srv, &o);
        FD_CHECK(d->scsi);
        d->disk0 = blk_mem_create(1u << 20, false);
        d->disk2 = blk_mem_create(256u << 10, true);
        FD_CHECK(storvsc_attach(d->scsi, d->disk0, 0, NULL) == 0);
        FD_CHECK(storvsc_attach(d->scsi, d->disk2, 2, "ro") == 2);
    }
    bring_up(d);
    return d;
}

void fd_stop(struct fdev *d)
{
    vmbus_server_destroy(d->srv);
    FD_CHECK(d->nconns == 0);
    FD_CHECK(d->view.stitched_maps == 0);   /* every map was given back */
    if (d->peer >= 0)
        close(d->peer);
    munmap(d->ram, FD_RAM_SIZE);
    close(d->memfd);
    free(d);
}

int fd_send(struct fdev *d, uint16_t type, uint16_t flags, uint64_t trans_id, const void *ext,
            uint32_t ext_len, const void *data, uint32_t len)
{
    struct vmbus_ring_seg seg = { data, len };
    bool signal = false;
    int rc = vmbus_ring_out_write(&d->tx, type, flags, trans_id, ext, ext_len, &seg, 1, &signal);
    /* The guest signals every time: extra signals are harmless and keep
     * the host reading whatever the ring's mask says. */
    vmbus_server_signal_event(d->srv, 0, d->conn_id);
    return rc;
}

int fd_recv(struct fdev *d, struct vmbus_packet *pkt, void *buf, uint32_t len)
{
    uint32_t consumed;
    int rc = vmbus_ring_in_peek(&d->rx, buf, len, pkt, &consumed);
    if (rc == VMBUS_RING_EMPTY)
        return -1;
    /* The host never writes a broken ring. */
    FD_CHECK(rc == VMBUS_RING_OK || rc == VMBUS_RING_TOO_BIG);
    vmbus_ring_in_advance(&d->rx, consumed);
    if (vmbus_ring_in_publish(&d->rx))
        vmbus_server_signal_event(d->srv, 0, d->conn_id);
    return rc == VMBUS_RING_OK ? (int)pkt->data_len : -1;
}

void fd_run(struct fdev *d)
{
    for (int i = 0; i < 64 && vmbus_server_next_deadline(d->srv) <= d->now; i++)
        vmbus_server_run_timers(d->srv);
}

uint32_t fd_gpa_ext(struct fd_in *in, uint8_t *ext, uint32_t cap)
{
    uint32_t count = fd_u8(in) % 5, written = 0;
    uint32_t pos = 8;
    memset(ext, 0, 8);
    for (uint32_t i = 0; i < count; i++, written++) {
        uint8_t how = fd_u8(in);
        uint32_t off = fd_u16(in) % 4096u;
        uint32_t len = fd_u16(in) % 16384u;
        if (how == 0xFF)
            off = fd_u16(in);                /* possibly >= 4096: malformed */
        uint32_t pages = (uint32_t)(((uint64_t)off + len + 4095) / 4096);
        if (pages > 8)
            pages = 8;
        if (pos + 8 + pages * 8 > cap)
            break;
        memcpy(ext + pos, &len, 4);
        memcpy(ext + pos + 4, &off, 4);
        pos += 8;
        uint32_t first = FD_SCRATCH_PAGE + fd_u8(in) % (FD_SCRATCH_PAGES - 8);
        for (uint32_t p = 0; p < pages; p++) {
            uint64_t pfn = first + p;
            if (how >= 0xF0)                  /* raw frame numbers */
                pfn = (uint64_t)fd_u32(in) << (how & 7);
            else if (how >= 0xE0)             /* scattered */
                pfn = FD_SCRATCH_PAGE + fd_u8(in) % FD_SCRATCH_PAGES;
            memcpy(ext + pos, &pfn, 8);
            pos += 8;
        }
    }
    memcpy(ext + 4, &written, 4);
    return pos;
}
