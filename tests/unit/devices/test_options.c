/* SPDX-License-Identifier: MIT */
/* --nic / --disk option strings: what is accepted, and every refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmbus/devices/options.h"

static void test_nic_ok(void **state)
{
    (void)state;
    char err[256];
    struct nic_config c;
    assert_int_equal(nic_config_parse("tap=hv0", &c, err, sizeof(err)), 0);
    assert_string_equal(c.tap, "hv0");
    assert_false(c.has_mac);
    assert_string_equal(c.bridge, "");
    assert_int_equal(c.mtu, 0);
    assert_int_equal(nic_config_parse("mac=00:15:5D:AA:bb:0c,bridge=br0,tap=t1,mtu=9000", &c, err,
                                      sizeof(err)),
                     0);
    static const uint8_t want[6] = { 0x00, 0x15, 0x5D, 0xAA, 0xBB, 0x0C };
    assert_true(c.has_mac);
    assert_memory_equal(c.mac, want, 6);
    assert_string_equal(c.bridge, "br0");
    assert_string_equal(c.tap, "t1");
    assert_int_equal(c.mtu, 9000);
    assert_int_equal(nic_config_parse("tap=t,mac=02-00-00-00-00-01", &c, err, sizeof(err)), 0);
}

static void expect_nic_error(const char *s, const char *needle)
{
    char err[256] = "";
    struct nic_config c;
    assert_int_equal(nic_config_parse(s, &c, err, sizeof(err)), -1);
    if (!strstr(err, needle))
        fail_msg("'%s': error '%s' lacks '%s'", s, err, needle);
}

static void test_nic_errors(void **state)
{
    (void)state;
    expect_nic_error("", "tap=NAME is required");
    expect_nic_error("bridge=br0", "tap=NAME is required");
    expect_nic_error("tap", "needs a value");
    expect_nic_error("tap=", "needs a value");
    expect_nic_error("tap=a,tap=b", "tap given twice");
    expect_nic_error("tap=averyveryverylongname", "not a valid interface name");
    expect_nic_error("tap=a/b", "not a valid interface name");
    expect_nic_error("tap=t,mac=01:00:5e:00:00:01", "unicast");      /* multicast */
    expect_nic_error("tap=t,mac=00:15:5d:00:00", "unicast");
    expect_nic_error("tap=t,mac=00:15:5d:00:00:0g", "unicast");
    expect_nic_error("tap=t,mac=00:15:5d:00:00:01,mac=00:15:5d:00:00:02", "mac given twice");
    expect_nic_error("tap=t,mtu=67", "68 to 9000");
    expect_nic_error("tap=t,mtu=9001", "68 to 9000");
    expect_nic_error("tap=t,mtu=-1", "68 to 9000");
    expect_nic_error("tap=t,mtu=1500x", "68 to 9000");
    expect_nic_error("tap=t,speed=10", "unknown option 'speed'");
    expect_nic_error("tap=t,bridge=", "needs a value");
}

static void test_disk_ok(void **state)
{
    (void)state;
    char err[256];
    struct disk_config c;
    assert_int_equal(disk_config_parse("file=/var/img/a.raw", &c, err, sizeof(err)), 0);
    assert_string_equal(c.path, "/var/img/a.raw");
    assert_false(c.read_only);
    assert_false(c.direct);
    assert_int_equal(c.lun, -1);
    assert_string_equal(c.serial, "");
    assert_int_equal(disk_config_parse("ro,file=/dev/vdb,direct,serial=ABC-1,lun=63", &c, err,
                                       sizeof(err)),
                     0);
    assert_true(c.read_only);
    assert_true(c.direct);
    assert_string_equal(c.path, "/dev/vdb");
    assert_string_equal(c.serial, "ABC-1");
    assert_int_equal(c.lun, 63);
    /* A comma in a path is written twice. */
    assert_int_equal(disk_config_parse("file=/tmp/a,,b.img,ro", &c, err, sizeof(err)), 0);
    assert_string_equal(c.path, "/tmp/a,b.img");
    assert_true(c.read_only);
}

static void expect_disk_error(const char *s, const char *needle)
{
    char err[256] = "";
    struct disk_config c;
    assert_int_equal(disk_config_parse(s, &c, err, sizeof(err)), -1);
    if (!strstr(err, needle))
        fail_msg("'%s': error '%s' lacks '%s'", s, err, needle);
}

static void test_disk_errors(void **state)
{
    (void)state;
    expect_disk_error("ro", "file=PATH is required");
    expect_disk_error("file", "needs a value");
    expect_disk_error("file=a,file=b", "file given twice");
    expect_disk_error("file=a,ro=1", "flag and takes no value");
    expect_disk_error("file=a,ro,ro", "ro given twice");
    expect_disk_error("file=a,direct,direct", "direct given twice");
    expect_disk_error("file=a,lun=64", "0 to 63");
    expect_disk_error("file=a,lun=x", "0 to 63");
    expect_disk_error("file=a,lun=1,lun=2", "lun given twice");
    expect_disk_error("file=a,serial=123456789012345678901", "longer than 20");
    expect_disk_error("file=a,serial=has space", "printable");
    expect_disk_error("file=a,cache=none", "unknown option 'cache'");
    char longpath[DISK_PATH_MAX + 10];
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    memcpy(longpath, "file=", 5);
    expect_disk_error(longpath, "longer than");
}

static void test_identities(void **state)
{
    (void)state;
    uint8_t a[6], b[6], c[6];
    nic_mac_derive("hv0", a);
    nic_mac_derive("hv0", b);
    nic_mac_derive("hv1", c);
    assert_memory_equal(a, b, 6);            /* stable */
    assert_memory_not_equal(a, c, 6);
    assert_int_equal(a[0], 0x00);
    assert_int_equal(a[1], 0x15);
    assert_int_equal(a[2], 0x5D);
    struct vmbus_guid g1 = dev_instance_guid("nic", "0"), g2 = dev_instance_guid("nic", "0"),
                      g3 = dev_instance_guid("nic", "1"), g4 = dev_instance_guid("scsi", "0");
    assert_memory_equal(&g1, &g2, 16);
    assert_memory_not_equal(&g1, &g3, 16);
    assert_memory_not_equal(&g1, &g4, 16);
    assert_int_equal(g1.b[7] >> 4, 4);       /* version 4 */
    assert_int_equal(g1.b[8] >> 6, 2);       /* RFC 4122 variant */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nic_ok),
        cmocka_unit_test(test_nic_errors),
        cmocka_unit_test(test_disk_ok),
        cmocka_unit_test(test_disk_errors),
        cmocka_unit_test(test_identities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
