/* SPDX-License-Identifier: MIT */
/*
 * The hypercall ABI: control word decode, the table of call descriptors,
 * input gathering (guest memory, or RDX/R8/XMM0-5), rep continuation and
 * the result value. Handlers live in flush.c, ipi.c, messaging.c, misc.c.
 *
 * Order of checks. The TLFS leaves the order undefined but asks that the
 * more secure status win ("Ordering of Error Conditions": ACCESS_DENIED
 * over anything revealing state). hvshim checks, first failure wins:
 *
 *  1. CPU mode real/virtual-8086 (or unknown), CPL > 0, or the HYPERCALL
 *     MSR not enabled -> #UD (TLFS "Legal Hypercall Environments").
 *  2. A known code whose feature gates are not all on, or a code that
 *     needs a privilege no hvshim guest ever holds -> ACCESS_DENIED.
 *     Every call is gated, including on hosts that never advertised it
 *     (XSA-475: Xen's hypercalls ignored the feature configuration).
 *  3. A reserved control bit -> INVALID_HYPERCALL_INPUT (common status).
 *  4. An unknown code, or an extended call that QueryCapabilities does not
 *     report -> INVALID_HYPERCALL_CODE.
 *  5. Form -> INVALID_HYPERCALL_INPUT (common status and "Variable Sized
 *     Hypercall Input Headers"): rep count or start on a simple call, rep
 *     count 0 or start >= count on a rep call, a variable header on a call
 *     without one (or longer than any valid one), fast on a memory-only
 *     call.
 *  6. Slow calls, for a block the call has (TLFS: a GPA the call does not
 *     use is ignored): GPA not 8-byte aligned, or the block crosses a page
 *     -> INVALID_ALIGNMENT. The input header is then read at once; guest
 *     memory that is not RAM -> INVALID_ALIGNMENT too: the common status
 *     table gives it for "GPA pointer not within the bounds of the GPA
 *     space"; for unmapped GPAs inside it Hyper-V raises a memory
 *     intercept to the parent, which has no equivalent here.
 *  7. Fast calls: the input is RDX, R8, then XMM0-XMM5. Input beyond 16
 *     bytes uses the XMM input interface, output uses the XMM output
 *     interface (x64 only); either without its CPUID bit -> #UD (TLFS "XMM
 *     Fast Hypercall Input/Output"). More than 112 bytes of input, or of
 *     input rounded up to 16 plus output -> INVALID_HYPERCALL_INPUT.
 *  8. The handler's own checks (see each handler's comments).
 *
 * Rep calls run from the rep start index. Between elements the host's
 * should_preempt may ask to stop: the call then returns HV_HC_CONTINUE
 * with the control word's rep start advanced (the TLFS continuation: the
 * guest re-executes the call), and a result value saying SUCCESS with
 * those reps complete, for hosts that return to the guest instead (Linux
 * re-issues until reps completed == rep count). Reps completed counts from
 * element 0, not from the start index (TLFS "Hypercall Outputs").
 *
 * Stack: struct hc_call is about 700 bytes; handlers add at most a VP set
 * (512 bytes) and 16 flush ranges (256 bytes). gcc -fstack-usage with the
 * freestanding flags: about 2.1 KiB on the deepest path (a List flush).
 */
#include "hypercalls/hypercalls.h"

#define F(f) HV_FEATURE_BIT(HV_F_##f)

/* A UD has no result value: HV_TRACE_HYPERCALL then reports this one,
 * which no completed call can produce (its reserved bits are set). */
#define HC_TRACE_RESULT_UD UINT64_MAX

/* ------------------------------------------------------- control word */

void hc_decode_control(uint64_t control, struct hc_control *out)
{
    out->code = (uint16_t)(control & HV_HC_CODE_MASK);
    out->fast = (control & HV_HC_FAST) != 0;
    out->reserved_set = (control & HV_HC_RESERVED_MASK) != 0;
    out->varhead = (uint16_t)((control & HV_HC_VARHEAD_MASK) >> HV_HC_VARHEAD_SHIFT);
    out->rep_count = (uint16_t)((control & HV_HC_REP_COUNT_MASK) >> HV_HC_REP_COUNT_SHIFT);
    out->rep_start = (uint16_t)((control & HV_HC_REP_START_MASK) >> HV_HC_REP_START_SHIFT);
}

/* -------------------------------------------------------- descriptors */

