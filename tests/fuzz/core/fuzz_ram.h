/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM of the core fuzz targets' in-harness hosts: FUZZ_RAM_PAGES
 * pages from GPA 0 (the includer defines the count), bounded copies, and
 * page maps counted so that a mapping left behind at destroy is a finding.
 * The host's context must start with a struct fuzz_ram.
 */
#ifndef HVSHIM_FUZZ_RAM_H
#define HVSHIM_FUZZ_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvshim/hvshim.h"

#ifndef FUZZ_RAM_PAGES
#error "define FUZZ_RAM_PAGES before including fuzz_ram.h"
#endif
#define FUZZ_RAM_SIZE (FUZZ_RAM_PAGES * HV_PAGE_SIZE)

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

struct fuzz_ram {
    uint8_t bytes[FUZZ_RAM_SIZE];
    uint32_t maps;
};

static bool fuzz_ram_range(uint64_t gpa, size_t len)
{
    return gpa < FUZZ_RAM_SIZE && len <= FUZZ_RAM_SIZE - gpa;
}

static int fuzz_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct fuzz_ram *m = ctx;
    if (!fuzz_ram_range(gpa, len))
        return -1;
    memcpy(buf, m->bytes + gpa, len);
    return 0;
}

static int fuzz_gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct fuzz_ram *m = ctx;
    if (!fuzz_ram_range(gpa, len))
        return -1;
    memcpy(m->bytes + gpa, buf, len);
    return 0;
}

static void *fuzz_page_map(void *ctx, uint64_t gfn)
{
    struct fuzz_ram *m = ctx;
    if (gfn >= FUZZ_RAM_PAGES)
        return NULL;
    m->maps++;
    return m->bytes + gfn * HV_PAGE_SIZE;
}

static void fuzz_page_unmap(void *ctx, void *page)
{
    struct fuzz_ram *m = ctx;
    CHECK(page != NULL && m->maps > 0);
    CHECK((uint8_t *)page >= m->bytes && (uint8_t *)page < m->bytes + FUZZ_RAM_SIZE);
    m->maps--;
}

/* A one-byte page (ret): the core only needs the fill to succeed or fail. */
static int fuzz_hypercall_page_fill(void *ctx, uint64_t gpa)
{
    struct fuzz_ram *m = ctx;
    if (!fuzz_ram_range(gpa, HV_PAGE_SIZE))
        return -1;
    m->bytes[gpa] = 0xC3;
    return 0;
}

#endif
