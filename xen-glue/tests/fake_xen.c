/* SPDX-License-Identifier: MIT */
/* The fake libxen* libraries and their model of Xen (see fake_xen.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xencall.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/params.h>

#include "xen-glue/tests/fake_xen.h"

#define PAGE 4096u

struct fake_xen fx;

/* ============================================================ xenstore */

#define XS_NODES 1024
#define XS_PATH 256
#define XS_VALUE 512
#define XS_WATCHES 8
#define XS_EVENTS 256

struct xs_node {
    bool used;
    char path[XS_PATH];
    char value[XS_VALUE];
    unsigned len;
};

struct xs_handle {
    int efd;
    struct {
        char path[XS_PATH];
        char token[64];
    } watches[XS_WATCHES];
    unsigned nr_watches;
    struct {
        char path[XS_PATH];
        char token[64];
    } events[XS_EVENTS];
    unsigned head, count;
    struct xs_handle *next;
};

static struct xs_node nodes[XS_NODES];
static struct xs_node snapshot[XS_NODES];
static struct xs_handle *handles;
static bool in_transaction;
static char pending_changes[64][XS_PATH];
static unsigned nr_pending_changes;

static struct xs_node *node_find(const char *path)
{
    for (unsigned i = 0; i < XS_NODES; i++)
        if (nodes[i].used && !strcmp(nodes[i].path, path))
            return &nodes[i];
    return NULL;
}

/* path is below (or equal to) top */
static bool under(const char *path, const char *top)
{
    size_t n = strlen(top);

    return !strncmp(path, top, n) && (path[n] == 0 || path[n] == '/');
}

static void queue_event(struct xs_handle *h, const char *path, const char *token)
{
    unsigned slot;
    uint64_t one = 1;

    if (h->count == XS_EVENTS)
        return;           /* as xenstored: a flooded watcher loses events */
    slot = (h->head + h->count) % XS_EVENTS;
    snprintf(h->events[slot].path, XS_PATH, "%s", path);
    snprintf(h->events[slot].token, 64, "%s", token);
    h->count++;
    if (write(h->efd, &one, sizeof(one)) < 0)
        abort();
}

static void fire(const char *path)
{
    for (struct xs_handle *h = handles; h; h = h->next)
        for (unsigned w = 0; w < h->nr_watches; w++)
            if (path[0] == '@' ? !strcmp(path, h->watches[w].path)
                               : (under(path, h->watches[w].path) ||
                                  under(h->watches[w].path, path)))
                queue_event(h, path, h->watches[w].token);
}

static void changed(const char *path)
{
    if (in_transaction && nr_pending_changes < 64)
        snprintf(pending_changes[nr_pending_changes++], XS_PATH, "%s", path);
    else if (!in_transaction)
        fire(path);
}

static struct xs_node *node_make(const char *path)
{
    struct xs_node *n = node_find(path);
    char parent[XS_PATH];
    char *slash;

    if (n)
        return n;
    /* Parents exist implicitly, as xenstored creates them. */
    snprintf(parent, sizeof(parent), "%s", path);
    slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        node_make(parent);
    }
    for (unsigned i = 0; i < XS_NODES; i++)
        if (!nodes[i].used) {
            nodes[i].used = true;
            snprintf(nodes[i].path, XS_PATH, "%s", path);
            nodes[i].value[0] = 0;
            nodes[i].len = 0;
            return &nodes[i];
        }
    return NULL;
}

struct xs_handle *xs_open(unsigned long flags)
{
    struct xs_handle *h;