static const struct hc_desc calls[] = {
    /* hc_lookup scans in order: the calls a running guest makes most
     * (VMBus signalling and messages) come first. */
    { "HvCallSignalEvent", HVCALL_SIGNAL_EVENT,
      HC_FAST_OK, HV_HC_STAT_SIGNAL_EVENT, F(SIGNAL_EVENTS),
      8, 0, 0, hc_signal_event },
    /* 256 bytes of input: memory only. */
    { "HvCallPostMessage", HVCALL_POST_MESSAGE,
      0, HV_HC_STAT_POST_MESSAGE, F(POST_MESSAGES),
      HV_POST_MESSAGE_INPUT_SIZE, 0, 0, hc_post_message },
    { "HvCallSwitchVirtualAddressSpace", HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE,
      HC_FAST_OK, HV_HC_STAT_SWITCH_AS, F(ADDRESS_SPACE_SWITCH),
      8, 0, 0, hc_switch_address_space },
    { "HvCallFlushVirtualAddressSpace", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
      HC_FAST_OK, HV_HC_STAT_FLUSH_SPACE, F(HCALL_REMOTE_TLB_FLUSH),
      24, 0, 0, hc_flush_virtual_address },
    { "HvCallFlushVirtualAddressList", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST,
      HC_FAST_OK | HC_REP, HV_HC_STAT_FLUSH_LIST, F(HCALL_REMOTE_TLB_FLUSH),
      24, 8, 0, hc_flush_virtual_address },
    /* The spin count is advisory and unused, so no input is read and the
     * input GPA is ignored (TLFS: this call only ever returns SUCCESS). */
    { "HvCallNotifyLongSpinWait", HVCALL_NOTIFY_LONG_SPIN_WAIT,
      HC_FAST_OK, HV_HC_STAT_SPIN_WAIT, F(SPIN_WAIT),
      0, 0, 0, hc_notify_long_spin_wait },
    { "HvCallSendSyntheticClusterIpi", HVCALL_SEND_SYNTHETIC_CLUSTER_IPI,
      HC_FAST_OK, HV_HC_STAT_IPI, F(HCALL_IPI),
      16, 0, 0, hc_send_cluster_ipi },
    /* Ex calls: the fixed header ends with the VP set's format and
     * valid_bank_mask; the banks are the variable header. */
    { "HvCallFlushVirtualAddressSpaceEx", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
      HC_FAST_OK | HC_VARHEAD, HV_HC_STAT_FLUSH_SPACE_EX,
      F(HCALL_REMOTE_TLB_FLUSH) | F(EX_PROCESSOR_MASKS),
      32, 0, 0, hc_flush_virtual_address },
    { "HvCallFlushVirtualAddressListEx", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX,
      HC_FAST_OK | HC_VARHEAD | HC_REP, HV_HC_STAT_FLUSH_LIST_EX,
      F(HCALL_REMOTE_TLB_FLUSH) | F(EX_PROCESSOR_MASKS),
      32, 8, 0, hc_flush_virtual_address },
    { "HvCallSendSyntheticClusterIpiEx", HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX,
      HC_FAST_OK | HC_VARHEAD, HV_HC_STAT_IPI_EX, F(HCALL_IPI) | F(EX_PROCESSOR_MASKS),
      24, 0, 0, hc_send_cluster_ipi },
    { "HvExtCallQueryCapabilities", HVCALL_EXT_QUERY_CAPABILITIES,
      HC_FAST_OK, HV_HC_STAT_EXT_QUERY, F(EXT_HYPERCALLS),
      0, 0, 8, hc_ext_query_capabilities },
    /* Extended calls hvshim does not report in its capabilities. */
    { "HvExtCallGetBootZeroedMemory", HVCALL_EXT_GET_BOOT_ZEROED_MEMORY,
      0, HV_HC_STAT_OTHER, F(EXT_HYPERCALLS), 0, 0, 0, 0 },
    { "HvExtCallMemoryHeatHint", HVCALL_EXT_MEMORY_HEAT_HINT,
      0, HV_HC_STAT_OTHER, F(EXT_HYPERCALLS), 0, 0, 0, 0 },
};

/*
 * Calls that need a partition privilege hvshim never grants (CPUID
 * 0x40000003 never shows them) or that only a parent, the root or a VSM
 * partition may make: the TLFS lists ACCESS_DENIED for a caller lacking
 * the privilege.
 */
