/* SPDX-License-Identifier: MIT */
/*
 * hvshim-kvm: a userspace VMM on the KVM API that gives guests the Hyper-V
 * interface through the hvshim core. This header is the contract between
 * the VMM's files: the machine (struct vmm), its vCPUs, the port-I/O bus
 * devices register on, and the services vCPU threads share (kicks, pause,
 * TLB flush, timers, AutoEOI). See docs/kvm-host.md for the design.
 */
#ifndef HVSHIM_KVM_VMM_H
#define HVSHIM_KVM_VMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <poll.h>

#include <linux/kvm.h>

#include "hvshim/hvshim.h"
#include "kvm-glue/inbox.h"

/* timer slots after the four stimers: AutoEOI polling, and polling for
 * freed message slots (the in-kernel LAPIC hides the guest's EOIs) */
#define VMM_TIMER_AUTOEOI  HV_STIMER_COUNT
#define VMM_TIMER_SLOTPOLL (HV_STIMER_COUNT + 1u)
#define VMM_TIMERS_PER_VP  (HV_STIMER_COUNT + 2u)
#define VMM_SLOTPOLL_NS    200000ull

/* ------------------------------------------------------------ exit codes */
/* Host exit statuses (documented in docs/kvm-host.md). isa-debug-exit gives
 * (code << 1) | 1, always odd, so ours are even. */
#define VMM_EXIT_POWEROFF    0
#define VMM_EXIT_USAGE       2
#define VMM_EXIT_CRASH       4   /* guest wrote CRASH_CTL with CrashNotify */
#define VMM_EXIT_FATAL       6   /* KVM internal error, failed entry, VMM fault */

/* ------------------------------------------------------------- constants */
#define VMM_MAX_VCPUS        255u    /* xAPIC physical ids, MSI destination */
#define VMM_LOW_RAM_MAX      0xC0000000ull /* RAM below 4 GiB ends here at most */
#define VMM_HIGH_RAM_BASE    0x100000000ull
#define VMM_MMIO_WINDOW_BASE 0xE0000000ull /* for VMBus devices (DSDT VMOD) */
#define VMM_MMIO_WINDOW_SIZE 0x1C000000ull
#define VMM_IOAPIC_BASE      0xFEC00000ull
#define VMM_LAPIC_BASE       0xFEE00000ull

/* Port the hypercall page traps through (in $imm8, %eax; see hv.c). */
#define VMM_HYPERCALL_PORT   0xEEu

/* Platform ports handled by dev/pm.c (ACPI hardware-reduced registers). */
#define VMM_PM_SLEEP_CTL     0x600u
#define VMM_PM_SLEEP_STS     0x601u
#define VMM_PM_RESET_REG     0x602u
#define VMM_PM_RESET_VALUE   0x0Fu

/* --hv-echo (echo.c): the loopback connections and the event SINT. */
#define VMM_ECHO_MSG_CONNECTION   0x7E5701u
#define VMM_ECHO_EVENT_CONNECTION 0x7E5702u
#define VMM_ECHO_EVENT_SINT       3u

/* --nic / --disk given on the command line, at most. */
#define VMM_MAX_NICS  8u
#define VMM_MAX_DISKS 64u

/* ---------------------------------------------------------- stop reasons */
enum vmm_stop {
    VMM_RUNNING = 0,
    VMM_STOP_POWEROFF,    /* ACPI S5 */
    VMM_STOP_RESET,       /* reboot request (RESET MSR, reset register, triple fault) */
    VMM_STOP_DEBUG_EXIT,  /* isa-debug-exit */
    VMM_STOP_CRASH,       /* Hyper-V crash notification */
    VMM_STOP_FATAL,       /* unrecoverable VMM/KVM error */
};

/* ------------------------------------------------------------------ I/O */
/* A port-I/O device: one handler for a range of ports. data holds size
 * bytes, little-endian; reads fill it. Called on a vCPU thread. */
typedef void (*vmm_pio_fn)(void *opaque, uint16_t port, bool is_write, uint8_t *data,
                           uint32_t size);

