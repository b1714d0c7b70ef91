/* SPDX-License-Identifier: MIT */
#include "bench/bench_table.h"

#include "bench/bench_vm.h"
#include "bench/workloads.h"
#include "vmm/stats_report.h"

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

/* The SVM workloads' own figures, per inner #VMEXIT (NULL-safe: -1 when not available). */
struct svm_figures {
	double cycles_per_exit;	     /* the whole round trip, as the hypervisor's loop saw it */
	double exits_below_per_exit; /* exits of the level below (KVM's stats fd) */
	double nested_runs_per_exit; /* VMRUNs KVM emulated */
	double entry_avg, exit_avg;  /* svm-vmrun*: TSC cycles */
};

static struct svm_figures svm_figures(const struct bench_result *r)
{
	struct svm_figures s = {-1, -1, -1, -1, -1};
	double n = (double)r->inner_exits;

	if (!r->inner_exits)
		return s;
	s.cycles_per_exit = (double)r->cycles / n;
	if (r->has_kvm_exits)
		s.exits_below_per_exit = (double)r->kvm_exits / n;
	if (r->has_nested_runs)
		s.nested_runs_per_exit = (double)r->nested_runs / n;
	if (r->workload == BENCH_W_SVM_VMRUN || r->workload == BENCH_W_SVM_VMRUN_CLEAN) {
		s.entry_avg = (double)r->entry_sum / n;
		s.exit_avg = (double)r->exit_sum / n;
	}
	return s;
}

static const struct bench_result *find_result(const struct bench_outcome *out, unsigned int cpu,
					      uint32_t id)
{
	for (unsigned int w = 0; w < out->nr_workloads; w++)
		if (out->results[cpu][w].valid && out->results[cpu][w].workload == id &&
		    !out->results[cpu][w].skip && out->results[cpu][w].iters)
			return &out->results[cpu][w];
	return NULL;
}

/* The Intel study's "L2 relative to L1": inner CPUID round trip over the guest's own CPUID. */
static double cpuid_ratio(const struct bench_outcome *out, unsigned int cpu)
{
	const struct bench_result *l1 = find_result(out, cpu, BENCH_W_CPUID);
	const struct bench_result *l2 = find_result(out, cpu, BENCH_W_SVM_CPUID);

	if (!l1 || !l2 || !l1->cycles || !l2->inner_exits)
		return -1;
	return ((double)l2->cycles / (double)l2->inner_exits) /
	       ((double)l1->cycles / (double)l1->iters);
}

static void print_svm_rows(FILE *f, const struct bench_outcome *out)
{
	char feats[320];
	bool any = false, lat = false;

	for (unsigned int c = 0; c < out->nr_cpus; c++) {
		for (unsigned int w = 0; w < out->nr_workloads; w++) {
			const struct bench_result *r = &out->results[c][w];
			const struct bench_workload_info *info = bench_workload_by_id(r->workload);
			struct svm_figures s;

			if (!r->valid || r->skip || !bench_workload_is_svm(r->workload) || !info ||
			    info->level != BENCH_LEVEL_INNER)
				continue;
			if (!any) {
				fprintf(
				    f, "\nbench hypervisor (SVM features %s)\n",
				    nested_svm_features_str(r->svm_features, feats, sizeof(feats)));
				fprintf(f, "%-16s %3s %12s %13s %14s %15s\n", "inner workload",
					"cpu", "inner exits", "cycles/exit", "exits below/exit",
					"nested_run/exit");
			}
			any = true;
			s = svm_figures(r);
			fprintf(f, "%-16s %3u %12llu", info->name, r->cpu,
				(unsigned long long)r->inner_exits);
			print_num(f, 13, 1, s.cycles_per_exit);
			print_num(f, 16, 3, s.exits_below_per_exit);
			print_num(f, 15, 3, s.nested_runs_per_exit);
			fputc('\n', f);
			lat |= s.entry_avg >= 0;
		}
	}
	if (!any)
		return;
	for (unsigned int c = 0; c < out->nr_cpus; c++) {
		double ratio = cpuid_ratio(out, c);

		if (ratio >= 0)
			fprintf(
			    f,
			    "CPUID on vCPU %u: inner guest (svm-cpuid) / guest (cpuid) = %.1fx\n",
			    c, ratio);
	}
	if (lat) {
		fprintf(f, "\n%-16s %3s %10s %10s %10s %10s %10s %10s\n", "VMRUN latency", "cpu",
			"entry min", "avg", "max", "exit min", "avg", "max");
		for (unsigned int c = 0; c < out->nr_cpus; c++) {
			for (unsigned int w = 0; w < out->nr_workloads; w++) {
				const struct bench_result *r = &out->results[c][w];
				const struct bench_workload_info *info =
				    bench_workload_by_id(r->workload);
				struct svm_figures s;

				if (!r->valid || r->skip || !info)
					continue;
				s = svm_figures(r);
				if (s.entry_avg < 0)
					continue;
				fprintf(f, "%-16s %3u %10llu", info->name, r->cpu,
					(unsigned long long)r->entry_min);
				print_num(f, 10, 1, s.entry_avg);
				fprintf(f, " %10llu %10llu", (unsigned long long)r->entry_max,
					(unsigned long long)r->exit_min);
				print_num(f, 10, 1, s.exit_avg);
				fprintf(f, " %10llu\n", (unsigned long long)r->exit_max);
			}
		}
	}
	fprintf(f, "cycles are TSC cycles of the level the bench runs at; exits below from KVM's "
		   "stats fd\n");
}

