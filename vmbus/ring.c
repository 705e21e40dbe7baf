/* SPDX-License-Identifier: MIT */
/* Ring buffer reader (guest -> host) and writer (host -> guest). */
#include <string.h>

#include "vmbus/ring.h"

/* The control words at the start of the header page, naturally aligned
 * (the page is), so they can be accessed atomically. */
struct ring_ctl {
    uint32_t write_index;
    uint32_t read_index;
    uint32_t interrupt_mask;
    uint32_t pending_send_sz;
    uint32_t reserved[12];
    uint32_t feature_bits;
};

_Static_assert(offsetof(struct ring_ctl, interrupt_mask) ==
               offsetof(struct vmbus_ring_header, interrupt_mask), "ring ctl layout");
_Static_assert(offsetof(struct ring_ctl, pending_send_sz) ==
               offsetof(struct vmbus_ring_header, pending_send_sz), "ring ctl layout");
_Static_assert(offsetof(struct ring_ctl, feature_bits) ==
               offsetof(struct vmbus_ring_header, feature_bits), "ring ctl layout");

static inline struct ring_ctl *ctl(const struct vmbus_ring *r)
{
    return (struct ring_ctl *)(void *)r->base;
}

static inline uint8_t *data(const struct vmbus_ring *r)
{
    return r->base + VMBUS_RING_HEADER_SIZE;
}

