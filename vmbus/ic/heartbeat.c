/* SPDX-License-Identifier: MIT */
/*
 * Heartbeat: every interval the host sends a sequence number; a live guest
 * answers with the number plus one. Intervals that pass without a correct
 * answer count as missed.
 */
#include <stdlib.h>
#include <string.h>

#include "vmbus/ic/services.h"

#define DEFAULT_INTERVAL_NS 2000000000ull

static const struct vmbus_ic_version heartbeat_versions[] = { { 3, 0 }, { 1, 0 } };

static const struct vmbus_ic_desc heartbeat_desc = {
    .name = "heartbeat",
    .if_type = VMBUS_GUID_HEARTBEAT,
    .if_instance = VMBUS_GUID_HEARTBEAT_INSTANCE,
    .versions = heartbeat_versions,
    .nr_versions = 2,
};

struct vmbus_heartbeat {
    struct vmbus_ic ic;
    uint64_t interval_ns;
    struct vmbus_heartbeat_status st;
};

static void beat(struct vmbus_heartbeat *hb, uint64_t now)
{
    struct vmbus_ic_heartbeat body = { .seq_num = hb->st.seq + 1 };
    if (vmbus_ic_request(&hb->ic, VMBUS_IC_MSG_HEARTBEAT, &body, sizeof(body)) == 0)
        hb->st.seq = body.seq_num;
    vmbus_ic_set_timer(&hb->ic, now + hb->interval_ns);
}

static void hb_ready(struct vmbus_ic *ic)
{
    struct vmbus_heartbeat *hb = ic->owner;
    hb->st.negotiated = true;
    beat(hb, vmbus_ic_now(ic));
}

static void hb_timer(struct vmbus_ic *ic, uint64_t now)
{
    struct vmbus_heartbeat *hb = ic->owner;
    if (ic->state != VMBUS_IC_READY)
        return;
    if (vmbus_ic_busy(ic)) {
        /* Still no answer to the previous beat. */
        hb->st.missed++;
        hb->st.healthy = false;
        vmbus_ic_set_timer(ic, now + hb->interval_ns);
        return;
    }
    beat(hb, now);
}

static void hb_response(struct vmbus_ic *ic, const struct vmbus_ic_msg *msg)
{
    struct vmbus_heartbeat *hb = ic->owner;
    struct vmbus_ic_heartbeat body;
    if (msg->hdr.msgtype != VMBUS_IC_MSG_HEARTBEAT || msg->body_len < sizeof(body.seq_num)) {
        hb->st.beats_bad++;
        hb->st.healthy = false;
        return;
    }
    memcpy(&body.seq_num, msg->body, sizeof(body.seq_num));
    if (body.seq_num == hb->st.seq + 1) {
        hb->st.beats_ok++;
        hb->st.missed = 0;
        hb->st.healthy = true;
        hb->st.last_ok_ns = vmbus_ic_now(ic);
    } else {
        hb->st.beats_bad++;
        hb->st.healthy = false;
    }
}

static void hb_closed(struct vmbus_ic *ic)
{
    struct vmbus_heartbeat *hb = ic->owner;
    hb->st.negotiated = false;
    hb->st.healthy = false;
}

static const struct vmbus_ic_ops heartbeat_ops = {
    .ready = hb_ready,
    .response = hb_response,
    .closed = hb_closed,
    .timer = hb_timer,
};

struct vmbus_heartbeat *vmbus_heartbeat_create(struct vmbus_server *srv, uint64_t interval_ns)
{
    struct vmbus_heartbeat *hb = calloc(1, sizeof(*hb));
    if (!hb)
        return NULL;
    hb->interval_ns = interval_ns ? interval_ns : DEFAULT_INTERVAL_NS;
    vmbus_ic_init(&hb->ic, &heartbeat_desc, &heartbeat_ops, hb);
    if (vmbus_ic_attach(&hb->ic, srv, free)) {
        free(hb);
        return NULL;
    }
    return hb;
}

void vmbus_heartbeat_status(const struct vmbus_heartbeat *hb,
                            struct vmbus_heartbeat_status *st)
{
    *st = hb->st;
}
