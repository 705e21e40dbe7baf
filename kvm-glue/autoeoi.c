/* SPDX-License-Identifier: MIT */
/*
 * AutoEOI on a LAPIC that does not know it. A SINT with AutoEOI asks that
 * its vector be acknowledged without an ISR bit, so the guest never EOIs
 * it. KVM's in-kernel LAPIC (without its own Hyper-V code) sets the ISR bit
 * anyway and userspace cannot EOI, so the in-service vector would block its
 * priority class and everything below it for good.
 *
 * What we do (design and argument in docs/kvm-host.md):
 *  - every AutoEOI injection is noted per vCPU, under inject_lock, before
 *    the MSI is sent;
 *  - while a vCPU has noted vectors, it is kicked every AUTOEOI_POLL_NS;
 *  - on its own thread it reads its LAPIC (under inject_lock, so a vector
 *    noted but not yet sent is never mistaken for a retired one). A vector
 *    in neither IRR nor ISR is retired. A vector in ISR was accepted by the
 *    guest: with all other vCPUs out of KVM_RUN (no guest IPI can land)
 *    and inject_lock held (none of ours can), it reads the LAPIC again,
 *    clears those ISR bits and writes it back. KVM recomputes PPR, so
 *    lower-priority interrupts flow again. A vector also in IRR stays
 *    noted: that second instance will need its own scrub.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-glue/vmm.h"

#define AUTOEOI_POLL_NS 100000ull

#define APIC_ISR 0x100u
#define APIC_IRR 0x200u

#define MSR_IA32_APICBASE 0x1Bu
#define APICBASE_X2APIC   (1ull << 10)
#define MSR_X2APIC_EOI    0x80Bu

static bool apic_bit(const struct kvm_lapic_state *s, uint32_t base, uint8_t vec)
{
    return (vmm_lapic_reg(s, base + (vec / 32u) * 0x10u) >> (vec % 32u)) & 1u;
}

static void apic_clear_bit(struct kvm_lapic_state *s, uint32_t base, uint8_t vec)
{
    uint32_t reg;
    memcpy(&reg, &s->regs[base + (vec / 32u) * 0x10u], 4);
    reg &= ~(1u << (vec % 32u));
    memcpy(&s->regs[base + (vec / 32u) * 0x10u], &reg, 4);
}

/* Caller holds inject_lock. */
void vmm_autoeoi_note(struct vmm *vm, uint32_t vp, uint8_t vector)
{
    if (vp >= vm->nr_vcpus)
        return;
    struct vcpu *v = &vm->vcpus[vp];
    atomic_fetch_or(&v->autoeoi_outstanding[vector / 64u], 1ull << (vector % 64u));
    vmm_timer_arm(vm, vp, VMM_TIMER_AUTOEOI, AUTOEOI_POLL_NS);
}

static bool any_outstanding(struct vcpu *v, uint64_t snap[4])
{
    bool any = false;
    for (int i = 0; i < 4; i++) {
        snap[i] = atomic_load(&v->autoeoi_outstanding[i]);
        any |= snap[i] != 0;
    }
    return any;
}

static bool in_x2apic_mode(struct vcpu *v)
{
    const uint32_t index = MSR_IA32_APICBASE;
    uint64_t base;
    return vcpu_get_msrs(v, 1, &index, &base) && (base & APICBASE_X2APIC) != 0;
}

static int highest_isr(const struct kvm_lapic_state *s)
{
    for (int vec = 255; vec >= 16; vec--)
        if (apic_bit(s, APIC_ISR, (uint8_t)vec))
            return vec;
    return -1;
}

static bool outstanding(struct vcpu *v, unsigned vec)
{
    return (atomic_load(&v->autoeoi_outstanding[vec / 64]) >> (vec % 64)) & 1;
}

static void retire(struct vcpu *v, unsigned vec)
{
    atomic_fetch_and(&v->autoeoi_outstanding[vec / 64], ~(1ull << (vec % 64)));
}

/*
 * EOI through the x2APIC EOI MSR while the highest in-service vector is an
 * outstanding AutoEOI one. ISR changes only on this vCPU's own thread, so
 * no pause is needed. Returns 0 when every outstanding vector in ISR was
 * handled (or waits behind a vector the guest will EOI itself), -1 when
 * the LAPIC is in xAPIC mode and the rewrite path must do it.
 */
