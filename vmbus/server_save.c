/* SPDX-License-Identifier: MIT */
/*
 * Server save/restore. The blob is little-endian: a header (magic,
 * version, payload length, FNV-1a checksum of the payload), then the
 * connection, the channels that exist, the GPADLs, and the queued
 * messages. Load parses and checks all of it before touching the server;
 * only mapping guest memory can still fail afterwards, and then the server
 * is put back to its empty, disconnected state.
 */
#include <stdlib.h>
#include <string.h>

#include "vmbus/server_internal.h"

#define SAVE_MAGIC   0x42564856u   /* "VHVB" */
#define SAVE_VERSION 1u
#define HEADER_SIZE  16u
#define MAX_DEVICE_MAPS (sizeof(((struct vmbus_channel *)0)->maps) / \
                         sizeof(((struct vmbus_channel *)0)->maps[0]))

/* -------------------------------------------------------------- writer */

struct writer {
    uint8_t *buf;            /* NULL: only count */
    size_t pos;
    bool failed;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (w->buf && n)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

static void put8(struct writer *w, uint8_t v)
{
    put(w, &v, 1);
}

static void put16(struct writer *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(w, b, 2);
}

static void put32(struct writer *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 4);
}

static void put64(struct writer *w, uint64_t v)
{
    put32(w, (uint32_t)v);
    put32(w, (uint32_t)(v >> 32));
}

/* -------------------------------------------------------------- reader */

struct reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool bad;
};

