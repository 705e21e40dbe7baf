/* SPDX-License-Identifier: MIT */
/*
 * struct hv_host_ops for KVM: how the core reaches guest memory,
 * interrupts, vCPUs, timers and the rest of the VMM. The core may call
 * these with one of its spinlocks held (host.h), so nothing here calls back
 * into the core or waits long, except tlb_flush and vp_idle.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kvm-glue/vmm.h"

#define IDLE_BOUND_NS 200000ull    /* GUEST_IDLE looks at the LAPIC this often */

int vmm_hypercall_page_fill(struct vmm *vm, uint64_t gpa);

static struct vmm *VM(void *ctx)
{
    return ctx;
}

static int op_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return vmm_gpa_read(VM(ctx), gpa, buf, len);
}

static int op_gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    return vmm_gpa_write(VM(ctx), gpa, buf, len);
}

/* Guest RAM is one mapping that lives as long as the process, so a page
 * pointer stays valid with no reference to hold. */
static void *op_page_map(void *ctx, uint64_t gfn)
{
    if (gfn > (UINT64_MAX >> HV_PAGE_SHIFT))
        return NULL;
    return vmm_gpa_ptr(VM(ctx), gfn << HV_PAGE_SHIFT, HV_PAGE_SIZE);
}

static void op_page_unmap(void *ctx, void *page)
{
    (void)ctx;
    (void)page;
}

static int op_hypercall_page_fill(void *ctx, uint64_t gpa)
{
    return vmm_hypercall_page_fill(VM(ctx), gpa);
}

void vcpu_wake_idle(struct vcpu *v)
{
    pthread_mutex_lock(&v->idle_lock);
    v->idle_wake = true;
    pthread_cond_signal(&v->idle_cond);
    pthread_mutex_unlock(&v->idle_lock);
}

static void op_irq_inject(void *ctx, uint32_t vp, uint8_t vector, bool auto_eoi)
{
    struct vmm *vm = VM(ctx);
    if (vp >= vm->nr_vcpus)
        return;
    if (auto_eoi)
        vmm_msi_fixed_autoeoi(vm, vp, vector);
    else
        vmm_msi_fixed(vm, vp, vector);
    vcpu_wake_idle(&vm->vcpus[vp]);
}

static void op_ipi_send(void *ctx, const struct hv_vp_set *vps, uint8_t vector)
{
    struct vmm *vm = VM(ctx);
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        if (!vmm_vpset_has(vps, i))
            continue;
        vmm_msi_fixed(vm, i, vector);
        atomic_fetch_add_explicit(&vm->ipis, 1, memory_order_relaxed);
        vcpu_wake_idle(&vm->vcpus[i]);
    }
}

static void op_vp_kick(void *ctx, uint32_t vp)
{
    struct vmm *vm = VM(ctx);
    if (vp < vm->nr_vcpus)
        vcpu_kick(&vm->vcpus[vp], VCPU_REQ_POLL);
}

static void op_tlb_flush(void *ctx, uint32_t caller, const struct hv_tlb_flush *req)
{
    /* A real flush of the whole TLB covers every narrower request (ranges,
     * one address space, non-global only). */
    vmm_tlb_flush(VM(ctx), caller, req->vps);
}

static int op_switch_address_space(void *ctx, uint32_t vp, uint64_t cr3)
{
    struct vmm *vm = VM(ctx);
    if (vp >= vm->nr_vcpus)
        return -1;
    return vcpu_switch_cr3(&vm->vcpus[vp], cr3);
}

static uint64_t op_guest_tsc(void *ctx)
{
    return vmm_guest_tsc(VM(ctx));
}

static uint64_t op_now_ns(void *ctx)
{
    (void)ctx;
    return vmm_now_ns();
}

static void op_timer_arm(void *ctx, uint32_t vp, uint32_t timer, uint64_t delay_ns)
{
    if (timer < HV_STIMER_COUNT)
        vmm_timer_arm(VM(ctx), vp, timer, delay_ns);
}

static void op_timer_cancel(void *ctx, uint32_t vp, uint32_t timer)
{
    if (timer < HV_STIMER_COUNT)
        vmm_timer_cancel(VM(ctx), vp, timer);
}

/* CPU time of the vCPU thread: guest time plus exit handling, without the
 * time it sat halted. */
