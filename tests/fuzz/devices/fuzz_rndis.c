/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the pure NVSP/RNDIS codecs. Input: nvsp version selector
 * (u8), then the rest is fed as one RNDIS control message, as a data
 * stream of PACKET messages walked like the NIC walks a send section, as an
 * NVSP message, and to the packet filter. Checks: every answer fits and
 * says its own length; every accepted frame lies inside its message and
 * the stream; the walk always advances.
 */
#include <string.h>

#include "tests/fuzz/devices/fuzz_dev.h"
#include "vmbus/devices/nvsp.h"
#include "vmbus/devices/rndis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t versions[] = { NVSP_VERSION_1, NVSP_VERSION_2, NVSP_VERSION_4,
                                         NVSP_VERSION_5, NVSP_VERSION_6, NVSP_VERSION_61 };
    if (size < 1)
        return 0;
    struct rndis_nic nic = {
        .mac = { 0x00, 0x15, 0x5D, 1, 2, 3 },
        .mtu = 1500,
        .link_speed = 100000000,
        .nvsp_version = versions[data[0] % 6],
        .link_up = data[0] & 0x80,
    };
    const uint8_t *msg = data + 1;
    uint32_t len = size - 1 > 65536 ? 65536 : (uint32_t)(size - 1);

    /* Control */
    uint8_t resp[RNDIS_RESPONSE_MAX];
    uint32_t r = rndis_control(&nic, msg, len, resp, sizeof(resp));
    FD_CHECK(r <= sizeof(resp));
    if (r) {
        uint32_t t, l;
        memcpy(&t, resp, 4);
        memcpy(&l, resp + 4, 4);
        FD_CHECK(l == r);
        FD_CHECK(t & RNDIS_MSG_COMPLETION);
    }

    /* Data stream walk */
    uint64_t pos = 0;
    for (uint32_t k = 0; k < 64 && pos < len; k++) {
        uint32_t left = len - (uint32_t)pos;
        uint32_t peek = left < 256 ? left : 256;
        struct rndis_tx_info info;
        int rc = rndis_parse_packet(msg + pos, peek, left, &info);
        if (rc == RNDIS_PARSE_SHORT || rc == RNDIS_PARSE_BAD)
            break;
        FD_CHECK(info.msg_len >= 8 && info.msg_len <= left);
        if (rc == RNDIS_PARSE_OK) {
            FD_CHECK(info.frame_len >= 14);
            FD_CHECK((uint64_t)info.frame_offset + info.frame_len <= info.msg_len);
            FD_CHECK(info.frame_offset >= RNDIS_PACKET_HEADER);
            FD_CHECK(info.vlan_tci < 0x10000);
            /* The frame's bytes are readable (ASan checks the bound). */
            volatile uint8_t sink = msg[pos + info.frame_offset + info.frame_len - 1];
            (void)sink;
        }
        pos += info.msg_len;
    }

    /* NVSP */
    struct nvsp_msg m;
    if (nvsp_decode(msg, len, &m)) {
        uint32_t v = nvsp_negotiate(m.init.min_version, m.init.max_version, NVSP_VERSION_61);
        FD_CHECK(v == 0 || (v >= m.init.min_version && v <= m.init.max_version &&
                            nvsp_version_ok(v, NVSP_VERSION_61)));
        struct nvsp_recv_section sec;
        if (nvsp_recv_layout(m.init.min_version, m.init.max_version & 0xFFFF, 1u << 20, &sec))
            FD_CHECK((uint64_t)sec.sub_alloc_size * sec.num_sub_allocs <= m.init.min_version);
    }

    /* Filter */
    if (len >= 6)
        (void)rndis_filter_accepts(msg[0] | (uint32_t)msg[1] << 8, nic.mac, msg);
    return 0;
}
