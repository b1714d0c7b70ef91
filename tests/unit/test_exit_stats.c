/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <math.h>

#include <linux/kvm.h>

#include "vmm/exit_stats.h"

/* Reference answers, computed the slow, textbook way: two passes in long double. */
struct reference {
	uint64_t n, min, max, sum;
	long double mean, var; /* population variance */
};

static struct reference two_pass(const uint64_t *x, size_t n)
{
	struct reference ref = {.n = n, .min = UINT64_MAX};
	long double acc = 0;

	for (size_t i = 0; i < n; i++) {
		acc += (long double)x[i];
		ref.sum += x[i];
		if (x[i] < ref.min)
			ref.min = x[i];
		if (x[i] > ref.max)
			ref.max = x[i];
	}
	ref.mean = acc / n;
	acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += ((long double)x[i] - ref.mean) * ((long double)x[i] - ref.mean);
	ref.var = acc / n;
	return ref;
}

static void assert_close(double got, long double want, double rel)
{
	double tol = rel * fabs((double)want) + 1e-9;

	if (fabs(got - (double)want) > tol)
		fail_msg("got %.17g, want %.17Lg (tolerance %.3g)", got, want, tol);
}

static void assert_matches(const struct welford *w, const struct reference *ref)
{
	assert_int_equal(w->n, ref->n);
	assert_int_equal(w->min, ref->min);
	assert_int_equal(w->max, ref->max);
	assert_int_equal(w->sum, ref->sum);
	assert_close(welford_mean(w), ref->mean, 1e-12);
	assert_close(welford_stddev(w), sqrtl(ref->var), 1e-9);
}

/* Deterministic cycle-count-like samples: a large base plus a spread with outliers. */
static void fill_samples(uint64_t *x, size_t n, uint64_t base, uint64_t spread)
{
	uint64_t s = 0x2545f4914f6cdd1dULL;

	for (size_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		x[i] = base + s % spread;
		if (i % 97 == 0)
			x[i] += 50 * spread; /* an interrupt landed in the middle */
	}
}

#define NR_SAMPLES 10000

static void test_welford_matches_two_pass(void **state)
{
	static uint64_t x[NR_SAMPLES];
	struct welford w;
	struct reference ref;

	(void)state;
	/* Mean far larger than the spread: the case naive sum-of-squares gets wrong. */
	fill_samples(x, NR_SAMPLES, 1000000000ULL, 1000);
	welford_init(&w);
	for (size_t i = 0; i < NR_SAMPLES; i++)
		welford_add(&w, x[i]);
	ref = two_pass(x, NR_SAMPLES);
	assert_matches(&w, &ref);

	fill_samples(x, NR_SAMPLES, 0, 100000);
	welford_init(&w);
	for (size_t i = 0; i < NR_SAMPLES; i++)
		welford_add(&w, x[i]);
	ref = two_pass(x, NR_SAMPLES);
	assert_matches(&w, &ref);
}

static void test_welford_small_known(void **state)
{
	/* 2 4 4 4 5 5 7 9: mean 5, population stddev exactly 2. */
	const uint64_t x[] = {2, 4, 4, 4, 5, 5, 7, 9};
	struct welford w;

	(void)state;
	welford_init(&w);
	for (size_t i = 0; i < 8; i++)
		welford_add(&w, x[i]);
	assert_close(welford_mean(&w), 5.0L, 1e-15);
	assert_close(welford_stddev(&w), 2.0L, 1e-15);
	assert_int_equal(w.min, 2);
	assert_int_equal(w.max, 9);
	assert_int_equal(w.sum, 40);
}

static void test_welford_empty_and_single(void **state)
{
	struct welford w;

	(void)state;
	welford_init(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(w.sum, 0);
	assert_true(welford_mean(&w) == 0.0);
	assert_true(welford_stddev(&w) == 0.0);

	welford_add(&w, 12345);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.min, 12345);
	assert_int_equal(w.max, 12345);
	assert_int_equal(w.sum, 12345);
	assert_true(welford_mean(&w) == 12345.0);
	assert_true(welford_stddev(&w) == 0.0);

	/* Zero is a real sample, not "unset": min must become 0. */
	welford_add(&w, 0);
	assert_int_equal(w.min, 0);
	assert_close(welford_stddev(&w), 12345.0L / 2, 1e-15);
}

