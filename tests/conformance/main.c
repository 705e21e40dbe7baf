/* SPDX-License-Identifier: MIT */
/*
 * hvconf: a freestanding guest that checks a host's Hyper-V interface
 * against the TLFS and reports TAP 13 on COM1, then leaves through
 * isa-debug-exit (0 = all passed, 1 = something failed).
 */
#include "checks/groups.h"
#include "hv.h"
#include "rt/apic.h"
#include "rt/console.h"
#include "rt/cpu.h"
#include "rt/lib.h"
#include "rt/paging.h"
#include "rt/platform.h"
#include "rt/smp.h"
#include "rt/timebase.h"
#include "rt/x86.h"
#include "tap.h"

extern uint32_t boot_mb_magic, boot_mb_info;
unsigned expected_cpus;

static void print_header(void)
{
    cprintf("TAP version 13\n");
    cprintf("# hvconf: TLFS conformance kernel (sections refer to TLFS v6.0b)\n");
    cprintf("# cmdline: %s\n", plat.cmdline ? plat.cmdline : "(none)");
    cprintf("# cpus: %u online, %u expected (%s)\n", ncpus, expected_cpus,
            opt.cpus ? "cpus=" : plat.fw_cfg ? "fw_cfg" : "unknown: waited 300 ms");
    cprintf("# tsc: %lu Hz from %s; apic timer %lu Hz; %s mode\n", tsc_hz, tsc_hz_source,
            apic_timer_hz, apic_x2 ? "x2APIC" : "xAPIC");
    cprintf("# ram top: %#lx, physical address bits: %u\n", plat.ram_top, plat.phys_bits);
    if (!hv.present) {
        cprintf("# host: not a Hyper-V host (vendor \"%s\")\n", hv.vendor);
        return;
    }
    cprintf("# host: vendor \"%s\", max leaf %#x, version %x.%x build %u\n", hv.vendor,
            hv.max_leaf, hv.version[1] >> 16, hv.version[1] & 0xFFFF, hv.version[0]);
    cprintf("# 0x40000003: eax %08x ebx %08x ecx %08x edx %08x\n", hv.features[0],
            hv.features[1], hv.features[2], hv.features[3]);
    cprintf("# 0x40000004: eax %08x ebx %08x; 0x40000005: eax %u ebx %u\n",
            hv.recommend[0], hv.recommend[1], hv.limits[0], hv.limits[1]);
}

void kmain(void);
void kmain(void)
{
    struct cpu *bsp = &cpus[0];
    bsp->index = 0;
    cpu_setup_common(bsp);
    console_init();
    platform_init(boot_mb_magic, boot_mb_info);

    hv_detect();
    uint64_t hint = 0;
    if (hv.present && hv_priv(HV_EAX_FREQUENCY) && rdmsr_safe(HV_MSR_TSC_FREQUENCY, &hint) >= 0)
        hint = 0;
    timebase_init(hint);

    legacy_pic_disable();
    apic_choose_mode(opt.x2apic);
    apic_init_cpu();
    bsp->apic_id = apic_id();
    bsp->online = 1;
    apic_timer_calibrate();
    paging_init();

    expected_cpus = opt.cpus ? opt.cpus : plat.fw_cfg ? plat.fw_cfg_cpus : 0;
    if (expected_cpus > MAX_CPUS)
        expected_cpus = MAX_CPUS;
    smp_boot(expected_cpus);
    if (hv.present)
        hv_read_vp_indexes();

    print_header();
    run_groups(all_groups, n_all_groups);
}
