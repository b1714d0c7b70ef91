/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/acpi_pm.h"
#include "vmm/bus.h"
#include "fake_dev.h"

struct fixture {
	struct acpi_pm pm;
	struct fake_irq irq;
	struct fake_stop stop;
	struct bus pio;
	uint64_t now_ns;
};

static uint64_t fake_ns(void *ctx)
{
	return *(uint64_t *)ctx;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dev_irq irq = fake_irq_ops(&f->irq);
	struct dev_stop stop = fake_stop_ops(&f->stop);
	struct acpi_pm_clock clock = {.now_ns = fake_ns, .ctx = &f->now_ns};

	assert_int_equal(acpi_pm_init(&f->pm, &stop, &irq, ACPI_SCI_GSI_DEFAULT, &clock), 0);
	bus_init(&f->pio);
	assert_int_equal(acpi_pm_attach(&f->pm, &f->pio, ACPI_PM1A_EVT_DEFAULT,
					ACPI_PM1A_CNT_DEFAULT, ACPI_PM_TMR_DEFAULT),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_destroy(&f->pio);
	acpi_pm_destroy(&f->pm);
	free(f);
	return 0;
}

static uint32_t in(struct fixture *f, uint16_t port, unsigned size)
{
	const struct bus_dev *d = bus_find(&f->pio, port);
	uint8_t buf[8];

	assert_non_null(d);
	memset(buf, 0x11, sizeof(buf));
	d->ops->read(d->opaque, port - d->base, buf, size);
	return (uint32_t)dev_data_get(buf, size);
}

static void out(struct fixture *f, uint16_t port, unsigned size, uint32_t v)
{
	const struct bus_dev *d = bus_find(&f->pio, port);
	uint8_t buf[8];

	assert_non_null(d);
	dev_data_put(buf, size, v);
	d->ops->write(d->opaque, port - d->base, buf, size);
}

#define EVT	   ACPI_PM1A_EVT_DEFAULT
#define CNT	   ACPI_PM1A_CNT_DEFAULT
#define TMR	   ACPI_PM_TMR_DEFAULT
#define SLP_TYP(n) ((uint32_t)(n) << ACPI_PM1_CNT_SLP_TYP_SHIFT)

static void test_sci_en_always_set(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, CNT, 2), ACPI_PM1_CNT_SCI_EN);
	out(f, CNT, 2, 0);
	assert_int_equal(in(f, CNT, 2) & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(in(f, CNT, 1), ACPI_PM1_CNT_SCI_EN);
}

static void test_s5_powers_off(void **state)
{
	struct fixture *f = *state;

	/* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	out(f, CNT, 2, SLP_TYP(5) | ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(f->stop.count, 0);
	assert_int_equal(in(f, CNT, 2), SLP_TYP(5) | ACPI_PM1_CNT_SCI_EN);
	out(f, CNT, 2, SLP_TYP(5) | ACPI_PM1_CNT_SLP_EN | ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(f->stop.count, 1);
	assert_int_equal(f->stop.code, 0);
	assert_string_equal(f->stop.why, "guest power-off");
	assert_int_equal(in(f, CNT, 2) & ACPI_PM1_CNT_SLP_EN, 0); /* write-only */
}

static void test_other_sleep_types_ignored(void **state)
{
	struct fixture *f = *state;

	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_SLP_TYP_S5)
			continue;
		out(f, CNT, 2, SLP_TYP(typ) | ACPI_PM1_CNT_SLP_EN);
	}
	assert_int_equal(f->stop.count, 0);
}

static void test_s5_by_byte_write(void **state)
{
	struct fixture *f = *state;

	out(f, CNT + 1, 1, (SLP_TYP(5) | ACPI_PM1_CNT_SLP_EN) >> 8);
	assert_int_equal(f->stop.count, 1);
}

static void test_power_button_sci(void **state)
{
	struct fixture *f = *state;

	acpi_pm_power_button(&f->pm); /* not enabled yet: status only */
	assert_int_equal(in(f, EVT, 2) & ACPI_PM1_PWRBTN, ACPI_PM1_PWRBTN);
	assert_int_equal(f->irq.level[ACPI_SCI_GSI_DEFAULT], 0);
	out(f, EVT + 2, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(f->irq.level[ACPI_SCI_GSI_DEFAULT], 1);
	assert_int_equal(in(f, EVT, 4), ACPI_PM1_PWRBTN | (uint32_t)ACPI_PM1_PWRBTN << 16);
	out(f, EVT, 2, 0); /* writing 0 clears nothing */
	assert_int_equal(f->irq.level[ACPI_SCI_GSI_DEFAULT], 1);
	out(f, EVT, 2, ACPI_PM1_PWRBTN); /* write 1 to clear */
	assert_int_equal(f->irq.level[ACPI_SCI_GSI_DEFAULT], 0);
	assert_int_equal(in(f, EVT, 2), 0);
	assert_int_equal(in(f, EVT + 2, 2), ACPI_PM1_PWRBTN);
	assert_int_equal(f->irq.redundant, 0);
}

static void test_pm_timer(void **state)
{
	struct fixture *f = *state;

	f->now_ns = 1000000000ull; /* one second: 3579545 ticks */
	assert_int_equal(in(f, TMR, 4), 3579545u & 0xffffff);
	f->now_ns = 0;
	assert_int_equal(in(f, TMR, 4), 0);
	f->now_ns = 1000; /* 3.58 ticks */
	assert_int_equal(in(f, TMR, 4), 3);
	f->now_ns = 100ull * 1000000000ull; /* wraps at 24 bits */
	assert_int_equal(in(f, TMR, 4), 357954500u & 0xffffff);
	assert_int_equal(in(f, TMR, 2), 0xffff);
}

static void test_bad_accesses(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, EVT + 1, 2), 0xffff); /* misaligned */
	assert_int_equal(in(f, EVT + 2, 4), 0xffffffffu);
	assert_int_equal(in(f, CNT, 4), 0xffffffffu);
	out(f, CNT, 4, SLP_TYP(5) | ACPI_PM1_CNT_SLP_EN);
	out(f, CNT + 1, 2, (SLP_TYP(5) | ACPI_PM1_CNT_SLP_EN) >> 8);
	assert_int_equal(f->stop.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sci_en_always_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s5_powers_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_sleep_types_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s5_by_byte_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_button_sci, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pm_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
