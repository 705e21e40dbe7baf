/* SPDX-License-Identifier: MIT */
/*
 * The VMBus host in hvshim-kvm (bus.h): the server's callbacks into the
 * Hyper-V core, guest RAM as its memory view, and the devices.
 *
 *   guest HvPostMessage(1|4) -> core -> hostops post_message -> inbox
 *   guest HvSignalEvent(0x2000 + relid) -> ... -> inbox (one bit each)
 *   loop thread: inbox -> vmbus_server_*; timers; control socket
 *   server -> hv_synic_post_message / hv_synic_signal_event (SINT 2)
 *
 * The server is single-threaded: after create, only the loop thread
 * touches it (devices added at start-up are added before it runs).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-glue/bus.h"
#include "kvm-glue/vmm.h"
#include "vmbus/devices/netvsc.h"
#include "vmbus/devices/options.h"
#include "vmbus/devices/storvsc.h"
#include "vmbus/guid.h"

/* ------------------------------------------------- server callbacks */

static int cb_post_message(void *ctx, uint32_t vp, const void *msg, uint32_t size)
{
    struct vmm *vm = ctx;
    int r = hv_synic_post_message(&vm->part, vp, VMBUS_MESSAGE_SINT, VMBUS_MESSAGE_TYPE, 0,
                                  msg, size);
    if (r == HV_OK)
        return VMBUS_POST_OK;
    /* Full queue: the core calls message_slot_freed when the guest makes
     * room, which reaches the server through the inbox. */
    return r == HV_ERR_BUSY ? VMBUS_POST_BUSY : VMBUS_POST_FAILED;
}

static void cb_signal_event(void *ctx, uint32_t vp, uint32_t relid)
{
    struct vmm *vm = ctx;
    (void)hv_synic_signal_event(&vm->part, vp, VMBUS_MESSAGE_SINT, relid);
}

static int cb_connection_add(void *ctx, uint32_t id, bool event)
{
    struct vmm *vm = ctx;
    return hv_partition_register_connection(&vm->part, id,
                                            event ? HV_CONNECTION_EVENT : HV_CONNECTION_MESSAGE)
                   == HV_OK ? 0 : -1;
}

static void cb_connection_remove(void *ctx, uint32_t id)
{
    struct vmm *vm = ctx;
    hv_partition_unregister_connection(&vm->part, id);
}

static uint64_t cb_now_ns(void *ctx)
{
    (void)ctx;
    return vmm_now_ns();
}

static void cb_log(void *ctx, enum vmbus_log_level level, const char *line)
{
    struct vmm *vm = ctx;
    static const char *const names[] = { "error", "warning", "info", "debug" };
    if (level == VMBUS_LOG_DEBUG && !(vm->opt.trace_mask & VMM_TRACE_VMBUS))
        return;
    fprintf(stderr, "hvshim-kvm: vmbus: %s: %s\n", names[level <= VMBUS_LOG_DEBUG ? level : 3],
            line);
}

static void cb_wake(void *ctx)
{
    struct vmm *vm = ctx;
    vmm_inbox_wake(&vm->inbox);
}

static const struct vmbus_server_host bus_host = {
    .post_message = cb_post_message,
    .signal_event = cb_signal_event,
    .connection_add = cb_connection_add,
    .connection_remove = cb_connection_remove,
    .now_ns = cb_now_ns,
    .log = cb_log,
    .wake = cb_wake,
};

static uint64_t ref_time(void *ctx)
{
    struct vmm *vm = ctx;
    return hv_time_ref_now(&vm->part);
}

/* ------------------------------------------------------- device table */

static void errf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static void track(struct vmm_bus *b, enum vmm_bus_dev_kind kind, uint32_t relid, void *h)
{
    /* A slot per channel, so this never overflows while the server has
     * room for the device. */
    if (b->nr_devs < VMM_BUS_MAX_CHANNELS)
        b->devs[b->nr_devs++] = (struct vmm_bus_dev){ .kind = kind, .relid = relid, .handle = h };
}

static struct vmm_bus_dev *find_dev(struct vmm_bus *b, uint32_t relid)
{
    for (uint32_t i = 0; i < b->nr_devs; i++)
        if (b->devs[i].relid == relid)
            return &b->devs[i];
    return NULL;
}

static struct storvsc *find_scsi(struct vmm_bus *b, uint32_t relid, char *err, size_t err_len)
{
    for (uint32_t i = 0; i < b->nr_devs; i++) {
        struct vmm_bus_dev *d = &b->devs[i];
        if (d->kind == VMM_BUS_SCSI && (relid == 0 || d->relid == relid))
            return d->handle;
    }
    if (relid)
        errf(err, err_len, "relid %u is not a SCSI controller", relid);
    else
        errf(err, err_len, "there is no SCSI controller (add scsi first)");
    return NULL;
}