static uint64_t op_vp_runtime_ns(void *ctx, uint32_t vp)
{
    struct vmm *vm = VM(ctx);
    if (vp >= vm->nr_vcpus || !atomic_load(&vm->vcpus[vp].thread_running))
        return 0;
    clockid_t cid;
    struct timespec ts;
    if (pthread_getcpuclockid(vm->vcpus[vp].thread, &cid) != 0 || clock_gettime(cid, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Any vector pending in the LAPIC: the guest has something to take once
 * it enables interrupts, so GUEST_IDLE must not sleep. */
/* KVM raises an expired LAPIC timer into IRR only when the vCPU next
 * enters, so while we hold it in GUEST_IDLE the timer is judged from its
 * registers: a one-shot count run down to 0, a periodic count that wrapped
 * since the last look (*last_count), or a TSC deadline passed. */
static bool lapic_timer_fired(struct vcpu *v, const struct kvm_lapic_state *st,
                              uint32_t *last_count)
{
    uint32_t lvtt = vmm_lapic_reg(st, 0x320);
    if (lvtt & (1u << 16))
        return false;                               /* masked */
    uint32_t mode = (lvtt >> 17) & 3u;
    if (mode == 2) {                                /* TSC deadline */
        const uint32_t index[2] = { 0x6E0, 0x10 };  /* IA32_TSC_DEADLINE, IA32_TSC */
        uint64_t val[2];
        return vcpu_get_msrs(v, 2, index, val) && val[0] && val[0] <= val[1];
    }
    uint32_t initial = vmm_lapic_reg(st, 0x380), count = vmm_lapic_reg(st, 0x390);
    if (!initial)
        return false;
    bool fired = mode == 0 ? count == 0 : (*last_count && count > *last_count);
    *last_count = count;
    return fired;
}

/* Whether an interrupt is there that the vCPU would take now if IF were
 * 1: the highest requested vector (or an expired LAPIC timer's) outranks
 * the processor priority. */
static bool lapic_has_deliverable(struct vcpu *v, uint32_t *last_count)
{
    struct kvm_lapic_state st;
    if (ioctl(v->fd, KVM_GET_LAPIC, &st) < 0)
        return true;    /* cannot tell: let the guest look */
    uint32_t ppr_class = vmm_lapic_reg(&st, 0xA0) & 0xF0u;
    if (lapic_timer_fired(v, &st, last_count) && (vmm_lapic_reg(&st, 0x320) & 0xF0u) > ppr_class)
        return true;
    for (int i = 7; i >= 0; i--) {
        uint32_t irr = vmm_lapic_reg(&st, 0x200u + (uint32_t)i * 0x10u);
        if (irr) {
            uint32_t vec = (uint32_t)i * 32u + 31u - (uint32_t)__builtin_clz(irr);
            return (vec & 0xF0u) > ppr_class;
        }
    }
    return false;
}

/* GUEST_IDLE (TLFS 7.5): return only once an interrupt can be taken, even
 * with IF=0. Our own injections and kicks wake the sleep at once; the
 * in-kernel LAPIC's own sources (its timer, IPIs between vCPUs) are not
 * seen here, so the sleep is bounded and the LAPIC looked at again. */
static void op_vp_idle(void *ctx, uint32_t vp)
{
    struct vmm *vm = VM(ctx);
    if (vp >= vm->nr_vcpus)
        return;
    struct vcpu *v = &vm->vcpus[vp];
    uint32_t last_count = 0;
    for (;;) {
        /* Fire due timers, deliver queued messages: they may inject. */
        vcpu_service(v);
        if (vmm_stopping(vm) || lapic_has_deliverable(v, &last_count))
            return;
        pthread_mutex_lock(&v->idle_lock);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t bound = vcpu_timer_next_ns(v);
        if (bound > IDLE_BOUND_NS)
            bound = IDLE_BOUND_NS;
        uint64_t until = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + bound;
        ts.tv_sec = (time_t)(until / 1000000000ull);
        ts.tv_nsec = (long)(until % 1000000000ull);
        while (!v->idle_wake && !atomic_load(&v->reqs) && !vmm_stopping(vm)) {
            if (pthread_cond_timedwait(&v->idle_cond, &v->idle_lock, &ts) == ETIMEDOUT)
                break;
        }
        v->idle_wake = false;
        pthread_mutex_unlock(&v->idle_lock);
    }
}

static void op_vp_yield(void *ctx, uint32_t vp)
{
    (void)ctx;
    (void)vp;
    sched_yield();
}

static bool op_should_preempt(void *ctx, uint32_t vp)
{
    struct vmm *vm = VM(ctx);
    if (vp >= vm->nr_vcpus)
        return false;
    /* Pending requests, a pause, a stop, or one of its own timers due:
     * a long rep call would otherwise delay the VP's own timer ticks. */
    return atomic_load_explicit(&vm->vcpus[vp].reqs, memory_order_relaxed) != 0 ||
           atomic_load_explicit(&vm->pause_req, memory_order_relaxed) || vmm_stopping(vm) ||
           vcpu_timer_next_ns(&vm->vcpus[vp]) == 0;
}

static void print_crash(struct vmm *vm, const struct hv_crash_report *c)
{
    fprintf(stderr,
            "hvshim: guest crash: P0=0x%llx P1=0x%llx P2=0x%llx P3=0x%llx P4=0x%llx\n",
            (unsigned long long)c->params[0], (unsigned long long)c->params[1],
            (unsigned long long)c->params[2], (unsigned long long)c->params[3],
            (unsigned long long)c->params[4]);
    if (c->message && c->message_len) {
        /* Guest text: printable ASCII and newlines only, bounded. */
        uint32_t len = c->message_len > 4096 ? 4096 : c->message_len;
        fputs("hvshim: guest crash message:\n", stderr);
        for (uint32_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)c->message[i];
            if (ch == 0)
                break;
            fputc((ch == '\n' || (ch >= 0x20 && ch < 0x7F)) ? ch : '?', stderr);
        }
        fputc('\n', stderr);
    }
    (void)vm;
}

static void op_partition_event(void *ctx, uint32_t vp, enum hv_partition_event ev,
                               const struct hv_crash_report *crash)
{
    struct vmm *vm = VM(ctx);
    (void)vp;
    if (ev == HV_EVENT_CRASH) {
        if (crash)
            print_crash(vm, crash);
        vmm_request_stop(vm, VMM_STOP_CRASH, VMM_EXIT_CRASH);
    } else if (ev == HV_EVENT_RESET) {
        vmm_request_stop(vm, VMM_STOP_RESET, VMM_EXIT_POWEROFF);
    }
}

/* HvPostMessage / HvSignalEvent on a connection the VMM registered: the
 * --hv-echo loopback answers at once, on this vCPU's thread; everything
 * else belongs to the VMBus server and waits in the inbox for its thread. */
static uint16_t op_post_message(void *ctx, uint32_t vp, uint32_t connection_id,
                                uint32_t message_type, const void *payload, uint32_t payload_size)
{
    struct vmm *vm = VM(ctx);
    if (connection_id == VMM_ECHO_MSG_CONNECTION)
        return vmm_echo_post(vm, message_type, payload, payload_size);
    return vmm_inbox_post(&vm->inbox, vp, connection_id, message_type, payload, payload_size);
}

static uint16_t op_signal_event(void *ctx, uint32_t vp, uint32_t connection_id, uint16_t flag)
{
    struct vmm *vm = VM(ctx);
    if (connection_id == VMM_ECHO_EVENT_CONNECTION)
        return vmm_echo_signal(vm, vp, flag);
    /* VMBus guests signal with flag 0; the channel is the connection. */
    return vmm_inbox_signal(&vm->inbox, connection_id);
}

static void op_message_slot_freed(void *ctx, uint32_t vp, uint32_t sint)
{
    (void)vp;
    vmm_inbox_slot_freed(&VM(ctx)->inbox, sint);
}

/* KVM's in-kernel LAPIC keeps the guest's EOIs to itself, so a guest that
 * frees a slot and EOIs without an EOM would wait for good: poll instead,
 * only while something waits (timer.c). */
static void op_slot_wait(void *ctx, uint32_t vp)
{
    vmm_timer_arm(VM(ctx), vp, VMM_TIMER_SLOTPOLL, VMM_SLOTPOLL_NS);
}

static void op_xmm_read(void *ctx, uint32_t vp, uint64_t xmm[12])
{
    struct vmm *vm = VM(ctx);
    struct kvm_fpu fpu;
    memset(xmm, 0, 12 * sizeof(uint64_t));
    if (vp >= vm->nr_vcpus || ioctl(vm->vcpus[vp].fd, KVM_GET_FPU, &fpu) < 0)
        return;
    for (int r = 0; r < 6; r++)
        memcpy(&xmm[2 * r], fpu.xmm[r], 16);
}

static void op_xmm_write(void *ctx, uint32_t vp, const uint64_t *qwords, uint32_t first,
                         uint32_t count)
{
    struct vmm *vm = VM(ctx);
    struct kvm_fpu fpu;
    if (vp >= vm->nr_vcpus || first > 12 || count > 12 - first)
        return;
    if (ioctl(vm->vcpus[vp].fd, KVM_GET_FPU, &fpu) < 0)
        return;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t q = first + i;
        memcpy(&fpu.xmm[q / 2][(q % 2) * 8], &qwords[i], 8);
    }
    if (ioctl(vm->vcpus[vp].fd, KVM_SET_FPU, &fpu) < 0)
        vmm_warn("vCPU %u: KVM_SET_FPU: %s", vp, strerror(errno));
}

static void op_log(void *ctx, enum hv_log_level level, uint32_t vp, const char *msg, uint64_t a0,
                   uint64_t a1)
{
    (void)ctx;
    if (level == HV_LOG_DEBUG)
        return;
    static const char *names[] = { "error", "warning", "info", "debug" };
    if (vp == HV_NO_VP)
        fprintf(stderr, "hvshim: %s: %s (%#llx, %#llx)\n", names[level], msg,
                (unsigned long long)a0, (unsigned long long)a1);
    else
        fprintf(stderr, "hvshim: vp%u: %s: %s (%#llx, %#llx)\n", vp, names[level], msg,
                (unsigned long long)a0, (unsigned long long)a1);
}

static uint32_t trace_group(enum hv_trace_kind k)
{
    switch (k) {
    case HV_TRACE_MSR_READ:
    case HV_TRACE_MSR_WRITE:
        return VMM_TRACE_MSR;
    case HV_TRACE_HYPERCALL:
        return VMM_TRACE_HYPERCALL;
    case HV_TRACE_SYNIC_MSG:
    case HV_TRACE_SYNIC_EVENT:
    case HV_TRACE_SYNIC_EOM:
        return VMM_TRACE_SYNIC;
    case HV_TRACE_STIMER:
        return VMM_TRACE_STIMER;
    }
    return 0;
}

static void op_trace(void *ctx, uint32_t vp, enum hv_trace_kind kind, uint64_t a0, uint64_t a1,
                     uint64_t a2, uint64_t a3)
{
    struct vmm *vm = VM(ctx);
    if (!(vm->opt.trace_mask & trace_group(kind)))
        return;
    static const char *msr_res[] = { "ok", "#GP", "unhandled" };
    static const char *st_ev[] = { "arm", "fire", "delivered", "blocked", "stop" };
    switch (kind) {
    case HV_TRACE_MSR_READ:
    case HV_TRACE_MSR_WRITE:
        fprintf(stderr, "trace vp%u: %s %#llx %s %#llx -> %s\n", vp,
                kind == HV_TRACE_MSR_READ ? "rdmsr" : "wrmsr", (unsigned long long)a0,
                kind == HV_TRACE_MSR_READ ? "=" : "<-", (unsigned long long)a1,
                a2 < 3 ? msr_res[a2] : "?");
        break;
    case HV_TRACE_HYPERCALL:
        fprintf(stderr, "trace vp%u: hypercall code %#llx control %#llx in %#llx out %#llx -> %#llx\n",
                vp, (unsigned long long)(a0 & HV_HC_CODE_MASK), (unsigned long long)a0,
                (unsigned long long)a1, (unsigned long long)a2, (unsigned long long)a3);
        break;
    case HV_TRACE_SYNIC_MSG:
        fprintf(stderr, "trace vp%u: synic message sint %llu type %#llx %s\n", vp,
                (unsigned long long)a0, (unsigned long long)a1,
                a2 == 0 ? "delivered" : a2 == 1 ? "queued" : "dropped");
        break;
    case HV_TRACE_SYNIC_EVENT:
        fprintf(stderr, "trace vp%u: synic event sint %llu flag %llu%s\n", vp,
                (unsigned long long)a0, (unsigned long long)a1, a2 ? " (new)" : "");
        break;
    case HV_TRACE_SYNIC_EOM:
        fprintf(stderr, "trace vp%u: synic EOM, queued sints %#llx\n", vp, (unsigned long long)a0);
        break;
    case HV_TRACE_STIMER:
        fprintf(stderr, "trace vp%u: stimer%llu %s time %llu config %#llx\n", vp,
                (unsigned long long)a0, a1 < 5 ? st_ev[a1] : "?", (unsigned long long)a2,
                (unsigned long long)a3);
        break;
    }
}

void vmm_hostops_fill(struct hv_host_ops *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->gpa_read = op_gpa_read;
    ops->gpa_write = op_gpa_write;
    ops->page_map = op_page_map;
    ops->page_unmap = op_page_unmap;
    ops->hypercall_page_fill = op_hypercall_page_fill;
    ops->irq_inject = op_irq_inject;
    ops->ipi_send = op_ipi_send;
    ops->vp_kick = op_vp_kick;
    /* apic_eoi/icr/tpr stay NULL: KVM's in-kernel LAPIC cannot take them
     * exactly from userspace, and the features are not advertised. */
    ops->tlb_flush = op_tlb_flush;
    ops->switch_address_space = op_switch_address_space;
    ops->guest_tsc = op_guest_tsc;
    ops->now_ns = op_now_ns;
    ops->timer_arm = op_timer_arm;
    ops->timer_cancel = op_timer_cancel;
    ops->vp_runtime_ns = op_vp_runtime_ns;
    ops->vp_idle = op_vp_idle;
    ops->vp_yield = op_vp_yield;
    ops->should_preempt = op_should_preempt;
    ops->partition_event = op_partition_event;
    ops->post_message = op_post_message;
    ops->signal_event = op_signal_event;
    ops->message_slot_freed = op_message_slot_freed;
    ops->slot_wait = op_slot_wait;
    ops->xmm_read = op_xmm_read;
    ops->xmm_write = op_xmm_write;
    ops->log = op_log;
    ops->trace = op_trace;
}
