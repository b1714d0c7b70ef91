/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/rtc.h"

struct fixture {
	struct rtc rtc;
	time_t now;
};

static time_t fake_now(void *ctx)
{
	return *(time_t *)ctx;
}

static time_t utc(int y, int mon, int d, int h, int min, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mon - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = min,
			.tm_sec = s};

	return timegm(&tm);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rtc_clock clock = {.now = fake_now, .ctx = &f->now};

	/* A Thursday, leap day, afternoon. */
	f->now = utc(2024, 2, 29, 13, 45, 56);
	assert_int_equal(rtc_init(&f->rtc, &clock), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rtc_destroy(&f->rtc);
	free(f);
	return 0;
}

static uint8_t cmos(struct fixture *f, uint8_t idx)
{
	uint8_t v = 0x5a;

	rtc_write(&f->rtc, 0, &idx, 1);
	rtc_read(&f->rtc, 1, &v, 1);
	return v;
}

static void cmos_set(struct fixture *f, uint8_t idx, uint8_t v)
{
	rtc_write(&f->rtc, 0, &idx, 1);
	rtc_write(&f->rtc, 1, &v, 1);
}

static void test_bcd_24h_default(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(cmos(f, RTC_SECONDS), 0x56);
	assert_int_equal(cmos(f, RTC_MINUTES), 0x45);
	assert_int_equal(cmos(f, RTC_HOURS), 0x13);
	assert_int_equal(cmos(f, RTC_DAY_OF_WEEK), 5); /* Sunday is 1 */
	assert_int_equal(cmos(f, RTC_DAY_OF_MONTH), 0x29);
	assert_int_equal(cmos(f, RTC_MONTH), 0x02);
	assert_int_equal(cmos(f, RTC_YEAR), 0x24);
	assert_int_equal(cmos(f, RTC_CENTURY), 0x20);
	/* The clock runs. */
	f->now += 4;
	assert_int_equal(cmos(f, RTC_SECONDS), 0x00);
	assert_int_equal(cmos(f, RTC_MINUTES), 0x46);
}

static void test_binary_mode(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(cmos(f, RTC_SECONDS), 56);
	assert_int_equal(cmos(f, RTC_MINUTES), 45);
	assert_int_equal(cmos(f, RTC_HOURS), 13);
	assert_int_equal(cmos(f, RTC_DAY_OF_MONTH), 29);
	assert_int_equal(cmos(f, RTC_YEAR), 24);
	assert_int_equal(cmos(f, RTC_CENTURY), 20);
}

static void test_12h_mode(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, RTC_REG_B, 0); /* BCD, 12-hour */
	assert_int_equal(cmos(f, RTC_HOURS), RTC_HOURS_PM | 0x01);
	f->now = utc(2024, 3, 1, 0, 30, 0);
	assert_int_equal(cmos(f, RTC_HOURS), 0x12); /* 12 AM */
	f->now = utc(2024, 3, 1, 12, 5, 0);
	assert_int_equal(cmos(f, RTC_HOURS), RTC_HOURS_PM | 0x12);
	/* Writing 11 PM in 12-hour mode means 23:00. */
	cmos_set(f, RTC_HOURS, RTC_HOURS_PM | 0x11);
	cmos_set(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(cmos(f, RTC_HOURS), 0x23);
}

static void test_status_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos(f, RTC_REG_A), RTC_A_DEFAULT);
	cmos_set(f, RTC_REG_A, 0xa6);
	assert_int_equal(cmos(f, RTC_REG_A) & RTC_A_UIP, 0); /* never stuck updating */
	assert_int_equal(cmos(f, RTC_REG_A), 0x26);
	assert_int_equal(cmos(f, RTC_REG_C), 0);
	assert_int_equal(cmos(f, RTC_REG_D), RTC_D_VRT);
	cmos_set(f, RTC_REG_D, 0);
	assert_int_equal(cmos(f, RTC_REG_D), RTC_D_VRT);
}

static void test_cmos_memory(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			cmos_set(f, (uint8_t)i, (uint8_t)(i ^ 0xa5));
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(cmos(f, (uint8_t)i), i ^ 0xa5);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	assert_int_equal(cmos(f, 0x80 | 0x10), 0x10 ^ 0xa5);
	cmos_set(f, 0x80 | 0x40, 0x77);
	assert_int_equal(cmos(f, 0x40), 0x77);
	assert_int_equal(rtc_cmos_set(&f->rtc, 0x34, 0x12), 0);
	assert_int_equal(cmos(f, 0x34), 0x12);
	assert_int_equal(rtc_cmos_set(&f->rtc, 128, 0), -EINVAL);
}

