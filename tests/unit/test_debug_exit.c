/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/debug_exit.h"
#include "devices/port80.h"
#include "vmm/bus.h"
#include "fake_dev.h"

static void test_debug_exit_code(void **state)
{
	struct debug_exit dbg;
	struct fake_stop f;
	struct dev_stop stop = fake_stop_ops(&f);
	struct bus pio;
	const struct bus_dev *d;
	uint8_t b = 42;
	uint32_t v = 0x1234;

	(void)state;
	bus_init(&pio);
	assert_int_equal(debug_exit_init(&dbg, &stop), 0);
	assert_int_equal(debug_exit_attach(&dbg, &pio, DEBUG_EXIT_PORT), 0);
	d = bus_find(&pio, DEBUG_EXIT_PORT);
	assert_non_null(d);
	d->ops->write(d->opaque, 0, &b, 1);
	assert_int_equal(f.count, 1);
	assert_int_equal(f.code, 85); /* isa-debug-exit: (v << 1) | 1 */
	assert_string_equal(f.why, "guest debug-exit");
	d->ops->write(d->opaque, 0, &v, 4); /* exit statuses are 8 bits */
	assert_int_equal(f.code, 0x69);
	d->ops->write(d->opaque, 0, &v, 3);
	d->ops->write(d->opaque, 1, &b, 1);
	assert_int_equal(f.count, 2);
	v = 0;
	d->ops->read(d->opaque, 0, &v, 4);
	assert_int_equal(v, 0xffffffffu);
	bus_destroy(&pio);
}

/* No value the guest writes gives nestvmm's own statuses 0 (power-off) or 2 (usage). */
static void test_debug_exit_cannot_fake_vmm_status(void **state)
{
	struct debug_exit dbg;
	struct fake_stop f;
	struct dev_stop stop = fake_stop_ops(&f);

	(void)state;
	assert_int_equal(debug_exit_init(&dbg, &stop), 0);
	for (uint32_t v = 0; v < 0x20000; v++) {
		uint32_t w = v < 0x10000 ? v : v << 16 | v;

		debug_exit_write(&dbg, 0, &w, 4);
		assert_true(f.code & 1);
	}
	assert_int_equal(f.count, 0x20000);
	for (unsigned int b = 0; b < 256; b++) {
		uint8_t byte = (uint8_t)b;

		debug_exit_write(&dbg, 0, &byte, 1);
		assert_int_equal(f.code, ((b << 1) | 1) & 0xff);
	}
}

static void test_port80_counts(void **state)
{
	struct port80 p;
	struct bus pio;
	const struct bus_dev *d;
	uint8_t b = 0x7e;
	uint32_t v = 0;

	(void)state;
	bus_init(&pio);
	assert_int_equal(port80_init(&p), 0);
	assert_int_equal(port80_attach(&p, &pio), 0);
	d = bus_find(&pio, PORT80_PORT);
	assert_non_null(d);
	assert_int_equal(port80_writes(&p), 0);
	for (int i = 0; i < 5; i++)
		d->ops->write(d->opaque, 0, &b, 1);
	b = 0x11;
	d->ops->write(d->opaque, 0, &b, 1);
	assert_int_equal(port80_writes(&p), 6);
	assert_int_equal(port80_last(&p), 0x11);
	d->ops->read(d->opaque, 0, &v, 2);
	assert_int_equal(v, 0xffff);
	bus_destroy(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debug_exit_code),
	    cmocka_unit_test(test_debug_exit_cannot_fake_vmm_status),
	    cmocka_unit_test(test_port80_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
