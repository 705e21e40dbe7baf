/* SPDX-License-Identifier: MIT */
/* The synthetic NIC (see netvsc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/devices/netvsc.h"
#include "vmbus/devices/nvsp.h"
#include "vmbus/devices/rndis.h"
#include "vmbus/devices/sg.h"
#include "vmbus/packet.h"

/* Frames per transfer-page packet (Linux takes up to 562 ranges). */
#define RX_BATCH 32u
/* Frames read per wake before yielding to other channels. */
#define RX_BUDGET 256u
#define MAX_CTRL_PENDING 32u
#define MAX_COMP_PENDING 1024u
#define TX_SG_MAX 64u
/* A guest control message larger than this is refused (Linux's largest,
 * the RSS parameters, is under 700 bytes). */
#define CONTROL_MAX 4096u
/* Per-packet info is read from the first bytes of each message only. */
#define TX_HEADER_PEEK 256u
/* Messages one SEND_RNDIS_PKT may carry (Linux batches up to 8). */
#define TX_MSGS_MAX 64u
#define SCRATCH_BYTES 65536u
#define MAX_MDL_CHAIN 34u
#define RECV_SUBS_MAX (1u << 20)

struct rx_txn {
    uint32_t head;                /* first sub-allocation of the chain */
    uint32_t count;
    uint32_t gen;                 /* upper half of the transaction id */
    bool live;
};

struct ctrl_msg {
    uint32_t len;
    uint8_t data[RNDIS_RESPONSE_MAX];
};

struct comp {
    uint64_t trans_id;
    uint32_t status;
};

struct netvsc {
    struct vmbus_server *srv;
    struct vmbus_channel *ch;
    struct netvsc_options opt;
    struct net_backend *backend;

    uint32_t version;
    uint32_t ndis_version;
    uint32_t guest_frame;         /* from NDIS config: MTU + 14 */
    struct rndis_nic rndis;
    uint32_t link_want;           /* atomic: 1 up, 0 down */

    /* Receive buffer: sub-allocations and the transactions holding them. */
    uint8_t *recv_buf;
    uint32_t recv_gpadl, recv_bytes;
    uint16_t recv_id;
    uint32_t sub_size, nsubs;
    uint32_t *free_subs, nfree;
    uint32_t *sub_next;
    struct rx_txn *txns;
    uint32_t *free_txns, nfree_txns;

    /* Send buffer */
    uint8_t *send_buf;
    uint32_t send_gpadl, nsections;

    /* Host -> guest work waiting for ring room */
    struct comp comps[MAX_COMP_PENDING];
    uint32_t comp_head, comp_count;
    struct ctrl_msg ctrl[MAX_CTRL_PENDING];
    uint32_t ctrl_head, ctrl_count;
    /* Frames already in sub-allocations, not yet announced */
    struct {
        uint32_t txn;
        uint32_t count;
        struct vmbus_xfer_page_range ranges[RX_BATCH];
    } batch;
    bool batch_open;              /* a txn is assembling */
    bool batch_blocked;           /* complete, waiting for ring room */

    bool rx_armed;                /* the poll thread waits for readability */
    bool rx_starved;              /* stopped for lack of sub-allocations */
    bool rx_dead;                 /* the backend fd failed */
    bool paused;
    struct netvsc_stats stats;
    uint8_t scratch[SCRATCH_BYTES];
};

static bool open_ok(const struct netvsc *n)
{
    return vmbus_channel_is_open(n->ch);
}

/* ------------------------------------------------------ receive buffer */

static void recv_buffer_drop(struct netvsc *n)
{
    if (n->recv_buf)
        vmbus_channel_gpadl_unmap(n->ch, n->recv_gpadl);
    n->recv_buf = NULL;
    free(n->free_subs);
    free(n->sub_next);
    free(n->txns);
    free(n->free_txns);
    n->free_subs = n->sub_next = n->free_txns = NULL;
    n->txns = NULL;
    n->nsubs = n->nfree = n->nfree_txns = 0;
    n->batch_open = n->batch_blocked = false;
    n->batch.count = 0;
    n->ctrl_count = 0;
}

