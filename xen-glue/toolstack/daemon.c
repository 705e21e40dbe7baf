/* SPDX-License-Identifier: MIT */
/* hvshimd's engine (see daemon.h and docs/xen.md for the ABI). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>

#include "vmbus/ic/services.h"
#include "vmbus/protocol.h"
#include "vmbus/server.h"
#include "xen-glue/abi/hvshim.h"
#include "xen-glue/toolstack/config.h"
#include "xen-glue/toolstack/daemon.h"
#include "xen-glue/toolstack/dmop.h"
#include "xen-glue/toolstack/memview_xen.h"

#define MAX_DOMAINS 128
#define MAX_CONNS 64
#define TOKEN_CONFIG "hvshimd-config"
#define TOKEN_RELEASE "hvshimd-release"

struct hvd;

struct hvd_domain {
    struct hvd *d;
    uint32_t domid;
    enum hvd_domain_state state;
    char status[160];
    struct hvx_config cfg;

    /* Xen side */
    bool attached;
    evtchn_port_t local_port;
    bool port_bound;
    xenforeignmemory_resource_handle *res;
    void *shared;
    struct hvshim_vmbus_control *ctl;
    uint32_t cons;                   /* our consumer index */
    uint32_t nr_vps;
    struct {
        uint32_t id;
        uint32_t kinds;
    } conns[MAX_CONNS];
    uint32_t event_conn[HVSHIM_VMBUS_MAX_EVENTS];  /* signal bit -> connection */
    bool quiet_teardown;             /* keep Xen's registrations on the way out */
    char failed_generation[32];      /* configuration that failed to start */

    /* the bus */
    struct hvx_memview mem;
    struct vmbus_server *srv;
    struct vmbus_ic_set ics;
    bool blocked;                    /* ring head refused: wait for a free slot */
    bool restored;

    uint64_t ring_messages, ring_retries, signals, posts, posts_busy, slot_freed;
};

struct hvd {
    struct hvd_options opt;
    FILE *log;
    struct xs_handle *xs;
    xc_interface *xch;
    xenforeignmemory_handle *fmem;
    xenevtchn_handle *xce;
    struct hvx_dm dm;
    struct hvd_domain *dom[MAX_DOMAINS];
    size_t nr;
};

/* ------------------------------------------------------------ logging */

