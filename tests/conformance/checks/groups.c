/* SPDX-License-Identifier: MIT */
#include "groups.h"

#include "../rt/lib.h"

/* Order matters: "msr" starts with reset-value checks that must see the
 * state the host created, before other groups change it. */
const struct check_group all_groups[] = {
    { "selftest", selftest_checks, false },
    { "cpuid", cpuid_checks, false },
    { "msr", msr_checks, true },
    { "hypercall", hypercall_checks, true },
    { "synic", synic_checks, true },
    { "stimer", stimer_checks, true },
    { "tsc", tsc_checks, true },
    { "ipi", ipi_checks, true },
    { "flush", flush_checks, true },
    { "crash", crash_checks, true },
    { "hostile", hostile_checks, true },
};
const unsigned n_all_groups = ARRAY_SIZE(all_groups);
