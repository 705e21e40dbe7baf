/* SPDX-License-Identifier: MIT */
/*
 * Synthetic timers: four per VP on the partition reference clock (100 ns).
 *
 * Each timer is a small state machine under vp->lock:
 *   expiration          next due reference time (0 = not running)
 *   pending             an expiry was taken but not yet delivered (its
 *                       message slot was busy, the SINT masked, ...)
 *   pending_expiration  the due time that pending expiry reports
 * The host timer only wakes us; every decision is made against
 * hv_time_ref_now(), so a late, early or duplicate host callback is
 * harmless.
 */
#include "hvshim/internal.h"

/* Host timers are never asked for more than ~146 years: a naive host that
 * adds the delay to its clock must not wrap around and fire at once. */
#define STIMER_MAX_ARM_NS (1ull << 62)
/* A non-lazy periodic timer catches up on at most this many missed
 * expiries; further behind it skips ahead like a lazy one (Xen's choice;
 * the TLFS leaves the number open). */
#define STIMER_CATCH_UP_LIMIT 3u
/* Bounds one service pass: one expiry, at most CATCH_UP_LIMIT catch-ups. */
#define STIMER_SERVICE_ROUNDS (STIMER_CATCH_UP_LIMIT + 2u)
/* "never due": a saturated expiration is not armed */
#define STIMER_NEVER UINT64_MAX

static uint32_t timer_sint(uint64_t config)
{
    return (uint32_t)((config & HV_STIMER_SINT_MASK) >> HV_STIMER_SINT_SHIFT);
}

static uint8_t timer_vector(uint64_t config)
{
    return (uint8_t)((config & HV_STIMER_VECTOR_MASK) >> HV_STIMER_VECTOR_SHIFT);
}

static bool timer_direct(uint64_t config)
{
    return (config & HV_STIMER_DIRECT_MODE) != 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > STIMER_NEVER - b ? STIMER_NEVER : a + b;
}

static void trace_timer(struct hv_vp *vp, uint32_t n, enum hv_stimer_trace ev, uint64_t when)
{
    hv_trace(vp->partition, vp->index, HV_TRACE_STIMER, n, ev, when, vp->stimer[n].config);
}

static void arm_locked(struct hv_vp *vp, uint32_t n)
{
    struct hv_partition *p = vp->partition;
    struct hv_stimer *t = &vp->stimer[n];
    uint64_t delay;

    if (t->expiration == STIMER_NEVER) {
        p->ops->timer_cancel(p->ctx, vp->index, n);
        return;
    }
    delay = hv_time_ns_until(p, t->expiration);
    if (delay > STIMER_MAX_ARM_NS)
        delay = STIMER_MAX_ARM_NS;
    p->ops->timer_arm(p->ctx, vp->index, n, delay);
    trace_timer(vp, n, HV_STIMER_TRACE_ARM, t->expiration);
}

/* Stop the timer and forget an undelivered expiry (the guest is
 * reprogramming it, so that expiry no longer means anything). */
static void stop_locked(struct hv_vp *vp, uint32_t n)
{
    struct hv_partition *p = vp->partition;
    struct hv_stimer *t = &vp->stimer[n];

    p->ops->timer_cancel(p->ctx, vp->index, n);
    if (t->expiration || t->pending)
        trace_timer(vp, n, HV_STIMER_TRACE_STOP, t->expiration);
    t->expiration = 0;
    t->pending = false;
    t->pending_expiration = 0;
}

/*
 * The period a periodic timer actually runs at. A guest may write any
 * non-zero COUNT (it reads back unchanged), but expiries are spaced at
 * least STIMER_MIN_PERIOD apart so a hostile 100 ns period cannot keep a
 * host CPU and the guest's own VP busy with nothing but timer work. 50 us
 * is well below any period guests use (Windows' shortest is 0.5 ms).
 */
#define STIMER_MIN_PERIOD 500u   /* 100 ns units */