static void dlog(struct hvd *d, uint32_t domid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void dlog(struct hvd *d, uint32_t domid, const char *fmt, ...)
{
    va_list ap;

    if (domid)
        fprintf(d->log, "hvshimd: d%u: ", domid);
    else
        fprintf(d->log, "hvshimd: ");
    va_start(ap, fmt);
    vfprintf(d->log, fmt, ap);
    va_end(ap);
    fputc('\n', d->log);
    fflush(d->log);
}

static void set_status(struct hvd_domain *dm, enum hvd_domain_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_status(struct hvd_domain *dm, enum hvd_domain_state st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dm->status, sizeof(dm->status), fmt, ap);
    va_end(ap);
    dm->state = st;
    if (st == HVD_DOMAIN_FAILED)
        snprintf(dm->failed_generation, sizeof(dm->failed_generation), "%s", dm->cfg.generation);
    hvx_config_set_daemon_status(dm->d->xs, dm->domid, dm->status);
    dlog(dm->d, dm->domid, "%s", dm->status);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --------------------------------------------------- server callbacks */

static int cb_post(void *ctx, uint32_t vp, const void *msg, uint32_t size)
{
    struct hvd_domain *dm = ctx;
    struct xen_dm_op_hvshim_post op = {
        .vp = vp,
        .sint = VMBUS_MESSAGE_SINT,
        .message_type = VMBUS_MESSAGE_TYPE,
        .payload_size = size,
    };
    int rc = hvx_dm_op(&dm->d->dm, dm->domid, XEN_DMOP_hvshim_post, &op, sizeof(op), msg, size);

    if (rc == 0) {
        dm->posts++;
        return VMBUS_POST_OK;
    }
    if (rc == -EBUSY) {
        dm->posts_busy++;
        return VMBUS_POST_BUSY;
    }
    return VMBUS_POST_FAILED;
}

static void cb_signal(void *ctx, uint32_t vp, uint32_t relid)
{
    struct hvd_domain *dm = ctx;
    struct xen_dm_op_hvshim_signal op = {
        .vp = vp,
        .sint = VMBUS_MESSAGE_SINT,
        .flag = relid,
    };

    (void)hvx_dm_op(&dm->d->dm, dm->domid, XEN_DMOP_hvshim_signal, &op, sizeof(op), NULL, 0);
}

static int find_conn(struct hvd_domain *dm, uint32_t id, bool alloc)
{
    int free_slot = -1;

    for (int i = 0; i < MAX_CONNS; i++) {
        if (dm->conns[i].id == id)
            return i;
        if (!dm->conns[i].id && free_slot < 0)
            free_slot = i;
    }
    return alloc ? free_slot : -1;
}

/* Tell Xen the kinds an id has now; learn its signal bit. */
static int push_conn(struct hvd_domain *dm, uint32_t id, uint32_t kinds)
{
    struct xen_dm_op_hvshim_connection op = {
        .connection_id = id,
        .kinds = kinds,
    };
    int rc = hvx_dm_op(&dm->d->dm, dm->domid, XEN_DMOP_hvshim_connection, &op, sizeof(op),
                       NULL, 0);

    for (unsigned b = 0; b < HVSHIM_VMBUS_MAX_EVENTS; b++)
        if (dm->event_conn[b] == id)
            dm->event_conn[b] = 0;
    if (rc == 0 && (kinds & HVSHIM_CONN_EVENT) && op.event_bit < HVSHIM_VMBUS_MAX_EVENTS)
        dm->event_conn[op.event_bit] = id;
    return rc;
}

static int cb_conn_add(void *ctx, uint32_t id, bool event)
{
    struct hvd_domain *dm = ctx;
    int i = find_conn(dm, id, true);
    int rc;

    if (i < 0)
        return -1;
    rc = push_conn(dm, id, dm->conns[i].kinds | (event ? HVSHIM_CONN_EVENT : HVSHIM_CONN_MESSAGE));
    if (rc) {
        dlog(dm->d, dm->domid, "cannot route connection %u: %s", id, strerror(-rc));
        return -1;
    }
    dm->conns[i].id = id;
    dm->conns[i].kinds |= event ? HVSHIM_CONN_EVENT : HVSHIM_CONN_MESSAGE;
    return 0;
}

static void cb_conn_remove(void *ctx, uint32_t id)
{
    struct hvd_domain *dm = ctx;
    int i = find_conn(dm, id, false);

    if (i < 0)
        return;
    dm->conns[i].id = 0;
    dm->conns[i].kinds = 0;
    if (!dm->quiet_teardown)
        (void)push_conn(dm, id, 0);
}

static uint64_t cb_now(void *ctx)
{
    (void)ctx;
    return now_ns();
}

static void cb_log(void *ctx, enum vmbus_log_level level, const char *line)
{
    struct hvd_domain *dm = ctx;

    if (level == VMBUS_LOG_DEBUG && !dm->d->opt.verbose)
        return;
    dlog(dm->d, dm->domid, "%s", line);
}

static const struct vmbus_server_host server_host = {
    .post_message = cb_post,
    .signal_event = cb_signal,
    .connection_add = cb_conn_add,
    .connection_remove = cb_conn_remove,
    .now_ns = cb_now,
    .log = cb_log,
};

/* The guest's reference time, for the time-synchronisation service. */
static uint64_t ref_time(void *ctx)
{
    struct hvd_domain *dm = ctx;
    struct xen_dm_op_hvshim_time op = { 0 };

    if (hvx_dm_op(&dm->d->dm, dm->domid, XEN_DMOP_hvshim_time, &op, sizeof(op), NULL, 0))
        return 0;
    return op.ref_time;
}

/* ---------------------------------------------------- the shared ring */

static const struct hvshim_vmbus_entry *ring_slot(const struct hvd_domain *dm, uint32_t i)
{
    return (const struct hvshim_vmbus_entry *)((const uint8_t *)dm->shared +
                                               HVSHIM_VMBUS_RING_OFFSET +
                                               (i & (HVSHIM_VMBUS_RING_SLOTS - 1)) *
                                                   HVSHIM_VMBUS_SLOT_SIZE);
}

static void take_signals(struct hvd_domain *dm)
{
    uint64_t bits = __atomic_exchange_n(&dm->ctl->signal_pending, 0, __ATOMIC_SEQ_CST);

    while (bits) {
        unsigned b = (unsigned)__builtin_ctzll(bits);
        bits &= bits - 1;
        if (dm->event_conn[b]) {
            dm->signals++;
            vmbus_server_signal_event(dm->srv, 0, dm->event_conn[b]);
        }
    }
}

static void take_freed_slots(struct hvd_domain *dm)
{
    uint32_t n = dm->nr_vps < HVSHIM_VMBUS_MAX_VPS ? dm->nr_vps : HVSHIM_VMBUS_MAX_VPS;

    for (uint32_t vp = 0; vp < n; vp++) {
        uint32_t sints = __atomic_exchange_n(&dm->ctl->slot_freed[vp], 0, __ATOMIC_SEQ_CST);
        while (sints) {
            unsigned s = (unsigned)__builtin_ctz(sints);
            sints &= sints - 1;
            dm->slot_freed++;
            dm->blocked = false;
            vmbus_server_message_slot_freed(dm->srv, vp, s);
        }
    }
}

static void take_messages(struct hvd_domain *dm)
{
    while (!dm->blocked) {
        uint32_t prod = __atomic_load_n(&dm->ctl->msg_prod, __ATOMIC_ACQUIRE);
        struct hvshim_vmbus_entry e;
        int rc;

        if (prod == dm->cons) {
            /* Publish what we took, then look again: Xen only signals if
             * it saw us caught up before its entry (see the ABI). */
            __atomic_store_n(&dm->ctl->msg_cons, dm->cons, __ATOMIC_RELEASE);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (__atomic_load_n(&dm->ctl->msg_prod, __ATOMIC_ACQUIRE) == dm->cons)
                return;
            continue;
        }
        if (prod - dm->cons > HVSHIM_VMBUS_RING_SLOTS) {
            set_status(dm, HVD_DOMAIN_FAILED, "error: forwarding ring corrupt (prod %u cons %u)",
                       prod, dm->cons);
            return;
        }
        memcpy(&e, ring_slot(dm, dm->cons), sizeof(e));
        if (e.payload_size <= HVSHIM_VMBUS_PAYLOAD_MAX) {
            rc = vmbus_server_post_message(dm->srv, e.vp, e.connection_id, e.message_type,
                                           e.payload, e.payload_size);
            if (rc == VMBUS_INPUT_RETRY) {
                /* The server's replies would not fit: leave the entry and
                 * wait for the guest to free a message slot. */
                dm->blocked = true;
                dm->ring_retries++;
                __atomic_store_n(&dm->ctl->msg_cons, dm->cons, __ATOMIC_RELEASE);
                return;
            }
        }
        dm->cons++;
        dm->ring_messages++;
    }
}

static void service(struct hvd_domain *dm)
{
    if (dm->state != HVD_DOMAIN_RUNNING || !dm->srv)
        return;
    take_signals(dm);
    take_freed_slots(dm);
    take_messages(dm);
}

/* ------------------------------------------------------- life cycle */

static void state_path(const struct hvd *d, uint32_t domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/d%u.vmbus", d->opt.state_dir, domid);
}

static void save_bus(struct hvd_domain *dm)
{
    char path[512], tmp[520];
    long n;
    void *buf;
    FILE *f;

    if (!dm->d->opt.state_dir || !dm->srv)
        return;
    n = vmbus_server_save(dm->srv, NULL, 0);
    if (n <= 0 || !(buf = malloc((size_t)n))) {
        dlog(dm->d, dm->domid, "cannot save bus state");
        return;
    }
    n = vmbus_server_save(dm->srv, buf, (size_t)n);
    state_path(dm->d, dm->domid, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    f = fopen(tmp, "wb");
    if (n > 0 && f && fwrite(buf, 1, (size_t)n, f) == (size_t)n && fclose(f) == 0) {
        f = NULL;
        if (rename(tmp, path) == 0)
            dlog(dm->d, dm->domid, "bus state saved (%ld bytes)", n);
    } else {
        dlog(dm->d, dm->domid, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (f)
        fclose(f);
    free(buf);
}

/* Take a saved bus state if there is one (and remove it: it describes
 * this one moment). 1 if loaded. */
static int load_bus(struct hvd_domain *dm)
{
    char path[512];
    void *buf = NULL;
    long n = 0;
    FILE *f;
    int rc;

    if (!dm->d->opt.state_dir)
        return 0;
    state_path(dm->d, dm->domid, path, sizeof(path));
    f = fopen(path, "rb");
    if (!f)
        return 0;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (64l << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n)
        rc = vmbus_server_load(dm->srv, buf, (size_t)n);
    else
        rc = -1;
    fclose(f);
    free(buf);
    unlink(path);
    if (rc) {
        dlog(dm->d, dm->domid, "saved bus state not usable (%d): starting a fresh bus", rc);
        return 0;
    }
    return 1;
}

static bool domain_alive(struct hvd *d, uint32_t domid, bool *hvm)
{
    xc_dominfo_t info;

    memset(&info, 0, sizeof(info));
    if (xc_domain_getinfo(d->xch, domid, 1, &info) != 1 || info.domid != domid || info.dying)
        return false;
    if (hvm)
        *hvm = info.hvm;
    return true;
}

static void domain_teardown(struct hvd_domain *dm, bool detach)
{
    struct hvd *d = dm->d;

    if (dm->srv) {
        dm->quiet_teardown = !detach;
        vmbus_server_destroy(dm->srv);
        dm->srv = NULL;
        memset(&dm->ics, 0, sizeof(dm->ics));
    }
    hvx_memview_fini(&dm->mem);
    if (dm->port_bound) {
        xenevtchn_unbind(d->xce, dm->local_port);
        dm->port_bound = false;
    }
    if (dm->res) {
        xenforeignmemory_unmap_resource(d->fmem, dm->res);
        dm->res = NULL;
        dm->shared = NULL;
        dm->ctl = NULL;
    }
    if (dm->attached && detach) {
        struct xen_dm_op_hvshim_detach op = { { 0, 0 } };
        (void)hvx_dm_op(&d->dm, dm->domid, XEN_DMOP_hvshim_detach, &op, sizeof(op), NULL, 0);
    }
    dm->attached = false;
    memset(dm->conns, 0, sizeof(dm->conns));
    memset(dm->event_conn, 0, sizeof(dm->event_conn));
}

static int add_devices(struct hvd_domain *dm)
{
    struct vmbus_ic_options ic;
    bool any_ic = false;

    vmbus_ic_options_defaults(&ic);
    ic.heartbeat = ic.shutdown = ic.timesync = ic.kvp = false;
    ic.heartbeat_interval_ns = dm->d->opt.heartbeat_interval_ns;
    ic.timesync_interval_ns = dm->d->opt.timesync_interval_ns;
    ic.time.ref_time = ref_time;
    ic.time.ctx = dm;
    for (unsigned i = 0; i < dm->cfg.nr_devices; i++) {
        const struct hvx_device *dev = &dm->cfg.dev[i];
        switch (dev->type) {
        case HVX_DEV_HEARTBEAT: ic.heartbeat = any_ic = true; break;
        case HVX_DEV_SHUTDOWN:  ic.shutdown = any_ic = true; break;
        case HVX_DEV_TIMESYNC:  ic.timesync = any_ic = true; break;
        case HVX_DEV_KVP:       ic.kvp = any_ic = true; break;
        case HVX_DEV_NIC:
        case HVX_DEV_DISK:
            /* The VMBus library has no network or storage device yet. */
            dlog(dm->d, dm->domid, "device %u (%s) is not available in this build: not offered",
                 i, hvx_dev_type_name(dev->type));
            break;
        default:
            break;
        }
    }
    if (any_ic && vmbus_ic_add(dm->srv, &ic, &dm->ics) != 0)
        return -1;
    return 0;
}

/* Register every id the server routes (after a load, or to learn event
 * bits again); cb_conn_add is idempotent. */
static int register_all(struct hvd_domain *dm)
{
    uint32_t ids[2 + MAX_CONNS];
    bool event[2 + MAX_CONNS];
    size_t n = vmbus_server_connections(dm->srv, ids, event, 2 + MAX_CONNS);

    if (n > 2 + MAX_CONNS)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (cb_conn_add(dm, ids[i], event[i]))
            return -1;
    return 0;
}

static int domain_start(struct hvd_domain *dm)
{
    struct hvd *d = dm->d;
    struct xen_dm_op_hvshim_attach att = { .abi_version = HVSHIM_VMBUS_ABI_VERSION };
    struct vmbus_server_config scfg;
    char err[160];
    bool hvm = false, resume;
    void *addr = NULL;
    char path[512];
    int rc;

    rc = hvx_config_read(d->xs, dm->domid, &dm->cfg, err, sizeof(err));
    if (rc) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: configuration: %s",
                   rc > 0 ? "missing" : err);
        return -1;
    }
    if (!domain_alive(d, dm->domid, &hvm) || !hvm) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: not a running HVM domain");
        return -1;
    }
    if (!hvx_config_has_vmbus(&dm->cfg)) {
        set_status(dm, HVD_DOMAIN_RUNNING, "idle: no VMBus devices configured");
        return 0;
    }

    /* A saved bus from an orderly restart: keep Xen's routing meanwhile. */
    if (d->opt.state_dir) {
        state_path(d, dm->domid, path, sizeof(path));
        resume = access(path, R_OK) == 0;
    } else
        resume = false;
    att.flags = resume ? HVSHIM_ATTACH_RESUME : 0;
    rc = hvx_dm_op(&d->dm, dm->domid, XEN_DMOP_hvshim_attach, &att, sizeof(att), NULL, 0);
    if (rc) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: attach: %s%s", strerror(-rc),
                   rc == -ENODEV ? " (no hvshim partition: viridian mask unset, or not an "
                                   "hvshim hypervisor)" : "");
        return -1;
    }
    dm->attached = true;
    dm->nr_vps = att.nr_vps;
    if (att.nr_frames != HVSHIM_VMBUS_FRAMES || att.nr_vps == 0) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: unexpected ring geometry (%u frames)",
                   att.nr_frames);
        goto fail;
    }

    dm->res = xenforeignmemory_map_resource(d->fmem, (domid_t)dm->domid,
                                            XENMEM_resource_hvshim_vmbus, 0, 0,
                                            HVSHIM_VMBUS_FRAMES, &addr,
                                            PROT_READ | PROT_WRITE, 0);
    if (!dm->res) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: cannot map the forwarding ring: %s",
                   strerror(errno));
        goto fail;
    }
    dm->shared = addr;
    dm->ctl = addr;
    if (dm->ctl->magic != HVSHIM_VMBUS_MAGIC || dm->ctl->version != HVSHIM_VMBUS_ABI_VERSION ||
        dm->ctl->ring_slots != HVSHIM_VMBUS_RING_SLOTS ||
        dm->ctl->ring_offset != HVSHIM_VMBUS_RING_OFFSET) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: forwarding ring has the wrong layout");
        goto fail;
    }
    dm->cons = dm->ctl->msg_cons;

    rc = xenevtchn_bind_interdomain(d->xce, dm->domid, att.port);
    if (rc < 0) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: cannot bind event channel %u: %s", att.port,
                   strerror(errno));
        goto fail;
    }
    dm->local_port = (evtchn_port_t)rc;
    dm->port_bound = true;

    hvx_memview_init(&dm->mem, d->fmem, dm->domid);
    vmbus_server_config_defaults(&scfg, dm->nr_vps);
    dm->srv = vmbus_server_create(&scfg, &server_host, dm, &dm->mem.view);
    if (!dm->srv) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: cannot create the VMBus server");
        goto fail;
    }
    if (add_devices(dm)) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: cannot add the integration services");
        goto fail;
    }
    dm->restored = load_bus(dm) == 1;
    if (register_all(dm)) {
        set_status(dm, HVD_DOMAIN_FAILED, "error: cannot route the bus's connections");
        goto fail;
    }
    set_status(dm, HVD_DOMAIN_RUNNING, "running%s, %u VPs, port %u",
               dm->restored ? " (bus state restored)" : "", dm->nr_vps, att.port);
    /* After a restart, look at every channel once: signals sent while no
     * daemon was bound were refused, not queued. */
    if (dm->restored)
        for (unsigned b = 0; b < HVSHIM_VMBUS_MAX_EVENTS; b++)
            if (dm->event_conn[b])
                vmbus_server_signal_event(dm->srv, 0, dm->event_conn[b]);
    service(dm);
    return 0;

