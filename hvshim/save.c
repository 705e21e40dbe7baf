/* SPDX-License-Identifier: MIT */
/*
 * Save/restore of partition and VP state as self-describing blobs:
 *
 *   +0  magic "HVSP" (partition) or "HVSV" (VP)
 *   +4  u16 version, u16 reserved (0)
 *   +8  u32 payload length
 *   +12 u32 CRC-32 of the payload
 *   +16 payload: little-endian fields in a fixed order per version
 *
 * Unlike Xen's viridian records these keep SCONTROL, SIEFP, the crash
 * parameters, queued messages and timer state. Loading checks the header,
 * checksum and every field before it changes anything, so a bad blob
 * leaves the partition as it was.
 */
#include "hvshim/internal.h"

#define BLOB_HEADER_SIZE 16u
#define BLOB_VERSION 1u
#define PARTITION_PAYLOAD_SIZE (18u * 8u)
#define QUEUED_MESSAGE_SIZE (8u + HV_MESSAGE_SIZE)
#define VP_FIXED_PAYLOAD_SIZE ((1u + 3u + 3u + HV_SINT_COUNT + 1u + 5u * HV_STIMER_COUNT + 1u) * 8u)
#define VP_MAX_PAYLOAD_SIZE (VP_FIXED_PAYLOAD_SIZE + HV_MSG_QUEUE_DEPTH * QUEUED_MESSAGE_SIZE)

static const uint8_t magic_partition[4] = { 'H', 'V', 'S', 'P' };
static const uint8_t magic_vp[4] = { 'H', 'V', 'S', 'V' };

/* ---------------------------------------------------- byte encoding */

