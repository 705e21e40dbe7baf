/* SPDX-License-Identifier: MIT */
/*
 * Check registry and TAP 13 output. Every check is one TAP line:
 *   ok N - [§<TLFS v6.0b section>] <description>
 * A check calls expect*() (any false one fails it), skip() (with the
 * reason: usually "not advertised"), and note() for diagnostics, which are
 * printed after a failed or skipped line, or always with "verbose".
 */
#ifndef HVCONF_TAP_H
#define HVCONF_TAP_H

#include <stdbool.h>
#include <stdint.h>

struct check {
    const char *section;    /* TLFS v6.0b section number, e.g. "11.8.5" */
    const char *name;
    void (*fn)(const struct check *self);
    const void *arg;        /* table-driven checks read their row here */
    unsigned timeout_s;     /* 0: the default */
};

/* A group's table ends with CHECK_END. */
struct check_group {
    const char *name;       /* groups= option value */
    const struct check *checks;
    bool needs_hv;          /* skip all when the host is not Hyper-V */
};

#define CHECK(sec, desc, f) { .section = (sec), .name = (desc), .fn = (f) }
#define CHECK_ARG(sec, desc, f, a) \
    { .section = (sec), .name = (desc), .fn = (f), .arg = (a) }
#define CHECK_T(sec, desc, f, secs) \
    { .section = (sec), .name = (desc), .fn = (f), .timeout_s = (secs) }
#define CHECK_END { .fn = 0 }

bool expect(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool check_failed(void);

/* Common expectation shapes; each returns whether it held. */
bool expect_status(uint64_t rax, unsigned want, const char *what);
bool expect_status2(uint64_t rax, unsigned a, unsigned b, const char *what);
bool expect_no_fault(int vector, const char *what);
bool expect_fault(int vector, int want, const char *what);

void run_groups(const struct check_group *groups, unsigned n);

/* Called after every check (defined by the checks: undoes Hyper-V state). */
void quiesce_after_check(void);

#endif
