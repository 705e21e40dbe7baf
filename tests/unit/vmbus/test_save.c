/* SPDX-License-Identifier: MIT */
/*
 * Save/restore: a bus in the middle of things (open channels with data in
 * flight both ways, a half-built GPADL, a deferred teardown, a device
 * buffer mapping, queued messages) moves to a fresh server on the same
 * guest memory and carries on; damaged or mismatched blobs are refused
 * without changing anything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/unit/vmbus/harness.h"
#include "vmbus/ic/services.h"

#define NIC  "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define INST1 "00000000-0000-0000-0000-000000000001"
#define INST2 "00000000-0000-0000-0000-000000000002"

struct world {
    struct vh *h;
    struct vh_echo *a, *b;
    struct vmbus_heartbeat *hb;
};

static void add_devices(struct world *w)
{
    w->a = vh_add_echo(w->h, NIC, INST1, 0, false);
    w->b = vh_add_echo(w->h, NIC, INST2, 0, false);
    w->hb = vmbus_heartbeat_create(w->h->srv, 0);
    assert_non_null(w->hb);
}

static uint8_t *save(struct vh *h, long *len)
{
    long n = vmbus_server_save(h->srv, NULL, 0);
    assert_true(n > 16);
    uint8_t *buf = malloc((size_t)n);
    assert_int_equal(vmbus_server_save(h->srv, buf, (size_t)n - 1), -1);
    assert_int_equal(vmbus_server_save(h->srv, buf, (size_t)n), n);
    *len = n;
    return buf;
}

static void roundtrip(void **state)
{
    (void)state;
    struct world w = { .h = vh_create(2, 0) };
    struct vh *h = w.h;
    add_devices(&w);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[3];
    assert_int_equal(vh_request_offers(h, o, 3), 3);
    uint32_t ra = vmbus_channel_relid(w.a->ch), rb = vmbus_channel_relid(w.b->ch);
    uint32_t rh = 0;
    for (int i = 0; i < 3; i++)
        if (o[i].child_relid != ra && o[i].child_relid != rb)
            rh = o[i].child_relid;

    struct vh_chan a, hbc;
    assert_int_equal(vh_open(h, &a, ra, VMBUS_EVENT_CONNECTION_BASE + ra, 0x10, 4, 4, 1), 0);
    assert_int_equal(vh_open(h, &hbc, rh, VMBUS_EVENT_CONNECTION_BASE + rh, 0x11, 4, 4, 0), 0);
    /* B: a GPADL, later torn down while the answer cannot be delivered. */
    assert_int_equal(vh_gpadl(h, rb, 0x20, vh_alloc_pages(h, 2), 2), 0);
    /* A: a device buffer mapping, and a half-built GPADL. */
    uint64_t buf_gpa = vh_alloc_pages(h, 40);
    assert_int_equal(vh_gpadl(h, ra, 0x30, buf_gpa, 3), 0);
    uint32_t bytes;
    uint8_t *mapped = vmbus_channel_gpadl_map(w.a->ch, 0x30, &bytes);
    assert_non_null(mapped);
    uint64_t pfns[40];
    for (int i = 0; i < 40; i++)
        pfns[i] = (buf_gpa >> 12) + (uint64_t)i;
    struct { struct vmbus_msg_gpadl_header h; struct vmbus_gpa_range r; uint64_t p[26]; }
        __attribute__((packed)) gh = {
        .h = { .header.msgtype = VMBUS_MSG_GPADL_HEADER, .child_relid = ra, .gpadl = 0x31,
               .range_buflen = 8 + 40 * 8, .range_count = 1 },
        .r = { .byte_count = 40 * 4096 } };
    memcpy(gh.p, pfns, sizeof(gh.p));
    vh_post_conn(h, &gh, sizeof(gh));
    assert_int_equal(vh_pending_msgs(h), 0);
    /* Traffic: one echo done, one host->guest packet unread, one
     * guest->host packet written without a signal. */
    uint8_t d[64];
    memset(d, 0xAB, sizeof(d));
    assert_int_equal(vh_ring_send(h, &a, 6, 0, 1, d, 64), 0);
    bool sig;
    assert_int_equal(vh_ring_write(&a.out, 6, 0, 2, d, 32, &sig), 0);
    /* Messages stuck in the backlog. */
    h->slots = 0;
    struct vmbus_msg_gpadl_teardown td = { .header.msgtype = VMBUS_MSG_GPADL_TEARDOWN,
                                           .child_relid = rb, .gpadl = 0x20 };
    vh_post_conn(h, &td, sizeof(td));
    assert_int_equal(vh_pending_msgs(h), 0);

    long len;
    uint8_t *blob = save(h, &len);
    uint32_t echoed = w.a->packets;
    assert_int_equal(echoed, 1);

    /* The destination: same devices, same order, same guest memory. */
    vh_new_server(h);
    add_devices(&w);
    assert_int_equal(vmbus_server_load(h->srv, blob, (size_t)len), 0);
    assert_true(vmbus_server_connected(h->srv));
    assert_int_equal(vmbus_server_version(h->srv), VMBUS_VERSION_WIN10_V5_3);
    assert_int_equal(w.a->restores, 1);
    assert_int_equal(w.a->opens, 0);           /* restored, not opened */
    assert_int_equal(w.a->packets, echoed);    /* its own state came along */
    assert_int_equal(w.b->opens, 0);
    assert_true(vmbus_channel_is_open(w.a->ch));
    assert_int_equal(vmbus_channel_target_vp(w.a->ch), 1);
    /* The mapping came back, to the same memory. */
    mapped = NULL;
    assert_null(vmbus_channel_gpadl_map(w.a->ch, 0x30, &bytes));   /* already mapped */

    /* The queued TORNDOWN is delivered once the guest frees the slot. */
    h->slots = -1;
    vh_eom(h, 0);
    assert_int_equal(((const struct vmbus_msg_gpadl_torndown *)
                      vh_expect(h, VMBUS_MSG_GPADL_TORNDOWN))->gpadl, 0x20);
    /* The restored server looks at the rings: the unsignalled packet is
     * echoed, and the guest finds both echoes. */
    vh_run(h);
    assert_int_equal(w.a->packets, 2);
    struct vmbus_packet_desc desc;
    uint8_t rbuf[128];
    uint32_t got;
    assert_int_equal(vh_ring_recv(h, &a, &desc, rbuf, sizeof(rbuf), &got), 1);
    assert_int_equal(desc.trans_id, 1);
    assert_int_equal(vh_ring_recv(h, &a, &desc, rbuf, sizeof(rbuf), &got), 1);
    assert_int_equal(desc.trans_id, 2);
    /* The half-built GPADL completes with its bodies. */
    struct { struct vmbus_msg_gpadl_body b; uint64_t p[14]; } __attribute__((packed)) gb = {
        .b = { .header.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = 0x31 } };
    memcpy(gb.p, pfns + 26, sizeof(gb.p));
    vh_post_conn(h, &gb, sizeof(gb));
    assert_int_equal(((const struct vmbus_msg_gpadl_created *)
                      vh_expect(h, VMBUS_MSG_GPADL_CREATED))->creation_status, 0);
    /* The heartbeat service had no state: it negotiates again. */
    struct vmbus_packet_desc hd;
    uint8_t hbuf[256];
    assert_int_equal(vh_ring_recv(h, &hbc, &hd, hbuf, sizeof(hbuf), &got), 1);
    struct vmbus_ic_header ich;
    memcpy(&ich, hbuf + 8, sizeof(ich));
    assert_int_equal(ich.msgtype, VMBUS_IC_MSG_NEGOTIATE);
    /* And ordinary traffic goes on. */
    assert_int_equal(vh_ring_send(h, &a, 6, 0, 3, d, 8), 0);
    assert_int_equal(vh_ring_recv(h, &a, &desc, rbuf, sizeof(rbuf), &got), 1);
    assert_int_equal(desc.trans_id, 3);
    vh_close(h, &a);
    assert_int_equal(vh_gpadl_teardown(h, ra, 0x10), 0x10);
    free(blob);
    vh_destroy(h);
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t x = 2166136261u;
    for (size_t i = 0; i < n; i++)
        x = (x ^ p[i]) * 16777619u;
    return x;
}

