/* SPDX-License-Identifier: MIT */
/*
 * Channels end to end against the Linux-like guest: open/close, ring
 * traffic with wrap-around, signalling counts, blocked writers, rx budget,
 * monitor pages, MODIFYCHANNEL, rescind, device buffers, and a guest that
 * breaks its ring (only its channel closes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/unit/vmbus/harness.h"
#include "vmbus/server_internal.h"

#define NIC  "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define INST1 "00000000-0000-0000-0000-000000000001"
#define INST2 "00000000-0000-0000-0000-000000000002"

struct fixture {
    struct vh *h;
    struct vh_echo *e[2];
    struct vmbus_msg_offer_channel o[2];
};

static void connect_with(struct fixture *f, uint32_t nr_vps, uint32_t version, bool monitor)
{
    f->h = vh_create(nr_vps, version);
    f->e[0] = vh_add_echo(f->h, NIC, INST1, 0, monitor);
    f->e[1] = vh_add_echo(f->h, NIC, INST2, 0, false);
    uint32_t tries;
    assert_int_equal(vh_connect(f->h, &tries), version ? version : VMBUS_VERSION_WIN10_V5_3);
    assert_int_equal(vh_request_offers(f->h, f->o, 2), 2);
}

static int64_t open_ch(struct fixture *f, struct vh_chan *c, int i, uint32_t gpadl,
                       uint32_t pages)
{
    return vh_open(f->h, c, f->o[i].child_relid, f->o[i].connection_id, gpadl, pages, pages, 0);
}

/* Send one packet and read the echo back; returns its length. */
static uint32_t echo_once(struct vh *h, struct vh_chan *c, uint64_t id, const uint8_t *data,
                          uint32_t len)
{
    assert_int_equal(vh_ring_send(h, c, VMBUS_PKT_DATA_INBAND, 0, id, data, len), 0);
    struct vmbus_packet_desc d;
    uint8_t buf[4096];
    uint32_t got;
    assert_int_equal(vh_ring_recv(h, c, &d, buf, sizeof(buf), &got), 1);
    assert_int_equal(d.trans_id, id);
    assert_int_equal(d.type, VMBUS_PKT_DATA_INBAND);
    assert_memory_equal(buf, data, len);
    return got;
}

static void open_and_echo(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 2, 0, false);
    struct vh_chan c;
    /* util-sized rings: 16 KiB each way */
    assert_int_equal(open_ch(&f, &c, 0, 0xE1E10, 4), 0);
    assert_int_equal(f.e[0]->opens, 1);
    uint8_t data[2000];
    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    assert_int_equal(echo_once(f.h, &c, 1, data, 100), 104);
    /* One signal each way per packet into an empty ring. */
    assert_int_equal(vh_take_signals(f.h, c.relid), 1);
    /* Many packets of odd sizes: the 12 KiB rings wrap many times. */
    for (uint32_t i = 0; i < 500; i++)
        echo_once(f.h, &c, 100 + i, data, 1 + (i * 37) % 2000);
    assert_int_equal(f.e[0]->packets, 501);
    assert_int_equal(vh_take_signals(f.h, c.relid), 500);
    /* Batches: the host signals once for a burst read in one go. */
    bool sig;
    int sent = 0;
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(vh_ring_write(&c.out, 6, 0, i, data, 64, &sig), 0);
        sent += sig;
    }
    assert_int_equal(sent, 1);
    vh_signal(f.h, c.relid);
    assert_int_equal(vh_take_signals(f.h, c.relid), 1);
    for (uint32_t i = 0; i < 10; i++) {
        struct vmbus_packet_desc d;
        uint8_t buf[128];
        uint32_t got;
        assert_int_equal(vh_ring_recv(f.h, &c, &d, buf, sizeof(buf), &got), 1);
        assert_int_equal(d.trans_id, i);
    }
    /* Close: the device hears it, the ring GPADL can go. */
    vh_close(f.h, &c);
    assert_int_equal(f.e[0]->closes, 1);
    assert_int_equal(vh_gpadl_teardown(f.h, c.relid, 0xE1E10), 0xE1E10);
    /* Re-open with a new ring. */
    assert_int_equal(open_ch(&f, &c, 0, 0xE1E11, 8), 0);
    echo_once(f.h, &c, 7, data, 8);
    vh_destroy(f.h);
}