static uint32_t crc32(const uint8_t *d, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_le(uint8_t *d, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        d[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *d, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)d[i] << (8 * i);
    return v;
}

struct writer {
    uint8_t *d;
    size_t at;
};

static void w64(struct writer *w, uint64_t v)
{
    put_le(w->d + w->at, v, 8);
    w->at += 8;
}

struct reader {
    const uint8_t *d;
    size_t at, len;
};

static uint64_t r64(struct reader *r)
{
    uint64_t v;

    /* Callers check lengths before reading; stay in bounds regardless. */
    if (r->len - r->at < 8) {
        r->at = r->len;
        return 0;
    }
    v = get_le(r->d + r->at, 8);
    r->at += 8;
    return v;
}

static void write_header(uint8_t *buf, const uint8_t magic[4], size_t payload_len)
{
    memcpy(buf, magic, 4);
    put_le(buf + 4, BLOB_VERSION, 2);
    put_le(buf + 6, 0, 2);
    put_le(buf + 8, payload_len, 4);
    put_le(buf + 12, crc32(buf + BLOB_HEADER_SIZE, payload_len), 4);
}

/* Checks the header and checksum; on success payload and plen describe the
 * payload. */
static int check_header(const void *buf, size_t len, const uint8_t magic[4],
                        const uint8_t **payload, size_t *plen)
{
    const uint8_t *b = buf;
    uint64_t n;

    if (!buf || len < BLOB_HEADER_SIZE)
        return HV_ERR_TRUNCATED;
    if (memcmp(b, magic, 4) != 0) {
        const uint8_t *other = magic == magic_vp ? magic_partition : magic_vp;
        return memcmp(b, other, 4) == 0 ? HV_ERR_MISMATCH : HV_ERR_CORRUPT;
    }
    if (get_le(b + 4, 2) != BLOB_VERSION)
        return HV_ERR_VERSION;
    if (get_le(b + 6, 2) != 0)
        return HV_ERR_CORRUPT;
    n = get_le(b + 8, 4);
    if (n > len - BLOB_HEADER_SIZE)
        return HV_ERR_TRUNCATED;
    if (crc32(b + BLOB_HEADER_SIZE, (size_t)n) != (uint32_t)get_le(b + 12, 4))
        return HV_ERR_CORRUPT;
    *payload = b + BLOB_HEADER_SIZE;
    *plen = (size_t)n;
    return HV_OK;
}

/* -------------------------------------------------------- partition */

long hv_partition_save(struct hv_partition *p, void *buf, size_t len)
{
    size_t need = BLOB_HEADER_SIZE + PARTITION_PAYLOAD_SIZE;
    struct writer w;
    uint64_t ref;

    if (!buf)
        return (long)need;
    if (len < need)
        return HV_ERR_TRUNCATED;
    w.d = (uint8_t *)buf + BLOB_HEADER_SIZE;
    w.at = 0;
    ref = hv_time_ref_now(p);
    hv_lock(&p->lock);
    w64(&w, p->cfg.features);
    w64(&w, p->cfg.nr_vps);
    w64(&w, p->cfg.tsc_hz);
    w64(&w, ref);
    w64(&w, p->guest_os_id);
    w64(&w, p->hypercall_msr);
    w64(&w, p->reference_tsc_msr);
    w64(&w, p->tsc_sequence);
    for (unsigned i = 0; i < HV_CRASH_PARAMS; i++)
        w64(&w, p->crash_param[i]);
    w64(&w, p->crash_ctl);
    w64(&w, p->reenlightenment_control);
    w64(&w, p->tsc_emulation_control);
    w64(&w, p->tsc_emulation_status);
    w64(&w, p->tsc_invariant_control);
    hv_unlock(&p->lock);
    write_header(buf, magic_partition, w.at);
    return (long)need;
}

struct partition_image {
    uint64_t features, nr_vps, tsc_hz, ref_time, os_id, hypercall, reference_tsc, sequence;
    uint64_t crash[HV_CRASH_PARAMS], crash_ctl;
    uint64_t reenlightenment, emulation_control, emulation_status, invariant;
};

static int decode_partition(const struct hv_partition *p, const uint8_t *d, size_t n,
                            struct partition_image *im)
{
    struct reader r = { d, 0, n };

    if (n != PARTITION_PAYLOAD_SIZE)
        return HV_ERR_CORRUPT;
    im->features = r64(&r);
    im->nr_vps = r64(&r);
    im->tsc_hz = r64(&r);
    im->ref_time = r64(&r);
    im->os_id = r64(&r);
    im->hypercall = r64(&r);
    im->reference_tsc = r64(&r);
    im->sequence = r64(&r);
    for (unsigned i = 0; i < HV_CRASH_PARAMS; i++)
        im->crash[i] = r64(&r);
    im->crash_ctl = r64(&r);
    im->reenlightenment = r64(&r);
    im->emulation_control = r64(&r);
    im->emulation_status = r64(&r);
    im->invariant = r64(&r);

    if (im->features != p->cfg.features || im->nr_vps != p->cfg.nr_vps)
        return HV_ERR_MISMATCH;
    /* 2^62 x 100 ns is over 14,000 years: anything beyond was crafted,
     * and would wrap the guest's clock soon after the restore. */
    if (im->ref_time >= (1ull << 62))
        return HV_ERR_CORRUPT;
    if ((im->hypercall & 0xFFCull) || (im->reference_tsc & HV_PAGE_MSR_RESERVED) ||
        im->sequence > 0xFFFFFFFFull ||
        (im->crash_ctl & ~(HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG)) ||
        (im->reenlightenment & ~HV_REENLIGHTENMENT_VALID_BITS) ||
        (im->emulation_control & ~HV_TSC_EMULATION_ENABLE) ||
        (im->emulation_status & ~HV_TSC_EMULATION_IN_PROGRESS) ||
        (im->invariant & ~HV_TSC_INVARIANT_ENABLE))
        return HV_ERR_CORRUPT;
    if ((im->reenlightenment & HV_REENLIGHTENMENT_ENABLE) &&
        (im->reenlightenment >> HV_REENLIGHTENMENT_TARGET_SHIFT) >= p->cfg.nr_vps)
        return HV_ERR_CORRUPT;
    if ((im->hypercall & HV_PAGE_MSR_ENABLE) && im->os_id == 0)
        return HV_ERR_CORRUPT;
    return HV_OK;
}

int hv_partition_load(struct hv_partition *p, const void *buf, size_t len)
{
    const uint8_t *payload;
    size_t plen;
    struct partition_image im;
    int rc;

    rc = check_header(buf, len, magic_partition, &payload, &plen);
    if (rc != HV_OK)
        return rc;
    rc = decode_partition(p, payload, plen, &im);
    if (rc != HV_OK)
        return rc;
    /* The page's trapping sequence is this host's, not the saving host's. */
    if ((im.hypercall & HV_PAGE_MSR_ENABLE) &&
        p->ops->hypercall_page_fill(p->ctx, im.hypercall & HV_PAGE_MASK) != 0)
        return HV_ERR_MISMATCH;

    hv_lock(&p->lock);
    p->guest_os_id = im.os_id;
    p->hypercall_msr = im.hypercall;
    p->reference_tsc_msr = im.reference_tsc;
    p->tsc_sequence = (uint32_t)im.sequence;
    memcpy(p->crash_param, im.crash, sizeof(im.crash));
    p->crash_ctl = im.crash_ctl;
    p->reenlightenment_control = im.reenlightenment;
    p->tsc_emulation_control = im.emulation_control;
    p->tsc_emulation_status = im.emulation_status;
    p->tsc_invariant_control = im.invariant;
    /* Reference time continues from the saved value on this host's TSC. */
    {
        uint64_t tsc = p->ops->guest_tsc(p->ctx);
        __atomic_store_n(&p->time_seq, p->time_seq + 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        p->ref_offset = (int64_t)(im.ref_time - hv_mul64_hi(tsc, p->tsc_scale));
        p->frozen_ref_time = im.ref_time;
        __atomic_store_n(&p->time_seq, p->time_seq + 1, __ATOMIC_RELEASE);
    }
    hv_unlock(&p->lock);
    hv_time_partition_restored(p);
    return HV_OK;
}

/* --------------------------------------------------------------- VP */

static void put_message(struct writer *w, uint32_t sint, const struct hv_message *m)
{
    uint8_t *d = w->d + w->at;

    put_le(d, sint, 8);
    d += 8;
    put_le(d + 0, m->message_type, 4);
    d[4] = m->payload_size;
    d[5] = m->flags;
    d[6] = d[7] = 0;
    put_le(d + 8, m->sender, 8);
    memcpy(d + 16, m->payload, HV_MESSAGE_PAYLOAD_MAX);
    w->at += QUEUED_MESSAGE_SIZE;
}

/* Queue entries in FIFO order: queue_order holds each used entry's
 * sequence number; lower is older. */
static uint32_t queued_in_order(const struct hv_vp *vp, uint8_t idx[HV_MSG_QUEUE_DEPTH])
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < HV_MSG_QUEUE_DEPTH; i++)
        if (vp->queue[i].used)
            idx[n++] = (uint8_t)i;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && (int32_t)(vp->queue_order[idx[j]] -
                                                vp->queue_order[idx[j - 1]]) < 0; j--) {
            uint8_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return n;
}

