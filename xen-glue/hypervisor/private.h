/* SPDX-License-Identifier: MIT */
/*
 * hvshim inside Xen: state and helpers shared by the glue files in
 * xen/arch/x86/hvm/hvshim/ (entry points, host operations, save records,
 * VMBus forwarding). The core's own files never see this header.
 */
#ifndef X86_HVM_HVSHIM_PRIVATE_H
#define X86_HVM_HVSHIM_PRIVATE_H

#include <xen/sched.h>
#include <xen/spinlock.h>
#include <xen/timer.h>

#include "hvshim/hvshim.h"

struct hvshim_vmbus;

/* One Xen timer per synthetic timer; data points back here. */
struct hvshim_xen_timer {
    struct timer timer;
    struct vcpu *v;
    unsigned int index;
};

struct viridian_vcpu {
    struct vcpu *v;
    struct hvshim_xen_timer stimer[HV_STIMER_COUNT];
    bool timers_ready;          /* init_timer done, kill_timer pending */
    bool flush_retry;           /* paging_flush_tlb backed off: re-execute */
};

struct viridian_domain {
    struct domain *d;
    spinlock_t lock;            /* partition setup, VMBus attach/detach */
    bool ready;                 /* partition initialised (read after barrier) */
    uint64_t mask;              /* HVM_PARAM_VIRIDIAN the partition was built from */
    struct hv_partition part;
    struct hv_vp *vps;          /* d->max_vcpus entries (vzalloc) */
    struct hvshim_vmbus *vmbus; /* forwarding to the dom0 daemon, or NULL */
};

extern const struct hv_host_ops hvshim_xen_ops;

/*
 * The domain's partition, set up from HVM_PARAM_VIRIDIAN on first use (the
 * parameter is set after viridian_domain_init and never changes once set).
 * NULL for a domain without viridian or if setup failed.
 */
struct hv_partition *hvshim_partition(struct domain *d);
/* The same, but never sets up: for hooks Xen calls on every HVM domain. */
struct hv_partition *hvshim_partition_if_ready(const struct domain *d);
struct hv_vp *hvshim_vp(const struct vcpu *v);

/* host ops helpers */
struct vcpu *hvshim_vcpu_of(const struct viridian_domain *vd, uint32_t vp_index);
void hvshim_xen_timer_fn(void *data);

/* VMBus forwarding (vmbus.c) */
uint16_t hvshim_vmbus_post_message(struct viridian_domain *vd, uint32_t vp,
                                   uint32_t connection_id, uint32_t message_type,
                                   const void *payload, uint32_t size);
uint16_t hvshim_vmbus_signal_event(struct viridian_domain *vd, uint32_t vp,
                                   uint32_t connection_id, uint16_t flag);
void hvshim_vmbus_slot_freed(struct viridian_domain *vd, uint32_t vp, uint32_t sint);
void hvshim_vmbus_destroy(struct viridian_domain *vd);

#endif /* X86_HVM_HVSHIM_PRIVATE_H */
