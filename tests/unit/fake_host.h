/* SPDX-License-Identifier: MIT */
/*
 * A fake host implementing the whole host-operations interface for unit
 * tests: guest RAM with a hole, a controllable clock and TSC, timers that
 * fire when the test advances time, and records of every interrupt, IPI,
 * flush, crash, posted message and signalled event.
 */
#ifndef HVSHIM_TESTS_FAKE_HOST_H
#define HVSHIM_TESTS_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvshim/hvshim.h"

#define FAKE_MAX_VPS 8
#define FAKE_MAX_RECORDS 512
#define FAKE_DEFAULT_TSC_HZ 2500000000ull

struct fake_irq {
    uint32_t vp;
    uint8_t vector;
    bool auto_eoi;
};

struct fake_ipi {
    struct hv_vp_set vps;
    uint8_t vector;
};

struct fake_flush {
    uint32_t caller;
    struct hv_vp_set vps;
    bool whole_tlb;
    uint32_t nr_ranges;
    struct hv_gva_range ranges[64];
    bool all_address_spaces;
    bool non_global_only;
    uint64_t address_space;
};

struct fake_post {
    uint32_t vp;
    uint32_t connection_id;
    uint32_t message_type;
    uint32_t payload_size;
    uint8_t payload[HV_MESSAGE_PAYLOAD_MAX];
};

struct fake_signal {
    uint32_t vp;
    uint32_t connection_id;
    uint16_t flag;
};

struct fake_timer {
    bool armed;
    uint64_t deadline_ns;
    uint32_t arms;
};

struct fake_host {
    /* Guest RAM is [0, ram_size); GPAs in [hole_start, hole_end) are not RAM. */
    uint8_t *ram;
    size_t ram_size;
    uint64_t hole_start, hole_end;
    uint32_t maps, unmaps;
    uint32_t hypercall_page_fills;
    uint64_t hypercall_page_gpa;
    bool fail_hypercall_page_fill;

    /* Time: ns and TSC advance together through fake_advance_ns(). */
    uint64_t ns;
    uint64_t tsc;
    uint64_t tsc_hz;
    uint64_t runtime_ns[FAKE_MAX_VPS];
    struct fake_timer timers[FAKE_MAX_VPS][HV_STIMER_COUNT];

    /* Interrupts and VP control */
    struct fake_irq irqs[FAKE_MAX_RECORDS];
    uint32_t nr_irqs;
    struct fake_ipi ipis[64];
    uint32_t nr_ipis;
    uint32_t kicks[FAKE_MAX_VPS];
    uint32_t idles[FAKE_MAX_VPS];
    uint32_t yields[FAKE_MAX_VPS];

    /* APIC-access MSRs (ops present unless no_apic_ops) */
    bool no_apic_ops;
    uint32_t eois[FAKE_MAX_VPS];
    uint64_t icr[FAKE_MAX_VPS];
    uint8_t tpr[FAKE_MAX_VPS];

    /* TLB */
    struct fake_flush flushes[64];
    uint32_t nr_flushes;
    uint64_t cr3[FAKE_MAX_VPS];
    bool fail_switch_as;

    /* Continuation: should_preempt returns true on the call numbered
     * preempt_at (1-based); 0 never. */
    uint32_t preempt_at;
    uint32_t preempt_calls;

    /* Partition events */
    uint32_t resets;
    uint32_t tsc_emulation_done;
    uint32_t crashes;
    struct hv_crash_report last_crash;
    char crash_message[4096];

    /* VMBus routing */
    struct fake_post posts[64];
    uint32_t nr_posts;
    uint16_t post_status;        /* returned by post_message */
    struct fake_signal signals[64];
    uint32_t nr_signals;
    uint16_t signal_status;
    uint32_t slot_freed[FAKE_MAX_VPS][HV_SINT_COUNT];
    uint32_t slot_waits[FAKE_MAX_VPS];      /* slot_wait calls */

    /* XMM0-5 per VP; no_xmm_ops removes the ops */
    bool no_xmm_ops;
    uint64_t xmm[FAKE_MAX_VPS][12];

    /* Diagnostics */
    uint32_t logs;
    uint32_t traces;
    enum hv_trace_kind last_trace_kind;
    uint64_t last_trace[4];
};

/* A partition with its VPs and fake host, ready to use. */
struct fake_vm {
    struct fake_host host;
    struct hv_host_ops ops;
    struct hv_partition part;
    struct hv_vp vps[FAKE_MAX_VPS];
};

/* ram_pages of RAM (default 256 = 1 MiB when 0), hole at the last 16 pages.
 * Features are used as given (the config is not closed over dependencies). */
struct fake_vm *fake_vm_new(hv_features_t features, uint32_t nr_vps);
struct fake_vm *fake_vm_new_cfg(const struct hv_config *cfg, size_t ram_pages,
                                bool no_apic_ops, bool no_xmm_ops);
/* Destroys the partition and checks that every mapped page was unmapped. */
void fake_vm_free(struct fake_vm *vm);

/* Advance host time (and the TSC, at tsc_hz); fires due timers in
 * deadline order, calling hv_stimer_expired() for each. */
void fake_advance_ns(struct fake_vm *vm, uint64_t ns);

/* Guest-memory helpers for tests (assert on out-of-range). */
void fake_write(struct fake_vm *vm, uint64_t gpa, const void *src, size_t len);
void fake_read(struct fake_vm *vm, uint64_t gpa, void *dst, size_t len);
uint64_t fake_read64(struct fake_vm *vm, uint64_t gpa);
void fake_write64(struct fake_vm *vm, uint64_t gpa, uint64_t v);
void *fake_gpa_ptr(struct fake_vm *vm, uint64_t gpa);

/* The first hole GPA (not RAM). */
uint64_t fake_hole_gpa(const struct fake_vm *vm);

/* Convenience: MSR access that must succeed / must #GP. */
uint64_t fake_rdmsr(struct fake_vm *vm, uint32_t vp, uint32_t msr);
void fake_wrmsr(struct fake_vm *vm, uint32_t vp, uint32_t msr, uint64_t v);
enum hv_msr_result fake_rdmsr_r(struct fake_vm *vm, uint32_t vp, uint32_t msr, uint64_t *v);
enum hv_msr_result fake_wrmsr_r(struct fake_vm *vm, uint32_t vp, uint32_t msr, uint64_t v);

/* Enable hypercalls the way Linux does (OS id, then HYPERCALL page). */
void fake_enable_hypercalls(struct fake_vm *vm, uint64_t page_gpa);

/* Issue a 64-bit CPL0 hypercall; returns the outcome, result in *result. */
enum hv_hypercall_outcome fake_hypercall(struct fake_vm *vm, uint32_t vp, uint64_t control,
                                         uint64_t input, uint64_t output, uint64_t *result);

/* Core counters summed over the VPs. */
struct hv_stats fake_stats(struct fake_vm *vm);

/* Reset the recorded interrupts. */
void fake_clear_irqs(struct fake_vm *vm);

#endif /* HVSHIM_TESTS_FAKE_HOST_H */