static const uint8_t *get(struct reader *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

static uint8_t get8(struct reader *r)
{
    const uint8_t *p = get(r, 1);
    return p ? p[0] : 0;
}

static uint16_t get16(struct reader *r)
{
    const uint8_t *p = get(r, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static uint32_t get32(struct reader *r)
{
    const uint8_t *p = get(r, 4);
    if (!p)
        return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(struct reader *r)
{
    uint64_t lo = get32(r);
    return lo | (uint64_t)get32(r) << 32;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* ---------------------------------------------------------------- save */

static void save_channel(struct writer *w, struct vmbus_server *srv, struct vmbus_channel *ch,
                         uint64_t now)
{
    put32(w, ch->relid);
    put8(w, ch->state);
    put8(w, ch->offer_sent);
    put(w, &ch->offer.if_type, sizeof(ch->offer.if_type));
    put(w, &ch->offer.if_instance, sizeof(ch->offer.if_instance));
    put16(w, ch->offer.sub_channel_index);
    if (ch->state != VMBUS_CH_OPEN)
        return;
    put32(w, ch->target_vp);
    put32(w, ch->open_id);
    put(w, ch->user_data, sizeof(ch->user_data));
    put32(w, ch->ring_gpadl);
    put32(w, ch->downstream_offset);
    put32(w, ch->in.priv);
    put32(w, ch->out.priv);
    put32(w, ch->out.guest_seen);
    put8(w, ch->rx_paused);
    put8(w, ch->want_writable);
    put32(w, ch->pending_need);
    /* Timers are saved relative: the clock differs after migration. */
    put64(w, ch->timer_deadline ? (ch->timer_deadline > now ? ch->timer_deadline - now : 0) + 1
                                : 0);
    uint8_t maps = 0;
    for (size_t i = 0; i < MAX_DEVICE_MAPS; i++)
        maps += ch->maps[i].addr != NULL;
    put8(w, maps);
    for (size_t i = 0; i < MAX_DEVICE_MAPS; i++)
        if (ch->maps[i].addr)
            put32(w, ch->maps[i].handle);

    long n = 0;
    if (ch->ops && ch->ops->save) {
        n = ch->ops->save(ch->dev, ch, NULL, 0);
        if (n < 0 || n > UINT32_MAX) {
            w->failed = true;
            n = 0;
        }
    }
    put32(w, (uint32_t)n);
    if (n > 0) {
        if (w->buf && ch->ops->save(ch->dev, ch, w->buf + w->pos, (size_t)n) != n)
            w->failed = true;
        w->pos += (size_t)n;
    }
    (void)srv;
}

static void save_payload(struct writer *w, struct vmbus_server *srv)
{
    uint64_t now = vmbus_srv_now(srv);
    put8(w, srv->conn);
    put8(w, srv->offers_requested);
    put32(w, srv->version);
    put32(w, srv->target_vp);
    put32(w, srv->msg_conn_id);
    put64(w, srv->monitor_gpa[0]);
    put64(w, srv->monitor_gpa[1]);

    uint32_t nch = 0;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++)
        nch += srv->channels[i].state != VMBUS_CH_FREE;
    put32(w, nch);
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++)
        if (srv->channels[i].state != VMBUS_CH_FREE)
            save_channel(w, srv, &srv->channels[i], now);

    put32(w, srv->gpadls.count);
    for (uint32_t i = 0; i < srv->gpadls.capacity; i++) {
        const struct vmbus_gpadl *g = &srv->gpadls.entries[i];
        if (g->state == VMBUS_GPADL_FREE)
            continue;
        put32(w, g->handle);
        put32(w, g->relid);
        put8(w, g->state);
        put16(w, g->range_count);
        put32(w, g->qwords);
        put32(w, g->filled);
        for (uint32_t q = 0; q < g->filled; q++)
            put64(w, g->buf[q]);
    }

    put32(w, srv->backlog_count);
    for (uint32_t i = 0; i < srv->backlog_count; i++) {
        const struct vmbus_out_msg *m = &srv->backlog[(srv->backlog_head + i) % srv->cfg.backlog];
        put32(w, m->vp);
        put32(w, m->size);
        put(w, m->data, m->size);
    }
}

long vmbus_server_save(struct vmbus_server *srv, void *buf, size_t len)
{
    /* Publish any batch in progress: only published indices are saved. */
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++)
        if (srv->channels[i].state == VMBUS_CH_OPEN)
            vmbus_channel_flush(&srv->channels[i]);
    struct writer count = { .buf = NULL, .pos = HEADER_SIZE };
    save_payload(&count, srv);
    if (count.failed || count.pos > UINT32_MAX)
        return -1;
    if (!buf)
        return (long)count.pos;
    if (len < count.pos)
        return -1;
    struct writer w = { .buf = buf, .pos = HEADER_SIZE };
    save_payload(&w, srv);
    if (w.failed || w.pos != count.pos)
        return -1;
    struct writer h = { .buf = buf, .pos = 0 };
    put32(&h, SAVE_MAGIC);
    put32(&h, SAVE_VERSION);
    put32(&h, (uint32_t)(w.pos - HEADER_SIZE));
    put32(&h, fnv1a((uint8_t *)buf + HEADER_SIZE, w.pos - HEADER_SIZE));
    return (long)w.pos;
}

/* ---------------------------------------------------------------- load */

struct saved_channel {
    uint32_t relid;
    uint8_t state;
    bool offer_sent;
    uint32_t target_vp, open_id, ring_gpadl, downstream_offset;
    const uint8_t *user_data;
    uint32_t in_priv, out_priv, out_seen;
    bool rx_paused, want_writable;
    uint32_t pending_need;
    uint64_t timer;                  /* remaining + 1, or 0 */
    uint8_t nr_maps;
    uint32_t maps[MAX_DEVICE_MAPS];
    const uint8_t *dev_blob;
    uint32_t dev_len;
};

struct saved_gpadl {
    uint32_t handle, relid, qwords, filled;
    uint8_t state;
    uint16_t range_count;
    const uint8_t *buf;
};

struct saved {
    uint8_t conn;
    bool offers_requested;
    uint32_t version, target_vp, msg_conn_id;
    uint64_t monitor_gpa[2];
    uint32_t nr_channels;
    struct saved_channel *ch;
    uint32_t nr_gpadls;
    struct saved_gpadl *g;
    uint32_t nr_backlog;
    const uint8_t *backlog;          /* raw entries */
};

static bool parse_channel(struct reader *r, struct vmbus_server *srv, struct saved_channel *s)
{
    s->relid = get32(r);
    s->state = get8(r);
    s->offer_sent = get8(r);
    const uint8_t *type = get(r, 16), *inst = get(r, 16);
    uint16_t sub = get16(r);
    if (r->bad)
        return false;
    /* The same device must sit at the same relid. */
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, s->relid);
    if (!ch || ch->state != VMBUS_CH_CLOSED || !ch->ops ||
        memcmp(type, &ch->offer.if_type, 16) || memcmp(inst, &ch->offer.if_instance, 16) ||
        sub != ch->offer.sub_channel_index)
        return false;
    if (s->state != VMBUS_CH_CLOSED && s->state != VMBUS_CH_OPEN &&
        s->state != VMBUS_CH_RESCINDED)
        return false;
    if (s->state != VMBUS_CH_OPEN)
        return true;
    s->target_vp = get32(r);
    s->open_id = get32(r);
    s->user_data = get(r, VMBUS_OFFER_USER_DEFINED_BYTES);
    s->ring_gpadl = get32(r);
    s->downstream_offset = get32(r);
    s->in_priv = get32(r);
    s->out_priv = get32(r);
    s->out_seen = get32(r);
    s->rx_paused = get8(r);
    s->want_writable = get8(r);
    s->pending_need = get32(r);
    s->timer = get64(r);
    s->nr_maps = get8(r);
    if (s->nr_maps > MAX_DEVICE_MAPS || s->target_vp >= srv->cfg.nr_vps)
        return false;
    for (uint8_t i = 0; i < s->nr_maps; i++)
        s->maps[i] = get32(r);
    s->dev_len = get32(r);
    s->dev_blob = get(r, s->dev_len);
    if (r->bad || (s->dev_len && !(ch->ops->restore)))
        return false;
    return true;
}

static bool parse(struct reader *r, struct vmbus_server *srv, struct saved *s)
{
    s->conn = get8(r);
    s->offers_requested = get8(r);
    s->version = get32(r);
    s->target_vp = get32(r);
    s->msg_conn_id = get32(r);
    s->monitor_gpa[0] = get64(r);
    s->monitor_gpa[1] = get64(r);
    if (r->bad || s->conn > VMBUS_CONNECTED || s->target_vp >= srv->cfg.nr_vps)
        return false;

    s->nr_channels = get32(r);
    if (r->bad || s->nr_channels > srv->cfg.max_channels)
        return false;
    s->ch = calloc(s->nr_channels ? s->nr_channels : 1, sizeof(*s->ch));
    if (!s->ch)
        return false;
    for (uint32_t i = 0; i < s->nr_channels; i++) {
        if (!parse_channel(r, srv, &s->ch[i]))
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (s->ch[j].relid == s->ch[i].relid)
                return false;
    }

    s->nr_gpadls = get32(r);
    if (r->bad || s->nr_gpadls > srv->cfg.max_gpadls)
        return false;
    s->g = calloc(s->nr_gpadls ? s->nr_gpadls : 1, sizeof(*s->g));
    if (!s->g)
        return false;
    for (uint32_t i = 0; i < s->nr_gpadls; i++) {
        struct saved_gpadl *g = &s->g[i];
        g->handle = get32(r);
        g->relid = get32(r);
        g->state = get8(r);
        g->range_count = get16(r);
        g->qwords = get32(r);
        g->filled = get32(r);
        if (r->bad || g->filled > g->qwords || g->qwords > 0xFFFFu / 8u ||
            (g->state != VMBUS_GPADL_ASSEMBLING && g->state != VMBUS_GPADL_CREATED &&
             g->state != VMBUS_GPADL_TEARING_DOWN))
            return false;
        g->buf = get(r, (size_t)g->filled * 8u);
    }

    s->nr_backlog = get32(r);
    if (r->bad || s->nr_backlog > srv->cfg.backlog)
        return false;
    s->backlog = r->p + r->pos;
    for (uint32_t i = 0; i < s->nr_backlog; i++) {
        uint32_t vp = get32(r), size = get32(r);
        if (vp >= srv->cfg.nr_vps || size > HV_MESSAGE_PAYLOAD_MAX || size < 8)
            return false;
        get(r, size);
    }
    return !r->bad && r->pos == r->len;
}

/* Saved ring positions must fit the rings the GPADL describes. */
static bool ring_state_ok(const struct vmbus_gpadl *g, const struct saved_channel *s)
{
    uint32_t pages;
    if (!vmbus_gpadl_whole_pages(g, &pages) || s->downstream_offset < 2 ||
        s->downstream_offset > pages || pages - s->downstream_offset < 2)
        return false;
    uint32_t in_size = (s->downstream_offset - 1) * HV_PAGE_SIZE;
    uint32_t out_size = (pages - s->downstream_offset - 1) * HV_PAGE_SIZE;
    return s->in_priv < in_size && s->in_priv % 8 == 0 && s->out_priv < out_size &&
           s->out_priv % 8 == 0 && s->out_seen < out_size && s->out_seen % 8 == 0;
}

static bool apply_channel(struct vmbus_server *srv, const struct saved_channel *s, uint64_t now)
{
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, s->relid);
    ch->offer_sent = s->offer_sent;
    if (s->state == VMBUS_CH_RESCINDED) {
        /* Removed on the source after the guest saw it: the guest still
         * owes RELID_RELEASED for it. */
        if (ch->ops && ch->ops->destroy)
            ch->ops->destroy(ch->dev);
        ch->ops = NULL;
        ch->dev = NULL;
        ch->state = VMBUS_CH_RESCINDED;
        return true;
    }
    if (s->state != VMBUS_CH_OPEN)
        return true;

    struct vmbus_gpadl *g = vmbus_gpadl_find(&srv->gpadls, s->ring_gpadl);
    if (!g || g->relid != ch->relid || g->state != VMBUS_GPADL_CREATED || g->users ||
        !ring_state_ok(g, s) || vmbus_ch_map_rings(ch, g, s->downstream_offset))
        return false;
    /* The host-owned indices are ours, not what the page says now. */
    ch->in.priv = ch->in.published = s->in_priv;
    ch->out.priv = ch->out.published = s->out_priv;
    ch->out.guest_seen = s->out_seen;
    ch->state = VMBUS_CH_OPEN;
    ch->target_vp = s->target_vp;
    ch->open_id = s->open_id;
    memcpy(ch->user_data, s->user_data, sizeof(ch->user_data));
    ch->rx_paused = s->rx_paused;
    ch->want_writable = s->want_writable;
    ch->pending_need = s->pending_need;
    ch->timer_deadline = s->timer ? now + (s->timer - 1) : 0;
    /* Look at both rings once: things may have happened in flight. */
    ch->rx_again = true;
    ch->writable_again = s->want_writable;

    int rc = s->dev_len ? ch->ops->restore(ch->dev, ch, s->dev_blob, s->dev_len)
                        : ch->ops->open(ch->dev, ch, ch->user_data);
    if (rc) {
        /* The device never opened: close without telling it. */
        ch->state = VMBUS_CH_CLOSED;
        vmbus_ch_unmap_rings(ch);
        return false;
    }
    for (uint8_t i = 0; i < s->nr_maps; i++) {
        uint32_t bytes;
        if (!vmbus_channel_gpadl_map(ch, s->maps[i], &bytes))
            return false;
    }
    /* A device without its own state starts over, as after an open. */
    if (!s->dev_len && ch->ops->writable)
        ch->ops->writable(ch->dev, ch);
    return true;
}

