/* SPDX-License-Identifier: MIT */
/*
 * The inbox between vCPU threads and the VMBus server thread (inbox.h).
 *
 * Sleep/wake protocol (no lost wakeup, no system call while busy): the
 * server thread stores sleeping = 1 and then looks at every input source;
 * a producer stores its input and then exchanges sleeping with 0, writing
 * the eventfd only if it was 1. Both sides use sequentially consistent
 * operations, so at least one of them sees the other's store: either the
 * server finds the input before it polls, or the producer finds it asleep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm-glue/inbox.h"
#include "vmbus/protocol.h"
#include "vmbus/server.h"

int vmm_inbox_init(struct vmm_inbox *ib, uint32_t event_base, uint32_t nr_events)
{
    memset(ib, 0, sizeof(*ib));
    ib->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ib->efd < 0)
        return -1;
    ib->event_base = event_base;
    ib->nr_events = nr_events;
    /* Bit i stands for connection event_base + i; bit 0 is never used. */
    ib->nr_words = (nr_events + 1 + 63) / 64;
    ib->events = calloc(ib->nr_words, sizeof(*ib->events));
    if (!ib->events) {
        close(ib->efd);
        errno = ENOMEM;
        return -1;
    }
    pthread_mutex_init(&ib->lock, NULL);
    return 0;
}

void vmm_inbox_destroy(struct vmm_inbox *ib)
{
    if (ib->efd >= 0)
        close(ib->efd);
    ib->efd = -1;
    free(ib->events);
    ib->events = NULL;
    pthread_mutex_destroy(&ib->lock);
}

void vmm_inbox_wake(struct vmm_inbox *ib)
{
    if (atomic_exchange(&ib->sleeping, 0)) {
        uint64_t one = 1;
        atomic_fetch_add_explicit(&ib->st.wakeups, 1, memory_order_relaxed);
        /* Only fails if the counter would overflow: it is then readable. */
        if (write(ib->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            abort();
    }
}

uint16_t vmm_inbox_post(struct vmm_inbox *ib, uint32_t vp, uint32_t connection_id,
                        uint32_t type, const void *payload, uint32_t size)
{
    if (size > HV_MESSAGE_PAYLOAD_MAX)
        return HV_STATUS_INVALID_PARAMETER;
    pthread_mutex_lock(&ib->lock);
    if (ib->count == VMM_INBOX_DEPTH) {
        pthread_mutex_unlock(&ib->lock);
        atomic_fetch_add_explicit(&ib->st.posts_refused, 1, memory_order_relaxed);
        /* The server thread may be the one holding things up: make sure
         * it runs, then let the guest retry. */
        vmm_inbox_wake(ib);
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    struct vmm_inbox_msg *m = &ib->msgs[(ib->head + ib->count) % VMM_INBOX_DEPTH];
    m->vp = vp;
    m->connection_id = connection_id;
    m->type = type;
    m->size = size;
    if (size)
        memcpy(m->payload, payload, size);
    ib->count++;
    pthread_mutex_unlock(&ib->lock);
    atomic_fetch_add_explicit(&ib->st.posts, 1, memory_order_relaxed);
    vmm_inbox_wake(ib);
    return HV_STATUS_SUCCESS;
}

uint16_t vmm_inbox_signal(struct vmm_inbox *ib, uint32_t connection_id)
{
    if (connection_id <= ib->event_base || connection_id - ib->event_base > ib->nr_events)
        return HV_STATUS_INVALID_CONNECTION_ID;
    uint32_t bit = connection_id - ib->event_base;
    uint64_t mask = 1ull << (bit % 64);
    atomic_fetch_add_explicit(&ib->st.signals, 1, memory_order_relaxed);
    uint64_t old = atomic_fetch_or(&ib->events[bit / 64], mask);
    /* Already pending: the server has not taken the earlier signal yet and
     * will read the ring anyway. */
    if (!(old & mask))
        vmm_inbox_wake(ib);
    return HV_STATUS_SUCCESS;
}

void vmm_inbox_slot_freed(struct vmm_inbox *ib, uint32_t sint)
{
    if (sint != VMBUS_MESSAGE_SINT)
        return;
    if (!atomic_exchange(&ib->slot_freed, 1u))
        vmm_inbox_wake(ib);
}

static bool events_pending(struct vmm_inbox *ib)
{
    for (uint32_t w = 0; w < ib->nr_words; w++)
        if (atomic_load(&ib->events[w]))
            return true;
    return false;
}

bool vmm_inbox_drain(struct vmm_inbox *ib, struct vmbus_server *srv)
{
    bool did = false;
    if (atomic_exchange(&ib->slot_freed, 0u)) {
        vmbus_server_message_slot_freed(srv, 0, VMBUS_MESSAGE_SINT);
        did = true;
    }
    ib->head_blocked = false;
    for (;;) {
        /* Copy the head out so vCPUs can keep posting meanwhile. */
        struct vmm_inbox_msg m;
        pthread_mutex_lock(&ib->lock);
        if (!ib->count) {
            pthread_mutex_unlock(&ib->lock);
            break;
        }
        m = ib->msgs[ib->head];
        pthread_mutex_unlock(&ib->lock);

        uint32_t msgtype = 0;
        if (m.size >= sizeof(msgtype))
            memcpy(&msgtype, m.payload, sizeof(msgtype));
        int r = vmbus_server_post_message(srv, m.vp, m.connection_id, m.type, m.payload, m.size);
        if (r == VMBUS_INPUT_RETRY) {
            ib->st.retries++;
            ib->head_blocked = true;
            break;
        }
        if (msgtype == VMBUS_MSG_INITIATE_CONTACT && vmbus_server_connected(srv))
            ib->st.contacts++;
        pthread_mutex_lock(&ib->lock);
        ib->head = (ib->head + 1) % VMM_INBOX_DEPTH;
        ib->count--;
        pthread_mutex_unlock(&ib->lock);
        did = true;
    }
    for (uint32_t w = 0; w < ib->nr_words; w++) {
        uint64_t bits = atomic_exchange(&ib->events[w], 0);
        while (bits) {
            uint32_t b = (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            vmbus_server_signal_event(srv, 0, ib->event_base + w * 64 + b);
            did = true;
        }
    }
    return did;
}

bool vmm_inbox_prepare_sleep(struct vmm_inbox *ib)
{
    atomic_store(&ib->sleeping, 1);
    bool msgs;
    pthread_mutex_lock(&ib->lock);
    msgs = ib->count > 0 && !ib->head_blocked;
    pthread_mutex_unlock(&ib->lock);
    if (msgs || atomic_load(&ib->slot_freed) || events_pending(ib)) {
        atomic_store(&ib->sleeping, 0);
        return false;
    }
    return true;
}

void vmm_inbox_awake(struct vmm_inbox *ib)
{
    atomic_store(&ib->sleeping, 0);
    uint64_t v;
    while (read(ib->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
}

void vmm_inbox_clear(struct vmm_inbox *ib)
{
    pthread_mutex_lock(&ib->lock);
    ib->head = 0;
    ib->count = 0;
    pthread_mutex_unlock(&ib->lock);
    for (uint32_t w = 0; w < ib->nr_words; w++)
        atomic_store(&ib->events[w], 0);
    atomic_store(&ib->slot_freed, 0u);
    ib->head_blocked = false;
}
