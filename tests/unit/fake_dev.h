/* SPDX-License-Identifier: MIT */
/* Fakes for the callbacks devices take from the VM (devices/dev.h). */
#ifndef NESTVMM_TEST_FAKE_DEV_H
#define NESTVMM_TEST_FAKE_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "devices/dev.h"

#define FAKE_NR_GSI 32

struct fake_irq {
	int level[FAKE_NR_GSI];
	unsigned raises[FAKE_NR_GSI]; /* 0 -> 1 transitions */
	unsigned calls;
	unsigned redundant; /* calls that did not change the level */
	unsigned bad_gsi;
};

static inline void fake_irq_set(void *ctx, unsigned gsi, int level)
{
	struct fake_irq *f = ctx;

	f->calls++;
	if (gsi >= FAKE_NR_GSI) {
		f->bad_gsi++;
		return;
	}
	if (!!level == f->level[gsi])
		f->redundant++;
	else if (level)
		f->raises[gsi]++;
	f->level[gsi] = !!level;
}

static inline struct dev_irq fake_irq_ops(struct fake_irq *f)
{
	memset(f, 0, sizeof(*f));
	return (struct dev_irq){.set_level = fake_irq_set, .ctx = f};
}

struct fake_stop {
	unsigned count;
	int code;
	char why[128];
};

static inline void fake_stop_request(void *ctx, int code, const char *why)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct fake_stop *f = ctx;

	/* Devices request stops outside their locks, from any vCPU thread. */
	pthread_mutex_lock(&lock);
	f->code = code;
	strncpy(f->why, why ? why : "(null)", sizeof(f->why) - 1);
	f->why[sizeof(f->why) - 1] = 0;
	/* Published last: a test polling count then sees code and why. */
	__atomic_fetch_add(&f->count, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
}

static inline struct dev_stop fake_stop_ops(struct fake_stop *f)
{
	memset(f, 0, sizeof(*f));
	return (struct dev_stop){.request = fake_stop_request, .ctx = f};
}

#endif
