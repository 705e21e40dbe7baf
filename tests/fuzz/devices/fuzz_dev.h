/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the device fuzz targets: 1 MiB of guest RAM (memfd, so
 * scattered page lists map), a VMBus server whose host callbacks check the
 * contract, one device (NIC over a socketpair, or SCSI controller over
 * in-memory disks), its channel opened the way Linux opens it, and a guest
 * side built on the library's ring code. Contract breaches abort.
 *
 * Guest RAM layout (4 KiB pages):
 *   0-7   guest -> host ring (header + 7 pages)
 *   8-15  host -> guest ring
 *   16-47 NIC receive buffer (GPADL 0x100)
 *   48-55 NIC send buffer (GPADL 0x101)
 *   56-255 scratch: data buffers the guest points at
 */
#ifndef HVSHIM_TESTS_FUZZ_DEVICES_FUZZ_DEV_H
#define HVSHIM_TESTS_FUZZ_DEVICES_FUZZ_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmbus/devices/blk.h"
#include "vmbus/devices/netvsc.h"
#include "vmbus/devices/storvsc.h"
#include "vmbus/memview.h"
#include "vmbus/ring.h"
#include "vmbus/server.h"

#define FD_RAM_PAGES 256u
#define FD_RAM_SIZE (FD_RAM_PAGES * 4096u)
#define FD_RECV_PAGE 16u
#define FD_RECV_PAGES 32u
#define FD_SEND_PAGE 48u
#define FD_SEND_PAGES 8u
#define FD_SCRATCH_PAGE 56u
#define FD_SCRATCH_PAGES (FD_RAM_PAGES - FD_SCRATCH_PAGE)

#define FD_CHECK(cond) do {                                                   \
    if (!(cond)) {                                                           \
        fprintf(stderr, "device contract broken: %s (%s:%d)\n", #cond,        \
                __FILE__, __LINE__);                                         \
        abort();                                                             \
    }                                                                        \
} while (0)

enum fd_kind { FD_NIC, FD_SCSI };

struct fdev {
    uint8_t *ram;
    int memfd;
    struct vmbus_memview_flat view;
    struct vmbus_server *srv;
    uint64_t now;
    uint32_t nconns;
    uint32_t conns[64];
    uint32_t relid, conn_id;
    bool open;
    struct vmbus_ring tx;         /* guest writes (guest -> host) */
    struct vmbus_ring rx;         /* guest reads (host -> guest) */
    /* the device */
    struct netvsc *nic;
    int peer;                     /* NIC: the network end of the socketpair */
    struct storvsc *scsi;
    struct blk_dev *disk0, *disk2;
    /* last message posted by the host */
    uint8_t msg[240];
    uint32_t msg_size;
};

/* Fresh server, device and open channel. */
struct fdev *fd_start(enum fd_kind kind);
void fd_stop(struct fdev *d);

/* A GPADL of `pages` consecutive pages from `first`; true if created. */
bool fd_gpadl(struct fdev *d, uint32_t handle, uint32_t first, uint32_t pages);

/* Guest writes a packet (ext in the header area) and signals. */
int fd_send(struct fdev *d, uint16_t type, uint16_t flags, uint64_t trans_id, const void *ext,
            uint32_t ext_len, const void *data, uint32_t len);
/* Guest reads one host packet into buf: data length, or -1 if none. */
int fd_recv(struct fdev *d, struct vmbus_packet *pkt, void *buf, uint32_t len);
/* Due timers and device wakes. */
void fd_run(struct fdev *d);

static inline uint8_t *fd_page(struct fdev *d, uint32_t page)
{
    return d->ram + (size_t)page * 4096u;
}

/* Little-endian cursor over the input. */
struct fd_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fd_u8(struct fd_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fd_u16(struct fd_in *in)
{
    uint16_t lo = fd_u8(in);
    return (uint16_t)(lo | fd_u8(in) << 8);
}

static inline uint32_t fd_u32(struct fd_in *in)
{
    uint32_t lo = fd_u16(in);
    return lo | (uint32_t)fd_u16(in) << 16;
}

static inline size_t fd_bytes(struct fd_in *in, void *dst, size_t len)
{
    size_t n = len < in->n ? len : in->n;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)dst)[i] = in->p[i];
    in->p += n;
    in->n -= n;
    return n;
}

/* A GPA-direct header (ext) for up to 4 ranges chosen by the input:
 * mostly inside scratch, sometimes raw page numbers. Returns its length. */
uint32_t fd_gpa_ext(struct fd_in *in, uint8_t *ext, uint32_t cap);

#endif /* HVSHIM_TESTS_FUZZ_DEVICES_FUZZ_DEV_H */
