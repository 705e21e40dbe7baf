/* SPDX-License-Identifier: MIT */
/*
 * The integration services hvshim offers: heartbeat, shutdown, timesync
 * and KVP. Each is a VMBus device built on the IC engine (ic.h); the host
 * drives them through the calls below, on the server's thread.
 */
#ifndef HVSHIM_VMBUS_IC_SERVICES_H
#define HVSHIM_VMBUS_IC_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/ic/ic.h"

struct vmbus_server;

/* ------------------------------------------------------------ heartbeat */

struct vmbus_heartbeat;

struct vmbus_heartbeat_status {
    bool negotiated;         /* the guest's heartbeat driver answered */
    bool healthy;            /* the last beat was answered with seq + 1 */
    uint64_t seq;            /* last sequence number sent */
    uint64_t beats_ok;       /* correct answers */
    uint64_t beats_bad;      /* answers with a wrong sequence number */
    uint32_t missed;         /* intervals since the last correct answer */
    uint64_t last_ok_ns;     /* server time of the last correct answer */
};

/* interval_ns 0: Hyper-V's 2 s. */
struct vmbus_heartbeat *vmbus_heartbeat_create(struct vmbus_server *srv, uint64_t interval_ns);
void vmbus_heartbeat_status(const struct vmbus_heartbeat *hb,
                            struct vmbus_heartbeat_status *st);

/* ------------------------------------------------------------- shutdown */

struct vmbus_shutdown;

enum vmbus_shutdown_kind {
    VMBUS_SHUTDOWN_POWEROFF = 0,
    VMBUS_SHUTDOWN_REBOOT = 2,
    VMBUS_SHUTDOWN_HIBERNATE = 4,
};

/* The channel closed before the guest answered. */
#define VMBUS_IC_STATUS_LOST 0xFFFFFFFFu

/* status: the guest's answer (VMBUS_IC_S_OK: it is shutting down). */
typedef void (*vmbus_shutdown_done_fn)(void *ctx, uint32_t status);

struct vmbus_shutdown *vmbus_shutdown_create(struct vmbus_server *srv);
/* Ask the guest to power off / reboot / hibernate (force: don't let
 * applications object). Held until the guest's driver is ready if it is
 * not yet. 0, or -1 if a request is already pending. message: optional
 * text shown by Windows guests. */
int vmbus_shutdown_request(struct vmbus_shutdown *sd, enum vmbus_shutdown_kind kind, bool force,
                           const char *message, vmbus_shutdown_done_fn done, void *ctx);
bool vmbus_shutdown_ready(const struct vmbus_shutdown *sd);

/* ------------------------------------------------------------- timesync */

struct vmbus_timesync;

struct vmbus_ic_time_source {
    /* The guest's reference time now (TIME_REF_COUNT, 100 ns units):
     * hv_time_ref_now() on hosts built on the core. Required. */
    uint64_t (*ref_time)(void *ctx);
    /* Host UTC in 100 ns units since 1601-01-01; NULL: CLOCK_REALTIME. */
    uint64_t (*wall_time)(void *ctx);
    void *ctx;
};

struct vmbus_timesync_status {
    bool negotiated;
    uint16_t version_major;  /* 4: samples carry the reference time */
    uint64_t syncs_sent;
    uint64_t samples_sent;
    uint64_t last_parent_time;
    uint64_t last_reference_time;
};

/* interval_ns 0: Hyper-V's 5 s between samples. */
struct vmbus_timesync *vmbus_timesync_create(struct vmbus_server *srv,
                                             const struct vmbus_ic_time_source *time,
                                             uint64_t interval_ns);
/* Make the next message a SYNC (the guest steps its clock), e.g. after
 * the VM was paused or restored. Sent now if the channel is idle. */
void vmbus_timesync_sync_now(struct vmbus_timesync *ts);
void vmbus_timesync_status(const struct vmbus_timesync *ts, struct vmbus_timesync_status *st);

/* ------------------------------------------------------------------ KVP */

struct vmbus_kvp;

