/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a sequence of synthetic-MSR accesses and host events
 * on a 2-VP partition with every feature, against a small in-harness host
 * (sixteen pages of guest RAM, a clock the input advances, one-shot timers
 * that fire when it passes their deadline).
 *
 * The input is a list of 12-byte records:
 *   u8 op, u8 vp (mod 2), u16 msr offset (0x40000000 + offset mod 0x200),
 *   u64 value.
 * Ops (op mod 9): read, write, advance time by value mod 20 ms (firing due
 * timers), a spurious or early expiry of timer value mod 4, hv_vp_poll,
 * host EOI of vector value, host-posted message to SINT value mod 16,
 * host-signalled event flag, APIC-assist set/complete.
 *
 * Invariants (abort = finding): host ops see only existing VPs and timers,
 * mapped pages are all unmapped at destroy, an MSR value written with
 * success and read back from a plain storage MSR (GUEST_OS_ID, CRASH_P*)
 * is the same, and time never runs backwards (TIME_REF_COUNT).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvshim/hvshim.h"

#define FUZZ_RAM_PAGES 16u
#include "fuzz_ram.h"

#define NR_VPS 2u
#define TSC_HZ 2500000000ull

struct timer {
    bool armed;
    uint64_t deadline;
};

struct host {
    struct fuzz_ram mem;     /* first: the RAM ops take the host as context */
    uint32_t maps;
    uint64_t ns;
    struct timer timers[NR_VPS][HV_STIMER_COUNT];
};

static struct host host;

static void check_vp(uint32_t vp)
{
    CHECK(vp < NR_VPS);
}

static void op_irq_inject(void *ctx, uint32_t vp, uint8_t vector, bool auto_eoi)
{
    (void)ctx; (void)vector; (void)auto_eoi;
    check_vp(vp);
}

static void op_ipi_send(void *ctx, const struct hv_vp_set *vps, uint8_t vector)
{
    (void)ctx; (void)vps; (void)vector;
}

static void op_vp_kick(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }
static void op_slot_wait(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }

static void op_apic_eoi(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }
static uint64_t op_icr_read(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); return 0; }
static void op_icr_write(void *ctx, uint32_t vp, uint64_t v) { (void)ctx; (void)v; check_vp(vp); }
static uint8_t op_tpr_read(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); return 0; }
static void op_tpr_write(void *ctx, uint32_t vp, uint8_t v) { (void)ctx; (void)v; check_vp(vp); }

static void op_tlb_flush(void *ctx, uint32_t caller, const struct hv_tlb_flush *req)
{
    (void)ctx; (void)req;
    check_vp(caller);
}

static int op_switch_as(void *ctx, uint32_t vp, uint64_t cr3)
{
    (void)ctx; (void)cr3;
    check_vp(vp);
    return 0;
}

static uint64_t op_guest_tsc(void *ctx)
{
    struct host *h = ctx;
    return (uint64_t)(((unsigned __int128)h->ns * TSC_HZ) / 1000000000ull) + 777;
}

static uint64_t op_now_ns(void *ctx)
{
    struct host *h = ctx;
    return h->ns;
}

static void op_timer_arm(void *ctx, uint32_t vp, uint32_t timer, uint64_t delay)
{
    struct host *h = ctx;
    check_vp(vp);
    CHECK(timer < HV_STIMER_COUNT);
    h->timers[vp][timer].armed = true;
    h->timers[vp][timer].deadline = delay > UINT64_MAX - h->ns ? UINT64_MAX : h->ns + delay;
}

static void op_timer_cancel(void *ctx, uint32_t vp, uint32_t timer)
{
    struct host *h = ctx;
    check_vp(vp);
    CHECK(timer < HV_STIMER_COUNT);
    h->timers[vp][timer].armed = false;
}

static uint64_t op_vp_runtime_ns(void *ctx, uint32_t vp)
{
    struct host *h = ctx;
    check_vp(vp);
    return h->ns / 2;
}

static void op_vp_idle(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }
static void op_vp_yield(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }

static void op_partition_event(void *ctx, uint32_t vp, enum hv_partition_event ev,
                               const struct hv_crash_report *crash)
{
    (void)ctx;
    check_vp(vp);
    if (ev == HV_EVENT_CRASH) {
        CHECK(crash != NULL);
        volatile char sink = 0;
        for (uint32_t i = 0; crash->message && i < crash->message_len; i++)
            sink ^= crash->message[i];      /* the message must be readable */
        (void)sink;
    }
}

static uint16_t op_post_message(void *ctx, uint32_t vp, uint32_t c, uint32_t t, const void *p,
                                uint32_t n)
{
    (void)ctx; (void)c; (void)t; (void)p;
    check_vp(vp);
    CHECK(n <= HV_MESSAGE_PAYLOAD_MAX);
    return 0;
}

static uint16_t op_signal_event(void *ctx, uint32_t vp, uint32_t c, uint16_t f)
{
    (void)ctx; (void)c; (void)f;
    check_vp(vp);
    return 0;
}

static void op_slot_freed(void *ctx, uint32_t vp, uint32_t sint)
{
    (void)ctx;
    check_vp(vp);
    CHECK(sint < HV_SINT_COUNT);
}

static void op_xmm_read(void *ctx, uint32_t vp, uint64_t xmm[12])
{
    (void)ctx;
    check_vp(vp);
    memset(xmm, 0, 12 * sizeof(uint64_t));
}

static void op_xmm_write(void *ctx, uint32_t vp, const uint64_t *q, uint32_t first, uint32_t n)
{
    (void)ctx; (void)q;
    check_vp(vp);
    CHECK(first <= 12 && n <= 12 - first);
}

