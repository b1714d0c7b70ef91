/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loader/aml.h"

static void expect_bytes(const struct aml *a, const void *want, size_t n)
{
	assert_int_equal(aml_finish(a), 0);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, want, n);
}

static void test_pkg_length(void **state)
{
	uint8_t e[4];

	(void)state;
	/* One byte holds totals up to 63 (the length byte counts itself). */
	assert_int_equal(aml_pkg_length_encode(62, e), 1);
	assert_int_equal(e[0], 63);
	/* 63 content bytes: total 65 = 0x41 in two bytes: 0x41 | 1 << 6, 0x04. */
	assert_int_equal(aml_pkg_length_encode(63, e), 2);
	assert_int_equal(e[0], 0x41);
	assert_int_equal(e[1], 0x04);
	/* Largest two-byte total is 0xfff. */
	assert_int_equal(aml_pkg_length_encode(0xffd, e), 2);
	assert_int_equal(e[0], 0x4f);
	assert_int_equal(e[1], 0xff);
	assert_int_equal(aml_pkg_length_encode(0xffe, e), 3);
	assert_int_equal(e[0], 0x81); /* total 0x1001 */
	assert_int_equal(e[1], 0x00);
	assert_int_equal(e[2], 0x01);
	assert_int_equal(aml_pkg_length_encode(0x100000, e), 4);
	assert_int_equal(e[0], 0xc4); /* total 0x100004 */
	assert_int_equal(e[1], 0x00);
	assert_int_equal(e[2], 0x00);
	assert_int_equal(e[3], 0x01);
	assert_int_equal(aml_pkg_length_encode(0x10000000, e), 0);
}

static void test_eisaid(void **state)
{
	(void)state;
	/* Well-known encodings of PNP0A03 and PNP0501. */
	assert_int_equal(aml_eisaid_value("PNP0A03"), 0x030ad041);
	assert_int_equal(aml_eisaid_value("PNP0501"), 0x0105d041);
	assert_int_equal(aml_eisaid_value("PNP0A0"), 0);
	assert_int_equal(aml_eisaid_value("pnp0A03"), 0);
	assert_int_equal(aml_eisaid_value("PNP0A0G"), 0);
}

static void test_names(void **state)
{
	struct aml a;
	static const uint8_t want[] = {
	    '\\', 0x2e, '_', 'S', 'B', '_',  'P',  'C', 'I', '0', /* \_SB.PCI0 */
	    '_',  'S',	'5', '_',				  /* _S5 padded */
	    '^',  0x2f, 3,   'A', '_', '_',  '_',  'B', '_', '_',
	    '_',  'C',	'_', '_', '_', '\\', 0x00, /* root alone */
	};

	(void)state;
	aml_init(&a);
	aml_name_string(&a, "\\_SB.PCI0");
	aml_name_string(&a, "_S5");
	aml_name_string(&a, "^A.B.C");
	aml_name_string(&a, "\\");
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {"PCI00", "1ABC", "_sb", "A..B", "A.", "A-B"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml a;

		aml_init(&a);
		aml_name_string(&a, bad[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
		/* Sticky: later calls add nothing. */
		aml_integer(&a, 5);
		assert_int_equal(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}
}

static void test_integers(void **state)
{
	struct aml a;
	static const uint8_t want[] = {
	    0x00, 0x01, 0x0a, 0x05, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0c, 0x00, 0x00,
	    0x00, 0xc0, 0x0e, 1,    0,	  0,	0,    1,    0,	  0,	0,
	};

	(void)state;
	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 5);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0xc0000000);
	aml_integer(&a, 0x0000000100000001ULL);
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}

static void test_nested_packages(void **state)
{
	struct aml a;
	size_t outer, inner;
	static const uint8_t want[] = {
	    0x08, '_',	'S',  '5',  '_',  0x12, 0x09, 0x02, /* Name(_S5, Package(2) { */
	    0x0a, 0x05, 0x12, 0x04, 0x02, 0x00, 0x01,	    /* 5, Package(2) {0, 1} } */
	};

	(void)state;
	aml_init(&a);
	aml_name(&a, "_S5");
	outer = aml_package_begin(&a, 2);
	aml_integer(&a, 5);
	inner = aml_package_begin(&a, 2);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_end(&a, inner);
	aml_end(&a, outer);
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}

static void test_long_device(void **state)
{
	struct aml a;
	uint8_t blob[100];
	size_t dev;

	(void)state;
	memset(blob, 0xab, sizeof(blob));
	aml_init(&a);
	dev = aml_device_begin(&a, "DEV0");
	aml_name(&a, "BLOB");
	aml_buffer(&a, blob, sizeof(blob));
	aml_end(&a, dev);
	assert_int_equal(aml_finish(&a), 0);
	/* DeviceOp, 2-byte PkgLength, "DEV0", NameOp "BLOB", BufferOp len 0x0a 100 data */
	assert_int_equal(a.buf[0], 0x5b);
	assert_int_equal(a.buf[1], 0x82);
	{
		size_t total = ((size_t)a.buf[3] << 4) | (a.buf[2] & 0xf);

		assert_int_equal(a.buf[2] >> 6, 1);
		assert_int_equal(total, a.len - 2);
	}
	assert_memory_equal(a.buf + 4, "DEV0", 4);
	assert_int_equal(a.buf[8], 0x08);
	assert_int_equal(a.buf[13], 0x11);
	/* Buffer: PkgLength covers 2 (size) + 100 bytes + itself (2) = 104. */
	assert_int_equal(a.buf[14], 0x40 | (104 & 0xf));
	assert_int_equal(a.buf[15], 104 >> 4);
	assert_int_equal(a.buf[16], 0x0a);
	assert_int_equal(a.buf[17], 100);
	assert_int_equal(a.len, 18 + 100);
	aml_free(&a);
}

static void test_string_and_eisaid(void **state)
{
	struct aml a;
	static const uint8_t want[] = {0x0d, 'h', 'i', 0x00, 0x0c, 0x41, 0xd0, 0x0a, 0x03};

	(void)state;
	aml_init(&a);
	aml_string(&a, "hi");
	aml_eisaid(&a, "PNP0A03");
	expect_bytes(&a, want, sizeof(want));
	aml_eisaid(&a, "bogus");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pkg_length),	cmocka_unit_test(test_eisaid),
	    cmocka_unit_test(test_names),	cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_integers),	cmocka_unit_test(test_nested_packages),
	    cmocka_unit_test(test_long_device), cmocka_unit_test(test_string_and_eisaid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
