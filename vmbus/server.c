/* SPDX-License-Identifier: MIT */
/*
 * The VMBus server: connection handshake, message dispatch, GPADL
 * messages, the outbound message backlog, timers and logging. Channel
 * life cycle and ring servicing are in channel.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/msg.h"
#include "vmbus/server_internal.h"

/* Versions Linux 6.1 tries, newest first; all of them are accepted. */
static const uint32_t supported_versions[] = {
    VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
    VMBUS_VERSION_WIN10_V5, VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
    VMBUS_VERSION_WIN8_1, VMBUS_VERSION_WIN8,
};

/* Backlog slots kept for host-initiated messages (hot-add, rescind). */
#define BACKLOG_RESERVE 8u

static bool version_known(uint32_t v)
{
    for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
        if (supported_versions[i] == v)
            return true;
    return false;
}

void vmbus_server_config_defaults(struct vmbus_server_config *cfg, uint32_t nr_vps)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nr_vps = nr_vps;
    cfg->max_version = VMBUS_VERSION_WIN10_V5_3;
    cfg->max_channels = 64;
    cfg->max_gpadls = 512;
    cfg->max_gpadl_bytes = 8u << 20;   /* page lists for ~4 GiB of guest memory */
    cfg->backlog = 256;
    cfg->monitor_poll_ns = 1000000;
    cfg->rx_budget = 256;
    cfg->log_burst = 20;
    cfg->log_level = VMBUS_LOG_INFO;
}

/* ------------------------------------------------------------- logging */

uint64_t vmbus_srv_now(const struct vmbus_server *srv)
{
    return srv->host.now_ns(srv->ctx);
}

static void vlog(struct vmbus_server *srv, enum vmbus_log_level level, const char *fmt,
                 va_list ap)
{
    if (!srv->host.log)
        return;
    char line[320];
    int n = snprintf(line, sizeof(line), "vmbus: ");
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    srv->host.log(srv->ctx, level, line);
}

/* Nearly every line is caused by the guest, which could cause millions:
 * all but errors share a per-second budget. */
static bool log_allowed(struct vmbus_server *srv, enum vmbus_log_level level)
{
    if ((uint32_t)level > srv->cfg.log_level)
        return false;
    if (level == VMBUS_LOG_ERROR)
        return true;
    uint64_t now = vmbus_srv_now(srv);
    if (now - srv->log_window_start >= 1000000000ull) {
        uint64_t dropped = srv->log_suppressed_window;
        srv->log_window_start = now;
        srv->log_in_window = 0;
        srv->log_suppressed_window = 0;
        if (dropped && srv->host.log) {
            char line[96];
            snprintf(line, sizeof(line), "vmbus: %llu log lines suppressed",
                     (unsigned long long)dropped);
            srv->host.log(srv->ctx, VMBUS_LOG_WARN, line);
        }
    }
    if (srv->log_in_window >= srv->cfg.log_burst) {
        srv->log_suppressed_window++;
        srv->stats.log_suppressed++;
        return false;
    }
    srv->log_in_window++;
    return true;
}

