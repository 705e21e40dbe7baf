/* SPDX-License-Identifier: MIT */
/*
 * hvshimd: the dom0 VMBus daemon for hvshim on Xen (daemon.c does the
 * work). Runs in the foreground; SIGTERM/SIGINT stop it in order, saving
 * each domain's bus state so the next hvshimd resumes it.
 *
 *   hvshimd [--state-dir DIR] [--no-state] [--verbose]
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen-glue/toolstack/daemon.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    struct hvd_options opt = { .state_dir = "/run/hvshimd" };
    struct sigaction sa;
    char err[256];
    struct hvd *d;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
            opt.state_dir = argv[++i];
        else if (!strcmp(argv[i], "--no-state"))
            opt.state_dir = NULL;
        else if (!strcmp(argv[i], "--verbose"))
            opt.verbose = true;
        else {
            fprintf(stderr, "hvshimd: usage: hvshimd [--state-dir DIR] [--no-state] "
                            "[--verbose]\n");
            return 2;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = hvd_create(&opt, err, sizeof(err));
    if (!d) {
        fprintf(stderr, "hvshimd: %s\n", err);
        return 1;
    }
    fprintf(stderr, "hvshimd: serving %zu configured domain(s)\n", hvd_domain_count(d));
    while (!stop)
        if (hvd_run_once(d, 1000)) {
            fprintf(stderr, "hvshimd: lost xenstore: exiting\n");
            hvd_destroy(d, true);
            return 1;
        }
    hvd_destroy(d, true);
    return 0;
}
