/* SPDX-License-Identifier: MIT */
/*
 * Integration services against a guest that behaves like Linux 6.1's
 * hv_utils: it reads each host message into a buffer, answers negotiation
 * the way vmbus_prep_negotiate_resp does, handles the service message, and
 * sends the same buffer back with the same transaction id.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/unit/vmbus/harness.h"
#include "vmbus/guid.h"
#include "vmbus/ic/services.h"

#define V(a, b) ((uint32_t)(a) << 16 | (b))
static const uint32_t linux_fw[] = { V(3, 0), V(1, 0) };

struct guest {
    struct vh *h;
    struct vh_chan c;
    struct vmbus_packet_desc d;
    uint8_t buf[16384];
    uint32_t len;
};

static struct vmbus_ic_header *ichdr(struct guest *g)
{
    return (struct vmbus_ic_header *)(void *)(g->buf + 8);
}

static uint8_t *body(struct guest *g)
{
    return g->buf + VMBUS_IC_PREFIX_SIZE;
}

static bool guest_recv(struct guest *g)
{
    return vh_ring_recv(g->h, &g->c, &g->d, g->buf, sizeof(g->buf), &g->len) == 1;
}

static void guest_reply(struct guest *g)
{
    ichdr(g)->flags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE;
    assert_int_equal(vh_ring_send(g->h, &g->c, VMBUS_PKT_DATA_INBAND, 0, g->d.trans_id,
                                  g->buf, g->len), 0);
}

/* Receive the negotiate request and answer it with the given lists. */
static uint32_t guest_negotiate(struct guest *g, const uint32_t *fw, int nfw,
                                const uint32_t *versions, int nv)
{
    assert_true(guest_recv(g));
    assert_int_equal(g->d.type, VMBUS_PKT_DATA_INBAND);
    assert_int_equal(ichdr(g)->msgtype, VMBUS_IC_MSG_NEGOTIATE);
    assert_int_equal(ichdr(g)->flags, VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST);
    uint32_t fw_out, srv_out = 0;
    vh_ic_negotiate_answer(g->buf, g->len, fw, nfw, versions, nv, &fw_out, &srv_out);
    guest_reply(g);
    return srv_out;
}

struct bus {
    struct vh *h;
    struct vmbus_ic_set ics;
    struct vmbus_msg_offer_channel o[8];
    uint32_t n;
    uint64_t ref_time;
    uint64_t wall_time;
};

static uint64_t ref_now(void *ctx)
{
    return ((struct bus *)ctx)->ref_time;
}

static uint64_t wall_now(void *ctx)
{
    return ((struct bus *)ctx)->wall_time;
}

static void bus_up(struct bus *b, const char *which)
{
    memset(b, 0, sizeof(*b));
    b->h = vh_create(2, 0);
    b->ref_time = 123456789;
    b->wall_time = VMBUS_TIME_1601_TO_1970 + 1700000000ull * 10000000ull;
    struct vmbus_ic_options opt;
    vmbus_ic_options_defaults(&opt);
    char err[128];
    assert_int_equal(vmbus_ic_options_parse(&opt, which, err, sizeof(err)), 0);
    opt.time.ref_time = ref_now;
    opt.time.wall_time = wall_now;
    opt.time.ctx = b;
    assert_int_equal(vmbus_ic_add(b->h->srv, &opt, &b->ics), 0);
    uint32_t tries;
    vh_connect(b->h, &tries);
    b->n = vh_request_offers(b->h, b->o, 8);
}

/* Open the channel of class `type` the way util_probe does (16 KiB rings). */
static void open_service(struct bus *b, struct guest *g, const char *type)
{
    struct vmbus_guid want;
    vmbus_guid_parse(type, &want);
    memset(g, 0, sizeof(*g));
    g->h = b->h;
    for (uint32_t i = 0; i < b->n; i++) {
        if (!memcmp(&b->o[i].if_type, &want, 16)) {
            assert_int_equal(vh_open(b->h, &g->c, b->o[i].child_relid, b->o[i].connection_id,
                                     0x100 + b->o[i].child_relid, 4, 4, 0), 0);
            return;
        }
    }
    fail_msg("no offer for %s", type);
}