static void test_welford_merge_halves(void **state)
{
	static uint64_t x[NR_SAMPLES];
	const size_t splits[] = {0, 1, 97, NR_SAMPLES / 2, NR_SAMPLES - 1, NR_SAMPLES};
	struct reference ref;

	(void)state;
	fill_samples(x, NR_SAMPLES, 5000000, 3000);
	ref = two_pass(x, NR_SAMPLES);
	for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
		struct welford a, b;

		welford_init(&a);
		welford_init(&b);
		for (size_t i = 0; i < splits[k]; i++)
			welford_add(&a, x[i]);
		for (size_t i = splits[k]; i < NR_SAMPLES; i++)
			welford_add(&b, x[i]);
		welford_merge(&a, &b);
		assert_matches(&a, &ref);
	}
}

static void test_welford_merge_matches_sequential(void **state)
{
	/* Merge order and repeated merges: eight parts folded left equal one pass. */
	static uint64_t x[NR_SAMPLES];
	struct welford whole, acc;

	(void)state;
	fill_samples(x, NR_SAMPLES, 300, 200000);
	welford_init(&whole);
	welford_init(&acc);
	for (size_t i = 0; i < NR_SAMPLES; i++)
		welford_add(&whole, x[i]);
	for (size_t part = 0; part < 8; part++) {
		struct welford p;

		welford_init(&p);
		for (size_t i = part; i < NR_SAMPLES; i += 8)
			welford_add(&p, x[i]);
		welford_merge(&acc, &p);
	}
	assert_int_equal(acc.n, whole.n);
	assert_int_equal(acc.sum, whole.sum);
	assert_int_equal(acc.min, whole.min);
	assert_int_equal(acc.max, whole.max);
	assert_close(welford_mean(&acc), welford_mean(&whole), 1e-12);
	assert_close(welford_stddev(&acc), welford_stddev(&whole), 1e-9);
}

static void test_welford_huge_values(void **state)
{
	struct welford w;
	/* A realistic worst case: a million exits of 2^40 cycles (~6 min each at 3 GHz). */
	const uint64_t big = 1ULL << 40;

	(void)state;
	welford_init(&w);
	for (int i = 0; i < 1000000; i++)
		welford_add(&w, big + (uint64_t)(i & 1));
	assert_int_equal(w.sum, 1000000 * big + 500000);
	assert_int_equal(w.min, big);
	assert_int_equal(w.max, big + 1);
	assert_close(welford_mean(&w), (long double)big + 0.5L, 1e-15);
	assert_close(welford_stddev(&w), 0.5L, 1e-6);

	/* Beyond any real input the sum saturates instead of wrapping. */
	welford_init(&w);
	welford_add(&w, UINT64_MAX - 5);
	welford_add(&w, 10);
	assert_int_equal(w.sum, UINT64_MAX);
	assert_int_equal(w.min, 10);
	assert_int_equal(w.max, UINT64_MAX - 5);
	assert_close(welford_mean(&w), ((long double)UINT64_MAX + 5) / 2, 1e-12);

	/* Merging keeps saturating. */
	struct welford v;

	welford_init(&v);
	welford_add(&v, UINT64_MAX / 2 + 1);
	welford_merge(&v, &w);
	assert_int_equal(v.sum, UINT64_MAX);
	assert_int_equal(v.n, 3);
}

/* ---- the exit table ---- */

static const struct exit_stats_row *find_row(const struct exit_stats_row *rows, size_t nr,
					     uint32_t reason, uint32_t dir, uint64_t addr)
{
	for (size_t i = 0; i < nr; i++) {
		if (!rows[i].other && rows[i].key.reason == reason && rows[i].key.dir == dir &&
		    rows[i].key.addr == addr)
			return &rows[i];
	}
	return NULL;
}

static const struct exit_stats_row *other_row(const struct exit_stats_row *rows, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		if (rows[i].other)
			return &rows[i];
	}
	return NULL;
}

