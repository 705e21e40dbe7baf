/* SPDX-License-Identifier: MIT */
/*
 * One host thread for every guest timer: the four synthetic timers of each
 * VP and each vCPU's AutoEOI poll. A deadline per slot, a scan for the
 * earliest, and a condition variable on CLOCK_MONOTONIC. The core's
 * callbacks (hv_stimer_expired) run with our lock dropped, because the
 * core calls timer_arm with its own lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm-glue/vmm.h"

struct vmm_timers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running;
    bool quit;
    uint32_t nr;                 /* nr_vcpus * VMM_TIMERS_PER_VP */
    uint64_t *deadline;          /* absolute ns; 0 = disarmed */
};

static void fire(struct vmm *vm, uint32_t slot)
{
    uint32_t vp = slot / VMM_TIMERS_PER_VP, t = slot % VMM_TIMERS_PER_VP;
    atomic_fetch_add_explicit(&vm->timer_fires, 1, memory_order_relaxed);
    if (t == VMM_TIMER_AUTOEOI)
        vcpu_kick(&vm->vcpus[vp], VCPU_REQ_AUTOEOI);
    else if (vm->hv_ready)
        hv_stimer_expired(&vm->hv_vps[vp], t);
}

static void *timer_thread(void *arg)
{
    struct vmm *vm = arg;
    struct vmm_timers *T = vm->timers;
    pthread_mutex_lock(&T->lock);
    while (!T->quit) {
        uint64_t now = vmm_now_ns(), next = 0;
        bool fired = false;
        for (uint32_t i = 0; i < T->nr; i++) {
            uint64_t d = T->deadline[i];
            if (!d)
                continue;
            if (d <= now) {
                T->deadline[i] = 0;
                pthread_mutex_unlock(&T->lock);
                fire(vm, i);
                pthread_mutex_lock(&T->lock);
                fired = true;
            } else if (!next || d < next) {
                next = d;
            }
        }
        if (fired)
            continue; /* callbacks may have re-armed: rescan */
        if (!next) {
            pthread_cond_wait(&T->cond, &T->lock);
        } else {
            struct timespec ts = { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) };
            pthread_cond_timedwait(&T->cond, &T->lock, &ts);
        }
    }
    pthread_mutex_unlock(&T->lock);
    return NULL;
}

void vmm_timers_start(struct vmm *vm)
{
    struct vmm_timers *T = calloc(1, sizeof(*T));
    if (!T)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    T->nr = vm->nr_vcpus * VMM_TIMERS_PER_VP;
    T->deadline = calloc(T->nr, sizeof(uint64_t));
    if (!T->deadline)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    pthread_mutex_init(&T->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&T->cond, &ca);
    pthread_condattr_destroy(&ca);
    vm->timers = T;
    int err = pthread_create(&T->thread, NULL, timer_thread, vm);
    if (err)
        vmm_die(VMM_EXIT_FATAL, "cannot start the timer thread: %s", strerror(err));
    pthread_setname_np(T->thread, "timers");
    T->running = true;
}

void vmm_timers_stop(struct vmm *vm)
{
    struct vmm_timers *T = vm->timers;
    if (!T || !T->running)
        return;
    pthread_mutex_lock(&T->lock);
    T->quit = true;
    pthread_cond_signal(&T->cond);
    pthread_mutex_unlock(&T->lock);
    pthread_join(T->thread, NULL);
    T->running = false;
    T->quit = false;
    memset(T->deadline, 0, T->nr * sizeof(uint64_t));
}

void vmm_timer_arm(struct vmm *vm, uint32_t vp, uint32_t timer, uint64_t delay_ns)
{
    struct vmm_timers *T = vm->timers;
    if (!T || vp >= vm->nr_vcpus || timer >= VMM_TIMERS_PER_VP)
        return;
    uint64_t when = vmm_now_ns() + delay_ns;
    if (when == 0)
        when = 1;
    pthread_mutex_lock(&T->lock);
    uint64_t *d = &T->deadline[vp * VMM_TIMERS_PER_VP + timer];
    /* The AutoEOI poll keeps an earlier deadline; stimers replace. */
    if (timer != VMM_TIMER_AUTOEOI || !*d || when < *d) {
        *d = when;
        pthread_cond_signal(&T->cond);
    }
    pthread_mutex_unlock(&T->lock);
}

void vmm_timer_cancel(struct vmm *vm, uint32_t vp, uint32_t timer)
{
    struct vmm_timers *T = vm->timers;
    if (!T || vp >= vm->nr_vcpus || timer >= VMM_TIMERS_PER_VP)
        return;
    pthread_mutex_lock(&T->lock);
    T->deadline[vp * VMM_TIMERS_PER_VP + timer] = 0;
    pthread_mutex_unlock(&T->lock);
}
