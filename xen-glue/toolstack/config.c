/* SPDX-License-Identifier: MIT */
/* hvshim's per-domain configuration: parsing, validation, xenstore. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#include "xen-glue/toolstack/config.h"

static const char *const type_names[HVX_DEV_COUNT] = {
    [HVX_DEV_HEARTBEAT] = "heartbeat",
    [HVX_DEV_SHUTDOWN] = "shutdown",
    [HVX_DEV_TIMESYNC] = "timesync",
    [HVX_DEV_KVP] = "kvp",
    [HVX_DEV_NIC] = "nic",
    [HVX_DEV_DISK] = "disk",
};

static void errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (!err || !len)
        return;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

const char *hvx_dev_type_name(enum hvx_dev_type t)
{
    return (unsigned)t < HVX_DEV_COUNT ? type_names[t] : "?";
}

int hvx_dev_type_parse(const char *s, enum hvx_dev_type *out)
{
    for (unsigned i = 0; i < HVX_DEV_COUNT; i++)
        if (!strcmp(s, type_names[i])) {
            *out = (enum hvx_dev_type)i;
            return 0;
        }
    return -1;
}

int hvx_domid_parse(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    /* Domain 0 runs the toolstack: it is never configured. */
    if (errno || *end || v == 0 || v > HVX_MAX_DOMID)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Linux interface names: 1-15 characters, no '/', no whitespace, not "."
 * or "..". */
static bool bridge_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
            !isprint((unsigned char)s[i]))
            return false;
    return true;
}

/* Six hex pairs separated by ':', unicast (bit 0 of the first octet 0). */
static bool mac_ok(const char *s)
{
    unsigned first;

    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    if (sscanf(s, "%2x", &first) != 1)
        return false;
    return (first & 1) == 0;
}

static bool path_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= sizeof(((struct hvx_device *)0)->path) || s[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)s[i]))
            return false;
    return true;
}

static int copy_value(char *dst, size_t dst_len, const char *v, size_t n)
{
    if (n >= dst_len)
        return -1;
    memcpy(dst, v, n);
    dst[n] = 0;
    return 0;
}

int hvx_device_parse(const char *spec, struct hvx_device *out, char *err, size_t err_len)
{
    char type[16];
    size_t n = strcspn(spec, ",");
    const char *p;

    memset(out, 0, sizeof(*out));
    if (n == 0 || n >= sizeof(type)) {
        errf(err, err_len, "bad device '%s': expected TYPE[,key=value...]", spec);
        return -1;
    }
    memcpy(type, spec, n);
    type[n] = 0;
    if (hvx_dev_type_parse(type, &out->type)) {
        errf(err, err_len, "unknown device type '%s' (heartbeat, shutdown, timesync, kvp, nic, "
             "disk)", type);
        return -1;
    }

    for (p = spec + n; *p;) {
        const char *item = ++p;
        size_t len = strcspn(item, ",");
        const char *eq = memchr(item, '=', len);
        size_t klen = eq ? (size_t)(eq - item) : len;
        const char *val = eq ? eq + 1 : "";
        size_t vlen = eq ? len - klen - 1 : 0;
        int bad = 0;

        p = item + len;
        if (len == 0)
            continue;
        if (out->type == HVX_DEV_NIC && klen == 6 && !strncmp(item, "bridge", 6) && eq)
            bad = copy_value(out->bridge, sizeof(out->bridge), val, vlen);
        else if (out->type == HVX_DEV_NIC && klen == 3 && !strncmp(item, "mac", 3) && eq)
            bad = copy_value(out->mac, sizeof(out->mac), val, vlen);
        else if (out->type == HVX_DEV_DISK && klen == 4 && !strncmp(item, "path", 4) && eq)
            bad = copy_value(out->path, sizeof(out->path), val, vlen);
        else if (out->type == HVX_DEV_DISK && klen == 2 && !strncmp(item, "ro", 2) && !eq)
            out->readonly = true;
        else if (out->type == HVX_DEV_DISK && klen == 2 && !strncmp(item, "rw", 2) && !eq)
            out->readonly = false;
        else {
            errf(err, err_len, "%s: unknown option '%.*s'", type, (int)len, item);
            return -1;
        }
        if (bad) {
            errf(err, err_len, "%s: value of '%.*s' too long", type, (int)klen, item);
            return -1;
        }
    }
    return 0;
}

