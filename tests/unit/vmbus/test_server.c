/* SPDX-License-Identifier: MIT */
/*
 * The server's connection protocol, replaying what Linux 6.1 sends:
 * INITIATE_CONTACT with version fallback, offers, GPADL messages, UNLOAD
 * and re-contact, plus the message backlog, back-pressure and every kind
 * of malformed or misplaced message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/vmbus/harness.h"
#include "vmbus/guid.h"
#include "vmbus/msg.h"

#define NIC  "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define SCSI "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"
#define KBD  "f912ad6d-2b17-48ea-bd65-f927a61c7684"
#define INST(n) "00000000-0000-0000-0000-00000000000" #n

static bool registered(const struct vh *h, uint32_t id, bool event)
{
    for (uint32_t i = 0; i < h->nconns; i++)
        if (h->conns[i] == id && h->conn_event[i] == event)
            return true;
    return false;
}

static void linux_handshake(void **state)
{
    (void)state;
    struct vh *h = vh_create(2, 0);
    /* Added out of order: offers come sorted by class, then instance. */
    struct vh_echo *scsi = vh_add_echo(h, SCSI, INST(1), 0, false);
    struct vh_echo *nic2 = vh_add_echo(h, NIC, INST(2), 0, false);
    struct vh_echo *nic1 = vh_add_echo(h, NIC, INST(1), 0, false);
    assert_true(registered(h, 1, false));
    assert_true(registered(h, 4, false));
    assert_int_equal(h->nconns, 5);

    uint32_t tries;
    assert_int_equal(vh_connect(h, &tries), VMBUS_VERSION_WIN10_V5_3);
    assert_int_equal(tries, 1);
    const struct vh_msg *reply = &h->msgs[0];
    const struct vmbus_msg_version_response *vr = (const void *)reply->data;
    assert_int_equal(reply->size, 16);
    assert_int_equal(reply->vp, 0);
    assert_int_equal(vr->version_supported, 1);
    assert_int_equal(vr->connection_state, 0);
    assert_int_equal(vr->msg_conn_id, 1);
    assert_true(vmbus_server_connected(h->srv));
    assert_int_equal(vmbus_server_version(h->srv), VMBUS_VERSION_WIN10_V5_3);

    struct vmbus_msg_offer_channel offers[8];
    assert_int_equal(vh_request_offers(h, offers, 8), 3);
    struct vmbus_guid nic, scsi_guid;
    vmbus_guid_parse(NIC, &nic);
    vmbus_guid_parse(SCSI, &scsi_guid);
    /* f86... < ba6...? Compared as wire bytes: 63 51 61 f8 vs d9 63 61 ba. */
    assert_memory_equal(&offers[0].if_type, &nic, 16);
    assert_memory_equal(&offers[1].if_type, &nic, 16);
    assert_memory_equal(&offers[2].if_type, &scsi_guid, 16);
    assert_int_equal(offers[0].child_relid, vmbus_channel_relid(nic1->ch));
    assert_int_equal(offers[1].child_relid, vmbus_channel_relid(nic2->ch));
    assert_int_equal(offers[2].child_relid, vmbus_channel_relid(scsi->ch));
    for (int i = 0; i < 3; i++) {
        assert_true(offers[i].child_relid >= 1);
        assert_int_equal(offers[i].connection_id,
                         VMBUS_EVENT_CONNECTION_BASE + offers[i].child_relid);
        assert_true(registered(h, offers[i].connection_id, true));
        assert_int_equal(offers[i].monitor_id, VMBUS_MONITOR_ID_NONE);
        assert_int_equal(offers[i].monitor_allocated, 0);
        assert_int_equal(offers[i].is_dedicated_interrupt, 1);
        assert_int_equal(offers[i].sub_channel_index, 0);
        assert_int_equal(offers[i].chn_flags, 0);
    }
    assert_int_equal(vh_pending_msgs(h), 0);
    vh_destroy(h);
}

