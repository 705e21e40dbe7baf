/* SPDX-License-Identifier: MIT */
/* Group "cpuid": the hypervisor CPUID leaves (TLFS 2.2-2.4). */
#include "common.h"

/* The cpuid group runs even without "Hv#1", so its checks skip here
 * themselves: that is where "not a Hyper-V host" is reported. */
static bool need_hv_interface(void)
{
    uint32_t r[4];
    cpuid(1, r);
    if (!(r[2] & (1u << 31))) {
        skip("not a Hyper-V host: no hypervisor present (CPUID.1:ECX[31] = 0)");
        return false;
    }
    cpuid(0x40000001, r);
    if (r[0] != 0x31237648u) {
        skip("not a Hyper-V host (0x40000001.EAX = %#x, not \"Hv#1\")", r[0]);
        return false;
    }
    return true;
}

static void c_max_leaf(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    uint32_t r[4];
    cpuid(0x40000000, r);
    note("max leaf %#x", r[0]);
    /* need_hv_interface() also covered the present bit (TLFS 2.2). */
    expect(r[0] >= 0x40000005u && r[0] <= 0x4000FFFFu,
           "0x40000000.EAX = %#x, must be in [0x40000005, 0x4000FFFF]", r[0]);
}

static void c_vendor(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    uint32_t r[4];
    cpuid(0x40000000, r);
    note("vendor \"%s\"", hv.vendor);
    expect(r[1] == 0x7263694Du && r[2] == 0x666F736Fu && r[3] == 0x76482074u,
           "vendor signature is \"%s\", not \"Microsoft Hv\" (Linux needs it)", hv.vendor);
}

static void c_interface_reserved(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    uint32_t r[4];
    cpuid(0x40000001, r);
    expect(!r[1] && !r[2] && !r[3], "0x40000001 EBX/ECX/EDX = %#x/%#x/%#x, reserved", r[1],
           r[2], r[3]);
}

static void c_mandatory_msrs(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    /* "Hv#1" implies GUEST_OS_ID, HYPERCALL and VP_INDEX (TLFS 3.13). */
    expect(hv.features[0] & HV_EAX_HYPERCALL_MSRS, "AccessHypercallMsrs (EAX bit 5) clear");
    expect(hv.features[0] & HV_EAX_VP_INDEX, "AccessVpIndex (EAX bit 6) clear");
}

static void c_reserved_privileges(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    /* HV_PARTITION_PRIVILEGE_MASK: EAX 12 and 16-31 reserved (15 is
     * AccessTscInvariantControls in current headers); EBX 3, 9, 10, 13-15,
     * 18, 19 and 23-31 reserved. */
    uint32_t eax_rsvd = (1u << 12) | 0xFFFF0000u;
    uint32_t ebx_rsvd = (1u << 3) | (1u << 9) | (1u << 10) | (7u << 13) | (3u << 18) |
                        0xFF800000u;
    expect(!(hv.features[0] & eax_rsvd), "reserved EAX privilege bits set: %#x",
           hv.features[0] & eax_rsvd);
    expect(!(hv.features[1] & ebx_rsvd), "reserved EBX privilege bits set: %#x",
           hv.features[1] & ebx_rsvd);
}

static void c_not_root(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    /* A guest with CpuManagement (and no isolation) believes it is the root
     * partition; CreatePartitions likewise belongs to the root. */
    expect(!(hv.features[1] & HV_EBX_CREATE_PARTITIONS), "CreatePartitions granted to a guest");
    expect(!(hv.features[1] & HV_EBX_CPU_MANAGEMENT) ||
               (hv.features[1] & HV_EBX_ISOLATION),
           "CpuManagement granted to a guest");
}

static void c_recommend_reserved(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    expect(!(hv.recommend[0] & 0xFFF80000u), "reserved 0x40000004.EAX bits 19-31 set: %#x",
           hv.recommend[0] & 0xFFF80000u);
    note("spin retry count (EBX) %#x", hv.recommend[1]);
}