static void send_buffer_drop(struct netvsc *n)
{
    if (n->send_buf)
        vmbus_channel_gpadl_unmap(n->ch, n->send_gpadl);
    n->send_buf = NULL;
    n->nsections = 0;
}

/* Sub-allocation size for a frame of the configured MTU: RNDIS header,
 * Ethernet header, a VLAN tag, rounded to a cache line. */
static uint32_t sub_alloc_size(uint32_t mtu)
{
    uint32_t need = RNDIS_PACKET_HEADER + mtu + 14 + 4;
    if (need < RNDIS_RESPONSE_MAX)
        need = RNDIS_RESPONSE_MAX;
    return (need + 63) & ~63u;
}

static bool recv_buffer_setup(struct netvsc *n, uint32_t gpadl, uint16_t id,
                              struct nvsp_recv_section *sec)
{
    uint32_t bytes;
    uint8_t *buf = vmbus_channel_gpadl_map(n->ch, gpadl, &bytes);
    if (!buf)
        return false;
    if (!nvsp_recv_layout(bytes, sub_alloc_size(n->opt.mtu), RECV_SUBS_MAX, sec)) {
        vmbus_channel_gpadl_unmap(n->ch, gpadl);
        return false;
    }
    uint32_t count = sec->num_sub_allocs;
    n->free_subs = malloc(count * sizeof(uint32_t));
    n->sub_next = malloc(count * sizeof(uint32_t));
    n->txns = calloc(count, sizeof(struct rx_txn));
    n->free_txns = malloc(count * sizeof(uint32_t));
    n->recv_buf = buf;
    n->recv_gpadl = gpadl;
    if (!n->free_subs || !n->sub_next || !n->txns || !n->free_txns) {
        recv_buffer_drop(n);
        return false;
    }
    n->recv_bytes = bytes;
    n->recv_id = id;
    n->sub_size = sec->sub_alloc_size;
    n->nsubs = count;
    /* Stacks: lowest index on top. */
    for (uint32_t i = 0; i < count; i++) {
        n->free_subs[i] = count - 1 - i;
        n->free_txns[i] = count - 1 - i;
    }
    n->nfree = n->nfree_txns = count;
    return true;
}

static uint64_t txn_id(const struct netvsc *n, uint32_t t)
{
    return (uint64_t)n->txns[t].gen << 32 | t;
}

static uint32_t txn_begin(struct netvsc *n)
{
    uint32_t t = n->free_txns[--n->nfree_txns];
    n->txns[t].gen++;
    n->txns[t].head = UINT32_MAX;
    n->txns[t].count = 0;
    n->txns[t].live = true;
    return t;
}

static void txn_add(struct netvsc *n, uint32_t t, uint32_t sub)
{
    n->sub_next[sub] = n->txns[t].head;
    n->txns[t].head = sub;
    n->txns[t].count++;
}

/* Give a transaction's sub-allocations back. */
static void txn_end(struct netvsc *n, uint32_t t)
{
    for (uint32_t s = n->txns[t].head, k = 0; s != UINT32_MAX && k < n->txns[t].count; k++) {
        n->free_subs[n->nfree++] = s;
        s = n->sub_next[s];
    }
    n->txns[t].live = false;
    n->free_txns[n->nfree_txns++] = t;
}

/* ------------------------------------------------------------- sending */

static void update_pause(struct netvsc *n)
{
    /* Guest requests produce completions; stop taking them while too many
     * wait for ring room. */
    bool want = n->comp_count >= MAX_COMP_PENDING - 8;
    if (want != n->paused) {
        n->paused = want;
        vmbus_channel_pause_rx(n->ch, want);
    }
}

static int send_nvsp_comp(struct netvsc *n, uint64_t trans_id, const struct nvsp_msg *m)
{
    struct vmbus_ring_seg seg = { m, sizeof(*m) };
    return vmbus_channel_send_more(n->ch, VMBUS_PKT_COMP, 0, trans_id, NULL, 0, &seg, 1);
}