static void version_fallback(void **state)
{
    (void)state;
    struct { uint32_t max; uint32_t tries; } cases[] = {
        { VMBUS_VERSION_WIN10_V5_3, 1 }, { VMBUS_VERSION_WIN10_V5, 4 },
        { VMBUS_VERSION_WIN10, 6 }, { VMBUS_VERSION_WIN8_1, 7 }, { VMBUS_VERSION_WIN8, 8 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vh *h = vh_create(1, cases[i].max);
        uint32_t tries;
        assert_int_equal(vh_connect(h, &tries), cases[i].max);
        assert_int_equal(tries, cases[i].tries);
        /* One reply per attempt, refusals included. */
        assert_int_equal(h->nmsgs, cases[i].tries);
        for (uint32_t k = 0; k + 1 < tries; k++) {
            const struct vmbus_msg_version_response *r = (const void *)h->msgs[k].data;
            assert_int_equal(r->version_supported, 0);
        }
        /* Below 5.0 everything goes on connection 1. */
        assert_int_equal(h->msg_conn, 1);
        struct vmbus_msg_offer_channel o[1];
        assert_int_equal(vh_request_offers(h, o, 1), 0);
        vh_destroy(h);
    }
}

static void unsupported_versions_refused(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    const uint32_t versions[] = { VMBUS_VERSION_COPPER, VMBUS_VERSION_WIN7,
                                  VMBUS_VERSION_WS2008, 0, 0xFFFFFFFFu,
                                  VMBUS_VERSION(5, 4), VMBUS_VERSION(2, 3) };
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        const struct vmbus_msg_version_response *r = vh_initiate(h, versions[i]);
        assert_int_equal(r->version_supported, 0);
        assert_false(vmbus_server_connected(h->srv));
    }
    vh_destroy(h);
}

static const struct vmbus_msg_version_response *contact(struct vh *h, uint32_t version,
                                                        uint32_t target, uint64_t intr,
                                                        uint64_t m1, uint64_t m2, uint32_t vp,
                                                        uint32_t *reply_vp)
{
    struct vmbus_msg_initiate_contact m = {
        .header.msgtype = VMBUS_MSG_INITIATE_CONTACT,
        .version_requested = version,
        .target_vcpu = target,
        .interrupt_page = intr,
        .monitor_page1 = m1,
        .monitor_page2 = m2,
    };
    vh_post(h, vp, 4, &m, sizeof(m));
    *reply_vp = h->msgs[h->seen].vp;
    return vh_expect(h, VMBUS_MSG_VERSION_RESPONSE);
}

static void contact_target_vp_and_pages(void **state)
{
    (void)state;
    struct vh *h = vh_create(4, 0);
    uint64_t m1 = vh_alloc_pages(h, 1), m2 = vh_alloc_pages(h, 1);
    uint32_t vp;
    /* From 3.0 replies go to target_vcpu. */
    assert_int_equal(contact(h, VMBUS_VERSION_WIN10_V5_3, 3, 2, m1, m2, 1, &vp)
                         ->version_supported, 1);
    assert_int_equal(vp, 3);
    assert_int_equal(vmbus_server_target_vp(h->srv), 3);
    /* A VP that does not exist: refused, answered on the posting VP. */
    assert_int_equal(contact(h, VMBUS_VERSION_WIN10_V5_3, 9, 2, m1, m2, 2, &vp)
                         ->version_supported, 0);
    assert_int_equal(vp, 2);
    /* Before 3.0 everything goes to VP 0. */
    assert_int_equal(contact(h, VMBUS_VERSION_WIN8, 3, m1, m1, m2, 2, &vp)
                         ->version_supported, 1);
    assert_int_equal(vp, 0);
    /* 5.x must name SINT 2. */
    assert_int_equal(contact(h, VMBUS_VERSION_WIN10_V5_2, 0, 3, m1, m2, 0, &vp)
                         ->version_supported, 0);
    /* Monitor pages: both or neither, aligned, RAM. */
    const struct vmbus_msg_version_response *r;
    r = contact(h, VMBUS_VERSION_WIN10_V5_3, 0, 2, m1, 0, 0, &vp);
    assert_int_equal(r->version_supported, 0);
    assert_int_equal(r->connection_state, VMBUS_CONNECTION_STATE_FAILED);
    r = contact(h, VMBUS_VERSION_WIN10_V5_3, 0, 2, m1, m2 + 8, 0, &vp);
    assert_int_equal(r->version_supported, 0);
    r = contact(h, VMBUS_VERSION_WIN10_V5_3, 0, 2, m1, VH_LOW_SIZE, 0, &vp);
    assert_int_equal(r->version_supported, 0);
    r = contact(h, VMBUS_VERSION_WIN10_V5_3, 0, 2, 0, 0, 0, &vp);
    assert_int_equal(r->version_supported, 1);
    assert_int_equal(vh_pending_msgs(h), 0);
    vh_destroy(h);
}

