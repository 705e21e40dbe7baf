/* SPDX-License-Identifier: MIT */
/*
 * Channels: offers, open/close, rescind, ring servicing, and the calls a
 * device makes back into the server.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/server_internal.h"

#define DEFAULT_MAX_PACKET (16u * 1024u)
#define MAX_MAX_PACKET (1u << 20)
/* Publish the read index at least this often while draining, so a guest
 * writer waiting for room sees it early. */
#define PUBLISH_EVERY 64u

struct vmbus_channel *vmbus_srv_channel_by_relid(struct vmbus_server *srv, uint32_t relid)
{
    if (relid == 0 || relid > srv->cfg.max_channels)
        return NULL;
    return &srv->channels[relid - 1];
}

static const char *ch_name(const struct vmbus_channel *ch)
{
    return ch->offer.name ? ch->offer.name : "device";
}

/* --------------------------------------------------------------- offers */

void vmbus_ch_send_offer(struct vmbus_channel *ch)
{
    struct vmbus_msg_offer_channel m = {
        .header.msgtype = VMBUS_MSG_OFFERCHANNEL,
        .if_type = ch->offer.if_type,
        .if_instance = ch->offer.if_instance,
        .chn_flags = ch->offer.chn_flags,
        .mmio_megabytes = ch->offer.mmio_megabytes,
        .sub_channel_index = ch->offer.sub_channel_index,
        .child_relid = ch->relid,
        .monitor_id = ch->monitor_id,
        .monitor_allocated = ch->monitor_id != VMBUS_MONITOR_ID_NONE,
        /* The guest signals with HvSignalEvent on our id, no interrupt page. */
        .is_dedicated_interrupt = 1,
        .connection_id = ch->connection_id,
    };
    memcpy(m.user_defined, ch->offer.user_defined, sizeof(m.user_defined));
    if (vmbus_srv_send_msg(ch->srv, &m, sizeof(m)))
        ch->offer_sent = true;
}

static int alloc_monitor_id(struct vmbus_server *srv)
{
    for (uint32_t id = 0; id < VMBUS_MONITOR_IDS; id++) {
        bool used = false;
        for (uint32_t i = 0; i < srv->cfg.max_channels && !used; i++)
            used = srv->channels[i].state != VMBUS_CH_FREE && srv->channels[i].monitor_id == id;
        if (!used)
            return (int)id;
    }
    return -1;
}

struct vmbus_channel *vmbus_server_add_device(struct vmbus_server *srv,
                                              const struct vmbus_offer *offer,
                                              const struct vmbus_device_ops *ops, void *dev)
{
    if (!offer || !ops || !ops->open || !ops->close || !ops->packet)
        return NULL;
    uint32_t max_packet = offer->max_packet ? offer->max_packet : DEFAULT_MAX_PACKET;
    if (max_packet < sizeof(struct vmbus_packet_desc) || max_packet > MAX_MAX_PACKET)
        return NULL;
    bool offer_now = srv->conn == VMBUS_CONNECTED && srv->offers_requested;
    if (offer_now && vmbus_srv_backlog_free(srv) == 0)
        return NULL;

    struct vmbus_channel *ch = NULL;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        if (srv->channels[i].state == VMBUS_CH_FREE) {
            ch = &srv->channels[i];
            break;
        }
    }
    if (!ch)
        return NULL;
    int monitor_id = offer->use_monitor ? alloc_monitor_id(srv) : (int)VMBUS_MONITOR_ID_NONE;
    if (monitor_id < 0)
        return NULL;

    uint32_t relid = (uint32_t)(ch - srv->channels) + 1;
    memset(ch, 0, sizeof(*ch));
    ch->pkt_buf = malloc(max_packet);
    if (!ch->pkt_buf)
        return NULL;
    ch->pkt_buf_len = max_packet;
    ch->srv = srv;
    ch->relid = relid;
    ch->connection_id = VMBUS_EVENT_CONNECTION_BASE + relid;
    ch->monitor_id = (uint8_t)monitor_id;
    ch->offer = *offer;
    ch->ops = ops;
    ch->dev = dev;
    if (srv->host.connection_add) {
        if (srv->host.connection_add(srv->ctx, ch->connection_id, true)) {
            free(ch->pkt_buf);
            memset(ch, 0, sizeof(*ch));
            return NULL;
        }
        ch->connection_added = true;
    }
    ch->state = VMBUS_CH_CLOSED;
    if (offer_now)
        vmbus_ch_send_offer(ch);
    return ch;
}

