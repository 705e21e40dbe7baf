/* SPDX-License-Identifier: MIT */
/* Enlightenment names, presets, the xl-style parser and Xen's mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hvshim/features.h"

#define F(x) HV_FEATURE_BIT(HV_F_##x)
#define BASE (F(HYPERCALL) | F(VP_INDEX) | F(APIC_MSRS) | F(VP_ASSIST))

static hv_features_t parse_ok(const char *text)
{
    hv_features_t f = 0;
    char err[160];
    int rc = hv_features_parse(text, F(SYNIC) | BASE, &f, err, sizeof(err));
    if (rc != 0)
        fail_msg("parse of '%s' failed: %s", text, err);
    return f;
}

static void parse_err(const char *text, const char *expect_in_msg)
{
    hv_features_t f = 0x5a5a;
    char err[160];
    assert_int_equal(hv_features_parse(text, 0, &f, err, sizeof(err)), -1);
    assert_int_equal(f, 0x5a5a);   /* output untouched on error */
    if (!strstr(err, expect_in_msg))
        fail_msg("error for '%s' was '%s', expected to mention '%s'", text, err, expect_in_msg);
}

static void test_none_and_empty(void **s)
{
    (void)s;
    assert_int_equal(parse_ok("none"), 0);
    assert_int_equal(parse_ok(""), 0);
    assert_int_equal(parse_ok("[ ]"), 0);
}

static void test_xl_quoted_list(void **s)
{
    (void)s;
    hv_features_t f = parse_ok("\"base\",\"freq\",\"stimer\",\"!apic_assist\"");
    /* xl's stimer group brings synic and time_ref_count along */
    assert_int_equal(f, BASE | F(FREQ) | F(STIMER) | F(SYNIC) | F(TIME_REF_COUNT));
}

static void test_bracketed_with_spaces(void **s)
{
    (void)s;
    assert_int_equal(parse_ok("[ \"base\" , \"crash_ctl\" ]"), BASE | F(CRASH_CTL));
    assert_int_equal(parse_ok("base, crash_ctl"), BASE | F(CRASH_CTL));
}

static void test_defaults_match_viridian_1(void **s)
{
    (void)s;
    hv_features_t d = parse_ok("defaults");
    assert_int_equal(d, hv_features_preset_xen_defaults());
    assert_int_equal(parse_ok("xen-defaults"), d);
    /* viridian=1 in xl is HVM_PARAM_VIRIDIAN 0x1865 */
    assert_int_equal(hv_features_to_viridian_mask(d), 0x1865);
}

static void test_all_preset_trimmed(void **s)
{
    (void)s;
    hv_features_t f = parse_ok("all,!apic_assist,!apic_msrs");
    assert_false(f & F(APIC_ASSIST));
    assert_false(f & F(APIC_MSRS));
    assert_true(f & F(STIMER_DIRECT));
    assert_int_equal(parse_ok("all"), HV_FEATURES_ALL);
}

static void test_host_preset(void **s)
{
    (void)s;
    assert_int_equal(parse_ok("host"), F(SYNIC) | BASE);
}

static void test_group_trimming(void **s)
{
    (void)s;
    assert_int_equal(parse_ok("base,!apic_msrs"), F(HYPERCALL) | F(VP_INDEX) | F(VP_ASSIST));
}

static void test_unknown_name(void **s)
{
    (void)s;
    parse_err("base,frobnicate", "frobnicate");
}

static void test_both_ways(void **s)
{
    (void)s;
    parse_err("base,freq,!freq", "both enabled and disabled");
    parse_err("base,!freq,freq", "both enabled and disabled");
}

static void test_requirement_disabled(void **s)
{
    (void)s;
    parse_err("base,stimer_direct,!synic", "needs");
    parse_err("base,!synic,stimer", "needs 'synic'");
}

static void test_base_required(void **s)
{
    (void)s;
    parse_err("freq", "base");
    parse_err("all,!hypercall", "needs");
}

static void test_none_exclusive(void **s)
{
    (void)s;
    parse_err("none,base", "none");
    parse_err("!none", "negate");
}

