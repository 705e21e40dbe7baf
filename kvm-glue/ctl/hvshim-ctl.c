/* SPDX-License-Identifier: MIT */
/*
 * hvshim-ctl: send one command to a running hvshim-kvm through its control
 * socket (--ctl PATH) and print the answer (docs/kvm-host.md, "Control
 * socket"). Data lines go to stdout as the VMM wrote them (values
 * %-escaped); a failure is one line on stderr.
 *
 * Exit status: 0 done; 1 the command failed, the VMM could not be reached,
 * or no answer came in time; 2 bad input (one line on stderr).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kvm-glue/ctl/proto.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("hvshim-ctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

static void help(FILE *f)
{
    fputs("usage: hvshim-ctl [-s SOCKET] [-t SECONDS] COMMAND [ARG...]\n"
          "  -s SOCKET   the VMM's --ctl path (default: $HVSHIM_CTL)\n"
          "  -t SECONDS  give up waiting for the answer after this long (default 60, 0: never)\n"
          "commands:\n"
          "  status | list | heartbeat | timesync | stats | help\n"
          "  shutdown [force] | reboot [force]\n"
          "  kvp get POOL KEY | kvp set POOL KEY VALUE | kvp delete POOL KEY | kvp list POOL\n"
          "      POOL: 0-4 or external, guest, auto, auto_external, auto_internal\n"
          "  add nic tap=NAME[,mac=MAC][,bridge=BR][,mtu=N] | add scsi\n"
          "  add disk file=PATH[,ro][,direct][,serial=S][,lun=N] [RELID] | add ic NAME\n"
          "  remove disk LUN [RELID] | rescind RELID\n"
          "exit status: 0 done, 1 failed (or no answer), 2 bad input\n",
          f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *path = getenv("HVSHIM_CTL");
    double timeout = 60;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "-t")) && i + 1 >= argc)
            die(EXIT_USAGE, "option %s needs an argument", argv[i]);
        if (!strcmp(argv[i], "-s")) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "-t")) {
            char *end;
            errno = 0;
            timeout = strtod(argv[++i], &end);
            if (errno || *end || end == argv[i] || timeout < 0 || timeout > 1e7)
                die(EXIT_USAGE, "-t: '%s' is not a number of seconds", argv[i]);
        } else {
            die(EXIT_USAGE, "unknown option '%s' (see --help)", argv[i]);
        }
    }
    if (i >= argc)
        die(EXIT_USAGE, "no command (see --help)");
    if (!path || !*path)
        die(EXIT_USAGE, "no control socket: give -s PATH or set HVSHIM_CTL");

    /* The request: each argument escaped, one space apart. */
    char req[CTL_LINE_MAX];
    size_t len = 0;
    if (argc - i > (int)CTL_ARGS_MAX)
        die(EXIT_USAGE, "too many arguments (at most %u words)", CTL_ARGS_MAX);
    for (int k = i; k < argc; k++) {
        if (!argv[k][0])
            die(EXIT_USAGE, "argument %d is empty", k - i + 1);
        if (k > i)
            req[len++] = ' ';
        long n = ctl_escape(argv[k], strlen(argv[k]), req + len, sizeof(req) - len - 1);
        if (n < 0)
            die(EXIT_USAGE, "command longer than %u bytes", CTL_LINE_MAX - 1);
        len += (size_t)n;
    }
    req[len++] = '\n';

    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path))
        die(EXIT_USAGE, "socket path longer than %zu bytes", sizeof(a.sun_path) - 1);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(EXIT_FAILED, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die(EXIT_FAILED, "cannot reach the VMM at %s: %s", path, strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die(EXIT_FAILED, "sending the command: %s", strerror(errno));
        }
        off += (size_t)w;
    }

    /* Data lines until the final one. */
    static char buf[2 * CTL_LINE_MAX];
    size_t have = 0;
    double deadline = timeout > 0 ? now_s() + timeout : 0;
    for (;;) {
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            *nl = 0;
            size_t used = (size_t)(nl - buf) + 1;
            switch (ctl_final_kind(buf)) {
            case CTL_OK:
                return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
            case CTL_ERROR:
                fflush(stdout);
                die(EXIT_FAILED, "%s", buf[5] ? buf + 6 : "failed");
            case CTL_USAGE:
                fflush(stdout);
                die(EXIT_USAGE, "%s", buf[5] ? buf + 6 : "bad command");
            case CTL_DATA:
                puts(buf);
                break;
            }
            memmove(buf, buf + used, have - used);
            have -= used;
        }
        if (have == sizeof(buf))
            die(EXIT_FAILED, "answer line too long");
        int wait_ms = -1;
        if (deadline) {
            double left = deadline - now_s();
            if (left <= 0)
                die(EXIT_FAILED, "no answer within %g s", timeout);
            wait_ms = (int)(left * 1000) + 1;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, wait_ms);
        if (r < 0 && errno != EINTR)
            die(EXIT_FAILED, "poll: %s", strerror(errno));
        if (r <= 0)
            continue;
        ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die(EXIT_FAILED, "reading the answer: %s", strerror(errno));
        if (n == 0)
            die(EXIT_FAILED, "the VMM closed the connection without an answer (did it exit?)");
        have += (size_t)n;
    }
}
