/* SPDX-License-Identifier: MIT */
/*
 * VMBus test harness: guest RAM (memfd-backed, with a hole), the flat
 * memory view over it, a server whose host callbacks record every message
 * and signal, a controllable clock, and the guest side of the protocol
 * written after Linux 6.1's drivers/hv (handshake, GPADL split, ring
 * reader and writer with its signalling rules), so tests replay what a
 * Debian 12 guest does.
 */
#ifndef HVSHIM_TESTS_VMBUS_HARNESS_H
#define HVSHIM_TESTS_VMBUS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus/ic/services.h"
#include "vmbus/memview.h"
#include "vmbus/protocol.h"
#include "vmbus/server.h"

/* Guest RAM: [0, 8 MiB) and [16 MiB, 24 MiB); 8-16 MiB is a hole. */
#define VH_LOW_SIZE   (8u << 20)
#define VH_HIGH_GPA   (16u << 20)
#define VH_HIGH_SIZE  (8u << 20)
#define VH_MAX_MSGS   4096u
#define VH_MAX_SIGNALS 8192u

struct vh_msg {
    uint32_t vp;
    uint32_t size;
    uint8_t data[HV_MESSAGE_PAYLOAD_MAX];
};

struct vh {
    uint8_t *low, *high;
    int memfd;
    struct vmbus_memview_flat view;
    struct vmbus_server_config cfg;
    struct vmbus_server *srv;
    uint64_t now;

    /* Messages the server posted, in order; `seen` is the read cursor. */
    struct vh_msg msgs[VH_MAX_MSGS];
    uint32_t nmsgs, seen;
    /* Simulated SynIC queue room: < 0 unlimited; else posts past it are BUSY. */
    int slots;
    uint32_t busy_returns;
    bool post_fails;               /* SynIC off: every post fails */

    struct { uint32_t vp, relid; } signals[VH_MAX_SIGNALS];
    uint32_t nsignals;

    uint32_t conns[4096];
    bool conn_event[4096];
    uint32_t nconns;

    uint32_t nlogs;
    char last_log[320];
    bool verbose;

    struct vh_echo *echos[64];     /* freed with the harness */
    uint32_t nechos;

    uint32_t wakes;                /* atomic: host wake() calls (any thread) */

    uint64_t next_page;            /* bump allocator in low RAM */
    uint64_t monitor1, monitor2;   /* guest monitor pages (GPAs) */
    uint32_t msg_conn;             /* connection the guest posts on */
};

/* Create with the given VP count and max version (0: defaults). */
struct vh *vh_create(uint32_t nr_vps, uint32_t max_version);
/* Create a harness whose server is configured by cfg. */
struct vh *vh_create_cfg(const struct vmbus_server_config *cfg);
void vh_destroy(struct vh *h);
/* Replace the server by a fresh one on the same guest memory (the old one
 * is destroyed; its devices get destroy()). For save/restore tests. */
void vh_new_server(struct vh *h);

/* Guest memory */
uint8_t *vh_ptr(struct vh *h, uint64_t gpa);
uint64_t vh_alloc_pages(struct vh *h, uint32_t pages);   /* zeroed, contiguous */

/* Messages */
const struct vh_msg *vh_next_msg(struct vh *h);            /* NULL if none */
/* Next message, asserted to be of this type and at least min size. */
const void *vh_expect(struct vh *h, uint32_t type);
uint32_t vh_pending_msgs(const struct vh *h);
void vh_eom(struct vh *h, int freed);                      /* guest EOM(s) */

/* Guest -> host */
int vh_post(struct vh *h, uint32_t vp, uint32_t conn, const void *msg, uint32_t size);
int vh_post_conn(struct vh *h, const void *msg, uint32_t size);   /* on h->msg_conn */
void vh_signal(struct vh *h, uint32_t relid);               /* HvSignalEvent */
void vh_advance(struct vh *h, uint64_t ns);                 /* clock + run timers */
void vh_run(struct vh *h);                                  /* run due work */
/* Wait (real time, up to timeout_ms) until a backend thread has called the
 * host's wake() more than `seen` times in total, then run due work.
 * Returns the new total (== seen on timeout). */
uint32_t vh_wait_wake(struct vh *h, uint32_t seen, uint32_t timeout_ms);

/* Linux 6.1 handshake steps */
/* INITIATE_CONTACT as vmbus_negotiate_version does; returns the reply. */
const struct vmbus_msg_version_response *vh_initiate(struct vh *h, uint32_t version);
/* vmbus_connect(): tries 5.3 .. 2.4; returns the version it got (0: none)
 * and records how many tries it took. */
