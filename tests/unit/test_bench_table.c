/* SPDX-License-Identifier: MIT */
/*
 * The bench table and its JSON twin, from a hand-made outcome: every row's
 * figures are recomputed here from the raw counts (cycles/iter = cycles /
 * iters, ns = cycles * 1e6 / tsc_khz, ratio = VM cycles/iter over native
 * cycles/iter) and compared with what was printed, within the printed
 * precision. The JSON goes through a strict little parser of its own.
 */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_table.h"
#include "bench/bench_vm.h"
#include "bench/workloads.h"

/* ---- expected figures, negative for "not available" ---- */

struct expect {
	const char *name;
	const struct bench_result *r;
	double cycles_per_iter, ns_per_iter, exits_per_iter, user_exits_per_iter;
	double native_ns_per_iter, ratio;
	double iops;	 /* the blk workloads only */
	bool printed;	 /* seen once in the output */
	bool io_printed; /* seen once in the I/O section */
};

static struct expect expected(const struct bench_result *r, uint64_t tsc_khz)
{
	const struct bench_workload_info *w = bench_workload_by_id(r->workload);
	struct expect e = {.name = w ? w->name : "?", .r = r};

	e.cycles_per_iter = e.ns_per_iter = e.exits_per_iter = e.user_exits_per_iter = -1;
	e.native_ns_per_iter = e.ratio = e.iops = -1;
	if (!r->iters)
		return e;
	if (bench_workload_uses_disk(r->workload) && r->cycles && tsc_khz)
		e.iops = 1e9 / ((double)r->cycles / (double)r->iters / ((double)tsc_khz / 1e6));
	e.cycles_per_iter = (double)r->cycles / (double)r->iters;
	if (tsc_khz)
		e.ns_per_iter = (double)r->cycles / (double)r->iters / ((double)tsc_khz / 1e6);
	if (r->has_kvm_exits)
		e.exits_per_iter = (double)r->kvm_exits / (double)r->iters;
	e.user_exits_per_iter = (double)r->user_exits / (double)r->iters;
	if (r->has_native && r->native_iters) {
		double native = (double)r->native_cycles / (double)r->native_iters;

		if (tsc_khz)
			e.native_ns_per_iter = native / ((double)tsc_khz / 1e6);
		if (r->native_cycles)
			e.ratio = ((double)r->cycles / (double)r->iters) / native;
	}
	return e;
}

/* Printed with @decimals digits: within half a unit of the last one (and rounding noise). */
static void assert_close(double got, double want, int decimals)
{
	double tol = 0.5 * pow(10, -decimals) + 1e-9 * fabs(want);

	if (fabs(got - want) > tol)
		fail_msg("printed %.6f, expected %.6f", got, want);
}

/* ---- output capture ---- */

static char *render(const struct bench_outcome *out, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (json)
		bench_table_print_json(f, out);
	else
		bench_table_print(f, out);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	print_message("%s", buf);
	return buf;
}

/* ---- the outcome under test ---- */

static struct bench_outcome outcome;

