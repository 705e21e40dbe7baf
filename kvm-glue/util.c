/* SPDX-License-Identifier: MIT */
/* Diagnostics and clocks shared by the VMM's files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

void vmm_die(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("hvshim-kvm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stdout);
    /* _exit: vCPU threads may be inside KVM_RUN; atexit handlers and
     * stdio locks are not safe to run from here. */
    _exit(status);
}

void vmm_warn(const char *fmt, ...)
{
    va_list ap;
    fputs("hvshim-kvm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

uint64_t vmm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
