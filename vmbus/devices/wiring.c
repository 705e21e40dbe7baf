/* SPDX-License-Identifier: MIT */
/* Parsed device options -> running devices (see options.h). */
#include <stdio.h>
#include <string.h>

#include "vmbus/devices/blk.h"
#include "vmbus/devices/netvsc.h"
#include "vmbus/devices/options.h"
#include "vmbus/devices/storvsc.h"

struct netvsc *netvsc_from_config(struct vmbus_server *srv, const struct nic_config *c,
                                  uint32_t index, char *err, size_t err_len)
{
    struct net_tap_options to = {
        .name = c->tap,
        .bridge = c->bridge[0] ? c->bridge : NULL,
        .mtu = c->mtu ? c->mtu : NETVSC_DEFAULT_MTU,
    };
    struct net_backend *b = net_tap_open(&to, err, err_len);
    if (!b)
        return NULL;
    char seed[32];
    snprintf(seed, sizeof(seed), "%u", index);
    struct netvsc_options no = {
        .instance = dev_instance_guid("nic", seed),
        .mtu = to.mtu,
    };
    if (c->has_mac)
        memcpy(no.mac, c->mac, 6);
    else
        nic_mac_derive(c->tap, no.mac);
    struct netvsc *n = netvsc_create(srv, &no, b);
    if (!n)
        snprintf(err, err_len, "tap %s: the VMBus server refused another device", c->tap);
    return n;
}

int storvsc_attach_config(struct storvsc *s, const struct disk_config *c, char *err,
                          size_t err_len)
{
    struct blk_file_options fo = { .read_only = c->read_only, .direct = c->direct };
    int rc;
    struct blk_dev *d = blk_file_open(c->path, &fo, &rc, err, err_len);
    if (!d)
        return -1;
    int lun = storvsc_attach(s, d, c->lun, c->serial[0] ? c->serial : NULL);
    if (lun < 0) {
        blk_close(d);
        if (c->lun >= 0)
            snprintf(err, err_len, "%s: LUN %d is taken", c->path, c->lun);
        else
            snprintf(err, err_len, "%s: no free LUN (at most %u disks)", c->path,
                     STORVSC_MAX_LUNS);
    }
    return lun;
}
