/* SPDX-License-Identifier: MIT */
/*
 * Rings: the host reader and writer against the harness's Linux-style
 * guest reader and writer, wrap-around at every offset, the signalling
 * rules, and every way a guest can corrupt the shared indices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/unit/vmbus/harness.h"
#include "vmbus/packet.h"
#include "vmbus/ring.h"

#define PAGES 3u   /* header + 2 data pages: 8 KiB of data */

struct pair {
    uint8_t *mem;
    struct vh_ring guest;      /* the guest's view of the same ring */
    struct vmbus_ring host;
};

static void pair_init(struct pair *p, uint32_t pages, uint32_t start, bool host_reads)
{
    p->mem = aligned_alloc(HV_PAGE_SIZE, (size_t)pages * HV_PAGE_SIZE);
    memset(p->mem, 0, (size_t)pages * HV_PAGE_SIZE);
    p->guest.hdr = p->mem;
    p->guest.size = (pages - 1) * HV_PAGE_SIZE;
    VH_FEATURES(&p->guest) = VMBUS_RING_FEATURE_PENDING_SEND_SZ;
    VH_WRITE_INDEX(&p->guest) = start;
    VH_READ_INDEX(&p->guest) = start;
    int rc = host_reads ? vmbus_ring_in_init(&p->host, p->mem, pages * HV_PAGE_SIZE)
                        : vmbus_ring_out_init(&p->host, p->mem, pages * HV_PAGE_SIZE);
    assert_int_equal(rc, VMBUS_RING_OK);
}

static void pair_free(struct pair *p)
{
    free(p->mem);
}

static void fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 31 + i * 7);
}

/* ------------------------------------------------------------- reading */

static void read_roundtrip(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, true);
    uint8_t data[100], buf[512];
    fill(data, sizeof(data), 1);
    bool sig;
    assert_int_equal(vh_ring_write(&p.guest, VMBUS_PKT_DATA_INBAND, 1, 0x1234, data, 100, &sig),
                     0);
    assert_true(sig);   /* empty ring, host mask clear */
    struct vmbus_packet pkt;
    uint32_t consumed;
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &consumed),
                     VMBUS_RING_OK);
    assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
    assert_int_equal(pkt.flags, 1);
    assert_int_equal(pkt.trans_id, 0x1234);
    assert_int_equal(pkt.data_len, 104);         /* padded, as Linux reports it */
    assert_int_equal(pkt.raw_len, 120);
    assert_int_equal(consumed, 128);
    assert_memory_equal(pkt.data, data, 100);
    /* Peek does not consume; advance + publish does. */
    assert_int_equal(VH_READ_INDEX(&p.guest), 0);
    vmbus_ring_in_advance(&p.host, consumed);
    assert_false(vmbus_ring_in_publish(&p.host));
    assert_int_equal(VH_READ_INDEX(&p.guest), 128);
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &consumed),
                     VMBUS_RING_EMPTY);
    pair_free(&p);
}

static void read_wraps_at_every_offset(void **state)
{
    (void)state;
    uint8_t data[300], buf[512];
    /* Start at each 8-byte offset of the last 400 bytes of the data area,
     * so descriptor, payload and trailer each get split. */
    for (uint32_t back = 8; back <= 400; back += 8) {
        struct pair p;
        uint32_t size = (PAGES - 1) * HV_PAGE_SIZE;
        pair_init(&p, PAGES, size - back, true);
        for (uint32_t k = 0; k < 3; k++) {
            uint32_t len = 1 + (back + k * 97) % 300;
            fill(data, len, back + k);
            bool sig;
            assert_int_equal(vh_ring_write(&p.guest, 6, 0, k, data, len, &sig), 0);
            struct vmbus_packet pkt;
            uint32_t consumed;
            assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &consumed),
                             VMBUS_RING_OK);
            assert_int_equal(pkt.trans_id, k);
            assert_memory_equal(pkt.data, data, len);
            vmbus_ring_in_advance(&p.host, consumed);
            vmbus_ring_in_publish(&p.host);
            assert_int_equal(VH_READ_INDEX(&p.guest), VH_WRITE_INDEX(&p.guest));
        }
        pair_free(&p);
    }
}

