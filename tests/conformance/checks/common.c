/* SPDX-License-Identifier: MIT */
/* Shared helpers for the Hyper-V checks, and the cleanup after each check. */
#include "common.h"

#include "../rt/platform.h"

static volatile bool dirty;

void hv_state_dirty(void)
{
    dirty = true;
}

bool need_hypercalls(void)
{
    const char *why;
    if (hv_hypercalls_ready(&why))
        return true;
    skip("hypercalls unavailable: %s", why);
    return false;
}

static bool need_bit(uint32_t reg, uint32_t bit, const char *where, const char *name)
{
    if (reg & bit)
        return true;
    skip("%s not advertised (%s bit %u)", name, where, __builtin_ctz(bit));
    return false;
}

bool need_eax(uint32_t bit, const char *name)
{
    return need_bit(hv.features[0], bit, "0x40000003.EAX", name);
}

bool need_ebx(uint32_t bit, const char *name)
{
    return need_bit(hv.features[1], bit, "0x40000003.EBX", name);
}

bool need_edx(uint32_t bit, const char *name)
{
    return need_bit(hv.features[3], bit, "0x40000003.EDX", name);
}

bool need_rec(uint32_t bit, const char *name)
{
    return need_bit(hv.recommend[0], bit, "0x40000004.EAX", name);
}

bool need_cpus(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!cpu_usable(i)) {
            skip("needs %u usable CPUs (%u online)", n, ncpus);
            return false;
        }
    }
    return true;
}

uint64_t ref_now(void)
{
    uint64_t v = 0;
    if (rdmsr_safe(HV_MSR_TIME_REF_COUNT, &v) >= 0)
        return 0;
    return v;
}

bool wait_ref(uint64_t t, uint64_t timeout_us)
{
    deadline_t d = deadline_us(timeout_us);
    while (ref_now() < t) {
        if (deadline_passed(d))
            return false;
        cpu_relax();
    }
    return true;
}

struct hv_message *sim_slot(unsigned cpu, unsigned sint)
{
    return (struct hv_message *)(hv_page_simp(cpu) + 256 * (sint & 15));
}

uint8_t *sief_area(unsigned cpu, unsigned sint)
{
    return hv_page_siefp(cpu) + 256 * (sint & 15);
}

/* Frees every slot and flag while the pages are enabled: on a host with
 * real overlay pages, writes after disabling would land in the RAM
 * underneath and the overlay would keep its old messages. */