static bool flush_comps(struct netvsc *n)
{
    while (n->comp_count) {
        struct comp *c = &n->comps[n->comp_head];
        struct nvsp_msg m;
        memset(&m, 0, sizeof(m));
        m.type = NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE;
        m.rndis_pkt_complete.status = c->status;
        int rc = send_nvsp_comp(n, c->trans_id, &m);
        if (rc == VMBUS_RING_FULL) {
            n->stats.ring_full++;
            return false;
        }
        n->comp_head = (n->comp_head + 1) % MAX_COMP_PENDING;
        n->comp_count--;
    }
    return true;
}

static void queue_comp(struct netvsc *n, uint64_t trans_id, uint32_t status)
{
    if (n->comp_count == MAX_COMP_PENDING)
        return;   /* cannot happen while paused; keeps the queue bounded */
    struct comp *c = &n->comps[(n->comp_head + n->comp_count) % MAX_COMP_PENDING];
    c->trans_id = trans_id;
    c->status = status;
    n->comp_count++;
}

/* Announce a transaction's sub-allocations: transfer-page packet. */
static int send_xfer(struct netvsc *n, uint32_t t, const struct vmbus_xfer_page_range *ranges,
                     uint32_t count, uint32_t channel_type)
{
    uint8_t ext[sizeof(struct vmbus_xfer_page_header) +
                RX_BATCH * sizeof(struct vmbus_xfer_page_range)];
    struct vmbus_xfer_page_header h = {
        .pageset_id = n->recv_id,
        .sender_owns_set = 0,
        .range_count = count,
    };
    memcpy(ext, &h, sizeof(h));
    memcpy(ext + sizeof(h), ranges, count * sizeof(*ranges));
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.channel_type = channel_type;
    m.rndis_pkt.section_index = NVSP_NO_SECTION;
    struct vmbus_ring_seg seg = { &m, sizeof(m) };
    return vmbus_channel_send_more(n->ch, VMBUS_PKT_DATA_USING_XFER_PAGES,
                                   VMBUS_PACKET_FLAG_COMPLETION_REQUESTED, txn_id(n, t), ext,
                                   (uint32_t)(sizeof(h) + count * sizeof(*ranges)), &seg, 1);
}

/* Send the frames gathered so far. false if the ring is full (kept). */
static bool flush_batch(struct netvsc *n)
{
    if (!n->batch_open || n->batch.count == 0)
        return true;
    int rc = send_xfer(n, n->batch.txn, n->batch.ranges, n->batch.count, NVSP_CHANNEL_DATA);
    if (rc == VMBUS_RING_FULL) {
        n->stats.ring_full++;
        n->batch_blocked = true;
        return false;
    }
    if (rc != VMBUS_RING_OK)
        txn_end(n, n->batch.txn);   /* channel going away */
    n->batch_open = n->batch_blocked = false;
    n->batch.count = 0;
    return true;
}

/* Control responses and indications, each in its own sub-allocation. */
static bool flush_ctrl(struct netvsc *n)
{
    while (n->ctrl_count) {
        if (!n->recv_buf) {
            n->ctrl_count = 0;      /* no buffer: nothing can carry them */
            return true;
        }
        if (n->nfree == 0) {
            n->rx_starved = true;
            return false;
        }
        struct ctrl_msg *c = &n->ctrl[n->ctrl_head];
        uint32_t t = txn_begin(n);
        uint32_t sub = n->free_subs[--n->nfree];
        txn_add(n, t, sub);
        memcpy(n->recv_buf + (size_t)sub * n->sub_size, c->data, c->len);
        struct vmbus_xfer_page_range r = { c->len, sub * n->sub_size };
        int rc = send_xfer(n, t, &r, 1, NVSP_CHANNEL_CONTROL);
        if (rc == VMBUS_RING_FULL) {
            n->stats.ring_full++;
            txn_end(n, t);
            return false;
        }
        if (rc != VMBUS_RING_OK)
            txn_end(n, t);
        n->ctrl_head = (n->ctrl_head + 1) % MAX_CTRL_PENDING;
        n->ctrl_count--;
    }
    return true;
}

