/* SPDX-License-Identifier: MIT */
/*
 * The tap backend on real tap devices, inside a network namespace this
 * test creates (so nothing on the host changes): creation with MTU, up and
 * bridge; attaching to a persistent tap; frames both ways with the poll
 * thread's ready/rearm protocol; and the whole NIC (wired from an option
 * string) talking to the tap. Needs root and /dev/net/tun; skipped with the
 * reason otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/devices/nic_guest.h"
#include "vmbus/devices/net.h"
#include "vmbus/devices/options.h"

#define TEST_ETHERTYPE 0x88B5          /* IEEE local experimental */

static const char *skip_reason;

static int group_setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip_reason = "not running as root";
    else if (access("/dev/net/tun", R_OK | W_OK) != 0)
        skip_reason = "no usable /dev/net/tun";
    else if (unshare(CLONE_NEWNET) != 0)
        skip_reason = "cannot create a network namespace (unshare CLONE_NEWNET)";
    return 0;
}

#define NEED_TAP()                                                       \
    do {                                                                 \
        if (skip_reason) {                                               \
            print_message("skipped: %s\n", skip_reason);                 \
            skip();                                                      \
        }                                                                \
    } while (0)

static int ctl(unsigned long req, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int rc = ioctl(s, req, ifr) < 0 ? -errno : 0;
    close(s);
    return rc;
}

static int if_mtu(const char *name)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    return ctl(SIOCGIFMTU, &ifr) ? -1 : ifr.ifr_mtu;
}

static int if_flags(const char *name)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    return ctl(SIOCGIFFLAGS, &ifr) ? -1 : ifr.ifr_flags;
}

static void if_up(const char *name)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    assert_int_equal(ctl(SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    assert_int_equal(ctl(SIOCSIFFLAGS, &ifr), 0);
}

static void add_bridge(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(ioctl(s, SIOCBRADDBR, name), 0);
    close(s);
    if_up(name);
}

/* A raw socket on the host side of the tap: what it sends, the tap fd
 * reads; what the tap fd writes, it receives. */
static int packet_socket(const char *ifname)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    assert_true(s >= 0);
    struct sockaddr_ll a = { 0 };
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = (int)if_nametoindex(ifname);
    assert_true(a.sll_ifindex > 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    return s;
}

static void make_frame(uint8_t *f, uint32_t len, const uint8_t *dst, uint32_t seed)
{
    dh_pattern(f, len, seed);
    memcpy(f, dst, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x07", 6);
    f[12] = TEST_ETHERTYPE >> 8;
    f[13] = TEST_ETHERTYPE & 0xFF;
}

/* Next frame of our ethertype arriving on the raw socket (the kernel's
 * own IPv6 chatter on a fresh interface is skipped). */
static ssize_t packet_recv(int s, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 2000; i++) {
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(s, buf, cap, 0, (struct sockaddr *)&from, &fl);
        if (r < 0) {
            usleep(1000);
            continue;
        }
        if (from.sll_pkttype == PACKET_OUTGOING || r < 14)
            continue;
        if ((buf[12] << 8 | buf[13]) == TEST_ETHERTYPE)
            return r;
    }
    return -1;
}

/* ------------------------------------------------------------------ tests */

static void test_tap_create(void **state)
{
    (void)state;
    NEED_TAP();
    add_bridge("hvbr0");
    char why[256];
    struct net_tap_options o = { .name = "hvt0", .bridge = "hvbr0", .mtu = 1400 };
    struct net_backend *b = net_tap_open(&o, why, sizeof(why));
    if (!b)
        fail_msg("tap: %s", why);
    assert_string_equal(b->ifname, "hvt0");
    assert_int_equal(if_mtu("hvt0"), 1400);
    assert_true(if_flags("hvt0") & IFF_UP);
    /* Already a bridge port: adding it again is refused as busy. */
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "hvbr0");
    ifr.ifr_ifindex = (int)if_nametoindex("hvt0");
    assert_int_equal(ctl(SIOCBRADDIF, &ifr), -EBUSY);
    net_backend_close(b);
    /* Created by us, not persistent: gone with the fd. */
    assert_int_equal(if_nametoindex("hvt0"), 0);

    /* Refusals carry the reason. */
    struct net_tap_options bad = { .name = "hvt9", .bridge = "nosuchbr" };
    assert_null(net_tap_open(&bad, why, sizeof(why)));
    assert_non_null(strstr(why, "join bridge"));
    assert_int_equal(if_nametoindex("hvt9"), 0);   /* nothing left behind */
    struct net_tap_options longname = { .name = "averyveryverylongname" };
    assert_null(net_tap_open(&longname, why, sizeof(why)));
    assert_non_null(strstr(why, "longer than"));
    struct net_tap_options badmtu = { .name = "hvt8", .mtu = 20 };
    assert_null(net_tap_open(&badmtu, why, sizeof(why)));
    assert_non_null(strstr(why, "set MTU"));
}

