/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/pvpanic.h"
#include "fake_dev.h"
#include "vmm/bus.h"

static void test_read_reports_supported_events(void **state)
{
	struct fake_stop fs;
	struct dev_stop stop = fake_stop_ops(&fs);
	struct pvpanic p;
	uint8_t b = 0;
	uint32_t w = 0;

	(void)state;
	assert_int_equal(pvpanic_init(&p, &stop), 0);
	pvpanic_read(&p, 0, &b, 1);
	assert_int_equal(b, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	/* Wider or misplaced reads are not the device's: all ones. */
	pvpanic_read(&p, 0, &w, 4);
	assert_int_equal(w, 0xffffffffu);
	assert_int_equal(fs.count, 0);
}

static void test_panic_stops_with_crash_code(void **state)
{
	struct fake_stop fs;
	struct dev_stop stop = fake_stop_ops(&fs);
	struct pvpanic p;
	uint8_t v = PVPANIC_PANICKED;

	(void)state;
	assert_int_equal(pvpanic_init(&p, &stop), 0);
	pvpanic_write(&p, 0, &v, 1);
	assert_int_equal(fs.count, 1);
	assert_int_not_equal(fs.code, 0);
	assert_non_null(strstr(fs.why, "panic"));
}

static void test_crash_loaded_and_bad_writes_do_not_stop(void **state)
{
	struct fake_stop fs;
	struct dev_stop stop = fake_stop_ops(&fs);
	struct pvpanic p;
	uint8_t v = PVPANIC_CRASH_LOADED;
	uint32_t wide = PVPANIC_PANICKED;

	(void)state;
	assert_int_equal(pvpanic_init(&p, &stop), 0);
	pvpanic_write(&p, 0, &v, 1);
	assert_int_equal(fs.count, 0);
	assert_int_equal(p.events, PVPANIC_CRASH_LOADED);
	pvpanic_write(&p, 0, &wide, 4); /* not a byte: ignored */
	pvpanic_write(&p, 1, &v, 1);	/* past the port: ignored */
	assert_int_equal(fs.count, 0);
}

static void test_attach_claims_one_port(void **state)
{
	struct fake_stop fs;
	struct dev_stop stop = fake_stop_ops(&fs);
	struct pvpanic p;
	struct bus pio;

	(void)state;
	bus_init(&pio);
	assert_int_equal(pvpanic_init(&p, &stop), 0);
	assert_int_equal(pvpanic_attach(&p, &pio, 0x505), 0);
	assert_non_null(bus_find(&pio, 0x505));
	assert_null(bus_find(&pio, 0x504));
	assert_null(bus_find(&pio, 0x506));
	bus_destroy(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_reports_supported_events),
	    cmocka_unit_test(test_panic_stops_with_crash_code),
	    cmocka_unit_test(test_crash_loaded_and_bad_writes_do_not_stop),
	    cmocka_unit_test(test_attach_claims_one_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
