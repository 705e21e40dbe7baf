/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one hypercall per input, through hv_hypercall on a
 * partition with a small in-harness host (four pages of guest RAM).
 *
 * Input layout (missing bytes read as zero):
 *   0   u64 features (masked to the known ones; the hypercall page is
 *       enabled when HV_F_HYPERCALL survives)
 *   8   u8 nr_vps - 1 (mod 4), u8 calling VP, u8 CPU mode, u8 CPL,
 *       u8 preemption pattern, u8 host status selector, 2 spare
 *   16  u64 control, u64 RDX, u64 R8
 *   40  12 x u64 XMM0-XMM5
 *   136 the rest: the contents of guest page 1 (where the seeds point
 *       RDX/R8)
 *
 * Invariants checked (abort = finding):
 *   - a completed call's result has only status and reps-completed bits;
 *     reps completed <= rep count;
 *   - a continuation advances the rep start, stays below the count and
 *     ends within rep-count runs;
 *   - #UD leaves the result register alone;
 *   - no host op sees a VP, vector, range or size outside its contract.
 * The pure decoders (control word, VP set) are also run on the raw bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvshim/hvshim.h"
#include "hypercalls/hypercalls.h"

#define FUZZ_RAM_PAGES 4u
#include "fuzz_ram.h"

#define MAX_VPS 4u

struct host {
    struct fuzz_ram mem;     /* first: the RAM ops take the host as context */
    uint32_t nr_vps;
    uint32_t maps;
    uint8_t preempt_pattern;
    uint32_t preempt_calls;
    uint16_t host_status;
};

static struct host host;

static void check_vp(uint32_t vp)
{
    CHECK(vp < host.nr_vps);
}

static void check_set(const struct hv_vp_set *s)
{
    CHECK(s != NULL);
    for (uint32_t vp = host.nr_vps; vp < HV_MAX_VPS; vp++)
        CHECK(!hv_vpset_has(s, vp));
}

static void op_irq_inject(void *ctx, uint32_t vp, uint8_t vector, bool auto_eoi)
{
    (void)ctx; (void)vector; (void)auto_eoi;
    check_vp(vp);
}

static void op_ipi_send(void *ctx, const struct hv_vp_set *vps, uint8_t vector)
{
    (void)ctx;
    check_set(vps);
    CHECK(vector >= 0x10);
}

static void op_vp_kick(void *ctx, uint32_t vp)
{
    (void)ctx;
    check_vp(vp);
}

static void op_tlb_flush(void *ctx, uint32_t caller, const struct hv_tlb_flush *req)
{
    (void)ctx;
    check_vp(caller);
    check_set(req->vps);
    if (req->ranges) {
        CHECK(req->nr_ranges >= 1 && req->nr_ranges <= 4096);
        for (uint32_t i = 0; i < req->nr_ranges; i++) {
            CHECK((req->ranges[i].gva & (HV_PAGE_SIZE - 1)) == 0);
            CHECK(req->ranges[i].pages >= 1 && req->ranges[i].pages <= 4096);
        }
    } else {
        CHECK(req->nr_ranges == 0);
    }
}

static int op_switch_address_space(void *ctx, uint32_t vp, uint64_t cr3)
{
    (void)ctx;
    check_vp(vp);
    return (cr3 & 1) ? -1 : 0;     /* some values refused, as a host may */
}

static uint64_t op_guest_tsc(void *ctx) { (void)ctx; return 1000000; }
static uint64_t op_now_ns(void *ctx) { (void)ctx; return 1000000; }

static void op_timer_arm(void *ctx, uint32_t vp, uint32_t timer, uint64_t delay)
{
    (void)ctx; (void)delay;
    check_vp(vp);
    CHECK(timer < HV_STIMER_COUNT);
}

static void op_timer_cancel(void *ctx, uint32_t vp, uint32_t timer)
{
    (void)ctx;
    check_vp(vp);
    CHECK(timer < HV_STIMER_COUNT);
}

static uint64_t op_vp_runtime_ns(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); return 0; }
static void op_vp_idle(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }
static void op_vp_yield(void *ctx, uint32_t vp) { (void)ctx; check_vp(vp); }

