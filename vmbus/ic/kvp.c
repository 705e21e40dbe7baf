/* SPDX-License-Identifier: MIT */
/*
 * KVP (key/value pair exchange) with the guest's hv_kvp_daemon. The host
 * sets, gets, deletes and enumerates keys in the daemon's pools and asks
 * for a NIC's addresses. Strings travel as UTF-16LE; requests are queued
 * and sent one at a time, each in a buffer large enough for the guest to
 * write its answer in place.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/ic/services.h"

#define KVP_QUEUE 64u

static const struct vmbus_ic_version kvp_versions[] = { { 4, 0 }, { 3, 0 } };

static const struct vmbus_ic_desc kvp_desc = {
    .name = "kvp",
    .if_type = VMBUS_GUID_KVP,
    .if_instance = VMBUS_GUID_KVP_INSTANCE,
    .versions = kvp_versions,
    .nr_versions = 2,
};

struct kvp_req {
    uint8_t op;
    uint8_t pool;
    uint8_t family;
    uint32_t index;
    char *key;               /* or the MAC for GET_IP_INFO */
    char *value;
    vmbus_kvp_done_fn done;
    void *ctx;
};

struct vmbus_kvp {
    struct vmbus_ic ic;
    struct kvp_req q[KVP_QUEUE];
    uint32_t head;
    uint32_t count;
    bool sent;               /* q[head] is in flight */
    struct vmbus_kvp_reply reply;
    uint8_t body[sizeof(struct vmbus_kvp_msg_ip_info)];
};

/* ------------------------------------------------------------ decoding */

/* A UTF-16 string field at off, at most max bytes, clamped to what the
 * guest actually sent (and to its declared size, if any). */
