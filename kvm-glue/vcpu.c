/* SPDX-License-Identifier: MIT */
/*
 * The vCPU run loop: one thread per vCPU. Other threads reach a vCPU only
 * through kicks (a request bit plus immediate_exit plus a signal), so every
 * piece of per-vCPU state that needs the vCPU out of KVM_RUN (TLB flush,
 * LAPIC rewrite, SynIC polling) is done here, on the vCPU's own thread.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

/* The vCPU this thread runs, for the signal handler. */
static __thread struct kvm_run *this_run;

/* Kicks and timer expiries arrive as SIGUSR1. Inside KVM_RUN the signal
 * alone makes it return -EINTR; outside, immediate_exit makes the next
 * KVM_RUN return at once, so an expiry between the last check and the
 * entry is not slept through. */
static void kick_signal_handler(int sig)
{
    (void)sig;
    if (this_run)
        __atomic_store_n(&this_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static void install_kick_signal(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

/*
 * Kick ordering: the kicker publishes the request, then immediate_exit,
 * then reads in_guest; the vCPU clears immediate_exit, then takes the
 * requests, then sets in_guest before KVM_RUN. Whatever interleaving, a
 * request is either taken before entry or KVM_RUN sees immediate_exit,
 * or the vCPU is inside KVM_RUN and the signal interrupts it.
 */
void vcpu_kick(struct vcpu *v, uint32_t req)
{
    atomic_fetch_or(&v->reqs, req);
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    atomic_fetch_add_explicit(&v->vm->kicks, 1, memory_order_relaxed);
    if (atomic_load(&v->in_guest) && atomic_load(&v->thread_running) &&
        !pthread_equal(v->thread, pthread_self()))
        pthread_kill(v->thread, SIGUSR1);
    vcpu_wake_idle(v);
}

/* Serve whatever other threads asked of this vCPU. Runs on its thread,
 * outside KVM_RUN; safe to call from any wait loop of the vCPU. */
void vcpu_service(struct vcpu *v)
{
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    uint32_t r = atomic_exchange(&v->reqs, 0);
    if (atomic_load(&v->flush_req) != atomic_load(&v->flush_done))
        vcpu_serve_flush(v);
    if (r & VCPU_REQ_AUTOEOI)
        vcpu_autoeoi_service(v);
    vcpu_timers_run(v);
    r |= atomic_exchange(&v->reqs, 0);   /* what the timers just asked for */
    if ((r & VCPU_REQ_POLL) && v->vm->hv_ready)
        hv_vp_poll(&v->vm->hv_vps[v->index]);
}

/* Let KVM finish the last exit (step over the I/O or MSR instruction,
 * store an IN's data) without running guest code: KVM_RUN with
 * immediate_exit completes pending operations and then returns EINTR. */
void vcpu_complete_exit(struct vcpu *v)
{
    if (!v->completion_pending)
        return;
    v->completion_pending = false;
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (ioctl(v->fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
        vmm_warn("vCPU %u: completing an exit did not stop at once", v->index);
    /* Clear, then look for kicks that came meanwhile (see vcpu_kick). */
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (atomic_load(&v->reqs))
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void vmm_request_stop(struct vmm *vm, enum vmm_stop why, int status)
{
    pthread_mutex_lock(&vm->stop_lock);
    if (atomic_load(&vm->stop) == VMM_RUNNING) {
        vm->exit_status = status;
        atomic_store(&vm->stop, (int)why);
    }
    pthread_cond_broadcast(&vm->stop_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    for (uint32_t i = 0; i < vm->nr_vcpus; i++)
        if (vm->vcpus[i].run)
            vcpu_kick(&vm->vcpus[i], VCPU_REQ_EXIT);
    /* Wake anyone parked for a pause or waiting for a flush. */
    pthread_mutex_lock(&vm->park_lock);
    pthread_cond_broadcast(&vm->park_cond);
    pthread_mutex_unlock(&vm->park_lock);
    pthread_mutex_lock(&vm->flush_lock);
    pthread_cond_broadcast(&vm->flush_cond);
    pthread_mutex_unlock(&vm->flush_lock);
}

static void dump_regs(struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_REGS, &r) == 0 && ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
        fprintf(stderr,
                "hvshim-kvm: vCPU %u: rip=%#llx rsp=%#llx rax=%#llx rflags=%#llx cr0=%#llx "
                "cr3=%#llx cr4=%#llx efer=%#llx cs=%#x\n",
                v->index, r.rip, r.rsp, r.rax, r.rflags, s.cr0, s.cr3, s.cr4, s.efer,
                s.cs.selector);
}

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    bool out = run->io.direction == KVM_EXIT_IO_OUT;
    if (!out && run->io.port == VMM_HYPERCALL_PORT && run->io.size == 4 && run->io.count == 1) {
        vcpu_handle_hypercall(v);
        return;
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    for (uint32_t i = 0; i < run->io.count; i++)
        vmm_pio_dispatch(v->vm, run->io.port, out, data + (size_t)i * run->io.size, run->io.size);
}

static void handle_mmio(struct vcpu *v)
{
    /* Nothing of ours is memory-mapped yet (the LAPIC and IOAPIC live in
     * the kernel): reads float high, writes are dropped. */
    struct kvm_run *run = v->run;
    atomic_fetch_add_explicit(&v->vm->mmio_unclaimed, 1, memory_order_relaxed);
    if (!run->mmio.is_write)
        memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
}

static bool handle_exit(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    struct kvm_run *run = v->run;
    if (run->exit_reason < VMM_EXIT_REASONS)
        v->st.exits[run->exit_reason]++;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(v);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(v);
        return true;
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
        vcpu_handle_msr(v);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_HLT:
        /* Only without an in-kernel LAPIC; ours has one. */
        return true;
    case KVM_EXIT_SHUTDOWN:
        /* Triple fault: a PC resets. */
        fprintf(stderr, "hvshim-kvm: vCPU %u: triple fault, resetting\n", v->index);
        vmm_request_stop(vm, VMM_STOP_RESET, VMM_EXIT_POWEROFF);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
            vmm_request_stop(vm, VMM_STOP_POWEROFF, VMM_EXIT_POWEROFF);
        else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
            vmm_request_stop(vm, VMM_STOP_RESET, VMM_EXIT_POWEROFF);
        else
            return true;
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        fprintf(stderr, "hvshim-kvm: vCPU %u: entry failed, reason %#llx\n", v->index,
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        dump_regs(v);
        vmm_request_stop(vm, VMM_STOP_FATAL, VMM_EXIT_FATAL);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        fprintf(stderr, "hvshim-kvm: vCPU %u: KVM internal error, suberror %u\n", v->index,
                run->internal.suberror);
        dump_regs(v);
        vmm_request_stop(vm, VMM_STOP_FATAL, VMM_EXIT_FATAL);
        return false;
    default:
        fprintf(stderr, "hvshim-kvm: vCPU %u: unexpected exit %s (%u)\n", v->index,
                vmm_exit_reason_name(run->exit_reason), run->exit_reason);
        dump_regs(v);
        vmm_request_stop(vm, VMM_STOP_FATAL, VMM_EXIT_FATAL);
        return false;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vmm *vm = v->vm;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    v->thread = pthread_self();
    this_run = v->run;
    vcpu_timer_thread_init(v);
    atomic_store(&v->thread_running, 1);

    for (;;) {
        if (vmm_stopping(vm))
            break;
        vcpu_service(v);
        if (v->flush_owed || v->cr3_pending) {
            /* The owed work runs a KVM_RUN of its own, which may swallow a
             * timer signal: serve again before entering the guest. */
            vcpu_apply_owed(v);
            continue;
        }
        atomic_store(&v->in_guest, 1);
        if (atomic_load(&vm->pause_req)) {
            atomic_store(&v->in_guest, 0);
            vcpu_park_if_paused(v);
            continue;
        }
        if (v->exit_tsc) {
            v->st.userspace_tsc += vmm_rdtsc() - v->exit_tsc;
            v->st.userspace_exits++;
        }
        v->completion_pending = false;
        int r = ioctl(v->fd, KVM_RUN, 0);
        v->exit_tsc = vmm_rdtsc();
        atomic_store(&v->in_guest, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                v->st.eintr++;
                v->exit_tsc = 0; /* a kick, not an exit: not a round trip */
                continue;
            }
            fprintf(stderr, "hvshim-kvm: vCPU %u: KVM_RUN: %s\n", v->index, strerror(errno));
            dump_regs(v);
            vmm_request_stop(vm, VMM_STOP_FATAL, VMM_EXIT_FATAL);
            break;
        }
        uint32_t reason = v->run->exit_reason;
        v->completion_pending = reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO ||
                                reason == KVM_EXIT_X86_RDMSR || reason == KVM_EXIT_X86_WRMSR;
        if (!handle_exit(v))
            break;
    }
    vcpu_timer_thread_exit(v);
    this_run = NULL;
    return NULL;
}

void vmm_start_vcpus(struct vmm *vm)
{
    install_kick_signal();
    /* Only vCPU threads take the kick signal: block it here so the threads
     * created below inherit a blocked mask and unblock it themselves. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        int err = pthread_create(&v->thread, NULL, vcpu_thread, v);
        if (err)
            vmm_die(VMM_EXIT_FATAL, "cannot start vCPU thread: %s", strerror(err));
        v->thread_started = true;
        char name[16];
        snprintf(name, sizeof(name), "vcpu%u", i);
        pthread_setname_np(v->thread, name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void vmm_join_vcpus(struct vmm *vm)
{
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (v->thread_started) {
            pthread_join(v->thread, NULL);
            v->thread_started = false;
            atomic_store(&v->thread_running, 0);
        }
    }
}
