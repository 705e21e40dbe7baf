/* SPDX-License-Identifier: MIT */
/*
 * hvshim-kvm smoke guest: a freestanding multiboot kernel that checks one
 * thing per boot, chosen by "test=NAME" on its command line, reports on
 * COM1 and leaves through isa-debug-exit: 0x10 (host status 33) = pass,
 * 0x11 (35) = fail, anything else is the test's own code.
 *
 * Tests: boot, fwcfg, exit, hypercall, msrgp, smp, tlbflush, xmmflush, autoeoi,
 * crash, crashmsg, time, idle, poweroff, reset, rtc, bench.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define PASS_CODE 0x10
#define FAIL_CODE 0x11
#define SKIP_CODE 0x12

#define MAX_CPUS 16
#define AP_TRAMPOLINE 0x8000u
#define LAPIC 0xFEE00000ul

/* Hyper-V numbers, written out here: the guest is its own program. */
#define MSR_GUEST_OS_ID   0x40000000u
#define MSR_HYPERCALL     0x40000001u
#define MSR_VP_INDEX      0x40000002u
#define MSR_RESET         0x40000003u
#define MSR_TSC_FREQUENCY 0x40000022u
#define MSR_SCONTROL      0x40000080u
#define MSR_SIEFP         0x40000082u
#define MSR_SIMP          0x40000083u
#define MSR_EOM           0x40000084u
#define MSR_SINT0         0x40000090u
#define MSR_STIMER0_CONFIG 0x400000B0u
#define MSR_STIMER0_COUNT 0x400000B1u
#define MSR_CRASH_P0      0x40000100u
#define MSR_CRASH_CTL     0x40000105u
#define MSR_UNKNOWN       0x400001FFu
#define MSR_VP_RUNTIME    0x40000010u
#define MSR_TIME_REF_COUNT 0x40000020u
#define MSR_REFERENCE_TSC 0x40000021u
#define MSR_GUEST_IDLE    0x400000F0u

/* ------------------------------------------------------------ plumbing */

extern u32 mb_magic, mb_info;
extern char tramp_start[], tramp_end[], isr_table[];
extern u64 pdpt[];

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outw(u16 p, u16 v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(u16 p, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void cpuid(u32 leaf, u32 sub, u32 r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
/* The LAPIC through MMIO, or through MSRs once a test switched this CPU
 * (only the BSP ever does) to x2APIC mode. */
static bool x2apic;

static inline u32 lapic_read(u32 reg)
{
    if (x2apic) {
        u32 lo, hi;
        __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x800u + (reg >> 4)));
        return lo;
    }
    return *(volatile u32 *)(LAPIC + reg);
}

static inline void lapic_write(u32 reg, u32 v)
{
    if (x2apic) {
        __asm__ volatile("wrmsr" :: "c"(0x800u + (reg >> 4)), "a"(v), "d"(0u) : "memory");
        return;
    }
    *(volatile u32 *)(LAPIC + reg) = v;
}

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *dd = d;
    const u8 *ss = s;
    while (n--)
        *dd++ = *ss++;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    u8 *dd = d;
    while (n--)
        *dd++ = (u8)c;
    return d;
}

/* Serial and printing: one lock so APs do not interleave characters. */
static volatile u32 print_lock;

static void putc_raw(char c)
{
    while (!(inb(0x3F8 + 5) & 0x20))
        cpu_relax();
    outb(0x3F8, (u8)c);
}

static void put_u64(u64 v, unsigned base)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        putc_raw(buf[--n]);
}

static void pr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
        cpu_relax();
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n')
                putc_raw('\r');
            putc_raw(*fmt);
            continue;
        }
        fmt++;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                putc_raw(*s++);
            break;
        }
        case 'u': put_u64(va_arg(ap, u64), 10); break;
        case 'x': put_u64(va_arg(ap, u64), 16); break;
        case 'c': putc_raw((char)va_arg(ap, int)); break;
        default: putc_raw(*fmt); break;
        }
    }
    __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
    va_end(ap);
}

static __attribute__((noreturn)) void finish(u32 code)
{
    outl(0xF4, code);
    for (;;) {
        cli();
        hlt();
    }
}

static __attribute__((noreturn)) void pass(const char *test)
{
    pr("SMOKE %s PASS\n", test);
    finish(PASS_CODE);
}

static __attribute__((noreturn)) void fail(const char *test, const char *why, u64 a, u64 b)
{
    pr("SMOKE %s FAIL: %s (%x, %x)\n", test, why, a, b);
    finish(FAIL_CODE);
}

/* ------------------------------------------------------ command line */

static const char *cmdline = "";

static bool streq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Value of "key=" in the command line, copied into buf. */
static bool arg(const char *key, char *buf, size_t len)
{
    size_t kl = slen(key);
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && streq_n(p, key, kl) && p[kl] == '=') {
            p += kl + 1;
            size_t n = 0;
            while (p[n] && p[n] != ' ' && n + 1 < len) {
                buf[n] = p[n];
                n++;
            }
            buf[n] = 0;
            return true;
        }
    }
    return false;
}