static int x2apic_eoi_scrub(struct vcpu *v, struct kvm_lapic_state *st)
{
    if (!in_x2apic_mode(v))
        return -1;
    union {
        struct kvm_msrs hdr;
        uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
    } m;
    for (;;) {
        int vec = highest_isr(st);
        if (vec < 0 || !outstanding(v, (unsigned)vec))
            return 0; /* nothing, or a guest-EOI'd vector on top: next poll */
        memset(&m, 0, sizeof(m));
        m.hdr.nmsrs = 1;
        m.hdr.entries[0].index = MSR_X2APIC_EOI;
        if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1) {
            vmm_warn("vCPU %u: x2APIC EOI: %s", v->index, strerror(errno));
            return -1;
        }
        apic_clear_bit(st, APIC_ISR, (uint8_t)vec);
        v->st.autoeoi_scrubs++;
        v->st.autoeoi_x2apic_eois++;
        if (!apic_bit(st, APIC_IRR, (uint8_t)vec))
            retire(v, (unsigned)vec);
    }
}

/* xAPIC: stop the world, read-modify-write the whole LAPIC state. */
static void lapic_rewrite_scrub(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    struct kvm_lapic_state st;
    vmm_pause_others(vm, v);
    pthread_mutex_lock(&vm->inject_lock);
    if (ioctl(v->fd, KVM_GET_LAPIC, &st) == 0) {
        bool changed = false;
        for (unsigned vec = 16; vec < 256; vec++) {
            if (!outstanding(v, vec))
                continue;
            bool isr = apic_bit(&st, APIC_ISR, (uint8_t)vec);
            bool irr = apic_bit(&st, APIC_IRR, (uint8_t)vec);
            if (isr) {
                apic_clear_bit(&st, APIC_ISR, (uint8_t)vec);
                changed = true;
                v->st.autoeoi_scrubs++;
            }
            if (!irr)
                retire(v, vec);
        }
        if (changed && ioctl(v->fd, KVM_SET_LAPIC, &st) < 0)
            vmm_warn("vCPU %u: KVM_SET_LAPIC: %s", v->index, strerror(errno));
    }
    pthread_mutex_unlock(&vm->inject_lock);
    vmm_resume_others(vm);
}

void vcpu_autoeoi_service(struct vcpu *v)
{
    struct vmm *vm = v->vm;
    uint64_t out[4];
    if (!any_outstanding(v, out))
        return;
    v->st.autoeoi_checks++;

    struct kvm_lapic_state st;
    bool need_scrub = false;
    pthread_mutex_lock(&vm->inject_lock);
    if (ioctl(v->fd, KVM_GET_LAPIC, &st) < 0) {
        pthread_mutex_unlock(&vm->inject_lock);
        vmm_warn("vCPU %u: KVM_GET_LAPIC: %s", v->index, strerror(errno));
        return;
    }
    any_outstanding(v, out);
    for (unsigned vec = 0; vec < 256; vec++) {
        if (!((out[vec / 64] >> (vec % 64)) & 1))
            continue;
        bool isr = apic_bit(&st, APIC_ISR, (uint8_t)vec);
        bool irr = apic_bit(&st, APIC_IRR, (uint8_t)vec);
        if (isr)
            need_scrub = true;
        else if (!irr)
            atomic_fetch_and(&v->autoeoi_outstanding[vec / 64], ~(1ull << (vec % 64)));
    }
    pthread_mutex_unlock(&vm->inject_lock);

    if (need_scrub && !vm->opt.no_autoeoi_scrub) {
        /* x2APIC: an EOI written through the x2APIC MSR from our thread
         * is exactly a guest EOI (same code in KVM), and touches nothing
         * else; it is only exact while the AutoEOI vector is the highest
         * in service. Otherwise, or in xAPIC mode, rewrite the LAPIC. */
        int r = x2apic_eoi_scrub(v, &st);
        if (r < 0)
            lapic_rewrite_scrub(v);
    }
    if (any_outstanding(v, out))
        vmm_timer_arm(vm, v->index, VMM_TIMER_AUTOEOI, AUTOEOI_POLL_NS);
}
