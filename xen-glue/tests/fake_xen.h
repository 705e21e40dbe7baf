/* SPDX-License-Identifier: MIT */
/*
 * Fake libxen* libraries for the toolstack tests: the functions hvshim-xen
 * and hvshimd call (libxenstore, libxenctrl, libxenforeignmemory,
 * libxenevtchn, libxencall), with the real names, linked instead of the
 * real libraries. Behind them is a small model of what they talk to:
 *
 *  - xenstored: a node tree, watches (fired on registration and on every
 *    change at or below the path, "@releaseDomain" on domain death),
 *    transactions that apply atomically or fail with EAGAIN;
 *  - Xen: domains with guest RAM, HVM_PARAM_VIRIDIAN set-once rules, and
 *    the hvshim glue's side of the VMBus ABI (xen-glue/abi/hvshim.h): the
 *    DM operations, the shared frames, the event channel, the guest's
 *    posts and signals as the hypervisor forwards them;
 *  - the dom0 drivers: foreign mappings that alias the guest's RAM (and
 *    can be made to fail), event channels with pending ports.
 */
#ifndef HVSHIM_XEN_TESTS_FAKE_XEN_H
#define HVSHIM_XEN_TESTS_FAKE_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xen-glue/abi/hvshim.h"

#define FX_MAX_DOMAINS 8
#define FX_GUEST_PAGES 512
#define FX_MAX_RECORDS 512

struct fx_post {
    uint32_t vp, sint, type, size;
    uint64_t sender;
    uint8_t payload[HVSHIM_VMBUS_PAYLOAD_MAX];
};

struct fx_signal {
    uint32_t vp, sint, flag;
};

struct fx_domain {
    bool exists, dying, hvm, paused;
    uint32_t domid;
    uint32_t nr_vcpus;
    uint64_t viridian;               /* HVM_PARAM_VIRIDIAN */
    bool hvshim_hypervisor;          /* Xen built with CONFIG_HVSHIM */
    int ram_fd;                      /* guest RAM (memfd) */
    uint8_t *ram;

    /* the hypervisor glue's VMBus state */
    bool vmbus_frames;               /* allocated by the first ATTACH */
    int frames_fd;
    uint8_t *frames;                 /* HVSHIM_VMBUS_FRAMES pages */
    bool attached;
    uint32_t prod;
    int xen_port;                    /* -1 none */
    bool port_bound;
    void *bound_handle;              /* the xenevtchn handle bound to it */
    int local_port;
    uint32_t conn_ids[64], conn_kinds[64];
    uint32_t event_ids[HVSHIM_VMBUS_MAX_EVENTS];

    /* what the daemon made the hypervisor do to the guest */
    struct fx_post posts[FX_MAX_RECORDS];
    unsigned nr_posts;
    struct fx_signal signals[FX_MAX_RECORDS];
    unsigned nr_signals;
    unsigned post_busy;              /* answer the next N posts with -EBUSY */
    uint64_t ref_time;
    unsigned attaches, detaches;
};

struct fake_xen {
    struct fx_domain dom[FX_MAX_DOMAINS];
    int xs_conflicts;                /* the next N transaction commits fail (EAGAIN) */
    bool xs_down;                    /* xs_open fails */
    bool privcmd_down;               /* xc_interface_open etc. fail */
    uint64_t bad_pfn;                /* foreign-mapping this frame fails (0: none) */
    bool fail_map_resource;
    int fail_dmop_errno;             /* the next DM op fails with this errno */
    unsigned live_maps, live_resources, live_evtchn_handles, live_xs_handles;
    unsigned dm_ops;
};

extern struct fake_xen fx;

/* Back to an empty host (closes nothing the code under test still holds:
 * call between tests once it let go). */
void fx_reset(void);

struct fx_domain *fx_domain(uint32_t domid);
struct fx_domain *fx_domain_create(uint32_t domid, bool hvm, uint32_t nr_vcpus);
/* The domain dies and is gone: fires @releaseDomain. */
void fx_domain_destroy(uint32_t domid);

/* The guest, through the hypervisor: what HvPostMessage / HvSignalEvent
 * return to it (TLFS status), and a freed SynIC message slot. */
uint16_t fx_guest_post(uint32_t domid, uint32_t vp, uint32_t connection_id,
                       uint32_t message_type, const void *payload, uint32_t size);
uint16_t fx_guest_signal(uint32_t domid, uint32_t connection_id);
void fx_guest_slot_freed(uint32_t domid, uint32_t vp, uint32_t sint);
/* Whether connection_id is routed with these kinds (HVSHIM_CONN_*). */
bool fx_routed(uint32_t domid, uint32_t connection_id, uint32_t kinds);

/* The daemon process dies: its event channels close (no DM ops). */
void fx_daemon_crash(void);

/* xenstore access for tests: returns a static copy or NULL. */
const char *fx_xs_get(const char *path);
void fx_xs_set(const char *path, const char *value);
bool fx_xs_exists(const char *path);

#endif /* HVSHIM_XEN_TESTS_FAKE_XEN_H */
