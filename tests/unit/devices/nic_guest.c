/* SPDX-License-Identifier: MIT */
/* Guest side of the synthetic NIC for tests (see nic_guest.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/devices/nic_guest.h"

static const struct vmbus_guid nic_guid = VMBUS_GUID_NIC;

void nv_bringup(struct nv *t)
{
    t->relid = dh_bringup(t->h, &nic_guid, &t->c, NV_RING_PAGES);
    t->next_id = 1;
}

/* Next host packet (whole), waiting in real time for backend threads. */
bool next_packet(struct nv *t, uint8_t *buf, uint32_t *len, int tries)
{
    for (int i = 0; i < tries; i++) {
        dh_pump(t->h);
        if (dh_recv(t->h, &t->c, buf, 8192, len))
            return true;
        vh_wait_wake(t->h, __atomic_load_n(&t->h->wakes, __ATOMIC_ACQUIRE), 5);
    }
    return false;
}

const struct vmbus_packet_desc *desc_of(const uint8_t *buf)
{
    return (const struct vmbus_packet_desc *)(const void *)buf;
}

/* Wait for the completion of trans_id; other packets are kept. */
struct nvsp_msg wait_comp(struct nv *t, uint64_t id)
{
    uint8_t buf[8192];
    uint32_t len;
    for (int i = 0; i < 100; i++) {
        assert_true(next_packet(t, buf, &len, 200));
        const struct vmbus_packet_desc *d = desc_of(buf);
        if (d->type == VMBUS_PKT_COMP && d->trans_id == id) {
            struct nvsp_msg m;
            assert_true(nvsp_decode(buf + d->offset8 * 8u, len - d->offset8 * 8u, &m));
            /* INIT_COMPLETE needs >= 28 bytes in Linux's eyes. */
            assert_true(len - d->offset8 * 8u >= 28);
            return m;
        }
        assert_true(t->npending < 16);
        memcpy(t->pending[t->npending], buf, len);
        t->pending_len[t->npending++] = len;
    }
    fail_msg("no completion");
    struct nvsp_msg none = { 0 };
    return none;
}

struct nvsp_msg nvsp_call(struct nv *t, const struct nvsp_msg *m)
{
    uint64_t id = t->next_id++;
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND,
                             VMBUS_PACKET_FLAG_COMPLETION_REQUESTED, id, NULL, 0, m, sizeof(*m)),
                     0);
    return wait_comp(t, id);
}

void nvsp_post(struct nv *t, const struct nvsp_msg *m)
{
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_DATA_INBAND, 0, 0, NULL, 0, m, sizeof(*m)),
                     0);
    dh_pump(t->h);
}

/* netvsc_connect_vsp + netvsc_init_buf. Returns the negotiated version. */
uint32_t linux_connect(struct nv *t, uint32_t recv_bytes, uint32_t send_bytes)
{
    static const uint32_t versions[] = { NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
                                         NVSP_VERSION_4, NVSP_VERSION_2, NVSP_VERSION_1 };
    struct nvsp_msg m;
    uint32_t v = 0;
    for (size_t i = 0; i < 6 && !v; i++) {
        memset(&m, 0, sizeof(m));
        m.type = NVSP_MSG_INIT;
        m.init.min_version = m.init.max_version = versions[i];
        struct nvsp_msg r = nvsp_call(t, &m);
        assert_int_equal(r.type, NVSP_MSG_INIT_COMPLETE);
        if (r.init_complete.status == NVSP_STATUS_SUCCESS) {
            assert_int_equal(r.init_complete.negotiated_version, versions[i]);
            v = versions[i];
        }
    }
    assert_true(v != 0);
    t->version = v;
    if (v != NVSP_VERSION_1) {
        memset(&m, 0, sizeof(m));
        m.type = NVSP_MSG2_SEND_NDIS_CONFIG;
        m.ndis_config.mtu = 1514;
        m.ndis_config.capabilities = 1u << 3;
        nvsp_post(t, &m);
    }
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_NDIS_VERSION;
    m.ndis_version.major = 6;
    m.ndis_version.minor = v <= NVSP_VERSION_4 ? 1 : 30;
    nvsp_post(t, &m);

    /* Receive buffer */
    t->recv_bytes = recv_bytes;
    t->recv_gpa = vh_alloc_pages(t->h, recv_bytes / 4096);
    assert_int_equal(vh_gpadl(t->h, t->relid, 0x100, t->recv_gpa, recv_bytes / 4096), 0);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RECV_BUF;
    m.send_buf.gpadl = 0x100;
    m.send_buf.id = NVSP_RECV_BUF_ID;
    struct nvsp_msg r = nvsp_call(t, &m);
    assert_int_equal(r.type, NVSP_MSG1_SEND_RECV_BUF_COMPLETE);
    assert_int_equal(r.recv_buf_complete.status, NVSP_STATUS_SUCCESS);
    assert_int_equal(r.recv_buf_complete.num_sections, 1);
    assert_int_equal(r.recv_buf_complete.section.offset, 0);
    t->sub_size = r.recv_buf_complete.section.sub_alloc_size;
    t->nsubs = r.recv_buf_complete.section.num_sub_allocs;
    assert_true(t->sub_size >= 68);
    assert_true((uint64_t)t->sub_size * t->nsubs <= recv_bytes);

    /* Send buffer */
    t->send_bytes = send_bytes;
    t->send_gpa = vh_alloc_pages(t->h, send_bytes / 4096);
    assert_int_equal(vh_gpadl(t->h, t->relid, 0x101, t->send_gpa, send_bytes / 4096), 0);
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_SEND_BUF;
    m.send_buf.gpadl = 0x101;
    r = nvsp_call(t, &m);
    assert_int_equal(r.type, NVSP_MSG1_SEND_SEND_BUF_COMPLETE);
    assert_int_equal(r.send_buf_complete.status, NVSP_STATUS_SUCCESS);
    t->section_size = r.send_buf_complete.section_size;
    assert_true(t->section_size >= 68);   /* below fails Linux's probe */
    return v;
}