#define HEARTBEAT "57164f39-9115-4e78-ab55-382f3bd5422d"
#define SHUTDOWN  "0e0b6031-5213-4934-818b-38d90ced39db"
#define TIMESYNC  "9527e630-d0ae-497b-adce-e80ab0175caf"
#define KVP       "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6"

static void offers_of_the_set(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "");
    assert_int_equal(b.n, 4);
    const char *types[4] = { HEARTBEAT, SHUTDOWN, TIMESYNC, KVP };
    const char *instances[4] = { NULL, "b6650ff7-33bc-4840-8048-e0676786f393",
                                 "2dd1ce17-079e-403c-b352-a1921ee207ee",
                                 "242ff919-07db-4180-9c2e-b86cb68c8c55" };
    for (int t = 0; t < 4; t++) {
        struct vmbus_guid g;
        vmbus_guid_parse(types[t], &g);
        bool found = false;
        for (uint32_t i = 0; i < b.n; i++) {
            if (memcmp(&b.o[i].if_type, &g, 16))
                continue;
            found = true;
            /* pipe mode, message pipe, as Hyper-V offers them */
            assert_int_equal(b.o[i].chn_flags, 0x11);
            uint32_t mode;
            memcpy(&mode, b.o[i].user_defined, 4);
            assert_int_equal(mode, VMBUS_PIPE_MODE_MESSAGE);
            if (instances[t]) {
                struct vmbus_guid inst;
                vmbus_guid_parse(instances[t], &inst);
                assert_memory_equal(&b.o[i].if_instance, &inst, 16);
            }
        }
        assert_true(found);
    }
    vh_destroy(b.h);

    /* Turned off one by one. */
    bus_up(&b, "!kvp,!timesync");
    assert_int_equal(b.n, 2);
    assert_null(b.ics.kvp);
    assert_null(b.ics.timesync);
    vh_destroy(b.h);
    bus_up(&b, "none,shutdown");
    assert_int_equal(b.n, 1);
    assert_non_null(b.ics.shutdown);
    vh_destroy(b.h);
}

static void options(void **state)
{
    (void)state;
    struct vmbus_ic_options opt;
    char err[128];
    vmbus_ic_options_defaults(&opt);
    assert_int_equal(vmbus_ic_options_parse(&opt, " !heartbeat , kvp,,", err, sizeof(err)), 0);
    assert_false(opt.heartbeat);
    assert_true(opt.kvp && opt.shutdown && opt.timesync);
    assert_int_equal(vmbus_ic_options_parse(&opt, "!all", err, sizeof(err)), 0);
    assert_false(opt.heartbeat || opt.kvp || opt.shutdown || opt.timesync);
    assert_int_equal(vmbus_ic_options_parse(&opt, "vss", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "vss"));
    /* timesync without a time source cannot be added */
    struct vh *h = vh_create(1, 0);
    vmbus_ic_options_defaults(&opt);
    struct vmbus_ic_set set;
    assert_int_equal(vmbus_ic_add(h->srv, &opt, &set), -1);
    assert_int_equal(h->nconns, 2);      /* nothing left behind */
    vh_destroy(h);
}