static void decode_str(const uint8_t *body, uint32_t len, uint32_t off, uint32_t max,
                       uint32_t declared, char *out, size_t out_size)
{
    out[0] = 0;
    if (off >= len)
        return;
    uint32_t n = len - off;
    if (n > max)
        n = max;
    if (n > declared)
        n = declared;
    vmbus_utf16le_to_utf8(body + off, n, out, out_size);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

bool vmbus_kvp_decode_reply(uint8_t op, uint32_t status, const uint8_t *body, uint32_t len,
                            struct vmbus_kvp_reply *out)
{
    out->status = status;
    out->op = op;
    out->index = 0;
    out->key[0] = out->value[0] = 0;
    out->ip_addr[0] = out->subnet[0] = out->gateway[0] = out->dns[0] = 0;
    out->addr_family = out->dhcp_enabled = 0;
    if (len < sizeof(struct vmbus_kvp_header))
        return false;
    out->pool = body[1];
    if (status != VMBUS_IC_S_OK)
        return true;     /* failures carry no data */

    const uint32_t v_off = offsetof(struct vmbus_kvp_msg_value, data);
    const uint32_t e_off = offsetof(struct vmbus_kvp_msg_enumerate, data);
    const uint32_t key_at = offsetof(struct vmbus_kvp_value, key);
    const uint32_t value_at = offsetof(struct vmbus_kvp_value, value);
    switch (op) {
    case VMBUS_KVP_OP_GET:
        if (len < v_off + key_at)
            return false;
        decode_str(body, len, v_off + key_at, VMBUS_KVP_MAX_KEY_BYTES,
                   get32(body + v_off + offsetof(struct vmbus_kvp_value, key_size)),
                   out->key, sizeof(out->key));
        decode_str(body, len, v_off + value_at, VMBUS_KVP_MAX_VALUE_BYTES,
                   get32(body + v_off + offsetof(struct vmbus_kvp_value, value_size)),
                   out->value, sizeof(out->value));
        return true;
    case VMBUS_KVP_OP_ENUMERATE:
        if (len < e_off + key_at)
            return false;
        out->index = get32(body + offsetof(struct vmbus_kvp_msg_enumerate, index));
        decode_str(body, len, e_off + key_at, VMBUS_KVP_MAX_KEY_BYTES,
                   get32(body + e_off + offsetof(struct vmbus_kvp_value, key_size)),
                   out->key, sizeof(out->key));
        decode_str(body, len, e_off + value_at, VMBUS_KVP_MAX_VALUE_BYTES,
                   get32(body + e_off + offsetof(struct vmbus_kvp_value, value_size)),
                   out->value, sizeof(out->value));
        return true;
    case VMBUS_KVP_OP_GET_IP_INFO: {
        const uint32_t fam = offsetof(struct vmbus_kvp_msg_ip_info, addr_family);
        if (len < fam + 2)
            return false;
        out->addr_family = body[fam];
        out->dhcp_enabled = body[fam + 1];
        decode_str(body, len, offsetof(struct vmbus_kvp_msg_ip_info, adapter_id),
                   VMBUS_KVP_ADAPTER_ID_CHARS * 2, UINT32_MAX, out->key, sizeof(out->key));
        decode_str(body, len, offsetof(struct vmbus_kvp_msg_ip_info, ip_addr),
                   VMBUS_KVP_IP_ADDR_CHARS * 2, UINT32_MAX, out->ip_addr,
                   sizeof(out->ip_addr));
        decode_str(body, len, offsetof(struct vmbus_kvp_msg_ip_info, sub_net),
                   VMBUS_KVP_IP_ADDR_CHARS * 2, UINT32_MAX, out->subnet, sizeof(out->subnet));
        decode_str(body, len, offsetof(struct vmbus_kvp_msg_ip_info, gate_way),
                   VMBUS_KVP_GATEWAY_CHARS * 2, UINT32_MAX, out->gateway,
                   sizeof(out->gateway));
        decode_str(body, len, offsetof(struct vmbus_kvp_msg_ip_info, dns_addr),
                   VMBUS_KVP_IP_ADDR_CHARS * 2, UINT32_MAX, out->dns, sizeof(out->dns));
        return true;
    }
    default:
        return true;     /* SET, DELETE: the status is the answer */
    }
}

/* ------------------------------------------------------------ requests */

/* Build the wire body of a request; returns its length, 0 on failure. */
static size_t build(const struct kvp_req *r, uint8_t *body)
{
    if (r->op == VMBUS_KVP_OP_GET_IP_INFO) {
        struct vmbus_kvp_msg_ip_info *m = (struct vmbus_kvp_msg_ip_info *)(void *)body;
        memset(m, 0, sizeof(*m));
        m->operation = r->op;
        m->pool = r->pool;
        m->addr_family = r->family;
        if (!vmbus_utf8_to_utf16le(r->key, (uint8_t *)m->adapter_id, sizeof(m->adapter_id)))
            return 0;
        return sizeof(*m);
    }

    /* Every other operation goes in the largest layout (enumerate's) so
     * the guest's answer fits where it writes it. */
    struct vmbus_kvp_msg_enumerate *e = (struct vmbus_kvp_msg_enumerate *)(void *)body;
    memset(e, 0, sizeof(*e));
    e->header.operation = r->op;
    e->header.pool = r->pool;
    struct vmbus_kvp_value *v = (struct vmbus_kvp_value *)(void *)
        (body + offsetof(struct vmbus_kvp_msg_value, data));
    size_t n;
    switch (r->op) {
    case VMBUS_KVP_OP_SET:
        v->value_type = VMBUS_KVP_REG_SZ;
        if (!(n = vmbus_utf8_to_utf16le(r->value, v->value, sizeof(v->value))))
            return 0;
        v->value_size = (uint32_t)n;
        /* SET carries the key too, like GET. */
        __attribute__((fallthrough));
    case VMBUS_KVP_OP_GET:
        if (!(n = vmbus_utf8_to_utf16le(r->key, v->key, sizeof(v->key))))
            return 0;
        v->key_size = (uint32_t)n;
        break;
    case VMBUS_KVP_OP_DELETE: {
        struct vmbus_kvp_msg_delete *d = (struct vmbus_kvp_msg_delete *)(void *)body;
        if (!(n = vmbus_utf8_to_utf16le(r->key, d->key, sizeof(d->key))))
            return 0;
        d->key_size = (uint32_t)n;
        break;
    }
    case VMBUS_KVP_OP_ENUMERATE:
        e->index = r->index;
        break;
    default:
        return 0;
    }
    return sizeof(*e);
}

static void free_req(struct kvp_req *r)
{
    free(r->key);
    free(r->value);
    memset(r, 0, sizeof(*r));
}

static void complete_head(struct vmbus_kvp *kvp, const struct vmbus_kvp_reply *reply)
{
    struct kvp_req r = kvp->q[kvp->head];
    memset(&kvp->q[kvp->head], 0, sizeof(kvp->q[kvp->head]));
    kvp->head = (kvp->head + 1) % KVP_QUEUE;
    kvp->count--;
    kvp->sent = false;
    if (r.done)
        r.done(r.ctx, reply);
    free_req(&r);
}

static void pump(struct vmbus_kvp *kvp)
{
    while (kvp->count && !kvp->sent && kvp->ic.state == VMBUS_IC_READY &&
           !vmbus_ic_busy(&kvp->ic)) {
        struct kvp_req *r = &kvp->q[kvp->head];
        size_t n = build(r, kvp->body);
        if (n && vmbus_ic_request(&kvp->ic, VMBUS_IC_MSG_KVP, kvp->body, n) == 0) {
            kvp->sent = true;
            return;
        }
        /* Cannot be sent (validated at enqueue, so only on a logic slip). */
        memset(&kvp->reply, 0, sizeof(kvp->reply));
        kvp->reply.status = VMBUS_IC_E_FAIL;
        kvp->reply.op = r->op;
        kvp->reply.pool = r->pool;
        complete_head(kvp, &kvp->reply);
    }
}

static void kvp_ready(struct vmbus_ic *ic)
{
    pump(ic->owner);
}

static void kvp_response(struct vmbus_ic *ic, const struct vmbus_ic_msg *msg)
{
    struct vmbus_kvp *kvp = ic->owner;
    if (!kvp->sent)
        return;
    const struct kvp_req *r = &kvp->q[kvp->head];
    if (msg->hdr.msgtype != VMBUS_IC_MSG_KVP ||
        !vmbus_kvp_decode_reply(r->op, msg->hdr.status, msg->body, msg->body_len,
                                &kvp->reply)) {
        vmbus_channel_log(ic->ch, VMBUS_LOG_WARN, "malformed KVP answer (%u bytes)",
                          msg->body_len);
        memset(&kvp->reply, 0, sizeof(kvp->reply));
        kvp->reply.status = VMBUS_IC_E_FAIL;
        kvp->reply.op = r->op;
    }
    kvp->reply.pool = r->pool;   /* ours, not whatever came back */
    complete_head(kvp, &kvp->reply);
    pump(kvp);
}

static void kvp_closed(struct vmbus_ic *ic)
{
    struct vmbus_kvp *kvp = ic->owner;
    /* The request in flight is lost; the rest wait for the next guest. */
    if (kvp->sent) {
        memset(&kvp->reply, 0, sizeof(kvp->reply));
        kvp->reply.status = VMBUS_IC_STATUS_LOST;
        kvp->reply.op = kvp->q[kvp->head].op;
        kvp->reply.pool = kvp->q[kvp->head].pool;
        complete_head(kvp, &kvp->reply);
    }
}

static void kvp_destroy(void *owner)
{
    struct vmbus_kvp *kvp = owner;
    while (kvp->count) {
        free_req(&kvp->q[kvp->head]);
        kvp->head = (kvp->head + 1) % KVP_QUEUE;
        kvp->count--;
    }
    free(kvp);
}

static const struct vmbus_ic_ops kvp_ops = {
    .ready = kvp_ready,
    .response = kvp_response,
    .closed = kvp_closed,
};

struct vmbus_kvp *vmbus_kvp_create(struct vmbus_server *srv)
{
    struct vmbus_kvp *kvp = calloc(1, sizeof(*kvp));
    if (!kvp)
        return NULL;
    vmbus_ic_init(&kvp->ic, &kvp_desc, &kvp_ops, kvp);
    if (vmbus_ic_attach(&kvp->ic, srv, kvp_destroy)) {
        free(kvp);
        return NULL;
    }
    return kvp;
}

static int enqueue(struct vmbus_kvp *kvp, struct kvp_req *r)
{
    /* Validate now (encodable, within the wire limits) so a bad string is
     * the caller's error, not a failed request later. */
    if (r->pool >= VMBUS_KVP_POOL_COUNT || kvp->count == KVP_QUEUE || !build(r, kvp->body)) {
        free_req(r);
        return -1;
    }
    kvp->q[(kvp->head + kvp->count) % KVP_QUEUE] = *r;
    kvp->count++;
    pump(kvp);
    return 0;
}

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = true;
    return d;
}