void vmbus_srv_log(struct vmbus_server *srv, enum vmbus_log_level level, const char *fmt, ...)
{
    if (!srv->host.log || !log_allowed(srv, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(srv, level, fmt, ap);
    va_end(ap);
}

void vmbus_srv_guest_warn(struct vmbus_server *srv, const char *fmt, ...)
{
    if (!srv->host.log || !log_allowed(srv, VMBUS_LOG_WARN))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(srv, VMBUS_LOG_WARN, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- backlog */

uint32_t vmbus_srv_backlog_free(const struct vmbus_server *srv)
{
    return srv->cfg.backlog - srv->backlog_count;
}

static uint32_t msg_type_of(const void *msg)
{
    uint32_t t;
    memcpy(&t, msg, sizeof(t));
    return t;
}

static void backlog_flush(struct vmbus_server *srv)
{
    while (srv->backlog_count) {
        struct vmbus_out_msg *m = &srv->backlog[srv->backlog_head];
        int rc = srv->host.post_message(srv->ctx, m->vp, m->data, m->size);
        if (rc == VMBUS_POST_BUSY)
            return;
        if (rc != VMBUS_POST_OK) {
            srv->stats.messages_dropped++;
            vmbus_srv_log(srv, VMBUS_LOG_WARN, "%s to VP %u undeliverable: dropped",
                          vmbus_msg_type_name(msg_type_of(m->data)), m->vp);
        }
        srv->backlog_head = (srv->backlog_head + 1) % srv->cfg.backlog;
        srv->backlog_count--;
    }
}

void vmbus_srv_backlog_clear(struct vmbus_server *srv)
{
    srv->backlog_head = 0;
    srv->backlog_count = 0;
}

bool vmbus_srv_send_msg(struct vmbus_server *srv, const void *msg, uint32_t size)
{
    uint32_t vp = srv->target_vp;
    srv->stats.messages_out++;
    if (srv->backlog_count == 0) {
        int rc = srv->host.post_message(srv->ctx, vp, msg, size);
        if (rc == VMBUS_POST_OK)
            return true;
        if (rc != VMBUS_POST_BUSY) {
            srv->stats.messages_dropped++;
            vmbus_srv_log(srv, VMBUS_LOG_WARN, "%s to VP %u undeliverable: dropped",
                          vmbus_msg_type_name(msg_type_of(msg)), vp);
            return false;
        }
    }
    /* Order matters to the guest: once anything waits, everything waits. */
    if (srv->backlog_count == srv->cfg.backlog) {
        srv->stats.messages_dropped++;
        vmbus_srv_log(srv, VMBUS_LOG_ERROR, "message backlog full: %s dropped",
                      vmbus_msg_type_name(msg_type_of(msg)));
        return false;
    }
    struct vmbus_out_msg *m =
        &srv->backlog[(srv->backlog_head + srv->backlog_count) % srv->cfg.backlog];
    m->vp = vp;
    m->size = size;
    memcpy(m->data, msg, size);
    srv->backlog_count++;
    if (srv->backlog_count > srv->stats.backlog_peak)
        srv->stats.backlog_peak = srv->backlog_count;
    return true;
}

/* ---------------------------------------------------------- reentrancy */

void vmbus_srv_enter(struct vmbus_server *srv)
{
    srv->depth++;
}

void vmbus_srv_leave(struct vmbus_server *srv)
{
    if (srv->depth == 1) {
        /* Nothing a device wrote stays invisible past this point. */
        for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
            struct vmbus_channel *ch = &srv->channels[i];
            if (ch->state == VMBUS_CH_OPEN && ch->out.priv != ch->out.published)
                vmbus_channel_flush(ch);
        }
    }
    if (srv->depth == 1 && srv->reap_needed) {
        srv->reap_needed = false;
        for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
            struct vmbus_channel *ch = &srv->channels[i];
            if (ch->state == VMBUS_CH_OPEN && ch->broken)
                vmbus_ch_close(ch);
        }
    }
    srv->depth--;
}

/* ------------------------------------------------------ create/destroy */

static bool pfn_check(void *ctx, const uint64_t *pfns, size_t n)
{
    const struct vmbus_memview *mem = ctx;
    return vmbus_mem_pfns_valid(mem, pfns, n);
}

struct vmbus_server *vmbus_server_create(const struct vmbus_server_config *cfg,
                                         const struct vmbus_server_host *host, void *ctx,
                                         const struct vmbus_memview *mem)
{
    if (!cfg || !host || !mem || !host->post_message || !host->signal_event ||
        !host->now_ns)
        return NULL;
    if (cfg->nr_vps == 0 || cfg->nr_vps > 4096 || !version_known(cfg->max_version) ||
        cfg->max_channels == 0 || cfg->max_channels > VMBUS_MAX_RELID ||
        cfg->backlog < cfg->max_channels + BACKLOG_RESERVE + 1 || cfg->max_gpadls == 0 ||
        cfg->rx_budget == 0)
        return NULL;

    struct vmbus_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->cfg = *cfg;
    srv->host = *host;
    srv->ctx = ctx;
    srv->mem = mem;
    srv->channels = calloc(cfg->max_channels, sizeof(*srv->channels));
    srv->backlog = calloc(cfg->backlog, sizeof(*srv->backlog));
    if (!srv->channels || !srv->backlog ||
        vmbus_gpadl_table_init(&srv->gpadls, cfg->max_gpadls, cfg->max_gpadl_bytes / 8,
                               pfn_check, (void *)mem)) {
        free(srv->channels);
        free(srv->backlog);
        free(srv);
        return NULL;
    }
    if (host->connection_add &&
        (host->connection_add(ctx, VMBUS_MESSAGE_CONNECTION_ID, false) ||
         host->connection_add(ctx, VMBUS_MESSAGE_CONNECTION_ID_4, false))) {
        if (host->connection_remove) {
            host->connection_remove(ctx, VMBUS_MESSAGE_CONNECTION_ID);
            host->connection_remove(ctx, VMBUS_MESSAGE_CONNECTION_ID_4);
        }
        vmbus_gpadl_table_destroy(&srv->gpadls);
        free(srv->channels);
        free(srv->backlog);
        free(srv);
        return NULL;
    }
    return srv;
}

void vmbus_server_destroy(struct vmbus_server *srv)
{
    if (!srv)
        return;
    vmbus_srv_enter(srv);
    vmbus_srv_disconnect(srv);
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state == VMBUS_CH_FREE)
            continue;
        if (ch->ops && ch->ops->destroy)
            ch->ops->destroy(ch->dev);
        ch->ops = NULL;
        vmbus_ch_free(ch);
    }
    vmbus_srv_leave(srv);
    if (srv->host.connection_remove) {
        srv->host.connection_remove(srv->ctx, VMBUS_MESSAGE_CONNECTION_ID);
        srv->host.connection_remove(srv->ctx, VMBUS_MESSAGE_CONNECTION_ID_4);
    }
    vmbus_gpadl_table_destroy(&srv->gpadls);
    free(srv->channels);
    free(srv->backlog);
    free(srv);
}

