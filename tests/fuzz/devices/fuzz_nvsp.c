/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the synthetic NIC through the VMBus server. The guest sends
 * fuzzed NVSP messages (inline and GPA-direct), RNDIS control and data
 * messages from fuzzed guest memory, completions with fuzzed transaction
 * ids; the network sends fuzzed frames; the link flaps. Host packets are
 * read back and checked (transfer-page ranges inside the receive buffer).
 *
 * Input: byte 0 bit 0 = run Linux's bring-up first (NVSP 6.1, both
 * buffers, RNDIS INIT, packet filter). Then ops (u8 % 9):
 *   0 type:u8 flags:u8 id:u16 body[36]      NVSP message, inline
 *   1 chan:u8 sec:u8 size:u16 ranges          SEND_RNDIS_PKT, GPA-direct
 *   2 page:u8 off:u16 len:u8 bytes            write guest memory (buffers, scratch)
 *   3 pick:u8 [id:u64]                        complete a transfer-page packet
 *   4 n:u8                                    guest reads up to n host packets
 *   5 mine:u8 len:u16 bytes                   a frame from the network
 *   6 ms:u8                                   time passes
 *   7                                         link flap
 *   8 kind:u8 oid:u32 len:u8 bytes            RNDIS control message from scratch
 */
#include <string.h>
#include <sys/socket.h>

#include "tests/fuzz/devices/fuzz_dev.h"
#include "vmbus/devices/nvsp.h"
#include "vmbus/devices/options.h"
#include "vmbus/devices/rndis.h"
#include "vmbus/packet.h"

#define MAX_XFERS 64u

static const uint32_t nvsp_types[] = {
    NVSP_MSG_INIT, NVSP_MSG2_SEND_NDIS_CONFIG, NVSP_MSG1_SEND_NDIS_VERSION,
    NVSP_MSG1_SEND_RECV_BUF, NVSP_MSG1_SEND_SEND_BUF, NVSP_MSG1_REVOKE_RECV_BUF,
    NVSP_MSG1_REVOKE_SEND_BUF, NVSP_MSG1_SEND_RNDIS_PKT, NVSP_MSG5_SUBCHANNEL,
    NVSP_MSG4_SWITCH_DATA_PATH, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE,
};

struct state {
    struct fdev *d;
    uint64_t xfers[MAX_XFERS];
    uint32_t nxfers;
    uint64_t next_id;
};

static void nvsp(struct state *s, const struct nvsp_msg *m, bool comp)
{
    fd_send(s->d, VMBUS_PKT_DATA_INBAND, comp ? VMBUS_PACKET_FLAG_COMPLETION_REQUESTED : 0,
            s->next_id++, NULL, 0, m, sizeof(*m));
}

/* An RNDIS control message placed in scratch and sent like Linux does. */
static void control(struct state *s, const uint8_t *msg, uint32_t len)
{
    uint8_t *p = fd_page(s->d, FD_SCRATCH_PAGE);
    memcpy(p + 64, msg, len);
    uint8_t ext[24] = { 0 };
    uint32_t one = 1, off = 64;
    uint64_t pfn = FD_SCRATCH_PAGE;
    memcpy(ext + 4, &one, 4);
    memcpy(ext + 8, &len, 4);
    memcpy(ext + 12, &off, 4);
    memcpy(ext + 16, &pfn, 8);
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.channel_type = NVSP_CHANNEL_CONTROL;
    m.rndis_pkt.section_index = NVSP_NO_SECTION;
    fd_send(s->d, VMBUS_PKT_DATA_USING_GPA_DIRECT, VMBUS_PACKET_FLAG_COMPLETION_REQUESTED,
            s->next_id++, ext, sizeof(ext), &m, sizeof(m));
}

