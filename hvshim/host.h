/* SPDX-License-Identifier: MIT */
/*
 * The host-operations interface: everything the freestanding core cannot
 * do itself. A host adapter (kvm-glue/, xen-glue/, the unit tests' fake
 * host) fills one struct hv_host_ops and passes it, with an opaque context
 * pointer, to hv_partition_init(). The core never calls anything else.
 *
 * Threading contract:
 *  - per-VP entry points (MSR, hypercall, poll) run on that VP's own thread
 *    (or with that VP descheduled);
 *  - hv_stimer_expired(), hv_synic_post_message() and
 *    hv_synic_signal_event() may be called from any thread;
 *  - ops may be called with a core spinlock held, so they must not call
 *    back into the core, and must not block except where noted (tlb_flush
 *    and vp_idle are always called with no core lock held).
 */
#ifndef HVSHIM_HOST_H
#define HVSHIM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A set of VPs by VP index, as a plain bitmap. */
#define HV_MAX_VPS 4096u
#define HV_VPSET_WORDS (HV_MAX_VPS / 64u)

struct hv_vp_set {
    uint64_t bits[HV_VPSET_WORDS];
};

/* One guest-virtual range to flush: first page and number of pages. */
struct hv_gva_range {
    uint64_t gva;            /* page aligned */
    uint64_t pages;          /* >= 1 */
};

/* What a TLB flush request covers. */
struct hv_tlb_flush {
    const struct hv_vp_set *vps;       /* never empty */
    const struct hv_gva_range *ranges; /* NULL: the whole TLB */
    uint32_t nr_ranges;
    bool all_address_spaces;           /* else: address_space only */
    bool non_global_only;
    uint64_t address_space;            /* guest CR3 */
};

enum hv_log_level { HV_LOG_ERROR, HV_LOG_WARN, HV_LOG_INFO, HV_LOG_DEBUG };

/*
 * Structured trace events: the core cannot format text (no libc), so it
 * hands the host a kind and up to four numbers; the host prints or counts.
 */
enum hv_trace_kind {
    HV_TRACE_MSR_READ,       /* a0 msr, a1 value, a2 result (enum hv_msr_result) */
    HV_TRACE_MSR_WRITE,      /* a0 msr, a1 value, a2 result */
    HV_TRACE_HYPERCALL,      /* a0 control, a1 input, a2 output, a3 result value */
    HV_TRACE_SYNIC_MSG,      /* a0 sint, a1 message type, a2 0 delivered / 1 queued / 2 dropped */
    HV_TRACE_SYNIC_EVENT,    /* a0 sint, a1 flag, a2 1 if newly set */
    HV_TRACE_SYNIC_EOM,      /* a0 sint mask with queued messages */
    HV_TRACE_STIMER,         /* a0 timer, a1 event (enum hv_stimer_trace), a2 time, a3 config */
};

enum hv_stimer_trace {
    HV_STIMER_TRACE_ARM,
    HV_STIMER_TRACE_FIRE,
    HV_STIMER_TRACE_DELIVERED,
    HV_STIMER_TRACE_BLOCKED,  /* slot busy: kept pending */
    HV_STIMER_TRACE_STOP,
};

/* Why a partition asks to stop. */
enum hv_partition_event {
    HV_EVENT_RESET,           /* RESET MSR written */
    HV_EVENT_CRASH,           /* CRASH_CTL notify: see crash parameters */
    HV_EVENT_TSC_EMULATION_DONE, /* guest cleared TSC_EMULATION_STATUS: stop
                                    emulating the old TSC frequency */
};

struct hv_crash_report {
    uint64_t params[5];       /* CRASH_P0..P4 */
    uint64_t ctl;             /* value written to CRASH_CTL */
    const char *message;      /* NotifyMsg text, or NULL */
    uint32_t message_len;
};

struct hv_host_ops {
    /* ---- guest memory (all bounds-checked by the host; may fail) ---- */

    /* Copy len bytes from/to guest physical memory. 0 on success, -1 if
     * any byte is not guest RAM. Accesses may cross pages. */
    int (*gpa_read)(void *ctx, uint64_t gpa, void *buf, size_t len);
    int (*gpa_write)(void *ctx, uint64_t gpa, const void *buf, size_t len);

    /* A stable host pointer to one guest page (for overlay pages the core
     * updates atomically: SIMP, SIEFP, TSC page, VP assist page). NULL if
     * gfn is not guest RAM. Every map is paired with one unmap. */
    void *(*page_map)(void *ctx, uint64_t gfn);
    void (*page_unmap)(void *ctx, void *page);

    /* The page contents for the HYPERCALL MSR (trapping sequence + ret).
     * The host writes it through gpa_write itself; return 0 or -1. */
    int (*hypercall_page_fill)(void *ctx, uint64_t gpa);

    /* ---- interrupts ---- */

    /* Raise a fixed, edge-triggered vector on a VP's local APIC.
     * auto_eoi: the SINT asks for no ISR bit (TLFS AutoEOI). */
    void (*irq_inject)(void *ctx, uint32_t vp_index, uint8_t vector, bool auto_eoi);

    /* A synthetic cluster IPI: fixed vector to each VP of the set. */
    void (*ipi_send)(void *ctx, const struct hv_vp_set *vps, uint8_t vector);