long hv_vp_save(struct hv_vp *vp, void *buf, size_t len)
{
    uint8_t idx[HV_MSG_QUEUE_DEPTH];
    struct writer w;
    uint32_t n;
    size_t need;

    hv_lock(&vp->lock);
    n = queued_in_order(vp, idx);
    need = BLOB_HEADER_SIZE + VP_FIXED_PAYLOAD_SIZE + n * QUEUED_MESSAGE_SIZE;
    if (!buf || len < need) {
        hv_unlock(&vp->lock);
        return buf ? HV_ERR_TRUNCATED : (long)(BLOB_HEADER_SIZE + VP_MAX_PAYLOAD_SIZE);
    }
    w.d = (uint8_t *)buf + BLOB_HEADER_SIZE;
    w.at = 0;
    w64(&w, vp->index);
    w64(&w, vp->vp_assist_msr);
    w64(&w, vp->apic_assist_pending);
    w64(&w, vp->apic_assist_vector);
    w64(&w, vp->scontrol);
    w64(&w, vp->siefp);
    w64(&w, vp->simp);
    for (unsigned i = 0; i < HV_SINT_COUNT; i++)
        w64(&w, vp->sint[i]);
    w64(&w, vp->eom_wanted | (uint64_t)vp->post_waiters << 16);
    for (unsigned i = 0; i < HV_STIMER_COUNT; i++) {
        const struct hv_stimer *t = &vp->stimer[i];
        w64(&w, t->config);
        w64(&w, t->count);
        w64(&w, t->expiration);
        w64(&w, t->pending_expiration);
        /* An expiry the host timer reported but nobody handled yet is
         * still pending after restore. */
        w64(&w, t->pending || (__atomic_load_n(&vp->stimer_fired, __ATOMIC_RELAXED) >> i & 1));
    }
    w64(&w, n);
    for (uint32_t i = 0; i < n; i++)
        put_message(&w, vp->queue[idx[i]].sint, &vp->queue[idx[i]].msg);
    hv_unlock(&vp->lock);
    write_header(buf, magic_vp, w.at);
    return (long)need;
}