static void heartbeat(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "none,heartbeat");
    struct guest g;
    open_service(&b, &g, HEARTBEAT);
    const uint32_t hb_versions[] = { V(3, 0), V(1, 0) };
    assert_int_equal(guest_negotiate(&g, linux_fw, 2, hb_versions, 2), V(3, 0));
    struct vmbus_heartbeat_status st;
    for (uint64_t i = 1; i <= 3; i++) {
        assert_true(guest_recv(&g));
        assert_int_equal(ichdr(&g)->msgtype, VMBUS_IC_MSG_HEARTBEAT);
        assert_int_equal(ichdr(&g)->framework_version.major, 3);
        assert_int_equal(ichdr(&g)->msg_version.major, 3);
        assert_int_equal(ichdr(&g)->msgsize, 40);
        assert_int_equal(g.len, 72);       /* 28 + 40, padded */
        uint64_t seq;
        memcpy(&seq, body(&g), 8);
        assert_int_equal(seq, i);
        seq += 1;                          /* what Linux answers */
        memcpy(body(&g), &seq, 8);
        guest_reply(&g);
        vmbus_heartbeat_status(b.ics.heartbeat, &st);
        assert_true(st.healthy);
        assert_int_equal(st.beats_ok, i);
        assert_false(guest_recv(&g));       /* the next one comes 2 s later */
        vh_advance(b.h, 2000000000ull);
    }
    /* A hung guest: beats are missed, no second request is sent. */
    assert_true(guest_recv(&g));
    vh_advance(b.h, 2000000000ull);
    vh_advance(b.h, 2000000000ull);
    vmbus_heartbeat_status(b.ics.heartbeat, &st);
    assert_false(st.healthy);
    assert_int_equal(st.missed, 2);
    assert_false(guest_recv(&g));
    /* A wrong answer is counted as such. */
    guest_reply(&g);
    vmbus_heartbeat_status(b.ics.heartbeat, &st);
    assert_int_equal(st.beats_bad, 1);
    vh_destroy(b.h);
}

static uint32_t sd_status = 1;
static void sd_done(void *ctx, uint32_t status)
{
    (void)ctx;
    sd_status = status;
}

static void shutdown(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "none,shutdown");
    /* Asked before the guest driver is there: held. */
    assert_int_equal(vmbus_shutdown_request(b.ics.shutdown, VMBUS_SHUTDOWN_POWEROFF, true,
                                            "bye", sd_done, NULL), 0);
    assert_int_equal(vmbus_shutdown_request(b.ics.shutdown, VMBUS_SHUTDOWN_REBOOT, false,
                                            NULL, NULL, NULL), -1);
    struct guest g;
    open_service(&b, &g, SHUTDOWN);
    const uint32_t sd_versions[] = { V(3, 2), V(3, 1), V(3, 0), V(1, 0) };
    assert_int_equal(guest_negotiate(&g, linux_fw, 2, sd_versions, 4), V(3, 2));
    assert_true(vmbus_shutdown_ready(b.ics.shutdown));
    assert_true(guest_recv(&g));
    assert_int_equal(ichdr(&g)->msgtype, VMBUS_IC_MSG_SHUTDOWN);
    /* Linux needs ICMSG_HDR + sizeof(shutdown_msg_data) = 2088 bytes. */
    assert_true(g.len >= 2088);
    struct vmbus_ic_shutdown m;
    memcpy(&m, body(&g), sizeof(m));
    assert_int_equal(m.flags, 1);                      /* power off, forced */
    assert_int_equal(m.reason_code, 0x80000000u);
    assert_memory_equal(m.display_message, "b\0y\0e\0\0", 8);
    ichdr(&g)->status = VMBUS_IC_S_OK;
    guest_reply(&g);
    assert_int_equal(sd_status, VMBUS_IC_S_OK);
    /* Reboot, not forced; the guest refuses. */
    assert_int_equal(vmbus_shutdown_request(b.ics.shutdown, VMBUS_SHUTDOWN_REBOOT, false,
                                            NULL, sd_done, NULL), 0);
    assert_true(guest_recv(&g));
    memcpy(&m, body(&g), sizeof(m));
    assert_int_equal(m.flags, 2);
    ichdr(&g)->status = VMBUS_IC_E_FAIL;
    guest_reply(&g);
    assert_int_equal(sd_status, VMBUS_IC_E_FAIL);
    /* Closed with a request in flight: reported lost. */
    assert_int_equal(vmbus_shutdown_request(b.ics.shutdown, VMBUS_SHUTDOWN_HIBERNATE, false,
                                            NULL, sd_done, NULL), 0);
    vh_close(b.h, &g.c);
    assert_int_equal(sd_status, VMBUS_IC_STATUS_LOST);
    vh_destroy(b.h);
}

