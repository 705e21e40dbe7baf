/* SPDX-License-Identifier: MIT */
/*
 * SynIC messages: writing SIMP slots, the per-VP queue of messages waiting
 * for a slot, and redelivery when the guest frees one.
 *
 * The SIMP page is shared with a guest that runs concurrently on other
 * CPUs. The guest frees a slot by setting message_type to NONE with a full
 * barrier and then reads msg_pending to decide whether to write EOM. So the
 * host only ever touches message_type and flags with atomics, fills a slot
 * before publishing its type with a release store, and, after flagging a
 * busy slot, looks at its type once more: a guest that freed the slot
 * between our two looks may have missed the flag and will never EOM.
 */
#include "hvshim/internal.h"

static struct hv_message *slot_of(struct hv_vp *vp, uint32_t sint)
{
    return (struct hv_message *)((uint8_t *)vp->simp_page + (size_t)sint * HV_MESSAGE_SIZE);
}

/* Fill a free slot from its parts; the payload is copied from src (size
 * bytes) and the rest of the slot's payload zeroed, so callers need not
 * build a whole message first. */
static int write_slot_parts_locked(struct hv_vp *vp, uint32_t sint, uint32_t type,
                                   uint64_t sender, const void *src, uint32_t size)
{
    struct hv_message *slot;

    if (sint >= HV_SINT_COUNT)
        return HV_ERR_INVAL;
    /* XSA-472: an enabled SIMP whose GPA is not RAM has no page. */
    if (!(vp->simp & HV_PAGE_MSR_ENABLE) || !vp->simp_page ||
        !hv_synic_sint_usable_locked(vp, sint))
        return HV_ERR_DISABLED;

    slot = slot_of(vp, sint);
    for (int look = 0; look < 2; look++) {
        if (__atomic_load_n(&slot->message_type, __ATOMIC_ACQUIRE) == HVMSG_NONE) {
            /* The slot is ours until the type is published. */
            slot->payload_size = (uint8_t)size;
            slot->reserved[0] = 0;
            slot->reserved[1] = 0;
            slot->sender = sender;
            if (size)
                memcpy(slot->payload, src, size);
            if (size < sizeof(slot->payload))
                memset(slot->payload + size, 0, sizeof(slot->payload) - size);
            __atomic_store_n(&slot->flags, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&slot->message_type, type, __ATOMIC_RELEASE);
            hv_stat_inc(&vp->stats.synic_messages);
            hv_synic_raise_sint_locked(vp, sint);
            return HV_OK;
        }
        if (look == 0) {
            __atomic_fetch_or(&slot->flags, (uint8_t)HV_MESSAGE_FLAG_PENDING,
                              __ATOMIC_SEQ_CST);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            vp->eom_wanted |= (uint16_t)(1u << sint);
        }
    }
    return HV_ERR_BUSY;
}

int hv_synic_write_slot_locked(struct hv_vp *vp, uint32_t sint, const struct hv_message *msg)
{
    uint32_t size = msg->payload_size <= HV_MESSAGE_PAYLOAD_MAX ? msg->payload_size
                                                                : HV_MESSAGE_PAYLOAD_MAX;
    return write_slot_parts_locked(vp, sint, msg->message_type, msg->sender, msg->payload, size);
}

/* ---------------------------------------------------------------- queue */

/* queue_order holds a wrapping sequence number: compare by difference. */
static bool older(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static int queue_oldest_locked(const struct hv_vp *vp, uint32_t sint)
{
    int best = -1;

    for (uint32_t i = 0; i < HV_MSG_QUEUE_DEPTH; i++) {
        if (!vp->queue[i].used || vp->queue[i].sint != sint)
            continue;
        if (best < 0 || older(vp->queue_order[i], vp->queue_order[best]))
            best = (int)i;
    }
    return best;
}

static bool queue_push_locked(struct hv_vp *vp, uint32_t sint, const struct hv_message *msg)
{
    for (uint32_t i = 0; i < HV_MSG_QUEUE_DEPTH; i++) {
        struct hv_queued_message *q = &vp->queue[i];
        if (q->used)
            continue;
        memset(q, 0, sizeof(*q));
        q->sint = (uint8_t)sint;
        q->used = 1;
        q->msg = *msg;
        vp->queue_order[i] = vp->queue_seq++;
        return true;
    }
    return false;
}

static bool stimer_pending_for(const struct hv_vp *vp, uint32_t sint)
{
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        const struct hv_stimer *t = &vp->stimer[n];
        if (t->pending && !(t->config & HV_STIMER_DIRECT_MODE) &&
            ((t->config & HV_STIMER_SINT_MASK) >> HV_STIMER_SINT_SHIFT) == sint)
            return true;
    }
    return false;
}

/* Move queued messages of one SINT into its slot, oldest first, until the
 * slot is taken. Returns whether an entry was freed. */
static bool queue_flush_sint_locked(struct hv_vp *vp, uint32_t sint)
{
    struct hv_partition *p = vp->partition;
    bool freed = false;
    int i;

    while ((i = queue_oldest_locked(vp, sint)) >= 0) {
        struct hv_queued_message *q = &vp->queue[i];
        if (hv_synic_write_slot_locked(vp, sint, &q->msg) != HV_OK)
            break;
        hv_trace(p, vp->index, HV_TRACE_SYNIC_MSG, sint, q->msg.message_type, 0, 0);
        memset(q, 0, sizeof(*q));
        freed = true;
    }
    return freed;
}