static uint64_t period_of(const struct hv_stimer *t)
{
    return t->count < STIMER_MIN_PERIOD ? STIMER_MIN_PERIOD : t->count;
}

/*
 * Periodic timers (period = count, never 0 here: a zero count never starts,
 * XSA-504) step their expiration by exactly one period, so they do not
 * drift. When the next due time is already past (the host timer fired late,
 * or an expiry waited for a slot), lazy timers, and non-lazy ones more than
 * STIMER_CATCH_UP_LIMIT periods behind, skip to the first due time after
 * now on the same grid; the others keep it and catch up one expiry at a
 * time.
 */
static void coalesce(struct hv_stimer *t, uint64_t now)
{
    uint64_t period = period_of(t);
    uint64_t behind;

    if (!(t->config & HV_STIMER_PERIODIC) || t->expiration == 0 ||
        t->expiration > now || t->expiration == STIMER_NEVER)
        return;
    behind = (now - t->expiration) / period + 1;   /* due times in [expiration, now] */
    if (!(t->config & HV_STIMER_LAZY) && behind <= STIMER_CATCH_UP_LIMIT)
        return;
    t->expiration = add_sat(now - (now - t->expiration) % period, period);
}

static bool deliver_locked(struct hv_vp *vp, uint32_t n, uint64_t due, uint64_t now)
{
    struct hv_partition *p = vp->partition;
    uint64_t config = vp->stimer[n].config;
    struct hv_timer_message_payload payload;
    struct hv_message msg;

    if (timer_direct(config)) {
        uint8_t vector = timer_vector(config);
        /* CONFIG writes refuse vectors < 16; a loaded blob is not trusted. */
        if (vector >= HV_SINT_MIN_VECTOR)
            p->ops->irq_inject(p->ctx, vp->index, vector, false);
        return true;
    }
    memset(&msg, 0, sizeof(msg));
    memset(&payload, 0, sizeof(payload));
    payload.timer_index = n;
    payload.expiration_time = due;
    payload.delivery_time = now;
    msg.message_type = HVMSG_TIMER_EXPIRED;
    msg.payload_size = (uint8_t)sizeof(payload);
    msg.sender = 0;
    memcpy(msg.payload, &payload, sizeof(payload));
    return hv_synic_write_slot_locked(vp, timer_sint(config), &msg) == HV_OK;
}

/*
 * Take the expiries that are due and deliver them as far as possible.
 * must_arm: the host timer is not (or no longer) armed for this timer, so
 * arm it for the next due time even if nothing else happened.
 */
static void service_locked(struct hv_vp *vp, uint32_t n, uint64_t now, bool must_arm)
{
    struct hv_partition *p = vp->partition;
    struct hv_stimer *t = &vp->stimer[n];
    bool progress = false;

    if (!(t->config & HV_STIMER_ENABLE) || t->count == 0)
        return;
    for (uint32_t round = 0; round < STIMER_SERVICE_ROUNDS; round++) {
        if (!t->pending) {
            if (t->expiration == 0 || t->expiration > now)
                break;
            t->pending = true;
            t->pending_expiration = t->expiration;
            trace_timer(vp, n, HV_STIMER_TRACE_FIRE, t->expiration);
            if (t->config & HV_STIMER_PERIODIC)
                t->expiration = add_sat(t->expiration, period_of(t));
            progress = true;
        }
        if (!deliver_locked(vp, n, t->pending_expiration, now)) {
            /* Kept: retried on EOM, EOI of the SINT vector, unmask,
             * SIMP/SCONTROL enable and hv_vp_poll. */
            trace_timer(vp, n, HV_STIMER_TRACE_BLOCKED, t->pending_expiration);
            if (p->ops->slot_wait)
                p->ops->slot_wait(p->ctx, vp->index);
            break;
        }
        t->pending = false;
        progress = true;
        hv_stat_inc(&vp->stats.stimer_expiries);
        trace_timer(vp, n, HV_STIMER_TRACE_DELIVERED, now);
        if (!(t->config & HV_STIMER_PERIODIC)) {
            /* A one-shot timer disables itself once delivered. */
            t->config &= ~HV_STIMER_ENABLE;
            t->expiration = 0;
            p->ops->timer_cancel(p->ctx, vp->index, n);
            return;
        }
        /* Periods that passed while this expiry was due or waiting are
         * coalesced into it or caught up, per the lazy rule. */
        coalesce(t, now);
    }
    /* While an expiry waits for a slot the host timer stays off: later
     * periods are accounted for when it is delivered. (An expiration still
     * due here only if the round bound hit first: arming it for "now" lets
     * the host call back to continue.) */
    if ((must_arm || progress) && !t->pending && t->expiration != 0)
        arm_locked(vp, n);
}