static void c_feature_dependencies(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    uint32_t a = hv.features[0], d = hv.features[3], rec = hv.recommend[0];
    /* Message-mode timers deliver through the SynIC; direct mode is a
     * timer mode; polling is a SINT mode; Ex masks extend flush/IPI. */
    expect(!(a & HV_EAX_STIMER) || (a & HV_EAX_SYNIC), "stimers without SynIC");
    expect(!(d & HV_EDX_STIMER_DIRECT) || (a & HV_EAX_STIMER),
           "direct stimers without stimers");
    expect(!(d & HV_EDX_SINT_POLLING) || (a & HV_EAX_SYNIC), "SINT polling without SynIC");
    expect(!(rec & HV_REC_EX_PROCESSOR_MASK) ||
               (rec & (HV_REC_REMOTE_FLUSH | HV_REC_CLUSTER_IPI)),
           "ExProcessorMasks recommended without flush or IPI hypercalls");
    expect(!(rec & HV_REC_APIC_MSRS) || (a & HV_EAX_APIC_MSRS),
           "APIC MSRs recommended but not accessible");
}

static void c_limits(const struct check *k)
{
    (void)k;
    if (!need_hv_interface())
        return;
    note("max VPs %u, max LPs %u", hv.limits[0], hv.limits[1]);
    /* Zero means "not exposed" (TLFS 2.4, leaf 0x40000005). */
    expect(!hv.limits[0] || hv.limits[0] >= ncpus, "max VPs %u < %u CPUs running",
           hv.limits[0], ncpus);
}

static void read_leaves(void *arg)
{
    uint32_t *out = arg;
    unsigned cpu = this_cpu()->index;
    for (unsigned l = 0; l < 7; l++)
        cpuid(0x40000000u + l, &out[(cpu * 7 + l) * 4]);
}

static uint32_t leaves_per_cpu[MAX_CPUS * 7 * 4];

static void c_same_on_all_cpus(const struct check *k)
{
    (void)k;
    if (!need_hv_interface() || !need_cpus(2))
        return;
    read_leaves(leaves_per_cpu);
    for (unsigned i = 1; i < ncpus; i++)
        expect(run_on(i, read_leaves, leaves_per_cpu, 1000000), "CPU %u did not answer", i);
    for (unsigned i = 1; i < ncpus; i++)
        for (unsigned l = 0; l < 7; l++)
            for (unsigned r = 0; r < 4; r++) {
                uint32_t a = leaves_per_cpu[l * 4 + r];
                uint32_t b = leaves_per_cpu[(i * 7 + l) * 4 + r];
                expect(a == b, "leaf %#x reg %u: CPU 0 %#x, CPU %u %#x", 0x40000000u + l, r,
                       a, i, b);
            }
}

static void c_vp_index_unique(const struct check *k)
{
    (void)k;
    if (!need_hv_interface() || !need_eax(HV_EAX_VP_INDEX, "AccessVpIndex"))
        return;
    for (unsigned i = 0; i < ncpus; i++) {
        note("CPU %u (APIC %u): VP index %u", i, cpus[i].apic_id, hv_vp_index[i]);
        expect(hv_vp_index[i] != ~0u, "CPU %u: VP_INDEX unreadable", i);
        expect(!hv.limits[0] || hv_vp_index[i] < hv.limits[0],
               "CPU %u: VP index %u >= max VPs %u", i, hv_vp_index[i], hv.limits[0]);
        for (unsigned j = 0; j < i; j++)
            expect(hv_vp_index[i] != hv_vp_index[j], "CPUs %u and %u share VP index %u", j,
                   i, hv_vp_index[i]);
    }
}

const struct check cpuid_checks[] = {
    CHECK("2.4", "0x40000000.EAX max leaf in [0x40000005, 0x4000FFFF]", c_max_leaf),
    CHECK("2.4", "vendor signature \"Microsoft Hv\"", c_vendor),
    CHECK("2.4", "0x40000001 reserved registers are zero", c_interface_reserved),
    CHECK("3.13", "Hv#1 implies AccessHypercallMsrs and AccessVpIndex", c_mandatory_msrs),
    CHECK("2.4", "reserved privilege bits are zero", c_reserved_privileges),
    CHECK("2.4", "no root-partition privileges for a guest", c_not_root),
    CHECK("2.4", "reserved recommendation bits are zero", c_recommend_reserved),
    CHECK("2.4", "advertised features are mutually consistent", c_feature_dependencies),
    CHECK("2.4", "0x40000005 max VPs covers the running CPUs", c_limits),
    CHECK("2.4", "hypervisor leaves identical on every CPU", c_same_on_all_cpus),
    CHECK("7.8.1", "VP indexes are unique and below the VP limit", c_vp_index_unique),
    CHECK_END,
};