    /* Make the VP call hv_vp_poll() soon (wake it if halted). */
    void (*vp_kick)(void *ctx, uint32_t vp_index);

    /* APIC-access MSRs; NULL when the host cannot do them exactly. */
    void (*apic_eoi)(void *ctx, uint32_t vp_index);
    uint64_t (*apic_icr_read)(void *ctx, uint32_t vp_index);
    void (*apic_icr_write)(void *ctx, uint32_t vp_index, uint64_t icr);
    uint8_t (*apic_tpr_read)(void *ctx, uint32_t vp_index);
    void (*apic_tpr_write)(void *ctx, uint32_t vp_index, uint8_t tpr);

    /* ---- TLB and address spaces ---- */

    /* Flush the TLBs of the given VPs; returns once no VP of the set can
     * use a stale translation. Called without core locks. */
    void (*tlb_flush)(void *ctx, uint32_t caller_vp, const struct hv_tlb_flush *req);

    /* HvSwitchVirtualAddressSpace: load CR3 on the calling VP. 0 or -1. */
    int (*switch_address_space)(void *ctx, uint32_t vp_index, uint64_t cr3);

    /* ---- time ---- */

    /* Guest TSC now (the same counter the guest's RDTSC reads). */
    uint64_t (*guest_tsc)(void *ctx);

    /* Host monotonic time in ns (for timers). */
    uint64_t (*now_ns)(void *ctx);

    /* One-shot timer per (vp, timer): call hv_stimer_expired(vp, timer) no
     * earlier than delay_ns from now. Re-arming replaces; cancel is
     * idempotent. A late or spurious callback is harmless. */
    void (*timer_arm)(void *ctx, uint32_t vp_index, uint32_t timer, uint64_t delay_ns);
    void (*timer_cancel)(void *ctx, uint32_t vp_index, uint32_t timer);

    /* Time this VP has run guest code, in ns. */
    uint64_t (*vp_runtime_ns)(void *ctx, uint32_t vp_index);

    /* ---- VP control ---- */

    /* GUEST_IDLE: block until an interrupt is pending for the VP (may
     * return early). Called without core locks. */
    void (*vp_idle)(void *ctx, uint32_t vp_index);

    /* NotifyLongSpinWait: the VP is spinning; yield if useful. */
    void (*vp_yield)(void *ctx, uint32_t vp_index);

    /* Whether a long-running rep hypercall should stop and let the host
     * run other work (continuation). May be NULL (never). */
    bool (*should_preempt)(void *ctx, uint32_t vp_index);

    /* Reset and crash requests. */
    void (*partition_event)(void *ctx, uint32_t vp_index, enum hv_partition_event ev,
                            const struct hv_crash_report *crash);

    /* ---- VMBus routing ---- */

    /* HvPostMessage / HvSignalEvent for a connection id the host
     * registered (hv_partition_register_connection). Return a TLFS status:
     * 0, or INSUFFICIENT_BUFFERS / INSUFFICIENT_MEMORY to make the guest
     * retry. payload holds payload_size (<= 240) validated bytes. */
    uint16_t (*post_message)(void *ctx, uint32_t vp_index, uint32_t connection_id,
                             uint32_t message_type, const void *payload,
                             uint32_t payload_size);
    uint16_t (*signal_event)(void *ctx, uint32_t vp_index, uint32_t connection_id,
                             uint16_t flag_number);

    /* A SynIC message queue slot of (vp, sint) became free: a sender that
     * got -EBUSY from hv_synic_post_message() may post again. May be NULL. */
    void (*message_slot_freed)(void *ctx, uint32_t vp_index, uint32_t sint);

    /* Work (a queued message or a timer expiry) now waits behind a busy
     * message slot of this VP. The guest frees the slot and then writes EOM
     * or EOIs the SINT's vector; a host that never sees those EOIs (so
     * cannot call hv_synic_eoi) polls the VP with hv_vp_poll() on its
     * thread until hv_vp_slot_waiters() is 0. May be called with the VP's
     * lock held: note it, do not call back into the core. May be NULL. */
    void (*slot_wait)(void *ctx, uint32_t vp_index);

    /* ---- XMM registers for XMM-fast hypercalls (NULL: not supported) ---- */

    /* Read XMM0..XMM5 as 12 little-endian qwords (low half first). */
    void (*xmm_read)(void *ctx, uint32_t vp_index, uint64_t xmm[12]);
    /* Write qwords [first, first + count) of XMM0..XMM5. */
    void (*xmm_write)(void *ctx, uint32_t vp_index, const uint64_t *qwords,
                      uint32_t first, uint32_t count);

    /* ---- diagnostics ---- */

    /* A fixed message and up to two numbers; may be NULL. */
    void (*log)(void *ctx, enum hv_log_level level, uint32_t vp_index,
                const char *msg, uint64_t a0, uint64_t a1);
    /* Structured trace; may be NULL. */
    void (*trace)(void *ctx, uint32_t vp_index, enum hv_trace_kind kind,
                  uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
};

/* VP index used in log/trace calls that belong to no VP. */
#define HV_NO_VP 0xFFFFFFFFu

#endif /* HVSHIM_HOST_H */
