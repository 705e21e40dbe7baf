/* SPDX-License-Identifier: MIT */
/*
 * hvshim on Xen: the ABI between the hypervisor and the dom0 VMBus daemon
 * (hvshimd). export installs this file as xen/include/public/hvm/hvshim.h;
 * the daemon includes it from the hvshim tree. Everything here is
 * little-endian x86 layout with fixed-width fields; the daemon is untrusted
 * by Xen in the sense that every value it writes is checked before use.
 *
 * Guest -> daemon: Xen forwards the guest's HvPostMessage and HvSignalEvent
 * for connection ids the daemon registered. Posted messages go into a ring
 * in shared frames (XENMEM_resource_hvshim_vmbus, mapped by the daemon with
 * xenforeignmemory_map_resource); signals set a bit per connection; freed
 * SynIC message slots set a bit per (vp, sint). Xen sends an event on the
 * channel returned by ATTACH when the ring or a bitmap goes from empty to
 * non-empty, so a busy daemon gets one event per batch.
 *
 * Daemon -> guest: device-model operations (XEN_DMOP_hvshim_*) post a SynIC
 * message or set an event flag in the guest.
 *
 * Nothing blocks the guest: a full ring, a daemon that is not bound to the
 * event channel (dead or restarting) or the rate limit all answer the guest
 * HV_STATUS_INSUFFICIENT_BUFFERS, which Linux retries with back-off.
 */
#ifndef __XEN_PUBLIC_HVM_HVSHIM_H__
#define __XEN_PUBLIC_HVM_HVSHIM_H__

#define HVSHIM_VMBUS_ABI_VERSION 1

/* --------------------------------------------------- HVM_PARAM_VIRIDIAN */
/*
 * Bits 0-12 keep their HVMPV_ meaning, including what Xen's own viridian
 * gives with them: base implies the relaxed-timing hint and the long
 * spin-wait notification, synic implies SINT polling. hvshim adds the bits
 * below; only a hypervisor built with CONFIG_HVSHIM accepts them.
 */
#define _HVMPV_hvshim_stimer_direct        13
#define _HVMPV_hvshim_vp_runtime           14
#define _HVMPV_hvshim_reset                15
#define _HVMPV_hvshim_post_messages        16
#define _HVMPV_hvshim_signal_events        17
#define _HVMPV_hvshim_deprecate_auto_eoi   18
#define _HVMPV_hvshim_address_space_switch 19
#define _HVMPV_hvshim_ext_hypercalls       20
#define HVMPV_hvshim_first                 13
#define HVMPV_hvshim_count                 8
#define HVMPV_hvshim_feature_mask \
    (((1ULL << HVMPV_hvshim_count) - 1) << HVMPV_hvshim_first)

/* -------------------------------------------------- acquire_resource */

/* xenforeignmemory_map_resource(type, id 0, frame 0, nr_frames). */
#define XENMEM_resource_hvshim_vmbus 32

#define HVSHIM_VMBUS_FRAMES        3       /* control frame + 2 ring frames */
#define HVSHIM_VMBUS_RING_SLOTS    32      /* power of two */
#define HVSHIM_VMBUS_SLOT_SIZE     256
#define HVSHIM_VMBUS_RING_OFFSET   4096    /* slot 0, from frame 0 */
#define HVSHIM_VMBUS_MAX_VPS       128     /* slot_freed[] entries */
#define HVSHIM_VMBUS_MAX_EVENTS    64      /* event connections (bits) */
#define HVSHIM_VMBUS_PAYLOAD_MAX   240
#define HVSHIM_VMBUS_MAGIC         0x42525648U   /* "HVRB" */

/* Frame 0. Xen writes everything but msg_cons. */
struct hvshim_vmbus_control {
    uint32_t magic;            /* HVSHIM_VMBUS_MAGIC */
    uint32_t version;          /* HVSHIM_VMBUS_ABI_VERSION */
    uint32_t ring_slots;       /* HVSHIM_VMBUS_RING_SLOTS */
    uint32_t ring_offset;      /* HVSHIM_VMBUS_RING_OFFSET */
    uint32_t msg_prod;         /* free-running; Xen: entry written, then prod */
    uint32_t msg_cons;         /* free-running; daemon: entry read, then cons */
    uint32_t msg_full;         /* posts refused: ring full or no daemon */
    uint32_t msg_throttled;    /* posts refused by the rate limit */
    uint64_t signal_pending;   /* bit n: event connection n signalled (xchg 0 to take) */
    uint64_t signals;          /* signals forwarded (statistics) */
    uint32_t slot_freed[HVSHIM_VMBUS_MAX_VPS]; /* bit s: SIMP slot s of VP freed */
    uint32_t event_ids[HVSHIM_VMBUS_MAX_EVENTS]; /* connection id of bit n, 0 = none */
};

