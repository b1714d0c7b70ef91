/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed-hardware PM1a registers for the loader's FADT:
 *   PM1a_EVT_BLK (4 bytes: PM1_STS, PM1_EN)  default 0x600, PM1_EVT_LEN 4
 *   PM1a_CNT_BLK (2 bytes: PM1_CNT)          default 0x604, PM1_CNT_LEN 2
 *   PM_TMR_BLK   (4 bytes, optional)         default 0x608, PM_TMR_LEN 4,
 *                24-bit counter at 3.579545 MHz (FADT flag TMR_VAL_EXT = 0)
 * The system is always in ACPI mode: SCI_EN reads 1, so the FADT needs no
 * SMI_CMD (leave it 0). Writing PM1_CNT with SLP_EN and SLP_TYP == 5 (the
 * DSDT's \_S5 package must say 5) asks the VM to stop with exit code 0,
 * "guest power-off"; other sleep types are ignored.
 *
 * acpi_pm_power_button() presses the fixed power button: PWRBTN_STS is set
 * and, if the guest enabled it, the SCI (level, shared-style, usually GSI 9)
 * is raised until the guest clears the status bit.
 */
#ifndef NESTVMM_ACPI_PM_H
#define NESTVMM_ACPI_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/dev.h"

struct bus;

#define ACPI_PM1A_EVT_DEFAULT 0x600
#define ACPI_PM1A_CNT_DEFAULT 0x604
#define ACPI_PM_TMR_DEFAULT   0x608
#define ACPI_PM1_EVT_LEN      4
#define ACPI_PM1_CNT_LEN      2
#define ACPI_PM_TMR_LEN	      4
#define ACPI_SCI_GSI_DEFAULT  9
#define ACPI_PM_TIMER_HZ      3579545u
#define ACPI_SLP_TYP_S5	      5

/* PM1_STS / PM1_EN bits */
#define ACPI_PM1_TMR	 0x0001
#define ACPI_PM1_BM_STS	 0x0010
#define ACPI_PM1_GBL	 0x0020
#define ACPI_PM1_PWRBTN	 0x0100
#define ACPI_PM1_SLPBTN	 0x0200
#define ACPI_PM1_RTC	 0x0400
#define ACPI_PM1_WAK_STS 0x8000

/* PM1_CNT bits */
#define ACPI_PM1_CNT_SCI_EN	   0x0001
#define ACPI_PM1_CNT_BM_RLD	   0x0002
#define ACPI_PM1_CNT_GBL_RLS	   0x0004
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN	   0x2000

/* Monotonic nanoseconds, for the PM timer. */
struct acpi_pm_clock {
	uint64_t (*now_ns)(void *ctx);
	void *ctx;
};

struct acpi_pm {
	pthread_mutex_t lock;
	struct dev_stop stop;
	struct dev_irq irq;
	unsigned sci_gsi;
	struct acpi_pm_clock clock;
	uint16_t sts, en, cnt;
	bool sci_level;
};

/*
 * @stop, @irq (may be NULL: no SCI) and @clock (NULL: CLOCK_MONOTONIC) are
 * copied. Returns 0 or -errno.
 */
int acpi_pm_init(struct acpi_pm *pm, const struct dev_stop *stop, const struct dev_irq *irq,
		 unsigned sci_gsi, const struct acpi_pm_clock *clock);
/* Claims the blocks at the given ports; @tmr_base 0 leaves the PM timer out. */
int acpi_pm_attach(struct acpi_pm *pm, struct bus *pio, uint16_t evt_base, uint16_t cnt_base,
		   uint16_t tmr_base);
void acpi_pm_destroy(struct acpi_pm *pm);

void acpi_pm_power_button(struct acpi_pm *pm);

/* Bus ops for each block, exposed for tests. */
void acpi_pm_evt_read(void *opaque, uint64_t off, void *data, uint32_t size);
void acpi_pm_evt_write(void *opaque, uint64_t off, const void *data, uint32_t size);
void acpi_pm_cnt_read(void *opaque, uint64_t off, void *data, uint32_t size);
void acpi_pm_cnt_write(void *opaque, uint64_t off, const void *data, uint32_t size);
void acpi_pm_tmr_read(void *opaque, uint64_t off, void *data, uint32_t size);
void acpi_pm_tmr_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