static bool sint_value_ok(uint64_t v)
{
    if (v & ~HV_SINT_VALID_BITS)
        return false;
    /* A deliverable SINT needs a real vector; masked ones may hold 0. */
    if (!(v & HV_SINT_MASKED) && (v & HV_SINT_VECTOR_MASK) < HV_SINT_MIN_VECTOR)
        return false;
    return true;
}

static int validate_vp(const struct hv_vp *vp, const uint8_t *d, size_t n)
{
    struct reader r = { d, 0, n };
    uint64_t assist, pending, vector, scontrol, siefp, simp, queued;

    if (n < VP_FIXED_PAYLOAD_SIZE)
        return HV_ERR_CORRUPT;
    if (r64(&r) != vp->index)
        return HV_ERR_MISMATCH;
    assist = r64(&r);
    pending = r64(&r);
    vector = r64(&r);
    scontrol = r64(&r);
    siefp = r64(&r);
    simp = r64(&r);
    if ((assist & HV_PAGE_MSR_RESERVED) || pending > 1 || vector > 0xFF ||
        (scontrol & ~HV_SCONTROL_ENABLE))
        return HV_ERR_CORRUPT;
    HV_UNUSED(siefp);   /* bits 1-11 are guest-preserved: any value */
    HV_UNUSED(simp);
    for (unsigned i = 0; i < HV_SINT_COUNT; i++)
        if (!sint_value_ok(r64(&r)))
            return HV_ERR_CORRUPT;
    if (r64(&r) > 0xFFFFFFFFull)   /* eom_wanted | post_waiters << 16 */
        return HV_ERR_CORRUPT;
    for (unsigned i = 0; i < HV_STIMER_COUNT; i++) {
        uint64_t config = r64(&r);
        r64(&r);
        r64(&r);
        r64(&r);
        if ((config & ~HV_STIMER_VALID_BITS) || r64(&r) > 1)
            return HV_ERR_CORRUPT;
        /* XSA-504: an enabled periodic timer with a zero period cannot
         * have been saved by a correct host. */
    }
    queued = r64(&r);
    if (queued > HV_MSG_QUEUE_DEPTH || n != VP_FIXED_PAYLOAD_SIZE + queued * QUEUED_MESSAGE_SIZE)
        return HV_ERR_CORRUPT;
    for (uint64_t i = 0; i < queued; i++) {
        const uint8_t *m = d + r.at;
        uint64_t sint = get_le(m, 8);
        uint32_t type = (uint32_t)get_le(m + 8, 4);
        uint8_t size = m[12];
        if (sint >= HV_SINT_COUNT || type == HVMSG_NONE || size > HV_MESSAGE_PAYLOAD_MAX)
            return HV_ERR_CORRUPT;
        r.at += QUEUED_MESSAGE_SIZE;
    }
    return HV_OK;
}

