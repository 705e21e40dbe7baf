/* SPDX-License-Identifier: MIT */
#include "hv.h"

#include "rt/cpu.h"
#include "rt/lib.h"
#include "rt/smp.h"
#include "rt/x86.h"

struct hv_info hv;
uint64_t hv_hypercall_va;
uint32_t hv_vp_index[MAX_CPUS];

static uint8_t pg_simp[MAX_CPUS][PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_siefp[MAX_CPUS][PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_assist[MAX_CPUS][PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_in[MAX_CPUS][PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_out[MAX_CPUS][PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_tsc[PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_hcall[PAGE_SIZE] ALIGNED(4096);
static uint8_t pg_scratch[8][PAGE_SIZE] ALIGNED(4096);

uint8_t *hv_page_simp(unsigned cpu) { return pg_simp[cpu % MAX_CPUS]; }
uint8_t *hv_page_siefp(unsigned cpu) { return pg_siefp[cpu % MAX_CPUS]; }
uint8_t *hv_page_assist(unsigned cpu) { return pg_assist[cpu % MAX_CPUS]; }
uint8_t *hv_page_in(unsigned cpu) { return pg_in[cpu % MAX_CPUS]; }
uint8_t *hv_page_out(unsigned cpu) { return pg_out[cpu % MAX_CPUS]; }
uint8_t *hv_page_tsc(void) { return pg_tsc; }
uint8_t *hv_page_hcall(void) { return pg_hcall; }
uint8_t *hv_page_scratch(unsigned n) { return pg_scratch[n % 8]; }

void hv_detect(void)
{
    uint32_t r[4];
    memset(&hv, 0, sizeof(hv));
    cpuid(1, r);
    if (!(r[2] & (1u << 31)))
        return;
    cpuid(0x40000000, r);
    hv.max_leaf = r[0];
    memcpy(hv.vendor + 0, &r[1], 4);
    memcpy(hv.vendor + 4, &r[2], 4);
    memcpy(hv.vendor + 8, &r[3], 4);
    hv.vendor[12] = 0;
    uint32_t sig[4];
    cpuid(0x40000001, sig);
    /* The interface signature decides, not the vendor string (TLFS 2.3). */
    if (sig[0] != 0x31237648u || hv.max_leaf < 0x40000005u || hv.max_leaf > 0x4000FFFFu)
        return;
    hv.present = true;
    cpuid(0x40000002, hv.version);
    cpuid(0x40000003, hv.features);
    cpuid(0x40000004, hv.recommend);
    cpuid(0x40000005, hv.limits);
    if (hv.max_leaf >= 0x40000006u)
        cpuid(0x40000006, hv.hwfeatures);
}

bool hv_hypercalls_ready(const char **why)
{
    static const char *failure;
    static bool done;
    if (done) {
        if (why)
            *why = failure;
        return !failure;
    }
    done = true;
    if (!hv.present)
        failure = "not a Hyper-V host";
    else if (!hv_priv(HV_EAX_HYPERCALL_MSRS))
        failure = "0x40000003.EAX bit 5 (AccessHypercallMsrs) clear";
    else {
        uint64_t id = 0, hc = 0;
        if (rdmsr_safe(HV_MSR_GUEST_OS_ID, &id) >= 0)
            failure = "GUEST_OS_ID faults";
        else if (!id && wrmsr_safe(HV_MSR_GUEST_OS_ID, CONF_GUEST_OS_ID) >= 0)
            failure = "GUEST_OS_ID write faults";
        else if (wrmsr_safe(HV_MSR_HYPERCALL, (uint64_t)(uintptr_t)pg_hcall | 1) >= 0)
            failure = "HYPERCALL write faults";
        else if (rdmsr_safe(HV_MSR_HYPERCALL, &hc) >= 0 || !(hc & 1))
            failure = "HYPERCALL enable bit did not stick";
        else
            hv_hypercall_va = hc & ~0xFFFull;
    }
    if (why)
        *why = failure;
    return !failure;
}

static void read_vp_index_here(void *arg)
{
    (void)arg;
    uint64_t v = ~0ull;
    if (rdmsr_safe(HV_MSR_VP_INDEX, &v) >= 0)
        v = ~0ull;
    hv_vp_index[this_cpu()->index] = (uint32_t)v;
}

void hv_read_vp_indexes(void)
{
    for (unsigned i = 0; i < MAX_CPUS; i++)
        hv_vp_index[i] = ~0u;
    read_vp_index_here(0);
    for (unsigned i = 1; i < ncpus; i++)
        run_on(i, read_vp_index_here, 0, 1000000);
}

int hv_call_safe(uint64_t control, uint64_t in, uint64_t out, uint64_t *rax)
{
    struct jmpctx j;
    if (CATCH(&j)) {
        uint64_t r = hv_call(control, in, out);
        catch_pop(&j);
        *rax = r;
        return -1;
    }
    return (int)j.vector;
}

int hv_call_xmm_safe(uint64_t control, const uint64_t in[14], uint64_t out[14],
                     uint64_t *rax)
{
    struct jmpctx j;
    if (CATCH(&j)) {
        uint64_t r = hv_call_xmm(control, in, out);
        catch_pop(&j);
        *rax = r;
        return -1;
    }
    return (int)j.vector;
}

bool hv_tsc_page_read(const struct hv_tsc_page *p, uint64_t *ref)
{
    for (unsigned tries = 0; tries < 1000; tries++) {
        uint32_t seq = __atomic_load_n(&p->sequence, __ATOMIC_ACQUIRE);
        if (!seq)
            return false;
        uint64_t tsc = rdtsc();
        uint64_t scale = p->scale;
        int64_t offset = p->offset;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&p->sequence, __ATOMIC_ACQUIRE) == seq) {
            *ref = mul_hi64(tsc, scale) + (uint64_t)offset;
            return true;
        }
    }
    return false;
}

/* What hv_call_preserve loads (RCX, RDX and R8 carry the call itself). */
const uint64_t hv_preserve_pattern[14] = {
    0x1B1B1B1B1B1B1B1Bull, 0, 0, 0x5151515151515151ull, 0xD1D1D1D1D1D1D1D1ull,
    0xB9B9B9B9B9B9B9B9ull, 0, 0x0909090909090909ull, 0x1010101010101010ull,
    0x1111111111111111ull, 0x1212121212121212ull, 0x1313131313131313ull,
    0x1414141414141414ull, 0x1515151515151515ull,
};

const char *hv_status_name(unsigned s)
{
    switch (s) {
    case HV_STATUS_SUCCESS:
        return "SUCCESS";
    case HV_STATUS_INVALID_HYPERCALL_CODE:
        return "INVALID_HYPERCALL_CODE";
    case HV_STATUS_INVALID_HYPERCALL_INPUT:
        return "INVALID_HYPERCALL_INPUT";
    case HV_STATUS_INVALID_ALIGNMENT:
        return "INVALID_ALIGNMENT";
    case HV_STATUS_INVALID_PARAMETER:
        return "INVALID_PARAMETER";
    case HV_STATUS_ACCESS_DENIED:
        return "ACCESS_DENIED";
    case HV_STATUS_INVALID_PORT_ID:
        return "INVALID_PORT_ID";
    case HV_STATUS_INVALID_CONNECTION_ID:
        return "INVALID_CONNECTION_ID";
    case HV_STATUS_INVALID_SYNIC_STATE:
        return "INVALID_SYNIC_STATE";
    }
    return "other";
}