struct vmm_pio_dev {
    uint16_t base;
    uint16_t len;
    vmm_pio_fn fn;
    void *opaque;
    const char *name;
};

#define VMM_MAX_PIO_DEVS 32u

/* ------------------------------------------------------------ vCPU kicks */
/* Requests another thread leaves for a vCPU; each makes it leave KVM_RUN. */
enum {
    VCPU_REQ_POLL    = 1u << 0,  /* call hv_vp_poll() */
    VCPU_REQ_FLUSH   = 1u << 1,  /* flush own TLB (see flush_req) */
    VCPU_REQ_AUTOEOI = 1u << 2,  /* look at outstanding AutoEOI vectors */
    VCPU_REQ_EXIT    = 1u << 3,  /* just leave KVM_RUN (pause, stop) */
};

/* Exit reasons counted for --stats (KVM's numbers fit below this). */
#define VMM_EXIT_REASONS 64u

struct vcpu_stats {
    uint64_t exits[VMM_EXIT_REASONS];
    uint64_t eintr;              /* KVM_RUN interrupted by a kick */
    uint64_t userspace_tsc;      /* host TSC ticks from an exit to the next entry */
    uint64_t userspace_exits;
    uint64_t hypercall_tsc;      /* ticks spent handling hypercall exits */
    uint64_t hypercall_exits;
    uint64_t msr_tsc;
    uint64_t msr_exits;
    uint64_t tlb_flushes;        /* flushes done on this vCPU */
    uint64_t autoeoi_scrubs;     /* ISR bits cleared */
    uint64_t autoeoi_x2apic_eois; /* ... of which by an x2APIC EOI */
    uint64_t autoeoi_checks;
};

struct vmm;

struct vcpu {
    struct vmm *vm;
    uint32_t index;              /* vCPU id == APIC id == VP index */
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool thread_started;         /* joinable (main thread's view) */
    _Atomic int thread_running;  /* set by the thread itself: kicks may signal */
    bool sync_regs;              /* KVM_CAP_SYNC_REGS in use */

    _Atomic uint32_t reqs;       /* VCPU_REQ_* */
    _Atomic int in_guest;        /* inside KVM_RUN (or about to be) */

    /* TLB flush handshake: a requester bumps flush_req; the vCPU flushes
     * and publishes the value it served in flush_done. */
    _Atomic uint64_t flush_req;
    _Atomic uint64_t flush_done;
    uint64_t *flush_wait;        /* scratch: per-target generation (tlb.c) */
    bool flush_owed;             /* acknowledged, to be done before entry */
    bool cr3_pending;            /* HvSwitchVirtualAddressSpace, before entry */
    uint64_t cr3_value;
    /* The last exit left an operation KVM completes on the next KVM_RUN
     * (port I/O, MMIO, MSR). Changing segment state before that run makes
     * KVM drop the completion, so it is forced first (vcpu_complete_exit). */
    bool completion_pending;

    /* GUEST_IDLE wakeups */
    pthread_mutex_t idle_lock;
    pthread_cond_t idle_cond;
    bool idle_wake;

    /* Timers (timer.c): deadlines in CLOCK_MONOTONIC ns, 0 = none, and
     * the POSIX timer that signals this vCPU's thread at the earliest. */
    pthread_mutex_t tlock;
    uint64_t deadline[VMM_TIMERS_PER_VP];
    uint64_t armed_at;
    timer_t ptimer;
    bool ptimer_ok;

    /* AutoEOI vectors injected and not yet seen retired (autoeoi.c) */
    _Atomic uint64_t autoeoi_outstanding[4];

    struct vcpu_stats st;
    uint64_t exit_tsc;           /* host TSC at the last exit */
};

