/* SPDX-License-Identifier: MIT */
/*
 * Enlightenment names, groups, presets and the xl-style list parser.
 * Group names keep the meaning of Xen's viridian= groups so a Xen user's
 * configuration means the same thing here.
 */
#include "hvshim/internal.h"

#define B(f) HV_FEATURE_BIT(HV_F_##f)

#define BASE_BITS (B(HYPERCALL) | B(VP_INDEX) | B(APIC_MSRS) | B(VP_ASSIST))

/* Every hypercall-backed feature needs the hypercall page. */
#define HYPERCALL_USERS (B(HCALL_REMOTE_TLB_FLUSH) | B(HCALL_IPI) | B(EX_PROCESSOR_MASKS) | \
                         B(XMM_INPUT) | B(XMM_OUTPUT) | B(POST_MESSAGES) | \
                         B(SIGNAL_EVENTS) | B(SPIN_WAIT) | B(ADDRESS_SPACE_SWITCH) | \
                         B(EXT_HYPERCALLS))

static const char *const feature_names[HV_F_COUNT] = {
    [HV_F_HYPERCALL] = "hypercall",
    [HV_F_VP_INDEX] = "vp_index",
    [HV_F_APIC_MSRS] = "apic_msrs",
    [HV_F_VP_ASSIST] = "vp_assist",
    [HV_F_FREQ] = "freq",
    [HV_F_TIME_REF_COUNT] = "time_ref_count",
    [HV_F_REFERENCE_TSC] = "reference_tsc",
    [HV_F_HCALL_REMOTE_TLB_FLUSH] = "hcall_remote_tlb_flush",
    [HV_F_APIC_ASSIST] = "apic_assist",
    [HV_F_CRASH_CTL] = "crash_ctl",
    [HV_F_SYNIC] = "synic",
    [HV_F_STIMER] = "stimer",
    [HV_F_HCALL_IPI] = "hcall_ipi",
    [HV_F_EX_PROCESSOR_MASKS] = "ex_processor_masks",
    [HV_F_NO_VP_LIMIT] = "no_vp_limit",
    [HV_F_CPU_HOTPLUG] = "cpu_hotplug",
    [HV_F_STIMER_DIRECT] = "stimer_direct",
    [HV_F_VP_RUNTIME] = "vp_runtime",
    [HV_F_RESET] = "reset",
    [HV_F_GUEST_IDLE] = "guest_idle",
    [HV_F_TSC_INVARIANT] = "tsc_invariant",
    [HV_F_REENLIGHTENMENT] = "reenlightenment",
    [HV_F_XMM_INPUT] = "xmm_input",
    [HV_F_XMM_OUTPUT] = "xmm_output",
    [HV_F_POST_MESSAGES] = "post_messages",
    [HV_F_SIGNAL_EVENTS] = "signal_events",
    [HV_F_SPIN_WAIT] = "spin_wait",
    [HV_F_RELAXED_TIMING] = "relaxed_timing",
    [HV_F_DEPRECATE_AUTO_EOI] = "deprecate_auto_eoi",
    [HV_F_ADDRESS_SPACE_SWITCH] = "address_space_switch",
    [HV_F_EXT_HYPERCALLS] = "ext_hypercalls",
    [HV_F_SINT_POLLING] = "sint_polling",
};