static const struct { uint16_t first, last; } never_granted[] = {
    { 0x000C, 0x000D },  /* ModifyVtlProtectionMask, EnablePartitionVtl (AccessVsm) */
    { 0x000F, 0x000F },  /* EnableVpVtl */
    { 0x0011, 0x0012 },  /* VtlCall, VtlReturn */
    { 0x0040, 0x004F },  /* partition create/property (parent), GetPartitionId
                            (AccessPartitionId), memory pool, GPA mapping,
                            intercepts, CreateVp/DeleteVp */
    { 0x0052, 0x0052 },  /* TranslateVirtualAddress (parent) */
    { 0x0058, 0x0058 },  /* DeletePort */
    { 0x005B, 0x005B },  /* DisconnectPort */
    { 0x0069, 0x006B },  /* Post/RetrieveDebugData, ResetDebugSession (Debugging) */
    { 0x006C, 0x006E },  /* Map/UnmapStatsPage (AccessStats), MapSparseGpaPages */
    { 0x0076, 0x0076 },  /* AddLogicalProcessor (CpuManagement) */
    { 0x007C, 0x007D },  /* Map/UnmapDeviceInterrupt (root) */
    { 0x0090, 0x0092 },  /* ModifySparseGpaPages, (Un)RegisterInterceptResult */
    { 0x0095, 0x0096 },  /* CreatePort, ConnectPort */
    { 0x00DB, 0x00DB },  /* ModifySparseGpaPageHostVisibility (Isolation) */
    { 0x010A, 0x010A },  /* SetPartitionPropertyEx */
    { 0x0110, 0x0110 },  /* InstallInterceptEx */
    { 0x0131, 0x0131 },  /* MapStatsPage2 */
};

const struct hc_desc *hc_lookup(uint16_t code, bool *never)
{
    *never = false;
    for (uint32_t i = 0; i < HV_ARRAY_SIZE(calls); i++)
        if (calls[i].code == code)
            return &calls[i];
    for (uint32_t i = 0; i < HV_ARRAY_SIZE(never_granted); i++)
        if (code >= never_granted[i].first && code <= never_granted[i].last)
            *never = true;
    return 0;
}

/* ------------------------------------------------------- input access */

bool hc_read_reps(struct hc_call *c, uint32_t first, uint32_t n, void *dst)
{
    uint32_t count = c->ctl.rep_count;
    uint32_t size = c->desc->rep_in;
    uint32_t offset;

    if (first > count || n > count - first)
        return false;
    /* Bounded: the whole list was checked to fit the input page (slow) or
     * the 112-byte register block (fast). */
    offset = c->hdr_qwords * 8u + first * size;
    if (c->ctl.fast) {
        memcpy(dst, (const uint8_t *)c->fast_in + offset, (size_t)n * size);
        return true;
    }
    return c->p->ops->gpa_read(c->p->ctx, c->in_gpa + offset, dst, (size_t)n * size) == 0;
}

bool hc_should_preempt(const struct hc_call *c)
{
    const struct hv_host_ops *o = c->p->ops;
    return o->should_preempt && o->should_preempt(c->p->ctx, c->vp->index);
}

/* ------------------------------------------------------------- checks */

static bool legal_environment(const struct hv_partition *p, const struct hv_hypercall_regs *r)
{
    if (r->mode != HV_CPU_MODE_PROTECTED && r->mode != HV_CPU_MODE_LONG)
        return false;
    if (r->cpl != 0)
        return false;
    return (__atomic_load_n(&p->hypercall_msr, __ATOMIC_RELAXED) & HV_PAGE_MSR_ENABLE) != 0;
}

static uint16_t check_form(const struct hc_desc *d, const struct hc_control *ctl)
{
    if (d->flags & HC_REP) {
        /* TLFS: the rep count must always be greater than the start index. */
        if (ctl->rep_count == 0 || ctl->rep_start >= ctl->rep_count)
            return HV_STATUS_INVALID_HYPERCALL_INPUT;
    } else if (ctl->rep_count != 0 || ctl->rep_start != 0) {
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    }
    if (ctl->varhead != 0 && !(d->flags & HC_VARHEAD))
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    /* Longer than any valid VP set: it cannot match valid_bank_mask, and
     * refusing it here bounds the header buffer. */
    if (ctl->varhead > HC_MAX_VARHEAD_QWORDS)
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    if (ctl->fast && !(d->flags & HC_FAST_OK))
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    return HV_STATUS_SUCCESS;
}