void vmbus_ch_free(struct vmbus_channel *ch)
{
    struct vmbus_server *srv = ch->srv;
    if (ch->connection_added && srv->host.connection_remove)
        srv->host.connection_remove(srv->ctx, ch->connection_id);
    vmbus_gpadl_drop_channel(&srv->gpadls, ch->relid);
    free(ch->pkt_buf);
    memset(ch, 0, sizeof(*ch));
}

void vmbus_server_remove_device(struct vmbus_server *srv, struct vmbus_channel *ch)
{
    if (!ch || ch->srv != srv || ch->state == VMBUS_CH_FREE || ch->state == VMBUS_CH_RESCINDED)
        return;
    vmbus_srv_enter(srv);
    if (ch->state == VMBUS_CH_OPEN)
        vmbus_ch_close(ch);
    if (ch->ops && ch->ops->destroy)
        ch->ops->destroy(ch->dev);
    ch->ops = NULL;
    ch->dev = NULL;
    if (srv->conn == VMBUS_CONNECTED && ch->offer_sent) {
        struct vmbus_msg_rescind_offer m = {
            .header.msgtype = VMBUS_MSG_RESCIND_CHANNELOFFER,
            .child_relid = ch->relid,
        };
        vmbus_srv_send_msg(srv, &m, sizeof(m));
        ch->state = VMBUS_CH_RESCINDED;
    } else {
        vmbus_ch_free(ch);
    }
    vmbus_srv_leave(srv);
}

void vmbus_ch_handle_relid_released(struct vmbus_server *srv, uint32_t relid)
{
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, relid);
    if (!ch || ch->state != VMBUS_CH_RESCINDED) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "RELID_RELEASED for channel %u, which was not rescinded",
                             relid);
        return;
    }
    /* The guest skips GPADL teardown after a rescind: drop them here. */
    vmbus_ch_free(ch);
}

/* ------------------------------------------------------------ open/close */

static void send_open_result(struct vmbus_server *srv, uint32_t relid, uint32_t open_id,
                             uint32_t status)
{
    struct vmbus_msg_open_result r = {
        .header.msgtype = VMBUS_MSG_OPENCHANNEL_RESULT,
        .child_relid = relid,
        .open_id = open_id,
        .status = status,
    };
    vmbus_srv_send_msg(srv, &r, sizeof(r));
}

int vmbus_ch_map_rings(struct vmbus_channel *ch, struct vmbus_gpadl *g,
                       uint32_t downstream_offset)
{
    uint32_t pages;
    const uint64_t *pfns = vmbus_gpadl_whole_pages(g, &pages);
    /* Each ring needs its header page and at least one data page. */
    if (!pfns || downstream_offset < 2 || downstream_offset > pages ||
        pages - downstream_offset < 2)
        return -1;
    uint8_t *map = vmbus_mem_map(ch->srv->mem, pfns, pages);
    if (!map)
        return -1;
    if (vmbus_ring_in_init(&ch->in, map, downstream_offset * HV_PAGE_SIZE) ||
        vmbus_ring_out_init(&ch->out, map + (size_t)downstream_offset * HV_PAGE_SIZE,
                            (pages - downstream_offset) * HV_PAGE_SIZE)) {
        vmbus_mem_unmap(ch->srv->mem, map, pages);
        return -1;
    }
    ch->ring_map = map;
    ch->ring_pages = pages;
    ch->downstream_offset = downstream_offset;
    ch->ring_gpadl = g->handle;
    vmbus_gpadl_get(g);
    return 0;
}

void vmbus_ch_unmap_rings(struct vmbus_channel *ch)
{
    struct vmbus_server *srv = ch->srv;
    if (!ch->ring_map)
        return;
    vmbus_mem_unmap(srv->mem, ch->ring_map, ch->ring_pages);
    ch->ring_map = NULL;
    memset(&ch->in, 0, sizeof(ch->in));
    memset(&ch->out, 0, sizeof(ch->out));
    struct vmbus_gpadl *g = vmbus_gpadl_find(&srv->gpadls, ch->ring_gpadl);
    if (g)
        vmbus_srv_gpadl_put(srv, g);
}