static bool op_should_preempt(void *ctx, uint32_t vp)
{
    struct host *h = ctx;
    check_vp(vp);
    return (h->preempt_pattern >> (h->preempt_calls++ % 8)) & 1;
}

static void op_partition_event(void *ctx, uint32_t vp, enum hv_partition_event ev,
                               const struct hv_crash_report *crash)
{
    (void)ctx; (void)ev; (void)crash;
    check_vp(vp);
}

static uint16_t op_post_message(void *ctx, uint32_t vp, uint32_t conn, uint32_t type,
                                const void *payload, uint32_t size)
{
    struct host *h = ctx;
    check_vp(vp);
    CHECK(conn != 0 && conn <= HV_CONNECTION_ID_MASK);
    CHECK(type != 0 && !(type & HVMSG_HYPERVISOR_MASK));
    CHECK(size <= HV_MESSAGE_PAYLOAD_MAX);
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < size; i++)     /* the payload must be readable */
        sink ^= ((const uint8_t *)payload)[i];
    (void)sink;
    return h->host_status;
}

static uint16_t op_signal_event(void *ctx, uint32_t vp, uint32_t conn, uint16_t flag)
{
    struct host *h = ctx;
    check_vp(vp);
    CHECK(conn != 0 && conn <= HV_CONNECTION_ID_MASK);
    CHECK(flag < HV_EVENT_FLAGS_COUNT);
    return h->host_status;
}

static void op_xmm_read(void *ctx, uint32_t vp, uint64_t xmm[12]);
static void op_xmm_write(void *ctx, uint32_t vp, const uint64_t *q, uint32_t first, uint32_t count)
{
    (void)ctx; (void)q;
    check_vp(vp);
    CHECK(first <= 12 && count <= 12 - first && count > 0);
}

static uint64_t xmm_regs[12];

static void op_xmm_read(void *ctx, uint32_t vp, uint64_t xmm[12])
{
    (void)ctx;
    check_vp(vp);
    memcpy(xmm, xmm_regs, sizeof(xmm_regs));
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
    .tlb_flush = op_tlb_flush,
    .switch_address_space = op_switch_address_space,
    .guest_tsc = op_guest_tsc,
    .now_ns = op_now_ns,
    .timer_arm = op_timer_arm,
    .timer_cancel = op_timer_cancel,
    .vp_runtime_ns = op_vp_runtime_ns,
    .vp_idle = op_vp_idle,
    .vp_yield = op_vp_yield,
    .should_preempt = op_should_preempt,
    .partition_event = op_partition_event,
    .post_message = op_post_message,
    .signal_event = op_signal_event,
    .xmm_read = op_xmm_read,
    .xmm_write = op_xmm_write,
};

/* Input cursor: bytes past the end read as zero. */
struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint8_t take8(struct cursor *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

static uint64_t take64(struct cursor *c)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)take8(c) << (8 * i);
    return v;
}