bool take_xfer(struct nv *t, struct xfer *x, int tries)
{
    uint8_t buf[8192];
    uint32_t len;
    if (t->npending) {
        memcpy(buf, t->pending[0], t->pending_len[0]);
        len = t->pending_len[0];
        memmove(t->pending[0], t->pending[1], (size_t)(t->npending - 1) * sizeof(t->pending[0]));
        memmove(t->pending_len, t->pending_len + 1, (t->npending - 1) * sizeof(uint32_t));
        t->npending--;
    } else if (!next_packet(t, buf, &len, tries)) {
        return false;
    }
    const struct vmbus_packet_desc *d = desc_of(buf);
    if (d->type != VMBUS_PKT_DATA_USING_XFER_PAGES) {
        /* A late TX completion: not what the test waits for. */
        assert_int_equal(d->type, VMBUS_PKT_COMP);
        return take_xfer(t, x, tries);
    }
    assert_true(d->flags & VMBUS_PACKET_FLAG_COMPLETION_REQUESTED);
    struct vmbus_xfer_page_header h;
    memcpy(&h, buf + 16, sizeof(h));
    assert_int_equal(h.pageset_id, NVSP_RECV_BUF_ID);
    assert_true(16 + 8 + h.range_count * 8u <= d->offset8 * 8u);
    assert_true(h.range_count <= 64);
    struct nvsp_msg m;
    assert_true(nvsp_decode(buf + d->offset8 * 8u, len - d->offset8 * 8u, &m));
    assert_int_equal(m.type, NVSP_MSG1_SEND_RNDIS_PKT);
    x->trans_id = d->trans_id;
    x->channel_type = m.rndis_pkt.channel_type;
    x->count = h.range_count;
    for (uint32_t i = 0; i < h.range_count; i++) {
        struct vmbus_xfer_page_range r;
        memcpy(&r, buf + 24 + i * 8, 8);
        assert_true(r.byte_offset <= t->recv_bytes && r.byte_count <= t->recv_bytes - r.byte_offset);
        assert_true(r.byte_count <= t->sub_size);
        x->off[i] = r.byte_offset;
        x->len[i] = r.byte_count;
    }
    return true;
}

void complete_xfer(struct nv *t, uint64_t id)
{
    struct { uint32_t type, status; } c = { NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, NVSP_STATUS_SUCCESS };
    assert_int_equal(dh_send(t->h, &t->c, VMBUS_PKT_COMP, 0, id, NULL, 0, &c, sizeof(c)), 0);
    dh_pump(t->h);
}

uint8_t *recv_at(struct nv *t, uint32_t off)
{
    return vh_ptr(t->h, t->recv_gpa + off);
}

/* An RNDIS control request as rndis_filter_send_request sends it: from
 * guest memory, GPA-direct, NVSP channel type 1. Returns the response
 * (copied) and its length; completes the transfer. */
