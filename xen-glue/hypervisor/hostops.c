/* SPDX-License-Identifier: MIT */
/*
 * The hvshim host-operations interface (hvshim/host.h) on Xen internals:
 * guest memory through the p2m and domain page mappings, interrupts through
 * the vLAPIC, TLB flushes through the paging code, timers through Xen
 * timers, time through the guest TSC, logs through printk.
 *
 * The context pointer is the domain's struct viridian_domain. VP index is
 * vcpu_id. Operations may run on a vCPU of the domain (MSRs, hypercalls,
 * polls), in a timer softirq, or in the dom0 toolstack's context (save,
 * restore, VMBus device-model operations), so none of them uses `current`
 * to find the domain.
 */

#include <xen/domain_page.h>
#include <xen/lib.h>
#include <xen/sched.h>
#include <xen/softirq.h>
#include <xen/time.h>
#include <xen/timer.h>

#include <asm/endbr.h>
#include <asm/event.h>
#include <asm/hvm/hvm.h>
#include <asm/hvm/support.h>
#include <asm/hvm/vlapic.h>
#include <asm/hvm/vpt.h>
#include <asm/p2m.h>
#include <asm/paging.h>
#include <public/hvm/params.h>
#include <public/sched.h>

#include "private.h"

struct vcpu *hvshim_vcpu_of(const struct viridian_domain *vd, uint32_t vp_index)
{
    return domain_vcpu(vd->d, vp_index);
}

/* ------------------------------------------------------- guest memory */

/* One guest frame, referenced and mapped; NULL unless it is RAM (and, for
 * writing, ordinary writable RAM). */
static struct page_info *get_ram_page(struct domain *d, uint64_t gfn, bool write)
{
    struct page_info *page;
    p2m_type_t t;

    if ( gfn >> (paging_max_paddr_bits(d) - PAGE_SHIFT) )
        return NULL;
    page = get_page_from_gfn(d, gfn, &t, write ? P2M_UNSHARE : P2M_ALLOC);
    if ( !page )
        return NULL;
    if ( !p2m_is_ram(t) || (write && t != p2m_ram_rw) )
    {
        put_page(page);
        return NULL;
    }
    return page;
}

static int copy_guest(struct domain *d, uint64_t gpa, void *buf, size_t len,
                      bool write)
{
    uint8_t *b = buf;

    if ( gpa + len < gpa )
        return -1;

    while ( len )
    {
        size_t off = gpa & ~PAGE_MASK;
        size_t chunk = min_t(size_t, len, PAGE_SIZE - off);
        struct page_info *page = get_ram_page(d, gpa >> PAGE_SHIFT, write);
        uint8_t *va;

        if ( !page )
            return -1;
        va = __map_domain_page(page);
        if ( write )
        {
            memcpy(va + off, b, chunk);
            paging_mark_dirty(d, page_to_mfn(page));
        }
        else
            memcpy(b, va + off, chunk);
        unmap_domain_page(va);
        put_page(page);

        gpa += chunk;
        b += chunk;
        len -= chunk;
    }
    return 0;
}

static int cf_check op_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct viridian_domain *vd = ctx;

    return copy_guest(vd->d, gpa, buf, len, false);
}

static int cf_check op_gpa_write(void *ctx, uint64_t gpa, const void *buf,
                                 size_t len)
{
    struct viridian_domain *vd = ctx;

    return copy_guest(vd->d, gpa, (void *)buf, len, true);
}

/* Overlay pages stay mapped for as long as the MSR points at them: take a
 * writable type reference so the frame cannot change use meanwhile. */
static void *cf_check op_page_map(void *ctx, uint64_t gfn)
{
    struct viridian_domain *vd = ctx;
    struct page_info *page = get_ram_page(vd->d, gfn, true);
    void *va;

    if ( !page )
        return NULL;
    if ( !get_page_type(page, PGT_writable_page) )
    {
        put_page(page);
        return NULL;
    }
    va = __map_domain_page_global(page);
    if ( !va )
    {
        put_page_and_type(page);
        return NULL;
    }
    return va;
}

static void cf_check op_page_unmap(void *ctx, void *va)
{
    struct page_info *page;

    if ( !va )
        return;
    page = mfn_to_page(domain_page_map_to_mfn(va));
    unmap_domain_page_global(va);
    put_page_and_type(page);
}

/*
 * ENDBR64 (a no-op without CET), then Xen's viridian sequence: set EAX bit
 * 31 so hvm_hypercall() hands the call to viridian_hypercall(), trap with
 * the vendor's instruction, return. The rest of the page is int3.
 */