static void build_outcome(void)
{
	memset(&outcome, 0, sizeof(outcome));
	outcome.tsc_khz = 2345678; /* 2.345678 GHz */
	outcome.nr_cpus = 2;
	outcome.nr_workloads = 3;
	for (uint32_t c = 0; c < 2; c++) {
		/* cpuid: no KVM stats fd, so no exit count. */
		outcome.results[c][0] = (struct bench_result){
		    .valid = true,
		    .workload = BENCH_W_CPUID,
		    .cpu = c,
		    .cpl = 3,
		    .iters = 1048576 + c,
		    .cycles = 19000000000ULL + 777 * c,
		    .value = 0,
		    .has_kvm_exits = false,
		    .user_exits = 0,
		};
		/* pio: every iteration exits to userspace. */
		outcome.results[c][1] = (struct bench_result){
		    .valid = true,
		    .workload = BENCH_W_PIO,
		    .cpu = c,
		    .cpl = 3,
		    .iters = 65536,
		    .cycles = 3276800000ULL + 12345 * c,
		    .value = 0,
		    .has_kvm_exits = true,
		    .kvm_exits = 65536 * 3 + 7 + c,
		    .user_exits = 65536 + c,
		};
		/* fib: compute, also timed natively. */
		outcome.results[c][2] = (struct bench_result){
		    .valid = true,
		    .workload = BENCH_W_FIB,
		    .cpu = c,
		    .cpl = 3,
		    .iters = 3000,
		    .cycles = 165000000ULL + 999 * c,
		    .value = 10946,
		    .has_kvm_exits = true,
		    .kvm_exits = 12 + c,
		    .user_exits = 0,
		    .has_native = true,
		    .native_iters = 4096,
		    .native_cycles = 210000000ULL + c,
		    .native_value = 10946,
		};
	}
	/* Past nr_workloads: must never be printed even though it claims to be valid. */
	outcome.results[0][3] =
	    (struct bench_result){.valid = true, .workload = BENCH_W_MMIO, .iters = 1, .cycles = 1};
}

/* ---- table ---- */

static double table_num(const char *tok, double want, int decimals)
{
	char *end;
	double v;

	if (want < 0) {
		assert_string_equal(tok, "-");
		return -1;
	}
	v = strtod(tok, &end);
	assert_true(end != tok && *end == '\0');
	assert_close(v, want, decimals);
	return v;
}

/* After the trailer: the I/O workloads' rows in IOPS and exits per I/O, then the disk. */
static void check_io_line(char *line, struct expect *rows, size_t nr_rows, bool *io_header,
			  bool *io_note)
{
	char *tok[8], *tsave = NULL;
	size_t n = 0;
	struct expect *e = NULL;

	assert_false(*io_note); /* the note ends the output */
	if (strncmp(line, "I/O workload", 12) == 0) {
		assert_false(*io_header);
		assert_non_null(strstr(line, "IOPS"));
		assert_non_null(strstr(line, "exits/I/O"));
		*io_header = true;
		return;
	}
	assert_true(*io_header);
	if (strncmp(line, "4 KiB random reads; ", 20) == 0) {
		assert_string_equal(line + 20, outcome.disk_note);
		*io_note = true;
		return;
	}
	for (char *t = strtok_r(line, " ", &tsave); t && n < 8; t = strtok_r(NULL, " ", &tsave))
		tok[n++] = t;
	assert_int_equal(n, 4);
	for (size_t i = 0; i < nr_rows; i++)
		if (!rows[i].io_printed && strcmp(rows[i].name, tok[0]) == 0) {
			e = &rows[i];
			break;
		}
	if (!e)
		fail_msg("unexpected I/O row %s", tok[0]);
	assert_true(bench_workload_uses_disk(e->r->workload));
	e->io_printed = true;
	table_num(tok[1], e->iops, 0);
	table_num(tok[2], e->exits_per_iter, 3);
	table_num(tok[3], e->user_exits_per_iter, 3);
}

