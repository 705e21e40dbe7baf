/* SPDX-License-Identifier: MIT */
/* IC framing, version negotiation and the one-transaction engine. */
#include <string.h>

#include "vmbus/ic/ic.h"
#include "vmbus/server.h"

const struct vmbus_ic_version vmbus_ic_frameworks[2] = { { 3, 0 }, { 1, 0 } };

/* ------------------------------------------------------------- framing */

size_t vmbus_ic_build(uint8_t *buf, size_t cap, struct vmbus_ic_version framework,
                      struct vmbus_ic_version msg_version, uint16_t msgtype, uint8_t flags,
                      const void *body, size_t body_len)
{
    if (body_len > UINT16_MAX || cap < VMBUS_IC_PREFIX_SIZE ||
        body_len > cap - VMBUS_IC_PREFIX_SIZE)
        return 0;
    struct vmbus_pipe_header pipe = {
        .flags = VMBUS_PIPE_FLAG_DATA,
        .msgsize = (uint32_t)(sizeof(struct vmbus_ic_header) + body_len),
    };
    struct vmbus_ic_header hdr = {
        .framework_version = framework,
        .msgtype = msgtype,
        .msg_version = msg_version,
        .msgsize = (uint16_t)body_len,
        .status = VMBUS_IC_S_OK,
        .transaction_id = 0,
        .flags = flags,
    };
    memcpy(buf, &pipe, sizeof(pipe));
    memcpy(buf + sizeof(pipe), &hdr, sizeof(hdr));
    if (body_len)
        memcpy(buf + VMBUS_IC_PREFIX_SIZE, body, body_len);
    return VMBUS_IC_PREFIX_SIZE + body_len;
}

bool vmbus_ic_parse(const uint8_t *data, uint32_t len, struct vmbus_ic_msg *out)
{
    if (len < VMBUS_IC_PREFIX_SIZE)
        return false;
    memcpy(&out->hdr, data + sizeof(struct vmbus_pipe_header), sizeof(out->hdr));
    if (out->hdr.msgsize > len - VMBUS_IC_PREFIX_SIZE)
        return false;
    out->body = data + VMBUS_IC_PREFIX_SIZE;
    out->body_len = out->hdr.msgsize;
    return true;
}

size_t vmbus_ic_build_negotiate(uint8_t *buf, size_t cap,
                                const struct vmbus_ic_version *frameworks, uint16_t nr_fw,
                                const struct vmbus_ic_version *services, uint16_t nr_svc)
{
    uint8_t body[sizeof(struct vmbus_ic_negotiate) +
                 2 * VMBUS_IC_MAX_VERSION_COUNT * sizeof(struct vmbus_ic_version)];
    if (nr_fw > VMBUS_IC_MAX_VERSION_COUNT || nr_svc > VMBUS_IC_MAX_VERSION_COUNT)
        return 0;
    struct vmbus_ic_negotiate n = { .framework_count = nr_fw, .message_count = nr_svc };
    size_t len = sizeof(n);
    memcpy(body, &n, sizeof(n));
    memcpy(body + len, frameworks, nr_fw * sizeof(*frameworks));
    len += nr_fw * sizeof(*frameworks);
    memcpy(body + len, services, nr_svc * sizeof(*services));
    len += nr_svc * sizeof(*services);
    struct vmbus_ic_version none = { 0, 0 };
    return vmbus_ic_build(buf, cap, none, none, VMBUS_IC_MSG_NEGOTIATE,
                          VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST, body, len);
}

static bool offered(const struct vmbus_ic_version *list, uint16_t n, struct vmbus_ic_version v)
{
    for (uint16_t i = 0; i < n; i++)
        if (list[i].major == v.major && list[i].minor == v.minor)
            return true;
    return false;
}