fail:
    domain_teardown(dm, true);
    dm->state = HVD_DOMAIN_FAILED;
    return -1;
}

static struct hvd_domain *find_domain(const struct hvd *d, uint32_t domid, size_t *index)
{
    for (size_t i = 0; i < d->nr; i++)
        if (d->dom[i]->domid == domid) {
            if (index)
                *index = i;
            return d->dom[i];
        }
    return NULL;
}

static void domain_forget(struct hvd *d, size_t i)
{
    free(d->dom[i]);
    d->dom[i] = d->dom[--d->nr];
}

static void domain_add(struct hvd *d, uint32_t domid)
{
    struct hvd_domain *dm;

    if (d->nr == MAX_DOMAINS) {
        dlog(d, domid, "too many domains (%d): not served", MAX_DOMAINS);
        return;
    }
    dm = calloc(1, sizeof(*dm));
    if (!dm)
        return;
    dm->d = d;
    dm->domid = domid;
    d->dom[d->nr++] = dm;
    domain_start(dm);
}

/* A domain that failed to start gets another go only with a new
 * configuration: our own status writes also fire the watch. */
static void retry_if_reconfigured(struct hvd_domain *dm)
{
    char path[96], *gen;
    unsigned len;

    snprintf(path, sizeof(path), HVX_XS_ROOT "/%u/generation", dm->domid);
    gen = xs_read(dm->d->xs, XBT_NULL, path, &len);
    if (gen && strcmp(gen, dm->failed_generation)) {
        domain_teardown(dm, true);
        domain_start(dm);
    }
    free(gen);
}