/* Groups first (xl's names), then each feature under its own name. */
static const struct hv_feature_group groups[] = {
    { "base", BASE_BITS, "hypercall page, OS id, VP index, APIC MSRs, VP assist page (xl: base)" },
    { "freq", B(FREQ), "TSC and APIC frequency MSRs" },
    { "time_ref_count", B(TIME_REF_COUNT), "partition reference counter MSR" },
    { "reference_tsc", B(REFERENCE_TSC), "reference TSC page" },
    { "hcall_remote_tlb_flush", B(HCALL_REMOTE_TLB_FLUSH), "TLB flush hypercalls" },
    { "apic_assist", B(APIC_ASSIST), "lazy EOI through the VP assist page" },
    { "crash_ctl", B(CRASH_CTL), "crash MSRs" },
    { "synic", B(SYNIC), "synthetic interrupt controller" },
    { "stimer", B(STIMER) | B(SYNIC) | B(TIME_REF_COUNT),
      "synthetic timers (with synic and time_ref_count, as xl)" },
    { "hcall_ipi", B(HCALL_IPI), "synthetic cluster IPI hypercalls" },
    { "ex_processor_masks", B(EX_PROCESSOR_MASKS), "sparse VP sets (Ex hypercalls)" },
    { "no_vp_limit", B(NO_VP_LIMIT), "report no VP limit" },
    { "cpu_hotplug", B(CPU_HOTPLUG), "CPU dynamic partitioning" },
    { "hypercall", B(HYPERCALL), "GUEST_OS_ID and HYPERCALL MSRs" },
    { "vp_index", B(VP_INDEX), "VP_INDEX MSR" },
    { "apic_msrs", B(APIC_MSRS), "EOI/ICR/TPR MSRs" },
    { "vp_assist", B(VP_ASSIST), "VP assist page" },
    { "stimer_direct", B(STIMER_DIRECT), "direct-mode synthetic timers" },
    { "vp_runtime", B(VP_RUNTIME), "VP run time MSR" },
    { "reset", B(RESET), "reset MSR" },
    { "guest_idle", B(GUEST_IDLE), "guest idle MSR" },
    { "tsc_invariant", B(TSC_INVARIANT), "invariant TSC control" },
    { "reenlightenment", B(REENLIGHTENMENT), "reenlightenment and TSC emulation" },
    { "xmm_input", B(XMM_INPUT), "XMM fast hypercall input" },
    { "xmm_output", B(XMM_OUTPUT), "XMM fast hypercall output" },
    { "post_messages", B(POST_MESSAGES), "HvPostMessage" },
    { "signal_events", B(SIGNAL_EVENTS), "HvSignalEvent" },
    { "vmbus", B(POST_MESSAGES) | B(SIGNAL_EVENTS) | B(SYNIC), "what VMBus needs" },
    { "spin_wait", B(SPIN_WAIT), "long spin-wait notification" },
    { "relaxed_timing", B(RELAXED_TIMING), "relaxed timing recommendation" },
    { "deprecate_auto_eoi", B(DEPRECATE_AUTO_EOI), "recommend EOI over AutoEOI" },
    { "address_space_switch", B(ADDRESS_SPACE_SWITCH), "address-space switch hypercall" },
    { "ext_hypercalls", B(EXT_HYPERCALLS), "extended hypercalls" },
    { "sint_polling", B(SINT_POLLING), "SINT polling mode" },
    { 0, 0, 0 },
};

const struct hv_feature_group *hv_feature_groups(void)
{
    return groups;
}

const char *hv_feature_name(enum hv_feature f)
{
    return (unsigned)f < HV_F_COUNT ? feature_names[f] : "?";
}

hv_features_t hv_features_preset_xen_defaults(void)
{
    /* libxl's defaults for viridian=1 (HVM_PARAM_VIRIDIAN 0x1865) */
    return BASE_BITS | B(FREQ) | B(TIME_REF_COUNT) | B(APIC_ASSIST) | B(CRASH_CTL) |
           B(NO_VP_LIMIT) | B(CPU_HOTPLUG);
}

hv_features_t hv_features_preset_all(void)
{
    return HV_FEATURES_ALL;
}

/* What each feature cannot work without. */
static hv_features_t requirements(enum hv_feature f)
{
    hv_features_t r = 0;

    if (HYPERCALL_USERS & HV_FEATURE_BIT(f))
        r |= B(HYPERCALL);
    switch (f) {
    case HV_F_STIMER:          r |= B(SYNIC) | B(TIME_REF_COUNT); break;
    case HV_F_STIMER_DIRECT:   r |= B(STIMER) | B(SYNIC) | B(TIME_REF_COUNT); break;
    case HV_F_APIC_ASSIST:     r |= B(VP_ASSIST) | B(APIC_MSRS); break;
    case HV_F_POST_MESSAGES:
    case HV_F_SIGNAL_EVENTS:
    case HV_F_SINT_POLLING:    r |= B(SYNIC); break;
    /* Linux falls back to the MSR whenever the page is invalid. */
    case HV_F_REFERENCE_TSC:   r |= B(TIME_REF_COUNT); break;
    /* The reenlightenment handler re-reads the TSC frequency MSR. */
    case HV_F_REENLIGHTENMENT: r |= B(FREQ); break;
    case HV_F_XMM_OUTPUT:      r |= B(XMM_INPUT); break;
    default: break;
    }
    return r;
}

hv_features_t hv_features_close(hv_features_t f)
{
    hv_features_t prev;

    do {
        prev = f;
        for (unsigned i = 0; i < HV_F_COUNT; i++)
            if (f & HV_FEATURE_BIT(i))
                f |= requirements((enum hv_feature)i);
    } while (f != prev);
    return f;
}

/* --------------------------------------------------------- the parser */

struct out_text {
    char *buf;
    size_t len;
    size_t used;
};

static void put_str(struct out_text *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->used++)
        if (o->len && o->used < o->len - 1)
            o->buf[o->used] = s[i];
    if (o->len)
        o->buf[o->used < o->len - 1 ? o->used : o->len - 1] = 0;
}

static size_t cstrlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void put_cstr(struct out_text *o, const char *s)
{
    put_str(o, s, cstrlen(s));
}

