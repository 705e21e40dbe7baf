/* SPDX-License-Identifier: MIT */
/*
 * Xen's viridian HVM save records (VIRIDIAN_DOMAIN, typecode 15, and
 * VIRIDIAN_VCPU, typecode 17) on top of the hvshim core.
 *
 * Save: an hvshim Xen keeps writing both records, filled from the core's
 * state through its MSR interface, so tools that read them (xen-hvmctx)
 * still work. Load: a stream from a Xen with its own viridian has only
 * these records; they are turned into core blobs (hvshim/save.c format,
 * version 1) and loaded through hv_partition_load / hv_vp_load, which
 * check every field. The full state travels in hvshim's own records
 * (typecodes 35/36), which come later in the stream and take precedence.
 *
 * The layouts match xen/include/public/arch-x86/hvm/save.h exactly (the
 * hypervisor glue checks the sizes at build time). Pure code, no libc.
 */
#ifndef HVSHIM_XEN_LEGACY_RECORDS_H
#define HVSHIM_XEN_LEGACY_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "hvshim/hvshim.h"

struct hvshim_legacy_domain {          /* 32 bytes */
    uint64_t hypercall_gpa;
    uint64_t guest_os_id;
    uint64_t time_ref_count;
    uint64_t reference_tsc;
};

struct hvshim_legacy_vcpu {            /* 216 bytes */
    uint64_t vp_assist_msr;
    uint8_t apic_assist_pending;
    uint8_t pad[7];
    uint64_t simp_msr;
    uint64_t sint_msr[16];
    uint64_t stimer_config_msr[4];
    uint64_t stimer_count_msr[4];
};

#define HVSHIM_LEGACY_DOMAIN_SIZE 32u
#define HVSHIM_LEGACY_VCPU_SIZE 216u

/* Space the converted blobs need. */
#define HVSHIM_LEGACY_PARTITION_BLOB_SIZE (16u + 18u * 8u)
#define HVSHIM_LEGACY_VP_BLOB_SIZE (16u + 45u * 8u)

/* Fill the records from the core (the partition should be frozen, as it
 * is while Xen saves a paused domain). */
void hvshim_legacy_domain_from_core(struct hv_partition *p, struct hvshim_legacy_domain *out);
void hvshim_legacy_vcpu_from_core(struct hv_vp *vp, struct hvshim_legacy_vcpu *out);

/*
 * Build a core blob from a record, for partition p / VP vp, into buf.
 * Returns the blob length, or -1 if len is too small, the VCPU record's
 * padding is not zero (Xen refuses those too) or the reference counter is
 * beyond 2^62 (it would wrap). Values Xen accepted from a
 * guest but the TLFS reserves are cleaned so the core accepts the blob.
 */
long hvshim_legacy_domain_to_blob(const struct hv_partition *p,
                                  const struct hvshim_legacy_domain *rec,
                                  void *buf, size_t len);
long hvshim_legacy_vcpu_to_blob(const struct hv_vp *vp,
                                const struct hvshim_legacy_vcpu *rec,
                                void *buf, size_t len);

#endif /* HVSHIM_XEN_LEGACY_RECORDS_H */