/* UTF-8 bounds of the UTF-16 wire strings (3 bytes per unit + NUL). */
#define VMBUS_KVP_KEY_MAX   (VMBUS_KVP_MAX_KEY_BYTES / 2 * 3 + 1)
#define VMBUS_KVP_VALUE_MAX (VMBUS_KVP_MAX_VALUE_BYTES / 2 * 3 + 1)
#define VMBUS_KVP_IP_MAX    (VMBUS_KVP_IP_ADDR_CHARS * 3 + 1)

struct vmbus_kvp_reply {
    uint32_t status;         /* VMBUS_IC_S_OK, VMBUS_IC_S_CONT (no such item
                              * / end of pool), another HRESULT, or
                              * VMBUS_IC_STATUS_LOST */
    uint8_t op;              /* enum vmbus_kvp_op */
    uint8_t pool;
    uint32_t index;          /* ENUMERATE */
    char key[VMBUS_KVP_KEY_MAX];
    char value[VMBUS_KVP_VALUE_MAX];
    /* GET_IP_INFO */
    uint8_t addr_family;
    uint8_t dhcp_enabled;
    char ip_addr[VMBUS_KVP_IP_MAX];
    char subnet[VMBUS_KVP_IP_MAX];
    char gateway[VMBUS_KVP_IP_MAX];
    char dns[VMBUS_KVP_IP_MAX];
};

typedef void (*vmbus_kvp_done_fn)(void *ctx, const struct vmbus_kvp_reply *reply);

struct vmbus_kvp *vmbus_kvp_create(struct vmbus_server *srv);

/* Requests are queued (and kept across guest reboots) until the guest's
 * hv_kvp_daemon answers; one is in flight at a time. Each returns 0, or -1
 * if the queue is full or a string is invalid/too long. done may be NULL. */
int vmbus_kvp_set(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, const char *key,
                  const char *value, vmbus_kvp_done_fn done, void *ctx);
int vmbus_kvp_get(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, const char *key,
                  vmbus_kvp_done_fn done, void *ctx);
int vmbus_kvp_delete(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, const char *key,
                     vmbus_kvp_done_fn done, void *ctx);
int vmbus_kvp_enumerate(struct vmbus_kvp *kvp, enum vmbus_kvp_pool pool, uint32_t index,
                        vmbus_kvp_done_fn done, void *ctx);
/* mac: "00:15:5D:12:34:56" (any case); family VMBUS_KVP_ADDR_FAMILY_*. */
int vmbus_kvp_get_ip_info(struct vmbus_kvp *kvp, const char *mac, uint8_t family,
                          vmbus_kvp_done_fn done, void *ctx);
bool vmbus_kvp_ready(const struct vmbus_kvp *kvp);
uint32_t vmbus_kvp_queued(const struct vmbus_kvp *kvp);

/* Decode the guest's answer to a request with operation op (pure; used by
 * the device and the fuzzer). false if the body is too short for op. */
bool vmbus_kvp_decode_reply(uint8_t op, uint32_t status, const uint8_t *body, uint32_t len,
                            struct vmbus_kvp_reply *out);

/* ------------------------------------------------------------ the set */

struct vmbus_ic_options {
    bool heartbeat, shutdown, timesync, kvp;   /* which to offer */
    uint64_t heartbeat_interval_ns;            /* 0: default */
    uint64_t timesync_interval_ns;             /* 0: default */
    struct vmbus_ic_time_source time;          /* for timesync */
};

struct vmbus_ic_set {
    struct vmbus_heartbeat *heartbeat;
    struct vmbus_shutdown *shutdown;
    struct vmbus_timesync *timesync;
    struct vmbus_kvp *kvp;
};

/* All four on, default intervals, no time source. */
void vmbus_ic_options_defaults(struct vmbus_ic_options *opt);
/* Apply a list like "all,!kvp" or "heartbeat,shutdown" or "none": names
 * heartbeat, shutdown, timesync, kvp; "!" turns one off. 0, or -1 with a
 * reason in err. */
int vmbus_ic_options_parse(struct vmbus_ic_options *opt, const char *list, char *err,
                           size_t err_len);
/* Offer the chosen services; out gets handles (NULL for those off).
 * Timesync needs opt->time.ref_time. 0, or -1 (nothing is left added). */
int vmbus_ic_add(struct vmbus_server *srv, const struct vmbus_ic_options *opt,
                 struct vmbus_ic_set *out);

#endif /* HVSHIM_VMBUS_IC_SERVICES_H */
