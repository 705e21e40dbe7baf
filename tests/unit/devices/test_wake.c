/* SPDX-License-Identifier: MIT */
/*
 * vmbus_channel_wake, the thread-safe call device backends use to get
 * back onto the server thread: the host's wake callback, the deadline
 * saying "now", the device's wake op on the next timer run, folding of
 * many wakes, and wakes for a closed channel being dropped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "tests/unit/devices/dev_harness.h"

struct waker {
    struct vmbus_channel *ch;
    uint32_t wakes_seen;          /* server thread */
    pthread_t owner;
    bool wrong_thread;
};

static int w_open(void *dev, struct vmbus_channel *ch, const uint8_t *ud)
{
    (void)dev;
    (void)ch;
    (void)ud;
    return 0;
}

static void w_close(void *dev, struct vmbus_channel *ch)
{
    (void)dev;
    (void)ch;
}

static void w_packet(void *dev, struct vmbus_channel *ch, const struct vmbus_packet *p)
{
    (void)dev;
    (void)ch;
    (void)p;
}

static void w_wake(void *dev, struct vmbus_channel *ch)
{
    struct waker *w = dev;
    assert_ptr_equal(ch, w->ch);
    if (!pthread_equal(pthread_self(), w->owner))
        w->wrong_thread = true;
    w->wakes_seen++;
}

static const struct vmbus_device_ops waker_ops = {
    .open = w_open,
    .close = w_close,
    .packet = w_packet,
    .wake = w_wake,
};

static void *hammer(void *arg)
{
    struct waker *w = arg;
    for (int i = 0; i < 10000; i++)
        vmbus_channel_wake(w->ch);
    return NULL;
}

static void test_wake(void **state)
{
    (void)state;
    struct vh *h = vh_create(1, 0);
    struct waker w = { .owner = pthread_self() };
    struct vmbus_offer offer = {
        .if_type = VMBUS_GUID_NIC,
        .if_instance = VMBUS_GUID_INIT(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
        .name = "waker",
    };
    w.ch = vmbus_server_add_device(h->srv, &offer, &waker_ops, &w);
    assert_non_null(w.ch);
    struct vh_chan c;
    static const struct vmbus_guid nic = VMBUS_GUID_NIC;
    dh_bringup(h, &nic, &c, 2);

    /* Nothing pending: no deadline. */
    assert_true(vmbus_server_next_deadline(h->srv) == UINT64_MAX);
    /* Another thread wakes the channel thousands of times. */
    pthread_t th;
    pthread_create(&th, NULL, hammer, &w);
    pthread_join(th, NULL);
    uint32_t host_wakes = __atomic_load_n(&h->wakes, __ATOMIC_ACQUIRE);
    assert_true(host_wakes >= 1);
    assert_true(host_wakes < 10000);              /* folded while unserved */
    assert_int_equal(vmbus_server_next_deadline(h->srv), 0);
    vmbus_server_run_timers(h->srv);
    assert_int_equal(w.wakes_seen, 1);            /* one call for all of them */
    assert_false(w.wrong_thread);
    assert_true(vmbus_server_next_deadline(h->srv) == UINT64_MAX);

    /* A wake from the device's own thread works the same way. */
    vmbus_channel_wake(w.ch);
    vh_run(h);
    assert_int_equal(w.wakes_seen, 2);

    /* Closed channel: the wake is dropped, the deadline clears. */
    vh_close(h, &c);
    vmbus_channel_wake(w.ch);
    assert_int_equal(vmbus_server_next_deadline(h->srv), 0);
    vmbus_server_run_timers(h->srv);
    assert_int_equal(w.wakes_seen, 2);
    assert_true(vmbus_server_next_deadline(h->srv) == UINT64_MAX);
    vh_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