/* ----------------------------------------------------------- the machine */
struct vmm_options {
    const char *kernel;
    const char *initrd;          /* bzImage: one file; multiboot: "a,b" modules */
    const char *append;
    uint32_t smp;
    uint64_t mem;
    hv_features_t features;
    const char *serial;          /* "stdio", "none", "file:PATH" */
    bool reboot_restart;         /* --reboot=restart (default: restart) */
    uint32_t trace_mask;         /* 1 << enum hv_trace_kind (grouped) */
    bool stats;
    bool no_sync_regs;           /* measurement: force GET/SET ioctls */
    bool no_autoeoi_scrub;       /* diagnostics: prove the scrub is needed */
    int vmbus;                   /* --vmbus: -1 auto (default), 0 off, 1 on */
    const char *ic;              /* --ic list (NULL: all) */
    const char *nics[VMM_MAX_NICS];
    uint32_t nr_nics;
    const char *disks[VMM_MAX_DISKS];
    uint32_t nr_disks;
    const char *ctl_path;        /* --ctl: control socket, or NULL */
    bool hv_echo;                /* --hv-echo */
    bool shared_ram;             /* --shared-ram: memfd-backed guest RAM */
};

/* Trace groups (--trace) */
enum {
    VMM_TRACE_MSR = 1u << 0,
    VMM_TRACE_HYPERCALL = 1u << 1,
    VMM_TRACE_SYNIC = 1u << 2,
    VMM_TRACE_STIMER = 1u << 3,
    VMM_TRACE_VMBUS = 1u << 4,   /* the VMBus server's debug lines */
};

struct vmm {
    struct vmm_options opt;
    int kvm_fd;
    int vm_fd;
    int run_mmap_size;

    /* Guest RAM: one host mapping; [0, low_size) at GPA 0 and the rest at
     * 4 GiB. Never moves while the process lives (pages are handed out). */
    uint8_t *ram;
    int ram_fd;                  /* --shared-ram: the memfd behind ram (VMBus
                                  * maps scattered guest pages contiguously
                                  * from it); else -1 */
    uint64_t ram_size;
    uint64_t low_size;
    uint64_t high_size;

    uint32_t nr_vcpus;
    struct vcpu *vcpus;

    /* Hyper-V core */
    struct hv_partition part;
    struct hv_vp *hv_vps;
    struct hv_host_ops ops;
    bool hv_ready;

    /* Time */
    uint64_t tsc_hz;             /* calibrated (used) */
    uint64_t tsc_khz_kvm;        /* KVM_GET_TSC_KHZ */
    int64_t tsc_offset;          /* guest TSC = host TSC + offset */
    uint64_t start_ns;

    /* Port I/O bus */
    struct vmm_pio_dev pio[VMM_MAX_PIO_DEVS];
    uint32_t nr_pio;

    /* One lock for every interrupt hvshim-kvm injects (see autoeoi.c). */
    pthread_mutex_t inject_lock;

    /* Stop-the-world for LAPIC rewrites (pause.c) */
    pthread_mutex_t pause_lock;
    _Atomic int pause_req;
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;

    /* TLB flush completion (tlb.c) */
    pthread_mutex_t flush_lock;
    pthread_cond_t flush_cond;

    /* Stop */
    _Atomic int stop;            /* enum vmm_stop */
    int exit_status;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;

    uint64_t rsdp_gpa;           /* ACPI root, built before the kernel loads */

    /* Devices */
    struct serial *serial;
    struct fw_cfg *fw_cfg;

    /* VMBus, the control socket and the thread that runs both (loop.c).
     * vCPUs reach the server only through the inbox. */
    struct vmm_inbox inbox;
    struct vmm_bus *bus;         /* NULL with --vmbus off */
    struct vmm_ctl *ctl;         /* NULL without --ctl */
    struct vmm_loop *loop;

    /* Stats that belong to no vCPU */
    _Atomic uint64_t hc_by_code[65536];   /* by call code (control bits 0-15) */
    _Atomic uint64_t msr_reads[0x200];
    _Atomic uint64_t msr_writes[0x200];
    _Atomic uint64_t pio_unclaimed;
    _Atomic uint64_t mmio_unclaimed;
    _Atomic uint64_t injections;
    _Atomic uint64_t ipis;
    _Atomic uint64_t timer_fires;
    _Atomic uint64_t slot_polls;     /* polls for freed message slots */
    _Atomic uint64_t kicks;
    _Atomic uint64_t pauses;
    _Atomic uint64_t flush_requests;
    uint64_t boots;
};

/* ------------------------------------------------------------ functions */

