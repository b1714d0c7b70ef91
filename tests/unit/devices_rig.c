/* SPDX-License-Identifier: MIT */
#include "tests/unit/devices_rig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

uint64_t rig_rng_next(void *rng)
{
	struct rig_rng *r = rng;

	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static ssize_t rig_sink_out(void *ctx, const void *buf, size_t len)
{
	struct rig_sink *k = ctx;

	(void)buf;
	if (k->random_failures) {
		switch (rig_rng_next(&k->rng) % 4) {
		case 0:
			errno = EAGAIN;
			return -1;
		case 1:
			return 0;
		case 2:
			len = 1 + rig_rng_next(&k->rng) % len;
			break;
		default:
			break;
		}
	}
	k->bytes += len;
	return (ssize_t)len;
}

static uint32_t tdev_read(void *opaque, unsigned off, unsigned size)
{
	return pci_cfg_read(&((struct rig_pci_dev *)opaque)->cfg, off, size);
}

static void tdev_write(void *opaque, unsigned off, unsigned size, uint32_t val)
{
	pci_cfg_write(&((struct rig_pci_dev *)opaque)->cfg, off, size, val);
}

static const struct pci_dev_ops tdev_ops = {.cfg_read = tdev_read, .cfg_write = tdev_write};

static time_t rig_time(void *ctx)
{
	return *(volatile time_t *)ctx;
}

static uint64_t rig_ns(void *ctx)
{
	return *(volatile uint64_t *)ctx;
}

void rig_failed(struct rig *r, const char *fmt, ...)
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

#define SETUP(call)                                                                                \
	do {                                                                                       \
		if ((call) < 0) {                                                                  \
			snprintf(r->first_failure, sizeof(r->first_failure), "set-up: %s", #call); \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

int rig_init(struct rig *r, uint64_t seed, bool sink_failures)
{
	struct dev_irq serial_irq = fake_irq_ops(&r->serial_irq);
	struct dev_irq kbd_irq = fake_irq_ops(&r->kbd_irq);
	struct dev_irq pm_irq = fake_irq_ops(&r->pm_irq);
	struct dev_stop kbd_stop = fake_stop_ops(&r->kbd_stop);
	struct dev_stop pci_stop = fake_stop_ops(&r->pci_stop);
	struct dev_stop pm_stop = fake_stop_ops(&r->pm_stop);
	struct dev_stop dbg_stop = fake_stop_ops(&r->dbg_stop);
	struct serial_sink sink = {.out = rig_sink_out, .ctx = &r->sink};
	struct rtc_clock clock = {.now = rig_time, .ctx = &r->rtc_now};
	struct acpi_pm_clock pm_clock = {.now_ns = rig_ns, .ctx = &r->pm_ns};

	r->sink.rng.s = seed ^ 0x5555;
	r->sink.random_failures = sink_failures;
	r->rtc_now = 1700000000;
	bus_init(&r->pio);
	bus_init(&r->mmio);
	SETUP(-pthread_mutex_init(&r->fail_lock, NULL));
	SETUP(serial_init(&r->serial, &serial_irq, SERIAL_COM1_IRQ, &sink));
	SETUP(serial_attach(&r->serial, &r->pio, SERIAL_COM1_BASE));
	SETUP(rtc_init(&r->rtc, &clock));
	SETUP(rtc_attach(&r->rtc, &r->pio));
	SETUP(i8042_init(&r->kbd, &kbd_irq, I8042_KBD_IRQ, &kbd_stop));
	SETUP(i8042_attach(&r->kbd, &r->pio));
	SETUP(pci_bus_init(&r->pci, &pci_stop));
	SETUP(pci_bus_attach(&r->pci, &r->pio));
	SETUP(pci_bus_attach_ecam(&r->pci, &r->mmio, RIG_ECAM_BASE));
	pci_cfg_init(&r->tdev.cfg, 0x1af4, 0x1041, 0x020000, 1, 0x1af4, 1);
	SETUP(pci_cfg_set_bar(&r->tdev.cfg, 0, 0x4000, PCI_BAR_MEM64));
	SETUP(pci_cfg_set_bar(&r->tdev.cfg, 2, 0x20, PCI_BAR_IO));
	SETUP(pci_cfg_add_cap(&r->tdev.cfg, 0x11, NULL, 10) > 0 ? 0 : -1);
	SETUP(pci_add_device(&r->pci, RIG_PCI_SLOT, &tdev_ops, &r->tdev));
	SETUP(acpi_pm_init(&r->pm, &pm_stop, &pm_irq, ACPI_SCI_GSI_DEFAULT, &pm_clock));
	SETUP(acpi_pm_attach(&r->pm, &r->pio, ACPI_PM1A_EVT_DEFAULT, ACPI_PM1A_CNT_DEFAULT,
			     ACPI_PM_TMR_DEFAULT));
	SETUP(debug_exit_init(&r->dbg, &dbg_stop));
	SETUP(debug_exit_attach(&r->dbg, &r->pio, DEBUG_EXIT_PORT));
	SETUP(port80_init(&r->p80));
	SETUP(port80_attach(&r->p80, &r->pio));
	return 0;
}

void rig_destroy(struct rig *r)
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

static uint32_t pick_size(struct rig_src *g)
{
	static const uint32_t sizes[] = {1, 2, 4, 8};

	return sizes[rig_next(g) % 4];
}

/* A config address that often names something that exists. */
static uint32_t pick_config_addr(struct rig_src *g)
{
	uint32_t a = (uint32_t)rig_next(g);

	switch (rig_next(g) % 4) {
	case 0:
		return a;
	case 1:
		return 0x80000000u | (a & 0xfc);
	default:
		return 0x80000000u | (RIG_PCI_SLOT << 11) | (a & 0xfc) | ((a >> 8 & 1) << 8);
	}
}

void rig_access(struct rig *r, struct rig_src *g)
{
	uint8_t buf[16];
	uint32_t size = pick_size(g);
	bool is_write = rig_next(g) & 1;
	const struct bus_dev *d;
	uint64_t addr;
	unsigned t;

	if (rig_next(g) % 16 == 0) {
		/* ECAM, mostly at the two devices that exist. */
		uint64_t off = rig_next(g) % PCI_ECAM_BUS_SIZE;

		if (rig_next(g) & 1)
			off =
			    ((rig_next(g) & 1) ? (uint64_t)RIG_PCI_SLOT << 15 : 0) | (off & 0xfff);
		d = bus_find(&r->mmio, RIG_ECAM_BASE + off);
		if (!d) {
			rig_failed(r, "no ECAM device at offset 0x%llx", (unsigned long long)off);
			return;
		}
		addr = RIG_ECAM_BASE + off;
	} else {
		t = (unsigned)(rig_next(g) % (sizeof(targets) / sizeof(targets[0])));
		addr = targets[t].lo - 3 + rig_next(g) % (targets[t].hi - targets[t].lo + 6u);
		d = bus_find(&r->pio, addr);
		if (!d)
			return;
	}
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rig_next(g);
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

void rig_host_event(struct rig *r, struct rig_src *g)
{
	uint8_t in[64];
	size_t n = rig_next(g) % sizeof(in);

	switch (rig_next(g) % 5) {
	case 0:
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rig_next(g);
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
		if (rig_next(g) % 2)
			r->rtc_now = (time_t)(rig_next(g) % 4000000000ull);
		else
			r->rtc_now = (time_t)((int64_t)rig_next(g) >> (rig_next(g) % 64));
		break;
	default:
		r->pm_ns = rig_next(g);
		break;
	}
}

static bool stop_says(const struct fake_stop *s, const char *why)
{
	return !s->count || strcmp(s->why, why) == 0;
}

#define HOLDS(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return #cond;                                                              \
	} while (0)

const char *rig_check(struct rig *r)
{
	uint8_t v;

	HOLDS(r->serial.rx_count <= SERIAL_FIFO_SIZE);
	HOLDS(r->serial.in_count <= SERIAL_INPUT_SIZE);
	HOLDS(r->serial.out_len < SERIAL_OUT_BUF_SIZE);
	HOLDS(r->serial_irq.level[SERIAL_COM1_IRQ] == r->serial.irq_level);
	HOLDS(r->serial_irq.redundant == 0);
	HOLDS(r->serial_irq.bad_gsi == 0);

	HOLDS(r->kbd.q_count <= I8042_OUT_QUEUE);
	HOLDS(r->kbd_irq.level[I8042_KBD_IRQ] == r->kbd.irq_level);
	HOLDS(r->kbd_irq.redundant == 0);

	HOLDS(r->rtc.index < RTC_CMOS_SIZE);
	HOLDS((r->rtc.cmos[RTC_REG_A] & RTC_A_UIP) == 0);

	HOLDS(pci_bus_cfg_read(&r->pci, 0, 0, 0, 0, 4) == 0x29c08086u);
	HOLDS(pci_bus_cfg_read(&r->pci, 0, RIG_PCI_SLOT, 0, 0, 4) == 0x10411af4u);
	HOLDS(pci_bus_cfg_read(&r->pci, 1, 0, 0, 0, 4) == 0xffffffffu);
	HOLDS((r->pci.config_addr & 0x7f000003u) == 0);

	HOLDS(r->pm_irq.level[ACPI_SCI_GSI_DEFAULT] == r->pm.sci_level);
	HOLDS(r->pm_irq.redundant == 0);
	acpi_pm_cnt_read(&r->pm, 0, &v, 1);
	HOLDS((v & ACPI_PM1_CNT_SCI_EN) == ACPI_PM1_CNT_SCI_EN);
	HOLDS((r->pm.cnt & ACPI_PM1_CNT_SLP_EN) == 0);

	HOLDS(r->dbg_stop.code >= 0 && r->dbg_stop.code <= 255);
	HOLDS(stop_says(&r->dbg_stop, "guest debug-exit"));
	HOLDS(stop_says(&r->pm_stop, "guest power-off"));
	HOLDS(stop_says(&r->pci_stop, "guest reboot (0xcf9 reset)"));
	HOLDS(stop_says(&r->kbd_stop, "guest reboot (i8042 reset)") ||
	      stop_says(&r->kbd_stop, "guest reboot (port 0x92 reset)"));
	return NULL;
}
