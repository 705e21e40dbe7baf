/* SPDX-License-Identifier: MIT */
/* VMBus test harness: guest RAM, recording host, Linux-like guest side. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/vmbus/harness.h"

/* ------------------------------------------------------- host callbacks */

static int host_post(void *ctx, uint32_t vp, const void *msg, uint32_t size)
{
    struct vh *h = ctx;
    if (h->post_fails)
        return VMBUS_POST_FAILED;
    if (h->slots == 0) {
        h->busy_returns++;
        return VMBUS_POST_BUSY;
    }
    assert_true(size <= HV_MESSAGE_PAYLOAD_MAX);
    assert_true(h->nmsgs < VH_MAX_MSGS);
    struct vh_msg *m = &h->msgs[h->nmsgs++];
    m->vp = vp;
    m->size = size;
    memcpy(m->data, msg, size);
    if (h->slots > 0)
        h->slots--;
    return VMBUS_POST_OK;
}

static void host_signal(void *ctx, uint32_t vp, uint32_t relid)
{
    struct vh *h = ctx;
    assert_true(h->nsignals < VH_MAX_SIGNALS);
    h->signals[h->nsignals].vp = vp;
    h->signals[h->nsignals].relid = relid;
    h->nsignals++;
}

static int host_conn_add(void *ctx, uint32_t id, bool event)
{
    struct vh *h = ctx;
    for (uint32_t i = 0; i < h->nconns; i++)
        assert_int_not_equal(h->conns[i], id);
    h->conns[h->nconns] = id;
    h->conn_event[h->nconns] = event;
    h->nconns++;
    return 0;
}

static void host_conn_remove(void *ctx, uint32_t id)
{
    struct vh *h = ctx;
    for (uint32_t i = 0; i < h->nconns; i++) {
        if (h->conns[i] == id) {
            h->conns[i] = h->conns[h->nconns - 1];
            h->conn_event[i] = h->conn_event[h->nconns - 1];
            h->nconns--;
            return;
        }
    }
    fail_msg("removing unregistered connection %u", id);
}

static uint64_t host_now(void *ctx)
{
    return ((struct vh *)ctx)->now;
}

