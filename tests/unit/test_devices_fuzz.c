/* SPDX-License-Identifier: MIT */
/*
 * Random guest accesses (seeded, reproducible) at every legacy device, at and
 * around their ports, of sizes 1, 2, 4 and 8: nothing may crash, reads must
 * fill exactly their size, and each device's invariants must hold after
 * every access. Then the same from several threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/port80.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "vmm/bus.h"
#include "fake_dev.h"

#define FUZZ_SLOT 4
#define ECAM_BASE 0xe0000000ull

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

struct sink_state {
	struct rng rng;
	uint64_t bytes;
	bool random_failures;
};

static ssize_t fuzz_sink(void *ctx, const void *buf, size_t len)
{
	struct sink_state *k = ctx;

	(void)buf;
	if (k->random_failures) {
		switch (rnd(&k->rng) % 4) {
		case 0:
			errno = EAGAIN;
			return -1;
		case 1:
			return 0;
		case 2:
			len = 1 + rnd(&k->rng) % len;
			break;
		default:
			break;
		}
	}
	k->bytes += len;
	return (ssize_t)len;
}

struct pci_test_dev {
	struct pci_cfg cfg;
};

static uint32_t tdev_read(void *opaque, unsigned off, unsigned size)
{
	return pci_cfg_read(&((struct pci_test_dev *)opaque)->cfg, off, size);
}

static void tdev_write(void *opaque, unsigned off, unsigned size, uint32_t val)
{
	pci_cfg_write(&((struct pci_test_dev *)opaque)->cfg, off, size, val);
}

static const struct pci_dev_ops tdev_ops = {.cfg_read = tdev_read, .cfg_write = tdev_write};

struct rig {
	/*
	 * What one_access() found wrong. It runs on worker threads too, where a
	 * cmocka assert is undefined: failures are counted here and asserted
	 * on the main thread (rig_assert_clean).
	 */
	pthread_mutex_t fail_lock;
	unsigned int failures;
	char first_failure[160];
	struct bus pio, mmio;
	struct serial serial;
	struct rtc rtc;
	struct i8042 kbd;
	struct pci_bus pci;
	struct pci_test_dev tdev;
	struct acpi_pm pm;
	struct debug_exit dbg;
	struct port80 p80;
	/* One fake per device: each is only called under its device's lock. */
	struct fake_irq serial_irq, kbd_irq, pm_irq;
	struct fake_stop kbd_stop, pci_stop, pm_stop, dbg_stop;
	struct sink_state sink;
	time_t rtc_now;
	uint64_t pm_ns;
	uint64_t p80_sent;
};

static time_t rig_time(void *ctx)
{
	return *(volatile time_t *)ctx;
}

static uint64_t rig_ns(void *ctx)
{
	return *(volatile uint64_t *)ctx;
}

