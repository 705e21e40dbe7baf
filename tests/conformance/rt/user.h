/* SPDX-License-Identifier: MIT */
/* Running a function at CPL3 and getting its result or fault back. */
#ifndef HVCONF_USER_H
#define HVCONF_USER_H

#include <stdint.h>

/* Returns -1 and *ret = fn(arg) when fn returned normally at CPL3, else
 * the vector of the fault that ended it. */
int run_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *ret);

#endif