static void open_refusals(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 2, 0, false);
    struct vh *h = f.h;
    uint32_t r0 = f.o[0].child_relid, r1 = f.o[1].child_relid;
    uint64_t ring = vh_alloc_pages(h, 8);
    assert_int_equal(vh_gpadl(h, r0, 1, ring, 8), 0);
    assert_int_equal(vh_gpadl(h, r1, 2, vh_alloc_pages(h, 8), 8), 0);
    /* A GPADL of two ranges cannot hold rings. */
    uint64_t two[4] = { 4096, ring >> 12, 4000 | (uint64_t)16 << 32, (ring >> 12) + 1 };
    struct { struct vmbus_msg_gpadl_header h; uint64_t r[4]; } __attribute__((packed)) gh = {
        .h = { .header.msgtype = VMBUS_MSG_GPADL_HEADER, .child_relid = r0, .gpadl = 3,
               .range_buflen = 32, .range_count = 2 } };
    memcpy(gh.r, two, 32);
    vh_post_conn(h, &gh, sizeof(gh));
    assert_int_equal(((const struct vmbus_msg_gpadl_created *)
                      vh_expect(h, VMBUS_MSG_GPADL_CREATED))->creation_status, 0);

    struct { uint32_t relid, gpadl, offset, vp; } bad[] = {
        { r0, 99, 4, 0 },     /* unknown GPADL */
        { r0, 2, 4, 0 },      /* another channel's GPADL */
        { r0, 3, 1, 0 },      /* two ranges */
        { r0, 1, 0, 0 },      /* no room for the guest-to-host ring */
        { r0, 1, 1, 0 },
        { r0, 1, 7, 0 },      /* no room for the host-to-guest ring */
        { r0, 1, 9, 0 },
        { r0, 1, 0xFFFFFFFFu, 0 },
        { r0, 1, 4, 2 },      /* VP out of range */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vmbus_msg_open_channel m = { .header.msgtype = VMBUS_MSG_OPENCHANNEL,
                                            .child_relid = bad[i].relid, .open_id = 5,
                                            .ring_gpadl = bad[i].gpadl,
                                            .downstream_page_offset = bad[i].offset,
                                            .target_vp = bad[i].vp };
        vh_post_conn(h, &m, sizeof(m));
        const struct vmbus_msg_open_result *r = vh_expect(h, VMBUS_MSG_OPENCHANNEL_RESULT);
        assert_int_equal(r->status, VMBUS_STATUS_UNSUCCESSFUL);
        assert_int_equal(r->open_id, 5);
    }
    assert_int_equal(f.e[0]->opens, 0);
    /* Unknown relid: no answer at all. */
    struct vmbus_msg_open_channel m = { .header.msgtype = VMBUS_MSG_OPENCHANNEL,
                                        .child_relid = 77, .ring_gpadl = 1,
                                        .downstream_page_offset = 4 };
    vh_post_conn(h, &m, sizeof(m));
    assert_int_equal(vh_pending_msgs(h), 0);
    /* Good open, then: already open, and a second channel on the same ring. */
    m.child_relid = r0;
    vh_post_conn(h, &m, sizeof(m));
    assert_int_equal(((const struct vmbus_msg_open_result *)
                      vh_expect(h, VMBUS_MSG_OPENCHANNEL_RESULT))->status, 0);
    vh_post_conn(h, &m, sizeof(m));
    assert_int_equal(((const struct vmbus_msg_open_result *)
                      vh_expect(h, VMBUS_MSG_OPENCHANNEL_RESULT))->status,
                     VMBUS_STATUS_UNSUCCESSFUL);
    assert_int_equal(f.e[0]->opens, 1);
    /* The device itself may refuse. */
    f.e[1]->refuse_open = true;
    m.child_relid = r1;
    m.ring_gpadl = 2;
    vh_post_conn(h, &m, sizeof(m));
    assert_int_equal(((const struct vmbus_msg_open_result *)
                      vh_expect(h, VMBUS_MSG_OPENCHANNEL_RESULT))->status,
                     VMBUS_STATUS_UNSUCCESSFUL);
    /* ... and its ring GPADL is free again afterwards. */
    f.e[1]->refuse_open = false;
    vh_post_conn(h, &m, sizeof(m));
    assert_int_equal(((const struct vmbus_msg_open_result *)
                      vh_expect(h, VMBUS_MSG_OPENCHANNEL_RESULT))->status, 0);
    vh_destroy(h);
}

