/* SPDX-License-Identifier: MIT */
/*
 * MC146818-style CMOS RTC: index port 0x70, data port 0x71.
 *
 * The clock is the host's (UTC) plus an offset the guest sets by writing the
 * time registers, so the guest's RTC runs but the host's is never changed.
 * UIP never reads set, so readers never wait. No RTC interrupts (IRQ 8) are
 * generated; register C reads 0. Bytes 0x0e-0x7f are plain CMOS memory,
 * except 0x32, the century, which follows the clock.
 */
#ifndef NESTVMM_RTC_H
#define NESTVMM_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct bus;

#define RTC_BASE      0x70
#define RTC_NR_PORTS  2
#define RTC_CMOS_SIZE 128

/* CMOS indices */
#define RTC_SECONDS	  0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES	  0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS	  0x04
#define RTC_HOURS_ALARM	  0x05
#define RTC_DAY_OF_WEEK	  0x06
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH	  0x08
#define RTC_YEAR	  0x09
#define RTC_REG_A	  0x0a
#define RTC_REG_B	  0x0b
#define RTC_REG_C	  0x0c
#define RTC_REG_D	  0x0d
#define RTC_CENTURY	  0x32

#define RTC_A_UIP	0x80
#define RTC_A_DEFAULT	0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define RTC_B_SET	0x80
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H	0x02
#define RTC_B_DEFAULT	RTC_B_24H /* BCD, 24-hour */
#define RTC_D_VRT	0x80
#define RTC_HOURS_PM	0x80 /* 12-hour mode */

/* Seconds since the epoch, UTC. */
struct rtc_clock {
	time_t (*now)(void *ctx);
	void *ctx;
};

struct rtc {
	pthread_mutex_t lock;
	struct rtc_clock clock;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
	int64_t offset;	  /* guest time - host time, seconds */
	struct tm set_tm; /* the time being written while B.SET is set */
};

/* @clock is copied; NULL means the host's time(). Returns 0 or -errno. */
int rtc_init(struct rtc *rtc, const struct rtc_clock *clock);
/* Claims ports 0x70-0x71. */
int rtc_attach(struct rtc *rtc, struct bus *pio);
void rtc_destroy(struct rtc *rtc);

/* Host-side CMOS access for the VMM (e.g. memory-size bytes); @idx < 128. */
int rtc_cmos_set(struct rtc *rtc, unsigned idx, uint8_t val);

void rtc_read(void *opaque, uint64_t off, void *data, uint32_t size);
void rtc_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
