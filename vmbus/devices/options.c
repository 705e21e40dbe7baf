/* SPDX-License-Identifier: MIT */
/* Device option strings (pure) and stable identities (see options.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/devices/options.h"

/* Longest key=value item (a path, doubled commas folded). */
#define ITEM_MAX (DISK_PATH_MAX + 16u)

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Next comma-separated item of *s into buf (",," is a literal comma).
 * Returns 1 with an item, 0 at the end, -1 if it is too long. */
static int next_item(const char **s, char *buf, size_t cap)
{
    const char *p = *s;
    if (!*p)
        return 0;
    size_t n = 0;
    for (; *p; p++) {
        if (*p == ',') {
            if (p[1] == ',') {
                p++;
            } else {
                p++;
                break;
            }
        }
        if (n + 1 >= cap)
            return -1;
        buf[n++] = *p;
    }
    buf[n] = 0;
    *s = p;
    return 1;
}

/* Split "key=value" in place; *value NULL for a bare flag. */
static void split(char *item, char **key, char **value)
{
    *key = item;
    char *eq = strchr(item, '=');
    *value = eq ? eq + 1 : NULL;
    if (eq)
        *eq = 0;
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!v || !*v)
        return -1;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end || v[0] == '-' || x < min || x > max)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

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

int mac_parse(const char *s, uint8_t mac[6])
{
    if (!s || strlen(s) != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        if (i < 5 && s[i * 3 + 2] != ':' && s[i * 3 + 2] != '-')
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    /* A NIC's own address cannot be multicast. */
    return mac[0] & 1 ? -1 : 0;
}

static int ifname_ok(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n >= IF_NAMESIZE)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (v[i] == '/' || v[i] == ' ' || v[i] == ':' || (unsigned char)v[i] < 0x21)
            return -1;
    return 0;
}

int nic_config_parse(const char *s, struct nic_config *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    char item[ITEM_MAX];
    bool seen_mac = false, seen_bridge = false, seen_mtu = false, seen_tap = false;
    int rc;
    while ((rc = next_item(&s, item, sizeof(item))) == 1) {
        char *key, *val;
        split(item, &key, &val);
        if (!val || !*val)
            return fail(err, err_len, "--nic: '%s' needs a value (%s=...)", key, key);
        if (strcmp(key, "tap") == 0) {
            if (seen_tap)
                return fail(err, err_len, "--nic: tap given twice");
            if (ifname_ok(val))
                return fail(err, err_len,
                            "--nic: tap name '%s' is not a valid interface name (1-%d "
                            "characters, no '/', ':' or spaces)",
                            val, IF_NAMESIZE - 1);
            snprintf(out->tap, sizeof(out->tap), "%s", val);
            seen_tap = true;
        } else if (strcmp(key, "mac") == 0) {
            if (seen_mac)
                return fail(err, err_len, "--nic: mac given twice");
            if (mac_parse(val, out->mac))
                return fail(err, err_len,
                            "--nic: mac '%s' is not a unicast address like 00:15:5d:01:02:03",
                            val);
            out->has_mac = seen_mac = true;
        } else if (strcmp(key, "bridge") == 0) {
            if (seen_bridge)
                return fail(err, err_len, "--nic: bridge given twice");
            if (ifname_ok(val))
                return fail(err, err_len, "--nic: bridge name '%s' is not a valid interface name",
                            val);
            snprintf(out->bridge, sizeof(out->bridge), "%s", val);
            seen_bridge = true;
        } else if (strcmp(key, "mtu") == 0) {
            if (seen_mtu)
                return fail(err, err_len, "--nic: mtu given twice");
            if (parse_u32(val, 68, 9000, &out->mtu))
                return fail(err, err_len, "--nic: mtu '%s' is not a number from 68 to 9000", val);
            seen_mtu = true;
        } else {
            return fail(err, err_len, "--nic: unknown option '%s' (tap, mac, bridge, mtu)", key);
        }
    }
    if (rc < 0)
        return fail(err, err_len, "--nic: option too long");
    if (!seen_tap)
        return fail(err, err_len, "--nic: tap=NAME is required");
    return 0;
}