static void test_tap_attach_persistent(void **state)
{
    (void)state;
    NEED_TAP();
    /* As `ip tuntap add hvp0 mode tap` leaves it. */
    int fd = open("/dev/net/tun", O_RDWR);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "hvp0");
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
    assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
    close(fd);
    char why[256];
    struct net_tap_options o = { .name = "hvp0" };
    struct net_backend *b = net_tap_open(&o, why, sizeof(why));
    if (!b)
        fail_msg("attach: %s", why);
    /* A second user of the same tap is refused while we hold it. */
    assert_null(net_tap_open(&o, why, sizeof(why)));
    assert_non_null(strstr(why, "hvp0"));
    net_backend_close(b);
    assert_true(if_nametoindex("hvp0") > 0);       /* still there */

    /* Prepared by an administrator (owner, up, MTU): a process without
     * CAP_NET_ADMIN attaches, touching nothing that needs it; asking for
     * another MTU is refused with the step named. */
    fd = open("/dev/net/tun", O_RDWR);
    assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
    assert_int_equal(ioctl(fd, TUNSETOWNER, geteuid()), 0);
    close(fd);
    if_up("hvp0");
    pid_t pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct caps[2];
        if (syscall(SYS_capget, &hdr, caps))
            _exit(2);
        caps[0].effective &= ~(1u << CAP_NET_ADMIN);
        caps[0].permitted &= ~(1u << CAP_NET_ADMIN);
        caps[0].inheritable &= ~(1u << CAP_NET_ADMIN);
        if (syscall(SYS_capset, &hdr, caps))
            _exit(2);
        struct net_tap_options uo = { .name = "hvp0", .mtu = 1500 };
        struct net_backend *ub = net_tap_open(&uo, why, sizeof(why));
        if (!ub) {
            fprintf(stderr, "attach without CAP_NET_ADMIN: %s\n", why);
            _exit(1);
        }
        net_backend_close(ub);
        uo.mtu = 1400;
        if (net_tap_open(&uo, why, sizeof(why)) || !strstr(why, "set MTU"))
            _exit(3);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fd = open("/dev/net/tun", O_RDWR);
    assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
    assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
    close(fd);
    assert_int_equal(if_nametoindex("hvp0"), 0);
}

static uint32_t notified;

static void on_ready(void *ctx)
{
    (void)ctx;
    __atomic_add_fetch(&notified, 1, __ATOMIC_RELEASE);
}

static bool wait_notified(uint32_t seen)
{
    for (int i = 0; i < 2000; i++) {
        if (__atomic_load_n(&notified, __ATOMIC_ACQUIRE) != seen)
            return true;
        usleep(1000);
    }
    return false;
}