static void fuzz_pure_decoders(const uint8_t *data, size_t size)
{
    uint64_t q[70];
    uint32_t n = (uint32_t)(size / 8 < 70 ? size / 8 : 70);
    memcpy(q, data, n * 8);

    struct hc_control ctl;
    uint64_t control = n ? q[0] : 0;
    hc_decode_control(control, &ctl);
    /* re-encoding the fields gives back the control word, minus reserved bits */
    uint64_t again = ctl.code | (ctl.fast ? HV_HC_FAST : 0) |
                     ((uint64_t)ctl.varhead << HV_HC_VARHEAD_SHIFT) |
                     ((uint64_t)ctl.rep_count << HV_HC_REP_COUNT_SHIFT) |
                     ((uint64_t)ctl.rep_start << HV_HC_REP_START_SHIFT);
    CHECK(again == (control & ~HV_HC_RESERVED_MASK));
    CHECK(ctl.reserved_set == ((control & HV_HC_RESERVED_MASK) != 0));

    struct hv_vpset_view v;
    uint32_t used = hv_vpset_parse(q, n, &v);
    CHECK(used <= n);
    if (used) {
        static struct hv_vp_set set;
        uint32_t dropped = 0;
        uint32_t nr_vps = (uint32_t)(control % (HV_MAX_VPS + 1));
        hv_vpset_expand(&v, nr_vps, &set, &dropped);
        for (uint32_t vp = nr_vps; vp < HV_MAX_VPS; vp++)
            CHECK(!hv_vpset_has(&set, vp));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hv_partition part;
    static struct hv_vp vps[MAX_VPS];
    struct cursor cur = { data, size };
    struct hv_config cfg;

    fuzz_pure_decoders(data, size);

    hv_features_t features = take64(&cur) & HV_FEATURES_ALL;
    memset(&host, 0, sizeof(host));
    host.nr_vps = (take8(&cur) % MAX_VPS) + 1;
    uint32_t vp = take8(&cur) % host.nr_vps;
    uint8_t mode = take8(&cur) % 4;           /* 3: not a valid mode */
    uint8_t cpl = take8(&cur) % 4;
    host.preempt_pattern = take8(&cur);
    static const uint16_t statuses[] = { HV_STATUS_SUCCESS, HV_STATUS_INSUFFICIENT_BUFFERS,
                                         HV_STATUS_INSUFFICIENT_MEMORY, HV_STATUS_INVALID_PORT_ID };
    host.host_status = statuses[take8(&cur) % 4];
    take8(&cur);
    take8(&cur);

    struct hv_hypercall_regs regs = {
        .control = take64(&cur), .input = take64(&cur), .output = take64(&cur),
        .result = 0x5A5A5A5A5A5A5A5Aull, .mode = mode, .cpl = cpl,
    };
    for (unsigned i = 0; i < 12; i++)
        xmm_regs[i] = take64(&cur);
    size_t page = cur.n < HV_PAGE_SIZE ? cur.n : HV_PAGE_SIZE;
    memcpy(host.mem.bytes + HV_PAGE_SIZE, cur.p, page);

    hv_config_defaults(&cfg, host.nr_vps, 2500000000ull);
    cfg.features = features;
    CHECK(hv_partition_init(&part, &ops, &host, &cfg, vps) == HV_OK);
    if (hv_feature(&part, HV_F_HYPERCALL)) {
        CHECK(hv_msr_write(&vps[0], HV_MSR_GUEST_OS_ID, 0x8100000601C00000ull) == HV_MSR_OK);
        CHECK(hv_msr_write(&vps[0], HV_MSR_HYPERCALL, 3 * HV_PAGE_SIZE + 1) == HV_MSR_OK);
    }
    hv_partition_register_connection(&part, 1, HV_CONNECTION_MESSAGE);
    hv_partition_register_connection(&part, 4, HV_CONNECTION_MESSAGE);
    hv_partition_register_connection(&part, 0x2001, HV_CONNECTION_EVENT);
    hv_partition_register_connection(&part, 0x2002, HV_CONNECTION_EVENT);
    hv_partition_register_connection(&part, 0x2002, HV_CONNECTION_MESSAGE);

    const uint64_t count = (regs.control & HV_HC_REP_COUNT_MASK) >> HV_HC_REP_COUNT_SHIFT;
    uint64_t start = (regs.control & HV_HC_REP_START_MASK) >> HV_HC_REP_START_SHIFT;
    enum hv_hypercall_outcome o;
    unsigned runs = 0;
    for (;;) {
        o = hv_hypercall(&vps[vp], &regs);
        runs++;
        if (o != HV_HC_CONTINUE)
            break;
        uint64_t next = (regs.control & HV_HC_REP_START_MASK) >> HV_HC_REP_START_SHIFT;
        CHECK(next > start && next < count);
        CHECK(((regs.result >> HV_HC_RESULT_REPS_SHIFT) & 0xFFF) == next);
        start = next;
        CHECK(runs <= count);
    }
    if (o == HV_HC_INJECT_UD) {
        CHECK(regs.result == 0x5A5A5A5A5A5A5A5Aull);
    } else {
        CHECK((regs.result & ~(HV_HC_RESULT_STATUS_MASK | HV_HC_REP_COUNT_MASK)) == 0);
        CHECK(((regs.result >> HV_HC_RESULT_REPS_SHIFT) & 0xFFF) <= count);
        if (regs.output_in_gprs)
            CHECK(mode == HV_CPU_MODE_LONG);
    }
    hv_partition_destroy(&part);
    CHECK(host.mem.maps == 0);
    return 0;
}
