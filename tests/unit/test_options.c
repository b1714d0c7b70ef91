/* SPDX-License-Identifier: MIT */
/* Command-line value parsing: sizes with suffixes, bounded integers, --stats modes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/options.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* Left in *out by a refused parse: refusals must not write it. */
#define SENTINEL 0xdeadbeefcafef00dULL

static void test_parse_size_accepts(void **state)
{
	static const struct {
		const char *s;
		uint64_t want;
	} ok[] = {
	    {"512M", 512 * MiB},
	    {"512m", 512 * MiB},
	    {"2G", 2 * GiB},
	    {"1024k", 1024 * KiB},
	    {"1024K", 1024 * KiB},
	    {"4096", 4096},
	    {"1", 1},
	    {"1T", TiB},
	    {"2GiB", 2 * GiB},
	    {"2gib", 2 * GiB},
	    {"2gb", 2 * GiB},
	    {"2GB", 2 * GiB},
	    {"256MiB", 256 * MiB},
	    {"0128M", 128 * MiB},
	    /* The largest value that fits: 2^24 - 1 TiB, and UINT64_MAX bytes. */
	    {"16777215T", 16777215 * TiB},
	    {"18446744073709551615", UINT64_MAX},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = SENTINEL;

		print_message("parse_size(\"%s\")\n", ok[i].s);
		assert_int_equal(parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
}

static void test_parse_size_refuses(void **state)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
	    {"", -EINVAL},
	    {"M", -EINVAL},
	    {"G1", -EINVAL},
	    {"1.5G", -EINVAL},
	    {"-1", -EINVAL},
	    {"+1", -EINVAL},
	    {" 1G", -EINVAL},
	    {"1G ", -EINVAL},
	    {"1 G", -EINVAL},
	    {"12Q", -EINVAL},
	    {"1GG", -EINVAL},
	    {"1Gx", -EINVAL},
	    {"1GiBx", -EINVAL},
	    {"0x100", -EINVAL},
	    {"99999999999999999999", -ERANGE},
	    {"18446744073709551616", -ERANGE}, /* UINT64_MAX + 1 */
	    {"17179869184G", -ERANGE},	       /* 2^34 GiB = 2^64 */
	    {"16777216T", -ERANGE},	       /* 2^24 TiB = 2^64 */
	    {"0", -ERANGE},
	    {"0G", -ERANGE},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = SENTINEL;

		print_message("parse_size(\"%s\")\n", bad[i].s);
		assert_int_equal(parse_size(bad[i].s, &v), bad[i].err);
		assert_int_equal(v, SENTINEL);
	}
	assert_int_equal(parse_size(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_parse_uint(void **state)
{
	uint64_t v;
	(void)state;

	assert_int_equal(parse_uint("1", 1, 16, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse_uint("16", 1, 16, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_uint("007", 1, 16, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_uint("0", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, UINT64_MAX);

	v = SENTINEL;
	assert_int_equal(parse_uint("0", 1, 16, &v), -ERANGE);
	assert_int_equal(parse_uint("17", 1, 16, &v), -ERANGE);
	assert_int_equal(parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_uint("", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint(NULL, 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint("abc", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint("1a", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint("-1", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint("+1", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint(" 1", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint("1 ", 0, 16, &v), -EINVAL);
	assert_int_equal(parse_uint("4K", 0, 1 << 20, &v), -EINVAL);
	assert_int_equal(v, SENTINEL);
}

static void test_parse_stats_mode(void **state)
{
	enum stats_mode m;
	(void)state;

	m = STATS_OFF;
	assert_int_equal(parse_stats_mode(NULL, &m), 0);
	assert_int_equal(m, STATS_TABLE);
	m = STATS_OFF;
	assert_int_equal(parse_stats_mode("table", &m), 0);
	assert_int_equal(m, STATS_TABLE);
	assert_int_equal(parse_stats_mode("json", &m), 0);
	assert_int_equal(m, STATS_JSON);

	m = STATS_OFF;
	assert_int_equal(parse_stats_mode("bogus", &m), -EINVAL);
	assert_int_equal(parse_stats_mode("", &m), -EINVAL);
	assert_int_equal(parse_stats_mode("JSON", &m), -EINVAL);
	assert_int_equal(parse_stats_mode("jsonx", &m), -EINVAL);
	assert_int_equal(parse_stats_mode("tab", &m), -EINVAL);
	assert_int_equal(m, STATS_OFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size_accepts),
	    cmocka_unit_test(test_parse_size_refuses),
	    cmocka_unit_test(test_parse_uint),
	    cmocka_unit_test(test_parse_stats_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