/* util.c */
void vmm_die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void vmm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t vmm_now_ns(void);
static inline uint64_t vmm_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Membership in a core VP set (host.h's plain bitmap). */
static inline bool vmm_vpset_has(const struct hv_vp_set *s, uint32_t vp)
{
    return vp < HV_MAX_VPS && ((s->bits[vp / 64] >> (vp % 64)) & 1);
}

/* memory.c: guest RAM and bounds-checked guest physical memory */
int vmm_ram_alloc(struct vmm *vm);   /* ram, ram_fd from ram_size; -1 + errno */
void vmm_ram_clear(struct vmm *vm);
void *vmm_gpa_ptr(struct vmm *vm, uint64_t gpa, uint64_t len);
int vmm_gpa_read(struct vmm *vm, uint64_t gpa, void *buf, size_t len);
int vmm_gpa_write(struct vmm *vm, uint64_t gpa, const void *buf, size_t len);
bool vmm_gpa_is_ram(const struct vmm *vm, uint64_t gpa, uint64_t len);

/* kvm.c: VM and vCPU life cycle */
int vmm_open_kvm(struct vmm *vm, char *err, size_t err_len);
void vmm_create_vm(struct vmm *vm);
void vmm_destroy_vm(struct vmm *vm);
void vmm_setup_cpuid(struct vmm *vm, struct vcpu *v);
/* Read n (1..VCPU_GET_MSRS_MAX) MSRs of a vCPU that is not in KVM_RUN. */
#define VCPU_GET_MSRS_MAX 4u
bool vcpu_get_msrs(struct vcpu *v, uint32_t n, const uint32_t *index, uint64_t *data);
void vmm_setup_msr_filter(struct vmm *vm);

/* vcpu.c: the run loop */
void vmm_start_vcpus(struct vmm *vm);
void vmm_join_vcpus(struct vmm *vm);
void vcpu_kick(struct vcpu *v, uint32_t req);
void vcpu_service(struct vcpu *v);
void vmm_request_stop(struct vmm *vm, enum vmm_stop why, int status);
static inline bool vmm_stopping(struct vmm *vm)
{
    return atomic_load_explicit(&vm->stop, memory_order_acquire) != VMM_RUNNING;
}

/* pause.c: stop every other vCPU outside KVM_RUN */
void vmm_pause_others(struct vmm *vm, struct vcpu *self);
void vmm_resume_others(struct vmm *vm);
void vcpu_park_if_paused(struct vcpu *v);

/* pio.c */
void vmm_pio_register(struct vmm *vm, uint16_t base, uint16_t len, vmm_pio_fn fn,
                      void *opaque, const char *name);
void vmm_pio_dispatch(struct vmm *vm, uint16_t port, bool is_write, uint8_t *data,
                      uint32_t size);

/* irq.c: every injection by hvshim-kvm goes through inject_lock */
void vmm_irq_line(struct vmm *vm, uint32_t gsi, int level);
void vmm_msi_fixed(struct vmm *vm, uint32_t apic_id, uint8_t vector);
void vmm_msi_fixed_autoeoi(struct vmm *vm, uint32_t apic_id, uint8_t vector);

/* hv.c: the Hyper-V core wiring */
void vmm_hv_init(struct vmm *vm);
void vmm_hv_reset(struct vmm *vm);
void vmm_hv_destroy(struct vmm *vm);
void vcpu_handle_msr(struct vcpu *v);
void vcpu_handle_hypercall(struct vcpu *v);
hv_features_t vmm_host_features(void);

/* hostops.c */
void vmm_hostops_fill(struct hv_host_ops *ops);
void vcpu_wake_idle(struct vcpu *v);

/* tlb.c */
void vcpu_serve_flush(struct vcpu *v);
void vcpu_apply_owed(struct vcpu *v);
void vcpu_complete_exit(struct vcpu *v);
void vmm_tlb_flush(struct vmm *vm, uint32_t caller, const struct hv_vp_set *vps);
int vcpu_switch_cr3(struct vcpu *v, uint64_t cr3);

/* A 32-bit register of a KVM_GET_LAPIC snapshot, by its APIC offset. */
static inline uint32_t vmm_lapic_reg(const struct kvm_lapic_state *s, uint32_t off)
{
    uint32_t r;
    memcpy(&r, &s->regs[off], 4);
    return r;
}

/* autoeoi.c */
void vmm_autoeoi_note(struct vmm *vm, uint32_t vp, uint8_t vector);
void vcpu_autoeoi_service(struct vcpu *v);

/* timer.c: per-vCPU deadlines on a POSIX timer signalling the vCPU thread */
void vcpu_timer_thread_init(struct vcpu *v);
void vcpu_timer_thread_exit(struct vcpu *v);
void vcpu_timers_run(struct vcpu *v);
uint64_t vcpu_timer_next_ns(struct vcpu *v);
void vmm_timers_reset(struct vmm *vm);
void vmm_timer_arm(struct vmm *vm, uint32_t vp, uint32_t timer, uint64_t delay_ns);
void vmm_timer_cancel(struct vmm *vm, uint32_t vp, uint32_t timer);

/* tsc.c */
void vmm_tsc_calibrate(struct vmm *vm);
uint64_t vmm_guest_tsc(struct vmm *vm);

/* boot.c, multiboot.c, bzimage.c */
enum vmm_kernel_kind { VMM_KERNEL_MULTIBOOT, VMM_KERNEL_BZIMAGE };
struct vmm_image {
    uint8_t *data;
    size_t size;
};
int vmm_read_file(const char *path, struct vmm_image *img, char *err, size_t err_len);
int vmm_kernel_probe(const struct vmm_image *k, enum vmm_kernel_kind *kind,
                     char *err, size_t err_len);
int vmm_load_multiboot(struct vmm *vm, const struct vmm_image *k, char *err, size_t err_len);
int vmm_load_bzimage(struct vmm *vm, const struct vmm_image *k, char *err, size_t err_len);
void vmm_setup_gdt(struct vmm *vm);
void vmm_set_bsp_flat32(struct vmm *vm, uint32_t eip, uint32_t eax, uint32_t ebx);
void vmm_set_bsp_long64(struct vmm *vm, uint64_t rip, uint64_t rsi);

/* e820.c */
struct vmm_e820 {
    uint64_t addr, size;
    uint32_t type;   /* 1 RAM, 2 reserved */
};
uint32_t vmm_e820_map(const struct vmm *vm, struct vmm_e820 *out, uint32_t max);

/* acpi.c */
uint64_t vmm_acpi_build(struct vmm *vm);   /* returns the RSDP GPA */

/* devices (dev/) */
void serial_init(struct vmm *vm);
void serial_reset(struct vmm *vm);
void serial_shutdown(struct vmm *vm);
void debug_exit_init(struct vmm *vm);
void fw_cfg_init(struct vmm *vm);
void pm_init(struct vmm *vm);
void rtc_init(struct vmm *vm);

/* echo.c: --hv-echo */
int vmm_echo_init(struct vmm *vm);
uint16_t vmm_echo_post(struct vmm *vm, uint32_t type, const void *payload, uint32_t size);
uint16_t vmm_echo_signal(struct vmm *vm, uint32_t vp, uint16_t flag);

/* loop.c: the thread that runs the VMBus server and the control socket */
void vmm_loop_start(struct vmm *vm);
/* Between boots (vCPUs stopped): reset the bus; returns when done. */
void vmm_loop_reset(struct vmm *vm);
void vmm_loop_stop(struct vmm *vm);

/* ctl.c: the control socket (docs/kvm-host.md); open/close on the main
 * thread, the rest on the loop thread. */
int vmm_ctl_open(struct vmm *vm, const char *path, char *err, size_t err_len);
void vmm_ctl_close(struct vmm *vm);
/* Fill up to max poll entries; returns how many. */
int vmm_ctl_pollfds(struct vmm *vm, struct pollfd *fds, int max);
void vmm_ctl_handle(struct vmm *vm, const struct pollfd *fds, int n);

/* stats.c */
void vmm_stats_print(struct vmm *vm, uint64_t wall_ns);
const char *vmm_exit_reason_name(uint32_t reason);

#endif /* HVSHIM_KVM_VMM_H */
