/* SPDX-License-Identifier: MIT */
/* Choosing and adding the integration services. */
#include <stdio.h>
#include <string.h>

#include "vmbus/ic/services.h"
#include "vmbus/server.h"

void vmbus_ic_options_defaults(struct vmbus_ic_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->heartbeat = opt->shutdown = opt->timesync = opt->kvp = true;
}

int vmbus_ic_options_parse(struct vmbus_ic_options *opt, const char *list, char *err,
                           size_t err_len)
{
    char name[32];
    const char *p = list;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        const char *item = p;
        p = p[n] ? p + n + 1 : p + n;
        while (n && (*item == ' ' || *item == '\t'))
            item++, n--;
        while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            n--;
        if (!n)
            continue;
        bool on = true;
        if (*item == '!') {
            on = false;
            item++, n--;
        }
        if (n >= sizeof(name)) {
            snprintf(err, err_len, "integration service name too long");
            return -1;
        }
        memcpy(name, item, n);
        name[n] = 0;
        if (!strcmp(name, "all") || !strcmp(name, "none")) {
            bool v = on == !strcmp(name, "all");
            opt->heartbeat = opt->shutdown = opt->timesync = opt->kvp = v;
        } else if (!strcmp(name, "heartbeat")) {
            opt->heartbeat = on;
        } else if (!strcmp(name, "shutdown")) {
            opt->shutdown = on;
        } else if (!strcmp(name, "timesync")) {
            opt->timesync = on;
        } else if (!strcmp(name, "kvp")) {
            opt->kvp = on;
        } else {
            snprintf(err, err_len, "unknown integration service '%s' (heartbeat, shutdown, "
                     "timesync, kvp, all, none)", name);
            return -1;
        }
    }
    return 0;
}

/* Every service handle starts with its struct vmbus_ic. */
static struct vmbus_channel *channel_of(void *service)
{
    return ((struct vmbus_ic *)service)->ch;
}

int vmbus_ic_add(struct vmbus_server *srv, const struct vmbus_ic_options *opt,
                 struct vmbus_ic_set *out)
{
    memset(out, 0, sizeof(*out));
    if (opt->timesync && !opt->time.ref_time)
        return -1;
    struct vmbus_channel *added[4];
    unsigned n = 0;
    if (opt->heartbeat) {
        out->heartbeat = vmbus_heartbeat_create(srv, opt->heartbeat_interval_ns);
        if (!out->heartbeat)
            goto fail;
        added[n++] = channel_of(out->heartbeat);
    }
    if (opt->shutdown) {
        out->shutdown = vmbus_shutdown_create(srv);
        if (!out->shutdown)
            goto fail;
        added[n++] = channel_of(out->shutdown);
    }
    if (opt->timesync) {
        out->timesync = vmbus_timesync_create(srv, &opt->time, opt->timesync_interval_ns);
        if (!out->timesync)
            goto fail;
        added[n++] = channel_of(out->timesync);
    }
    if (opt->kvp) {
        out->kvp = vmbus_kvp_create(srv);
        if (!out->kvp)
            goto fail;
        added[n++] = channel_of(out->kvp);
    }
    return 0;
fail:
    /* Removing a device that was never offered frees it at once. */
    while (n)
        vmbus_server_remove_device(srv, added[--n]);
    memset(out, 0, sizeof(*out));
    return -1;
}