static const struct hv_host_ops ops = {
    .gpa_read = fuzz_gpa_read,
    .gpa_write = fuzz_gpa_write,
    .page_map = fuzz_page_map,
    .page_unmap = fuzz_page_unmap,
    .hypercall_page_fill = fuzz_hypercall_page_fill,
    .irq_inject = op_irq_inject,
    .ipi_send = op_ipi_send,
    .vp_kick = op_vp_kick,
    .apic_eoi = op_apic_eoi,
    .apic_icr_read = op_icr_read,
    .apic_icr_write = op_icr_write,
    .apic_tpr_read = op_tpr_read,
    .apic_tpr_write = op_tpr_write,
    .tlb_flush = op_tlb_flush,
    .switch_address_space = op_switch_as,
    .guest_tsc = op_guest_tsc,
    .now_ns = op_now_ns,
    .timer_arm = op_timer_arm,
    .timer_cancel = op_timer_cancel,
    .vp_runtime_ns = op_vp_runtime_ns,
    .vp_idle = op_vp_idle,
    .vp_yield = op_vp_yield,
    .partition_event = op_partition_event,
    .post_message = op_post_message,
    .signal_event = op_signal_event,
    .message_slot_freed = op_slot_freed,
    .slot_wait = op_slot_wait,
    .xmm_read = op_xmm_read,
    .xmm_write = op_xmm_write,
};

/* Advance the clock, firing due timers in deadline order. */
static void advance(struct hv_vp *vps, uint64_t ns)
{
    uint64_t target = host.ns + ns;
    for (unsigned guard = 0; guard < 64; guard++) {
        int bv = -1, bt = -1;
        uint64_t best = UINT64_MAX;
        for (uint32_t v = 0; v < NR_VPS; v++)
            for (uint32_t t = 0; t < HV_STIMER_COUNT; t++)
                if (host.timers[v][t].armed && host.timers[v][t].deadline <= target &&
                    host.timers[v][t].deadline <= best) {
                    best = host.timers[v][t].deadline;
                    bv = (int)v;
                    bt = (int)t;
                }
        if (bv < 0)
            break;
        if (best > host.ns)
            host.ns = best;
        host.timers[bv][bt].armed = false;
        hv_stimer_expired(&vps[bv], (uint32_t)bt);
        hv_vp_poll(&vps[bv]);
    }
    host.ns = target;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool plain_storage(uint32_t msr)
{
    return msr == HV_MSR_GUEST_OS_ID || (msr >= HV_MSR_CRASH_P0 && msr <= HV_MSR_CRASH_P4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hv_partition part;
    static struct hv_vp vps[NR_VPS];
    struct hv_config cfg;
    uint64_t last_ref = 0;

    memset(&host, 0, sizeof(host));
    host.ns = 1000000;
    hv_config_defaults(&cfg, NR_VPS, TSC_HZ);
    cfg.features = hv_features_close(HV_FEATURES_ALL);
    CHECK(hv_partition_init(&part, &ops, &host, &cfg, vps) == HV_OK);

    for (size_t off = 0; off + 12 <= size; off += 12) {
        const uint8_t *r = data + off;
        uint32_t vp = r[1] % NR_VPS;
        uint32_t msr = HV_MSR_RANGE_FIRST + ((uint32_t)(r[2] | (r[3] << 8)) % 0x200u);
        uint64_t value = rd64(r + 4);
        uint64_t got;
        switch (r[0] % 9) {
        case 0:
            hv_msr_read(&vps[vp], msr, &got);
            break;
        case 1:
            if (hv_msr_write(&vps[vp], msr, value) == HV_MSR_OK && plain_storage(msr)) {
                CHECK(hv_msr_read(&vps[vp], msr, &got) == HV_MSR_OK);
                CHECK(got == value);
            }
            break;
        case 2:
            advance(vps, value % 20000000ull);
            break;
        case 3:
            hv_stimer_expired(&vps[vp], (uint32_t)(value % HV_STIMER_COUNT));
            break;
        case 4:
            /* What a host blind to EOIs does after slot_wait. */
            hv_vp_poll(&vps[vp]);
            (void)hv_vp_slot_waiters(&vps[vp]);
            break;
        case 5:
            hv_synic_eoi(&vps[vp], (uint8_t)value);
            break;
        case 6: {
            uint8_t payload[HV_MESSAGE_PAYLOAD_MAX];
            memset(payload, (int)(value >> 8), sizeof(payload));
            hv_synic_post_message(&part, vp, (uint32_t)(value % HV_SINT_COUNT),
                                  (uint32_t)(value >> 32) | 1u, 0,
                                  payload, (uint32_t)((value >> 16) % (HV_MESSAGE_PAYLOAD_MAX + 1)));
            break;
        }
        case 7:
            hv_synic_signal_event(&part, vp, (uint32_t)(value % HV_SINT_COUNT),
                                  (uint32_t)((value >> 8) % (HV_EVENT_FLAGS_COUNT + 8)));
            break;
        case 8: {
            uint8_t vec;
            if (value & 1)
                hv_apic_assist_set(&vps[vp], (uint8_t)(value >> 8));
            else if (hv_apic_assist_completed(&vps[vp], &vec))
                hv_apic_assist_clear(&vps[vp]);
            break;
        }
        }
        uint64_t ref = hv_time_ref_now(&part);
        CHECK(ref >= last_ref);
        last_ref = ref;
    }
    hv_partition_destroy(&part);
    CHECK(host.mem.maps == 0);
    return 0;
}
