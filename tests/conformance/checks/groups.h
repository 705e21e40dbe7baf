/* SPDX-License-Identifier: MIT */
/* The check groups, in the order they run. */
#ifndef HVCONF_GROUPS_H
#define HVCONF_GROUPS_H

#include "../tap.h"

extern const struct check_group all_groups[];
extern const unsigned n_all_groups;
extern unsigned expected_cpus;

extern const struct check selftest_checks[];
extern const struct check cpuid_checks[];
extern const struct check msr_checks[];
extern const struct check hypercall_checks[];
extern const struct check synic_checks[];
extern const struct check stimer_checks[];
extern const struct check tsc_checks[];
extern const struct check ipi_checks[];
extern const struct check flush_checks[];
extern const struct check crash_checks[];
extern const struct check hostile_checks[];

#endif
