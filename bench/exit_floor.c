/* SPDX-License-Identifier: MIT */
/*
 * exit-floor: how close nestvmm's exit path is to the floor.
 *
 * The floor is a null VMM: a bare KVM_RUN loop that does no work for an
 * exit (vcpu.c's floor mode: no timing, no statistics, no bus lookup). The
 * bench guest runs its `pio` and `mmio` loops many times in one VM; before
 * each run the vCPU is switched between the floor and nestvmm's own dispatch,
 * in pairs whose order alternates. The machines are noisy (2x drifts between
 * runs seconds apart), so only runs a few milliseconds apart are compared:
 * the figure is the median over pairs of nestvmm's cycles per exit divided by
 * the floor's, both as counted by the guest's TSC.
 *
 * Also prints the median time nestvmm's handler takes per exit (dispatch,
 * bus lookup, device op), from every exit of the nestvmm runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_vm.h"
#include "bench/workloads.h"
#include "cli/options.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define PAIRS_PER_WORKLOAD 8 /* 2 workloads x 8 pairs x 2 runs = 32 list entries */
#define MAX_ROUNDS	   32
#define NR_SLOTS	   (2 * 2 * PAIRS_PER_WORKLOAD)

static const uint32_t floor_workloads[] = {BENCH_W_PIO, BENCH_W_MMIO};
#define NR_FLOOR_WORKLOADS (sizeof(floor_workloads) / sizeof(floor_workloads[0]))

struct floor_round {
	size_t sample_start[NR_SLOTS + 1]; /* handle_samples index at each run's BEGIN */
};

static bool slot_is_floor(unsigned int slot)
{
	unsigned int pair = slot / 2;
	bool first = slot % 2 == 0;

	return first == (pair % 2 == 0);
}

static void on_begin(struct vcpu *vcpu, unsigned int slot, void *ctx)
{
	struct floor_round *round = ctx;

	if (slot >= NR_SLOTS)
		return;
	round->sample_start[slot] = vcpu->nr_handle_samples;
	vcpu->floor_pass_port = BENCH_PORT_DOORBELL;
	vcpu->floor_mode = slot_is_floor(slot);
}

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

struct floor_figures {
	double floor[MAX_ROUNDS * PAIRS_PER_WORKLOAD];
	double vmm[MAX_ROUNDS * PAIRS_PER_WORKLOAD];
	double ratio[MAX_ROUNDS * PAIRS_PER_WORKLOAD];
	size_t nr_pairs;
	uint64_t *samples;
	size_t nr_samples;
};

static double per_iter(const struct bench_result *r)
{
	return r->valid && r->iters ? (double)r->cycles / (double)r->iters : -1;
}

