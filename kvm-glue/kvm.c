/* SPDX-License-Identifier: MIT */
/*
 * KVM VM and vCPU life cycle: /dev/kvm, memory slots, the in-kernel
 * irqchip, vCPU file descriptors, CPUID (KVM's supported leaves plus the
 * core's Hyper-V leaves) and the MSR filter that routes the Hyper-V range
 * to userspace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

int vmm_open_kvm(struct vmm *vm, char *err, size_t err_len)
{
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        snprintf(err, err_len, "cannot open /dev/kvm: %s", strerror(errno));
        return -1;
    }
    int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        snprintf(err, err_len, "/dev/kvm: unsupported KVM API version %d", api);
        return -1;
    }
    static const struct { int cap; const char *name; } needed[] = {
        { KVM_CAP_IRQCHIP, "IRQCHIP" },
        { KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI" },
        { KVM_CAP_X86_USER_SPACE_MSR, "X86_USER_SPACE_MSR" },
        { KVM_CAP_X86_MSR_FILTER, "X86_MSR_FILTER" },
        { KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
        { KVM_CAP_MP_STATE, "MP_STATE" },
    };
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
            snprintf(err, err_len, "/dev/kvm lacks KVM_CAP_%s", needed[i].name);
            return -1;
        }
    }
    vm->run_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_mmap_size < (int)sizeof(struct kvm_run)) {
        snprintf(err, err_len, "/dev/kvm: bad vCPU mmap size");
        return -1;
    }
    int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (max > 0 && vm->opt.smp > (uint32_t)max) {
        snprintf(err, err_len, "--smp %u exceeds this KVM's limit of %d vCPUs", vm->opt.smp, max);
        return -1;
    }
    return 0;
}

static void set_slot(struct vmm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
}

static void create_vcpu(struct vmm *vm, struct vcpu *v)
{
    v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index);
    if (v->fd < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_CREATE_VCPU %u: %s", v->index, strerror(errno));
    v->run_size = (size_t)vm->run_mmap_size;
    v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED)
        vmm_die(VMM_EXIT_FATAL, "mmap kvm_run: %s", strerror(errno));
    v->sync_regs = false;
    if (!vm->opt.no_sync_regs) {
        int sync = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
        int want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
        if (sync > 0 && (sync & want) == want) {
            /* Registers and segment state arrive with every exit, so the
             * hypercall path needs no GET_REGS/GET_SREGS ioctl. */
            v->run->kvm_valid_regs = (uint64_t)want;
            v->sync_regs = true;
        }
    }
    vmm_setup_cpuid(vm, v);
}

bool vcpu_get_msrs(struct vcpu *v, uint32_t n, const uint32_t *index, uint64_t *data)
{
    union {
        struct kvm_msrs hdr;
        uint8_t bytes[sizeof(struct kvm_msrs) + VCPU_GET_MSRS_MAX * sizeof(struct kvm_msr_entry)];
    } m;
    if (n == 0 || n > VCPU_GET_MSRS_MAX)
        return false;
    memset(&m, 0, sizeof(m));
    m.hdr.nmsrs = n;
    for (uint32_t i = 0; i < n; i++)
        m.hdr.entries[i].index = index[i];
    if (ioctl(v->fd, KVM_GET_MSRS, &m) != (int)n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        data[i] = m.hdr.entries[i].data;
    return true;
}

/* The TSC offset KVM gave vCPU 0: guest TSC = host TSC + offset. */
static int64_t read_tsc_offset(struct vmm *vm, struct vcpu *v)
{
    uint64_t off = 0;
    struct kvm_device_attr a = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uint64_t)(uintptr_t)&off,
    };
    if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &a) == 0 && ioctl(v->fd, KVM_GET_DEVICE_ATTR, &a) == 0)
        return (int64_t)off;
    /* Older KVM: read IA32_TSC between two host reads. */
    const uint32_t ia32_tsc = 0x10;
    uint64_t tsc;
    uint64_t before = vmm_rdtsc();
    if (!vcpu_get_msrs(v, 1, &ia32_tsc, &tsc))
        return 0;
    uint64_t after = vmm_rdtsc();
    (void)vm;
    return (int64_t)(tsc - (before / 2 + after / 2));
}

void vmm_create_vm(struct vmm *vm)
{
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_CREATE_VM: %s", strerror(errno));

    /* Needed by VMX hosts for real mode; harmless elsewhere. Both sit just
     * below the BIOS area at the top of 4 GiB, outside RAM. */
    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xFFFBD000ul);
    uint64_t idmap = 0xFFFBC000ull;
    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);

    set_slot(vm, 0, 0, vm->low_size, vm->ram);
    if (vm->high_size)
        set_slot(vm, 1, VMM_HIGH_RAM_BASE, vm->high_size, vm->ram + vm->low_size);

    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_CREATE_IRQCHIP: %s", strerror(errno));

    vmm_setup_msr_filter(vm);

    for (uint32_t i = 0; i < vm->nr_vcpus; i++)
        create_vcpu(vm, &vm->vcpus[i]);
    vm->tsc_offset = read_tsc_offset(vm, &vm->vcpus[0]);
}

