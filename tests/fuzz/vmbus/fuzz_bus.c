/* SPDX-License-Identifier: MIT */
/* Shared fixture for the VMBus fuzz targets (see fuzz_bus.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/vmbus/fuzz_bus.h"
#include "vmbus/guid.h"
#include "vmbus/protocol.h"

#define CHECK(cond) do {                                                      \
    if (!(cond)) {                                                           \
        fprintf(stderr, "contract broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
        abort();                                                             \
    }                                                                        \
} while (0)

static struct fbus bus;
static bool ready;

/* Message types a host may post. */
static bool host_type(uint32_t t)
{
    switch (t) {
    case VMBUS_MSG_OFFERCHANNEL: case VMBUS_MSG_RESCIND_CHANNELOFFER:
    case VMBUS_MSG_ALLOFFERS_DELIVERED: case VMBUS_MSG_OPENCHANNEL_RESULT:
    case VMBUS_MSG_GPADL_CREATED: case VMBUS_MSG_GPADL_TORNDOWN:
    case VMBUS_MSG_VERSION_RESPONSE: case VMBUS_MSG_UNLOAD_RESPONSE:
    case VMBUS_MSG_MODIFYCHANNEL_RESPONSE:
        return true;
    default:
        return false;
    }
}

static int host_post(void *ctx, uint32_t vp, const void *msg, uint32_t size)
{
    struct fbus *b = ctx;
    CHECK(vp < FB_NR_VPS);
    CHECK(size >= 8 && size <= 240);
    uint32_t t;
    memcpy(&t, msg, 4);
    CHECK(host_type(t));
    if (b->busy)
        return VMBUS_POST_BUSY;
    b->posted++;
    memcpy(b->last_msg, msg, size);
    b->last_size = size;
    return VMBUS_POST_OK;
}

static void host_signal(void *ctx, uint32_t vp, uint32_t relid)
{
    struct fbus *b = ctx;
    CHECK(vp < FB_NR_VPS);
    CHECK(relid >= 1 && relid <= VMBUS_MAX_RELID);
    CHECK(vmbus_server_channel(b->srv, relid) != NULL);
}

static int host_conn_add(void *ctx, uint32_t id, bool event)
{
    struct fbus *b = ctx;
    (void)event;
    CHECK(id <= 0xFFFFFF);
    for (uint32_t i = 0; i < b->nconns; i++)
        CHECK(b->conns[i] != id);
    CHECK(b->nconns < 4096);
    b->conns[b->nconns++] = id;
    return 0;
}

static void host_conn_remove(void *ctx, uint32_t id)
{
    struct fbus *b = ctx;
    for (uint32_t i = 0; i < b->nconns; i++) {
        if (b->conns[i] == id) {
            b->conns[i] = b->conns[--b->nconns];
            return;
        }
    }
    CHECK(!"removed a connection never added");
}

static uint64_t host_now(void *ctx)
{
    return ((struct fbus *)ctx)->now;
}

static const struct vmbus_server_host fb_host = {
    .post_message = host_post,
    .signal_event = host_signal,
    .connection_add = host_conn_add,
    .connection_remove = host_conn_remove,
    .now_ns = host_now,
};

/* ------------------------------------------------------------ loopback */

static int echo_open(void *dev, struct vmbus_channel *ch, const uint8_t *ud)
{
    (void)dev, (void)ch, (void)ud;
    return 0;
}

static void echo_close(void *dev, struct vmbus_channel *ch)
{
    (void)dev, (void)ch;
}

static void echo_packet(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
    (void)dev;
    CHECK(pkt->raw_len >= 16 && pkt->data_len <= pkt->raw_len);
    vmbus_channel_send_inband(ch, 0, pkt->trans_id, pkt->data,
                              pkt->data_len > 512 ? 512 : pkt->data_len);
}

static const struct vmbus_device_ops echo_ops = {
    .open = echo_open, .close = echo_close, .packet = echo_packet,
};

