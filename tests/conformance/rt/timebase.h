/* SPDX-License-Identifier: MIT */
/* TSC-based time for timeouts and delays (independent of Hyper-V time). */
#ifndef HVCONF_TIMEBASE_H
#define HVCONF_TIMEBASE_H

#include <stdbool.h>
#include <stdint.h>

extern uint64_t tsc_hz;
extern const char *tsc_hz_source;

/* hv_hint: TSC frequency from HV_X64_MSR_TSC_FREQUENCY, or 0. */
void timebase_init(uint64_t hv_hint);
uint64_t tsc_to_ns(uint64_t ticks);
uint64_t us_to_tsc(uint64_t us);
uint64_t now_us(void);
void delay_us(uint64_t us);

typedef uint64_t deadline_t;
deadline_t deadline_us(uint64_t us);
bool deadline_passed(deadline_t d);

/* Spin (with pause) until *flag becomes non-zero or the time is up. */
bool wait_flag(volatile uint32_t *flag, uint64_t timeout_us);

#endif
