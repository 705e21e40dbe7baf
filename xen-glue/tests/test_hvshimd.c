/* SPDX-License-Identifier: MIT */
/*
 * hvshimd against the fake libxen* libraries: start-up from xenstore, the
 * forwarding ring and signals, a VMBus channel opened through foreign
 * mappings, back-pressure, domain death, daemon restart (orderly and
 * crash), bad configuration and setup failures.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmbus/protocol.h"
#include "vmbus/server.h"
#include "xen-glue/tests/fake_xen.h"
#include "xen-glue/toolstack/daemon.h"
#include "xen-glue/toolstack/hvshim_xen.h"

#define DOMID 5
#define XS "/local/domain/0/backend/vmbus/5"

static FILE *devnull;
static char state_dir[64];

/* ----------------------------------------------------------- helpers */

static int configure(uint32_t domid, const char *a, const char *b, const char *c)
{
    char id[16];
    char *argv[12] = { "hvshim-xen", "set", id };
    int argc = 3;
    const char *devs[3] = { a, b, c };

    snprintf(id, sizeof(id), "%u", domid);
    for (int i = 0; i < 3; i++)
        if (devs[i]) {
            argv[argc++] = "--device";
            argv[argc++] = (char *)devs[i];
        }
    argv[argc] = NULL;
    return hvshim_xen_main(argc, argv, devnull, devnull);
}

static struct hvd *start(bool keep_state)
{
    struct hvd_options opt = {
        .state_dir = keep_state ? state_dir : NULL,
        .log = devnull,
        /* long intervals: no heartbeats or samples during a test */
        .heartbeat_interval_ns = 3600ull * 1000000000ull,
        .timesync_interval_ns = 3600ull * 1000000000ull,
    };
    char err[256];
    struct hvd *d = hvd_create(&opt, err, sizeof(err));

    if (!d)
        fprintf(stderr, "hvd_create: %s\n", err);
    assert_non_null(d);
    return d;
}

/* Let the daemon handle everything pending. */
static void pump(struct hvd *d)
{
    for (int i = 0; i < 64; i++)
        assert_int_equal(hvd_run_once(d, 0), 0);
}

static struct hvd_domain_info info(struct hvd *d, uint32_t domid)
{
    struct hvd_domain_info i;

    assert_int_equal(hvd_domain_info(d, domid, &i), 0);
    return i;
}

/* The newest message the daemon posted to the guest, or NULL. */
static const struct fx_post *last_post(uint32_t domid)
{
    struct fx_domain *dom = fx_domain(domid);

    return dom && dom->nr_posts ? &dom->posts[dom->nr_posts - 1] : NULL;
}

static uint32_t msgtype(const struct fx_post *p)
{
    uint32_t t;

    memcpy(&t, p->payload, 4);
    return t;
}

static uint16_t initiate(uint32_t domid, uint32_t version)
{
    struct vmbus_msg_initiate_contact m = {
        .header.msgtype = VMBUS_MSG_INITIATE_CONTACT,
        .version_requested = version,
        .target_vcpu = 0,
        .interrupt_page = VMBUS_MESSAGE_SINT,
        .monitor_page1 = 20 * 4096,
        .monitor_page2 = 21 * 4096,
    };

    return fx_guest_post(domid, 0, VMBUS_MESSAGE_CONNECTION_ID_4, VMBUS_MESSAGE_TYPE, &m,
                         sizeof(m));
}

