/* SPDX-License-Identifier: MIT */
/*
 * Integration services: the shared framing (pipe header + IC header), the
 * version negotiation every service starts with, and a small engine that
 * runs one request/response transaction at a time over a channel, as the
 * guest side expects (it handles one host request at a time, answering in
 * the same buffer with the same transaction id).
 *
 * The decoders here are pure functions over bytes the guest wrote.
 */
#ifndef HVSHIM_VMBUS_IC_H
#define HVSHIM_VMBUS_IC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/device.h"
#include "vmbus/protocol.h"

struct vmbus_server;

/* Largest IC message hvshim sends: pipe + IC headers + KVP IP info. */
#define VMBUS_IC_MAX_MESSAGE (VMBUS_IC_PREFIX_SIZE + sizeof(struct vmbus_kvp_msg_ip_info))
/* Util rings are 16 KiB per direction in Linux; guests read IC packets
 * into 4 KiB (KVP: 16 KiB) buffers. */
#define VMBUS_IC_MAX_PACKET (16u * 1024u)

/* ------------------------------------------------------------- framing */

struct vmbus_ic_msg {
    struct vmbus_ic_header hdr;
    const uint8_t *body;          /* hdr.msgsize bytes */
    uint32_t body_len;
};

/* Build pipe header + IC header + body into buf. Returns the length, or 0
 * if it does not fit / body_len exceeds a u16. */
size_t vmbus_ic_build(uint8_t *buf, size_t cap, struct vmbus_ic_version framework,
                      struct vmbus_ic_version msg_version, uint16_t msgtype, uint8_t flags,
                      const void *body, size_t body_len);

/* Decode an IC message from a packet's data. false if shorter than the
 * headers or the IC header claims more body than there is. */
bool vmbus_ic_parse(const uint8_t *data, uint32_t len, struct vmbus_ic_msg *out);

/* The host's negotiate request: framework versions, then service versions. */
size_t vmbus_ic_build_negotiate(uint8_t *buf, size_t cap,
                                const struct vmbus_ic_version *frameworks, uint16_t nr_fw,
                                const struct vmbus_ic_version *services, uint16_t nr_svc);

/* The guest's negotiate answer: 1 (and the chosen versions) if it picked
 * one framework and one service version that the host offered; 0 if it
 * found no common version (counts 0/0); -1 if malformed. */
int vmbus_ic_parse_negotiate_response(const struct vmbus_ic_msg *msg,
                                      const struct vmbus_ic_version *frameworks,
                                      uint16_t nr_fw,
                                      const struct vmbus_ic_version *services,
                                      uint16_t nr_svc, struct vmbus_ic_version *fw_out,
                                      struct vmbus_ic_version *svc_out);

/* --------------------------------------------------------------- engine */

struct vmbus_ic;

/* Static description of one service. */
struct vmbus_ic_desc {
    const char *name;
    struct vmbus_guid if_type;
    struct vmbus_guid if_instance;
    const struct vmbus_ic_version *versions;   /* service versions offered */
    uint16_t nr_versions;
};

struct vmbus_ic_ops {
    /* Negotiation finished; requests may be sent. */
    void (*ready)(struct vmbus_ic *ic);
    /* The guest answered the outstanding request. */
    void (*response)(struct vmbus_ic *ic, const struct vmbus_ic_msg *msg);
    /* The channel closed; an outstanding request is lost. Optional. */
    void (*closed)(struct vmbus_ic *ic);
    /* Timer set with vmbus_ic_set_timer expired. Optional. */
    void (*timer)(struct vmbus_ic *ic, uint64_t now_ns);
    /* Refresh the request body just before each attempt to write it
     * (timesync stamps the time here). Optional. */
    void (*refresh)(struct vmbus_ic *ic, uint8_t *body, uint32_t len);
};

enum vmbus_ic_state {
    VMBUS_IC_CLOSED = 0,
    VMBUS_IC_NEGOTIATING,
    VMBUS_IC_READY,
    VMBUS_IC_FAILED,             /* no common version: channel idle */
};

struct vmbus_ic {
    const struct vmbus_ic_desc *desc;
    const struct vmbus_ic_ops *ops;
    void *owner;
    void (*destroy)(void *owner);
    struct vmbus_channel *ch;            /* NULL once the server let go */
    uint8_t state;               /* enum vmbus_ic_state */
    struct vmbus_ic_version framework;
    struct vmbus_ic_version version;
    bool in_flight;              /* sent, awaiting the answer */
    bool tx_pending;             /* built, waiting for ring space */
    uint64_t trans_id;           /* of the outstanding request */
    uint64_t next_trans_id;
    uint64_t sent_ns;
    uint32_t tx_len;
    uint8_t tx[VMBUS_IC_MAX_MESSAGE];
    uint64_t requests;
    uint64_t responses;
    uint64_t dropped;            /* unexpected or malformed guest packets */
};

void vmbus_ic_init(struct vmbus_ic *ic, const struct vmbus_ic_desc *desc,
                   const struct vmbus_ic_ops *ops, void *owner);
/* Offer the service on the bus. destroy (may be NULL) frees the owner
 * when the server lets go of the device. */
int vmbus_ic_attach(struct vmbus_ic *ic, struct vmbus_server *srv, void (*destroy)(void *));

/* Send a request (TRANSACTION|REQUEST). 0; -1 if not ready or a request
 * is outstanding; -2 if the body is too large. */
int vmbus_ic_request(struct vmbus_ic *ic, uint16_t msgtype, const void *body, size_t len);
bool vmbus_ic_busy(const struct vmbus_ic *ic);
void vmbus_ic_set_timer(struct vmbus_ic *ic, uint64_t deadline_ns);
uint64_t vmbus_ic_now(const struct vmbus_ic *ic);

/* Framework versions every hvshim service offers (3.0, 1.0). */
extern const struct vmbus_ic_version vmbus_ic_frameworks[2];

/* ------------------------------------------------------------- UTF-16 */

/* UTF-8 -> NUL-terminated UTF-16LE. Returns bytes written including the
 * NUL, or 0 if the input is not valid UTF-8 or does not fit. */
size_t vmbus_utf8_to_utf16le(const char *in, uint8_t *out, size_t out_bytes);
/* UTF-16LE (up to in_bytes, stopping at a NUL) -> NUL-terminated UTF-8.
 * Unpaired surrogates become U+FFFD. Returns the length written (without
 * the NUL); output is truncated at a character boundary if it is short. */
size_t vmbus_utf16le_to_utf8(const uint8_t *in, size_t in_bytes, char *out, size_t out_size);

#endif /* HVSHIM_VMBUS_IC_H */
