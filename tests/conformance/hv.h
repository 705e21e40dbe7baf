/* SPDX-License-Identifier: MIT */
/*
 * The Hyper-V interface as the conformance kernel sees it: TLFS constants
 * (taken from the TLFS, not from hvshim's headers, so the two stay
 * independent), what CPUID advertises, and hypercall wrappers.
 */
#ifndef HVCONF_HV_H
#define HVCONF_HV_H

#include <stdbool.h>
#include <stdint.h>

/* ---------------------------------------------------------------- MSRs */
#define HV_MSR_GUEST_OS_ID       0x40000000u
#define HV_MSR_HYPERCALL         0x40000001u
#define HV_MSR_VP_INDEX          0x40000002u
#define HV_MSR_RESET             0x40000003u
#define HV_MSR_VP_RUNTIME        0x40000010u
#define HV_MSR_TIME_REF_COUNT    0x40000020u
#define HV_MSR_REFERENCE_TSC     0x40000021u
#define HV_MSR_TSC_FREQUENCY     0x40000022u
#define HV_MSR_APIC_FREQUENCY    0x40000023u
#define HV_MSR_EOI               0x40000070u
#define HV_MSR_ICR               0x40000071u
#define HV_MSR_TPR               0x40000072u
#define HV_MSR_VP_ASSIST_PAGE    0x40000073u
#define HV_MSR_SCONTROL          0x40000080u
#define HV_MSR_SVERSION          0x40000081u
#define HV_MSR_SIEFP             0x40000082u
#define HV_MSR_SIMP              0x40000083u
#define HV_MSR_EOM               0x40000084u
#define HV_MSR_SINT0             0x40000090u
#define HV_MSR_SINT(n)           (HV_MSR_SINT0 + (n))
#define HV_MSR_STIMER_CONFIG(n)  (0x400000B0u + 2 * (n))
#define HV_MSR_STIMER_COUNT(n)   (0x400000B1u + 2 * (n))
#define HV_MSR_GUEST_IDLE        0x400000F0u
#define HV_MSR_CRASH_P(n)        (0x40000100u + (n))
#define HV_MSR_CRASH_CTL         0x40000105u
#define HV_MSR_REENLIGHTENMENT   0x40000106u
#define HV_MSR_TSC_EMU_CONTROL   0x40000107u
#define HV_MSR_TSC_EMU_STATUS    0x40000108u
#define HV_MSR_TSC_INVARIANT     0x40000118u

#define HV_CRASH_CTL_NOTIFY      (1ull << 63)
#define HV_CRASH_CTL_MESSAGE     (1ull << 62)

#define HV_SINT_MASKED           (1ull << 16)
#define HV_SINT_AUTO_EOI         (1ull << 17)
#define HV_SINT_POLLING          (1ull << 18)

#define HV_STIMER_ENABLE         (1ull << 0)
#define HV_STIMER_PERIODIC       (1ull << 1)
#define HV_STIMER_LAZY           (1ull << 2)
#define HV_STIMER_AUTO_ENABLE    (1ull << 3)
#define HV_STIMER_VECTOR(v)      ((uint64_t)(v) << 4)
#define HV_STIMER_DIRECT         (1ull << 12)
#define HV_STIMER_SINT(s)        ((uint64_t)(s) << 16)

