/* SPDX-License-Identifier: MIT */
/* --stats: what the VMM did, printed to stderr when it exits. */
#include <stdio.h>

#include "kvm-glue/bus.h"
#include "kvm-glue/vmm.h"

const char *vmm_exit_reason_name(uint32_t r)
{
    switch (r) {
    case KVM_EXIT_UNKNOWN: return "unknown";
    case KVM_EXIT_EXCEPTION: return "exception";
    case KVM_EXIT_IO: return "io";
    case KVM_EXIT_HYPERCALL: return "hypercall";
    case KVM_EXIT_DEBUG: return "debug";
    case KVM_EXIT_HLT: return "hlt";
    case KVM_EXIT_MMIO: return "mmio";
    case KVM_EXIT_IRQ_WINDOW_OPEN: return "irq_window_open";
    case KVM_EXIT_SHUTDOWN: return "shutdown";
    case KVM_EXIT_FAIL_ENTRY: return "fail_entry";
    case KVM_EXIT_INTR: return "intr";
    case KVM_EXIT_SET_TPR: return "set_tpr";
    case KVM_EXIT_TPR_ACCESS: return "tpr_access";
    case KVM_EXIT_NMI: return "nmi";
    case KVM_EXIT_INTERNAL_ERROR: return "internal_error";
    case KVM_EXIT_SYSTEM_EVENT: return "system_event";
    case KVM_EXIT_X86_RDMSR: return "rdmsr";
    case KVM_EXIT_X86_WRMSR: return "wrmsr";
    default: return "other";
    }
}

static const char *msr_name(uint32_t msr)
{
    switch (msr) {
    case HV_MSR_GUEST_OS_ID: return "GUEST_OS_ID";
    case HV_MSR_HYPERCALL: return "HYPERCALL";
    case HV_MSR_VP_INDEX: return "VP_INDEX";
    case HV_MSR_RESET: return "RESET";
    case HV_MSR_VP_RUNTIME: return "VP_RUNTIME";
    case HV_MSR_TIME_REF_COUNT: return "TIME_REF_COUNT";
    case HV_MSR_REFERENCE_TSC: return "REFERENCE_TSC";
    case HV_MSR_TSC_FREQUENCY: return "TSC_FREQUENCY";
    case HV_MSR_APIC_FREQUENCY: return "APIC_FREQUENCY";
    case HV_MSR_VP_ASSIST_PAGE: return "VP_ASSIST_PAGE";
    case HV_MSR_SCONTROL: return "SCONTROL";
    case HV_MSR_SIEFP: return "SIEFP";
    case HV_MSR_SIMP: return "SIMP";
    case HV_MSR_EOM: return "EOM";
    case HV_MSR_GUEST_IDLE: return "GUEST_IDLE";
    case HV_MSR_CRASH_CTL: return "CRASH_CTL";
    default: return "";
    }
}