static void check_table(const char *text, struct expect *rows, size_t nr_rows, uint64_t tsc_khz)
{
	char *copy = strdup(text), *save = NULL, *line;
	size_t nr_lines = 0, nr_data = 0;
	bool trailer = false, io_header = false, io_note = false;
	char want_trailer[64];

	assert_non_null(copy);
	snprintf(want_trailer, sizeof(want_trailer), "TSC %llu kHz", (unsigned long long)tsc_khz);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[16], *tsave = NULL;
		size_t n = 0;
		struct expect *e = NULL;

		nr_lines++;
		if (nr_lines == 1) {
			/* The header names every column. */
			static const char *const cols[] = {
			    "workload", "cpu",	      "cpl",	     "iterations", "cycles/iter",
			    "ns/iter",	"exits/iter", "uexits/iter", "native",	   "VM/native"};

			for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
				assert_non_null(strstr(line, cols[i]));
			continue;
		}
		if (strncmp(line, "TSC ", 4) == 0) {
			assert_true(strncmp(line, want_trailer, strlen(want_trailer)) == 0);
			trailer = true;
			continue;
		}
		if (trailer) {
			check_io_line(line, rows, nr_rows, &io_header, &io_note);
			continue;
		}
		for (char *t = strtok_r(line, " ", &tsave); t && n < 16;
		     t = strtok_r(NULL, " ", &tsave))
			tok[n++] = t;
		assert_int_equal(n, 10);
		for (size_t i = 0; i < nr_rows; i++)
			if (!rows[i].printed && strcmp(rows[i].name, tok[0]) == 0 &&
			    rows[i].r->cpu == strtoul(tok[1], NULL, 10)) {
				e = &rows[i];
				break;
			}
		if (!e)
			fail_msg("unexpected row %s cpu %s", tok[0], tok[1]);
		e->printed = true;
		nr_data++;
		assert_int_equal(strtoul(tok[2], NULL, 10), e->r->cpl);
		assert_int_equal(strtoull(tok[3], NULL, 10), e->r->iters);
		table_num(tok[4], e->cycles_per_iter, 1);
		table_num(tok[5], e->ns_per_iter, 1);
		table_num(tok[6], e->exits_per_iter, 3);
		table_num(tok[7], e->user_exits_per_iter, 3);
		table_num(tok[8], e->native_ns_per_iter, 1);
		table_num(tok[9], e->ratio, 2);
	}
	assert_true(trailer);
	assert_int_equal(nr_data, nr_rows);
	/* Every I/O row in the I/O section too, and no other row there. */
	for (size_t i = 0; i < nr_rows; i++)
		assert_int_equal(rows[i].io_printed,
				 rows[i].r->iters && bench_workload_uses_disk(rows[i].r->workload));
	assert_int_equal(io_note, io_header && outcome.disk_note[0]);
	free(copy);
}

static size_t expected_rows(const struct bench_outcome *out, struct expect *rows, size_t max)
{
	size_t n = 0;

	for (unsigned int c = 0; c < out->nr_cpus; c++)
		for (unsigned int w = 0; w < out->nr_workloads; w++)
			if (out->results[c][w].valid) {
				assert_true(n < max);
				rows[n++] = expected(&out->results[c][w], out->tsc_khz);
			}
	return n;
}

static void test_table(void **state)
{
	struct expect rows[8];
	size_t n;
	char *text;
	(void)state;

	build_outcome();
	n = expected_rows(&outcome, rows, 8);
	assert_int_equal(n, 6);
	/* The inputs exercise what the test claims to: missing figures and present ones. */
	assert_true(rows[0].exits_per_iter < 0 && rows[0].ratio < 0);
	assert_true(rows[1].exits_per_iter > 3 && rows[1].user_exits_per_iter >= 1);
	assert_true(rows[2].ratio > 0 && rows[2].native_ns_per_iter > 0);
	text = render(&outcome, false);
	check_table(text, rows, n, outcome.tsc_khz);
	free(text);
}

/* ---- JSON: a strict parser for what the validator needs ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	double num;
	char str[64];
	char key[64];
	struct jnode *first, *next;
};

struct jparser {
	const char *p;
	struct jnode pool[512];
	size_t used;
};

static struct jnode *jvalue(struct jparser *j, int depth);

static void jws(struct jparser *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool jstring(struct jparser *j, char *out, size_t len)
{
	size_t n = 0;

	if (*j->p != '"')
		return false;
	j->p++;
	while (*j->p != '"') {
		char c = *j->p++;

		if ((unsigned char)c < 0x20)
			return false; /* raw control characters are not allowed */
		if (c == '\\') {
			c = *j->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*j->p++))
						return false;
				c = '?';
			} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
				return false;
			}
		}
		if (n + 1 >= len)
			return false;
		out[n++] = c;
	}
	j->p++;
	out[n] = '\0';
	return true;
}