static struct exit_stats_row rows_buf[EXIT_STATS_MAX_KEYS + 1];

static size_t all_rows(const struct exit_stats *s)
{
	size_t nr = exit_stats_rows(s, rows_buf, EXIT_STATS_MAX_KEYS + 1);

	assert_true(nr <= EXIT_STATS_MAX_KEYS + 1);
	return nr;
}

static void test_keys_kept_apart(void **state)
{
	struct exit_stats *s = exit_stats_new();
	const struct exit_key keys[] = {
	    {KVM_EXIT_IO, EXIT_DIR_WRITE, 0x3f8, "serial"},
	    {KVM_EXIT_IO, EXIT_DIR_READ, 0x3f8, "serial"},
	    {KVM_EXIT_MMIO, EXIT_DIR_WRITE, 0x3f8, NULL},
	    {KVM_EXIT_MMIO, EXIT_DIR_READ, 0x3f8, NULL},
	    {KVM_EXIT_X86_RDMSR, EXIT_DIR_READ, 0x4e560001, NULL},
	    {KVM_EXIT_X86_WRMSR, EXIT_DIR_WRITE, 0x4e560001, NULL},
	    {KVM_EXIT_HLT, EXIT_DIR_NONE, 0, NULL},
	    {KVM_EXIT_IO, EXIT_DIR_WRITE, 0x3f9, "serial"},
	};
	const size_t nk = sizeof(keys) / sizeof(keys[0]);
	uint64_t want_n[8] = {0}, want_run[8] = {0}, want_handle[8] = {0};
	size_t nr;

	(void)state;
	assert_non_null(s);
	/*
	 * A pattern with runs (the last-hit cache hits) and alternations (it
	 * misses): the table must not care which.
	 */
	for (uint64_t i = 0; i < 1000; i++) {
		size_t k = (i % 10 < 6) ? (i / 10) % nk : (i * 7) % nk;

		exit_stats_record(s, &keys[k], 1000 + i, 10 + k);
		want_n[k]++;
		want_run[k] += 1000 + i;
		want_handle[k] += 10 + k;
	}
	assert_int_equal(exit_stats_count(s), 1000);
	assert_int_equal(exit_stats_nr_keys(s), nk);
	assert_int_equal(exit_stats_other_count(s), 0);
	nr = all_rows(s);
	assert_int_equal(nr, nk);
	for (size_t k = 0; k < nk; k++) {
		const struct exit_stats_row *r =
		    find_row(rows_buf, nr, keys[k].reason, keys[k].dir, keys[k].addr);

		assert_non_null(r);
		assert_int_equal(r->handle.n, want_n[k]);
		assert_int_equal(r->run.n, want_n[k]);
		assert_int_equal(r->run.sum, want_run[k]);
		assert_int_equal(r->handle.sum, want_handle[k]);
		assert_int_equal(r->handle.min, 10 + k);
		assert_ptr_equal(r->key.dev, keys[k].dev);
	}
	exit_stats_free(s);
}

static void test_dev_follows_first_record(void **state)
{
	struct exit_stats *s = exit_stats_new();
	struct exit_key a = {KVM_EXIT_IO, EXIT_DIR_WRITE, 0x80, NULL};
	struct exit_key b = a;
	size_t nr;

	(void)state;
	b.dev = "late-name";
	exit_stats_record(s, &a, 1, 1);
	exit_stats_record(s, &b, 1, 1); /* same key: same row, whatever dev says */
	nr = all_rows(s);
	assert_int_equal(nr, 1);
	assert_int_equal(rows_buf[0].handle.n, 2);
	assert_null(rows_buf[0].key.dev);
	exit_stats_free(s);
}