/* 8-byte aligned and inside one page (TLFS "Alignment Requirements"). */
static bool block_placement_ok(uint64_t gpa, uint32_t bytes)
{
    return (gpa & 7u) == 0 && (gpa & (HV_PAGE_SIZE - 1)) + bytes <= HV_PAGE_SIZE;
}

static uint32_t round_up16(uint32_t v)
{
    return (v + 15u) & ~15u;
}

/* Sizes of one call, computed from values bounded by check_form. */
struct hc_sizes {
    uint32_t hdr;            /* fixed + variable header */
    uint32_t in;             /* header + the whole input list */
    uint32_t out;
};

static void call_sizes(const struct hc_desc *d, const struct hc_control *ctl, struct hc_sizes *s)
{
    /* varhead <= 64 and rep_count <= 4095 were enforced or are 12-bit
     * fields: in <= 256 + 512 + 8 * 4095, far from overflow. */
    s->hdr = d->in_fixed + 8u * ctl->varhead;
    s->in = s->hdr + (uint32_t)d->rep_in * ctl->rep_count;
    s->out = d->out_fixed;
}

enum fetch_result { FETCH_OK, FETCH_STATUS, FETCH_UD };

static enum fetch_result fetch_fast(struct hc_call *c, const struct hv_hypercall_regs *regs,
                                    const struct hc_sizes *s, uint16_t *status)
{
    struct hv_partition *p = c->p;
    const struct hv_host_ops *o = p->ops;
    bool xmm_in = s->in > 16u;

    if (xmm_in && (!hv_feature(p, HV_F_XMM_INPUT) || !o->xmm_read))
        return FETCH_UD;
    if (s->out != 0 && (!hv_feature(p, HV_F_XMM_OUTPUT) || !o->xmm_write ||
                        regs->mode != HV_CPU_MODE_LONG))
        return FETCH_UD;
    if (s->in > HV_FAST_INPUT_MAX || round_up16(s->in) + s->out > HV_FAST_INPUT_MAX) {
        *status = HV_STATUS_INVALID_HYPERCALL_INPUT;
        return FETCH_STATUS;
    }
    c->fast_in[0] = regs->input;
    c->fast_in[1] = regs->output;
    /* Only what the input uses is ever read back (hc_read_reps is bounded
     * by the rep count), so the XMM part is left alone when unused. */
    if (xmm_in)
        o->xmm_read(p->ctx, c->vp->index, &c->fast_in[2]);
    memcpy(c->hdr, c->fast_in, s->hdr);
    return FETCH_OK;
}

static enum fetch_result fetch_slow(struct hc_call *c, const struct hv_hypercall_regs *regs,
                                    const struct hc_sizes *s, uint16_t *status)
{
    const struct hv_partition *p = c->p;

    *status = HV_STATUS_INVALID_ALIGNMENT;
    if (s->in != 0) {
        if (!block_placement_ok(regs->input, s->in))
            return FETCH_STATUS;
        if (s->hdr != 0 && p->ops->gpa_read(p->ctx, regs->input, c->hdr, s->hdr) != 0)
            return FETCH_STATUS;
        /* Probe the end of the list too, so a list that is not RAM fails
         * before any element has an effect. */
        if (s->in > s->hdr) {
            uint8_t last[8];
            uint32_t size = c->desc->rep_in < 8u ? c->desc->rep_in : 8u;
            if (p->ops->gpa_read(p->ctx, regs->input + s->in - size, last, size) != 0)
                return FETCH_STATUS;
        }
    }
    if (s->out != 0 && !block_placement_ok(regs->output, s->out))
        return FETCH_STATUS;
    c->in_gpa = regs->input;
    return FETCH_OK;
}

void hc_place_fast_output(struct hc_call *c, struct hv_hypercall_regs *regs, uint32_t in_bytes,
                          uint32_t out_bytes)
{
    uint32_t at = round_up16(in_bytes) / 8u;
    uint32_t n = out_bytes / 8u;
    uint32_t i = 0;

    for (; i < n && at + i < 2u; i++) {
        if (at + i == 0)
            regs->input = c->out[i];
        else
            regs->output = c->out[i];
        regs->output_in_gprs = 1;
    }
    if (i < n)
        c->p->ops->xmm_write(c->p->ctx, c->vp->index, &c->out[i], at + i - 2u, n - i);
}

