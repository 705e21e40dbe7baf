/* SPDX-License-Identifier: MIT */
/*
 * The guest TSC and its frequency. There is no TSC scaling here
 * (KVM_CAP_TSC_CONTROL is 0 on the hosts we target), so the guest counts at
 * the host rate, offset by what KVM gave vCPU 0. The rate KVM reports is
 * cross-checked against CLOCK_MONOTONIC over >= 100 ms; the calibrated
 * value is what the guest is told (frequency MSR, TSC page scale).
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

#define CALIBRATE_NS 100000000ull

/* KVM_GET_TSC_KHZ is a vCPU ioctl: ask a throwaway VM before ours exists
 * (the partition needs the frequency before vCPUs get their CPUID). */
static uint64_t kvm_tsc_khz(struct vmm *vm)
{
    int khz = -1;
    int vmfd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vmfd >= 0) {
        int cpu = ioctl(vmfd, KVM_CREATE_VCPU, 0ul);
        if (cpu >= 0) {
            khz = ioctl(cpu, KVM_GET_TSC_KHZ, 0);
            close(cpu);
        }
        close(vmfd);
    }
    return khz > 0 ? (uint64_t)khz : 0;
}

void vmm_tsc_calibrate(struct vmm *vm)
{
    vm->tsc_khz_kvm = kvm_tsc_khz(vm);

    /* Bracket each clock read with TSC reads and keep the tightest pair,
     * so preemption between the two reads does not skew the result. */
    uint64_t t0 = 0, c0 = 0, best0 = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        uint64_t a = vmm_rdtsc(), ns = vmm_now_ns(), b = vmm_rdtsc();
        if (b - a < best0) {
            best0 = b - a;
            t0 = ns;
            c0 = a + (b - a) / 2;
        }
    }
    struct timespec nap = { 0, (long)CALIBRATE_NS };
    while (nanosleep(&nap, &nap) < 0 && errno == EINTR)
        ;
    uint64_t t1 = 0, c1 = 0, best1 = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        uint64_t a = vmm_rdtsc(), ns = vmm_now_ns(), b = vmm_rdtsc();
        if (b - a < best1) {
            best1 = b - a;
            t1 = ns;
            c1 = a + (b - a) / 2;
        }
    }
    uint64_t dt = t1 - t0;
    uint64_t hz = (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000ull / dt);
    /* Round to the kHz, the precision KVM and Linux's tsc_khz work in. */
    vm->tsc_hz = (hz + 500) / 1000 * 1000;
    if (vm->tsc_hz == 0)
        vm->tsc_hz = vm->tsc_khz_kvm * 1000;
    if (vm->tsc_khz_kvm) {
        uint64_t k = vm->tsc_khz_kvm * 1000;
        uint64_t diff = k > vm->tsc_hz ? k - vm->tsc_hz : vm->tsc_hz - k;
        if (diff > k / 1000)
            vmm_warn("TSC: KVM reports %llu kHz, calibration measured %llu kHz; using the measurement",
                     (unsigned long long)vm->tsc_khz_kvm, (unsigned long long)(vm->tsc_hz / 1000));
    }
}

uint64_t vmm_guest_tsc(struct vmm *vm)
{
    return vmm_rdtsc() + (uint64_t)vm->tsc_offset;
}