uint32_t vh_connect(struct vh *h, uint32_t *tries);
/* REQUESTOFFERS; copies offers out (n = count), consumes ALLOFFERS_DELIVERED. */
uint32_t vh_request_offers(struct vh *h, struct vmbus_msg_offer_channel *offers, uint32_t max);

/* GPADL as create_gpadl_header splits it: returns GPADL_CREATED status,
 * or -1 if no reply came. */
int64_t vh_gpadl(struct vh *h, uint32_t relid, uint32_t handle, uint64_t gpa, uint32_t pages);
int64_t vh_gpadl_pfns(struct vh *h, uint32_t relid, uint32_t handle, const uint64_t *pfns,
                      uint32_t pages);
int64_t vh_gpadl_teardown(struct vh *h, uint32_t relid, uint32_t handle);

/* The guest's view of one ring (Linux hv_ring_buffer_info). */
struct vh_ring {
    uint8_t *hdr;
    uint32_t size;
};

/* A channel as Linux opens it. */
struct vh_chan {
    uint32_t relid;
    uint32_t conn_id;
    uint32_t gpadl;
    uint64_t gpa;
    uint32_t send_pages, recv_pages;
    struct vh_ring out;          /* guest -> host */
    struct vh_ring in;           /* host -> guest */
};

/* Allocate and init the rings (hv_ringbuffer_init), create the GPADL,
 * open; returns OPEN_RESULT status (or -1 if none). */
int64_t vh_open(struct vh *h, struct vh_chan *c, uint32_t relid, uint32_t conn_id,
                uint32_t gpadl, uint32_t send_pages, uint32_t recv_pages, uint32_t target_vp);
void vh_close(struct vh *h, struct vh_chan *c);

/* Linux ring writer (hv_ringbuffer_write): 0, or -1 when full. Signals
 * the host itself when Linux would. */
int vh_ring_send(struct vh *h, struct vh_chan *c, uint16_t type, uint16_t flags,
                 uint64_t trans_id, const void *data, uint32_t len);
/* Write without signalling; *signal says whether Linux would have. */
int vh_ring_write(struct vh_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
                  const void *data, uint32_t len, bool *signal);
/* Linux ring reader (hv_ringbuffer_read): 1 packet read (data = after
 * offset8), 0 empty. Applies the pending_send_sz rule and signals. */
int vh_ring_recv(struct vh *h, struct vh_chan *c, struct vmbus_packet_desc *desc, void *buf,
                 uint32_t buflen, uint32_t *len);
int vh_ring_read(struct vh_ring *r, struct vmbus_packet_desc *desc, void *buf,
                 uint32_t buflen, uint32_t *len, bool *signal);

/* Ring header fields through the guest's eyes. */
uint32_t *vh_ring_field(struct vh_ring *r, size_t offset);
#define VH_WRITE_INDEX(r)  (*vh_ring_field((r), 0))
#define VH_READ_INDEX(r)   (*vh_ring_field((r), 4))
#define VH_INT_MASK(r)     (*vh_ring_field((r), 8))
#define VH_PENDING(r)      (*vh_ring_field((r), 12))
#define VH_FEATURES(r)     (*vh_ring_field((r), 64))

/* Number of signals the host sent for relid since the last call. */
uint32_t vh_take_signals(struct vh *h, uint32_t relid);

/* A Linux util driver's answer to an IC negotiate (vmbus_prep_negotiate_resp):
 * edits buf in place. Returns true if a common version was found. */
bool vh_ic_negotiate_answer(uint8_t *buf, uint32_t len, const uint32_t *fw, int nfw,
                            const uint32_t *srv_versions, int nsrv, uint32_t *fw_out,
                            uint32_t *srv_out);

#endif /* HVSHIM_TESTS_VMBUS_HARNESS_H */

/* ----------------------------------------------------------- echo device */

/* A loopback device for channel tests: every INBAND packet comes back as
 * an INBAND packet with the same bytes and transaction id. A reply that
 * meets a full ring waits for writable(). It saves its counters. */
struct vh_echo {
    struct vmbus_channel *ch;
    uint32_t opens, closes, packets, writables, blocked, destroyed;
    uint32_t restores;
    bool refuse_open;
    uint8_t user_data[VMBUS_OFFER_USER_DEFINED_BYTES];
    bool has_pending;
    uint64_t pending_id;
    uint32_t pending_len;
    uint8_t pending[4096];
};

struct vh_echo *vh_add_echo(struct vh *h, const char *if_type, const char *instance,
                            uint16_t sub_index, bool monitor);
extern const struct vmbus_device_ops vh_echo_ops;
