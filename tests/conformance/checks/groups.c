/* SPDX-License-Identifier: MIT */
#include "groups.h"

#include "../rt/lib.h"

const struct check_group all_groups[] = {
    { "selftest", selftest_checks, false },
};
const unsigned n_all_groups = ARRAY_SIZE(all_groups);