void vmbus_ch_handle_open(struct vmbus_server *srv, const struct vmbus_msg_open_channel *m)
{
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, m->child_relid);
    if (!ch || ch->state == VMBUS_CH_FREE || !ch->offer_sent) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "OPENCHANNEL for unknown channel %u", m->child_relid);
        return;
    }
    const char *why = NULL;
    struct vmbus_gpadl *g = vmbus_gpadl_find(&srv->gpadls, m->ring_gpadl);
    if (ch->state == VMBUS_CH_RESCINDED)
        why = "channel rescinded";
    else if (ch->state == VMBUS_CH_OPEN)
        why = "already open";
    else if (m->target_vp >= srv->cfg.nr_vps)
        why = "target VP out of range";
    else if (!g || g->state != VMBUS_GPADL_CREATED || g->relid != ch->relid)
        why = "ring GPADL unknown or not this channel's";
    else if (g->users)
        why = "ring GPADL already in use";
    else if (vmbus_ch_map_rings(ch, g, m->downstream_page_offset))
        why = "ring layout invalid or memory not mappable";

    if (why) {
        vmbus_srv_guest_warn(srv, "OPENCHANNEL %u (%s) refused: %s", ch->relid, ch_name(ch),
                             why);
        send_open_result(srv, ch->relid, m->open_id, VMBUS_STATUS_UNSUCCESSFUL);
        return;
    }

    ch->state = VMBUS_CH_OPEN;
    ch->target_vp = m->target_vp;
    ch->open_id = m->open_id;
    memcpy(ch->user_data, m->user_data, sizeof(ch->user_data));
    ch->broken = ch->rx_again = ch->rx_paused = ch->want_writable = false;
    ch->writable_again = false;
    ch->timer_deadline = 0;
    int rc = ch->ops->open(ch->dev, ch, m->user_data);
    if (rc || ch->state != VMBUS_CH_OPEN) {
        ch->state = VMBUS_CH_CLOSED;
        vmbus_ch_unmap_rings(ch);
        vmbus_srv_log(srv, VMBUS_LOG_WARN, "channel %u (%s): device refused open", ch->relid,
                      ch_name(ch));
        send_open_result(srv, ch->relid, m->open_id, VMBUS_STATUS_UNSUCCESSFUL);
        return;
    }
    if (ch->monitor_id != VMBUS_MONITOR_ID_NONE)
        srv->next_monitor_poll = vmbus_srv_now(srv);
    send_open_result(srv, ch->relid, m->open_id, VMBUS_STATUS_SUCCESS);
    vmbus_srv_log(srv, VMBUS_LOG_DEBUG, "channel %u (%s) open: rings %u+%u pages, VP %u",
                  ch->relid, ch_name(ch), ch->downstream_offset,
                  ch->ring_pages - ch->downstream_offset, ch->target_vp);
    /* Now that the result is on its way the device may send. */
    if (ch->ops->writable)
        ch->ops->writable(ch->dev, ch);
}

void vmbus_ch_close(struct vmbus_channel *ch)
{
    if (ch->state != VMBUS_CH_OPEN)
        return;
    /* Closed first, so anything the device does in close() is refused. */
    ch->state = VMBUS_CH_CLOSED;
    if (ch->ops)
        ch->ops->close(ch->dev, ch);
    for (size_t i = 0; i < sizeof(ch->maps) / sizeof(ch->maps[0]); i++)
        if (ch->maps[i].addr)
            vmbus_channel_gpadl_unmap(ch, ch->maps[i].handle);
    vmbus_ch_unmap_rings(ch);
    ch->broken = ch->rx_again = ch->rx_paused = ch->want_writable = false;
    ch->writable_again = false;
    ch->timer_deadline = 0;
}

void vmbus_ch_handle_close(struct vmbus_server *srv, uint32_t relid)
{
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, relid);
    if (!ch || ch->state == VMBUS_CH_FREE) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "CLOSECHANNEL for unknown channel %u", relid);
        return;
    }
    /* Closing a channel the host already closed (ring violation, rescind)
     * is expected: nothing to do. */
    if (ch->state == VMBUS_CH_OPEN)
        vmbus_ch_close(ch);
}