static void reader_mask_and_recheck(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, true);
    uint8_t d[8] = { 0 }, buf[64];
    bool sig;
    /* While the host drains with the mask set, the guest does not signal. */
    assert_false(vmbus_ring_in_set_mask(&p.host, true));
    assert_int_equal(VH_INT_MASK(&p.guest), 1);
    vh_ring_write(&p.guest, 6, 0, 0, d, 8, &sig);
    assert_false(sig);
    /* Unmasking reports the data that arrived meanwhile. */
    assert_true(vmbus_ring_in_set_mask(&p.host, false));
    struct vmbus_packet pkt;
    uint32_t c;
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c), VMBUS_RING_OK);
    vmbus_ring_in_advance(&p.host, c);
    vmbus_ring_in_publish(&p.host);
    assert_false(vmbus_ring_in_set_mask(&p.host, false));
    /* Non-empty ring: a second packet is not signalled. */
    vh_ring_write(&p.guest, 6, 0, 0, d, 8, &sig);
    assert_true(sig);
    vh_ring_write(&p.guest, 6, 0, 0, d, 8, &sig);
    assert_false(sig);
    pair_free(&p);
}

static void reader_signals_blocked_writer(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, true);
    uint8_t d[1000], buf[2048];
    memset(d, 0x5A, sizeof(d));
    bool sig;
    int n = 0;
    while (vh_ring_write(&p.guest, 6, 0, 0, d, sizeof(d), &sig) == 0)
        n++;
    assert_int_equal(n, 7);   /* 8 KiB of data, 1032-byte packets, never full */
    /* The guest blocks, asking to hear when 1032 bytes are free. */
    VH_PENDING(&p.guest) = 1032;
    struct vmbus_packet pkt;
    uint32_t c;
    /* Free space 8192 - 7*1032 = 968 <= 1032: reading one crosses the line. */
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c), VMBUS_RING_OK);
    vmbus_ring_in_advance(&p.host, c);
    assert_true(vmbus_ring_in_publish(&p.host));
    /* Already above the line: no second signal. */
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c), VMBUS_RING_OK);
    vmbus_ring_in_advance(&p.host, c);
    assert_false(vmbus_ring_in_publish(&p.host));
    /* Without the feature bit the host never signals. */
    VH_FEATURES(&p.guest) = 0;
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c), VMBUS_RING_OK);
    vmbus_ring_in_advance(&p.host, c);
    assert_false(vmbus_ring_in_publish(&p.host));
    pair_free(&p);
}

static void too_big_is_skippable(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, true);
    uint8_t d[600], buf[256];
    memset(d, 1, sizeof(d));
    bool sig;
    vh_ring_write(&p.guest, 6, 0, 1, d, sizeof(d), &sig);
    vh_ring_write(&p.guest, 6, 0, 2, d, 16, &sig);
    struct vmbus_packet pkt;
    uint32_t c;
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c),
                     VMBUS_RING_TOO_BIG);
    assert_int_equal(c, 16 + 600 + 8);
    vmbus_ring_in_advance(&p.host, c);
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c), VMBUS_RING_OK);
    assert_int_equal(pkt.trans_id, 2);
    pair_free(&p);
}

/* Every corruption of the guest-written side of an incoming ring. */
static void hostile_reader_input(void **state)
{
    (void)state;
    uint8_t buf[4096];
    struct vmbus_packet pkt;
    uint32_t c;
    struct { uint32_t write; uint16_t offset8, len8; } cases[] = {
        { 8192, 2, 3 },        /* write index at the end */
        { 0xFFFFFFF8, 2, 3 },  /* far past it */
        { 20, 2, 3 },          /* misaligned */
        { 16, 2, 2 },          /* less than descriptor + trailer */
        { 64, 2, 1 },          /* len8 shorter than a descriptor */
        { 64, 1, 4 },          /* offset8 inside the descriptor */
        { 64, 5, 4 },          /* offset8 past the packet */
        { 64, 2, 8 },          /* packet longer than what was written */
        { 64, 2, 0xFFFF },     /* much longer */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pair p;
        pair_init(&p, PAGES, 0, true);
        struct vmbus_packet_desc d = { .type = 6, .offset8 = cases[i].offset8,
                                       .len8 = cases[i].len8 };
        memcpy(p.mem + HV_PAGE_SIZE, &d, sizeof(d));
        VH_WRITE_INDEX(&p.guest) = cases[i].write;
        assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c),
                         VMBUS_RING_BROKEN);
        assert_int_equal(vmbus_ring_in_avail(&p.host) < 0, cases[i].write >= 8192 ||
                                                            cases[i].write % 8);
        pair_free(&p);
    }
    /* The guest overwriting our read index changes nothing on our side. */
    struct pair p;
    pair_init(&p, PAGES, 0, true);
    bool sig;
    vh_ring_write(&p.guest, 6, 0, 7, buf, 8, &sig);
    VH_READ_INDEX(&p.guest) = 4000;
    assert_int_equal(vmbus_ring_in_peek(&p.host, buf, sizeof(buf), &pkt, &c), VMBUS_RING_OK);
    assert_int_equal(pkt.trans_id, 7);
    pair_free(&p);
}