static u64 arg_u64(const char *key, u64 dflt)
{
    char b[32];
    if (!arg(key, b, sizeof(b)))
        return dflt;
    u64 v = 0;
    for (char *p = b; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (u64)(*p - '0');
    return v;
}

static bool is(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* ------------------------------------------------- traps and interrupts */

struct frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vec, err, rip, cs, rflags, rsp, ss;
};

struct idt_entry {
    u16 off0, sel;
    u8 ist, type;
    u16 off1;
    u32 off2, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct { u16 limit; u64 base; } __attribute__((packed)) idt_ptr;

/* Faults the current test expects: RIP to resume at, and what happened. */
static volatile u64 fixup_rip[MAX_CPUS];
static volatile u64 fault_vec[MAX_CPUS];

static volatile u64 irq_count[256];
static void (*irq_handler[256])(struct frame *);

static u32 this_cpu(void)
{
    return x2apic ? lapic_read(0x20) : lapic_read(0x20) >> 24;
}

void trap(struct frame *f);
void trap(struct frame *f)
{
    u32 cpu = this_cpu() % MAX_CPUS;
    if (f->vec < 32) {
        if (fixup_rip[cpu]) {
            fault_vec[cpu] = f->vec;
            f->rip = fixup_rip[cpu];
            fixup_rip[cpu] = 0;
            return;
        }
        pr("SMOKE unexpected exception %u err %x rip %x on cpu %u\n", f->vec, f->err, f->rip, (u64)cpu);
        finish(FAIL_CODE);
    }
    __atomic_fetch_add(&irq_count[f->vec], 1, __ATOMIC_RELAXED);
    if (irq_handler[f->vec])
        irq_handler[f->vec](f);
}

static void idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        u64 a = (u64)(uintptr_t)(isr_table + v * 16);
        idt[v] = (struct idt_entry){ (u16)a, 0x08, 0, 0x8E, (u16)(a >> 16), (u32)(a >> 32), 0 };
    }
    idt_ptr.limit = sizeof(idt) - 1;
    idt_ptr.base = (u64)(uintptr_t)idt;
}

static void idt_load(void)
{
    __asm__ volatile("lidt %0" :: "m"(idt_ptr));
}

/* MSR access that survives a #GP: returns the fault vector or 0. */
static u64 rdmsr_safe(u32 msr, u64 *val)
{
    u32 cpu = this_cpu() % MAX_CPUS, lo = 0, hi = 0;
    fault_vec[cpu] = 0;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %[fix]\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "rdmsr\n"
                     "1:"
                     : "=&a"(lo), "=d"(hi), [fix] "=m"(fixup_rip[cpu])
                     : "c"(msr)
                     : "memory");
    fixup_rip[cpu] = 0;
    *val = (u64)hi << 32 | lo;
    return fault_vec[cpu];
}

static u64 wrmsr_safe(u32 msr, u64 val)
{
    u32 cpu = this_cpu() % MAX_CPUS;
    fault_vec[cpu] = 0;
    __asm__ volatile("leaq 1f(%%rip), %%rbx\n\t"
                     "movq %%rbx, %[fix]\n\t"
                     "wrmsr\n"
                     "1:"
                     : [fix] "=m"(fixup_rip[cpu])
                     : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32))
                     : "rbx", "memory");
    fixup_rip[cpu] = 0;
    return fault_vec[cpu];
}

static u64 rdmsr(u32 msr)
{
    u64 v;
    if (rdmsr_safe(msr, &v))
        fail("rdmsr", "unexpected #GP", msr, 0);
    return v;
}

static void wrmsr(u32 msr, u64 v)
{
    if (wrmsr_safe(msr, v))
        fail("wrmsr", "unexpected #GP", msr, v);
}

/* ------------------------------------------------------------ fw_cfg */

static void fwcfg_read(u16 key, void *buf, u32 len)
{
    outw(0x510, key);
    for (u32 i = 0; i < len; i++)
        ((u8 *)buf)[i] = inb(0x511);
}

static void test_fwcfg(void)
{
    char sig[5] = { 0 };
    u16 ncpu = 0, maxcpu = 0;
    u64 ram = 0;
    fwcfg_read(0x0000, sig, 4);
    fwcfg_read(0x0005, &ncpu, 2);
    fwcfg_read(0x000F, &maxcpu, 2);
    fwcfg_read(0x0003, &ram, 8);
    pr("fw_cfg: signature %s nb_cpus %u max_cpus %u ram_size %u MiB\n", sig, (u64)ncpu,
       (u64)maxcpu, ram >> 20);
    if (!is(sig, "QEMU"))
        fail("fwcfg", "signature", 0, 0);
    if (ncpu != arg_u64("cpus", 1) || maxcpu != ncpu)
        fail("fwcfg", "cpu count", ncpu, arg_u64("cpus", 1));
    if ((ram >> 20) != arg_u64("mem", 0))
        fail("fwcfg", "ram size (MiB)", ram >> 20, arg_u64("mem", 0));
    pass("fwcfg");
}

