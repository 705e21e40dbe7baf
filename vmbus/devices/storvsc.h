/* SPDX-License-Identifier: MIT */
/*
 * The synthetic SCSI controller (the host side Linux's storvsc talks to):
 * one VMBus channel, disks as LUNs of channel 0, target 0. Protocol
 * negotiation (0x0602, 0x0600, 0x0501), properties, EXECUTE_SRB through the
 * SCSI emulation (scsi.h) and the disks' block backends (blk.h), hot add
 * and removal announced with ENUMERATE_BUS.
 *
 * Threads: everything here runs on the server thread. Disk I/O runs on the
 * backends' threads; their completions wake the channel
 * (vmbus_channel_wake) and are answered from the device's wake op. Closing
 * the channel waits for the I/O in flight (it writes guest memory).
 */
#ifndef HVSHIM_VMBUS_DEVICES_STORVSC_H
#define HVSHIM_VMBUS_DEVICES_STORVSC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmbus/devices/blk.h"
#include "vmbus/server.h"

#define STORVSC_MAX_LUNS 64u
#define STORVSC_DEFAULT_MAX_TRANSFER (1u << 20)

struct storvsc_options {
    struct vmbus_guid instance;  /* offer instance id (unique per controller) */
    uint32_t max_version;        /* highest vstor version accepted (0: 0x0602) */
    uint32_t max_transfer;       /* bytes per request (0: 1 MiB; 4 KiB .. 2 MiB) */
    uint32_t max_outstanding;    /* requests in flight before the ring is left
                                  * unread (0: 1024) */
};

struct storvsc_stats {
    uint64_t srbs;
    uint64_t reads, writes, flushes, unmaps, write_sames;
    uint64_t bytes_read, bytes_written;
    uint64_t check_conditions;
    uint64_t invalid_lun;
    uint64_t bad_packets;        /* malformed guest packets */
    uint64_t ring_full;          /* completions that waited for room */
};

struct storvsc;

/* Create the controller and add it to the server (offered when the guest
 * asks). NULL if the server refuses the device. */
struct storvsc *storvsc_create(struct vmbus_server *srv, const struct storvsc_options *opt);

/* Give a disk to the controller as `lun` (< STORVSC_MAX_LUNS; -1 = lowest
 * free). The controller owns the disk from now on (closes it). serial: the
 * VPD unit serial (NULL: derived from the disk's name). If the guest is
 * connected it is told to rescan. Returns the LUN, or -1 (taken / full;
 * the disk is then not consumed). */
int storvsc_attach(struct storvsc *s, struct blk_dev *disk, int lun, const char *serial);

/* Take a disk away (hot removal): the guest is told to rescan and gets
 * INVALID LUN from then on; the backend is closed once its I/O finished.
 * -1 if there is no such LUN. */
int storvsc_detach(struct storvsc *s, uint32_t lun);

/* The controller's channel (for tests and tools). */
struct vmbus_channel *storvsc_channel(const struct storvsc *s);
const struct storvsc_stats *storvsc_get_stats(const struct storvsc *s);
/* The vstor version the guest negotiated (0 before). */
uint32_t storvsc_version(const struct storvsc *s);

/* Removal: vmbus_server_remove_device(srv, storvsc_channel(s)) or server
 * destroy; both free the controller and its disks. */

#endif /* HVSHIM_VMBUS_DEVICES_STORVSC_H */