static void messages_before_contact(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    vh_add_echo(h, NIC, INST(1), 0, false);
    struct vmbus_msg_header ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    struct vmbus_msg_open_channel open = { .header.msgtype = VMBUS_MSG_OPENCHANNEL,
                                           .child_relid = 1 };
    uint8_t gh[40] = { VMBUS_MSG_GPADL_HEADER };
    assert_int_equal(vh_post(h, 0, 1, &ro, sizeof(ro)), VMBUS_INPUT_DONE);
    assert_int_equal(vh_post(h, 0, 1, &open, sizeof(open)), VMBUS_INPUT_DONE);
    assert_int_equal(vh_post(h, 0, 1, gh, sizeof(gh)), VMBUS_INPUT_DONE);
    assert_int_equal(h->nmsgs, 0);
    assert_int_equal(vmbus_server_stats(h->srv)->messages_bad, 3);
    /* UNLOAD is always answered: a guest waits for it forever. */
    struct vmbus_msg_header unload = { .msgtype = VMBUS_MSG_UNLOAD };
    vh_post(h, 0, 1, &unload, sizeof(unload));
    vh_expect(h, VMBUS_MSG_UNLOAD_RESPONSE);
    vh_destroy(h);
}

static void wrong_sizes_and_types(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    vh_add_echo(h, NIC, INST(1), 0, false);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[1];
    vh_request_offers(h, o, 1);
    uint64_t bad_before = vmbus_server_stats(h->srv)->messages_bad;
    uint8_t msg[256];
    memset(msg, 0, sizeof(msg));
    const uint32_t types[] = {
        VMBUS_MSG_OPENCHANNEL, VMBUS_MSG_CLOSECHANNEL, VMBUS_MSG_GPADL_HEADER,
        VMBUS_MSG_GPADL_BODY, VMBUS_MSG_GPADL_TEARDOWN, VMBUS_MSG_RELID_RELEASED,
        VMBUS_MSG_INITIATE_CONTACT, VMBUS_MSG_TL_CONNECT_REQUEST, VMBUS_MSG_MODIFYCHANNEL,
    };
    uint32_t expected_bad = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        memcpy(msg, &types[i], 4);
        uint32_t min = vmbus_msg_min_size(types[i]);
        assert_true(min > 8);
        /* one byte short of each, and the bare header */
        assert_int_equal(vh_post_conn(h, msg, min - 1), VMBUS_INPUT_DONE);
        assert_int_equal(vh_post_conn(h, msg, 8), VMBUS_INPUT_DONE);
        expected_bad += 2;
    }
    /* shorter than a header, longer than a SynIC payload */
    assert_int_equal(vh_post_conn(h, msg, 3), VMBUS_INPUT_DONE);
    assert_int_equal(vh_post_conn(h, msg, 241), VMBUS_INPUT_DONE);
    /* host-to-guest and unknown message types */
    const uint32_t wrong[] = { VMBUS_MSG_OFFERCHANNEL, VMBUS_MSG_VERSION_RESPONSE,
                               VMBUS_MSG_OPEN_RESERVED, VMBUS_MSG_COUNT, 0xFFFFFFFFu, 0 };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        memcpy(msg, &wrong[i], 4);
        assert_int_equal(vh_post_conn(h, msg, 240), VMBUS_INPUT_DONE);
    }
    /* wrong SynIC message type, connection, or VP */
    struct vmbus_msg_header ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    assert_int_equal(vmbus_server_post_message(h->srv, 0, 1, 2, &ro, 8), VMBUS_INPUT_DONE);
    assert_int_equal(vmbus_server_post_message(h->srv, 0, 5, 1, &ro, 8), VMBUS_INPUT_DONE);
    assert_int_equal(vmbus_server_post_message(h->srv, 7, 1, 1, &ro, 8), VMBUS_INPUT_DONE);
    expected_bad += 2 + 6 + 3;
    assert_int_equal(vmbus_server_stats(h->srv)->messages_bad - bad_before, expected_bad);
    /* Nothing was answered, and the connection is intact. */
    assert_int_equal(vh_pending_msgs(h), 0);
    assert_true(vmbus_server_connected(h->srv));
    vh_destroy(h);
}