/* Frames 1-2: ring entries, HVSHIM_VMBUS_SLOT_SIZE bytes each. */
struct hvshim_vmbus_entry {
    uint32_t vp;               /* VP_INDEX of the posting vCPU */
    uint32_t connection_id;
    uint32_t message_type;
    uint32_t payload_size;     /* <= HVSHIM_VMBUS_PAYLOAD_MAX */
    uint8_t payload[HVSHIM_VMBUS_PAYLOAD_MAX];
};

/* ---------------------------------------------------- XEN_DMOP_hvshim_* */
/*
 * Numbers leave room for upstream operations after XEN_DMOP_nr_vcpus (20).
 * All return 0 or -errno; the caller's domain must be the domain's device
 * model (XSM_DM_PRIV), as for every DM op.
 */
#define XEN_DMOP_hvshim_attach      32
#define XEN_DMOP_hvshim_detach      33
#define XEN_DMOP_hvshim_connection  34
#define XEN_DMOP_hvshim_post        35
#define XEN_DMOP_hvshim_signal      36
#define XEN_DMOP_hvshim_time        37

/*
 * ATTACH: become the domain's VMBus daemon. Resets the ring and closes the
 * previous daemon's event channel. Without HVSHIM_ATTACH_RESUME it also
 * forgets every connection registered so far (a new daemon starts from an
 * empty bus); with it they stay routed, for a daemon that restarts with
 * the bus state its predecessor saved (it registers them again to learn
 * the event bits). -ENODEV: the domain has no hvshim partition (viridian
 * off); -EOPNOTSUPP: abi_version not supported; -EINVAL: unknown flags.
 */
#define HVSHIM_ATTACH_RESUME 1

struct xen_dm_op_hvshim_attach {
    uint32_t abi_version;      /* IN */
    uint32_t flags;            /* IN: HVSHIM_ATTACH_* */
    uint32_t port;             /* OUT: bind with xenevtchn_bind_interdomain */
    uint32_t nr_frames;        /* OUT: HVSHIM_VMBUS_FRAMES */
    uint32_t nr_vps;           /* OUT: VP indexes 0 .. nr_vps - 1 */
    uint32_t pad;
};

/* DETACH: stop forwarding; connections are unregistered, so the guest gets
 * HV_STATUS_INVALID_CONNECTION_ID from then on. */
struct xen_dm_op_hvshim_detach {
    uint32_t pad[2];
};

#define HVSHIM_CONN_MESSAGE 1      /* route HvPostMessage on this id */
#define HVSHIM_CONN_EVENT   2      /* route HvSignalEvent on this id */

/*
 * CONNECTION: kinds != 0 registers (or re-registers) connection_id with
 * those kinds; kinds == 0 removes it. For an event connection, event_bit
 * returns its bit in signal_pending. -ENOSPC: table full; -EINVAL: id 0 or
 * beyond 24 bits, or unknown kinds.
 */
struct xen_dm_op_hvshim_connection {
    uint32_t connection_id;    /* IN */
    uint32_t kinds;            /* IN */
    uint32_t event_bit;        /* OUT */
    uint32_t pad;
};

/*
 * POST: a SynIC message into (vp, sint). The payload (payload_size bytes,
 * <= 240) is the second DM-op buffer. -EBUSY: the VP's message queue is
 * full, retry after a slot_freed bit for (vp, sint); -ENXIO: the SynIC,
 * SIMP or SINT is disabled (dropped); -EINVAL: bad vp/sint/type/size.
 */
struct xen_dm_op_hvshim_post {
    uint32_t vp;
    uint32_t sint;
    uint32_t message_type;     /* non-zero, below 0x80000000 */
    uint32_t payload_size;
    uint64_t sender;           /* message header port / sender field */
};

/* SIGNAL: set event flag `flag` of (vp, sint) and raise the SINT if the
 * flag was clear. newly_set returns 1 if it was. -ENXIO, -EINVAL as POST. */
struct xen_dm_op_hvshim_signal {
    uint32_t vp;
    uint32_t sint;
    uint32_t flag;
    uint32_t newly_set;        /* OUT */
};

/* TIME: the partition's reference time now (TIME_REF_COUNT, 100 ns), for
 * the time-synchronisation service. */
struct xen_dm_op_hvshim_time {
    uint64_t ref_time;         /* OUT */
    uint64_t pad;
};

/* ------------------------------------------------------------ ACPI */
/*
 * hvmloader adds the VMBus ACPI device (SSDT "VMBus") when the guest's
 * xenstore has platform/hvshim_vmbus = "1" (hvshim-xen writes it).
 */
#define HVSHIM_XS_PLATFORM_VMBUS "platform/hvshim_vmbus"

#endif /* __XEN_PUBLIC_HVM_HVSHIM_H__ */
