/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU state, the trap frame, and "catch": a setjmp-style way for a check
 * to run code that may fault (or hang waiting for an interrupt) and get the
 * vector back instead of dying.
 */
#ifndef HVCONF_CPU_H
#define HVCONF_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Field order is fixed: isr.S saves and restores the first eight. */
struct jmpctx {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
    struct jmpctx *prev;
    uint32_t vector;            /* exception vector, VEC_USER_EXIT or CATCH_* */
    uint64_t error_code;
    uint64_t cr2;
    uint64_t fault_rip;
    uint64_t user_result;       /* what a CPL3 function returned */
};

struct tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3;
    uint16_t iomap_base;
} __attribute__((packed));

typedef void (*work_fn)(void *arg);

struct cpu {
    struct cpu *self;                  /* %gs:0 */
    uint32_t index;
    uint32_t apic_id;
    volatile int online;
    volatile int lost;                 /* stopped answering run_on() */

    struct jmpctx *catch_top;          /* innermost active catch */
    struct jmpctx *check_ctx;          /* where a watchdog expiry lands */
    volatile bool watchdog_armed;
    volatile bool nmi_rescue_armed;

    volatile uint32_t irq_count[256];
    volatile uint64_t irq_tsc[256];    /* TSC at the last delivery */
    volatile uint32_t nmi_count;
    volatile uint32_t spurious_count;

    /* run_on() mailbox */
    volatile work_fn work;
    void *volatile work_arg;
    volatile uint32_t work_seq;
    volatile uint32_t done_seq;
    volatile uint32_t work_fault;      /* vector that ended the work, or CATCH_NONE */
    uint64_t work_timeout_us;

    struct tss64 tss;
} __attribute__((aligned(64)));

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;                 /* CPUs online, BSP included */

static inline struct cpu *this_cpu(void)
{
    struct cpu *c;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(c));
    return c;
}

/* catch_setjmp returns 0 when called and 1 when a trap resumes there. */
int catch_setjmp(struct jmpctx *j) __attribute__((returns_twice));
void catch_push(struct jmpctx *j);
void catch_pop(struct jmpctx *j);

/*
 * Usage:
 *   struct jmpctx j;
 *   if (CATCH(&j)) { ...code that may fault...; catch_pop(&j); }
 *   else { j.vector says what happened }
 */
#define CATCH(j) (catch_push(j), catch_setjmp(j) == 0)
#define CATCH_NONE 0xFFFFFFFFu     /* j.vector while nothing was caught */

/* Runs `body` under a catch; evaluates to the vector, or -1 if nothing
 * faulted. */
#define FAULT_OF(body)                                          \
    ({                                                          \
        struct jmpctx j_;                                       \
        if (CATCH(&j_)) {                                       \
            body;                                               \
            catch_pop(&j_);                                     \
        }                                                       \
        j_.vector == CATCH_NONE ? -1 : (int)j_.vector;          \
    })

/* Safe instruction wrappers: return -1 when nothing faulted, else the
 * vector. */
int rdmsr_safe(uint32_t msr, uint64_t *val);
int wrmsr_safe(uint32_t msr, uint64_t val);
int read8_safe(const volatile uint8_t *p, uint8_t *val);
int write8_safe(volatile uint8_t *p, uint8_t val);

/* Installed by the runtime; checks hook their own vectors here. */
typedef void (*irq_hook_fn)(struct cpu *c, unsigned vector);
#define IRQ_NO_EOI 1u           /* the hook decides about EOI itself */
void irq_set_hook(unsigned vector, irq_hook_fn fn, unsigned flags);
void irq_reset_hooks(void);

void gdt_idt_load(struct cpu *c);
void cpu_setup_common(struct cpu *c);
void enter_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t user_rsp)
    __attribute__((noreturn));
void catch_resume(void);

/* "#GP", "timeout", ... for diagnostics. */
const char *vector_name(unsigned v);

/* Ends the run: TAP "Bail out!" line and debug-exit failure. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