static void host_log(void *ctx, enum vmbus_log_level level, const char *line)
{
    struct vh *h = ctx;
    h->nlogs++;
    snprintf(h->last_log, sizeof(h->last_log), "%s", line);
    if (h->verbose || getenv("VH_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", level, line);
}

/* Backend threads wake the loop; the tests' "loop" waits on this count. */
static void host_wake(void *ctx)
{
    struct vh *h = ctx;
    __atomic_add_fetch(&h->wakes, 1u, __ATOMIC_RELEASE);
}

static const struct vmbus_server_host vh_host = {
    .post_message = host_post,
    .signal_event = host_signal,
    .connection_add = host_conn_add,
    .connection_remove = host_conn_remove,
    .now_ns = host_now,
    .log = host_log,
    .wake = host_wake,
};

/* --------------------------------------------------------------- set up */

struct vh *vh_create_cfg(const struct vmbus_server_config *cfg)
{
    struct vh *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->slots = -1;
    h->now = 1000000000ull;
    h->memfd = memfd_create("vh-guest-ram", 0);
    assert_true(h->memfd >= 0);
    assert_int_equal(ftruncate(h->memfd, VH_LOW_SIZE + VH_HIGH_SIZE), 0);
    h->low = mmap(NULL, VH_LOW_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->memfd, 0);
    h->high = mmap(NULL, VH_HIGH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->memfd,
                   VH_LOW_SIZE);
    assert_true(h->low != MAP_FAILED && h->high != MAP_FAILED);
    struct vmbus_mem_region regions[2] = {
        { .gpa = 0, .size = VH_LOW_SIZE, .host = h->low, .fd = h->memfd, .fd_offset = 0 },
        { .gpa = VH_HIGH_GPA, .size = VH_HIGH_SIZE, .host = h->high, .fd = h->memfd,
          .fd_offset = VH_LOW_SIZE },
    };
    assert_int_equal(vmbus_memview_flat_init(&h->view, regions, 2), 0);
    h->cfg = *cfg;
    if (getenv("VH_VERBOSE"))
        h->cfg.log_level = VMBUS_LOG_DEBUG;
    h->srv = vmbus_server_create(&h->cfg, &vh_host, h, &h->view.view);
    assert_non_null(h->srv);
    h->next_page = 1u << 20;
    h->msg_conn = VMBUS_MESSAGE_CONNECTION_ID;
    return h;
}

struct vh *vh_create(uint32_t nr_vps, uint32_t max_version)
{
    struct vmbus_server_config cfg;
    vmbus_server_config_defaults(&cfg, nr_vps);
    if (max_version)
        cfg.max_version = max_version;
    return vh_create_cfg(&cfg);
}

void vh_new_server(struct vh *h)
{
    vmbus_server_destroy(h->srv);
    assert_int_equal(h->nconns, 0);
    h->srv = vmbus_server_create(&h->cfg, &vh_host, h, &h->view.view);
    assert_non_null(h->srv);
}

void vh_destroy(struct vh *h)
{
    vmbus_server_destroy(h->srv);
    /* The server gives back every connection it registered. */
    assert_int_equal(h->nconns, 0);
    assert_int_equal(h->view.stitched_maps, 0);
    for (uint32_t i = 0; i < h->nechos; i++)
        free(h->echos[i]);
    munmap(h->low, VH_LOW_SIZE);
    munmap(h->high, VH_HIGH_SIZE);
    close(h->memfd);
    free(h);
}

uint8_t *vh_ptr(struct vh *h, uint64_t gpa)
{
    if (gpa < VH_LOW_SIZE)
        return h->low + gpa;
    assert_true(gpa >= VH_HIGH_GPA && gpa < VH_HIGH_GPA + VH_HIGH_SIZE);
    return h->high + (gpa - VH_HIGH_GPA);
}

uint64_t vh_alloc_pages(struct vh *h, uint32_t pages)
{
    uint64_t gpa = h->next_page;
    h->next_page += (uint64_t)pages * HV_PAGE_SIZE;
    assert_true(h->next_page <= VH_LOW_SIZE);
    memset(vh_ptr(h, gpa), 0, (size_t)pages * HV_PAGE_SIZE);
    return gpa;
}

/* ------------------------------------------------------------- messages */

const struct vh_msg *vh_next_msg(struct vh *h)
{
    return h->seen < h->nmsgs ? &h->msgs[h->seen++] : NULL;
}

uint32_t vh_pending_msgs(const struct vh *h)
{
    return h->nmsgs - h->seen;
}

const void *vh_expect(struct vh *h, uint32_t type)
{
    const struct vh_msg *m = vh_next_msg(h);
    if (!m)
        fail_msg("expected message type %u, got none", type);
    uint32_t got;
    memcpy(&got, m->data, 4);
    if (got != type)
        fail_msg("expected message type %u, got %u", type, got);
    return m->data;
}

void vh_eom(struct vh *h, int freed)
{
    if (h->slots >= 0)
        h->slots += freed;
    vmbus_server_message_slot_freed(h->srv, 0, VMBUS_MESSAGE_SINT);
}

int vh_post(struct vh *h, uint32_t vp, uint32_t conn, const void *msg, uint32_t size)
{
    return vmbus_server_post_message(h->srv, vp, conn, VMBUS_MESSAGE_TYPE, msg, size);
}

int vh_post_conn(struct vh *h, const void *msg, uint32_t size)
{
    return vh_post(h, 0, h->msg_conn, msg, size);
}

void vh_signal(struct vh *h, uint32_t relid)
{
    vmbus_server_signal_event(h->srv, 0, VMBUS_EVENT_CONNECTION_BASE + relid);
}

void vh_run(struct vh *h)
{
    for (int i = 0; i < 1000 && vmbus_server_next_deadline(h->srv) <= h->now; i++)
        vmbus_server_run_timers(h->srv);
}

uint32_t vh_wait_wake(struct vh *h, uint32_t seen, uint32_t timeout_ms)
{
    uint32_t now = seen;
    for (uint32_t waited = 0; waited <= timeout_ms * 10u; waited++) {
        now = __atomic_load_n(&h->wakes, __ATOMIC_ACQUIRE);
        if (now != seen)
            break;
        usleep(100);
    }
    vh_run(h);
    return now;
}

void vh_advance(struct vh *h, uint64_t ns)
{
    uint64_t end = h->now + ns;
    for (;;) {
        vh_run(h);
        uint64_t d = vmbus_server_next_deadline(h->srv);
        if (d > end)
            break;
        h->now = d > h->now ? d : h->now;
    }
    h->now = end;
    vh_run(h);
}

/* ------------------------------------------------------------ handshake */

const struct vmbus_msg_version_response *vh_initiate(struct vh *h, uint32_t version)
{
    if (!h->monitor1) {
        h->monitor1 = vh_alloc_pages(h, 1);
        h->monitor2 = vh_alloc_pages(h, 1);
    }
    struct vmbus_msg_initiate_contact m = {
        .header.msgtype = VMBUS_MSG_INITIATE_CONTACT,
        .version_requested = version,
        .target_vcpu = 0,
        .monitor_page1 = h->monitor1,
        .monitor_page2 = h->monitor2,
    };
    uint32_t conn = VMBUS_MESSAGE_CONNECTION_ID;
    if (version >= VMBUS_VERSION_WIN10_V5) {
        m.interrupt_page = VMBUS_MESSAGE_SINT;
        conn = VMBUS_MESSAGE_CONNECTION_ID_4;
    } else {
        m.interrupt_page = vh_alloc_pages(h, 1);
    }
    assert_int_equal(vh_post(h, 0, conn, &m, sizeof(m)), VMBUS_INPUT_DONE);
    const struct vmbus_msg_version_response *r = vh_expect(h, VMBUS_MSG_VERSION_RESPONSE);
    if (r->version_supported && version >= VMBUS_VERSION_WIN10_V5)
        h->msg_conn = r->msg_conn_id;
    else
        h->msg_conn = VMBUS_MESSAGE_CONNECTION_ID;
    return r;
}

uint32_t vh_connect(struct vh *h, uint32_t *tries)
{
    static const uint32_t linux_versions[] = {
        VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
        VMBUS_VERSION_WIN10_V5, VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
        VMBUS_VERSION_WIN8_1, VMBUS_VERSION_WIN8,
    };
    *tries = 0;
    for (size_t i = 0; i < sizeof(linux_versions) / sizeof(linux_versions[0]); i++) {
        (*tries)++;
        if (vh_initiate(h, linux_versions[i])->version_supported)
            return linux_versions[i];
    }
    return 0;
}

uint32_t vh_request_offers(struct vh *h, struct vmbus_msg_offer_channel *offers, uint32_t max)
{
    struct vmbus_msg_header m = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
    assert_int_equal(vh_post_conn(h, &m, sizeof(m)), VMBUS_INPUT_DONE);
    uint32_t n = 0;
    for (;;) {
        const struct vh_msg *msg = vh_next_msg(h);
        assert_non_null(msg);
        uint32_t type;
        memcpy(&type, msg->data, 4);
        if (type == VMBUS_MSG_ALLOFFERS_DELIVERED)
            return n;
        assert_int_equal(type, VMBUS_MSG_OFFERCHANNEL);
        assert_int_equal(msg->size, sizeof(struct vmbus_msg_offer_channel));
        assert_true(n < max);
        memcpy(&offers[n++], msg->data, sizeof(*offers));
    }
}

/* ---------------------------------------------------------------- GPADL */

int64_t vh_gpadl_pfns(struct vh *h, uint32_t relid, uint32_t handle, const uint64_t *pfns,
                      uint32_t pages)
{
    uint8_t buf[HV_MESSAGE_PAYLOAD_MAX];
    uint32_t in_header = pages < VMBUS_GPADL_HEADER_MAX_PFNS ? pages
                                                             : (uint32_t)VMBUS_GPADL_HEADER_MAX_PFNS;
    struct vmbus_msg_gpadl_header hdr = {
        .header.msgtype = VMBUS_MSG_GPADL_HEADER,
        .child_relid = relid,
        .gpadl = handle,
        .range_buflen = (uint16_t)(sizeof(struct vmbus_gpa_range) + pages * 8u),
        .range_count = 1,
    };
    struct vmbus_gpa_range range = { .byte_count = pages * HV_PAGE_SIZE, .byte_offset = 0 };
    memcpy(buf, &hdr, sizeof(hdr));
    memcpy(buf + sizeof(hdr), &range, sizeof(range));
    memcpy(buf + sizeof(hdr) + sizeof(range), pfns, in_header * 8u);
    uint32_t before = h->nmsgs;
    vh_post_conn(h, buf, (uint32_t)(sizeof(hdr) + sizeof(range) + in_header * 8u));
    for (uint32_t done = in_header; done < pages;) {
        uint32_t n = pages - done < VMBUS_GPADL_BODY_MAX_PFNS ? pages - done
                                                             : (uint32_t)VMBUS_GPADL_BODY_MAX_PFNS;
        struct vmbus_msg_gpadl_body body = {
            .header.msgtype = VMBUS_MSG_GPADL_BODY,
            .msg_number = 0,     /* as Linux */
            .gpadl = handle,
        };
        memcpy(buf, &body, sizeof(body));
        memcpy(buf + sizeof(body), pfns + done, n * 8u);
        vh_post_conn(h, buf, (uint32_t)(sizeof(body) + n * 8u));
        done += n;
    }
    if (h->nmsgs == before)
        return -1;
    const struct vmbus_msg_gpadl_created *c = vh_expect(h, VMBUS_MSG_GPADL_CREATED);
    assert_int_equal(c->gpadl, handle);
    assert_int_equal(c->child_relid, relid);
    return c->creation_status;
}

int64_t vh_gpadl(struct vh *h, uint32_t relid, uint32_t handle, uint64_t gpa, uint32_t pages)
{
    uint64_t *pfns = calloc(pages, sizeof(*pfns));
    for (uint32_t i = 0; i < pages; i++)
        pfns[i] = (gpa >> HV_PAGE_SHIFT) + i;
    int64_t rc = vh_gpadl_pfns(h, relid, handle, pfns, pages);
    free(pfns);
    return rc;
}

int64_t vh_gpadl_teardown(struct vh *h, uint32_t relid, uint32_t handle)
{
    struct vmbus_msg_gpadl_teardown m = {
        .header.msgtype = VMBUS_MSG_GPADL_TEARDOWN,
        .child_relid = relid,
        .gpadl = handle,
    };
    uint32_t before = h->nmsgs;
    vh_post_conn(h, &m, sizeof(m));
    if (h->nmsgs == before)
        return -1;
    const struct vmbus_msg_gpadl_torndown *t = vh_expect(h, VMBUS_MSG_GPADL_TORNDOWN);
    return t->gpadl;
}

/* ---------------------------------------------------------------- rings */

uint32_t *vh_ring_field(struct vh_ring *r, size_t offset)
{
    return (uint32_t *)(void *)(r->hdr + offset);
}

static void ring_init(struct vh_ring *r, uint8_t *mem, uint32_t pages)
{
    /* hv_ringbuffer_init: indices 0, pending_send_sz supported. */
    memset(mem, 0, HV_PAGE_SIZE);
    r->hdr = mem;
    r->size = (pages - 1) * HV_PAGE_SIZE;
    VH_FEATURES(r) = VMBUS_RING_FEATURE_PENDING_SEND_SZ;
}

int64_t vh_open(struct vh *h, struct vh_chan *c, uint32_t relid, uint32_t conn_id,
                uint32_t gpadl, uint32_t send_pages, uint32_t recv_pages, uint32_t target_vp)
{
    memset(c, 0, sizeof(*c));
    c->relid = relid;
    c->conn_id = conn_id;
    c->gpadl = gpadl;
    c->send_pages = send_pages;
    c->recv_pages = recv_pages;
    c->gpa = vh_alloc_pages(h, send_pages + recv_pages);
    int64_t rc = vh_gpadl(h, relid, gpadl, c->gpa, send_pages + recv_pages);
    if (rc != 0)
        return -2;
    ring_init(&c->out, vh_ptr(h, c->gpa), send_pages);
    ring_init(&c->in, vh_ptr(h, c->gpa + (uint64_t)send_pages * HV_PAGE_SIZE), recv_pages);
    struct vmbus_msg_open_channel m = {
        .header.msgtype = VMBUS_MSG_OPENCHANNEL,
        .child_relid = relid,
        .open_id = relid,
        .ring_gpadl = gpadl,
        .target_vp = target_vp,
        .downstream_page_offset = send_pages,
    };
    uint32_t before = h->nmsgs;
    vh_post_conn(h, &m, sizeof(m));
    if (h->nmsgs == before)
        return -1;
    const struct vmbus_msg_open_result *r = vh_expect(h, VMBUS_MSG_OPENCHANNEL_RESULT);
    assert_int_equal(r->child_relid, relid);
    assert_int_equal(r->open_id, relid);
    return r->status;
}

void vh_close(struct vh *h, struct vh_chan *c)
{
    struct vmbus_msg_close_channel m = {
        .header.msgtype = VMBUS_MSG_CLOSECHANNEL,
        .child_relid = c->relid,
    };
    vh_post_conn(h, &m, sizeof(m));
}

static uint32_t ring_avail_write(struct vh_ring *r)
{
    uint32_t w = VH_WRITE_INDEX(r), rd = VH_READ_INDEX(r);
    return w >= rd ? r->size - (w - rd) : rd - w;
}

static uint32_t copy_in(struct vh_ring *r, uint32_t pos, const void *src, uint32_t n)
{
    uint8_t *data = r->hdr + HV_PAGE_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        data[pos] = ((const uint8_t *)src)[i];
        pos = (pos + 1) % r->size;
    }
    return pos;
}

