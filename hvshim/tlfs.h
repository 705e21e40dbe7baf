/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V Top-Level Functional Specification: the numbers and layouts a
 * host needs. Definitions only; every value is little-endian and a page is
 * 4096 bytes. Names follow the TLFS where it has one.
 */
#ifndef HVSHIM_TLFS_H
#define HVSHIM_TLFS_H

#include <stdint.h>

#define HV_PAGE_SHIFT 12
#define HV_PAGE_SIZE  4096u
#define HV_PAGE_MASK  (~(uint64_t)(HV_PAGE_SIZE - 1))

/* ------------------------------------------------------------------ CPUID */

#define HV_CPUID_VENDOR_AND_MAX   0x40000000u
#define HV_CPUID_INTERFACE        0x40000001u
#define HV_CPUID_VERSION          0x40000002u
#define HV_CPUID_FEATURES         0x40000003u
#define HV_CPUID_ENLIGHTENMENT    0x40000004u
#define HV_CPUID_LIMITS           0x40000005u
#define HV_CPUID_HW_FEATURES      0x40000006u
#define HV_CPUID_CPU_MANAGEMENT   0x40000007u
#define HV_CPUID_NESTED           0x4000000Au
#define HV_CPUID_MAX_LEAF         HV_CPUID_NESTED

#define HV_CPUID_SIGNATURE_HV1    0x31237648u /* "Hv#1" */

/* 0x40000003.EAX: partition privileges, low half */
#define HV_PRIV_VP_RUNTIME            (1u << 0)
#define HV_PRIV_TIME_REF_COUNT        (1u << 1)
#define HV_PRIV_SYNIC                 (1u << 2)
#define HV_PRIV_SYNTHETIC_TIMERS      (1u << 3)
#define HV_PRIV_APIC_ACCESS           (1u << 4)
#define HV_PRIV_HYPERCALL_MSRS        (1u << 5)
#define HV_PRIV_VP_INDEX              (1u << 6)
#define HV_PRIV_RESET                 (1u << 7)
#define HV_PRIV_STATS                 (1u << 8)
#define HV_PRIV_REFERENCE_TSC         (1u << 9)
#define HV_PRIV_GUEST_IDLE            (1u << 10)
#define HV_PRIV_FREQUENCY_MSRS        (1u << 11)
#define HV_PRIV_DEBUG_MSRS            (1u << 12)
#define HV_PRIV_REENLIGHTENMENT       (1u << 13)
#define HV_PRIV_TSC_INVARIANT         (1u << 15)

/* 0x40000003.EBX: partition privileges, high half */
#define HV_PRIV_CREATE_PARTITIONS     (1u << 0)
#define HV_PRIV_ACCESS_PARTITION_ID   (1u << 1) /* root only: never set */
#define HV_PRIV_POST_MESSAGES         (1u << 4)
#define HV_PRIV_SIGNAL_EVENTS         (1u << 5)
#define HV_PRIV_DEBUGGING             (1u << 11)
#define HV_PRIV_CPU_MANAGEMENT        (1u << 12) /* root only: never set */
#define HV_PRIV_EXTENDED_HYPERCALLS   (1u << 20)
#define HV_PRIV_ISOLATION             (1u << 22)

/* 0x40000003.EDX: miscellaneous features */
#define HV_FEAT_MWAIT                 (1u << 0)
#define HV_FEAT_GUEST_DEBUGGING       (1u << 1)
#define HV_FEAT_PERF_MONITOR          (1u << 2)
#define HV_FEAT_CPU_DYNAMIC_PARTITION (1u << 3)
#define HV_FEAT_XMM_HYPERCALL_INPUT   (1u << 4)
#define HV_FEAT_GUEST_IDLE_STATE      (1u << 5)
#define HV_FEAT_FREQUENCY_MSRS        (1u << 8)
#define HV_FEAT_CRASH_MSRS            (1u << 10)
#define HV_FEAT_XMM_HYPERCALL_OUTPUT  (1u << 15)
#define HV_FEAT_SINT_POLLING          (1u << 17)
#define HV_FEAT_STIMER_DIRECT         (1u << 19)

/* 0x40000004.EAX: recommendations */
#define HV_HINT_ADDRESS_SPACE_SWITCH  (1u << 0)
#define HV_HINT_LOCAL_TLB_FLUSH       (1u << 1)
#define HV_HINT_REMOTE_TLB_FLUSH      (1u << 2)
#define HV_HINT_APIC_MSRS             (1u << 3)
#define HV_HINT_RESET_MSR             (1u << 4)
#define HV_HINT_RELAXED_TIMING        (1u << 5)
#define HV_HINT_DEPRECATE_AUTO_EOI    (1u << 9)
#define HV_HINT_CLUSTER_IPI           (1u << 10)
#define HV_HINT_EX_PROCESSOR_MASKS    (1u << 11)