uint16_t hv_synic_sints_waiting_locked(const struct hv_vp *vp)
{
    uint16_t mask = 0;

    for (uint32_t i = 0; i < HV_MSG_QUEUE_DEPTH; i++)
        if (vp->queue[i].used && vp->queue[i].sint < HV_SINT_COUNT)
            mask |= (uint16_t)(1u << vp->queue[i].sint);
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        const struct hv_stimer *t = &vp->stimer[n];
        if (t->pending && !(t->config & HV_STIMER_DIRECT_MODE))
            mask |= (uint16_t)(1u << ((t->config & HV_STIMER_SINT_MASK) >> HV_STIMER_SINT_SHIFT));
    }
    return mask;
}

uint16_t hv_synic_redeliver_locked(struct hv_vp *vp, uint16_t sints)
{
    uint16_t work = sints & hv_synic_sints_waiting_locked(vp);
    uint16_t freed = 0;

    /* SINTs with nothing left owe the guest no EOM-driven retry. Polls run
     * before every guest entry, so the common "nothing waits" case stops
     * here. */
    vp->eom_wanted &= (uint16_t)~(sints & ~work);
    if (!work)
        return 0;
    /* Timers first: an expiry is already late, a queued message is not
     * time-critical (and the queue is short, so timers cannot starve it). */
    hv_stimer_retry_locked(vp, work);
    for (uint32_t s = 0; s < HV_SINT_COUNT; s++) {
        if (!(work & (1u << s)))
            continue;
        if (queue_flush_sint_locked(vp, s))
            freed |= (uint16_t)(1u << s);
        if (queue_oldest_locked(vp, s) < 0 && !stimer_pending_for(vp, s))
            vp->eom_wanted &= (uint16_t)~(1u << s);
    }
    if (freed) {
        /* The queue is shared by all SINTs of the VP: a sender refused on
         * another SINT may post again too. */
        freed |= vp->post_waiters;
        vp->post_waiters = 0;
    }
    return freed;
}

void hv_synic_notify_slots_freed(struct hv_vp *vp, uint16_t sints)
{
    struct hv_partition *p = vp->partition;

    if (!p->ops->message_slot_freed)
        return;
    for (uint32_t s = 0; s < HV_SINT_COUNT; s++)
        if (sints & (1u << s))
            p->ops->message_slot_freed(p->ctx, vp->index, s);
}

int hv_synic_post_message(struct hv_partition *p, uint32_t vp_index, uint32_t sint,
                          uint32_t message_type, uint64_t sender,
                          const void *payload, uint32_t payload_size)
{
    struct hv_vp *vp;
    struct hv_message msg;
    uint16_t freed;
    int rc;
    bool waiting = false, slot_wait = false;

    if (!p)
        return HV_ERR_INVAL;
    vp = hv_partition_vp(p, vp_index);
    if (!vp || sint >= HV_SINT_COUNT)
        return HV_ERR_NOENT;
    if (message_type == HVMSG_NONE || payload_size > HV_MESSAGE_PAYLOAD_MAX ||
        (payload_size && !payload))
        return HV_ERR_INVAL;
    if (!hv_feature(p, HV_F_SYNIC))
        return HV_ERR_DISABLED;   /* this partition can never receive it */

    hv_lock(&vp->lock);
    freed = 0;
    if (hv_synic_sints_waiting_locked(vp) & (1u << sint)) {
        /* Older work for this SINT goes first (FIFO per SINT). */
        freed = hv_synic_redeliver_locked(vp, (uint16_t)(1u << sint));
        waiting = queue_oldest_locked(vp, sint) >= 0 || stimer_pending_for(vp, sint);
    } else {
        /* Nothing waits here, so no EOM-driven retry is owed for it. */
        vp->eom_wanted &= (uint16_t)~(1u << sint);
    }
    /* The common case writes straight from the caller's buffer. */
    rc = waiting ? HV_ERR_BUSY
                 : write_slot_parts_locked(vp, sint, message_type, sender, payload, payload_size);
    if (rc == HV_OK) {
        hv_trace(p, vp->index, HV_TRACE_SYNIC_MSG, sint, message_type, 0, 0);
    } else {
        memset(&msg, 0, sizeof(msg));
        msg.message_type = message_type;
        msg.payload_size = (uint8_t)payload_size;
        msg.sender = sender;
        if (payload_size)
            memcpy(msg.payload, payload, payload_size);
        if (queue_push_locked(vp, sint, &msg)) {
            /* Slot busy, SINT masked, SynIC or SIMP off: it waits here. */
            rc = HV_OK;
            slot_wait = true;
            hv_trace(p, vp->index, HV_TRACE_SYNIC_MSG, sint, message_type, 1, 0);
        } else {
            rc = HV_ERR_BUSY;
            vp->post_waiters |= (uint16_t)(1u << sint);
            hv_trace(p, vp->index, HV_TRACE_SYNIC_MSG, sint, message_type, 2, 0);
        }
    }
    hv_unlock(&vp->lock);
    hv_synic_notify_slots_freed(vp, freed);
    if (slot_wait && p->ops->slot_wait)
        p->ops->slot_wait(p->ctx, vp->index);
    return rc;
}
