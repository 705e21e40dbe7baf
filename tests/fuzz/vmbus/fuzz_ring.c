/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the ring reader over guest-written ring pages, the packet
 * decoders on what it returns, and the ring writer against a guest read
 * index that moves arbitrarily. Input:
 *   pages:u8 write:u32 read:u32 mask:u32 pending:u32 features:u32
 *   buflen:u16 data...  (the guest-to-host ring; the rest of the data
 *   page(s) come from the input, then the remaining bytes drive writes:
 *   {guest read index:u32, payload len:u16} pairs)
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/vmbus/fuzz_bus.h"
#include "vmbus/packet.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void decode(const struct vmbus_packet *pkt)
{
    uint16_t ps;
    uint32_t n;
    const struct vmbus_xfer_page_range *rr;
    const uint8_t *header_end = pkt->raw + (pkt->raw_len - pkt->data_len);
    if (vmbus_packet_xfer_pages(pkt, &ps, &n, &rr))
        CHECK((const uint8_t *)(rr + n) <= header_end);
    struct vmbus_gpa_direct_iter it;
    if (vmbus_packet_gpa_direct_begin(pkt, &it, &n)) {
        struct vmbus_gpa_direct_range r;
        while (vmbus_packet_gpa_direct_next(&it, &r) == 1) {
            CHECK(r.pfns + (size_t)r.nr_pfns * 8 <= header_end);
            CHECK(r.offset < 4096 && r.len > 0);
            for (uint32_t i = 0; i < r.nr_pfns; i++)
                (void)vmbus_gpa_direct_pfn(&r, i);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fb_in in = { data, size };
    uint32_t pages = 2 + fb_u8(&in) % 3;
    uint32_t bytes = pages * 4096;
    uint8_t *mem = aligned_alloc(4096, bytes);
    memset(mem, 0, bytes);
    uint32_t *hdr = (uint32_t *)(void *)mem;
    hdr[0] = fb_u32(&in);
    hdr[1] = fb_u32(&in);
    hdr[2] = fb_u32(&in);
    hdr[3] = fb_u32(&in);
    hdr[16] = fb_u32(&in);
    uint32_t buflen = fb_u16(&in) % 9000;
    fb_bytes(&in, mem + 4096, bytes - 4096 < 6000 ? bytes - 4096 : 6000);

    /* Read side */
    struct vmbus_ring r;
    if (vmbus_ring_in_init(&r, mem, bytes) == VMBUS_RING_OK) {
        uint8_t *buf = malloc(buflen ? buflen : 1);
        for (int i = 0; i < 4096; i++) {
            struct vmbus_packet pkt;
            uint32_t consumed;
            int rc = vmbus_ring_in_peek(&r, buf, buflen, &pkt, &consumed);
            if (rc == VMBUS_RING_OK) {
                CHECK(pkt.raw == buf && pkt.raw_len <= buflen && pkt.raw_len >= 16);
                CHECK(pkt.data >= pkt.raw + 16 && pkt.data + pkt.data_len == pkt.raw + pkt.raw_len);
                decode(&pkt);
            }
            if (rc != VMBUS_RING_OK && rc != VMBUS_RING_TOO_BIG)
                break;
            CHECK(consumed <= r.size);
            vmbus_ring_in_advance(&r, consumed);
            CHECK(r.priv < r.size && r.priv % 8 == 0);
            vmbus_ring_in_publish(&r);
        }
        vmbus_ring_in_set_mask(&r, false);
        free(buf);
    }

    /* Write side: the guest's read index is whatever the input says. */
    memset(mem, 0, 4096);
    struct vmbus_ring w;
    CHECK(vmbus_ring_out_init(&w, mem, bytes) == VMBUS_RING_OK);
    uint8_t payload[4096];
    memset(payload, 0x5A, sizeof(payload));
    while (fb_more(&in)) {
        hdr[1] = fb_u32(&in);
        uint32_t len = fb_u16(&in) % sizeof(payload);
        struct vmbus_ring_seg seg = { payload, len };
        bool sig;
        int rc = vmbus_ring_out_write(&w, 6, 0, len, NULL, 0, &seg, 1, &sig);
        CHECK(w.priv < w.size && w.priv % 8 == 0);
        if (rc == VMBUS_RING_BROKEN)
            CHECK(vmbus_ring_out_fits(&w, 8) == -1);
        if (rc == VMBUS_RING_FULL)
            vmbus_ring_out_wait_for(&w, (uint32_t)vmbus_ring_packet_bytes(0, len));
    }
    free(mem);
    return 0;
}