static uint32_t copy_out(struct vh_ring *r, uint32_t pos, void *dst, uint32_t n)
{
    const uint8_t *data = r->hdr + HV_PAGE_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        ((uint8_t *)dst)[i] = data[pos];
        pos = (pos + 1) % r->size;
    }
    return pos;
}

int vh_ring_write(struct vh_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
                  const void *data, uint32_t len, bool *signal)
{
    uint32_t padded = (len + 7) & ~7u;
    uint32_t total = 16 + padded + 8;
    *signal = false;
    if (ring_avail_write(r) <= total)
        return -1;
    uint32_t old = VH_WRITE_INDEX(r);
    struct vmbus_packet_desc d = {
        .type = type, .offset8 = 2, .len8 = (uint16_t)((16 + padded) / 8), .flags = flags,
        .trans_id = trans_id,
    };
    uint32_t pos = copy_in(r, old, &d, sizeof(d));
    pos = copy_in(r, pos, data, len);
    static const uint8_t zero[8];
    pos = copy_in(r, pos, zero, padded - len);
    uint64_t trailer = (uint64_t)old << 32;
    pos = copy_in(r, pos, &trailer, 8);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    VH_WRITE_INDEX(r) = pos;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    *signal = VH_INT_MASK(r) == 0 && VH_READ_INDEX(r) == old;
    return 0;
}

