/* SPDX-License-Identifier: MIT */
/* The request-queue thread's adaptive poll window (virtio/req_queue.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio/req_queue.h"

#define MAX 50000ull

static void test_grows_to_the_cap(void **state)
{
	uint64_t p = 0;

	(void)state;
	/* Waits of 30 us: poll, then double the window until it covers them. */
	p = req_queue_next_poll(p, MAX, 30000);
	assert_int_equal(p, REQ_QUEUE_POLL_START_NS);
	p = req_queue_next_poll(p, MAX, 30000);
	assert_int_equal(p, 8000);
	p = req_queue_next_poll(p, MAX, 30000);
	assert_int_equal(p, 16000);
	p = req_queue_next_poll(p, MAX, 30000);
	assert_int_equal(p, 32000);
	/* Now the work comes within the window: the sweet spot, no change. */
	assert_int_equal(req_queue_next_poll(p, MAX, 30000), 32000);
	assert_int_equal(req_queue_next_poll(p, MAX, 1000), 32000);
	/* Longer waits, still under the cap: the window grows to the cap, not past it. */
	p = req_queue_next_poll(p, MAX, 45000);
	assert_int_equal(p, MAX);
	assert_int_equal(req_queue_next_poll(p, MAX, MAX), MAX);
}

static void test_idle_ends_polling(void **state)
{
	(void)state;
	assert_int_equal(req_queue_next_poll(32000, MAX, MAX + 1), 0);
	assert_int_equal(req_queue_next_poll(0, MAX, 10ull * 1000 * 1000 * 1000), 0);
	/* Polling off (no window allowed) stays off whatever the waits. */
	assert_int_equal(req_queue_next_poll(0, 0, 1), 0);
	assert_int_equal(req_queue_next_poll(0, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_to_the_cap),
	    cmocka_unit_test(test_idle_ends_polling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