    (void)flags;
    if (fx.xs_down) {
        errno = ECONNREFUSED;
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    h->efd = eventfd(0, EFD_NONBLOCK);
    h->next = handles;
    handles = h;
    fx.live_xs_handles++;
    return h;
}

void xs_close(struct xs_handle *h)
{
    struct xs_handle **pp;

    if (!h)
        return;
    for (pp = &handles; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    close(h->efd);
    free(h);
    fx.live_xs_handles--;
}

int xs_fileno(struct xs_handle *h)
{
    return h->efd;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
    struct xs_node *n = node_find(path);
    char *v;

    (void)h;
    (void)t;
    if (!n) {
        errno = ENOENT;
        return NULL;
    }
    v = malloc(n->len + 1);
    memcpy(v, n->value, n->len);
    v[n->len] = 0;
    if (len)
        *len = n->len;
    return v;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
              unsigned int len)
{
    struct xs_node *n;

    (void)h;
    (void)t;
    if (len >= XS_VALUE || strlen(path) >= XS_PATH || !(n = node_make(path))) {
        errno = E2BIG;
        return false;
    }
    memcpy(n->value, data, len);
    n->value[len] = 0;
    n->len = len;
    changed(path);
    return true;
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    bool found = false;

    (void)h;
    (void)t;
    for (unsigned i = 0; i < XS_NODES; i++)
        if (nodes[i].used && under(nodes[i].path, path)) {
            nodes[i].used = false;
            found = true;
        }
    if (!found) {
        errno = ENOENT;
        return false;
    }
    changed(path);
    return true;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
                    unsigned int *num)
{
    size_t plen = strlen(path), bytes = 0;
    unsigned n = 0;
    char **vec, *str;

    (void)h;
    (void)t;
    if (!node_find(path)) {
        errno = ENOENT;
        return NULL;
    }
    for (unsigned i = 0; i < XS_NODES; i++)
        if (nodes[i].used && !strncmp(nodes[i].path, path, plen) &&
            nodes[i].path[plen] == '/' && !strchr(nodes[i].path + plen + 1, '/')) {
            n++;
            bytes += strlen(nodes[i].path + plen + 1) + 1;
        }
    /* One block, pointers then strings, freed with one free() as with the
     * real library. */
    vec = malloc(sizeof(char *) * (n + 1) + bytes);
    str = (char *)(vec + n + 1);
    n = 0;
    for (unsigned i = 0; i < XS_NODES; i++)
        if (nodes[i].used && !strncmp(nodes[i].path, path, plen) &&
            nodes[i].path[plen] == '/' && !strchr(nodes[i].path + plen + 1, '/')) {
            strcpy(str, nodes[i].path + plen + 1);
            vec[n++] = str;
            str += strlen(str) + 1;
        }
    vec[n] = NULL;
    *num = n;
    return vec;
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
    (void)h;
    if (in_transaction) {
        errno = EBUSY;
        return XBT_NULL;
    }
    memcpy(snapshot, nodes, sizeof(nodes));
    in_transaction = true;
    nr_pending_changes = 0;
    return 1;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort_it)
{
    (void)h;
    if (!in_transaction || t != 1) {
        errno = EINVAL;
        return false;
    }
    in_transaction = false;
    if (abort_it || fx.xs_conflicts > 0) {
        memcpy(nodes, snapshot, sizeof(nodes));
        nr_pending_changes = 0;
        if (abort_it)
            return true;
        fx.xs_conflicts--;
        errno = EAGAIN;
        return false;
    }
    for (unsigned i = 0; i < nr_pending_changes; i++)
        fire(pending_changes[i]);
    nr_pending_changes = 0;
    return true;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
    if (h->nr_watches == XS_WATCHES) {
        errno = ENOSPC;
        return false;
    }
    snprintf(h->watches[h->nr_watches].path, XS_PATH, "%s", path);
    snprintf(h->watches[h->nr_watches].token, 64, "%s", token);
    h->nr_watches++;
    /* xenstored fires every new watch once. */
    queue_event(h, path, token);
    return true;
}

char **xs_check_watch(struct xs_handle *h)
{
    char **vec;
    unsigned slot;
    uint64_t v;

    if (!h->count) {
        if (read(h->efd, &v, sizeof(v)) < 0) {
            /* already clear */
        }
        errno = EAGAIN;
        return NULL;
    }
    slot = h->head;
    h->head = (h->head + 1) % XS_EVENTS;
    h->count--;
    vec = malloc(2 * sizeof(char *) + XS_PATH + 64);
    vec[0] = (char *)(vec + 2);
    vec[1] = vec[0] + XS_PATH;
    snprintf(vec[0], XS_PATH, "%s", h->events[slot].path);
    snprintf(vec[1], 64, "%s", h->events[slot].token);
    return vec;
}

const char *fx_xs_get(const char *path)
{
    static char copy[XS_VALUE];
    struct xs_node *n = node_find(path);

    if (!n)
        return NULL;
    snprintf(copy, sizeof(copy), "%s", n->value);
    return copy;
}

void fx_xs_set(const char *path, const char *value)
{
    struct xs_node *n = node_make(path);

    snprintf(n->value, XS_VALUE, "%s", value);
    n->len = (unsigned)strlen(value);
    fire(path);
}

bool fx_xs_exists(const char *path)
{
    return node_find(path) != NULL;
}

/* ======================================================= event channels */

#define EVT_PENDING 64

struct xenevtchn_handle {
    int efd;
    int pending[EVT_PENDING];
    unsigned count;
    unsigned unmasks;
};

static int next_local_port = 10;

static void notify_daemon(struct fx_domain *d)
{
    struct xenevtchn_handle *h = d->bound_handle;
    uint64_t one = 1;

    if (!d->port_bound || !h)
        return;
    for (unsigned i = 0; i < h->count; i++)
        if (h->pending[i] == d->local_port)
            return;   /* already pending: events coalesce */
    if (h->count < EVT_PENDING)
        h->pending[h->count++] = d->local_port;
    if (write(h->efd, &one, sizeof(one)) < 0)
        abort();
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    struct xenevtchn_handle *h;

    (void)logger;
    (void)open_flags;
    if (fx.privcmd_down) {
        errno = ENOENT;
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    h->efd = eventfd(0, EFD_NONBLOCK);
    fx.live_evtchn_handles++;
    return h;
}

int xenevtchn_close(xenevtchn_handle *h)
{
    if (!h)
        return 0;
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        if (fx.dom[i].bound_handle == h) {
            fx.dom[i].port_bound = false;
            fx.dom[i].bound_handle = NULL;
        }
    close(h->efd);
    free(h);
    fx.live_evtchn_handles--;
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
    return h->efd;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    struct fx_domain *d = fx_domain(domid);

    if (!d || !d->attached || d->xen_port < 0 || (int)remote_port != d->xen_port ||
        d->port_bound) {
        errno = EINVAL;
        return -1;
    }
    d->port_bound = true;
    d->bound_handle = h;
    d->local_port = next_local_port++;
    return d->local_port;
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        if (fx.dom[i].bound_handle == h && fx.dom[i].local_port == (int)port) {
            fx.dom[i].port_bound = false;
            fx.dom[i].bound_handle = NULL;
            return 0;
        }
    errno = EINVAL;
    return -1;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
    int port;
    uint64_t v;

    if (!h->count) {
        errno = EAGAIN;
        return -1;
    }
    port = h->pending[0];
    memmove(h->pending, h->pending + 1, --h->count * sizeof(int));
    if (!h->count && read(h->efd, &v, sizeof(v)) < 0) {
        /* nothing to clear */
    }
    return port;
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
    (void)port;
    h->unmasks++;
    return 0;
}

/* ===================================================== domains, libxc */

struct xc_interface_core {
    int unused;
};

static struct xc_interface_core xc_singleton;

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    (void)logger;
    (void)dombuild_logger;
    (void)open_flags;
    if (fx.privcmd_down) {
        errno = ENOENT;
        return NULL;
    }
    return &xc_singleton;
}

int xc_interface_close(xc_interface *xch)
{
    (void)xch;
    return 0;
}

struct fx_domain *fx_domain(uint32_t domid)
{
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        if (fx.dom[i].exists && fx.dom[i].domid == domid)
            return &fx.dom[i];
    return NULL;
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                      xc_dominfo_t *info)
{
    struct fx_domain *best = NULL;

    (void)xch;
    if (!max_doms)
        return 0;
    /* The first domain at or after first_domid, as the real call. */
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        if (fx.dom[i].exists && fx.dom[i].domid >= first_domid &&
            (!best || fx.dom[i].domid < best->domid))
            best = &fx.dom[i];
    if (!best)
        return 0;
    memset(info, 0, sizeof(*info));
    info->domid = best->domid;
    info->hvm = best->hvm;
    info->dying = best->dying;
    info->paused = best->paused;
    info->max_vcpu_id = best->nr_vcpus - 1;
    return 1;
}

int xc_hvm_param_get(xc_interface *handle, uint32_t dom, uint32_t param, uint64_t *value)
{
    struct fx_domain *d = fx_domain(dom);

    (void)handle;
    if (!d || !d->hvm) {
        errno = ESRCH;
        return -1;
    }
    if (param != HVM_PARAM_VIRIDIAN) {
        errno = EINVAL;
        return -1;
    }
    *value = d->viridian;
    return 0;
}

int xc_hvm_param_set(xc_interface *handle, uint32_t dom, uint32_t param, uint64_t value)
{
    struct fx_domain *d = fx_domain(dom);
    uint64_t valid = 0x1FFF | (d && d->hvshim_hypervisor ? HVMPV_hvshim_feature_mask : 0);

    (void)handle;
    if (!d || !d->hvm) {
        errno = ESRCH;
        return -1;
    }
    if (param != HVM_PARAM_VIRIDIAN) {
        errno = EINVAL;
        return -1;
    }
    /* hvm.c: set once; known bits and base_freq only. */
    if (d->viridian && d->viridian != value) {
        errno = EEXIST;
        return -1;
    }
    if ((value & ~valid) || !(value & 1)) {
        errno = EINVAL;
        return -1;
    }
    d->viridian = value;
    return 0;
}

struct fx_domain *fx_domain_create(uint32_t domid, bool hvm, uint32_t nr_vcpus)
{
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++) {
        struct fx_domain *d = &fx.dom[i];
        if (d->exists)
            continue;
        memset(d, 0, sizeof(*d));
        d->exists = true;
        d->domid = domid;
        d->hvm = hvm;
        d->paused = true;                /* xl create -p */
        d->nr_vcpus = nr_vcpus;
        d->hvshim_hypervisor = true;
        d->xen_port = -1;
        d->ram_fd = memfd_create("fx-ram", 0);
        if (d->ram_fd < 0 || ftruncate(d->ram_fd, (off_t)FX_GUEST_PAGES * PAGE))
            abort();
        d->ram = mmap(NULL, (size_t)FX_GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
                      d->ram_fd, 0);
        d->frames_fd = -1;
        return d;
    }
    return NULL;
}

void fx_domain_destroy(uint32_t domid)
{
    struct fx_domain *d = fx_domain(domid);

    if (!d)
        return;
    /* The mappings dom0 still holds keep the memory; the fds go when the
     * model forgets the domain. */
    munmap(d->ram, (size_t)FX_GUEST_PAGES * PAGE);
    close(d->ram_fd);
    if (d->frames) {
        munmap(d->frames, HVSHIM_VMBUS_FRAMES * PAGE);
        close(d->frames_fd);
    }
    if (d->bound_handle)
        d->port_bound = false;
    d->exists = false;
    fire("@releaseDomain");
}

void fx_daemon_crash(void)
{
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++) {
        fx.dom[i].port_bound = false;
        fx.dom[i].bound_handle = NULL;
    }
}

