/* SPDX-License-Identifier: MIT */
/*
 * The loop thread: the one thread that runs the VMBus server (bus.c) and
 * the control socket (ctl.c). It sleeps in ppoll on the inbox's eventfd
 * and the control sockets until the server's next timer, and takes
 * requests from the main thread between boots (reset) and at exit (stop).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-glue/bus.h"
#include "kvm-glue/vmm.h"

#define LOOP_MAX_FDS 24

enum loop_req { LOOP_REQ_NONE, LOOP_REQ_RESET, LOOP_REQ_STOP };

struct vmm_loop {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int req;             /* enum loop_req, taken by the loop */
    bool done;                   /* the loop finished the request */
};

/* Serve a request from the main thread; false once told to stop. */
static bool serve_request(struct vmm *vm)
{
    struct vmm_loop *l = vm->loop;
    int req = atomic_load(&l->req);
    if (req == LOOP_REQ_NONE)
        return true;
    if (req == LOOP_REQ_RESET)
        vmm_bus_reset(vm);
    pthread_mutex_lock(&l->lock);
    atomic_store(&l->req, LOOP_REQ_NONE);
    l->done = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    return req != LOOP_REQ_STOP;
}

static void *loop_main(void *arg)
{
    struct vmm *vm = arg;
    struct pollfd fds[LOOP_MAX_FDS];
    for (;;) {
        if (!serve_request(vm))
            return NULL;
        uint64_t deadline = vmm_bus_service(vm);
        if (deadline == 0)
            continue;
        fds[0] = (struct pollfd){ .fd = vm->inbox.efd, .events = POLLIN };
        int n = 1 + vmm_ctl_pollfds(vm, fds + 1, LOOP_MAX_FDS - 1);
        if (!vmm_inbox_prepare_sleep(&vm->inbox) || atomic_load(&vm->loop->req))
            continue;
        struct timespec ts, *tsp = NULL;
        if (deadline != UINT64_MAX) {
            uint64_t now = vmm_now_ns();
            uint64_t wait = deadline > now ? deadline - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000ull);
            ts.tv_nsec = (long)(wait % 1000000000ull);
            tsp = &ts;
        }
        int r = ppoll(fds, (nfds_t)n, tsp, NULL);
        vmm_inbox_awake(&vm->inbox);
        if (r < 0 && errno != EINTR)
            vmm_die(VMM_EXIT_FATAL, "loop: ppoll: %s", strerror(errno));
        if (r > 0)
            vmm_ctl_handle(vm, fds + 1, n - 1);
    }
}

void vmm_loop_start(struct vmm *vm)
{
    struct vmm_loop *l = calloc(1, sizeof(*l));
    if (!l)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    vm->loop = l;
    int r = pthread_create(&l->thread, NULL, loop_main, vm);
    if (r)
        vmm_die(VMM_EXIT_FATAL, "cannot start the VMBus loop thread: %s", strerror(r));
}

static void request(struct vmm *vm, enum loop_req req)
{
    struct vmm_loop *l = vm->loop;
    pthread_mutex_lock(&l->lock);
    l->done = false;
    atomic_store(&l->req, (int)req);
    pthread_mutex_unlock(&l->lock);
    vmm_inbox_wake(&vm->inbox);
    pthread_mutex_lock(&l->lock);
    while (!l->done)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

void vmm_loop_reset(struct vmm *vm)
{
    if (vm->loop)
        request(vm, LOOP_REQ_RESET);
}

void vmm_loop_stop(struct vmm *vm)
{
    if (!vm->loop)
        return;
    request(vm, LOOP_REQ_STOP);
    pthread_join(vm->loop->thread, NULL);
    pthread_mutex_destroy(&vm->loop->lock);
    pthread_cond_destroy(&vm->loop->cond);
    free(vm->loop);
    vm->loop = NULL;
}