static void timesync(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "none,timesync");
    struct guest g;
    open_service(&b, &g, TIMESYNC);
    const uint32_t ts_versions[] = { V(4, 0), V(3, 0), V(1, 0) };
    assert_int_equal(guest_negotiate(&g, linux_fw, 2, ts_versions, 3), V(4, 0));
    assert_true(guest_recv(&g));
    assert_int_equal(ichdr(&g)->msgtype, VMBUS_IC_MSG_TIMESYNC);
    assert_true(g.len >= VMBUS_IC_PREFIX_SIZE + sizeof(struct vmbus_ic_timesync_ref));
    struct vmbus_ic_timesync_ref m;
    memcpy(&m, body(&g), sizeof(m));
    assert_int_equal(m.flags, VMBUS_IC_TIMESYNC_FLAG_SYNC);   /* first: set the clock */
    assert_int_equal(m.parent_time, b.wall_time);
    assert_int_equal(m.vm_reference_time, b.ref_time);
    guest_reply(&g);
    /* Then samples every 5 s, stamped when sent. */
    b.wall_time += 50000000;
    b.ref_time += 50000000;
    vh_advance(b.h, 4000000000ull);
    assert_false(guest_recv(&g));
    vh_advance(b.h, 1000000000ull);
    assert_true(guest_recv(&g));
    memcpy(&m, body(&g), sizeof(m));
    assert_int_equal(m.flags, VMBUS_IC_TIMESYNC_FLAG_SAMPLE);
    assert_int_equal(m.parent_time, b.wall_time);
    assert_int_equal(m.vm_reference_time, b.ref_time);
    guest_reply(&g);
    /* A sync on demand (after a pause, say). */
    vmbus_timesync_sync_now(b.ics.timesync);
    assert_true(guest_recv(&g));
    memcpy(&m, body(&g), sizeof(m));
    assert_int_equal(m.flags, VMBUS_IC_TIMESYNC_FLAG_SYNC);
    guest_reply(&g);
    struct vmbus_timesync_status st;
    vmbus_timesync_status(b.ics.timesync, &st);
    assert_int_equal(st.syncs_sent, 2);
    assert_int_equal(st.samples_sent, 1);
    assert_int_equal(st.version_major, 4);

    /* A guest that only knows 3.0 gets the older 25-byte layout. */
    vh_close(b.h, &g.c);
    assert_int_equal(vh_gpadl_teardown(b.h, g.c.relid, g.c.gpadl), g.c.gpadl);
    uint32_t relid = g.c.relid, conn = g.c.conn_id;
    assert_int_equal(vh_open(b.h, &g.c, relid, conn, 0x999, 4, 4, 0), 0);
    const uint32_t old_versions[] = { V(3, 0) };
    assert_int_equal(guest_negotiate(&g, linux_fw, 2, old_versions, 1), V(3, 0));
    assert_true(guest_recv(&g));
    assert_true(g.len >= VMBUS_IC_PREFIX_SIZE + sizeof(struct vmbus_ic_timesync));
    struct vmbus_ic_timesync old;
    memcpy(&old, body(&g), sizeof(old));
    assert_int_equal(old.flags, VMBUS_IC_TIMESYNC_FLAG_SYNC);
    assert_int_equal(old.parent_time, b.wall_time);
    vh_destroy(b.h);
}

static void no_common_version(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "none,heartbeat");
    struct guest g;
    open_service(&b, &g, HEARTBEAT);
    const uint32_t fw2[] = { V(2, 0) };
    const uint32_t hb[] = { V(3, 0) };
    assert_int_equal(guest_negotiate(&g, fw2, 1, hb, 1), 0);
    /* The service stays idle: nothing more is sent, even much later. */
    vh_advance(b.h, 10000000000ull);
    assert_false(guest_recv(&g));
    struct vmbus_heartbeat_status st;
    vmbus_heartbeat_status(b.ics.heartbeat, &st);
    assert_false(st.negotiated);
    vh_destroy(b.h);
}