/* 0x40000006.EAX: hardware features in use */
#define HV_HW_APIC_OVERLAY_ASSIST     (1u << 0)
#define HV_HW_MSR_BITMAPS             (1u << 1)
#define HV_HW_SLAT                    (1u << 3)

/* ---------------------------------------------------------- synthetic MSRs */

#define HV_MSR_GUEST_OS_ID            0x40000000u
#define HV_MSR_HYPERCALL              0x40000001u
#define HV_MSR_VP_INDEX               0x40000002u
#define HV_MSR_RESET                  0x40000003u
#define HV_MSR_VP_RUNTIME             0x40000010u
#define HV_MSR_TIME_REF_COUNT         0x40000020u
#define HV_MSR_REFERENCE_TSC          0x40000021u
#define HV_MSR_TSC_FREQUENCY          0x40000022u
#define HV_MSR_APIC_FREQUENCY         0x40000023u
#define HV_MSR_EOI                    0x40000070u
#define HV_MSR_ICR                    0x40000071u
#define HV_MSR_TPR                    0x40000072u
#define HV_MSR_VP_ASSIST_PAGE         0x40000073u
#define HV_MSR_SCONTROL               0x40000080u
#define HV_MSR_SVERSION               0x40000081u
#define HV_MSR_SIEFP                  0x40000082u
#define HV_MSR_SIMP                   0x40000083u
#define HV_MSR_EOM                    0x40000084u
#define HV_MSR_SINT0                  0x40000090u
#define HV_MSR_SINT15                 0x4000009Fu
#define HV_MSR_STIMER0_CONFIG         0x400000B0u
#define HV_MSR_STIMER3_COUNT          0x400000B7u
#define HV_MSR_GUEST_IDLE             0x400000F0u
#define HV_MSR_CRASH_P0               0x40000100u
#define HV_MSR_CRASH_P1               0x40000101u
#define HV_MSR_CRASH_P2               0x40000102u
#define HV_MSR_CRASH_P3               0x40000103u
#define HV_MSR_CRASH_P4               0x40000104u
#define HV_MSR_CRASH_CTL              0x40000105u
#define HV_MSR_REENLIGHTENMENT_CONTROL 0x40000106u
#define HV_MSR_TSC_EMULATION_CONTROL  0x40000107u
#define HV_MSR_TSC_EMULATION_STATUS   0x40000108u
#define HV_MSR_TSC_INVARIANT_CONTROL  0x40000118u

/* The whole window a host routes to hvshim. */
#define HV_MSR_RANGE_FIRST            0x40000000u
#define HV_MSR_RANGE_LAST             0x400001FFu

/* Page-address MSRs (HYPERCALL, VP_ASSIST_PAGE, REFERENCE_TSC, SIMP, SIEFP) */
#define HV_PAGE_MSR_ENABLE            (1ull << 0)
#define HV_PAGE_MSR_RESERVED          0xFFEull   /* bits 1-11 */
#define HV_HYPERCALL_MSR_LOCKED       (1ull << 1)

/* SCONTROL */
#define HV_SCONTROL_ENABLE            (1ull << 0)
#define HV_SYNIC_VERSION              1u

/* SINTx */
#define HV_SINT_COUNT                 16u
#define HV_SINT_VECTOR_MASK           0xFFull
#define HV_SINT_MASKED                (1ull << 16)
#define HV_SINT_AUTO_EOI              (1ull << 17)
#define HV_SINT_POLLING               (1ull << 18)
#define HV_SINT_VALID_BITS            (HV_SINT_VECTOR_MASK | HV_SINT_MASKED | \
                                       HV_SINT_AUTO_EOI | HV_SINT_POLLING)
#define HV_SINT_MIN_VECTOR            16u

/* STIMERx_CONFIG */
#define HV_STIMER_COUNT               4u
#define HV_STIMER_ENABLE              (1ull << 0)
#define HV_STIMER_PERIODIC            (1ull << 1)
#define HV_STIMER_LAZY                (1ull << 2)
#define HV_STIMER_AUTO_ENABLE         (1ull << 3)
#define HV_STIMER_VECTOR_SHIFT        4
#define HV_STIMER_VECTOR_MASK         (0xFFull << HV_STIMER_VECTOR_SHIFT)
#define HV_STIMER_DIRECT_MODE         (1ull << 12)
#define HV_STIMER_SINT_SHIFT          16
#define HV_STIMER_SINT_MASK           (0xFull << HV_STIMER_SINT_SHIFT)
#define HV_STIMER_VALID_BITS          (0xFull | HV_STIMER_VECTOR_MASK | \
                                       HV_STIMER_DIRECT_MODE | HV_STIMER_SINT_MASK)