static int request(struct vmbus_kvp *kvp, uint8_t op, uint8_t pool, const char *key,
                   const char *value, uint32_t index, uint8_t family, vmbus_kvp_done_fn done,
                   void *ctx)
{
    bool fail = false;
    struct kvp_req r = {
        .op = op, .pool = pool, .family = family, .index = index,
        .key = dup_or_null(key, &fail), .value = dup_or_null(value, &fail),
        .done = done, .ctx = ctx,
    };
    if (fail) {
        free_req(&r);
        return -1;
    }
    return enqueue(kvp, &r);
}

int vmbus_kvp_set(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, const char *key,
                  const char *value, vmbus_kvp_done_fn done, void *ctx)
{
    if (!key || !value)
        return -1;
    return request(kvp, VMBUS_KVP_OP_SET, (uint8_t)pool, key, value, 0, 0, done, ctx);
}

int vmbus_kvp_get(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, const char *key,
                  vmbus_kvp_done_fn done, void *ctx)
{
    if (!key)
        return -1;
    return request(kvp, VMBUS_KVP_OP_GET, (uint8_t)pool, key, NULL, 0, 0, done, ctx);
}

int vmbus_kvp_delete(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, const char *key,
                     vmbus_kvp_done_fn done, void *ctx)
{
    if (!key)
        return -1;
    return request(kvp, VMBUS_KVP_OP_DELETE, (uint8_t)pool, key, NULL, 0, 0, done, ctx);
}