/* Every IC handle starts with its struct vmbus_ic, which knows the
 * channel. */
static uint32_t ic_relid(void *service)
{
    struct vmbus_channel *ch = service ? ((struct vmbus_ic *)service)->ch : NULL;
    return ch ? vmbus_channel_relid(ch) : 0;
}

/* ------------------------------------------------------------ devices */

static int add_nic_locked(struct vmm *vm, const char *spec, char *err, size_t err_len)
{
    struct vmm_bus *b = vm->bus;
    struct nic_config nc;
    if (vm->ram_fd < 0) {
        errf(err, err_len, "a NIC needs --shared-ram on (it maps the guest's scattered "
                           "buffers)");
        return -1;
    }
    if (nic_config_parse(spec, &nc, err, err_len) < 0)
        return -1;
    struct netvsc *n = netvsc_from_config(b->srv, &nc, b->nics_created, err, err_len);
    if (!n)
        return -1;
    b->nics_created++;
    uint32_t relid = vmbus_channel_relid(netvsc_channel(n));
    track(b, VMM_BUS_NIC, relid, n);
    return (int)relid;
}

int vmm_bus_add_nic(struct vmm *vm, const char *spec, char *err, size_t err_len)
{
    if (!vm->bus) {
        errf(err, err_len, "VMBus is off");
        return -1;
    }
    return add_nic_locked(vm, spec, err, err_len);
}

int vmm_bus_add_scsi(struct vmm *vm, char *err, size_t err_len)
{
    struct vmm_bus *b = vm->bus;
    if (!b) {
        errf(err, err_len, "VMBus is off");
        return -1;
    }
    char seed[16];
    snprintf(seed, sizeof(seed), "%u", b->scsi_created);
    struct storvsc_options so = { .instance = dev_instance_guid("scsi", seed) };
    struct storvsc *s = storvsc_create(b->srv, &so);
    if (!s) {
        errf(err, err_len, "the VMBus server refused another device");
        return -1;
    }
    b->scsi_created++;
    uint32_t relid = vmbus_channel_relid(storvsc_channel(s));
    track(b, VMM_BUS_SCSI, relid, s);
    return (int)relid;
}

int vmm_bus_add_disk(struct vmm *vm, const char *spec, uint32_t controller_relid, char *err,
                     size_t err_len)
{
    if (!vm->bus) {
        errf(err, err_len, "VMBus is off");
        return -1;
    }
    struct disk_config dc;
    if (disk_config_parse(spec, &dc, err, err_len) < 0)
        return -1;
    struct storvsc *s = find_scsi(vm->bus, controller_relid, err, err_len);
    if (!s)
        return -1;
    return storvsc_attach_config(s, &dc, err, err_len);
}

int vmm_bus_remove_disk(struct vmm *vm, uint32_t lun, uint32_t controller_relid, char *err,
                        size_t err_len)
{
    if (!vm->bus) {
        errf(err, err_len, "VMBus is off");
        return -1;
    }
    struct storvsc *s = find_scsi(vm->bus, controller_relid, err, err_len);
    if (!s)
        return -1;
    if (storvsc_detach(s, lun) < 0) {
        errf(err, err_len, "no disk at LUN %u", lun);
        return -1;
    }
    return (int)lun;
}

static const struct {
    const char *name;
    struct vmbus_guid type;
} ic_classes[] = {
    { "heartbeat", VMBUS_GUID_HEARTBEAT },
    { "shutdown", VMBUS_GUID_SHUTDOWN },
    { "timesync", VMBUS_GUID_TIMESYNC },
    { "kvp", VMBUS_GUID_KVP },
};

/* Whether any channel of this class still exists (offered, open, or
 * rescinded and not yet released: a second offer with the same instance
 * id would confuse the guest). */
static bool class_present(struct vmm_bus *b, const struct vmbus_guid *type)
{
    for (uint32_t relid = 1; relid <= VMM_BUS_MAX_CHANNELS; relid++) {
        struct vmbus_channel *ch = vmbus_server_channel(b->srv, relid);
        if (ch && vmbus_guid_equal(&vmbus_channel_offer(ch)->if_type, type))
            return true;
    }
    return false;
}

