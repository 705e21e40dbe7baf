/* SPDX-License-Identifier: MIT */
/*
 * The synthetic NIC through the VMBus server, driven the way Linux 6.1's
 * netvsc drives it: NVSP negotiation for each version, buffers, the RNDIS
 * sequence with its mandatory answers, then frames both ways against a real
 * packet socket (a SOCK_SEQPACKET pair stands in for the tap: same one
 * frame per read/write semantics), sub-allocation exhaustion, link changes,
 * and hostile input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/devices/dev_harness.h"
#include "vmbus/devices/netvsc.h"
#include "vmbus/devices/nvsp.h"
#include "vmbus/devices/rndis.h"

#define RING_PAGES 129u                 /* 512 KiB + header, as Linux */

static const struct vmbus_guid nic_guid = VMBUS_GUID_NIC;
static const uint8_t nic_mac[6] = { 0x00, 0x15, 0x5D, 0x12, 0x34, 0x56 };

struct nv {
    struct vh *h;
    struct vh_chan c;
    struct netvsc *n;
    int peer;                           /* the "network" end */
    uint32_t relid;
    uint32_t version;
    uint64_t recv_gpa, send_gpa;
    uint32_t recv_bytes, send_bytes;
    uint32_t sub_size, nsubs, section_size;
    uint64_t next_id;
    uint32_t req_id;
    /* Host packets read but not yet consumed by a test. */
    uint8_t pending[16][8192];
    uint32_t pending_len[16];
    uint32_t npending;
};

static struct nv *nv_new(uint32_t max_version, uint32_t mtu)
{
    struct nv *t = calloc(1, sizeof(*t));
    t->h = vh_create(2, 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
    t->peer = sv[1];
    struct netvsc_options opt = {
        .instance = VMBUS_GUID_INIT(0xabcdef01, 0x1111, 0x2222, 1, 2, 3, 4, 5, 6, 7, 9),
        .mtu = mtu,
        .max_version = max_version,
    };
    memcpy(opt.mac, nic_mac, 6);
    t->n = netvsc_create(t->h->srv, &opt, net_backend_from_fd(sv[0], true));
    assert_non_null(t->n);
    t->relid = dh_bringup(t->h, &nic_guid, &t->c, RING_PAGES);
    t->next_id = 1;
    return t;
}

static void nv_free(struct nv *t)
{
    vh_destroy(t->h);
    close(t->peer);
    free(t);
}

/* Next host packet (whole), waiting in real time for backend threads. */
static bool next_packet(struct nv *t, uint8_t *buf, uint32_t *len, int tries)
{
    for (int i = 0; i < tries; i++) {
        dh_pump(t->h);
        if (dh_recv(t->h, &t->c, buf, 8192, len))
            return true;
        vh_wait_wake(t->h, __atomic_load_n(&t->h->wakes, __ATOMIC_ACQUIRE), 5);
    }
    return false;
}

static const struct vmbus_packet_desc *desc_of(const uint8_t *buf)
{
    return (const struct vmbus_packet_desc *)(const void *)buf;
}

/* Wait for the completion of trans_id; other packets are kept. */
static struct nvsp_msg wait_comp(struct nv *t, uint64_t id)
{
    uint8_t buf[8192];
    uint32_t len;
    for (int i = 0; i < 100; i++) {
        assert_true(next_packet(t, buf, &len, 200));
        const struct vmbus_packet_desc *d = desc_of(buf);
        if (d->type == VMBUS_PKT_COMP && d->trans_id == id) {
            struct nvsp_msg m;
            assert_true(nvsp_decode(buf + d->offset8 * 8u, len - d->offset8 * 8u, &m));
            /* INIT_COMPLETE needs >= 28 bytes in Linux's eyes. */
            assert_true(len - d->offset8 * 8u >= 28);
            return m;
        }
        assert_true(t->npending < 16);
        memcpy(t->pending[t->npending], buf, len);
        t->pending_len[t->npending++] = len;
    }
    fail_msg("no completion");
    struct nvsp_msg none = { 0 };
    return none;
}

static struct nvsp_msg nvsp_call(struct nv *t, const struct nvsp_msg *m)
{
    uint64_t id = t->next_id++;
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND,
                             VMBUS_PACKET_FLAG_COMPLETION_REQUESTED, id, NULL, 0, m, sizeof(*m)),
                     0);
    return wait_comp(t, id);
}

static void nvsp_post(struct nv *t, const struct nvsp_msg *m)
{
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 0, 0, NULL, 0, m, sizeof(*m)),
                     0);
    dh_pump(t->h);
}

