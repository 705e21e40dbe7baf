/* SPDX-License-Identifier: MIT */
/*
 * hvshimd's engine: one VMBus server per configured domain, fed by the
 * hypervisor's forwarding ring (xen-glue/abi/hvshim.h) and answering
 * through hvshim's DM operations. A single thread: hvd_run_once() waits on
 * xenstore, the event channels and the servers' timers, then dispatches.
 * main() (hvshimd.c) adds signals and option parsing; the tests drive this
 * directly against fake libxen* libraries.
 */
#ifndef HVSHIM_XEN_DAEMON_H
#define HVSHIM_XEN_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct hvd_options {
    /* Where each domain's bus state is kept across an orderly restart
     * (NULL: not kept). */
    const char *state_dir;
    uint64_t heartbeat_interval_ns;  /* 0: the IC default */
    uint64_t timesync_interval_ns;   /* 0: the IC default */
    FILE *log;                       /* NULL: stderr */
    bool verbose;
};

enum hvd_domain_state {
    HVD_DOMAIN_RUNNING,
    HVD_DOMAIN_FAILED,               /* bad configuration or setup failure */
};

struct hvd_domain_info {
    uint32_t domid;
    enum hvd_domain_state state;
    char status[160];                /* also in xenstore: .../daemon */
    uint32_t nr_vps;
    uint32_t connections;            /* ids registered with Xen */
    bool restored;                   /* bus state came from state_dir */
    uint64_t ring_messages;          /* entries taken from the ring */
    uint64_t ring_retries;           /* times the server pushed back */
    uint64_t signals;                /* channel signals taken */
    uint64_t posts;                  /* messages posted to the guest */
    uint64_t posts_busy;             /* ... refused with -EBUSY */
    uint64_t slot_freed;             /* slot-freed notifications taken */
};

struct hvd;

/* Opens xenstore, libxenctrl, foreign memory, event channels and the DM-op
 * path, sets the watches and starts every domain already configured.
 * NULL with a reason in err. */
struct hvd *hvd_create(const struct hvd_options *opt, char *err, size_t err_len);
/* save_state: write each running domain's bus state to state_dir first
 * (an orderly stop: the guest's registrations stay with Xen, so it only
 * sees retry statuses until the next daemon attaches). */
void hvd_destroy(struct hvd *d, bool save_state);

/* Wait up to max_wait_ms (-1: until something happens) and handle what
 * arrived. 0, or -1 if the daemon cannot go on (xenstore gone). */
int hvd_run_once(struct hvd *d, int max_wait_ms);

size_t hvd_domain_count(const struct hvd *d);
/* 0, or -1 if domid is not known. */
int hvd_domain_info(const struct hvd *d, uint32_t domid, struct hvd_domain_info *out);

/* The domain's VMBus server, for tests and diagnostics (NULL if none). */
struct vmbus_server *hvd_domain_server(struct hvd *d, uint32_t domid);

#endif /* HVSHIM_XEN_DAEMON_H */