static int setup(void **state)
{
    (void)state;
    fx_reset();
    fx_domain_create(DOMID, true, 2);
    snprintf(state_dir, sizeof(state_dir), "/tmp/hvshimd-test-%d", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    char path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/d%u.vmbus", state_dir, DOMID);
    unlink(path);
    rmdir(state_dir);
    return 0;
}

/* ------------------------------------------------------------ tests */

static void test_starts_configured_domain(void **state)
{
    struct hvd *d;
    struct hvd_domain_info i;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", "shutdown", "kvp"), 0);
    d = start(false);
    pump(d);
    i = info(d, DOMID);
    assert_int_equal(i.state, HVD_DOMAIN_RUNNING);
    assert_non_null(strstr(i.status, "running"));
    assert_non_null(strstr(fx_xs_get(XS "/daemon"), "running"));
    assert_int_equal(i.nr_vps, 2);
    /* Messages on 1 and 4, one event connection per channel. */
    assert_true(fx_routed(DOMID, VMBUS_MESSAGE_CONNECTION_ID, HVSHIM_CONN_MESSAGE));
    assert_true(fx_routed(DOMID, VMBUS_MESSAGE_CONNECTION_ID_4, HVSHIM_CONN_MESSAGE));
    assert_int_equal(i.connections, 2 + 3);
    assert_true(fx_domain(DOMID)->port_bound);
    assert_int_equal(fx.live_resources, 1);
    hvd_destroy(d, false);
    /* An orderly stop without saving detaches: the guest is told the bus
     * is gone (INVALID_CONNECTION_ID), and nothing is left mapped. */
    assert_int_equal(fx_domain(DOMID)->detaches, 1);
    assert_false(fx_routed(DOMID, VMBUS_MESSAGE_CONNECTION_ID, HVSHIM_CONN_MESSAGE));
    assert_int_equal(fx.live_resources, 0);
    assert_int_equal(fx.live_maps, 0);
    assert_int_equal(fx.live_evtchn_handles, 0);
}

static void test_domain_configured_later_is_picked_up(void **state)
{
    struct hvd *d;

    (void)state;
    d = start(false);
    pump(d);
    assert_int_equal(hvd_domain_count(d), 0);
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    pump(d);
    assert_int_equal(hvd_domain_count(d), 1);
    assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_RUNNING);
    hvd_destroy(d, false);
}

static void test_version_handshake_and_offers_through_the_ring(void **state)
{
    struct hvd *d;
    const struct fx_post *p;
    struct vmbus_msg_header req = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    struct vmbus_msg_version_response vr;
    unsigned offers = 0;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", "shutdown", NULL), 0);
    d = start(false);
    pump(d);

    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    p = last_post(DOMID);
    assert_non_null(p);
    assert_int_equal(p->sint, VMBUS_MESSAGE_SINT);
    assert_int_equal(p->type, VMBUS_MESSAGE_TYPE);
    assert_int_equal(msgtype(p), VMBUS_MSG_VERSION_RESPONSE);
    memcpy(&vr, p->payload, sizeof(vr));
    assert_int_equal(vr.version_supported, 1);

    /* Later messages go to the connection the host named. */
    assert_true(fx_routed(DOMID, vr.msg_conn_id, HVSHIM_CONN_MESSAGE));
    assert_int_equal(fx_guest_post(DOMID, 0, vr.msg_conn_id, 1, &req, sizeof(req)), 0);
    pump(d);
    for (unsigned i = 0; i < fx_domain(DOMID)->nr_posts; i++)
        offers += msgtype(&fx_domain(DOMID)->posts[i]) == VMBUS_MSG_OFFERCHANNEL;
    assert_int_equal(offers, 2);
    assert_int_equal(msgtype(last_post(DOMID)), VMBUS_MSG_ALLOFFERS_DELIVERED);
    assert_int_equal(info(d, DOMID).ring_messages, 2);
    hvd_destroy(d, false);
}

/* Lay out a GPADL message with one range of `pages` frames from `first`. */
static size_t gpadl_header(uint8_t *buf, uint32_t relid, uint32_t gpadl, uint64_t first,
                           uint32_t pages)
{
    struct vmbus_msg_gpadl_header h = {
        .header.msgtype = VMBUS_MSG_GPADL_HEADER,
        .child_relid = relid,
        .gpadl = gpadl,
        .range_buflen = (uint16_t)(sizeof(struct vmbus_gpa_range) + pages * 8),
        .range_count = 1,
    };
    struct vmbus_gpa_range r = { .byte_count = pages * 4096, .byte_offset = 0 };
    size_t at = 0;

    memcpy(buf, &h, sizeof(h));
    at += sizeof(h);
    memcpy(buf + at, &r, sizeof(r));
    at += sizeof(r);
    for (uint32_t i = 0; i < pages; i++) {
        uint64_t pfn = first + i;
        memcpy(buf + at, &pfn, 8);
        at += 8;
    }
    return at;
}

