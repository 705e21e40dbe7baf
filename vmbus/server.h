/* SPDX-License-Identifier: MIT */
/*
 * The VMBus server: the host side of the channel protocol as a state
 * machine. It is fed guest input (posted messages, channel signals, freed
 * message slots, the passing of time) and acts only through the callbacks
 * below and guest memory (struct vmbus_memview). No I/O, no threads: a
 * host runs one server on one thread (its event loop) and queues guest
 * input to it from vCPU threads.
 *
 * Wiring into a host built on the hvshim core:
 *   host ops post_message/signal_event -> queue -> vmbus_server_post_message
 *       / vmbus_server_signal_event (the host op returns 0, or
 *       HV_STATUS_INSUFFICIENT_BUFFERS while its queue is full);
 *   host op message_slot_freed -> queue -> vmbus_server_message_slot_freed;
 *   callbacks: post_message -> hv_synic_post_message(p, vp, 2, 1, ...),
 *       HV_ERR_BUSY -> VMBUS_POST_BUSY; signal_event ->
 *       hv_synic_signal_event(p, vp, 2, relid); connection_add/remove ->
 *       hv_partition_(un)register_connection;
 *   the loop sleeps until vmbus_server_next_deadline() and then calls
 *   vmbus_server_run_timers().
 */
#ifndef HVSHIM_VMBUS_SERVER_H
#define HVSHIM_VMBUS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/device.h"
#include "vmbus/memview.h"

enum vmbus_post_result {
    VMBUS_POST_OK = 0,
    VMBUS_POST_BUSY = 1,     /* queue full: retry after message_slot_freed */
    VMBUS_POST_FAILED = -1,  /* cannot be delivered (SynIC off): dropped */
};

struct vmbus_server_host {
    /* A channel message (<= 240 bytes, starting with its msgtype) for the
     * guest: SynIC message type 1 into (vp, SINT 2). */
    int (*post_message)(void *ctx, uint32_t vp, const void *msg, uint32_t size);
    /* Set event flag `relid` of (vp, SINT 2) and raise the SINT. */
    void (*signal_event)(void *ctx, uint32_t vp, uint32_t relid);
    /* Optional: start/stop routing HvPostMessage (event = false) or
     * HvSignalEvent (event = true) on a connection id to this server.
     * Returns 0, or < 0 if the id cannot be registered. */
    int (*connection_add)(void *ctx, uint32_t connection_id, bool event);
    void (*connection_remove)(void *ctx, uint32_t connection_id);
    /* Monotonic time in ns. */
    uint64_t (*now_ns)(void *ctx);
    /* Optional: one formatted line (no newline). */
    void (*log)(void *ctx, enum vmbus_log_level level, const char *line);
    /* Optional, thread-safe: a device backend thread called
     * vmbus_channel_wake(). The host makes its loop call
     * vmbus_server_next_deadline() / vmbus_server_run_timers() soon (the
     * deadline is then "now"), e.g. by writing an eventfd the loop polls.
     * Without it woken channels are served at the next timer run. */
    void (*wake)(void *ctx);
};

struct vmbus_server_config {
    uint32_t nr_vps;             /* VP indexes the guest may name */
    uint32_t max_version;        /* highest VMBus version accepted */
    uint32_t max_channels;       /* channel slots (relids 1..n) */
    uint32_t max_gpadls;
    uint64_t max_gpadl_bytes;    /* host memory for all GPADL page lists */
    uint32_t backlog;            /* host -> guest messages held while busy */
    uint64_t monitor_poll_ns;    /* how often monitored channels are polled */
    uint32_t rx_budget;          /* packets per channel before yielding */
    uint32_t log_burst;          /* log lines per second (errors exempt) */
    uint32_t log_level;          /* enum vmbus_log_level: lines above it are
                                  * skipped before counting */
};

void vmbus_server_config_defaults(struct vmbus_server_config *cfg, uint32_t nr_vps);

/* NULL on bad configuration or no memory. mem must outlive the server. */
struct vmbus_server *vmbus_server_create(const struct vmbus_server_config *cfg,
                                         const struct vmbus_server_host *host, void *ctx,
                                         const struct vmbus_memview *mem);
/* Closes every channel and destroys every device. */
void vmbus_server_destroy(struct vmbus_server *srv);

