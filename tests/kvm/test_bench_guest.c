/* SPDX-License-Identifier: MIT */
/*
 * The bench guest on the real /dev/kvm, at small iteration counts: every
 * workload reports, at the CPL it is labelled with, with the exits it should
 * cost; guest faults are reported with vector and RIP; several vCPUs each
 * run the list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bench/bench_vm.h"
#include "bench/guest/compute.h"
#include "bench/workloads.h"
#include "kvm_skip.h"
#include "vmm/vm.h"

#define ITERS 64

static struct bench_outcome out;

static void run_list_nested(const uint32_t *ids, unsigned int n, unsigned int cpus,
			    enum nested_mode nested)
{
	struct bench_options opt;
	const char *why = NULL;
	int r;

	bench_options_default(&opt);
	memcpy(opt.workloads, ids, n * sizeof(*ids));
	opt.nr_workloads = n;
	opt.nr_cpus = cpus;
	opt.fixed_iters = ITERS;
	opt.native = false;
	opt.nested = nested;
	r = bench_vm_run(&opt, &out, NULL, NULL, &why);
	if (r < 0)
		fail_msg("bench_vm_run: %s", why ? why : strerror(-r));
}

static void run_list(const uint32_t *ids, unsigned int n, unsigned int cpus)
{
	run_list_nested(ids, n, cpus, NESTED_AUTO);
}

static double uexits_per_iter(const struct bench_result *r)
{
	return (double)r->user_exits / (double)r->iters;
}

static void check_result(const struct bench_result *r, uint32_t id)
{
	const struct bench_workload_info *info = bench_workload_by_id(id);
	double ue;

	assert_true(r->valid);
	assert_int_equal(r->workload, id);
	assert_int_equal(r->iters, ITERS);
	assert_true(r->cycles > 0);
	if (id == BENCH_W_PIO || id == BENCH_W_PIO_IOEVENTFD)
		/* CPL3 with IOPL=3, or CPL0 where the host keeps IOPL at 0 (kvm_pvm) */
		assert_true(r->cpl == info->cpl || r->cpl == 0);
	else
		assert_int_equal(r->cpl, info->cpl);
	ue = uexits_per_iter(r);
	switch (id) {
	case BENCH_W_PIO:
	case BENCH_W_MMIO:
	case BENCH_W_MSR_USER:
		/* exactly one trip to userspace per iteration */
		assert_int_equal(r->user_exits, ITERS);
		if (r->has_kvm_exits)
			assert_true(r->kvm_exits >= ITERS);
		break;
	case BENCH_W_PIO_IOEVENTFD:
	case BENCH_W_MMIO_IOEVENTFD:
		/* handled in the kernel: nothing reaches userspace */
		assert_true(ue < 0.1);
		break;
	default:
		assert_int_equal(r->user_exits, 0);
		break;
	}
	switch (id) {
	case BENCH_W_COUNTPRIMES:
		assert_int_equal(r->value, bench_countprimes(10000));
		break;
	case BENCH_W_FIB:
		assert_int_equal(r->value, bench_fib(20));
		break;
	case BENCH_W_MSR_USER:
		assert_int_equal(r->value, BENCH_MSR_USER_VALUE);
		break;
	default:
		break;
	}
}

static void test_every_workload_reports_sanely(void **state)
{
	size_t nr;
	const struct bench_workload_info *w = bench_workloads(&nr);
	uint32_t ids[BENCH_MAX_WORKLOADS];
	unsigned int n = 0;

	(void)state;
	for (size_t i = 0; i < nr; i++)
		if (w[i].in_default)
			ids[n++] = w[i].id;
	run_list(ids, n, 1);
	assert_int_equal(out.exit_code, 0);
	assert_false(out.fault.happened);
	for (unsigned int i = 0; i < n; i++)
		check_result(&out.results[0][i], ids[i]);
}

