/* SPDX-License-Identifier: MIT */
/*
 * The inbox: guest input for a VMBus server that runs on its own thread.
 * vCPU threads hand over HvPostMessage payloads (a short FIFO, copied),
 * HvSignalEvent connection ids (one bit per channel: a signal while one is
 * already pending adds nothing, just as the guest's own flag would) and
 * "SINT 2 slot freed" notes; the server thread drains them into the
 * server. Anyone (vCPUs, backend threads, the main thread) wakes the
 * server thread through one eventfd, written only when that thread is
 * about to sleep or asleep, so a busy bus costs no system call per input.
 *
 * No dependency on the rest of the VMM: the benchmark (bench/) drives the
 * same code.
 */
#ifndef HVSHIM_KVM_INBOX_H
#define HVSHIM_KVM_INBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvshim/tlfs.h"

struct vmbus_server;

/* Messages queued for the server before the guest is told to retry
 * (INSUFFICIENT_BUFFERS). Linux sends one at a time per CPU. */
#define VMM_INBOX_DEPTH 64u

struct vmm_inbox_msg {
    uint32_t vp;
    uint32_t connection_id;
    uint32_t type;
    uint32_t size;
    uint8_t payload[HV_MESSAGE_PAYLOAD_MAX];
};

struct vmm_inbox_stats {
    _Atomic uint64_t posts;          /* messages queued */
    _Atomic uint64_t posts_refused;  /* queue full: the guest retries */
    _Atomic uint64_t signals;        /* signal calls (folded or not) */
    _Atomic uint64_t wakeups;        /* eventfd writes */
    uint64_t retries;                /* server thread: server said RETRY */
    uint64_t contacts;               /* INITIATE_CONTACTs that connected */
};

struct vmm_inbox {
    int efd;                         /* eventfd the server thread polls */
    _Atomic int sleeping;            /* the server thread may be in poll */

    pthread_mutex_t lock;            /* the message FIFO */
    struct vmm_inbox_msg msgs[VMM_INBOX_DEPTH];
    uint32_t head;
    uint32_t count;
    /* Server thread only: the head message got VMBUS_INPUT_RETRY; it
     * counts as pending again only once something else happened. */
    bool head_blocked;

    /* Event connections event_base + 1 .. event_base + nr_events. */
    uint32_t event_base;
    uint32_t nr_events;
    uint32_t nr_words;
    _Atomic uint64_t *events;

    _Atomic uint32_t slot_freed;     /* SINT 2 had a slot freed somewhere */

    struct vmm_inbox_stats st;
};

/* 0, or -1 (errno set). */
int vmm_inbox_init(struct vmm_inbox *ib, uint32_t event_base, uint32_t nr_events);
void vmm_inbox_destroy(struct vmm_inbox *ib);

/* ------------------------------------------------ any thread: producers */

/* A TLFS status for the guest: SUCCESS (queued) or INSUFFICIENT_BUFFERS
 * (full: Linux retries). size <= 240. */
uint16_t vmm_inbox_post(struct vmm_inbox *ib, uint32_t vp, uint32_t connection_id,
                        uint32_t type, const void *payload, uint32_t size);
/* SUCCESS, or INVALID_CONNECTION_ID for an id outside the event range. */
uint16_t vmm_inbox_signal(struct vmm_inbox *ib, uint32_t connection_id);
void vmm_inbox_slot_freed(struct vmm_inbox *ib, uint32_t sint);
/* Make the server thread run its loop soon. */
void vmm_inbox_wake(struct vmm_inbox *ib);

/* ------------------------------------------------- the server thread */

/* Feed everything pending to srv. Returns true if anything was taken. A
 * message the server cannot take yet (VMBUS_INPUT_RETRY) stays first in
 * the FIFO and is offered again at the next drain. */
bool vmm_inbox_drain(struct vmm_inbox *ib, struct vmbus_server *srv);
/* Announce a sleep: true if nothing is pending (then poll efd), false if
 * input arrived meanwhile (drain again). Pair with vmm_inbox_awake. */
bool vmm_inbox_prepare_sleep(struct vmm_inbox *ib);
void vmm_inbox_awake(struct vmm_inbox *ib);
/* Forget all queued input (the guest rebooted). */
void vmm_inbox_clear(struct vmm_inbox *ib);

#endif /* HVSHIM_KVM_INBOX_H */