static void stray_and_malformed_answers(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "none,heartbeat");
    struct guest g;
    open_service(&b, &g, HEARTBEAT);
    assert_true(guest_recv(&g));
    /* Wrong transaction id, a request instead of a response, too short,
     * not in-band: all ignored; the real answer still works. */
    struct guest copy = g;
    copy.d.trans_id ^= 0x55;
    guest_reply(&copy);
    ichdr(&g)->flags = VMBUS_IC_FLAG_REQUEST;
    assert_int_equal(vh_ring_send(b.h, &g.c, VMBUS_PKT_DATA_INBAND, 0, g.d.trans_id, g.buf,
                                  g.len), 0);
    assert_int_equal(vh_ring_send(b.h, &g.c, VMBUS_PKT_DATA_INBAND, 0, g.d.trans_id, g.buf,
                                  20), 0);
    assert_int_equal(vh_ring_send(b.h, &g.c, VMBUS_PKT_COMP, 0, g.d.trans_id, g.buf, g.len),
                     0);
    uint32_t fw_out, srv_out;
    const uint32_t hb[] = { V(3, 0), V(1, 0) };
    vh_ic_negotiate_answer(g.buf, g.len, linux_fw, 2, hb, 2, &fw_out, &srv_out);
    guest_reply(&g);
    struct vmbus_heartbeat_status st;
    vmbus_heartbeat_status(b.ics.heartbeat, &st);
    assert_true(st.negotiated);
    assert_true(guest_recv(&g));               /* the first beat */
    vh_destroy(b.h);
}

/* ------------------------------------------------------------------ KVP */

static struct vmbus_kvp_reply last_reply;
static int replies;

static void kvp_done(void *ctx, const struct vmbus_kvp_reply *r)
{
    (void)ctx;
    last_reply = *r;
    replies++;
}

/* ASCII -> UTF-16LE with its NUL; returns the byte size (NUL included). */
static uint32_t put_utf16(uint8_t *dst, const char *s)
{
    uint32_t n = 0;
    for (; s[n]; n++) {
        dst[2 * n] = (uint8_t)s[n];
        dst[2 * n + 1] = 0;
    }
    dst[2 * n] = dst[2 * n + 1] = 0;
    return 2 * (n + 1);
}

