/* SPDX-License-Identifier: MIT */
/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode. */
#ifndef HVCONF_APIC_H
#define HVCONF_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_ID       0x020
#define APIC_TPR      0x080
#define APIC_PPR      0x0A0
#define APIC_EOI      0x0B0
#define APIC_SVR      0x0F0
#define APIC_ISR      0x100
#define APIC_IRR      0x200
#define APIC_ESR      0x280
#define APIC_ICR_LO   0x300
#define APIC_ICR_HI   0x310
#define APIC_LVT_TMR  0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERR  0x370
#define APIC_TMR_INIT 0x380
#define APIC_TMR_CUR  0x390
#define APIC_TMR_DIV  0x3E0

#define ICR_FIXED     0x00000
#define ICR_NMI       0x00400
#define ICR_INIT      0x00500
#define ICR_STARTUP   0x00600
#define ICR_PENDING   0x01000
#define ICR_ASSERT    0x04000
#define ICR_LEVEL     0x08000
#define ICR_SELF      0x40000
#define ICR_ALL_BUT_SELF 0xC0000

extern bool apic_x2;            /* x2APIC mode chosen at boot */
extern uint64_t apic_timer_hz;  /* measured at boot */

void apic_choose_mode(bool want_x2apic);
void legacy_pic_disable(void);
void apic_init_cpu(void);
uint32_t apic_read(unsigned reg);
void apic_write(unsigned reg, uint32_t v);
uint32_t apic_id(void);
void apic_eoi(void);
/* ICR send to a physical APIC ID (ignored for the shorthand forms). */
void apic_icr(uint32_t dest, uint32_t low);
bool apic_isr_set(unsigned vector);
bool apic_irr_set(unsigned vector);
/* EOI until nothing is in service (cleanup between checks). */
void apic_drain_isr(void);

void apic_timer_oneshot(uint32_t ticks, unsigned vector);
void apic_timer_stop(void);
uint32_t apic_timer_current(void);
void apic_timer_calibrate(void);

/* Per-CPU watchdog on the LAPIC timer (divide by 128, so minutes fit):
 * on expiry the CPU abandons its current check (CATCH_TIMEOUT). */
void watchdog_arm(uint64_t us);
void watchdog_disarm(void);

#endif