static uint64_t ref_time(void *ctx)
{
    return ((struct fbus *)ctx)->ref_time;
}

static uint64_t wall_time(void *ctx)
{
    return VMBUS_TIME_1601_TO_1970 + ((struct fbus *)ctx)->now / 100;
}

void fb_add_devices(struct fbus *b)
{
    struct vmbus_offer offer = { .max_packet = 4096, .name = "echo", .use_monitor = true };
    vmbus_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0e", &offer.if_type);
    vmbus_guid_parse("00000000-0000-0000-0000-000000000001", &offer.if_instance);
    b->echo = vmbus_server_add_device(b->srv, &offer, &echo_ops, NULL);
    CHECK(b->echo);
    struct vmbus_ic_options opt;
    vmbus_ic_options_defaults(&opt);
    opt.time.ref_time = ref_time;
    opt.time.wall_time = wall_time;
    opt.time.ctx = b;
    CHECK(vmbus_ic_add(b->srv, &opt, &b->ics) == 0);
}

static void create_server(struct fbus *b)
{
    struct vmbus_server_config cfg;
    vmbus_server_config_defaults(&cfg, FB_NR_VPS);
    cfg.max_channels = 8;
    cfg.max_gpadls = 16;
    cfg.max_gpadl_bytes = 64 * 1024;
    cfg.backlog = 32;
    cfg.rx_budget = 64;
    b->srv = vmbus_server_create(&cfg, &fb_host, b, &b->view.view);
    CHECK(b->srv);
}