static void rig_init(struct rig *r, uint64_t seed, bool sink_failures)
{
	struct dev_irq serial_irq = fake_irq_ops(&r->serial_irq);
	struct dev_irq kbd_irq = fake_irq_ops(&r->kbd_irq);
	struct dev_irq pm_irq = fake_irq_ops(&r->pm_irq);
	struct dev_stop kbd_stop = fake_stop_ops(&r->kbd_stop);
	struct dev_stop pci_stop = fake_stop_ops(&r->pci_stop);
	struct dev_stop pm_stop = fake_stop_ops(&r->pm_stop);
	struct dev_stop dbg_stop = fake_stop_ops(&r->dbg_stop);
	struct serial_sink sink = {.out = fuzz_sink, .ctx = &r->sink};
	struct rtc_clock clock = {.now = rig_time, .ctx = &r->rtc_now};
	struct acpi_pm_clock pm_clock = {.now_ns = rig_ns, .ctx = &r->pm_ns};

	r->sink.rng.s = seed ^ 0x5555;
	r->sink.random_failures = sink_failures;
	r->rtc_now = 1700000000;
	bus_init(&r->pio);
	bus_init(&r->mmio);
	assert_int_equal(pthread_mutex_init(&r->fail_lock, NULL), 0);
	assert_int_equal(serial_init(&r->serial, &serial_irq, SERIAL_COM1_IRQ, &sink), 0);
	assert_int_equal(serial_attach(&r->serial, &r->pio, SERIAL_COM1_BASE), 0);
	assert_int_equal(rtc_init(&r->rtc, &clock), 0);
	assert_int_equal(rtc_attach(&r->rtc, &r->pio), 0);
	assert_int_equal(i8042_init(&r->kbd, &kbd_irq, I8042_KBD_IRQ, &kbd_stop), 0);
	assert_int_equal(i8042_attach(&r->kbd, &r->pio), 0);
	assert_int_equal(pci_bus_init(&r->pci, &pci_stop), 0);
	assert_int_equal(pci_bus_attach(&r->pci, &r->pio), 0);
	assert_int_equal(pci_bus_attach_ecam(&r->pci, &r->mmio, ECAM_BASE), 0);
	pci_cfg_init(&r->tdev.cfg, 0x1af4, 0x1041, 0x020000, 1, 0x1af4, 1);
	assert_int_equal(pci_cfg_set_bar(&r->tdev.cfg, 0, 0x4000, PCI_BAR_MEM64), 0);
	assert_int_equal(pci_cfg_set_bar(&r->tdev.cfg, 2, 0x20, PCI_BAR_IO), 0);
	assert_true(pci_cfg_add_cap(&r->tdev.cfg, 0x11, NULL, 10) > 0);
	assert_int_equal(pci_add_device(&r->pci, FUZZ_SLOT, &tdev_ops, &r->tdev), 0);
	assert_int_equal(acpi_pm_init(&r->pm, &pm_stop, &pm_irq, ACPI_SCI_GSI_DEFAULT, &pm_clock),
			 0);
	assert_int_equal(acpi_pm_attach(&r->pm, &r->pio, ACPI_PM1A_EVT_DEFAULT,
					ACPI_PM1A_CNT_DEFAULT, ACPI_PM_TMR_DEFAULT),
			 0);
	assert_int_equal(debug_exit_init(&r->dbg, &dbg_stop), 0);
	assert_int_equal(debug_exit_attach(&r->dbg, &r->pio, DEBUG_EXIT_PORT), 0);
	assert_int_equal(port80_init(&r->p80), 0);
	assert_int_equal(port80_attach(&r->p80, &r->pio), 0);
}

