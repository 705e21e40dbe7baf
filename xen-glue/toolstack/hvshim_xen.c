/* SPDX-License-Identifier: MIT */
/*
 * hvshim-xen: give a (paused) domain its enlightenments and VMBus devices.
 *
 *   hvshim-xen set DOMID [--features LIST] [--device SPEC]...
 *   hvshim-xen show DOMID
 *   hvshim-xen clear DOMID
 *   hvshim-xen features
 *
 * set writes HVM_PARAM_VIRIDIAN (bits 0-12 as xl's viridian= would, plus
 * hvshim's own) and the device configuration hvshimd serves. Start-up order:
 * xl create -p, hvshim-xen set, xl unpause (docs/xen.md).
 *
 * Exit status: 0 done; 2 bad configuration or usage; 1 Xen or xenstore
 * failed. Errors are one line on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xenstore.h>

#include "hvshim/features.h"
#include "xen-glue/common/viridian_mask.h"
#include "xen-glue/toolstack/config.h"
#include "xen-glue/toolstack/hvshim_xen.h"

#define FB(f) HV_FEATURE_BIT(HV_F_##f)
#define VMBUS_NEEDS (FB(POST_MESSAGES) | FB(SIGNAL_EVENTS) | FB(SYNIC))

struct ctx {
    FILE *out, *err;
};

static int fail(struct ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int code, const char *fmt, ...)
{
    va_list ap;

    fputs("hvshim-xen: ", c->err);
    va_start(ap, fmt);
    vfprintf(c->err, fmt, ap);
    va_end(ap);
    fputc('\n', c->err);
    return code;
}

static int usage(struct ctx *c)
{
    return fail(c, 2, "usage: hvshim-xen set DOMID [--features LIST] [--device SPEC]... | "
                      "show DOMID | clear DOMID | features");
}

/* Features the text turns off with "!name" (groups expand). */
static hv_features_t negated(const char *text)
{
    const struct hv_feature_group *groups = hv_feature_groups();
    hv_features_t off = 0;
    const char *p = text;

    while (*p) {
        size_t n = strcspn(p, ",");
        const char *tok = p;
        char name[64];

        p += n + (p[n] == ',');
        while (n && strchr(" \t\"[", *tok))
            tok++, n--;
        while (n && strchr(" \t\"]", tok[n - 1]))
            n--;
        if (n < 2 || *tok != '!' || n - 1 >= sizeof(name))
            continue;
        memcpy(name, tok + 1, n - 1);
        name[n - 1] = 0;
        for (const struct hv_feature_group *g = groups; g->name; g++)
            if (!strcmp(g->name, name))
                off |= g->bits;
    }
    return off;
}

static void names(hv_features_t f, char *buf, size_t len)
{
    hv_features_format(f, buf, len);
}