static void test_channel_opens_over_foreign_mappings(void **state)
{
    struct hvd *d;
    struct vmbus_msg_header req = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    struct vmbus_msg_offer_channel offer;
    struct vmbus_msg_open_channel open = { .header.msgtype = VMBUS_MSG_OPENCHANNEL };
    struct vmbus_msg_open_result result;
    const struct fx_post *p;
    uint8_t msg[240];
    size_t n;
    uint32_t conn = VMBUS_MESSAGE_CONNECTION_ID, h2g_write;
    struct fx_domain *dom;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(false);
    pump(d);
    dom = fx_domain(DOMID);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    memcpy(&conn, last_post(DOMID)->payload + offsetof(struct vmbus_msg_version_response,
                                                        msg_conn_id), 4);
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, &req, sizeof(req)), 0);
    pump(d);
    memcpy(&offer, dom->posts[dom->nr_posts - 2].payload, sizeof(offer));
    assert_int_equal(offer.header.msgtype, VMBUS_MSG_OFFERCHANNEL);

    /* Rings in guest frames 100-103: guest->host first (2 pages). */
    n = gpadl_header(msg, offer.child_relid, 0x1000, 100, 4);
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, msg, (uint32_t)n), 0);
    pump(d);
    p = last_post(DOMID);
    assert_int_equal(msgtype(p), VMBUS_MSG_GPADL_CREATED);

    open.child_relid = offer.child_relid;
    open.open_id = 7;
    open.ring_gpadl = 0x1000;
    open.target_vp = 1;
    open.downstream_page_offset = 2;
    assert_int_equal(fx_guest_post(DOMID, 1, conn, 1, &open, sizeof(open)), 0);
    pump(d);
    /* OPEN_RESULT, then the heartbeat service's first packet in the
     * host->guest ring (written through a foreign mapping of frame
     * 102-103) and an event flag for the channel on the target VP. */
    for (unsigned i = 0; i < dom->nr_posts; i++)
        if (msgtype(&dom->posts[i]) == VMBUS_MSG_OPENCHANNEL_RESULT)
            memcpy(&result, dom->posts[i].payload, sizeof(result));
    assert_int_equal(result.child_relid, offer.child_relid);
    assert_int_equal(result.status, 0);
    memcpy(&h2g_write, dom->ram + 102 * 4096, 4);
    assert_true(h2g_write > 0);
    assert_true(dom->nr_signals > 0);
    assert_int_equal(dom->signals[dom->nr_signals - 1].flag, offer.child_relid);
    assert_int_equal(dom->signals[dom->nr_signals - 1].vp, 1);
    assert_int_equal(dom->signals[dom->nr_signals - 1].sint, VMBUS_MESSAGE_SINT);

    /* The guest signals the channel: the signal reaches the server. */
    assert_int_equal(fx_guest_signal(DOMID, offer.connection_id), 0);
    pump(d);
    assert_int_equal(info(d, DOMID).signals, 1);
    assert_int_equal(vmbus_server_stats(hvd_domain_server(d, DOMID))->signals_in, 1);
    hvd_destroy(d, false);
    assert_int_equal(fx.live_maps, 0);
}

static void test_full_ring_is_a_status_not_a_block(void **state)
{
    struct hvd *d;
    struct vmbus_msg_header junk = { .msgtype = 0x7777 };
    unsigned accepted = 0;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(false);
    pump(d);
    /* The daemon is not scheduled: the ring fills, then the guest gets
     * INSUFFICIENT_BUFFERS at once. */
    for (int i = 0; i < 40; i++)
        accepted += fx_guest_post(DOMID, 0, 1, 1, &junk, sizeof(junk)) == 0;
    assert_int_equal(accepted, HVSHIM_VMBUS_RING_SLOTS);
    assert_int_equal(fx_guest_post(DOMID, 0, 1, 1, &junk, sizeof(junk)), 0x13);
    pump(d);
    assert_int_equal(info(d, DOMID).ring_messages, HVSHIM_VMBUS_RING_SLOTS);
    assert_int_equal(fx_guest_post(DOMID, 0, 1, 1, &junk, sizeof(junk)), 0);
    hvd_destroy(d, false);
}