int vh_ring_send(struct vh *h, struct vh_chan *c, uint16_t type, uint16_t flags,
                 uint64_t trans_id, const void *data, uint32_t len)
{
    bool signal;
    int rc = vh_ring_write(&c->out, type, flags, trans_id, data, len, &signal);
    if (rc == 0 && signal)
        vh_signal(h, c->relid);
    return rc;
}

int vh_ring_read(struct vh_ring *r, struct vmbus_packet_desc *desc, void *buf,
                 uint32_t buflen, uint32_t *len, bool *signal)
{
    *signal = false;
    uint32_t w = VH_WRITE_INDEX(r), rd = VH_READ_INDEX(r);
    uint32_t avail = w >= rd ? w - rd : r->size - rd + w;
    if (avail < sizeof(*desc))
        return 0;
    copy_out(r, rd, desc, sizeof(*desc));
    uint32_t plen = desc->len8 * 8u, off = desc->offset8 * 8u;
    assert_true(plen >= 16 && off >= 16 && off <= plen && plen + 8 <= avail);
    uint8_t *pkt = malloc(plen);
    copy_out(r, rd, pkt, plen);
    uint32_t dlen = plen - off;
    assert_true(dlen <= buflen);
    memcpy(buf, pkt + off, dlen);
    *len = dlen;
    /* The trailer holds the writer's old write index. */
    uint64_t trailer;
    copy_out(r, (rd + plen) % r->size, &trailer, 8);
    assert_int_equal(trailer >> 32, rd);
    free(pkt);

    uint32_t start = rd;
    rd = (rd + plen + 8) % r->size;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    VH_READ_INDEX(r) = rd;
    /* hv_pkt_iter_close: signal a blocked writer on the crossing. */
    if (VH_FEATURES(r) & VMBUS_RING_FEATURE_PENDING_SEND_SZ) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint32_t pending = VH_PENDING(r);
        if (pending) {
            uint32_t curr = ring_avail_write(r);
            uint32_t bytes_read = rd >= start ? rd - start : r->size - start + rd;
            if (!(curr - bytes_read > pending) && curr > pending)
                *signal = true;
        }
    }
    return 1;
}