/* netvsc_connect_vsp + netvsc_init_buf. Returns the negotiated version. */
static uint32_t linux_connect(struct nv *t, uint32_t recv_bytes, uint32_t send_bytes)
{
    static const uint32_t versions[] = { NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
                                         NVSP_VERSION_4, NVSP_VERSION_2, NVSP_VERSION_1 };
    struct nvsp_msg m;
    uint32_t v = 0;
    for (size_t i = 0; i < 6 && !v; i++) {
        memset(&m, 0, sizeof(m));
        m.type = NVSP_MSG_INIT;
        m.init.min_version = m.init.max_version = versions[i];
        struct nvsp_msg r = nvsp_call(t, &m);
        assert_int_equal(r.type, NVSP_MSG_INIT_COMPLETE);
        if (r.init_complete.status == NVSP_STATUS_SUCCESS) {
            assert_int_equal(r.init_complete.negotiated_version, versions[i]);
            v = versions[i];
        }
    }
    assert_true(v != 0);
    t->version = v;
    if (v != NVSP_VERSION_1) {
        memset(&m, 0, sizeof(m));
        m.type = NVSP_MSG2_SEND_NDIS_CONFIG;
        m.ndis_config.mtu = 1514;
        m.ndis_config.capabilities = 1u << 3;
        nvsp_post(t, &m);
    }
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_NDIS_VERSION;
    m.ndis_version.major = 6;
    m.ndis_version.minor = v <= NVSP_VERSION_4 ? 1 : 30;
    nvsp_post(t, &m);

    /* Receive buffer */
    t->recv_bytes = recv_bytes;
    t->recv_gpa = vh_alloc_pages(t->h, recv_bytes / 4096);
    assert_int_equal(vh_gpadl(t->h, t->relid, 0x100, t->recv_gpa, recv_bytes / 4096), 0);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RECV_BUF;
    m.send_buf.gpadl = 0x100;
    m.send_buf.id = NVSP_RECV_BUF_ID;
    struct nvsp_msg r = nvsp_call(t, &m);
    assert_int_equal(r.type, NVSP_MSG1_SEND_RECV_BUF_COMPLETE);
    assert_int_equal(r.recv_buf_complete.status, NVSP_STATUS_SUCCESS);
    assert_int_equal(r.recv_buf_complete.num_sections, 1);
    assert_int_equal(r.recv_buf_complete.section.offset, 0);
    t->sub_size = r.recv_buf_complete.section.sub_alloc_size;
    t->nsubs = r.recv_buf_complete.section.num_sub_allocs;
    assert_true(t->sub_size >= 68);
    assert_true((uint64_t)t->sub_size * t->nsubs <= recv_bytes);

    /* Send buffer */
    t->send_bytes = send_bytes;
    t->send_gpa = vh_alloc_pages(t->h, send_bytes / 4096);
    assert_int_equal(vh_gpadl(t->h, t->relid, 0x101, t->send_gpa, send_bytes / 4096), 0);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_SEND_BUF;
    m.send_buf.gpadl = 0x101;
    r = nvsp_call(t, &m);
    assert_int_equal(r.type, NVSP_MSG1_SEND_SEND_BUF_COMPLETE);
    assert_int_equal(r.send_buf_complete.status, NVSP_STATUS_SUCCESS);
    t->section_size = r.send_buf_complete.section_size;
    assert_true(t->section_size >= 68);   /* below fails Linux's probe */
    return v;
}

/* A received transfer-page packet, decoded the way netvsc_receive does. */
struct xfer {
    uint64_t trans_id;
    uint32_t channel_type;
    uint32_t count;
    uint32_t off[64], len[64];
};

static bool take_xfer(struct nv *t, struct xfer *x, int tries)
{
    uint8_t buf[8192];
    uint32_t len;
    if (t->npending) {
        memcpy(buf, t->pending[0], t->pending_len[0]);
        len = t->pending_len[0];
        memmove(t->pending[0], t->pending[1], (size_t)(t->npending - 1) * sizeof(t->pending[0]));
        memmove(t->pending_len, t->pending_len + 1, (t->npending - 1) * sizeof(uint32_t));
        t->npending--;
    } else if (!next_packet(t, buf, &len, tries)) {
        return false;
    }
    const struct vmbus_packet_desc *d = desc_of(buf);
    if (d->type != VMBUS_PKT_DATA_USING_XFER_PAGES) {
        /* A late TX completion: not what the test waits for. */
        assert_int_equal(d->type, VMBUS_PKT_COMP);
        return take_xfer(t, x, tries);
    }
    assert_true(d->flags & VMBUS_PACKET_FLAG_COMPLETION_REQUESTED);
    struct vmbus_xfer_page_header h;
    memcpy(&h, buf + 16, sizeof(h));
    assert_int_equal(h.pageset_id, NVSP_RECV_BUF_ID);
    assert_true(16 + 8 + h.range_count * 8u <= d->offset8 * 8u);
    assert_true(h.range_count <= 64);
    struct nvsp_msg m;
    assert_true(nvsp_decode(buf + d->offset8 * 8u, len - d->offset8 * 8u, &m));
    assert_int_equal(m.type, NVSP_MSG1_SEND_RNDIS_PKT);
    x->trans_id = d->trans_id;
    x->channel_type = m.rndis_pkt.channel_type;
    x->count = h.range_count;
    for (uint32_t i = 0; i < h.range_count; i++) {
        struct vmbus_xfer_page_range r;
        memcpy(&r, buf + 24 + i * 8, 8);
        assert_true(r.byte_offset <= t->recv_bytes && r.byte_count <= t->recv_bytes - r.byte_offset);
        assert_true(r.byte_count <= t->sub_size);
        x->off[i] = r.byte_offset;
        x->len[i] = r.byte_count;
    }
    return true;
}