/* ---------------------------------------------------------- connection */

static void unmap_monitor(struct vmbus_server *srv)
{
    if (srv->monitor_in)
        vmbus_mem_unmap(srv->mem, srv->monitor_in, 1);
    srv->monitor_in = NULL;
    srv->monitor_gpa[0] = srv->monitor_gpa[1] = 0;
}

void vmbus_srv_disconnect(struct vmbus_server *srv)
{
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state == VMBUS_CH_OPEN)
            vmbus_ch_close(ch);
        if (ch->state == VMBUS_CH_RESCINDED)
            vmbus_ch_free(ch);      /* the relid is released with the connection */
        ch->offer_sent = false;
    }
    vmbus_gpadl_drop_all(&srv->gpadls);
    unmap_monitor(srv);
    srv->conn = VMBUS_DISCONNECTED;
    srv->offers_requested = false;
    srv->version = 0;
    srv->msg_conn_id = 0;
}

/* Monitor pages: both or neither, page aligned, guest RAM. */
static bool monitor_pages_ok(struct vmbus_server *srv, uint64_t m1, uint64_t m2)
{
    if (m1 == 0 && m2 == 0)
        return true;
    if (m1 == 0 || m2 == 0 || ((m1 | m2) & (HV_PAGE_SIZE - 1)))
        return false;
    uint64_t pfns[2] = { m1 >> HV_PAGE_SHIFT, m2 >> HV_PAGE_SHIFT };
    return pfns[0] <= VMBUS_MAX_PFN && pfns[1] <= VMBUS_MAX_PFN &&
           vmbus_mem_pfns_valid(srv->mem, pfns, 2);
}