void vmbus_ch_handle_modify(struct vmbus_server *srv, const struct vmbus_msg_modify_channel *m)
{
    if (srv->version < VMBUS_VERSION_WIN10_V4_1) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "MODIFYCHANNEL needs version 4.1");
        return;
    }
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, m->child_relid);
    uint32_t status = VMBUS_STATUS_UNSUCCESSFUL;
    if (ch && ch->state == VMBUS_CH_OPEN && m->target_vp < srv->cfg.nr_vps) {
        ch->target_vp = m->target_vp;
        status = VMBUS_STATUS_SUCCESS;
    } else {
        vmbus_srv_guest_warn(srv, "MODIFYCHANNEL %u to VP %u refused", m->child_relid,
                             m->target_vp);
    }
    /* From 5.3 the guest waits for the answer. */
    if (srv->version >= VMBUS_VERSION_WIN10_V5_3) {
        struct vmbus_msg_modify_channel_response r = {
            .header.msgtype = VMBUS_MSG_MODIFYCHANNEL_RESPONSE,
            .child_relid = m->child_relid,
            .status = status,
        };
        vmbus_srv_send_msg(srv, &r, sizeof(r));
    }
}

/* ------------------------------------------------------------ servicing */

static void mark_broken(struct vmbus_channel *ch, const char *why)
{
    if (ch->broken)
        return;
    ch->broken = true;
    ch->srv->stats.ring_violations++;
    ch->srv->reap_needed = true;
    vmbus_srv_log(ch->srv, VMBUS_LOG_WARN, "channel %u (%s): %s; closing it", ch->relid,
                  ch_name(ch), why);
}

static void signal_guest(struct vmbus_channel *ch)
{
    ch->srv->stats.signals_out++;
    ch->srv->host.signal_event(ch->srv->ctx, ch->target_vp, ch->relid);
}

static void publish(struct vmbus_channel *ch)
{
    if (vmbus_ring_in_publish(&ch->in))
        signal_guest(ch);
}

static bool receiving(const struct vmbus_channel *ch)
{
    return ch->state == VMBUS_CH_OPEN && !ch->broken && !ch->rx_paused;
}

static void drain(struct vmbus_channel *ch)
{
    struct vmbus_server *srv = ch->srv;
    uint32_t budget = srv->cfg.rx_budget, unpublished = 0;
    ch->rx_again = false;
    /* Masked while we read: the guest need not signal what we will see. */
    vmbus_ring_in_set_mask(&ch->in, true);
    while (receiving(ch)) {
        if (budget == 0) {
            /* Leave the mask set and come back from run_timers. */
            ch->rx_again = true;
            break;
        }
        struct vmbus_packet pkt;
        uint32_t consumed;
        int rc = vmbus_ring_in_peek(&ch->in, ch->pkt_buf, ch->pkt_buf_len, &pkt, &consumed);
        if (rc == VMBUS_RING_OK) {
            vmbus_ring_in_advance(&ch->in, consumed);
            srv->stats.packets_in++;
            budget--;
            if (ch->ops)
                ch->ops->packet(ch->dev, ch, &pkt);
            if (++unpublished == PUBLISH_EVERY && ch->state == VMBUS_CH_OPEN) {
                publish(ch);
                unpublished = 0;
            }
        } else if (rc == VMBUS_RING_TOO_BIG) {
            vmbus_ring_in_advance(&ch->in, consumed);
            budget--;
            vmbus_srv_guest_warn(srv, "channel %u (%s): %u-byte packet exceeds %u: skipped",
                                 ch->relid, ch_name(ch), consumed - VMBUS_PACKET_TRAILER_SIZE,
                                 ch->pkt_buf_len);
        } else if (rc == VMBUS_RING_BROKEN) {
            mark_broken(ch, "guest-to-host ring indices or packet invalid");
        } else {
            publish(ch);
            unpublished = 0;
            /* Unmask, then look again: data that raced in was not signalled. */
            if (!vmbus_ring_in_set_mask(&ch->in, false))
                return;
            vmbus_ring_in_set_mask(&ch->in, true);
        }
    }
    if (ch->state == VMBUS_CH_OPEN && !ch->broken && ch->ring_map)
        publish(ch);
}

