/* SPDX-License-Identifier: MIT */
/* Server internals shared by server.c, channel.c and server_save.c. */
#ifndef HVSHIM_VMBUS_SERVER_INTERNAL_H
#define HVSHIM_VMBUS_SERVER_INTERNAL_H

#include "vmbus/gpadl.h"
#include "vmbus/ring.h"
#include "vmbus/server.h"

enum vmbus_channel_state {
    VMBUS_CH_FREE = 0,
    VMBUS_CH_CLOSED,         /* offered (or waiting to be), not open */
    VMBUS_CH_OPEN,
    VMBUS_CH_RESCINDED,      /* removed; waiting for RELID_RELEASED */
};

struct vmbus_channel {
    struct vmbus_server *srv;
    uint32_t relid;
    uint32_t connection_id;
    uint8_t monitor_id;          /* VMBUS_MONITOR_ID_NONE if not monitored */
    uint8_t state;               /* enum vmbus_channel_state */
    bool offer_sent;             /* OFFERCHANNEL went out on this connection */
    bool connection_added;
    bool broken;                 /* ring violation: close pending */
    bool rx_paused;
    bool rx_again;               /* budget ran out with packets left */
    bool writable_again;         /* ring space appeared as a send blocked */
    bool want_writable;          /* a send hit a full ring */
    uint32_t pending_need;       /* ring bytes that send needed */

    struct vmbus_offer offer;
    const struct vmbus_device_ops *ops;   /* NULL once removed */
    void *dev;

    /* Open state */
    uint32_t target_vp;
    uint32_t open_id;
    uint8_t user_data[VMBUS_OFFER_USER_DEFINED_BYTES];   /* from OPENCHANNEL */
    uint32_t ring_gpadl;
    uint32_t ring_pages;
    uint32_t downstream_offset;  /* pages */
    void *ring_map;
    struct vmbus_ring in;        /* guest -> host */
    struct vmbus_ring out;       /* host -> guest */
    uint8_t *pkt_buf;
    uint32_t pkt_buf_len;

    /* Device-held GPADL mappings (receive/send buffers) */
    struct vmbus_channel_map {
        uint32_t handle;
        uint32_t pages;
        void *addr;
    } maps[4];

    uint64_t timer_deadline;
    uint32_t wake_pending;       /* atomic: vmbus_channel_wake was called */
};

struct vmbus_out_msg {
    uint32_t vp;
    uint32_t size;
    uint8_t data[HV_MESSAGE_PAYLOAD_MAX];
};

enum vmbus_conn_state {
    VMBUS_DISCONNECTED = 0,
    VMBUS_CONNECTED,
};

struct vmbus_server {
    struct vmbus_server_config cfg;
    struct vmbus_server_host host;
    void *ctx;
    const struct vmbus_memview *mem;

    /* Connection */
    uint8_t conn;                /* enum vmbus_conn_state */
    bool offers_requested;
    uint32_t version;
    uint32_t target_vp;
    uint32_t msg_conn_id;
    uint64_t monitor_gpa[2];     /* parent->child, child->parent */
    struct vmbus_monitor_page *monitor_in;   /* mapped child->parent page */

    struct vmbus_channel *channels;          /* relid = index + 1 */
    struct vmbus_gpadl_table gpadls;

    /* Messages waiting for a free SynIC slot, FIFO */
    struct vmbus_out_msg *backlog;
    uint32_t backlog_head;
    uint32_t backlog_count;

    /* Reentrancy: channels broken inside device callbacks are closed when
     * the outermost entry point returns. */
    uint32_t depth;
    bool reap_needed;

    uint64_t next_monitor_poll;
    uint32_t wake_pending;       /* atomic: some channel was woken */

    /* Warning rate limit */
    uint64_t log_window_start;
    uint32_t log_in_window;
    uint64_t log_suppressed_window;

    struct vmbus_server_stats stats;
};

/* server.c */
void vmbus_srv_log(struct vmbus_server *srv, enum vmbus_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Guest-caused warnings go through the rate limit. */
void vmbus_srv_guest_warn(struct vmbus_server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t vmbus_srv_now(const struct vmbus_server *srv);
/* Queue-or-post a message to the connection's target VP. false if dropped. */
bool vmbus_srv_send_msg(struct vmbus_server *srv, const void *msg, uint32_t size);
uint32_t vmbus_srv_backlog_free(const struct vmbus_server *srv);
void vmbus_srv_backlog_clear(struct vmbus_server *srv);
void vmbus_srv_enter(struct vmbus_server *srv);
void vmbus_srv_leave(struct vmbus_server *srv);

/* channel.c */
struct vmbus_channel *vmbus_srv_channel_by_relid(struct vmbus_server *srv, uint32_t relid);
void vmbus_ch_send_offer(struct vmbus_channel *ch);
void vmbus_ch_handle_open(struct vmbus_server *srv, const struct vmbus_msg_open_channel *m);
void vmbus_ch_handle_close(struct vmbus_server *srv, uint32_t relid);
void vmbus_ch_handle_modify(struct vmbus_server *srv, const struct vmbus_msg_modify_channel *m);
void vmbus_ch_handle_relid_released(struct vmbus_server *srv, uint32_t relid);
/* Close the host side: device close, unmap, release the ring GPADL. */
void vmbus_ch_close(struct vmbus_channel *ch);
/* Read guest packets, signal back, resume a blocked writer. */
void vmbus_ch_service(struct vmbus_channel *ch);
void vmbus_ch_free(struct vmbus_channel *ch);
/* Map the ring GPADL and set both rings up; 0 or an error status. */
int vmbus_ch_map_rings(struct vmbus_channel *ch, struct vmbus_gpadl *g,
                       uint32_t downstream_offset);
void vmbus_ch_unmap_rings(struct vmbus_channel *ch);
/* Tell the server a GPADL lost a user; sends TORNDOWN if that completed a
 * deferred teardown. */
void vmbus_srv_gpadl_put(struct vmbus_server *srv, struct vmbus_gpadl *g);
/* Disconnect: close all channels, forget rescinded ones and all GPADLs. */
void vmbus_srv_disconnect(struct vmbus_server *srv);

#endif /* HVSHIM_VMBUS_SERVER_INTERNAL_H */
