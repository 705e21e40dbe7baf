/* SPDX-License-Identifier: MIT */
#include "timebase.h"

#include "lib.h"
#include "x86.h"

uint64_t tsc_hz;
const char *tsc_hz_source = "unknown";

/* PIT channel 2 gated through port 0x61, counting down 50 ms in mode 0:
 * OUT2 goes high at terminal count. */
static uint64_t pit_calibrate(void)
{
    const uint16_t count = 59659;           /* 50 ms at 1.193182 MHz */
    uint8_t ctl = inb(0x61);
    if (ctl == 0xFF)
        return 0;                           /* no port 0x61 at all */
    outb(0x61, (uint8_t)((ctl & ~0x02) | 0x01));
    outb(0x43, 0xB0);
    outb(0x42, count & 0xFF);
    outb(0x42, count >> 8);
    uint64_t t0 = rdtsc();
    if (inb(0x61) & 0x20)
        return 0;                           /* OUT2 already high: no PIT */
    for (unsigned long i = 0; i < 20000000ul; i++) {
        if (inb(0x61) & 0x20) {
            uint64_t t1 = rdtsc();
            outb(0x61, ctl);
            return (t1 - t0) * 20;
        }
    }
    outb(0x61, ctl);
    return 0;
}

void timebase_init(uint64_t hv_hint)
{
    uint32_t r[4];
    cpuid(0, r);
    uint32_t max_basic = r[0];

    if (hv_hint >= 10000000ull) {
        tsc_hz = hv_hint;
        tsc_hz_source = "HV_X64_MSR_TSC_FREQUENCY";
        return;
    }
    if (max_basic >= 0x15) {
        cpuid(0x15, r);
        if (r[0] && r[1] && r[2]) {
            tsc_hz = muldiv64(r[2], r[1], r[0]);
            tsc_hz_source = "CPUID 0x15";
            return;
        }
    }
    if (max_basic >= 0x16) {
        cpuid(0x16, r);
        if (r[0]) {
            tsc_hz = (uint64_t)r[0] * 1000000ull;
            tsc_hz_source = "CPUID 0x16";
            return;
        }
    }
    uint64_t pit = pit_calibrate();
    if (pit >= 10000000ull) {
        tsc_hz = pit;
        tsc_hz_source = "PIT channel 2";
        return;
    }
    /* Nothing to measure against: assume a fast clock, so timeouts err on
     * the long side (still bounded). */
    tsc_hz = 4000000000ull;
    tsc_hz_source = "assumed 4 GHz";
}

uint64_t tsc_to_ns(uint64_t ticks)
{
    return muldiv64(ticks, 1000000000ull, tsc_hz);
}

uint64_t us_to_tsc(uint64_t us)
{
    return muldiv64(us, tsc_hz, 1000000ull);
}

uint64_t now_us(void)
{
    return muldiv64(rdtsc(), 1000000ull, tsc_hz);
}

void delay_us(uint64_t us)
{
    deadline_t d = deadline_us(us);
    while (!deadline_passed(d))
        cpu_relax();
}

deadline_t deadline_us(uint64_t us)
{
    return rdtsc() + us_to_tsc(us);
}

bool deadline_passed(deadline_t d)
{
    return (int64_t)(rdtsc() - d) >= 0;
}

bool wait_flag(volatile uint32_t *flag, uint64_t timeout_us)
{
    deadline_t d = deadline_us(timeout_us);
    while (!*flag) {
        if (deadline_passed(d))
            return *flag != 0;
        cpu_relax();
    }
    return true;
}
