/* SPDX-License-Identifier: MIT */
/* UTF-8 <-> UTF-16LE for KVP keys and values (Windows' string form). */
#include "vmbus/ic/ic.h"

/* Decode one UTF-8 sequence; returns its length, 0 if invalid. Rejects
 * overlong forms, surrogates and values past U+10FFFF. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2, v = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, v = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, v = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;           /* also stops at the NUL */
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static void put16(uint8_t *out, uint16_t u)
{
    out[0] = (uint8_t)u;
    out[1] = (uint8_t)(u >> 8);
}

size_t vmbus_utf8_to_utf16le(const char *in, uint8_t *out, size_t out_bytes)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t pos = 0;
    while (*s) {
        uint32_t cp;
        size_t n = utf8_decode(s, &cp);
        if (!n)
            return 0;
        s += n;
        size_t need = cp >= 0x10000 ? 4 : 2;
        if (out_bytes < 2 || pos + need > out_bytes - 2)
            return 0;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put16(out + pos, (uint16_t)(0xD800 | (cp >> 10)));
            put16(out + pos + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
        } else {
            put16(out + pos, (uint16_t)cp);
        }
        pos += need;
    }
    if (out_bytes < 2 || pos > out_bytes - 2)
        return 0;
    put16(out + pos, 0);
    return pos + 2;
}

static size_t utf8_encode(uint32_t cp, char *buf)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t vmbus_utf16le_to_utf8(const uint8_t *in, size_t in_bytes, char *out, size_t out_size)
{
    size_t pos = 0, units = in_bytes / 2;
    if (out_size == 0)
        return 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t cp = (uint32_t)in[2 * i] | (uint32_t)in[2 * i + 1] << 8;
        if (cp == 0)
            break;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < units) {
            uint32_t lo = (uint32_t)in[2 * i + 2] | (uint32_t)in[2 * i + 3] << 8;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        char tmp[4];
        size_t n = utf8_encode(cp, tmp);
        if (pos + n > out_size - 1)
            break;
        for (size_t k = 0; k < n; k++)
            out[pos + k] = tmp[k];
        pos += n;
    }
    out[pos] = 0;
    return pos;
}