int hvx_config_validate(const struct hvx_config *c, char *err, size_t err_len)
{
    unsigned seen[HVX_DEV_COUNT] = { 0 };

    if (c->nr_devices > HVX_MAX_DEVICES) {
        errf(err, err_len, "too many devices (at most %d)", HVX_MAX_DEVICES);
        return -1;
    }
    for (unsigned i = 0; i < c->nr_devices; i++) {
        const struct hvx_device *d = &c->dev[i];

        if ((unsigned)d->type >= HVX_DEV_COUNT) {
            errf(err, err_len, "device %u: bad type", i);
            return -1;
        }
        seen[d->type]++;
        switch (d->type) {
        case HVX_DEV_NIC:
            if (!bridge_name_ok(d->bridge)) {
                errf(err, err_len, "nic %u: bridge '%s' is not an interface name", i, d->bridge);
                return -1;
            }
            if (d->mac[0] && !mac_ok(d->mac)) {
                errf(err, err_len, "nic %u: mac '%s' is not a unicast xx:xx:xx:xx:xx:xx", i,
                     d->mac);
                return -1;
            }
            for (unsigned j = 0; j < i; j++)
                if (c->dev[j].type == HVX_DEV_NIC && d->mac[0] &&
                    !strcasecmp(c->dev[j].mac, d->mac)) {
                    errf(err, err_len, "nic %u: mac %s used twice", i, d->mac);
                    return -1;
                }
            break;
        case HVX_DEV_DISK:
            if (!path_ok(d->path)) {
                errf(err, err_len, "disk %u: path '%s' must be absolute", i, d->path);
                return -1;
            }
            break;
        default:
            if (seen[d->type] > 1) {
                errf(err, err_len, "%s given twice (integration services are one per domain)",
                     hvx_dev_type_name(d->type));
                return -1;
            }
            break;
        }
    }
    return 0;
}

bool hvx_config_has_vmbus(const struct hvx_config *c)
{
    return c->nr_devices > 0;
}

/* ------------------------------------------------------------ xenstore */