/* CRASH_CTL */
#define HV_CRASH_CTL_NOTIFY           (1ull << 63)
#define HV_CRASH_CTL_NOTIFY_MSG       (1ull << 62)
#define HV_CRASH_PARAMS               5u

/* REENLIGHTENMENT_CONTROL */
#define HV_REENLIGHTENMENT_VECTOR_MASK 0xFFull
#define HV_REENLIGHTENMENT_ENABLE     (1ull << 16)
#define HV_REENLIGHTENMENT_TARGET_SHIFT 32
#define HV_REENLIGHTENMENT_VALID_BITS (HV_REENLIGHTENMENT_VECTOR_MASK | \
                                       HV_REENLIGHTENMENT_ENABLE | \
                                       (0xFFFFFFFFull << HV_REENLIGHTENMENT_TARGET_SHIFT))

/* TSC_EMULATION_CONTROL / STATUS, TSC_INVARIANT_CONTROL */
#define HV_TSC_EMULATION_ENABLE       (1ull << 0)
#define HV_TSC_EMULATION_IN_PROGRESS  (1ull << 0)
#define HV_TSC_INVARIANT_ENABLE       (1ull << 0)

/* VP assist page */
#define HV_VP_ASSIST_APIC_ASSIST_OFFSET 0u
#define HV_APIC_ASSIST_NO_EOI         (1u << 0)

/* ------------------------------------------------------------- hypercalls */

#define HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE   0x0001u
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE    0x0002u
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST     0x0003u
#define HVCALL_NOTIFY_LONG_SPIN_WAIT          0x0008u
#define HVCALL_SEND_SYNTHETIC_CLUSTER_IPI     0x000Bu
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX 0x0013u
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX  0x0014u
#define HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX  0x0015u
#define HVCALL_GET_PARTITION_ID               0x0046u
#define HVCALL_GET_VP_REGISTERS               0x0050u
#define HVCALL_SET_VP_REGISTERS               0x0051u
#define HVCALL_POST_MESSAGE                   0x005Cu
#define HVCALL_SIGNAL_EVENT                   0x005Du
#define HVCALL_POST_DEBUG_DATA                0x0069u
#define HVCALL_RETRIEVE_DEBUG_DATA            0x006Au
#define HVCALL_RESET_DEBUG_SESSION            0x006Bu
#define HVCALL_RETARGET_INTERRUPT             0x007Eu
#define HVCALL_FLUSH_GUEST_PHYSICAL_SPACE     0x00AFu
#define HVCALL_FLUSH_GUEST_PHYSICAL_LIST      0x00B0u
#define HVCALL_EXT_QUERY_CAPABILITIES         0x8001u
#define HVCALL_EXT_GET_BOOT_ZEROED_MEMORY     0x8002u
#define HVCALL_EXT_MEMORY_HEAT_HINT           0x8003u

/* Hypercall input value (control word) */
#define HV_HC_CODE_MASK               0xFFFFull
#define HV_HC_FAST                    (1ull << 16)
#define HV_HC_VARHEAD_SHIFT           17
#define HV_HC_VARHEAD_MASK            (0x3FFull << HV_HC_VARHEAD_SHIFT)
#define HV_HC_REP_COUNT_SHIFT         32
#define HV_HC_REP_COUNT_MASK          (0xFFFull << HV_HC_REP_COUNT_SHIFT)
#define HV_HC_REP_START_SHIFT         48
#define HV_HC_REP_START_MASK          (0xFFFull << HV_HC_REP_START_SHIFT)
#define HV_HC_RESERVED_MASK           ((0x1Full << 27) | (0xFull << 44) | (0xFull << 60))

/* Hypercall result value */
#define HV_HC_RESULT_STATUS_MASK      0xFFFFull
#define HV_HC_RESULT_REPS_SHIFT       32

/* Fast calls carry input in RDX, R8 and then XMM0-XMM5. */
#define HV_XMM_FAST_REGS              6u
#define HV_FAST_INPUT_MAX             (16u + 16u * HV_XMM_FAST_REGS)