uint32_t rndis_call(struct nv *t, const uint8_t *req, uint32_t len, uint8_t *resp)
{
    uint64_t gpa = vh_alloc_pages(t->h, 1) + 64;
    memcpy(vh_ptr(t->h, gpa), req, len);
    struct nvsp_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NVSP_MSG1_SEND_RNDIS_PKT;
    m.rndis_pkt.channel_type = NVSP_CHANNEL_CONTROL;
    m.rndis_pkt.section_index = NVSP_NO_SECTION;
    struct dh_range r = { gpa, len };
    uint64_t id = t->next_id++;
    assert_int_equal(dh_send_gpa(t->h, &t->c, id, &r, 1, &m, sizeof(m)), 0);
    struct nvsp_msg c = wait_comp(t, id);
    assert_int_equal(c.type, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
    assert_int_equal(c.rndis_pkt_complete.status, NVSP_STATUS_SUCCESS);
    struct xfer x;
    if (!take_xfer(t, &x, 200))
        return 0;
    assert_int_equal(x.channel_type, NVSP_CHANNEL_CONTROL);
    assert_int_equal(x.count, 1);
    memcpy(resp, recv_at(t, x.off[0]), x.len[0]);
    uint32_t mlen;
    memcpy(&mlen, resp + 4, 4);
    assert_true(mlen <= x.len[0]);
    complete_xfer(t, x.trans_id);
    return mlen;
}

uint32_t nv_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

void nv_wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* QUERY as rndis_filter_query_device builds it; returns info length or -1
 * (Linux's checks on the answer applied). */
int rndis_query(struct nv *t, uint32_t oid, uint8_t *info, uint32_t info_max)
{
    uint8_t req[28 + 160] = { 0 };
    uint32_t len = 28;
    nv_wr32(req, RNDIS_MSG_QUERY);
    nv_wr32(req + 8, ++t->req_id);
    nv_wr32(req + 12, oid);
    nv_wr32(req + 20, 20);
    if (oid == OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) {
        uint32_t size = t->version >= NVSP_VERSION_5 ? NDIS_OFFLOAD_SIZE
                        : t->version >= NVSP_VERSION_4 ? NDIS_OFFLOAD_SIZE_6_1
                                                       : NDIS_OFFLOAD_SIZE_6_0;
        nv_wr32(req + 16, size);
        req[28] = NDIS_OBJECT_TYPE_OFFLOAD;
        len += size;
    }
    nv_wr32(req + 4, len);
    uint8_t resp[512];
    uint32_t rlen = rndis_call(t, req, len, resp);
    assert_int_equal(nv_rd32(resp), RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
    assert_int_equal(nv_rd32(resp + 8), t->req_id);
    uint32_t ilen = nv_rd32(resp + 16), ioff = nv_rd32(resp + 20);
    if (rlen - 8 < 16 || ilen > info_max || ioff < 16 || rlen - 8 < ioff ||
        rlen - 8 - ioff < ilen)
        return -1;
    memcpy(info, resp + 8 + ioff, ilen);
    return (int)ilen;
}

uint32_t rndis_set(struct nv *t, uint32_t oid, const void *val, uint32_t n)
{
    uint8_t req[256] = { 0 };
    nv_wr32(req, RNDIS_MSG_SET);
    nv_wr32(req + 4, 28 + n);
    nv_wr32(req + 8, ++t->req_id);
    nv_wr32(req + 12, oid);
    nv_wr32(req + 16, n);
    nv_wr32(req + 20, 20);
    memcpy(req + 28, val, n);
    uint8_t resp[512];
    uint32_t rlen = rndis_call(t, req, 28 + n, resp);
    assert_int_equal(rlen, 16);
    assert_int_equal(nv_rd32(resp), RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
    assert_int_equal(nv_rd32(resp + 8), t->req_id);
    return nv_rd32(resp + 12);
}

/* rndis_filter_device_add, then the filter set on ifup. */
void linux_rndis(struct nv *t)
{
    uint8_t req[24] = { 0 }, resp[512], info[512];
    nv_wr32(req, RNDIS_MSG_INIT);
    nv_wr32(req + 4, 24);
    nv_wr32(req + 8, ++t->req_id);
    nv_wr32(req + 12, 1);
    nv_wr32(req + 20, 0x4000);
    uint32_t rlen = rndis_call(t, req, 24, resp);
    assert_int_equal(rlen, 52);
    assert_int_equal(nv_rd32(resp), RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
    assert_int_equal(nv_rd32(resp + 12), RNDIS_STATUS_SUCCESS);
    assert_int_equal(nv_rd32(resp + 16), 1);                  /* major */
    assert_true(nv_rd32(resp + 32) >= 1);                     /* max packets per message */
    assert_true(nv_rd32(resp + 40) <= 12);                    /* alignment shift */

    assert_int_equal(rndis_query(t, OID_GEN_MAXIMUM_FRAME_SIZE, info, 4), 4);
    assert_int_equal(nv_rd32(info), t->mtu);
    /* Mandatory: the MAC. */
    assert_int_equal(rndis_query(t, OID_802_3_PERMANENT_ADDRESS, info, 6), 6);
    assert_memory_equal(info, t->mac, 6);
    int n = rndis_query(t, OID_GEN_FRIENDLY_NAME, info, 512);
    assert_true(n >= 2);
    assert_int_equal(info[0], 'N');
    /* Mandatory: offload capabilities, header type 0xA7, revision >= 1,
     * size between the 6.0 and full layouts and within what was asked. */
    n = rndis_query(t, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, info, NDIS_OFFLOAD_SIZE);
    assert_true(n >= (int)NDIS_OFFLOAD_SIZE_6_0);
    assert_int_equal(info[0], NDIS_OBJECT_TYPE_OFFLOAD);
    assert_true(info[1] >= 1);
    uint32_t osize = info[2] | info[3] << 8;
    assert_true(osize >= NDIS_OFFLOAD_SIZE_6_0 && osize <= NDIS_OFFLOAD_SIZE);
    assert_int_equal(info[1], t->version >= NVSP_VERSION_5 ? 3 : t->version >= NVSP_VERSION_4 ? 2 : 1);
    /* Mandatory: offload parameters must be accepted. */
    uint8_t params[40] = { NDIS_OBJECT_TYPE_DEFAULT, 3, 40 };
    params[4] = 1;                                         /* ip_v4_csum disabled */
    assert_int_equal(rndis_set(t, OID_TCP_OFFLOAD_PARAMETERS, params,
                               t->version <= NVSP_VERSION_4 ? 22 : sizeof(params)),
                     RNDIS_STATUS_SUCCESS);
    assert_int_equal(rndis_query(t, OID_GEN_MEDIA_CONNECT_STATUS, info, 4), 4);
    assert_int_equal(nv_rd32(info), 0);                       /* connected */
    if (t->version >= NVSP_VERSION_5) {
        assert_int_equal(rndis_query(t, OID_GEN_LINK_SPEED, info, 4), 4);
        assert_int_equal(nv_rd32(info), 100000000);           /* 10 Gb/s in 100 bps */
        uint8_t rss[18] = { 0 };
        n = rndis_query(t, OID_GEN_RECEIVE_SCALE_CAPABILITIES, rss, sizeof(rss));
        assert_int_equal(n, 18);
        assert_true(nv_rd32(rss + 12) < 2);                   /* single queue */
    }
    /* An OID nobody implements: Linux's length checks fail it. */
    assert_int_equal(rndis_query(t, 0x00FF00FF, info, 512), -1);
    /* ifup */
    uint32_t filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST |
                      NDIS_PACKET_TYPE_ALL_MULTICAST;
    assert_int_equal(rndis_set(t, OID_GEN_CURRENT_PACKET_FILTER, &filter, 4),
                     RNDIS_STATUS_SUCCESS);
    assert_int_equal(netvsc_packet_filter(t->n), filter);
}

uint32_t build_packet_msg(uint8_t *p, const uint8_t *frame, uint32_t flen, uint32_t pad,
                                 int vlan)
{
    uint32_t ppi = vlan >= 0 ? 16u : 0u;
    memset(p, 0, 44 + ppi);
    nv_wr32(p, RNDIS_MSG_PACKET);
    nv_wr32(p + 4, 44 + ppi + flen + pad);
    nv_wr32(p + 8, 36 + ppi);
    nv_wr32(p + 12, flen);
    if (vlan >= 0) {
        nv_wr32(p + 28, 36);                                  /* ppi offset */
        nv_wr32(p + 32, ppi);
        nv_wr32(p + 44, 16);                                  /* size */
        nv_wr32(p + 48, RNDIS_PPI_8021Q);
        nv_wr32(p + 52, 12);                                  /* value offset */
        nv_wr32(p + 56, (uint32_t)vlan);
    }
    if (frame)
        memcpy(p + 44 + ppi, frame, flen);
    return 44 + ppi + flen + pad;
}

