/* SPDX-License-Identifier: MIT */
/* NVSP, RNDIS and vstor codecs as pure functions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmbus/devices/nvsp.h"
#include "vmbus/devices/rndis.h"
#include "vmbus/devices/vstor.h"

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void test_nvsp(void **state)
{
    (void)state;
    struct nvsp_msg m;
    uint8_t two[2] = { 1, 0 };
    assert_false(nvsp_decode(two, 2, &m));
    uint8_t eight[8] = { 108, 0, 0, 0, 1, 0, 0, 0 };
    assert_true(nvsp_decode(eight, 8, &m));
    assert_int_equal(m.type, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
    assert_int_equal(m.rndis_pkt_complete.status, 1);
    assert_int_equal(m.body[10], 0);                   /* the rest reads zero */
    uint8_t big[100];
    memset(big, 0xAB, sizeof(big));
    assert_true(nvsp_decode(big, sizeof(big), &m));    /* extra bytes ignored */

    /* Linux's min == max INIT, each version, under each cap. */
    static const uint32_t all[] = { NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
                                    NVSP_VERSION_4, NVSP_VERSION_2, NVSP_VERSION_1 };
    for (size_t cap = 0; cap < 6; cap++)
        for (size_t v = 0; v < 6; v++)
            assert_int_equal(nvsp_negotiate(all[v], all[v], all[cap]),
                             v >= cap ? all[v] : 0);
    /* A range picks the highest inside it. */
    assert_int_equal(nvsp_negotiate(NVSP_VERSION_2, NVSP_VERSION_5, NVSP_VERSION_61),
                     NVSP_VERSION_5);
    assert_int_equal(nvsp_negotiate(0x30003, 0x3FFFF, NVSP_VERSION_61), 0);
    assert_int_equal(nvsp_negotiate(NVSP_VERSION_61, NVSP_VERSION_1, NVSP_VERSION_61), 0);
    assert_true(nvsp_version_ok(NVSP_VERSION_4, NVSP_VERSION_61));
    assert_false(nvsp_version_ok(0x40001, NVSP_VERSION_61));
    assert_false(nvsp_version_ok(NVSP_VERSION_61, NVSP_VERSION_6));

    struct nvsp_recv_section s;
    assert_true(nvsp_recv_layout(16u << 20, 1600, 1u << 20, &s));
    assert_int_equal(s.offset, 0);
    assert_int_equal(s.num_sub_allocs, (16u << 20) / 1600);
    assert_true((uint64_t)s.sub_alloc_size * s.num_sub_allocs <= (16u << 20));
    assert_int_equal(s.end_offset, s.sub_alloc_size * s.num_sub_allocs);
    assert_false(nvsp_recv_layout(1599, 1600, 100, &s));
    assert_true(nvsp_recv_layout(1u << 30, 1600, 1000, &s));
    assert_int_equal(s.num_sub_allocs, 1000);
}

static struct rndis_nic nic_of(uint32_t nvsp)
{
    struct rndis_nic n = {
        .mac = { 0x00, 0x15, 0x5D, 1, 2, 3 },
        .mtu = 1500,
        .link_speed = 100000000,
        .nvsp_version = nvsp,
        .link_up = true,
    };
    return n;
}

static uint32_t query(struct rndis_nic *n, uint32_t oid, uint8_t *resp)
{
    uint8_t q[28] = { 0 };
    wr32(q, RNDIS_MSG_QUERY);
    wr32(q + 4, 28);
    wr32(q + 8, 77);
    wr32(q + 12, oid);
    wr32(q + 20, 20);
    return rndis_control(n, q, 28, resp, RNDIS_RESPONSE_MAX);
}

