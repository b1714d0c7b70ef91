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

#include "tests/unit/devices_rig.h"

static void rig_assert_clean(struct rig *r)
{
	const char *broken = rig_check(r);

	pthread_mutex_lock(&r->fail_lock);
	if (r->failures)
		fail_msg("%u bad accesses; the first: %s", r->failures, r->first_failure);
	pthread_mutex_unlock(&r->fail_lock);
	if (broken)
		fail_msg("a device invariant does not hold: %s", broken);
}

static void rig_setup(struct rig *r, uint64_t seed, bool sink_failures)
{
	if (rig_init(r, seed, sink_failures) < 0)
		fail_msg("%s", r->first_failure);
}

static void fuzz_one_seed(uint64_t seed, unsigned iterations)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct rig_rng g = {.s = seed};
	struct rig_src src = {.next = rig_rng_next, .ctx = &g};

	assert_non_null(r);
	rig_setup(r, seed, true);
	for (unsigned i = 0; i < iterations; i++) {
		if (rig_rng_next(&g) % 32 == 0)
			rig_host_event(r, &src);
		else
			rig_access(r, &src);
		rig_assert_clean(r);
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
	struct rig_rng g = {.s = a->seed};
	struct rig_src src = {.next = rig_rng_next, .ctx = &g};

	for (unsigned i = 0; i < 50000; i++) {
		if (rig_rng_next(&g) % 64 == 0) {
			uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};

			serial_push_input(&a->r->serial, in, rig_rng_next(&g) % sizeof(in));
		} else {
			rig_access(a->r, &src);
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
	assert_non_null(r);
	rig_setup(r, 7, false);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.r = r, .seed = 1000 + (uint64_t)i};
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	rig_assert_clean(r);
	assert_int_equal(port80_writes(&r->p80), r->p80_sent);
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