/* ===================================================== foreign memory */

struct xenforeignmemory_handle {
    int unused;
};

struct xenforeignmemory_resource_handle {
    void *addr;
    size_t len;
};

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
                                               unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    if (fx.privcmd_down) {
        errno = ENOENT;
        return NULL;
    }
    return calloc(1, sizeof(struct xenforeignmemory_handle));
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
    free(fmem);
    return 0;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot,
                           size_t pages, const xen_pfn_t arr[], int err[])
{
    struct fx_domain *d = fx_domain(dom);
    uint8_t *base;
    bool any_bad = false;

    (void)fmem;
    if (!d || d->dying || !pages) {
        errno = ESRCH;
        return NULL;
    }
    base = mmap(NULL, pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    for (size_t i = 0; i < pages; i++) {
        bool bad = arr[i] >= FX_GUEST_PAGES || (fx.bad_pfn && arr[i] == fx.bad_pfn);
        if (!bad && mmap(base + i * PAGE, PAGE, prot, MAP_SHARED | MAP_FIXED, d->ram_fd,
                         (off_t)arr[i] * PAGE) == MAP_FAILED)
            bad = true;
        if (err)
            err[i] = bad ? -EINVAL : 0;
        any_bad |= bad;
    }
    if (any_bad && !err) {
        munmap(base, pages * PAGE);
        errno = EINVAL;
        return NULL;
    }
    fx.live_maps++;
    return base;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
    (void)fmem;
    fx.live_maps--;
    return munmap(addr, pages * PAGE);
}

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
    xenforeignmemory_handle *fmem, domid_t domid, unsigned int type, unsigned int id,
    unsigned long frame, unsigned long nr_frames, void **paddr, int prot, int flags)
{
    struct fx_domain *d = fx_domain(domid);
    struct xenforeignmemory_resource_handle *r;
    void *va;

    (void)fmem;
    (void)flags;
    if (fx.fail_map_resource) {
        errno = EIO;
        return NULL;
    }
    if (!d || type != XENMEM_resource_hvshim_vmbus || id != 0 || !d->attached ||
        frame + nr_frames > HVSHIM_VMBUS_FRAMES) {
        errno = EINVAL;
        return NULL;
    }
    va = mmap(NULL, nr_frames * PAGE, prot, MAP_SHARED, d->frames_fd, (off_t)frame * PAGE);
    if (va == MAP_FAILED)
        return NULL;
    r = calloc(1, sizeof(*r));
    r->addr = va;
    r->len = nr_frames * PAGE;
    *paddr = va;
    fx.live_resources++;
    return r;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
                                    xenforeignmemory_resource_handle *r)
{
    (void)fmem;
    if (!r)
        return 0;
    munmap(r->addr, r->len);
    free(r);
    fx.live_resources--;
    return 0;
}

