/* SPDX-License-Identifier: MIT */
/*
 * Private contract between the hypercall ABI (abi.c) and the call handlers
 * (flush.c, ipi.c, messaging.c, misc.c). abi.c decodes and validates the
 * control word, gathers the fixed and variable input header (from guest
 * memory or from registers), runs one handler, then writes any output and
 * the result value. Handlers see only validated, bounded input.
 */
#ifndef HVSHIM_HYPERCALLS_H
#define HVSHIM_HYPERCALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "hvshim/internal.h"

/* ------------------------------------------------------- control word */

/* The fields of a hypercall input value (TLFS "Hypercall Inputs"). */
struct hc_control {
    uint16_t code;
    bool fast;
    bool reserved_set;       /* any RsvdZ bit (27-31, 44-47, 60-63) is 1 */
    uint16_t varhead;        /* variable header size, qwords (0-1023) */
    uint16_t rep_count;      /* 0-4095 */
    uint16_t rep_start;      /* 0-4095 */
};

/* Pure: split a control word into its fields. */
void hc_decode_control(uint64_t control, struct hc_control *out);

/* The control word with its rep start index replaced (continuations). */
static inline uint64_t hc_control_with_rep_start(uint64_t control, uint32_t start)
{
    return (control & ~HV_HC_REP_START_MASK) |
           (((uint64_t)start << HV_HC_REP_START_SHIFT) & HV_HC_REP_START_MASK);
}

/* Result value: status in bits 0-15, reps completed in 32-43, rest 0. */
static inline uint64_t hc_result_value(uint16_t status, uint32_t reps)
{
    return (uint64_t)status | (((uint64_t)reps << HV_HC_RESULT_REPS_SHIFT) & HV_HC_REP_COUNT_MASK);
}

/* -------------------------------------------------------- descriptors */

struct hc_call;
typedef uint16_t (*hc_handler)(struct hc_call *c);

enum hc_flags {
    HC_FAST_OK = 1u << 0,    /* the register-based form is accepted */
    HC_REP = 1u << 1,        /* rep call: rep count >= 1 */
    HC_VARHEAD = 1u << 2,    /* takes a variable-size input header */
};

/* Every variable header hvshim accepts is a sparse VP set's banks: at most
 * one qword per bit of valid_bank_mask. */
#define HC_MAX_VARHEAD_QWORDS HV_VPSET_MAX_BANKS

struct hc_desc {
    const char *name;        /* TLFS name */
    uint16_t code;
    uint8_t flags;           /* enum hc_flags */
    uint8_t stat;            /* enum hv_hc_stat */
    hv_features_t gates;     /* every bit required, else ACCESS_DENIED */
    uint16_t in_fixed;       /* fixed input header, bytes (multiple of 8) */
    uint16_t rep_in;         /* bytes per input list element (rep calls) */
    uint16_t out_fixed;      /* output, bytes (multiple of 8) */
    hc_handler handler;      /* NULL: a known call hvshim does not offer */
};

/*
 * Pure: the descriptor of a call code, or NULL. *never_granted is set for
 * codes that need a privilege no hvshim guest gets (root, parent, VSM,
 * debugger, statistics): those answer ACCESS_DENIED whatever the config.
 */
const struct hc_desc *hc_lookup(uint16_t code, bool *never_granted);

/* Whether the partition's features satisfy a descriptor's gates. */
static inline bool hc_gates_ok(const struct hv_partition *p, const struct hc_desc *d)
{
    return (p->cfg.features & d->gates) == d->gates;
}

/* ------------------------------------------------------- one call */

/* Largest fixed + variable header: PostMessage's 256 bytes, or an Ex
 * flush's 32 bytes plus 64 banks. */
#define HC_HEADER_MAX_QWORDS 68u
/* Fast input/output block: RDX, R8, then XMM0-XMM5 (low half first). */
#define HC_FAST_QWORDS (2u + 2u * HV_XMM_FAST_REGS)
#define HC_OUTPUT_MAX_QWORDS 1u

struct hc_call {
    struct hv_vp *vp;
    struct hv_partition *p;
    const struct hc_desc *desc;
    struct hc_control ctl;
    uint64_t in_gpa;             /* slow calls */
    uint32_t hdr_qwords;         /* fixed + variable header length */
    uint64_t hdr[HC_HEADER_MAX_QWORDS];
    uint64_t fast_in[HC_FAST_QWORDS]; /* fast calls: the whole register block */

    /* Rep calls: elements complete, counted from 0 (starts at rep start).
     * A handler advances it as it goes and sets preempted to stop early. */
    uint32_t reps_done;
    bool preempted;

    uint64_t out[HC_OUTPUT_MAX_QWORDS]; /* written on SUCCESS */
};

/* Copy input list elements [first, first + n) into dst (n * rep_in
 * bytes). first + n <= rep count. False if the guest memory is not RAM. */
bool hc_read_reps(struct hc_call *c, uint32_t first, uint32_t n, void *dst);

/* Fast output goes to the registers the input did not use, from the
 * first 16-byte chunk after the input: RDX, R8, then XMM0-XMM5 (TLFS "XMM
 * Fast Hypercall Output"). The caller checked that it fits in 112 bytes. */
void hc_place_fast_output(struct hc_call *c, struct hv_hypercall_regs *regs, uint32_t in_bytes,
                          uint32_t out_bytes);

/* Between two elements of a rep call: whether to stop and continue later. */
bool hc_should_preempt(const struct hc_call *c);

/* ------------------------------------------------------- VP set helpers */

/* Whether any VP below nr_vps is in the set; O(nr_vps / 64). */
bool hc_vpset_any(const struct hv_vp_set *s, uint32_t nr_vps);

/* Every existing VP. */
void hc_vpset_all(struct hv_vp_set *s, uint32_t nr_vps);

/* A 64-bit processor mask (VPs 0-63) as a set of existing VPs. */
void hc_vpset_from_mask(uint64_t mask, uint32_t nr_vps, struct hv_vp_set *s);

/*
 * The sparse VP set at hdr[first..hdr_qwords): its length must be exactly
 * what valid_bank_mask says (else INVALID_HYPERCALL_INPUT) and its format
 * known (else INVALID_PARAMETER). Expands into existing VPs.
 */
uint16_t hc_vpset_from_header(const struct hc_call *c, uint32_t first, struct hv_vp_set *s);

/* ------------------------------------------------------------ handlers */

uint16_t hc_switch_address_space(struct hc_call *c);   /* misc.c */
uint16_t hc_notify_long_spin_wait(struct hc_call *c);  /* misc.c */
uint16_t hc_ext_query_capabilities(struct hc_call *c); /* misc.c */
uint16_t hc_flush_virtual_address(struct hc_call *c);  /* flush.c: 0x02, 0x03, 0x13, 0x14 */
uint16_t hc_send_cluster_ipi(struct hc_call *c);       /* ipi.c: 0x0B, 0x15 */
uint16_t hc_post_message(struct hc_call *c);           /* messaging.c */
uint16_t hc_signal_event(struct hc_call *c);           /* messaging.c */

/* x64 CR3 bits 52-62 are reserved at any MAXPHYADDR (bit 63 is the PCID
 * "no flush" hint of MOV CR3, not part of the address space). */
#define HC_CR3_RESERVED_MASK (0x7FFull << 52)

#endif /* HVSHIM_HYPERCALLS_H */