static void check_periodic_counts(const uint8_t *d, int *rc)
{
    size_t at = (1u + 3u + 3u + HV_SINT_COUNT + 1u) * 8u;
    for (unsigned i = 0; i < HV_STIMER_COUNT; i++, at += 5 * 8) {
        uint64_t config = get_le(d + at, 8), count = get_le(d + at + 8, 8);
        if ((config & HV_STIMER_ENABLE) && (config & HV_STIMER_PERIODIC) && count == 0)
            *rc = HV_ERR_CORRUPT;
    }
}

int hv_vp_load(struct hv_vp *vp, const void *buf, size_t len)
{
    const uint8_t *payload;
    size_t plen;
    struct reader r;
    uint64_t waits, queued;
    int rc;

    rc = check_header(buf, len, magic_vp, &payload, &plen);
    if (rc != HV_OK)
        return rc;
    rc = validate_vp(vp, payload, plen);
    if (rc == HV_OK)
        check_periodic_counts(payload, &rc);
    if (rc != HV_OK)
        return rc;

    /* Everything checked: drop the current mappings and timers, then
     * take the saved state and let each area re-establish its side. */
    hv_stimer_vp_destroy(vp);
    hv_synic_vp_destroy(vp);
    hv_apic_vp_destroy(vp);

    r.d = payload;
    r.at = 0;
    r.len = plen;
    hv_lock(&vp->lock);
    r64(&r);
    vp->vp_assist_msr = r64(&r);
    vp->apic_assist_pending = r64(&r) != 0;
    vp->apic_assist_vector = (uint8_t)r64(&r);
    vp->scontrol = r64(&r);
    vp->siefp = r64(&r);
    vp->simp = r64(&r);
    for (unsigned i = 0; i < HV_SINT_COUNT; i++)
        vp->sint[i] = r64(&r);
    waits = r64(&r);
    vp->eom_wanted = (uint16_t)waits;
    vp->post_waiters = (uint16_t)(waits >> 16);
    for (unsigned i = 0; i < HV_STIMER_COUNT; i++) {
        struct hv_stimer *t = &vp->stimer[i];
        t->config = r64(&r);
        t->count = r64(&r);
        t->expiration = r64(&r);
        t->pending_expiration = r64(&r);
        t->pending = r64(&r) != 0;
    }
    __atomic_store_n(&vp->stimer_fired, 0, __ATOMIC_RELAXED);
    queued = r64(&r);
    memset(vp->queue, 0, sizeof(vp->queue));
    for (uint32_t i = 0; i < queued; i++) {
        const uint8_t *m = payload + r.at;
        struct hv_queued_message *q = &vp->queue[i];
        q->used = 1;
        q->sint = (uint8_t)get_le(m, 8);
        q->msg.message_type = (uint32_t)get_le(m + 8, 4);
        q->msg.payload_size = m[12];
        q->msg.flags = m[13];
        q->msg.sender = get_le(m + 16, 8);
        memcpy(q->msg.payload, m + 24, HV_MESSAGE_PAYLOAD_MAX);
        vp->queue_order[i] = i;
        r.at += QUEUED_MESSAGE_SIZE;
    }
    vp->queue_seq = (uint32_t)queued;
    hv_unlock(&vp->lock);

    hv_apic_vp_restored(vp);
    hv_synic_vp_restored(vp);
    hv_stimer_vp_restored(vp);
    return HV_OK;
}
