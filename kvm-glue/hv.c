/* SPDX-License-Identifier: MIT */
/*
 * The Hyper-V core on KVM: partition set-up, the MSR exits the filter
 * routes here, and the hypercall exits of our hypercall page.
 *
 * The hypercall page is: ENDBR64; a CPL check that jumps to the ud2 when
 * CS's RPL is not 0 (TLFS: a hypercall from CPL > 0 raises #UD; without it
 * the IN would #GP on IOPL, and no exit would tell us); in $0xEE, %eax;
 * ret; ud2. The check saves RAX on the caller's stack because EAX is an
 * input of 32-bit callers. The port exit leaves RIP on the IN; on the next
 * KVM_RUN, if RIP is unchanged, KVM stores the 4 data bytes we leave in
 * kvm_run into EAX (zero-extended to RAX in 64-bit mode) and steps over
 * the IN. So the common case, a 64-bit
 * caller whose result fits 32 bits (every non-rep call), needs no register
 * write at all: writing registers back costs a slower re-entry on KVM (7 us
 * of a 17 us round trip, measured under PVM). Otherwise (rep results,
 * 32-bit callers) we write RAX/RDX ourselves and move RIP past the IN,
 * which also cancels KVM's completion; a refused call moves RIP to the ud2.
 * Registers come from kvm_run's synced copy when KVM offers it, so the fast
 * path makes no ioctl at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-glue/vmm.h"

#define HC_PAGE_IN_OFFSET  12u  /* the IN follows ENDBR64 and the CPL check */
#define HC_PAGE_IN_LEN     2u
#define HC_PAGE_UD2_OFFSET 15u

/* Everything this host does exactly: not the APIC-access MSRs nor APIC
 * assist (KVM's in-kernel LAPIC cannot take a userspace EOI), not CPU
 * hot-plug (there is none), not TSC_INVARIANT_CONTROL (enabling it must
 * make CPUID 0x80000007.EDX[8] appear, and KVM refuses CPUID changes once
 * a vCPU has run). AutoEOI is deprecated to guests. */
hv_features_t vmm_host_features(void)
{
    hv_features_t f = HV_FEATURES_ALL;
    f &= ~(HV_FEATURE_BIT(HV_F_APIC_MSRS) | HV_FEATURE_BIT(HV_F_APIC_ASSIST) |
           HV_FEATURE_BIT(HV_F_CPU_HOTPLUG) | HV_FEATURE_BIT(HV_F_TSC_INVARIANT));
    return f;
}

void vmm_hv_init(struct vmm *vm)
{
    struct hv_config cfg;
    hv_config_defaults(&cfg, vm->nr_vcpus, vm->tsc_hz);
    cfg.features = vm->opt.features;
    cfg.apic_hz = 1000000000ull;   /* KVM's LAPIC timer runs at 1 GHz */
    cfg.tsc_reliable = true;       /* invariant host TSC, one offset for all vCPUs */
    vm->hv_vps = calloc(vm->nr_vcpus, sizeof(struct hv_vp));
    if (!vm->hv_vps)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    vmm_hostops_fill(&vm->ops);
    int r = hv_partition_init(&vm->part, &vm->ops, vm, &cfg, vm->hv_vps);
    if (r != HV_OK)
        vmm_die(VMM_EXIT_USAGE, "cannot set up the Hyper-V partition: %s", hv_strerror(r));
    vm->hv_ready = true;
}

void vmm_hv_reset(struct vmm *vm)
{
    hv_partition_reset(&vm->part);
}

void vmm_hv_destroy(struct vmm *vm)
{
    if (vm->hv_ready)
        hv_partition_destroy(&vm->part);
    vm->hv_ready = false;
}

/* --------------------------------------------------------------- MSRs */

void vcpu_handle_msr(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    struct kvm_run *run = v->run;
    uint64_t t0 = vmm_rdtsc();
    struct hv_vp *vp = &vm->hv_vps[v->index];
    uint32_t idx = run->msr.index;
    enum hv_msr_result r;
    if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
        uint64_t val = 0;
        r = hv_msr_read(vp, idx, &val);
        run->msr.data = val;
        if (idx - HV_MSR_RANGE_FIRST < 0x200u)
            atomic_fetch_add_explicit(&vm->msr_reads[idx - HV_MSR_RANGE_FIRST], 1,
                                      memory_order_relaxed);
    } else {
        r = hv_msr_write(vp, idx, run->msr.data);
        if (idx - HV_MSR_RANGE_FIRST < 0x200u)
            atomic_fetch_add_explicit(&vm->msr_writes[idx - HV_MSR_RANGE_FIRST], 1,
                                      memory_order_relaxed);
    }
    /* Anything the core does not own in its window is not an MSR here. */
    run->msr.error = r == HV_MSR_OK ? 0 : 1;
    v->st.msr_tsc += vmm_rdtsc() - t0;
    v->st.msr_exits++;
}

/* ---------------------------------------------------------- hypercalls */

static uint8_t cpu_mode(const struct kvm_sregs *s, uint64_t rflags)
{
    if (!(s->cr0 & 1) || (rflags & (1ull << 17)))
        return HV_CPU_MODE_REAL;
    if ((s->efer & (1ull << 10)) && s->cs.l)
        return HV_CPU_MODE_LONG;
    return HV_CPU_MODE_PROTECTED;
}

static void count_code(struct vmm *vm, uint64_t control)
{
    uint32_t code = (uint32_t)(control & HV_HC_CODE_MASK);
    atomic_fetch_add_explicit(&vm->hc_by_code[code], 1, memory_order_relaxed);
}

