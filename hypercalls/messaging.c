/* SPDX-License-Identifier: MIT */
/*
 * HvCallPostMessage (0x005C), HvCallSignalEvent (0x005D) and the table of
 * connection ids the host registered for them (VMBus uses message
 * connection 1 or 4 and one event connection per channel).
 *
 * Statuses, from the TLFS pages of both calls:
 *  - connection id not registered, or with its reserved bits 24-31 set
 *    (HV_CONNECTION_ID: "the high 8 bits are reserved and must be zero")
 *    -> INVALID_CONNECTION_ID ("the specified connection ID is invalid");
 *  - registered, but not for this kind of call -> INVALID_PORT_ID (the
 *    port "is not a message/event type port");
 *  - PostMessage: message type 0 or with bit 31 set, payload size > 240
 *    -> INVALID_PARAMETER;
 *  - SignalEvent: flag number >= the port's flag count -> INVALID_PARAMETER.
 *    A SINT's event-flag area holds 2048 flags, so that is the count;
 *  - an RsvdZ field that is not zero (PostMessage bytes 4-7, SignalEvent
 *    bytes 6-7) -> INVALID_PARAMETER: the TLFS gives no status for it.
 * Parameter checks come before the connection lookup, so a malformed
 * request reveals nothing about which ids exist (TLFS: error order is
 * undefined; prefer the status that reveals least).
 * Everything else is the host's answer (post_message/signal_event), e.g.
 * INSUFFICIENT_BUFFERS, which Linux retries.
 */
#include "hypercalls/hypercalls.h"

#define HC_KINDS_VALID ((uint32_t)HV_CONNECTION_MESSAGE | (uint32_t)HV_CONNECTION_EVENT)

#define CONN_ID(e)    ((uint32_t)((e) & HV_CONNECTION_ID_MASK))
#define CONN_KINDS(e) ((uint32_t)((e) >> 32))
#define CONN_MASK     (HV_CONNECTION_SLOTS - 1u)

_Static_assert((HV_CONNECTION_SLOTS & CONN_MASK) == 0, "slots are a power of two");
_Static_assert(HV_MAX_CONNECTIONS * 4u <= HV_CONNECTION_SLOTS * 3u, "load factor <= 3/4");

static uint32_t conn_home(uint32_t id)
{
    return (id * 0x9E3779B1u) >> 22 & CONN_MASK;   /* multiplicative hash, top bits */
}

/* Slot holding id, or the empty slot ending its probe chain. p->lock held. */
static uint32_t conn_find_locked(const struct hv_partition *p, uint32_t id)
{
    uint32_t i = conn_home(id);
    while (p->connections[i] != 0 && CONN_ID(p->connections[i]) != id)
        i = (i + 1) & CONN_MASK;   /* terminates: the table is never full */
    return i;
}

