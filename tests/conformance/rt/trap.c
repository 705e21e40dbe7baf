/* SPDX-License-Identifier: MIT */
/*
 * GDT/TSS/IDT set-up and the C side of every trap: exceptions are handed
 * to the innermost catch context, interrupts are counted and passed to the
 * check's hook, the watchdog and NMI rescue abandon a stuck check.
 */
#include "apic.h"
#include "console.h"
#include "cpu.h"
#include "lib.h"
#include "x86.h"

struct idt_entry {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t rsvd;
} __attribute__((packed));

struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define GDT_FIXED 5
static uint64_t gdt[GDT_FIXED + 2 * MAX_CPUS] ALIGNED(16);
static struct idt_entry idt[256] ALIGNED(16);
static uint8_t df_stacks[MAX_CPUS][4096] ALIGNED(16);
static uint8_t ring0_stacks[MAX_CPUS][8192] ALIGNED(16);

extern char isr_stubs[];
extern char user_exit_ud2[];

static irq_hook_fn irq_hooks[256];
static unsigned irq_flags[256];

static void set_gate(unsigned vec, unsigned ist)
{
    uint64_t off = (uint64_t)(isr_stubs + 16 * vec);
    idt[vec] = (struct idt_entry){
        .off_lo = (uint16_t)off,
        .sel = KCODE,
        .ist = (uint8_t)ist,
        .type = 0x8E,                       /* present, DPL0 interrupt gate */
        .off_mid = (uint16_t)(off >> 16),
        .off_hi = (uint32_t)(off >> 32),
    };
}

static void tables_build_once(void)
{
    static bool built;
    if (built)
        return;
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull;   /* KCODE: 64-bit code, DPL0 */
    gdt[2] = 0x00CF92000000FFFFull;   /* KDATA */
    gdt[3] = 0x00CFF2000000FFFFull;   /* UDATA: DPL3 */
    gdt[4] = 0x00AFFA000000FFFFull;   /* UCODE: 64-bit code, DPL3 */
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, v == 8 ? 1 : 0);
    built = true;
}

void gdt_idt_load(struct cpu *c)
{
    struct tss64 *t = &c->tss;
    memset(t, 0, sizeof(*t));
    t->rsp[0] = (uint64_t)(ring0_stacks[c->index] + sizeof(ring0_stacks[0]));
    t->ist[0] = (uint64_t)(df_stacks[c->index] + sizeof(df_stacks[0]));
    t->iomap_base = sizeof(*t);         /* no I/O bitmap: CPL3 port I/O faults */

    uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;
    unsigned slot = GDT_FIXED + 2 * c->index;
    gdt[slot] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[slot + 1] = base >> 32;

    struct desc_ptr g = { sizeof(gdt) - 1, (uint64_t)gdt };
    struct desc_ptr i = { sizeof(idt) - 1, (uint64_t)idt };
    uint16_t tss_sel = (uint16_t)(TSS_SEL0 + 16 * c->index);
    __asm__ volatile("lgdt %0" : : "m"(g));
    __asm__ volatile("lidt %0" : : "m"(i));
    /* Reload CS and the data segments from the new table. */
    __asm__ volatile("pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl %1, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     :
                     : "i"(KCODE), "i"(KDATA)
                     : "rax", "memory");
    __asm__ volatile("ltr %0" : : "r"(tss_sel));
}

void cpu_setup_common(struct cpu *c)
{
    tables_build_once();
    c->self = c;
    wrmsr(0xC0000101, (uint64_t)c);     /* IA32_GS_BASE */
    gdt_idt_load(c);
}