static void test_tap_frames_and_poll(void **state)
{
    (void)state;
    NEED_TAP();
    char why[256];
    struct net_tap_options o = { .name = "hvt1" };
    struct net_backend *b = net_tap_open(&o, why, sizeof(why));
    assert_non_null(b);
    int s = packet_socket("hvt1");
    assert_int_equal(net_backend_start(b, on_ready, NULL), 0);
    uint8_t f[1514], got[2048];
    static const uint8_t dst[6] = { 0x00, 0x15, 0x5D, 0xAA, 0xBB, 0xCC };

    /* Host -> tap fd: notified, read once, then empty. */
    uint32_t seen = __atomic_load_n(&notified, __ATOMIC_ACQUIRE);
    make_frame(f, 1514, dst, 1);
    assert_int_equal(send(s, f, 1514, 0), 1514);
    assert_true(wait_notified(seen));
    assert_true(net_backend_take_ready(b));
    assert_false(net_backend_take_ready(b));
    struct iovec iov = { got, sizeof(got) };
    ssize_t r;
    /* The kernel may have queued its own frames first; find ours. */
    do {
        r = net_backend_recv(b, &iov, 1);
    } while (r > 0 && (got[12] << 8 | got[13]) != TEST_ETHERTYPE);
    assert_int_equal(r, 1514);
    assert_memory_equal(got, f, 1514);
    while ((r = net_backend_recv(b, &iov, 1)) > 0)
        ;
    assert_int_equal(r, -EAGAIN);
    /* Without a rearm nothing is reported; after it, the next frame is. */
    seen = __atomic_load_n(&notified, __ATOMIC_ACQUIRE);
    make_frame(f, 60, dst, 2);
    assert_int_equal(send(s, f, 60, 0), 60);
    usleep(20000);
    assert_int_equal(__atomic_load_n(&notified, __ATOMIC_ACQUIRE), seen);
    net_backend_rearm(b);
    assert_true(wait_notified(seen));
    assert_true(net_backend_take_ready(b));

    /* Tap fd -> host, as a frame split over three iovecs (the way the
     * NIC writes straight from guest pages). */
    make_frame(f, 300, dst, 3);
    struct iovec parts[3] = { { f, 10 }, { f + 10, 200 }, { f + 210, 90 } };
    assert_int_equal(net_backend_send(b, parts, 3), 300);
    assert_int_equal(packet_recv(s, got, sizeof(got)), 300);
    assert_memory_equal(got, f, 300);
    close(s);
    net_backend_close(b);
}

/* The NIC from an option string, over a real tap, both directions. */
static void test_nic_over_tap(void **state)
{
    (void)state;
    NEED_TAP();
    char err[256];
    struct nic_config nc;
    assert_int_equal(nic_config_parse("tap=hvt2,mtu=1500", &nc, err, sizeof(err)), 0);
    struct nv *t = calloc(1, sizeof(*t));
    t->h = vh_create(2, 0);
    t->n = netvsc_from_config(t->h->srv, &nc, 0, err, sizeof(err));
    if (!t->n)
        fail_msg("NIC: %s", err);
    nic_mac_derive("hvt2", t->mac);
    t->mtu = 1500;
    nv_bringup(t);
    linux_connect(t, 256 * 1024, 64 * 1024);
    linux_rndis(t);
    int s = packet_socket("hvt2");

    /* Host network -> guest */
    uint8_t f[1514];
    make_frame(f, 1514, t->mac, 11);
    assert_int_equal(send(s, f, 1514, 0), 1514);
    struct xfer x;
    bool found = false;
    for (int i = 0; i < 20 && !found && take_xfer(t, &x, 400); i++) {
        for (uint32_t k = 0; k < x.count; k++) {
            uint8_t *m = recv_at(t, x.off[k]);
            uint32_t doff = nv_rd32(m + 8), dlen = nv_rd32(m + 12);
            if (dlen == 1514 && memcmp(m + 8 + doff, f, 1514) == 0)
                found = true;
        }
        complete_xfer(t, x.trans_id);
    }
    assert_true(found);

    /* Guest -> host network, from a send buffer section. */
    uint8_t g[200];
    static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
    make_frame(g, sizeof(g), peer_mac, 12);
    uint8_t *sec = vh_ptr(t->h, t->send_gpa);
    uint32_t mlen = build_packet_msg(sec, g, sizeof(g), 0, -1);
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.section_index = 0;
    m.rndis_pkt.section_size = mlen;
    assert_int_equal(nvsp_call(t, &m).rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    uint8_t got[2048];
    assert_int_equal(packet_recv(s, got, sizeof(got)), (ssize_t)sizeof(g));
    assert_memory_equal(got, g, sizeof(g));
    close(s);
    vh_destroy(t->h);
    free(t);
    assert_int_equal(if_nametoindex("hvt2"), 0);   /* the NIC closed its tap */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_create),
        cmocka_unit_test(test_tap_attach_persistent),
        cmocka_unit_test(test_tap_frames_and_poll),
        cmocka_unit_test(test_nic_over_tap),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