void vmbus_ch_service(struct vmbus_channel *ch)
{
    if (ch->state != VMBUS_CH_OPEN || ch->broken)
        return;
    ch->writable_again = false;
    if (ch->want_writable) {
        int fits = vmbus_ring_out_fits(&ch->out, ch->pending_need);
        if (fits < 0) {
            mark_broken(ch, "host-to-guest read index invalid");
            return;
        }
        if (fits) {
            ch->want_writable = false;
            vmbus_ring_out_wait_for(&ch->out, 0);
            if (ch->ops && ch->ops->writable)
                ch->ops->writable(ch->dev, ch);
        }
    }
    if (receiving(ch))
        drain(ch);
}

/* ------------------------------------------------------- device calls */

void vmbus_channel_flush(struct vmbus_channel *ch)
{
    if (ch->state != VMBUS_CH_OPEN || ch->broken || !ch->ring_map)
        return;
    int rc = vmbus_ring_out_publish(&ch->out);
    if (rc == 1)
        signal_guest(ch);
    else if (rc < 0)
        mark_broken(ch, "host-to-guest read index invalid");
}

int vmbus_channel_send_more(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
                            uint64_t trans_id, const void *ext, uint32_t ext_len,
                            const struct vmbus_ring_seg *segs, uint32_t nsegs)
{
    if (ch->state != VMBUS_CH_OPEN || ch->broken)
        return VMBUS_CHANNEL_E_CLOSED;
    struct vmbus_server *srv = ch->srv;
    int rc = vmbus_ring_out_write_more(&ch->out, type, flags, trans_id, ext, ext_len, segs,
                                       nsegs);
    if (rc == VMBUS_RING_OK) {
        srv->stats.packets_out++;
        return rc;
    }
    if (rc == VMBUS_RING_FULL) {
        /* What is written must be visible, or the guest has nothing to
         * read and never makes room. */
        vmbus_channel_flush(ch);
        uint64_t payload = 0;
        for (uint32_t i = 0; i < nsegs; i++)
            payload += segs[i].len;
        srv->stats.ring_full++;
        ch->pending_need = (uint32_t)vmbus_ring_packet_bytes(ext_len, payload);
        ch->want_writable = true;
        int now = vmbus_ring_out_wait_for(&ch->out, ch->pending_need);
        if (now > 0)
            ch->writable_again = true;   /* room appeared meanwhile: no signal comes */
        else if (now < 0)
            rc = VMBUS_RING_BROKEN;
    }
    if (rc == VMBUS_RING_BROKEN) {
        /* Closed from the next server entry (next_deadline says "now"), not
         * from inside the device's own call. */
        mark_broken(ch, "host-to-guest read index invalid");
        return VMBUS_CHANNEL_E_CLOSED;
    }
    return rc;
}

int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
                       uint64_t trans_id, const void *ext, uint32_t ext_len,
                       const struct vmbus_ring_seg *segs, uint32_t nsegs)
{
    int rc = vmbus_channel_send_more(ch, type, flags, trans_id, ext, ext_len, segs, nsegs);
    if (rc == VMBUS_RING_OK) {
        vmbus_channel_flush(ch);
        if (ch->broken)
            return VMBUS_CHANNEL_E_CLOSED;
    }
    return rc;
}

int vmbus_channel_send_inband(struct vmbus_channel *ch, uint16_t flags, uint64_t trans_id,
                              const void *data, uint32_t len)
{
    struct vmbus_ring_seg seg = { data, len };
    return vmbus_channel_send(ch, VMBUS_PKT_DATA_INBAND, flags, trans_id, NULL, 0, &seg, 1);
}

int vmbus_channel_send_completion(struct vmbus_channel *ch, uint64_t trans_id,
                                  const void *data, uint32_t len)
{
    struct vmbus_ring_seg seg = { data, len };
    return vmbus_channel_send(ch, VMBUS_PKT_COMP, 0, trans_id, NULL, 0, &seg, 1);
}

