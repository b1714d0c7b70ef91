/* SPDX-License-Identifier: MIT */
#include "bench/bench_table.h"

#include "bench/bench_vm.h"
#include "bench/workloads.h"

/* Derived figures of one result row; negative means "not available". */
struct row_figures {
	double cycles_per_iter;
	double ns_per_iter;
	double exits_per_iter;
	double user_exits_per_iter;
	double native_ns_per_iter;
	double ratio;
	double iops; /* the blk workloads: one iteration is one I/O */
};

static double cycles_to_ns(double cycles, uint64_t tsc_khz)
{
	return tsc_khz ? cycles * 1e6 / (double)tsc_khz : -1;
}

static struct row_figures figures(const struct bench_result *r, uint64_t tsc_khz)
{
	struct row_figures f = {-1, -1, -1, -1, -1, -1, -1};

	if (!r->iters)
		return f;
	f.cycles_per_iter = (double)r->cycles / (double)r->iters;
	f.ns_per_iter = cycles_to_ns(f.cycles_per_iter, tsc_khz);
	if (r->has_kvm_exits)
		f.exits_per_iter = (double)r->kvm_exits / (double)r->iters;
	f.user_exits_per_iter = (double)r->user_exits / (double)r->iters;
	if (bench_workload_uses_disk(r->workload) && r->cycles && tsc_khz)
		f.iops = (double)r->iters * (double)tsc_khz * 1000.0 / (double)r->cycles;
	if (r->has_native && r->native_iters) {
		double native_cycles = (double)r->native_cycles / (double)r->native_iters;

		f.native_ns_per_iter = cycles_to_ns(native_cycles, tsc_khz);
		if (native_cycles > 0)
			f.ratio = f.cycles_per_iter / native_cycles;
	}
	return f;
}

static void print_num(FILE *f, int width, int prec, double v)
{
	if (v < 0)
		fprintf(f, " %*s", width, "-");
	else
		fprintf(f, " %*.*f", width, prec, v);
}

/* The blk workloads in their own units, under the table. */
static void print_io_rows(FILE *f, const struct bench_outcome *out)
{
	bool any = false;

	for (unsigned int c = 0; c < out->nr_cpus; c++) {
		for (unsigned int w = 0; w < out->nr_workloads; w++) {
			const struct bench_result *r = &out->results[c][w];
			const struct bench_workload_info *info = bench_workload_by_id(r->workload);
			struct row_figures fig;

			if (!r->valid || !bench_workload_uses_disk(r->workload))
				continue;
			fig = figures(r, out->tsc_khz);
			if (!any)
				fprintf(f, "\n%-15s %12s %12s %13s\n", "I/O workload", "IOPS",
					"exits/I/O", "uexits/I/O");
			any = true;
			fprintf(f, "%-15s", info ? info->name : "?");
			print_num(f, 12, 0, fig.iops);
			print_num(f, 12, 3, fig.exits_per_iter);
			print_num(f, 13, 3, fig.user_exits_per_iter);
			fputc('\n', f);
		}
	}
	if (any && out->disk_note[0])
		fprintf(f, "4 KiB random reads; %s\n", out->disk_note);
}

void bench_table_print(FILE *f, const struct bench_outcome *out)
{
	fprintf(f, "%-15s %3s %3s %12s %12s %11s %10s %11s %11s %9s\n", "workload", "cpu", "cpl",
		"iterations", "cycles/iter", "ns/iter", "exits/iter", "uexits/iter", "native ns",
		"VM/native");
	for (unsigned int c = 0; c < out->nr_cpus; c++) {
		for (unsigned int w = 0; w < out->nr_workloads; w++) {
			const struct bench_result *r = &out->results[c][w];
			const struct bench_workload_info *info;
			struct row_figures fig;

			if (!r->valid)
				continue;
			info = bench_workload_by_id(r->workload);
			fig = figures(r, out->tsc_khz);
			fprintf(f, "%-15s %3u %3u %12llu", info ? info->name : "?", r->cpu, r->cpl,
				(unsigned long long)r->iters);
			print_num(f, 12, 1, fig.cycles_per_iter);
			print_num(f, 11, 1, fig.ns_per_iter);
			print_num(f, 10, 3, fig.exits_per_iter);
			print_num(f, 11, 3, fig.user_exits_per_iter);
			print_num(f, 11, 1, fig.native_ns_per_iter);
			print_num(f, 9, 2, fig.ratio);
			fputc('\n', f);
		}
	}
	fprintf(f, "TSC %llu kHz; exits/iter from KVM's stats fd, uexits/iter reached nestvmm\n",
		(unsigned long long)out->tsc_khz);
	print_io_rows(f, out);
}

static void json_num(FILE *f, const char *key, double v, int prec, const char *sep)
{
	if (v < 0)
		fprintf(f, "\"%s\": null%s", key, sep);
	else
		fprintf(f, "\"%s\": %.*f%s", key, prec, v, sep);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void bench_table_print_json(FILE *f, const struct bench_outcome *out)
{
	const char *sep = "";

	fprintf(f, "{\"tsc_khz\": %llu, \"cpus\": %u, \"results\": [",
		(unsigned long long)out->tsc_khz, out->nr_cpus);
	for (unsigned int c = 0; c < out->nr_cpus; c++) {
		for (unsigned int w = 0; w < out->nr_workloads; w++) {
			const struct bench_result *r = &out->results[c][w];
			const struct bench_workload_info *info;
			struct row_figures fig;

			if (!r->valid)
				continue;
			info = bench_workload_by_id(r->workload);
			fig = figures(r, out->tsc_khz);
			fprintf(f, "%s\n  {\"workload\": \"%s\", \"cpu\": %u, \"cpl\": %u, ", sep,
				info ? info->name : "?", r->cpu, r->cpl);
			fprintf(f, "\"iterations\": %llu, \"cycles\": %llu, \"value\": %llu, ",
				(unsigned long long)r->iters, (unsigned long long)r->cycles,
				(unsigned long long)r->value);
			json_num(f, "cycles_per_iter", fig.cycles_per_iter, 3, ", ");
			json_num(f, "ns_per_iter", fig.ns_per_iter, 3, ", ");
			json_num(f, "exits_per_iter", fig.exits_per_iter, 4, ", ");
			json_num(f, "user_exits_per_iter", fig.user_exits_per_iter, 4, ", ");
			json_num(f, "native_ns_per_iter", fig.native_ns_per_iter, 3, ", ");
			json_num(f, "vm_native_ratio", fig.ratio, 4, ", ");
			json_num(f, "iops", fig.iops, 1, "}");
			sep = ",";
		}
	}
	fprintf(f, "\n]");
	if (out->disk_note[0]) {
		fputs(", \"disk\": ", f);
		json_str(f, out->disk_note); /* holds $TMPDIR: anything may be in it */
	}
	fprintf(f, "}\n");
}