static void teardown_waits_for_close(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, false);
    struct vh_chan c;
    assert_int_equal(open_ch(&f, &c, 0, 0xE1E10, 4), 0);
    /* Tearing down the ring of an open channel: answered after close. */
    assert_int_equal(vh_gpadl_teardown(f.h, c.relid, 0xE1E10), -1);
    assert_int_equal(vh_gpadl_teardown(f.h, c.relid, 0xE1E10), -1);
    uint8_t d[8] = { 1 };
    echo_once(f.h, &c, 1, d, 8);
    vh_close(f.h, &c);
    const struct vmbus_msg_gpadl_torndown *t = vh_expect(f.h, VMBUS_MSG_GPADL_TORNDOWN);
    assert_int_equal(t->gpadl, 0xE1E10);
    assert_int_equal(vh_pending_msgs(f.h), 0);
    vh_destroy(f.h);
}

static void broken_ring_closes_only_its_channel(void **state)
{
    (void)state;
    uint32_t corruptions[] = { 0, 1, 2, 3 };
    for (size_t k = 0; k < sizeof(corruptions) / sizeof(corruptions[0]); k++) {
        struct fixture f;
        connect_with(&f, 1, 0, false);
        struct vh_chan a, b;
        assert_int_equal(open_ch(&f, &a, 0, 10, 4), 0);
        assert_int_equal(open_ch(&f, &b, 1, 11, 4), 0);
        uint8_t d[32] = { 9 };
        echo_once(f.h, &a, 1, d, 32);
        echo_once(f.h, &b, 1, d, 32);
        switch (corruptions[k]) {
        case 0:   /* write index past the end */
            VH_WRITE_INDEX(&a.out) = a.out.size + 64;
            break;
        case 1:   /* misaligned write index */
            VH_WRITE_INDEX(&a.out) += 4;
            break;
        case 2: { /* a descriptor claiming more than was written */
            bool sig;
            vh_ring_write(&a.out, 6, 0, 5, d, 8, &sig);
            uint32_t at = VH_WRITE_INDEX(&a.out) - 32;
            struct vmbus_packet_desc *pd = (void *)(a.out.hdr + HV_PAGE_SIZE + at);
            pd->len8 = 200;
            break;
        }
        case 3:   /* read index of the host-to-guest ring moved past our writes */
            VH_READ_INDEX(&a.in) = 512;
            bool sig;
            vh_ring_write(&a.out, 6, 0, 5, d, 8, &sig);
            break;
        }
        uint32_t logs = f.h->nlogs;
        vh_signal(f.h, a.relid);
        vh_run(f.h);
        assert_int_equal(f.e[0]->closes, 1);
        assert_true(f.h->nlogs > logs);          /* one log line says why */
        assert_non_null(strstr(f.h->last_log, "closing"));
        assert_int_equal(vmbus_server_stats(f.h->srv)->ring_violations, 1);
        /* The other channel carries on. */
        echo_once(f.h, &b, 2, d, 32);
        assert_int_equal(f.e[1]->closes, 0);
        /* Signals to the dead channel do nothing; the guest's CLOSECHANNEL
         * is accepted, and a fresh open works. */
        vh_signal(f.h, a.relid);
        vh_close(f.h, &a);
        assert_int_equal(f.e[0]->closes, 1);
        assert_int_equal(vh_gpadl_teardown(f.h, a.relid, 10), 10);
        assert_int_equal(open_ch(&f, &a, 0, 12, 4), 0);
        echo_once(f.h, &a, 3, d, 32);
        vh_destroy(f.h);
    }
}