/* ---------------------------------------------------------- Hyper-V */

static u8 hcall_page[4096] __attribute__((aligned(4096)));
static u8 hc_in[4096] __attribute__((aligned(4096)));
static void *hcall_ptr;

static u64 hv_call(u64 control, u64 in, u64 out)
{
    u64 ret;
    register u64 r8 __asm__("r8") = out;
    __asm__ volatile("call *%[page]"
                     : "=a"(ret), "+c"(control), "+d"(in), "+r"(r8)
                     : [page] "m"(hcall_ptr)
                     : "r9", "r10", "r11", "memory", "cc");
    return ret;
}

static bool hv_present(void)
{
    u32 r[4];
    cpuid(1, 0, r);
    if (!(r[2] >> 31))
        return false;
    cpuid(0x40000000, 0, r);
    return r[1] == 0x7263694D && r[2] == 0x666F736F && r[3] == 0x76482074; /* "Microsoft Hv" */
}

static void hv_enable_hypercalls(const char *test)
{
    u32 r[4];
    if (!hv_present())
        fail(test, "no Microsoft Hv signature", 0, 0);
    cpuid(0x40000000, 0, r);
    if (r[0] < 0x40000005)
        fail(test, "max leaf", r[0], 0);
    cpuid(0x40000001, 0, r);
    if (r[0] != 0x31237648)
        fail(test, "interface is not Hv#1", r[0], 0);
    cpuid(0x40000003, 0, r);
    if (!(r[0] & (1u << 5)) || !(r[0] & (1u << 6)))
        fail(test, "hypercall/VP_INDEX privileges missing", r[0], 0);
    wrmsr(MSR_GUEST_OS_ID, 0x8100000601C00000ull);
    wrmsr(MSR_HYPERCALL, (u64)(uintptr_t)hcall_page | 1);
    if (!(rdmsr(MSR_HYPERCALL) & 1))
        fail(test, "HYPERCALL enable bit does not read back", rdmsr(MSR_HYPERCALL), 0);
    hcall_ptr = hcall_page;
}

static u64 ns_per_tick_x1000 = 333;   /* refined from the frequency MSR */

static void tsc_calibrate(void)
{
    u64 hz;
    if (!rdmsr_safe(MSR_TSC_FREQUENCY, &hz) && hz)
        ns_per_tick_x1000 = 1000000000000ull / hz;
}

static void test_hypercall(void)
{
    hv_enable_hypercalls("hypercall");
    if (hcall_page[0] != 0xF3 || hcall_page[1] != 0x0F || hcall_page[2] != 0x1E || hcall_page[3] != 0xFA)
        fail("hypercall", "page does not start with ENDBR64", hcall_page[0], hcall_page[3]);
    /* An unknown code, a reserved control bit, then a real call. */
    u64 r = hv_call(0x00FE, 0, 0);
    pr("hypercall 0xfe -> %x\n", r);
    if ((r & 0xFFFF) != 2)
        fail("hypercall", "unknown code is not INVALID_HYPERCALL_CODE", r, 2);
    r = hv_call(0x0002ull | (1ull << 31), 0, 0);
    pr("hypercall reserved bit -> %x\n", r);
    if ((r & 0xFFFF) != 3)
        fail("hypercall", "reserved control bit is not INVALID_HYPERCALL_INPUT", r, 3);
    /* HvFlushVirtualAddressSpace for this VP only: a real round trip. */
    u64 *in = (u64 *)hc_in;
    in[0] = 0;
    in[1] = 2;                 /* all address spaces */
    in[2] = 1;                 /* VP 0 */
    r = hv_call(0x0002, (u64)(uintptr_t)hc_in, 0);
    pr("flush self -> %x\n", r);
    if ((r & 0xFFFF) != 0)
        fail("hypercall", "FlushVirtualAddressSpace failed", r, 0);
    /* Disabled page: the enable bit clears and reads back clear. */
    pass("hypercall");
}

static void test_msrgp(void)
{
    u64 v;
    u64 f = rdmsr_safe(MSR_UNKNOWN, &v);
    pr("rdmsr %x -> fault %u\n", (u64)MSR_UNKNOWN, f);
    if (f != 13)
        fail("msrgp", "unknown synthetic MSR did not #GP", f, 0);
    if (!hv_present())
        pass("msrgp");       /* --enlightenments none: every read must #GP */
    f = rdmsr_safe(MSR_VP_INDEX, &v);
    if (f || v != 0)
        fail("msrgp", "VP_INDEX read on the BSP", f, v);
    f = wrmsr_safe(MSR_VP_INDEX, 5);
    pr("wrmsr VP_INDEX -> fault %u\n", f);
    if (f != 13)
        fail("msrgp", "VP_INDEX write did not #GP", f, 0);
    pass("msrgp");
}

/* ----------------------------------------------------------------- SMP */

