/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fake_kvm_stats.h"
#include "vmm/stats_report.h"

/* ---- a strict little JSON checker (RFC 8259 grammar, no semantics) ---- */

struct json {
	const char *p;
	int depth;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
		j->p++;
}

static bool json_string_tok(struct json *j)
{
	if (*j->p != '"')
		return false;
	for (j->p++; *j->p != '"'; j->p++) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '\0' || c < 0x20)
			return false;
		if (c != '\\')
			continue;
		j->p++;
		if (*j->p == 'u') {
			for (int k = 1; k <= 4; k++) {
				if (!isxdigit((unsigned char)j->p[k]))
					return false;
			}
			j->p += 4;
		} else if (!strchr("\"\\/bfnrt", *j->p) || *j->p == '\0') {
			return false;
		}
	}
	j->p++;
	return true;
}

static bool json_number(struct json *j)
{
	const char *s = j->p;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0') {
		j->p++;
	} else if (isdigit((unsigned char)*j->p)) {
		while (isdigit((unsigned char)*j->p))
			j->p++;
	} else {
		return false;
	}
	if (*j->p == '.') {
		j->p++;
		if (!isdigit((unsigned char)*j->p))
			return false;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!isdigit((unsigned char)*j->p))
			return false;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	return j->p > s;
}

static bool json_container(struct json *j, char open, char close)
{
	bool first = true;

	if (++j->depth > 32)
		return false;
	j->p++; /* open */
	(void)open;
	json_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		if (!first) {
			if (*j->p != ',')
				return false;
			j->p++;
			json_ws(j);
		}
		first = false;
		if (open == '{') {
			if (!json_string_tok(j))
				return false;
			json_ws(j);
			if (*j->p != ':')
				return false;
			j->p++;
			json_ws(j);
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
	}
}

static bool json_value(struct json *j)
{
	json_ws(j);
	switch (*j->p) {
	case '{':
		return json_container(j, '{', '}');
	case '[':
		return json_container(j, '[', ']');
	case '"':
		return json_string_tok(j);
	case 't':
		return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, true) : false;
	case 'f':
		return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, true) : false;
	case 'n':
		return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, true) : false;
	}
	return json_number(j);
}

static bool json_valid(const char *text)
{
	struct json j = {text, 0};

	json_ws(&j);
	if (*j.p != '{' || !json_value(&j))
		return false;
	json_ws(&j);
	return *j.p == '\0';
}

static void test_json_checker_rejects(void **state)
{
	/* The checker must be able to say no, or the JSON tests prove nothing. */
	(void)state;
	assert_true(json_valid("{\"a\": [1, 2.5, -3e4, \"x\\\"y\", null, true, {}]}"));
	assert_false(json_valid("{\"a\": 1,}"));
	assert_false(json_valid("{\"a\": nan}"));
	assert_false(json_valid("{\"a\": \"tab\there\"}"));
	assert_false(json_valid("{\"a\": \"bad \\q escape\"}"));
	assert_false(json_valid("{\"a\": [1 2]}"));
	assert_false(json_valid("{\"a\": 1} x"));
	assert_false(json_valid("{\"a\": {\"b\": 1}"));
	assert_false(json_valid("{\"a\": 01}"));
}

/* ---- fixtures ---- */

static char *buf;
static size_t buf_len;

static FILE *mem_open(void)
{
	FILE *f = open_memstream(&buf, &buf_len);

	assert_non_null(f);
	return f;
}

static void mem_close(FILE *f)
{
	assert_int_equal(fclose(f), 0);
}

static void rec(struct exit_stats *s, uint32_t reason, uint32_t dir, uint64_t addr, const char *dev,
		uint64_t run, uint64_t handle, int times)
{
	struct exit_key key = {reason, dir, addr, dev};

	for (int i = 0; i < times; i++)
		exit_stats_record(s, &key, run, handle);
}