static void init_checks(void **state)
{
    (void)state;
    uint8_t *mem = aligned_alloc(HV_PAGE_SIZE, 4 * HV_PAGE_SIZE);
    memset(mem, 0, 4 * HV_PAGE_SIZE);
    struct vmbus_ring r;
    assert_int_equal(vmbus_ring_in_init(&r, mem, HV_PAGE_SIZE), VMBUS_RING_BROKEN);
    assert_int_equal(vmbus_ring_in_init(&r, mem, 3 * HV_PAGE_SIZE - 8), VMBUS_RING_BROKEN);
    assert_int_equal(vmbus_ring_in_init(&r, NULL, 2 * HV_PAGE_SIZE), VMBUS_RING_BROKEN);
    struct vh_ring g = { mem, 3 * HV_PAGE_SIZE };
    VH_READ_INDEX(&g) = 3 * HV_PAGE_SIZE;
    assert_int_equal(vmbus_ring_in_init(&r, mem, 4 * HV_PAGE_SIZE), VMBUS_RING_BROKEN);
    VH_READ_INDEX(&g) = 12;
    assert_int_equal(vmbus_ring_in_init(&r, mem, 4 * HV_PAGE_SIZE), VMBUS_RING_BROKEN);
    VH_READ_INDEX(&g) = 16;
    VH_INT_MASK(&g) = 1;
    assert_int_equal(vmbus_ring_in_init(&r, mem, 4 * HV_PAGE_SIZE), VMBUS_RING_OK);
    assert_int_equal(VH_INT_MASK(&g), 0);
    assert_int_equal(r.priv, 16);
    VH_WRITE_INDEX(&g) = 5;
    assert_int_equal(vmbus_ring_out_init(&r, mem, 4 * HV_PAGE_SIZE), VMBUS_RING_BROKEN);
    VH_WRITE_INDEX(&g) = 8;
    VH_PENDING(&g) = 99;
    VH_FEATURES(&g) = 0;
    assert_int_equal(vmbus_ring_out_init(&r, mem, 4 * HV_PAGE_SIZE), VMBUS_RING_OK);
    assert_int_equal(VH_PENDING(&g), 0);
    assert_int_equal(VH_FEATURES(&g), VMBUS_RING_FEATURE_PENDING_SEND_SZ);
    free(mem);
}

/* ------------------------------------------------------------- writing */

static int host_write(struct vmbus_ring *r, uint64_t id, const void *data, uint32_t len,
                      bool *sig)
{
    struct vmbus_ring_seg seg = { data, len };
    return vmbus_ring_out_write(r, VMBUS_PKT_DATA_INBAND, 0, id, NULL, 0, &seg, 1, sig);
}

static void write_roundtrip_and_wrap(void **state)
{
    (void)state;
    uint8_t data[700], buf[1024];
    for (uint32_t back = 8; back <= 800; back += 8) {
        struct pair p;
        uint32_t size = (PAGES - 1) * HV_PAGE_SIZE;
        pair_init(&p, PAGES, size - back, false);
        for (uint32_t k = 0; k < 4; k++) {
            uint32_t len = (back * 3 + k * 131) % 700;
            fill(data, len, k + back);
            bool sig;
            assert_int_equal(host_write(&p.host, k, data, len, &sig), VMBUS_RING_OK);
            assert_true(sig);                    /* ring was empty each time */
            struct vmbus_packet_desc d;
            uint32_t got;
            assert_int_equal(vh_ring_read(&p.guest, &d, buf, sizeof(buf), &got, &sig), 1);
            assert_int_equal(d.trans_id, k);
            assert_int_equal(d.offset8, 2);
            assert_int_equal(got, (len + 7) & ~7u);
            assert_memory_equal(buf, data, len);
            for (uint32_t z = len; z < got; z++)
                assert_int_equal(buf[z], 0);     /* padding is zero */
        }
        pair_free(&p);
    }
}