void vmm_stats_print(struct vmm *vm, uint64_t wall_ns)
{
    FILE *f = stderr;
    uint64_t exits[VMM_EXIT_REASONS] = { 0 };
    uint64_t total = 0, us_tsc = 0, us_n = 0, hc_tsc = 0, hc_n = 0, msr_tsc = 0, msr_n = 0;
    uint64_t flushes = 0, scrubs = 0, checks = 0, eintr = 0, x2eoi = 0;
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        const struct vcpu_stats *s = &vm->vcpus[i].st;
        for (uint32_t r = 0; r < VMM_EXIT_REASONS; r++) {
            exits[r] += s->exits[r];
            total += s->exits[r];
        }
        us_tsc += s->userspace_tsc;
        us_n += s->userspace_exits;
        hc_tsc += s->hypercall_tsc;
        hc_n += s->hypercall_exits;
        msr_tsc += s->msr_tsc;
        msr_n += s->msr_exits;
        flushes += s->tlb_flushes;
        scrubs += s->autoeoi_scrubs;
        checks += s->autoeoi_checks;
        x2eoi += s->autoeoi_x2apic_eois;
        eintr += s->eintr;
    }
    double secs = (double)wall_ns / 1e9;
    double tick_us = vm->tsc_hz ? 1e6 / (double)vm->tsc_hz : 0;
    fprintf(f, "hvshim-kvm stats: %u vCPUs, %.3f s, boots %llu\n", vm->nr_vcpus, secs,
            (unsigned long long)vm->boots);
    fprintf(f, "  tsc: KVM_GET_TSC_KHZ %llu kHz, calibrated %llu Hz (used)\n",
            (unsigned long long)vm->tsc_khz_kvm, (unsigned long long)vm->tsc_hz);
    fprintf(f, "  exits: %llu total, %.0f/s; kicks (EINTR) %llu\n", (unsigned long long)total,
            secs > 0 ? (double)total / secs : 0.0, (unsigned long long)eintr);
    for (uint32_t r = 0; r < VMM_EXIT_REASONS; r++)
        if (exits[r])
            fprintf(f, "    %-16s %llu\n", vmm_exit_reason_name(r), (unsigned long long)exits[r]);
    if (us_n)
        fprintf(f, "  userspace round trip (exit to next entry): %.2f us avg over %llu exits\n",
                (double)us_tsc / (double)us_n * tick_us, (unsigned long long)us_n);
    if (hc_n)
        fprintf(f, "  hypercall exits: %llu, handling %.2f us avg\n", (unsigned long long)hc_n,
                (double)hc_tsc / (double)hc_n * tick_us);
    if (msr_n)
        fprintf(f, "  msr exits: %llu, handling %.2f us avg\n", (unsigned long long)msr_n,
                (double)msr_tsc / (double)msr_n * tick_us);
    fprintf(f, "  hypercalls by code:");
    for (uint32_t c = 0; c < 65536; c++) {
        uint64_t n = atomic_load(&vm->hc_by_code[c]);
        if (n)
            fprintf(f, " %#x=%llu", c, (unsigned long long)n);
    }
    fputc('\n', f);
    fprintf(f, "  msrs:");
    for (uint32_t i = 0; i < 0x200; i++) {
        uint64_t r = atomic_load(&vm->msr_reads[i]), w = atomic_load(&vm->msr_writes[i]);
        if (r || w)
            fprintf(f, " %#x%s%s r%llu/w%llu", HV_MSR_RANGE_FIRST + i, *msr_name(HV_MSR_RANGE_FIRST + i) ? ":" : "",
                    msr_name(HV_MSR_RANGE_FIRST + i), (unsigned long long)r, (unsigned long long)w);
    }
    fputc('\n', f);
    if (vm->hv_ready) {
        struct hv_stats sum;
        hv_partition_stats(&vm->part, &sum);
        const struct hv_stats *hs = &sum;
        fprintf(f, "  core: msr reads %llu writes %llu faults %llu; hypercall errors %llu; synic "
                   "messages %llu events %llu; stimer expiries %llu\n",
                (unsigned long long)hs->msr_reads, (unsigned long long)hs->msr_writes,
                (unsigned long long)hs->msr_faults, (unsigned long long)hs->hypercall_errors,
                (unsigned long long)hs->synic_messages, (unsigned long long)hs->synic_events,
                (unsigned long long)hs->stimer_expiries);
    }
    fprintf(f, "  injections %llu (ipis %llu), timer fires %llu (slot polls %llu), kicks %llu, pauses %llu\n",
            (unsigned long long)atomic_load(&vm->injections), (unsigned long long)atomic_load(&vm->ipis),
            (unsigned long long)atomic_load(&vm->timer_fires), (unsigned long long)atomic_load(&vm->slot_polls),
            (unsigned long long)atomic_load(&vm->kicks), (unsigned long long)atomic_load(&vm->pauses));
    fprintf(f, "  tlb: flush requests %llu, vCPU flushes %llu; autoeoi: checks %llu, ISR scrubs %llu "
               "(x2APIC EOIs %llu)\n",
            (unsigned long long)atomic_load(&vm->flush_requests), (unsigned long long)flushes,
            (unsigned long long)checks, (unsigned long long)scrubs, (unsigned long long)x2eoi);
    vmm_bus_stats_print(vm, f);
    fprintf(f, "  unclaimed: pio %llu, mmio %llu\n", (unsigned long long)atomic_load(&vm->pio_unclaimed),
            (unsigned long long)atomic_load(&vm->mmio_unclaimed));
}
