/* SPDX-License-Identifier: MIT */
/*
 * hvshim core: the Hyper-V interface a guest sees, host-agnostic and
 * freestanding. A host adapter calls these entry points from its exits.
 */
#ifndef HVSHIM_HVSHIM_H
#define HVSHIM_HVSHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvshim/features.h"
#include "hvshim/host.h"
#include "hvshim/state.h"
#include "hvshim/tlfs.h"

/* Core error codes (negative), distinct from TLFS hypercall statuses. */
enum hv_err {
    HV_OK = 0,
    HV_ERR_INVAL = -1,       /* argument out of range */
    HV_ERR_BUSY = -2,        /* no room now; retry after message_slot_freed */
    HV_ERR_NOENT = -3,       /* no such VP / SINT / connection */
    HV_ERR_NOSPC = -4,       /* table full */
    HV_ERR_DISABLED = -5,    /* the target SynIC / SINT is off or masked */
    HV_ERR_TRUNCATED = -6,   /* saved blob shorter than its header says */
    HV_ERR_CORRUPT = -7,     /* checksum or field check failed */
    HV_ERR_VERSION = -8,     /* unknown blob version */
    HV_ERR_MISMATCH = -9,    /* blob for another kind, VP or configuration */
};

const char *hv_strerror(int err);

/* Fills cfg with defaults for nr_vps VPs at tsc_hz (features: none). */
void hv_config_defaults(struct hv_config *cfg, uint32_t nr_vps, uint64_t tsc_hz);

/* ------------------------------------------------------------ partition */

/* vps points to cfg->nr_vps zeroed or uninitialised structs. */
int hv_partition_init(struct hv_partition *p, const struct hv_host_ops *ops, void *ctx,
                      const struct hv_config *cfg, struct hv_vp *vps);
/* Unmaps every page and cancels every timer; idempotent. */
void hv_partition_destroy(struct hv_partition *p);
/* Back to power-on state (RESET, reboot): keeps configuration and connections. */
void hv_partition_reset(struct hv_partition *p);

/* Counters summed over every VP (a racy but tear-free snapshot). */
void hv_partition_stats(const struct hv_partition *p, struct hv_stats *out);

int hv_partition_register_connection(struct hv_partition *p, uint32_t connection_id,
                                     enum hv_connection_kind kind);
void hv_partition_unregister_connection(struct hv_partition *p, uint32_t connection_id);
/* The kinds (enum hv_connection_kind bits) registered for an id; 0 if none. */
uint32_t hv_partition_connection_kinds(const struct hv_partition *p, uint32_t connection_id);

static inline struct hv_vp *hv_partition_vp(struct hv_partition *p, uint32_t vp_index)
{
    return vp_index < p->cfg.nr_vps ? &p->vps[vp_index] : 0;
}

/* ----------------------------------------------------------------- CPUID */

/* Fills out[0..3] = EAX, EBX, ECX, EDX for 0x40000000-0x400000FF; returns
 * false for leaves outside that range. With no features, all zero. */