static void handle_initiate_contact(struct vmbus_server *srv, uint32_t vp,
                                    const struct vmbus_msg_initiate_contact *m)
{
    uint32_t ver = m->version_requested;
    if (srv->conn == VMBUS_CONNECTED)
        vmbus_srv_log(srv, VMBUS_LOG_INFO, "guest contacts again: previous connection reset");
    /* A new contact starts from scratch (kexec, crash kernel, reboot
     * without reset): nothing queued for the old one is wanted. */
    vmbus_srv_disconnect(srv);
    vmbus_srv_backlog_clear(srv);

    /* Before 3.0 replies go to VP 0; later to the VP the guest names. */
    uint32_t reply_vp = 0;
    if (ver >= VMBUS_VERSION_WIN8_1)
        reply_vp = m->target_vcpu < srv->cfg.nr_vps ? m->target_vcpu : vp;
    srv->target_vp = reply_vp;

    struct vmbus_msg_version_response r = { .header.msgtype = VMBUS_MSG_VERSION_RESPONSE };
    const char *why = NULL;
    if (!version_known(ver) || ver > srv->cfg.max_version)
        why = "version not offered";
    else if (ver >= VMBUS_VERSION_WIN8_1 && m->target_vcpu >= srv->cfg.nr_vps)
        why = "target VP out of range";
    else if (ver >= VMBUS_VERSION_WIN10_V5 && (uint8_t)m->interrupt_page != VMBUS_MESSAGE_SINT)
        why = "message SINT other than 2";
    else if (!monitor_pages_ok(srv, m->monitor_page1, m->monitor_page2)) {
        why = "bad monitor pages";
        r.connection_state = VMBUS_CONNECTION_STATE_FAILED;
    }

    if (!why && m->monitor_page2) {
        uint64_t pfn = m->monitor_page2 >> HV_PAGE_SHIFT;
        srv->monitor_in = vmbus_mem_map(srv->mem, &pfn, 1);
        if (!srv->monitor_in) {
            why = "monitor page not mappable";
            r.connection_state = VMBUS_CONNECTION_STATE_FAILED;
        } else {
            srv->monitor_gpa[0] = m->monitor_page1;
            srv->monitor_gpa[1] = m->monitor_page2;
        }
    }

    if (why) {
        vmbus_srv_log(srv, VMBUS_LOG_INFO, "refused INITIATE_CONTACT %u.%u: %s", ver >> 16,
                      ver & 0xFFFF, why);
    } else {
        srv->conn = VMBUS_CONNECTED;
        srv->version = ver;
        srv->msg_conn_id = ver >= VMBUS_VERSION_WIN10_V5 ? VMBUS_MESSAGE_CONNECTION_ID : 0;
        r.version_supported = 1;
        r.msg_conn_id = srv->msg_conn_id;
        vmbus_srv_log(srv, VMBUS_LOG_INFO, "guest connected: version %u.%u, messages to VP %u",
                      ver >> 16, ver & 0xFFFF, reply_vp);
    }
    vmbus_srv_send_msg(srv, &r, sizeof(r));
}

static int offer_order(const void *a, const void *b)
{
    const struct vmbus_channel *x = *(struct vmbus_channel *const *)a;
    const struct vmbus_channel *y = *(struct vmbus_channel *const *)b;
    int c = memcmp(&x->offer.if_type, &y->offer.if_type, sizeof(x->offer.if_type));
    if (!c)
        c = memcmp(&x->offer.if_instance, &y->offer.if_instance, sizeof(x->offer.if_instance));
    if (!c)
        c = (int)x->offer.sub_channel_index - (int)y->offer.sub_channel_index;
    return c;
}

static void handle_request_offers(struct vmbus_server *srv)
{
    if (srv->offers_requested) {
        vmbus_srv_guest_warn(srv, "second REQUESTOFFERS ignored");
        return;
    }
    srv->offers_requested = true;

    /* Offers go out sorted by class then instance, as Hyper-V does. */
    struct vmbus_channel **list = calloc(srv->cfg.max_channels, sizeof(*list));
    uint32_t n = 0;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state == VMBUS_CH_CLOSED && !ch->offer_sent) {
            if (list)
                list[n++] = ch;
            else
                vmbus_ch_send_offer(ch);
        }
    }
    if (list) {
        qsort(list, n, sizeof(*list), offer_order);
        for (uint32_t i = 0; i < n; i++)
            vmbus_ch_send_offer(list[i]);
        free(list);
    }
    struct vmbus_msg_header done = { .msgtype = VMBUS_MSG_ALLOFFERS_DELIVERED };
    vmbus_srv_send_msg(srv, &done, sizeof(done));
}