static void test_bad_syntax(void **s)
{
    (void)s;
    parse_err("\"base", "unterminated");
    parse_err("base,!", "empty");
    hv_features_t f;
    char err[8];
    assert_int_equal(hv_features_parse(NULL, 0, &f, err, sizeof(err)), -1);
    /* the message is truncated, never overflows */
    assert_int_equal(hv_features_parse("base,averyveryverylongname", 0, &f, err, sizeof(err)), -1);
    assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_closure_adds_requirements(void **s)
{
    (void)s;
    assert_int_equal(parse_ok("base,stimer_direct"),
                     BASE | F(STIMER_DIRECT) | F(STIMER) | F(SYNIC) | F(TIME_REF_COUNT));
    assert_int_equal(parse_ok("base,reference_tsc"), BASE | F(REFERENCE_TSC) | F(TIME_REF_COUNT));
    assert_int_equal(hv_features_close(F(HCALL_IPI)), F(HCALL_IPI) | F(HYPERCALL));
    assert_int_equal(hv_features_close(0), 0);
}

static void test_named_reports_singles(void **s)
{
    (void)s;
    hv_features_t f, named;
    char err[64];
    assert_int_equal(hv_features_parse_ex("base,apic_assist,stimer", 0, &f, &named, err,
                                          sizeof(err)), 0);
    /* apic_assist was named alone; stimer is a group; base is a group */
    assert_int_equal(named, F(APIC_ASSIST));
}

static void test_every_name_parses(void **s)
{
    (void)s;
    for (const struct hv_feature_group *g = hv_feature_groups(); g->name; g++) {
        char text[64];
        snprintf(text, sizeof(text), "base,%s", g->name);
        hv_features_t f = parse_ok(text);
        assert_int_equal(f & g->bits, g->bits);
        assert_non_null(g->help);
    }
    for (unsigned i = 0; i < HV_F_COUNT; i++) {
        const char *n = hv_feature_name((enum hv_feature)i);
        assert_non_null(n);
        assert_string_not_equal(n, "?");
    }
    assert_string_equal(hv_feature_name(HV_F_COUNT), "?");
}

static void test_format(void **s)
{
    (void)s;
    char buf[256];
    hv_features_format(F(HYPERCALL) | F(FREQ), buf, sizeof(buf));
    assert_string_equal(buf, "hypercall,freq");
    hv_features_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "none");
    size_t need = hv_features_format(HV_FEATURES_ALL, buf, 5);
    assert_true(need > 5);
    assert_int_equal(strlen(buf), 4);
    /* formatting and parsing round-trip */
    hv_features_format(hv_features_preset_xen_defaults(), buf, sizeof(buf));
    assert_int_equal(parse_ok(buf), hv_features_preset_xen_defaults());
}

static void test_viridian_mask_roundtrip(void **s)
{
    (void)s;
    for (uint64_t mask = 1; mask < (1u << 13); mask += 2) {   /* base bit always set */
        hv_features_t f;
        assert_int_equal(hv_features_from_viridian_mask(mask, &f), 0);
        assert_int_equal(hv_features_to_viridian_mask(f), mask);
    }
}

static void test_viridian_mask_rules(void **s)
{
    (void)s;
    hv_features_t f = 1;
    assert_int_equal(hv_features_from_viridian_mask(0, &f), 0);
    assert_int_equal(f, 0);
    assert_int_equal(hv_features_from_viridian_mask(0x4, &f), -1);      /* no base */
    assert_int_equal(hv_features_from_viridian_mask(1ull << 13, &f), -1); /* unknown bit */
    assert_int_equal(hv_features_from_viridian_mask(1, &f), 0);
    assert_int_equal(f, BASE | F(FREQ));
    assert_int_equal(hv_features_from_viridian_mask(3, &f), 0);         /* no_freq */
    assert_int_equal(f, BASE);
    assert_int_equal(hv_features_to_viridian_mask(0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_and_empty),
        cmocka_unit_test(test_xl_quoted_list),
        cmocka_unit_test(test_bracketed_with_spaces),
        cmocka_unit_test(test_defaults_match_viridian_1),
        cmocka_unit_test(test_all_preset_trimmed),
        cmocka_unit_test(test_host_preset),
        cmocka_unit_test(test_group_trimming),
        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_both_ways),
        cmocka_unit_test(test_requirement_disabled),
        cmocka_unit_test(test_base_required),
        cmocka_unit_test(test_none_exclusive),
        cmocka_unit_test(test_bad_syntax),
        cmocka_unit_test(test_closure_adds_requirements),
        cmocka_unit_test(test_named_reports_singles),
        cmocka_unit_test(test_every_name_parses),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_viridian_mask_roundtrip),
        cmocka_unit_test(test_viridian_mask_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
