/* SPDX-License-Identifier: MIT */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "vmm/bus.h"

#define PM1_SCI_SOURCES                                                                            \
	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define PM1_EN_MASK    PM1_SCI_SOURCES
#define PM1_STS_MASK   (PM1_SCI_SOURCES | ACPI_PM1_BM_STS | ACPI_PM1_WAK_STS)
#define PM1_CNT_STORED (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP_MASK)
#define PM_TIMER_MASK  0xffffffu
#define NSEC_PER_SEC   1000000000ull

static const char poweroff_why[] = "guest power-off";

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Naturally aligned accesses of @size inside a block of @len bytes. */
static bool access_ok(uint64_t off, uint32_t size, unsigned len)
{
	return (size == 1 || size == 2 || size == 4) && size <= len && off < len &&
	       off + size <= len && !(off & (size - 1));
}

static void update_sci(struct acpi_pm *pm)
{
	bool level = pm->sts & pm->en & PM1_SCI_SOURCES;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		dev_irq_set(&pm->irq, pm->sci_gsi, level);
	}
}

int acpi_pm_init(struct acpi_pm *pm, const struct dev_stop *stop, const struct dev_irq *irq,
		 unsigned sci_gsi, const struct acpi_pm_clock *clock)
{
	int err;

	memset(pm, 0, sizeof(*pm));
	err = pthread_mutex_init(&pm->lock, NULL);
	if (err)
		return -err;
	if (stop)
		pm->stop = *stop;
	if (irq)
		pm->irq = *irq;
	pm->sci_gsi = sci_gsi;
	if (clock && clock->now_ns)
		pm->clock = *clock;
	else
		pm->clock.now_ns = monotonic_ns;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_evt_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct acpi_pm *pm = opaque;
	uint32_t block;

	if (!access_ok(off, size, ACPI_PM1_EVT_LEN)) {
		dev_data_ones(data, size);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	block = pm->sts | (uint32_t)pm->en << 16;
	pthread_mutex_unlock(&pm->lock);
	dev_data_put(data, size, block >> (8 * off));
}

void acpi_pm_evt_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct acpi_pm *pm = opaque;
	uint32_t v, mask;

	if (!access_ok(off, size, ACPI_PM1_EVT_LEN))
		return;
	v = (uint32_t)dev_data_get(data, size) << (8 * off);
	mask = (size == 4 ? 0xffffffffu : ((1u << (8 * size)) - 1)) << (8 * off);
	pthread_mutex_lock(&pm->lock);
	/* Status bits are write-1-to-clear; enables are plain. */
	pm->sts &= (uint16_t) ~(v & mask & PM1_STS_MASK);
	pm->en = (uint16_t)((pm->en & ~(mask >> 16)) | ((v >> 16) & (mask >> 16) & PM1_EN_MASK));
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_cnt_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct acpi_pm *pm = opaque;
	uint16_t v;

	if (!access_ok(off, size, ACPI_PM1_CNT_LEN)) {
		dev_data_ones(data, size);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	v = pm->cnt | ACPI_PM1_CNT_SCI_EN;
	pthread_mutex_unlock(&pm->lock);
	dev_data_put(data, size, (uint32_t)v >> (8 * off));
}

void acpi_pm_cnt_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct acpi_pm *pm = opaque;
	uint32_t v, mask, now;
	bool poweroff;

	if (!access_ok(off, size, ACPI_PM1_CNT_LEN))
		return;
	v = (uint32_t)dev_data_get(data, size) << (8 * off);
	mask = ((1u << (8 * size)) - 1) << (8 * off);
	pthread_mutex_lock(&pm->lock);
	now = (pm->cnt & ~mask) | (v & mask);
	poweroff = (now & ACPI_PM1_CNT_SLP_EN) && ((now & ACPI_PM1_CNT_SLP_TYP_MASK) >>
						   ACPI_PM1_CNT_SLP_TYP_SHIFT) == ACPI_SLP_TYP_S5;
	/* SLP_EN and GBL_RLS are write-only; SCI_EN is fixed at 1. */
	pm->cnt = (uint16_t)(now & PM1_CNT_STORED);
	pthread_mutex_unlock(&pm->lock);
	if (poweroff)
		dev_stop_request(&pm->stop, 0, poweroff_why);
}

void acpi_pm_tmr_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct acpi_pm *pm = opaque;
	uint64_t ns, ticks;

	if (off != 0 || size != 4) {
		dev_data_ones(data, size);
		return;
	}
	/* No lock: the clock is the only state and it is read-only. */
	ns = pm->clock.now_ns(pm->clock.ctx);
	ticks = (ns / NSEC_PER_SEC) * ACPI_PM_TIMER_HZ +
		(ns % NSEC_PER_SEC) * ACPI_PM_TIMER_HZ / NSEC_PER_SEC;
	dev_data_put(data, size, ticks & PM_TIMER_MASK);
}

void acpi_pm_tmr_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)size; /* read-only */
}

static const struct bus_ops evt_ops = {.read = acpi_pm_evt_read, .write = acpi_pm_evt_write};
static const struct bus_ops cnt_ops = {.read = acpi_pm_cnt_read, .write = acpi_pm_cnt_write};
static const struct bus_ops tmr_ops = {.read = acpi_pm_tmr_read, .write = acpi_pm_tmr_write};

int acpi_pm_attach(struct acpi_pm *pm, struct bus *pio, uint16_t evt_base, uint16_t cnt_base,
		   uint16_t tmr_base)
{
	int err;

	err = bus_register(pio, evt_base, ACPI_PM1_EVT_LEN, "acpi-pm1-evt", &evt_ops, pm);
	if (!err)
		err = bus_register(pio, cnt_base, ACPI_PM1_CNT_LEN, "acpi-pm1-cnt", &cnt_ops, pm);
	if (!err && tmr_base)
		err = bus_register(pio, tmr_base, ACPI_PM_TMR_LEN, "acpi-pm-tmr", &tmr_ops, pm);
	return err;
}