static volatile u32 ap_up;
static volatile u32 ap_apic_id[MAX_CPUS];
static volatile u64 ap_vp_index[MAX_CPUS];
static volatile u32 ap_cmd[MAX_CPUS];
static volatile u64 ap_result[MAX_CPUS];
static volatile u32 ap_ack[MAX_CPUS];
#define TLB_VA 0x40000000ul

void ap_main(u32 slot);
void ap_main(u32 slot)
{
    idt_load();
    u32 id = this_cpu();
    u64 vp = ~0ull;
    if (hv_present())
        rdmsr_safe(MSR_VP_INDEX, &vp);
    if (slot < MAX_CPUS) {
        ap_apic_id[slot] = id;
        ap_vp_index[slot] = vp;
    }
    __atomic_fetch_add(&ap_up, 1, __ATOMIC_SEQ_CST);
    /* Serve commands (the TLB test): 1 = read TLB_VA. */
    u32 seen = 0;
    for (;;) {
        u32 c = ap_cmd[id % MAX_CPUS];
        if (c != seen) {
            seen = c;
            ap_result[id % MAX_CPUS] = *(volatile u64 *)TLB_VA;
            __atomic_store_n(&ap_ack[id % MAX_CPUS], c, __ATOMIC_SEQ_CST);
        }
        cpu_relax();
    }
}

static void spin_us(u64 us)
{
    u64 end = rdtsc() + us * 1000000ull / ns_per_tick_x1000;
    while (rdtsc() < end)
        cpu_relax();
}

static u32 start_aps(void)
{
    u16 ncpu = 1;
    fwcfg_read(0x0005, &ncpu, 2);
    if (ncpu <= 1)
        return 1;
    memcpy((void *)(uintptr_t)AP_TRAMPOLINE, tramp_start, (size_t)(tramp_end - tramp_start));
    lapic_write(0xF0, lapic_read(0xF0) | 0x100);
    lapic_write(0x310, 0);
    lapic_write(0x300, 0x000C4500);                    /* INIT, all but self */
    spin_us(10000);
    for (int i = 0; i < 2; i++) {
        lapic_write(0x300, 0x000C4600 | (AP_TRAMPOLINE >> 12)); /* SIPI */
        spin_us(200);
    }
    u64 deadline = rdtsc() + 5000000000000ull / ns_per_tick_x1000; /* 5 s */
    while (ap_up < (u32)ncpu - 1u && rdtsc() < deadline)
        cpu_relax();
    return ap_up + 1;
}

static void test_smp(void)
{
    u16 ncpu = 1;
    fwcfg_read(0x0005, &ncpu, 2);
    u32 up = start_aps();
    pr("smp: %u of %u CPUs up\n", (u64)up, (u64)ncpu);
    if (up != ncpu)
        fail("smp", "not every AP came up", up, ncpu);
    bool hv = hv_present();
    for (u32 s = 1; s < ncpu; s++) {
        pr("smp: AP slot %u apic id %u vp index %x\n", (u64)s, (u64)ap_apic_id[s], ap_vp_index[s]);
        if (hv && ap_vp_index[s] != ap_apic_id[s])
            fail("smp", "VP_INDEX differs from the APIC id", ap_vp_index[s], ap_apic_id[s]);
    }
    pass("smp");
}

/* ---------------------------------------------------------- TLB flush */

static u64 tlb_pd[512] __attribute__((aligned(4096)));
static u64 tlb_pt[512] __attribute__((aligned(4096)));
static u64 page_a[512] __attribute__((aligned(4096)));
static u64 page_b[512] __attribute__((aligned(4096)));

static u64 ap_read(u32 cpu)
{
    u32 c = ap_cmd[cpu] + 1;
    __atomic_store_n(&ap_cmd[cpu], c, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&ap_ack[cpu], __ATOMIC_SEQ_CST) != c)
        cpu_relax();
    return ap_result[cpu];
}

static void test_tlbflush(void)
{
    hv_enable_hypercalls("tlbflush");
    page_a[0] = 0xAAAAAAAAAAAAAAAAull;
    page_b[0] = 0xBBBBBBBBBBBBBBBBull;
    /* 4 KiB mapping of TLB_VA in the second GiB: pdpt[1] -> pd -> pt. */
    tlb_pt[0] = (u64)(uintptr_t)page_a | 3;
    tlb_pd[0] = (u64)(uintptr_t)tlb_pt | 3;
    pdpt[1] = (u64)(uintptr_t)tlb_pd | 3;
    u64 cr3;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) :: "memory");

    u32 up = start_aps();
    u32 target = up > 1 ? ap_apic_id[1] : 0;
    u64 first = target ? ap_read(target) : *(volatile u64 *)TLB_VA;
    if (first != page_a[0])
        fail("tlbflush", "first read", first, page_a[0]);
    /* Remap without INVLPG: the old translation may still be cached. */
    tlb_pt[0] = (u64)(uintptr_t)page_b | 3;
    __asm__ volatile("mfence" ::: "memory");
    u64 before = target ? ap_read(target) : *(volatile u64 *)TLB_VA;
    u64 *in = (u64 *)hc_in;
    in[0] = cr3;
    in[1] = 2;                               /* all address spaces */
    in[2] = 1ull << target;                  /* processor mask */
    u64 r = hv_call(0x0002, (u64)(uintptr_t)hc_in, 0);
    if ((r & 0xFFFF) != 0)
        fail("tlbflush", "FlushVirtualAddressSpace status", r, 0);
    u64 after = target ? ap_read(target) : *(volatile u64 *)TLB_VA;
    pr("tlbflush: vp %u before flush %s, after flush %s\n", (u64)target,
       before == page_a[0] ? "stale (old page)" : "new page",
       after == page_b[0] ? "new page" : "STALE");
    if (after != page_b[0])
        fail("tlbflush", "translation still stale after the flush", after, page_b[0]);
    pass("tlbflush");
}

