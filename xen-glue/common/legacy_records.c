/* SPDX-License-Identifier: MIT */
/*
 * Xen's viridian save records <-> hvshim core state (legacy_records.h).
 *
 * The blobs written here follow the core's save format, version 1
 * (hvshim/save.c: 16-byte header "HVSP"/"HVSV", u16 version, u16 0, u32
 * payload length, u32 CRC-32 of the payload; then little-endian u64 fields
 * in a fixed order). tests in xen-glue/tests/ load them into a real core,
 * so a format change there fails a test here instead of a migration.
 */
#include "xen-glue/common/legacy_records.h"

#define BLOB_VERSION 1u
#define HEADER 16u
#define PARTITION_FIELDS 18u
#define VP_FIELDS 45u

/* --------------------------------------------------------- from core */

static uint64_t msr_or_zero(struct hv_vp *vp, uint32_t msr)
{
    uint64_t v = 0;

    if (hv_msr_read(vp, msr, &v) != HV_MSR_OK)
        v = 0;
    return v;
}

void hvshim_legacy_domain_from_core(struct hv_partition *p, struct hvshim_legacy_domain *out)
{
    struct hv_vp *vp0 = hv_partition_vp(p, 0);

    out->hypercall_gpa = msr_or_zero(vp0, HV_MSR_HYPERCALL);
    out->guest_os_id = msr_or_zero(vp0, HV_MSR_GUEST_OS_ID);
    out->time_ref_count = hv_time_ref_now(p);
    out->reference_tsc = msr_or_zero(vp0, HV_MSR_REFERENCE_TSC);
}

void hvshim_legacy_vcpu_from_core(struct hv_vp *vp, struct hvshim_legacy_vcpu *out)
{
    uint8_t *raw = (uint8_t *)out;

    for (size_t i = 0; i < sizeof(*out); i++)
        raw[i] = 0;
    out->vp_assist_msr = msr_or_zero(vp, HV_MSR_VP_ASSIST_PAGE);
    out->apic_assist_pending = __atomic_load_n(&vp->apic_assist_pending, __ATOMIC_RELAXED);
    out->simp_msr = msr_or_zero(vp, HV_MSR_SIMP);
    for (unsigned i = 0; i < 16; i++)
        out->sint_msr[i] = msr_or_zero(vp, HV_MSR_SINT0 + i);
    for (unsigned i = 0; i < 4; i++) {
        out->stimer_config_msr[i] = msr_or_zero(vp, HV_MSR_STIMER0_CONFIG + 2 * i);
        out->stimer_count_msr[i] = msr_or_zero(vp, HV_MSR_STIMER0_CONFIG + 2 * i + 1);
    }
}

/* ----------------------------------------------------------- to blob */

struct blob {
    uint8_t *d;
    size_t at;
};

static void put64(struct blob *b, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        b->d[b->at + i] = (uint8_t)(v >> (8 * i));
    b->at += 8;
}

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

static void finish(uint8_t *buf, const char magic[4], size_t payload)
{
    uint32_t crc = crc32(buf + HEADER, payload);

    for (unsigned i = 0; i < 4; i++)
        buf[i] = (uint8_t)magic[i];
    buf[4] = BLOB_VERSION;
    buf[5] = 0;
    buf[6] = buf[7] = 0;
    for (unsigned i = 0; i < 4; i++) {
        buf[8 + i] = (uint8_t)(payload >> (8 * i));
        buf[12 + i] = (uint8_t)(crc >> (8 * i));
    }
}

long hvshim_legacy_domain_to_blob(const struct hv_partition *p,
                                  const struct hvshim_legacy_domain *rec,
                                  void *buf, size_t len)
{
    struct blob b = { buf, HEADER };
    uint64_t hypercall = rec->hypercall_gpa;

    if (len < HVSHIM_LEGACY_PARTITION_BLOB_SIZE)
        return -1;
    /* 2^62 ticks of 100 ns are 14,600 years: a counter that far on comes
     * from a crafted stream, and would wrap (time running backwards). */
    if (rec->time_ref_count >> 62)
        return -1;
    /* Xen kept bits 1-11 as written and allowed the page without an OS
     * id; the core treats bit 1 as a lock and needs the id first. */
    hypercall &= ~HV_PAGE_MSR_RESERVED;
    if (rec->guest_os_id == 0)
        hypercall &= ~HV_PAGE_MSR_ENABLE;

    put64(&b, p->cfg.features);
    put64(&b, p->cfg.nr_vps);
    put64(&b, p->cfg.tsc_hz);
    put64(&b, rec->time_ref_count);
    put64(&b, rec->guest_os_id);
    put64(&b, hypercall);
    put64(&b, rec->reference_tsc & ~HV_PAGE_MSR_RESERVED);
    put64(&b, 1);                            /* TSC page sequence: rewritten on load */
    for (unsigned i = 0; i < 5 + 1 + 4; i++) /* crash P0-P4, CTL, reenlightenment, TSC emulation x2, invariant */
        put64(&b, 0);
    finish(buf, "HVSP", b.at - HEADER);
    return (long)b.at;
}

long hvshim_legacy_vcpu_to_blob(const struct hv_vp *vp,
                                const struct hvshim_legacy_vcpu *rec,
                                void *buf, size_t len)
{
    struct blob b = { buf, HEADER };
    bool synic_pages = (rec->simp_msr & HV_PAGE_MSR_ENABLE) != 0;

    if (len < HVSHIM_LEGACY_VP_BLOB_SIZE)
        return -1;
    for (unsigned i = 0; i < sizeof(rec->pad); i++)
        if (rec->pad[i])
            return -1;

    put64(&b, vp->index);
    put64(&b, rec->vp_assist_msr & ~HV_PAGE_MSR_RESERVED);
    put64(&b, rec->apic_assist_pending ? 1 : 0);
    put64(&b, 0);                            /* assist vector: Xen EOIs by ISR */
    /* Xen neither saved nor honoured SCONTROL: delivery worked whenever the
     * SIMP was mapped, so restore it as enabled then. SIEFP was never
     * mapped by Xen: off. */
    put64(&b, synic_pages ? HV_SCONTROL_ENABLE : 0);
    put64(&b, 0);
    put64(&b, rec->simp_msr);
    for (unsigned i = 0; i < HV_SINT_COUNT; i++) {
        uint64_t s = rec->sint_msr[i] & HV_SINT_VALID_BITS;
        /* Xen never let an unmasked SINT have a vector below 16; a zeroed
         * record (never written) means masked. */
        if (!(s & HV_SINT_MASKED) && (s & HV_SINT_VECTOR_MASK) < HV_SINT_MIN_VECTOR)
            s |= HV_SINT_MASKED;
        put64(&b, s);
    }
    put64(&b, 0);                            /* eom_wanted, post_waiters */
    for (unsigned i = 0; i < HV_STIMER_COUNT; i++) {
        /* Xen ignored direct mode, so these timers sent messages. */
        uint64_t config = rec->stimer_config_msr[i] & HV_STIMER_VALID_BITS & ~HV_STIMER_DIRECT_MODE;
        uint64_t count = rec->stimer_count_msr[i];
        /* A periodic timer without a period cannot run (XSA-504). */
        if ((config & HV_STIMER_PERIODIC) && count == 0)
            config &= ~HV_STIMER_ENABLE;
        put64(&b, config);
        put64(&b, count);
        put64(&b, 0);                        /* expiration: re-armed on restore */
        put64(&b, 0);
        put64(&b, 0);
    }
    put64(&b, 0);                            /* no queued messages */
    finish(buf, "HVSV", b.at - HEADER);
    return (long)b.at;
}