/* --stats: each run's exits of the level below by reason, per iteration. */
static void print_reason_rows(FILE *f, const struct bench_outcome *out)
{
	bool any = false;
	char name[48];

	for (unsigned int c = 0; c < out->nr_cpus; c++) {
		for (unsigned int w = 0; w < out->nr_workloads; w++) {
			const struct bench_result *r = &out->results[c][w];
			const struct bench_workload_info *info = bench_workload_by_id(r->workload);

			if (!r->valid || !r->iters || !r->nr_reasons || !info)
				continue;
			if (!any)
				fprintf(
				    f, "\nexits KVM handled in the kernel per iteration, by reason "
				       "(kvm:kvm_exit)\n");
			any = true;
			fprintf(f, "%-16s", info->name);
			for (unsigned int i = 0; i < r->nr_reasons; i++)
				fprintf(f, "  %s %.3f",
					kernel_exit_format(r->reasons[i].isa, r->reasons[i].code,
							   name, sizeof(name)),
					(double)r->reasons[i].count / (double)r->iters);
			fputc('\n', f);
		}
	}
	if (!any && out->reasons_why[0])
		fprintf(f, "\nexits KVM handled in the kernel per iteration: unavailable: %s\n",
			out->reasons_why);
}

void bench_table_print(FILE *f, const struct bench_outcome *out)
{
	if (out->nested_note[0])
		fprintf(f, "nested: %s\n", out->nested_note);
	fprintf(f, "%-16s %3s %3s %12s %12s %11s %10s %11s %11s %9s\n", "workload", "cpu", "cpl",
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
			if (r->skip) {
				char why[256];

				bench_skip_describe(r->skip, &out->nested, why, sizeof(why));
				fprintf(f, "%-16s %3u %3s %12s  SKIP: %s\n",
					info ? info->name : "?", r->cpu, "-", "-", why);
				continue;
			}
			fig = figures(r, out->tsc_khz);
			fprintf(f, "%-16s %3u %3u %12llu", info ? info->name : "?", r->cpu, r->cpl,
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
	print_svm_rows(f, out);
	print_reason_rows(f, out);
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

static void json_reasons(FILE *f, const struct bench_result *r)
{
	char name[48];

	fputs(", \"exit_reasons\": [", f);
	for (unsigned int i = 0; i < r->nr_reasons; i++) {
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		json_str(f, kernel_exit_format(r->reasons[i].isa, r->reasons[i].code, name,
					       sizeof(name)));
		fprintf(f, ", \"count\": %llu, \"per_iter\": %.4f}",
			(unsigned long long)r->reasons[i].count,
			(double)r->reasons[i].count / (double)r->iters);
	}
	fputc(']', f);
}

static void json_svm(FILE *f, const struct bench_outcome *out, const struct bench_result *r)
{
	struct svm_figures s = svm_figures(r);
	char buf[320];

	fputs(", \"skip\": ", f);
	if (r->skip) {
		bench_skip_describe(r->skip, &out->nested, buf, sizeof(buf));
		json_str(f, buf); /* holds the host's module names: escape anyway */
		return;
	}
	fputs("null, \"svm_features\": ", f);
	json_str(f, nested_svm_features_str(r->svm_features, buf, sizeof(buf)));
	fprintf(f, ", \"inner_exits\": %llu, ", (unsigned long long)r->inner_exits);
	json_num(f, "cycles_per_inner_exit", s.cycles_per_exit, 3, ", ");
	json_num(f, "exits_below_per_inner_exit", s.exits_below_per_exit, 4, ", ");
	json_num(f, "nested_runs_per_inner_exit", s.nested_runs_per_exit, 4, "");
	if (s.entry_avg >= 0)
		fprintf(f,
			", \"entry\": {\"min\": %llu, \"avg\": %.3f, \"max\": %llu}"
			", \"exit\": {\"min\": %llu, \"avg\": %.3f, \"max\": %llu}",
			(unsigned long long)r->entry_min, s.entry_avg,
			(unsigned long long)r->entry_max, (unsigned long long)r->exit_min,
			s.exit_avg, (unsigned long long)r->exit_max);
	if (r->workload == BENCH_W_SVM_CPUID) {
		fputs(", ", f);
		json_num(f, "l2_l1_cpuid_ratio", cpuid_ratio(out, r->cpu), 3, "");
	}
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
			json_num(f, "iops", fig.iops, 1, "");
			fputs(", \"level\": ", f);
			json_str(f, info ? bench_level_name(info->level) : "?");
			if (bench_workload_is_svm(r->workload))
				json_svm(f, out, r);
			if (r->nr_reasons && r->iters)
				json_reasons(f, r);
			fputc('}', f);
			sep = ",";
		}
	}
	fprintf(f, "\n]");
	if (out->nested_note[0]) {
		fputs(", \"nested\": ", f);
		json_str(f, out->nested_note);
	}
	if (out->reasons_why[0]) {
		fputs(", \"exit_reasons_unavailable\": ", f);
		json_str(f, out->reasons_why);
	}
	if (out->disk_note[0]) {
		fputs(", \"disk\": ", f);
		json_str(f, out->disk_note); /* holds $TMPDIR: anything may be in it */
	}
	fprintf(f, "}\n");
}