static int cmd_set(struct ctx *c, int argc, char **argv)
{
    const char *features_text = "defaults";
    struct hvx_config cfg;
    hv_features_t f, named, unsupported, forced, off;
    char err[256], list[1024];
    xc_interface *xch;
    struct xs_handle *xs;
    xc_dominfo_t info;
    uint64_t current = 0;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    if (argc < 1 || hvx_domid_parse(argv[0], &cfg.domid))
        return argc < 1 ? usage(c) : fail(c, 2, "'%s' is not a guest domain id", argv[0]);

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--features") && i + 1 < argc) {
            features_text = argv[++i];
        } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            if (cfg.nr_devices == HVX_MAX_DEVICES)
                return fail(c, 2, "too many devices (at most %d)", HVX_MAX_DEVICES);
            if (hvx_device_parse(argv[++i], &cfg.dev[cfg.nr_devices], err, sizeof(err)))
                return fail(c, 2, "%s", err);
            cfg.nr_devices++;
        } else {
            return usage(c);
        }
    }

    if (hv_features_parse_ex(features_text, hv_features_preset_xen_defaults(), &f, &named,
                             err, sizeof(err)))
        return fail(c, 2, "features: %s", err);
    off = negated(features_text);
    if (hvx_config_has_vmbus(&cfg)) {
        if (off & VMBUS_NEEDS) {
            names(off & VMBUS_NEEDS, list, sizeof(list));
            return fail(c, 2, "VMBus devices need %s, which the feature list turns off", list);
        }
        f |= VMBUS_NEEDS;
    }
    f = hv_features_close(f);
    if (hvshim_xen_features_to_mask(f, &cfg.mask, &unsupported, &forced)) {
        /* Named one by one: refuse. Brought in by a group or preset
         * ("all"): leave out quietly, as the feature parser intends. */
        if (unsupported & (named | VMBUS_NEEDS)) {
            names(unsupported & (named | VMBUS_NEEDS), list, sizeof(list));
            return fail(c, 2, "not available on Xen: %s", list);
        }
        f = hv_features_close(f & ~unsupported);
        if (!hvshim_xen_features_to_mask(f, &cfg.mask, &unsupported, &forced))
            forced = 0;
        if (unsupported) {
            names(unsupported, list, sizeof(list));
            return fail(c, 2, "not available on Xen: %s", list);
        }
        if (forced & off) {
            names(forced & off, list, sizeof(list));
            return fail(c, 2, "cannot be turned off on Xen (HVM_PARAM_VIRIDIAN's base and "
                              "synic imply them): %s", list);
        }
        /* What every mask for f gives anyway (as Xen's own viridian). */
        f |= forced;
        if (hvshim_xen_features_to_mask(f, &cfg.mask, &unsupported, &forced))
            return fail(c, 2, "these features have no HVM_PARAM_VIRIDIAN encoding");
    }
    cfg.features = f;
    if (hvx_config_validate(&cfg, err, sizeof(err)))
        return fail(c, 2, "%s", err);

    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch)
        return fail(c, 1, "cannot open libxenctrl: %s", strerror(errno));
    memset(&info, 0, sizeof(info));
    if (xc_domain_getinfo(xch, cfg.domid, 1, &info) != 1 || info.domid != cfg.domid ||
        info.dying) {
        xc_interface_close(xch);
        return fail(c, 2, "domain %u does not exist", cfg.domid);
    }
    if (!info.hvm) {
        xc_interface_close(xch);
        return fail(c, 2, "domain %u is not an HVM domain", cfg.domid);
    }
    if (xc_hvm_param_get(xch, cfg.domid, HVM_PARAM_VIRIDIAN, &current)) {
        rc = errno;
        xc_interface_close(xch);
        return fail(c, 1, "cannot read HVM_PARAM_VIRIDIAN of domain %u: %s", cfg.domid,
                    strerror(rc));
    }
    if (current && current != cfg.mask) {
        xc_interface_close(xch);
        return fail(c, 2, "domain %u already has viridian mask %#" PRIx64 " (wanted %#" PRIx64
                          "); it is set once: remove viridian= from its xl config",
                    cfg.domid, current, cfg.mask);
    }
    if (!current && xc_hvm_param_set(xch, cfg.domid, HVM_PARAM_VIRIDIAN, cfg.mask)) {
        rc = errno;
        xc_interface_close(xch);
        if (rc == EINVAL && (cfg.mask >> 13))
            return fail(c, 1, "Xen refused viridian mask %#" PRIx64 ": is the hypervisor "
                              "built with CONFIG_HVSHIM?", cfg.mask);
        return fail(c, 1, "cannot set HVM_PARAM_VIRIDIAN of domain %u: %s", cfg.domid,
                    strerror(rc));
    }
    if (!info.paused)
        fprintf(c->err, "hvshim-xen: warning: domain %u is running; start it with "
                        "'xl create -p' so the guest sees its enlightenments from boot\n",
                cfg.domid);
    xc_interface_close(xch);

    xs = xs_open(0);
    if (!xs)
        return fail(c, 1, "cannot open xenstore: %s", strerror(errno));
    rc = hvx_config_write(xs, &cfg, err, sizeof(err));
    xs_close(xs);
    if (rc)
        return fail(c, 1, "%s", err);

    names(cfg.features, list, sizeof(list));
    fprintf(c->out, "domain %u: viridian mask %#" PRIx64 ", %u VMBus device(s)\n", cfg.domid,
            cfg.mask, cfg.nr_devices);
    fprintf(c->out, "features: %s\n", list);
    return 0;
}

