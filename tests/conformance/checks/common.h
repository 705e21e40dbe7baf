/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Hyper-V checks. */
#ifndef HVCONF_COMMON_H
#define HVCONF_COMMON_H

#include "../hv.h"
#include "../rt/apic.h"
#include "../rt/cpu.h"
#include "../rt/lib.h"
#include "../rt/smp.h"
#include "../rt/timebase.h"
#include "../rt/x86.h"
#include "../tap.h"
#include "groups.h"

/* Vectors the checks use (the runtime owns 0xFC-0xFF). */
#define VEC_SINT      0xE0      /* SINT under test */
#define VEC_SINT_B    0xE1      /* a second SINT */
#define VEC_STIMER    0xE2      /* direct-mode stimer */
#define VEC_IPI       0xE3      /* synthetic cluster IPI */
#define VEC_IPI_B     0xE4
#define VEC_LAPIC_TMR 0xE5
#define VEC_PROBE     0xE6      /* a vector nobody should raise */

/* Each returns true when the thing is there; otherwise it marks the
 * check skipped with the reason and returns false. */
bool need_hypercalls(void);
bool need_eax(uint32_t bit, const char *name);
bool need_ebx(uint32_t bit, const char *name);
bool need_edx(uint32_t bit, const char *name);
bool need_rec(uint32_t bit, const char *name);
bool need_cpus(unsigned n);

/* Reference time from TIME_REF_COUNT (0 when it faults). */
uint64_t ref_now(void);
/* Spins until TIME_REF_COUNT >= t or timeout_us of TSC time passed. */
bool wait_ref(uint64_t t, uint64_t timeout_us);

/* The calling CPU's SynIC: SIMP/SIEFP on its own pages, SCONTROL on. */
void synic_on(void);
/* All SINTs masked, SIMP/SIEFP/SCONTROL off, slots freed (this CPU). */
void synic_off(void);
/* Writes SINTn = vector | flags; returns the fault vector or -1. */
int sint_set(unsigned sint, unsigned vector, uint64_t flags);
struct hv_message *sim_slot(unsigned cpu, unsigned sint);
uint8_t *sief_area(unsigned cpu, unsigned sint);
/* Waits until the slot holds a message (type != NONE). */
bool wait_slot(unsigned cpu, unsigned sint, uint64_t timeout_us);
/* Frees a slot the way a guest should: type = NONE, EOM if pending. */
void slot_free(struct hv_message *m, bool eom_if_pending);

/* Stimer n on this CPU: disable, then program config and count. Returns
 * the first fault vector or -1. */
void stimer_stop(unsigned n);
int stimer_start(unsigned n, uint64_t config, uint64_t count);

/* Why run_on(cpu, ...) returned false, for messages. */
const char *ap_failure(unsigned cpu);

/* Interrupt bookkeeping on the calling CPU. */
uint32_t irq_count(unsigned cpu, unsigned vector);
/* Waits until the vector's count on cpu exceeds `before`. */
bool wait_irq(unsigned cpu, unsigned vector, uint32_t before, uint64_t timeout_us);

/* Marks Hyper-V state as changed, so the post-check cleanup resets it on
 * every CPU (stimers off, SINTs masked, SynIC pages off, assist off). */
void hv_state_dirty(void);

/* A GPA that is certainly not guest RAM but below MAXPHYADDR, and one that
 * is beyond the guest-physical address width. */
uint64_t gpa_unbacked(void);
uint64_t gpa_beyond(void);

/* --------------------------------------------- message-mode receiving */

/* What a SINT handler saw, one entry per delivered message. */
struct msg_seen {
    uint32_t type;
    uint8_t payload_size;
    uint8_t flags;
    uint32_t timer;             /* timer messages: payload timer index */
    uint64_t expiration;
    uint64_t delivery;
    uint64_t seen;              /* TIME_REF_COUNT in the handler */
    bool in_service;            /* vector's ISR bit inside the handler */
};

#define MSG_LOG_MAX 256
struct msg_log {
    volatile uint32_t n;        /* messages consumed */
    volatile uint32_t empty;    /* interrupts that found the slot empty */
    struct msg_seen e[MSG_LOG_MAX];
};

/* Handler behaviour, per CPU. */
enum msg_mode {
    MSG_CONSUME,                /* copy, free the slot, EOM if pending */
    MSG_CONSUME_NO_EOM,         /* copy, free the slot, no EOM (EOI only) */
    MSG_LEAVE,                  /* only record; leave the slot occupied */
};

extern struct msg_log msg_logs[MAX_CPUS];

/* Starts receiving on the calling CPU: SynIC on, SINTn -> vector with the
 * given flags (masked/auto-EOI/polling), handler installed. The handler
 * EOIs unless the SINT is AutoEOI. Returns the SINT write's fault or -1. */
int msg_receive(unsigned sint, unsigned vector, uint64_t sint_flags, enum msg_mode mode);
/* Waits until the calling-or-other CPU's log holds at least n entries. */
bool msg_wait(unsigned cpu, uint32_t n, uint64_t timeout_us);

/* NMI rescue for steps that might block this CPU in the host for good
 * (an idle that never wakes): CPU 1 sends an NMI after timeout_us unless
 * rescue_end() came first, and the check is then abandoned. Returns false
 * (and does nothing) with a single CPU. */
bool rescue_begin(uint64_t timeout_us);
void rescue_end(void);

#endif