/* Add a device: returns its channel (relid and event connection assigned;
 * offered at once if the guest already asked for offers), or NULL. */
struct vmbus_channel *vmbus_server_add_device(struct vmbus_server *srv,
                                              const struct vmbus_offer *offer,
                                              const struct vmbus_device_ops *ops, void *dev);
/* Remove a device: closes it and rescinds the offer; the relid is reused
 * once the guest releases it. */
void vmbus_server_remove_device(struct vmbus_server *srv, struct vmbus_channel *ch);

/* ---------------------------------------------------------- guest input */

enum vmbus_input_result {
    VMBUS_INPUT_DONE = 0,    /* consumed (also when it was garbage) */
    VMBUS_INPUT_RETRY = 1,   /* not consumed: the backlog is full; offer it
                              * again after message_slot_freed */
};

int vmbus_server_post_message(struct vmbus_server *srv, uint32_t vp, uint32_t connection_id,
                              uint32_t message_type, const void *payload, uint32_t size);
void vmbus_server_signal_event(struct vmbus_server *srv, uint32_t vp, uint32_t connection_id);
void vmbus_server_message_slot_freed(struct vmbus_server *srv, uint32_t vp, uint32_t sint);

/* Absolute time (server clock, ns) at which run_timers has work; 0 = now,
 * UINT64_MAX = nothing scheduled. */
uint64_t vmbus_server_next_deadline(const struct vmbus_server *srv);
void vmbus_server_run_timers(struct vmbus_server *srv);

/* The partition was reset (reboot): back to disconnected, devices closed
 * but still offered on the next connection. */
void vmbus_server_reset(struct vmbus_server *srv);

/* ---------------------------------------------------------- inspection */

/* Connection ids to route to this server: the message ids (1, 4) then one
 * event id per channel. Returns how many exist (writes up to max). */
size_t vmbus_server_connections(const struct vmbus_server *srv, uint32_t *ids, bool *event,
                                size_t max);

struct vmbus_server_stats {
    uint64_t messages_in;
    uint64_t messages_bad;       /* malformed or out of place */
    uint64_t messages_out;
    uint64_t messages_dropped;   /* backlog overflow or undeliverable */
    uint64_t backlog_peak;
    uint64_t signals_in;
    uint64_t signals_out;
    uint64_t packets_in;
    uint64_t packets_out;
    uint64_t ring_full;
    uint64_t ring_violations;
    uint64_t log_suppressed;
};

const struct vmbus_server_stats *vmbus_server_stats(const struct vmbus_server *srv);
bool vmbus_server_connected(const struct vmbus_server *srv);
uint32_t vmbus_server_version(const struct vmbus_server *srv);
uint32_t vmbus_server_target_vp(const struct vmbus_server *srv);
/* Channel by relid (NULL if none), for tests and tools. */
struct vmbus_channel *vmbus_server_channel(struct vmbus_server *srv, uint32_t relid);

/* What a tool shows about a channel (hvshim-ctl list). */
struct vmbus_channel_info {
    uint32_t relid;
    uint32_t connection_id;      /* HvSignalEvent id the guest uses */
    const char *state;           /* "closed", "open" or "rescinded" */
    bool offer_sent;             /* the guest got OFFERCHANNEL on this connection */
    uint32_t target_vp;          /* open: VP host-to-guest signals go to */
    uint32_t ring_pages;         /* open: both rings, header pages included */
    uint8_t monitor_id;          /* VMBUS_MONITOR_ID_NONE if not monitored */
};
void vmbus_channel_info(const struct vmbus_channel *ch, struct vmbus_channel_info *out);

/* ------------------------------------------------------- save / restore */

/* Versioned, checksummed, little-endian blob of the whole bus state (the
 * connection, every channel's offer/open state and ring indices, every
 * GPADL, queued messages, and each open device's own state). Load expects
 * a server with the same devices added in the same order, nothing
 * connected yet; it checks everything before changing anything. A device
 * the source had removed (rescind not yet released by the guest) is
 * destroyed by load, through its destroy op: drop its handle. */
long vmbus_server_save(struct vmbus_server *srv, void *buf, size_t len);
int vmbus_server_load(struct vmbus_server *srv, const void *buf, size_t len);

#endif /* HVSHIM_VMBUS_SERVER_H */