static void blocked_writer_resumes(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, false);
    struct vh_chan c;
    /* Guest -> host ring of 8 pages, host -> guest of 2 (4 KiB of data). */
    assert_int_equal(vh_open(f.h, &c, f.o[0].child_relid, f.o[0].connection_id, 1, 8, 2, 0),
                     0);
    uint8_t d[1000];
    memset(d, 0x77, sizeof(d));
    /* The guest writes 6 packets and never reads: 3 echoes fit, then the
     * device blocks and stops taking packets. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(vh_ring_send(f.h, &c, 6, 0, (uint64_t)i, d, sizeof(d)), 0);
    assert_int_equal(f.e[0]->blocked, 1);
    assert_int_equal(f.e[0]->packets, 4);
    assert_int_equal(VH_PENDING(&c.in), vmbus_ring_packet_bytes(0, 1000));
    /* The guest reads one: that crossing signals the host, which resumes. */
    struct vmbus_packet_desc desc;
    uint8_t buf[1024];
    uint32_t got;
    uint64_t next = 0;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(vh_ring_recv(f.h, &c, &desc, buf, sizeof(buf), &got), 1);
        assert_int_equal(desc.trans_id, next++);
        vh_run(f.h);
    }
    assert_int_equal(vh_ring_recv(f.h, &c, &desc, buf, sizeof(buf), &got), 0);
    assert_int_equal(f.e[0]->packets, 6);
    assert_true(f.e[0]->writables >= 2);
    assert_int_equal(VH_PENDING(&c.in), 0);
    vh_destroy(f.h);
}

static void rx_budget_yields(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, false);
    struct vh_chan c;
    assert_int_equal(vh_open(f.h, &c, f.o[0].child_relid, f.o[0].connection_id, 1, 64, 64, 0),
                     0);
    uint8_t d[8] = { 0 };
    for (int i = 0; i < 1000; i++) {
        bool sig;
        assert_int_equal(vh_ring_write(&c.out, 6, 0, (uint64_t)i, d, 8, &sig), 0);
    }
    vh_signal(f.h, c.relid);
    assert_int_equal(f.e[0]->packets, f.h->cfg.rx_budget);
    assert_int_equal(vmbus_server_next_deadline(f.h->srv), 0);
    /* The host keeps the mask set while it owes a visit: no guest signals. */
    assert_int_equal(VH_INT_MASK(&c.out), 1);
    vh_run(f.h);
    assert_int_equal(f.e[0]->packets, 1000);
    assert_int_equal(VH_INT_MASK(&c.out), 0);
    assert_int_equal(vmbus_server_next_deadline(f.h->srv), UINT64_MAX);
    vh_destroy(f.h);
}

static void monitored_channel(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, true);
    assert_int_equal(f.o[0].monitor_allocated, 1);
    assert_int_equal(f.o[0].monitor_id, 0);
    assert_int_equal(f.o[1].monitor_allocated, 0);
    struct vh_chan c;
    assert_int_equal(open_ch(&f, &c, 0, 1, 4), 0);
    /* Linux: set the trigger bit instead of calling HvSignalEvent. */
    uint8_t d[16] = { 3 };
    bool sig;
    assert_int_equal(vh_ring_write(&c.out, 6, 0, 42, d, 16, &sig), 0);
    assert_true(sig);
    uint32_t *pending = (uint32_t *)(void *)(vh_ptr(f.h, f.h->monitor2) + 8);
    __atomic_fetch_or(pending, 1u << f.o[0].monitor_id, __ATOMIC_SEQ_CST);
    assert_int_equal(f.e[0]->packets, 0);
    vh_advance(f.h, f.h->cfg.monitor_poll_ns);
    assert_int_equal(f.e[0]->packets, 1);
    assert_int_equal(*pending, 0);
    struct vmbus_packet_desc desc;
    uint8_t buf[64];
    uint32_t got;
    assert_int_equal(vh_ring_recv(f.h, &c, &desc, buf, sizeof(buf), &got), 1);
    assert_int_equal(desc.trans_id, 42);
    /* Without open monitored channels the server does not poll. */
    vh_close(f.h, &c);
    assert_int_equal(vmbus_server_next_deadline(f.h->srv), UINT64_MAX);
    vh_destroy(f.h);
}