int vmbus_kvp_enumerate(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, uint32_t index,
                        vmbus_kvp_done_fn done, void *ctx)
{
    return request(kvp, VMBUS_KVP_OP_ENUMERATE, (uint8_t)pool, NULL, NULL, index, 0, done,
                   ctx);
}

int vmbus_kvp_get_ip_info(struct vmbus_kvp *kvp, const char *mac, uint8_t family,
                          vmbus_kvp_done_fn done, void *ctx)
{
    /* The daemon compares against the upper-case form of sysfs' address. */
    char upper[VMBUS_KVP_ADAPTER_ID_CHARS];
    if (!mac || strlen(mac) >= sizeof(upper))
        return -1;
    size_t i;
    for (i = 0; mac[i]; i++)
        upper[i] = (char)toupper((unsigned char)mac[i]);
    upper[i] = 0;
    return request(kvp, VMBUS_KVP_OP_GET_IP_INFO, VMBUS_KVP_POOL_EXTERNAL, upper, NULL, 0,
                   family, done, ctx);
}

bool vmbus_kvp_ready(const struct vmbus_kvp *kvp)
{
    return kvp->ic.state == VMBUS_IC_READY;
}

uint32_t vmbus_kvp_queued(const struct vmbus_kvp *kvp)
{
    return kvp->count;
}