static bool xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *value,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *value,
                      const char *fmt, ...)
{
    char path[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return xs_write(xs, t, path, value, (unsigned)strlen(value));
}

static char *xs_readf(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *xs_readf(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
{
    char path[256];
    unsigned len;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return xs_read(xs, t, path, &len);
}

#define XS_RETRIES 8

int hvx_config_write(struct xs_handle *xs, struct hvx_config *c, char *err,
                     size_t err_len)
{
    char features[1024], mask[32], dir[96], platform[96];

    hv_features_format(c->features, features, sizeof(features));
    snprintf(mask, sizeof(mask), "0x%" PRIx64, c->mask);
    snprintf(dir, sizeof(dir), HVX_XS_ROOT "/%u", c->domid);
    snprintf(platform, sizeof(platform), "/local/domain/%u/platform/hvshim_vmbus", c->domid);
    if (!c->generation[0]) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(c->generation, sizeof(c->generation), "%lld.%09ld", (long long)ts.tv_sec,
                 ts.tv_nsec);
    }

    for (int attempt = 0; attempt < XS_RETRIES; attempt++) {
        xs_transaction_t t = xs_transaction_start(xs);
        bool ok;

        if (t == XBT_NULL) {
            errf(err, err_len, "xenstore: cannot start a transaction: %s", strerror(errno));
            return -1;
        }
        /* Replace, don't merge: a device list that shrank must shrink. */
        xs_rm(xs, t, dir);
        ok = xs_printf(xs, t, features, "%s/features", dir) &&
             xs_printf(xs, t, mask, "%s/viridian-mask", dir) &&
             xs_printf(xs, t, c->generation, "%s/generation", dir);
        for (unsigned i = 0; ok && i < c->nr_devices; i++) {
            const struct hvx_device *d = &c->dev[i];
            ok = xs_printf(xs, t, hvx_dev_type_name(d->type), "%s/device/%u/type", dir, i);
            if (ok && d->type == HVX_DEV_NIC) {
                ok = xs_printf(xs, t, d->bridge, "%s/device/%u/bridge", dir, i);
                if (ok && d->mac[0])
                    ok = xs_printf(xs, t, d->mac, "%s/device/%u/mac", dir, i);
            }
            if (ok && d->type == HVX_DEV_DISK)
                ok = xs_printf(xs, t, d->path, "%s/device/%u/path", dir, i) &&
                     xs_printf(xs, t, d->readonly ? "1" : "0", "%s/device/%u/readonly", dir, i);
        }
        if (ok)
            ok = xs_write(xs, t, platform, hvx_config_has_vmbus(c) ? "1" : "0", 1);
        /* Last, so a reader that sees "configured" sees everything. */
        if (ok)
            ok = xs_printf(xs, t, "configured", "%s/state", dir);
        if (!ok) {
            int e = errno;
            xs_transaction_end(xs, t, true);
            errf(err, err_len, "xenstore: cannot write %s: %s", dir, strerror(e));
            return -1;
        }
        if (xs_transaction_end(xs, t, false))
            return 0;
        if (errno != EAGAIN) {
            errf(err, err_len, "xenstore: cannot commit %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    errf(err, err_len, "xenstore: %s kept conflicting with other writers", dir);
    return -1;
}

static int read_device(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                       const char *idx, struct hvx_device *d, char *err, size_t err_len)
{
    char *type = xs_readf(xs, t, "%s/device/%s/type", dir, idx);
    char *v;
    int rc = 0;

    memset(d, 0, sizeof(*d));
    if (!type || hvx_dev_type_parse(type, &d->type)) {
        errf(err, err_len, "device %s: bad or missing type '%s'", idx, type ? type : "");
        free(type);
        return -1;
    }
    free(type);
    if (d->type == HVX_DEV_NIC) {
        v = xs_readf(xs, t, "%s/device/%s/bridge", dir, idx);
        if (!v || copy_value(d->bridge, sizeof(d->bridge), v, strlen(v)))
            rc = -1;
        free(v);
        v = xs_readf(xs, t, "%s/device/%s/mac", dir, idx);
        if (v && copy_value(d->mac, sizeof(d->mac), v, strlen(v)))
            rc = -1;
        free(v);
    } else if (d->type == HVX_DEV_DISK) {
        v = xs_readf(xs, t, "%s/device/%s/path", dir, idx);
        if (!v || copy_value(d->path, sizeof(d->path), v, strlen(v)))
            rc = -1;
        free(v);
        v = xs_readf(xs, t, "%s/device/%s/readonly", dir, idx);
        d->readonly = v && !strcmp(v, "1");
        free(v);
    }
    if (rc)
        errf(err, err_len, "device %s (%s): missing or oversized setting", idx,
             hvx_dev_type_name(d->type));
    return rc;
}

int hvx_config_read(struct xs_handle *xs, uint32_t domid, struct hvx_config *c, char *err,
                    size_t err_len)
{
    char dir[96], *state, *mask, *features, **devs;
    unsigned nr = 0;
    int rc = 0;

    memset(c, 0, sizeof(*c));
    c->domid = domid;
    snprintf(dir, sizeof(dir), HVX_XS_ROOT "/%u", domid);

    state = xs_readf(xs, XBT_NULL, "%s/state", dir);
    if (!state)
        return 1;
    if (strcmp(state, "configured")) {
        errf(err, err_len, "state is '%s', not 'configured'", state);
        free(state);
        return -1;
    }
    free(state);

    {
        char *g = xs_readf(xs, XBT_NULL, "%s/generation", dir);
        snprintf(c->generation, sizeof(c->generation), "%s", g ? g : "");
        free(g);
    }
    mask = xs_readf(xs, XBT_NULL, "%s/viridian-mask", dir);
    features = xs_readf(xs, XBT_NULL, "%s/features", dir);
    if (!mask || sscanf(mask, "%" SCNx64, &c->mask) != 1) {
        errf(err, err_len, "viridian-mask missing or not hex");
        rc = -1;
    } else if (!features ||
               hv_features_parse(features, 0, &c->features, err, err_len) != 0) {
        if (!features)
            errf(err, err_len, "features missing");
        rc = -1;
    }
    free(mask);
    free(features);
    if (rc)
        return rc;

    {
        char path[128];
        snprintf(path, sizeof(path), "%s/device", dir);
        devs = xs_directory(xs, XBT_NULL, path, &nr);
    }
    if (devs && nr > HVX_MAX_DEVICES) {
        errf(err, err_len, "%u devices, at most %d", nr, HVX_MAX_DEVICES);
        rc = -1;
    }
    /* Devices keep their index order (xenstore lists names unordered):
     * a saved bus state is only valid for the same devices in the same
     * order. Indexes must be 0 .. n-1. */
    for (unsigned want = 0; !rc && devs && want < nr; want++) {
        char idx[16];
        bool found = false;

        snprintf(idx, sizeof(idx), "%u", want);
        for (unsigned i = 0; i < nr; i++)
            found |= !strcmp(devs[i], idx);
        if (!found) {
            errf(err, err_len, "device indexes must be 0..%u, %u is missing", nr - 1, want);
            rc = -1;
            break;
        }
        rc = read_device(xs, XBT_NULL, dir, idx, &c->dev[c->nr_devices], err, err_len);
        if (!rc)
            c->nr_devices++;
    }
    free(devs);
    if (!rc)
        rc = hvx_config_validate(c, err, err_len);
    return rc;
}

void hvx_config_remove(struct xs_handle *xs, uint32_t domid)
{
    char dir[96];

    snprintf(dir, sizeof(dir), HVX_XS_ROOT "/%u", domid);
    xs_rm(xs, XBT_NULL, dir);
}

void hvx_config_set_daemon_status(struct xs_handle *xs, uint32_t domid, const char *status)
{
    xs_printf(xs, XBT_NULL, status, HVX_XS_ROOT "/%u/daemon", domid);
}
