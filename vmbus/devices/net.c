/* SPDX-License-Identifier: MIT */
/* Packet fd backend, its poll thread, and tap devices (see net.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmbus/devices/net.h"

struct net_backend *net_backend_from_fd(int fd, bool own)
{
    struct net_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        free(b);
        return NULL;
    }
    b->fd = fd;
    b->own_fd = own;
    b->ev_rearm = b->ev_stop = -1;
    return b;
}

/* ------------------------------------------------------------------ tap */

static int ifreq_ioctl(int sock, unsigned long req, struct ifreq *ifr)
{
    return ioctl(sock, req, ifr) < 0 ? -errno : 0;
}

struct net_backend *net_tap_open(const struct net_tap_options *opt, char *why, size_t why_len)
{
    if (!opt->name || !*opt->name || strlen(opt->name) >= IF_NAMESIZE) {
        snprintf(why, why_len, "tap name missing or longer than %d characters",
                 IF_NAMESIZE - 1);
        return NULL;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "/dev/net/tun: %s", strerror(errno));
        return NULL;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt->name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(why, why_len, "tap %s: %s", opt->name, strerror(errno));
        close(fd);
        return NULL;
    }
    struct net_backend *b = net_backend_from_fd(fd, true);
    if (!b) {
        snprintf(why, why_len, "out of memory");
        close(fd);
        return NULL;
    }
    snprintf(b->ifname, sizeof(b->ifname), "%s", ifr.ifr_name);

    /* MTU, up, bridge: through an ordinary socket's interface ioctls. */
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = sock < 0 ? -errno : 0;
    const char *step = "socket";
    /* Only what differs is changed: a tap prepared by an administrator
     * (persistent, up, right MTU) is attached without privileges. */
    if (!rc && opt->mtu) {
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", b->ifname);
        step = "set MTU";
        rc = ifreq_ioctl(sock, SIOCGIFMTU, &ifr);
        if (!rc && ifr.ifr_mtu != (int)opt->mtu) {
            ifr.ifr_mtu = (int)opt->mtu;
            rc = ifreq_ioctl(sock, SIOCSIFMTU, &ifr);
        }
    }
    if (!rc) {
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", b->ifname);
        step = "bring up";
        rc = ifreq_ioctl(sock, SIOCGIFFLAGS, &ifr);
        if (!rc && !(ifr.ifr_flags & IFF_UP)) {
            ifr.ifr_flags |= IFF_UP;
            rc = ifreq_ioctl(sock, SIOCSIFFLAGS, &ifr);
        }
    }
    if (!rc && opt->bridge && *opt->bridge) {
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt->bridge);
        ifr.ifr_ifindex = (int)if_nametoindex(b->ifname);
        step = "join bridge";
        rc = ifr.ifr_ifindex ? ifreq_ioctl(sock, SIOCBRADDIF, &ifr) : -ENODEV;
        /* Already a port of that bridge (an attached, persistent tap). */
        if (rc == -EBUSY)
            rc = 0;
    }
    if (sock >= 0)
        close(sock);
    if (rc) {
        snprintf(why, why_len, "tap %s: %s: %s", b->ifname, step, strerror(-rc));
        net_backend_close(b);
        return NULL;
    }
    return b;
}

/* ---------------------------------------------------------- poll thread */

static void *poll_thread(void *arg)
{
    struct net_backend *b = arg;
    bool armed = true;
    for (;;) {
        struct pollfd p[2] = {
            { .fd = b->ev_stop, .events = POLLIN },
            { .fd = armed ? b->fd : b->ev_rearm, .events = POLLIN },
        };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break;
        if (!p[1].revents)
            continue;
        if (armed) {
            /* Readable (or the fd died: the device's read reports it). */
            armed = false;
            __atomic_store_n(&b->ready, 1u, __ATOMIC_RELEASE);
            b->notify(b->ctx);
        } else {
            uint64_t v;
            if (read(b->ev_rearm, &v, sizeof(v)) == (ssize_t)sizeof(v))
                armed = true;
        }
    }
    return NULL;
}

int net_backend_start(struct net_backend *b, void (*notify)(void *ctx), void *ctx)
{
    if (b->running)
        return -EBUSY;
    b->notify = notify;
    b->ctx = ctx;
    b->ev_rearm = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    b->ev_stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->ev_rearm < 0 || b->ev_stop < 0)
        return -errno;
    int rc = pthread_create(&b->thread, NULL, poll_thread, b);
    if (rc)
        return -rc;
    b->running = true;
    return 0;
}

void net_backend_rearm(struct net_backend *b)
{
    if (!b->running)
        return;
    uint64_t one = 1;
    if (write(b->ev_rearm, &one, sizeof(one)) < 0) {
        /* The counter cannot overflow at one write per EAGAIN. */
    }
}

bool net_backend_take_ready(struct net_backend *b)
{
    return __atomic_exchange_n(&b->ready, 0u, __ATOMIC_ACQ_REL) != 0;
}

ssize_t net_backend_recv(struct net_backend *b, const struct iovec *iov, int n)
{
    for (;;) {
        ssize_t r = readv(b->fd, iov, n);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

ssize_t net_backend_send(struct net_backend *b, const struct iovec *iov, int n)
{
    for (;;) {
        ssize_t r = writev(b->fd, iov, n);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

void net_backend_close(struct net_backend *b)
{
    if (!b)
        return;
    if (b->running) {
        uint64_t one = 1;
        if (write(b->ev_stop, &one, sizeof(one)) < 0) {
            /* eventfd writes of 1 do not fail */
        }
        pthread_join(b->thread, NULL);
    }
    if (b->ev_rearm >= 0)
        close(b->ev_rearm);
    if (b->ev_stop >= 0)
        close(b->ev_stop);
    if (b->own_fd)
        close(b->fd);
    free(b);
}