int disk_config_parse(const char *s, struct disk_config *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    out->lun = -1;
    char item[ITEM_MAX];
    bool seen_file = false, seen_ro = false, seen_direct = false, seen_serial = false,
         seen_lun = false;
    int rc;
    while ((rc = next_item(&s, item, sizeof(item))) == 1) {
        char *key, *val;
        split(item, &key, &val);
        if (strcmp(key, "ro") == 0 || strcmp(key, "direct") == 0) {
            bool *flag = key[0] == 'r' ? &out->read_only : &out->direct;
            bool *seen = key[0] == 'r' ? &seen_ro : &seen_direct;
            if (val)
                return fail(err, err_len, "--disk: '%s' is a flag and takes no value", key);
            if (*seen)
                return fail(err, err_len, "--disk: %s given twice", key);
            *flag = *seen = true;
            continue;
        }
        if (!val || !*val)
            return fail(err, err_len, "--disk: '%s' needs a value (%s=...)", key, key);
        if (strcmp(key, "file") == 0) {
            if (seen_file)
                return fail(err, err_len, "--disk: file given twice");
            if (strlen(val) >= sizeof(out->path))
                return fail(err, err_len, "--disk: file path longer than %u bytes",
                            DISK_PATH_MAX - 1);
            snprintf(out->path, sizeof(out->path), "%s", val);
            seen_file = true;
        } else if (strcmp(key, "serial") == 0) {
            if (seen_serial)
                return fail(err, err_len, "--disk: serial given twice");
            size_t n = strlen(val);
            if (n > SCSI_SERIAL_MAX)
                return fail(err, err_len, "--disk: serial longer than %u characters",
                            SCSI_SERIAL_MAX);
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)val[i] < 0x21 || (unsigned char)val[i] > 0x7E)
                    return fail(err, err_len,
                                "--disk: serial must be printable ASCII without spaces");
            snprintf(out->serial, sizeof(out->serial), "%s", val);
            seen_serial = true;
        } else if (strcmp(key, "lun") == 0) {
            uint32_t lun;
            if (seen_lun)
                return fail(err, err_len, "--disk: lun given twice");
            if (parse_u32(val, 0, 63, &lun))
                return fail(err, err_len, "--disk: lun '%s' is not a number from 0 to 63", val);
            out->lun = (int)lun;
            seen_lun = true;
        } else {
            return fail(err, err_len,
                        "--disk: unknown option '%s' (file, ro, direct, serial, lun)", key);
        }
    }
    if (rc < 0)
        return fail(err, err_len, "--disk: option too long");
    if (!seen_file)
        return fail(err, err_len, "--disk: file=PATH is required");
    return 0;
}

static uint64_t fnv1a(const char *a, const char *b)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = a; p && *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    h = (h ^ 0xFF) * 0x100000001b3ull;     /* keep "ab"+"c" apart from "a"+"bc" */
    for (const char *p = b; p && *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

void nic_mac_derive(const char *seed, uint8_t mac[6])
{
    uint64_t h = fnv1a("mac", seed);
    mac[0] = 0x00;
    mac[1] = 0x15;
    mac[2] = 0x5D;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

struct vmbus_guid dev_instance_guid(const char *kind, const char *seed)
{
    struct vmbus_guid g;
    uint64_t a = fnv1a(kind, seed), b = fnv1a(seed, kind);
    memcpy(g.b, &a, 8);
    memcpy(g.b + 8, &b, 8);
    /* RFC 4122 shape: version 4 (random-like), variant 1. data3 is stored
     * little-endian, so its high nibble is byte 7's. */
    g.b[7] = (uint8_t)((g.b[7] & 0x0F) | 0x40);
    g.b[8] = (uint8_t)((g.b[8] & 0x3F) | 0x80);
    return g;
}