static void drain(struct state *s, uint32_t max)
{
    static uint8_t buf[16384];
    for (uint32_t i = 0; i < max; i++) {
        struct vmbus_packet pkt;
        if (fd_recv(s->d, &pkt, buf, sizeof(buf)) < 0)
            break;
        if (pkt.type == VMBUS_PKT_DATA_USING_XFER_PAGES) {
            uint16_t pageset;
            uint32_t n;
            const struct vmbus_xfer_page_range *r;
            FD_CHECK(vmbus_packet_xfer_pages(&pkt, &pageset, &n, &r));
            FD_CHECK(n >= 1 && n <= 64);
            for (uint32_t k = 0; k < n; k++) {
                struct vmbus_xfer_page_range one;
                memcpy(&one, &r[k], sizeof(one));
                /* Inside the largest buffer the guest could have given. */
                FD_CHECK(one.byte_offset < FD_RECV_PAGES * 4096u);
                FD_CHECK(one.byte_count <= FD_RECV_PAGES * 4096u - one.byte_offset);
            }
            if (s->nxfers < MAX_XFERS)
                s->xfers[s->nxfers++] = pkt.trans_id;
        } else {
            FD_CHECK(pkt.type == VMBUS_PKT_COMP);
        }
    }
    uint8_t junk[2048];
    while (recv(s->d->peer, junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
}

static void complete(struct state *s, uint64_t id)
{
    uint32_t c[2] = { NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, NVSP_STATUS_SUCCESS };
    fd_send(s->d, VMBUS_PKT_COMP, 0, id, NULL, 0, c, sizeof(c));
}

static void linux_bringup(struct state *s)
{
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG_INIT;
    m.init.min_version = m.init.max_version = NVSP_VERSION_61;
    nvsp(s, &m, true);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG2_SEND_NDIS_CONFIG;
    m.ndis_config.mtu = 1514;
    nvsp(s, &m, false);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RECV_BUF;
    m.send_buf.gpadl = 0x100;
    m.send_buf.id = NVSP_RECV_BUF_ID;
    nvsp(s, &m, true);
    m.type = NVSP_MSG1_SEND_SEND_BUF;
    m.send_buf.gpadl = 0x101;
    m.send_buf.id = 0;
    nvsp(s, &m, true);
    uint32_t init[6] = { RNDIS_MSG_INIT, 24, 1, 1, 0, 0x4000 };
    control(s, (const uint8_t *)init, sizeof(init));
    uint32_t set[8] = { RNDIS_MSG_SET, 32, 2, OID_GEN_CURRENT_PACKET_FILTER, 4, 20, 0, 0x0D };
    control(s, (const uint8_t *)set, sizeof(set));
    drain(s, 64);
    for (uint32_t i = 0; i < s->nxfers; i++)
        complete(s, s->xfers[i]);
    s->nxfers = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fd_in in = { data, size };
    struct state s = { .d = fd_start(FD_NIC), .next_id = 1 };
    FD_CHECK(fd_gpadl(s.d, 0x100, FD_RECV_PAGE, FD_RECV_PAGES));
    FD_CHECK(fd_gpadl(s.d, 0x101, FD_SEND_PAGE, FD_SEND_PAGES));
    if (fd_u8(&in) & 1)
        linux_bringup(&s);
    uint8_t mac[6];
    nic_mac_derive("fuzz", mac);
    bool link = true;
    for (int steps = 0; in.n && steps < 500; steps++) {
        switch (fd_u8(&in) % 9) {
        case 0: {
            struct nvsp_msg m;
            uint8_t t = fd_u8(&in);
            uint8_t flags = fd_u8(&in);
            uint16_t id = fd_u16(&in);
            memset(&m, 0, sizeof(m));
            fd_bytes(&in, m.body, sizeof(m.body));
            m.type = t < 0xF0 ? nvsp_types[t % (sizeof(nvsp_types) / 4)] : t;
            fd_send(s.d, VMBUS_PKT_DATA_INBAND, flags & 1, id, NULL, 0, &m,
                    flags & 2 ? 1 + (flags >> 2) % 40 : sizeof(m));
            break;
        }
        case 1: {
            struct nvsp_msg m;
            memset(&m, 0, sizeof(m));
            m.type = NVSP_MSG1_SEND_RNDIS_PKT;
            m.rndis_pkt.channel_type = fd_u8(&in) & 1;
            uint8_t sec = fd_u8(&in);
            m.rndis_pkt.section_index = sec == 0xFF ? NVSP_NO_SECTION
                                        : sec >= 0xF0 ? fd_u32(&in) : sec % 7;
            m.rndis_pkt.section_size = fd_u16(&in) % 7000;
            uint8_t ext[512];
            uint32_t elen = fd_gpa_ext(&in, ext, sizeof(ext));
            fd_send(s.d, elen > 8 ? VMBUS_PKT_DATA_USING_GPA_DIRECT : VMBUS_PKT_DATA_INBAND,
                    VMBUS_PACKET_FLAG_COMPLETION_REQUESTED, s.next_id++,
                    elen > 8 ? ext : NULL, elen > 8 ? elen : 0, &m, sizeof(m));
            break;
        }
        case 2: {
            uint32_t page = FD_RECV_PAGE + fd_u8(&in) % (FD_RAM_PAGES - FD_RECV_PAGE);
            uint32_t off = fd_u16(&in) % 4096u;
            uint32_t len = fd_u8(&in);
            if (page == FD_RAM_PAGES - 1 && off + len > 4096)
                len = 4096 - off;
            fd_bytes(&in, fd_page(s.d, page) + off, len);
            break;
        }
        case 3: {
            uint8_t pick = fd_u8(&in);
            if (pick < 0xF0 && s.nxfers) {
                uint32_t i = pick % s.nxfers;
                complete(&s, s.xfers[i]);
                s.xfers[i] = s.xfers[--s.nxfers];
            } else {
                uint64_t id = fd_u32(&in);
                id |= (uint64_t)fd_u32(&in) << 32;
                complete(&s, id);
            }
            break;
        }
        case 4:
            drain(&s, fd_u8(&in));
            break;
        case 5: {
            uint8_t f[1700];
            uint8_t mine = fd_u8(&in);
            uint32_t len = fd_u16(&in) % sizeof(f);
            memset(f, 0, sizeof(f));
            fd_bytes(&in, f, len);
            if (mine & 1 && len >= 6)
                memcpy(f, mac, 6);
            if (len)
                send(s.d->peer, f, len, MSG_DONTWAIT);
            vmbus_channel_wake(netvsc_channel(s.d->nic));
            fd_run(s.d);
            break;
        }
        case 6:
            s.d->now += (uint64_t)fd_u8(&in) * 1000000ull;
            fd_run(s.d);
            break;
        case 7:
            link = !link;
            netvsc_set_link(s.d->nic, link);
            fd_run(s.d);
            break;
        case 8: {
            static const uint32_t kinds[] = { RNDIS_MSG_INIT, RNDIS_MSG_QUERY, RNDIS_MSG_SET,
                                              RNDIS_MSG_KEEPALIVE, RNDIS_MSG_HALT,
                                              RNDIS_MSG_RESET, RNDIS_MSG_PACKET };
            uint8_t msg[300];
            uint8_t k = fd_u8(&in);
            uint32_t oid = fd_u32(&in);
            uint32_t len = 28 + fd_u8(&in);
            memset(msg, 0, sizeof(msg));
            fd_bytes(&in, msg + 8, len - 8);
            uint32_t type = kinds[k % 7];
            memcpy(msg, &type, 4);
            memcpy(msg + 4, &len, 4);
            if (!(k & 0x80))
                memcpy(msg + 12, &oid, 4);
            control(&s, msg, len);
            break;
        }
        }
    }
    drain(&s, 100000);
    fd_stop(s.d);
    return 0;
}