static void request_offers_once_and_hot_add(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    vh_add_echo(h, NIC, INST(1), 0, false);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[4];
    assert_int_equal(vh_request_offers(h, o, 4), 1);
    /* A second REQUESTOFFERS is ignored. */
    struct vmbus_msg_header ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    vh_post_conn(h, &ro, sizeof(ro));
    assert_int_equal(vh_pending_msgs(h), 0);
    /* A device added now is offered at once. */
    struct vh_echo *e = vh_add_echo(h, SCSI, INST(2), 0, false);
    const struct vmbus_msg_offer_channel *off = vh_expect(h, VMBUS_MSG_OFFERCHANNEL);
    assert_int_equal(off->child_relid, vmbus_channel_relid(e->ch));
    /* A subchannel: same class and instance, index 1. */
    struct vh_echo *sub = vh_add_echo(h, SCSI, INST(2), 1, false);
    off = vh_expect(h, VMBUS_MSG_OFFERCHANNEL);
    assert_int_equal(off->sub_channel_index, 1);
    assert_int_equal(off->child_relid, vmbus_channel_relid(sub->ch));
    vh_destroy(h);
}

static void gpadl_messages(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    struct vh_echo *e = vh_add_echo(h, NIC, INST(1), 0, false);
    uint32_t relid = vmbus_channel_relid(e->ch);
    uint32_t tries;
    vh_connect(h, &tries);
    /* GPADLs for a channel not offered yet are refused. */
    uint64_t buf = vh_alloc_pages(h, 200);
    assert_int_equal(vh_gpadl(h, relid, 0xE1E10, buf, 2), VMBUS_STATUS_UNSUCCESSFUL);
    struct vmbus_msg_offer_channel o[1];
    vh_request_offers(h, o, 1);
    /* 1 header + 7 bodies for 200 pages (26 + 7 * 28 >= 200). */
    uint32_t before = vmbus_server_stats(h->srv)->messages_in;
    assert_int_equal(vh_gpadl(h, relid, 0xE1E10, buf, 200), 0);
    assert_int_equal(vmbus_server_stats(h->srv)->messages_in - before, 8);
    /* duplicate handle, unknown channel, page in the hole, beyond RAM */
    assert_int_equal(vh_gpadl(h, relid, 0xE1E10, buf, 2), VMBUS_STATUS_UNSUCCESSFUL);
    assert_int_equal(vh_gpadl(h, 99, 0xE1E11, buf, 2), VMBUS_STATUS_UNSUCCESSFUL);
    uint64_t hole[3] = { 300, VH_LOW_SIZE >> 12, 301 };
    assert_int_equal(vh_gpadl_pfns(h, relid, 0xE1E12, hole, 3), VMBUS_STATUS_UNSUCCESSFUL);
    uint64_t far[1] = { 1ull << 39 };
    assert_int_equal(vh_gpadl_pfns(h, relid, 0xE1E13, far, 1), VMBUS_STATUS_UNSUCCESSFUL);
    /* A failed GPADL leaves nothing behind: the handle is free again. */
    assert_int_equal(vh_gpadl(h, relid, 0xE1E12, buf, 3), 0);
    /* A body for a GPADL nobody started: no answer. */
    uint8_t body[24] = { VMBUS_MSG_GPADL_BODY };
    uint32_t handle = 0x777;
    memcpy(body + 12, &handle, 4);
    vh_post_conn(h, body, sizeof(body));
    assert_int_equal(vh_pending_msgs(h), 0);
    /* Teardown: known handles are answered, others are not. */
    assert_int_equal(vh_gpadl_teardown(h, relid, 0xE1E10), 0xE1E10);
    assert_int_equal(vh_gpadl_teardown(h, relid, 0xE1E10), -1);
    assert_int_equal(vh_gpadl_teardown(h, relid + 1, 0xE1E12), -1);
    assert_int_equal(vh_gpadl_teardown(h, relid, 0xE1E12), 0xE1E12);
    vh_destroy(h);
}