/* ------------------------------------------------------------- GPADLs */

static void send_gpadl_created(struct vmbus_server *srv, uint32_t relid, uint32_t handle,
                               uint32_t status)
{
    struct vmbus_msg_gpadl_created r = {
        .header.msgtype = VMBUS_MSG_GPADL_CREATED,
        .child_relid = relid,
        .gpadl = handle,
        .creation_status = status,
    };
    vmbus_srv_send_msg(srv, &r, sizeof(r));
}

static void send_gpadl_torndown(struct vmbus_server *srv, uint32_t handle)
{
    struct vmbus_msg_gpadl_torndown r = {
        .header.msgtype = VMBUS_MSG_GPADL_TORNDOWN,
        .gpadl = handle,
    };
    vmbus_srv_send_msg(srv, &r, sizeof(r));
}

void vmbus_srv_gpadl_put(struct vmbus_server *srv, struct vmbus_gpadl *g)
{
    uint32_t handle = g->handle;
    if (vmbus_gpadl_put(&srv->gpadls, g) && srv->conn == VMBUS_CONNECTED)
        send_gpadl_torndown(srv, handle);
}

static const char *gpadl_error(int rc)
{
    switch (rc) {
    case VMBUS_GPADL_E_DUPLICATE: return "handle already in use";
    case VMBUS_GPADL_E_INVALID: return "range count/length invalid";
    case VMBUS_GPADL_E_NOSPC: return "GPADL limit reached";
    case VMBUS_GPADL_E_RANGE: return "malformed range";
    case VMBUS_GPADL_E_PFN: return "page outside guest RAM";
    case VMBUS_GPADL_E_UNKNOWN: return "unknown handle";
    case VMBUS_GPADL_E_CHANNEL: return "handle of another channel";
    default: return "error";
    }
}

static bool channel_takes_gpadls(struct vmbus_channel *ch)
{
    return ch && ch->offer_sent &&
           (ch->state == VMBUS_CH_CLOSED || ch->state == VMBUS_CH_OPEN);
}

static void handle_gpadl_header(struct vmbus_server *srv, const struct vmbus_msg *m)
{
    const struct vmbus_msg_gpadl_header *h = &m->u.gpadl_header.fixed;
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, h->child_relid);
    int rc;
    struct vmbus_gpadl *g;
    if (!channel_takes_gpadls(ch))
        rc = VMBUS_GPADL_E_CHANNEL;
    else
        rc = vmbus_gpadl_header(&srv->gpadls, h->child_relid, h->gpadl, h->range_count,
                                h->range_buflen, m->u.gpadl_header.ranges,
                                m->u.gpadl_header.ranges_len, &g);
    if (rc == VMBUS_GPADL_COMPLETE) {
        send_gpadl_created(srv, h->child_relid, h->gpadl, VMBUS_STATUS_SUCCESS);
    } else if (rc < 0) {
        vmbus_srv_guest_warn(srv, "GPADL %#x for channel %u refused: %s", h->gpadl,
                             h->child_relid, gpadl_error(rc));
        send_gpadl_created(srv, h->child_relid, h->gpadl, VMBUS_STATUS_UNSUCCESSFUL);
    }
}

static void handle_gpadl_body(struct vmbus_server *srv, const struct vmbus_msg *m)
{
    const struct vmbus_msg_gpadl_body *b = &m->u.gpadl_body.fixed;
    uint32_t relid = 0;
    struct vmbus_gpadl *g;
    int rc = vmbus_gpadl_body(&srv->gpadls, b->gpadl, m->u.gpadl_body.pfns,
                              m->u.gpadl_body.pfns_len, &relid, &g);
    if (rc == VMBUS_GPADL_COMPLETE) {
        send_gpadl_created(srv, relid, b->gpadl, VMBUS_STATUS_SUCCESS);
    } else if (rc == VMBUS_GPADL_E_UNKNOWN) {
        /* No channel to answer on. */
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "GPADL_BODY for %#x: no GPADL being built", b->gpadl);
    } else if (rc < 0) {
        vmbus_srv_guest_warn(srv, "GPADL %#x refused: %s", b->gpadl, gpadl_error(rc));
        send_gpadl_created(srv, relid, b->gpadl, VMBUS_STATUS_UNSUCCESSFUL);
    }
}