static void test_busy_message_slot_waits_for_slot_freed(void **state)
{
    struct hvd *d;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(false);
    pump(d);
    fx_domain(DOMID)->post_busy = 1;
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    assert_int_equal(info(d, DOMID).posts_busy, 1);
    assert_null(last_post(DOMID));
    /* The guest frees its SINT2 slot: the held reply goes out. */
    fx_guest_slot_freed(DOMID, 0, VMBUS_MESSAGE_SINT);
    pump(d);
    assert_int_equal(info(d, DOMID).slot_freed, 1);
    assert_non_null(last_post(DOMID));
    assert_int_equal(msgtype(last_post(DOMID)), VMBUS_MSG_VERSION_RESPONSE);
    hvd_destroy(d, false);
}

static void test_server_pushback_holds_the_ring(void **state)
{
    struct hvd *d;
    struct vmbus_msg_header req = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    struct vmbus_msg_offer_channel offer;
    struct fx_domain *dom;
    uint8_t msg[240];
    uint32_t conn, gpadl = 0x100;
    uint64_t taken;
    unsigned refused = 0;
    size_t n;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(false);
    pump(d);
    dom = fx_domain(DOMID);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    memcpy(&conn, last_post(DOMID)->payload + offsetof(struct vmbus_msg_version_response,
                                                        msg_conn_id), 4);
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, &req, sizeof(req)), 0);
    pump(d);
    memcpy(&offer, dom->posts[dom->nr_posts - 2].payload, sizeof(offer));

    /* The guest never frees its message slot: every reply (GPADL_CREATED
     * here) waits in the server's backlog until that is full; then the
     * server refuses input, the daemon stops taking entries and the ring
     * fills. */
    dom->post_busy = 1000000;
    for (int i = 0; i < 400 && !refused; i++) {
        n = gpadl_header(msg, offer.child_relid, gpadl, 100, 1);
        if (fx_guest_post(DOMID, 0, conn, 1, msg, (uint32_t)n) == 0x13)
            refused++;
        else
            gpadl++;
        pump(d);
    }
    assert_true(refused);
    assert_true(info(d, DOMID).ring_retries >= 1);
    taken = info(d, DOMID).ring_messages;

    /* The slot frees up: the backlog drains and the ring moves again. */
    dom->post_busy = 0;
    fx_guest_slot_freed(DOMID, 0, VMBUS_MESSAGE_SINT);
    pump(d);
    assert_true(info(d, DOMID).ring_messages > taken);
    n = gpadl_header(msg, offer.child_relid, gpadl, 100, 1);
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, msg, (uint32_t)n), 0);
    hvd_destroy(d, false);
}

static void test_domain_death_cleans_up(void **state)
{
    struct hvd *d;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", "kvp", NULL), 0);
    fx_domain_create(6, true, 1);
    assert_int_equal(configure(6, "timesync", NULL, NULL), 0);
    d = start(false);
    pump(d);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    assert_int_equal(hvd_domain_count(d), 2);
    assert_int_equal(fx.live_resources, 2);

    fx_domain_destroy(DOMID);
    pump(d);
    assert_int_equal(hvd_domain_count(d), 1);
    assert_int_equal(hvd_domain_info(d, DOMID, &(struct hvd_domain_info){ 0 }), -1);
    /* Its configuration goes too: domain ids are reused. */
    assert_false(fx_xs_exists(XS));
    assert_int_equal(fx.live_resources, 1);
    /* The other domain is untouched. */
    assert_int_equal(info(d, 6).state, HVD_DOMAIN_RUNNING);
    assert_true(fx_domain(6)->port_bound);
    hvd_destroy(d, false);
    assert_int_equal(fx.live_maps, 0);
}

static void test_orderly_restart_resumes_the_bus(void **state)
{
    struct hvd *d;
    struct vmbus_msg_header req = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    unsigned posts;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", "shutdown", NULL), 0);
    d = start(true);
    pump(d);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    assert_true(vmbus_server_connected(hvd_domain_server(d, DOMID)));
    hvd_destroy(d, true);

    /* Between daemons the guest is told to retry, and its routing stays. */
    assert_true(fx_routed(DOMID, VMBUS_MESSAGE_CONNECTION_ID, HVSHIM_CONN_MESSAGE));
    assert_int_equal(fx_guest_post(DOMID, 0, 1, 1, &req, sizeof(req)), 0x13);
    assert_int_equal(fx_domain(DOMID)->detaches, 0);

    d = start(true);
    pump(d);
    assert_true(info(d, DOMID).restored);
    assert_non_null(strstr(info(d, DOMID).status, "restored"));
    assert_true(vmbus_server_connected(hvd_domain_server(d, DOMID)));
    /* The resumed bus answers without a new handshake. */
    posts = fx_domain(DOMID)->nr_posts;
    assert_int_equal(fx_guest_post(DOMID, 0, 1, 1, &req, sizeof(req)), 0);
    pump(d);
    assert_true(fx_domain(DOMID)->nr_posts > posts);
    assert_int_equal(msgtype(last_post(DOMID)), VMBUS_MSG_ALLOFFERS_DELIVERED);
    hvd_destroy(d, false);
}