/* ================================================ the hypervisor glue */

static struct hvshim_vmbus_control *ctl(struct fx_domain *d)
{
    return (struct hvshim_vmbus_control *)d->frames;
}

static int conn_index(struct fx_domain *d, uint32_t id)
{
    for (int i = 0; i < 64; i++)
        if (d->conn_ids[i] == id)
            return i;
    return -1;
}

static void drop_connections(struct fx_domain *d)
{
    memset(d->conn_ids, 0, sizeof(d->conn_ids));
    memset(d->conn_kinds, 0, sizeof(d->conn_kinds));
    memset(d->event_ids, 0, sizeof(d->event_ids));
}

static void reset_ring(struct fx_domain *d)
{
    struct hvshim_vmbus_control *c = ctl(d);

    memset(d->frames, 0, HVSHIM_VMBUS_FRAMES * PAGE);
    c->magic = HVSHIM_VMBUS_MAGIC;
    c->version = HVSHIM_VMBUS_ABI_VERSION;
    c->ring_slots = HVSHIM_VMBUS_RING_SLOTS;
    c->ring_offset = HVSHIM_VMBUS_RING_OFFSET;
    memcpy(c->event_ids, d->event_ids, sizeof(c->event_ids));
    d->prod = 0;
}

static int dm_attach(struct fx_domain *d, struct xen_dm_op_hvshim_attach *a)
{
    if (!(d->viridian & 1))
        return -ENODEV;
    if (a->abi_version != HVSHIM_VMBUS_ABI_VERSION)
        return -EOPNOTSUPP;
    if ((a->flags & ~HVSHIM_ATTACH_RESUME) || a->pad)
        return -EINVAL;
    if (!d->frames) {
        d->frames_fd = memfd_create("fx-frames", 0);
        if (d->frames_fd < 0 || ftruncate(d->frames_fd, HVSHIM_VMBUS_FRAMES * PAGE))
            abort();
        d->frames = mmap(NULL, HVSHIM_VMBUS_FRAMES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
                         d->frames_fd, 0);
    }
    if (!(a->flags & HVSHIM_ATTACH_RESUME))
        drop_connections(d);
    /* A new port; the old daemon's binding goes with the old one. */
    d->port_bound = false;
    d->bound_handle = NULL;
    reset_ring(d);
    d->xen_port = 100 + (int)d->attaches++;
    d->attached = true;
    a->port = (uint32_t)d->xen_port;
    a->nr_frames = HVSHIM_VMBUS_FRAMES;
    a->nr_vps = d->nr_vcpus;
    return 0;
}