static void kvp(void **state)
{
    (void)state;
    struct bus b;
    bus_up(&b, "none,kvp");
    struct guest g;
    open_service(&b, &g, KVP);
    /* Requests before the daemon runs are queued. */
    assert_int_equal(vmbus_kvp_set(b.ics.kvp, VMBUS_KVP_POOL_EXTERNAL, "HostName", "hvshim-host",
                                   kvp_done, NULL), 0);
    assert_int_equal(vmbus_kvp_enumerate(b.ics.kvp, VMBUS_KVP_POOL_AUTO, 0, kvp_done, NULL), 0);
    assert_int_equal(vmbus_kvp_queued(b.ics.kvp), 2);
    assert_false(vmbus_kvp_ready(b.ics.kvp));
    /* Nothing is read until hv_kvp_daemon connects; much later it does. */
    vh_advance(b.h, 30000000000ull);
    const uint32_t kvp_versions[] = { V(4, 0), V(3, 0), V(1, 0) };
    assert_int_equal(guest_negotiate(&g, linux_fw, 2, kvp_versions, 3), V(4, 0));
    assert_true(vmbus_kvp_ready(b.ics.kvp));

    /* SET: REG_SZ, UTF-16 key and value with their NULs, 2580-byte body. */
    assert_true(guest_recv(&g));
    assert_int_equal(ichdr(&g)->msgtype, VMBUS_IC_MSG_KVP);
    assert_int_equal(ichdr(&g)->msgsize, VMBUS_KVP_MSG_SIZE);
    struct vmbus_kvp_msg_value set;
    memcpy(&set, body(&g), sizeof(set));
    assert_int_equal(set.header.operation, VMBUS_KVP_OP_SET);
    assert_int_equal(set.header.pool, VMBUS_KVP_POOL_EXTERNAL);
    assert_int_equal(set.data.value_type, VMBUS_KVP_REG_SZ);
    assert_int_equal(set.data.key_size, 18);
    assert_memory_equal(set.data.key, "H\0o\0s\0t\0N\0a\0m\0e\0\0", 18);
    assert_int_equal(set.data.value_size, 24);
    assert_memory_equal(set.data.value, "h\0v\0s\0h\0i\0m\0-\0", 14);
    ichdr(&g)->status = 0;
    guest_reply(&g);
    assert_int_equal(replies, 1);
    assert_int_equal(last_reply.status, 0);
    assert_int_equal(last_reply.op, VMBUS_KVP_OP_SET);

    /* ENUMERATE pool AUTO: the kernel answers key and value in UTF-16. */
    assert_true(guest_recv(&g));
    struct vmbus_kvp_msg_enumerate en;
    memcpy(&en, body(&g), sizeof(en));
    assert_int_equal(en.header.operation, VMBUS_KVP_OP_ENUMERATE);
    assert_int_equal(en.header.pool, VMBUS_KVP_POOL_AUTO);
    assert_int_equal(en.index, 0);
    en.data.key_size = put_utf16(en.data.key, "OSName");
    en.data.value_size = put_utf16(en.data.value, "Debian GNU/Linux");
    en.data.value_type = VMBUS_KVP_REG_SZ;
    memcpy(body(&g), &en, sizeof(en));
    guest_reply(&g);
    assert_int_equal(replies, 2);
    assert_string_equal(last_reply.key, "OSName");
    assert_string_equal(last_reply.value, "Debian GNU/Linux");
    assert_int_equal(last_reply.pool, VMBUS_KVP_POOL_AUTO);

    /* Past the end: HV_S_CONT. */
    assert_int_equal(vmbus_kvp_enumerate(b.ics.kvp, VMBUS_KVP_POOL_AUTO, 10, kvp_done, NULL), 0);
    assert_true(guest_recv(&g));
    ichdr(&g)->status = VMBUS_IC_S_CONT;
    guest_reply(&g);
    assert_int_equal(last_reply.status, VMBUS_IC_S_CONT);
    assert_string_equal(last_reply.key, "");

    /* GET from the guest pool; DELETE. */
    assert_int_equal(vmbus_kvp_get(b.ics.kvp, VMBUS_KVP_POOL_GUEST, "app", kvp_done, NULL), 0);
    assert_true(guest_recv(&g));
    struct vmbus_kvp_msg_value get;
    memcpy(&get, body(&g), sizeof(get));
    assert_int_equal(get.header.operation, VMBUS_KVP_OP_GET);
    assert_memory_equal(get.data.key, "a\0p\0p\0\0", 8);
    get.data.value_size = put_utf16(get.data.value, "running");
    memcpy(body(&g), &get, sizeof(get));
    guest_reply(&g);
    assert_string_equal(last_reply.value, "running");
    assert_int_equal(vmbus_kvp_delete(b.ics.kvp, VMBUS_KVP_POOL_EXTERNAL, "HostName", kvp_done,
                                      NULL), 0);
    assert_true(guest_recv(&g));
    struct vmbus_kvp_msg_delete del;
    memcpy(&del, body(&g), sizeof(del));
    assert_int_equal(del.header.operation, VMBUS_KVP_OP_DELETE);
    assert_int_equal(del.key_size, 18);
    guest_reply(&g);
    assert_int_equal(last_reply.op, VMBUS_KVP_OP_DELETE);

    /* GET_IP_INFO: the MAC goes upper case; the body starts at byte 2. */
    assert_int_equal(vmbus_kvp_get_ip_info(b.ics.kvp, "00:15:5d:aa:bb:cc",
                                           VMBUS_KVP_ADDR_FAMILY_IPV4, kvp_done, NULL), 0);
    assert_true(guest_recv(&g));
    assert_int_equal(ichdr(&g)->msgsize, sizeof(struct vmbus_kvp_msg_ip_info));
    struct vmbus_kvp_msg_ip_info *ip = malloc(sizeof(*ip));
    memcpy(ip, body(&g), sizeof(*ip));
    assert_int_equal(ip->operation, VMBUS_KVP_OP_GET_IP_INFO);
    assert_memory_equal(ip->adapter_id, "0\0" "0\0:\0" "1\0" "5\0:\0" "5\0D\0", 16);
    put_utf16((uint8_t *)ip->ip_addr, "10.0.0.2");
    put_utf16((uint8_t *)ip->sub_net, "255.255.255.0");
    ip->dhcp_enabled = 1;
    memcpy(body(&g), ip, sizeof(*ip));
    free(ip);
    guest_reply(&g);
    assert_string_equal(last_reply.ip_addr, "10.0.0.2");
    assert_string_equal(last_reply.subnet, "255.255.255.0");
    assert_int_equal(last_reply.dhcp_enabled, 1);

    /* Invalid requests are the caller's error. */
    char big[600];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(vmbus_kvp_set(b.ics.kvp, VMBUS_KVP_POOL_EXTERNAL, big, "v", NULL, NULL), -1);
    assert_int_equal(vmbus_kvp_set(b.ics.kvp, VMBUS_KVP_POOL_EXTERNAL, "\xff", "v", NULL, NULL),
                     -1);
    assert_int_equal(vmbus_kvp_set(b.ics.kvp, (enum vmbus_kvp_pool)9, "k", "v", NULL, NULL), -1);
    /* The queue is bounded. */
    int queued = 0;
    while (vmbus_kvp_enumerate(b.ics.kvp, VMBUS_KVP_POOL_GUEST, 0, NULL, NULL) == 0)
        queued++;
    assert_int_equal(queued, 64);
    /* A closed channel fails the one in flight, keeps the rest. */
    vh_close(b.h, &g.c);
    assert_int_equal(vmbus_kvp_queued(b.ics.kvp), 63);
    vh_destroy(b.h);
}