/*
 * A workload whose table is known by construction:
 *   IO out 0x3f8 serial          5 x (run 2000, handle 100)  handle sum  500
 *   MMIO write 0xd0000000 ...    3 x (run 4000, handle 200)  handle sum  600
 *   IO in 0x80 (unclaimed)       2 x (run 1000, handle  50)  handle sum  100
 *   MSR rd 0x4e560001            1 x (run 1000, handle 300)
 *   HLT                          1 x (run 6000, handle 500)
 * handle total 2000, run total 31000, 12 exits.
 */
static struct exit_stats *workload(void)
{
	struct exit_stats *s = exit_stats_new();

	assert_non_null(s);
	rec(s, KVM_EXIT_IO, EXIT_DIR_WRITE, 0x3f8, "serial", 2000, 100, 5);
	rec(s, KVM_EXIT_MMIO, EXIT_DIR_WRITE, 0xd0000000, "bench-mmio", 4000, 200, 3);
	rec(s, KVM_EXIT_IO, EXIT_DIR_READ, 0x80, NULL, 1000, 50, 2);
	rec(s, KVM_EXIT_X86_RDMSR, EXIT_DIR_READ, 0x4e560001, NULL, 1000, 300, 1);
	rec(s, KVM_EXIT_HLT, EXIT_DIR_NONE, 0, NULL, 6000, 500, 1);
	return s;
}

/* The line of @block (text after the block's title) that starts with @type. */
static const char *find_line(const char *text, const char *block, const char *type)
{
	const char *p = strstr(text, block);
	size_t tl = strlen(type);

	assert_non_null(p);
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (*p == '\n' || *p == '\0')
			return NULL; /* end of the block */
		if (strncmp(p, type, tl) == 0 && p[tl] == ' ')
			return p;
	}
	return NULL;
}

struct cost_line {
	uint64_t count, min, max, sum;
	double avg, stddev, avg_ns, pct;
};

static struct cost_line parse_line(const char *line, const char *type)
{
	struct cost_line c;
	int n = sscanf(line + strlen(type),
		       " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %lf %lf %lf %lf", &c.count,
		       &c.min, &c.max, &c.sum, &c.avg, &c.stddev, &c.avg_ns, &c.pct);

	assert_int_equal(n, 8);
	return c;
}

/* "  <label>   <number> cycles  <pct>% ..." of the summary; @pct may be NULL. */
static uint64_t summary_value(const char *text, const char *label, double *pct)
{
	const char *p = strstr(text, label);
	char *end;
	uint64_t v;

	assert_non_null(p);
	v = strtoull(p + strlen(label), &end, 10);
	assert_true(end > p + strlen(label));
	if (pct) {
		assert_int_equal(strncmp(end, " cycles", 7), 0);
		*pct = strtod(end + 7, &end);
		assert_int_equal(*end, '%');
	}
	return v;
}

/* The line starting at @p, without its newline (free it). */
static char *line_at(const char *p)
{
	return strndup(p, strcspn(p, "\n"));
}

static const char *HANDLE_BLOCK = "VMM handling time per exit";
static const char *RUN_BLOCK = "KVM_RUN time per exit";