static int dm_connection(struct fx_domain *d, struct xen_dm_op_hvshim_connection *c)
{
    int i = conn_index(d, c->connection_id);
    unsigned bit;

    if (!c->connection_id || (c->connection_id >> 24) ||
        (c->kinds & ~(HVSHIM_CONN_MESSAGE | HVSHIM_CONN_EVENT)) || c->pad)
        return -EINVAL;
    if (!d->attached)
        return -ENOENT;
    for (bit = 0; bit < HVSHIM_VMBUS_MAX_EVENTS; bit++)
        if (d->event_ids[bit] == c->connection_id)
            break;
    if (!c->kinds) {
        if (i >= 0)
            d->conn_ids[i] = d->conn_kinds[i] = 0;
        if (bit < HVSHIM_VMBUS_MAX_EVENTS)
            d->event_ids[bit] = ctl(d)->event_ids[bit] = 0;
        return 0;
    }
    if (i < 0 && (i = conn_index(d, 0)) < 0)
        return -ENOSPC;
    if ((c->kinds & HVSHIM_CONN_EVENT) && bit == HVSHIM_VMBUS_MAX_EVENTS) {
        for (bit = 0; bit < HVSHIM_VMBUS_MAX_EVENTS && d->event_ids[bit]; bit++)
            ;
        if (bit == HVSHIM_VMBUS_MAX_EVENTS)
            return -ENOSPC;
    }
    d->conn_ids[i] = c->connection_id;
    d->conn_kinds[i] = c->kinds;
    if (c->kinds & HVSHIM_CONN_EVENT) {
        d->event_ids[bit] = ctl(d)->event_ids[bit] = c->connection_id;
        c->event_bit = bit;
    } else if (bit < HVSHIM_VMBUS_MAX_EVENTS) {
        d->event_ids[bit] = ctl(d)->event_ids[bit] = 0;
    }
    return 0;
}

