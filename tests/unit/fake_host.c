/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_host.h"

static bool is_ram(const struct fake_host *h, uint64_t gpa, size_t len)
{
    if (len == 0)
        return gpa <= h->ram_size;
    if (gpa >= h->ram_size || len > h->ram_size - gpa)
        return false;
    /* [gpa, gpa+len) must not touch the hole */
    return gpa + len <= h->hole_start || gpa >= h->hole_end;
}

static int op_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct fake_host *h = ctx;
    if (!is_ram(h, gpa, len))
        return -1;
    memcpy(buf, h->ram + gpa, len);
    return 0;
}

static int op_gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct fake_host *h = ctx;
    if (!is_ram(h, gpa, len))
        return -1;
    memcpy(h->ram + gpa, buf, len);
    return 0;
}

static void *op_page_map(void *ctx, uint64_t gfn)
{
    struct fake_host *h = ctx;
    if (gfn > UINT64_MAX >> HV_PAGE_SHIFT)
        return NULL;
    uint64_t gpa = gfn << HV_PAGE_SHIFT;
    if (!is_ram(h, gpa, HV_PAGE_SIZE))
        return NULL;
    h->maps++;
    return h->ram + gpa;
}

static void op_page_unmap(void *ctx, void *page)
{
    struct fake_host *h = ctx;
    assert_non_null(page);
    h->unmaps++;
    assert_true(h->unmaps <= h->maps);
}

static int op_hypercall_page_fill(void *ctx, uint64_t gpa)
{
    struct fake_host *h = ctx;
    static const uint8_t stub[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xe6, 0xee, 0xc3 };
    if (h->fail_hypercall_page_fill || !is_ram(h, gpa, HV_PAGE_SIZE))
        return -1;
    memset(h->ram + gpa, 0xcc, HV_PAGE_SIZE);
    memcpy(h->ram + gpa, stub, sizeof(stub));
    h->hypercall_page_fills++;
    h->hypercall_page_gpa = gpa;
    return 0;
}

static void op_irq_inject(void *ctx, uint32_t vp, uint8_t vector, bool auto_eoi)
{
    struct fake_host *h = ctx;
    assert_true(vp < FAKE_MAX_VPS);
    assert_true(h->nr_irqs < FAKE_MAX_RECORDS);
    h->irqs[h->nr_irqs++] = (struct fake_irq){ vp, vector, auto_eoi };
}

static void op_ipi_send(void *ctx, const struct hv_vp_set *vps, uint8_t vector)
{
    struct fake_host *h = ctx;
    assert_true(h->nr_ipis < 64);
    h->ipis[h->nr_ipis].vps = *vps;
    h->ipis[h->nr_ipis].vector = vector;
    h->nr_ipis++;
}

static void op_vp_kick(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    assert_true(vp < FAKE_MAX_VPS);
    h->kicks[vp]++;
}

static void op_apic_eoi(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    h->eois[vp]++;
}

static uint64_t op_apic_icr_read(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    return h->icr[vp];
}

static void op_apic_icr_write(void *ctx, uint32_t vp, uint64_t icr)
{
    struct fake_host *h = ctx;
    h->icr[vp] = icr;
}

static uint8_t op_apic_tpr_read(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    return h->tpr[vp];
}

static void op_apic_tpr_write(void *ctx, uint32_t vp, uint8_t tpr)
{
    struct fake_host *h = ctx;
    h->tpr[vp] = tpr;
}

static void op_tlb_flush(void *ctx, uint32_t caller, const struct hv_tlb_flush *req)
{
    struct fake_host *h = ctx;
    assert_true(h->nr_flushes < 64);
    struct fake_flush *f = &h->flushes[h->nr_flushes++];
    memset(f, 0, sizeof(*f));
    f->caller = caller;
    f->vps = *req->vps;
    f->whole_tlb = req->ranges == NULL;
    f->nr_ranges = req->nr_ranges;
    for (uint32_t i = 0; i < req->nr_ranges && i < 64; i++)
        f->ranges[i] = req->ranges[i];
    f->all_address_spaces = req->all_address_spaces;
    f->non_global_only = req->non_global_only;
    f->address_space = req->address_space;
}

static int op_switch_address_space(void *ctx, uint32_t vp, uint64_t cr3)
{
    struct fake_host *h = ctx;
    if (h->fail_switch_as)
        return -1;
    h->cr3[vp] = cr3;
    return 0;
}