static void test_rndis_control(void **state)
{
    (void)state;
    struct rndis_nic n = nic_of(NVSP_VERSION_61);
    uint8_t resp[RNDIS_RESPONSE_MAX];
    uint8_t init[24] = { 0 };
    wr32(init, RNDIS_MSG_INIT);
    wr32(init + 4, 24);
    wr32(init + 8, 5);
    wr32(init + 12, 1);
    assert_int_equal(rndis_control(&n, init, 24, resp, sizeof(resp)), 52);
    assert_true(n.initialized);
    assert_int_equal(rd32(resp + 8), 5);
    assert_int_equal(rd32(resp + 28), 0);              /* medium 802.3 */
    assert_int_equal(rd32(resp + 32), RNDIS_MAX_PACKETS_PER_MSG);

    /* Every OID in the supported list answers successfully. */
    uint32_t len = query(&n, OID_GEN_SUPPORTED_LIST, resp);
    uint32_t count = rd32(resp + 16) / 4;
    assert_true(count > 10);
    uint32_t oids[64];
    memcpy(oids, resp + 8 + rd32(resp + 20), count * 4);
    assert_int_equal(len, 24 + count * 4);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t r[RNDIS_RESPONSE_MAX];
        uint32_t l = query(&n, oids[i], r);
        assert_int_equal(rd32(r + 12), RNDIS_STATUS_SUCCESS);
        assert_int_equal(rd32(r + 20), 16);
        assert_int_equal(l, 24 + rd32(r + 16));
        assert_int_equal(rd32(r + 4), l);
    }
    /* Offload structure revision and size follow the NVSP version. */
    static const struct { uint32_t v; uint8_t rev; uint32_t size; } off[] = {
        { NVSP_VERSION_61, 3, NDIS_OFFLOAD_SIZE }, { NVSP_VERSION_5, 3, NDIS_OFFLOAD_SIZE },
        { NVSP_VERSION_4, 2, NDIS_OFFLOAD_SIZE_6_1 }, { NVSP_VERSION_2, 1, NDIS_OFFLOAD_SIZE_6_0 },
    };
    for (size_t i = 0; i < 4; i++) {
        struct rndis_nic m = nic_of(off[i].v);
        query(&m, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, resp);
        const uint8_t *info = resp + 8 + 16;
        assert_int_equal(rd32(resp + 16), off[i].size);
        assert_int_equal(info[0], NDIS_OBJECT_TYPE_OFFLOAD);
        assert_int_equal(info[1], off[i].rev);
        assert_int_equal(info[2] | info[3] << 8, off[i].size);
        for (uint32_t b = 4; b < off[i].size; b++)
            assert_int_equal(info[b], 0);              /* nothing offloaded */
    }
    /* Unknown OID: failure that Linux's length checks catch. */
    query(&n, 0x12345678, resp);
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_NOT_SUPPORTED);
    assert_int_equal(rd32(resp + 20), 0);
    /* Link state: 0 connected, 1 not. */
    n.link_up = false;
    query(&n, OID_GEN_MEDIA_CONNECT_STATUS, resp);
    assert_int_equal(rd32(resp + 24), 1);

    /* SET: filter; info offset/length checks; unsupported OIDs. */
    uint8_t set[32] = { 0 };
    wr32(set, RNDIS_MSG_SET);
    wr32(set + 4, 32);
    wr32(set + 8, 9);
    wr32(set + 12, OID_GEN_CURRENT_PACKET_FILTER);
    wr32(set + 16, 4);
    wr32(set + 20, 20);
    wr32(set + 28, 0x0D);
    assert_int_equal(rndis_control(&n, set, 32, resp, sizeof(resp)), 16);
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_SUCCESS);
    assert_int_equal(n.filter, 0x0D);
    wr32(set + 16, 8);                                  /* runs past the message */
    rndis_control(&n, set, 32, resp, sizeof(resp));
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_INVALID_DATA);
    wr32(set + 16, 4);
    wr32(set + 20, 0xFFFFFFF0u);                        /* offset wraps */
    rndis_control(&n, set, 32, resp, sizeof(resp));
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_INVALID_DATA);
    wr32(set + 20, 20);
    wr32(set + 16, 2);                                  /* too short for a u32 */
    rndis_control(&n, set, 32, resp, sizeof(resp));
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_INVALID_LENGTH);
    wr32(set + 16, 4);
    wr32(set + 12, OID_GEN_RNDIS_CONFIG_PARAMETER);     /* set MAC: not supported */
    rndis_control(&n, set, 32, resp, sizeof(resp));
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_NOT_SUPPORTED);
    /* The message's own length bounds it even if more bytes arrived. */
    wr32(set + 12, OID_GEN_CURRENT_PACKET_FILTER);
    wr32(set + 4, 28);
    rndis_control(&n, set, 32, resp, sizeof(resp));
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_INVALID_DATA);

    /* KEEPALIVE echoes the id; HALT answers nothing and resets. */
    uint8_t ka[12] = { 0 };
    wr32(ka, RNDIS_MSG_KEEPALIVE);
    wr32(ka + 4, 12);
    wr32(ka + 8, 1234);
    assert_int_equal(rndis_control(&n, ka, 12, resp, sizeof(resp)), 16);
    assert_int_equal(rd32(resp), RNDIS_MSG_KEEPALIVE | RNDIS_MSG_COMPLETION);
    assert_int_equal(rd32(resp + 8), 1234);
    wr32(ka, RNDIS_MSG_HALT);
    assert_int_equal(rndis_control(&n, ka, 12, resp, sizeof(resp)), 0);
    assert_false(n.initialized);
    assert_int_equal(n.filter, 0);
    /* Garbage: too short, self-declared too short, a data type, a
     * completion type. */
    assert_int_equal(rndis_control(&n, ka, 11, resp, sizeof(resp)), 0);
    wr32(ka + 4, 4);
    wr32(ka, RNDIS_MSG_KEEPALIVE);
    assert_int_equal(rndis_control(&n, ka, 12, resp, sizeof(resp)), 0);
    wr32(ka + 4, 12);
    wr32(ka, RNDIS_MSG_PACKET);
    assert_int_equal(rndis_control(&n, ka, 12, resp, sizeof(resp)), 0);
    wr32(ka, RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
    assert_int_equal(rndis_control(&n, ka, 12, resp, sizeof(resp)), 0);
    /* A QUERY too short for its fields. */
    wr32(ka, RNDIS_MSG_QUERY);
    assert_int_equal(rndis_control(&n, ka, 12, resp, sizeof(resp)), 24);
    assert_int_equal(rd32(resp + 12), RNDIS_STATUS_INVALID_LENGTH);
}

