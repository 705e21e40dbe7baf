/* SPDX-License-Identifier: MIT */
/*
 * Partition and VP state. Hosts allocate these (sizeof is public) and hand
 * them to hv_partition_init(); only the core reads or writes the fields.
 */
#ifndef HVSHIM_STATE_H
#define HVSHIM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "hvshim/features.h"
#include "hvshim/host.h"
#include "hvshim/tlfs.h"

/* A test-and-set lock built on compiler atomics (no libc, no host). */
struct hv_spinlock {
    uint32_t locked;
};

/* Guest-posted and host-posted SynIC messages waiting for a free slot. */
#define HV_MSG_QUEUE_DEPTH 8u

struct hv_queued_message {
    uint8_t sint;
    uint8_t used;
    uint8_t reserved[6];
    struct hv_message msg;
};

struct hv_stimer {
    uint64_t config;
    uint64_t count;
    uint64_t expiration;     /* absolute reference time of the next expiry; 0 = not armed */
    uint64_t pending_expiration; /* expiry still to be delivered (slot busy) */
    bool pending;            /* expired, delivery outstanding */
};

/*
 * Connection ids the host registered for HvPostMessage/HvSignalEvent
 * (VMBus: 1 and 4 for messages, one event id per channel). An
 * open-addressed table read without locks on every SignalEvent: each
 * entry is one 64-bit word (bits 0-23 id, 32-33 kinds; 0 = empty), and a
 * seqlock makes readers retry across a writer's backward-shift deletion.
 */
#define HV_MAX_CONNECTIONS 768u
#define HV_CONNECTION_SLOTS 1024u   /* power of two, load <= 3/4 */

enum hv_connection_kind {
    HV_CONNECTION_MESSAGE = 1,  /* HvPostMessage target */
    HV_CONNECTION_EVENT = 2,    /* HvSignalEvent target */
};


/* Counters the host can print (--stats). */
enum hv_hc_stat {
    HV_HC_STAT_SWITCH_AS, HV_HC_STAT_FLUSH_SPACE, HV_HC_STAT_FLUSH_LIST,
    HV_HC_STAT_SPIN_WAIT, HV_HC_STAT_IPI, HV_HC_STAT_FLUSH_SPACE_EX,
    HV_HC_STAT_FLUSH_LIST_EX, HV_HC_STAT_IPI_EX, HV_HC_STAT_POST_MESSAGE,
    HV_HC_STAT_SIGNAL_EVENT, HV_HC_STAT_EXT_QUERY, HV_HC_STAT_OTHER,
    HV_HC_STAT_COUNT
};

struct hv_stats {
    uint64_t hypercalls[HV_HC_STAT_COUNT];
    uint64_t hypercall_errors;
    uint64_t msr_reads;
    uint64_t msr_writes;
    uint64_t msr_faults;
    uint64_t synic_messages;
    uint64_t synic_events;
    uint64_t stimer_expiries;
};

struct hv_partition;

struct hv_vp {
    struct hv_partition *partition;
    uint32_t index;              /* VP_INDEX */
    struct hv_spinlock lock;     /* SynIC, stimers, message queue, assist */

    /* VP assist page and APIC assist (lazy EOI) */
    uint64_t vp_assist_msr;
    void *vp_assist_page;
    bool apic_assist_pending;
    uint8_t apic_assist_vector;

    /* SynIC */
    uint64_t scontrol;
    uint64_t siefp;
    uint64_t simp;
    void *siefp_page;
    void *simp_page;
    uint64_t sint[HV_SINT_COUNT];
    uint16_t eom_wanted;         /* SINTs whose slot got msg_pending */
    uint16_t post_waiters;       /* SINTs whose poster got HV_ERR_BUSY (queue full) */
    struct hv_queued_message queue[HV_MSG_QUEUE_DEPTH];
    uint32_t queue_seq;          /* FIFO order among queued messages */
    uint32_t queue_order[HV_MSG_QUEUE_DEPTH];

    /* Synthetic timers */
    struct hv_stimer stimer[HV_STIMER_COUNT];
    uint32_t stimer_fired;       /* atomic: timers whose host timer fired */

    /* Counters of this VP: written only by its own thread (MSRs,
     * hypercalls) or under its lock (SynIC, stimers), so a shared cache
     * line never bounces between VPs. hv_partition_stats() sums them. */
    struct hv_stats stats;
};

struct hv_config {
    hv_features_t features;      /* already masked by what the host can do */
    uint32_t nr_vps;             /* 1 .. HV_MAX_VPS */
    uint64_t tsc_hz;             /* guest TSC frequency */
    uint64_t apic_hz;            /* LAPIC timer frequency */
    bool tsc_reliable;           /* false: TSC page marked invalid */
    uint32_t hw_features;        /* 0x40000006.EAX */
    uint32_t spin_retries;       /* 0x40000004.EBX when spin_wait is on */
    uint32_t version_build;      /* 0x40000002 */
    uint16_t version_major, version_minor;
    uint32_t version_service_pack;
    uint32_t version_service_number; /* bits 0-23 */
    uint8_t version_branch;
};

struct hv_partition {
    const struct hv_host_ops *ops;
    void *ctx;
    struct hv_config cfg;
    struct hv_vp *vps;
    struct hv_spinlock lock;     /* partition-wide MSRs, TSC page, connections */

    uint64_t guest_os_id;
    uint64_t hypercall_msr;

    /* Reference time: ref = ((tsc * scale) >> 64) + offset, 100 ns units */
    uint32_t time_seq;           /* seqlock over scale/offset/frozen: odd = updating */
    uint64_t tsc_scale;
    int64_t ref_offset;
    uint64_t reference_tsc_msr;
    void *tsc_page;
    uint32_t tsc_sequence;
    bool time_frozen;
    uint64_t frozen_ref_time;

    /* Crash parameters (partition-wide, as Hyper-V keeps them) */
    uint64_t crash_param[HV_CRASH_PARAMS];
    uint64_t crash_ctl;

    /* Reenlightenment and TSC emulation */
    uint64_t reenlightenment_control;
    uint64_t tsc_emulation_control;
    uint64_t tsc_emulation_status;
    uint64_t tsc_invariant_control;
    uint64_t pending_tsc_hz;     /* new frequency, applied when TSC emulation ends */

    /* Kept across hv_partition_reset(): must stay last (see reset). */
    uint32_t connections_seq;
    uint32_t nr_connections;
    uint64_t connections[HV_CONNECTION_SLOTS];
};

#endif /* HVSHIM_STATE_H */