static void test_overflow_folds_into_other(void **state)
{
	const size_t nr_keys = 1000;
	struct exit_stats *s = exit_stats_new();
	uint64_t want_total = 0, want_other = 0, want_other_sum = 0;
	size_t nr;

	(void)state;
	for (size_t k = 0; k < nr_keys; k++) {
		struct exit_key key = {KVM_EXIT_MMIO, EXIT_DIR_READ, 0xd0000000 + 8 * k, NULL};
		uint64_t times = 1 + k % 5;

		for (uint64_t t = 0; t < times; t++)
			exit_stats_record(s, &key, 100, k);
		want_total += times;
		if (k >= EXIT_STATS_MAX_KEYS) {
			want_other += times;
			want_other_sum += times * k;
		}
	}
	/* A key already in the table still finds its row once the table is full. */
	struct exit_key first = {KVM_EXIT_MMIO, EXIT_DIR_READ, 0xd0000000, NULL};

	exit_stats_record(s, &first, 100, 0);
	want_total++;

	assert_int_equal(exit_stats_count(s), want_total);
	assert_int_equal(exit_stats_nr_keys(s), EXIT_STATS_MAX_KEYS);
	assert_int_equal(exit_stats_other_count(s), want_other);
	nr = all_rows(s);
	assert_int_equal(nr, EXIT_STATS_MAX_KEYS + 1);

	uint64_t seen = 0;

	for (size_t i = 0; i < nr; i++)
		seen += rows_buf[i].handle.n;
	assert_int_equal(seen, want_total);
	assert_non_null(other_row(rows_buf, nr));
	assert_int_equal(other_row(rows_buf, nr)->handle.sum, want_other_sum);
	assert_int_equal(find_row(rows_buf, nr, KVM_EXIT_MMIO, EXIT_DIR_READ, 0xd0000000)->handle.n,
			 2);
	/* The first keys to arrive are the ones kept, each with its own count. */
	for (size_t k = 0; k < EXIT_STATS_MAX_KEYS; k++) {
		const struct exit_stats_row *r =
		    find_row(rows_buf, nr, KVM_EXIT_MMIO, EXIT_DIR_READ, 0xd0000000 + 8 * k);

		assert_non_null(r);
		assert_int_equal(r->handle.n, (k == 0 ? 2 : 1 + k % 5));
	}
	assert_null(find_row(rows_buf, nr, KVM_EXIT_MMIO, EXIT_DIR_READ,
			     0xd0000000 + 8 * EXIT_STATS_MAX_KEYS));
	exit_stats_free(s);
}

static void test_rows_truncated_copy(void **state)
{
	struct exit_stats *s = exit_stats_new();
	struct exit_stats_row two[2];

	(void)state;
	for (uint64_t p = 0; p < 5; p++) {
		struct exit_key key = {KVM_EXIT_IO, EXIT_DIR_READ, p, NULL};

		exit_stats_record(s, &key, 1, 1);
	}
	assert_int_equal(exit_stats_rows(s, NULL, 0), 5);
	assert_int_equal(exit_stats_rows(s, two, 2), 5);
	exit_stats_free(s);
}

static void test_merge_equals_single_table(void **state)
{
	struct exit_stats *a = exit_stats_new(), *b = exit_stats_new(), *all = exit_stats_new();
	struct exit_stats *merged = exit_stats_new();
	static struct exit_stats_row want[EXIT_STATS_MAX_KEYS + 1];
	size_t nr_want, nr;

	(void)state;
	for (uint64_t i = 0; i < 5000; i++) {
		struct exit_key key = {i % 3 ? KVM_EXIT_IO : KVM_EXIT_MMIO,
				       i % 2 ? EXIT_DIR_READ : EXIT_DIR_WRITE, (i * 31) % 40, NULL};
		uint64_t run = 10000 + (i * 7919) % 5000, handle = 100 + (i * 104729) % 300;

		/* Two vCPUs see overlapping and private keys. */
		exit_stats_record(i % 4 == 0 ? b : a, &key, run, handle);
		exit_stats_record(all, &key, run, handle);
	}
	assert_int_equal(exit_stats_merge(merged, a), 0);
	assert_int_equal(exit_stats_merge(merged, b), 0);
	assert_int_equal(exit_stats_count(merged), 5000);

	nr_want = exit_stats_rows(all, want, EXIT_STATS_MAX_KEYS + 1);
	nr = all_rows(merged);
	assert_int_equal(nr, nr_want);
	for (size_t i = 0; i < nr_want; i++) {
		const struct exit_stats_row *r =
		    find_row(rows_buf, nr, want[i].key.reason, want[i].key.dir, want[i].key.addr);

		assert_non_null(r);
		assert_int_equal(r->handle.n, want[i].handle.n);
		assert_int_equal(r->handle.sum, want[i].handle.sum);
		assert_int_equal(r->handle.min, want[i].handle.min);
		assert_int_equal(r->handle.max, want[i].handle.max);
		assert_int_equal(r->run.sum, want[i].run.sum);
		assert_close(welford_mean(&r->run), welford_mean(&want[i].run), 1e-12);
		assert_close(welford_stddev(&r->handle), welford_stddev(&want[i].handle), 1e-9);
		assert_close(welford_stddev(&r->run), welford_stddev(&want[i].run), 1e-9);
	}
	exit_stats_free(a);
	exit_stats_free(b);
	exit_stats_free(all);
	exit_stats_free(merged);
}

