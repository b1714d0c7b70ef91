/* SPDX-License-Identifier: MIT */
/*
 * exit-floor: how close nestvmm's exit path is to the floor. The floor is a
 * null VMM: a bare KVM_RUN loop on the same VM and guest that does no work
 * for an exit. Both run the bench guest's `pio` and `mmio` loops, in
 * alternating rounds in the same process, and the guest's own TSC count per
 * iteration (one exit each) is compared. Also prints the median time
 * nestvmm's handler spends per exit (dispatch + bus lookup + device op).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bench/bench_vm.h"
#include "bench/workloads.h"
#include "cli/options.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MAX_ROUNDS 64

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The floor: no statistics, no bus lookup, no device; only the doorbell is served. */
static int null_vmm_run(struct vm *vm)
{
	struct vcpu *v = &vm->vcpus[0];
	const struct bus_dev *bell = bus_find(&vm->pio, BENCH_PORT_DOORBELL);

	vcpu_set_self(v);
	for (;;) {
		struct kvm_run *run = v->run;

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == BENCH_PORT_DOORBELL) {
			bell->ops->write(bell->opaque, 0, (uint8_t *)run + run->io.data_offset, 4);
			v->user_exits++;
			if (v->parked || vm_stopping(vm))
				return 0;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_MMIO) {
			v->user_exits++;
			continue;
		}
		fprintf(stderr, "exit-floor: unexpected exit reason %u\n", run->exit_reason);
		return -EIO;
	}
}

/* One measured run; returns guest cycles per iteration, or < 0 on failure. */
static double one_run(uint32_t workload, uint64_t iters, bool floor, uint64_t *samples,
		      size_t *nr_samples)
{
	static struct bench_outcome out;
	struct bench_options opt;
	struct bench_session *s;
	const char *why = NULL;
	struct vm *vm;
	int r;

	bench_options_default(&opt);
	opt.workloads[0] = workload;
	opt.nr_workloads = 1;
	opt.fixed_iters = iters;
	opt.native = false;
	r = bench_session_create(&opt, &out, &s, &why);
	if (r < 0) {
		fprintf(stderr, "exit-floor: %s\n", why ? why : strerror(-r));
		return -1;
	}
	vm = bench_session_vm(s);
	if (floor) {
		r = null_vmm_run(vm);
	} else {
		vm->vcpus[0].handle_samples = samples;
		vm->vcpus[0].max_handle_samples = iters + 64;
		r = bench_session_run(s);
		*nr_samples = vm->vcpus[0].nr_handle_samples;
	}
	bench_session_destroy(s);
	if (r != 0 || !out.results[0][0].valid) {
		fprintf(stderr, "exit-floor: %s run failed: %s\n", floor ? "floor" : "nestvmm",
			out.stop_why[0] ? out.stop_why : "no result");
		return -1;
	}
	return (double)out.results[0][0].cycles / (double)out.results[0][0].iters;
}

int main(int argc, char **argv)
{
	static const uint32_t workloads[] = { BENCH_W_PIO, BENCH_W_MMIO };
	uint64_t iters = 3000, rounds = 5, tsc_khz = 0;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc &&
		    parse_uint(argv[i + 1], 16, 1ULL << 24, &iters) == 0) {
			i++;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
			   parse_uint(argv[i + 1], 1, MAX_ROUNDS, &rounds) == 0) {
			i++;
		} else {
			fprintf(stderr, "usage: exit-floor [--iters N (>=16)] [--rounds R (1-%d)]\n",
				MAX_ROUNDS);
			return 2;
		}
	}

	{
		struct bench_options opt;
		struct bench_outcome *o = calloc(1, sizeof(*o));
		struct bench_session *s;
		const char *why = NULL;

		bench_options_default(&opt);
		if (!o || bench_session_create(&opt, o, &s, &why) < 0) {
			fprintf(stderr, "exit-floor: %s\n", why ? why : "out of memory");
			free(o);
			return 1;
		}
		tsc_khz = o->tsc_khz;
		bench_session_destroy(s);
		free(o);
	}

	printf("exit-floor: %llu rounds of %llu exits per workload, floor and nestvmm alternating; "
	       "TSC %llu kHz\n",
	       (unsigned long long)rounds, (unsigned long long)iters,
	       (unsigned long long)tsc_khz);
	printf("%-8s %16s %16s %10s %18s %16s\n", "workload", "floor cyc/exit",
	       "nestvmm cyc/exit", "ratio", "handler median", "handler med ns");
	for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++) {
		double floor_c[MAX_ROUNDS], vmm_c[MAX_ROUNDS], ratio[MAX_ROUNDS];
		uint64_t *samples = calloc(iters + 64, sizeof(uint64_t));
		uint64_t *all = calloc(rounds * (iters + 64), sizeof(uint64_t));
		size_t nr_all = 0;
		double med_handler;

		if (!samples || !all) {
			fprintf(stderr, "exit-floor: out of memory\n");
			return 1;
		}
		for (uint64_t r = 0; r < rounds; r++) {
			size_t n = 0;

			floor_c[r] = one_run(workloads[w], iters, true, NULL, NULL);
			vmm_c[r] = one_run(workloads[w], iters, false, samples, &n);
			if (floor_c[r] <= 0 || vmm_c[r] <= 0)
				return 1;
			ratio[r] = vmm_c[r] / floor_c[r];
			memcpy(all + nr_all, samples, n * sizeof(uint64_t));
			nr_all += n;
		}
		qsort(all, nr_all, sizeof(uint64_t), cmp_u64);
		med_handler = nr_all ? (double)all[nr_all / 2] : 0;
		printf("%-8s %16.0f %16.0f %10.3f %18.0f %16.1f\n",
		       bench_workload_by_id(workloads[w])->name, median(floor_c, rounds),
		       median(vmm_c, rounds), median(ratio, rounds), med_handler,
		       med_handler * 1e6 / (double)tsc_khz);
		free(samples);
		free(all);
	}
	printf("ratio = median over rounds of nestvmm/floor (goal <= 1.05); "
	       "handler = nestvmm's userspace handling per exit (goal <= 150 ns)\n");
	return status;
}