int vh_ring_recv(struct vh *h, struct vh_chan *c, struct vmbus_packet_desc *desc, void *buf,
                 uint32_t buflen, uint32_t *len)
{
    bool signal;
    int rc = vh_ring_read(&c->in, desc, buf, buflen, len, &signal);
    if (signal)
        vh_signal(h, c->relid);
    return rc;
}

uint32_t vh_take_signals(struct vh *h, uint32_t relid)
{
    uint32_t n = 0, keep = 0;
    for (uint32_t i = 0; i < h->nsignals; i++) {
        if (h->signals[i].relid == relid)
            n++;
        else
            h->signals[keep++] = h->signals[i];
    }
    h->nsignals = keep;
    return n;
}

/* ------------------------------------------------------------ IC guest */

bool vh_ic_negotiate_answer(uint8_t *buf, uint32_t len, const uint32_t *fw, int nfw,
                            const uint32_t *srv_versions, int nsrv, uint32_t *fw_out,
                            uint32_t *srv_out)
{
    /* Mirrors the guest helper: first of the guest's own versions (in its
     * preference order) that the host listed wins; answer 1/1 or 0/0. */
    struct vmbus_ic_header hdr;
    assert_true(len >= VMBUS_IC_PREFIX_SIZE + 8);
    memcpy(&hdr, buf + 8, sizeof(hdr));
    uint16_t cnt[2];
    memcpy(cnt, buf + VMBUS_IC_PREFIX_SIZE, 4);
    assert_true(VMBUS_IC_PREFIX_SIZE + 8 + (cnt[0] + cnt[1]) * 4u <= len);
    struct vmbus_ic_version *v = (struct vmbus_ic_version *)(void *)(buf + VMBUS_IC_PREFIX_SIZE + 8);
    bool found = false;
    uint32_t fw_pick = 0, srv_pick = 0;
    for (int i = 0; i < nfw && !found; i++)
        for (int j = 0; j < cnt[0] && !found; j++)
            if (v[j].major == fw[i] >> 16 && v[j].minor == (fw[i] & 0xFFFF))
                found = true, fw_pick = fw[i];
    bool found_srv = false;
    if (found)
        for (int i = 0; i < nsrv && !found_srv; i++)
            for (int j = cnt[0]; j < cnt[0] + cnt[1] && !found_srv; j++)
                if (v[j].major == srv_versions[i] >> 16 && v[j].minor == (srv_versions[i] & 0xFFFF))
                    found_srv = true, srv_pick = srv_versions[i];
    hdr.msgsize = 16;
    hdr.flags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE;
    memcpy(buf + 8, &hdr, sizeof(hdr));
    uint16_t out_cnt[2] = { found_srv ? 1 : 0, found_srv ? 1 : 0 };
    memcpy(buf + VMBUS_IC_PREFIX_SIZE, out_cnt, 4);
    v[0].major = (uint16_t)(fw_pick >> 16);
    v[0].minor = (uint16_t)fw_pick;
    v[1].major = (uint16_t)(srv_pick >> 16);
    v[1].minor = (uint16_t)srv_pick;
    if (fw_out)
        *fw_out = fw_pick;
    if (srv_out)
        *srv_out = srv_pick;
    return found_srv;
}