static void conn_write_begin(struct hv_partition *p)
{
    __atomic_store_n(&p->connections_seq, p->connections_seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void conn_write_end(struct hv_partition *p)
{
    __atomic_store_n(&p->connections_seq, p->connections_seq + 1, __ATOMIC_RELEASE);
}

int hv_partition_register_connection(struct hv_partition *p, uint32_t connection_id,
                                     enum hv_connection_kind kind)
{
    int rc = HV_OK;
    uint32_t i;
    uint64_t e;

    /* Id 0 marks a free entry, and only 24 bits are an id. */
    if (connection_id == 0 || (connection_id & ~HV_CONNECTION_ID_MASK))
        return HV_ERR_INVAL;
    if ((uint32_t)kind == 0 || ((uint32_t)kind & ~HC_KINDS_VALID))
        return HV_ERR_INVAL;
    hv_lock(&p->lock);
    i = conn_find_locked(p, connection_id);
    e = p->connections[i];
    if (e == 0 && p->nr_connections >= HV_MAX_CONNECTIONS) {
        rc = HV_ERR_NOSPC;
    } else {
        uint64_t kinds = (e ? CONN_KINDS(e) : 0) | (uint32_t)kind;
        conn_write_begin(p);
        __atomic_store_n(&p->connections[i], (kinds << 32) | connection_id, __ATOMIC_RELAXED);
        conn_write_end(p);
        if (e == 0)
            p->nr_connections++;
    }
    hv_unlock(&p->lock);
    return rc;
}

void hv_partition_unregister_connection(struct hv_partition *p, uint32_t connection_id)
{
    uint32_t hole;

    if (connection_id == 0 || (connection_id & ~HV_CONNECTION_ID_MASK))
        return;
    hv_lock(&p->lock);
    hole = conn_find_locked(p, connection_id);
    if (p->connections[hole] != 0) {
        conn_write_begin(p);
        /* Backward-shift deletion: pull later members of the chain into
         * the hole so every remaining id stays reachable from its home. */
        for (uint32_t j = (hole + 1) & CONN_MASK; p->connections[j] != 0;
             j = (j + 1) & CONN_MASK) {
            uint32_t home = conn_home(CONN_ID(p->connections[j]));
            /* Movable when its home is not cyclically within (hole, j]. */
            bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                __atomic_store_n(&p->connections[hole], p->connections[j], __ATOMIC_RELAXED);
                hole = j;
            }
        }
        __atomic_store_n(&p->connections[hole], 0, __ATOMIC_RELAXED);
        conn_write_end(p);
        p->nr_connections--;
    }
    hv_unlock(&p->lock);
}

uint32_t hv_partition_connection_kinds(const struct hv_partition *p, uint32_t connection_id)
{
    uint32_t seq, kinds, i;

    if (connection_id == 0 || (connection_id & ~HV_CONNECTION_ID_MASK))
        return 0;
    do {
        while ((seq = __atomic_load_n(&p->connections_seq, __ATOMIC_ACQUIRE)) & 1)
            hv_cpu_relax();
        i = conn_home(connection_id);
        kinds = 0;
        for (uint32_t n = 0; n < HV_CONNECTION_SLOTS; n++, i = (i + 1) & CONN_MASK) {
            uint64_t e = __atomic_load_n(&p->connections[i], __ATOMIC_RELAXED);
            if (e == 0)
                break;
            if (CONN_ID(e) == connection_id) {
                kinds = CONN_KINDS(e);
                break;
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while (__atomic_load_n(&p->connections_seq, __ATOMIC_RELAXED) != seq);
    return kinds;
}

/* The status for sending a `kind` request to raw_id, SUCCESS if it may go
 * to the host. The lock is not held while the host handles the request:
 * the host may call back into the core (hv_synic_post_message) to answer. */
static uint16_t route(struct hv_partition *p, uint32_t raw_id, enum hv_connection_kind kind)
{
    uint32_t kinds = 0;

    if (raw_id == 0 || (raw_id & ~HV_CONNECTION_ID_MASK))
        return HV_STATUS_INVALID_CONNECTION_ID;
    /* Lock-free: every VP's SignalEvent goes through here. */
    kinds = hv_partition_connection_kinds(p, raw_id);
    if (kinds == 0)
        return HV_STATUS_INVALID_CONNECTION_ID;
    if (!(kinds & (uint32_t)kind))
        return HV_STATUS_INVALID_PORT_ID;
    return HV_STATUS_SUCCESS;
}

uint16_t hc_post_message(struct hc_call *c)
{
    struct hv_partition *p = c->p;
    /* {u32 connection_id; u32 rsvd} {u32 message_type; u32 payload_size}
     * then 240 payload bytes */
    const uint32_t connection_id = (uint32_t)c->hdr[0];
    const uint32_t reserved = (uint32_t)(c->hdr[0] >> 32);
    const uint32_t type = (uint32_t)c->hdr[1];
    const uint32_t size = (uint32_t)(c->hdr[1] >> 32);
    uint16_t st;

    if (reserved != 0 || type == HVMSG_NONE || (type & HVMSG_HYPERVISOR_MASK) ||
        size > HV_MESSAGE_PAYLOAD_MAX)
        return HV_STATUS_INVALID_PARAMETER;
    st = route(p, connection_id, HV_CONNECTION_MESSAGE);
    if (st != HV_STATUS_SUCCESS)
        return st;
    return p->ops->post_message(p->ctx, c->vp->index, connection_id, type, &c->hdr[2], size);
}

uint16_t hc_signal_event(struct hc_call *c)
{
    struct hv_partition *p = c->p;
    /* {u32 connection_id; u16 flag_number; u16 rsvd} */
    const uint32_t connection_id = (uint32_t)c->hdr[0];
    const uint32_t flag = (uint32_t)(c->hdr[0] >> HV_SIGNAL_EVENT_FLAG_SHIFT) & 0xFFFFu;
    const uint32_t reserved = (uint32_t)(c->hdr[0] >> 48);
    uint16_t st;

    /* Every port here has the same flag count, so the range check needs
     * no lookup. */
    if (reserved != 0 || flag >= HV_EVENT_FLAGS_COUNT)
        return HV_STATUS_INVALID_PARAMETER;
    st = route(p, connection_id, HV_CONNECTION_EVENT);
    if (st != HV_STATUS_SUCCESS)
        return st;
    return p->ops->signal_event(p->ctx, c->vp->index, connection_id, (uint16_t)flag);
}