static uint64_t op_guest_tsc(void *ctx)
{
    struct fake_host *h = ctx;
    return h->tsc;
}

static uint64_t op_now_ns(void *ctx)
{
    struct fake_host *h = ctx;
    return h->ns;
}

static void op_timer_arm(void *ctx, uint32_t vp, uint32_t timer, uint64_t delay_ns)
{
    struct fake_host *h = ctx;
    assert_true(vp < FAKE_MAX_VPS && timer < HV_STIMER_COUNT);
    struct fake_timer *t = &h->timers[vp][timer];
    t->armed = true;
    t->deadline_ns = h->ns + delay_ns;
    t->arms++;
}

static void op_timer_cancel(void *ctx, uint32_t vp, uint32_t timer)
{
    struct fake_host *h = ctx;
    assert_true(vp < FAKE_MAX_VPS && timer < HV_STIMER_COUNT);
    h->timers[vp][timer].armed = false;
}

static uint64_t op_vp_runtime_ns(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    return h->runtime_ns[vp];
}

static void op_vp_idle(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    h->idles[vp]++;
}

static void op_vp_yield(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    h->yields[vp]++;
}

static bool op_should_preempt(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    (void)vp;
    h->preempt_calls++;
    return h->preempt_at != 0 && h->preempt_calls == h->preempt_at;
}

static void op_partition_event(void *ctx, uint32_t vp, enum hv_partition_event ev,
                               const struct hv_crash_report *crash)
{
    struct fake_host *h = ctx;
    (void)vp;
    if (ev == HV_EVENT_RESET) {
        h->resets++;
        return;
    }
    if (ev == HV_EVENT_TSC_EMULATION_DONE) {
        h->tsc_emulation_done++;
        return;
    }
    assert_int_equal(ev, HV_EVENT_CRASH);
    assert_non_null(crash);
    h->crashes++;
    h->last_crash = *crash;
    h->crash_message[0] = 0;
    if (crash->message) {
        size_t n = crash->message_len < sizeof(h->crash_message) - 1
                       ? crash->message_len : sizeof(h->crash_message) - 1;
        memcpy(h->crash_message, crash->message, n);
        h->crash_message[n] = 0;
        h->last_crash.message = h->crash_message;
    }
}

static uint16_t op_post_message(void *ctx, uint32_t vp, uint32_t conn, uint32_t type,
                                const void *payload, uint32_t size)
{
    struct fake_host *h = ctx;
    assert_true(size <= HV_MESSAGE_PAYLOAD_MAX);
    if (h->post_status != HV_STATUS_SUCCESS)
        return h->post_status;
    assert_true(h->nr_posts < 64);
    struct fake_post *p = &h->posts[h->nr_posts++];
    p->vp = vp;
    p->connection_id = conn;
    p->message_type = type;
    p->payload_size = size;
    memcpy(p->payload, payload, size);
    return HV_STATUS_SUCCESS;
}

static uint16_t op_signal_event(void *ctx, uint32_t vp, uint32_t conn, uint16_t flag)
{
    struct fake_host *h = ctx;
    if (h->signal_status != HV_STATUS_SUCCESS)
        return h->signal_status;
    assert_true(h->nr_signals < 64);
    h->signals[h->nr_signals++] = (struct fake_signal){ vp, conn, flag };
    return HV_STATUS_SUCCESS;
}

static void op_message_slot_freed(void *ctx, uint32_t vp, uint32_t sint)
{
    struct fake_host *h = ctx;
    assert_true(vp < FAKE_MAX_VPS && sint < HV_SINT_COUNT);
    h->slot_freed[vp][sint]++;
}

static void op_slot_wait(void *ctx, uint32_t vp)
{
    struct fake_host *h = ctx;
    assert_true(vp < FAKE_MAX_VPS);
    h->slot_waits[vp]++;
}

static void op_xmm_read(void *ctx, uint32_t vp, uint64_t xmm[12])
{
    struct fake_host *h = ctx;
    memcpy(xmm, h->xmm[vp], sizeof(h->xmm[vp]));
}

static void op_xmm_write(void *ctx, uint32_t vp, const uint64_t *q, uint32_t first,
                         uint32_t count)
{
    struct fake_host *h = ctx;
    assert_true(first <= 12 && count <= 12 - first);
    memcpy(&h->xmm[vp][first], q, count * sizeof(uint64_t));
}