static void queue_ctrl(struct netvsc *n, const uint8_t *msg, uint32_t len)
{
    if (n->ctrl_count == MAX_CTRL_PENDING || len > RNDIS_RESPONSE_MAX ||
        len > n->sub_size) {
        n->stats.rx_dropped++;
        return;
    }
    struct ctrl_msg *c = &n->ctrl[(n->ctrl_head + n->ctrl_count) % MAX_CTRL_PENDING];
    memcpy(c->data, msg, len);
    c->len = len;
    n->ctrl_count++;
}

/* Everything that waits, oldest kind first. true when nothing is left. */
static bool flush_pending(struct netvsc *n)
{
    bool ok = flush_comps(n);
    if (ok && n->batch_blocked)
        ok = flush_batch(n);
    if (ok)
        ok = flush_ctrl(n);
    update_pause(n);
    return ok;
}

/* ------------------------------------------------------------- receive */

static bool guest_takes_frames(const struct netvsc *n)
{
    return n->recv_buf && n->rndis.initialized && n->rndis.filter && n->rndis.link_up;
}

static void rearm(struct netvsc *n)
{
    if (!n->rx_armed) {
        n->rx_armed = true;
        net_backend_rearm(n->backend);
    }
}

/* Backend -> guest until the fd is empty, buffers or ring run out, or the
 * budget is spent. */
static void rx_poll(struct netvsc *n)
{
    if (!open_ok(n) || n->rx_dead)
        return;
    if (!flush_pending(n))
        return;
    n->rx_starved = false;
    for (uint32_t budget = 0; budget < RX_BUDGET; budget++) {
        if (!guest_takes_frames(n)) {
            /* A NIC nobody listens to drops what arrives. */
            struct iovec iov = { n->scratch, sizeof(n->scratch) };
            ssize_t r = net_backend_recv(n->backend, &iov, 1);
            if (r == -EAGAIN) {
                rearm(n);
                return;
            }
            if (r <= 0) {
                n->rx_dead = true;
                vmbus_channel_log(n->ch, VMBUS_LOG_ERROR, "backend receive failed (%zd)", r);
                return;
            }
            n->stats.rx_filtered++;
            continue;
        }
        if (n->nfree == 0) {
            n->stats.rx_no_buffer++;
            n->rx_starved = true;
            flush_batch(n);
            return;
        }
        uint32_t sub = n->free_subs[n->nfree - 1];
        uint8_t *slot = n->recv_buf + (size_t)sub * n->sub_size;
        /* The frame lands in guest memory, behind room for its header. */
        struct iovec iov = { slot + RNDIS_PACKET_HEADER, n->sub_size - RNDIS_PACKET_HEADER };
        ssize_t r = net_backend_recv(n->backend, &iov, 1);
        if (r == -EAGAIN) {
            flush_batch(n);
            rearm(n);
            return;
        }
        if (r <= 0) {
            flush_batch(n);
            n->rx_dead = true;
            vmbus_channel_log(n->ch, VMBUS_LOG_ERROR, "backend receive failed (%zd)", r);
            return;
        }
        uint32_t len = (uint32_t)r;
        if (len < 14 || !rndis_filter_accepts(n->rndis.filter, n->rndis.mac, iov.iov_base)) {
            n->stats.rx_filtered++;
            continue;
        }
        n->nfree--;
        rndis_rx_header(slot, len);
        if (!n->batch_open) {
            n->batch.txn = txn_begin(n);
            n->batch.count = 0;
            n->batch_open = true;
        }
        txn_add(n, n->batch.txn, sub);
        n->batch.ranges[n->batch.count].byte_count = RNDIS_PACKET_HEADER + len;
        n->batch.ranges[n->batch.count].byte_offset = sub * n->sub_size;
        n->batch.count++;
        n->stats.rx_frames++;
        n->stats.rx_bytes += len;
        if (n->batch.count == RX_BATCH && !flush_batch(n))
            return;
    }
    /* Budget spent with frames maybe left: come back on the next turn. */
    flush_batch(n);
    vmbus_channel_wake(n->ch);
}

