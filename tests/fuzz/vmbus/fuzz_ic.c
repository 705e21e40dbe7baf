/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the integration-service parsers, pure. The first byte picks
 * one; the rest is what a guest wrote back.
 *   0  IC framing + negotiate answer
 *   1  KVP answer (next byte: operation, next 4: status)
 *   2  UTF-16 -> UTF-8 (and back)
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/vmbus/fuzz_bus.h"
#include "vmbus/ic/services.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static struct vmbus_kvp_reply reply;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0];
    data++, size--;
    switch (which % 3) {
    case 0: {
        struct vmbus_ic_msg m;
        if (!vmbus_ic_parse(data, (uint32_t)size, &m))
            break;
        CHECK(m.body >= data && m.body + m.body_len <= data + size);
        static const struct vmbus_ic_version svc[4] = { { 3, 2 }, { 3, 1 }, { 3, 0 }, { 1, 0 } };
        struct vmbus_ic_version fw, sv;
        int rc = vmbus_ic_parse_negotiate_response(&m, vmbus_ic_frameworks, 2, svc, 4, &fw, &sv);
        if (rc == 1)
            CHECK((fw.major == 3 || fw.major == 1) && fw.minor == 0);
        break;
    }
    case 1: {
        if (size < 5)
            break;
        uint32_t status;
        memcpy(&status, data + 1, 4);
        if (vmbus_kvp_decode_reply(data[0], status, data + 5, (uint32_t)(size - 5), &reply)) {
            CHECK(strlen(reply.key) < sizeof(reply.key));
            CHECK(strlen(reply.value) < sizeof(reply.value));
            CHECK(strlen(reply.ip_addr) < sizeof(reply.ip_addr));
        }
        break;
    }
    case 2: {
        char out[2048];
        size_t n = vmbus_utf16le_to_utf8(data, size, out, sizeof(out));
        CHECK(n < sizeof(out) && out[n] == 0);
        /* What we produce is valid UTF-8 (bad input became U+FFFD), so it
         * always converts back; each byte needs at most 2 bytes of UTF-16. */
        uint8_t back[2 * sizeof(out) + 2];
        CHECK(vmbus_utf8_to_utf16le(out, back, sizeof(back)) >= 2);
        break;
    }
    }
    return 0;
}