/* XMM-fast input: HvFlushVirtualAddressSpace with its third qword (the
 * processor mask) in XMM0. Which VPs got flushed is visible in --stats,
 * so a host that read XMM0 wrong shows up there. */
static void test_xmmflush(void)
{
    hv_enable_hypercalls("xmmflush");
    u32 r[4];
    cpuid(0x40000003, 0, r);
    if (!(r[3] & (1u << 4)))
        fail("xmmflush", "XMM hypercall input not offered", r[3], 0);
    u64 cr0, cr4;
    __asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
    cr0 = (cr0 & ~(1ull << 2)) | (1ull << 1);    /* EM off, MP on */
    cr4 |= (1ull << 9) | (1ull << 10);           /* OSFXSR, OSXMMEXCPT */
    __asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" :: "r"(cr0), "r"(cr4));
    u64 mask = arg_u64("mask", 2);
    u64 ret;
    u64 control = 0x0002 | (1ull << 16);         /* fast */
    u64 in = 0;                                  /* address space */
    register u64 r8 __asm__("r8") = 2;           /* flags: all address spaces */
    /* The compiler uses no vector registers here (-mgeneral-regs-only),
     * so XMM0 is ours from the movq to the call. */
    __asm__ volatile("movq %[mask], %%xmm0\n\t"
                     "call *%[page]"
                     : "=a"(ret), "+c"(control), "+d"(in), "+r"(r8)
                     : [page] "m"(hcall_ptr), [mask] "r"(mask)
                     : "r9", "r10", "r11", "memory", "cc");
    pr("xmmflush: mask %x -> status %x\n", mask, ret);
    if ((ret & 0xFFFF) != 0)
        fail("xmmflush", "status", ret, 0);
    pass("xmmflush");
}

/* ------------------------------------------------------------ AutoEOI */

static u8 simp[4096] __attribute__((aligned(4096)));
static u8 siefp[4096] __attribute__((aligned(4096)));
#define AUTOEOI_VEC 0xE0
#define LOWPRI_VEC  0x40
#define SINT        2

static volatile u64 autoeoi_msgs;
static volatile u64 autoeoi_in_isr;   /* deliveries that found their ISR bit set */

static void on_autoeoi(struct frame *f)
{
    (void)f;
    volatile u32 *type = (volatile u32 *)(simp + SINT * 256);
    volatile u8 *flags = simp + SINT * 256 + 5;
    if (lapic_read(0x100 + (AUTOEOI_VEC / 32) * 0x10) & (1u << (AUTOEOI_VEC % 32)))
        autoeoi_in_isr++;
    if (*type == 0x80000010u) {
        autoeoi_msgs++;
        *type = 0;
        __asm__ volatile("mfence" ::: "memory");
        if (*flags & 1)
            wrmsr(MSR_EOM, 0);
    }
    /* No EOI: the SINT is AutoEOI. */
}

static volatile u64 lowpri_in_isr;     /* the LAPIC showed our own ISR bit */

static void on_lowpri(struct frame *f)
{
    (void)f;
    if (lapic_read(0x100 + (LOWPRI_VEC / 32) * 0x10) & (1u << (LOWPRI_VEC % 32)))
        lowpri_in_isr++;
    lapic_write(0xB0, 0);
}