/* A guest completion of a transfer-page packet. */
static void rx_complete(struct netvsc *n, uint64_t trans_id)
{
    uint32_t t = (uint32_t)trans_id;
    if (!n->recv_buf || t >= n->nsubs || !n->txns[t].live ||
        n->txns[t].gen != (uint32_t)(trans_id >> 32) ||
        (n->batch_open && n->batch.txn == t)) {
        n->stats.stale_completions++;
        return;
    }
    txn_end(n, t);
}

/* ------------------------------------------------------------ transmit */

static void tx_frame(struct netvsc *n, const struct dev_sg *sg, uint64_t pos,
                     const struct rndis_tx_info *info)
{
    struct iovec iov[TX_SG_MAX + 1];
    int cnt;
    uint8_t tag[4];
    uint64_t start = pos + info->frame_offset;
    if (info->vlan_tci >= 0) {
        /* Put the 802.1Q tag back between the MAC addresses and the type. */
        tag[0] = 0x81;
        tag[1] = 0x00;
        tag[2] = (uint8_t)(info->vlan_tci >> 8);
        tag[3] = (uint8_t)info->vlan_tci;
        int a = dev_sg_slice(sg, start, 12, iov, TX_SG_MAX);
        if (a < 0) {
            n->stats.tx_dropped++;
            return;
        }
        iov[a].iov_base = tag;
        iov[a].iov_len = 4;
        int b = dev_sg_slice(sg, start + 12, info->frame_len - 12, iov + a + 1,
                             TX_SG_MAX - (uint32_t)a);
        cnt = b < 0 ? -1 : a + 1 + b;
    } else {
        cnt = dev_sg_slice(sg, start, info->frame_len, iov, TX_SG_MAX);
    }
    if (cnt <= 0 || !n->rndis.link_up) {
        n->stats.tx_dropped++;
        return;
    }
    ssize_t r = net_backend_send(n->backend, iov, cnt);
    if (r < 0) {
        n->stats.tx_dropped++;
        return;
    }
    n->stats.tx_frames++;
    n->stats.tx_bytes += info->frame_len;
}

/* One control message: answered through the receive path. */
static uint32_t tx_control(struct netvsc *n, const struct dev_sg *sg)
{
    uint8_t msg[CONTROL_MAX];
    if (sg->bytes < 12 || sg->bytes > CONTROL_MAX) {
        n->stats.bad_packets++;
        return NVSP_STATUS_FAIL;
    }
    uint32_t len = (uint32_t)dev_sg_copy_from(sg, 0, msg, (size_t)sg->bytes);
    uint8_t resp[RNDIS_RESPONSE_MAX];
    n->stats.control_msgs++;
    uint32_t rlen = rndis_control(&n->rndis, msg, len, resp, sizeof(resp));
    if (rlen)
        queue_ctrl(n, resp, rlen);
    return NVSP_STATUS_SUCCESS;
}

static uint32_t tx_data(struct netvsc *n, const struct dev_sg *sg)
{
    uint64_t pos = 0;
    for (uint32_t k = 0; k < TX_MSGS_MAX && pos < sg->bytes; k++) {
        uint8_t hdr[TX_HEADER_PEEK];
        uint64_t left = sg->bytes - pos;
        uint32_t hlen = (uint32_t)dev_sg_copy_from(sg, pos, hdr,
                                                   left < sizeof(hdr) ? (size_t)left
                                                                      : sizeof(hdr));
        struct rndis_tx_info info;
        int rc = rndis_parse_packet(hdr, hlen, left, &info);
        if (rc == RNDIS_PARSE_SHORT || rc == RNDIS_PARSE_BAD) {
            n->stats.bad_packets++;
            return NVSP_STATUS_FAIL;
        }
        if (rc == RNDIS_PARSE_OK)
            tx_frame(n, sg, pos, &info);
        pos += info.msg_len;
    }
    return NVSP_STATUS_SUCCESS;
}

