/* SPDX-License-Identifier: MIT */
/*
 * Interrupt injection. Every interrupt hvshim-kvm raises goes through
 * vm->inject_lock, so the AutoEOI scrubber (autoeoi.c) can hold it and know
 * that none of our injections lands while it rewrites a LAPIC.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-glue/vmm.h"

void vmm_irq_line(struct vmm *vm, uint32_t gsi, int level)
{
    struct kvm_irq_level l = { .irq = gsi, .level = level };
    pthread_mutex_lock(&vm->inject_lock);
    if (vm->vm_fd < 0) {
        /* Between two boots (the VM is being rebuilt): nothing to raise. */
        pthread_mutex_unlock(&vm->inject_lock);
        return;
    }
    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
        vmm_warn("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
    pthread_mutex_unlock(&vm->inject_lock);
}

/* Fixed, edge-triggered, physical destination: what a SynIC SINT, a
 * direct-mode stimer or a synthetic IPI looks like on the wire. Caller
 * holds inject_lock. */
static void msi_locked(struct vmm *vm, uint32_t apic_id, uint8_t vector)
{
    struct kvm_msi m = {
        .address_lo = (uint32_t)VMM_LAPIC_BASE | ((apic_id & 0xFFu) << 12),
        .address_hi = 0,
        .data = vector,
    };
    /* Between two boots the VM does not exist; the VMBus thread may still
     * post (a late timer): there is nobody to interrupt. */
    if (vm->vm_fd < 0)
        return;
    if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0)
        vmm_warn("KVM_SIGNAL_MSI to %u vector %u: %s", apic_id, vector, strerror(errno));
    atomic_fetch_add_explicit(&vm->injections, 1, memory_order_relaxed);
}

void vmm_msi_fixed(struct vmm *vm, uint32_t apic_id, uint8_t vector)
{
    pthread_mutex_lock(&vm->inject_lock);
    msi_locked(vm, apic_id, vector);
    pthread_mutex_unlock(&vm->inject_lock);
}

void vmm_msi_fixed_autoeoi(struct vmm *vm, uint32_t apic_id, uint8_t vector)
{
    pthread_mutex_lock(&vm->inject_lock);
    /* Noted before the MSI, under the same lock, so the scrubber never sees
     * the vector in ISR without knowing it came from an AutoEOI SINT. */
    vmm_autoeoi_note(vm, apic_id, vector);
    msi_locked(vm, apic_id, vector);
    pthread_mutex_unlock(&vm->inject_lock);
}