static int dm_dispatch(struct fx_domain *d, uint32_t op, void *u, const void *payload,
                       size_t payload_len)
{
    switch (op) {
    case XEN_DMOP_hvshim_attach:
        return dm_attach(d, u);
    case XEN_DMOP_hvshim_detach:
        if (d->attached) {
            drop_connections(d);
            d->port_bound = false;
            d->bound_handle = NULL;
            d->xen_port = -1;
            d->attached = false;
            d->detaches++;
        }
        return 0;
    case XEN_DMOP_hvshim_connection:
        return dm_connection(d, u);
    case XEN_DMOP_hvshim_post: {
        const struct xen_dm_op_hvshim_post *m = u;
        struct fx_post *p;
        if (m->payload_size != payload_len || m->payload_size > HVSHIM_VMBUS_PAYLOAD_MAX ||
            m->vp >= d->nr_vcpus || m->sint >= 16 || !m->message_type ||
            (m->message_type & 0x80000000u))
            return -EINVAL;
        if (d->post_busy) {
            d->post_busy--;
            return -EBUSY;
        }
        if (d->nr_posts == FX_MAX_RECORDS)
            return -EBUSY;
        p = &d->posts[d->nr_posts++];
        p->vp = m->vp;
        p->sint = m->sint;
        p->type = m->message_type;
        p->size = m->payload_size;
        p->sender = m->sender;
        memcpy(p->payload, payload, payload_len);
        return 0;
    }
    case XEN_DMOP_hvshim_signal: {
        struct xen_dm_op_hvshim_signal *s = u;
        if (s->vp >= d->nr_vcpus || s->sint >= 16 || s->flag >= 2048)
            return -EINVAL;
        if (d->nr_signals < FX_MAX_RECORDS)
            d->signals[d->nr_signals++] = (struct fx_signal){ s->vp, s->sint, s->flag };
        s->newly_set = 1;
        return 0;
    }
    case XEN_DMOP_hvshim_time: {
        struct xen_dm_op_hvshim_time *t = u;
        d->ref_time += 10000;
        t->ref_time = d->ref_time;
        return 0;
    }
    default:
        return -EOPNOTSUPP;
    }
}

/* ============================================================ xencall */

struct xencall_handle {
    int unused;
};

xencall_handle *xencall_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    if (fx.privcmd_down) {
        errno = ENOENT;
        return NULL;
    }
    return calloc(1, sizeof(struct xencall_handle));
}

int xencall_close(xencall_handle *xcall)
{
    free(xcall);
    return 0;
}

void *xencall_alloc_buffer(xencall_handle *xcall, size_t size)
{
    (void)xcall;
    return calloc(1, size);
}

void xencall_free_buffer(xencall_handle *xcall, void *p)
{
    (void)xcall;
    free(p);
}

