/* SPDX-License-Identifier: MIT */
#include "tap.h"

#include "hv.h"
#include "rt/apic.h"
#include "rt/console.h"
#include "rt/cpu.h"
#include "rt/lib.h"
#include "rt/platform.h"
#include "rt/x86.h"

#define DEFAULT_TIMEOUT_S 10

static struct {
    unsigned asserts;
    bool failed;
    bool skipped;
    char skip_reason[160];
    char notes[3072];
    unsigned notes_len;
} cur;

static unsigned n_total, n_pass, n_fail, n_skip;

static void note_raw(const char *prefix, const char *fmt, va_list ap)
{
    char line[300];
    int n = snprintf(line, sizeof(line), "#   %s", prefix);
    if (n < 0 || (unsigned)n >= sizeof(line))
        n = 0;
    vsnprintf(line + n, sizeof(line) - (unsigned)n, fmt, ap);
    size_t len = strlen(line);
    if (cur.notes_len + len + 2 >= sizeof(cur.notes))
        return;
    memcpy(cur.notes + cur.notes_len, line, len);
    cur.notes_len += (unsigned)len;
    cur.notes[cur.notes_len++] = '\n';
    cur.notes[cur.notes_len] = 0;
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note_raw("", fmt, ap);
    va_end(ap);
}

bool expect(bool cond, const char *fmt, ...)
{
    cur.asserts++;
    if (cond)
        return true;
    cur.failed = true;
    va_list ap;
    va_start(ap, fmt);
    note_raw("FAIL: ", fmt, ap);
    va_end(ap);
    return false;
}

void skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cur.skip_reason, sizeof(cur.skip_reason), fmt, ap);
    va_end(ap);
    cur.skipped = true;
}

bool check_failed(void)
{
    return cur.failed;
}

bool expect_status(uint64_t rax, unsigned want, const char *what)
{
    unsigned s = HV_STATUS(rax);
    return expect(s == want, "%s: status %#x %s, expected %#x %s (rax %lx)", what, s,
                  hv_status_name(s), want, hv_status_name(want), rax);
}

bool expect_status2(uint64_t rax, unsigned a, unsigned b, const char *what)
{
    unsigned s = HV_STATUS(rax);
    return expect(s == a || s == b, "%s: status %#x %s, expected %s or %s (rax %lx)", what,
                  s, hv_status_name(s), hv_status_name(a), hv_status_name(b), rax);
}

bool expect_no_fault(int vector, const char *what)
{
    return expect(vector < 0, "%s: unexpected %s (vector %d)", what,
                  vector >= 0 ? vector_name((unsigned)vector) : "", vector);
}

bool expect_fault(int vector, int want, const char *what)
{
    if (vector < 0)
        return expect(false, "%s: no fault, expected %s", what, vector_name((unsigned)want));
    return expect(vector == want, "%s: %s, expected %s", what, vector_name((unsigned)vector),
                  vector_name((unsigned)want));
}

static void run_one(const struct check_group *g, const struct check *k, unsigned index)
{
    struct cpu *c = this_cpu();
    memset(&cur, 0, sizeof(cur));
    n_total++;

    if (check_excluded(g->name, index)) {
        skip("excluded by skip=%s.%u", g->name, index);
    } else if (g->needs_hv && !hv.present) {
        skip("not a Hyper-V host (CPUID 0x40000001.EAX is not \"Hv#1\")");
    } else {
        struct jmpctx j;
        irq_enable();
        if (CATCH(&j)) {
            c->check_ctx = &j;
            watchdog_arm((uint64_t)(k->timeout_s ? k->timeout_s : DEFAULT_TIMEOUT_S) *
                         1000000ull);
            k->fn(k);
            watchdog_disarm();
            catch_pop(&j);
        } else {
            watchdog_disarm();
            cur.failed = true;
            char why[160];
            snprintf(why, sizeof(why), "abandoned: %s (vector %u) at rip %lx",
                     vector_name(j.vector), j.vector, j.fault_rip);
            note("FAIL: %s", why);
        }
        c->check_ctx = 0;
        c->catch_top = 0;
        quiesce_after_check();
        if (!cur.failed && !cur.skipped && !cur.asserts) {
            cur.failed = true;
            note("FAIL: the check made no assertion");
        }
    }

    /* A check that found a failure before skipping still fails. */
    if (cur.failed) {
        n_fail++;
        cprintf("not ok %u - [\xC2\xA7%s] %s\n", n_total, k->section, k->name);
    } else if (cur.skipped) {
        n_skip++;
        cprintf("ok %u - [\xC2\xA7%s] %s # SKIP %s\n", n_total, k->section, k->name,
                cur.skip_reason);
    } else {
        n_pass++;
        cprintf("ok %u - [\xC2\xA7%s] %s\n", n_total, k->section, k->name);
    }
    if (cur.notes_len && (cur.failed || opt.verbose))
        cputs(cur.notes);
}

void run_groups(const struct check_group *groups, unsigned n)
{
    for (unsigned gi = 0; gi < n; gi++) {
        const struct check_group *g = &groups[gi];
        if (strcmp(g->name, "selftest") && !group_selected(g->name))
            continue;
        cprintf("# group %s\n", g->name);
        for (unsigned i = 0; g->checks[i].fn; i++)
            run_one(g, &g->checks[i], i + 1);
    }
    cprintf("1..%u\n", n_total);
    cprintf("# summary: %u checks, %u passed, %u failed, %u skipped\n", n_total, n_pass,
            n_fail, n_skip);
    debug_exit(n_fail ? 1 : 0);
}