/* Configuration directory changed: start new domains, stop removed ones. */
static void scan(struct hvd *d)
{
    unsigned n = 0;
    char **ents = xs_directory(d->xs, XBT_NULL, HVX_XS_ROOT, &n);
    bool present[MAX_DOMAINS] = { false };

    for (unsigned i = 0; ents && i < n; i++) {
        uint32_t domid;
        size_t idx;
        struct hvd_domain *dm;

        if (hvx_domid_parse(ents[i], &domid))
            continue;
        dm = find_domain(d, domid, &idx);
        if (!dm) {
            char state_path[96];
            unsigned len;
            char *state;

            /* Only once hvshim-xen has written everything. */
            snprintf(state_path, sizeof(state_path), HVX_XS_ROOT "/%u/state", domid);
            state = xs_read(d->xs, XBT_NULL, state_path, &len);
            if (state && !strcmp(state, "configured"))
                domain_add(d, domid);
            free(state);
            if ((dm = find_domain(d, domid, &idx)))
                present[idx] = true;
        } else {
            present[idx] = true;
            if (dm->state == HVD_DOMAIN_FAILED)
                retry_if_reconfigured(dm);
        }
    }
    free(ents);

    for (size_t i = d->nr; i-- > 0;)
        if (!present[i]) {
            dlog(d, d->dom[i]->domid, "configuration removed: stopping");
            domain_teardown(d->dom[i], true);
            domain_forget(d, i);
        }
}