static uint16_t write_output(struct hc_call *c, struct hv_hypercall_regs *regs,
                             const struct hc_sizes *s)
{
    if (s->out == 0)
        return HV_STATUS_SUCCESS;
    if (c->ctl.fast) {
        hc_place_fast_output(c, regs, s->in, s->out);
        return HV_STATUS_SUCCESS;
    }
    if (c->p->ops->gpa_write(c->p->ctx, regs->output, c->out, s->out) != 0)
        return HV_STATUS_INVALID_ALIGNMENT;
    return HV_STATUS_SUCCESS;
}

/* Steps 5-8 for a known, permitted call. */
static enum hv_hypercall_outcome run_call(struct hv_vp *vp, const struct hc_desc *d,
                                          const struct hc_control *ctl,
                                          struct hv_hypercall_regs *regs,
                                          uint16_t *status, uint32_t *reps)
{
    struct hc_call c;
    struct hc_sizes s;
    enum fetch_result f;

    *status = check_form(d, ctl);
    if (*status != HV_STATUS_SUCCESS)
        return HV_HC_COMPLETE;
    /* From here the start index is trusted: elements before it were done
     * by earlier invocations. */
    *reps = ctl->rep_start;

    c.vp = vp;
    c.p = vp->partition;
    c.desc = d;
    c.ctl = *ctl;
    c.in_gpa = 0;
    c.reps_done = ctl->rep_start;
    c.preempted = false;
    memset(c.out, 0, sizeof(c.out));
    call_sizes(d, ctl, &s);
    c.hdr_qwords = s.hdr / 8u;

    f = ctl->fast ? fetch_fast(&c, regs, &s, status) : fetch_slow(&c, regs, &s, status);
    if (f == FETCH_UD)
        return HV_HC_INJECT_UD;
    if (f == FETCH_STATUS)
        return HV_HC_COMPLETE;

    *status = d->handler(&c);
    if (d->flags & HC_REP)
        *reps = c.reps_done;
    if (*status != HV_STATUS_SUCCESS)
        return HV_HC_COMPLETE;
    if (c.preempted) {
        regs->control = hc_control_with_rep_start(regs->control, c.reps_done);
        return HV_HC_CONTINUE;
    }
    *status = write_output(&c, regs, &s);
    return HV_HC_COMPLETE;
}

enum hv_hypercall_outcome hv_hypercall(struct hv_vp *vp, struct hv_hypercall_regs *regs)
{
    struct hv_partition *p = vp->partition;
    const uint64_t control = regs->control, input = regs->input, output = regs->output;
    enum hv_hypercall_outcome outcome = HV_HC_COMPLETE;
    const struct hc_desc *d = 0;
    struct hc_control ctl;
    uint16_t status = HV_STATUS_SUCCESS;
    uint32_t reps = 0;
    bool never = false;

    regs->output_in_gprs = 0;
    hc_decode_control(control, &ctl);
    if (!legal_environment(p, regs)) {
        outcome = HV_HC_INJECT_UD;
    } else {
        d = hc_lookup(ctl.code, &never);
        if (never || (d && !hc_gates_ok(p, d)))
            status = HV_STATUS_ACCESS_DENIED;
        else if (ctl.reserved_set)
            status = HV_STATUS_INVALID_HYPERCALL_INPUT;
        else if (!d || !d->handler)
            status = HV_STATUS_INVALID_HYPERCALL_CODE;
        else
            outcome = run_call(vp, d, &ctl, regs, &status, &reps);
    }

    if (outcome != HV_HC_INJECT_UD)
        regs->result = hc_result_value(status, reps);
    if (outcome != HV_HC_CONTINUE) {
        hv_stat_inc(&vp->stats.hypercalls[d ? d->stat : HV_HC_STAT_OTHER]);
        if (outcome == HV_HC_INJECT_UD || status != HV_STATUS_SUCCESS)
            hv_stat_inc(&vp->stats.hypercall_errors);
    }
    hv_trace(p, vp->index, HV_TRACE_HYPERCALL, control, input, output,
             outcome == HV_HC_INJECT_UD ? HC_TRACE_RESULT_UD : regs->result);
    return outcome;
}