void vmm_destroy_vm(struct vmm *vm)
{
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (v->run && v->run != MAP_FAILED)
            munmap(v->run, v->run_size);
        v->run = NULL;
        if (v->fd >= 0)
            close(v->fd);
        v->fd = -1;
    }
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    vm->vm_fd = -1;
}

/* ------------------------------------------------------------------ CPUID */

#define CPUID_MAX_ENTRIES 256u

static struct kvm_cpuid2 *supported_cpuid(struct vmm *vm)
{
    static struct kvm_cpuid2 *cached;
    if (cached)
        return cached;
    size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, sz);
    if (!c)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    c->nent = CPUID_MAX_ENTRIES;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
    cached = c;
    return c;
}

static unsigned ceil_log2(uint32_t n)
{
    unsigned s = 0;
    while ((1u << s) < n)
        s++;
    return s;
}

void vmm_setup_cpuid(struct vmm *vm, struct vcpu *v)
{
    const struct kvm_cpuid2 *sup = supported_cpuid(vm);
    size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, sz);
    if (!c)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    uint32_t n = 0;
    uint32_t apic_id = v->index;

    /* With no enlightenment at all the guest is a plain KVM guest and keeps
     * KVM's own paravirtual leaves (KVMKVMKVM: kvmclock and friends, all
     * in the kernel; not KVM's Hyper-V emulation), as under QEMU: without
     * them and without Hyper-V's frequency MSRs Linux has no way to measure
     * the TSC here. Otherwise they go: Linux prefers KVM over Hyper-V, so
     * the guest must see only "Microsoft Hv" there. */
    bool plain = vm->opt.features == 0;
    for (uint32_t i = 0; i < sup->nent && n < CPUID_MAX_ENTRIES; i++) {
        struct kvm_cpuid_entry2 e = sup->entries[i];
        if (e.function >= 0x40000000u && e.function <= 0x400000FFu && !plain)
            continue;
        switch (e.function) {
        case 1:
            e.ecx |= 1u << 31;                 /* hypervisor present */
            e.ebx = (e.ebx & 0x0000FFFFu) | (apic_id << 24) |
                    ((vm->nr_vcpus > 255 ? 255 : vm->nr_vcpus) << 16);
            if (vm->nr_vcpus > 1)
                e.edx |= 1u << 28;             /* HTT: the count field is valid */
            break;
        case 0xB:
        case 0x1F:
            /* One thread per core, all cores in one package. */
            e.edx = apic_id;
            if (e.index == 0) {
                e.eax = 0;
                e.ebx = 1;
                e.ecx = (1u << 8) | 0;
            } else if (e.index == 1) {
                e.eax = ceil_log2(vm->nr_vcpus);
                e.ebx = vm->nr_vcpus;
                e.ecx = (2u << 8) | 1;
            } else {
                e.eax = 0;
                e.ebx = 0;
                e.ecx = e.index;
            }
            break;
        default:
            break;
        }
        c->entries[n++] = e;
    }

    /* The core's leaves: 0x40000000 up to the maximum it reports. */
    uint32_t out[4];
    if (!plain && vm->hv_ready && hv_cpuid(&vm->part, HV_CPUID_VENDOR_AND_MAX, 0, out) && out[0] >= 0x40000000u) {
        uint32_t max = out[0] > 0x400000FFu ? 0x400000FFu : out[0];
        for (uint32_t leaf = 0x40000000u; leaf <= max && n < CPUID_MAX_ENTRIES; leaf++) {
            if (!hv_cpuid(&vm->part, leaf, 0, out))
                continue;
            c->entries[n++] = (struct kvm_cpuid_entry2){
                .function = leaf, .eax = out[0], .ebx = out[1], .ecx = out[2], .edx = out[3],
            };
        }
    }
    c->nent = n;
    if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_SET_CPUID2: %s", strerror(errno));
    free(c);
}

/* ------------------------------------------------------------ MSR filter */

void vmm_setup_msr_filter(struct vmm *vm)
{
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X86_USER_SPACE_MSR,
        .args[0] = KVM_MSR_EXIT_REASON_FILTER,
    };
    if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_CAP_X86_USER_SPACE_MSR: %s", strerror(errno));

    /* A zero bit denies the access in-kernel, which with the cap above
     * means an exit to us: the whole Hyper-V window is ours. */
    static uint8_t deny[(HV_MSR_RANGE_LAST - HV_MSR_RANGE_FIRST + 1) / 8];
    struct kvm_msr_filter f = {
        .flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
        .ranges[0] = {
            .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
            .nmsrs = HV_MSR_RANGE_LAST - HV_MSR_RANGE_FIRST + 1,
            .base = HV_MSR_RANGE_FIRST,
            .bitmap = deny,
        },
    };
    if (ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
}