static void op_log(void *ctx, enum hv_log_level lvl, uint32_t vp, const char *msg,
                   uint64_t a0, uint64_t a1)
{
    struct fake_host *h = ctx;
    (void)lvl; (void)vp; (void)a0; (void)a1;
    assert_non_null(msg);
    h->logs++;
}

static void op_trace(void *ctx, uint32_t vp, enum hv_trace_kind kind, uint64_t a0,
                     uint64_t a1, uint64_t a2, uint64_t a3)
{
    struct fake_host *h = ctx;
    (void)vp;
    h->traces++;
    h->last_trace_kind = kind;
    h->last_trace[0] = a0;
    h->last_trace[1] = a1;
    h->last_trace[2] = a2;
    h->last_trace[3] = a3;
}

static void fill_ops(struct hv_host_ops *o, bool no_apic, bool no_xmm)
{
    memset(o, 0, sizeof(*o));
    o->gpa_read = op_gpa_read;
    o->gpa_write = op_gpa_write;
    o->page_map = op_page_map;
    o->page_unmap = op_page_unmap;
    o->hypercall_page_fill = op_hypercall_page_fill;
    o->irq_inject = op_irq_inject;
    o->ipi_send = op_ipi_send;
    o->vp_kick = op_vp_kick;
    if (!no_apic) {
        o->apic_eoi = op_apic_eoi;
        o->apic_icr_read = op_apic_icr_read;
        o->apic_icr_write = op_apic_icr_write;
        o->apic_tpr_read = op_apic_tpr_read;
        o->apic_tpr_write = op_apic_tpr_write;
    }
    o->tlb_flush = op_tlb_flush;
    o->switch_address_space = op_switch_address_space;
    o->guest_tsc = op_guest_tsc;
    o->now_ns = op_now_ns;
    o->timer_arm = op_timer_arm;
    o->timer_cancel = op_timer_cancel;
    o->vp_runtime_ns = op_vp_runtime_ns;
    o->vp_idle = op_vp_idle;
    o->vp_yield = op_vp_yield;
    o->should_preempt = op_should_preempt;
    o->partition_event = op_partition_event;
    o->post_message = op_post_message;
    o->signal_event = op_signal_event;
    o->message_slot_freed = op_message_slot_freed;
    o->slot_wait = op_slot_wait;
    if (!no_xmm) {
        o->xmm_read = op_xmm_read;
        o->xmm_write = op_xmm_write;
    }
    o->log = op_log;
    o->trace = op_trace;
}

struct fake_vm *fake_vm_new_cfg(const struct hv_config *cfg, size_t ram_pages,
                                bool no_apic_ops, bool no_xmm_ops)
{
    struct fake_vm *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    assert_true(cfg->nr_vps >= 1 && cfg->nr_vps <= FAKE_MAX_VPS);
    if (ram_pages == 0)
        ram_pages = 256;
    struct fake_host *h = &vm->host;
    h->ram_size = ram_pages * HV_PAGE_SIZE;
    h->ram = calloc(1, h->ram_size);
    assert_non_null(h->ram);
    h->hole_start = h->ram_size - 16 * HV_PAGE_SIZE;
    h->hole_end = h->ram_size;
    h->tsc_hz = cfg->tsc_hz;
    /* Start at a non-zero TSC so offsets are exercised. */
    h->tsc = 123456789ull;
    h->ns = 1000000ull;
    h->no_apic_ops = no_apic_ops;
    h->no_xmm_ops = no_xmm_ops;
    fill_ops(&vm->ops, no_apic_ops, no_xmm_ops);
    int rc = hv_partition_init(&vm->part, &vm->ops, h, cfg, vm->vps);
    assert_int_equal(rc, HV_OK);
    return vm;
}

struct fake_vm *fake_vm_new(hv_features_t features, uint32_t nr_vps)
{
    struct hv_config cfg;
    hv_config_defaults(&cfg, nr_vps, FAKE_DEFAULT_TSC_HZ);
    cfg.features = features;
    return fake_vm_new_cfg(&cfg, 0, false, false);
}

void fake_vm_free(struct fake_vm *vm)
{
    if (!vm)
        return;
    hv_partition_destroy(&vm->part);
    assert_int_equal(vm->host.maps, vm->host.unmaps);
    free(vm->host.ram);
    free(vm);
}