static void test_rndis_data(void **state)
{
    (void)state;
    uint8_t m[256] = { 0 };
    struct rndis_tx_info info;
    wr32(m, RNDIS_MSG_PACKET);
    wr32(m + 4, 44 + 60);
    wr32(m + 8, 36);
    wr32(m + 12, 60);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_OK);
    assert_int_equal(info.frame_offset, 44);
    assert_int_equal(info.frame_len, 60);
    assert_int_equal(info.vlan_tci, -1);
    /* The stream ends before the message does. */
    assert_int_equal(rndis_parse_packet(m, 104, 103, &info), RNDIS_PARSE_SHORT);
    assert_int_equal(rndis_parse_packet(m, 7, 104, &info), RNDIS_PARSE_SHORT);
    /* Frame shorter than an Ethernet header, data inside the header,
     * data running past the message, offset arithmetic wrapping. */
    wr32(m + 12, 13);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_BAD);
    wr32(m + 12, 60);
    wr32(m + 8, 35);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_BAD);
    wr32(m + 8, 37);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_BAD);
    wr32(m + 8, 0xFFFFFFF0u);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_BAD);
    wr32(m + 8, 36);
    wr32(m + 12, 0xFFFFFFF0u);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_BAD);
    /* Control message in the data stream: skipped by length. */
    wr32(m, RNDIS_MSG_KEEPALIVE);
    wr32(m + 4, 12);
    assert_int_equal(rndis_parse_packet(m, 104, 104, &info), RNDIS_PARSE_NOT_PACKET);
    assert_int_equal(info.msg_len, 12);

    /* Per-packet info: a VLAN tag after a hash entry; then broken ones. */
    memset(m, 0, sizeof(m));
    wr32(m, RNDIS_MSG_PACKET);
    wr32(m + 4, 44 + 28 + 60);
    wr32(m + 8, 36 + 28);
    wr32(m + 12, 60);
    wr32(m + 28, 36);
    wr32(m + 32, 28);
    wr32(m + 44, 12 + 4);
    wr32(m + 48, RNDIS_PPI_HASH);
    wr32(m + 52, 12);
    wr32(m + 60, 12 + 4);
    wr32(m + 64, RNDIS_PPI_8021Q);
    wr32(m + 68, 12);
    wr32(m + 72, 3 | 1 << 3 | 42 << 4);                 /* pri 3, cfi, vid 42 */
    assert_int_equal(rndis_parse_packet(m, 132, 132, &info), RNDIS_PARSE_BAD);   /* 28 != 32 */
    wr32(m + 4, 44 + 32 + 60);
    wr32(m + 8, 36 + 32);
    wr32(m + 32, 32);
    assert_int_equal(rndis_parse_packet(m, 136, 136, &info), RNDIS_PARSE_OK);
    assert_int_equal(info.vlan_tci, 3 << 13 | 1 << 12 | 42);
    assert_int_equal(info.frame_offset, 8 + 68);
    wr32(m + 64, RNDIS_PPI_8021Q | 0x80000000u);       /* internal: not a tag */
    assert_int_equal(rndis_parse_packet(m, 136, 136, &info), RNDIS_PARSE_OK);
    assert_int_equal(info.vlan_tci, -1);
    wr32(m + 60, 0);                                    /* entry size 0: no progress */
    assert_int_equal(rndis_parse_packet(m, 136, 136, &info), RNDIS_PARSE_BAD);
    wr32(m + 60, 16);
    wr32(m + 68, 20);                                   /* value outside the entry */
    assert_int_equal(rndis_parse_packet(m, 136, 136, &info), RNDIS_PARSE_BAD);
    wr32(m + 68, 12);
    wr32(m + 32, 40);                                   /* info overlaps the frame */
    assert_int_equal(rndis_parse_packet(m, 136, 136, &info), RNDIS_PARSE_BAD);
    wr32(m + 32, 32);
    assert_int_equal(rndis_parse_packet(m, 60, 136, &info), RNDIS_PARSE_BAD);   /* not peeked */

    /* RX header and indications. */
    uint8_t h[RNDIS_PACKET_HEADER];
    rndis_rx_header(h, 1514);
    assert_int_equal(rd32(h), RNDIS_MSG_PACKET);
    assert_int_equal(rd32(h + 4), 44 + 1514);
    assert_int_equal(rd32(h + 8), 36);
    assert_int_equal(rd32(h + 12), 1514);
    assert_int_equal(rd32(h + 28), 0);
    assert_int_equal(rndis_parse_packet(h, 44, 44 + 1514, &info), RNDIS_PARSE_OK);
    uint8_t ind[32];
    assert_int_equal(rndis_link_indication(ind, false), 20);
    assert_int_equal(rd32(ind), RNDIS_MSG_INDICATE);
    assert_int_equal(rd32(ind + 8), RNDIS_STATUS_MEDIA_DISCONNECT);

    /* Packet filter */
    static const uint8_t mac[6] = { 0x00, 0x15, 0x5D, 1, 2, 3 };
    static const uint8_t other[6] = { 0x00, 0x15, 0x5D, 1, 2, 4 };
    static const uint8_t bc[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    static const uint8_t mc[6] = { 0x01, 0x00, 0x5E, 0, 0, 1 };
    assert_true(rndis_filter_accepts(NDIS_PACKET_TYPE_DIRECTED, mac, mac));
    assert_false(rndis_filter_accepts(NDIS_PACKET_TYPE_DIRECTED, mac, other));
    assert_false(rndis_filter_accepts(NDIS_PACKET_TYPE_DIRECTED, mac, bc));
    assert_true(rndis_filter_accepts(NDIS_PACKET_TYPE_BROADCAST, mac, bc));
    assert_false(rndis_filter_accepts(NDIS_PACKET_TYPE_BROADCAST, mac, mc));
    assert_true(rndis_filter_accepts(NDIS_PACKET_TYPE_ALL_MULTICAST, mac, mc));
    assert_true(rndis_filter_accepts(NDIS_PACKET_TYPE_PROMISCUOUS, mac, other));
    assert_false(rndis_filter_accepts(0, mac, mac));
}