/* Some domain died: drop what we served for it, and its configuration
 * (domain ids are reused). */
static void reap(struct hvd *d)
{
    for (size_t i = d->nr; i-- > 0;) {
        struct hvd_domain *dm = d->dom[i];
        if (domain_alive(d, dm->domid, NULL))
            continue;
        dlog(d, dm->domid, "domain gone: cleaning up");
        domain_teardown(dm, false);
        hvx_config_remove(d->xs, dm->domid);
        domain_forget(d, i);
    }
}

/* -------------------------------------------------------------- API */

struct hvd *hvd_create(const struct hvd_options *opt, char *err, size_t err_len)
{
    struct hvd *d = calloc(1, sizeof(*d));
    int rc;

    if (!d) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    d->opt = *opt;
    d->log = opt->log ? opt->log : stderr;
    d->xs = xs_open(0);
    if (!d->xs) {
        snprintf(err, err_len, "cannot open xenstore: %s", strerror(errno));
        goto fail;
    }
    d->xch = xc_interface_open(NULL, NULL, 0);
    d->fmem = xenforeignmemory_open(NULL, 0);
    d->xce = xenevtchn_open(NULL, 0);
    if (!d->xch || !d->fmem || !d->xce) {
        snprintf(err, err_len, "cannot open the Xen interfaces (privcmd, evtchn): %s",
                 strerror(errno));
        goto fail;
    }
    rc = hvx_dm_open(&d->dm);
    if (rc) {
        snprintf(err, err_len, "cannot open xencall: %s", strerror(-rc));
        goto fail;
    }
    if (opt->state_dir && mkdir(opt->state_dir, 0700) && errno != EEXIST) {
        snprintf(err, err_len, "cannot create %s: %s", opt->state_dir, strerror(errno));
        goto fail;
    }
    if (!xs_watch(d->xs, HVX_XS_ROOT, TOKEN_CONFIG) ||
        !xs_watch(d->xs, "@releaseDomain", TOKEN_RELEASE)) {
        snprintf(err, err_len, "cannot watch xenstore: %s", strerror(errno));
        goto fail;
    }
    /* Domains configured before we started (or by our predecessor). */
    scan(d);
    return d;

fail:
    hvd_destroy(d, false);
    return NULL;
}