static int cmd_show(struct ctx *c, int argc, char **argv)
{
    struct hvx_config cfg;
    struct xs_handle *xs;
    char err[256], list[1024], path[96], *status;
    unsigned len;
    uint32_t domid;
    int rc;

    if (argc != 1 || hvx_domid_parse(argv[0], &domid))
        return usage(c);
    xs = xs_open(0);
    if (!xs)
        return fail(c, 1, "cannot open xenstore: %s", strerror(errno));
    rc = hvx_config_read(xs, domid, &cfg, err, sizeof(err));
    if (rc) {
        xs_close(xs);
        return rc > 0 ? fail(c, 2, "domain %u has no hvshim configuration", domid)
                      : fail(c, 2, "domain %u: %s", domid, err);
    }
    snprintf(path, sizeof(path), HVX_XS_ROOT "/%u/daemon", domid);
    status = xs_read(xs, XBT_NULL, path, &len);
    xs_close(xs);

    names(cfg.features, list, sizeof(list));
    fprintf(c->out, "domain %u\nviridian mask: %#" PRIx64 "\nfeatures: %s\n", domid, cfg.mask,
            list);
    for (unsigned i = 0; i < cfg.nr_devices; i++) {
        const struct hvx_device *d = &cfg.dev[i];
        fprintf(c->out, "device %u: %s", i, hvx_dev_type_name(d->type));
        if (d->type == HVX_DEV_NIC)
            fprintf(c->out, " bridge=%s%s%s", d->bridge, d->mac[0] ? " mac=" : "", d->mac);
        if (d->type == HVX_DEV_DISK)
            fprintf(c->out, " path=%s%s", d->path, d->readonly ? " ro" : "");
        fputc('\n', c->out);
    }
    fprintf(c->out, "hvshimd: %s\n", status ? status : "(not serving this domain)");
    free(status);
    return 0;
}

static int cmd_clear(struct ctx *c, int argc, char **argv)
{
    struct xs_handle *xs;
    uint32_t domid;

    if (argc != 1 || hvx_domid_parse(argv[0], &domid))
        return usage(c);
    xs = xs_open(0);
    if (!xs)
        return fail(c, 1, "cannot open xenstore: %s", strerror(errno));
    hvx_config_remove(xs, domid);
    xs_close(xs);
    fprintf(c->out, "domain %u: VMBus configuration removed (the viridian mask stays until the "
                    "domain is destroyed)\n", domid);
    return 0;
}

static int cmd_features(struct ctx *c)
{
    hv_features_t xen = hvshim_xen_features_supported();

    for (const struct hv_feature_group *g = hv_feature_groups(); g->name; g++)
        fprintf(c->out, "%-24s %s%s\n", g->name, g->help,
                (g->bits & ~xen) ? " [not on Xen]" : "");
    return 0;
}

int hvshim_xen_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct ctx c = { out, err };

    if (argc < 2)
        return usage(&c);
    if (!strcmp(argv[1], "set"))
        return cmd_set(&c, argc - 2, argv + 2);
    if (!strcmp(argv[1], "show"))
        return cmd_show(&c, argc - 2, argv + 2);
    if (!strcmp(argv[1], "clear"))
        return cmd_clear(&c, argc - 2, argv + 2);
    if (!strcmp(argv[1], "features") && argc == 2)
        return cmd_features(&c);
    return usage(&c);
}