static void test_table_rows(void **state)
{
	struct exit_stats *s = workload();
	struct stats_report r = {
	    .tsc_khz = 2000000, /* 2 GHz: ns = cycles / 2 */
	    .wall_cycles = 100000,
	    .nr_vcpus = 1,
	    .exits = s,
	};
	struct cost_line c;
	FILE *f = mem_open();

	(void)state;
	stats_report_print_table(f, &r);
	mem_close(f);

	c = parse_line(find_line(buf, HANDLE_BLOCK, "IO out 0x3f8 serial"), "IO out 0x3f8 serial");
	assert_int_equal(c.count, 5);
	assert_int_equal(c.min, 100);
	assert_int_equal(c.max, 100);
	assert_int_equal(c.sum, 500);
	assert_true(c.avg == 100.0);
	assert_true(c.stddev == 0.0);
	assert_true(c.avg_ns == 50.0);
	assert_true(c.pct == 25.0); /* 500 of 2000 */

	c = parse_line(find_line(buf, HANDLE_BLOCK, "MMIO write 0xd0000000 bench-mmio"),
		       "MMIO write 0xd0000000 bench-mmio");
	assert_int_equal(c.count, 3);
	assert_int_equal(c.sum, 600);
	assert_true(c.pct == 30.0);

	c = parse_line(find_line(buf, HANDLE_BLOCK, "IO in 0x80 (unclaimed)"),
		       "IO in 0x80 (unclaimed)");
	assert_int_equal(c.count, 2);

	c = parse_line(find_line(buf, HANDLE_BLOCK, "MSR rd 0x4e560001"), "MSR rd 0x4e560001");
	assert_int_equal(c.count, 1);
	assert_int_equal(c.max, 300);

	c = parse_line(find_line(buf, HANDLE_BLOCK, "HLT"), "HLT");
	assert_int_equal(c.count, 1);
	assert_true(c.pct == 25.0);

	c = parse_line(find_line(buf, HANDLE_BLOCK, "total"), "total");
	assert_int_equal(c.count, 12);
	assert_int_equal(c.sum, 2000);
	assert_int_equal(c.min, 50);
	assert_int_equal(c.max, 500);
	assert_true(c.pct == 100.0);

	/* The KVM_RUN block holds the run cycles of the same keys. */
	c = parse_line(find_line(buf, RUN_BLOCK, "MMIO write 0xd0000000 bench-mmio"),
		       "MMIO write 0xd0000000 bench-mmio");
	assert_int_equal(c.count, 3);
	assert_int_equal(c.sum, 12000);
	assert_true(c.avg_ns == 2000.0);
	c = parse_line(find_line(buf, RUN_BLOCK, "total"), "total");
	assert_int_equal(c.sum, 31000);

	/* Sorted by count: the 5-exit row comes before the 3-exit row. */
	assert_true(find_line(buf, HANDLE_BLOCK, "IO out 0x3f8 serial") <
		    find_line(buf, HANDLE_BLOCK, "MMIO write 0xd0000000 bench-mmio"));
	assert_true(find_line(buf, HANDLE_BLOCK, "MMIO write 0xd0000000 bench-mmio") <
		    find_line(buf, HANDLE_BLOCK, "IO in 0x80 (unclaimed)"));

	/* Summary: guest time 31000 of wall 100000 x 1 vCPU, handlers 2000 = 2%. */
	double pct;

	assert_int_equal(summary_value(buf, "exits to userspace", NULL), 12);
	assert_int_equal(summary_value(buf, "time in guest", &pct), 31000);
	assert_true(pct == 31.0);
	assert_int_equal(summary_value(buf, "time in VMM handlers", &pct), 2000);
	assert_true(pct == 2.0);
	assert_int_equal(summary_value(buf, "wall time", NULL), 100000);
	free(buf);
	exit_stats_free(s);
}

static void test_table_without_tsc_khz(void **state)
{
	struct exit_stats *s = workload();
	struct stats_report r = {.wall_cycles = 100000, .nr_vcpus = 2, .exits = s};
	FILE *f = mem_open();
	const char *line;

	(void)state;
	stats_report_print_table(f, &r);
	mem_close(f);
	line = find_line(buf, HANDLE_BLOCK, "HLT");
	assert_non_null(line);
	/* No clock rate: the ns column says "-" rather than inventing one. */
	assert_non_null(strstr(line, " - "));
	/* 31000 run cycles over 2 vCPUs x 100000 */
	assert_non_null(strstr(buf, "15.50% of wall x vCPUs"));
	assert_null(strstr(buf, "nan"));
	free(buf);
	exit_stats_free(s);
}