/* ------------------------------------------------------ CPUID privileges */
/* 0x40000003.EAX */
#define HV_EAX_VP_RUNTIME        (1u << 0)
#define HV_EAX_TIME_REF_COUNT    (1u << 1)
#define HV_EAX_SYNIC             (1u << 2)
#define HV_EAX_STIMER            (1u << 3)
#define HV_EAX_APIC_MSRS         (1u << 4)
#define HV_EAX_HYPERCALL_MSRS    (1u << 5)
#define HV_EAX_VP_INDEX          (1u << 6)
#define HV_EAX_RESET             (1u << 7)
#define HV_EAX_STATS             (1u << 8)
#define HV_EAX_REFERENCE_TSC     (1u << 9)
#define HV_EAX_GUEST_IDLE        (1u << 10)
#define HV_EAX_FREQUENCY         (1u << 11)
#define HV_EAX_REENLIGHTENMENT   (1u << 13)
#define HV_EAX_TSC_INVARIANT     (1u << 15)
/* 0x40000003.EBX */
#define HV_EBX_CREATE_PARTITIONS (1u << 0)
#define HV_EBX_PARTITION_ID      (1u << 1)
#define HV_EBX_MEMORY_POOL       (1u << 2)
#define HV_EBX_POST_MESSAGES     (1u << 4)
#define HV_EBX_SIGNAL_EVENTS     (1u << 5)
#define HV_EBX_CREATE_PORT       (1u << 6)
#define HV_EBX_CONNECT_PORT      (1u << 7)
#define HV_EBX_DEBUGGING         (1u << 11)
#define HV_EBX_CPU_MANAGEMENT    (1u << 12)
#define HV_EBX_VP_REGISTERS      (1u << 17)
#define HV_EBX_EXT_HYPERCALLS    (1u << 20)
#define HV_EBX_START_VP          (1u << 21)
#define HV_EBX_ISOLATION         (1u << 22)
/* 0x40000003.EDX */
#define HV_EDX_XMM_INPUT         (1u << 4)
#define HV_EDX_GUEST_IDLE_STATE  (1u << 5)
#define HV_EDX_FREQUENCY         (1u << 8)
#define HV_EDX_CRASH             (1u << 10)
#define HV_EDX_XMM_OUTPUT        (1u << 15)
#define HV_EDX_SINT_POLLING      (1u << 17)
#define HV_EDX_HCALL_MSR_LOCK    (1u << 18)
#define HV_EDX_STIMER_DIRECT     (1u << 19)
/* 0x40000004.EAX (recommendations) */
#define HV_REC_LOCAL_FLUSH       (1u << 1)
#define HV_REC_REMOTE_FLUSH      (1u << 2)
#define HV_REC_APIC_MSRS         (1u << 3)
#define HV_REC_RESET             (1u << 4)
#define HV_REC_RELAXED_TIMING    (1u << 5)
#define HV_REC_DEPRECATE_AUTOEOI (1u << 9)
#define HV_REC_CLUSTER_IPI       (1u << 10)
#define HV_REC_EX_PROCESSOR_MASK (1u << 11)

/* ---------------------------------------------------------- hypercalls */
#define HVCALL_FLUSH_SPACE       0x0002
#define HVCALL_FLUSH_LIST        0x0003
#define HVCALL_SPIN_WAIT         0x0008
#define HVCALL_SEND_IPI          0x000B
#define HVCALL_FLUSH_SPACE_EX    0x0013
#define HVCALL_FLUSH_LIST_EX     0x0014
#define HVCALL_SEND_IPI_EX       0x0015
#define HVCALL_CREATE_PARTITION  0x0040
#define HVCALL_GET_PARTITION_ID  0x0046
#define HVCALL_DEPOSIT_MEMORY    0x0048
#define HVCALL_GET_VP_REGISTERS  0x0050
#define HVCALL_POST_MESSAGE      0x005C
#define HVCALL_SIGNAL_EVENT      0x005D
#define HVCALL_POST_DEBUG_DATA   0x0069
#define HVCALL_CREATE_PORT       0x0095
#define HVCALL_CONNECT_PORT      0x0096
#define HVCALL_START_VP          0x0099
#define HVCALL_EXT_QUERY_CAPS    0x8001

#define HC_FAST                  (1ull << 16)
#define HC_VARHEAD(q)            ((uint64_t)(q) << 17)
#define HC_REP_COUNT(n)          ((uint64_t)(n) << 32)
#define HC_REP_START(n)          ((uint64_t)(n) << 48)

#define HV_STATUS(rax)           ((unsigned)((rax) & 0xFFFF))
#define HV_REPS_DONE(rax)        ((unsigned)(((rax) >> 32) & 0xFFF))

#define HV_STATUS_SUCCESS                 0x0
#define HV_STATUS_INVALID_HYPERCALL_CODE  0x2
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x3
#define HV_STATUS_INVALID_ALIGNMENT       0x4
#define HV_STATUS_INVALID_PARAMETER       0x5
#define HV_STATUS_ACCESS_DENIED           0x6
#define HV_STATUS_INVALID_PORT_ID         0x11
#define HV_STATUS_INVALID_CONNECTION_ID   0x12
#define HV_STATUS_INVALID_SYNIC_STATE     0x18

#define HV_FLUSH_ALL_PROCESSORS  (1ull << 0)
#define HV_FLUSH_ALL_SPACES      (1ull << 1)
#define HV_FLUSH_NON_GLOBAL_ONLY (1ull << 2)

#define HV_MSG_NONE              0u
#define HV_MSG_TIMER_EXPIRED     0x80000010u

/* One SIM slot (TLFS HV_MESSAGE). */
struct hv_message {
    volatile uint32_t type;
    volatile uint8_t payload_size;
    volatile uint8_t flags;             /* bit 0: message pending */
    volatile uint16_t rsvd;
    volatile uint64_t origin;
    volatile uint64_t payload[30];
};