static void handle_gpadl_teardown(struct vmbus_server *srv,
                                  const struct vmbus_msg_gpadl_teardown *m)
{
    int rc = vmbus_gpadl_teardown(&srv->gpadls, m->child_relid, m->gpadl);
    if (rc == VMBUS_GPADL_TORN) {
        send_gpadl_torndown(srv, m->gpadl);
    } else if (rc < 0) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "GPADL_TEARDOWN %#x for channel %u: %s", m->gpadl,
                             m->child_relid, gpadl_error(rc));
    }
}

/* ------------------------------------------------------------ dispatch */

static void handle_unload(struct vmbus_server *srv, uint32_t vp)
{
    uint32_t reply_vp = srv->conn == VMBUS_CONNECTED ? srv->target_vp : vp;
    vmbus_srv_disconnect(srv);
    srv->target_vp = reply_vp;
    vmbus_srv_log(srv, VMBUS_LOG_INFO, "guest unloaded the bus");
    struct vmbus_msg_header r = { .msgtype = VMBUS_MSG_UNLOAD_RESPONSE };
    vmbus_srv_send_msg(srv, &r, sizeof(r));
}

static uint32_t live_channels(const struct vmbus_server *srv)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++)
        n += srv->channels[i].state != VMBUS_CH_FREE;
    return n;
}

int vmbus_server_post_message(struct vmbus_server *srv, uint32_t vp, uint32_t connection_id,
                              uint32_t message_type, const void *payload, uint32_t size)
{
    srv->stats.messages_in++;
    if (message_type != VMBUS_MESSAGE_TYPE ||
        (connection_id != VMBUS_MESSAGE_CONNECTION_ID &&
         connection_id != VMBUS_MESSAGE_CONNECTION_ID_4) || vp >= srv->cfg.nr_vps) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "message type %u on connection %u from VP %u ignored",
                             message_type, connection_id, vp);
        return VMBUS_INPUT_DONE;
    }

    struct vmbus_msg m;
    int rc = vmbus_msg_decode(payload, size, &m);
    if (rc) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "malformed channel message (type %u, %u bytes)", m.type,
                             size);
        return VMBUS_INPUT_DONE;
    }

    /* Only take a message whose replies are sure to fit: otherwise leave
     * it with the host, which makes the guest retry. */
    uint32_t replies = m.type == VMBUS_MSG_REQUESTOFFERS ? live_channels(srv) + 1 : 1;
    if (vmbus_srv_backlog_free(srv) < replies + BACKLOG_RESERVE)
        return VMBUS_INPUT_RETRY;

    if (srv->conn != VMBUS_CONNECTED && m.type != VMBUS_MSG_INITIATE_CONTACT &&
        m.type != VMBUS_MSG_UNLOAD) {
        srv->stats.messages_bad++;
        vmbus_srv_guest_warn(srv, "%s before INITIATE_CONTACT ignored",
                             vmbus_msg_type_name(m.type));
        return VMBUS_INPUT_DONE;
    }

    vmbus_srv_enter(srv);
    switch (m.type) {
    case VMBUS_MSG_INITIATE_CONTACT:
        handle_initiate_contact(srv, vp, &m.u.initiate);
        break;
    case VMBUS_MSG_REQUESTOFFERS:
        handle_request_offers(srv);
        break;
    case VMBUS_MSG_GPADL_HEADER:
        handle_gpadl_header(srv, &m);
        break;
    case VMBUS_MSG_GPADL_BODY:
        handle_gpadl_body(srv, &m);
        break;
    case VMBUS_MSG_GPADL_TEARDOWN:
        handle_gpadl_teardown(srv, &m.u.gpadl_teardown);
        break;
    case VMBUS_MSG_OPENCHANNEL:
        vmbus_ch_handle_open(srv, &m.u.open);
        break;
    case VMBUS_MSG_CLOSECHANNEL:
        vmbus_ch_handle_close(srv, m.u.close.child_relid);
        break;
    case VMBUS_MSG_RELID_RELEASED:
        vmbus_ch_handle_relid_released(srv, m.u.relid_released.child_relid);
        break;
    case VMBUS_MSG_MODIFYCHANNEL:
        vmbus_ch_handle_modify(srv, &m.u.modify);
        break;
    case VMBUS_MSG_UNLOAD:
        handle_unload(srv, vp);
        break;
    case VMBUS_MSG_TL_CONNECT_REQUEST:
        /* No hv_sock services: the guest's connect times out. */
        vmbus_srv_log(srv, VMBUS_LOG_DEBUG, "hv_sock connect request ignored");
        break;
    default:
        break;
    }
    vmbus_srv_leave(srv);
    return VMBUS_INPUT_DONE;
}

