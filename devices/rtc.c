/* SPDX-License-Identifier: MIT */
#include "devices/rtc.h"

#include <errno.h>
#include <string.h>

#include "devices/dev.h"
#include "vmm/bus.h"

static time_t host_now(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static bool binary_mode(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t encode(const struct rtc *rtc, unsigned v)
{
	v %= 100;
	return binary_mode(rtc) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

/* Garbage BCD decodes to some number; timegm() normalises whatever results. */
static int decode(const struct rtc *rtc, uint8_t v)
{
	return binary_mode(rtc) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static void current_tm(struct rtc *rtc, struct tm *tm)
{
	time_t t;

	if (rtc->cmos[RTC_REG_B] & RTC_B_SET) {
		*tm = rtc->set_tm;
		return;
	}
	/*
	 * Host time and the guest's offset are each anything a clock or a
	 * guest can make them; a sum past time_t's range is no date either.
	 */
	if (__builtin_add_overflow(rtc->clock.now(rtc->clock.ctx), (time_t)rtc->offset, &t) ||
	    !gmtime_r(&t, tm)) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_mday = 1;
		tm->tm_year = 70;
	}
}

static void commit_tm(struct rtc *rtc, struct tm *tm)
{
	int64_t off;
	time_t t;

	tm->tm_isdst = 0;
	errno = 0;
	t = timegm(tm);
	if (t == (time_t)-1 && errno)
		return;
	if (__builtin_sub_overflow((int64_t)t, (int64_t)rtc->clock.now(rtc->clock.ctx), &off))
		return; /* no offset reaches it from this host time: keep the old one */
	rtc->offset = off;
}

static uint8_t read_time_reg(struct rtc *rtc, unsigned idx)
{
	struct tm tm;
	int year, h;

	current_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	switch (idx) {
	case RTC_SECONDS:
		return encode(rtc, (unsigned)tm.tm_sec);
	case RTC_MINUTES:
		return encode(rtc, (unsigned)tm.tm_min);
	case RTC_HOURS:
		if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
			return encode(rtc, (unsigned)tm.tm_hour);
		h = tm.tm_hour % 12;
		return encode(rtc, h ? (unsigned)h : 12) | (tm.tm_hour >= 12 ? RTC_HOURS_PM : 0);
	case RTC_DAY_OF_WEEK:
		return encode(rtc, (unsigned)tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return encode(rtc, (unsigned)tm.tm_mday);
	case RTC_MONTH:
		return encode(rtc, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR:
		return encode(rtc, (unsigned)(year % 100));
	default: /* RTC_CENTURY */
		return encode(rtc, (unsigned)(year / 100));
	}
}

static void write_time_reg(struct rtc *rtc, unsigned idx, uint8_t v)
{
	struct tm tm;
	int year;

	current_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	switch (idx) {
	case RTC_SECONDS:
		tm.tm_sec = decode(rtc, v);
		break;
	case RTC_MINUTES:
		tm.tm_min = decode(rtc, v);
		break;
	case RTC_HOURS:
		if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
			tm.tm_hour = decode(rtc, v);
		else
			tm.tm_hour =
			    decode(rtc, v & ~RTC_HOURS_PM) % 12 + ((v & RTC_HOURS_PM) ? 12 : 0);
		break;
	case RTC_DAY_OF_WEEK:
		return; /* follows from the date */
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = decode(rtc, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = decode(rtc, v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = year - year % 100 + decode(rtc, v) - 1900;
		break;
	default: /* RTC_CENTURY */
		tm.tm_year = decode(rtc, v) * 100 + year % 100 - 1900;
		break;
	}
	if (rtc->cmos[RTC_REG_B] & RTC_B_SET)
		rtc->set_tm = tm;
	else
		commit_tm(rtc, &tm);
}

static bool is_time_reg(unsigned idx)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static uint8_t cmos_read(struct rtc *rtc, unsigned idx)
{
	if (is_time_reg(idx))
		return read_time_reg(rtc, idx);
	switch (idx) {
	case RTC_REG_A:
		return rtc->cmos[RTC_REG_A] & ~RTC_A_UIP;
	case RTC_REG_C:
		return 0; /* no interrupt flags are ever raised */
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return rtc->cmos[idx];
	}
}

static void cmos_write(struct rtc *rtc, unsigned idx, uint8_t v)
{
	if (is_time_reg(idx)) {
		write_time_reg(rtc, idx, v);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = v & ~RTC_A_UIP;
		break;
	case RTC_REG_B: {
		uint8_t old = rtc->cmos[RTC_REG_B];

		if ((v & RTC_B_SET) && !(old & RTC_B_SET))
			current_tm(rtc, &rtc->set_tm);
		rtc->cmos[RTC_REG_B] = v;
		if (!(v & RTC_B_SET) && (old & RTC_B_SET))
			commit_tm(rtc, &rtc->set_tm);
		break;
	}
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		rtc->cmos[idx] = v;
		break;
	}
}

int rtc_init(struct rtc *rtc, const struct rtc_clock *clock)
{
	int err;

	memset(rtc, 0, sizeof(*rtc));
	err = pthread_mutex_init(&rtc->lock, NULL);
	if (err)
		return -err;
	if (clock && clock->now)
		rtc->clock = *clock;
	else
		rtc->clock.now = host_now;
	rtc->cmos[RTC_REG_A] = RTC_A_DEFAULT;
	rtc->cmos[RTC_REG_B] = RTC_B_DEFAULT;
	return 0;
}

static const struct bus_ops rtc_ops = {
    .read = rtc_read,
    .write = rtc_write,
};

int rtc_attach(struct rtc *rtc, struct bus *pio)
{
	return bus_register(pio, RTC_BASE, RTC_NR_PORTS, "rtc", &rtc_ops, rtc);
}

void rtc_destroy(struct rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

int rtc_cmos_set(struct rtc *rtc, unsigned idx, uint8_t val)
{
	if (idx >= RTC_CMOS_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&rtc->lock);
	cmos_write(rtc, idx, val);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

void rtc_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct rtc *rtc = opaque;

	/* The index port is write-only on the real chip. */
	if (size != 1 || off != 1) {
		dev_data_ones(data, size);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	*(uint8_t *)data = cmos_read(rtc, rtc->index);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct rtc *rtc = opaque;
	uint8_t v;

	if (size != 1 || off >= RTC_NR_PORTS)
		return;
	v = *(const uint8_t *)data;
	pthread_mutex_lock(&rtc->lock);
	if (off == 0)
		rtc->index = v & 0x7f; /* bit 7 masks NMI: nothing to mask here */
	else
		cmos_write(rtc, rtc->index, v);
	pthread_mutex_unlock(&rtc->lock);
}
