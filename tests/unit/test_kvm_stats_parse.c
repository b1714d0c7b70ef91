/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>

#include "tests/unit/fake_kvm_stats.h"
#include "vmm/kvm_stats.h"

#define HIST_LOG (KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS)

/*
 * Descriptor order differs from data order (as in real kernels, where
 * max_mmu_rmap_size sits after max_mmu_page_hash_collisions), a zero-size
 * descriptor must be skipped, and a histogram comes in the middle.
 */
static const struct fake_stat stats[] = {
    {"exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 0},
    {"io_exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 8},
    {"blocking", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1, 48},
    {"empty", KVM_STATS_TYPE_CUMULATIVE, 0, 0, 0},
    {"halt_wait_hist", HIST_LOG, -9, 3, 16},
    {"halt_wait_ns", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS, -9, 1, 40},
    {"max_rmap", KVM_STATS_TYPE_PEAK, 0, 1, 64},
    {"pages_mem", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BYTES | KVM_STATS_BASE_POW2, 10, 1, 56},
    {"tsc_thing", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_CYCLES, 0, 1, 72},
    {"scaled", KVM_STATS_TYPE_CUMULATIVE, 3, 1, 80},
};
#define NR_DESC	 (sizeof(stats) / sizeof(stats[0]))
#define NR_WORDS 11
/* The scalars as the parser should see them: the zero-size "empty" is gone. */
static const char *const names[] = {"exits",	      "io_exits",     "blocking",
				    "halt_wait_hist", "halt_wait_ns", "max_rmap",
				    "pages_mem",      "tsc_thing",    "scaled"};
#define NR_VALUES (sizeof(names) / sizeof(names[0]))

static void make_data(uint64_t *d, uint64_t base)
{
	d[0] = base + 100; /* exits */
	d[1] = base + 40;  /* io_exits */
	d[2] = base + 1;   /* hist bucket 0 */
	d[3] = 2;	   /* hist bucket 1 */
	d[4] = 3;	   /* hist bucket 2 */
	d[5] = base * 10;  /* halt_wait_ns */
	d[6] = 1;	   /* blocking */
	d[7] = 4096;	   /* pages_mem */
	d[8] = 77 + base;  /* max_rmap */
	d[9] = 123456;	   /* tsc_thing */
	d[10] = 5;	   /* scaled */
}

static int open_fake(struct kvm_stats **st, int *fd_out)
{
	uint64_t d[NR_WORDS];
	int fd;

	make_data(d, 0);
	fd = fake_stats_fd("kvm-42/vcpu-3", stats, NR_DESC, d, NR_WORDS);
	assert_true(fd >= 0);
	*fd_out = dup(fd);
	assert_true(*fd_out >= 0);
	return kvm_stats_open_fd(st, fd);
}

static void test_parse_descriptors(void **state)
{
	struct kvm_stats *st;
	int fd;

	(void)state;
	assert_int_equal(open_fake(&st, &fd), 0);
	assert_string_equal(kvm_stats_id(st), "kvm-42/vcpu-3");
	assert_int_equal(kvm_stats_nr(st), NR_VALUES);
	for (size_t i = 0; i < NR_VALUES; i++) {
		assert_string_equal(kvm_stats_name(st, i), names[i]);
		assert_int_equal(kvm_stats_index(st, names[i]), (int)i);
	}
	assert_null(kvm_stats_name(st, NR_VALUES));
	assert_int_equal(kvm_stats_index(st, "empty"), -ENOENT);
	assert_int_equal(kvm_stats_index(st, "no_such_stat"), -ENOENT);

	assert_true(kvm_stats_is_cumulative(st, kvm_stats_index(st, "exits")));
	assert_true(kvm_stats_is_cumulative(st, kvm_stats_index(st, "halt_wait_ns")));
	assert_false(kvm_stats_is_cumulative(st, kvm_stats_index(st, "blocking")));
	assert_false(kvm_stats_is_cumulative(st, kvm_stats_index(st, "max_rmap")));
	assert_false(kvm_stats_is_cumulative(st, kvm_stats_index(st, "halt_wait_hist")));
	assert_int_equal(kvm_stats_type(st, kvm_stats_index(st, "halt_wait_hist")),
			 KVM_STATS_TYPE_LOG_HIST);
	assert_int_equal(kvm_stats_type(st, kvm_stats_index(st, "max_rmap")), KVM_STATS_TYPE_PEAK);
	kvm_stats_close(st);
	close(fd);
}

static void test_units(void **state)
{
	struct kvm_stats *st;
	char buf[32];
	int fd;

	(void)state;
	assert_int_equal(open_fake(&st, &fd), 0);
	assert_string_equal(kvm_stats_unit(st, kvm_stats_index(st, "exits"), buf, sizeof(buf)), "");
	assert_string_equal(
	    kvm_stats_unit(st, kvm_stats_index(st, "halt_wait_ns"), buf, sizeof(buf)), "ns");
	assert_string_equal(kvm_stats_unit(st, kvm_stats_index(st, "pages_mem"), buf, sizeof(buf)),
			    "KiB");
	assert_string_equal(kvm_stats_unit(st, kvm_stats_index(st, "tsc_thing"), buf, sizeof(buf)),
			    "cycles");
	assert_string_equal(kvm_stats_unit(st, kvm_stats_index(st, "blocking"), buf, sizeof(buf)),
			    "bool");
	assert_string_equal(kvm_stats_unit(st, kvm_stats_index(st, "scaled"), buf, sizeof(buf)),
			    "x10^3");
	kvm_stats_close(st);
	close(fd);
}

static void test_read_and_delta(void **state)
{
	uint64_t start[NR_VALUES], end[NR_VALUES], delta[NR_VALUES], d[NR_WORDS];
	struct kvm_stats *st;
	int fd;

	(void)state;
	assert_int_equal(open_fake(&st, &fd), 0);
	assert_int_equal(kvm_stats_read(st, start), 0);
	assert_int_equal(start[0], 100);
	assert_int_equal(start[1], 40);
	assert_int_equal(start[2], 1);
	assert_int_equal(start[3], 1 + 2 + 3); /* histogram: its buckets summed */
	assert_int_equal(start[4], 0);
	assert_int_equal(start[5], 77);
	assert_int_equal(start[6], 4096);
	assert_int_equal(start[7], 123456);
	assert_int_equal(start[8], 5);

	/* The counters move; a read must see the file as it is now. */
	make_data(d, 1000);
	d[9] = 0; /* a cumulative counter that went backwards */
	assert_int_equal(fake_stats_set_data(fd, NR_DESC, d, NR_WORDS), 0);
	assert_int_equal(kvm_stats_read(st, end), 0);
	assert_int_equal(end[0], 1100);
	assert_int_equal(end[3], 1001 + 2 + 3);

	kvm_stats_delta(st, start, end, delta);
	assert_int_equal(delta[0], 1000);	  /* exits */
	assert_int_equal(delta[1], 1000);	  /* io_exits */
	assert_int_equal(delta[2], 1);		  /* instant: the end value */
	assert_int_equal(delta[3], 1001 + 2 + 3); /* histogram: not cumulative, end value */
	assert_int_equal(delta[4], 10000);	  /* halt_wait_ns */
	assert_int_equal(delta[5], 1077);	  /* peak: the end value */
	assert_int_equal(delta[7], 0);		  /* backwards: clamped */
	kvm_stats_close(st);
	close(fd);
}

static void test_read_fails_on_truncated_data(void **state)
{
	uint64_t v[NR_VALUES];
	struct kvm_stats *st;
	int fd;

	(void)state;
	assert_int_equal(open_fake(&st, &fd), 0);
	assert_int_equal(ftruncate(fd, fake_data_offset(NR_DESC) + 8), 0);
	assert_int_equal(kvm_stats_read(st, v), -EIO);
	kvm_stats_close(st);
	close(fd);
}

static void test_bad_files(void **state)
{
	uint64_t d[NR_WORDS] = {0};
	struct kvm_stats_header hdr;
	struct kvm_stats *st;
	int fd;

	(void)state;
	/* Empty file: no header. */
	fd = memfd_create("empty", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kvm_stats_open_fd(&st, fd), -EBADMSG);
	assert_null(st);

	/* Descriptors cut short. */
	fd = fake_stats_fd("x", stats, NR_DESC, d, NR_WORDS);
	assert_int_equal(ftruncate(fd, fake_desc_offset() + 20), 0);
	assert_int_equal(kvm_stats_open_fd(&st, fd), -EBADMSG);

	/* name_size 0 would make every name empty and every descriptor overlap. */
	fd = fake_stats_fd("x", stats, NR_DESC, d, NR_WORDS);
	assert_int_equal(pread(fd, &hdr, sizeof(hdr), 0), sizeof(hdr));
	hdr.name_size = 0;
	assert_int_equal(pwrite(fd, &hdr, sizeof(hdr), 0), sizeof(hdr));
	assert_int_equal(kvm_stats_open_fd(&st, fd), -EBADMSG);

	/* An absurd descriptor count. */
	fd = fake_stats_fd("x", stats, NR_DESC, d, NR_WORDS);
	hdr.name_size = FAKE_NAME_SIZE;
	hdr.num_desc = 1u << 30;
	assert_int_equal(pwrite(fd, &hdr, sizeof(hdr), 0), sizeof(hdr));
	assert_int_equal(kvm_stats_open_fd(&st, fd), -EBADMSG);

	/* Data offsets that are not whole u64 words, or far outside any real block. */
	const struct fake_stat odd[] = {{"odd", 0, 0, 1, 4}};
	const struct fake_stat far[] = {{"far", 0, 0, 0xffff, 0xfffffff8u}};

	fd = fake_stats_fd("x", odd, 1, d, 2);
	assert_int_equal(kvm_stats_open_fd(&st, fd), -EBADMSG);
	fd = fake_stats_fd("x", far, 1, d, 2);
	assert_int_equal(kvm_stats_open_fd(&st, fd), -EBADMSG);
}

static void test_unterminated_names(void **state)
{
	/* A name filling all name_size bytes gets cut, not read past its end. */
	char long_name[FAKE_NAME_SIZE + 8];
	struct fake_stat one[1] = {{long_name, 0, 0, 1, 0}};
	uint64_t d[1] = {9}, v[1];
	struct kvm_stats *st;
	int fd;

	(void)state;
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	fd = fake_stats_fd("x", one, 1, d, 1);
	/* fake_stats_fd NUL-terminates; overwrite the padding to make it unterminated. */
	assert_int_equal(pwrite(fd, long_name, FAKE_NAME_SIZE,
				fake_desc_offset() + sizeof(struct kvm_stats_desc)),
			 FAKE_NAME_SIZE);
	assert_int_equal(kvm_stats_open_fd(&st, fd), 0);
	assert_int_equal(strlen(kvm_stats_name(st, 0)), FAKE_NAME_SIZE - 1);
	assert_int_equal(kvm_stats_read(st, v), 0);
	assert_int_equal(v[0], 9);
	kvm_stats_close(st);
}

static void test_open_on_non_kvm_fd(void **state)
{
	struct kvm_stats *st;
	int fd = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(kvm_stats_open(&st, fd), -ENOTSUP);
	assert_null(st);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_descriptors),
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_read_and_delta),
	    cmocka_unit_test(test_read_fails_on_truncated_data),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_unterminated_names),
	    cmocka_unit_test(test_open_on_non_kvm_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