static void test_crashed_daemon_then_fresh_start(void **state)
{
    struct hvd *d;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(true);
    pump(d);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    /* The process dies (no DM operations): the guest sees retry statuses,
     * never a hang. The dead daemon's memory is simply left behind. */
    fx_daemon_crash();
    (void)d;
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0x13);

    d = start(true);
    pump(d);
    assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_RUNNING);
    assert_false(info(d, DOMID).restored);
    /* A fresh bus: the guest can connect again. */
    assert_false(vmbus_server_connected(hvd_domain_server(d, DOMID)));
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    assert_int_equal(msgtype(last_post(DOMID)), VMBUS_MSG_VERSION_RESPONSE);
    assert_true(vmbus_server_connected(hvd_domain_server(d, DOMID)));
    hvd_destroy(d, false);
}

static void test_bad_configuration_is_reported_and_retried(void **state)
{
    struct hvd *d;
    struct hvd_domain_info i;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    fx_xs_set(XS "/device/0/type", "floppy");
    d = start(false);
    pump(d);
    i = info(d, DOMID);
    assert_int_equal(i.state, HVD_DOMAIN_FAILED);
    assert_non_null(strstr(i.status, "error: configuration"));
    assert_non_null(strstr(fx_xs_get(XS "/daemon"), "floppy"));
    assert_false(fx_domain(DOMID)->attached);
    /* Our own status write does not make it try again ... */
    pump(d);
    assert_int_equal(fx_domain(DOMID)->attaches, 0);
    /* ... a new configuration does. */
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    pump(d);
    assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_RUNNING);
    hvd_destroy(d, false);
}

static void test_garbage_settings_in_xenstore(void **state)
{
    static const struct {
        const char *key, *value, *expect;
    } cases[] = {
        { XS "/viridian-mask", "zz", "viridian-mask" },
        { XS "/features", "base,warp", "warp" },
        { XS "/device/0/type", "", "bad or missing type" },
        { XS "/device/7/type", "kvp", "indexes" },
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct hvd *d;
        assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
        fx_xs_set(cases[c].key, cases[c].value);
        d = start(false);
        pump(d);
        assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_FAILED);
        assert_non_null(strstr(info(d, DOMID).status, cases[c].expect));
        hvd_destroy(d, false);
    }
}

static void test_domain_without_partition(void **state)
{
    struct hvd *d;

    (void)state;
    /* Written by hand: a configuration for a domain whose viridian mask
     * was never set (e.g. hvshim-xen failed half-way). */
    fx_xs_set(XS "/features", "none");
    fx_xs_set(XS "/viridian-mask", "0x0");
    fx_xs_set(XS "/device/0/type", "heartbeat");
    fx_xs_set(XS "/state", "configured");
    d = start(false);
    pump(d);
    assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_FAILED);
    assert_non_null(strstr(info(d, DOMID).status, "no hvshim partition"));
    hvd_destroy(d, false);
}

static void test_setup_failures_leave_nothing_behind(void **state)
{
    struct hvd *d;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    fx.fail_map_resource = true;
    d = start(false);
    pump(d);
    assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_FAILED);
    assert_non_null(strstr(info(d, DOMID).status, "cannot map the forwarding ring"));
    /* It let go of the domain again. */
    assert_false(fx_domain(DOMID)->attached);
    assert_false(fx_routed(DOMID, 1, HVSHIM_CONN_MESSAGE));
    hvd_destroy(d, false);
    assert_int_equal(fx.live_resources, 0);

    fx.fail_map_resource = false;
    fx_xs_set(XS "/generation", "x");
    fx.fail_dmop_errno = EPERM;    /* e.g. an XSM policy refusing the attach */
    d = start(false);
    pump(d);
    assert_non_null(strstr(info(d, DOMID).status, "attach"));
    hvd_destroy(d, false);
}