static uint32_t tx_rndis(struct netvsc *n, const struct vmbus_packet *pkt,
                         const struct nvsp_rndis_pkt *rp)
{
    struct iovec iov[TX_SG_MAX];
    struct dev_sg_map maps[TX_SG_MAX];
    struct dev_sg sg;
    dev_sg_init(&sg, vmbus_channel_mem(n->ch), iov, TX_SG_MAX, maps, TX_SG_MAX);
    uint32_t status = NVSP_STATUS_FAIL;
    if (rp->section_index != NVSP_NO_SECTION) {
        /* The message (or its start) is in a send buffer section. */
        if (!n->send_buf || rp->section_index >= n->nsections ||
            rp->section_size > NETVSC_SEND_SECTION_SIZE) {
            n->stats.bad_packets++;
            goto out;
        }
        dev_sg_add_host(&sg, n->send_buf + (size_t)rp->section_index * NETVSC_SEND_SECTION_SIZE,
                        rp->section_size);
    }
    if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
        if (dev_sg_add_packet(&sg, pkt)) {
            n->stats.bad_packets++;
            goto out;
        }
    } else if (pkt->type != VMBUS_PKT_DATA_INBAND) {
        n->stats.bad_packets++;
        goto out;
    }
    if (rp->channel_type == NVSP_CHANNEL_CONTROL)
        status = tx_control(n, &sg);
    else
        status = tx_data(n, &sg);
out:
    dev_sg_release(&sg);
    return status;
}

/* ------------------------------------------------------------ NVSP init */

static void reply(struct netvsc *n, const struct vmbus_packet *pkt, const struct nvsp_msg *m)
{
    if (pkt->flags & VMBUS_PACKET_FLAG_COMPLETION_REQUESTED &&
        send_nvsp_comp(n, pkt->trans_id, m) == VMBUS_RING_FULL)
        n->stats.ring_full++;   /* init replies: the guest waits with an empty ring */
}

