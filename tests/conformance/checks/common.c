/* SPDX-License-Identifier: MIT */
/* Shared helpers for the Hyper-V checks, and the cleanup after each check. */
#include "common.h"

#include "../rt/apic.h"
#include "../rt/cpu.h"
#include "../rt/smp.h"
#include "../rt/x86.h"

static void quiesce_here(void *arg)
{
    (void)arg;
    irq_disable();
    watchdog_disarm();
    apic_write(APIC_TPR, 0);
    apic_drain_isr();
    irq_enable();
}

void quiesce_after_check(void)
{
    quiesce_here(0);
    for (unsigned i = 1; i < ncpus; i++)
        if (cpu_usable(i))
            run_on(i, quiesce_here, 0, 1000000);
    irq_reset_hooks();
}