static bool apply(struct vmbus_server *srv, const struct saved *s)
{
    uint64_t now = vmbus_srv_now(srv);
    srv->conn = s->conn;
    srv->offers_requested = s->offers_requested;
    srv->version = s->version;
    srv->target_vp = s->target_vp;
    srv->msg_conn_id = s->msg_conn_id;
    if (s->monitor_gpa[1]) {
        uint64_t pfn = s->monitor_gpa[1] >> HV_PAGE_SHIFT;
        srv->monitor_in = vmbus_mem_map(srv->mem, &pfn, 1);
        if (!srv->monitor_in)
            return false;
        srv->monitor_gpa[0] = s->monitor_gpa[0];
        srv->monitor_gpa[1] = s->monitor_gpa[1];
    }

    for (uint32_t i = 0; i < s->nr_gpadls; i++) {
        const struct saved_gpadl *g = &s->g[i];
        struct vmbus_gpadl *out;
        int rc = vmbus_gpadl_restore(&srv->gpadls, g->relid, g->handle, g->range_count,
                                     g->qwords, g->buf, g->filled,
                                     g->state == VMBUS_GPADL_TEARING_DOWN, &out);
        bool want_complete = g->state != VMBUS_GPADL_ASSEMBLING;
        if (rc < 0 || (want_complete != (rc == VMBUS_GPADL_COMPLETE)))
            return false;
    }
    for (uint32_t i = 0; i < s->nr_channels; i++)
        if (!apply_channel(srv, &s->ch[i], now))
            return false;

    /* A deferred teardown whose user is gone by now completes. */
    for (uint32_t i = 0; i < srv->gpadls.capacity; i++) {
        struct vmbus_gpadl *g = &srv->gpadls.entries[i];
        if (g->state == VMBUS_GPADL_TEARING_DOWN && g->users == 0) {
            vmbus_gpadl_get(g);
            vmbus_srv_gpadl_put(srv, g);
        }
    }

    struct reader r = { .p = s->backlog, .len = SIZE_MAX, .pos = 0 };
    for (uint32_t i = 0; i < s->nr_backlog; i++) {
        struct vmbus_out_msg *m = &srv->backlog[i];
        m->vp = get32(&r);
        m->size = get32(&r);
        memcpy(m->data, get(&r, m->size), m->size);
    }
    srv->backlog_head = 0;
    srv->backlog_count = s->nr_backlog;

    /* Devices this host has and the source had not: offer them now. */
    if (srv->conn == VMBUS_CONNECTED && srv->offers_requested)
        for (uint32_t i = 0; i < srv->cfg.max_channels; i++)
            if (srv->channels[i].state == VMBUS_CH_CLOSED && !srv->channels[i].offer_sent)
                vmbus_ch_send_offer(&srv->channels[i]);
    return true;
}

