/* SPDX-License-Identifier: MIT */
/* Control socket words: escaping, splitting, reply kinds (proto.h). */
#include <string.h>

#include "kvm-glue/ctl/proto.h"

static bool needs_escape(unsigned char c)
{
    return c <= 0x20 || c == '%' || c == 0x7F;
}

long ctl_escape(const char *in, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        size_t need = needs_escape(c) ? 3 : 1;
        if (outlen - o <= need)
            return -1;
        if (need == 3) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (o >= outlen)
        return -1;
    out[o] = 0;
    return (long)o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Unescape one word in place. */
static bool unescape(char *w, const char **why)
{
    char *o = w;
    for (char *i = w; *i; i++) {
        if (*i != '%') {
            *o++ = *i;
            continue;
        }
        int hi = hexval(i[1]);
        int lo = hi < 0 ? -1 : hexval(i[2]);
        if (lo < 0) {
            *why = "bad %XX escape";
            return false;
        }
        if (hi == 0 && lo == 0) {
            *why = "%00 is not allowed";
            return false;
        }
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = 0;
    return true;
}

int ctl_split(char *line, char **argv, int max, const char **why)
{
    int n = 0;
    char *p = line;
    *why = "";
    if (!*p)
        return 0;
    for (;;) {
        char *sp = strchr(p, ' ');
        if (sp)
            *sp = 0;
        if (!*p) {
            *why = "empty word (one space between words, none at the ends)";
            return -1;
        }
        if (n == max) {
            *why = "too many words";
            return -1;
        }
        if (!unescape(p, why))
            return -1;
        argv[n++] = p;
        if (!sp)
            return n;
        p = sp + 1;
    }
}

enum ctl_final ctl_final_kind(const char *line)
{
    if (!strcmp(line, "ok"))
        return CTL_OK;
    if (!strncmp(line, "error", 5) && (line[5] == ' ' || !line[5]))
        return CTL_ERROR;
    if (!strncmp(line, "usage", 5) && (line[5] == ' ' || !line[5]))
        return CTL_USAGE;
    return CTL_DATA;
}
