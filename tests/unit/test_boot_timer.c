/* SPDX-License-Identifier: MIT */
/* The boot timer port: a 1-byte write at the port is a mark with its value; nothing else is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/boot_timer.h"
#include "vmm/bus.h"

struct marks {
	unsigned int n;
	uint8_t last;
};

static void record(void *ctx, uint8_t value)
{
	struct marks *m = ctx;

	m->n++;
	m->last = value;
}

static void test_marks(void **state)
{
	struct marks m = {0};
	struct boot_timer_sink sink = {.mark = record, .ctx = &m};
	struct boot_timer bt;
	struct bus pio;
	const struct bus_dev *d;
	uint8_t b = 0x7e;
	uint32_t v = 0x12345678, r = 0;

	(void)state;
	bus_init(&pio);
	assert_int_equal(boot_timer_init(&bt, &sink), 0);
	assert_int_equal(boot_timer_attach(&bt, &pio, BOOT_TIMER_PORT), 0);
	d = bus_find(&pio, BOOT_TIMER_PORT);
	assert_non_null(d);
	assert_null(bus_find(&pio, BOOT_TIMER_PORT + 1));
	d->ops->write(d->opaque, 0, &b, 1);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.last, 0x7e);
	/* Wider writes and other offsets are not marks. */
	d->ops->write(d->opaque, 0, &v, 2);
	d->ops->write(d->opaque, 0, &v, 4);
	d->ops->write(d->opaque, 1, &b, 1);
	assert_int_equal(m.n, 1);
	d->ops->read(d->opaque, 0, &r, 4);
	assert_int_equal(r, 0xffffffffu);
	b = 0;
	d->ops->write(d->opaque, 0, &b, 1);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.last, 0);
	bus_destroy(&pio);
}

static void test_no_sink(void **state)
{
	struct boot_timer bt;
	uint8_t b = 1;

	(void)state;
	assert_int_equal(boot_timer_init(&bt, NULL), 0);
	boot_timer_write(&bt, 0, &b, 1); /* nobody listens: nothing happens */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_marks),
	    cmocka_unit_test(test_no_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