static bool jnumber(struct jparser *j, double *out)
{
	const char *s = j->p;

	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (isdigit((unsigned char)*j->p))
			j->p++;
	else
		return false;
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
	*out = strtod(s, NULL);
	return true;
}

static struct jnode *jnew(struct jparser *j, enum jtype t)
{
	struct jnode *n;

	if (j->used == sizeof(j->pool) / sizeof(j->pool[0]))
		return NULL;
	n = &j->pool[j->used++];
	memset(n, 0, sizeof(*n));
	n->type = t;
	return n;
}

static struct jnode *jcontainer(struct jparser *j, int depth, bool object)
{
	struct jnode *n = jnew(j, object ? J_OBJ : J_ARR), **tail;
	char close = object ? '}' : ']';

	if (!n)
		return NULL;
	tail = &n->first;
	j->p++;
	jws(j);
	if (*j->p == close) {
		j->p++;
		return n;
	}
	for (;;) {
		char key[64] = "";
		struct jnode *kid;

		jws(j);
		if (object) {
			if (!jstring(j, key, sizeof(key)))
				return NULL;
			/* Duplicate keys make a document ambiguous. */
			for (struct jnode *k = n->first; k; k = k->next)
				if (strcmp(k->key, key) == 0)
					return NULL;
			jws(j);
			if (*j->p++ != ':')
				return NULL;
		}
		kid = jvalue(j, depth + 1);
		if (!kid)
			return NULL;
		snprintf(kid->key, sizeof(kid->key), "%s", key);
		*tail = kid;
		tail = &kid->next;
		jws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == close) {
			j->p++;
			return n;
		}
		return NULL;
	}
}

static struct jnode *jvalue(struct jparser *j, int depth)
{
	struct jnode *n;

	if (depth > 16)
		return NULL;
	jws(j);
	switch (*j->p) {
	case '{':
		return jcontainer(j, depth, true);
	case '[':
		return jcontainer(j, depth, false);
	case '"':
		n = jnew(j, J_STR);
		return n && jstring(j, n->str, sizeof(n->str)) ? n : NULL;
	case 'n':
		if (strncmp(j->p, "null", 4))
			return NULL;
		j->p += 4;
		return jnew(j, J_NULL);
	case 't':
	case 'f':
		n = jnew(j, J_BOOL);
		if (n && strncmp(j->p, "true", 4) == 0)
			j->p += 4;
		else if (n && strncmp(j->p, "false", 5) == 0)
			j->p += 5;
		else
			return NULL;
		return n;
	default:
		n = jnew(j, J_NUM);
		return n && jnumber(j, &n->num) ? n : NULL;
	}
}

/* The whole text is exactly one JSON value (trailing whitespace allowed). */
static struct jnode *jparse(struct jparser *j, const char *text)
{
	struct jnode *root;

	j->p = text;
	j->used = 0;
	root = jvalue(j, 0);
	if (!root)
		return NULL;
	jws(j);
	return *j->p == '\0' ? root : NULL;
}

