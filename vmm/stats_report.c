/* SPDX-License-Identifier: MIT */
#include "vmm/stats_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "vmm/exit_reasons.h"

#define TYPE_MAX 96 /* longest "MMIO write 0x... device-name" we print */

/* KVM's counters that explain exits, in the order a reader looks for them. */
static const char *const kvm_stats_first[] = {
    "exits",
    "io_exits",
    "mmio_exits",
    "halt_exits",
    "irq_exits",
    "insn_emulation",
    "insn_emulation_fail",
    "hypercalls",
    "nested_run",
    "signal_exits",
    "irq_window_exits",
    "nmi_window_exits",
    "request_irq_exits",
    "notify_window_exits",
    "halt_wakeup",
    "irq_injections",
    "pf_taken",
    "pf_fixed",
    "pf_emulate",
    "pf_guest",
    "tlb_flush",
    "remote_tlb_flush",
};

static const char *dir_word(uint32_t reason, uint32_t dir)
{
	bool rd = dir == EXIT_DIR_READ, wr = dir == EXIT_DIR_WRITE;

	if (reason == KVM_EXIT_IO)
		return rd ? "in" : wr ? "out" : NULL;
	return rd ? "read" : wr ? "write" : NULL;
}

int exit_key_format(const struct exit_key *key, char *buf, size_t len)
{
	const char *name = exit_reason_name(key->reason);
	const char *dir = dir_word(key->reason, key->dir);
	const char *dev = key->dev ? key->dev : "(unclaimed)";

	switch (key->reason) {
	case KVM_EXIT_IO:
	case KVM_EXIT_MMIO:
		return snprintf(buf, len, "%s%s%s 0x%" PRIx64 " %s", name, dir ? " " : "",
				dir ? dir : "", key->addr, dev);
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		return snprintf(buf, len, "MSR %s 0x%" PRIx64 "%s%s",
				key->reason == KVM_EXIT_X86_RDMSR ? "rd" : "wr", key->addr,
				key->dev ? " " : "", key->dev ? key->dev : "");
	}
	{
		char num[24];
		int n;

		if (!name) {
			snprintf(num, sizeof(num), "exit %" PRIu32, key->reason);
			name = num;
		}
		n = snprintf(buf, len, "%s", name);
		if (key->addr && n >= 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, " 0x%" PRIx64, key->addr);
		if (key->dev && n >= 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, " %s", key->dev);
		return n;
	}
}

/* Busiest first; the overflow row always last, since it mixes unrelated keys. */
static int row_cmp(const void *a, const void *b)
{
	const struct exit_stats_row *x = a, *y = b;

	if (x->other != y->other)
		return x->other ? 1 : -1;
	if (x->handle.n != y->handle.n)
		return x->handle.n > y->handle.n ? -1 : 1;
	if (x->handle.sum != y->handle.sum)
		return x->handle.sum > y->handle.sum ? -1 : 1;
	if (x->key.reason != y->key.reason)
		return x->key.reason < y->key.reason ? -1 : 1;
	if (x->key.addr != y->key.addr)
		return x->key.addr < y->key.addr ? -1 : 1;
	if (x->key.dir != y->key.dir)
		return x->key.dir < y->key.dir ? -1 : 1;
	return 0;
}

/* The exit rows sorted for display, or NULL with *nr = 0 when there are none. */
static int sorted_rows(const struct exit_stats *s, struct exit_stats_row **out, size_t *nr)
{
	struct exit_stats_row *rows;
	size_t n;

	*out = NULL;
	*nr = 0;
	if (!s)
		return 0;
	n = exit_stats_rows(s, NULL, 0);
	if (n == 0)
		return 0;
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	n = exit_stats_rows(s, rows, n);
	qsort(rows, n, sizeof(*rows), row_cmp);
	*out = rows;
	*nr = n;
	return 0;
}

static void row_type(const struct exit_stats_row *row, char *buf, size_t len)
{
	if (row->other)
		snprintf(buf, len, "(other)");
	else
		exit_key_format(&row->key, buf, len);
}

static double cycles_to_ns(const struct stats_report *r, double cycles)
{
	return cycles * 1e6 / (double)r->tsc_khz;
}

