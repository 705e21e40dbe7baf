/* SPDX-License-Identifier: MIT */
/*
 * hvshim-xen against the fake libxen* libraries: the mask it sets, what it
 * writes to xenstore, and a clear exit 2 with one line for every kind of
 * bad configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xen-glue/tests/fake_xen.h"
#include "xen-glue/toolstack/hvshim_xen.h"

#define DOMID 7
#define XS "/local/domain/0/backend/vmbus/7"

struct run {
    int status;
    char out[4096];
    char err[4096];
};

static struct run run_tool(const char *first, ...)
{
    struct run r;
    char *argv[32] = { "hvshim-xen" };
    int argc = 1;
    va_list ap;
    char *obuf = NULL, *ebuf = NULL;
    size_t olen = 0, elen = 0;
    FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);

    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    r.status = hvshim_xen_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    snprintf(r.out, sizeof(r.out), "%s", obuf ? obuf : "");
    snprintf(r.err, sizeof(r.err), "%s", ebuf ? ebuf : "");
    free(obuf);
    free(ebuf);
    return r;
}

static unsigned lines(const char *s)
{
    unsigned n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A refused configuration: exit 2, exactly one line naming the problem,
 * nothing written anywhere. */
static void assert_refused(struct run r, const char *needle)
{
    if (r.status != 2 || lines(r.err) != 1 || !strstr(r.err, needle))
        fprintf(stderr, "status %d, stderr: %s", r.status, r.err);
    assert_int_equal(r.status, 2);
    assert_int_equal(lines(r.err), 1);
    assert_non_null(strstr(r.err, needle));
    assert_false(fx_xs_exists(XS));
    if (fx_domain(DOMID))
        assert_int_equal(fx_domain(DOMID)->viridian, 0);
}

static int setup(void **state)
{
    (void)state;
    fx_reset();
    fx_domain_create(DOMID, true, 2);
    return 0;
}

/* ---------------------------------------------------------- success */