static int cf_check op_hypercall_page_fill(void *ctx, uint64_t gpa)
{
    static const uint8_t head[] = {
        0, 0, 0, 0,                         /* endbr64 (below) */
        0x0d, 0x00, 0x00, 0x00, 0x80,       /* or $0x80000000, %eax */
        0x0f, 0x01, 0x00,                   /* vmcall / vmmcall (below) */
        0xc3,                               /* ret */
    };
    uint8_t *page = op_page_map(ctx, gpa >> PAGE_SHIFT);
    uint32_t endbr;

    if ( !page )
        return -1;
    memcpy(page, head, sizeof(head));
    /* Never spelled out in Xen's own text: an ENDBR64 there would be a
     * valid indirect-branch target (Xen's build checks for them). */
    endbr = gen_endbr64();
    memcpy(page, &endbr, sizeof(endbr));
    page[11] = cpu_has_vmx ? 0xc1 : 0xd9;
    memset(page + sizeof(head), 0xcc, PAGE_SIZE - sizeof(head));
    paging_mark_dirty(((struct viridian_domain *)ctx)->d,
                      domain_page_map_to_mfn(page));
    op_page_unmap(ctx, page);
    return 0;
}

/* --------------------------------------------------------- interrupts */

static void cf_check op_irq_inject(void *ctx, uint32_t vp, uint8_t vector,
                                   bool auto_eoi)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    /* AutoEOI is applied when the vLAPIC acknowledges the vector
     * (viridian_synic_is_auto_eoi_sint). A disabled vLAPIC drops it. */
    (void)auto_eoi;
    if ( v && vlapic_enabled(vcpu_vlapic(v)) )
        vlapic_set_irq(vcpu_vlapic(v), vector, 0);
}

static void cf_check op_ipi_send(void *ctx, const struct hv_vp_set *vps,
                                 uint8_t vector)
{
    struct viridian_domain *vd = ctx;
    struct vcpu *v;

    cpu_raise_softirq_batch_begin();
    for_each_vcpu ( vd->d, v )
        if ( v->vcpu_id < HV_MAX_VPS &&
             (vps->bits[v->vcpu_id / 64] >> (v->vcpu_id % 64) & 1) &&
             vlapic_enabled(vcpu_vlapic(v)) )
            vlapic_set_irq(vcpu_vlapic(v), vector, 0);
    cpu_raise_softirq_batch_finish();
}

static void cf_check op_vp_kick(void *ctx, uint32_t vp)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    if ( v )
        vcpu_kick(v);
}

/* The APIC MSRs are only ever written by the VP itself (the core calls
 * these from its MSR handlers). */
static void cf_check op_apic_eoi(void *ctx, uint32_t vp)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    if ( v == current )
        vlapic_EOI_set(vcpu_vlapic(v));
}

static uint64_t cf_check op_apic_icr_read(void *ctx, uint32_t vp)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);
    const struct vlapic *vlapic;

    if ( !v )
        return 0;
    vlapic = vcpu_vlapic(v);
    return ((uint64_t)vlapic_get_reg(vlapic, APIC_ICR2) << 32) |
           vlapic_get_reg(vlapic, APIC_ICR);
}

static void cf_check op_apic_icr_write(void *ctx, uint32_t vp, uint64_t icr)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    if ( v != current )
        return;
    vlapic_reg_write(v, APIC_ICR2, icr >> 32);
    vlapic_reg_write(v, APIC_ICR, (uint32_t)icr);
}

static uint8_t cf_check op_apic_tpr_read(void *ctx, uint32_t vp)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    return v ? vlapic_get_reg(vcpu_vlapic(v), APIC_TASKPRI) & 0xff : 0;
}

static void cf_check op_apic_tpr_write(void *ctx, uint32_t vp, uint8_t tpr)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    if ( v == current )
        vlapic_reg_write(v, APIC_TASKPRI, tpr);
}

/* --------------------------------------------------------------- TLB */

struct flush_mask {
    DECLARE_BITMAP(vcpus, HVM_MAX_VCPUS);
};
static DEFINE_PER_CPU(struct flush_mask, flush_mask);

static void cf_check op_tlb_flush(void *ctx, uint32_t caller,
                                  const struct hv_tlb_flush *req)
{
    struct viridian_domain *vd = ctx;
    struct flush_mask *m = &this_cpu(flush_mask);
    struct vcpu *curr = current;
    const unsigned long *bitmap = m->vcpus;
    bool all = true;
    struct vcpu *v;

    /* paging_flush_tlb() works on current's domain: only a VP of this
     * domain may ask, which is the only way the core calls this. */
    if ( curr->domain != vd->d || !curr->arch.hvm.viridian )
        return;

    bitmap_zero(m->vcpus, HVM_MAX_VCPUS);
    for_each_vcpu ( vd->d, v )
    {
        if ( v->vcpu_id < HVM_MAX_VCPUS &&
             (req->vps->bits[v->vcpu_id / 64] >> (v->vcpu_id % 64) & 1) )
            __set_bit(v->vcpu_id, m->vcpus);
        else
            all = false;
    }
    if ( all )
        bitmap = NULL;

    /* Whole-TLB flush of the selected vCPUs (the TLFS allows flushing more
     * than asked). false: another vCPU is flushing, the guest retries. */
    if ( !paging_flush_tlb(bitmap) )
        curr->arch.hvm.viridian->flush_retry = true;
    (void)caller;
}

