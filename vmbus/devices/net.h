/* SPDX-License-Identifier: MIT */
/*
 * The NIC's host side: a non-blocking packet file descriptor (one Ethernet
 * frame per read or write: a tap device, or a SOCK_SEQPACKET/SOCK_DGRAM
 * socket) and a small poll thread that tells the device when frames are
 * waiting. The device reads and writes the fd itself, on the server
 * thread, straight from and into guest memory (readv/writev).
 *
 * Poll protocol: the thread waits for the fd to become readable, sets
 * "ready", calls notify (the device wakes its channel) and then waits to be
 * re-armed. The device reads until EAGAIN (or until it has no room) and
 * re-arms once it saw EAGAIN, so a busy queue costs no thread hand-offs.
 */
#ifndef HVSHIM_VMBUS_DEVICES_NET_H
#define HVSHIM_VMBUS_DEVICES_NET_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct net_backend {
    int fd;
    bool own_fd;
    char ifname[IF_NAMESIZE];     /* tap name, "" for other fds */
    /* poll thread */
    int ev_rearm, ev_stop;        /* eventfds */
    pthread_t thread;
    bool running;
    uint32_t ready;               /* atomic: readable since last take */
    void (*notify)(void *ctx);
    void *ctx;
};

/* Wrap a packet fd (made non-blocking). own: close it with the backend. */
struct net_backend *net_backend_from_fd(int fd, bool own);

struct net_tap_options {
    const char *name;             /* created if absent, attached if it exists */
    const char *bridge;           /* NULL: not bridged */
    uint32_t mtu;                 /* 0: leave it */
};

/* Create or attach a tap device, set its MTU, bring it up, join the
 * bridge. NULL with a reason in why (e.g. no /dev/net/tun, EPERM). */
struct net_backend *net_tap_open(const struct net_tap_options *opt, char *why, size_t why_len);

/* Start the poll thread; notify runs on it. 0 or -errno. */
int net_backend_start(struct net_backend *b, void (*notify)(void *ctx), void *ctx);
/* The device saw EAGAIN: poll again. */
void net_backend_rearm(struct net_backend *b);
/* Whether the thread reported readability since the last call (then the
 * thread waits for a rearm). */
bool net_backend_take_ready(struct net_backend *b);

/* One frame: bytes read, -EAGAIN when empty, other -errno. Frames larger
 * than the iovecs are truncated (the return value says how much landed). */
ssize_t net_backend_recv(struct net_backend *b, const struct iovec *iov, int n);
/* One frame: bytes written or -errno (-EAGAIN: the queue is full). */
ssize_t net_backend_send(struct net_backend *b, const struct iovec *iov, int n);

/* Stop the thread, close the fd (if owned), free. */
void net_backend_close(struct net_backend *b);

#endif /* HVSHIM_VMBUS_DEVICES_NET_H */
