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

int hv_partition_register_connection(struct hv_partition *p, uint32_t connection_id,
                                     enum hv_connection_kind kind)
{
    struct hv_connection *free_slot = 0;
    int rc = HV_ERR_NOSPC;

    /* Id 0 marks a free entry, and only 24 bits are an id. */
    if (connection_id == 0 || (connection_id & ~HV_CONNECTION_ID_MASK))
        return HV_ERR_INVAL;
    if ((uint32_t)kind == 0 || ((uint32_t)kind & ~HC_KINDS_VALID))
        return HV_ERR_INVAL;
    hv_lock(&p->lock);
    for (uint32_t i = 0; i < HV_MAX_CONNECTIONS; i++) {
        struct hv_connection *e = &p->connections[i];
        if (e->id == connection_id) {
            e->kinds |= (uint32_t)kind;
            rc = HV_OK;
            break;
        }
        if (e->id == 0 && !free_slot)
            free_slot = e;
    }
    if (rc != HV_OK && free_slot) {
        free_slot->id = connection_id;
        free_slot->kinds = (uint32_t)kind;
        rc = HV_OK;
    }
    hv_unlock(&p->lock);
    return rc;
}

void hv_partition_unregister_connection(struct hv_partition *p, uint32_t connection_id)
{
    if (connection_id == 0)
        return;
    hv_lock(&p->lock);
    for (uint32_t i = 0; i < HV_MAX_CONNECTIONS; i++) {
        struct hv_connection *e = &p->connections[i];
        if (e->id == connection_id) {
            e->id = 0;
            e->kinds = 0;
            break;
        }
    }
    hv_unlock(&p->lock);
}

/* The status for sending a `kind` request to raw_id, SUCCESS if it may go
 * to the host. The lock is not held while the host handles the request:
 * the host may call back into the core (hv_synic_post_message) to answer. */
static uint16_t route(struct hv_partition *p, uint32_t raw_id, enum hv_connection_kind kind)
{
    uint32_t kinds = 0;

    if (raw_id == 0 || (raw_id & ~HV_CONNECTION_ID_MASK))
        return HV_STATUS_INVALID_CONNECTION_ID;
    hv_lock(&p->lock);
    for (uint32_t i = 0; i < HV_MAX_CONNECTIONS; i++) {
        if (p->connections[i].id == raw_id) {
            kinds = p->connections[i].kinds;
            break;
        }
    }
    hv_unlock(&p->lock);
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

    if (reserved != 0 || type == HVMSG_NONE || (type & HVMSG_HYPERVISOR_MASK) ||
        size > HV_MESSAGE_PAYLOAD_MAX)
        return HV_STATUS_INVALID_PARAMETER;
    uint16_t st = route(p, connection_id, HV_CONNECTION_MESSAGE);
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

    /* Every port here has the same flag count, so the range check needs
     * no lookup. */
    if (reserved != 0 || flag >= HV_EVENT_FLAGS_COUNT)
        return HV_STATUS_INVALID_PARAMETER;
    uint16_t st = route(p, connection_id, HV_CONNECTION_EVENT);
    if (st != HV_STATUS_SUCCESS)
        return st;
    return p->ops->signal_event(p->ctx, c->vp->index, connection_id, (uint16_t)flag);
}
