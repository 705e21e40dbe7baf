/* SPDX-License-Identifier: MIT */
/*
 * The control socket (--ctl PATH): a unix stream socket that takes one
 * request line at a time per connection and answers with data lines and a
 * final "ok" / "error ..." / "usage ..." line (kvm-glue/ctl/proto.h; the
 * commands are in docs/kvm-host.md). It runs on the loop thread, next to
 * the VMBus server it drives, so commands need no locking. Commands that
 * wait for the guest (shutdown, reboot, KVP) leave the connection busy
 * until the guest answers; a client that goes away meanwhile just gets no
 * answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm-glue/bus.h"
#include "kvm-glue/ctl/proto.h"
#include "kvm-glue/vmm.h"
#include "vmbus/guid.h"

#define CTL_CLIENTS 16
/* Requests waiting for the guest, across all connections (KVP queues 64). */
#define CTL_TICKETS 128

enum ctl_wait { W_NONE, W_SHUTDOWN, W_KVP, W_KVP_LIST };

struct ctl_client {
    int fd;                      /* -1: free slot */
    char in[CTL_LINE_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_cap;
    bool closing;                /* close once out is written */
    bool discard;                /* dropping an over-long line up to '\n' */
    /* The command waiting for the guest, if any. */
    enum ctl_wait wait;
    uint64_t req_id;
    uint8_t pool;
    uint32_t index;
};

/* What an asynchronous callback gets: it finds its connection only if the
 * request there is still the one it belongs to. Freed by the callback. */
struct ctl_ticket {
    struct vmm_ctl *ctl;
    bool used;
    int client;
    uint64_t req_id;
};

struct vmm_ctl {
    struct vmm *vm;
    int lfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct ctl_client c[CTL_CLIENTS];
    struct ctl_ticket tickets[CTL_TICKETS];
    uint64_t next_req;
};

/* ------------------------------------------------------------- output */

static void out_raw(struct ctl_client *c, const char *s, size_t n)
{
    if (c->fd < 0 || c->closing)
        return;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            c->closing = true;   /* cannot answer: hang up */
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static void outf(struct ctl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct ctl_client *c, const char *fmt, ...)
{
    char line[CTL_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    /* A final line's text is free-form: keep it on one line. */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    out_raw(c, line, (size_t)n);
}

/* key=value with the value escaped. */
static const char *esc(const char *s, char *buf, size_t len)
{
    if (ctl_escape(s, strlen(s), buf, len) < 0)
        snprintf(buf, len, "(too-long)");
    return buf;
}

static void ok(struct ctl_client *c)
{
    out_raw(c, "ok\n", 3);
}

static void error(struct ctl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error(struct ctl_client *c, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    outf(c, "error %s", text);
}

static void usage(struct ctl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void usage(struct ctl_client *c, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    outf(c, "usage %s", text);
}

static void flush_out(struct ctl_client *c)
{
    while (c->out_len) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            c->closing = true;
            c->out_len = 0;
            return;
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
}

/* ------------------------------------------------------------ tickets */

static struct ctl_ticket *ticket_new(struct vmm_ctl *ctl, int client)
{
    for (int i = 0; i < CTL_TICKETS; i++) {
        struct ctl_ticket *t = &ctl->tickets[i];
        if (t->used)
            continue;
        t->ctl = ctl;
        t->used = true;
        t->client = client;
        t->req_id = ctl->c[client].req_id;
        return t;
    }
    return NULL;
}

/* The connection a callback answers, or NULL if it went away or moved on. */
static struct ctl_client *ticket_take(void *ctx)
{
    struct ctl_ticket *t = ctx;
    t->used = false;
    struct ctl_client *c = &t->ctl->c[t->client];
    if (c->fd < 0 || c->wait == W_NONE || c->req_id != t->req_id)
        return NULL;
    return c;
}

static int client_index(struct vmm_ctl *ctl, struct ctl_client *c)
{
    return (int)(c - ctl->c);
}

/* --------------------------------------------------------- parse helpers */

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_pool(const char *s, uint8_t *pool)
{
    static const char *const names[] = { "external", "guest", "auto", "auto_external",
                                         "auto_internal" };
    for (uint8_t i = 0; i < 5; i++) {
        if (!strcmp(s, names[i])) {
            *pool = i;
            return true;
        }
    }
    uint32_t v;
    if (!parse_u32(s, &v) || v > 4)
        return false;
    *pool = (uint8_t)v;
    return true;
}

/* --------------------------------------------------------- the commands */

static void cmd_help(struct ctl_client *c)
{
    static const char *const lines[] = {
        "status", "list", "heartbeat", "timesync", "shutdown [force]", "reboot [force]",
        "kvp get POOL KEY", "kvp set POOL KEY VALUE", "kvp delete POOL KEY", "kvp list POOL",
        "add nic SPEC", "add scsi", "add disk SPEC [RELID]", "add ic NAME",
        "remove disk LUN [RELID]", "rescind RELID", "stats", "help",
    };
    char buf[128];
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        outf(c, "command=%s", esc(lines[i], buf, sizeof(buf)));
    ok(c);
}

static void cmd_status(struct vmm *vm, struct ctl_client *c)
{
    outf(c, "vmm boots=%" PRIu64 " vcpus=%u mem_mib=%" PRIu64 " uptime_ms=%" PRIu64, vm->boots,
         vm->nr_vcpus, vm->ram_size >> 20, (vmm_now_ns() - vm->start_ns) / 1000000);
    if (!vm->bus) {
        outf(c, "vmbus enabled=0");
    } else {
        struct vmbus_server *srv = vm->bus->srv;
        uint32_t v = vmbus_server_version(srv);
        uint32_t n = 0;
        for (uint32_t r = 1; r <= VMM_BUS_MAX_CHANNELS; r++)
            n += vmbus_server_channel(srv, r) != NULL;
        outf(c, "vmbus enabled=1 connected=%d version=%u.%u target_vp=%u contacts=%" PRIu64
                " channels=%u",
             vmbus_server_connected(srv), v >> 16, v & 0xFFFF, vmbus_server_target_vp(srv),
             vm->inbox.st.contacts, n);
    }
    ok(c);
}

static void cmd_list(struct vmm *vm, struct ctl_client *c)
{
    if (!vm->bus) {
        error(c, "VMBus is off");
        return;
    }
    for (uint32_t r = 1; r <= VMM_BUS_MAX_CHANNELS; r++) {
        struct vmbus_channel *ch = vmbus_server_channel(vm->bus->srv, r);
        if (!ch)
            continue;
        struct vmbus_channel_info info;
        vmbus_channel_info(ch, &info);
        const struct vmbus_offer *o = vmbus_channel_offer(ch);
        char cls[VMBUS_GUID_STR_LEN], inst[VMBUS_GUID_STR_LEN], mon[8];
        vmbus_guid_format(&o->if_type, cls);
        vmbus_guid_format(&o->if_instance, inst);
        if (info.monitor_id == VMBUS_MONITOR_ID_NONE)
            snprintf(mon, sizeof(mon), "none");
        else
            snprintf(mon, sizeof(mon), "%u", info.monitor_id);
        outf(c, "channel relid=%u name=%s class=%s instance=%s subchannel=%u state=%s "
                "offered=%d connection=%#x monitor=%s target_vp=%u ring_pages=%u",
             info.relid, vmm_bus_channel_name(ch), cls, inst, o->sub_channel_index, info.state,
             info.offer_sent, info.connection_id, mon, info.target_vp, info.ring_pages);
    }
    ok(c);
}

static void cmd_heartbeat(struct vmm *vm, struct ctl_client *c)
{
    if (!vm->bus || !vm->bus->ic.heartbeat) {
        error(c, "no heartbeat service on the bus");
        return;
    }
    struct vmbus_heartbeat_status st;
    vmbus_heartbeat_status(vm->bus->ic.heartbeat, &st);
    uint64_t age = st.last_ok_ns ? (vmm_now_ns() - st.last_ok_ns) / 1000000 : 0;
    outf(c, "heartbeat negotiated=%d healthy=%d seq=%" PRIu64 " beats_ok=%" PRIu64
            " beats_bad=%" PRIu64 " missed=%u last_ok_ms_ago=%" PRIu64,
         st.negotiated, st.healthy, st.seq, st.beats_ok, st.beats_bad, st.missed,
         st.last_ok_ns ? age : (uint64_t)0);
    ok(c);
}

static void cmd_timesync(struct vmm *vm, struct ctl_client *c)
{
    if (!vm->bus || !vm->bus->ic.timesync) {
        error(c, "no timesync service on the bus");
        return;
    }
    vmbus_timesync_sync_now(vm->bus->ic.timesync);
    struct vmbus_timesync_status st;
    vmbus_timesync_status(vm->bus->ic.timesync, &st);
    outf(c, "timesync negotiated=%d version=%u syncs_sent=%" PRIu64 " samples_sent=%" PRIu64,
         st.negotiated, st.version_major, st.syncs_sent, st.samples_sent);
    ok(c);
}

static void shutdown_done(void *ctx, uint32_t status)
{
    struct ctl_client *c = ticket_take(ctx);
    if (!c)
        return;
    c->wait = W_NONE;
    if (status == VMBUS_IC_S_OK)
        ok(c);
    else if (status == VMBUS_IC_STATUS_LOST)
        error(c, "the guest's shutdown channel closed before it answered");
    else
        error(c, "the guest refused (status %#x)", status);
}

static void cmd_shutdown(struct vmm *vm, struct ctl_client *c, int argc, char **argv)
{
    bool reboot = !strcmp(argv[0], "reboot");
    bool force = false;
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "force"))) {
        usage(c, "%s [force]", argv[0]);
        return;
    }
    force = argc == 2;
    if (!vm->bus || !vm->bus->ic.shutdown) {
        error(c, "no shutdown service on the bus");
        return;
    }
    struct ctl_ticket *t = ticket_new(vm->ctl, client_index(vm->ctl, c));
    if (!t) {
        error(c, "too many requests are waiting for the guest");
        return;
    }
    c->wait = W_SHUTDOWN;
    if (vmbus_shutdown_request(vm->bus->ic.shutdown,
                               reboot ? VMBUS_SHUTDOWN_REBOOT : VMBUS_SHUTDOWN_POWEROFF, force,
                               NULL, shutdown_done, t) < 0) {
        t->used = false;
        c->wait = W_NONE;
        error(c, "a shutdown request is already pending");
    }
}

static void kvp_line(struct ctl_client *c, const struct vmbus_kvp_reply *r)
{
    char k[3 * VMBUS_KVP_KEY_MAX + 1], v[3 * VMBUS_KVP_VALUE_MAX + 1];
    if (r->op == VMBUS_KVP_OP_ENUMERATE)
        outf(c, "kvp pool=%u index=%u key=%s value=%s", r->pool, r->index,
             esc(r->key, k, sizeof(k)), esc(r->value, v, sizeof(v)));
    else
        outf(c, "kvp pool=%u key=%s value=%s", r->pool, esc(r->key, k, sizeof(k)),
             esc(r->value, v, sizeof(v)));
}

static bool kvp_status_ok(struct ctl_client *c, const struct vmbus_kvp_reply *r)
{
    if (r->status == VMBUS_IC_S_OK)
        return true;
    if (r->status == VMBUS_IC_STATUS_LOST)
        error(c, "the guest's KVP channel closed before it answered");
    else if (r->status == VMBUS_IC_S_CONT)
        error(c, "no such key");
    else
        error(c, "the guest answered status %#x", r->status);
    return false;
}

static void kvp_done(void *ctx, const struct vmbus_kvp_reply *r);

static bool kvp_next(struct vmm *vm, struct ctl_client *c)
{
    struct ctl_ticket *t = ticket_new(vm->ctl, client_index(vm->ctl, c));
    if (!t) {
        c->wait = W_NONE;
        error(c, "too many requests are waiting for the guest");
        return false;
    }
    if (vmbus_kvp_enumerate(vm->bus->ic.kvp, (enum vmbus_kvp_pool)c->pool, c->index, kvp_done,
                            t) < 0) {
        t->used = false;
        c->wait = W_NONE;
        error(c, "the KVP request queue is full");
        return false;
    }
    return true;
}

static void kvp_done(void *ctx, const struct vmbus_kvp_reply *r)
{
    struct ctl_client *c = ticket_take(ctx);
    if (!c)
        return;
    struct vmm *vm = ((struct ctl_ticket *)ctx)->ctl->vm;
    if (c->wait == W_KVP_LIST) {
        if (r->status == VMBUS_IC_S_OK) {
            kvp_line(c, r);
            c->index++;
            /* The service may have been rescinded meanwhile. */
            if (vm->bus && vm->bus->ic.kvp)
                kvp_next(vm, c);
            else {
                c->wait = W_NONE;
                error(c, "the KVP service went away");
            }
            return;
        }
        c->wait = W_NONE;
        /* Past the last item the guest answers "no more" (S_CONT or a
         * failure code, depending on the pool). */
        if (r->status == VMBUS_IC_STATUS_LOST)
            error(c, "the guest's KVP channel closed before it answered");
        else
            ok(c);
        return;
    }
    c->wait = W_NONE;
    if (!kvp_status_ok(c, r))
        return;
    if (r->op == VMBUS_KVP_OP_GET)
        kvp_line(c, r);
    ok(c);
}

static void cmd_kvp(struct vmm *vm, struct ctl_client *c, int argc, char **argv)
{
    if (argc < 3) {
        usage(c, "kvp get|set|delete|list POOL ...");
        return;
    }
    const char *op = argv[1];
    uint8_t pool;
    if (!parse_pool(argv[2], &pool)) {
        usage(c, "kvp: pool '%s' is not 0-4 or external, guest, auto, auto_external, "
                 "auto_internal", argv[2]);
        return;
    }
    int want = !strcmp(op, "set") ? 5 : !strcmp(op, "list") ? 3 : 4;
    if (strcmp(op, "get") && strcmp(op, "set") && strcmp(op, "delete") && strcmp(op, "list")) {
        usage(c, "kvp: unknown operation '%s' (get, set, delete, list)", op);
        return;
    }
    if (argc != want) {
        usage(c, "kvp %s POOL%s", op, want == 5 ? " KEY VALUE" : want == 4 ? " KEY" : "");
        return;
    }
    if (!vm->bus || !vm->bus->ic.kvp) {
        error(c, "no KVP service on the bus");
        return;
    }
    c->pool = pool;
    c->index = 0;
    if (!strcmp(op, "list")) {
        c->wait = W_KVP_LIST;
        kvp_next(vm, c);
        return;
    }
    struct ctl_ticket *t = ticket_new(vm->ctl, client_index(vm->ctl, c));
    if (!t) {
        error(c, "too many requests are waiting for the guest");
        return;
    }
    c->wait = W_KVP;
    int r;
    if (!strcmp(op, "get"))
        r = vmbus_kvp_get(vm->bus->ic.kvp, (enum vmbus_kvp_pool)pool, argv[3], kvp_done, t);
    else if (!strcmp(op, "set"))
        r = vmbus_kvp_set(vm->bus->ic.kvp, (enum vmbus_kvp_pool)pool, argv[3], argv[4], kvp_done,
                          t);
    else
        r = vmbus_kvp_delete(vm->bus->ic.kvp, (enum vmbus_kvp_pool)pool, argv[3], kvp_done, t);
    if (r < 0) {
        t->used = false;
        c->wait = W_NONE;
        error(c, "KVP request refused (queue full, or key/value too long or not UTF-8)");
    }
}

static void cmd_add(struct vmm *vm, struct ctl_client *c, int argc, char **argv)
{
    char err[512];
    int r;
    if (argc >= 2 && !strcmp(argv[1], "nic") && argc == 3) {
        r = vmm_bus_add_nic(vm, argv[2], err, sizeof(err));
        if (r >= 0)
            outf(c, "added relid=%d", r);
    } else if (argc == 2 && !strcmp(argv[1], "scsi")) {
        r = vmm_bus_add_scsi(vm, err, sizeof(err));
        if (r >= 0)
            outf(c, "added relid=%d", r);
    } else if (argc >= 3 && argc <= 4 && !strcmp(argv[1], "disk")) {
        uint32_t relid = 0;
        if (argc == 4 && !parse_u32(argv[3], &relid)) {
            usage(c, "add disk: '%s' is not a relid", argv[3]);
            return;
        }
        r = vmm_bus_add_disk(vm, argv[2], relid, err, sizeof(err));
        if (r >= 0)
            outf(c, "added lun=%d", r);
    } else if (argc == 3 && !strcmp(argv[1], "ic")) {
        r = vmm_bus_add_ic(vm, argv[2], err, sizeof(err));
        if (r >= 0)
            outf(c, "added relid=%d", r);
    } else {
        usage(c, "add nic SPEC | add scsi | add disk SPEC [RELID] | add ic NAME");
        return;
    }
    if (r < 0)
        error(c, "%s", err);
    else
        ok(c);
}

static void cmd_remove(struct vmm *vm, struct ctl_client *c, int argc, char **argv)
{
    uint32_t lun, relid = 0;
    if (argc < 3 || argc > 4 || strcmp(argv[1], "disk") || !parse_u32(argv[2], &lun) ||
        (argc == 4 && !parse_u32(argv[3], &relid))) {
        usage(c, "remove disk LUN [RELID]");
        return;
    }
    char err[512];
    if (vmm_bus_remove_disk(vm, lun, relid, err, sizeof(err)) < 0)
        error(c, "%s", err);
    else
        ok(c);
}

static void cmd_rescind(struct vmm *vm, struct ctl_client *c, int argc, char **argv)
{
    uint32_t relid;
    if (argc != 2 || !parse_u32(argv[1], &relid)) {
        usage(c, "rescind RELID");
        return;
    }
    char err[512];
    if (vmm_bus_rescind(vm, relid, err, sizeof(err)) < 0)
        error(c, "%s", err);
    else
        ok(c);
}

static void cmd_stats(struct vmm *vm, struct ctl_client *c)
{
    const struct vmm_inbox_stats *is = &vm->inbox.st;
    outf(c, "inbox posts=%" PRIu64 " posts_refused=%" PRIu64 " signals=%" PRIu64
            " wakeups=%" PRIu64 " retries=%" PRIu64 " contacts=%" PRIu64,
         atomic_load(&is->posts), atomic_load(&is->posts_refused), atomic_load(&is->signals),
         atomic_load(&is->wakeups), is->retries, is->contacts);
    if (vm->bus) {
        const struct vmbus_server_stats *s = vmbus_server_stats(vm->bus->srv);
        outf(c, "vmbus messages_in=%" PRIu64 " messages_bad=%" PRIu64 " messages_out=%" PRIu64
                " messages_dropped=%" PRIu64 " signals_in=%" PRIu64 " signals_out=%" PRIu64
                " packets_in=%" PRIu64 " packets_out=%" PRIu64 " ring_full=%" PRIu64
                " ring_violations=%" PRIu64,
             s->messages_in, s->messages_bad, s->messages_out, s->messages_dropped,
             s->signals_in, s->signals_out, s->packets_in, s->packets_out, s->ring_full,
             s->ring_violations);
    }
    ok(c);
}

static void run_command(struct vmm *vm, struct ctl_client *c, char *line)
{
    char *argv[CTL_ARGS_MAX];
    const char *why;
    int argc = ctl_split(line, argv, CTL_ARGS_MAX, &why);
    if (argc < 0) {
        usage(c, "malformed request: %s", why);
        return;
    }
    if (argc == 0) {
        usage(c, "empty request (try help)");
        return;
    }
    c->req_id = ++vm->ctl->next_req;
    const char *cmd = argv[0];
    bool bare = argc == 1;
    if (!strcmp(cmd, "help") && bare)
        cmd_help(c);
    else if (!strcmp(cmd, "status") && bare)
        cmd_status(vm, c);
    else if (!strcmp(cmd, "list") && bare)
        cmd_list(vm, c);
    else if (!strcmp(cmd, "heartbeat") && bare)
        cmd_heartbeat(vm, c);
    else if (!strcmp(cmd, "timesync") && bare)
        cmd_timesync(vm, c);
    else if (!strcmp(cmd, "stats") && bare)
        cmd_stats(vm, c);
    else if (!strcmp(cmd, "shutdown") || !strcmp(cmd, "reboot"))
        cmd_shutdown(vm, c, argc, argv);
    else if (!strcmp(cmd, "kvp"))
        cmd_kvp(vm, c, argc, argv);
    else if (!strcmp(cmd, "add"))
        cmd_add(vm, c, argc, argv);
    else if (!strcmp(cmd, "remove"))
        cmd_remove(vm, c, argc, argv);
    else if (!strcmp(cmd, "rescind"))
        cmd_rescind(vm, c, argc, argv);
    else if (!strcmp(cmd, "help") || !strcmp(cmd, "status") || !strcmp(cmd, "list") ||
             !strcmp(cmd, "heartbeat") || !strcmp(cmd, "timesync") || !strcmp(cmd, "stats"))
        usage(c, "%s takes no arguments", cmd);
    else {
        char buf[64];
        usage(c, "unknown command '%s' (try help)", esc(cmd, buf, sizeof(buf)));
    }
}

/* ------------------------------------------------------- connections */

static void client_close(struct ctl_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Run complete lines while the connection is not waiting for the guest. */
static void client_run(struct vmm *vm, struct ctl_client *c)
{
    while (c->wait == W_NONE && !c->closing) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (!nl)
            break;
        *nl = 0;
        size_t used = (size_t)(nl - c->in) + 1;
        if (nl > c->in && nl[-1] == '\r')
            nl[-1] = 0;
        if (c->discard) {
            c->discard = false;
            usage(c, "request longer than %u bytes", CTL_LINE_MAX - 1);
        } else {
            run_command(vm, c, c->in);
        }
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
}

static void client_read(struct vmm *vm, struct ctl_client *c)
{
    for (;;) {
        if (c->in_len == sizeof(c->in)) {
            /* No newline in a full buffer: drop it and answer at the
             * newline that ends it. */
            c->discard = true;
            c->in_len = 0;
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
        if (r > 0) {
            c->in_len += (size_t)r;
            client_run(vm, c);
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        /* EOF: answer what is complete, then close when written. */
        client_run(vm, c);
        c->closing = true;
        return;
    }
}

static void accept_clients(struct vmm_ctl *ctl)
{
    for (;;) {
        int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int i;
        for (i = 0; i < CTL_CLIENTS; i++)
            if (ctl->c[i].fd < 0)
                break;
        if (i == CTL_CLIENTS) {
            static const char busy[] = "error too many control connections\n";
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        ctl->c[i].fd = fd;
    }
}

int vmm_ctl_pollfds(struct vmm *vm, struct pollfd *fds, int max)
{
    struct vmm_ctl *ctl = vm->ctl;
    if (!ctl || max < 1)
        return 0;
    int n = 0;
    fds[n++] = (struct pollfd){ .fd = ctl->lfd, .events = POLLIN };
    for (int i = 0; i < CTL_CLIENTS && n < max; i++) {
        struct ctl_client *c = &ctl->c[i];
        if (c->fd < 0)
            continue;
        short ev = 0;
        /* A waiting connection reads nothing more until it is answered. */
        if (c->wait == W_NONE && !c->closing)
            ev |= POLLIN;
        if (c->out_len)
            ev |= POLLOUT;
        fds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
    }
    return n;
}

void vmm_ctl_handle(struct vmm *vm, const struct pollfd *fds, int n)
{
    struct vmm_ctl *ctl = vm->ctl;
    if (!ctl)
        return;
    for (int k = 0; k < n; k++) {
        if (!fds[k].revents)
            continue;
        if (fds[k].fd == ctl->lfd) {
            accept_clients(ctl);
            continue;
        }
        for (int i = 0; i < CTL_CLIENTS; i++) {
            struct ctl_client *c = &ctl->c[i];
            if (c->fd != fds[k].fd)
                continue;
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR))
                client_read(vm, c);
            break;
        }
    }
    /* Answers may also have come from callbacks run by the bus: write
     * whatever is pending, then retire finished connections. */
    for (int i = 0; i < CTL_CLIENTS; i++) {
        struct ctl_client *c = &ctl->c[i];
        if (c->fd < 0)
            continue;
        client_run(vm, c);
        flush_out(c);
        if (c->closing && !c->out_len && c->wait == W_NONE)
            client_close(c);
        else if (c->closing && c->wait != W_NONE) {
            /* Gone while waiting: the answer has nowhere to go. */
            client_close(c);
        }
    }
}

/* ------------------------------------------------------- open/close */

int vmm_ctl_open(struct vmm *vm, const char *path, char *err, size_t err_len)
{
    struct vmm_ctl *ctl = calloc(1, sizeof(*ctl));
    if (!ctl) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    ctl->vm = vm;
    for (int i = 0; i < CTL_CLIENTS; i++)
        ctl->c[i].fd = -1;
    if (strlen(path) >= sizeof(ctl->path)) {
        snprintf(err, err_len, "--ctl: path longer than %zu bytes", sizeof(ctl->path) - 1);
        free(ctl);
        return -1;
    }
    snprintf(ctl->path, sizeof(ctl->path), "%s", path);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    memcpy(a.sun_path, ctl->path, strlen(ctl->path) + 1);
    ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ctl->lfd < 0) {
        snprintf(err, err_len, "--ctl: socket: %s", strerror(errno));
        free(ctl);
        return -1;
    }
    int rc = bind(ctl->lfd, (struct sockaddr *)&a, sizeof(a));
    if (rc < 0 && errno == EADDRINUSE) {
        /* A socket nobody listens on is left over from a VMM that died:
         * take its place. Anything else at that path is kept. */
        struct stat st;
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool stale = probe >= 0 && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
                     connect(probe, (struct sockaddr *)&a, sizeof(a)) < 0 &&
                     errno == ECONNREFUSED;
        if (probe >= 0)
            close(probe);
        if (!stale) {
            snprintf(err, err_len, "--ctl %s: the path exists and is not a stale socket", path);
            close(ctl->lfd);
            free(ctl);
            return -1;
        }
        unlink(path);
        rc = bind(ctl->lfd, (struct sockaddr *)&a, sizeof(a));
    }
    if (rc < 0 || listen(ctl->lfd, 8) < 0) {
        snprintf(err, err_len, "--ctl %s: %s", path, strerror(errno));
        close(ctl->lfd);
        free(ctl);
        return -1;
    }
    vm->ctl = ctl;
    return 0;
}

void vmm_ctl_close(struct vmm *vm)
{
    struct vmm_ctl *ctl = vm->ctl;
    if (!ctl)
        return;
    for (int i = 0; i < CTL_CLIENTS; i++) {
        if (ctl->c[i].fd >= 0) {
            flush_out(&ctl->c[i]);
            client_close(&ctl->c[i]);
        }
    }
    close(ctl->lfd);
    unlink(ctl->path);
    free(ctl);
    vm->ctl = NULL;
}
