/* SPDX-License-Identifier: MIT */
/*
 * The blk workloads on the real /dev/kvm: the bench guest's polled
 * virtio-blk driver finds the device on PCI, reads random 4 KiB blocks at
 * QD 1 and 32 and checks every status byte and, in each block, the pattern
 * the host wrote for each sector (so a wrong sector or a read whose data
 * never arrived stops the run with a guest fault). The data path never
 * reaches userspace, and at QD 32 kicks come in batches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bench/bench_disk.h"
#include "bench/bench_vm.h"
#include "bench/workloads.h"
#include "kvm_skip.h"
#include "vmm/vm.h"

#define DISK_SIZE (8ull << 20)

static struct bench_outcome out;

static void run_blk(const uint32_t *ids, unsigned int n, uint64_t iters,
		    void (*fill)(void *, size_t, uint64_t))
{
	struct bench_options opt;
	const char *why = NULL;
	int r;

	bench_options_default(&opt);
	memcpy(opt.workloads, ids, n * sizeof(*ids));
	opt.nr_workloads = n;
	opt.fixed_iters = iters;
	opt.native = false;
	opt.disk_size = DISK_SIZE;
	opt.disk_fill = fill;
	r = bench_vm_run(&opt, &out, NULL, NULL, &why);
	if (r < 0)
		fail_msg("bench_vm_run: %s", why ? why : strerror(-r));
}

static void test_reads_check_out_at_qd1_and_qd32(void **state)
{
	const uint32_t ids[] = {BENCH_W_BLK_QD1, BENCH_W_BLK_QD32};
	const uint64_t iters = 4096;
	char desc[200];

	(void)state;
	run_blk(ids, 2, iters, NULL);
	if (out.fault.happened) {
		bench_fault_describe(&out.fault, desc, sizeof(desc));
		fail_msg("guest fault: %s", desc);
	}
	assert_int_equal(out.exit_code, 0);
	assert_non_null(strstr(out.disk_note, "virtio-blk on "));
	for (unsigned int i = 0; i < 2; i++) {
		const struct bench_result *r = &out.results[0][i];

		assert_true(r->valid);
		assert_int_equal(r->workload, ids[i]);
		assert_int_equal(r->cpl, 3);
		assert_int_equal(r->iters, iters);
		assert_int_equal(r->value, iters); /* every read completed, status OK, data right */
		/* Rings in RAM, kicks on an ioeventfd: nothing reaches nestvmm. */
		assert_int_equal(r->user_exits, 0);
	}
	/* QD 32 refills 16 at a time: at most one kick per 16 reads, plus stray exits. */
	if (out.results[0][1].has_kvm_exits) {
		print_message("QD32: %llu KVM exits for %llu reads\n",
			      (unsigned long long)out.results[0][1].kvm_exits,
			      (unsigned long long)iters);
		assert_true(out.results[0][1].kvm_exits < iters / 4);
	}
}

/* Each sector carries the pattern of its neighbour: the very first read must be caught. */
static void shifted_fill(void *buf, size_t len, uint64_t first_sector)
{
	bench_disk_fill(buf, len, first_sector + 1);
}

static void test_wrong_data_is_a_guest_fault(void **state)
{
	const uint32_t ids[] = {BENCH_W_BLK_QD32};
	char desc[200];

	(void)state;
	run_blk(ids, 1, 64, shifted_fill);
	assert_int_equal(out.exit_code, VM_EXIT_GUEST_CRASH);
	assert_true(out.fault.happened);
	assert_int_equal(out.fault.vector, BENCH_FAULT_BLK);
	assert_int_equal(out.fault.error >> 32, BENCH_BLK_DATA);
	assert_int_equal(out.fault.workload, BENCH_W_BLK_QD32);
	/* The detail is the sector: a multiple of 8 (4 KiB blocks), checked first. */
	assert_int_equal((out.fault.error & 0xffffffff) % 8, 0);
	assert_true((out.fault.error & 0xffffffff) < DISK_SIZE / 512);
	bench_fault_describe(&out.fault, desc, sizeof(desc));
	assert_non_null(strstr(desc, "wrong data"));
	assert_non_null(strstr(out.stop_why, "virtio-blk driver"));
	assert_false(out.results[0][0].valid);
}

static void test_blk_needs_a_single_vcpu(void **state)
{
	struct bench_options opt;
	const char *why = NULL;

	(void)state;
	bench_options_default(&opt);
	opt.workloads[0] = BENCH_W_BLK_QD1;
	opt.nr_workloads = 1;
	opt.nr_cpus = 2;
	opt.native = false;
	assert_int_equal(bench_vm_run(&opt, &out, NULL, NULL, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "one vCPU"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_check_out_at_qd1_and_qd32),
	    cmocka_unit_test(test_wrong_data_is_a_guest_fault),
	    cmocka_unit_test(test_blk_needs_a_single_vcpu),
	};

	skip_without_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
