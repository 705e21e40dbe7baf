/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture for the VMBus fuzz targets: a small guest RAM (memfd, so
 * scattered maps work), a server whose host callbacks check the contract
 * (message sizes and types, signals for existing channels, connection ids
 * registered once and removed exactly), a loopback device and the four
 * integration services, and a guest side built from the library's own
 * ring code (writer on the guest-to-host ring, reader on the other).
 * Any contract breach aborts, which libFuzzer reports.
 */
#ifndef HVSHIM_TESTS_FUZZ_VMBUS_BUS_H
#define HVSHIM_TESTS_FUZZ_VMBUS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/ic/services.h"
#include "vmbus/memview.h"
#include "vmbus/ring.h"
#include "vmbus/server.h"

#define FB_RAM_PAGES 160u
#define FB_RAM_SIZE (FB_RAM_PAGES * 4096u)
#define FB_NR_VPS 2u

struct fb_chan {
    bool open;
    uint32_t relid;
    struct vmbus_ring tx;        /* guest writes here (guest -> host ring) */
    struct vmbus_ring rx;        /* guest reads here (host -> guest ring) */
};

struct fbus {
    uint8_t *ram;
    struct vmbus_memview_flat view;
    struct vmbus_server *srv;
    uint64_t now;
    uint64_t ref_time;
    bool busy;                   /* SynIC slot full: posts return BUSY */
    uint32_t nconns;
    uint32_t conns[4096];
    uint32_t posted;
    uint8_t last_msg[240];
    uint32_t last_size;
    struct vmbus_channel *echo;
    struct vmbus_ic_set ics;
};

/* Set up (once per process) and start a fresh server with the devices. */
struct fbus *fb_start(void);
/* Destroy the server and check that everything was given back. */
void fb_stop(struct fbus *b);
/* Replace the server by a fresh one with the same devices (for load). */
void fb_restart(struct fbus *b);
void fb_add_devices(struct fbus *b);

/* Guest actions */
int fb_post(struct fbus *b, uint32_t vp, uint32_t conn, const void *msg, uint32_t size);
/* Linux-style bring-up: contact (5.3), offers, a GPADL and an open for
 * each offered channel (rings of pages_each pages per direction, placed
 * from page first_page on). Returns how many channels opened. */
uint32_t fb_linux_bringup(struct fbus *b, struct fb_chan *chans, uint32_t max,
                          uint32_t pages_each);
/* Guest writes a packet and signals if the ring says so. */
int fb_guest_send(struct fbus *b, struct fb_chan *c, uint16_t type, uint64_t trans_id,
                  const void *data, uint32_t len);
/* Guest reads one packet into buf; returns data length or -1. */
int fb_guest_recv(struct fbus *b, struct fb_chan *c, struct vmbus_packet *pkt, void *buf,
                  uint32_t buflen);
void fb_run(struct fbus *b);

/* A little-endian cursor over the fuzz input. */
struct fb_in {
    const uint8_t *p;
    size_t n;
};

static inline bool fb_more(const struct fb_in *in)
{
    return in->n > 0;
}

static inline uint8_t fb_u8(struct fb_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fb_u16(struct fb_in *in)
{
    uint16_t lo = fb_u8(in);
    return (uint16_t)(lo | fb_u8(in) << 8);
}

static inline uint32_t fb_u32(struct fb_in *in)
{
    uint32_t lo = fb_u16(in);
    return lo | (uint32_t)fb_u16(in) << 16;
}

/* Take up to len bytes; returns how many were available. */
static inline size_t fb_bytes(struct fb_in *in, void *dst, size_t len)
{
    size_t n = len < in->n ? len : in->n;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)dst)[i] = in->p[i];
    in->p += n;
    in->n -= n;
    return n;
}

#endif /* HVSHIM_TESTS_FUZZ_VMBUS_BUS_H */
