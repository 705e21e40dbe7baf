/* SPDX-License-Identifier: MIT */
#include "apic.h"

#include "cpu.h"
#include "layout.h"
#include "lib.h"
#include "timebase.h"
#include "x86.h"

#define MSR_APIC_BASE 0x1B

bool apic_x2;
uint64_t apic_timer_hz;
static volatile uint32_t *apic_mmio;

void apic_choose_mode(bool want_x2apic)
{
    uint32_t r[4];
    cpuid(1, r);
    apic_x2 = want_x2apic && (r[2] & (1u << 21));
    apic_mmio = (volatile uint32_t *)(uintptr_t)(rdmsr(MSR_APIC_BASE) & 0xFFFFF000ull);
}

uint32_t apic_read(unsigned reg)
{
    if (apic_x2)
        return (uint32_t)rdmsr(0x800 + (reg >> 4));
    return apic_mmio[reg / 4];
}

void apic_write(unsigned reg, uint32_t v)
{
    if (apic_x2)
        wrmsr(0x800 + (reg >> 4), v);
    else
        apic_mmio[reg / 4] = v;
}

/* The BIOS leaves the 8259s delivering IRQ0 as vector 8 through LINT0
 * (virtual wire). Move them off the exception vectors and mask them. */
void legacy_pic_disable(void)
{
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 0x20);
    outb(0xA1, 0x28);
    outb(0x21, 0x04);
    outb(0xA1, 0x02);
    outb(0x21, 0x01);
    outb(0xA1, 0x01);
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

void apic_init_cpu(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    base |= 1u << 11;                       /* global enable */
    if (apic_x2)
        base |= 1u << 10;
    wrmsr(MSR_APIC_BASE, base);
    apic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);
    apic_write(APIC_TPR, 0);
    apic_write(APIC_LVT_TMR, 1u << 16);     /* masked until armed */
    apic_write(APIC_LVT_LINT0, 1u << 16);
    apic_write(APIC_LVT_LINT1, 4u << 8);    /* NMI, as wired on PCs */
    apic_write(APIC_LVT_ERR, 1u << 16);
    apic_write(APIC_TMR_DIV, 0xB);          /* divide by 1 */
    apic_write(APIC_ESR, 0);
}

uint32_t apic_id(void)
{
    uint32_t id = apic_read(APIC_ID);
    return apic_x2 ? id : id >> 24;
}

void apic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

void apic_icr(uint32_t dest, uint32_t low)
{
    if (apic_x2) {
        wrmsr(0x830, ((uint64_t)dest << 32) | low);
        return;
    }
    apic_write(APIC_ICR_HI, dest << 24);
    apic_write(APIC_ICR_LO, low);
    for (unsigned i = 0; i < 1000000 && (apic_read(APIC_ICR_LO) & ICR_PENDING); i++)
        cpu_relax();
}

bool apic_isr_set(unsigned vector)
{
    return apic_read(APIC_ISR + 0x10 * (vector / 32)) & (1u << (vector % 32));
}

bool apic_irr_set(unsigned vector)
{
    return apic_read(APIC_IRR + 0x10 * (vector / 32)) & (1u << (vector % 32));
}

void apic_drain_isr(void)
{
    for (unsigned n = 0; n < 256; n++) {
        bool any = false;
        for (unsigned i = 0; i < 8; i++)
            any |= apic_read(APIC_ISR + 0x10 * i) != 0;
        if (!any)
            return;
        apic_eoi();
    }
}

void apic_timer_oneshot(uint32_t ticks, unsigned vector)
{
    apic_write(APIC_TMR_DIV, 0xB);
    apic_write(APIC_LVT_TMR, vector & 0xFF);
    apic_write(APIC_TMR_INIT, ticks ? ticks : 1);
}

void apic_timer_stop(void)
{
    apic_write(APIC_TMR_INIT, 0);
    apic_write(APIC_LVT_TMR, 1u << 16);
}

uint32_t apic_timer_current(void)
{
    return apic_read(APIC_TMR_CUR);
}

/* Count timer ticks over 10 ms of TSC time (masked, so nothing fires). */
void apic_timer_calibrate(void)
{
    apic_write(APIC_TMR_DIV, 0xB);
    apic_write(APIC_LVT_TMR, (1u << 16) | VEC_WATCHDOG);
    apic_write(APIC_TMR_INIT, 0xFFFFFFFFu);
    uint64_t t0 = rdtsc();
    uint32_t c0 = apic_timer_current();
    delay_us(10000);
    uint32_t c1 = apic_timer_current();
    uint64_t t1 = rdtsc();
    apic_timer_stop();
    uint64_t ticks = (uint64_t)(c0 - c1);
    uint64_t ns = tsc_to_ns(t1 - t0);
    apic_timer_hz = ns ? muldiv64(ticks, 1000000000ull, ns) : 0;
    if (!apic_timer_hz)
        apic_timer_hz = 1000000000ull;      /* the usual VMM bus clock */
}

void watchdog_arm(uint64_t us)
{
    struct cpu *c = this_cpu();
    uint64_t ticks = muldiv64(us, apic_timer_hz / 128, 1000000ull);
    if (ticks > 0xFFFFFFFFull)
        ticks = 0xFFFFFFFFull;
    c->watchdog_armed = true;
    apic_write(APIC_TMR_DIV, 0xA);          /* divide by 128 */
    apic_write(APIC_LVT_TMR, VEC_WATCHDOG);
    apic_write(APIC_TMR_INIT, ticks ? (uint32_t)ticks : 1);
}

void watchdog_disarm(void)
{
    this_cpu()->watchdog_armed = false;
    apic_timer_stop();
}