struct fbus *fb_start(void)
{
    struct fbus *b = &bus;
    if (!ready) {
        int fd = memfd_create("fuzz-guest-ram", 0);
        CHECK(fd >= 0 && ftruncate(fd, FB_RAM_SIZE) == 0);
        b->ram = mmap(NULL, FB_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(b->ram != MAP_FAILED);
        struct vmbus_mem_region r = { .gpa = 0, .size = FB_RAM_SIZE, .host = b->ram, .fd = fd };
        CHECK(vmbus_memview_flat_init(&b->view, &r, 1) == 0);
        ready = true;
    }
    memset(b->ram, 0, FB_RAM_SIZE);
    b->now = 1000000000ull;
    b->ref_time = 1;
    b->busy = false;
    b->posted = 0;
    create_server(b);
    fb_add_devices(b);
    return b;
}

void fb_stop(struct fbus *b)
{
    vmbus_server_destroy(b->srv);
    b->srv = NULL;
    CHECK(b->nconns == 0);
    CHECK(b->view.stitched_maps == 0);
}

void fb_restart(struct fbus *b)
{
    fb_stop(b);
    create_server(b);
    fb_add_devices(b);
}

int fb_post(struct fbus *b, uint32_t vp, uint32_t conn, const void *msg, uint32_t size)
{
    return vmbus_server_post_message(b->srv, vp, conn, VMBUS_MESSAGE_TYPE, msg, size);
}

void fb_run(struct fbus *b)
{
    for (int i = 0; i < 64 && vmbus_server_next_deadline(b->srv) <= b->now; i++)
        vmbus_server_run_timers(b->srv);
}

uint32_t fb_linux_bringup(struct fbus *b, struct fb_chan *chans, uint32_t max,
                          uint32_t pages_each)
{
    struct vmbus_msg_initiate_contact ic = {
        .header.msgtype = VMBUS_MSG_INITIATE_CONTACT,
        .version_requested = VMBUS_VERSION_WIN10_V5_3,
        .interrupt_page = VMBUS_MESSAGE_SINT,
        .monitor_page1 = 1 * 4096, .monitor_page2 = 2 * 4096,
    };
    fb_post(b, 0, VMBUS_MESSAGE_CONNECTION_ID_4, &ic, sizeof(ic));
    struct vmbus_msg_header ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    fb_post(b, 0, VMBUS_MESSAGE_CONNECTION_ID, &ro, sizeof(ro));

    uint32_t n = 0, page = 8;
    for (uint32_t relid = 1; relid <= 8 && n < max; relid++) {
        if (!vmbus_server_channel(b->srv, relid))
            continue;
        if (page + 2 * pages_each > FB_RAM_PAGES)
            break;
        struct fb_chan *c = &chans[n];
        memset(c, 0, sizeof(*c));
        c->relid = relid;
        uint8_t msg[240];
        struct vmbus_msg_gpadl_header gh = {
            .header.msgtype = VMBUS_MSG_GPADL_HEADER, .child_relid = relid,
            .gpadl = 0x100 + relid, .range_buflen = (uint16_t)(8 + 16 * pages_each),
            .range_count = 1,
        };
        uint64_t range = (uint64_t)2 * pages_each * 4096;
        memcpy(msg, &gh, sizeof(gh));
        memcpy(msg + sizeof(gh), &range, 8);
        uint32_t pfns = 2 * pages_each;
        CHECK(pfns <= VMBUS_GPADL_HEADER_MAX_PFNS);
        for (uint32_t i = 0; i < pfns; i++) {
            uint64_t pfn = page + i;
            memcpy(msg + sizeof(gh) + 8 + 8 * i, &pfn, 8);
        }
        fb_post(b, 0, 1, msg, (uint32_t)(sizeof(gh) + 8 + 8 * pfns));
        uint8_t *tx = b->ram + (size_t)page * 4096;
        uint8_t *rx = tx + (size_t)pages_each * 4096;
        memset(tx, 0, (size_t)pfns * 4096);
        ((uint32_t *)(void *)tx)[16] = VMBUS_RING_FEATURE_PENDING_SEND_SZ;
        ((uint32_t *)(void *)rx)[16] = VMBUS_RING_FEATURE_PENDING_SEND_SZ;
        CHECK(vmbus_ring_out_init(&c->tx, tx, pages_each * 4096) == 0);
        CHECK(vmbus_ring_in_init(&c->rx, rx, pages_each * 4096) == 0);
        struct vmbus_msg_open_channel open = {
            .header.msgtype = VMBUS_MSG_OPENCHANNEL, .child_relid = relid, .open_id = relid,
            .ring_gpadl = gh.gpadl, .target_vp = relid % FB_NR_VPS,
            .downstream_page_offset = pages_each,
        };
        fb_post(b, 0, 1, &open, sizeof(open));
        c->open = true;
        page += pfns;
        n++;
    }
    return n;
}

int fb_guest_send(struct fbus *b, struct fb_chan *c, uint16_t type, uint64_t trans_id,
                  const void *data, uint32_t len)
{
    struct vmbus_ring_seg seg = { data, len };
    bool sig;
    int rc = vmbus_ring_out_write(&c->tx, type, 0, trans_id, NULL, 0, &seg, 1, &sig);
    if (rc == VMBUS_RING_OK && sig)
        vmbus_server_signal_event(b->srv, 0, VMBUS_EVENT_CONNECTION_BASE + c->relid);
    return rc;
}

int fb_guest_recv(struct fbus *b, struct fb_chan *c, struct vmbus_packet *pkt, void *buf,
                  uint32_t buflen)
{
    uint32_t consumed;
    int rc = vmbus_ring_in_peek(&c->rx, buf, buflen, pkt, &consumed);
    if (rc != VMBUS_RING_OK)
        return -1;
    /* What the host wrote must be well formed. */
    CHECK(pkt->raw_len >= 16 && pkt->data_len <= pkt->raw_len - 16);
    vmbus_ring_in_advance(&c->rx, consumed);
    if (vmbus_ring_in_publish(&c->rx))
        vmbus_server_signal_event(b->srv, 0, VMBUS_EVENT_CONNECTION_BASE + c->relid);
    return (int)pkt->data_len;
}