bool hv_cpuid(const struct hv_partition *p, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* ------------------------------------------------------------------ MSRs */

enum hv_msr_result {
    HV_MSR_OK,
    HV_MSR_GP,               /* inject #GP(0) */
    HV_MSR_UNHANDLED,        /* not a synthetic MSR: the host handles it */
};

enum hv_msr_result hv_msr_read(struct hv_vp *vp, uint32_t msr, uint64_t *value);
enum hv_msr_result hv_msr_write(struct hv_vp *vp, uint32_t msr, uint64_t value);

/* ------------------------------------------------------------ hypercalls */

enum hv_cpu_mode {
    HV_CPU_MODE_REAL,        /* real or virtual-8086 mode */
    HV_CPU_MODE_PROTECTED,   /* 32-bit protected mode or compatibility mode */
    HV_CPU_MODE_LONG,        /* 64-bit mode */
};

struct hv_hypercall_regs {
    uint64_t control;        /* RCX, or EDX:EAX */
    uint64_t input;          /* RDX, or EBX:ECX */
    uint64_t output;         /* R8, or EDI:ESI */
    uint64_t result;         /* out: RAX, or EDX:EAX */
    uint8_t mode;            /* enum hv_cpu_mode */
    uint8_t cpl;
    /* out: 1 when an XMM-fast call returned output in RDX and/or R8 (TLFS:
     * output fills the registers the input did not use, RDX and R8
     * first); input/output then hold the new RDX/R8 values for the host
     * to write back. Only in 64-bit mode. */
    uint8_t output_in_gprs;
};

enum hv_hypercall_outcome {
    HV_HC_COMPLETE,          /* write result, return to the guest */
    HV_HC_CONTINUE,          /* control updated (rep start): run the call again */
    HV_HC_INJECT_UD,         /* inject #UD, leave registers alone */
};

enum hv_hypercall_outcome hv_hypercall(struct hv_vp *vp, struct hv_hypercall_regs *regs);

/* ---------------------------------------------------------------- SynIC */

/* Deliver what is pending on this VP (fired timers, queued messages).
 * Hosts call it on the VP's thread after a kick and before guest entry. */
void hv_vp_poll(struct hv_vp *vp);

/* SINTs of this VP whose waiting work only needs its slot freed (SynIC
 * on, SIMP mapped; a masked SINT still takes messages): what a host polls
 * for after slot_wait. */
uint16_t hv_vp_slot_waiters(struct hv_vp *vp);

/* Post a message into (vp, sint): HV_OK when written or queued,
 * HV_ERR_BUSY when the queue is full (retry on message_slot_freed),
 * HV_ERR_DISABLED when the SynIC/SIMP/SINT cannot take it. */
int hv_synic_post_message(struct hv_partition *p, uint32_t vp_index, uint32_t sint,
                          uint32_t message_type, uint64_t sender,
                          const void *payload, uint32_t payload_size);

/* Set event flag (vp, sint, flag) atomically; raise the SINT only if the
 * flag went 0 -> 1. Returns 1 if newly set, 0 if already set, < 0 error. */
int hv_synic_signal_event(struct hv_partition *p, uint32_t vp_index, uint32_t sint,
                          uint32_t flag);

/* The host observed an EOI of vector on this VP (hosts that can). */
void hv_synic_eoi(struct hv_vp *vp, uint8_t vector);

/* Whether vector belongs to an unmasked AutoEOI SINT of this VP. */
bool hv_synic_is_auto_eoi_vector(struct hv_vp *vp, uint8_t vector);

/* --------------------------------------------------------------- stimers */

/* The host timer for (vp, timer) fired. Any thread. */
void hv_stimer_expired(struct hv_vp *vp, uint32_t timer);

/* ----------------------------------------------------------- APIC assist */

/* The host is injecting vector on vp with no other vector in service:
 * returns true if the guest may now skip the EOI (assist bit set). */
bool hv_apic_assist_set(struct hv_vp *vp, uint8_t vector);
/* Whether the guest completed (cleared the bit); then the host EOIs. */
bool hv_apic_assist_completed(struct hv_vp *vp, uint8_t *vector);
/* The guest wrote a real EOI: drop any pending assist. */
void hv_apic_assist_clear(struct hv_vp *vp);

/* ------------------------------------------------------------------ time */

/* Reference time now, in 100 ns units since partition start. */
uint64_t hv_time_ref_now(struct hv_partition *p);
/* Make reference time read ref_now at the current guest TSC and republish
 * the TSC page. For hosts that learn the guest TSC's offset only after
 * hv_partition_init (hvshim-kvm: vCPUs are created per boot), so that
 * reference time starts at 0 when the guest starts. */
void hv_time_set_ref(struct hv_partition *p, uint64_t ref_now);
/* Pause/unpause of the whole partition: reference time stops. */
void hv_time_freeze(struct hv_partition *p);
void hv_time_thaw(struct hv_partition *p);
/* The host TSC changed frequency or reliability (migration): rescale the
 * TSC page, keep reference time continuous, notify by reenlightenment. */
void hv_time_tsc_changed(struct hv_partition *p, uint64_t new_tsc_hz, bool reliable);
/* Whether the guest opted in through TSC_INVARIANT_CONTROL: hosts that can
 * change CPUID at run time then show 0x80000007.EDX bit 8. */
bool hv_time_invariant_tsc_exposed(const struct hv_partition *p);

/* ----------------------------------------------------------- save/restore */

/* Blobs are versioned, little-endian and checksummed. save returns the
 * number of bytes written (or needed, if buf is NULL), < 0 on error.
 * load checks everything first and changes nothing on error. */
long hv_partition_save(struct hv_partition *p, void *buf, size_t len);
int hv_partition_load(struct hv_partition *p, const void *buf, size_t len);
long hv_vp_save(struct hv_vp *vp, void *buf, size_t len);
int hv_vp_load(struct hv_vp *vp, const void *buf, size_t len);

#endif /* HVSHIM_HVSHIM_H */