static struct jnode *jget(const struct jnode *obj, const char *key)
{
	for (struct jnode *k = obj->first; k; k = k->next)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static size_t jcount(const struct jnode *n)
{
	size_t c = 0;

	for (struct jnode *k = n->first; k; k = k->next)
		c++;
	return c;
}

static void test_json_parser_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "{\"a\": 1,}",
	    "[1,]",
	    "{\"a\" 1}",
	    "{a: 1}",
	    "[1] [2]",
	    "{\"a\": 01}",
	    "{\"a\": 1.}",
	    "{\"a\": -}",
	    "nul",
	    "{\"a\": nan}",
	    "{\"a\":1,\"a\":2}",
	    "[\"x\ny\"]",
	    "{\"a\": [}",
	};
	static struct jparser j;
	(void)state;

	/* The validator itself must be able to say no, or the JSON test proves nothing. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("rejects '%s'\n", bad[i]);
		assert_null(jparse(&j, bad[i]));
	}
	assert_non_null(jparse(&j, "{\"a\": [1, -2.5e3, null, true, \"s\\\"\"], \"b\": {}}\n"));
}

static void json_num(const struct jnode *row, const char *key, double want, int decimals)
{
	const struct jnode *n = jget(row, key);

	print_message("  %s\n", key);
	assert_non_null(n);
	if (want < 0) {
		assert_int_equal(n->type, J_NULL);
		return;
	}
	assert_int_equal(n->type, J_NUM);
	assert_close(n->num, want, decimals);
}

static void check_json(const char *text, const struct bench_outcome *out, struct expect *rows,
		       size_t nr_rows)
{
	static const char *const keys[] = {
	    "workload",
	    "cpu",
	    "cpl",
	    "iterations",
	    "cycles",
	    "value",
	    "cycles_per_iter",
	    "ns_per_iter",
	    "exits_per_iter",
	    "user_exits_per_iter",
	    "native_ns_per_iter",
	    "vm_native_ratio",
	    "iops",
	    "level",
	};
	static struct jparser j;
	const struct jnode *root, *results, *n;
	size_t nr_seen = 0;

	root = jparse(&j, text);
	assert_non_null(root);
	assert_int_equal(root->type, J_OBJ);
	assert_int_equal(jcount(root), out->disk_note[0] ? 4 : 3);
	if (out->disk_note[0]) {
		n = jget(root, "disk");
		assert_non_null(n);
		assert_int_equal(n->type, J_STR);
		assert_string_equal(n->str, out->disk_note);
	}
	n = jget(root, "tsc_khz");
	assert_non_null(n);
	assert_int_equal(n->type, J_NUM);
	assert_true(n->num == (double)out->tsc_khz);
	n = jget(root, "cpus");
	assert_non_null(n);
	assert_true(n->num == (double)out->nr_cpus);
	results = jget(root, "results");
	assert_non_null(results);
	assert_int_equal(results->type, J_ARR);
	assert_int_equal(jcount(results), nr_rows);

	for (const struct jnode *row = results->first; row; row = row->next) {
		struct expect *e = NULL;
		const struct jnode *name, *cpu;

		assert_int_equal(row->type, J_OBJ);
		/* Every key present, and no others. */
		assert_int_equal(jcount(row), sizeof(keys) / sizeof(keys[0]));
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			assert_non_null(jget(row, keys[k]));
		name = jget(row, "workload");
		cpu = jget(row, "cpu");
		assert_int_equal(name->type, J_STR);
		assert_int_equal(cpu->type, J_NUM);
		for (size_t i = 0; i < nr_rows; i++)
			if (!rows[i].printed && strcmp(rows[i].name, name->str) == 0 &&
			    (double)rows[i].r->cpu == cpu->num) {
				e = &rows[i];
				break;
			}
		if (!e)
			fail_msg("unexpected row %s", name->str);
		e->printed = true;
		nr_seen++;
		print_message("row %s cpu %u\n", e->name, e->r->cpu);
		assert_true(jget(row, "cpl")->num == (double)e->r->cpl);
		/* Raw counts are exact (all below 2^53 here). */
		assert_true(jget(row, "iterations")->num == (double)e->r->iters);
		assert_true(jget(row, "cycles")->num == (double)e->r->cycles);
		assert_true(jget(row, "value")->num == (double)e->r->value);
		json_num(row, "cycles_per_iter", e->cycles_per_iter, 3);
		json_num(row, "ns_per_iter", e->ns_per_iter, 3);
		json_num(row, "exits_per_iter", e->exits_per_iter, 4);
		json_num(row, "user_exits_per_iter", e->user_exits_per_iter, 4);
		json_num(row, "native_ns_per_iter", e->native_ns_per_iter, 3);
		json_num(row, "vm_native_ratio", e->ratio, 4);
		json_num(row, "iops", e->iops, 1);
		n = jget(row, "level");
		assert_int_equal(n->type, J_STR);
		assert_string_equal(n->str,
				    bench_level_name(bench_workload_by_id(e->r->workload)->level));
	}
	assert_int_equal(nr_seen, nr_rows);
}