void irq_set_hook(unsigned vector, irq_hook_fn fn, unsigned flags)
{
    irq_hooks[vector & 0xFF] = fn;
    irq_flags[vector & 0xFF] = flags;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void irq_reset_hooks(void)
{
    for (unsigned v = 0; v < 256; v++) {
        irq_hooks[v] = 0;
        irq_flags[v] = 0;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void catch_push(struct jmpctx *j)
{
    struct cpu *c = this_cpu();
    j->prev = c->catch_top;
    j->vector = CATCH_NONE;
    j->error_code = 0;
    j->cr2 = 0;
    j->fault_rip = 0;
    j->user_result = 0;
    c->catch_top = j;
}

void catch_pop(struct jmpctx *j)
{
    struct cpu *c = this_cpu();
    if (c->catch_top == j)
        c->catch_top = j->prev;
}

/* Turn the trap frame into a return from catch_setjmp(j) == 1. */
static void resume_at(struct cpu *c, struct trap_frame *f, struct jmpctx *j, uint32_t vec)
{
    j->vector = vec;
    j->error_code = f->error_code;
    j->fault_rip = f->rip;
    if (vec == 14)
        j->cr2 = read_cr2();
    if (vec == VEC_USER_EXIT)
        j->user_result = f->rdi;
    c->catch_top = j->prev;
    f->rip = (uint64_t)catch_resume;
    f->rdi = (uint64_t)j;
    f->cs = KCODE;
    f->ss = KDATA;
    f->rsp = j->rsp;
    f->rflags &= ~(uint64_t)0x40100;    /* no TF, no AC */
}

static void abandon_check(struct cpu *c, struct trap_frame *f, uint32_t why)
{
    struct jmpctx *j = c->check_ctx;
    c->watchdog_armed = false;
    c->nmi_rescue_armed = false;
    resume_at(c, f, j, why);
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

const char *vector_name(unsigned v)
{
    if (v < 32 && exc_names[v])
        return exc_names[v];
    switch (v) {
    case CATCH_TIMEOUT:
        return "timeout";
    case CATCH_NMI_RESCUE:
        return "NMI rescue";
    case VEC_USER_EXIT:
        return "user exit";
    }
    return "interrupt";
}

void trap_dispatch(struct trap_frame *f)
{
    struct cpu *c = this_cpu();
    unsigned v = (unsigned)f->vector;

    if (v == 2) {
        c->nmi_count++;
        if (c->nmi_rescue_armed && c->check_ctx)
            abandon_check(c, f, CATCH_NMI_RESCUE);
        return;
    }

    if (v == 6 && (f->cs & 3) == 3 && f->rip == (uint64_t)user_exit_ud2) {
        if (c->catch_top) {
            resume_at(c, f, c->catch_top, VEC_USER_EXIT);
            return;
        }
        panic("stray user exit on CPU %u", c->index);
    }

    if (v < 32) {
        if (c->catch_top) {
            resume_at(c, f, c->catch_top, v);
            return;
        }
        panic("unexpected %s (vector %u) on CPU %u at rip %lx, error %lx, cr2 %lx", 
              vector_name(v), v, c->index, f->rip, f->error_code, read_cr2());
    }

    if (v == VEC_SPURIOUS) {
        c->spurious_count++;
        return;
    }

    c->irq_count[v]++;
    c->irq_tsc[v] = rdtsc();

    if (v == VEC_WATCHDOG) {
        apic_eoi();
        if (c->watchdog_armed && c->check_ctx)
            abandon_check(c, f, CATCH_TIMEOUT);
        return;
    }

    irq_hook_fn hook = irq_hooks[v];
    unsigned flags = irq_flags[v];
    if (hook)
        hook(c, v);
    if (!(flags & IRQ_NO_EOI))
        apic_eoi();
}

int rdmsr_safe(uint32_t msr, uint64_t *val)
{
    struct jmpctx j;
    if (CATCH(&j)) {
        *val = rdmsr(msr);
        catch_pop(&j);
        return -1;
    }
    *val = 0;
    return (int)j.vector;
}

int wrmsr_safe(uint32_t msr, uint64_t val)
{
    struct jmpctx j;
    if (CATCH(&j)) {
        wrmsr(msr, val);
        catch_pop(&j);
        return -1;
    }
    return (int)j.vector;
}

int read8_safe(const volatile uint8_t *p, uint8_t *val)
{
    struct jmpctx j;
    if (CATCH(&j)) {
        *val = *p;
        catch_pop(&j);
        return -1;
    }
    return (int)j.vector;
}

int write8_safe(volatile uint8_t *p, uint8_t val)
{
    struct jmpctx j;
    if (CATCH(&j)) {
        *p = val;
        catch_pop(&j);
        return -1;
    }
    return (int)j.vector;
}