static inline uint32_t load(uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void full_barrier(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline bool index_ok(const struct vmbus_ring *r, uint32_t i)
{
    return i < r->size && (i & 7u) == 0;
}

/* Distance from b forward to a, modulo the data size. */
static inline uint32_t ring_dist(const struct vmbus_ring *r, uint32_t a, uint32_t b)
{
    return a >= b ? a - b : r->size - b + a;
}

/* Free bytes as a writer computes them (empty ring: all of it). */
static inline uint32_t ring_free(const struct vmbus_ring *r, uint32_t w, uint32_t rd)
{
    return w >= rd ? r->size - (w - rd) : rd - w;
}

/* Wrap-aware copies of n <= size bytes at pos < size: the span is checked
 * once; the common case is a single memcpy (inlined for constant n). */
static void copy_from_wrap(const struct vmbus_ring *r, uint32_t pos, void *dst, uint32_t n)
{
    uint32_t first = r->size - pos;
    memcpy(dst, data(r) + pos, first);
    memcpy((uint8_t *)dst + first, data(r), n - first);
}

static inline void copy_from(const struct vmbus_ring *r, uint32_t pos, void *dst, uint32_t n)
{
    if (__builtin_expect(n <= r->size - pos, 1))
        memcpy(dst, data(r) + pos, n);
    else
        copy_from_wrap(r, pos, dst, n);
}

static uint32_t copy_to_wrap(const struct vmbus_ring *r, uint32_t pos, const void *src,
                             uint32_t n)
{
    uint32_t first = r->size - pos;
    memcpy(data(r) + pos, src, first);
    memcpy(data(r), (const uint8_t *)src + first, n - first);
    return n - first;
}

static inline uint32_t copy_to(const struct vmbus_ring *r, uint32_t pos, const void *src,
                               uint32_t n)
{
    if (__builtin_expect(n < r->size - pos, 1)) {
        memcpy(data(r) + pos, src, n);
        return pos + n;
    }
    return copy_to_wrap(r, pos, src, n);
}

static int ring_init(struct vmbus_ring *r, void *mem, uint32_t bytes)
{
    memset(r, 0, sizeof(*r));
    if (!mem || bytes < VMBUS_RING_MIN_BYTES || bytes % HV_PAGE_SIZE)
        return VMBUS_RING_BROKEN;
    r->base = mem;
    r->size = bytes - VMBUS_RING_HEADER_SIZE;
    return VMBUS_RING_OK;
}

/* ---------------------------------------------------------------- in */

int vmbus_ring_in_init(struct vmbus_ring *r, void *mem, uint32_t bytes)
{
    if (ring_init(r, mem, bytes))
        return VMBUS_RING_BROKEN;
    uint32_t rd = load(&ctl(r)->read_index);
    if (!index_ok(r, rd))
        return VMBUS_RING_BROKEN;
    r->priv = r->published = r->guest_seen = rd;
    store(&ctl(r)->interrupt_mask, 0);
    return VMBUS_RING_OK;
}

int64_t vmbus_ring_in_avail(const struct vmbus_ring *r)
{
    uint32_t w = load(&ctl(r)->write_index);
    if (!index_ok(r, w))
        return -1;
    return ring_dist(r, w, r->priv);
}

int vmbus_ring_in_peek(struct vmbus_ring *r, void *buf, uint32_t buflen,
                       struct vmbus_packet *pkt, uint32_t *consumed)
{
    /* Reuse the write index seen last while it still covers unread
     * packets (writers publish whole packets): the shared line is read
     * only when that runs out. */
    int64_t avail = ring_dist(r, r->guest_seen, r->priv);
    if (avail == 0) {
        uint32_t w = load(&ctl(r)->write_index);
        if (!index_ok(r, w))
            return VMBUS_RING_BROKEN;
        r->guest_seen = w;
        avail = ring_dist(r, w, r->priv);
        if (avail == 0)
            return VMBUS_RING_EMPTY;
    }
    /* Writers publish whole packets: anything shorter than a descriptor
     * and its trailer is a broken ring. */
    if (avail < (int64_t)(sizeof(struct vmbus_packet_desc) + VMBUS_PACKET_TRAILER_SIZE))
        return VMBUS_RING_BROKEN;

    struct vmbus_packet_desc desc;
    copy_from(r, r->priv, &desc, sizeof(desc));
    uint32_t len = (uint32_t)desc.len8 * 8u;
    uint32_t off = (uint32_t)desc.offset8 * 8u;
    if (len < sizeof(desc) || off < sizeof(desc) || off > len ||
        (int64_t)len + VMBUS_PACKET_TRAILER_SIZE > avail)
        return VMBUS_RING_BROKEN;

    *consumed = len + VMBUS_PACKET_TRAILER_SIZE;
    if (len > buflen)
        return VMBUS_RING_TOO_BIG;

    copy_from(r, r->priv, buf, len);
    /* The guest may have changed the descriptor since we read it: the copy
     * gets the values that were checked. */
    memcpy(buf, &desc, sizeof(desc));

    pkt->type = desc.type;
    pkt->flags = desc.flags;
    pkt->trans_id = desc.trans_id;
    pkt->raw = buf;
    pkt->raw_len = len;
    pkt->data = (const uint8_t *)buf + off;
    pkt->data_len = len - off;
    return VMBUS_RING_OK;
}

void vmbus_ring_in_advance(struct vmbus_ring *r, uint32_t consumed)
{
    uint32_t next = r->priv + consumed;
    r->priv = next >= r->size ? next - r->size : next;
}

bool vmbus_ring_in_publish(struct vmbus_ring *r)
{
    uint32_t old = r->published, now = r->priv;
    if (old == now)
        return false;
    store(&ctl(r)->read_index, now);
    r->published = now;
    full_barrier();

    if (!(load(&ctl(r)->feature_bits) & VMBUS_RING_FEATURE_PENDING_SEND_SZ))
        return false;
    uint32_t pending = load(&ctl(r)->pending_send_sz);
    if (!pending)
        return false;
    uint32_t w = load(&ctl(r)->write_index);
    if (!index_ok(r, w))
        return false;  /* the next read reports the broken ring */
    /* Signal only on the crossing from "not enough" to "enough" free
     * space; the guest may have written meanwhile (old_free < 0), which
     * errs towards a harmless extra signal. */
    int64_t new_free = ring_free(r, w, now);
    int64_t old_free = new_free - ring_dist(r, now, old);
    return old_free <= pending && new_free > pending;
}

bool vmbus_ring_in_set_mask(struct vmbus_ring *r, bool masked)
{
    store(&ctl(r)->interrupt_mask, masked ? 1u : 0u);
    if (masked)
        return false;
    full_barrier();
    return vmbus_ring_in_avail(r) != 0;
}

/* --------------------------------------------------------------- out */

int vmbus_ring_out_init(struct vmbus_ring *r, void *mem, uint32_t bytes)
{
    if (ring_init(r, mem, bytes))
        return VMBUS_RING_BROKEN;
    uint32_t w = load(&ctl(r)->write_index);
    uint32_t rd = load(&ctl(r)->read_index);
    if (!index_ok(r, w) || !index_ok(r, rd))
        return VMBUS_RING_BROKEN;
    r->priv = r->published = w;
    r->guest_seen = rd;
    store(&ctl(r)->pending_send_sz, 0);
    /* Tell the reader we rely on pending_send_sz when the ring fills. */
    __atomic_fetch_or(&ctl(r)->feature_bits, VMBUS_RING_FEATURE_PENDING_SEND_SZ,
                      __ATOMIC_RELEASE);
    return VMBUS_RING_OK;
}

/* The guest's read index, checked: it may only move forward from where we
 * last saw it, and never past what we have published. */
static int out_read_index(struct vmbus_ring *r, uint32_t *rd)
{
    uint32_t v = load(&ctl(r)->read_index);
    if (!index_ok(r, v) ||
        ring_dist(r, v, r->guest_seen) > ring_dist(r, r->published, r->guest_seen))
        return VMBUS_RING_BROKEN;
    r->guest_seen = v;
    *rd = v;
    return VMBUS_RING_OK;
}

int vmbus_ring_out_fits(struct vmbus_ring *r, uint64_t bytes)
{
    uint32_t rd;
    if (out_read_index(r, &rd))
        return -1;
    /* Never fill the ring completely: full and empty must differ. */
    return ring_free(r, r->priv, rd) > bytes;
}

int vmbus_ring_out_write_more(struct vmbus_ring *r, uint16_t type, uint16_t flags,
                              uint64_t trans_id, const void *ext, uint32_t ext_len,
                              const struct vmbus_ring_seg *segs, uint32_t nsegs)
{
    uint64_t payload = 0;
    for (uint32_t i = 0; i < nsegs; i++)
        payload += segs[i].len;
    uint64_t total = vmbus_ring_packet_bytes(ext_len, payload);
    uint64_t len8 = (total - VMBUS_PACKET_TRAILER_SIZE) / 8;
    if (ext_len % 8 || total >= r->size || len8 > UINT16_MAX)
        return VMBUS_RING_TOO_BIG;

    /* Space only grows as the guest reads: look at its read index only
     * when what we knew of it is not enough. */
    if (ring_free(r, r->priv, r->guest_seen) <= total) {
        uint32_t rd;
        if (out_read_index(r, &rd))
            return VMBUS_RING_BROKEN;
        if (ring_free(r, r->priv, rd) <= total)
            return VMBUS_RING_FULL;
    }

    uint32_t start = r->priv;
    uint32_t padded = (uint32_t)((payload + 7) & ~7ull);
    struct vmbus_packet_desc desc = {
        .type = type,
        .offset8 = (uint16_t)((sizeof(desc) + ext_len) / 8),
        .len8 = (uint16_t)len8,
        .flags = flags,
        .trans_id = trans_id,
    };
    uint64_t trailer = (uint64_t)start << 32;
    const uint64_t zero = 0;
    uint32_t pos;
    if (__builtin_expect(total < r->size - start, 1)) {
        /* The whole packet fits before the end: plain stores and one
         * memcpy per segment. The payload area is 8-aligned, so zeroing
         * its last qword first leaves the padding zero. */
        uint8_t *p = data(r) + start;
        memcpy(p, &desc, sizeof(desc));
        p += sizeof(desc);
        if (ext_len)
            memcpy(p, ext, ext_len);
        p += ext_len;
        if (padded)
            memcpy(p + padded - 8, &zero, 8);
        for (uint32_t i = 0; i < nsegs; i++) {
            if (segs[i].len)
                memcpy(p, segs[i].p, segs[i].len);
            p += segs[i].len;
        }
        memcpy(data(r) + start + total - VMBUS_PACKET_TRAILER_SIZE, &trailer, 8);
        pos = start + (uint32_t)total;
    } else {
        pos = copy_to(r, start, &desc, sizeof(desc));
        if (ext_len)
            pos = copy_to(r, pos, ext, ext_len);
        for (uint32_t i = 0; i < nsegs; i++)
            if (segs[i].len)
                pos = copy_to(r, pos, segs[i].p, segs[i].len);
        if (padded != payload)
            pos = copy_to(r, pos, &zero, padded - (uint32_t)payload);
        pos = copy_to(r, pos, &trailer, sizeof(trailer));
    }
    r->priv = pos;
    return VMBUS_RING_OK;
}

int vmbus_ring_out_publish(struct vmbus_ring *r)
{
    uint32_t old = r->published;
    if (old == r->priv)
        return 0;
    store(&ctl(r)->write_index, r->priv);
    r->published = r->priv;
    full_barrier();
    /* The read index is needed for the signal decision anyway: check it. */
    uint32_t mask = load(&ctl(r)->interrupt_mask);
    uint32_t rd;
    if (out_read_index(r, &rd))
        return VMBUS_RING_BROKEN;
    /* Signal only an empty -> non-empty transition the reader can miss. */
    return mask == 0 && rd == old;
}

int vmbus_ring_out_write(struct vmbus_ring *r, uint16_t type, uint16_t flags,
                         uint64_t trans_id, const void *ext, uint32_t ext_len,
                         const struct vmbus_ring_seg *segs, uint32_t nsegs, bool *signal)
{
    *signal = false;
    int rc = vmbus_ring_out_write_more(r, type, flags, trans_id, ext, ext_len, segs, nsegs);
    if (rc != VMBUS_RING_OK)
        return rc;
    rc = vmbus_ring_out_publish(r);
    if (rc < 0)
        return rc;
    *signal = rc == 1;
    return VMBUS_RING_OK;
}

int vmbus_ring_out_wait_for(struct vmbus_ring *r, uint32_t bytes)
{
    store(&ctl(r)->pending_send_sz, bytes);
    if (!bytes)
        return 1;
    full_barrier();
    return vmbus_ring_out_fits(r, bytes);
}