static void test_json(void **state)
{
	struct expect rows[8];
	size_t n;
	char *text;
	(void)state;

	build_outcome();
	n = expected_rows(&outcome, rows, 8);
	text = render(&outcome, true);
	check_json(text, &outcome, rows, n);
	free(text);
}

/* Degenerate inputs: no TSC rate, a zero-iteration run, invalid slots, a zero native time. */
static void build_edge_outcome(void)
{
	memset(&outcome, 0, sizeof(outcome));
	outcome.tsc_khz = 0;
	outcome.nr_cpus = 1;
	outcome.nr_workloads = 4;
	outcome.results[0][0] = (struct bench_result){
	    .valid = true,
	    .workload = BENCH_W_COUNTPRIMES,
	    .cpl = 3,
	    .iters = 10,
	    .cycles = 12345,
	    .value = 1229,
	    .has_kvm_exits = true,
	    .kvm_exits = 0,
	    .has_native = true,
	    .native_iters = 5,
	    .native_cycles = 5000,
	};
	outcome.results[0][1] =
	    (struct bench_result){.valid = false, .workload = BENCH_W_PIO, .iters = 5, .cycles = 5};
	outcome.results[0][2] = (struct bench_result){
	    .valid = true,
	    .workload = BENCH_W_MSR_USER,
	    .cpl = 0,
	    .iters = 0,
	    .cycles = 0,
	    .has_kvm_exits = true,
	    .kvm_exits = 3,
	    .user_exits = 2,
	};
	outcome.results[0][3] = (struct bench_result){
	    .valid = true,
	    .workload = BENCH_W_FIB,
	    .cpl = 3,
	    .iters = 7,
	    .cycles = 700,
	    .has_native = true,
	    .native_iters = 0,
	    .native_cycles = 100,
	};
}

static void test_edge_cases(void **state)
{
	struct expect rows[8];
	size_t n;
	char *text;
	(void)state;

	build_edge_outcome();
	n = expected_rows(&outcome, rows, 8);
	assert_int_equal(n, 3);
	text = render(&outcome, false);
	check_table(text, rows, n, 0);
	free(text);

	n = expected_rows(&outcome, rows, 8);
	text = render(&outcome, true);
	check_json(text, &outcome, rows, n);
	free(text);
}

/* The blk workloads: IOPS and exits per I/O under the table, the disk named. */
static void test_io_rows(void **state)
{
	struct expect rows[8];
	size_t n;
	char *text;
	(void)state;

	memset(&outcome, 0, sizeof(outcome));
	outcome.tsc_khz = 2000000;
	outcome.nr_cpus = 1;
	outcome.nr_workloads = 3;
	outcome.results[0][0] = (struct bench_result){
	    .valid = true, .workload = BENCH_W_CPUID, .cpl = 3, .iters = 100, .cycles = 5000};
	/* 40000 I/Os in 2e9 cycles at 2 GHz: 40000 IOPS */
	outcome.results[0][1] = (struct bench_result){.valid = true,
						      .workload = BENCH_W_BLK_QD1,
						      .cpl = 3,
						      .iters = 40000,
						      .cycles = 2000000000,
						      .value = 40000,
						      .has_kvm_exits = true,
						      .kvm_exits = 41000};
	outcome.results[0][2] = (struct bench_result){.valid = true,
						      .workload = BENCH_W_BLK_QD32,
						      .cpl = 3,
						      .iters = 300000,
						      .cycles = 3000000000,
						      .value = 300000,
						      .has_kvm_exits = true,
						      .kvm_exits = 18000,
						      .user_exits = 3};
	snprintf(outcome.disk_note, sizeof(outcome.disk_note),
		 "virtio-blk on io_uring, 256 MiB image in /tmp/a \"quoted\" dir");
	n = expected_rows(&outcome, rows, 8);
	assert_int_equal(n, 3);
	assert_true(rows[0].iops < 0);
	assert_close(rows[1].iops, 40000, 0);
	assert_close(rows[2].iops, 200000, 0);
	text = render(&outcome, false);
	assert_non_null(strstr(text, "40000"));
	check_table(text, rows, n, outcome.tsc_khz);
	free(text);

	n = expected_rows(&outcome, rows, 8);
	text = render(&outcome, true);
	check_json(text, &outcome, rows, n);
	free(text);
}