int vmm_bus_add_ic(struct vmm *vm, const char *name, char *err, size_t err_len)
{
    struct vmm_bus *b = vm->bus;
    if (!b) {
        errf(err, err_len, "VMBus is off");
        return -1;
    }
    size_t i;
    for (i = 0; i < sizeof(ic_classes) / sizeof(ic_classes[0]); i++)
        if (!strcmp(name, ic_classes[i].name))
            break;
    if (i == sizeof(ic_classes) / sizeof(ic_classes[0])) {
        errf(err, err_len, "'%s' is not heartbeat, shutdown, timesync or kvp", name);
        return -1;
    }
    if (class_present(b, &ic_classes[i].type)) {
        errf(err, err_len, "%s is already on the bus (or its rescind is not released yet)",
             name);
        return -1;
    }
    void *h = NULL;
    switch (i) {
    case 0: h = b->ic.heartbeat = vmbus_heartbeat_create(b->srv, b->ic_opt.heartbeat_interval_ns); break;
    case 1: h = b->ic.shutdown = vmbus_shutdown_create(b->srv); break;
    case 2: h = b->ic.timesync = vmbus_timesync_create(b->srv, &b->ic_opt.time,
                                                       b->ic_opt.timesync_interval_ns); break;
    default: h = b->ic.kvp = vmbus_kvp_create(b->srv); break;
    }
    if (!h) {
        errf(err, err_len, "the VMBus server refused another device");
        return -1;
    }
    return (int)ic_relid(h);
}

int vmm_bus_rescind(struct vmm *vm, uint32_t relid, char *err, size_t err_len)
{
    struct vmm_bus *b = vm->bus;
    if (!b) {
        errf(err, err_len, "VMBus is off");
        return -1;
    }
    struct vmbus_channel *ch = vmbus_server_channel(b->srv, relid);
    struct vmbus_channel_info info;
    if (ch)
        vmbus_channel_info(ch, &info);
    if (!ch || !strcmp(info.state, "rescinded")) {
        errf(err, err_len, "no channel with relid %u", relid);
        return -1;
    }
    /* The server destroys the device: forget every handle to it first. */
    if (ic_relid(b->ic.heartbeat) == relid) b->ic.heartbeat = NULL;
    if (ic_relid(b->ic.shutdown) == relid) b->ic.shutdown = NULL;
    if (ic_relid(b->ic.timesync) == relid) b->ic.timesync = NULL;
    if (ic_relid(b->ic.kvp) == relid) b->ic.kvp = NULL;
    struct vmm_bus_dev *d = find_dev(b, relid);
    if (d)
        *d = b->devs[--b->nr_devs];
    vmbus_server_remove_device(b->srv, ch);
    return (int)relid;
}

const char *vmm_bus_channel_name(const struct vmbus_channel *ch)
{
    const struct vmbus_offer *o = vmbus_channel_offer(ch);
    return o->name ? o->name : "?";
}

/* ------------------------------------------------------ create/destroy */

/* "heartbeat,kvp" names exactly those services; "!kvp" or "all,!kvp"
 * starts from all of them; "none" offers none. */
static int parse_ic(struct vmbus_ic_options *o, const char *list, char *err, size_t err_len)
{
    vmbus_ic_options_defaults(o);
    const char *first = list + strspn(list, " \t");
    size_t n = strcspn(first, ",");
    bool starts_with_name = n && *first != '!' && strncmp(first, "all", n) != 0 &&
                            strncmp(first, "none", n) != 0;
    if (starts_with_name)
        o->heartbeat = o->shutdown = o->timesync = o->kvp = false;
    return vmbus_ic_options_parse(o, list, err, err_len);
}