static void kvp_reply_decoder_bounds(void **state)
{
    (void)state;
    struct vmbus_kvp_reply *r = malloc(sizeof(*r));
    uint8_t body[VMBUS_KVP_MSG_SIZE];
    memset(body, 0x41, sizeof(body));    /* 'A' everywhere: no NULs */
    uint32_t huge = 0xFFFFFFFF;
    memcpy(body + 8 + 4, &huge, 4);      /* key_size */
    memcpy(body + 8 + 8, &huge, 4);      /* value_size */
    for (uint32_t len = 0; len <= sizeof(body); len += 97) {
        bool ok = vmbus_kvp_decode_reply(VMBUS_KVP_OP_ENUMERATE, 0, body, len, r);
        assert_int_equal(ok, len >= 8 + 12);
        assert_true(strlen(r->key) <= 256 * 3);
        assert_true(strlen(r->value) <= 1024 * 3);
    }
    assert_true(vmbus_kvp_decode_reply(VMBUS_KVP_OP_ENUMERATE, 0, body, sizeof(body), r));
    assert_int_equal(strlen(r->key), 256 * 3);   /* U+4141 is 3 bytes of UTF-8 */
    assert_false(vmbus_kvp_decode_reply(VMBUS_KVP_OP_GET_IP_INFO, 0, body, 100, r));
    assert_true(vmbus_kvp_decode_reply(VMBUS_KVP_OP_GET_IP_INFO, 0, body, sizeof(body), r));
    assert_true(vmbus_kvp_decode_reply(VMBUS_KVP_OP_SET, 0, body, 4, r));
    assert_false(vmbus_kvp_decode_reply(VMBUS_KVP_OP_SET, 0, body, 3, r));
    free(r);
}

