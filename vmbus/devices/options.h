/* SPDX-License-Identifier: MIT */
/*
 * Command-line options for the devices, as hvshim-kvm takes them:
 *
 *   --nic  tap=NAME[,mac=MAC][,bridge=BR][,mtu=N]
 *   --disk file=PATH[,ro][,direct][,serial=S][,lun=N]     (repeatable)
 *
 * A value containing a comma writes it twice (",,"), as QEMU does. The
 * parsers are pure and explain every refusal in err. The helpers at the
 * end turn a parsed option into a running device, so the wiring is:
 *
 *   struct nic_config nc;
 *   if (nic_config_parse(arg, &nc, err, sizeof(err))) usage(err);
 *   if (!netvsc_from_config(srv, &nc, index, err, sizeof(err))) die(err);
 *
 *   struct storvsc *scsi = storvsc_create(srv, &(struct storvsc_options){
 *       .instance = dev_instance_guid("scsi", "0") });
 *   struct disk_config dc;   (per --disk, or per hvshim-ctl hot add)
 *   if (disk_config_parse(arg, &dc, err, sizeof(err))) usage(err);
 *   if (storvsc_attach_config(scsi, &dc, err, sizeof(err)) < 0) die(err);
 */
#ifndef HVSHIM_VMBUS_DEVICES_OPTIONS_H
#define HVSHIM_VMBUS_DEVICES_OPTIONS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/protocol.h"
#include "vmbus/devices/scsi.h"

#define DISK_PATH_MAX 4096u

struct nic_config {
    char tap[IF_NAMESIZE];
    char bridge[IF_NAMESIZE];     /* "" = none */
    bool has_mac;                 /* else derived from the tap name */
    uint8_t mac[6];
    uint32_t mtu;                 /* 0 = 1500 */
};

struct disk_config {
    char path[DISK_PATH_MAX];
    bool read_only;
    bool direct;
    char serial[SCSI_SERIAL_MAX + 1];   /* "" = derived from the path */
    int lun;                      /* -1 = lowest free */
};

/* 0, or -1 with a one-line reason in err. */
int nic_config_parse(const char *s, struct nic_config *out, char *err, size_t err_len);
int disk_config_parse(const char *s, struct disk_config *out, char *err, size_t err_len);

/* aa:bb:cc:dd:ee:ff (or with '-'); unicast only. 0 or -1. */
int mac_parse(const char *s, uint8_t mac[6]);

/* A stable MAC for a NIC: Hyper-V's OUI 00:15:5D and 24 bits hashed from
 * seed (the tap name), so a guest keeps its address across runs. */
void nic_mac_derive(const char *seed, uint8_t mac[6]);

/* A stable offer instance id from a device kind and a seed: guests name
 * devices after it (and udev rules may key on it). */
struct vmbus_guid dev_instance_guid(const char *kind, const char *seed);

/* ------------------------------------------------ option -> device */

struct vmbus_server;
struct netvsc;
struct storvsc;

/* Open the tap (create, MTU, up, bridge) and add a NIC; index makes the
 * instance id unique among NICs. NULL with err set. */
struct netvsc *netvsc_from_config(struct vmbus_server *srv, const struct nic_config *c,
                                  uint32_t index, char *err, size_t err_len);

/* Open the image or block device and attach it; the LUN, or -1 with err. */
int storvsc_attach_config(struct storvsc *s, const struct disk_config *c, char *err,
                          size_t err_len);

#endif /* HVSHIM_VMBUS_DEVICES_OPTIONS_H */