struct hv_timer_payload {
    uint32_t timer_index;
    uint32_t rsvd;
    uint64_t expiration_time;
    uint64_t delivery_time;
};

struct hv_tsc_page {
    volatile uint32_t sequence;
    uint32_t rsvd;
    volatile uint64_t scale;
    volatile int64_t offset;
};

/* Open-source format (bit 63), OS type 1, kernel 6.1.192: hosts tune some
 * answers to the guest OS, and the guests hvshim serves are Linux 6.1. */
#define CONF_GUEST_OS_ID ((uint64_t)0x8100000601C00000ull)

/* ---------------------------------------------------- what we detected */
struct hv_info {
    bool present;                 /* "Microsoft Hv" + "Hv#1" */
    uint32_t max_leaf;
    char vendor[13];
    uint32_t version[4];          /* 0x40000002 */
    uint32_t features[4];         /* 0x40000003: EAX EBX ECX EDX */
    uint32_t recommend[4];        /* 0x40000004 */
    uint32_t limits[4];           /* 0x40000005 */
    uint32_t hwfeatures[4];       /* 0x40000006 */
};

extern struct hv_info hv;
extern uint64_t hv_hypercall_va;  /* page address once enabled, else 0 */

static inline bool hv_priv(uint32_t eax_bit) { return hv.features[0] & eax_bit; }
static inline bool hv_priv_ebx(uint32_t bit) { return hv.features[1] & bit; }
static inline bool hv_feat_edx(uint32_t bit) { return hv.features[3] & bit; }
static inline bool hv_rec(uint32_t bit) { return hv.recommend[0] & bit; }

void hv_detect(void);

/* Writes a Linux-style guest OS ID and enables the hypercall page. Returns
 * false (and says why in *why) when that did not work. Idempotent. */
bool hv_hypercalls_ready(const char **why);

/* Per-CPU pages the checks use as overlay targets and hypercall buffers. */
uint8_t *hv_page_simp(unsigned cpu);
uint8_t *hv_page_siefp(unsigned cpu);
uint8_t *hv_page_assist(unsigned cpu);
uint8_t *hv_page_in(unsigned cpu);      /* hypercall input page */
uint8_t *hv_page_out(unsigned cpu);     /* hypercall output page */
uint8_t *hv_page_tsc(void);
uint8_t *hv_page_hcall(void);
uint8_t *hv_page_scratch(unsigned n);   /* n < 8: plain pages for any use */

/* VP index of every CPU, read by that CPU (hv_read_vp_indexes()). */
extern uint32_t hv_vp_index[];
void hv_read_vp_indexes(void);

/* Raw hypercall through the page: RCX = control, RDX = in, R8 = out.
 * The caller must have checked hv_hypercall_va. */
static inline uint64_t hv_call(uint64_t control, uint64_t in, uint64_t out)
{
    uint64_t rax;
    register uint64_t r8 __asm__("r8") = out;
    __asm__ volatile("call *%[page]"
                     : "=a"(rax), "+c"(control), "+d"(in), "+r"(r8)
                     : [page] "m"(hv_hypercall_va)
                     : "r9", "r10", "r11", "memory", "cc");
    return rax;
}

/* As hv_call, but a fault comes back as its vector (>= 0) with *rax left
 * alone; -1 means the call returned. */
int hv_call_safe(uint64_t control, uint64_t in, uint64_t out, uint64_t *rax);

/* isr.S helpers: in/out = {RDX, R8, XMM0..XMM5 as 12 qwords}. */
uint64_t hv_call_xmm(uint64_t control, const uint64_t in[14], uint64_t out[14]);
uint64_t hv_call_regs(uint64_t control, uint64_t rdx, uint64_t r8, uint64_t regs_out[2]);
int hv_call_xmm_safe(uint64_t control, const uint64_t in[14], uint64_t out[14],
                     uint64_t *rax);

/* isr.S: the call with every other GPR holding a pattern; after[] gets
 * RBX RCX RDX RSI RDI RBP R8 R9 R10 R11 R12 R13 R14 R15 from after it. */
uint64_t hv_call_preserve(uint64_t control, uint64_t rdx, uint64_t r8, uint64_t after[14]);
extern const uint64_t hv_preserve_pattern[14];  /* NOT for RCX/RDX/R8 */

/* Partition reference time from the TSC page; false if its sequence is 0. */
bool hv_tsc_page_read(const struct hv_tsc_page *p, uint64_t *ref);

const char *hv_status_name(unsigned status);

#endif