void vmbus_server_signal_event(struct vmbus_server *srv, uint32_t vp, uint32_t connection_id)
{
    (void)vp;
    srv->stats.signals_in++;
    if (connection_id <= VMBUS_EVENT_CONNECTION_BASE)
        return;
    struct vmbus_channel *ch =
        vmbus_srv_channel_by_relid(srv, connection_id - VMBUS_EVENT_CONNECTION_BASE);
    /* Signals for a channel that just closed are a normal race. */
    if (!ch || ch->state != VMBUS_CH_OPEN)
        return;
    vmbus_srv_enter(srv);
    vmbus_ch_service(ch);
    vmbus_srv_leave(srv);
}

void vmbus_server_message_slot_freed(struct vmbus_server *srv, uint32_t vp, uint32_t sint)
{
    (void)vp;
    if (sint != VMBUS_MESSAGE_SINT)
        return;
    vmbus_srv_enter(srv);
    backlog_flush(srv);
    vmbus_srv_leave(srv);
}

/* --------------------------------------------------------------- timers */

static bool monitor_active(const struct vmbus_server *srv)
{
    if (srv->conn != VMBUS_CONNECTED || !srv->monitor_in)
        return false;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        const struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state == VMBUS_CH_OPEN && ch->monitor_id != VMBUS_MONITOR_ID_NONE)
            return true;
    }
    return false;
}

static bool needs_service(const struct vmbus_channel *ch)
{
    return (ch->rx_again && !ch->rx_paused) || ch->writable_again;
}

uint64_t vmbus_server_next_deadline(const struct vmbus_server *srv)
{
    uint64_t d = UINT64_MAX;
    if (srv->reap_needed || __atomic_load_n(&srv->wake_pending, __ATOMIC_ACQUIRE))
        return 0;
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        const struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state != VMBUS_CH_OPEN)
            continue;
        if (needs_service(ch))
            return 0;
        if (ch->timer_deadline && ch->timer_deadline < d)
            d = ch->timer_deadline;
    }
    if (monitor_active(srv) && srv->next_monitor_poll < d)
        d = srv->next_monitor_poll;
    return d;
}

/* The guest flags monitored channels in the child-to-parent page instead
 * of signalling: collect and clear those bits. */
static void poll_monitor(struct vmbus_server *srv)
{
    uint8_t *page = (uint8_t *)srv->monitor_in;
    for (uint32_t g = 0; g < VMBUS_MONITOR_GROUPS; g++) {
        uint32_t *pending = (uint32_t *)(void *)(page +
            offsetof(struct vmbus_monitor_page, trigger_group) +
            g * sizeof(struct vmbus_monitor_trigger_group));
        uint32_t bits = __atomic_exchange_n(pending, 0u, __ATOMIC_SEQ_CST);
        while (bits) {
            uint32_t id = g * 32 + (uint32_t)__builtin_ctz(bits);
            bits &= bits - 1;
            for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
                struct vmbus_channel *ch = &srv->channels[i];
                if (ch->state == VMBUS_CH_OPEN && ch->monitor_id == id) {
                    srv->stats.signals_in++;
                    vmbus_ch_service(ch);
                }
            }
        }
    }
}

/* Devices woken from other threads. A wake for a channel that is not open
 * is dropped: its device has nothing to deliver any more. */