void hvd_destroy(struct hvd *d, bool save_state)
{
    if (!d)
        return;
    while (d->nr) {
        struct hvd_domain *dm = d->dom[d->nr - 1];
        if (save_state && dm->srv && dm->state == HVD_DOMAIN_RUNNING) {
            save_bus(dm);
            domain_teardown(dm, false);
        } else {
            domain_teardown(dm, true);
        }
        domain_forget(d, d->nr - 1);
    }
    hvx_dm_close(&d->dm);
    if (d->xce)
        xenevtchn_close(d->xce);
    if (d->fmem)
        xenforeignmemory_close(d->fmem);
    if (d->xch)
        xc_interface_close(d->xch);
    if (d->xs)
        xs_close(d->xs);
    free(d);
}

static int timeout_ms(struct hvd *d, int max_wait_ms)
{
    uint64_t now = now_ns(), soonest = UINT64_MAX;

    for (size_t i = 0; i < d->nr; i++) {
        struct hvd_domain *dm = d->dom[i];
        if (dm->srv && dm->state == HVD_DOMAIN_RUNNING) {
            uint64_t t = vmbus_server_next_deadline(dm->srv);
            if (t < soonest)
                soonest = t;
        }
    }
    if (soonest == UINT64_MAX)
        return max_wait_ms;
    if (soonest <= now)
        return 0;
    uint64_t ms = (soonest - now + 999999) / 1000000;
    if (max_wait_ms >= 0 && ms > (uint64_t)max_wait_ms)
        return max_wait_ms;
    return ms > 60000 ? 60000 : (int)ms;
}