static int cf_check op_switch_address_space(void *ctx, uint32_t vp, uint64_t cr3)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);

    if ( v != current )
        return -1;
    return hvm_set_cr3(cr3, false, false) == X86EMUL_OKAY ? 0 : -1;
}

/* -------------------------------------------------------------- time */

/* The reference counter follows the guest TSC of the vCPU Xen's platform
 * timers target, as Xen's viridian does. */
static uint64_t cf_check op_guest_tsc(void *ctx)
{
    struct viridian_domain *vd = ctx;
    struct vcpu *v = pt_global_vcpu_target(vd->d);

    return v ? hvm_get_guest_tsc(v) : 0;
}

static uint64_t cf_check op_now_ns(void *ctx)
{
    (void)ctx;
    return NOW();
}

void hvshim_xen_timer_fn(void *data)
{
    struct hvshim_xen_timer *t = data;
    struct hv_partition *p = hvshim_partition_if_ready(t->v->domain);
    struct hv_vp *vp = p ? hv_partition_vp(p, t->v->vcpu_id) : NULL;

    if ( vp )
        hv_stimer_expired(vp, t->index);
}

static struct hvshim_xen_timer *xen_timer(void *ctx, uint32_t vp, uint32_t n)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);
    struct viridian_vcpu *vv = v ? v->arch.hvm.viridian : NULL;

    if ( !vv || !vv->timers_ready || n >= HV_STIMER_COUNT )
        return NULL;
    return &vv->stimer[n];
}

static void cf_check op_timer_arm(void *ctx, uint32_t vp, uint32_t n,
                                  uint64_t delay_ns)
{
    struct hvshim_xen_timer *t = xen_timer(ctx, vp, n);
    s_time_t now = NOW();

    if ( !t )
        return;
    /* Keep the timer on the vCPU's CPU so expiry finds it cache-hot. */
    migrate_timer(&t->timer, t->v->processor);
    if ( delay_ns > (uint64_t)(STIME_MAX - now) )
        delay_ns = STIME_MAX - now;
    set_timer(&t->timer, now + delay_ns);
}

static void cf_check op_timer_cancel(void *ctx, uint32_t vp, uint32_t n)
{
    struct hvshim_xen_timer *t = xen_timer(ctx, vp, n);

    if ( t )
        stop_timer(&t->timer);
}

static uint64_t cf_check op_vp_runtime_ns(void *ctx, uint32_t vp)
{
    struct vcpu *v = hvshim_vcpu_of(ctx, vp);
    struct vcpu_runstate_info rs;

    if ( !v )
        return 0;
    vcpu_runstate_get(v, &rs);
    return rs.time[RUNSTATE_running];
}

/* ------------------------------------------------------- VP control */

static void cf_check op_vp_yield(void *ctx, uint32_t vp)
{
    (void)ctx;
    (void)vp;
    /* Same as Xen's viridian: give up the rest of the time slice. */
    vcpu_yield();
}

static bool cf_check op_should_preempt(void *ctx, uint32_t vp)
{
    (void)ctx;
    (void)vp;
    return hypercall_preempt_check();
}