static void complete_xfer(struct nv *t, uint64_t id)
{
    struct { uint32_t type, status; } c = { NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, NVSP_STATUS_SUCCESS };
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_COMP, 0, id, NULL, 0, &c, sizeof(c)), 0);
    dh_pump(t->h);
}

static uint8_t *recv_at(struct nv *t, uint32_t off)
{
    return vh_ptr(t->h, t->recv_gpa + off);
}

/* An RNDIS control request as rndis_filter_send_request sends it: from
 * guest memory, GPA-direct, NVSP channel type 1. Returns the response
 * (copied) and its length; completes the transfer. */
static uint32_t rndis_call(struct nv *t, const uint8_t *req, uint32_t len, uint8_t *resp)
{
    uint64_t gpa = vh_alloc_pages(t->h, 1) + 64;
    memcpy(vh_ptr(t->h, gpa), req, len);
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.channel_type = NVSP_CHANNEL_CONTROL;
    m.rndis_pkt.section_index = NVSP_NO_SECTION;
    struct dh_range r = { gpa, len };
    uint64_t id = t->next_id++;
    assert_int_equal(dh_send_gpa(t->h, &t->c, id, &r, 1, &m, sizeof(m)), 0);
    struct nvsp_msg c = wait_comp(t, id);
    assert_int_equal(c.type, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    struct xfer x;
    if (!take_xfer(t, &x, 200))
        return 0;
    assert_int_equal(x.channel_type, NVSP_CHANNEL_CONTROL);
    assert_int_equal(x.count, 1);
    memcpy(resp, recv_at(t, x.off[0]), x.len[0]);
    uint32_t mlen;
    memcpy(&mlen, resp + 4, 4);
    assert_true(mlen <= x.len[0]);
    complete_xfer(t, x.trans_id);
    return mlen;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* QUERY as rndis_filter_query_device builds it; returns info length or -1
 * (Linux's checks on the answer applied). */
static int rndis_query(struct nv *t, uint32_t oid, uint8_t *info, uint32_t info_max)
{
    uint8_t req[28 + 160] = { 0 };
    uint32_t len = 28;
    wr32(req, RNDIS_MSG_QUERY);
    wr32(req + 8, ++t->req_id);
    wr32(req + 12, oid);
    wr32(req + 20, 20);
    if (oid == OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) {
        uint32_t size = t->version >= NVSP_VERSION_5 ? NDIS_OFFLOAD_SIZE
                        : t->version >= NVSP_VERSION_4 ? NDIS_OFFLOAD_SIZE_6_1
                                                       : NDIS_OFFLOAD_SIZE_6_0;
        wr32(req + 16, size);
        req[28] = NDIS_OBJECT_TYPE_OFFLOAD;
        len += size;
    }
    wr32(req + 4, len);
    uint8_t resp[512];
    uint32_t rlen = rndis_call(t, req, len, resp);
    assert_int_equal(rd32(resp), RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
    assert_int_equal(rd32(resp + 8), t->req_id);
    uint32_t ilen = rd32(resp + 16), ioff = rd32(resp + 20);
    if (rlen - 8 < 16 || ilen > info_max || ioff < 16 || rlen - 8 < ioff ||
        rlen - 8 - ioff < ilen)
        return -1;
    memcpy(info, resp + 8 + ioff, ilen);
    return (int)ilen;
}

static uint32_t rndis_set(struct nv *t, uint32_t oid, const void *val, uint32_t n)
{
    uint8_t req[256] = { 0 };
    wr32(req, RNDIS_MSG_SET);
    wr32(req + 4, 28 + n);
    wr32(req + 8, ++t->req_id);
    wr32(req + 12, oid);
    wr32(req + 16, n);
    wr32(req + 20, 20);
    memcpy(req + 28, val, n);
    uint8_t resp[512];
    uint32_t rlen = rndis_call(t, req, 28 + n, resp);
    assert_int_equal(rlen, 16);
    assert_int_equal(rd32(resp), RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
    assert_int_equal(rd32(resp + 8), t->req_id);
    return rd32(resp + 12);
}

/* rndis_filter_device_add, then the filter set on ifup. */
static void linux_rndis(struct nv *t)
{
    uint8_t req[24] = { 0 }, resp[512], info[512];
    wr32(req, RNDIS_MSG_INIT);
    wr32(req + 4, 24);
    wr32(req + 8, ++t->req_id);
    wr32(req + 12, 1);
    wr32(req + 20, 0x4000);
    uint32_t rlen = rndis_call(t, req, 24, resp);
    assert_int_equal(rlen, 52);
    assert_int_equal(rd32(resp), RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_SUCCESS);
    assert_int_equal(rd32(resp + 16), 1);                  /* major */
    assert_true(rd32(resp + 32) >= 1);                     /* max packets per message */
    assert_true(rd32(resp + 40) <= 12);                    /* alignment shift */

    assert_int_equal(rndis_query(t, OID_GEN_MAXIMUM_FRAME_SIZE, info, 4), 4);
    assert_int_equal(rd32(info), 1500);
    /* Mandatory: the MAC. */
    assert_int_equal(rndis_query(t, OID_802_3_PERMANENT_ADDRESS, info, 6), 6);
    assert_memory_equal(info, nic_mac, 6);
    int n = rndis_query(t, OID_GEN_FRIENDLY_NAME, info, 512);
    assert_true(n >= 2);
    assert_int_equal(info[0], 'N');
    /* Mandatory: offload capabilities, header type 0xA7, revision >= 1,
     * size between the 6.0 and full layouts and within what was asked. */
    n = rndis_query(t, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, info, NDIS_OFFLOAD_SIZE);
    assert_true(n >= (int)NDIS_OFFLOAD_SIZE_6_0);
    assert_int_equal(info[0], NDIS_OBJECT_TYPE_OFFLOAD);
    assert_true(info[1] >= 1);
    uint32_t osize = info[2] | info[3] << 8;
    assert_true(osize >= NDIS_OFFLOAD_SIZE_6_0 && osize <= NDIS_OFFLOAD_SIZE);
    assert_int_equal(info[1], t->version >= NVSP_VERSION_5 ? 3 : t->version >= NVSP_VERSION_4 ? 2 : 1);
    /* Mandatory: offload parameters must be accepted. */
    uint8_t params[40] = { NDIS_OBJECT_TYPE_DEFAULT, 3, 40 };
    params[4] = 1;                                         /* ip_v4_csum disabled */
    assert_int_equal(rndis_set(t, OID_TCP_OFFLOAD_PARAMETERS, params,
                               t->version <= NVSP_VERSION_4 ? 22 : sizeof(params)),
                     RNDIS_STATUS_SUCCESS);
    assert_int_equal(rndis_query(t, OID_GEN_MEDIA_CONNECT_STATUS, info, 4), 4);
    assert_int_equal(rd32(info), 0);                       /* connected */
    if (t->version >= NVSP_VERSION_5) {
        assert_int_equal(rndis_query(t, OID_GEN_LINK_SPEED, info, 4), 4);
        assert_int_equal(rd32(info), 100000000);           /* 10 Gb/s in 100 bps */
        uint8_t rss[18] = { 0 };
        n = rndis_query(t, OID_GEN_RECEIVE_SCALE_CAPABILITIES, rss, sizeof(rss));
        assert_int_equal(n, 18);
        assert_true(rd32(rss + 12) < 2);                   /* single queue */
    }
    /* An OID nobody implements: Linux's length checks fail it. */
    assert_int_equal(rndis_query(t, 0x00FF00FF, info, 512), -1);
    /* ifup */
    uint32_t filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST |
                      NDIS_PACKET_TYPE_ALL_MULTICAST;
    assert_int_equal(rndis_set(t, OID_GEN_CURRENT_PACKET_FILTER, &filter, 4),
                     RNDIS_STATUS_SUCCESS);
    assert_int_equal(netvsc_packet_filter(t->n), filter);
}

/* --------------------------------------------------------------- tests */

static void test_nvsp_versions(void **state)
{
    (void)state;
    static const uint32_t caps[] = { NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
                                     NVSP_VERSION_4, NVSP_VERSION_2, NVSP_VERSION_1 };
    for (size_t i = 0; i < 6; i++) {
        struct nv *t = nv_new(caps[i], 0);
        assert_int_equal(linux_connect(t, 256 * 1024, 64 * 1024), caps[i]);
        assert_int_equal(netvsc_version(t->n), caps[i]);
        linux_rndis(t);
        nv_free(t);
    }
}

static void send_frame_from_peer(struct nv *t, const uint8_t *dst, uint32_t len, uint32_t seed)
{
    uint8_t f[2048];
    assert_true(len <= sizeof(f));
    dh_pattern(f, len, seed);
    memcpy(f, dst, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    assert_int_equal(send(t->peer, f, len, 0), (ssize_t)len);
}

/* The guest's rndis_filter_receive_data checks on one range. */
static void check_rx_frame(struct nv *t, uint32_t off, uint32_t len, const uint8_t *dst,
                           uint32_t flen, uint32_t seed)
{
    uint8_t *m = recv_at(t, off);
    assert_int_equal(rd32(m), RNDIS_MSG_PACKET);
    uint32_t mlen = rd32(m + 4), doff = rd32(m + 8), dlen = rd32(m + 12);
    assert_true(mlen <= len);
    assert_true(doff < mlen - 8);
    assert_int_equal(dlen, flen);
    assert_true(8 + doff + dlen <= mlen);
    assert_int_equal(rd32(m + 28), 0);                     /* no per-packet info */
    uint8_t want[2048];
    dh_pattern(want, flen, seed);
    memcpy(want, dst, 6);
    memcpy(want + 6, "\x02\x00\x00\x00\x00\x01", 6);
    assert_memory_equal(m + 8 + doff, want, flen);
}

static void test_receive(void **state)
{
    (void)state;
    struct nv *t = nv_new(0, 0);
    linux_connect(t, 512 * 1024, 64 * 1024);
    linux_rndis(t);
    static const uint8_t bcast[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    static const uint8_t other[6] = { 0x00, 0x15, 0x5D, 0, 0, 9 };
    send_frame_from_peer(t, nic_mac, 1514, 1);
    send_frame_from_peer(t, other, 100, 2);               /* not ours: filtered */
    send_frame_from_peer(t, bcast, 60, 3);
    send_frame_from_peer(t, nic_mac, 14, 4);              /* minimum frame */
    struct xfer x;
    uint32_t got = 0;
    uint32_t seeds[3] = { 1, 3, 4 }, lens[3] = { 1514, 60, 14 };
    const uint8_t *dsts[3] = { nic_mac, bcast, nic_mac };
    while (got < 3) {
        assert_true(take_xfer(t, &x, 400));
        assert_int_equal(x.channel_type, NVSP_CHANNEL_DATA);
        for (uint32_t i = 0; i < x.count; i++, got++)
            check_rx_frame(t, x.off[i], x.len[i], dsts[got], lens[got], seeds[got]);
        complete_xfer(t, x.trans_id);
    }
    const struct netvsc_stats *st = netvsc_get_stats(t->n);
    assert_int_equal(st->rx_frames, 3);
    assert_int_equal(st->rx_filtered, 1);
    /* Promiscuous takes everything. */
    uint32_t promisc = NDIS_PACKET_TYPE_PROMISCUOUS;
    assert_int_equal(rndis_set(t, OID_GEN_CURRENT_PACKET_FILTER, &promisc, 4), 0);
    send_frame_from_peer(t, other, 100, 5);
    assert_true(take_xfer(t, &x, 400));
    check_rx_frame(t, x.off[0], x.len[0], other, 100, 5);
    complete_xfer(t, x.trans_id);
    /* Filter 0 (ifdown): dropped. */
    uint32_t zero = 0;
    assert_int_equal(rndis_set(t, OID_GEN_CURRENT_PACKET_FILTER, &zero, 4), 0);
    send_frame_from_peer(t, nic_mac, 100, 6);
    assert_false(take_xfer(t, &x, 20));
    nv_free(t);
}

/* Receive buffer sub-allocations: the host never hands out more than it
 * has, waits for completions, then goes on. */
static void test_receive_exhaustion(void **state)
{
    (void)state;
    struct nv *t = nv_new(0, 0);
    /* 16 KiB: only a few sub-allocations. */
    linux_connect(t, 16 * 1024, 64 * 1024);
    linux_rndis(t);
    uint32_t subs = t->nsubs;
    assert_true(subs >= 2 && subs < 16);
    for (uint32_t i = 0; i < 20; i++)
        send_frame_from_peer(t, nic_mac, 1000, 10 + i);
    struct xfer held[32];
    uint32_t nheld = 0, frames = 0;
    while (take_xfer(t, &held[nheld], 30)) {
        frames += held[nheld].count;
        nheld++;
    }
    assert_int_equal(frames, subs);                        /* all, and no more */
    assert_true(netvsc_get_stats(t->n)->rx_no_buffer > 0);
    /* Ranges are distinct sub-allocations. */
    for (uint32_t a = 0; a < nheld; a++)
        for (uint32_t i = 0; i < held[a].count; i++)
            assert_int_equal(held[a].off[i] % t->sub_size, 0);
    /* Completing one transaction lets the rest flow. */
    uint32_t seed = 10;
    for (uint32_t a = 0; a < nheld; a++)
        for (uint32_t i = 0; i < held[a].count; i++)
            check_rx_frame(t, held[a].off[i], held[a].len[i], nic_mac, 1000, seed++);
    for (uint32_t a = 0; a < nheld; a++)
        complete_xfer(t, held[a].trans_id);
    /* A completion for a transaction that is already done: ignored. */
    complete_xfer(t, held[0].trans_id);
    assert_true(netvsc_get_stats(t->n)->stale_completions >= 1);
    struct xfer x;
    while (frames < 20 && take_xfer(t, &x, 200)) {
        for (uint32_t i = 0; i < x.count; i++)
            check_rx_frame(t, x.off[i], x.len[i], nic_mac, 1000, seed++);
        frames += x.count;
        complete_xfer(t, x.trans_id);
    }
    assert_int_equal(frames, 20);
    nv_free(t);
}

/* Guest -> host frames: the peer must get exactly what the guest sent. */
static void peer_expect(struct nv *t, const uint8_t *want, uint32_t len)
{
    uint8_t got[4096];
    ssize_t r = -1;
    for (int i = 0; i < 200 && r < 0; i++) {
        r = recv(t->peer, got, sizeof(got), MSG_DONTWAIT);
        if (r < 0)
            usleep(1000);
    }
    assert_int_equal(r, (ssize_t)len);
    assert_memory_equal(got, want, len);
}

static uint32_t build_packet_msg(uint8_t *p, const uint8_t *frame, uint32_t flen, uint32_t pad,
                                 int vlan)
{
    uint32_t ppi = vlan >= 0 ? 16u : 0u;
    memset(p, 0, 44 + ppi);
    wr32(p, RNDIS_MSG_PACKET);
    wr32(p + 4, 44 + ppi + flen + pad);
    wr32(p + 8, 36 + ppi);
    wr32(p + 12, flen);
    if (vlan >= 0) {
        wr32(p + 28, 36);                                  /* ppi offset */
        wr32(p + 32, ppi);
        wr32(p + 44, 16);                                  /* size */
        wr32(p + 48, RNDIS_PPI_8021Q);
        wr32(p + 52, 12);                                  /* value offset */
        wr32(p + 56, (uint32_t)vlan);
    }
    if (frame)
        memcpy(p + 44 + ppi, frame, flen);
    return 44 + ppi + flen + pad;
}

static void test_transmit(void **state)
{
    (void)state;
    struct nv *t = nv_new(0, 0);
    linux_connect(t, 256 * 1024, 64 * 1024);
    linux_rndis(t);
    uint8_t frame[3][1514];
    for (int i = 0; i < 3; i++)
        dh_pattern(frame[i], sizeof(frame[i]), 40 + (uint32_t)i);

    /* 1. Copied into send section 2, INBAND. */
    uint8_t *sec = vh_ptr(t->h, t->send_gpa + 2 * t->section_size);
    uint32_t mlen = build_packet_msg(sec, frame[0], 200, 0, -1);
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.channel_type = NVSP_CHANNEL_DATA;
    m.rndis_pkt.section_index = 2;
    m.rndis_pkt.section_size = mlen;
    struct nvsp_msg c = nvsp_call(t, &m);
    assert_int_equal(c.type, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    peer_expect(t, frame[0], 200);

    /* 2. Batched: three messages, each padded to 8, in one section. */
    uint32_t pos = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t flen = 61 + (uint32_t)i * 10;
        uint32_t pad = (8 - (44 + flen) % 8) % 8;
        pos += build_packet_msg(sec + pos, frame[i], flen, pad, -1);
    }
    m.rndis_pkt.section_size = pos;
    c = nvsp_call(t, &m);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    for (int i = 0; i < 3; i++)
        peer_expect(t, frame[i], 61 + (uint32_t)i * 10);

    /* 3. GPA-direct: the RNDIS header in one page, the frame in two
     * scattered pages (init_page_array's layout). */
    uint64_t hdr = vh_alloc_pages(t->h, 1) + 128;
    uint64_t d1 = vh_alloc_pages(t->h, 2) + 4096 - 300;   /* crosses a page */
    build_packet_msg(vh_ptr(t->h, hdr), NULL, 1514, 0, -1);
    memcpy(vh_ptr(t->h, d1), frame[1], 1000);
    uint64_t d2 = vh_alloc_pages(t->h, 1) + 16;
    memcpy(vh_ptr(t->h, d2), frame[1] + 1000, 514);
    struct dh_range r[3] = { { hdr, 44 }, { d1, 1000 }, { d2, 514 } };
    m.rndis_pkt.section_index = NVSP_NO_SECTION;
    m.rndis_pkt.section_size = 0;
    uint64_t id = t->next_id++;
    assert_int_equal(dh_send_gpa(t->h, &t->c, id, r, 3, &m, sizeof(m)), 0);
    c = wait_comp(t, id);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    peer_expect(t, frame[1], 1514);

    /* 4. Partial copy: a whole message plus the next one's header in the
     * section, that message's frame in a GPA range. */
    pos = build_packet_msg(sec, frame[0], 100, 4, -1);
    build_packet_msg(sec + pos, NULL, 1514, 0, -1);
    pos += 44;                                             /* its header only */
    memcpy(vh_ptr(t->h, d1), frame[2], 1514);
    struct dh_range one = { d1, 1514 };
    m.rndis_pkt.section_index = 2;
    m.rndis_pkt.section_size = pos;
    id = t->next_id++;
    assert_int_equal(dh_send_gpa(t->h, &t->c, id, &one, 1, &m, sizeof(m)), 0);
    c = wait_comp(t, id);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    peer_expect(t, frame[0], 100);
    peer_expect(t, frame[2], 1514);

    /* 5. VLAN offload: the tag is put back into the frame. */
    mlen = build_packet_msg(sec, frame[0], 100, 0, (5 << 0) | (100 << 4));   /* pri 5, vid 100 */
    m.rndis_pkt.section_size = mlen;
    c = nvsp_call(t, &m);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    uint8_t tagged[104];
    memcpy(tagged, frame[0], 12);
    tagged[12] = 0x81;
    tagged[13] = 0x00;
    tagged[14] = (uint8_t)((5 << 5) | (100 >> 8));
    tagged[15] = 100 & 0xFF;
    memcpy(tagged + 16, frame[0] + 12, 88);
    peer_expect(t, tagged, 104);

    const struct netvsc_stats *st = netvsc_get_stats(t->n);
    assert_int_equal(st->tx_frames, 8);
    assert_int_equal(st->tx_dropped, 0);
    nv_free(t);
}

static void test_link_state(void **state)
{
    (void)state;
    struct nv *t = nv_new(0, 0);
    linux_connect(t, 256 * 1024, 64 * 1024);
    linux_rndis(t);
    netvsc_set_link(t->n, false);
    struct xfer x;
    assert_true(take_xfer(t, &x, 400));
    assert_int_equal(x.channel_type, NVSP_CHANNEL_CONTROL);
    uint8_t *msg = recv_at(t, x.off[0]);
    assert_int_equal(rd32(msg), RNDIS_MSG_INDICATE);
    assert_true(rd32(msg + 4) - 8 >= 12);
    assert_int_equal(rd32(msg + 8), RNDIS_STATUS_MEDIA_DISCONNECT);
    complete_xfer(t, x.trans_id);
    uint8_t info[4];
    assert_int_equal(rndis_query(t, OID_GEN_MEDIA_CONNECT_STATUS, info, 4), 4);
    assert_int_equal(rd32(info), 1);
    /* Link down: frames are neither sent nor received. */
    send_frame_from_peer(t, nic_mac, 100, 1);
    assert_false(take_xfer(t, &x, 20));
    netvsc_set_link(t->n, true);
    assert_true(take_xfer(t, &x, 400));
    assert_int_equal(rd32(recv_at(t, x.off[0]) + 8), RNDIS_STATUS_MEDIA_CONNECT);
    complete_xfer(t, x.trans_id);
    nv_free(t);
}

static void test_hostile(void **state)
{
    (void)state;
    struct nv *t = nv_new(0, 0);
    struct nvsp_msg m, c;
    /* Buffers before INIT are refused. */
    uint64_t early = vh_alloc_pages(t->h, 4);
    assert_int_equal(vh_gpadl(t->h, t->relid, 0x50, early, 4), 0);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RECV_BUF;
    m.send_buf.gpadl = 0x50;
    c = nvsp_call(t, &m);
    assert_int_equal(c.recv_buf_complete.status, NVSP_STATUS_FAIL);
    /* INIT with a range the host does not speak. */
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG_INIT;
    m.init.min_version = m.init.max_version = 0x70000;
    c = nvsp_call(t, &m);
    assert_int_equal(c.init_complete.status, NVSP_STATUS_FAIL);
    linux_connect(t, 64 * 1024, 64 * 1024);
    linux_rndis(t);
    /* A second receive buffer, an unknown GPADL. */
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RECV_BUF;
    m.send_buf.gpadl = 0x50;
    assert_int_equal(nvsp_call(t, &m).recv_buf_complete.status, NVSP_STATUS_FAIL);
    m.type = NVSP_MSG1_SEND_SEND_BUF;
    m.send_buf.gpadl = 0x999;
    assert_int_equal(nvsp_call(t, &m).send_buf_complete.status, NVSP_STATUS_FAIL);

    /* Send sections out of range, oversized section data. */
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.section_index = t->send_bytes / t->section_size;
    m.rndis_pkt.section_size = 100;
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    m.rndis_pkt.section_index = 0;
    m.rndis_pkt.section_size = t->section_size + 1;
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    m.rndis_pkt.section_index = 0xFFFFFFFE;
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);

    /* Malformed RNDIS in a section: length beyond the data, frame beyond
     * the message, offsets inside the header, huge per-packet info. */
    uint8_t *sec = vh_ptr(t->h, t->send_gpa);
    uint8_t f[64] = { 0 };
    uint32_t len = build_packet_msg(sec, f, 64, 0, -1);
    m.rndis_pkt.section_index = 0;
    m.rndis_pkt.section_size = len - 1;                    /* message runs past */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    m.rndis_pkt.section_size = len;
    wr32(sec + 12, 65);                                    /* frame past message */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    wr32(sec + 12, 64);
    wr32(sec + 8, 4);                                      /* data inside header */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    wr32(sec + 8, 36);
    wr32(sec + 28, 36);
    wr32(sec + 32, 0xFFFFFFF0u);                           /* per-packet info */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    wr32(sec + 32, 0);
    wr32(sec + 4, 0);                                      /* zero length */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);

    /* GPA-direct into the memory hole. */
    uint64_t hole = (12ull << 20) >> 12;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.section_index = NVSP_NO_SECTION;
    uint64_t id = t->next_id++;
    assert_int_equal(dh_send_gpa_pfns(t->h, &t->c, id, 0, 100, &hole, 1, &m, sizeof(m)), 0);
    assert_int_equal(wait_comp(t, id).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    /* A control message larger than any real one. */
    uint64_t big = vh_alloc_pages(t->h, 2);
    struct dh_range br = { big, 8000 };
    m.rndis_pkt.channel_type = NVSP_CHANNEL_CONTROL;
    id = t->next_id++;
    assert_int_equal(dh_send_gpa(t->h, &t->c, id, &br, 1, &m, sizeof(m)), 0);
    assert_int_equal(wait_comp(t, id).rndis_pkt_complete.status, NVSP_STATUS_FAIL);

    /* Completions nobody asked for; short and unknown NVSP messages. */
    complete_xfer(t, 0x123456789ull);
    complete_xfer(t, 0);
    uint16_t tiny = 7;
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 1, 99, NULL, 0, &tiny, 2), 0);
    memset(&m, 0, sizeof(m));
    m.type = 4242;
    nvsp_post(t, &m);
    const struct netvsc_stats *st = netvsc_get_stats(t->n);
    assert_true(st->stale_completions >= 2);
    assert_true(st->bad_packets >= 12);

    /* Revoke, then use: refused, nothing mapped any more. */
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_REVOKE_SEND_BUF;
    nvsp_post(t, &m);
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.section_index = 0;
    m.rndis_pkt.section_size = 60;
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_REVOKE_RECV_BUF;
    nvsp_post(t, &m);
    send_frame_from_peer(t, nic_mac, 100, 1);
    struct xfer x;
    assert_false(take_xfer(t, &x, 20));
    /* The teardown of revoked buffers is answered at once. */
    assert_int_equal(vh_gpadl_teardown(t->h, t->relid, 0x100), 0x100);
    assert_int_equal(vh_gpadl_teardown(t->h, t->relid, 0x101), 0x101);
    /* Still alive: a fresh INIT works. */
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG_INIT;
    m.init.min_version = m.init.max_version = NVSP_VERSION_61;
    assert_int_equal(nvsp_call(t, &m).init_complete.status, NVSP_STATUS_SUCCESS);
    nv_free(t);
}

/* The guest stops reading: the host stops taking frames and requests,
 * keeps what it owes, and delivers all of it once the guest reads. */
static void test_ring_full(void **state)
{
    (void)state;
    struct nv *t = nv_new(0, 0);
    /* Big receive buffer, so the ring (not the buffer) fills first. */
    linux_connect(t, 4u << 20, 64 * 1024);
    linux_rndis(t);
    /* One section's frame sent 3000 times without reading replies. */
    uint8_t *sec = vh_ptr(t->h, t->send_gpa);
    uint8_t f[60];
    dh_pattern(f, sizeof(f), 9);
    uint32_t mlen = build_packet_msg(sec, f, sizeof(f), 0, -1);
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.section_size = mlen;
    uint32_t sent = 0;
    for (uint32_t i = 0; i < 12000; i++) {
        if (dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, VMBUS_PACKET_FLAG_COMPLETION_REQUESTED,
                    5000 + i, NULL, 0, &m, sizeof(m)))
            break;
        sent++;
        /* Drain the peer so the socket never pushes back. */
        uint8_t junk[128];
        while (recv(t->peer, junk, sizeof(junk), MSG_DONTWAIT) > 0)
            ;
    }
    dh_pump(t->h);
    assert_true(netvsc_get_stats(t->n)->ring_full > 0);
    /* Read everything: every completion arrives, in order. */
    uint8_t buf[8192];
    uint32_t len, got = 0;
    while (got < sent && next_packet(t, buf, &len, 50)) {
        const struct vmbus_packet_desc *d = desc_of(buf);
        if (d->type != VMBUS_PKT_COMP)
            continue;
        assert_true(d->trans_id == 5000 + got);
        got++;
    }
    assert_int_equal(got, sent);
    nv_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nvsp_versions),
        cmocka_unit_test(test_receive),
        cmocka_unit_test(test_receive_exhaustion),
        cmocka_unit_test(test_transmit),
        cmocka_unit_test(test_link_state),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_ring_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