int hvd_run_once(struct hvd *d, int max_wait_ms)
{
    struct pollfd fds[2] = {
        { .fd = xs_fileno(d->xs), .events = POLLIN },
        { .fd = xenevtchn_fd(d->xce), .events = POLLIN },
    };
    int n = poll(fds, 2, timeout_ms(d, max_wait_ms));

    if (n < 0 && errno != EINTR)
        return -1;

    if (n > 0 && (fds[0].revents & POLLIN)) {
        char **vec;
        bool rescan = false, release = false;

        while ((vec = xs_check_watch(d->xs))) {
            if (!strcmp(vec[XS_WATCH_TOKEN], TOKEN_CONFIG))
                rescan = true;
            else if (!strcmp(vec[XS_WATCH_TOKEN], TOKEN_RELEASE))
                release = true;
            free(vec);
        }
        if (release)
            reap(d);
        if (rescan)
            scan(d);
    }
    if (n > 0 && (fds[0].revents & (POLLHUP | POLLERR)))
        return -1;

    if (n > 0 && (fds[1].revents & POLLIN)) {
        xenevtchn_port_or_error_t port = xenevtchn_pending(d->xce);
        if (port >= 0) {
            xenevtchn_unmask(d->xce, (evtchn_port_t)port);
            for (size_t i = 0; i < d->nr; i++)
                if (d->dom[i]->port_bound && d->dom[i]->local_port == (evtchn_port_t)port)
                    service(d->dom[i]);
        }
    }

    /* Timers (heartbeats, samples, ring polls). */
    for (size_t i = 0; i < d->nr; i++) {
        struct hvd_domain *dm = d->dom[i];
        if (dm->srv && dm->state == HVD_DOMAIN_RUNNING &&
            vmbus_server_next_deadline(dm->srv) <= now_ns())
            vmbus_server_run_timers(dm->srv);
    }
    return 0;
}

size_t hvd_domain_count(const struct hvd *d)
{
    return d->nr;
}

int hvd_domain_info(const struct hvd *d, uint32_t domid, struct hvd_domain_info *out)
{
    const struct hvd_domain *dm = find_domain(d, domid, NULL);

    if (!dm)
        return -1;
    memset(out, 0, sizeof(*out));
    out->domid = domid;
    out->state = dm->state;
    snprintf(out->status, sizeof(out->status), "%s", dm->status);
    out->nr_vps = dm->nr_vps;
    for (unsigned i = 0; i < MAX_CONNS; i++)
        out->connections += dm->conns[i].id != 0;
    out->restored = dm->restored;
    out->ring_messages = dm->ring_messages;
    out->ring_retries = dm->ring_retries;
    out->signals = dm->signals;
    out->posts = dm->posts;
    out->posts_busy = dm->posts_busy;
    out->slot_freed = dm->slot_freed;
    return 0;
}

struct vmbus_server *hvd_domain_server(struct hvd *d, uint32_t domid)
{
    struct hvd_domain *dm = find_domain(d, domid, NULL);

    return dm ? dm->srv : NULL;
}