/* Guest text goes to the console: printable ASCII only, bounded. */
static void print_crash_message(const struct domain *d, const char *msg,
                                uint32_t len)
{
    char line[161];
    uint32_t i, n = min_t(uint32_t, len, sizeof(line) - 1);

    for ( i = 0; i < n; i++ )
        line[i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : '.';
    line[n] = '\0';
    printk(XENLOG_G_WARNING "%pd: hvshim: guest crash message: %s%s\n",
           d, line, len > n ? "..." : "");
}

static void cf_check op_partition_event(void *ctx, uint32_t vp,
                                        enum hv_partition_event ev,
                                        const struct hv_crash_report *crash)
{
    struct viridian_domain *vd = ctx;
    struct domain *d = vd->d;

    switch ( ev )
    {
    case HV_EVENT_RESET:
        printk(XENLOG_G_INFO "%pd: hvshim: reset requested by VP %u\n", d, vp);
        domain_shutdown(d, SHUTDOWN_reboot);
        break;

    case HV_EVENT_CRASH:
        /* As Xen's viridian: the next shutdown is reported as a crash. */
        spin_lock(&d->shutdown_lock);
        d->shutdown_code = SHUTDOWN_crash;
        spin_unlock(&d->shutdown_lock);
        if ( crash )
        {
            printk(XENLOG_G_WARNING "%pd: hvshim: guest crash: %#"PRIx64
                   " %#"PRIx64" %#"PRIx64" %#"PRIx64" %#"PRIx64"\n", d,
                   crash->params[0], crash->params[1], crash->params[2],
                   crash->params[3], crash->params[4]);
            if ( crash->message && crash->message_len )
                print_crash_message(d, crash->message, crash->message_len);
        }
        break;

    case HV_EVENT_TSC_EMULATION_DONE:
        break;
    }
}

/* ------------------------------------------------------- VMBus routes */

static uint16_t cf_check op_post_message(void *ctx, uint32_t vp,
                                         uint32_t connection_id,
                                         uint32_t message_type,
                                         const void *payload,
                                         uint32_t payload_size)
{
    return hvshim_vmbus_post_message(ctx, vp, connection_id, message_type,
                                     payload, payload_size);
}

static uint16_t cf_check op_signal_event(void *ctx, uint32_t vp,
                                         uint32_t connection_id,
                                         uint16_t flag)
{
    return hvshim_vmbus_signal_event(ctx, vp, connection_id, flag);
}

static void cf_check op_message_slot_freed(void *ctx, uint32_t vp,
                                           uint32_t sint)
{
    hvshim_vmbus_slot_freed(ctx, vp, sint);
}

/* ------------------------------------------------------- diagnostics */

static void cf_check op_log(void *ctx, enum hv_log_level level, uint32_t vp,
                            const char *msg, uint64_t a0, uint64_t a1)
{
    struct viridian_domain *vd = ctx;

    /* XENLOG_G_* lines are rate limited and filtered by guest_loglvl:
     * the guest causes most of these. */
    switch ( level )
    {
    case HV_LOG_ERROR:
        printk(XENLOG_G_ERR "%pd v%d: hvshim: %s %#"PRIx64" %#"PRIx64"\n",
               vd->d, (int)vp, msg, a0, a1);
        break;
    case HV_LOG_WARN:
        printk(XENLOG_G_WARNING "%pd v%d: hvshim: %s %#"PRIx64" %#"PRIx64"\n",
               vd->d, (int)vp, msg, a0, a1);
        break;
    case HV_LOG_INFO:
        printk(XENLOG_G_INFO "%pd v%d: hvshim: %s %#"PRIx64" %#"PRIx64"\n",
               vd->d, (int)vp, msg, a0, a1);
        break;
    case HV_LOG_DEBUG:
        printk(XENLOG_G_DEBUG "%pd v%d: hvshim: %s %#"PRIx64" %#"PRIx64"\n",
               vd->d, (int)vp, msg, a0, a1);
        break;
    }
}

/*
 * Not provided, so the core never offers what needs them: guest_idle
 * (blocking inside an MSR read), XMM hypercall registers (the vCPU's FPU
 * state may be live on another CPU's registers), trace.
 */
const struct hv_host_ops hvshim_xen_ops = {
    .gpa_read = op_gpa_read,
    .gpa_write = op_gpa_write,
    .page_map = op_page_map,
    .page_unmap = op_page_unmap,
    .hypercall_page_fill = op_hypercall_page_fill,
    .irq_inject = op_irq_inject,
    .ipi_send = op_ipi_send,
    .vp_kick = op_vp_kick,
    .apic_eoi = op_apic_eoi,
    .apic_icr_read = op_apic_icr_read,
    .apic_icr_write = op_apic_icr_write,
    .apic_tpr_read = op_apic_tpr_read,
    .apic_tpr_write = op_apic_tpr_write,
    .tlb_flush = op_tlb_flush,
    .switch_address_space = op_switch_address_space,
    .guest_tsc = op_guest_tsc,
    .now_ns = op_now_ns,
    .timer_arm = op_timer_arm,
    .timer_cancel = op_timer_cancel,
    .vp_runtime_ns = op_vp_runtime_ns,
    .vp_yield = op_vp_yield,
    .should_preempt = op_should_preempt,
    .partition_event = op_partition_event,
    .post_message = op_post_message,
    .signal_event = op_signal_event,
    .message_slot_freed = op_message_slot_freed,
    .log = op_log,
};

/*
 * Local variables:
 * mode: C
 * c-file-style: "BSD"
 * c-basic-offset: 4
 * tab-width: 4
 * indent-tabs-mode: nil
 * End:
 */
