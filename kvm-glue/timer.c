/* SPDX-License-Identifier: MIT */
/*
 * Guest timers on per-vCPU host timers. Each vCPU has five deadlines (its
 * four synthetic timers and its AutoEOI poll) and one POSIX timer that
 * signals the vCPU's own thread at the earliest of them. The signal takes
 * the thread out of KVM_RUN (or stops the next KVM_RUN at once, through
 * immediate_exit set by the signal handler), and the thread itself calls
 * hv_stimer_expired: a tick costs one signal and no thread switch. (A
 * shared timer thread, the first design, cost two context switches per
 * tick plus a kick; in the nested rig that was most of the time spent on
 * Linux's stimer writes.)
 *
 * Deadlines may be armed from any thread (the core arms with its own lock
 * held, so the per-vCPU lock here is never held while calling the core).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

/* Program the POSIX timer for the earliest deadline. v->tlock held. */
static void reprogram_locked(struct vcpu *v)
{
    uint64_t min = 0;
    for (uint32_t i = 0; i < VMM_TIMERS_PER_VP; i++)
        if (v->deadline[i] && (!min || v->deadline[i] < min))
            min = v->deadline[i];
    if (!v->ptimer_ok || min == v->armed_at)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(min / 1000000000ull);
    its.it_value.tv_nsec = (long)(min % 1000000000ull);
    if (timer_settime(v->ptimer, TIMER_ABSTIME, &its, NULL) < 0)
        vmm_warn("vCPU %u: timer_settime: %s", v->index, strerror(errno));
    v->armed_at = min;
}

/* On the vCPU's thread, at start: its timer signals this thread. */
void vcpu_timer_thread_init(struct vcpu *v)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR1;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&v->tlock);
    if (timer_create(CLOCK_MONOTONIC, &sev, &v->ptimer) < 0)
        vmm_die(VMM_EXIT_FATAL, "vCPU %u: timer_create: %s", v->index, strerror(errno));
    v->ptimer_ok = true;
    v->armed_at = 0;
    reprogram_locked(v);
    pthread_mutex_unlock(&v->tlock);
}

void vcpu_timer_thread_exit(struct vcpu *v)
{
    pthread_mutex_lock(&v->tlock);
    if (v->ptimer_ok)
        timer_delete(v->ptimer);
    v->ptimer_ok = false;
    v->armed_at = 0;
    pthread_mutex_unlock(&v->tlock);
}

/* Fire what is due (vCPU thread, out of KVM_RUN). */
void vcpu_timers_run(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    uint64_t now = vmm_now_ns();
    bool due[VMM_TIMERS_PER_VP] = { false };
    bool any = false;
    pthread_mutex_lock(&v->tlock);
    for (uint32_t i = 0; i < VMM_TIMERS_PER_VP; i++) {
        if (v->deadline[i] && v->deadline[i] <= now) {
            v->deadline[i] = 0;
            due[i] = any = true;
        }
    }
    if (any)
        reprogram_locked(v);
    pthread_mutex_unlock(&v->tlock);
    if (!any)
        return;
    for (uint32_t i = 0; i < HV_STIMER_COUNT; i++) {
        if (due[i] && vm->hv_ready) {
            atomic_fetch_add_explicit(&vm->timer_fires, 1, memory_order_relaxed);
            hv_stimer_expired(&vm->hv_vps[v->index], i);
        }
    }
    if (due[VMM_TIMER_AUTOEOI]) {
        atomic_fetch_add_explicit(&vm->timer_fires, 1, memory_order_relaxed);
        vcpu_autoeoi_service(v);
    }
    if (due[VMM_TIMER_SLOTPOLL] && vm->hv_ready) {
        /* The guest may have freed the slot and EOId: deliver what waits,
         * and look again while something still does (hostops slot_wait). */
        struct hv_vp *vp = &vm->hv_vps[v->index];
        atomic_fetch_add_explicit(&vm->slot_polls, 1, memory_order_relaxed);
        hv_vp_poll(vp);
        if (hv_vp_slot_waiters(vp))
            vmm_timer_arm(vm, v->index, VMM_TIMER_SLOTPOLL, VMM_SLOTPOLL_NS);
    }
}

/* Nanoseconds until the vCPU's next deadline (UINT64_MAX: none). */
uint64_t vcpu_timer_next_ns(struct vcpu *v)
{
    pthread_mutex_lock(&v->tlock);
    uint64_t at = v->armed_at;
    pthread_mutex_unlock(&v->tlock);
    if (!at)
        return UINT64_MAX;
    uint64_t now = vmm_now_ns();
    return at > now ? at - now : 0;
}

void vmm_timer_arm(struct vmm *vm, uint32_t vp, uint32_t timer, uint64_t delay_ns)
{
    if (vp >= vm->nr_vcpus || timer >= VMM_TIMERS_PER_VP)
        return;
    struct vcpu *v = &vm->vcpus[vp];
    uint64_t when = vmm_now_ns() + delay_ns;
    if (when < delay_ns)
        when = UINT64_MAX;      /* saturate: "never", in practice */
    pthread_mutex_lock(&v->tlock);
    /* The polls keep an earlier deadline; stimers replace. */
    bool poll = timer == VMM_TIMER_AUTOEOI || timer == VMM_TIMER_SLOTPOLL;
    if (!poll || !v->deadline[timer] || when < v->deadline[timer]) {
        v->deadline[timer] = when;
        reprogram_locked(v);
    }
    pthread_mutex_unlock(&v->tlock);
}

void vmm_timer_cancel(struct vmm *vm, uint32_t vp, uint32_t timer)
{
    if (vp >= vm->nr_vcpus || timer >= VMM_TIMERS_PER_VP)
        return;
    struct vcpu *v = &vm->vcpus[vp];
    pthread_mutex_lock(&v->tlock);
    v->deadline[timer] = 0;
    /* Left armed: an early signal only costs one spurious exit. */
    pthread_mutex_unlock(&v->tlock);
}

/* Between boots: no deadline survives. */
void vmm_timers_reset(struct vmm *vm)
{
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        pthread_mutex_lock(&v->tlock);
        memset(v->deadline, 0, sizeof(v->deadline));
        v->armed_at = 0;
        pthread_mutex_unlock(&v->tlock);
    }
}