static void test_vstor(void **state)
{
    (void)state;
    struct vstor_packet p;
    struct vstor_request r;
    memset(&p, 0, sizeof(p));
    assert_int_equal(vstor_decode(&p, 63, &r), VSTOR_DECODE_SHORT);
    p.operation = VSTOR_OP_EXECUTE_SRB;
    p.srb.cdb_length = 10;
    p.srb.sense_info_length = 200;
    p.srb.data_in = VSTOR_DIR_READ;
    p.srb.data_transfer_length = 4096;
    memset(p.srb.cdb, 0x77, 16);
    assert_int_equal(vstor_decode(&p, 64, &r), VSTOR_DECODE_OK);
    assert_int_equal(r.cdb_length, 10);
    assert_int_equal(r.cdb[9], 0x77);
    assert_int_equal(r.cdb[10], 0);                     /* padded with zeros */
    assert_int_equal(r.sense_max, VSTOR_SENSE_MAX);     /* clamped */
    p.srb.cdb_length = 0;
    assert_int_equal(vstor_decode(&p, 64, &r), VSTOR_DECODE_BAD_SRB);
    p.srb.cdb_length = 17;
    assert_int_equal(vstor_decode(&p, 64, &r), VSTOR_DECODE_BAD_SRB);
    p.srb.cdb_length = 6;
    p.srb.data_in = 3;
    assert_int_equal(vstor_decode(&p, 64, &r), VSTOR_DECODE_BAD_SRB);
    p.srb.data_in = 1;
    p.srb.sense_info_length = 8;
    assert_int_equal(vstor_decode(&p, 80, &r), VSTOR_DECODE_OK);

    /* The completion carries the outcome and at most the guest's sense. */
    uint8_t sense[18] = { 0x70, 0, 5 };
    struct vstor_packet out;
    vstor_srb_completion(&r, SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID, 2, 0, sense, 18,
                         &out);
    assert_int_equal(out.operation, VSTOR_OP_COMPLETE_IO);
    assert_int_equal(out.status, 0);
    assert_int_equal(out.srb.length, 52);
    assert_int_equal(out.srb.sense_info_length, 8);
    assert_int_equal(out.srb.sense[2], 5);
    assert_int_equal(out.srb.sense[8], 0);
    vstor_srb_completion(&r, SRB_STATUS_SUCCESS, 0, 512, NULL, 0, &out);
    assert_int_equal(out.srb.data_transfer_length, 512);
    assert_int_equal(out.srb.sense_info_length, 0);
    assert_int_equal(out.srb.cdb_length, 6);            /* guest's fields echoed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nvsp),
        cmocka_unit_test(test_rndis_control),
        cmocka_unit_test(test_rndis_data),
        cmocka_unit_test(test_vstor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