static void write_ext_and_segments(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, false);
    /* A transfer-page style packet: 8 + 2 * 8 bytes of header extension. */
    uint8_t ext[24] = { 0 };
    struct vmbus_xfer_page_header xh = { .pageset_id = 0xCAFE, .range_count = 2 };
    memcpy(ext, &xh, sizeof(xh));
    struct vmbus_xfer_page_range rr[2] = { { 100, 0 }, { 200, 4096 } };
    memcpy(ext + 8, rr, sizeof(rr));
    uint8_t a[5] = { 1, 2, 3, 4, 5 }, b[30];
    fill(b, sizeof(b), 9);
    struct vmbus_ring_seg segs[2] = { { a, 5 }, { b, 30 } };
    bool sig;
    assert_int_equal(vmbus_ring_out_write(&p.host, VMBUS_PKT_DATA_USING_XFER_PAGES, 1, 77, ext,
                                          sizeof(ext), segs, 2, &sig), VMBUS_RING_OK);
    /* The guest sees offset8 covering the extension, data after it. */
    struct vmbus_packet_desc d;
    uint8_t buf[128];
    uint32_t got;
    assert_int_equal(vh_ring_read(&p.guest, &d, buf, sizeof(buf), &got, &sig), 1);
    assert_int_equal(d.offset8, 5);
    assert_int_equal(d.len8, 5 + 5);
    assert_int_equal(got, 40);
    assert_memory_equal(buf, a, 5);
    assert_memory_equal(buf + 5, b, 30);
    /* Misaligned extensions are refused. */
    assert_int_equal(vmbus_ring_out_write(&p.host, 7, 0, 0, ext, 12, segs, 1, &sig),
                     VMBUS_RING_TOO_BIG);
    pair_free(&p);
}

static void writer_signal_rules(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, false);
    uint8_t d[16] = { 0 };
    bool sig;
    /* Guest reader masked: no signal even into an empty ring. */
    VH_INT_MASK(&p.guest) = 1;
    host_write(&p.host, 1, d, 16, &sig);
    assert_false(sig);
    VH_INT_MASK(&p.guest) = 0;
    /* Not empty before: no signal. */
    host_write(&p.host, 2, d, 16, &sig);
    assert_false(sig);
    /* Guest drains, ring empty again: the next write signals. */
    struct vmbus_packet_desc desc;
    uint8_t buf[64];
    uint32_t got;
    while (vh_ring_read(&p.guest, &desc, buf, sizeof(buf), &got, &sig))
        ;
    host_write(&p.host, 3, d, 16, &sig);
    assert_true(sig);
    pair_free(&p);
}

static void writer_full_and_pending(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, PAGES, 0, false);
    uint8_t d[1000], buf[1024];
    memset(d, 3, sizeof(d));
    bool sig;
    int n = 0;
    while (n < 100 && host_write(&p.host, (uint64_t)n, d, sizeof(d), &sig) == VMBUS_RING_OK)
        n++;
    assert_int_equal(n, 7);
    assert_int_equal(host_write(&p.host, 99, d, sizeof(d), &sig), VMBUS_RING_FULL);
    /* Never completely full: write != read. */
    assert_int_not_equal(VH_WRITE_INDEX(&p.guest), VH_READ_INDEX(&p.guest));
    uint32_t need = (uint32_t)vmbus_ring_packet_bytes(0, sizeof(d));
    assert_int_equal(vmbus_ring_out_wait_for(&p.host, need), 0);
    assert_int_equal(VH_PENDING(&p.guest), need);
    /* The guest reads one packet: it crosses the line and signals. */
    struct vmbus_packet_desc desc;
    uint32_t got;
    assert_int_equal(vh_ring_read(&p.guest, &desc, buf, sizeof(buf), &got, &sig), 1);
    assert_true(sig);
    assert_int_equal(vmbus_ring_out_fits(&p.host, need), 1);
    assert_int_equal(vmbus_ring_out_wait_for(&p.host, 0), 1);
    assert_int_equal(VH_PENDING(&p.guest), 0);
    assert_int_equal(host_write(&p.host, 100, d, sizeof(d), &sig), VMBUS_RING_OK);
    /* Too big for the ring at all. */
    uint8_t *huge = calloc(1, 8192);
    assert_int_equal(host_write(&p.host, 1, huge, 8192 - 24, &sig), VMBUS_RING_TOO_BIG);
    free(huge);
    pair_free(&p);
}