static void test_guest_fault_is_reported(void **state)
{
	const uint32_t ids[] = {BENCH_W_CPUID, BENCH_W_FAULT, BENCH_W_PIO};

	(void)state;
	run_list(ids, 3, 1);
	assert_int_equal(out.exit_code, VM_EXIT_GUEST_CRASH);
	assert_true(out.fault.happened);
	assert_int_equal(out.fault.vector, 6); /* #UD from UD2 */
	assert_int_equal(out.fault.workload, BENCH_W_FAULT);
	/* The RIP is the guest's own code, at CPL3. */
	assert_true(out.fault.rip >= BENCH_LOAD_ADDR &&
		    out.fault.rip < BENCH_LOAD_ADDR + BENCH_IMAGE_MAX);
	assert_int_equal(out.fault.cs & 3, 3);
	assert_non_null(strstr(out.stop_why, "#UD"));
	/* What ran before the fault still reported; what comes after never ran. */
	assert_true(out.results[0][0].valid);
	assert_false(out.results[0][2].valid);
}

static void test_two_vcpus_each_run_the_list(void **state)
{
	const uint32_t ids[] = {BENCH_W_CPUID, BENCH_W_PIO, BENCH_W_FIB};

	(void)state;
	run_list(ids, 3, 2);
	assert_int_equal(out.exit_code, 0);
	for (unsigned int c = 0; c < 2; c++) {
		for (unsigned int i = 0; i < 3; i++) {
			assert_int_equal(out.results[c][i].cpu, c);
			check_result(&out.results[c][i], ids[i]);
		}
	}
}

/*
 * The hypervisor workloads: where the guest is shown SVM they run, every
 * inner #VMEXIT accounted for (one per iteration, each costing the level
 * below at least one exit); elsewhere (kvm_pvm here) each is a SKIP that
 * says why, and --nested off always skips.
 */
static void check_svm(const struct bench_result *r, uint32_t id, bool offered)
{
	const struct bench_workload_info *info = bench_workload_by_id(id);

	assert_true(r->valid);
	assert_int_equal(r->workload, id);
	if (!offered) {
		assert_int_equal(r->skip, BENCH_SKIP_NO_SVM);
		assert_int_equal(r->iters, 0);
		assert_int_equal(r->cycles, 0);
		return;
	}
	assert_int_equal(r->skip, BENCH_SKIP_NONE);
	assert_int_equal(r->iters, ITERS);
	assert_int_equal(r->cpl, 0);
	assert_true(r->cycles > 0);
	assert_int_equal(r->value, ITERS);
	if (info->level == BENCH_LEVEL_INNER) {
		assert_int_equal(r->inner_exits, ITERS);
		if (r->has_kvm_exits)
			assert_true(r->kvm_exits >= ITERS);
	} else {
		assert_int_equal(r->inner_exits, 0);
	}
	if (id == BENCH_W_SVM_VMRUN || id == BENCH_W_SVM_VMRUN_CLEAN) {
		assert_true(r->entry_min > 0 && r->entry_min <= r->entry_max);
		assert_true(r->exit_min > 0 && r->exit_min <= r->exit_max);
		assert_true(r->entry_sum >= r->entry_min * ITERS);
		assert_true(r->entry_sum <= r->entry_max * ITERS);
	}
}

static void run_svm_list(enum nested_mode mode)
{
	uint32_t ids[BENCH_MAX_WORKLOADS];
	unsigned int n = 0;
	size_t nr;
	const struct bench_workload_info *w = bench_workloads(&nr);
	bool offered;

	for (size_t i = 0; i < nr; i++)
		if (bench_workload_is_svm(w[i].id))
			ids[n++] = w[i].id;
	assert_int_equal(n, 9);
	run_list_nested(ids, n, 1, mode);
	assert_int_equal(out.exit_code, 0);
	assert_false(out.fault.happened);
	offered = out.nested.kind == NESTED_SVM;
	if (mode == NESTED_OFF)
		assert_false(offered);
	print_message("nested: %s\n", out.nested_note);
	for (unsigned int i = 0; i < n; i++)
		check_svm(&out.results[0][i], ids[i], offered);
}

static void test_svm_workloads(void **state)
{
	(void)state;
	run_svm_list(NESTED_AUTO);
	run_svm_list(NESTED_OFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_workload_reports_sanely),
	    cmocka_unit_test(test_guest_fault_is_reported),
	    cmocka_unit_test(test_two_vcpus_each_run_the_list),
	    cmocka_unit_test(test_svm_workloads),
	};

	skip_without_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