static void handle_nvsp(struct netvsc *n, const struct vmbus_packet *pkt, const struct nvsp_msg *in)
{
    struct nvsp_msg out;
    memset(&out, 0, sizeof(out));
    switch (in->type) {
    case NVSP_MSG_INIT: {
        uint32_t v = nvsp_negotiate(in->init.min_version, in->init.max_version,
                                    n->opt.max_version);
        out.type = NVSP_MSG_INIT_COMPLETE;
        out.init_complete.negotiated_version = v;
        out.init_complete.max_mdl_chain_length = MAX_MDL_CHAIN;
        out.init_complete.status = v ? NVSP_STATUS_SUCCESS : NVSP_STATUS_FAIL;
        if (v) {
            n->version = v;
            n->rndis.nvsp_version = v;
        }
        reply(n, pkt, &out);
        return;
    }
    case NVSP_MSG2_SEND_NDIS_CONFIG:
        n->guest_frame = in->ndis_config.mtu;
        return;
    case NVSP_MSG1_SEND_NDIS_VERSION:
        n->ndis_version = in->ndis_version.major << 16 | (in->ndis_version.minor & 0xFFFF);
        return;
    case NVSP_MSG1_SEND_RECV_BUF: {
        out.type = NVSP_MSG1_SEND_RECV_BUF_COMPLETE;
        struct nvsp_recv_section sec;
        if (n->version && !n->recv_buf &&
            recv_buffer_setup(n, in->send_buf.gpadl, in->send_buf.id, &sec)) {
            out.recv_buf_complete.status = NVSP_STATUS_SUCCESS;
            out.recv_buf_complete.num_sections = 1;
            out.recv_buf_complete.section = sec;
        } else {
            n->stats.bad_packets++;
            out.recv_buf_complete.status = NVSP_STATUS_FAIL;
        }
        reply(n, pkt, &out);
        return;
    }
    case NVSP_MSG1_SEND_SEND_BUF: {
        out.type = NVSP_MSG1_SEND_SEND_BUF_COMPLETE;
        uint32_t bytes;
        uint8_t *buf = n->version && !n->send_buf
                           ? vmbus_channel_gpadl_map(n->ch, in->send_buf.gpadl, &bytes)
                           : NULL;
        if (buf && bytes >= NETVSC_SEND_SECTION_SIZE) {
            n->send_buf = buf;
            n->send_gpadl = in->send_buf.gpadl;
            n->nsections = bytes / NETVSC_SEND_SECTION_SIZE;
            out.send_buf_complete.status = NVSP_STATUS_SUCCESS;
            out.send_buf_complete.section_size = NETVSC_SEND_SECTION_SIZE;
        } else {
            if (buf)
                vmbus_channel_gpadl_unmap(n->ch, in->send_buf.gpadl);
            n->stats.bad_packets++;
            out.send_buf_complete.status = NVSP_STATUS_FAIL;
        }
        reply(n, pkt, &out);
        return;
    }
    case NVSP_MSG1_REVOKE_RECV_BUF:
        recv_buffer_drop(n);
        return;
    case NVSP_MSG1_REVOKE_SEND_BUF:
        send_buffer_drop(n);
        return;
    case NVSP_MSG1_SEND_RNDIS_PKT: {
        uint32_t status = tx_rndis(n, pkt, &in->rndis_pkt);
        if (pkt->flags & VMBUS_PACKET_FLAG_COMPLETION_REQUESTED)
            queue_comp(n, pkt->trans_id, status);
        return;
    }
    case NVSP_MSG5_SUBCHANNEL:
        out.type = NVSP_MSG5_SUBCHANNEL;
        out.subchannel.op_or_status = NVSP_STATUS_FAIL;
        reply(n, pkt, &out);
        return;
    case NVSP_MSG4_SWITCH_DATA_PATH:
        /* No VF here: the synthetic path is the only one. Linux waits for
         * an empty completion. */
        if (pkt->flags & VMBUS_PACKET_FLAG_COMPLETION_REQUESTED)
            vmbus_channel_send_completion(n->ch, pkt->trans_id, NULL, 0);
        return;
    default:
        n->stats.bad_packets++;
        return;
    }
}

/* ------------------------------------------------------------ link state */

static void sync_link(struct netvsc *n)
{
    bool want = __atomic_load_n(&n->link_want, __ATOMIC_ACQUIRE) != 0;
    if (want == n->rndis.link_up)
        return;
    n->rndis.link_up = want;
    if (n->rndis.initialized && n->recv_buf) {
        uint8_t msg[32];
        uint32_t len = rndis_link_indication(msg, want);
        queue_ctrl(n, msg, len);
    }
}

void netvsc_set_link(struct netvsc *n, bool up)
{
    __atomic_store_n(&n->link_want, up ? 1u : 0u, __ATOMIC_RELEASE);
    vmbus_channel_wake(n->ch);
}

/* ---------------------------------------------------------- device ops */

static void net_packet(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
    struct netvsc *n = dev;
    (void)ch;
    struct nvsp_msg m;
    if (!nvsp_decode(pkt->data, pkt->data_len, &m)) {
        n->stats.bad_packets++;
        return;
    }
    if (pkt->type == VMBUS_PKT_COMP) {
        if (m.type == NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE) {
            bool starved = n->rx_starved;
            rx_complete(n, pkt->trans_id);
            if (starved)
                rx_poll(n);
        } else {
            n->stats.bad_packets++;
        }
        return;
    }
    handle_nvsp(n, pkt, &m);
    flush_pending(n);
}

static void net_wake(void *dev, struct vmbus_channel *ch)
{
    struct netvsc *n = dev;
    (void)ch;
    if (net_backend_take_ready(n->backend))
        n->rx_armed = false;
    sync_link(n);
    rx_poll(n);
}

