/* SPDX-License-Identifier: MIT */
#include "paging.h"

#include "layout.h"
#include "lib.h"
#include "x86.h"

extern uint64_t boot_pml4[512];
static uint64_t test_pdpt[512] ALIGNED(4096);
static uint64_t test_pd[512] ALIGNED(4096);
static volatile uint64_t test_pt[512] ALIGNED(4096);

void paging_init(void)
{
    test_pd[0] = (uint64_t)(uintptr_t)test_pt | PTE_P | PTE_W;
    test_pdpt[0] = (uint64_t)(uintptr_t)test_pd | PTE_P | PTE_W;
    boot_pml4[(TEST_VA_BASE >> 39) & 511] = (uint64_t)(uintptr_t)test_pdpt | PTE_P | PTE_W;
    write_cr3(read_cr3());
}

void test_map(unsigned i, uint64_t pa)
{
    test_pt[i % TEST_VA_PAGES] = (pa & ~0xFFFull) | PTE_P | PTE_W;
}

void test_unmap(unsigned i)
{
    test_pt[i % TEST_VA_PAGES] = 0;
}