static void utf16_conversion(void **state)
{
    (void)state;
    uint8_t w[32];
    char s[32];
    /* "é€😀": 2-, 3- and 4-byte UTF-8; the last is a surrogate pair. */
    const char *in = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    assert_int_equal(vmbus_utf8_to_utf16le(in, w, sizeof(w)), 10);
    assert_memory_equal(w, "\xe9\x00\xac\x20\x3d\xd8\x00\xde\x00\x00", 10);
    assert_int_equal(vmbus_utf16le_to_utf8(w, 10, s, sizeof(s)), 9);
    assert_string_equal(s, in);
    /* invalid UTF-8: overlong, lone continuation, surrogate, past U+10FFFF */
    assert_int_equal(vmbus_utf8_to_utf16le("\xc0\xaf", w, sizeof(w)), 0);
    assert_int_equal(vmbus_utf8_to_utf16le("\x80", w, sizeof(w)), 0);
    assert_int_equal(vmbus_utf8_to_utf16le("\xed\xa0\x80", w, sizeof(w)), 0);
    assert_int_equal(vmbus_utf8_to_utf16le("\xf4\x90\x80\x80", w, sizeof(w)), 0);
    assert_int_equal(vmbus_utf8_to_utf16le("abc", w, 6), 0);   /* no room for the NUL */
    assert_int_equal(vmbus_utf8_to_utf16le("abc", w, 8), 8);
    /* lone surrogates decode as U+FFFD; output is cut at a character */
    uint8_t lone[4] = { 0x00, 0xdc, 'a', 0 };
    assert_int_equal(vmbus_utf16le_to_utf8(lone, 4, s, sizeof(s)), 4);
    assert_string_equal(s, "\xef\xbf\xbd" "a");
    assert_int_equal(vmbus_utf16le_to_utf8(lone, 4, s, 3), 0);
    assert_int_equal(vmbus_utf16le_to_utf8(lone, 3, s, sizeof(s)), 3);   /* odd length */
}

static void framing_decoders(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct vmbus_ic_version v30 = { 3, 0 };
    uint8_t b4[4] = { 1, 2, 3, 4 };
    assert_int_equal(vmbus_ic_build(buf, sizeof(buf), v30, v30, 1, 3, b4, 4), 32);
    struct vmbus_ic_msg m;
    assert_true(vmbus_ic_parse(buf, 32, &m));
    assert_int_equal(m.body_len, 4);
    assert_false(vmbus_ic_parse(buf, 31, &m));     /* body cut short */
    assert_false(vmbus_ic_parse(buf, 27, &m));
    assert_int_equal(vmbus_ic_build(buf, 31, v30, v30, 1, 3, b4, 4), 0);
    /* negotiate answers */
    const struct vmbus_ic_version fws[2] = { { 3, 0 }, { 1, 0 } };
    const struct vmbus_ic_version svc[1] = { { 4, 0 } };
    uint8_t nb[24] = { 1, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0 };
    struct vmbus_ic_msg nm = { .hdr.msgtype = 0, .body = nb, .body_len = 16 };
    struct vmbus_ic_version fo, so;
    assert_int_equal(vmbus_ic_parse_negotiate_response(&nm, fws, 2, svc, 1, &fo, &so), 1);
    assert_int_equal(so.major, 4);
    nb[12] = 5;           /* a version we never offered */
    assert_int_equal(vmbus_ic_parse_negotiate_response(&nm, fws, 2, svc, 1, &fo, &so), -1);
    nb[0] = nb[2] = 0;
    assert_int_equal(vmbus_ic_parse_negotiate_response(&nm, fws, 2, svc, 1, &fo, &so), 0);
    nb[0] = 2;
    assert_int_equal(vmbus_ic_parse_negotiate_response(&nm, fws, 2, svc, 1, &fo, &so), -1);
    nm.body_len = 12;
    nb[0] = nb[2] = 1;
    assert_int_equal(vmbus_ic_parse_negotiate_response(&nm, fws, 2, svc, 1, &fo, &so), -1);
    nm.hdr.msgtype = 1;
    assert_int_equal(vmbus_ic_parse_negotiate_response(&nm, fws, 2, svc, 1, &fo, &so), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offers_of_the_set),
        cmocka_unit_test(options),
        cmocka_unit_test(heartbeat),
        cmocka_unit_test(shutdown),
        cmocka_unit_test(timesync),
        cmocka_unit_test(no_common_version),
        cmocka_unit_test(stray_and_malformed_answers),
        cmocka_unit_test(kvp),
        cmocka_unit_test(kvp_reply_decoder_bounds),
        cmocka_unit_test(utf16_conversion),
        cmocka_unit_test(framing_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
