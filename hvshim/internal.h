/* SPDX-License-Identifier: MIT */
/*
 * Core-internal helpers and the contracts between the core's areas
 * (hvshim/, hypercalls/, synic/). Not for hosts.
 */
#ifndef HVSHIM_INTERNAL_H
#define HVSHIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvshim/hvshim.h"

/* The only library functions the core may use (provided by every host). */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define HV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HV_UNUSED(x) ((void)(x))

/* ------------------------------------------------------------- locking */

static inline void hv_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

static inline void hv_lock(struct hv_spinlock *l)
{
    while (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            hv_cpu_relax();
}

static inline void hv_unlock(struct hv_spinlock *l)
{
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------ bit ops */

/* Plain C: __builtin_popcountll becomes a libgcc call without -mpopcnt. */
static inline unsigned hv_popcount64(uint64_t v)
{
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

static inline unsigned hv_ctz64(uint64_t v)
{
    return (unsigned)__builtin_ctzll(v);
}

static inline void hv_vpset_clear(struct hv_vp_set *s)
{
    memset(s, 0, sizeof(*s));
}

static inline void hv_vpset_add(struct hv_vp_set *s, uint32_t vp)
{
    s->bits[vp / 64] |= 1ull << (vp % 64);
}

static inline bool hv_vpset_has(const struct hv_vp_set *s, uint32_t vp)
{
    return vp < HV_MAX_VPS && ((s->bits[vp / 64] >> (vp % 64)) & 1);
}

/* ------------------------------------------------------- 128-bit math */

/* (a * b) >> 64 without a division helper from libgcc. */
static inline uint64_t hv_mul64_hi(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

/* floor((hi:lo) / d) for hi < d (so the quotient fits 64 bits); no
 * __udivti3, which a freestanding link does not have. d must be non-zero. */
uint64_t hv_div128_64(uint64_t hi, uint64_t lo, uint64_t d);

/* a * b / d, saturating at UINT64_MAX; d must be non-zero. */
uint64_t hv_muldiv64(uint64_t a, uint64_t b, uint64_t d);

/* ---------------------------------------------------- host shortcuts */

static inline const struct hv_host_ops *hv_ops(const struct hv_partition *p)
{
    return p->ops;
}

/* Inline so the common "no tracer" case costs a load and a branch. */
static inline void hv_log(const struct hv_partition *p, enum hv_log_level lvl, uint32_t vp,
                          const char *msg, uint64_t a0, uint64_t a1)
{
    if (p->ops->log)
        p->ops->log(p->ctx, lvl, vp, msg, a0, a1);
}

static inline void hv_trace(const struct hv_partition *p, uint32_t vp, enum hv_trace_kind kind,
                            uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    if (p->ops->trace)
        p->ops->trace(p->ctx, vp, kind, a0, a1, a2, a3);
}

static inline bool hv_feature(const struct hv_partition *p, enum hv_feature f)
{
    return hv_has(p->cfg.features, f);
}

/* Counters have a single writer at a time (the VP's thread, or the holder
 * of its lock): a relaxed load and store is race-free for readers and
 * compiles to a plain increment, with no locked instruction. */
static inline void hv_stat_inc(uint64_t *counter)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Map/unmap the page an overlay MSR value points to (NULL if not enabled
 * or not RAM: callers must handle NULL, XSA-472). */
void *hv_overlay_map(struct hv_partition *p, uint64_t msr_value);
void hv_overlay_unmap(struct hv_partition *p, void **page);

/* ------------------------------------------------- area MSR handlers */
/*
 * Each area owns its MSRs; hvshim/msr.c routes by number. A handler
 * checks its feature gate first, then reserved bits and read-only-ness,
 * returning HV_MSR_GP as Hyper-V would.
 */
enum hv_msr_result hv_partition_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val);
enum hv_msr_result hv_partition_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val);
enum hv_msr_result hv_time_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val);
enum hv_msr_result hv_time_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val);
enum hv_msr_result hv_apic_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val);
enum hv_msr_result hv_apic_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val);
enum hv_msr_result hv_crash_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val);
enum hv_msr_result hv_crash_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val);
/* synic/synic.c: SCONTROL, SVERSION, SIEFP, SIMP, EOM, SINT0-15 */
enum hv_msr_result hv_synic_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val);
enum hv_msr_result hv_synic_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val);
/* synic/stimer.c: STIMER0-3 CONFIG/COUNT */
enum hv_msr_result hv_stimer_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val);
enum hv_msr_result hv_stimer_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val);