void fake_advance_ns(struct fake_vm *vm, uint64_t ns)
{
    struct fake_host *h = &vm->host;
    uint64_t target = h->ns + ns;
    for (;;) {
        /* the earliest armed timer due by target */
        int best_vp = -1, best_t = -1;
        uint64_t best = UINT64_MAX;
        for (uint32_t v = 0; v < vm->part.cfg.nr_vps; v++)
            for (uint32_t t = 0; t < HV_STIMER_COUNT; t++)
                if (h->timers[v][t].armed && h->timers[v][t].deadline_ns <= target &&
                    h->timers[v][t].deadline_ns < best) {
                    best = h->timers[v][t].deadline_ns;
                    best_vp = (int)v;
                    best_t = (int)t;
                }
        uint64_t step_to = best_vp >= 0 ? (best > h->ns ? best : h->ns) : target;
        uint64_t delta = step_to - h->ns;
        /* TSC advances at tsc_hz; exact for whole ns multiples of the rate */
        h->tsc += (uint64_t)(((unsigned __int128)delta * h->tsc_hz) / 1000000000ull);
        h->ns = step_to;
        for (uint32_t v = 0; v < vm->part.cfg.nr_vps; v++)
            h->runtime_ns[v] += delta;
        if (best_vp < 0)
            break;
        h->timers[best_vp][best_t].armed = false;
        hv_stimer_expired(&vm->vps[best_vp], (uint32_t)best_t);
    }
}

void *fake_gpa_ptr(struct fake_vm *vm, uint64_t gpa)
{
    assert_true(gpa < vm->host.ram_size);
    return vm->host.ram + gpa;
}

void fake_write(struct fake_vm *vm, uint64_t gpa, const void *src, size_t len)
{
    assert_true(gpa <= vm->host.ram_size && len <= vm->host.ram_size - gpa);
    memcpy(vm->host.ram + gpa, src, len);
}

void fake_read(struct fake_vm *vm, uint64_t gpa, void *dst, size_t len)
{
    assert_true(gpa <= vm->host.ram_size && len <= vm->host.ram_size - gpa);
    memcpy(dst, vm->host.ram + gpa, len);
}

uint64_t fake_read64(struct fake_vm *vm, uint64_t gpa)
{
    uint64_t v;
    fake_read(vm, gpa, &v, sizeof(v));
    return v;
}

void fake_write64(struct fake_vm *vm, uint64_t gpa, uint64_t v)
{
    fake_write(vm, gpa, &v, sizeof(v));
}

uint64_t fake_hole_gpa(const struct fake_vm *vm)
{
    return vm->host.hole_start;
}

enum hv_msr_result fake_rdmsr_r(struct fake_vm *vm, uint32_t vp, uint32_t msr, uint64_t *v)
{
    return hv_msr_read(&vm->vps[vp], msr, v);
}

enum hv_msr_result fake_wrmsr_r(struct fake_vm *vm, uint32_t vp, uint32_t msr, uint64_t v)
{
    return hv_msr_write(&vm->vps[vp], msr, v);
}

uint64_t fake_rdmsr(struct fake_vm *vm, uint32_t vp, uint32_t msr)
{
    uint64_t v = 0;
    assert_int_equal(hv_msr_read(&vm->vps[vp], msr, &v), HV_MSR_OK);
    return v;
}

void fake_wrmsr(struct fake_vm *vm, uint32_t vp, uint32_t msr, uint64_t v)
{
    assert_int_equal(hv_msr_write(&vm->vps[vp], msr, v), HV_MSR_OK);
}

void fake_enable_hypercalls(struct fake_vm *vm, uint64_t page_gpa)
{
    fake_wrmsr(vm, 0, HV_MSR_GUEST_OS_ID, 0x8100000601C00000ull);
    fake_wrmsr(vm, 0, HV_MSR_HYPERCALL, page_gpa | HV_PAGE_MSR_ENABLE);
}

enum hv_hypercall_outcome fake_hypercall(struct fake_vm *vm, uint32_t vp, uint64_t control,
                                         uint64_t input, uint64_t output, uint64_t *result)
{
    struct hv_hypercall_regs r = {
        .control = control, .input = input, .output = output,
        .result = 0xdeadbeefdeadbeefull, .mode = HV_CPU_MODE_LONG, .cpl = 0,
    };
    enum hv_hypercall_outcome o = hv_hypercall(&vm->vps[vp], &r);
    if (result)
        *result = r.result;
    return o;
}

void fake_clear_irqs(struct fake_vm *vm)
{
    vm->host.nr_irqs = 0;
}

struct hv_stats fake_stats(struct fake_vm *vm)
{
    struct hv_stats st;
    hv_partition_stats(&vm->part, &st);
    return st;
}