static void hostile_writer_input(void **state)
{
    (void)state;
    uint8_t d[64] = { 0 };
    bool sig;
    uint32_t bad[] = { 8192, 0xFFFFFFF8, 4, 1000 /* past what we wrote */ };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pair p;
        pair_init(&p, PAGES, 0, false);
        host_write(&p.host, 1, d, 64, &sig);    /* write index now 88 */
        VH_READ_INDEX(&p.guest) = bad[i];
        assert_int_equal(host_write(&p.host, 2, d, 64, &sig), VMBUS_RING_BROKEN);
        assert_int_equal(vmbus_ring_out_fits(&p.host, 8), -1);
        assert_int_equal(vmbus_ring_out_wait_for(&p.host, 8), -1);
        pair_free(&p);
    }
    /* Moving the read index backwards after consuming. */
    struct pair p;
    pair_init(&p, PAGES, 0, false);
    host_write(&p.host, 1, d, 64, &sig);
    host_write(&p.host, 2, d, 64, &sig);
    VH_READ_INDEX(&p.guest) = 88;
    assert_int_equal(host_write(&p.host, 3, d, 64, &sig), VMBUS_RING_OK);
    VH_READ_INDEX(&p.guest) = 0;
    assert_int_equal(host_write(&p.host, 4, d, 64, &sig), VMBUS_RING_BROKEN);
    pair_free(&p);
}

/* -------------------------------------------------------- packet kinds */

static void xfer_and_gpa_direct_decoders(void **state)
{
    (void)state;
    uint8_t raw[256] = { 0 };
    struct vmbus_packet pkt = { .type = VMBUS_PKT_DATA_USING_XFER_PAGES, .raw = raw };
    struct vmbus_xfer_page_header xh = { .pageset_id = 0xCAFE, .range_count = 2 };
    memcpy(raw + 16, &xh, sizeof(xh));
    pkt.raw_len = 16 + 8 + 16 + 40;
    pkt.data_len = 40;
    uint16_t ps;
    uint32_t n;
    const struct vmbus_xfer_page_range *rr;
    assert_true(vmbus_packet_xfer_pages(&pkt, &ps, &n, &rr));
    assert_int_equal(ps, 0xCAFE);
    assert_int_equal(n, 2);
    xh.range_count = 3;        /* one more than the header area holds */
    memcpy(raw + 16, &xh, sizeof(xh));
    assert_false(vmbus_packet_xfer_pages(&pkt, &ps, &n, &rr));

    /* GPA direct: one range of 5000 bytes at offset 100 -> 2 frames. */
    pkt.type = VMBUS_PKT_DATA_USING_GPA_DIRECT;
    struct vmbus_gpa_direct_header gh = { .range_count = 1 };
    memcpy(raw + 16, &gh, sizeof(gh));
    uint32_t lo[2] = { 5000, 100 };
    uint64_t pfns[2] = { 0x111, 0x222 };
    memcpy(raw + 24, lo, 8);
    memcpy(raw + 32, pfns, 16);
    pkt.raw_len = 48 + 64;
    pkt.data_len = 64;
    struct vmbus_gpa_direct_iter it;
    struct vmbus_gpa_direct_range r;
    assert_true(vmbus_packet_gpa_direct_begin(&pkt, &it, &n));
    assert_int_equal(vmbus_packet_gpa_direct_next(&it, &r), 1);
    assert_int_equal(r.nr_pfns, 2);
    assert_int_equal(vmbus_gpa_direct_pfn(&r, 1), 0x222);
    assert_int_equal(vmbus_packet_gpa_direct_next(&it, &r), 0);
    /* Ranges claiming more frames than the header carries. */
    lo[0] = 9000;
    memcpy(raw + 24, lo, 8);
    assert_true(vmbus_packet_gpa_direct_begin(&pkt, &it, &n));
    assert_int_equal(vmbus_packet_gpa_direct_next(&it, &r), -1);
    lo[0] = 10;
    lo[1] = 4096;              /* offset outside the first page */
    memcpy(raw + 24, lo, 8);
    assert_true(vmbus_packet_gpa_direct_begin(&pkt, &it, &n));
    assert_int_equal(vmbus_packet_gpa_direct_next(&it, &r), -1);
    gh.range_count = 100;
    memcpy(raw + 16, &gh, sizeof(gh));
    assert_false(vmbus_packet_gpa_direct_begin(&pkt, &it, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_roundtrip),
        cmocka_unit_test(read_wraps_at_every_offset),
        cmocka_unit_test(reader_mask_and_recheck),
        cmocka_unit_test(reader_signals_blocked_writer),
        cmocka_unit_test(too_big_is_skippable),
        cmocka_unit_test(hostile_reader_input),
        cmocka_unit_test(init_checks),
        cmocka_unit_test(write_roundtrip_and_wrap),
        cmocka_unit_test(write_ext_and_segments),
        cmocka_unit_test(writer_signal_rules),
        cmocka_unit_test(writer_full_and_pending),
        cmocka_unit_test(hostile_writer_input),
        cmocka_unit_test(xfer_and_gpa_direct_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