/* Hypercall status codes */
#define HV_STATUS_SUCCESS                 0x0000u
#define HV_STATUS_INVALID_HYPERCALL_CODE  0x0002u
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x0003u
#define HV_STATUS_INVALID_ALIGNMENT       0x0004u
#define HV_STATUS_INVALID_PARAMETER       0x0005u
#define HV_STATUS_ACCESS_DENIED           0x0006u
#define HV_STATUS_INVALID_PARTITION_STATE 0x0007u
#define HV_STATUS_OPERATION_DENIED        0x0008u
#define HV_STATUS_INSUFFICIENT_MEMORY     0x000Bu
#define HV_STATUS_INVALID_PORT_ID         0x0011u
#define HV_STATUS_INVALID_CONNECTION_ID   0x0012u
#define HV_STATUS_INSUFFICIENT_BUFFERS    0x0013u
#define HV_STATUS_INVALID_VP_INDEX        0x000Eu

/* HvFlushVirtualAddressSpace/List flags */
#define HV_FLUSH_ALL_PROCESSORS           (1ull << 0)
#define HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES (1ull << 1)
#define HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY (1ull << 2)
#define HV_FLUSH_USE_EXTENDED_RANGE_FORMAT (1ull << 3)
#define HV_FLUSH_VALID_FLAGS              0xFull

/* Sparse VP sets (the "Ex" processor masks) */
#define HV_VPSET_FORMAT_SPARSE_4K     0ull
#define HV_VPSET_FORMAT_ALL           1ull
#define HV_VPSET_MAX_BANKS            64u
#define HV_VPSET_MAX_VPS              (HV_VPSET_MAX_BANKS * 64u)

/* HvPostMessage input */
#define HV_MESSAGE_PAYLOAD_MAX        240u
#define HV_CONNECTION_ID_MASK         0x00FFFFFFu
#define HV_POST_MESSAGE_INPUT_SIZE    256u

/* HvSignalEvent input: connection id in bits 0-23, flag number in 32-47 */
#define HV_SIGNAL_EVENT_FLAG_SHIFT    32
#define HV_SIGNAL_EVENT_VALID_BITS    (0x00FFFFFFull | (0xFFFFull << 32))

/* HvExtCallQueryCapabilities output bits */
#define HV_EXT_CAP_HEAT_HINT          (1ull << 8)

/* ------------------------------------------------------------------ SynIC */

#define HV_MESSAGE_SIZE               256u
#define HV_MESSAGE_HEADER_SIZE        16u
#define HV_MESSAGE_FLAG_PENDING       0x01u
#define HV_EVENT_FLAGS_BYTES          256u
#define HV_EVENT_FLAGS_COUNT          (HV_EVENT_FLAGS_BYTES * 8u)

/* Message types: 0 marks a free slot; bit 31 marks hypervisor messages. */
#define HVMSG_NONE                    0x00000000u
#define HVMSG_UNMAPPED_GPA            0x80000000u
#define HVMSG_GPA_INTERCEPT           0x80000001u
#define HVMSG_TIMER_EXPIRED           0x80000010u
#define HVMSG_INVALID_VP_REGISTER_VALUE 0x80000020u
#define HVMSG_UNRECOVERABLE_EXCEPTION 0x80000021u
#define HVMSG_UNSUPPORTED_FEATURE     0x80000022u
#define HVMSG_HYPERVISOR_MASK         0x80000000u

/* One message slot as the guest sees it in the SIMP page. */
struct hv_message {
    uint32_t message_type;
    uint8_t  payload_size;
    uint8_t  flags;
    uint8_t  reserved[2];
    uint64_t sender;             /* port id for guest-posted messages */
    uint8_t  payload[HV_MESSAGE_PAYLOAD_MAX];
};

/* TIMER_EXPIRED payload */
struct hv_timer_message_payload {
    uint32_t timer_index;
    uint32_t reserved;
    uint64_t expiration_time;    /* reference time the timer was due */
    uint64_t delivery_time;      /* reference time it was delivered */
};

/* Reference TSC page, first 24 bytes */
struct hv_reference_tsc_page {
    uint32_t tsc_sequence;
    uint32_t reserved1;
    uint64_t tsc_scale;
    int64_t  tsc_offset;
};

/* 100 ns reference time units per second */
#define HV_REF_TIME_HZ                10000000ull
#define HV_NS_PER_REF_TICK            100ull

_Static_assert(sizeof(struct hv_message) == HV_MESSAGE_SIZE, "message slot size");
_Static_assert(sizeof(struct hv_timer_message_payload) == 24, "timer payload size");
_Static_assert(sizeof(struct hv_reference_tsc_page) == 24, "TSC page header size");

#endif /* HVSHIM_TLFS_H */