static int fail(char *err, size_t err_len, const char *what, const char *name, size_t name_len)
{
    struct out_text o = { err, err_len, 0 };
    put_cstr(&o, what);
    if (name) {
        put_cstr(&o, " '");
        put_str(&o, name, name_len);
        put_cstr(&o, "'");
    }
    return -1;
}

static bool name_is(const char *s, size_t n, const char *name)
{
    size_t m = cstrlen(name);
    return n == m && memcmp(s, name, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Preset names: returns true and the bits if s names one. */
static bool preset_bits(const char *s, size_t n, hv_features_t host_default, hv_features_t *bits)
{
    if (name_is(s, n, "all")) {
        *bits = HV_FEATURES_ALL;
        return true;
    }
    if (name_is(s, n, "defaults") || name_is(s, n, "xen-defaults")) {
        *bits = hv_features_preset_xen_defaults();
        return true;
    }
    if (name_is(s, n, "host")) {
        *bits = host_default;
        return true;
    }
    return false;
}

static const struct hv_feature_group *find_group(const char *s, size_t n)
{
    for (const struct hv_feature_group *g = groups; g->name; g++)
        if (name_is(s, n, g->name))
            return g;
    return 0;
}

struct token {
    const char *name;
    size_t len;
    bool negate;
};

/* The next name of the list: 1 with tok filled, 0 at the end, -1 on a
 * syntax error (reason in err). */
static int next_token(const char **sp, struct token *tok, char *err, size_t err_len)
{
    const char *s = *sp;
    bool quoted;

    while (is_space(*s) || *s == ',' || *s == '[' || *s == ']')
        s++;
    if (!*s) {
        *sp = s;
        return 0;
    }
    quoted = *s == '"';
    if (quoted)
        s++;
    tok->negate = *s == '!';
    if (tok->negate)
        s++;
    tok->name = s;
    while (*s && *s != '"' && *s != ',' && *s != ']' && !is_space(*s))
        s++;
    tok->len = (size_t)(s - tok->name);
    if (quoted) {
        if (*s != '"')
            return fail(err, err_len, "unterminated quote before", tok->name, tok->len);
        s++;
    }
    if (tok->len == 0)
        return fail(err, err_len, "empty enlightenment name", 0, 0);
    *sp = s;
    return 1;
}

/* What the list says so far. */
struct selection {
    hv_features_t preset, enable, disable;
    hv_features_t single, single_off;   /* features named one by one */
    bool saw_none, saw_other;
};

static int apply_token(struct selection *sel, const struct token *t, hv_features_t host_default,
                       char *err, size_t err_len)
{
    const struct hv_feature_group *g;
    hv_features_t bits;
    bool one;

    if (name_is(t->name, t->len, "none")) {
        if (t->negate)
            return fail(err, err_len, "cannot negate", t->name, t->len);
        sel->saw_none = true;
        return 0;
    }
    sel->saw_other = true;
    if (preset_bits(t->name, t->len, host_default, &bits)) {
        if (t->negate)
            sel->disable |= bits;
        else
            sel->preset |= bits;
        return 0;
    }
    g = find_group(t->name, t->len);
    if (!g)
        return fail(err, err_len, "unknown enlightenment (see --enlightenments help)",
                    t->name, t->len);
    one = hv_popcount64(g->bits) == 1;
    /* Groups may be trimmed ("base","!apic_msrs"); naming one single
     * feature both ways is a contradiction. */
    if (t->negate) {
        if (g->bits & sel->single)
            return fail(err, err_len, "enlightenment both enabled and disabled:", t->name, t->len);
        sel->disable |= g->bits;
        if (one)
            sel->single_off |= g->bits;
    } else {
        if (one && (g->bits & sel->single_off))
            return fail(err, err_len, "enlightenment both enabled and disabled:", t->name, t->len);
        sel->enable |= g->bits;
        if (one)
            sel->single |= g->bits;
    }
    return 0;
}

int hv_features_parse_ex(const char *text, hv_features_t host_default, hv_features_t *out,
                         hv_features_t *named, char *err, size_t err_len)
{
    struct selection sel = { 0, 0, 0, 0, 0, false, false };
    struct token tok;
    hv_features_t result;
    const char *s = text;
    int rc;

    if (err_len)
        err[0] = 0;
    if (!text)
        return fail(err, err_len, "no enlightenment list given", 0, 0);
    while ((rc = next_token(&s, &tok, err, err_len)) > 0)
        if (apply_token(&sel, &tok, host_default, err, err_len) < 0)
            return -1;
    if (rc < 0)
        return -1;
    if (sel.saw_none && sel.saw_other)
        return fail(err, err_len, "'none' cannot be combined with other enlightenments", 0, 0);

    result = (sel.preset | sel.enable) & ~sel.disable;
    /* What a kept feature needs must not have been switched off. */
    for (unsigned i = 0; i < HV_F_COUNT; i++) {
        hv_features_t missing;

        if (!(result & HV_FEATURE_BIT(i)))
            continue;
        missing = requirements((enum hv_feature)i) & sel.disable;
        if (missing) {
            struct out_text o = { err, err_len, 0 };
            put_cstr(&o, "enlightenment '");
            put_cstr(&o, feature_names[i]);
            put_cstr(&o, "' needs '");
            put_cstr(&o, feature_names[hv_ctz64(missing)]);
            put_cstr(&o, "', which is disabled");
            return -1;
        }
    }
    result = hv_features_close(result);
    if (result && !(result & B(HYPERCALL)))
        return fail(err, err_len, "the base group (hypercall page) must be enabled", 0, 0);

    *out = result;
    if (named)
        *named = sel.single & result;
    return 0;
}

int hv_features_parse(const char *text, hv_features_t host_default, hv_features_t *out,
                      char *err, size_t err_len)
{
    return hv_features_parse_ex(text, host_default, out, 0, err, err_len);
}

size_t hv_features_format(hv_features_t f, char *buf, size_t len)
{
    struct out_text o = { buf, len, 0 };
    bool first = true;

    if (len)
        buf[0] = 0;
    for (unsigned i = 0; i < HV_F_COUNT; i++) {
        if (!(f & HV_FEATURE_BIT(i)))
            continue;
        if (!first)
            put_cstr(&o, ",");
        put_cstr(&o, feature_names[i]);
        first = false;
    }
    if (first)
        put_cstr(&o, "none");
    return o.used;
}

/* ------------------------------------------------ Xen's HVMPV_ bits */

/* HVM_PARAM_VIRIDIAN bit numbers (xen/include/public/hvm/params.h). */
enum {
    HVMPV_BASE_FREQ = 0, HVMPV_NO_FREQ = 1, HVMPV_TIME_REF_COUNT = 2,
    HVMPV_REFERENCE_TSC = 3, HVMPV_HCALL_REMOTE_TLB_FLUSH = 4, HVMPV_APIC_ASSIST = 5,
    HVMPV_CRASH_CTL = 6, HVMPV_SYNIC = 7, HVMPV_STIMER = 8, HVMPV_HCALL_IPI = 9,
    HVMPV_EX_PROCESSOR_MASKS = 10, HVMPV_NO_VP_LIMIT = 11, HVMPV_CPU_HOTPLUG = 12,
    HVMPV_COUNT = 13,
};

static const struct {
    uint8_t bit;
    hv_features_t features;
} viridian_map[] = {
    { HVMPV_TIME_REF_COUNT, B(TIME_REF_COUNT) },
    { HVMPV_REFERENCE_TSC, B(REFERENCE_TSC) },
    { HVMPV_HCALL_REMOTE_TLB_FLUSH, B(HCALL_REMOTE_TLB_FLUSH) },
    { HVMPV_APIC_ASSIST, B(APIC_ASSIST) },
    { HVMPV_CRASH_CTL, B(CRASH_CTL) },
    { HVMPV_SYNIC, B(SYNIC) },
    { HVMPV_STIMER, B(STIMER) },
    { HVMPV_HCALL_IPI, B(HCALL_IPI) },
    { HVMPV_EX_PROCESSOR_MASKS, B(EX_PROCESSOR_MASKS) },
    { HVMPV_NO_VP_LIMIT, B(NO_VP_LIMIT) },
    { HVMPV_CPU_HOTPLUG, B(CPU_HOTPLUG) },
};

int hv_features_from_viridian_mask(uint64_t mask, hv_features_t *out)
{
    hv_features_t f = 0;

    if (mask == 0) {
        *out = 0;
        return 0;
    }
    /* Xen's own rules: known bits only, base_freq required. */
    if ((mask >> HVMPV_COUNT) != 0 || !(mask & (1ull << HVMPV_BASE_FREQ)))
        return -1;
    f |= BASE_BITS;
    if (!(mask & (1ull << HVMPV_NO_FREQ)))
        f |= B(FREQ);
    for (unsigned i = 0; i < HV_ARRAY_SIZE(viridian_map); i++)
        if (mask & (1ull << viridian_map[i].bit))
            f |= viridian_map[i].features;
    *out = f;
    return 0;
}

uint64_t hv_features_to_viridian_mask(hv_features_t f)
{
    uint64_t mask = 0;

    if (!(f & B(HYPERCALL)))
        return 0;
    mask |= 1ull << HVMPV_BASE_FREQ;
    if (!(f & B(FREQ)))
        mask |= 1ull << HVMPV_NO_FREQ;
    for (unsigned i = 0; i < HV_ARRAY_SIZE(viridian_map); i++)
        if ((f & viridian_map[i].features) == viridian_map[i].features)
            mask |= 1ull << viridian_map[i].bit;
    return mask;
}
