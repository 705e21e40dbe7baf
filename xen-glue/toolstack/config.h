/* SPDX-License-Identifier: MIT */
/*
 * A domain's hvshim configuration as hvshim-xen writes it and hvshimd reads
 * it, in xenstore under /local/domain/0/backend/vmbus/<domid>/:
 *
 *   features          the enlightenments, canonical hvshim names
 *   viridian-mask     the HVM_PARAM_VIRIDIAN value set from them (hex)
 *   device/<n>/type   heartbeat | shutdown | timesync | kvp | nic | disk
 *   device/<n>/bridge, mac          (nic)
 *   device/<n>/path, readonly       (disk)
 *   generation        changes with every write
 *   state             "configured" (hvshim-xen); hvshimd adds
 *   daemon            "running", or "error: <reason>"
 *
 * plus /local/domain/<domid>/platform/hvshim_vmbus = "1" for hvmloader when
 * there are VMBus devices. Parsing and validation are pure functions.
 */
#ifndef HVSHIM_XEN_CONFIG_H
#define HVSHIM_XEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvshim/features.h"

#define HVX_XS_ROOT "/local/domain/0/backend/vmbus"
#define HVX_MAX_DEVICES 16
#define HVX_MAX_DOMID 0x7FEFu        /* DOMID_FIRST_RESERVED - 1 */

enum hvx_dev_type {
    HVX_DEV_HEARTBEAT,
    HVX_DEV_SHUTDOWN,
    HVX_DEV_TIMESYNC,
    HVX_DEV_KVP,
    HVX_DEV_NIC,
    HVX_DEV_DISK,
    HVX_DEV_COUNT
};

struct hvx_device {
    enum hvx_dev_type type;
    char bridge[16];                 /* IFNAMSIZ */
    char mac[18];                    /* "00:16:3e:xx:xx:xx" */
    char path[256];
    bool readonly;
};

struct hvx_config {
    uint32_t domid;
    hv_features_t features;
    uint64_t mask;
    unsigned nr_devices;
    struct hvx_device dev[HVX_MAX_DEVICES];
    /* Changes with every write, so hvshimd can tell a new configuration
     * from the one that failed. */
    char generation[32];
};

const char *hvx_dev_type_name(enum hvx_dev_type t);
int hvx_dev_type_parse(const char *s, enum hvx_dev_type *out);

/* "nic,bridge=xenbr0[,mac=..]", "disk,path=/dev/x[,ro]", "heartbeat", ...
 * Returns 0, or -1 with a one-line reason in err. */
int hvx_device_parse(const char *spec, struct hvx_device *out, char *err, size_t err_len);

/* Everything a device needs, and no two devices of one IC type, no
 * duplicate MAC. 0, or -1 with a reason. */
int hvx_config_validate(const struct hvx_config *c, char *err, size_t err_len);

/* Whether VMBus is needed (any device). */
bool hvx_config_has_vmbus(const struct hvx_config *c);

/* Parse a domid ("12"); -1 if not a guest domid. */
int hvx_domid_parse(const char *s, uint32_t *out);

/* --------------------------------------------------------- xenstore */

struct xs_handle;

/* Write c (replacing what was there) in one transaction, retried on
 * conflicts; sets c->generation if it is empty. 0, or -1 with a reason. */
int hvx_config_write(struct xs_handle *xs, struct hvx_config *c, char *err,
                     size_t err_len);
/* Read and validate; 0, 1 if there is no configuration, -1 with a reason. */
int hvx_config_read(struct xs_handle *xs, uint32_t domid, struct hvx_config *c, char *err,
                    size_t err_len);
/* Remove a domain's configuration (and its platform key). */
void hvx_config_remove(struct xs_handle *xs, uint32_t domid);
/* hvshimd's status line for the domain ("running", "error: ..."). */
void hvx_config_set_daemon_status(struct xs_handle *xs, uint32_t domid, const char *status);

#endif /* HVSHIM_XEN_CONFIG_H */