static void modify_channel(void **state)
{
    (void)state;
    struct { uint32_t version; bool applies, answers; } cases[] = {
        { VMBUS_VERSION_WIN10_V5_3, true, true },
        { VMBUS_VERSION_WIN10_V5_2, true, false },
        { VMBUS_VERSION_WIN10_V4_1, true, false },
        { VMBUS_VERSION_WIN10, false, false },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct fixture f;
        connect_with(&f, 4, cases[k].version, false);
        struct vh_chan c;
        assert_int_equal(open_ch(&f, &c, 0, 1, 4), 0);
        struct vmbus_msg_modify_channel m = { .header.msgtype = VMBUS_MSG_MODIFYCHANNEL,
                                              .child_relid = c.relid, .target_vp = 2 };
        vh_post_conn(f.h, &m, sizeof(m));
        if (cases[k].answers) {
            const struct vmbus_msg_modify_channel_response *r =
                vh_expect(f.h, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
            assert_int_equal(r->child_relid, c.relid);
            assert_int_equal(r->status, 0);
            /* out of range, or a channel that is not open */
            m.target_vp = 4;
            vh_post_conn(f.h, &m, sizeof(m));
            r = vh_expect(f.h, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
            assert_int_equal(r->status, VMBUS_STATUS_UNSUCCESSFUL);
            m.child_relid = f.o[1].child_relid;
            m.target_vp = 1;
            vh_post_conn(f.h, &m, sizeof(m));
            r = vh_expect(f.h, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
            assert_int_equal(r->status, VMBUS_STATUS_UNSUCCESSFUL);
        }
        assert_int_equal(vh_pending_msgs(f.h), 0);
        uint8_t d[8] = { 1 };
        uint32_t before = f.h->nsignals;
        echo_once(f.h, &c, 1, d, 8);
        assert_int_equal(f.h->nsignals, before + 1);
        assert_int_equal(f.h->signals[before].vp, cases[k].applies ? 2 : 0);
        vh_destroy(f.h);
    }
}

static void rescind_and_release(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, false);
    struct vh_chan c;
    assert_int_equal(open_ch(&f, &c, 0, 1, 4), 0);
    assert_int_equal(vh_gpadl(f.h, c.relid, 2, vh_alloc_pages(f.h, 2), 2), 0);
    uint32_t conns = f.h->nconns;
    vmbus_server_remove_device(f.h->srv, f.e[0]->ch);
    assert_int_equal(f.e[0]->closes, 1);
    assert_int_equal(f.e[0]->destroyed, 1);
    const struct vmbus_msg_rescind_offer *r = vh_expect(f.h, VMBUS_MSG_RESCIND_CHANNELOFFER);
    assert_int_equal(r->child_relid, c.relid);
    /* Linux closes (no GPADL teardown after a rescind), then releases. */
    vh_close(f.h, &c);
    vh_signal(f.h, c.relid);
    assert_int_equal(vh_pending_msgs(f.h), 0);
    /* The relid is not reused before the release. */
    struct vh_echo *n = vh_add_echo(f.h, NIC, "00000000-0000-0000-0000-000000000003", 0, false);
    assert_int_not_equal(vmbus_channel_relid(n->ch), c.relid);
    vh_expect(f.h, VMBUS_MSG_OFFERCHANNEL);
    struct vmbus_msg_relid_released rel = { .header.msgtype = VMBUS_MSG_RELID_RELEASED,
                                            .child_relid = c.relid };
    vh_post_conn(f.h, &rel, sizeof(rel));
    assert_int_equal(f.h->nconns, conns);     /* one gone, one added */
    assert_int_equal(f.h->srv->gpadls.count, 0);
    /* Releasing again, or releasing a live channel, is refused. */
    uint64_t bad = vmbus_server_stats(f.h->srv)->messages_bad;
    vh_post_conn(f.h, &rel, sizeof(rel));
    rel.child_relid = f.o[1].child_relid;
    vh_post_conn(f.h, &rel, sizeof(rel));
    assert_int_equal(vmbus_server_stats(f.h->srv)->messages_bad, bad + 2);
    /* Now the relid can be handed out again. */
    struct vh_echo *m = vh_add_echo(f.h, NIC, "00000000-0000-0000-0000-000000000004", 0, false);
    assert_int_equal(vmbus_channel_relid(m->ch), c.relid);
    vh_destroy(f.h);
}

static void remove_before_offer_frees_at_once(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    struct vh_echo *e = vh_add_echo(h, NIC, INST1, 0, false);
    uint32_t relid = vmbus_channel_relid(e->ch);
    vmbus_server_remove_device(h->srv, e->ch);
    assert_int_equal(e->destroyed, 1);
    assert_null(vmbus_server_channel(h->srv, relid));
    assert_int_equal(h->nconns, 2);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[1];
    assert_int_equal(vh_request_offers(h, o, 1), 0);
    vh_destroy(h);
}

static void device_buffer_gpadl(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, false);
    struct vh_chan c;
    assert_int_equal(open_ch(&f, &c, 0, 1, 4), 0);
    /* A receive buffer scattered over guest RAM: mapped contiguously. */
    uint64_t pfns[3] = { (VH_HIGH_GPA >> 12) + 5, 400, 401 };
    assert_int_equal(vh_gpadl_pfns(f.h, c.relid, 0xCAFE, pfns, 3), 0);
    uint32_t bytes;
    uint8_t *buf = vmbus_channel_gpadl_map(f.e[0]->ch, 0xCAFE, &bytes);
    assert_non_null(buf);
    assert_int_equal(bytes, 3 * 4096);
    buf[4096 + 10] = 0x5A;
    assert_int_equal(vh_ptr(f.h, 400 * 4096)[10], 0x5A);
    /* Not twice, not the ring, not another channel's, not unknown. */
    assert_null(vmbus_channel_gpadl_map(f.e[0]->ch, 0xCAFE, &bytes));
    assert_null(vmbus_channel_gpadl_map(f.e[0]->ch, 1, &bytes));
    assert_null(vmbus_channel_gpadl_map(f.e[1]->ch, 0xCAFE, &bytes));
    assert_null(vmbus_channel_gpadl_map(f.e[0]->ch, 0xBEEF, &bytes));
    /* The guest tears it down while mapped: answered on unmap. */
    assert_int_equal(vh_gpadl_teardown(f.h, c.relid, 0xCAFE), -1);
    vmbus_channel_gpadl_unmap(f.e[0]->ch, 0xCAFE);
    assert_int_equal(((const struct vmbus_msg_gpadl_torndown *)
                      vh_expect(f.h, VMBUS_MSG_GPADL_TORNDOWN))->gpadl, 0xCAFE);
    /* A mapping still held at close is released by the close. */
    assert_int_equal(vh_gpadl(f.h, c.relid, 0xD00D, vh_alloc_pages(f.h, 2), 2), 0);
    assert_non_null(vmbus_channel_gpadl_map(f.e[0]->ch, 0xD00D, &bytes));
    vh_close(f.h, &c);
    assert_int_equal(vh_gpadl_teardown(f.h, c.relid, 0xD00D), 0xD00D);
    vh_destroy(f.h);
}

static void sends_on_closed_channel(void **state)
{
    (void)state;
    struct fixture f;
    connect_with(&f, 1, 0, false);
    uint8_t d[8] = { 0 };
    assert_int_equal(vmbus_channel_send_inband(f.e[0]->ch, 0, 1, d, 8), VMBUS_CHANNEL_E_CLOSED);
    struct vh_chan c;
    assert_int_equal(open_ch(&f, &c, 0, 1, 4), 0);
    assert_true(vmbus_channel_is_open(f.e[0]->ch));
    assert_int_equal(vmbus_channel_send_completion(f.e[0]->ch, 9, d, 8), VMBUS_RING_OK);
    struct vmbus_packet_desc desc;
    uint8_t buf[64];
    uint32_t got;
    assert_int_equal(vh_ring_recv(f.h, &c, &desc, buf, sizeof(buf), &got), 1);
    assert_int_equal(desc.type, VMBUS_PKT_COMP);
    assert_int_equal(desc.trans_id, 9);
    /* The guest breaks the host-to-guest ring: the send reports closed and
     * the close itself happens from the next server entry. */
    VH_READ_INDEX(&c.in) = 4000;    /* past anything written */
    assert_int_equal(vmbus_channel_send_inband(f.e[0]->ch, 0, 1, d, 8), VMBUS_CHANNEL_E_CLOSED);
    assert_false(vmbus_channel_is_open(f.e[0]->ch));
    assert_int_equal(f.e[0]->closes, 0);
    assert_int_equal(vmbus_server_next_deadline(f.h->srv), 0);
    vh_run(f.h);
    assert_int_equal(f.e[0]->closes, 1);
    vh_destroy(f.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_and_echo),
        cmocka_unit_test(open_refusals),
        cmocka_unit_test(teardown_waits_for_close),
        cmocka_unit_test(broken_ring_closes_only_its_channel),
        cmocka_unit_test(blocked_writer_resumes),
        cmocka_unit_test(rx_budget_yields),
        cmocka_unit_test(monitored_channel),
        cmocka_unit_test(modify_channel),
        cmocka_unit_test(rescind_and_release),
        cmocka_unit_test(remove_before_offer_frees_at_once),
        cmocka_unit_test(device_buffer_gpadl),
        cmocka_unit_test(sends_on_closed_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
