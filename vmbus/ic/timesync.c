/* SPDX-License-Identifier: MIT */
/*
 * TimeSync: the host's UTC time, sent once as SYNC (the guest steps its
 * clock) and then as periodic SAMPLEs. From version 4.0 each message also
 * carries the guest's reference time at the moment the host time was
 * read, so the guest can account for the delivery delay.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmbus/ic/services.h"

#define DEFAULT_INTERVAL_NS 5000000000ull

static const struct vmbus_ic_version timesync_versions[] = { { 4, 0 }, { 3, 0 }, { 1, 0 } };

static const struct vmbus_ic_desc timesync_desc = {
    .name = "timesync",
    .if_type = VMBUS_GUID_TIMESYNC,
    .if_instance = VMBUS_GUID_TIMESYNC_INSTANCE,
    .versions = timesync_versions,
    .nr_versions = 3,
};

struct vmbus_timesync {
    struct vmbus_ic ic;
    struct vmbus_ic_time_source time;
    uint64_t interval_ns;
    bool sync_wanted;
    struct vmbus_timesync_status st;
};

static uint64_t wall_now(const struct vmbus_timesync *ts)
{
    if (ts->time.wall_time)
        return ts->time.wall_time(ts->time.ctx);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return VMBUS_TIME_1601_TO_1970 + (uint64_t)now.tv_sec * 10000000ull +
           (uint64_t)now.tv_nsec / 100;
}

/* Stamp the message as late as possible: right before it enters the ring. */
static void ts_refresh(struct vmbus_ic *ic, uint8_t *body, uint32_t len)
{
    struct vmbus_timesync *ts = ic->owner;
    uint64_t ref = ts->time.ref_time(ts->time.ctx);
    uint64_t wall = wall_now(ts);
    if (ic->version.major >= 4 && len >= sizeof(struct vmbus_ic_timesync_ref)) {
        struct vmbus_ic_timesync_ref m;
        memcpy(&m, body, sizeof(m));
        m.parent_time = wall;
        m.vm_reference_time = ref;
        memcpy(body, &m, sizeof(m));
    } else if (len >= sizeof(struct vmbus_ic_timesync)) {
        struct vmbus_ic_timesync m;
        memcpy(&m, body, sizeof(m));
        m.parent_time = wall;
        memcpy(body, &m, sizeof(m));
    }
    ts->st.last_parent_time = wall;
    ts->st.last_reference_time = ref;
}

static void send_time(struct vmbus_timesync *ts)
{
    uint8_t flags = ts->sync_wanted ? VMBUS_IC_TIMESYNC_FLAG_SYNC
                                    : VMBUS_IC_TIMESYNC_FLAG_SAMPLE;
    int rc;
    if (ts->ic.version.major >= 4) {
        struct vmbus_ic_timesync_ref m = { .flags = flags };
        rc = vmbus_ic_request(&ts->ic, VMBUS_IC_MSG_TIMESYNC, &m, sizeof(m));
    } else {
        struct vmbus_ic_timesync m = { .flags = flags };
        rc = vmbus_ic_request(&ts->ic, VMBUS_IC_MSG_TIMESYNC, &m, sizeof(m));
    }
    if (rc == 0) {
        if (ts->sync_wanted)
            ts->st.syncs_sent++;
        else
            ts->st.samples_sent++;
        ts->sync_wanted = false;
    }
}

static void ts_ready(struct vmbus_ic *ic)
{
    struct vmbus_timesync *ts = ic->owner;
    ts->st.negotiated = true;
    ts->st.version_major = ic->version.major;
    ts->sync_wanted = true;   /* a fresh connection starts by setting the clock */
    send_time(ts);
    vmbus_ic_set_timer(ic, vmbus_ic_now(ic) + ts->interval_ns);
}

static void ts_timer(struct vmbus_ic *ic, uint64_t now)
{
    struct vmbus_timesync *ts = ic->owner;
    if (ic->state != VMBUS_IC_READY)
        return;
    if (!vmbus_ic_busy(ic))
        send_time(ts);
    vmbus_ic_set_timer(ic, now + ts->interval_ns);
}

static void ts_response(struct vmbus_ic *ic, const struct vmbus_ic_msg *msg)
{
    struct vmbus_timesync *ts = ic->owner;
    (void)msg;
    /* Nothing to learn from the echo; a SYNC asked for meanwhile goes now. */
    if (ts->sync_wanted)
        send_time(ts);
}

static void ts_closed(struct vmbus_ic *ic)
{
    struct vmbus_timesync *ts = ic->owner;
    ts->st.negotiated = false;
}

static const struct vmbus_ic_ops timesync_ops = {
    .ready = ts_ready,
    .response = ts_response,
    .closed = ts_closed,
    .timer = ts_timer,
    .refresh = ts_refresh,
};

struct vmbus_timesync *vmbus_timesync_create(struct vmbus_server *srv,
                                             const struct vmbus_ic_time_source *time,
                                             uint64_t interval_ns)
{
    if (!time || !time->ref_time)
        return NULL;
    struct vmbus_timesync *ts = calloc(1, sizeof(*ts));
    if (!ts)
        return NULL;
    ts->time = *time;
    ts->interval_ns = interval_ns ? interval_ns : DEFAULT_INTERVAL_NS;
    vmbus_ic_init(&ts->ic, &timesync_desc, &timesync_ops, ts);
    if (vmbus_ic_attach(&ts->ic, srv, free)) {
        free(ts);
        return NULL;
    }
    return ts;
}

void vmbus_timesync_sync_now(struct vmbus_timesync *ts)
{
    ts->sync_wanted = true;
    if (ts->ic.state == VMBUS_IC_READY && !vmbus_ic_busy(&ts->ic))
        send_time(ts);
}

void vmbus_timesync_status(const struct vmbus_timesync *ts, struct vmbus_timesync_status *st)
{
    *st = ts->st;
}