static double percent(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

struct totals {
	struct welford run;
	struct welford handle;
};

static void sum_rows(const struct exit_stats_row *rows, size_t nr, struct totals *t)
{
	welford_init(&t->run);
	welford_init(&t->handle);
	for (size_t i = 0; i < nr; i++) {
		welford_merge(&t->run, &rows[i].run);
		welford_merge(&t->handle, &rows[i].handle);
	}
}

static void print_cost_line(FILE *f, const struct stats_report *r, int width, const char *type,
			    const struct welford *w, double total)
{
	fprintf(f, "%-*s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %15" PRIu64 " %11.1f %11.1f",
		width, type, w->n, w->min, w->max, w->sum, welford_mean(w), welford_stddev(w));
	if (r->tsc_khz)
		fprintf(f, " %11.1f", cycles_to_ns(r, welford_mean(w)));
	else
		fprintf(f, " %11s", "-");
	fprintf(f, " %6.2f\n", percent((double)w->sum, total));
}

static void print_cost_block(FILE *f, const struct stats_report *r, const char *title,
			     const struct exit_stats_row *rows, size_t nr, int width, bool run,
			     const struct totals *t)
{
	const struct welford *all = run ? &t->run : &t->handle;
	char type[TYPE_MAX];

	fprintf(f, "\n%s\n", title);
	fprintf(f, "%-*s %10s %10s %12s %15s %11s %11s %11s %6s\n", width, "type", "count", "min",
		"max", "sum", "avg", "stddev", "avg ns", "%");
	for (size_t i = 0; i < nr; i++) {
		row_type(&rows[i], type, sizeof(type));
		print_cost_line(f, r, width, type, run ? &rows[i].run : &rows[i].handle,
				(double)all->sum);
	}
	print_cost_line(f, r, width, "total", all, (double)all->sum);
}

static void print_summary(FILE *f, const struct stats_report *r, const struct totals *t,
			  uint64_t exits, uint64_t other)
{
	double vcpu_cycles = (double)r->wall_cycles * (r->nr_vcpus ? r->nr_vcpus : 1);
	double wall_s = r->tsc_khz ? (double)r->wall_cycles / ((double)r->tsc_khz * 1e3) : 0;

	fprintf(f, "exit statistics: %u vCPU%s\n", r->nr_vcpus, r->nr_vcpus == 1 ? "" : "s");
	if (r->nested)
		fprintf(f, "  nested for the guest %s\n", r->nested);
	fprintf(f, "  wall time            %15" PRIu64 " cycles", r->wall_cycles);
	if (r->tsc_khz)
		fprintf(f, "  %12.6f s (TSC %" PRIu64 " kHz)", wall_s, r->tsc_khz);
	fprintf(f, "\n  time in guest        %15" PRIu64 " cycles  %6.2f%% of wall x vCPUs\n",
		t->run.sum, percent((double)t->run.sum, vcpu_cycles));
	fprintf(f, "  time in VMM handlers %15" PRIu64 " cycles  %6.2f%% of wall x vCPUs\n",
		t->handle.sum, percent((double)t->handle.sum, vcpu_cycles));
	fprintf(f, "  exits to userspace   %15" PRIu64, exits);
	if (wall_s > 0)
		fprintf(f, "         %12.0f /s", (double)exits / wall_s);
	fprintf(f, "\n");
	if (other)
		fprintf(f,
			"  %" PRIu64 " exits of keys beyond the first %d are in the (other) row\n",
			other, EXIT_STATS_MAX_KEYS);
	if (r->launch_to_run_ns)
		fprintf(f, "  launch -> first KVM_RUN   %10.3f ms\n",
			(double)r->launch_to_run_ns / 1e6);
	if (r->vmm_memory_bytes > 0)
		fprintf(
		    f,
		    "  VMM memory                %10.0f KiB (RSS minus the resident guest RAM)\n",
		    (double)r->vmm_memory_bytes / 1024);
	for (unsigned int i = 0; i < r->nr_marks; i++) {
		const struct vm_boot_mark *m = &r->marks[i];

		fprintf(f, "  launch -> boot mark 0x%02x %10.3f ms", m->value, (double)m->ns / 1e6);
		if (m->has_kvm_exits)
			fprintf(f, ", %" PRIu64 " exits", m->kvm_exits);
		fprintf(f, " (%" PRIu64 " to userspace)\n", m->user_exits);
	}
}

static bool is_first(const char *name)
{
	for (size_t i = 0; i < sizeof(kvm_stats_first) / sizeof(kvm_stats_first[0]); i++) {
		if (strcmp(name, kvm_stats_first[i]) == 0)
			return true;
	}
	return false;
}

static void print_kvm_line(FILE *f, const struct stats_report *r, const struct kvm_stats *st,
			   size_t i, uint64_t v)
{
	double wall_s = r->tsc_khz ? (double)r->wall_cycles / ((double)r->tsc_khz * 1e3) : 0;
	char unit[32];

	fprintf(f, "  %-28s %15" PRIu64, kvm_stats_name(st, i), v);
	if (wall_s > 0)
		fprintf(f, " %14.1f", (double)v / wall_s);
	else
		fprintf(f, " %14s", "-");
	kvm_stats_unit(st, i, unit, sizeof(unit));
	fprintf(f, "%s%s\n", *unit ? "  " : "", unit);
}

static void print_kvm_block(FILE *f, const struct stats_report *r, const char *title,
			    const struct kvm_stats *st, const uint64_t *delta)
{
	size_t nr;
	bool any = false;

	if (!st || !delta) {
		fprintf(f, "\n%s: unavailable\n", title);
		return;
	}
	nr = kvm_stats_nr(st);
	fprintf(f, "\n%s (non-zero counters)\n", title);
	fprintf(f, "  %-28s %15s %14s\n", "name", "delta", "per s");
	for (size_t k = 0; k < sizeof(kvm_stats_first) / sizeof(kvm_stats_first[0]); k++) {
		int i = kvm_stats_index(st, kvm_stats_first[k]);

		if (i < 0 || !kvm_stats_is_cumulative(st, i) || delta[i] == 0)
			continue;
		print_kvm_line(f, r, st, i, delta[i]);
		any = true;
	}
	for (size_t i = 0; i < nr; i++) {
		if (!kvm_stats_is_cumulative(st, i) || delta[i] == 0 ||
		    is_first(kvm_stats_name(st, i)))
			continue;
		print_kvm_line(f, r, st, i, delta[i]);
		any = true;
	}
	if (!any)
		fprintf(f, "  (all zero)\n");
}

static int type_width(const struct exit_stats_row *rows, size_t nr)
{
	char type[TYPE_MAX];
	int width = (int)strlen("total");

	for (size_t i = 0; i < nr; i++) {
		row_type(&rows[i], type, sizeof(type));
		if ((int)strlen(type) > width)
			width = (int)strlen(type);
	}
	return width;
}

const char *kernel_exit_format(uint32_t isa, uint32_t code, char *buf, size_t len)
{
	const char *isa_name = exit_isa_name((enum exit_isa)isa);
	char name[32];

	hw_exit_reason_format((enum exit_isa)isa, code, name, sizeof(name));
	if (isa_name)
		snprintf(buf, len, "%s %s", isa_name, name);
	else
		snprintf(buf, len, "isa%u 0x%x", isa, code);
	return buf;
}

static const char kernel_exits_title[] =
    "exits KVM handled in the kernel, by reason (kvm:kvm_exit hist trigger on this VM's vCPU "
    "threads)";

static void print_kernel_exits(FILE *f, const struct stats_report *r, uint64_t user_exits)
{
	const struct exit_reason_counts *k = r->kernel_exits;
	double wall_s = r->tsc_khz ? (double)r->wall_cycles / ((double)r->tsc_khz * 1e3) : 0;
	char name[48];

	if (!k) {
		if (r->kernel_exits_why)
			fprintf(f, "\n%s: unavailable: %s\n", kernel_exits_title,
				r->kernel_exits_why);
		return;
	}
	fprintf(f, "\n%s\n", kernel_exits_title);
	fprintf(f, "  %-28s %15s %14s %12s\n", "reason", "count", "per s", "per uexit");
	for (size_t i = 0; i < k->nr; i++) {
		fprintf(f, "  %-28s %15" PRIu64,
			kernel_exit_format(k->r[i].isa, k->r[i].code, name, sizeof(name)),
			k->r[i].count);
		if (wall_s > 0)
			fprintf(f, " %14.1f", (double)k->r[i].count / wall_s);
		else
			fprintf(f, " %14s", "-");
		if (user_exits)
			fprintf(f, " %12.3f\n", (double)k->r[i].count / (double)user_exits);
		else
			fprintf(f, " %12s\n", "-");
	}
	if (k->overflow_hits)
		fprintf(f, "  %-28s %15" PRIu64 "\n", "(other reasons)", k->overflow_hits);
	fprintf(f, "  %-28s %15" PRIu64 "\n", "total", k->total + k->overflow_hits);
	if (k->hist_dropped)
		fprintf(f, "  %" PRIu64 " exits not counted: the kernel's table was full\n",
			k->hist_dropped);
}

static void print_devices(FILE *f, const struct stats_report *r)
{
	for (unsigned int d = 0; d < r->nr_devices; d++) {
		const struct stats_device *dev = &r->devices[d];

		fprintf(f, "\n%s\n", dev->name);
		for (unsigned int i = 0; i < dev->nr; i++)
			fprintf(f, "  %-22s %15" PRIu64 "\n", dev->c[i].name, dev->c[i].value);
	}
}

void stats_report_print_table(FILE *f, const struct stats_report *r)
{
	struct exit_stats_row *rows;
	struct totals t;
	size_t nr;
	int width;

	if (sorted_rows(r->exits, &rows, &nr) < 0) {
		fprintf(f, "exit statistics: out of memory\n");
		return;
	}
	sum_rows(rows, nr, &t);
	print_summary(f, r, &t, r->exits ? exit_stats_count(r->exits) : 0,
		      r->exits ? exit_stats_other_count(r->exits) : 0);
	width = type_width(rows, nr);
	print_cost_block(f, r, "VMM handling time per exit (TSC cycles)", rows, nr, width, false,
			 &t);
	print_cost_block(f, r,
			 "KVM_RUN time per exit (TSC cycles: guest time + in-kernel exits + "
			 "the exit round trip)",
			 rows, nr, width, true, &t);
	if (r->vcpu_stats && r->vcpu_delta) {
		int exits = kvm_stats_index(r->vcpu_stats, "exits");
		uint64_t user = r->exits ? exit_stats_count(r->exits) : 0;

		if (exits >= 0 && user)
			fprintf(f, "\nKVM exits per exit to userspace: %.2f\n",
				(double)r->vcpu_delta[exits] / (double)user);
	}
	print_kvm_block(f, r, "KVM vCPU statistics, summed over vCPUs", r->vcpu_stats,
			r->vcpu_delta);
	print_kvm_block(f, r, "KVM VM statistics", r->vm_stats, r->vm_delta);
	print_kernel_exits(f, r, r->exits ? exit_stats_count(r->exits) : 0);
	print_devices(f, r);
	free(rows);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_string_or_null(FILE *f, const char *s)
{
	if (s)
		json_string(f, s);
	else
		fputs("null", f);
}

static void json_cost(FILE *f, const struct stats_report *r, const char *name,
		      const struct welford *w, uint64_t total)
{
	fprintf(f,
		"\"%s\": {\"min\": %" PRIu64 ", \"max\": %" PRIu64 ", \"sum\": %" PRIu64
		", \"avg\": %.3f, \"stddev\": %.3f, \"avg_ns\": ",
		name, w->min, w->max, w->sum, welford_mean(w), welford_stddev(w));
	if (r->tsc_khz)
		fprintf(f, "%.3f", cycles_to_ns(r, welford_mean(w)));
	else
		fputs("null", f);
	fprintf(f, ", \"pct\": %.3f}", percent((double)w->sum, (double)total));
}

static void json_row(FILE *f, const struct stats_report *r, const struct exit_stats_row *row,
		     const struct totals *t)
{
	char type[TYPE_MAX];
	const char *dir = NULL;

	row_type(row, type, sizeof(type));
	if (row->key.dir == EXIT_DIR_READ)
		dir = "read";
	else if (row->key.dir == EXIT_DIR_WRITE)
		dir = "write";
	fputs("{\"type\": ", f);
	json_string(f, type);
	fprintf(f, ", \"other\": %s", row->other ? "true" : "false");
	if (!row->other) {
		fprintf(f, ", \"reason\": %" PRIu32 ", \"reason_name\": ", row->key.reason);
		json_string_or_null(f, exit_reason_name(row->key.reason));
		fputs(", \"dir\": ", f);
		json_string_or_null(f, dir);
		fprintf(f, ", \"addr\": %" PRIu64 ", \"dev\": ", row->key.addr);
		json_string_or_null(f, row->key.dev);
	}
	fprintf(f, ", \"count\": %" PRIu64 ", ", row->handle.n);
	json_cost(f, r, "handle", &row->handle, t->handle.sum);
	fputs(", ", f);
	json_cost(f, r, "run", &row->run, t->run.sum);
	fputc('}', f);
}

static void json_kvm(FILE *f, const char *name, const struct kvm_stats *st, const uint64_t *delta)
{
	bool first = true;

	fprintf(f, ",\n  \"%s\": ", name);
	if (!st || !delta) {
		fputs("null", f);
		return;
	}
	fputs("{\"id\": ", f);
	json_string(f, kvm_stats_id(st));
	fputs(", \"delta\": {", f);
	for (size_t i = 0; i < kvm_stats_nr(st); i++) {
		if (!kvm_stats_is_cumulative(st, i))
			continue;
		fputs(first ? "" : ", ", f);
		json_string(f, kvm_stats_name(st, i));
		fprintf(f, ": %" PRIu64, delta[i]);
		first = false;
	}
	fputs("}}", f);
}

static void json_kernel_exits(FILE *f, const struct stats_report *r)
{
	const struct exit_reason_counts *k = r->kernel_exits;
	char name[48];

	if (!k && !r->kernel_exits_why)
		return;
	fputs(",\n  \"kernel_exits\": ", f);
	if (!k) {
		fputs("{\"unavailable\": ", f);
		json_string(f, r->kernel_exits_why);
		fputs("}", f);
		return;
	}
	fprintf(f,
		"{\"total\": %" PRIu64 ", \"other\": %" PRIu64 ", \"dropped\": %" PRIu64
		", \"reasons\": [",
		k->total + k->overflow_hits, k->overflow_hits, k->hist_dropped);
	for (size_t i = 0; i < k->nr; i++) {
		fprintf(f, "%s{\"isa\": %u, \"code\": %u, \"name\": ", i ? ", " : "", k->r[i].isa,
			k->r[i].code);
		json_string(f, kernel_exit_format(k->r[i].isa, k->r[i].code, name, sizeof(name)));
		fprintf(f, ", \"count\": %" PRIu64 "}", k->r[i].count);
	}
	fputs("]}", f);
}

int stats_report_print_json(FILE *f, const struct stats_report *r)
{
	struct exit_stats_row *rows;
	struct totals t;
	size_t nr;
	int ret = sorted_rows(r->exits, &rows, &nr);

	if (ret)
		return ret;
	sum_rows(rows, nr, &t);
	fprintf(f, "{\n  \"tsc_khz\": %" PRIu64 ",\n  \"wall_cycles\": %" PRIu64 ",\n", r->tsc_khz,
		r->wall_cycles);
	if (r->tsc_khz)
		fprintf(f, "  \"wall_ns\": %.0f,\n", cycles_to_ns(r, (double)r->wall_cycles));
	else
		fputs("  \"wall_ns\": null,\n", f);
	if (r->nested) {
		fputs("  \"nested\": ", f);
		json_string(f, r->nested);
		fputs(",\n", f);
	}
	fprintf(f, "  \"nr_vcpus\": %u,\n", r->nr_vcpus);
	fprintf(f, "  \"exits_total\": %" PRIu64 ",\n  \"exits_other\": %" PRIu64 ",\n",
		r->exits ? exit_stats_count(r->exits) : 0,
		r->exits ? exit_stats_other_count(r->exits) : 0);
	fprintf(f, "  \"guest_cycles\": %" PRIu64 ",\n  \"handle_cycles\": %" PRIu64 ",\n",
		t.run.sum, t.handle.sum);
	fputs("  \"exits\": [", f);
	for (size_t i = 0; i < nr; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		json_row(f, r, &rows[i], &t);
	}
	fputs(nr ? "\n  ]" : "]", f);
	json_kvm(f, "kvm_vcpu", r->vcpu_stats, r->vcpu_delta);
	json_kvm(f, "kvm_vm", r->vm_stats, r->vm_delta);
	json_kernel_exits(f, r);
	if (r->launch_to_run_ns)
		fprintf(f, ",\n  \"launch_to_first_run_ns\": %" PRIu64, r->launch_to_run_ns);
	if (r->vmm_memory_bytes > 0)
		fprintf(f, ",\n  \"vmm_memory_bytes\": %" PRId64, r->vmm_memory_bytes);
	fputs(",\n  \"devices\": [", f);
	for (unsigned int d = 0; d < r->nr_devices; d++) {
		const struct stats_device *dev = &r->devices[d];

		fputs(d ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
		json_string(f, dev->name);
		fputs(", \"counters\": {", f);
		for (unsigned int i = 0; i < dev->nr; i++)
			fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", dev->c[i].name,
				dev->c[i].value);
		fputs("}}", f);
	}
	fputs(r->nr_devices ? "\n  ]" : "]", f);
	fputs(",\n  \"boot_marks\": [", f);
	for (unsigned int i = 0; i < r->nr_marks; i++) {
		const struct vm_boot_mark *m = &r->marks[i];

		fprintf(f, "%s{\"value\": %u, \"ns\": %" PRIu64 ", \"exits\": ", i ? ", " : "",
			m->value, m->ns);
		if (m->has_kvm_exits)
			fprintf(f, "%" PRIu64, m->kvm_exits);
		else
			fputs("null", f);
		fprintf(f, ", \"user_exits\": %" PRIu64 "}", m->user_exits);
	}
	fputs("]\n}\n", f);
	free(rows);
	return ferror(f) ? -EIO : 0;
}
