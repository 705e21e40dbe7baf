/* SPDX-License-Identifier: MIT */
/*
 * The synthetic NIC (the host side Linux's netvsc talks to): NVSP
 * negotiation (every version Linux tries), NDIS config and version, the
 * receive and send buffer GPADLs, RNDIS control (rndis.h), transmit from
 * the send buffer and from GPA-direct pages, receive into sub-allocations
 * of the receive buffer announced with transfer-page packets, completions
 * both ways, link indications. One channel (no subchannels: the RSS
 * capabilities say one queue).
 *
 * Frames go between guest memory and the backend's packet fd with one
 * readv/writev each (no host copy). Everything runs on the server thread;
 * the backend's poll thread only wakes the channel.
 */
#ifndef HVSHIM_VMBUS_DEVICES_NETVSC_H
#define HVSHIM_VMBUS_DEVICES_NETVSC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus/devices/net.h"
#include "vmbus/server.h"

#define NETVSC_DEFAULT_MTU 1500u
#define NETVSC_MAX_MTU 9000u
#define NETVSC_SEND_SECTION_SIZE 6144u

struct netvsc_options {
    struct vmbus_guid instance;   /* offer instance id */
    uint8_t mac[6];
    uint32_t mtu;                 /* 0: 1500; 68 .. 9000 */
    uint32_t max_version;         /* highest NVSP version (0: 6.1) */
    uint64_t link_speed_bps;      /* reported speed (0: 10 Gb/s) */
    bool link_down;               /* start with the cable unplugged */
};

struct netvsc_stats {
    uint64_t tx_frames, tx_bytes, tx_dropped;   /* guest -> backend */
    uint64_t rx_frames, rx_bytes, rx_dropped;   /* backend -> guest */
    uint64_t rx_filtered;         /* not for this guest's filter */
    uint64_t rx_no_buffer;        /* waits for a free sub-allocation */
    uint64_t control_msgs;
    uint64_t bad_packets;         /* malformed guest input */
    uint64_t stale_completions;   /* unknown transaction ids */
    uint64_t ring_full;
};

struct netvsc;

/* Create the NIC on the server, taking ownership of the backend (its poll
 * thread is started here). NULL on failure (the backend is then closed). */
struct netvsc *netvsc_create(struct vmbus_server *srv, const struct netvsc_options *opt,
                             struct net_backend *backend);

/* Thread-safe: plug or unplug the virtual cable; the guest gets an RNDIS
 * media connect/disconnect indication. */
void netvsc_set_link(struct netvsc *n, bool up);

struct vmbus_channel *netvsc_channel(const struct netvsc *n);
const struct netvsc_stats *netvsc_get_stats(const struct netvsc *n);
uint32_t netvsc_version(const struct netvsc *n);     /* NVSP, 0 before INIT */
uint32_t netvsc_packet_filter(const struct netvsc *n);

/* Removal: vmbus_server_remove_device(srv, netvsc_channel(n)) or server
 * destroy; both free the NIC and close the backend. */

#endif /* HVSHIM_VMBUS_DEVICES_NETVSC_H */
