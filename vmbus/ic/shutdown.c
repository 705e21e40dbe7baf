/* SPDX-License-Identifier: MIT */
/* Shutdown: ask the guest to power off, reboot or hibernate. */
#include <stdlib.h>
#include <string.h>

#include "vmbus/ic/services.h"

/* Hyper-V's reason for a host-initiated shutdown: "planned". */
#define SHTDN_REASON_FLAG_PLANNED 0x80000000u

static const struct vmbus_ic_version shutdown_versions[] = {
    { 3, 2 }, { 3, 1 }, { 3, 0 }, { 1, 0 },
};

static const struct vmbus_ic_desc shutdown_desc = {
    .name = "shutdown",
    .if_type = VMBUS_GUID_SHUTDOWN,
    .if_instance = VMBUS_GUID_SHUTDOWN_INSTANCE,
    .versions = shutdown_versions,
    .nr_versions = 4,
};

struct vmbus_shutdown {
    struct vmbus_ic ic;
    bool pending;            /* a request waits for the guest or is in flight */
    bool sent;
    struct vmbus_ic_shutdown msg;
    vmbus_shutdown_done_fn done;
    void *done_ctx;
};

static void finish(struct vmbus_shutdown *sd, uint32_t status)
{
    vmbus_shutdown_done_fn done = sd->done;
    sd->pending = sd->sent = false;
    sd->done = NULL;
    if (done)
        done(sd->done_ctx, status);
}

static void try_send(struct vmbus_shutdown *sd)
{
    if (!sd->pending || sd->sent || sd->ic.state != VMBUS_IC_READY)
        return;
    if (vmbus_ic_request(&sd->ic, VMBUS_IC_MSG_SHUTDOWN, &sd->msg, sizeof(sd->msg)) == 0)
        sd->sent = true;
}

static void sd_ready(struct vmbus_ic *ic)
{
    try_send(ic->owner);
}

static void sd_response(struct vmbus_ic *ic, const struct vmbus_ic_msg *msg)
{
    struct vmbus_shutdown *sd = ic->owner;
    if (sd->sent)
        finish(sd, msg->hdr.status);
}

static void sd_closed(struct vmbus_ic *ic)
{
    struct vmbus_shutdown *sd = ic->owner;
    /* A request the guest took with it is lost; one it never saw waits
     * for the next connection. */
    if (sd->sent)
        finish(sd, VMBUS_IC_STATUS_LOST);
}

static const struct vmbus_ic_ops shutdown_ops = {
    .ready = sd_ready,
    .response = sd_response,
    .closed = sd_closed,
};

struct vmbus_shutdown *vmbus_shutdown_create(struct vmbus_server *srv)
{
    struct vmbus_shutdown *sd = calloc(1, sizeof(*sd));
    if (!sd)
        return NULL;
    vmbus_ic_init(&sd->ic, &shutdown_desc, &shutdown_ops, sd);
    if (vmbus_ic_attach(&sd->ic, srv, free)) {
        free(sd);
        return NULL;
    }
    return sd;
}

int vmbus_shutdown_request(struct vmbus_shutdown *sd, enum vmbus_shutdown_kind kind, bool force,
                           const char *message, vmbus_shutdown_done_fn done, void *ctx)
{
    if (sd->pending)
        return -1;
    memset(&sd->msg, 0, sizeof(sd->msg));
    sd->msg.reason_code = SHTDN_REASON_FLAG_PLANNED;
    sd->msg.timeout_seconds = 0;
    sd->msg.flags = (uint32_t)kind | (force ? VMBUS_IC_SHUTDOWN_FLAG_FORCE : 0);
    if (message && !vmbus_utf8_to_utf16le(message, sd->msg.display_message,
                                          sizeof(sd->msg.display_message)))
        return -1;
    sd->pending = true;
    sd->sent = false;
    sd->done = done;
    sd->done_ctx = ctx;
    try_send(sd);
    return 0;
}

bool vmbus_shutdown_ready(const struct vmbus_shutdown *sd)
{
    return sd->ic.state == VMBUS_IC_READY;
}