/* Begin counting from the current config and count (both just written). */
static void start_locked(struct hv_vp *vp, uint32_t n, uint64_t now)
{
    struct hv_stimer *t = &vp->stimer[n];

    /* Enabled with count 0 stays idle until a non-zero COUNT: a periodic
     * timer with period 0 must never run (XSA-504). */
    if (!(t->config & HV_STIMER_ENABLE) || t->count == 0)
        return;
    if (t->config & HV_STIMER_PERIODIC)
        t->expiration = add_sat(now, period_of(t));   /* first period starts now */
    else
        t->expiration = t->count;                 /* absolute; the past fires now */
    service_locked(vp, n, now, true);
}

static bool stimer_msr(uint32_t msr, uint32_t *n, bool *is_count)
{
    if (msr < HV_MSR_STIMER0_CONFIG || msr > HV_MSR_STIMER3_COUNT)
        return false;
    *n = (msr - HV_MSR_STIMER0_CONFIG) / 2u;
    *is_count = ((msr - HV_MSR_STIMER0_CONFIG) & 1u) != 0;
    return true;
}

static bool config_valid(const struct hv_partition *p, uint64_t val)
{
    if (val & ~HV_STIMER_VALID_BITS)
        return false;
    if (timer_direct(val)) {
        if (!hv_feature(p, HV_F_STIMER_DIRECT))
            return false;
        if (timer_vector(val) < HV_SINT_MIN_VECTOR)
            return false;
    }
    return true;
}

/* TLFS: a message-mode timer cannot be enabled with SINT 0. */
static void enforce_sint_locked(struct hv_stimer *t)
{
    if (!timer_direct(t->config) && timer_sint(t->config) == 0)
        t->config &= ~HV_STIMER_ENABLE;
}

enum hv_msr_result hv_stimer_rdmsr(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
    uint32_t n;
    bool is_count;

    if (!hv_feature(vp->partition, HV_F_STIMER) || !stimer_msr(msr, &n, &is_count))
        return HV_MSR_GP;
    hv_lock(&vp->lock);
    *val = is_count ? vp->stimer[n].count : vp->stimer[n].config;
    hv_unlock(&vp->lock);
    return HV_MSR_OK;
}

enum hv_msr_result hv_stimer_wrmsr(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
    struct hv_partition *p = vp->partition;
    struct hv_stimer *t;
    uint64_t now;
    uint32_t n;
    bool is_count;

    if (!hv_feature(p, HV_F_STIMER) || !stimer_msr(msr, &n, &is_count))
        return HV_MSR_GP;
    if (!is_count && !config_valid(p, val))
        return HV_MSR_GP;

    t = &vp->stimer[n];
    hv_lock(&vp->lock);
    now = hv_time_ref_now(p);
    stop_locked(vp, n);
    if (is_count) {
        t->count = val;
        /* Zero stops the timer whatever auto_enable says (TLFS). */
        if (val == 0)
            t->config &= ~HV_STIMER_ENABLE;
        else if (t->config & HV_STIMER_AUTO_ENABLE)
            t->config |= HV_STIMER_ENABLE;
    } else {
        t->config = val;
    }
    enforce_sint_locked(t);
    start_locked(vp, n, now);
    hv_unlock(&vp->lock);
    return HV_MSR_OK;
}