static void net_writable(void *dev, struct vmbus_channel *ch)
{
    struct netvsc *n = dev;
    (void)ch;
    rx_poll(n);
}

static int net_open(void *dev, struct vmbus_channel *ch, const uint8_t *user_data)
{
    struct netvsc *n = dev;
    (void)ch;
    (void)user_data;
    n->version = 0;
    n->ndis_version = 0;
    n->guest_frame = 0;
    n->rndis.initialized = false;
    n->rndis.filter = 0;
    n->rndis.nvsp_version = 0;
    n->rndis.link_up = __atomic_load_n(&n->link_want, __ATOMIC_ACQUIRE) != 0;
    n->comp_count = n->comp_head = 0;
    n->ctrl_count = n->ctrl_head = 0;
    n->paused = false;
    n->rx_dead = false;
    n->rx_starved = false;
    if (net_backend_take_ready(n->backend))
        n->rx_armed = false;
    return 0;
}

static void net_close(void *dev, struct vmbus_channel *ch)
{
    struct netvsc *n = dev;
    (void)ch;
    recv_buffer_drop(n);
    send_buffer_drop(n);
    n->comp_count = 0;
    n->version = 0;
    n->rndis.initialized = false;
    n->rndis.filter = 0;
}

static void net_destroy(void *dev)
{
    struct netvsc *n = dev;
    /* The poll thread stops first: nothing wakes the channel after this. */
    net_backend_close(n->backend);
    recv_buffer_drop(n);
    free(n);
}

static const struct vmbus_device_ops netvsc_ops = {
    .open = net_open,
    .close = net_close,
    .packet = net_packet,
    .writable = net_writable,
    .wake = net_wake,
    .destroy = net_destroy,
};

static void backend_notify(void *ctx)
{
    struct netvsc *n = ctx;
    vmbus_channel_wake(n->ch);
}

struct netvsc *netvsc_create(struct vmbus_server *srv, const struct netvsc_options *opt,
                             struct net_backend *backend)
{
    struct netvsc *n = calloc(1, sizeof(*n));
    if (!n) {
        net_backend_close(backend);
        return NULL;
    }
    n->srv = srv;
    n->opt = *opt;
    n->backend = backend;
    if (!n->opt.mtu)
        n->opt.mtu = NETVSC_DEFAULT_MTU;
    if (n->opt.mtu < 68 || n->opt.mtu > NETVSC_MAX_MTU)
        goto fail;
    if (!n->opt.max_version)
        n->opt.max_version = NVSP_VERSION_61;
    if (!n->opt.link_speed_bps)
        n->opt.link_speed_bps = 10000000000ull;
    memcpy(n->rndis.mac, n->opt.mac, 6);
    n->rndis.mtu = n->opt.mtu;
    n->rndis.link_speed = n->opt.link_speed_bps / 100;
    n->link_want = n->opt.link_down ? 0 : 1;
    n->rndis.link_up = !n->opt.link_down;
    n->rx_armed = true;

    struct vmbus_offer offer = {
        .if_type = VMBUS_GUID_NIC,
        .if_instance = opt->instance,
        .name = "netvsc",
    };
    n->ch = vmbus_server_add_device(srv, &offer, &netvsc_ops, n);
    if (!n->ch)
        goto fail;
    if (net_backend_start(backend, backend_notify, n)) {
        /* The server owns the device now: removing it frees everything. */
        vmbus_server_remove_device(srv, n->ch);
        return NULL;
    }
    return n;
fail:
    net_backend_close(backend);
    free(n);
    return NULL;
}

struct vmbus_channel *netvsc_channel(const struct netvsc *n)
{
    return n->ch;
}

const struct netvsc_stats *netvsc_get_stats(const struct netvsc *n)
{
    return &n->stats;
}

uint32_t netvsc_version(const struct netvsc *n)
{
    return n->version;
}

uint32_t netvsc_packet_filter(const struct netvsc *n)
{
    return n->rndis.filter;
}