/* The @nth (from 0) line of @text that starts with @prefix (a static copy), or fail. */
static const char *line_starting(const char *text, const char *prefix, int nth)
{
	static char line[512];
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0 && nth-- == 0) {
			assert_true(len < sizeof(line));
			memcpy(line, p, len);
			line[len] = '\0';
			return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	fail_msg("no line starting with '%s'", prefix);
	return NULL;
}

static const struct jnode *json_row_named(const struct jnode *root, const char *name)
{
	const struct jnode *results = jget(root, "results");

	assert_non_null(results);
	for (const struct jnode *row = results->first; row; row = row->next)
		if (strcmp(jget(row, "workload")->str, name) == 0)
			return row;
	fail_msg("no JSON row %s", name);
	return NULL;
}

static double json_field(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jget(obj, key);

	assert_non_null(n);
	assert_int_equal(n->type, J_NUM);
	return n->num;
}

/*
 * The SVM rows: a skipped one says why, the inner-guest section gives cycles
 * and exits of the level below per inner exit, the CPUID ratio and the
 * VMRUN latencies, each recomputed here from the raw counts.
 */
static void test_svm_rows(void **state)
{
	static struct jparser j;
	const struct jnode *root, *row, *n;
	char *text;
	const char *line;
	char name[32];
	unsigned int cpu;
	unsigned long long exits, emin, emax, xmin, xmax;
	double cyc, below, runs, eavg, xavg;
	(void)state;

	memset(&outcome, 0, sizeof(outcome));
	outcome.tsc_khz = 2000000;
	outcome.nr_cpus = 1;
	outcome.nr_workloads = 4;
	outcome.nested.mode = NESTED_OFF;
	outcome.results[0][0] = (struct bench_result){
	    .valid = true, .workload = BENCH_W_CPUID, .cpl = 3, .iters = 1000, .cycles = 500000};
	outcome.results[0][1] = (struct bench_result){.valid = true,
						      .workload = BENCH_W_SVM_CPUID,
						      .iters = 1000,
						      .cycles = 12500000,
						      .value = 1000,
						      .inner_exits = 1000,
						      .has_kvm_exits = true,
						      .kvm_exits = 2000,
						      .has_nested_runs = true,
						      .nested_runs = 1000,
						      .svm_features = 0x21};
	outcome.results[0][2] = (struct bench_result){.valid = true,
						      .workload = BENCH_W_SVM_VMRUN,
						      .iters = 100,
						      .cycles = 3000000,
						      .value = 100,
						      .inner_exits = 100,
						      .has_kvm_exits = true,
						      .kvm_exits = 205,
						      .entry_min = 1000,
						      .entry_sum = 150000,
						      .entry_max = 4000,
						      .exit_min = 800,
						      .exit_sum = 120000,
						      .exit_max = 3000,
						      .svm_features = 0x21};
	outcome.results[0][3] = (struct bench_result){
	    .valid = true, .workload = BENCH_W_SVM_VMLOAD, .skip = BENCH_SKIP_NO_SVM};

	text = render(&outcome, false);
	line = line_starting(text, "svm-vmload ", 0);
	assert_non_null(strstr(line, "SKIP: no SVM in the guest (--nested off)"));
	assert_null(strstr(text, "\nsvm-vmload ")
			? strstr(strstr(text, "\nsvm-vmload ") + 1, "\nsvm-vmload ")
			: NULL); /* skipped: in no other section */
	assert_non_null(strstr(text, "bench hypervisor (SVM features NPT VMCBCLEAN)"));
	/* The inner section's row (the main table's is the first): 12.5e6 cycles
	 * over 1000 inner exits, 2000 exits below, 1000 nested runs. */
	line = line_starting(text, "svm-cpuid ", 1);
	assert_int_equal(
	    sscanf(line, "%31s %u %llu %lf %lf %lf", name, &cpu, &exits, &cyc, &below, &runs), 6);
	assert_int_equal(exits, 1000);
	assert_close(cyc, 12500000.0 / 1000, 1);
	assert_close(below, 2000.0 / 1000, 3);
	assert_close(runs, 1000.0 / 1000, 3);
	line = line_starting(text, "svm-vmrun ", 1);
	assert_int_equal(sscanf(line, "%31s %u %llu %lf %lf", name, &cpu, &exits, &cyc, &below), 5);
	assert_close(below, 205.0 / 100, 3);
	assert_non_null(strstr(line, " -")); /* no nested_run stat */
	/* L2 over L1: (12.5e6 / 1000) / (5e5 / 1000) */
	line = line_starting(text, "CPUID on vCPU 0: ", 0);
	assert_non_null(strstr(line, "= 25.0x"));
	/* Latencies: only svm-vmrun has them. */
	line = line_starting(text, "svm-vmrun ", 2);
	assert_int_equal(sscanf(line, "%31s %u %llu %lf %llu %llu %lf %llu", name, &cpu, &emin,
				&eavg, &emax, &xmin, &xavg, &xmax),
			 8);
	assert_int_equal(emin, 1000);
	assert_close(eavg, 150000.0 / 100, 1);
	assert_int_equal(emax, 4000);
	assert_int_equal(xmin, 800);
	assert_close(xavg, 120000.0 / 100, 1);
	assert_int_equal(xmax, 3000);
	free(text);

	text = render(&outcome, true);
	root = jparse(&j, text);
	assert_non_null(root);
	row = json_row_named(root, "svm-cpuid");
	assert_string_equal(jget(row, "level")->str, "inner guest");
	assert_int_equal(jget(row, "skip")->type, J_NULL);
	assert_true(json_field(row, "inner_exits") == 1000);
	assert_close(json_field(row, "cycles_per_inner_exit"), 12500, 3);
	assert_close(json_field(row, "exits_below_per_inner_exit"), 2, 4);
	assert_close(json_field(row, "nested_runs_per_inner_exit"), 1, 4);
	assert_close(json_field(row, "l2_l1_cpuid_ratio"), 25, 3);
	assert_string_equal(jget(row, "svm_features")->str, "NPT VMCBCLEAN");
	row = json_row_named(root, "svm-vmrun");
	assert_int_equal(jget(row, "nested_runs_per_inner_exit")->type, J_NULL);
	n = jget(row, "entry");
	assert_non_null(n);
	assert_true(json_field(n, "min") == 1000 && json_field(n, "max") == 4000);
	assert_close(json_field(n, "avg"), 1500, 3);
	n = jget(row, "exit");
	assert_non_null(n);
	assert_close(json_field(n, "avg"), 1200, 3);
	row = json_row_named(root, "svm-vmload");
	assert_int_equal(jget(row, "skip")->type, J_STR);
	assert_string_equal(jget(row, "skip")->str, "no SVM in the guest (--nested off)");
	assert_int_equal(jget(row, "cycles_per_iter")->type, J_NULL);
	free(text);
}

static void test_empty(void **state)
{
	char *text;
	(void)state;

	memset(&outcome, 0, sizeof(outcome));
	outcome.tsc_khz = 1000000;
	text = render(&outcome, false);
	check_table(text, NULL, 0, 1000000);
	free(text);
	text = render(&outcome, true);
	check_json(text, &outcome, NULL, 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_parser_rejects),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_edge_cases),
	    cmocka_unit_test(test_io_rows),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_svm_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
