/* SPDX-License-Identifier: MIT */
/* A window of 4 KiB mappings whose PTEs the flush checks rewrite. */
#ifndef HVCONF_PAGING_H
#define HVCONF_PAGING_H

#include <stdint.h>

#define TEST_VA_BASE  0x8000000000ull     /* PML4 slot 1: 512 GiB */
#define TEST_VA_PAGES 512

void paging_init(void);
/* Points test page i at physical page pa (no INVLPG: callers decide). */
void test_map(unsigned i, uint64_t pa);
void test_unmap(unsigned i);
static inline volatile uint64_t *test_va(unsigned i)
{
    return (volatile uint64_t *)(TEST_VA_BASE + (uint64_t)i * 4096);
}

#endif