int vmbus_server_load(struct vmbus_server *srv, const void *buf, size_t len)
{
    struct reader h = { .p = buf, .len = len };
    uint32_t magic = get32(&h), version = get32(&h), plen = get32(&h), sum = get32(&h);
    if (h.bad || magic != SAVE_MAGIC)
        return -1;
    if (version != SAVE_VERSION || plen != len - HEADER_SIZE ||
        fnv1a((const uint8_t *)buf + HEADER_SIZE, plen) != sum)
        return -1;
    /* Only into a fresh server: nothing connected, nothing open. */
    if (srv->conn != VMBUS_DISCONNECTED || srv->gpadls.count || srv->backlog_count)
        return -1;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++)
        if (srv->channels[i].state != VMBUS_CH_FREE && srv->channels[i].state != VMBUS_CH_CLOSED)
            return -1;

    struct saved s;
    memset(&s, 0, sizeof(s));
    struct reader r = { .p = (const uint8_t *)buf + HEADER_SIZE, .len = plen };
    bool ok = parse(&r, srv, &s);
    if (ok) {
        vmbus_srv_enter(srv);
        ok = apply(srv, &s);
        if (!ok) {
            vmbus_srv_log(srv, VMBUS_LOG_ERROR, "restore failed mapping guest memory");
            vmbus_srv_disconnect(srv);
            vmbus_srv_backlog_clear(srv);
        }
        vmbus_srv_leave(srv);
    }
    free(s.ch);
    free(s.g);
    return ok ? 0 : -1;
}