/* ----------------------------------------------------------- echo device */

#include "vmbus/guid.h"

static int echo_open(void *dev, struct vmbus_channel *ch, const uint8_t *user_data)
{
    struct vh_echo *e = dev;
    assert_ptr_equal(ch, e->ch);
    if (e->refuse_open)
        return -1;
    e->opens++;
    memcpy(e->user_data, user_data, sizeof(e->user_data));
    e->has_pending = false;
    return 0;
}

static void echo_close(void *dev, struct vmbus_channel *ch)
{
    struct vh_echo *e = dev;
    (void)ch;
    e->closes++;
    e->has_pending = false;
}

static void echo_send(struct vh_echo *e, uint64_t id, const void *data, uint32_t len)
{
    int rc = vmbus_channel_send_inband(e->ch, 0, id, data, len);
    if (rc == VMBUS_RING_FULL) {
        e->blocked++;
        e->has_pending = true;
        e->pending_id = id;
        e->pending_len = len;
        memcpy(e->pending, data, len);
        vmbus_channel_pause_rx(e->ch, true);   /* take no more until this went */
    }
}

static void echo_packet(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
    struct vh_echo *e = dev;
    (void)ch;
    e->packets++;
    if (pkt->type == VMBUS_PKT_DATA_INBAND && pkt->data_len <= sizeof(e->pending))
        echo_send(e, pkt->trans_id, pkt->data, pkt->data_len);
}