static void test_autoeoi(void)
{
    hv_enable_hypercalls("autoeoi");
    u32 r[4];
    cpuid(0x40000003, 0, r);
    if (!(r[0] & (1u << 2)) || !(r[0] & (1u << 3)))
        fail("autoeoi", "SynIC/stimer privileges missing", r[0], 0);
    cpuid(0x40000004, 0, r);
    pr("autoeoi: hints %x (deprecating AutoEOI: %s)\n", (u64)r[0], (r[0] & (1u << 9)) ? "yes" : "no");
    u64 want = arg_u64("count", 50);

    if (arg_u64("x2apic", 0)) {
        cpuid(1, 0, r);
        if (!(r[2] & (1u << 21)))
            fail("autoeoi", "no x2APIC", r[2], 0);
        u64 base = rdmsr(0x1B);
        wrmsr(0x1B, base | (1ull << 11) | (1ull << 10));
        x2apic = true;
        pr("autoeoi: LAPIC in x2APIC mode\n");
    }
    irq_handler[AUTOEOI_VEC] = on_autoeoi;
    irq_handler[LOWPRI_VEC] = on_lowpri;
    lapic_write(0xF0, 0x1FF);                          /* enable, spurious 0xFF */
    lapic_write(0x80, 0);                              /* TPR */
    /* The lower-priority source: LAPIC timer, periodic, about 1 ms. */
    lapic_write(0x3E0, 0xB);                           /* divide by 1 */
    lapic_write(0x320, (1u << 17) | LOWPRI_VEC);
    lapic_write(0x380, 1000000);

    wrmsr(MSR_SIMP, (u64)(uintptr_t)simp | 1);
    wrmsr(MSR_SIEFP, (u64)(uintptr_t)siefp | 1);
    wrmsr(MSR_SINT0 + SINT, AUTOEOI_VEC | (1ull << 17)); /* unmasked, AutoEOI */
    wrmsr(MSR_SCONTROL, 1);
    /* Stimer0: periodic (1 ms unless stimer_us says), messages to SINT2. */
    wrmsr(MSR_STIMER0_COUNT, arg_u64("stimer_us", 1000) * 10);
    wrmsr(MSR_STIMER0_CONFIG, 1 | 2 | ((u64)SINT << 16));

    u64 deadline = rdtsc() + arg_u64("timeout_ms", 10000) * 1000000000ull / ns_per_tick_x1000;
    /* With expect=wedge (the negative control) nothing may ever wake a
     * halted CPU, so spin instead of halting to reach the deadline. */
    char expect[16] = "";
    arg("expect", expect, sizeof(expect));
    bool spin = is(expect, "wedge");
    sti();
    while ((autoeoi_msgs < want || irq_count[LOWPRI_VEC] < want) && rdtsc() < deadline) {
        if (spin)
            cpu_relax();
        else
            hlt();
    }
    cli();
    wrmsr(MSR_STIMER0_CONFIG, 0);
    lapic_write(0x320, 1u << 16);
    pr("autoeoi: %u AutoEOI messages (%u found their vector in ISR), %u lower-priority timer "
       "interrupts (%u found their vector in ISR)\n", autoeoi_msgs, autoeoi_in_isr,
       irq_count[LOWPRI_VEC], lowpri_in_isr);
    /* The negative control needs a LAPIC that keeps ISR bits at all; some
     * software LAPICs (PVM) do not, and there AutoEOI cannot go wrong. */
    if (spin && irq_count[LOWPRI_VEC] && !lowpri_in_isr) {
        pr("SMOKE autoeoi SKIP: this LAPIC keeps no ISR bits, nothing can wedge\n");
        finish(SKIP_CODE);
    }
    if (autoeoi_msgs < want || irq_count[LOWPRI_VEC] < want)
        fail("autoeoi", "interrupts stopped (vector left in service?)", autoeoi_msgs,
             irq_count[LOWPRI_VEC]);
    pass("autoeoi");
}

/* ----------------------------------------------------- crash, power */

static void test_crash(void)
{
    if (!hv_present())
        fail("crash", "no Hyper-V", 0, 0);
    for (u32 i = 0; i < 5; i++)
        wrmsr(MSR_CRASH_P0 + i, 0x1000 + i);
    wrmsr(MSR_CRASH_CTL, 1ull << 63);
    /* The host stops here; if not, that is a failure. */
    spin_us(1000000);
    fail("crash", "host did not stop on CrashNotify", 0, 0);
}

static char crash_text[4096] __attribute__((aligned(4096))) = "smoke: panic text for the host";

static void test_crashmsg(void)
{
    if (!hv_present())
        fail("crashmsg", "no Hyper-V", 0, 0);
    u64 ctl = rdmsr(MSR_CRASH_CTL);
    pr("crashmsg: CRASH_CTL reads %x\n", ctl);
    if (!(ctl & (1ull << 62)))
        fail("crashmsg", "CrashNotifyMsg not offered", ctl, 0);
    wrmsr(MSR_CRASH_P0, 0);
    wrmsr(MSR_CRASH_P0 + 1, 0);
    wrmsr(MSR_CRASH_P0 + 2, 0);
    wrmsr(MSR_CRASH_P0 + 3, (u64)(uintptr_t)crash_text);
    wrmsr(MSR_CRASH_P0 + 4, slen(crash_text));
    wrmsr(MSR_CRASH_CTL, (1ull << 63) | (1ull << 62));
    spin_us(1000000);
    fail("crashmsg", "host did not stop on CrashNotify", 0, 0);
}

/* --------------------------------------------------------------- time */

static u8 tsc_page[4096] __attribute__((aligned(4096)));

/* Reference time from the TSC page, as a guest computes it. */
static bool tsc_page_time(u64 *t)
{
    volatile u32 *seq = (volatile u32 *)tsc_page;
    for (int tries = 0; tries < 100; tries++) {
        u32 s = *seq;
        if (s == 0)
            return false;
        u64 scale = *(volatile u64 *)(tsc_page + 8);
        s64 offset = *(volatile s64 *)(tsc_page + 16);
        u64 tsc = rdtsc();
        u64 ref = (u64)(((unsigned __int128)tsc * scale) >> 64) + (u64)offset;
        if (*seq == s) {
            *t = ref;
            return true;
        }
    }
    return false;
}