static void run_wakes(struct vmbus_server *srv)
{
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        struct vmbus_channel *ch = &srv->channels[i];
        if (!__atomic_exchange_n(&ch->wake_pending, 0u, __ATOMIC_ACQ_REL))
            continue;
        if (ch->state == VMBUS_CH_OPEN && !ch->broken && ch->ops && ch->ops->wake)
            ch->ops->wake(ch->dev, ch);
    }
}

void vmbus_server_run_timers(struct vmbus_server *srv)
{
    vmbus_srv_enter(srv);
    uint64_t now = vmbus_srv_now(srv);
    backlog_flush(srv);
    if (__atomic_exchange_n(&srv->wake_pending, 0u, __ATOMIC_ACQ_REL))
        run_wakes(srv);
    if (monitor_active(srv) && now >= srv->next_monitor_poll) {
        srv->next_monitor_poll = now + srv->cfg.monitor_poll_ns;
        poll_monitor(srv);
    }
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state != VMBUS_CH_OPEN)
            continue;
        if (needs_service(ch))
            vmbus_ch_service(ch);
        if (ch->state == VMBUS_CH_OPEN && ch->timer_deadline && ch->timer_deadline <= now) {
            ch->timer_deadline = 0;
            if (ch->ops && ch->ops->timer)
                ch->ops->timer(ch->dev, ch, now);
        }
    }
    vmbus_srv_leave(srv);
}

void vmbus_server_reset(struct vmbus_server *srv)
{
    vmbus_srv_enter(srv);
    vmbus_srv_disconnect(srv);
    vmbus_srv_backlog_clear(srv);
    srv->target_vp = 0;
    vmbus_srv_leave(srv);
}

/* ---------------------------------------------------------- inspection */

size_t vmbus_server_connections(const struct vmbus_server *srv, uint32_t *ids, bool *event,
                                size_t max)
{
    size_t n = 0;
    const uint32_t msg_ids[2] = { VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4 };
    for (size_t i = 0; i < 2; i++, n++) {
        if (n < max) {
            ids[n] = msg_ids[i];
            event[n] = false;
        }
    }
    for (uint32_t i = 0; i < srv->cfg.max_channels; i++) {
        const struct vmbus_channel *ch = &srv->channels[i];
        if (ch->state == VMBUS_CH_FREE)
            continue;
        if (n < max) {
            ids[n] = ch->connection_id;
            event[n] = true;
        }
        n++;
    }
    return n;
}

const struct vmbus_server_stats *vmbus_server_stats(const struct vmbus_server *srv)
{
    return &srv->stats;
}

bool vmbus_server_connected(const struct vmbus_server *srv)
{
    return srv->conn == VMBUS_CONNECTED;
}

uint32_t vmbus_server_version(const struct vmbus_server *srv)
{
    return srv->version;
}

uint32_t vmbus_server_target_vp(const struct vmbus_server *srv)
{
    return srv->target_vp;
}

struct vmbus_channel *vmbus_server_channel(struct vmbus_server *srv, uint32_t relid)
{
    struct vmbus_channel *ch = vmbus_srv_channel_by_relid(srv, relid);
    return ch && ch->state != VMBUS_CH_FREE ? ch : NULL;
}

void vmbus_channel_info(const struct vmbus_channel *ch, struct vmbus_channel_info *out)
{
    static const char *const names[] = {
        [VMBUS_CH_FREE] = "free", [VMBUS_CH_CLOSED] = "closed",
        [VMBUS_CH_OPEN] = "open", [VMBUS_CH_RESCINDED] = "rescinded",
    };
    memset(out, 0, sizeof(*out));
    out->relid = ch->relid;
    out->connection_id = ch->connection_id;
    out->state = ch->state < sizeof(names) / sizeof(names[0]) ? names[ch->state] : "?";
    out->offer_sent = ch->offer_sent;
    out->monitor_id = ch->monitor_id;
    if (ch->state == VMBUS_CH_OPEN) {
        out->target_vp = ch->target_vp;
        out->ring_pages = ch->ring_pages;
    }
}