static void unload_and_recontact(void **state)
{
    (void)state;
    struct vh *h = vh_create(2, 0);
    struct vh_echo *e = vh_add_echo(h, NIC, INST(1), 0, false);
    uint32_t relid = vmbus_channel_relid(e->ch);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[2];
    vh_request_offers(h, o, 2);
    struct vh_chan c;
    assert_int_equal(vh_open(h, &c, relid, o[0].connection_id, 0xE1E10, 4, 4, 1), 0);
    assert_int_equal(vh_gpadl(h, relid, 0xE1E11, vh_alloc_pages(h, 4), 4), 0);
    assert_int_equal(e->opens, 1);
    /* kexec: UNLOAD, the old kernel waits for the answer. */
    struct vmbus_msg_header unload = { .msgtype = VMBUS_MSG_UNLOAD };
    vh_post_conn(h, &unload, sizeof(unload));
    vh_expect(h, VMBUS_MSG_UNLOAD_RESPONSE);
    assert_int_equal(e->closes, 1);
    assert_false(vmbus_server_connected(h->srv));
    /* The new kernel starts over; the same handles are free again. */
    vh_connect(h, &tries);
    assert_int_equal(tries, 1);
    assert_int_equal(vh_request_offers(h, o, 2), 1);
    assert_int_equal(o[0].child_relid, relid);
    assert_int_equal(vh_open(h, &c, relid, o[0].connection_id, 0xE1E10, 4, 4, 0), 0);
    assert_int_equal(e->opens, 2);
    /* And a new INITIATE_CONTACT without UNLOAD resets as well. */
    vh_connect(h, &tries);
    assert_int_equal(e->closes, 2);
    assert_int_equal(vh_request_offers(h, o, 2), 1);
    /* Destroying the server destroys the device (closed already). */
    vh_new_server(h);
    assert_int_equal(e->closes, 2);
    assert_int_equal(e->destroyed, 1);
    vh_destroy(h);
}

static void backlog_waits_for_eom(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    for (int i = 0; i < 6; i++) {
        char inst[40];
        snprintf(inst, sizeof(inst), "00000000-0000-0000-0000-0000000000%02d", i);
        vh_add_echo(h, NIC, inst, 0, false);
    }
    uint32_t tries;
    vh_connect(h, &tries);
    /* The guest's slot takes 2 messages, then it is busy until EOM. */
    h->slots = 2;
    struct vmbus_msg_header ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    vh_post_conn(h, &ro, sizeof(ro));
    assert_int_equal(h->nmsgs - h->seen, 2);
    assert_int_equal(h->busy_returns, 1);    /* tried once, then queued */
    for (int i = 0; i < 5; i++) {
        vh_eom(h, 1);
        assert_int_equal(h->nmsgs - h->seen, 3 + (uint32_t)i);
    }
    /* In order: 6 offers sorted, then ALLOFFERS_DELIVERED. */
    uint8_t last = 0;
    for (int i = 0; i < 6; i++) {
        const struct vmbus_msg_offer_channel *o = vh_expect(h, VMBUS_MSG_OFFERCHANNEL);
        assert_true(o->if_instance.b[15] >= last);
        last = o->if_instance.b[15];
    }
    vh_expect(h, VMBUS_MSG_ALLOFFERS_DELIVERED);
    assert_int_equal(vmbus_server_stats(h->srv)->backlog_peak, 5);
    vh_destroy(h);
}

static void flood_gets_backpressure(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    vh_add_echo(h, NIC, INST(1), 0, false);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[1];
    vh_request_offers(h, o, 1);
    h->slots = 0;   /* the guest never acknowledges */
    /* Each refused GPADL header produces a reply that cannot be delivered. */
    struct vmbus_msg_gpadl_header gh = { .header.msgtype = VMBUS_MSG_GPADL_HEADER,
                                         .child_relid = 55, .range_count = 1,
                                         .range_buflen = 16 };
    uint32_t accepted = 0;
    int rc = VMBUS_INPUT_DONE;
    for (uint32_t i = 0; i < 10000 && rc == VMBUS_INPUT_DONE; i++) {
        gh.gpadl = i;
        rc = vh_post_conn(h, &gh, sizeof(gh));
        accepted += rc == VMBUS_INPUT_DONE;
    }
    assert_int_equal(rc, VMBUS_INPUT_RETRY);
    assert_int_equal(accepted, h->cfg.backlog - 8);
    assert_int_equal(vmbus_server_stats(h->srv)->messages_dropped, 0);
    /* Garbage that needs no reply is still taken (and dropped). */
    uint8_t junk[16] = { 0x63 };
    assert_int_equal(vh_post_conn(h, junk, sizeof(junk)), VMBUS_INPUT_DONE);
    /* The guest catches up: everything arrives, nothing was lost. */
    h->slots = -1;
    vh_eom(h, 0);
    assert_int_equal(vh_pending_msgs(h), accepted);
    gh.gpadl = 999999;
    assert_int_equal(vh_post_conn(h, &gh, sizeof(gh)), VMBUS_INPUT_DONE);
    vh_destroy(h);
}