void vcpu_handle_hypercall(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    uint64_t t0 = vmm_rdtsc();
    struct kvm_regs regs_local, *regs;
    struct kvm_sregs sregs_local, *sregs;
    if (v->sync_regs) {
        regs = &v->run->s.regs.regs;
        sregs = &v->run->s.regs.sregs;
    } else {
        regs = &regs_local;
        sregs = &sregs_local;
        if (ioctl(v->fd, KVM_GET_REGS, regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, sregs) < 0)
            vmm_die(VMM_EXIT_FATAL, "vCPU %u: reading registers for a hypercall: %s", v->index,
                    strerror(errno));
    }

    uint8_t *data = (uint8_t *)v->run + v->run->io.data_offset;
    if ((regs->rip & (HV_PAGE_SIZE - 1)) != HC_PAGE_IN_OFFSET) {
        /* An IN from port 0xEE outside our stub is not a hypercall: the
         * port reads as nothing is there. */
        memset(data, 0xFF, 4);
        atomic_fetch_add_explicit(&vm->pio_unclaimed, 1, memory_order_relaxed);
        return;
    }

    struct hv_hypercall_regs h;
    memset(&h, 0, sizeof(h));
    h.mode = cpu_mode(sregs, regs->rflags);
    h.cpl = (uint8_t)(sregs->ss.dpl & 3);
    if (h.mode == HV_CPU_MODE_LONG) {
        h.control = regs->rcx;
        h.input = regs->rdx;
        h.output = regs->r8;
    } else {
        h.control = (regs->rdx & 0xFFFFFFFFull) << 32 | (regs->rax & 0xFFFFFFFFull);
        h.input = (regs->rbx & 0xFFFFFFFFull) << 32 | (regs->rcx & 0xFFFFFFFFull);
        h.output = (regs->rdi & 0xFFFFFFFFull) << 32 | (regs->rsi & 0xFFFFFFFFull);
    }
    count_code(vm, h.control);

    struct hv_vp *vp = &vm->hv_vps[v->index];
    enum hv_hypercall_outcome o = hv_hypercall(vp, &h);
    while (o == HV_HC_CONTINUE && !vmm_stopping(vm)) {
        /* A rep call stopped early so pending work could run: serve it,
         * then carry on where the core left off. */
        vcpu_service(v);
        o = hv_hypercall(vp, &h);
    }

    if (o != HV_HC_INJECT_UD && h.mode == HV_CPU_MODE_LONG && (h.result >> 32) == 0 &&
        !h.output_in_gprs) {
        /* Fast path: KVM completes the IN with these bytes. */
        uint32_t lo = (uint32_t)h.result;
        memcpy(data, &lo, 4);
        v->st.hypercall_tsc += vmm_rdtsc() - t0;
        v->st.hypercall_exits++;
        return;
    }
    if (o == HV_HC_INJECT_UD) {
        /* Moving RIP off the IN cancels KVM's completion; the ud2 in the
         * page then raises a genuine #UD inside the hypercall page. */
        regs->rip += HC_PAGE_UD2_OFFSET - HC_PAGE_IN_OFFSET;
    } else {
        regs->rip += HC_PAGE_IN_LEN;
        if (h.mode == HV_CPU_MODE_LONG) {
            regs->rax = h.result;
            if (h.output_in_gprs) {
                /* Fast output starts in the RDX:R8 pair (TLFS). */
                regs->rdx = h.input;
                regs->r8 = h.output;
            }
        } else {
            regs->rax = h.result & 0xFFFFFFFFull;
            regs->rdx = h.result >> 32;
        }
    }
    if (v->sync_regs) {
        v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
    } else if (ioctl(v->fd, KVM_SET_REGS, regs) < 0) {
        vmm_die(VMM_EXIT_FATAL, "vCPU %u: writing hypercall result: %s", v->index, strerror(errno));
    }
    v->st.hypercall_tsc += vmm_rdtsc() - t0;
    v->st.hypercall_exits++;
}

/* The page the HYPERCALL MSR points at. */
int vmm_hypercall_page_fill(struct vmm *vm, uint64_t gpa)
{
    uint8_t *p = vmm_gpa_ptr(vm, gpa, HV_PAGE_SIZE);
    if (!p)
        return -1;
    /* The same bytes decode alike in 64-, 32- and 16-bit code. */
    static const uint8_t stub[] = {
        0xF3, 0x0F, 0x1E, 0xFA,          /*  0 endbr64 */
        0x50,                            /*  4 push %rax */
        0x8C, 0xC8,                      /*  5 mov %cs, %eax */
        0xA8, 0x03,                      /*  7 test $3, %al */
        0x58,                            /*  9 pop %rax */
        0x75, 0x03,                      /* 10 jnz 15: CPL > 0 */
        0xE5, VMM_HYPERCALL_PORT,        /* 12 in $port, %eax */
        0xC3,                            /* 14 ret */
        0x0F, 0x0B,                      /* 15 ud2: #UD for refused calls */
    };
    _Static_assert(HC_PAGE_IN_OFFSET == 12 && HC_PAGE_IN_LEN == 2 && HC_PAGE_UD2_OFFSET == 15 &&
                   sizeof(stub) == HC_PAGE_UD2_OFFSET + 2, "stub layout");
    memset(p, 0xCC, HV_PAGE_SIZE);      /* int3 beyond the stub */
    memcpy(p, stub, sizeof(stub));
    return 0;
}