static void test_unknown_reason_and_empty(void **state)
{
	struct exit_stats *s = exit_stats_new();
	struct stats_report r = {.tsc_khz = 1000000, .wall_cycles = 0, .nr_vcpus = 0, .exits = s};
	FILE *f = mem_open();

	(void)state;
	stats_report_print_table(f, &r); /* nothing recorded, zero wall: no division by zero */
	mem_close(f);
	assert_null(strstr(buf, "nan"));
	assert_null(strstr(buf, "inf"));
	free(buf);

	rec(s, 250, EXIT_DIR_NONE, 0, NULL, 10, 10, 2);
	rec(s, KVM_EXIT_SHUTDOWN, EXIT_DIR_NONE, 0, NULL, 10, 10, 1);
	f = mem_open();
	stats_report_print_table(f, &r);
	mem_close(f);
	assert_int_equal(parse_line(find_line(buf, HANDLE_BLOCK, "exit 250"), "exit 250").count, 2);
	assert_int_equal(parse_line(find_line(buf, HANDLE_BLOCK, "SHUTDOWN"), "SHUTDOWN").count, 1);
	free(buf);
	exit_stats_free(s);
}

static void test_key_format(void **state)
{
	char b[96];
	const struct exit_key io = {KVM_EXIT_IO, EXIT_DIR_WRITE, 0x3f8, "serial"};
	const struct exit_key mmio = {KVM_EXIT_MMIO, EXIT_DIR_READ, 0xfee00000, NULL};
	const struct exit_key wrmsr = {KVM_EXIT_X86_WRMSR, EXIT_DIR_WRITE, 0x10, NULL};
	const struct exit_key hlt = {KVM_EXIT_HLT, EXIT_DIR_NONE, 0, NULL};

	(void)state;
	exit_key_format(&io, b, sizeof(b));
	assert_string_equal(b, "IO out 0x3f8 serial");
	exit_key_format(&mmio, b, sizeof(b));
	assert_string_equal(b, "MMIO read 0xfee00000 (unclaimed)");
	exit_key_format(&wrmsr, b, sizeof(b));
	assert_string_equal(b, "MSR wr 0x10");
	exit_key_format(&hlt, b, sizeof(b));
	assert_string_equal(b, "HLT");
	/* Truncation is snprintf's: NUL-terminated, length reported. */
	assert_int_equal(exit_key_format(&io, b, 8), (int)strlen("IO out 0x3f8 serial"));
	assert_string_equal(b, "IO out ");
}

/* ---- KVM stats in the report ---- */

