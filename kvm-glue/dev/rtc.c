/* SPDX-License-Identifier: MIT */
/*
 * The CMOS clock, read-only: index port 0x70, data port 0x71, the host's
 * UTC time in binary 24-hour format. Guests read it once for the wall
 * clock; without it Linux polls the update-in-progress bit of a floating
 * bus for seconds before giving up. No alarms, no periodic interrupt (the
 * FADT says there is no RTC device to drive).
 */
#include <time.h>

#include "kvm-glue/vmm.h"

#define RTC_INDEX 0x70u
#define RTC_DATA  0x71u

struct rtc {
    pthread_mutex_t lock;
    uint8_t index;
};

static uint8_t rtc_reg(uint8_t idx)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    switch (idx) {
    case 0x00: return (uint8_t)tm.tm_sec;
    case 0x02: return (uint8_t)tm.tm_min;
    case 0x04: return (uint8_t)tm.tm_hour;
    case 0x06: return (uint8_t)(tm.tm_wday + 1);
    case 0x07: return (uint8_t)tm.tm_mday;
    case 0x08: return (uint8_t)(tm.tm_mon + 1);
    case 0x09: return (uint8_t)(tm.tm_year % 100);
    case 0x32: return (uint8_t)(19 + tm.tm_year / 100);  /* century */
    case 0x0A: return 0x26;        /* no update in progress, 32 kHz base */
    case 0x0B: return 0x06;        /* binary, 24-hour */
    case 0x0C: return 0x00;        /* no interrupt flags */
    case 0x0D: return 0x80;        /* valid RAM and time */
    default: return 0x00;
    }
}

static void rtc_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    struct rtc *r = opaque;
    pthread_mutex_lock(&r->lock);
    if (port == RTC_INDEX) {
        if (is_write)
            r->index = data[0] & 0x7F;   /* bit 7 is the NMI mask */
        else
            data[0] = 0xFF;
    } else if (!is_write) {
        data[0] = rtc_reg(r->index);
    }
    for (uint32_t i = 1; !is_write && i < size; i++)
        data[i] = 0xFF;
    pthread_mutex_unlock(&r->lock);
}

void rtc_init(struct vmm *vm)
{
    static struct rtc r = { PTHREAD_MUTEX_INITIALIZER, 0 };
    vmm_pio_register(vm, RTC_INDEX, 2, rtc_pio, &r, "cmos-rtc");
}