static void garbage_flood_is_rate_limited(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    uint8_t junk[240];
    srand(7);
    for (int i = 0; i < 20000; i++) {
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (uint8_t)rand();
        uint32_t t = (uint32_t)rand() % 30;
        memcpy(junk, &t, 4);
        vh_post(h, 0, 1 + 3 * (uint32_t)(rand() & 1), junk, (uint32_t)rand() % 241);
    }
    /* Some INITIATE_CONTACTs may have connected; whatever happened, the
     * log stayed bounded: at most a burst per second (clock is still). */
    assert_true(h->nlogs < 100);
    assert_true(vmbus_server_stats(h->srv)->log_suppressed > 0);
    vh_destroy(h);
}

static void undeliverable_messages_are_dropped(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    h->post_fails = true;
    struct vmbus_msg_initiate_contact m = { .header.msgtype = VMBUS_MSG_INITIATE_CONTACT,
                                            .version_requested = VMBUS_VERSION_WIN10,
                                            .interrupt_page = 0x1000 };
    vh_post(h, 0, 1, &m, sizeof(m));
    assert_int_equal(vmbus_server_stats(h->srv)->messages_dropped, 1);
    assert_int_equal(h->nmsgs, 0);
    h->post_fails = false;
    vh_post(h, 0, 1, &m, sizeof(m));
    vh_expect(h, VMBUS_MSG_VERSION_RESPONSE);
    vh_destroy(h);
}

static void reset_disconnects(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    struct vh_echo *e = vh_add_echo(h, NIC, INST(1), 0, false);
    uint32_t tries;
    vh_connect(h, &tries);
    struct vmbus_msg_offer_channel o[1];
    vh_request_offers(h, o, 1);
    struct vh_chan c;
    assert_int_equal(vh_open(h, &c, o[0].child_relid, o[0].connection_id, 1, 4, 4, 0), 0);
    h->slots = 0;
    struct vmbus_msg_header ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    vh_post_conn(h, &ro, sizeof(ro));   /* ignored: already requested */
    vmbus_server_reset(h->srv);
    assert_false(vmbus_server_connected(h->srv));
    assert_int_equal(e->closes, 1);
    h->slots = -1;
    vh_eom(h, 0);
    assert_int_equal(vh_pending_msgs(h), 0);   /* nothing stale after a reset */
    vh_connect(h, &tries);
    assert_int_equal(vh_request_offers(h, o, 1), 1);
    vh_destroy(h);
}

static void connection_list(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    vh_add_echo(h, NIC, INST(1), 0, false);
    vh_add_echo(h, NIC, INST(2), 0, false);
    uint32_t ids[8];
    bool ev[8];
    assert_int_equal(vmbus_server_connections(h->srv, ids, ev, 8), 4);
    assert_int_equal(ids[0], 1);
    assert_false(ev[0]);
    assert_int_equal(ids[1], 4);
    assert_int_equal(ids[2], VMBUS_EVENT_CONNECTION_BASE + 1);
    assert_true(ev[3]);
    assert_int_equal(vmbus_server_connections(h->srv, ids, ev, 1), 4);
    vh_destroy(h);
}

static void bad_configurations(void **state)
{
    (void)state;
    struct vmbus_server_config cfg;
    vmbus_server_config_defaults(&cfg, 1);
    struct vh *h = vh_create(1, 0);
    struct vmbus_server_host host = { 0 };
    assert_null(vmbus_server_create(&cfg, &host, NULL, &h->view.view));
    vmbus_server_config_defaults(&cfg, 0);
    assert_null(vmbus_server_create(&cfg, NULL, NULL, &h->view.view));
    cfg.nr_vps = 1;
    cfg.max_version = VMBUS_VERSION_COPPER;
    struct vmbus_server_host ok = { .post_message = NULL };
    assert_null(vmbus_server_create(&cfg, &ok, NULL, &h->view.view));
    vh_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linux_handshake),
        cmocka_unit_test(version_fallback),
        cmocka_unit_test(unsupported_versions_refused),
        cmocka_unit_test(contact_target_vp_and_pages),
        cmocka_unit_test(messages_before_contact),
        cmocka_unit_test(wrong_sizes_and_types),
        cmocka_unit_test(request_offers_once_and_hot_add),
        cmocka_unit_test(gpadl_messages),
        cmocka_unit_test(unload_and_recontact),
        cmocka_unit_test(backlog_waits_for_eom),
        cmocka_unit_test(flood_gets_backpressure),
        cmocka_unit_test(garbage_flood_is_rate_limited),
        cmocka_unit_test(undeliverable_messages_are_dropped),
        cmocka_unit_test(reset_disconnects),
        cmocka_unit_test(connection_list),
        cmocka_unit_test(bad_configurations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