int xencall3(xencall_handle *xcall, unsigned int op, uint64_t arg1, uint64_t arg2,
             uint64_t arg3)
{
    xen_dm_op_buf_t *bufs = (xen_dm_op_buf_t *)(uintptr_t)arg3;
    struct fx_domain *d = fx_domain((uint32_t)arg1);
    uint8_t *head;
    uint32_t dmop;
    int rc;

    (void)xcall;
    fx.dm_ops++;
    if (op != __HYPERVISOR_dm_op || arg2 < 1 || arg2 > 2) {
        errno = ENOSYS;
        return -1;
    }
    if (fx.fail_dmop_errno) {
        errno = fx.fail_dmop_errno;
        fx.fail_dmop_errno = 0;
        return -1;
    }
    if (!d || !d->hvm || d->dying) {
        errno = ESRCH;
        return -1;
    }
    head = bufs[0].h.p;
    if (bufs[0].size < 8) {
        errno = EFAULT;
        return -1;
    }
    memcpy(&dmop, head, sizeof(dmop));
    rc = dm_dispatch(d, dmop, head + 8, arg2 == 2 ? bufs[1].h.p : NULL,
                     arg2 == 2 ? bufs[1].size : 0);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

/* ======================================================= guest actions */

bool fx_routed(uint32_t domid, uint32_t id, uint32_t kinds)
{
    struct fx_domain *d = fx_domain(domid);
    int i = d ? conn_index(d, id) : -1;

    return i >= 0 && (d->conn_kinds[i] & kinds) == kinds;
}

uint16_t fx_guest_post(uint32_t domid, uint32_t vp, uint32_t id, uint32_t type,
                       const void *payload, uint32_t size)
{
    struct fx_domain *d = fx_domain(domid);
    struct hvshim_vmbus_control *c;
    struct hvshim_vmbus_entry *e;
    uint32_t before;

    if (!d || !fx_routed(domid, id, HVSHIM_CONN_MESSAGE))
        return 0x12;                              /* INVALID_CONNECTION_ID */
    c = ctl(d);
    if (!d->port_bound) {
        c->msg_full++;
        return 0x13;                              /* INSUFFICIENT_BUFFERS */
    }
    before = d->prod;
    if (before - __atomic_load_n(&c->msg_cons, __ATOMIC_ACQUIRE) >= HVSHIM_VMBUS_RING_SLOTS) {
        c->msg_full++;
        return 0x13;
    }
    e = (struct hvshim_vmbus_entry *)(d->frames + HVSHIM_VMBUS_RING_OFFSET +
                                      (before % HVSHIM_VMBUS_RING_SLOTS) * HVSHIM_VMBUS_SLOT_SIZE);
    memset(e, 0, sizeof(*e));
    e->vp = vp;
    e->connection_id = id;
    e->message_type = type;
    e->payload_size = size;
    memcpy(e->payload, payload, size);
    d->prod = before + 1;
    __atomic_store_n(&c->msg_prod, d->prod, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->msg_cons, __ATOMIC_ACQUIRE) == before)
        notify_daemon(d);
    return 0;
}

uint16_t fx_guest_signal(uint32_t domid, uint32_t id)
{
    struct fx_domain *d = fx_domain(domid);
    unsigned bit;
    uint64_t old;

    if (!d || !fx_routed(domid, id, HVSHIM_CONN_EVENT))
        return 0x12;
    if (!d->port_bound)
        return 0x13;
    for (bit = 0; bit < HVSHIM_VMBUS_MAX_EVENTS && d->event_ids[bit] != id; bit++)
        ;
    old = __atomic_fetch_or(&ctl(d)->signal_pending, 1ull << bit, __ATOMIC_SEQ_CST);
    ctl(d)->signals++;
    if (!old)
        notify_daemon(d);
    return 0;
}

void fx_guest_slot_freed(uint32_t domid, uint32_t vp, uint32_t sint)
{
    struct fx_domain *d = fx_domain(domid);
    uint32_t old;

    if (!d || !d->attached || vp >= HVSHIM_VMBUS_MAX_VPS)
        return;
    old = __atomic_fetch_or(&ctl(d)->slot_freed[vp], 1u << sint, __ATOMIC_SEQ_CST);
    if (!old)
        notify_daemon(d);
}

void fx_reset(void)
{
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        if (fx.dom[i].exists) {
            fx.dom[i].bound_handle = NULL;
            fx_domain_destroy(fx.dom[i].domid);
        }
    memset(&fx, 0, sizeof(fx));
    memset(nodes, 0, sizeof(nodes));
    in_transaction = false;
    nr_pending_changes = 0;
    while (handles)
        xs_close(handles);
    fx.live_xs_handles = 0;
}
