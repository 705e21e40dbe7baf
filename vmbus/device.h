/* SPDX-License-Identifier: MIT */
/*
 * The device interface: what a VMBus device (integration services here,
 * netvsc/storvsc in vmbus/devices/) gives the server, and the channel
 * calls it may make back. Everything runs on the server's thread; a device
 * never sees guest memory except through its channel.
 *
 * Life cycle: vmbus_server_add_device() creates a channel slot and offers
 * it; the guest opens it (ops->open), sends packets (ops->packet), closes
 * it (ops->close). A ring violation, UNLOAD, INITIATE_CONTACT, reset or
 * removal close it the same way. vmbus_server_remove_device() rescinds the
 * offer; ops->destroy runs once the device is no longer referenced.
 */
#ifndef HVSHIM_VMBUS_DEVICE_H
#define HVSHIM_VMBUS_DEVICE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/memview.h"
#include "vmbus/protocol.h"
#include "vmbus/ring.h"

struct vmbus_server;
struct vmbus_channel;

enum vmbus_log_level { VMBUS_LOG_ERROR, VMBUS_LOG_WARN, VMBUS_LOG_INFO, VMBUS_LOG_DEBUG };

/* What the guest sees in OFFERCHANNEL, plus how the host services it. */
struct vmbus_offer {
    struct vmbus_guid if_type;         /* device class */
    struct vmbus_guid if_instance;     /* unique per device */
    uint16_t chn_flags;                /* VMBUS_OFFER_FLAG_* */
    uint16_t mmio_megabytes;
    uint16_t sub_channel_index;        /* 0 for a primary channel */
    uint8_t user_defined[VMBUS_OFFER_USER_DEFINED_BYTES];
    /* Guest signals through the monitor page (no hypercall; the server
     * polls) instead of HvSignalEvent. */
    bool use_monitor;
    /* Largest guest packet the device accepts, descriptor included
     * (0: 16 KiB). Larger packets are skipped with a log line. */
    uint32_t max_packet;
    const char *name;                  /* for log lines */
};

struct vmbus_device_ops {
    /* The guest opened the channel; the rings are mapped. Return 0 to
     * accept, anything else fails the open. user_data: OPENCHANNEL's 120
     * bytes. */
    int (*open)(void *dev, struct vmbus_channel *ch, const uint8_t *user_data);
    /* The channel closed (for any reason). No sends after this. */
    void (*close)(void *dev, struct vmbus_channel *ch);
    /* One guest packet, copied out of the ring; valid during the call. */
    void (*packet)(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *pkt);
    /* Optional: a send that returned VMBUS_RING_FULL may be retried. */
    void (*writable)(void *dev, struct vmbus_channel *ch);
    /* Optional: the deadline set with vmbus_channel_set_timer passed. */
    void (*timer)(void *dev, struct vmbus_channel *ch, uint64_t now_ns);
    /* Optional: device state of an open channel for migration. save
     * returns bytes written (or needed when buf is NULL), < 0 on error;
     * restore replaces open() when the server is loaded from a save. A
     * device without them is re-opened with open() on restore. */
    long (*save)(void *dev, struct vmbus_channel *ch, void *buf, size_t len);
    int (*restore)(void *dev, struct vmbus_channel *ch, const void *buf, size_t len);
    /* Optional: the server lets go of the device (removal, destroy). */
    void (*destroy)(void *dev);
    /* Optional: on the server thread, after vmbus_channel_wake() was called
     * (from any thread) while the channel was open. Several wakes may be
     * folded into one call. */
    void (*wake)(void *dev, struct vmbus_channel *ch);
};

/* ------------------------------------------------ calls back into vmbus */

/* Send one packet host -> guest (see vmbus_ring_out_write). Returns
 * VMBUS_RING_OK; VMBUS_RING_FULL (ops->writable will be called when it may
 * fit); VMBUS_RING_TOO_BIG; or VMBUS_CHANNEL_E_CLOSED (not open, or the
 * guest broke the ring and the channel is being closed). */
#define VMBUS_CHANNEL_E_CLOSED (-10)
int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
                       uint64_t trans_id, const void *ext, uint32_t ext_len,
                       const struct vmbus_ring_seg *segs, uint32_t nsegs);
/* Batching: send_more writes without making the packet visible to the
 * guest; flush publishes everything so far with one barrier and at most
 * one signal. The server flushes every channel before it returns to the
 * host, so a device that forgets loses only latency, never packets. */
int vmbus_channel_send_more(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
                            uint64_t trans_id, const void *ext, uint32_t ext_len,
                            const struct vmbus_ring_seg *segs, uint32_t nsegs);
void vmbus_channel_flush(struct vmbus_channel *ch);
/* Inline data, and a completion echoing a guest transaction id. */
int vmbus_channel_send_inband(struct vmbus_channel *ch, uint16_t flags, uint64_t trans_id,
                              const void *data, uint32_t len);
int vmbus_channel_send_completion(struct vmbus_channel *ch, uint64_t trans_id,
                                  const void *data, uint32_t len);

/* Thread-safe: ask for ops->wake on the server thread (backend completions,
 * a readable tap). The device keeps its backend threads from calling this
 * once its close() or destroy() has returned. */
void vmbus_channel_wake(struct vmbus_channel *ch);

/* Stop / resume taking guest packets (back-pressure from a backend). */
void vmbus_channel_pause_rx(struct vmbus_channel *ch, bool paused);

/* Absolute deadline on the server clock (ns); 0 cancels. */
void vmbus_channel_set_timer(struct vmbus_channel *ch, uint64_t deadline_ns);
uint64_t vmbus_channel_now(const struct vmbus_channel *ch);

/* Map a GPADL of this channel that is one range of whole pages (receive or
 * send buffers). The GPADL stays alive until unmapped; a guest teardown
 * meanwhile is answered after the unmap. NULL if unknown or unsuitable. */
void *vmbus_channel_gpadl_map(struct vmbus_channel *ch, uint32_t handle, uint32_t *bytes);
void vmbus_channel_gpadl_unmap(struct vmbus_channel *ch, uint32_t handle);

/* Guest memory, for GPA-direct packets. */
const struct vmbus_memview *vmbus_channel_mem(const struct vmbus_channel *ch);

bool vmbus_channel_is_open(const struct vmbus_channel *ch);
uint32_t vmbus_channel_relid(const struct vmbus_channel *ch);
uint32_t vmbus_channel_target_vp(const struct vmbus_channel *ch);
/* The VMBus protocol version the guest negotiated (0 if disconnected). */
uint32_t vmbus_channel_version(const struct vmbus_channel *ch);
const struct vmbus_offer *vmbus_channel_offer(const struct vmbus_channel *ch);
struct vmbus_server *vmbus_channel_server(const struct vmbus_channel *ch);
void *vmbus_channel_device(const struct vmbus_channel *ch);

void vmbus_channel_log(const struct vmbus_channel *ch, enum vmbus_log_level level,
                       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* HVSHIM_VMBUS_DEVICE_H */
