/* SPDX-License-Identifier: MIT */
/*
 * TLB flushes done for real. KVM has no "flush this vCPU's TLB" ioctl, but
 * KVM_SET_SREGS with a CR3 different from the current one resets the
 * vCPU's MMU context, and the next entry reloads it and flushes. Setting a
 * different CR3 and then the original leaves the guest state unchanged.
 * Only the vCPU's own thread may do that, outside KVM_RUN: a requester
 * bumps the target's flush_req, kicks it, and waits for flush_done.
 *
 * A target acknowledges (flush_done) as soon as it is out of KVM_RUN on its
 * own thread and owes the flush: it does it before it runs guest code
 * again (vcpu_apply_owed), after KVM has completed its last exit. That
 * keeps two vCPUs that flush each other from waiting on one another, and a
 * vCPU in the middle of a hypercall from disturbing that hypercall's exit.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kvm-glue/vmm.h"

#define CR0_PG (1ull << 31)

static void flush_tlb_now(struct vcpu *v)
{
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        vmm_warn("vCPU %u: KVM_GET_SREGS for a TLB flush: %s", v->index, strerror(errno));
        return;
    }
    v->st.tlb_flushes++;
    if (!(s.cr0 & CR0_PG))
        return; /* no paging, no TLB to speak of */
    uint64_t cr3 = s.cr3;
    /* Another page-aligned CR3 below MAXPHYADDR (only loaded, never used). */
    s.cr3 = cr3 ^ 0x1000;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        vmm_warn("vCPU %u: KVM_SET_SREGS (flush): %s", v->index, strerror(errno));
    s.cr3 = cr3;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        vmm_die(VMM_EXIT_FATAL, "vCPU %u: cannot restore CR3 after a flush: %s", v->index,
                strerror(errno));
}

/* Acknowledge a pending flush request of this vCPU (its own thread, out of
 * KVM_RUN): from here until the flush is done it runs no guest code. */
void vcpu_serve_flush(struct vcpu *v)
{
    uint64_t want = atomic_load(&v->flush_req);
    if (want == atomic_load(&v->flush_done))
        return;
    v->flush_owed = true;
    atomic_store(&v->flush_done, want);
    struct vmm *vm = v->vm;
    pthread_mutex_lock(&vm->flush_lock);
    pthread_cond_broadcast(&vm->flush_cond);
    pthread_mutex_unlock(&vm->flush_lock);
}

static bool gen_reached(uint64_t done, uint64_t want)
{
    return (int64_t)(done - want) >= 0;
}

void vmm_tlb_flush(struct vmm *vm, uint32_t caller, const struct hv_vp_set *vps)
{
    struct vcpu *self = caller < vm->nr_vcpus ? &vm->vcpus[caller] : NULL;
    uint64_t *want = self ? self->flush_wait : NULL;
    bool flush_self = false;
    atomic_fetch_add_explicit(&vm->flush_requests, 1, memory_order_relaxed);

    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        if (!vmm_vpset_has(vps, i))
            continue;
        if (&vm->vcpus[i] == self) {
            flush_self = true;
            continue;
        }
        struct vcpu *t = &vm->vcpus[i];
        uint64_t gen = atomic_fetch_add(&t->flush_req, 1) + 1;
        if (want)
            want[i] = gen;
        vcpu_kick(t, VCPU_REQ_FLUSH);
    }
    if (flush_self && self)
        self->flush_owed = true;
    if (!want)
        return;

    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        if (!vmm_vpset_has(vps, i) || &vm->vcpus[i] == self)
            continue;
        struct vcpu *t = &vm->vcpus[i];
        pthread_mutex_lock(&vm->flush_lock);
        while (!gen_reached(atomic_load(&t->flush_done), want[i]) && !vmm_stopping(vm)) {
            /* Two vCPUs flushing each other must not wait forever: serve
             * our own request while we wait for theirs. */
            if (atomic_load(&self->flush_req) != atomic_load(&self->flush_done)) {
                pthread_mutex_unlock(&vm->flush_lock);
                vcpu_serve_flush(self);
                pthread_mutex_lock(&vm->flush_lock);
                continue;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 500000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&vm->flush_cond, &vm->flush_lock, &ts);
        }
        pthread_mutex_unlock(&vm->flush_lock);
    }
}

/* HvSwitchVirtualAddressSpace on the calling vCPU (its own thread): the
 * new CR3 is loaded before the guest runs again. */
int vcpu_switch_cr3(struct vcpu *v, uint64_t cr3)
{
    v->cr3_value = cr3;
    v->cr3_pending = true;
    return 0;
}

/* Work owed before the next guest entry: the last exit is completed
 * first, then CR3 and the flush are applied. */
void vcpu_apply_owed(struct vcpu *v)
{
    if (!v->flush_owed && !v->cr3_pending)
        return;
    vcpu_complete_exit(v);
    if (v->cr3_pending) {
        struct kvm_sregs s;
        v->cr3_pending = false;
        if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0) {
            s.cr3 = v->cr3_value;
            if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
                vmm_warn("vCPU %u: cannot load CR3 %#llx: %s", v->index,
                         (unsigned long long)v->cr3_value, strerror(errno));
        }
    }
    if (v->flush_owed) {
        v->flush_owed = false;
        flush_tlb_now(v);
    }
}