static void test_merge_into_full_table(void **state)
{
	struct exit_stats *dst = exit_stats_new(), *src = exit_stats_new();

	(void)state;
	for (uint64_t k = 0; k < EXIT_STATS_MAX_KEYS + 10; k++) {
		struct exit_key key = {KVM_EXIT_IO, EXIT_DIR_WRITE, k, NULL};

		exit_stats_record(dst, &key, 1, 1);
	}
	for (uint64_t k = 1000; k < 1020; k++) {
		struct exit_key key = {KVM_EXIT_IO, EXIT_DIR_WRITE, k, NULL};

		exit_stats_record(src, &key, 1, 1);
		exit_stats_record(src, &key, 1, 1);
	}
	assert_int_equal(exit_stats_merge(dst, src), 0);
	assert_int_equal(exit_stats_count(dst), EXIT_STATS_MAX_KEYS + 10 + 40);
	assert_int_equal(exit_stats_other_count(dst), 10 + 40);
	assert_int_equal(exit_stats_nr_keys(dst), EXIT_STATS_MAX_KEYS);
	exit_stats_free(dst);
	exit_stats_free(src);
}

static void test_reset(void **state)
{
	struct exit_stats *s = exit_stats_new();
	struct exit_key key = {KVM_EXIT_HLT, EXIT_DIR_NONE, 0, NULL};

	(void)state;
	exit_stats_record(s, &key, 5, 5);
	exit_stats_reset(s);
	assert_int_equal(exit_stats_count(s), 0);
	assert_int_equal(exit_stats_rows(s, NULL, 0), 0);
	/* The last-hit cache must not point into the cleared table as a live row. */
	exit_stats_record(s, &key, 7, 3);
	assert_int_equal(all_rows(s), 1);
	assert_int_equal(rows_buf[0].handle.n, 1);
	assert_int_equal(rows_buf[0].run.sum, 7);
	exit_stats_free(s);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(exit_reason_name(KVM_EXIT_IO), "IO");
	assert_string_equal(exit_reason_name(KVM_EXIT_MMIO), "MMIO");
	assert_string_equal(exit_reason_name(KVM_EXIT_HLT), "HLT");
	assert_string_equal(exit_reason_name(KVM_EXIT_SHUTDOWN), "SHUTDOWN");
	assert_string_equal(exit_reason_name(KVM_EXIT_INTERNAL_ERROR), "INTERNAL_ERROR");
	assert_null(exit_reason_name(100000));
	assert_null(exit_reason_name(UINT32_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_welford_matches_two_pass),
	    cmocka_unit_test(test_welford_small_known),
	    cmocka_unit_test(test_welford_empty_and_single),
	    cmocka_unit_test(test_welford_merge_halves),
	    cmocka_unit_test(test_welford_merge_matches_sequential),
	    cmocka_unit_test(test_welford_huge_values),
	    cmocka_unit_test(test_keys_kept_apart),
	    cmocka_unit_test(test_dev_follows_first_record),
	    cmocka_unit_test(test_overflow_folds_into_other),
	    cmocka_unit_test(test_rows_truncated_copy),
	    cmocka_unit_test(test_merge_equals_single_table),
	    cmocka_unit_test(test_merge_into_full_table),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
