/* SPDX-License-Identifier: MIT */
/* --net tap[=NAME][,mac=][,queues=N][,engine=] (cli/net_arg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "cli/net_arg.h"

static struct net_spec spec;
static char why[256];

static int parse(const char *arg)
{
	return net_spec_parse(&spec, arg, why, sizeof(why));
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("tap"), 0);
	assert_string_equal(spec.tap, "");
	assert_false(spec.mac_set);
	assert_int_equal(spec.queues, 0);
	assert_int_equal(spec.engine, NET_ENGINE_IO_URING);
	assert_int_equal(parse("tap=tap7"), 0);
	assert_string_equal(spec.tap, "tap7");
}

static void test_all_options(void **state)
{
	static const uint8_t want[6] = {0x02, 0xab, 0xcd, 0xef, 0x01, 0x23};

	(void)state;
	assert_int_equal(parse("tap=vm0,mac=02:AB:cd:ef:01:23,queues=4,engine=sync"), 0);
	assert_string_equal(spec.tap, "vm0");
	assert_true(spec.mac_set);
	assert_memory_equal(spec.mac, want, 6);
	assert_int_equal(spec.queues, 4);
	assert_int_equal(spec.engine, NET_ENGINE_SYNC);
	assert_int_equal(parse("tap,queues=16"), 0);
	assert_int_equal(spec.queues, 16);
	assert_int_equal(spec.mtu, 0);
	assert_int_equal(parse("tap,mtu=9000"), 0);
	assert_int_equal(spec.mtu, 9000);
	assert_int_equal(parse("tap,mtu=68,queues=2"), 0);
	assert_int_equal(spec.mtu, 68);
	assert_int_equal(parse("tap,mtu=65521"), 0);
	assert_int_equal(parse("tap=a%d"), 0); /* the kernel numbers it */
	assert_int_equal(parse("tap=fifteen-chars"), 0);
}

static void refused(const char *arg, const char *says)
{
	assert_int_equal(parse(arg), -EINVAL);
	if (!strstr(why, says))
		fail_msg("'%s': '%s' does not say '%s'", arg, why, says);
	assert_null(strchr(why, '\n'));
}

static void test_bad_backend_and_name(void **state)
{
	(void)state;
	refused("", "not a backend");
	refused(NULL, "not a backend");
	refused("user", "'user' is not a backend");
	refused("tapx", "not a backend");
	refused("tap=", "not a backend");
	refused("tap=name-of-16-chars", "not an interface name");
	refused("tap=a/b", "not an interface name");
	refused("tap=a:b", "not an interface name");
	refused("tap=a b", "not an interface name");
	refused("tap=.", "not an interface name");
	refused("tap=..", "not an interface name");
	refused("tap=a\tb", "not an interface name");
}

static void test_bad_options(void **state)
{
	(void)state;
	refused("tap,", "empty option");
	refused("tap,,queues=2", "empty option");
	refused("tap,speed=10", "unknown option 'speed=10'");
	refused("tap,queues=2,queues=3", "given twice");
	refused("tap,queues=0", "queues '0'");
	refused("tap,queues=17", "queues '17'");
	refused("tap,queues=99999999999999999999", "not a number from 1 to 16");
	refused("tap,queues=", "queues ''");
	refused("tap,queues=-1", "queues '-1'");
	refused("tap,queues", "queues ''");
	refused("tap,mtu=67", "mtu '67' is not a number from 68 to 65521");
	refused("tap,mtu=65522", "mtu '65522'");
	refused("tap,mtu=9k", "mtu '9k'");
	refused("tap,mtu=", "mtu ''");
	refused("tap,mtu=1500,mtu=9000", "given twice");
	refused("tap,engine=aio", "bad engine 'aio'");
	refused("tap,engine", "bad engine ''");
}

static void test_bad_macs(void **state)
{
	(void)state;
	refused("tap,mac=02:00:00:00:00", "bad mac");
	refused("tap,mac=02:00:00:00:00:0g", "bad mac");
	refused("tap,mac=02-00-00-00-00-01", "bad mac");
	refused("tap,mac=02:00:00:00:00:001", "bad mac");
	refused("tap,mac=2:0:0:0:0:1", "bad mac");
	refused("tap,mac=", "bad mac");
	refused("tap,mac=01:00:5e:00:00:01", "multicast");
	refused("tap,mac=ff:ff:ff:ff:ff:ff", "multicast");
	refused("tap,mac=00:00:00:00:00:00", "all zeros");
}

static void test_mac_parse(void **state)
{
	uint8_t m[6] = {9, 9, 9, 9, 9, 9};

	(void)state;
	assert_int_equal(net_mac_parse("52:54:00:12:34:56", 17, m), 0);
	assert_int_equal(m[0], 0x52);
	assert_int_equal(m[5], 0x56);
	/* A failed parse leaves the MAC alone. */
	assert_int_equal(net_mac_parse("52:54:00:12:34:5", 16, m), -EINVAL);
	assert_int_equal(net_mac_parse("52:54:00:12:34:5x", 17, m), -EINVAL);
	assert_int_equal(m[5], 0x56);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_options),
	    cmocka_unit_test(test_bad_backend_and_name),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_bad_macs),
	    cmocka_unit_test(test_mac_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