void hv_stimer_expired(struct hv_vp *vp, uint32_t timer)
{
    if (!vp || timer >= HV_STIMER_COUNT)
        return;
    hv_lock(&vp->lock);
    /* The host timer is spent: re-arm it if the expiry is not due yet
     * (early callback) or a period follows. A stopped timer ignores it. */
    service_locked(vp, timer, hv_time_ref_now(vp->partition), true);
    hv_unlock(&vp->lock);
}

void hv_stimer_retry_locked(struct hv_vp *vp, uint16_t sints)
{
    uint64_t now = 0;
    bool have_now = false;

    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        const struct hv_stimer *t = &vp->stimer[n];
        if (!t->pending || timer_direct(t->config) || !(sints & (1u << timer_sint(t->config))))
            continue;
        if (!have_now) {
            now = hv_time_ref_now(vp->partition);
            have_now = true;
        }
        service_locked(vp, n, now, false);
    }
}

void hv_stimer_poll(struct hv_vp *vp)
{
    uint64_t now;

    bool running = false;

    if (!vp)
        return;
    hv_lock(&vp->lock);
    /* A poll runs before every guest entry: without a running or pending
     * timer it must not even read the clock. */
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++)
        running |= vp->stimer[n].pending || vp->stimer[n].expiration != 0;
    if (running) {
        now = hv_time_ref_now(vp->partition);
        for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
            const struct hv_stimer *t = &vp->stimer[n];
            /* Only timers with something owed: re-arming host timers for
             * nothing would cost a host call per guest entry. */
            if (t->pending || (t->expiration != 0 && t->expiration <= now))
                service_locked(vp, n, now, false);
        }
    }
    hv_unlock(&vp->lock);
}

void hv_stimer_vp_init(struct hv_vp *vp)
{
    /* Power-on: all timers disabled with count 0 (TLFS). */
    memset(vp->stimer, 0, sizeof(vp->stimer));
    __atomic_store_n(&vp->stimer_fired, 0u, __ATOMIC_RELAXED);
}

void hv_stimer_vp_destroy(struct hv_vp *vp)
{
    hv_lock(&vp->lock);
    /* Stopped timers have no expiration, so a host callback that races
     * with destroy finds nothing to deliver and arms nothing. */
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++)
        stop_locked(vp, n);
    hv_unlock(&vp->lock);
}

void hv_stimer_vp_restored(struct hv_vp *vp)
{
    struct hv_partition *p = vp->partition;
    bool owed = false;
    uint64_t now;

    hv_lock(&vp->lock);
    now = hv_time_ref_now(p);
    for (uint32_t n = 0; n < HV_STIMER_COUNT; n++) {
        struct hv_stimer *t = &vp->stimer[n];

        p->ops->timer_cancel(p->ctx, vp->index, n);
        /* The blob passed its checks, but a timer that could inject an
         * exception vector is never started, and one with count 0 stays
         * idle (it could divide by zero, XSA-504). */
        if (!config_valid(p, t->config))
            t->config &= ~HV_STIMER_ENABLE;
        enforce_sint_locked(t);
        if (!(t->config & HV_STIMER_ENABLE) || t->count == 0) {
            t->expiration = 0;
            t->pending = false;
            continue;
        }
        if (t->expiration == 0 && !t->pending)
            t->expiration = (t->config & HV_STIMER_PERIODIC) ? add_sat(now, period_of(t))
                                                             : t->count;
        if (t->pending)
            owed = true;   /* delivered by the VP's next poll */
        else if (t->expiration > now)
            arm_locked(vp, n);
        else
            owed = true;   /* fell due while the VP was saved */
    }
    hv_unlock(&vp->lock);
    if (owed)
        p->ops->vp_kick(p->ctx, vp->index);
}