/* One VM: every workload's pairs. Returns 0 or -1 (message printed). */
static int one_round(uint64_t iters, struct floor_figures *fig, uint64_t *tsc_khz)
{
	static struct bench_outcome out;
	struct floor_round round = {{0}};
	struct bench_options opt;
	struct bench_session *s;
	const char *why = NULL;
	size_t max_samples = NR_SLOTS * (iters + 8);
	uint64_t *samples = calloc(max_samples, sizeof(uint64_t));
	struct vm *vm;
	int r;

	if (!samples)
		return -1;
	bench_options_default(&opt);
	opt.nr_workloads = 0;
	for (size_t w = 0; w < NR_FLOOR_WORKLOADS; w++)
		for (unsigned int i = 0; i < 2 * PAIRS_PER_WORKLOAD; i++)
			opt.workloads[opt.nr_workloads++] = floor_workloads[w];
	opt.fixed_iters = iters;
	opt.native = false;
	opt.on_begin = on_begin;
	opt.on_begin_ctx = &round;
	r = bench_session_create(&opt, &out, &s, &why);
	if (r < 0) {
		fprintf(stderr, "exit-floor: %s\n", why ? why : "cannot create the VM");
		free(samples);
		return -1;
	}
	vm = bench_session_vm(s);
	vm->vcpus[0].handle_samples = samples;
	vm->vcpus[0].max_handle_samples = max_samples;
	r = bench_session_run(s);
	round.sample_start[NR_SLOTS] = vm->vcpus[0].nr_handle_samples;
	*tsc_khz = out.tsc_khz;
	bench_session_destroy(s);
	if (r != 0) {
		fprintf(stderr, "exit-floor: the guest stopped: %s\n", out.stop_why);
		free(samples);
		return -1;
	}
	for (size_t w = 0; w < NR_FLOOR_WORKLOADS; w++) {
		for (unsigned int p = 0; p < PAIRS_PER_WORKLOAD; p++) {
			unsigned int a = (unsigned int)(w * 2 * PAIRS_PER_WORKLOAD + 2 * p),
				     b = a + 1;
			unsigned int fs = slot_is_floor(a) ? a : b, vs = fs == a ? b : a;
			double f = per_iter(&out.results[0][fs]), v = per_iter(&out.results[0][vs]);
			struct floor_figures *ff = &fig[w];
			size_t n = round.sample_start[vs + 1] - round.sample_start[vs];

			if (f <= 0 || v <= 0) {
				fprintf(stderr, "exit-floor: a run reported no result\n");
				free(samples);
				return -1;
			}
			ff->floor[ff->nr_pairs] = f;
			ff->vmm[ff->nr_pairs] = v;
			ff->ratio[ff->nr_pairs] = v / f;
			ff->nr_pairs++;
			memcpy(ff->samples + ff->nr_samples, samples + round.sample_start[vs],
			       n * sizeof(uint64_t));
			ff->nr_samples += n;
		}
	}
	free(samples);
	return 0;
}

int main(int argc, char **argv)
{
	static struct floor_figures fig[NR_FLOOR_WORKLOADS];
	uint64_t iters = 1000, rounds = 4, tsc_khz = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc &&
		    parse_uint(argv[i + 1], 16, 1ULL << 20, &iters) == 0) {
			i++;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
			   parse_uint(argv[i + 1], 1, MAX_ROUNDS, &rounds) == 0) {
			i++;
		} else {
			fprintf(stderr,
				"usage: exit-floor [--iters N (16..2^20, default 1000)] "
				"[--rounds R (1..%d, default 4)]\n",
				MAX_ROUNDS);
			return 2;
		}
	}
	for (size_t w = 0; w < NR_FLOOR_WORKLOADS; w++) {
		fig[w].samples =
		    calloc(rounds * PAIRS_PER_WORKLOAD * (iters + 8), sizeof(uint64_t));
		if (!fig[w].samples) {
			fprintf(stderr, "exit-floor: out of memory\n");
			return 1;
		}
	}
	for (uint64_t r = 0; r < rounds; r++)
		if (one_round(iters, fig, &tsc_khz) < 0)
			return 1;

	printf("exit-floor: %llu pairs of runs of %llu exits per workload; floor = bare KVM_RUN "
	       "loop; TSC %llu kHz\n",
	       (unsigned long long)(rounds * PAIRS_PER_WORKLOAD), (unsigned long long)iters,
	       (unsigned long long)tsc_khz);
	printf("%-8s %15s %17s %13s %15s %15s\n", "workload", "floor cyc/exit", "nestvmm cyc/exit",
	       "ratio (med)", "handler cycles", "handler ns");
	for (size_t w = 0; w < NR_FLOOR_WORKLOADS; w++) {
		struct floor_figures *ff = &fig[w];
		double handler;

		qsort(ff->samples, ff->nr_samples, sizeof(uint64_t), cmp_u64);
		handler = ff->nr_samples ? (double)ff->samples[ff->nr_samples / 2] : 0;
		printf("%-8s %15.0f %17.0f %13.3f %15.0f %15.1f\n",
		       bench_workload_by_id(floor_workloads[w])->name,
		       median(ff->floor, ff->nr_pairs), median(ff->vmm, ff->nr_pairs),
		       median(ff->ratio, ff->nr_pairs), handler,
		       tsc_khz ? handler * 1e6 / (double)tsc_khz : 0);
		free(ff->samples);
	}
	printf("ratio: median over pairs of nestvmm/floor cycles per exit (goal <= 1.05); "
	       "handler: median of nestvmm's userspace handling per exit (goal <= 150 ns)\n");
	return 0;
}
