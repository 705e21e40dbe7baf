/* SPDX-License-Identifier: MIT */
/*
 * The GPADL table: guest-described lists of guest pages ("guest physical
 * address descriptor lists") that rings and device buffers live in.
 *
 * A GPADL arrives as one GPADL_HEADER and zero or more GPADL_BODY messages
 * that together carry a "range buffer" of range_buflen bytes: for each of
 * range_count ranges, a {byte_count, byte_offset} qword followed by the
 * frame numbers the range spans. The table assembles it, validates every
 * range and frame when the last byte arrives, and keeps it until teardown.
 * Limits on count and total size keep a flooding guest from using more
 * host memory than configured. No guest memory is touched here except
 * through the frame-validity callback.
 */
#ifndef HVSHIM_VMBUS_GPADL_H
#define HVSHIM_VMBUS_GPADL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vmbus_gpadl_state {
    VMBUS_GPADL_FREE = 0,
    VMBUS_GPADL_ASSEMBLING,  /* header seen, bodies outstanding */
    VMBUS_GPADL_CREATED,     /* complete and validated */
    VMBUS_GPADL_TEARING_DOWN /* teardown asked while in use: deferred */
};

struct vmbus_gpadl {
    uint32_t handle;
    uint32_t relid;          /* channel the guest created it for */
    uint8_t state;           /* enum vmbus_gpadl_state */
    uint16_t range_count;
    uint32_t qwords;         /* range buffer size, in qwords */
    uint32_t filled;         /* qwords received so far */
    uint32_t users;          /* mappings held by channels/devices */
    uint64_t total_pages;    /* frames over all ranges, once created */
    uint64_t *buf;           /* range buffer */
};

/* Results of header/body/teardown. Negative values are guest errors. */
enum vmbus_gpadl_result {
    VMBUS_GPADL_MORE = 0,        /* accepted; bodies outstanding */
    VMBUS_GPADL_COMPLETE = 1,    /* created: reply GPADL_CREATED ok */
    VMBUS_GPADL_TORN = 2,        /* removed: reply GPADL_TORNDOWN */
    VMBUS_GPADL_DEFERRED = 3,    /* in use: TORNDOWN when released */
    VMBUS_GPADL_E_DUPLICATE = -1,
    VMBUS_GPADL_E_INVALID = -2,  /* range count/length make no sense */
    VMBUS_GPADL_E_NOSPC = -3,    /* table or size budget exhausted */
    VMBUS_GPADL_E_RANGE = -4,    /* a range is malformed */
    VMBUS_GPADL_E_PFN = -5,      /* a frame is not guest RAM */
    VMBUS_GPADL_E_UNKNOWN = -6,  /* no such handle (in this state) */
    VMBUS_GPADL_E_CHANNEL = -7,  /* handle belongs to another channel */
};

/* Returns whether every frame of pfns[0..n) may be used. */
typedef bool (*vmbus_pfn_check_fn)(void *ctx, const uint64_t *pfns, size_t n);

struct vmbus_gpadl_table {
    struct vmbus_gpadl *entries;
    uint32_t capacity;
    uint32_t count;
    uint64_t qword_budget;   /* max qwords over all GPADLs */
    uint64_t qwords_used;
    vmbus_pfn_check_fn pfn_check;
    void *pfn_check_ctx;
};

int vmbus_gpadl_table_init(struct vmbus_gpadl_table *t, uint32_t max_gpadls,
                           uint64_t max_total_qwords, vmbus_pfn_check_fn check, void *ctx);
void vmbus_gpadl_table_destroy(struct vmbus_gpadl_table *t);

/* GPADL_HEADER: data/len are the bytes after the 20-byte fixed part.
 * On COMPLETE, *out is the new GPADL. On an error the table is unchanged. */
int vmbus_gpadl_header(struct vmbus_gpadl_table *t, uint32_t relid, uint32_t handle,
                       uint16_t range_count, uint16_t range_buflen, const void *data,
                       size_t len, struct vmbus_gpadl **out);

/* GPADL_BODY: data/len are the bytes after the 16-byte fixed part. *relid
 * is set whenever the handle was found (so a failure can be answered).
 * On an error other than E_UNKNOWN the half-built GPADL is dropped. */
int vmbus_gpadl_body(struct vmbus_gpadl_table *t, uint32_t handle, const void *data,
                     size_t len, uint32_t *relid, struct vmbus_gpadl **out);

/* GPADL_TEARDOWN: TORN (removed), DEFERRED (users remain) or an error. */
int vmbus_gpadl_teardown(struct vmbus_gpadl_table *t, uint32_t relid, uint32_t handle);

struct vmbus_gpadl *vmbus_gpadl_find(struct vmbus_gpadl_table *t, uint32_t handle);

/* Users: a channel ring or a device buffer holds the GPADL while mapped.
 * put returns true if a deferred teardown completed (reply TORNDOWN with
 * the handle, which is no longer in the table). */
void vmbus_gpadl_get(struct vmbus_gpadl *g);
bool vmbus_gpadl_put(struct vmbus_gpadl_table *t, struct vmbus_gpadl *g);

/* Drop every GPADL of a channel (after RELID_RELEASED) or all of them
 * (UNLOAD, reset), users or not: callers unmap first. */
void vmbus_gpadl_drop_channel(struct vmbus_gpadl_table *t, uint32_t relid);
void vmbus_gpadl_drop_all(struct vmbus_gpadl_table *t);

/* Range i of a created GPADL (i < range_count). */
struct vmbus_gpadl_range_view {
    uint32_t byte_count;
    uint32_t byte_offset;
    const uint64_t *pfns;
    uint32_t nr_pfns;
};
bool vmbus_gpadl_range(const struct vmbus_gpadl *g, uint32_t i,
                       struct vmbus_gpadl_range_view *out);

/* The frames of a GPADL that is one range of whole pages (rings, device
 * buffers): NULL otherwise. */
const uint64_t *vmbus_gpadl_whole_pages(const struct vmbus_gpadl *g, uint32_t *nr_pages);

/* Re-create a GPADL from saved state: filled of qwords received (a
 * complete one is validated like a new one); tearing_down marks a deferred
 * teardown. buf holds `filled` little-endian qwords. */
int vmbus_gpadl_restore(struct vmbus_gpadl_table *t, uint32_t relid, uint32_t handle,
                        uint16_t range_count, uint32_t qwords, const void *buf,
                        uint32_t filled, bool tearing_down, struct vmbus_gpadl **out);

#endif /* HVSHIM_VMBUS_GPADL_H */
