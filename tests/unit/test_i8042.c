/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/i8042.h"
#include "vmm/bus.h"
#include "fake_dev.h"

struct fixture {
	struct i8042 k;
	struct fake_irq irq;
	struct fake_stop stop;
	struct bus pio;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dev_irq irq = fake_irq_ops(&f->irq);
	struct dev_stop stop = fake_stop_ops(&f->stop);

	assert_int_equal(i8042_init(&f->k, &irq, I8042_KBD_IRQ, &stop), 0);
	bus_init(&f->pio);
	assert_int_equal(i8042_attach(&f->k, &f->pio), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_destroy(&f->pio);
	i8042_destroy(&f->k);
	free(f);
	return 0;
}

/* Through the bus, as a vCPU exit would go. */
static uint8_t in8(struct fixture *f, uint16_t port)
{
	const struct bus_dev *d = bus_find(&f->pio, port);
	uint8_t v = 0x5a;

	assert_non_null(d);
	d->ops->read(d->opaque, port - d->base, &v, 1);
	return v;
}

static void out8(struct fixture *f, uint16_t port, uint8_t v)
{
	const struct bus_dev *d = bus_find(&f->pio, port);

	assert_non_null(d);
	d->ops->write(d->opaque, port - d->base, &v, 1);
}

static int line(struct fixture *f)
{
	return f->irq.level[I8042_KBD_IRQ];
}

static void test_status_is_sane(void **state)
{
	struct fixture *f = *state;
	uint8_t st = in8(f, I8042_CMD_PORT);

	assert_int_not_equal(st, 0xff);
	assert_int_equal(st & (I8042_STR_OBF | I8042_STR_IBF), 0);
	assert_true(st & I8042_STR_SYS);
	assert_int_equal(line(f), 0);
}

static void test_controller_commands(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xaa); /* self test */
	assert_true(in8(f, I8042_CMD_PORT) & I8042_STR_OBF);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x55);
	assert_false(in8(f, I8042_CMD_PORT) & I8042_STR_OBF);

	out8(f, I8042_CMD_PORT, 0x60); /* write CTR */
	out8(f, I8042_DATA_PORT, 0x45);
	out8(f, I8042_CMD_PORT, 0x20); /* read CTR */
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x45);

	out8(f, I8042_CMD_PORT, 0xab); /* keyboard interface test */
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x00);
	assert_int_equal(f->stop.count, 0);
}

static void test_keyboard_replies_raise_irq1(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0x60);
	out8(f, I8042_DATA_PORT, I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE);
	assert_int_equal(line(f), 0);
	out8(f, I8042_DATA_PORT, 0xff); /* keyboard reset */
	assert_int_equal(line(f), 1);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0xfa);
	/* One edge per byte. */
	assert_int_equal(line(f), 1);
	assert_int_equal(f->irq.raises[I8042_KBD_IRQ], 2);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0xaa);
	assert_int_equal(line(f), 0);

	out8(f, I8042_DATA_PORT, 0xed); /* set LEDs, then its argument */
	assert_int_equal(in8(f, I8042_DATA_PORT), 0xfa);
	out8(f, I8042_DATA_PORT, 0x02);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0xfa);
	assert_false(in8(f, I8042_CMD_PORT) & I8042_STR_OBF);
	assert_int_equal(f->irq.redundant, 0);
}

static void test_reset_command(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xf1); /* pulse without the reset line */
	assert_int_equal(f->stop.count, 0);
	out8(f, I8042_CMD_PORT, 0xfe);
	assert_int_equal(f->stop.count, 1);
	assert_int_equal(f->stop.code, 0);
	assert_string_equal(f->stop.why, "guest reboot (i8042 reset)");
}

static void test_output_port_reset(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xd1);
	out8(f, I8042_DATA_PORT, 0x03); /* A20 on, reset line high */
	assert_int_equal(f->stop.count, 0);
	out8(f, I8042_CMD_PORT, 0xd0);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x03);
	out8(f, I8042_CMD_PORT, 0xd1);
	out8(f, I8042_DATA_PORT, 0x02);
	assert_int_equal(f->stop.count, 1);
	assert_string_equal(f->stop.why, "guest reboot (i8042 reset)");
}

static void test_port92(void **state)
{
	struct fixture *f = *state;

	assert_true(in8(f, I8042_PORT_A) & 0x02); /* A20 on */
	out8(f, I8042_PORT_A, 0x00);
	assert_int_equal(in8(f, I8042_PORT_A), 0x00);
	assert_int_equal(f->stop.count, 0);
	out8(f, I8042_PORT_A, 0x01);
	assert_int_equal(f->stop.count, 1);
	assert_int_equal(f->stop.code, 0);
}

static void test_no_aux_port(void **state)
{
	struct fixture *f = *state;

	/* Linux's aux probe: loopback echo without the aux flag, then AUX_TEST. */
	out8(f, I8042_CMD_PORT, 0xd3);
	out8(f, I8042_DATA_PORT, 0x5a);
	assert_int_equal(in8(f, I8042_CMD_PORT) & (I8042_STR_OBF | I8042_STR_AUXDATA),
			 I8042_STR_OBF);
	out8(f, I8042_CMD_PORT, 0xa9);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x5a);
	assert_false(in8(f, I8042_CMD_PORT) & I8042_STR_OBF); /* no stray byte */
	out8(f, I8042_CMD_PORT, 0xa9);
	assert_int_not_equal(in8(f, I8042_DATA_PORT), 0x00); /* aux test fails */
}

static void test_bad_sizes(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;
	uint16_t cmd = 0xfe;

	i8042_port_read(&f->k, I8042_CMD_PORT, &v, 4);
	assert_int_equal(v, 0xffffffff);
	i8042_port_write(&f->k, I8042_CMD_PORT, &cmd, 2);
	assert_int_equal(f->stop.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_status_is_sane, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_controller_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keyboard_replies_raise_irq1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_port_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port92, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_aux_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_sizes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
