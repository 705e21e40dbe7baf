/* SPDX-License-Identifier: MIT */
#include "platform.h"

#include "lib.h"
#include "x86.h"

struct options opt;
struct platform plat;

#define MB_BOOT_MAGIC 0x2BADB002

static void fw_cfg_probe(void)
{
    char sig[4];
    outw(0x510, 0x0000);                /* FW_CFG_SIGNATURE */
    for (unsigned i = 0; i < 4; i++)
        sig[i] = (char)inb(0x511);
    if (memcmp(sig, "QEMU", 4))
        return;
    plat.fw_cfg = true;
    outw(0x510, 0x0005);                /* FW_CFG_NB_CPUS, 16-bit LE */
    unsigned lo = inb(0x511);
    unsigned hi = inb(0x511);
    plat.fw_cfg_cpus = lo | (hi << 8);
}

static bool key_is(const char *tok, unsigned len, const char *key, const char **val,
                   unsigned *vlen)
{
    unsigned k = (unsigned)strlen(key);
    if (len <= k || strncmp(tok, key, k) || tok[k] != '=')
        return false;
    *val = tok + k + 1;
    *vlen = len - k - 1;
    return true;
}

static void parse_cmdline(const char *s)
{
    while (s && *s) {
        while (*s == ' ')
            s++;
        const char *tok = s;
        while (*s && *s != ' ')
            s++;
        unsigned len = (unsigned)(s - tok);
        const char *v;
        unsigned vl;
        uint64_t n;
        if (!len)
            break;
        if (len == 7 && !strncmp(tok, "verbose", 7))
            opt.verbose = true;
        else if (len == 6 && !strncmp(tok, "x2apic", 6))
            opt.x2apic = true;
        else if (key_is(tok, len, "groups", &v, &vl)) {
            if (vl >= sizeof(opt.groups))
                vl = sizeof(opt.groups) - 1;
            memcpy(opt.groups, v, vl);
            opt.groups[vl] = 0;
        } else if (key_is(tok, len, "skip", &v, &vl)) {
            if (vl >= sizeof(opt.skip))
                vl = sizeof(opt.skip) - 1;
            memcpy(opt.skip, v, vl);
            opt.skip[vl] = 0;
        } else if (key_is(tok, len, "cpus", &v, &vl) && parse_u64(v, vl, &n))
            opt.cpus = (unsigned)n;
        else if (key_is(tok, len, "event_conn", &v, &vl) && parse_u64(v, vl, &n))
            opt.event_conn = (uint32_t)n;
        else if (key_is(tok, len, "msg_conn", &v, &vl) && parse_u64(v, vl, &n))
            opt.msg_conn = (uint32_t)n;
        else if (key_is(tok, len, "event_sint", &v, &vl) && parse_u64(v, vl, &n))
            opt.event_sint = (unsigned)n & 15;
        else if (key_is(tok, len, "msg_sint", &v, &vl) && parse_u64(v, vl, &n))
            opt.msg_sint = (unsigned)n & 15;
        /* Anything else (QEMU puts the kernel path first) is ignored. */
    }
}

void platform_init(uint32_t mb_magic, uint32_t mb_info)
{
    const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)mb_info;
    plat.ram_top = 1ull << 20;
    if (mb_magic == MB_BOOT_MAGIC && mbi) {
        plat.multiboot = true;
        uint32_t flags = mbi[0];
        if (flags & 1)
            plat.ram_top = (1ull << 20) + (uint64_t)mbi[2] * 1024;
        if (flags & 4)
            plat.cmdline = (const char *)(uintptr_t)mbi[4];
        if (flags & 64) {
            uint32_t len = mbi[11], addr = mbi[12];
            uint32_t off = 0;
            while (off + 24 <= len) {
                const volatile uint8_t *e = (const volatile uint8_t *)(uintptr_t)(addr + off);
                uint32_t size = *(const volatile uint32_t *)e;
                uint64_t base = *(const volatile uint64_t *)(e + 4);
                uint64_t elen = *(const volatile uint64_t *)(e + 12);
                uint32_t type = *(const volatile uint32_t *)(e + 20);
                if (type == 1 && base + elen > plat.ram_top)
                    plat.ram_top = base + elen;
                off += size + 4;
            }
        }
    }
    parse_cmdline(plat.cmdline);
    fw_cfg_probe();

    uint32_t r[4];
    cpuid(0x80000000, r);
    plat.phys_bits = 36;
    if (r[0] >= 0x80000008) {
        cpuid(0x80000008, r);
        plat.phys_bits = r[0] & 0xFF;
    }
}

bool group_selected(const char *group)
{
    if (!opt.groups[0])
        return true;
    size_t gl = strlen(group);
    for (const char *s = opt.groups; *s;) {
        const char *e = s;
        while (*e && *e != ',')
            e++;
        if ((size_t)(e - s) == gl && !strncmp(s, group, gl))
            return true;
        s = *e ? e + 1 : e;
    }
    return false;
}

bool check_excluded(const char *group, unsigned index)
{
    size_t gl = strlen(group);
    for (const char *s = opt.skip; *s;) {
        const char *e = s;
        while (*e && *e != ',')
            e++;
        uint64_t n;
        if ((size_t)(e - s) > gl + 1 && !strncmp(s, group, gl) && s[gl] == '.' &&
            parse_u64(s + gl + 1, (size_t)(e - s) - gl - 1, &n) && n == index)
            return true;
        s = *e ? e + 1 : e;
    }
    return false;
}