void vmbus_channel_wake(struct vmbus_channel *ch)
{
    struct vmbus_server *srv = ch->srv;
    /* Flags first, then the host's wake: the loop that wakes up must find
     * them. Release pairs with the exchanges in run_timers. */
    __atomic_store_n(&ch->wake_pending, 1u, __ATOMIC_RELEASE);
    if (!__atomic_exchange_n(&srv->wake_pending, 1u, __ATOMIC_ACQ_REL) && srv->host.wake)
        srv->host.wake(srv->ctx);
}

void vmbus_channel_pause_rx(struct vmbus_channel *ch, bool paused)
{
    ch->rx_paused = paused;
    if (!paused && ch->state == VMBUS_CH_OPEN)
        ch->rx_again = true;
}

void vmbus_channel_set_timer(struct vmbus_channel *ch, uint64_t deadline_ns)
{
    ch->timer_deadline = deadline_ns;
}

uint64_t vmbus_channel_now(const struct vmbus_channel *ch)
{
    return vmbus_srv_now(ch->srv);
}

void *vmbus_channel_gpadl_map(struct vmbus_channel *ch, uint32_t handle, uint32_t *bytes)
{
    struct vmbus_server *srv = ch->srv;
    if (ch->state != VMBUS_CH_OPEN || handle == ch->ring_gpadl)
        return NULL;
    struct vmbus_gpadl *g = vmbus_gpadl_find(&srv->gpadls, handle);
    if (!g || g->state != VMBUS_GPADL_CREATED || g->relid != ch->relid)
        return NULL;
    struct vmbus_channel_map *slot = NULL;
    for (size_t i = 0; i < sizeof(ch->maps) / sizeof(ch->maps[0]); i++) {
        if (ch->maps[i].addr && ch->maps[i].handle == handle)
            return NULL;
        if (!ch->maps[i].addr && !slot)
            slot = &ch->maps[i];
    }
    uint32_t pages;
    const uint64_t *pfns = vmbus_gpadl_whole_pages(g, &pages);
    if (!slot || !pfns)
        return NULL;
    void *addr = vmbus_mem_map(srv->mem, pfns, pages);
    if (!addr)
        return NULL;
    vmbus_gpadl_get(g);
    slot->handle = handle;
    slot->pages = pages;
    slot->addr = addr;
    *bytes = pages * HV_PAGE_SIZE;
    return addr;
}

void vmbus_channel_gpadl_unmap(struct vmbus_channel *ch, uint32_t handle)
{
    struct vmbus_server *srv = ch->srv;
    for (size_t i = 0; i < sizeof(ch->maps) / sizeof(ch->maps[0]); i++) {
        struct vmbus_channel_map *slot = &ch->maps[i];
        if (!slot->addr || slot->handle != handle)
            continue;
        vmbus_mem_unmap(srv->mem, slot->addr, slot->pages);
        memset(slot, 0, sizeof(*slot));
        struct vmbus_gpadl *g = vmbus_gpadl_find(&srv->gpadls, handle);
        if (g)
            vmbus_srv_gpadl_put(srv, g);
        return;
    }
}

const struct vmbus_memview *vmbus_channel_mem(const struct vmbus_channel *ch)
{
    return ch->srv->mem;
}

bool vmbus_channel_is_open(const struct vmbus_channel *ch)
{
    return ch->state == VMBUS_CH_OPEN && !ch->broken;
}

uint32_t vmbus_channel_relid(const struct vmbus_channel *ch)
{
    return ch->relid;
}

uint32_t vmbus_channel_target_vp(const struct vmbus_channel *ch)
{
    return ch->target_vp;
}

uint32_t vmbus_channel_version(const struct vmbus_channel *ch)
{
    return ch->srv->version;
}

const struct vmbus_offer *vmbus_channel_offer(const struct vmbus_channel *ch)
{
    return &ch->offer;
}

struct vmbus_server *vmbus_channel_server(const struct vmbus_channel *ch)
{
    return ch->srv;
}

void *vmbus_channel_device(const struct vmbus_channel *ch)
{
    return ch->dev;
}

void vmbus_channel_log(const struct vmbus_channel *ch, enum vmbus_log_level level,
                       const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    vmbus_srv_log(ch->srv, level, "channel %u (%s): %s", ch->relid, ch_name(ch), line);
}