static void reseal(uint8_t *blob, long len)
{
    uint32_t sum = fnv1a(blob + 16, (size_t)len - 16);
    memcpy(blob + 12, &sum, 4);
}

static void refused_blobs(void **state)
{
    (void)state;
    struct world w = { .h = vh_create(1, 0) };
    struct vh *h = w.h;
    add_devices(&w);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[3];
    vh_request_offers(h, o, 3);
    uint32_t ra = vmbus_channel_relid(w.a->ch);
    struct vh_chan a;
    assert_int_equal(vh_open(h, &a, ra, VMBUS_EVENT_CONNECTION_BASE + ra, 0x10, 4, 4, 0), 0);
    long len;
    uint8_t *blob = save(h, &len);
    /* Into a server that is already connected: refused. */
    assert_int_equal(vmbus_server_load(h->srv, blob, (size_t)len), -1);

    vh_new_server(h);
    add_devices(&w);
    uint8_t *bad = malloc((size_t)len);
    /* Every single flipped byte is caught (checksum, magic, lengths). */
    for (long i = 0; i < len; i++) {
        memcpy(bad, blob, (size_t)len);
        bad[i] ^= 0x40;
        assert_int_equal(vmbus_server_load(h->srv, bad, (size_t)len), -1);
    }
    /* Truncated anywhere. */
    for (long n = 0; n < len; n += 7)
        assert_int_equal(vmbus_server_load(h->srv, blob, (size_t)n), -1);
    /* Resealed but inconsistent: a bogus target VP, a huge GPADL count. */
    memcpy(bad, blob, (size_t)len);
    uint32_t vp = 9;
    memcpy(bad + 16 + 2 + 4, &vp, 4);
    reseal(bad, len);
    assert_int_equal(vmbus_server_load(h->srv, bad, (size_t)len), -1);
    /* Nothing changed by any of that. */
    assert_false(vmbus_server_connected(h->srv));
    assert_int_equal(w.a->opens + w.a->restores, 0);
    assert_int_equal(vh_pending_msgs(h), 0);

    /* Different devices on the destination: refused. */
    vh_new_server(h);
    vh_add_echo(h, NIC, INST2, 0, false);
    vh_add_echo(h, NIC, INST1, 0, false);
    vmbus_heartbeat_create(h->srv, 0);
    assert_int_equal(vmbus_server_load(h->srv, blob, (size_t)len), -1);
    assert_false(vmbus_server_connected(h->srv));

    /* The right ones: accepted. */
    vh_new_server(h);
    add_devices(&w);
    assert_int_equal(vmbus_server_load(h->srv, blob, (size_t)len), 0);
    free(bad);
    free(blob);
    vh_destroy(h);
}

static void disconnected_bus_roundtrip(void **state)
{
    (void)state;
    struct world w = { .h = vh_create(1, 0) };
    add_devices(&w);
    long len;
    uint8_t *blob = save(w.h, &len);
    vh_new_server(w.h);
    add_devices(&w);
    assert_int_equal(vmbus_server_load(w.h->srv, blob, (size_t)len), 0);
    assert_false(vmbus_server_connected(w.h->srv));
    uint32_t tries;
    assert_int_equal(vh_connect(w.h, &tries), VMBUS_VERSION_WIN10_V5_3);
    struct vmbus_msg_offer_channel o[3];
    assert_int_equal(vh_request_offers(w.h, o, 3), 3);
    free(blob);
    vh_destroy(w.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip),
        cmocka_unit_test(refused_blobs),
        cmocka_unit_test(disconnected_bus_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
