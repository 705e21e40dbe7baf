/* SPDX-License-Identifier: MIT */
#include "user.h"

#include "cpu.h"
#include "lib.h"

static uint8_t user_stacks[MAX_CPUS][8192] ALIGNED(16);

int run_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *ret)
{
    struct cpu *c = this_cpu();
    struct jmpctx j;
    *ret = 0;
    if (CATCH(&j))
        enter_user(fn, arg, (uint64_t)(user_stacks[c->index] + sizeof(user_stacks[0])));
    if (j.vector == VEC_USER_EXIT) {
        *ret = j.user_result;
        return -1;
    }
    return (int)j.vector;
}