/* TIME_REF_COUNT with the TSC at the same moment: the read is an exit, and
 * the host may deschedule the vCPU in it, so keep the tightest of a few
 * TSC-bracketed reads and take the bracket's midpoint. */
static void ref_and_tsc(u64 *ref, u64 *tsc)
{
    u64 best = ~0ull;
    for (int i = 0; i < 20; i++) {
        u64 a = rdtsc(), r = rdmsr(MSR_TIME_REF_COUNT), b = rdtsc();
        if (b - a < best) {
            best = b - a;
            *ref = r;
            *tsc = a + (b - a) / 2;
        }
    }
}

static void test_time(void)
{
    if (!hv_present())
        fail("time", "no Hyper-V", 0, 0);
    u64 hz = rdmsr(MSR_TSC_FREQUENCY);
    wrmsr(MSR_REFERENCE_TSC, (u64)(uintptr_t)tsc_page | 1);
    u64 r0, c0, r1, c1;
    ref_and_tsc(&r0, &c0);
    spin_us(50000);
    ref_and_tsc(&r1, &c1);
    /* Reference time runs at 10 MHz of the TSC frequency the host states. */
    u64 expect = (c1 - c0) / (hz / 10000000ull);
    u64 got = r1 - r0;
    u64 diff = got > expect ? got - expect : expect - got;
    pr("time: tsc %u Hz, 50 ms of TSC = %u ref ticks, TIME_REF_COUNT advanced %u\n", hz, expect, got);
    if (diff > expect / 100 + 10)
        fail("time", "TIME_REF_COUNT rate disagrees with TSC_FREQUENCY", got, expect);
    u64 page, msr = rdmsr(MSR_TIME_REF_COUNT);
    if (!tsc_page_time(&page))
        fail("time", "TSC page invalid", tsc_page[0], 0);
    u64 msr2 = rdmsr(MSR_TIME_REF_COUNT);
    pr("time: MSR %u, page %u, MSR again %u\n", msr, page, msr2);
    /* The page's value lies between two MSR reads (1 ms of slack for
     * the exits around them). */
    if (page + 10000 < msr || page > msr2 + 10000)
        fail("time", "TSC page and TIME_REF_COUNT disagree", page, msr);
    u64 rt0 = rdmsr(MSR_VP_RUNTIME);
    spin_us(20000);
    u64 rt1 = rdmsr(MSR_VP_RUNTIME);
    pr("time: VP_RUNTIME advanced %u (100 ns) over a 20 ms spin\n", rt1 - rt0);
    if (rt1 <= rt0)
        fail("time", "VP_RUNTIME does not advance while the VP runs", rt0, rt1);
    pass("time");
}

/* GUEST_IDLE with interrupts off (TLFS 7.5): sleeps until an interrupt is
 * pending, here a direct-mode stimer 20 ms ahead, and no longer; with that
 * interrupt still pending (IF=0) further reads return at once. */
static void test_idle(void)
{
    if (!hv_present())
        fail("idle", "no Hyper-V", 0, 0);
    cli();
    lapic_write(0xF0, 0x1FF);                          /* enable, spurious 0xFF */
    u64 due = rdmsr(MSR_TIME_REF_COUNT) + 200000;      /* 20 ms, 100 ns units */
    wrmsr(MSR_STIMER0_COUNT, due);
    wrmsr(MSR_STIMER0_CONFIG, 1 | (0xE0ull << 4) | (1ull << 12));  /* one-shot, direct, 0xE0 */
    u64 t0 = rdtsc();
    rdmsr(MSR_GUEST_IDLE);
    u64 first = (rdtsc() - t0) * ns_per_tick_x1000 / 1000000;
    u64 woke = rdmsr(MSR_TIME_REF_COUNT);
    for (int i = 0; i < 9; i++)
        rdmsr(MSR_GUEST_IDLE);
    u64 us = (rdtsc() - t0) * ns_per_tick_x1000 / 1000000;
    pr("idle: first GUEST_IDLE slept %u us (timer 20 ms ahead), 10 reads %u us\n", first, us);
    if (woke < due)
        fail("idle", "GUEST_IDLE returned before the interrupt", woke, due);
    if (us > 2000000)
        fail("idle", "GUEST_IDLE slept too long", us, 0);
    pass("idle");
}

static void test_poweroff(void)
{
    outb(0x600, (5 << 2) | 0x20);     /* SLP_TYP 5 | SLP_EN */
    spin_us(1000000);
    fail("poweroff", "still running", 0, 0);
}

static void test_reset(void)
{
    if (hv_present())
        wrmsr(MSR_RESET, 1);
    else
        outb(0xCF9, 0x06);
    spin_us(1000000);
    fail("reset", "still running", 0, 0);
}

