/* SPDX-License-Identifier: MIT */
/*
 * The VMBus host inside hvshim-kvm (bus.c): one vmbus_server over guest
 * RAM, fed from the inbox (inbox.h) and run on the loop thread (loop.c),
 * with the integration services, synthetic NICs and SCSI controllers the
 * command line or the control socket asked for. Everything here except
 * create/destroy runs on the loop thread.
 */
#ifndef HVSHIM_KVM_BUS_H
#define HVSHIM_KVM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmbus/ic/services.h"
#include "vmbus/memview.h"
#include "vmbus/server.h"

struct vmm;
struct netvsc;
struct storvsc;

/* Channel slots of the server (relids 1..n). */
#define VMM_BUS_MAX_CHANNELS 64u

enum vmm_bus_dev_kind { VMM_BUS_NIC, VMM_BUS_SCSI };

/* A NIC or SCSI controller the VMM created (ICs are in `ic`). */
struct vmm_bus_dev {
    enum vmm_bus_dev_kind kind;
    uint32_t relid;
    void *handle;                /* struct netvsc * / struct storvsc * */
};

struct vmm_bus {
    struct vmm *vm;
    struct vmbus_server *srv;
    struct vmbus_memview_flat mem;
    struct vmbus_ic_options ic_opt;
    struct vmbus_ic_set ic;      /* NULL members: not offered (or rescinded) */
    struct vmm_bus_dev devs[VMM_BUS_MAX_CHANNELS];
    uint32_t nr_devs;
    /* Counters that seed stable, never reused instance ids. */
    uint32_t nics_created;
    uint32_t scsi_created;
};

/* Server, memory view, services and the --nic/--disk devices. 0, or -1
 * with a one-line reason in err (a usage error: bad file, tap, list). */
int vmm_bus_create(struct vmm *vm, char *err, size_t err_len);
void vmm_bus_destroy(struct vmm *vm);

/* Loop thread. */
void vmm_bus_reset(struct vmm *vm);
/* Feed pending guest input and due timers to the server; the absolute
 * time (CLOCK_MONOTONIC ns) of the next timer, 0 if there is more to do
 * now, UINT64_MAX if none. */
uint64_t vmm_bus_service(struct vmm *vm);

/* Hot add and removal (control socket). Each returns >= 0 (relid or LUN)
 * or -1 with a one-line reason in err. */
int vmm_bus_add_nic(struct vmm *vm, const char *spec, char *err, size_t err_len);
int vmm_bus_add_scsi(struct vmm *vm, char *err, size_t err_len);
/* controller_relid 0: the first SCSI controller. */
int vmm_bus_add_disk(struct vmm *vm, const char *spec, uint32_t controller_relid, char *err,
                     size_t err_len);
int vmm_bus_remove_disk(struct vmm *vm, uint32_t lun, uint32_t controller_relid, char *err,
                        size_t err_len);
int vmm_bus_add_ic(struct vmm *vm, const char *name, char *err, size_t err_len);
int vmm_bus_rescind(struct vmm *vm, uint32_t relid, char *err, size_t err_len);

/* The device kind shown for a channel ("heartbeat", "netvsc", ...). */
const char *vmm_bus_channel_name(const struct vmbus_channel *ch);

void vmm_bus_stats_print(struct vmm *vm, FILE *f);

#endif /* HVSHIM_KVM_BUS_H */