static const struct fake_stat vcpu_desc[] = {
    {"halt_wait_ns", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS, -9, 1, 0},
    {"pf_taken", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 8},
    {"blocking", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1, 16},
    {"zzz_rare", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 24},
    {"io_exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 32},
    {"exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 40},
    {"zero_count", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 48},
};
#define NR_VCPU_DESC (sizeof(vcpu_desc) / sizeof(vcpu_desc[0]))

static struct kvm_stats *fake_vcpu_stats(void)
{
	uint64_t zero[NR_VCPU_DESC] = {0};
	struct kvm_stats *st;
	int fd = fake_stats_fd("kvm-7/vcpu-0", vcpu_desc, NR_VCPU_DESC, zero, NR_VCPU_DESC);

	assert_true(fd >= 0);
	assert_int_equal(kvm_stats_open_fd(&st, fd), 0);
	assert_int_equal(kvm_stats_nr(st), NR_VCPU_DESC);
	return st;
}

/* In descriptor order: halt_wait_ns pf_taken blocking zzz_rare io_exits exits zero_count */
static const uint64_t vcpu_delta[NR_VCPU_DESC] = {1500, 7, 1, 3, 10, 48, 0};

static void test_table_kvm_stats(void **state)
{
	struct exit_stats *s = workload();
	struct kvm_stats *st = fake_vcpu_stats();
	struct stats_report r = {
	    .tsc_khz = 1000000,
	    .wall_cycles = 1000000000, /* one second */
	    .nr_vcpus = 1,
	    .exits = s,
	    .vcpu_stats = st,
	    .vcpu_delta = vcpu_delta,
	};
	const char *block, *exits, *io, *pf, *rare, *halt;
	char *line, *end;
	FILE *f = mem_open();

	(void)state;
	stats_report_print_table(f, &r);
	mem_close(f);
	block = strstr(buf, "KVM vCPU statistics");
	assert_non_null(block);
	exits = strstr(block, "  exits ");
	io = strstr(block, "  io_exits ");
	pf = strstr(block, "  pf_taken ");
	rare = strstr(block, "  zzz_rare ");
	halt = strstr(block, "  halt_wait_ns ");
	assert_non_null(exits);
	assert_non_null(io);
	assert_non_null(pf);
	assert_non_null(rare);
	assert_non_null(halt);
	/* The exit counters lead, whatever the kernel's descriptor order. */
	assert_true(exits < io);
	assert_true(io < pf);
	/* Then the others, in the kernel's order. */
	assert_true(pf < halt);
	assert_true(halt < rare);
	/* Zero counters and non-cumulative values are left out. */
	assert_null(strstr(block, "zero_count"));
	assert_null(strstr(block, "blocking"));
	/* Values, rates per second of wall time, units. */
	line = line_at(halt);
	/* 1500 ns in one second: 1500.0 per s, unit shown. */
	assert_int_equal(strtoull(line + strlen("  halt_wait_ns "), &end, 10), 1500);
	assert_true(strtod(end, &end) == 1500.0);
	assert_string_equal(end, "  ns");
	free(line);
	line = line_at(exits);
	assert_int_equal(strtoull(line + strlen("  exits "), &end, 10), 48);
	assert_true(strtod(end, &end) == 48.0);
	assert_string_equal(end, ""); /* a plain count has no unit */
	free(line);
	/* 48 KVM exits for 12 exits to userspace. */
	assert_non_null(strstr(buf, "KVM exits per exit to userspace: 4.00"));
	/* No VM stats given. */
	assert_non_null(strstr(buf, "KVM VM statistics: unavailable"));
	free(buf);
	kvm_stats_close(st);
	exit_stats_free(s);
}

/* ---- JSON ---- */

/* The text of the exits[] object whose "type" is @type. */
static char *json_row_text(const char *json, const char *type)
{
	char needle[128];
	const char *start, *end;

	snprintf(needle, sizeof(needle), "{\"type\": \"%s\"", type);
	start = strstr(json, needle);
	if (!start)
		return NULL;
	end = strstr(start + 1, "{\"type\": ");
	if (!end)
		end = strstr(start, "\n  ]");
	assert_non_null(end);
	return strndup(start, (size_t)(end - start));
}

static void assert_has(const char *text, const char *pair)
{
	if (!text)
		fail_msg("missing %s: no text", pair);
	else if (!strstr(text, pair))
		fail_msg("missing %s in %s", pair, text);
}

static void test_json(void **state)
{
	struct exit_stats *s = workload();
	struct kvm_stats *st = fake_vcpu_stats();
	struct stats_report r = {
	    .tsc_khz = 2000000,
	    .wall_cycles = 100000,
	    .nr_vcpus = 1,
	    .exits = s,
	    .vcpu_stats = st,
	    .vcpu_delta = vcpu_delta,
	};
	FILE *f = mem_open();
	char *row;

	(void)state;
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON:\n%s", buf);

	assert_has(buf, "\"tsc_khz\": 2000000");
	assert_has(buf, "\"wall_cycles\": 100000");
	assert_has(buf, "\"wall_ns\": 50000");
	assert_has(buf, "\"exits_total\": 12");
	assert_has(buf, "\"exits_other\": 0");
	assert_has(buf, "\"guest_cycles\": 31000");
	assert_has(buf, "\"handle_cycles\": 2000");

	row = json_row_text(buf, "IO out 0x3f8 serial");
	assert_non_null(row);
	assert_has(row, "\"reason\": 2");
	assert_has(row, "\"reason_name\": \"IO\"");
	assert_has(row, "\"dir\": \"write\"");
	assert_has(row, "\"addr\": 1016");
	assert_has(row, "\"dev\": \"serial\"");
	assert_has(row, "\"count\": 5");
	assert_has(row, "\"handle\": {\"min\": 100, \"max\": 100, \"sum\": 500");
	assert_has(row, "\"avg_ns\": 50.000");
	assert_has(row, "\"pct\": 25.000");
	free(row);

	row = json_row_text(buf, "IO in 0x80 (unclaimed)");
	assert_non_null(row);
	assert_has(row, "\"dev\": null");
	assert_has(row, "\"count\": 2");
	free(row);

	row = json_row_text(buf, "HLT");
	assert_non_null(row);
	assert_has(row, "\"dir\": null");
	assert_has(row, "\"run\": {\"min\": 6000, \"max\": 6000, \"sum\": 6000");
	free(row);

	/* KVM stats: every cumulative value, zero included; nothing else. */
	assert_has(buf, "\"kvm_vcpu\": {\"id\": \"kvm-7/vcpu-0\"");
	assert_has(buf, "\"exits\": 48");
	assert_has(buf, "\"zero_count\": 0");
	assert_has(buf, "\"halt_wait_ns\": 1500");
	assert_null(strstr(buf, "\"blocking\""));
	assert_has(buf, "\"kvm_vm\": null");
	free(buf);
	kvm_stats_close(st);
	exit_stats_free(s);
}

static void test_json_escapes_and_other_row(void **state)
{
	struct exit_stats *s = exit_stats_new();
	struct stats_report r = {.nr_vcpus = 1, .exits = s};
	FILE *f = mem_open();

	(void)state;
	rec(s, KVM_EXIT_IO, EXIT_DIR_WRITE, 0x10, "we\"ird\\dev\n\x01", 5, 5, 1);
	for (uint64_t k = 0; k < EXIT_STATS_MAX_KEYS + 3; k++)
		rec(s, KVM_EXIT_MMIO, EXIT_DIR_READ, 0x1000 + k, NULL, 1, 1, 1);
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON");
	assert_has(buf, "\"dev\": \"we\\\"ird\\\\dev\\u000a\\u0001\"");
	assert_has(buf, "{\"type\": \"(other)\", \"other\": true, \"count\": 4");
	assert_has(buf, "\"exits_other\": 4");
	assert_has(buf, "\"avg_ns\": null"); /* tsc_khz unknown */
	free(buf);
	exit_stats_free(s);
}

static void test_json_empty(void **state)
{
	struct stats_report r = {0};
	FILE *f = mem_open();

	(void)state;
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON:\n%s", buf);
	assert_has(buf, "\"exits\": []");
	assert_has(buf, "\"kvm_vcpu\": null");
	free(buf);
}

/* Device counters: a block each in the table, an object each in the JSON. */
static void test_device_counters(void **state)
{
	struct stats_device dev[2] = {
	    {.name = "virtio-net tap0", .nr = 2, .c = {{"rx_packets", 12}, {"tx_drop_csum", 3}}},
	    {.name = "virtio-net \"odd\"", .nr = 0},
	};
	struct stats_report r = {.nr_vcpus = 1, .devices = dev, .nr_devices = 2};
	FILE *f = mem_open();

	(void)state;
	stats_report_print_table(f, &r);
	mem_close(f);
	assert_has(buf, "\nvirtio-net tap0\n  rx_packets                          12\n"
			"  tx_drop_csum                         3\n");
	free(buf);
	f = mem_open();
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON:\n%s", buf);
	assert_has(buf, "{\"name\": \"virtio-net tap0\", \"counters\": {\"rx_packets\": 12, "
			"\"tx_drop_csum\": 3}}");
	assert_has(buf, "{\"name\": \"virtio-net \\\"odd\\\"\", \"counters\": {}}");
	free(buf);
	/* None: an empty list. */
	r.nr_devices = 0;
	f = mem_open();
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	assert_has(buf, "\"devices\": []");
	free(buf);
}

/* The nested line, and a missing TSC frequency next to it, keep the JSON valid. */
static void test_nested_line(void **state)
{
	struct stats_report r = {.nr_vcpus = 1, .nested = "SVM (auto): rev 1, 8 ASIDs; \"NPT\""};
	FILE *f = mem_open();

	(void)state;
	stats_report_print_table(f, &r);
	mem_close(f);
	assert_has(buf, "\n  nested for the guest SVM (auto): rev 1, 8 ASIDs; \"NPT\"\n");
	free(buf);
	f = mem_open();
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON:\n%s", buf);
	assert_has(buf, "\"wall_ns\": null");
	assert_has(buf, "\"nested\": \"SVM (auto): rev 1, 8 ASIDs; \\\"NPT\\\"\"");
	free(buf);
}

/*
 * The exits KVM handled in the kernel: per reason with per second (wall
 * 1 s here) and per exit to userspace (12 in workload()), overflow and
 * Dropped; or the one line that says why there is none.
 */
static void test_kernel_exits(void **state)
{
	static struct exit_reason_counts k;
	struct exit_stats *s = workload();
	struct stats_report r = {
	    .tsc_khz = 1000, .wall_cycles = 1000000, .nr_vcpus = 1, .exits = s, .kernel_exits = &k};
	FILE *f;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.nr = 2;
	k.r[0] = (struct exit_reason_count){2, 0x81, 2400}; /* SVM VMMCALL */
	k.r[1] = (struct exit_reason_count){1, 48, 60};	    /* VMX EPT_VIOLATION */
	k.total = 2460;
	k.overflow_hits = 40;
	k.hist_dropped = 7;
	f = mem_open();
	stats_report_print_table(f, &r);
	mem_close(f);
	assert_has(buf, "exits KVM handled in the kernel, by reason");
	/* 2400 in 1 s; 2400 / 12 userspace exits */
	assert_has(buf,
		   "  SVM VMMCALL                             2400         2400.0      200.000\n");
	assert_has(buf,
		   "  VMX EPT_VIOLATION                         60           60.0        5.000\n");
	assert_has(buf, "  (other reasons)                           40\n");
	assert_has(buf, "  total                                   2500\n");
	assert_has(buf, "  7 exits not counted: the kernel's table was full\n");
	free(buf);

	f = mem_open();
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON:\n%s", buf);
	assert_has(buf, "\"kernel_exits\": {\"total\": 2500, \"other\": 40, \"dropped\": 7");
	assert_has(buf, "{\"isa\": 2, \"code\": 129, \"name\": \"SVM VMMCALL\", \"count\": 2400}");
	free(buf);

	r.kernel_exits = NULL;
	r.kernel_exits_why = "this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)";
	f = mem_open();
	stats_report_print_table(f, &r);
	mem_close(f);
	assert_has(buf, "by reason (kvm:kvm_exit hist trigger on this VM's vCPU threads): "
			"unavailable: this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)\n");
	free(buf);
	f = mem_open();
	assert_int_equal(stats_report_print_json(f, &r), 0);
	mem_close(f);
	if (!json_valid(buf))
		fail_msg("invalid JSON:\n%s", buf);
	assert_has(buf, "\"kernel_exits\": {\"unavailable\": \"this kernel has no hist");
	free(buf);

	/* Not asked for: not a word. */
	r.kernel_exits_why = NULL;
	f = mem_open();
	stats_report_print_table(f, &r);
	mem_close(f);
	assert_null(strstr(buf, "handled in the kernel"));
	free(buf);
	exit_stats_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nested_line),
	    cmocka_unit_test(test_kernel_exits),
	    cmocka_unit_test(test_json_checker_rejects),
	    cmocka_unit_test(test_table_rows),
	    cmocka_unit_test(test_table_without_tsc_khz),
	    cmocka_unit_test(test_unknown_reason_and_empty),
	    cmocka_unit_test(test_key_format),
	    cmocka_unit_test(test_table_kvm_stats),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_json_escapes_and_other_row),
	    cmocka_unit_test(test_json_empty),
	    cmocka_unit_test(test_device_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