static void rig_destroy(struct rig *r)
{
	pthread_mutex_destroy(&r->fail_lock);
	serial_destroy(&r->serial);
	rtc_destroy(&r->rtc);
	i8042_destroy(&r->kbd);
	pci_bus_destroy(&r->pci);
	acpi_pm_destroy(&r->pm);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

/* Port windows to aim at, each widened by a few ports either side. */
static const struct {
	uint16_t lo, hi;
} targets[] = {
    {0x60, 0x61},   {0x64, 0x65},   {0x70, 0x72},   {0x80, 0x81},   {0x92, 0x93},
    {0x3f8, 0x400}, {0x501, 0x502}, {0x600, 0x60c}, {0xcf8, 0xd00},
};

static uint32_t pick_size(struct rng *g)
{
	static const uint32_t sizes[] = {1, 2, 4, 8};

	return sizes[rnd(g) % 4];
}

/* A config address that often names something that exists. */
static uint32_t pick_config_addr(struct rng *g)
{
	uint32_t a = (uint32_t)rnd(g);

	switch (rnd(g) % 4) {
	case 0:
		return a;
	case 1:
		return 0x80000000u | (a & 0xfc);
	default:
		return 0x80000000u | (FUZZ_SLOT << 11) | (a & 0xfc) | ((a >> 8 & 1) << 8);
	}
}

static void rig_failed(struct rig *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rig_failed(struct rig *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->fail_lock);
	if (r->failures++ == 0) {
		va_start(ap, fmt);
		vsnprintf(r->first_failure, sizeof(r->first_failure), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->fail_lock);
}

static void one_access(struct rig *r, struct rng *g)
{
	uint8_t buf[16];
	uint32_t size = pick_size(g);
	bool is_write = rnd(g) & 1;
	const struct bus_dev *d;
	uint64_t addr;
	unsigned t;

	if (rnd(g) % 16 == 0) {
		/* ECAM, mostly at the two devices that exist. */
		uint64_t off = rnd(g) % PCI_ECAM_BUS_SIZE;

		if (rnd(g) & 1)
			off = ((rnd(g) & 1) ? (uint64_t)FUZZ_SLOT << 15 : 0) | (off & 0xfff);
		d = bus_find(&r->mmio, ECAM_BASE + off);
		if (!d) {
			rig_failed(r, "no ECAM device at offset 0x%llx", (unsigned long long)off);
			return;
		}
		addr = ECAM_BASE + off;
	} else {
		t = (unsigned)(rnd(g) % (sizeof(targets) / sizeof(targets[0])));
		addr = targets[t].lo - 3 + rnd(g) % (targets[t].hi - targets[t].lo + 6u);
		d = bus_find(&r->pio, addr);
		if (!d)
			return;
	}
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd(g);
	if (is_write) {
		if (addr == PCI_CONFIG_ADDR_PORT && size == 4)
			dev_data_put(buf, 4, pick_config_addr(g));
		if (addr == PORT80_PORT)
			__atomic_fetch_add(&r->p80_sent, 1, __ATOMIC_RELAXED);
		d->ops->write(d->opaque, addr - d->base, buf, size);
	} else {
		memset(buf, 0xcc, sizeof(buf));
		d->ops->read(d->opaque, addr - d->base, buf, size);
		for (unsigned i = size; i < sizeof(buf); i++) {
			if (buf[i] != 0xcc) {
				rig_failed(r, "a %u-byte read at 0x%llx wrote byte %u", size,
					   (unsigned long long)addr, i);
				break;
			}
		}
	}
}

static void rig_assert_clean(struct rig *r)
{
	pthread_mutex_lock(&r->fail_lock);
	if (r->failures)
		fail_msg("%u bad accesses; the first: %s", r->failures, r->first_failure);
	pthread_mutex_unlock(&r->fail_lock);
}

static void one_host_event(struct rig *r, struct rng *g)
{
	uint8_t in[64];
	size_t n = rnd(g) % sizeof(in);

	switch (rnd(g) % 5) {
	case 0:
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rnd(g);
		serial_push_input(&r->serial, in, n);
		break;
	case 1:
		serial_flush(&r->serial);
		break;
	case 2:
		acpi_pm_power_button(&r->pm);
		break;
	case 3:
		/* Any host time at all, far past and far future included. */
		if (rnd(g) % 2)
			r->rtc_now = (time_t)(rnd(g) % 4000000000ull);
		else
			r->rtc_now = (time_t)((int64_t)rnd(g) >> (rnd(g) % 64));
		break;
	default:
		r->pm_ns = rnd(g);
		break;
	}
}

static void check_stop(const struct fake_stop *s, const char *why)
{
	if (!s->count)
		return;
	assert_string_equal(s->why, why);
}

static void check_invariants(struct rig *r)
{
	uint8_t v;

	assert_true(r->serial.rx_count <= SERIAL_FIFO_SIZE);
	assert_true(r->serial.in_count <= SERIAL_INPUT_SIZE);
	assert_true(r->serial.out_len < SERIAL_OUT_BUF_SIZE);
	assert_int_equal(r->serial_irq.level[SERIAL_COM1_IRQ], r->serial.irq_level);
	assert_int_equal(r->serial_irq.redundant, 0);
	assert_int_equal(r->serial_irq.bad_gsi, 0);

	assert_true(r->kbd.q_count <= I8042_OUT_QUEUE);
	assert_int_equal(r->kbd_irq.level[I8042_KBD_IRQ], r->kbd.irq_level);
	assert_int_equal(r->kbd_irq.redundant, 0);

	assert_true(r->rtc.index < RTC_CMOS_SIZE);
	assert_int_equal(r->rtc.cmos[RTC_REG_A] & RTC_A_UIP, 0);

	assert_int_equal(pci_bus_cfg_read(&r->pci, 0, 0, 0, 0, 4), 0x29c08086u);
	assert_int_equal(pci_bus_cfg_read(&r->pci, 0, FUZZ_SLOT, 0, 0, 4), 0x10411af4u);
	assert_int_equal(pci_bus_cfg_read(&r->pci, 1, 0, 0, 0, 4), 0xffffffffu);
	assert_int_equal(r->pci.config_addr & 0x7f000003u, 0);

	assert_int_equal(r->pm_irq.level[ACPI_SCI_GSI_DEFAULT], r->pm.sci_level);
	assert_int_equal(r->pm_irq.redundant, 0);
	acpi_pm_cnt_read(&r->pm, 0, &v, 1);
	assert_int_equal(v & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(r->pm.cnt & ACPI_PM1_CNT_SLP_EN, 0);

	assert_true(r->dbg_stop.code >= 0 && r->dbg_stop.code <= 255);
	check_stop(&r->dbg_stop, "guest debug-exit");
	check_stop(&r->pm_stop, "guest power-off");
	check_stop(&r->pci_stop, "guest reboot (0xcf9 reset)");
	if (r->kbd_stop.count)
		assert_true(!strcmp(r->kbd_stop.why, "guest reboot (i8042 reset)") ||
			    !strcmp(r->kbd_stop.why, "guest reboot (port 0x92 reset)"));
}

static void fuzz_one_seed(uint64_t seed, unsigned iterations)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct rng g = {.s = seed};

	rig_init(r, seed, true);
	for (unsigned i = 0; i < iterations; i++) {
		if (rnd(&g) % 32 == 0)
			one_host_event(r, &g);
		else
			one_access(r, &g);
		rig_assert_clean(r);
		check_invariants(r);
	}
	assert_int_equal(port80_writes(&r->p80), r->p80_sent);
	/* The guest really did reach the devices' interesting states. */
	assert_true(r->serial_irq.calls > 0);
	assert_true(r->kbd_irq.calls > 0);
	assert_true(r->dbg_stop.count > 0);
	assert_true(r->sink.bytes > 0);
	rig_destroy(r);
	free(r);
}

static void test_fuzz_seeds(void **state)
{
	static const uint64_t seeds[] = {1, 0xdeadbeefcafef00dull, 0x123456789ull, 42};

	(void)state;
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		fuzz_one_seed(seeds[i], 200000);
}

struct thread_arg {
	struct rig *r;
	uint64_t seed;
};

static void *hammer(void *p)
{
	struct thread_arg *a = p;
	struct rng g = {.s = a->seed};

	for (unsigned i = 0; i < 50000; i++) {
		if (rnd(&g) % 64 == 0) {
			uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};

			serial_push_input(&a->r->serial, in, rnd(&g) % sizeof(in));
		} else {
			one_access(a->r, &g);
		}
	}
	return NULL;
}

/* Several vCPU threads at once: no deadlock, no torn device state. */
static void test_concurrent_vcpus(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	pthread_t th[4];
	struct thread_arg args[4];

	(void)state;
	rig_init(r, 7, false);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.r = r, .seed = 1000 + (uint64_t)i};
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	rig_assert_clean(r);
	assert_int_equal(port80_writes(&r->p80), r->p80_sent);
	check_invariants(r);
	rig_destroy(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fuzz_seeds),
	    cmocka_unit_test(test_concurrent_vcpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
