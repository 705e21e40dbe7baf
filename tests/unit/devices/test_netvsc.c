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

#include "tests/unit/devices/nic_guest.h"

static const uint8_t nic_mac[6] = { 0x00, 0x15, 0x5D, 0x12, 0x34, 0x56 };

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
    memcpy(t->mac, nic_mac, 6);
    t->mtu = mtu ? mtu : 1500;
    nv_bringup(t);
    return t;
}

static void nv_free(struct nv *t)
{
    vh_destroy(t->h);
    close(t->peer);
    free(t);
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
    assert_int_equal(nv_rd32(m), RNDIS_MSG_PACKET);
    uint32_t mlen = nv_rd32(m + 4), doff = nv_rd32(m + 8), dlen = nv_rd32(m + 12);
    assert_true(mlen <= len);
    assert_true(doff < mlen - 8);
    assert_int_equal(dlen, flen);
    assert_true(8 + doff + dlen <= mlen);
    assert_int_equal(nv_rd32(m + 28), 0);                     /* no per-packet info */
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
    assert_int_equal(nv_rd32(msg), RNDIS_MSG_INDICATE);
    assert_true(nv_rd32(msg + 4) - 8 >= 12);
    assert_int_equal(nv_rd32(msg + 8), RNDIS_STATUS_MEDIA_DISCONNECT);
    complete_xfer(t, x.trans_id);
    uint8_t info[4];
    assert_int_equal(rndis_query(t, OID_GEN_MEDIA_CONNECT_STATUS, info, 4), 4);
    assert_int_equal(nv_rd32(info), 1);
    /* Link down: frames are neither sent nor received. */
    send_frame_from_peer(t, nic_mac, 100, 1);
    assert_false(take_xfer(t, &x, 20));
    netvsc_set_link(t->n, true);
    assert_true(take_xfer(t, &x, 400));
    assert_int_equal(nv_rd32(recv_at(t, x.off[0]) + 8), RNDIS_STATUS_MEDIA_CONNECT);
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
    nv_wr32(sec + 12, 65);                                    /* frame past message */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    nv_wr32(sec + 12, 64);
    nv_wr32(sec + 8, 4);                                      /* data inside header */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    nv_wr32(sec + 8, 36);
    nv_wr32(sec + 28, 36);
    nv_wr32(sec + 32, 0xFFFFFFF0u);                           /* per-packet info */
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_FAIL);
    nv_wr32(sec + 32, 0);
    nv_wr32(sec + 4, 0);                                      /* zero length */
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