/* --------------------------------------------- area life-cycle hooks */
/*
 * init: fields zeroed by the caller, set power-on values.
 * destroy: unmap pages, cancel timers (idempotent).
 * restored: re-map pages and re-arm timers from the (already loaded) MSR
 * values after hv_vp_load().
 */
void hv_synic_vp_init(struct hv_vp *vp);
void hv_synic_vp_destroy(struct hv_vp *vp);
void hv_synic_vp_restored(struct hv_vp *vp);
void hv_stimer_vp_init(struct hv_vp *vp);
void hv_stimer_vp_destroy(struct hv_vp *vp);
void hv_stimer_vp_restored(struct hv_vp *vp);
void hv_apic_vp_destroy(struct hv_vp *vp);
void hv_apic_vp_restored(struct hv_vp *vp);
void hv_time_partition_init(struct hv_partition *p);
void hv_time_partition_destroy(struct hv_partition *p);
void hv_time_partition_restored(struct hv_partition *p);

/* Stimers re-deliver pending expiries from hv_vp_poll / EOM / EOI. */
void hv_stimer_poll(struct hv_vp *vp);

/* ------------------------------------------- SynIC services (synic/) */
/*
 * Write msg into (vp, sint)'s SIMP slot if it is free and raise the SINT.
 * Called with vp->lock held. Returns HV_OK when written, HV_ERR_BUSY when
 * the slot was occupied (msg_pending then set in the occupant, so the
 * guest will EOM), HV_ERR_DISABLED if SIMP is off/unmapped or the SINT
 * cannot take messages. Never queues: callers decide.
 */
int hv_synic_write_slot_locked(struct hv_vp *vp, uint32_t sint, const struct hv_message *msg);

/* Raise a SINT's vector as its configuration says (masked: nothing;
 * polling: nothing; else inject with auto_eoi). vp->lock held. */
void hv_synic_raise_sint_locked(struct hv_vp *vp, uint32_t sint);

/* Whether SINT sint is enabled for delivery (SynIC on, SINT unmasked or
 * polling). vp->lock held. */
bool hv_synic_sint_usable_locked(const struct hv_vp *vp, uint32_t sint);

/* Shared between synic/ files. Retry what the SINTs in the mask are owed
 * (pending stimer expiries first, then queued messages, oldest first) as far
 * as the slots allow; vp->lock held. Returns the SINTs to report through
 * message_slot_freed: pass it to hv_synic_notify_slots_freed() once the lock
 * is dropped. */
uint16_t hv_synic_redeliver_locked(struct hv_vp *vp, uint16_t sints);
/* SINTs with a queued message or a pending message-mode stimer expiry. */
uint16_t hv_synic_sints_waiting_locked(const struct hv_vp *vp);
void hv_synic_notify_slots_freed(struct hv_vp *vp, uint16_t sints);
/* Retry pending message-mode stimer expiries aimed at the SINTs in the
 * mask; vp->lock held (synic/stimer.c). */
void hv_stimer_retry_locked(struct hv_vp *vp, uint16_t sints);

/* ---------------------------------------------------- time services */

/* Reference time for a given guest TSC value (uses the current scale). */
uint64_t hv_time_ref_from_tsc(const struct hv_partition *p, uint64_t tsc);
/* Host ns from now until reference time `when` (0 if already past). */
uint64_t hv_time_ns_until(struct hv_partition *p, uint64_t when);

/* ------------------------------------------- hypercalls (hypercalls/) */

/* A parsed "Ex" sparse VP set; pure and fuzzable (hypercalls/vpset.c). */
struct hv_vpset_view {
    uint64_t format;
    uint64_t valid_bank_mask;
    const uint64_t *banks;   /* popcount(valid_bank_mask) qwords */
    uint32_t nr_banks;
};

/*
 * Parse a VP set from qwords [0, avail): format, valid_bank_mask, banks.
 * Returns the number of qwords consumed (2 + banks) or 0 on malformed
 * input (bank count beyond avail or beyond 64). Does not look at VPs.
 */
uint32_t hv_vpset_parse(const uint64_t *q, uint32_t avail, struct hv_vpset_view *out);

/*
 * Expand a parsed set into a bitmap of existing VPs (< nr_vps). Work is
 * O(banks + members). Out-of-range VPs are dropped (TLFS: ignored) and
 * counted in *dropped if non-NULL. "All" gives every VP.
 */
void hv_vpset_expand(const struct hv_vpset_view *v, uint32_t nr_vps,
                     struct hv_vp_set *out, uint32_t *dropped);

#endif /* HVSHIM_INTERNAL_H */