int vmm_bus_create(struct vmm *vm, char *err, size_t err_len)
{
    struct vmm_bus *b = calloc(1, sizeof(*b));
    if (!b) {
        errf(err, err_len, "out of memory");
        return -1;
    }
    b->vm = vm;

    struct vmbus_mem_region regions[2] = {
        { .gpa = 0, .size = vm->low_size, .host = vm->ram, .fd = vm->ram_fd, .fd_offset = 0 },
        { .gpa = VMM_HIGH_RAM_BASE, .size = vm->high_size, .host = vm->ram + vm->low_size,
          .fd = vm->ram_fd, .fd_offset = vm->low_size },
    };
    if (vmbus_memview_flat_init(&b->mem, regions, vm->high_size ? 2 : 1) < 0) {
        errf(err, err_len, "VMBus: guest RAM layout refused");
        free(b);
        return -1;
    }

    if (parse_ic(&b->ic_opt, vm->opt.ic ? vm->opt.ic : "all", err, err_len) < 0) {
        free(b);
        return -1;
    }
    b->ic_opt.time.ref_time = ref_time;
    b->ic_opt.time.ctx = vm;

    struct vmbus_server_config cfg;
    vmbus_server_config_defaults(&cfg, vm->nr_vcpus);
    cfg.max_channels = VMM_BUS_MAX_CHANNELS;
    if (vm->opt.trace_mask & VMM_TRACE_VMBUS)
        cfg.log_level = VMBUS_LOG_DEBUG;
    /* Published before the first callback can run. */
    vm->bus = b;
    b->srv = vmbus_server_create(&cfg, &bus_host, vm, &b->mem.view);
    if (!b->srv) {
        errf(err, err_len, "VMBus: cannot create the server (connection ids taken?)");
        vm->bus = NULL;
        free(b);
        return -1;
    }
    if (vmbus_ic_add(b->srv, &b->ic_opt, &b->ic) < 0) {
        errf(err, err_len, "VMBus: cannot add the integration services");
        vmm_bus_destroy(vm);
        return -1;
    }
    for (uint32_t i = 0; i < vm->opt.nr_nics; i++) {
        char why[256];
        if (add_nic_locked(vm, vm->opt.nics[i], why, sizeof(why)) < 0) {
            errf(err, err_len, "--nic %s: %s", vm->opt.nics[i], why);
            vmm_bus_destroy(vm);
            return -1;
        }
    }
    if (vm->opt.nr_disks && vmm_bus_add_scsi(vm, err, err_len) < 0) {
        vmm_bus_destroy(vm);
        return -1;
    }
    for (uint32_t i = 0; i < vm->opt.nr_disks; i++) {
        char why[256];
        if (vmm_bus_add_disk(vm, vm->opt.disks[i], 0, why, sizeof(why)) < 0) {
            errf(err, err_len, "--disk %s: %s", vm->opt.disks[i], why);
            vmm_bus_destroy(vm);
            return -1;
        }
    }
    return 0;
}

void vmm_bus_destroy(struct vmm *vm)
{
    struct vmm_bus *b = vm->bus;
    if (!b)
        return;
    /* Destroys every device (NIC poll threads stop, disks close). */
    vmbus_server_destroy(b->srv);
    vm->bus = NULL;
    free(b);
}

/* ------------------------------------------------------- loop thread */

void vmm_bus_reset(struct vmm *vm)
{
    vmm_inbox_clear(&vm->inbox);
    if (vm->bus)
        vmbus_server_reset(vm->bus->srv);
}

uint64_t vmm_bus_service(struct vmm *vm)
{
    struct vmm_bus *b = vm->bus;
    if (!b)
        return UINT64_MAX;
    vmm_inbox_drain(&vm->inbox, b->srv);
    uint64_t d = vmbus_server_next_deadline(b->srv);
    if (d <= vmm_now_ns()) {
        vmbus_server_run_timers(b->srv);
        d = vmbus_server_next_deadline(b->srv);
    }
    return d;
}

void vmm_bus_stats_print(struct vmm *vm, FILE *f)
{
    const struct vmm_inbox_stats *is = &vm->inbox.st;
    fprintf(f, "  inbox: posts %llu (refused full %llu), signals %llu, wakeups %llu, "
               "retries %llu, contacts %llu\n",
            (unsigned long long)atomic_load(&is->posts),
            (unsigned long long)atomic_load(&is->posts_refused),
            (unsigned long long)atomic_load(&is->signals),
            (unsigned long long)atomic_load(&is->wakeups), (unsigned long long)is->retries,
            (unsigned long long)is->contacts);
    if (!vm->bus)
        return;
    const struct vmbus_server_stats *s = vmbus_server_stats(vm->bus->srv);
    uint32_t v = vmbus_server_version(vm->bus->srv);
    fprintf(f, "  vmbus: version %u.%u, messages in %llu (bad %llu) out %llu (dropped %llu, "
               "backlog peak %llu), signals in %llu out %llu, packets in %llu out %llu, "
               "ring full %llu, violations %llu\n",
            v >> 16, v & 0xFFFF, (unsigned long long)s->messages_in,
            (unsigned long long)s->messages_bad, (unsigned long long)s->messages_out,
            (unsigned long long)s->messages_dropped, (unsigned long long)s->backlog_peak,
            (unsigned long long)s->signals_in, (unsigned long long)s->signals_out,
            (unsigned long long)s->packets_in, (unsigned long long)s->packets_out,
            (unsigned long long)s->ring_full, (unsigned long long)s->ring_violations);
}