static void test_bad_frames_in_a_gpadl_are_refused(void **state)
{
    struct hvd *d;
    struct vmbus_msg_header req = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    struct vmbus_msg_offer_channel offer;
    struct vmbus_msg_open_channel open = { .header.msgtype = VMBUS_MSG_OPENCHANNEL };
    struct fx_domain *dom;
    uint8_t msg[240];
    uint32_t conn;
    size_t n;
    bool open_failed = false, created_failed = false;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(false);
    pump(d);
    dom = fx_domain(DOMID);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0);
    pump(d);
    memcpy(&conn, last_post(DOMID)->payload + offsetof(struct vmbus_msg_version_response,
                                                        msg_conn_id), 4);
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, &req, sizeof(req)), 0);
    pump(d);
    memcpy(&offer, dom->posts[dom->nr_posts - 2].payload, sizeof(offer));

    /* One of the ring frames cannot be mapped (ballooned out, MMIO...). */
    fx.bad_pfn = 102;
    n = gpadl_header(msg, offer.child_relid, 0x2000, 100, 4);
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, msg, (uint32_t)n), 0);
    pump(d);
    open.child_relid = offer.child_relid;
    open.ring_gpadl = 0x2000;
    open.downstream_page_offset = 2;
    assert_int_equal(fx_guest_post(DOMID, 0, conn, 1, &open, sizeof(open)), 0);
    pump(d);
    for (unsigned i = 0; i < dom->nr_posts; i++) {
        const struct fx_post *p = &dom->posts[i];
        if (msgtype(p) == VMBUS_MSG_GPADL_CREATED) {
            struct vmbus_msg_gpadl_created c;
            memcpy(&c, p->payload, sizeof(c));
            created_failed |= c.creation_status != 0;
        }
        if (msgtype(p) == VMBUS_MSG_OPENCHANNEL_RESULT) {
            struct vmbus_msg_open_result r;
            memcpy(&r, p->payload, sizeof(r));
            open_failed |= r.status != 0;
        }
    }
    /* Refused one way or the other, and the daemon keeps serving. */
    assert_true(created_failed || open_failed);
    assert_int_equal(info(d, DOMID).state, HVD_DOMAIN_RUNNING);
    hvd_destroy(d, false);
    assert_int_equal(fx.live_maps, 0);
}

static void test_configuration_removed_stops_serving(void **state)
{
    struct hvd *d;

    (void)state;
    assert_int_equal(configure(DOMID, "heartbeat", NULL, NULL), 0);
    d = start(false);
    pump(d);
    {
        char *argv[] = { "hvshim-xen", "clear", "5", NULL };
        assert_int_equal(hvshim_xen_main(3, argv, devnull, devnull), 0);
    }
    pump(d);
    assert_int_equal(hvd_domain_count(d), 0);
    assert_int_equal(fx_domain(DOMID)->detaches, 1);
    assert_int_equal(initiate(DOMID, VMBUS_VERSION_WIN10_V5_3), 0x12);
    hvd_destroy(d, false);
}

static void test_xenstore_unavailable(void **state)
{
    struct hvd_options opt = { .log = devnull };
    char err[256];

    (void)state;
    fx.xs_down = true;
    assert_null(hvd_create(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "xenstore"));
    fx.xs_down = false;
    fx.privcmd_down = true;
    assert_null(hvd_create(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "Xen interfaces"));
    assert_int_equal(fx.live_xs_handles, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_starts_configured_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_configured_later_is_picked_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_handshake_and_offers_through_the_ring, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_channel_opens_over_foreign_mappings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_is_a_status_not_a_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_message_slot_waits_for_slot_freed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_server_pushback_holds_the_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_death_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orderly_restart_resumes_the_bus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crashed_daemon_then_fresh_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_configuration_is_reported_and_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_settings_in_xenstore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_without_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_failures_leave_nothing_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_in_a_gpadl_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_removed_stops_serving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xenstore_unavailable, setup, teardown),
    };
    int rc;

    devnull = fopen("/dev/null", "w");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    fclose(devnull);
    return rc;
}
