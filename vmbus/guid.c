/* SPDX-License-Identifier: MIT */
/* GUID parsing and formatting in the little-endian wire layout. */
#include <stdio.h>
#include <string.h>

#include "vmbus/guid.h"

/* Text byte i (in reading order) lands in wire byte order[i]: the first
 * three fields are little-endian on the wire. */
static const unsigned char order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
                                         8, 9, 10, 11, 12, 13, 14, 15 };

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool vmbus_guid_parse(const char *s, struct vmbus_guid *out)
{
    if (!s || strlen(s) != 36)
        return false;
    unsigned byte = 0;
    for (unsigned i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
            i++;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out->b[order[byte++]] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    return byte == 16;
}

void vmbus_guid_format(const struct vmbus_guid *g, char *buf)
{
    char *p = buf;
    for (unsigned i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        p += sprintf(p, "%02x", g->b[order[i]]);
    }
    *p = 0;
}

bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}
