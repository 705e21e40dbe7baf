/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the four integration services as devices, with a guest that
 * answers each host message with (partly) fuzzed bytes: every service's
 * response handler and the negotiation sees arbitrary answers. Input:
 *   00 ch keep len bytes   take the next host message on channel ch and
 *                          answer it: keep its first `keep` bytes, then the
 *                          fuzz bytes (the transaction id is echoed unless
 *                          the top bit of keep is set)
 *   01 ms:u16              advance time
 *   02 kind arg            host request (shutdown, KVP, timesync sync)
 *   03 ch                  guest closes the channel
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/vmbus/fuzz_bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fb_in in = { data, size };
    struct fbus *b = fb_start();
    struct fb_chan chans[8];
    uint32_t n = fb_linux_bringup(b, chans, 8, 4);
    static uint8_t buf[16384];
    int steps = 0;
    while (fb_more(&in) && steps++ < 1000 && n) {
        switch (fb_u8(&in) % 4) {
        case 0: {
            struct fb_chan *c = &chans[fb_u8(&in) % n];
            uint8_t keep = fb_u8(&in);
            uint32_t len = fb_u16(&in) % sizeof(buf);
            struct vmbus_packet pkt;
            int got = fb_guest_recv(b, c, &pkt, buf, sizeof(buf));
            if (got < 0)
                got = 0;
            uint32_t k = (keep & 0x7F) * 4u;
            if (k > (uint32_t)got)
                k = (uint32_t)got;
            if (len < k)
                len = k;
            fb_bytes(&in, buf + k, len - k);
            uint64_t id = keep & 0x80 ? pkt.trans_id ^ 1 : (got ? pkt.trans_id : 0);
            fb_guest_send(b, c, VMBUS_PKT_DATA_INBAND, id, buf, len);
            break;
        }
        case 1:
            b->now += (uint64_t)fb_u16(&in) * 1000000ull;
            b->ref_time += 777;
            fb_run(b);
            break;
        case 2: {
            uint8_t kind = fb_u8(&in), arg = fb_u8(&in);
            if (kind % 4 == 0)
                vmbus_shutdown_request(b->ics.shutdown, (enum vmbus_shutdown_kind)((arg % 3) * 2),
                                       arg & 1, NULL, NULL, NULL);
            else if (kind % 4 == 1)
                vmbus_kvp_enumerate(b->ics.kvp, (enum vmbus_kvp_pool)(arg % 5), arg, NULL, NULL);
            else if (kind % 4 == 2)
                vmbus_kvp_get_ip_info(b->ics.kvp, "00:15:5d:00:00:01", arg, NULL, NULL);
            else
                vmbus_timesync_sync_now(b->ics.timesync);
            break;
        }
        case 3: {
            struct fb_chan *c = &chans[fb_u8(&in) % n];
            struct vmbus_msg_close_channel m = { .header.msgtype = VMBUS_MSG_CLOSECHANNEL,
                                                 .child_relid = c->relid };
            fb_post(b, 0, 1, &m, sizeof(m));
            break;
        }
        }
    }
    fb_stop(b);
    return 0;
}