static void test_set_time_with_set_bit(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_set(f, RTC_YEAR, 0x25);
	cmos_set(f, RTC_MONTH, 0x12);
	cmos_set(f, RTC_DAY_OF_MONTH, 0x31);
	cmos_set(f, RTC_HOURS, 0x23);
	cmos_set(f, RTC_MINUTES, 0x59);
	cmos_set(f, RTC_SECONDS, 0x50);
	/* Frozen while SET is on, however the host clock moves. */
	f->now += 100;
	assert_int_equal(cmos(f, RTC_SECONDS), 0x50);
	assert_int_equal(cmos(f, RTC_YEAR), 0x25);
	cmos_set(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(cmos(f, RTC_SECONDS), 0x50);
	assert_int_equal(cmos(f, RTC_DAY_OF_WEEK), 4); /* 2025-12-31 is a Wednesday */
	/* Runs from there, across the year. */
	f->now += 15;
	assert_int_equal(cmos(f, RTC_SECONDS), 0x05);
	assert_int_equal(cmos(f, RTC_MINUTES), 0x00);
	assert_int_equal(cmos(f, RTC_HOURS), 0x00);
	assert_int_equal(cmos(f, RTC_DAY_OF_MONTH), 0x01);
	assert_int_equal(cmos(f, RTC_MONTH), 0x01);
	assert_int_equal(cmos(f, RTC_YEAR), 0x26);
	assert_int_equal(cmos(f, RTC_CENTURY), 0x20);
}

static void test_set_field_directly(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, RTC_MINUTES, 0x10);
	assert_int_equal(cmos(f, RTC_MINUTES), 0x10);
	assert_int_equal(cmos(f, RTC_HOURS), 0x13);
	cmos_set(f, RTC_CENTURY, 0x21);
	assert_int_equal(cmos(f, RTC_CENTURY), 0x21);
	assert_int_equal(cmos(f, RTC_YEAR), 0x24);
	f->now += 60;
	assert_int_equal(cmos(f, RTC_MINUTES), 0x11);
	/* Garbage is absorbed without breaking the clock. */
	cmos_set(f, RTC_MONTH, 0xff);
	cmos_set(f, RTC_DAY_OF_MONTH, 0x00);
	assert_true(cmos(f, RTC_MONTH) >= 0x01 && cmos(f, RTC_MONTH) <= 0x12);
}

/*
 * Host time at the far ends of time_t, a guest offset set against it: the
 * sum is past time_t's range. Found by fuzz_devices (signed overflow under
 * UBSan); the RTC must read the epoch then, and a time set where no offset
 * reaches it leaves the old offset.
 */
static void test_clock_at_the_ends_of_time(void **state)
{
	struct fixture *f = *state;
	int64_t before;

	f->now = -((time_t)1 << 62); /* the guest's 20th century is ~2^62 s ahead */
	cmos_set(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_set(f, RTC_YEAR, 0x25);
	cmos_set(f, RTC_REG_B, RTC_B_24H);
	assert_true(f->rtc.offset > INT64_MAX / 4);
	f->now = INT64_MAX - 1000;
	assert_int_equal(cmos(f, RTC_SECONDS), 0x00);
	assert_int_equal(cmos(f, RTC_MINUTES), 0x00);
	assert_int_equal(cmos(f, RTC_YEAR), 0x70);
	assert_int_equal(cmos(f, RTC_DAY_OF_MONTH), 0x01);

	/* From here 2025 needs an offset past INT64_MAX. */
	f->now = INT64_MIN + 1000;
	before = f->rtc.offset;
	cmos_set(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_set(f, RTC_CENTURY, 0x20);
	cmos_set(f, RTC_YEAR, 0x25);
	cmos_set(f, RTC_REG_B, RTC_B_24H);
	assert_true(f->rtc.offset == before);
}

static void test_bad_accesses(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;
	uint8_t b = 0;
	uint16_t w = 0x3030;

	rtc_read(&f->rtc, 0, &b, 1); /* index port is write-only */
	assert_int_equal(b, 0xff);
	rtc_read(&f->rtc, 1, &v, 4);
	assert_int_equal(v, 0xffffffff);
	cmos_set(f, 0x20, 0x42);
	rtc_write(&f->rtc, 1, &w, 2);
	rtc_write(&f->rtc, 2, &b, 1);
	assert_int_equal(cmos(f, 0x20), 0x42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bcd_24h_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_12h_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cmos_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_time_with_set_bit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_field_directly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_at_the_ends_of_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