int vmbus_ic_parse_negotiate_response(const struct vmbus_ic_msg *msg,
                                      const struct vmbus_ic_version *frameworks,
                                      uint16_t nr_fw,
                                      const struct vmbus_ic_version *services,
                                      uint16_t nr_svc, struct vmbus_ic_version *fw_out,
                                      struct vmbus_ic_version *svc_out)
{
    struct vmbus_ic_negotiate n;
    if (msg->hdr.msgtype != VMBUS_IC_MSG_NEGOTIATE || msg->body_len < sizeof(n))
        return -1;
    memcpy(&n, msg->body, sizeof(n));
    if (n.framework_count == 0 && n.message_count == 0)
        return 0;
    if (n.framework_count != 1 || n.message_count != 1 ||
        msg->body_len < sizeof(n) + 2 * sizeof(struct vmbus_ic_version))
        return -1;
    struct vmbus_ic_version v[2];
    memcpy(v, msg->body + sizeof(n), sizeof(v));
    if (!offered(frameworks, nr_fw, v[0]) || !offered(services, nr_svc, v[1]))
        return -1;
    *fw_out = v[0];
    *svc_out = v[1];
    return 1;
}

/* --------------------------------------------------------------- engine */

static void try_send(struct vmbus_ic *ic)
{
    if (!ic->tx_pending || !ic->ch)
        return;
    if (ic->ops->refresh && ic->state == VMBUS_IC_READY)
        ic->ops->refresh(ic, ic->tx + VMBUS_IC_PREFIX_SIZE, ic->tx_len - VMBUS_IC_PREFIX_SIZE);
    int rc = vmbus_channel_send_inband(ic->ch, 0, ic->trans_id, ic->tx, ic->tx_len);
    if (rc == VMBUS_RING_OK) {
        ic->tx_pending = false;
        ic->in_flight = true;
        ic->sent_ns = vmbus_channel_now(ic->ch);
        ic->requests++;
    } else if (rc == VMBUS_RING_TOO_BIG) {
        /* The guest's ring cannot hold this message at all. */
        ic->tx_pending = false;
        vmbus_channel_log(ic->ch, VMBUS_LOG_WARN, "%u-byte message does not fit the ring",
                          ic->tx_len);
    }
    /* FULL: resent from writable(); CLOSED: close() resets everything. */
}

static uint64_t take_trans_id(struct vmbus_ic *ic)
{
    if (++ic->next_trans_id == 0)
        ic->next_trans_id = 1;
    return ic->next_trans_id;
}

static int ic_open(void *dev, struct vmbus_channel *ch, const uint8_t *user_data)
{
    struct vmbus_ic *ic = dev;
    (void)user_data;
    ic->ch = ch;
    ic->state = VMBUS_IC_NEGOTIATING;
    ic->in_flight = false;
    ic->tx_len = (uint32_t)vmbus_ic_build_negotiate(ic->tx, sizeof(ic->tx),
                                                    vmbus_ic_frameworks, 2,
                                                    ic->desc->versions,
                                                    ic->desc->nr_versions);
    ic->trans_id = take_trans_id(ic);
    /* Sent from writable(), which follows the open result. */
    ic->tx_pending = ic->tx_len != 0;
    return ic->tx_len ? 0 : -1;
}

static void ic_close(void *dev, struct vmbus_channel *ch)
{
    struct vmbus_ic *ic = dev;
    (void)ch;
    ic->state = VMBUS_IC_CLOSED;
    ic->in_flight = false;
    ic->tx_pending = false;
    if (ic->ops->closed)
        ic->ops->closed(ic);
}