static void echo_writable(void *dev, struct vmbus_channel *ch)
{
    struct vh_echo *e = dev;
    e->writables++;
    if (e->has_pending) {
        e->has_pending = false;
        vmbus_channel_pause_rx(ch, false);
        echo_send(e, e->pending_id, e->pending, e->pending_len);
    }
}

static long echo_save(void *dev, struct vmbus_channel *ch, void *buf, size_t len)
{
    struct vh_echo *e = dev;
    (void)ch;
    if (!buf)
        return sizeof(e->packets);
    if (len < sizeof(e->packets))
        return -1;
    memcpy(buf, &e->packets, sizeof(e->packets));
    return sizeof(e->packets);
}

static int echo_restore(void *dev, struct vmbus_channel *ch, const void *buf, size_t len)
{
    struct vh_echo *e = dev;
    (void)ch;
    if (len != sizeof(e->packets))
        return -1;
    memcpy(&e->packets, buf, len);
    e->restores++;
    return 0;
}

static void echo_destroy(void *dev)
{
    struct vh_echo *e = dev;
    e->destroyed++;
}

const struct vmbus_device_ops vh_echo_ops = {
    .open = echo_open,
    .close = echo_close,
    .packet = echo_packet,
    .writable = echo_writable,
    .save = echo_save,
    .restore = echo_restore,
    .destroy = echo_destroy,
};

struct vh_echo *vh_add_echo(struct vh *h, const char *if_type, const char *instance,
                            uint16_t sub_index, bool monitor)
{
    /* Owned by the harness (tests look at it after the server let go). */
    struct vh_echo *e = calloc(1, sizeof(*e));
    assert_true(h->nechos < 64);
    h->echos[h->nechos++] = e;
    struct vmbus_offer offer = {
        .sub_channel_index = sub_index,
        .use_monitor = monitor,
        .max_packet = 4096 + 64,
        .name = "echo",
    };
    assert_true(vmbus_guid_parse(if_type, &offer.if_type));
    assert_true(vmbus_guid_parse(instance, &offer.if_instance));
    e->ch = vmbus_server_add_device(h->srv, &offer, &vh_echo_ops, e);
    return e;
}
