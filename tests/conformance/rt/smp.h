/* SPDX-License-Identifier: MIT */
/* AP start-up (INIT/SIPI) and running a function on another CPU. */
#ifndef HVCONF_SMP_H
#define HVCONF_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* Starts the APs and waits for `expected` of them in total (BSP included),
 * or for a fixed grace period when expected is 0. Returns CPUs online. */
unsigned smp_boot(unsigned expected);

/* Runs fn(arg) on CPU n and waits up to timeout_us. False if the CPU is not
 * online or lost, if fn faulted or ran out of time (cpus[n].work_fault
 * says which), or if the CPU stopped answering (then it is marked lost). */
bool run_on(unsigned n, work_fn fn, void *arg, uint64_t timeout_us);

/* Starts fn(arg) on CPU n without waiting; run_wait() collects it. */
bool run_start(unsigned n, work_fn fn, void *arg);
bool run_start_timeout(unsigned n, work_fn fn, void *arg, uint64_t timeout_us);
bool run_wait(unsigned n, uint64_t timeout_us);

/* CPUs usable for a check (online and not lost). */
bool cpu_usable(unsigned n);

#endif