static void ic_packet(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
    struct vmbus_ic *ic = dev;
    struct vmbus_ic_msg msg;
    if (pkt->type != VMBUS_PKT_DATA_INBAND || !vmbus_ic_parse(pkt->data, pkt->data_len, &msg)) {
        ic->dropped++;
        vmbus_channel_log(ch, VMBUS_LOG_DEBUG, "malformed packet (type %u, %u bytes) ignored",
                          pkt->type, pkt->data_len);
        return;
    }
    /* Only an answer to what we asked, in the transaction we asked it. */
    if (!ic->in_flight || pkt->trans_id != ic->trans_id ||
        !(msg.hdr.flags & VMBUS_IC_FLAG_RESPONSE)) {
        ic->dropped++;
        vmbus_channel_log(ch, VMBUS_LOG_DEBUG, "unexpected message type %u ignored",
                          msg.hdr.msgtype);
        return;
    }
    if (ic->state == VMBUS_IC_NEGOTIATING) {
        if (msg.hdr.msgtype != VMBUS_IC_MSG_NEGOTIATE) {
            ic->dropped++;
            return;
        }
        ic->in_flight = false;
        ic->responses++;
        int rc = vmbus_ic_parse_negotiate_response(&msg, vmbus_ic_frameworks, 2,
                                                   ic->desc->versions, ic->desc->nr_versions,
                                                   &ic->framework, &ic->version);
        if (rc == 1) {
            ic->state = VMBUS_IC_READY;
            vmbus_channel_log(ch, VMBUS_LOG_INFO, "%s: framework %u.%u, service %u.%u",
                              ic->desc->name, ic->framework.major, ic->framework.minor,
                              ic->version.major, ic->version.minor);
            if (ic->ops->ready)
                ic->ops->ready(ic);
        } else {
            ic->state = VMBUS_IC_FAILED;
            vmbus_channel_log(ch, VMBUS_LOG_WARN, "%s: %s", ic->desc->name,
                              rc == 0 ? "guest shares no version with us"
                                      : "malformed negotiation answer");
        }
        return;
    }
    ic->in_flight = false;
    ic->responses++;
    if (ic->ops->response)
        ic->ops->response(ic, &msg);
}

static void ic_writable(void *dev, struct vmbus_channel *ch)
{
    (void)ch;
    try_send(dev);
}

static void ic_timer(void *dev, struct vmbus_channel *ch, uint64_t now)
{
    struct vmbus_ic *ic = dev;
    (void)ch;
    if (ic->ops->timer)
        ic->ops->timer(ic, now);
}

static void ic_destroy(void *dev)
{
    struct vmbus_ic *ic = dev;
    ic->ch = NULL;
    if (ic->destroy)
        ic->destroy(ic->owner);
}

void vmbus_ic_init(struct vmbus_ic *ic, const struct vmbus_ic_desc *desc,
                   const struct vmbus_ic_ops *ops, void *owner)
{
    memset(ic, 0, sizeof(*ic));
    ic->desc = desc;
    ic->ops = ops;
    ic->owner = owner;
}

static const struct vmbus_device_ops ic_ops = {
    .open = ic_open,
    .close = ic_close,
    .packet = ic_packet,
    .writable = ic_writable,
    .timer = ic_timer,
    .destroy = ic_destroy,
};

int vmbus_ic_attach(struct vmbus_ic *ic, struct vmbus_server *srv, void (*destroy)(void *))
{
    struct vmbus_offer offer = {
        .if_type = ic->desc->if_type,
        .if_instance = ic->desc->if_instance,
        /* Pipe mode, message pipes, as Hyper-V offers services (Windows
         * guests expect it; Linux ignores it). */
        .chn_flags = VMBUS_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE |
                     VMBUS_OFFER_FLAG_NAMED_PIPE_MODE,
        .max_packet = VMBUS_IC_MAX_PACKET,
        .name = ic->desc->name,
    };
    uint32_t pipe_mode = VMBUS_PIPE_MODE_MESSAGE;
    memcpy(offer.user_defined, &pipe_mode, sizeof(pipe_mode));

    ic->destroy = destroy;
    ic->ch = vmbus_server_add_device(srv, &offer, &ic_ops, ic);
    return ic->ch ? 0 : -1;
}

int vmbus_ic_request(struct vmbus_ic *ic, uint16_t msgtype, const void *body, size_t len)
{
    if (ic->state != VMBUS_IC_READY || ic->in_flight || ic->tx_pending)
        return -1;
    size_t n = vmbus_ic_build(ic->tx, sizeof(ic->tx), ic->framework, ic->version, msgtype,
                              VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST, body, len);
    if (!n)
        return -2;
    ic->tx_len = (uint32_t)n;
    ic->trans_id = take_trans_id(ic);
    ic->tx_pending = true;
    try_send(ic);
    return 0;
}

bool vmbus_ic_busy(const struct vmbus_ic *ic)
{
    return ic->in_flight || ic->tx_pending;
}

void vmbus_ic_set_timer(struct vmbus_ic *ic, uint64_t deadline_ns)
{
    if (ic->ch)
        vmbus_channel_set_timer(ic->ch, deadline_ns);
}

uint64_t vmbus_ic_now(const struct vmbus_ic *ic)
{
    return vmbus_channel_now(ic->ch);
}