/* --------------------------------------------------------------- rtc */

static u8 cmos(u8 idx)
{
    outb(0x70, idx);
    return inb(0x71);
}

static void test_rtc(void)
{
    if (cmos(0x0A) & 0x80)
        fail("rtc", "update in progress never clears", cmos(0x0A), 0);
    if (!(cmos(0x0B) & 0x04))
        fail("rtc", "not in binary mode", cmos(0x0B), 0);
    u64 year = (u64)cmos(0x32) * 100 + cmos(0x09), mon = cmos(0x08), day = cmos(0x07);
    u64 h = cmos(0x04), m = cmos(0x02), sec = cmos(0x00);
    pr("rtc: %u-%u-%u %u:%u:%u UTC\n", year, mon, day, h, m, sec);
    if (year < 2024 || mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60)
        fail("rtc", "implausible date", year, mon);
    pass("rtc");
}

/* ------------------------------------------------------------- bench */

static void test_bench(void)
{
    hv_enable_hypercalls("bench");
    const u64 n = arg_u64("n", 2000);
    u64 t0 = rdtsc();
    for (u64 i = 0; i < n; i++) {
        u32 lo, hi;
        __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_VP_INDEX));
    }
    u64 t1 = rdtsc();
    for (u64 i = 0; i < n; i++)
        hv_call(0x00FE, 0, 0);
    u64 t2 = rdtsc();
    for (u64 i = 0; i < n; i++)
        outb(0x80, 0);        /* unclaimed port: the plain exit cost */
    u64 t3 = rdtsc();
    for (u64 i = 0; i < n; i++) {
        u32 v;
        __asm__ volatile("inl $0x80, %0" : "=a"(v));
    }
    u64 t4 = rdtsc();
    pr("bench: rdmsr VP_INDEX %u ns, hypercall %u ns, port out exit %u ns, port in exit %u ns "
       "(n=%u)\n",
       (t1 - t0) / n * ns_per_tick_x1000 / 1000, (t2 - t1) / n * ns_per_tick_x1000 / 1000,
       (t3 - t2) / n * ns_per_tick_x1000 / 1000, (t4 - t3) / n * ns_per_tick_x1000 / 1000, n);
    pass("bench");
}

/* -------------------------------------------------------------- main */

struct mb_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
};

void smoke_main(u32 magic, u32 info_addr);
void smoke_main(u32 magic, u32 info_addr)
{
    const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)info_addr;
    if (magic == 0x2BADB002u && (mbi->flags & (1u << 2)))
        cmdline = (const char *)(uintptr_t)mbi->cmdline;
    idt_init();
    idt_load();
    tsc_calibrate();

    char test[32] = "boot";
    arg("test", test, sizeof(test));
    pr("smoke: multiboot magic %x, cmdline \"%s\", test %s\n", (u64)magic, cmdline, test);
    if (magic != 0x2BADB002u)
        fail(test, "bad multiboot magic", magic, 0);

    if (is(test, "boot")) {
        if (!(mbi->flags & (1u << 6)))
            fail("boot", "no memory map", mbi->flags, 0);
        u64 ram = 0;
        for (u32 off = 0; off < mbi->mmap_length;) {
            const u8 *e = (const u8 *)(uintptr_t)(mbi->mmap_addr + off);
            u32 size = *(const u32 *)e;
            u64 len = *(const u64 *)(e + 12);
            if (*(const u32 *)(e + 20) == 1)
                ram += len;
            off += size + 4;
        }
        pr("boot: %u KiB usable RAM in the memory map, %u modules\n", ram >> 10,
           (u64)mbi->mods_count);
        for (u32 i = 0; i < mbi->mods_count; i++) {
            const u32 *m = (const u32 *)(uintptr_t)(mbi->mods_addr + 16 * i);
            pr("boot: module %u: %u bytes \"%s\" first byte '%c'\n", (u64)i, (u64)(m[1] - m[0]),
               (const char *)(uintptr_t)m[2], *(const char *)(uintptr_t)m[0]);
        }
        pass("boot");
    }
    if (is(test, "exit"))
        finish((u32)arg_u64("code", 0));
    if (is(test, "fwcfg"))
        test_fwcfg();
    if (is(test, "hypercall"))
        test_hypercall();
    if (is(test, "msrgp"))
        test_msrgp();
    if (is(test, "smp"))
        test_smp();
    if (is(test, "tlbflush"))
        test_tlbflush();
    if (is(test, "autoeoi"))
        test_autoeoi();
    if (is(test, "xmmflush"))
        test_xmmflush();
    if (is(test, "crash"))
        test_crash();
    if (is(test, "crashmsg"))
        test_crashmsg();
    if (is(test, "time"))
        test_time();
    if (is(test, "idle"))
        test_idle();
    if (is(test, "poweroff"))
        test_poweroff();
    if (is(test, "reset"))
        test_reset();
    if (is(test, "bench"))
        test_bench();
    if (is(test, "rtc"))
        test_rtc();
    fail(test, "unknown test", 0, 0);
}
