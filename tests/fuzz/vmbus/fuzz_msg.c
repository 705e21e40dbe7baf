/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the server fed channel messages, signals, freed slots,
 * time, raw guest-memory writes (so rings, monitor and GPADL pages hold
 * anything), host requests to the integration services, device removal,
 * and save/load, in any order. Input: a sequence of operations.
 *
 *   00 vp conn len bytes[len]   post a channel message (conn: 1, 4, other)
 *   01 relid                    HvSignalEvent on the channel's connection
 *   02                          a SynIC slot was freed
 *   03 ms:u16                   advance the clock, run timers
 *   04 off:u24 len bytes[len]   write guest RAM
 *   05                          toggle "SynIC slot busy"
 *   06                          reset (reboot)
 *   07 relid                    remove that channel's device
 *   08 kind arg                 host request to an integration service
 *   09                          save, then load into a fresh server
 *   0a n pages                  Linux bring-up, then guest packets follow
 *   0b chan len bytes[len]      guest sends a packet on a brought-up channel
 *   0c chan                     guest reads a packet
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/vmbus/fuzz_bus.h"

static void host_request(struct fbus *b, uint8_t kind, uint8_t arg)
{
    switch (kind % 6) {
    case 0:
        if (b->ics.shutdown)
            vmbus_shutdown_request(b->ics.shutdown, (enum vmbus_shutdown_kind)((arg % 3) * 2),
                                   arg & 0x80, "fuzz", NULL, NULL);
        break;
    case 1:
        if (b->ics.kvp)
            vmbus_kvp_set(b->ics.kvp, (enum vmbus_kvp_pool)(arg % 6), "key", "value", NULL,
                          NULL);
        break;
    case 2:
        if (b->ics.kvp)
            vmbus_kvp_enumerate(b->ics.kvp, (enum vmbus_kvp_pool)(arg % 5), arg, NULL, NULL);
        break;
    case 3:
        if (b->ics.kvp)
            vmbus_kvp_get_ip_info(b->ics.kvp, "00:15:5d:00:00:01", arg, NULL, NULL);
        break;
    case 4:
        if (b->ics.timesync)
            vmbus_timesync_sync_now(b->ics.timesync);
        break;
    default:
        if (b->ics.heartbeat) {
            struct vmbus_heartbeat_status st;
            vmbus_heartbeat_status(b->ics.heartbeat, &st);
        }
        break;
    }
}

/* Forget service handles whose device the server let go of (a device
 * removed before the save is destroyed by the load). */
static void drop_dead_services(struct fbus *b)
{
    void **handles[4] = { (void **)&b->ics.heartbeat, (void **)&b->ics.shutdown,
                          (void **)&b->ics.timesync, (void **)&b->ics.kvp };
    for (int i = 0; i < 4; i++) {
        bool alive = false;
        for (uint32_t relid = 1; relid <= 8 && *handles[i]; relid++) {
            struct vmbus_channel *ch = vmbus_server_channel(b->srv, relid);
            alive |= ch && vmbus_channel_device(ch) == *handles[i];
        }
        if (!alive)
            *handles[i] = NULL;
    }
}

static void save_load(struct fbus *b)
{
    long n = vmbus_server_save(b->srv, NULL, 0);
    if (n <= 0)
        abort();   /* saving a live server always works */
    uint8_t *blob = malloc((size_t)n);
    if (vmbus_server_save(b->srv, blob, (size_t)n) != n)
        abort();
    fb_restart(b);
    /* Guest memory may have been changed meanwhile: load may refuse, but
     * the server must stay usable either way. */
    vmbus_server_load(b->srv, blob, (size_t)n);
    free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fb_in in = { data, size };
    struct fbus *b = fb_start();
    struct fb_chan chans[8];
    uint32_t nchans = 0;
    uint8_t buf[4096];
    int steps = 0;

    while (fb_more(&in) && steps++ < 2000) {
        uint8_t op = fb_u8(&in);
        switch (op % 13) {
        case 0: {
            uint32_t vp = fb_u8(&in) % (FB_NR_VPS + 1);
            uint8_t c = fb_u8(&in);
            uint32_t conn = c % 3 == 0 ? 1 : c % 3 == 1 ? 4 : c;
            uint32_t len = fb_u8(&in);
            uint8_t msg[256] = { 0 };
            len = (uint32_t)fb_bytes(&in, msg, len);
            fb_post(b, vp, conn, msg, len);
            break;
        }
        case 1:
            vmbus_server_signal_event(b->srv, 0, VMBUS_EVENT_CONNECTION_BASE + fb_u8(&in));
            break;
        case 2:
            vmbus_server_message_slot_freed(b->srv, 0, 2);
            break;
        case 3:
            b->now += (uint64_t)fb_u16(&in) * 1000000ull;
            b->ref_time += 12345;
            fb_run(b);
            break;
        case 4: {
            uint32_t off = fb_u16(&in) | (uint32_t)fb_u8(&in) << 16;
            uint32_t len = fb_u8(&in);
            off %= FB_RAM_SIZE;
            if (len > FB_RAM_SIZE - off)
                len = FB_RAM_SIZE - off;
            fb_bytes(&in, b->ram + off, len);
            break;
        }
        case 5:
            b->busy = !b->busy;
            if (!b->busy)
                vmbus_server_message_slot_freed(b->srv, 0, 2);
            break;
        case 6:
            vmbus_server_reset(b->srv);
            nchans = 0;
            break;
        case 7: {
            struct vmbus_channel *ch = vmbus_server_channel(b->srv, fb_u8(&in) % 9);
            if (ch)
                vmbus_server_remove_device(b->srv, ch);
            drop_dead_services(b);
            break;
        }
        case 8: {
            uint8_t kind = fb_u8(&in);
            host_request(b, kind, fb_u8(&in));
            break;
        }
        case 9:
            save_load(b);       /* fresh devices: b->ics are the new ones */
            drop_dead_services(b);
            nchans = 0;
            break;
        case 10: {
            uint32_t max = 1 + fb_u8(&in) % 8;
            uint32_t pages = 2 + fb_u8(&in) % 5;
            nchans = fb_linux_bringup(b, chans, max, pages);
            break;
        }
        case 11: {
            uint8_t which = fb_u8(&in);
            uint32_t len = fb_u8(&in) * 8u;
            uint8_t pkt[2048];
            len = (uint32_t)fb_bytes(&in, pkt, len);
            if (nchans)
                fb_guest_send(b, &chans[which % nchans], (uint16_t)(6 + which % 6), which,
                              pkt, len);
            break;
        }
        case 12: {
            uint8_t which = fb_u8(&in);
            struct vmbus_packet pkt;
            if (nchans)
                fb_guest_recv(b, &chans[which % nchans], &pkt, buf, sizeof(buf));
            break;
        }
        }
    }
    fb_stop(b);
    return 0;
}