static void test_defaults_with_vmbus_devices(void **state)
{
    struct run r;

    (void)state;
    r = run_tool("set", "7", "--device", "heartbeat", "--device", "shutdown", "--device",
                 "nic,bridge=xenbr0,mac=00:16:3e:00:00:01", "--device", "disk,path=/dev/vg/g7,ro",
                 NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    /* libxl's viridian=1 (0x1865), synic (VMBus needs it), and hvshim's
     * post_messages (16) and signal_events (17). */
    assert_int_equal(fx_domain(DOMID)->viridian, 0x1865 | (1u << 7) | (1u << 16) | (1u << 17));
    assert_string_equal(fx_xs_get(XS "/state"), "configured");
    assert_string_equal(fx_xs_get(XS "/viridian-mask"), "0x318e5");
    assert_string_equal(fx_xs_get(XS "/device/0/type"), "heartbeat");
    assert_string_equal(fx_xs_get(XS "/device/2/type"), "nic");
    assert_string_equal(fx_xs_get(XS "/device/2/bridge"), "xenbr0");
    assert_string_equal(fx_xs_get(XS "/device/2/mac"), "00:16:3e:00:00:01");
    assert_string_equal(fx_xs_get(XS "/device/3/path"), "/dev/vg/g7");
    assert_string_equal(fx_xs_get(XS "/device/3/readonly"), "1");
    assert_non_null(fx_xs_get(XS "/generation"));
    assert_string_equal(fx_xs_get("/local/domain/7/platform/hvshim_vmbus"), "1");
    assert_non_null(strstr(r.out, "viridian mask 0x318e5"));
}

static void test_feature_list_sets_new_bits(void **state)
{
    struct run r;

    (void)state;
    r = run_tool("set", "7", "--features", "base,freq,reference_tsc,stimer,stimer_direct", NULL);
    assert_int_equal(r.status, 0);
    /* base freq(no no_freq) time_ref_count reference_tsc synic stimer,
     * stimer_direct (13) */
    assert_int_equal(fx_domain(DOMID)->viridian,
                     0x1 | (1u << 2) | (1u << 3) | (1u << 7) | (1u << 8) | (1u << 13));
    /* No VMBus devices: hvmloader gets no VMBus device. */
    assert_string_equal(fx_xs_get("/local/domain/7/platform/hvshim_vmbus"), "0");
}

static void test_all_is_trimmed_to_what_xen_can_do(void **state)
{
    struct run r;

    (void)state;
    r = run_tool("set", "7", "--features", "all", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(fx_domain(DOMID)->viridian, 0x1FFFFD);   /* everything but no_freq */
}

static void test_same_mask_already_set_is_fine(void **state)
{
    struct run r;

    (void)state;
    fx_domain(DOMID)->viridian = 0x1865;
    r = run_tool("set", "7", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(fx_domain(DOMID)->viridian, 0x1865);
}

static void test_running_domain_is_only_a_warning(void **state)
{
    struct run r;

    (void)state;
    fx_domain(DOMID)->paused = false;
    r = run_tool("set", "7", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "warning"));
    assert_non_null(strstr(r.err, "xl create -p"));
}

static void test_xenstore_conflicts_are_retried(void **state)
{
    struct run r;

    (void)state;
    fx.xs_conflicts = 3;
    r = run_tool("set", "7", "--device", "kvp", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(fx.xs_conflicts, 0);
    assert_string_equal(fx_xs_get(XS "/device/0/type"), "kvp");
}

static void test_rewrite_replaces_devices(void **state)
{
    (void)state;
    assert_int_equal(run_tool("set", "7", "--device", "kvp", "--device", "heartbeat", NULL).status, 0);
    assert_int_equal(run_tool("set", "7", "--device", "timesync", NULL).status, 0);
    assert_string_equal(fx_xs_get(XS "/device/0/type"), "timesync");
    assert_false(fx_xs_exists(XS "/device/1"));
}

static void test_show_and_clear(void **state)
{
    struct run r;

    (void)state;
    assert_int_equal(run_tool("set", "7", "--device", "nic,bridge=br0", NULL).status, 0);
    fx_xs_set(XS "/daemon", "running, 2 VPs, port 100");
    r = run_tool("show", "7", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "device 0: nic bridge=br0"));
    assert_non_null(strstr(r.out, "hvshimd: running"));
    r = run_tool("clear", "7", NULL);
    assert_int_equal(r.status, 0);
    assert_false(fx_xs_exists(XS));
    r = run_tool("show", "7", NULL);
    assert_int_equal(r.status, 2);
    assert_int_equal(lines(r.err), 1);
}

static void test_features_lists_names(void **state)
{
    struct run r;

    (void)state;
    r = run_tool("features", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "stimer_direct"));
    assert_non_null(strstr(r.out, "xmm_input"));
    assert_non_null(strstr(r.out, "[not on Xen]"));
}

/* ------------------------------------------------ bad configuration */

static void test_bad_usage(void **state)
{
    (void)state;
    assert_refused(run_tool(NULL), "usage");
    assert_refused(run_tool("frobnicate", NULL), "usage");
    assert_refused(run_tool("set", NULL), "usage");
    assert_refused(run_tool("set", "7", "--features", NULL), "usage");
    assert_refused(run_tool("set", "7", "--bogus", NULL), "usage");
}

static void test_bad_domid(void **state)
{
    (void)state;
    assert_refused(run_tool("set", "0", NULL), "not a guest domain id");
    assert_refused(run_tool("set", "abc", NULL), "not a guest domain id");
    assert_refused(run_tool("set", "7x", NULL), "not a guest domain id");
    assert_refused(run_tool("set", "99999", NULL), "not a guest domain id");
}

static void test_unknown_or_missing_domain(void **state)
{
    (void)state;
    assert_refused(run_tool("set", "8", NULL), "domain 8 does not exist");
    fx_domain_create(9, false, 1);
    assert_refused(run_tool("set", "9", NULL), "not an HVM domain");
}

static void test_bad_feature_names(void **state)
{
    (void)state;
    assert_refused(run_tool("set", "7", "--features", "base,warp_drive", NULL), "features:");
    /* libxl's rule: no base, no viridian */
    assert_refused(run_tool("set", "7", "--features", "freq,stimer", NULL), "features:");
    /* enabled and disabled at once */
    assert_refused(run_tool("set", "7", "--features", "base,synic,!synic", NULL), "features:");
}

static void test_features_xen_cannot_give(void **state)
{
    (void)state;
    assert_refused(run_tool("set", "7", "--features", "base,xmm_input", NULL),
                   "not available on Xen: xmm_input");
    assert_refused(run_tool("set", "7", "--features", "base,guest_idle", NULL),
                   "not available on Xen");
    assert_refused(run_tool("set", "7", "--features", "defaults,!relaxed_timing", NULL),
                   "cannot be turned off on Xen");
}

static void test_vmbus_devices_need_vmbus(void **state)
{
    (void)state;
    assert_refused(run_tool("set", "7", "--features", "defaults,!post_messages", "--device",
                            "heartbeat", NULL),
                   "VMBus devices need");
}

static void test_bad_devices(void **state)
{
    (void)state;
    assert_refused(run_tool("set", "7", "--device", "floppy", NULL), "unknown device type");
    assert_refused(run_tool("set", "7", "--device", "nic", NULL), "not an interface name");
    assert_refused(run_tool("set", "7", "--device", "nic,bridge=a/b", NULL),
                   "not an interface name");
    assert_refused(run_tool("set", "7", "--device", "nic,bridge=xenbr0,mac=01:00:00:00:00:01",
                            NULL),
                   "unicast");
    assert_refused(run_tool("set", "7", "--device", "nic,bridge=xenbr0,mac=zz", NULL),
                   "unicast");
    assert_refused(run_tool("set", "7", "--device", "nic,bridge=b,mac=00:16:3e:00:00:01",
                            "--device", "nic,bridge=b,mac=00:16:3E:00:00:01", NULL),
                   "used twice");
    assert_refused(run_tool("set", "7", "--device", "disk,path=relative.img", NULL),
                   "must be absolute");
    assert_refused(run_tool("set", "7", "--device", "disk", NULL), "must be absolute");
    assert_refused(run_tool("set", "7", "--device", "disk,path=/x,speed=fast", NULL),
                   "unknown option");
    assert_refused(run_tool("set", "7", "--device", "heartbeat", "--device", "heartbeat", NULL),
                   "given twice");
}

static void test_mask_already_set_differently(void **state)
{
    struct run r;

    (void)state;
    fx_domain(DOMID)->viridian = 0x1;     /* e.g. viridian=["base"] in the xl config */
    r = run_tool("set", "7", NULL);
    assert_int_equal(r.status, 2);
    assert_int_equal(lines(r.err), 1);
    assert_non_null(strstr(r.err, "already has viridian mask 0x1"));
    assert_int_equal(fx_domain(DOMID)->viridian, 0x1);
    assert_false(fx_xs_exists(XS));
}

/* ------------------------------------------------- Xen / xenstore fail */

static void test_hypervisor_without_hvshim(void **state)
{
    struct run r;

    (void)state;
    fx_domain(DOMID)->hvshim_hypervisor = false;
    r = run_tool("set", "7", "--features", "defaults,stimer_direct", NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(lines(r.err), 1);
    assert_non_null(strstr(r.err, "CONFIG_HVSHIM"));
    /* Xen's own bits still work there. */
    assert_int_equal(run_tool("set", "7", "--features", "defaults", NULL).status, 0);
}

static void test_xenstore_unavailable_or_conflicting(void **state)
{
    struct run r;

    (void)state;
    fx.xs_conflicts = 100;
    r = run_tool("set", "7", NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(lines(r.err), 1);
    assert_non_null(strstr(r.err, "conflicting"));
    assert_false(fx_xs_exists(XS));
    fx.xs_conflicts = 0;
    fx.xs_down = true;
    r = run_tool("show", "7", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "xenstore"));
}

static void test_no_privcmd(void **state)
{
    struct run r;

    (void)state;
    fx.privcmd_down = true;
    r = run_tool("set", "7", NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(lines(r.err), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_with_vmbus_devices, setup),
        cmocka_unit_test_setup(test_feature_list_sets_new_bits, setup),
        cmocka_unit_test_setup(test_all_is_trimmed_to_what_xen_can_do, setup),
        cmocka_unit_test_setup(test_same_mask_already_set_is_fine, setup),
        cmocka_unit_test_setup(test_running_domain_is_only_a_warning, setup),
        cmocka_unit_test_setup(test_xenstore_conflicts_are_retried, setup),
        cmocka_unit_test_setup(test_rewrite_replaces_devices, setup),
        cmocka_unit_test_setup(test_show_and_clear, setup),
        cmocka_unit_test_setup(test_features_lists_names, setup),
        cmocka_unit_test_setup(test_bad_usage, setup),
        cmocka_unit_test_setup(test_bad_domid, setup),
        cmocka_unit_test_setup(test_unknown_or_missing_domain, setup),
        cmocka_unit_test_setup(test_bad_feature_names, setup),
        cmocka_unit_test_setup(test_features_xen_cannot_give, setup),
        cmocka_unit_test_setup(test_vmbus_devices_need_vmbus, setup),
        cmocka_unit_test_setup(test_bad_devices, setup),
        cmocka_unit_test_setup(test_mask_already_set_differently, setup),
        cmocka_unit_test_setup(test_hypervisor_without_hvshim, setup),
        cmocka_unit_test_setup(test_xenstore_unavailable_or_conflicting, setup),
        cmocka_unit_test_setup(test_no_privcmd, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
