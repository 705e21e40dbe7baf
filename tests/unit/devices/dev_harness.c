/* SPDX-License-Identifier: MIT */
/* Guest side for the device tests (see dev_harness.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/unit/devices/dev_harness.h"

uint32_t dh_bringup(struct vh *h, const struct vmbus_guid *if_type, struct vh_chan *c,
                    uint32_t ring_pages)
{
    uint32_t tries;
    assert_int_equal(vh_connect(h, &tries), VMBUS_VERSION_WIN10_V5_3);
    struct vmbus_msg_offer_channel offers[16];
    uint32_t n = vh_request_offers(h, offers, 16);
    for (uint32_t i = 0; i < n; i++) {
        if (memcmp(&offers[i].if_type, if_type, sizeof(*if_type)) == 0) {
            assert_int_equal(offers[i].is_dedicated_interrupt, 1);
            assert_int_equal(vh_open(h, c, offers[i].child_relid, offers[i].connection_id,
                                     0xE1E10 + offers[i].child_relid * 16, ring_pages,
                                     ring_pages, 0),
                             0);
            return offers[i].child_relid;
        }
    }
    fail_msg("no offer of the requested class");
    return 0;
}

static uint32_t avail_write(struct vh_ring *r)
{
    uint32_t w = VH_WRITE_INDEX(r), rd = VH_READ_INDEX(r);
    return w >= rd ? r->size - (w - rd) : rd - w;
}

static uint32_t put(struct vh_ring *r, uint32_t pos, const void *src, uint32_t n)
{
    uint8_t *data = r->hdr + HV_PAGE_SIZE;
    uint32_t first = r->size - pos < n ? r->size - pos : n;
    memcpy(data + pos, src, first);
    memcpy(data, (const uint8_t *)src + first, n - first);
    return (pos + n) % r->size;
}

static uint32_t get(struct vh_ring *r, uint32_t pos, void *dst, uint32_t n)
{
    const uint8_t *data = r->hdr + HV_PAGE_SIZE;
    uint32_t first = r->size - pos < n ? r->size - pos : n;
    memcpy(dst, data + pos, first);
    memcpy((uint8_t *)dst + first, data, n - first);
    return (pos + n) % r->size;
}

int dh_send(struct vh *h, struct vh_chan *c, uint16_t type, uint16_t flags, uint64_t trans_id,
            const void *ext, uint32_t ext_len, const void *data, uint32_t len)
{
    struct vh_ring *r = &c->out;
    assert_true(ext_len % 8 == 0);
    uint32_t padded = (len + 7) & ~7u;
    uint32_t total = 16 + ext_len + padded + 8;
    if (avail_write(r) <= total)
        return -1;
    uint32_t old = VH_WRITE_INDEX(r);
    struct vmbus_packet_desc d = {
        .type = type,
        .offset8 = (uint16_t)((16 + ext_len) / 8),
        .len8 = (uint16_t)((16 + ext_len + padded) / 8),
        .flags = flags,
        .trans_id = trans_id,
    };
    uint32_t pos = put(r, old, &d, sizeof(d));
    if (ext_len)
        pos = put(r, pos, ext, ext_len);
    if (len)
        pos = put(r, pos, data, len);
    static const uint8_t zero[8];
    if (padded - len)
        pos = put(r, pos, zero, padded - len);
    uint64_t trailer = (uint64_t)old << 32;
    pos = put(r, pos, &trailer, 8);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    VH_WRITE_INDEX(r) = pos;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (VH_INT_MASK(r) == 0 && VH_READ_INDEX(r) == old)
        vh_signal(h, c->relid);
    return 0;
}

int dh_send_gpa_pfns(struct vh *h, struct vh_chan *c, uint64_t trans_id, uint32_t offset,
                     uint32_t len, const uint64_t *pfns, uint32_t npfns, const void *data,
                     uint32_t dlen)
{
    uint32_t ext_len = 8 + 8 + npfns * 8;
    uint8_t *ext = calloc(1, ext_len);
    uint32_t one = 1;
    memcpy(ext + 4, &one, 4);
    memcpy(ext + 8, &len, 4);
    memcpy(ext + 12, &offset, 4);
    memcpy(ext + 16, pfns, npfns * 8u);
    int rc = dh_send(h, c, VMBUS_PKT_DATA_USING_GPA_DIRECT, VMBUS_PACKET_FLAG_COMPLETION_REQUESTED,
                     trans_id, ext, ext_len, data, dlen);
    free(ext);
    return rc;
}

int dh_send_gpa(struct vh *h, struct vh_chan *c, uint64_t trans_id, const struct dh_range *rg,
                uint32_t n, const void *data, uint32_t len)
{
    uint8_t ext[8192];
    uint32_t pos = 8;
    memset(ext, 0, 8);
    memcpy(ext + 4, &n, 4);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = (uint32_t)(rg[i].gpa & (HV_PAGE_SIZE - 1));
        uint32_t pages = (off + rg[i].len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;
        assert_true(pos + 8 + pages * 8 <= sizeof(ext));
        memcpy(ext + pos, &rg[i].len, 4);
        memcpy(ext + pos + 4, &off, 4);
        pos += 8;
        for (uint32_t p = 0; p < pages; p++) {
            uint64_t pfn = (rg[i].gpa >> HV_PAGE_SHIFT) + p;
            memcpy(ext + pos, &pfn, 8);
            pos += 8;
        }
    }
    return dh_send(h, c, VMBUS_PKT_DATA_USING_GPA_DIRECT, VMBUS_PACKET_FLAG_COMPLETION_REQUESTED,
                   trans_id, ext, pos, data, len);
}

int dh_recv(struct vh *h, struct vh_chan *c, void *buf, uint32_t buflen, uint32_t *len)
{
    struct vh_ring *r = &c->in;
    uint32_t w = VH_WRITE_INDEX(r), rd = VH_READ_INDEX(r);
    uint32_t avail = w >= rd ? w - rd : r->size - rd + w;
    if (avail < sizeof(struct vmbus_packet_desc))
        return 0;
    struct vmbus_packet_desc d;
    get(r, rd, &d, sizeof(d));
    uint32_t plen = d.len8 * 8u;
    assert_true(plen >= 16 && d.offset8 * 8u >= 16 && d.offset8 * 8u <= plen);
    assert_true(plen + 8 <= avail);
    assert_true(plen <= buflen);
    get(r, rd, buf, plen);
    uint64_t trailer;
    get(r, (rd + plen) % r->size, &trailer, 8);
    assert_int_equal(trailer >> 32, rd);
    *len = plen;
    uint32_t start = rd;
    rd = (rd + plen + 8) % r->size;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    VH_READ_INDEX(r) = rd;
    /* hv_pkt_iter_close: wake a host writer waiting for room. */
    if (VH_FEATURES(r) & VMBUS_RING_FEATURE_PENDING_SEND_SZ) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint32_t pending = VH_PENDING(r);
        if (pending) {
            uint32_t curr = avail_write(r);
            uint32_t bytes_read = rd >= start ? rd - start : r->size - start + rd;
            if (!(curr - bytes_read > pending) && curr > pending)
                vh_signal(h, c->relid);
        }
    }
    return 1;
}

void dh_pump(struct vh *h)
{
    vh_run(h);
}

void dh_pattern(void *p, uint32_t len, uint32_t seed)
{
    uint8_t *b = p;
    uint32_t x = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
}

bool dh_check_pattern(const void *p, uint32_t len, uint32_t seed)
{
    uint8_t *want = malloc(len ? len : 1);
    dh_pattern(want, len, seed);
    bool ok = memcmp(want, p, len) == 0;
    free(want);
    return ok;
}