static void synic_scrub(unsigned cpu)
{
    for (unsigned s = 0; s < 16; s++)
        sim_slot(cpu, s)->type = HV_MSG_NONE;
    memset(hv_page_siefp(cpu), 0, PAGE_SIZE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wrmsr_safe(HV_MSR_EOM, 0);
}

void synic_on(void)
{
    unsigned cpu = this_cpu()->index;
    hv_state_dirty();
    wrmsr_safe(HV_MSR_SIMP, (uint64_t)(uintptr_t)hv_page_simp(cpu) | 1);
    wrmsr_safe(HV_MSR_SIEFP, (uint64_t)(uintptr_t)hv_page_siefp(cpu) | 1);
    wrmsr_safe(HV_MSR_SCONTROL, 1);
    synic_scrub(cpu);
}

void synic_off(void)
{
    unsigned cpu = this_cpu()->index;
    for (unsigned s = 0; s < 16; s++)
        wrmsr_safe(HV_MSR_SINT(s), HV_SINT_MASKED);
    /* Make sure our pages are the enabled ones, then empty them. */
    wrmsr_safe(HV_MSR_SIMP, (uint64_t)(uintptr_t)hv_page_simp(cpu) | 1);
    wrmsr_safe(HV_MSR_SIEFP, (uint64_t)(uintptr_t)hv_page_siefp(cpu) | 1);
    synic_scrub(cpu);
    wrmsr_safe(HV_MSR_SCONTROL, 0);
    wrmsr_safe(HV_MSR_SIMP, 0);
    wrmsr_safe(HV_MSR_SIEFP, 0);
    /* And the RAM underneath, for hosts that write guest memory. */
    synic_scrub(cpu);
}

int sint_set(unsigned sint, unsigned vector, uint64_t flags)
{
    hv_state_dirty();
    return wrmsr_safe(HV_MSR_SINT(sint), (vector & 0xFF) | flags);
}

bool wait_slot(unsigned cpu, unsigned sint, uint64_t timeout_us)
{
    struct hv_message *m = sim_slot(cpu, sint);
    deadline_t d = deadline_us(timeout_us);
    while (m->type == HV_MSG_NONE) {
        if (deadline_passed(d))
            return false;
        cpu_relax();
    }
    return true;
}

void slot_free(struct hv_message *m, bool eom_if_pending)
{
    bool pending = m->flags & 1;
    m->type = HV_MSG_NONE;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (pending && eom_if_pending)
        wrmsr_safe(HV_MSR_EOM, 0);
}

void stimer_stop(unsigned n)
{
    wrmsr_safe(HV_MSR_STIMER_CONFIG(n), 0);
    wrmsr_safe(HV_MSR_STIMER_COUNT(n), 0);
}

int stimer_start(unsigned n, uint64_t config, uint64_t count)
{
    hv_state_dirty();
    stimer_stop(n);
    /* Count first, then config: with enable set in config, the timer
     * starts from a defined count (TLFS 12.5: set Enable after Count). */
    int v = wrmsr_safe(HV_MSR_STIMER_COUNT(n), count);
    if (v >= 0)
        return v;
    return wrmsr_safe(HV_MSR_STIMER_CONFIG(n), config);
}

const char *ap_failure(unsigned cpu)
{
    if (cpus[cpu].lost)
        return "stopped answering";
    if (cpus[cpu].work_fault == CATCH_NONE)
        return "not usable";
    return vector_name(cpus[cpu].work_fault);
}

uint32_t irq_count(unsigned cpu, unsigned vector)
{
    return cpus[cpu].irq_count[vector & 0xFF];
}

bool wait_irq(unsigned cpu, unsigned vector, uint32_t before, uint64_t timeout_us)
{
    deadline_t d = deadline_us(timeout_us);
    while (irq_count(cpu, vector) == before) {
        if (deadline_passed(d))
            return false;
        cpu_relax();
    }
    return true;
}

uint64_t gpa_unbacked(void)
{
    /* 64 GiB above the end of RAM and of the 4 GiB MMIO hole, if the
     * address width allows; otherwise just under the top. */
    uint64_t top = plat.ram_top > (4ull << 30) ? plat.ram_top : (4ull << 30);
    uint64_t g = (top + (64ull << 30)) & ~0xFFFull;
    uint64_t limit = 1ull << (plat.phys_bits ? plat.phys_bits : 36);
    if (g >= limit)
        g = limit - 0x100000;
    return g;
}

uint64_t gpa_beyond(void)
{
    unsigned bits = plat.phys_bits ? plat.phys_bits : 36;
    return bits >= 52 ? (1ull << 51) : (1ull << bits);
}

static volatile uint32_t rescue_done;
static volatile uint32_t rescue_target;

static void rescuer(void *arg)
{
    deadline_t d = deadline_us((uint64_t)(uintptr_t)arg);
    while (!rescue_done && !deadline_passed(d))
        cpu_relax();
    if (!rescue_done)
        apic_icr(rescue_target, ICR_NMI);
}

bool rescue_begin(uint64_t timeout_us)
{
    struct cpu *c = this_cpu();
    unsigned helper = c->index == 1 ? 0 : 1;
    if (helper == 0 || !cpu_usable(helper))
        return false;
    rescue_done = 0;
    rescue_target = c->apic_id;
    c->nmi_rescue_armed = true;
    return run_start_timeout(helper, rescuer, (void *)(uintptr_t)timeout_us,
                             timeout_us + 2000000);
}

void rescue_end(void)
{
    this_cpu()->nmi_rescue_armed = false;
    rescue_done = 1;
    run_wait(1, 3000000);
}

/* --------------------------------------------- message-mode receiving */

struct msg_log msg_logs[MAX_CPUS];
static struct {
    unsigned sint;
    enum msg_mode mode;
    bool auto_eoi;
} rx[MAX_CPUS];

static void msg_hook(struct cpu *c, unsigned vector)
{
    struct msg_log *log = &msg_logs[c->index];
    struct hv_message *m = sim_slot(c->index, rx[c->index].sint);
    bool in_service = apic_isr_set(vector);
    if (m->type == HV_MSG_NONE) {
        log->empty++;
    } else if (log->n < MSG_LOG_MAX) {
        struct msg_seen *e = &log->e[log->n];
        const struct hv_timer_payload *tp = (const struct hv_timer_payload *)m->payload;
        e->type = m->type;
        e->payload_size = m->payload_size;
        e->flags = m->flags;
        e->timer = tp->timer_index;
        e->expiration = tp->expiration_time;
        e->delivery = tp->delivery_time;
        e->seen = ref_now();
        e->in_service = in_service;
        if (rx[c->index].mode != MSG_LEAVE)
            slot_free(m, rx[c->index].mode == MSG_CONSUME);
        __atomic_store_n(&log->n, log->n + 1, __ATOMIC_RELEASE);
    }
    if (!rx[c->index].auto_eoi)
        apic_eoi();
}

int msg_receive(unsigned sint, unsigned vector, uint64_t sint_flags, enum msg_mode mode)
{
    unsigned cpu = this_cpu()->index;
    memset(&msg_logs[cpu], 0, sizeof(msg_logs[cpu]));
    rx[cpu].sint = sint;
    rx[cpu].mode = mode;
    rx[cpu].auto_eoi = sint_flags & HV_SINT_AUTO_EOI;
    irq_set_hook(vector, msg_hook, IRQ_NO_EOI);
    synic_on();
    return sint_set(sint, vector, sint_flags);
}

bool msg_wait(unsigned cpu, uint32_t n, uint64_t timeout_us)
{
    deadline_t d = deadline_us(timeout_us);
    while (__atomic_load_n(&msg_logs[cpu].n, __ATOMIC_ACQUIRE) < n) {
        if (deadline_passed(d))
            return false;
        cpu_relax();
    }
    return true;
}

/* ------------------------------------------------------------- cleanup */

static void quiesce_here(void *arg)
{
    bool hv_reset = arg != 0;
    unsigned cpu = this_cpu()->index;
    irq_disable();
    watchdog_disarm();
    if (hv_reset) {
        if (hv_priv(HV_EAX_STIMER))
            for (unsigned t = 0; t < 4; t++)
                stimer_stop(t);
        if (hv_priv(HV_EAX_SYNIC))
            synic_off();
        if (hv_priv(HV_EAX_APIC_MSRS)) {
            wrmsr_safe(HV_MSR_VP_ASSIST_PAGE, 0);
            memset(hv_page_assist(cpu), 0, PAGE_SIZE);
        }
    }
    apic_write(APIC_TPR, 0);
    apic_drain_isr();
    irq_enable();
}

void quiesce_after_check(void)
{
    bool hv_reset = dirty && hv.present;
    dirty = false;
    quiesce_here(hv_reset ? (void *)1 : 0);
    for (unsigned i = 1; i < ncpus; i++)
        if (cpu_usable(i))
            run_on(i, quiesce_here, hv_reset ? (void *)1 : 0, 1000000);
    irq_reset_hooks();
}
