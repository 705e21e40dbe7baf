/* SPDX-License-Identifier: MIT */
/* What the loader and the machine tell us: memory, command line, CPUs. */
#ifndef HVCONF_PLATFORM_H
#define HVCONF_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct options {
    char groups[256];           /* comma list from groups=, empty = all */
    char skip[256];             /* skip=group.N,...: checks not to run (1-based) */
    bool verbose;
    bool x2apic;                /* run the APIC in x2APIC mode */
    unsigned cpus;              /* cpus=N overrides the detected count */
    uint32_t event_conn;        /* event_conn=ID: a host connection that
                                   signals this guest's SINT (0 = none) */
    uint32_t msg_conn;          /* msg_conn=ID: same for messages */
    unsigned event_sint;        /* sint the host routes event_conn to */
    unsigned msg_sint;
};

struct platform {
    bool multiboot;
    uint64_t ram_top;           /* highest RAM byte + 1 from the memory map */
    const char *cmdline;
    bool fw_cfg;
    unsigned fw_cfg_cpus;
    unsigned phys_bits;         /* CPUID 0x80000008 */
};

extern struct options opt;
extern struct platform plat;

void platform_init(uint32_t mb_magic, uint32_t mb_info);
bool group_selected(const char *group);
bool check_excluded(const char *group, unsigned index);

#endif
