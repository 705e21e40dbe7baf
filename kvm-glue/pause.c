/* SPDX-License-Identifier: MIT */
/*
 * Stop the world (all vCPUs but one) outside KVM_RUN. Used before a vCPU
 * rewrites its own LAPIC (autoeoi.c): while no other vCPU runs guest code,
 * no guest IPI can land in the middle of the read-modify-write.
 *
 * Protocol (Dekker style, all seq_cst): a vCPU sets in_guest and then
 * reads pause_req before KVM_RUN; the pauser sets pause_req, kicks, and
 * waits for in_guest == 0. A vCPU blocked elsewhere (a lock, GUEST_IDLE,
 * a flush wait) already has in_guest == 0, so the pauser never waits on it.
 */
#include <sched.h>
#include <time.h>

#include "kvm-glue/vmm.h"

void vmm_pause_others(struct vmm *vm, struct vcpu *self)
{
    pthread_mutex_lock(&vm->pause_lock);
    atomic_store(&vm->pause_req, 1);
    atomic_fetch_add_explicit(&vm->pauses, 1, memory_order_relaxed);
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (v != self)
            vcpu_kick(v, VCPU_REQ_EXIT);
    }
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (v == self)
            continue;
        /* Leaving KVM_RUN after a signal takes microseconds: spin politely. */
        while (atomic_load(&v->in_guest) && !vmm_stopping(vm))
            sched_yield();
    }
}

void vmm_resume_others(struct vmm *vm)
{
    pthread_mutex_lock(&vm->park_lock);
    atomic_store(&vm->pause_req, 0);
    pthread_cond_broadcast(&vm->park_cond);
    pthread_mutex_unlock(&vm->park_lock);
    pthread_mutex_unlock(&vm->pause_lock);
}

/* Called by a vCPU that found pause_req set before entry: wait it out,
 * still serving TLB flushes so a flush requester cannot deadlock on us. */
void vcpu_park_if_paused(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    pthread_mutex_lock(&vm->park_lock);
    while (atomic_load(&vm->pause_req) && !vmm_stopping(vm)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&vm->park_cond, &vm->park_lock, &ts);
        if (atomic_load(&v->flush_req) != atomic_load(&v->flush_done)) {
            pthread_mutex_unlock(&vm->park_lock);
            vcpu_serve_flush(v);
            pthread_mutex_lock(&vm->park_lock);
        }
    }
    pthread_mutex_unlock(&vm->park_lock);
}
