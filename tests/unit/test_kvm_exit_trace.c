/* SPDX-License-Identifier: MIT */
/* test_kvm_exit_trace.c: the kvm_exit hist trigger: filter, hist parser, and start/stop on a fake tracefs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/exit_reasons.h"
#include "vmm/kvm_exit_trace.h"

#define HEAD "hist:keys=common_pid,isa,exit_reason:vals=hitcount:size=2048"

/* ---- filter and trigger ---- */

static void test_filter_one_and_many(void **state)
{
	const pid_t one[] = {1234};
	const pid_t many[] = {41, 4000000, 7};
	char buf[128];
	int n;

	(void)state;
	assert_int_equal(kvm_exit_trace_filter(one, 1, buf, sizeof(buf)),
			 (int)strlen("common_pid==1234"));
	assert_string_equal(buf, "common_pid==1234");
	n = kvm_exit_trace_filter(many, 3, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "common_pid==41||common_pid==4000000||common_pid==7");

	n = kvm_exit_trace_trigger(many, 2, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, HEAD " if common_pid==41||common_pid==4000000");
}

static void test_filter_bounds(void **state)
{
	const pid_t two[] = {12, 345};
	const pid_t bad[] = {12, 0};
	const pid_t neg[] = {-5};
	const size_t need = strlen("common_pid==12||common_pid==345");
	pid_t lots[300];
	char buf[64], big[KVM_EXIT_TRACE_TRIGGER_MAX];
	int n;

	(void)state;
	/* Exactly the length plus its NUL fits; one byte less does not. */
	assert_int_equal(kvm_exit_trace_filter(two, 2, buf, need + 1), (int)need);
	assert_string_equal(buf, "common_pid==12||common_pid==345");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(kvm_exit_trace_filter(two, 2, buf, need), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(kvm_exit_trace_filter(two, 2, buf, 0), -ENOSPC);

	assert_int_equal(kvm_exit_trace_filter(two, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kvm_exit_trace_filter(NULL, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kvm_exit_trace_filter(bad, 2, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kvm_exit_trace_filter(neg, 1, buf, sizeof(buf)), -EINVAL);

	/* 300 seven-digit tids need some 6.6 KB: over the kernel's one-page trigger. */
	for (size_t i = 0; i < 300; i++)
		lots[i] = (pid_t)(1000000 + i);
	assert_int_equal(kvm_exit_trace_trigger(lots, 300, big, sizeof(big)), -ENOSPC);
	n = kvm_exit_trace_trigger(lots, 150, big, sizeof(big));
	assert_int_equal(n, (int)strlen(big));
	assert_true(strlen(big) < KVM_EXIT_TRACE_TRIGGER_MAX);
}

/* ---- the hist parser ---- */

/* One entry line as trace_events_hist.c prints it: "%s: %10llu" keys, " hitcount: %10llu". */
static int hist_line(char *buf, size_t len, unsigned pid, unsigned isa, unsigned reason,
		     unsigned long long hits)
{
	return snprintf(buf, len,
			"{ common_pid: %10u, isa: %10u, exit_reason: %10u } hitcount: %10llu\n",
			pid, isa, reason, hits);
}

static const char hist_header[] =
    "# event histogram\n"
    "#\n"
    "# trigger info: hist:keys=common_pid,isa,exit_reason:vals=hitcount:sort=hitcount:size=2048"
    " if common_pid==1001||common_pid==1002 [active]\n"
    "#\n"
    "\n";

static int parse_str(const char *text, struct exit_reason_counts *out, char *why, size_t len)
{
	/* A copy of exactly strlen bytes: the parser must not need a NUL. */
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, n);
	r = kvm_exit_hist_parse(copy, n, out, why, len);
	free(copy);
	return r;
}

static uint64_t count_of(const struct exit_reason_counts *c, uint32_t isa, uint32_t code)
{
	for (size_t i = 0; i < c->nr; i++)
		if (c->r[i].isa == isa && c->r[i].code == code)
			return c->r[i].count;
	return 0;
}

static void test_parse_multi_pid(void **state)
{
	struct exit_reason_counts *c = malloc(sizeof(*c));
	char text[4096], why[256] = "";
	size_t off;

	(void)state;
	assert_non_null(c);
	off = (size_t)snprintf(text, sizeof(text), "%s", hist_header);
	/* Sorted by hitcount as the kernel prints them; two vCPU threads, SVM. */
	off += (size_t)hist_line(text + off, sizeof(text) - off, 1002, 2, 0x7c, 3);
	off += (size_t)hist_line(text + off, sizeof(text) - off, 1001, 2, 0x400, 40);
	off += (size_t)hist_line(text + off, sizeof(text) - off, 1002, 2, 0x81, 120);
	off += (size_t)hist_line(text + off, sizeof(text) - off, 1002, 2, 0x72, 300);
	off += (size_t)hist_line(text + off, sizeof(text) - off, 1001, 2, 0x81, 380);
	off += (size_t)hist_line(text + off, sizeof(text) - off, 1001, 2, 0x72, 500);
	snprintf(text + off, sizeof(text) - off,
		 "\nTotals:\n    Hits: 1343\n    Entries: 6\n    Dropped: 17\n");

	assert_int_equal(parse_str(text, c, why, sizeof(why)), 0);
	assert_int_equal(c->nr, 4);
	/* Added across pids, largest first. */
	assert_int_equal(c->r[0].isa, EXIT_ISA_SVM);
	assert_int_equal(c->r[0].code, 0x72);
	assert_int_equal(c->r[0].count, 800);
	assert_int_equal(c->r[1].code, 0x81);
	assert_int_equal(c->r[1].count, 500);
	assert_int_equal(c->r[2].code, 0x400);
	assert_int_equal(c->r[2].count, 40);
	assert_int_equal(c->r[3].code, 0x7c);
	assert_int_equal(c->r[3].count, 3);
	assert_int_equal(c->total, 1343);
	assert_int_equal(c->hist_hits, 1343);
	assert_int_equal(c->hist_entries, 6);
	assert_int_equal(c->hist_dropped, 17);
	assert_int_equal(c->overflow_hits, 0);
	free(c);
}

static void test_parse_loose_spacing_and_vmx(void **state)
{
	/* Tabs, no padding, keys in another order, execname pid, CRLF, no final newline. */
	static const char text[] =
	    "#comment\n"
	    "{common_pid:7,isa:1,exit_reason:48}hitcount:9\r\n"
	    "\t{ exit_reason:\t30 ,  isa: 1, common_pid: vcpu0 [       8] }  hitcount:  4  extra: "
	    "77\n"
	    "{ isa: 1, common_pid: 9, exit_reason: 2147483681 } hitcount: 1\n"
	    "{ common_pid: 8, isa: 1, exit_reason: 48 } hitcount: 6\n"
	    "Totals:\n"
	    "\tHits:20\n"
	    "Dropped: 0\n"
	    "  Entries :  4";
	struct exit_reason_counts *c = malloc(sizeof(*c));
	char why[256] = "";

	(void)state;
	assert_non_null(c);
	assert_int_equal(parse_str(text, c, why, sizeof(why)), 0);
	assert_int_equal(c->nr, 3);
	assert_int_equal(count_of(c, EXIT_ISA_VMX, 48), 15);
	assert_int_equal(count_of(c, EXIT_ISA_VMX, 30), 4);
	/* A failed VM entry keeps its flag bit; the name still comes from the basic reason. */
	assert_int_equal(count_of(c, EXIT_ISA_VMX, 0x80000021u), 1);
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, c->r[2].code), "INVALID_STATE");
	assert_int_equal(c->hist_hits, 20);
	assert_int_equal(c->hist_entries, 4);
	free(c);
}

static void test_parse_empty(void **state)
{
	struct exit_reason_counts *c = malloc(sizeof(*c));
	char text[1024], why[256] = "";

	(void)state;
	assert_non_null(c);
	snprintf(text, sizeof(text), "%s\nTotals:\n    Hits: 0\n    Entries: 0\n    Dropped: 0\n",
		 hist_header);
	c->nr = 99;
	assert_int_equal(parse_str(text, c, why, sizeof(why)), 0);
	assert_int_equal(c->nr, 0);
	assert_int_equal(c->total, 0);
	assert_int_equal(c->hist_hits, 0);
	assert_int_equal(c->hist_dropped, 0);
	free(c);
}

static void expect_bad(const char *text, const char *why_part)
{
	struct exit_reason_counts *c = malloc(sizeof(*c));
	char why[256] = "";

	assert_non_null(c);
	if (parse_str(text, c, why, sizeof(why)) != -EBADMSG)
		fail_msg("accepted: %s", text);
	if (!strstr(why, why_part))
		fail_msg("why \"%s\" lacks \"%s\"", why, why_part);
	/* A refused text leaves nothing that looks like counts. */
	assert_int_equal(c->nr, 0);
	assert_int_equal(c->total, 0);
	free(c);
}

#define TOTALS_1 "Totals:\n Hits: 5\n Entries: 1\n Dropped: 0\n"

static void test_parse_malformed(void **state)
{
	(void)state;
	expect_bad("{ common_pid: 1, isa: 2, exit_reason: 114 hitcount: 5\n" TOTALS_1,
		   "line 1: expected ',' or '}'");
	expect_bad("# x\n{ common_pid: 1, isa: 2, exit_reason: x } hitcount: 5\n" TOTALS_1,
		   "line 2: key value is not a number");
	expect_bad("{ common_pid: 1, isa: 2, vcpu_id: 3 } hitcount: 5\n" TOTALS_1,
		   "line 1: unknown key");
	expect_bad("{ common_pid: 1, isa: 2 } hitcount: 5\n" TOTALS_1, "lacks one of");
	expect_bad("{ common_pid: 1, isa: 2, isa: 2 } hitcount: 5\n" TOTALS_1, "key given twice");
	expect_bad("{ common_pid: 1, isa: 2, exit_reason: 114 } count: 5\n" TOTALS_1,
		   "expected hitcount");
	expect_bad("{ common_pid: 1, isa: 2, exit_reason: 114 } hitcount: 5 !!\n" TOTALS_1,
		   "unexpected text after hitcount");
	expect_bad("{ common_pid: 1, isa: 2, exit_reason: 99999999999 } hitcount: 5\n" TOTALS_1,
		   "out of range");
	expect_bad(
	    "{ common_pid: 1, isa: 2, exit_reason: 1 } hitcount: 99999999999999999999\n" TOTALS_1,
	    "hitcount is not a number");
	expect_bad("ERROR: something\n" TOTALS_1, "line 1: not a hist entry");
	/* Cut short: no Totals, or Totals without its counts. */
	expect_bad("{ common_pid: 1, isa: 2, exit_reason: 114 } hitcount: 5\n", "no Totals");
	expect_bad("Totals:\n Hits: 5\n Entries: 0\n", "lacks Dropped");
	expect_bad("Totals:\n Hits: 5\n Entries: 0\n Dropped: 0\n Hits: 5\n",
		   "unexpected line in Totals");
	/* The entry count must agree with the lines. */
	expect_bad("{ common_pid: 1, isa: 2, exit_reason: 114 } hitcount: 5\n"
		   "Totals:\n Hits: 5\n Entries: 2\n Dropped: 0\n",
		   "says 2 entries but 1");
	/* Two triggers on one event would count every exit twice. */
	expect_bad(
	    "{ common_pid: 1, isa: 2, exit_reason: 114 } hitcount: 5\n" TOTALS_1
	    "\n\n# event histogram\n{ common_pid: 1, isa: 2, exit_reason: 114 } hitcount: 5\n",
	    "a second histogram");
	expect_bad("", "no Totals");
}

static void test_parse_nul_and_binary(void **state)
{
	static const char text[] =
	    "{ common_pid: 1,\0isa: 2, exit_reason: 3 } hitcount: 5\n" TOTALS_1;
	struct exit_reason_counts *c = malloc(sizeof(*c));
	char why[256] = "";

	(void)state;
	assert_non_null(c);
	assert_int_equal(kvm_exit_hist_parse(text, sizeof(text) - 1, c, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "line 1"));
	assert_int_equal(kvm_exit_hist_parse(NULL, 0, c, why, sizeof(why)), -EBADMSG);
	assert_int_equal(kvm_exit_hist_parse(NULL, 3, c, why, sizeof(why)), -EINVAL);
	free(c);
}

static void test_parse_overflow(void **state)
{
	const size_t distinct = EXIT_REASON_COUNTS_MAX + 44;
	struct exit_reason_counts *c = malloc(sizeof(*c));
	size_t cap = 256 * (distinct + 8), off = 0; /* 2 lines of 90 bytes a reason */
	char *text = malloc(cap), why[256] = "";
	uint64_t all = 0, kept_min = UINT64_MAX;

	(void)state;
	assert_non_null(c);
	assert_non_null(text);
	/* Two pids per reason, so aggregation still happens past the first 256. */
	for (size_t i = 0; i < distinct; i++) {
		off +=
		    (size_t)hist_line(text + off, cap - off, 500, 2, (unsigned)(0x1000 + i), i + 1);
		off += (size_t)hist_line(text + off, cap - off, 501, 2, (unsigned)(0x1000 + i), 1);
		all += i + 2;
	}
	off += (size_t)snprintf(text + off, cap - off,
				"Totals:\n    Hits: %llu\n    Entries: %zu\n    Dropped: 0\n",
				(unsigned long long)all, 2 * distinct);
	assert_int_equal(kvm_exit_hist_parse(text, off, c, why, sizeof(why)), 0);
	assert_int_equal(c->nr, EXIT_REASON_COUNTS_MAX);
	/* The first 256 reasons seen are kept with both pids' counts; the rest are counted apart. */
	assert_int_equal(count_of(c, 2, 0x1000), 2);
	assert_int_equal(count_of(c, 2, 0x1000 + EXIT_REASON_COUNTS_MAX - 1),
			 EXIT_REASON_COUNTS_MAX + 1);
	assert_int_equal(count_of(c, 2, 0x1000 + EXIT_REASON_COUNTS_MAX), 0);
	assert_int_equal(c->overflow_lines, 2 * 44);
	assert_int_equal(c->total + c->overflow_hits, all);
	for (size_t i = 0; i < c->nr; i++) {
		if (i)
			assert_true(c->r[i - 1].count >= c->r[i].count);
		if (c->r[i].count < kept_min)
			kept_min = c->r[i].count;
	}
	assert_int_equal(kept_min, 2);
	free(text);
	free(c);
}

/* ---- the live part, on a fake tracefs tree ---- */

static char fake_hist[1024];
static char removed_trigger[2 * KVM_EXIT_TRACE_TRIGGER_MAX + 64];
static char removed_enable[16];
static int mkdir_calls, rmdir_calls;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void get_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void make_event_dir(const char *base, bool with_hist)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/events", base);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/events/kvm", base);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit", base);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/enable", base);
	put_file(p, "0\n");
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/trigger", base);
	put_file(p, "# Available triggers:\n");
	if (with_hist) {
		snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/hist", base);
		put_file(p, fake_hist);
	}
}

/* Like tracefs: a new instance comes with its event files. */
static int fake_mkdir(const char *path)
{
	mkdir_calls++;
	if (mkdir(path, 0700) < 0)
		return -1;
	make_event_dir(path, true);
	return 0;
}

/* An instance whose event directory is missing: the trigger write fails. */
static int fake_mkdir_no_event(const char *path)
{
	mkdir_calls++;
	return mkdir(path, 0700);
}

/* Like tracefs: rmdir takes the files too. Keeps what the trigger and enable files last held. */
static int fake_rmdir(const char *path)
{
	char p[4096];
	struct stat st;

	rmdir_calls++;
	if (stat(path, &st) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/trigger", path);
	get_file(p, removed_trigger, sizeof(removed_trigger));
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/enable", path);
	get_file(p, removed_enable, sizeof(removed_enable));
	rm_tree(path);
	return 0;
}

static const struct kvm_exit_tracefs_ops fake_ops = {.mkdir = fake_mkdir, .rmdir = fake_rmdir};

struct fake_root {
	char root[256];
	char instances[300];
};

static void fake_root_make(struct fake_root *f, bool instances, bool event, bool hist)
{
	snprintf(f->root, sizeof(f->root), "/tmp/nestvmm-tracefs-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->instances, sizeof(f->instances), "%s/instances", f->root);
	if (instances)
		assert_int_equal(mkdir(f->instances, 0700), 0);
	if (event)
		make_event_dir(f->root, hist);
	mkdir_calls = rmdir_calls = 0;
	removed_trigger[0] = removed_enable[0] = '\0';
}

/* Names under instances/, sorted and joined by spaces: what a test expects to be left. */
static void list_instances(const struct fake_root *f, char *buf, size_t len)
{
	struct dirent **names;
	int n = scandir(f->instances, &names, NULL, alphasort);
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "",
						names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static void instance_file(const char *dir, const char *file, char *buf, size_t len)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/%s", dir, file);
	get_file(p, buf, len);
}

static void test_start_read_stop_fake(void **state)
{
	const pid_t tids[] = {1001, 1002};
	const char *want = HEAD " if common_pid==1001||common_pid==1002";
	struct exit_reason_counts *c = malloc(sizeof(*c));
	struct kvm_exit_trace t;
	struct fake_root f;
	char names[512], dir[1024], buf[KVM_EXIT_TRACE_TRIGGER_MAX], err[256] = "", prefix[64];

	(void)state;
	assert_non_null(c);
	snprintf(fake_hist, sizeof(fake_hist),
		 "%s{ common_pid:       1001, isa:          2, exit_reason:        129 } hitcount:"
		 "         10\n"
		 "{ common_pid:       1002, isa:          2, exit_reason:        129 } hitcount:"
		 "         32\n"
		 "\nTotals:\n    Hits: 42\n    Entries: 2\n    Dropped: 0\n",
		 hist_header);
	fake_root_make(&f, true, true, true);

	assert_int_equal(kvm_exit_trace_start_at(&t, f.root, &fake_ops, tids, 2, err, sizeof(err)),
			 0);
	/* One instance, ours, named for this process. */
	list_instances(&f, names, sizeof(names));
	snprintf(prefix, sizeof(prefix), "nestvmm-%d-", (int)getpid());
	assert_int_equal(strncmp(names, prefix, strlen(prefix)), 0);
	assert_null(strchr(names, ' '));
	snprintf(dir, sizeof(dir), "%s/%s", f.instances, names);
	instance_file(dir, "trigger", buf, sizeof(buf));
	assert_string_equal(buf, want);
	/* Not enabled: the trigger alone counts, nothing is written to the ring buffer. */
	instance_file(dir, "enable", buf, sizeof(buf));
	assert_string_equal(buf, "0\n");
	/* The global event is not touched. */
	instance_file(f.root, "enable", buf, sizeof(buf));
	assert_string_equal(buf, "0\n");

	assert_int_equal(kvm_exit_trace_read(&t, c, err, sizeof(err)), 0);
	assert_int_equal(c->nr, 1);
	assert_string_equal(hw_exit_reason_name(c->r[0].isa, c->r[0].code), "VMMCALL");
	assert_int_equal(c->r[0].count, 42);

	/* Stop: event off, then the trigger taken out with '!', then the instance removed. */
	assert_int_equal(kvm_exit_trace_stop(&t), 0);
	assert_string_equal(removed_enable, "0");
	snprintf(buf, sizeof(buf), "%s!%s", want, want);
	assert_string_equal(removed_trigger, buf);
	list_instances(&f, names, sizeof(names));
	assert_string_equal(names, "");
	/* Idempotent, and a stopped trace cannot be read. */
	assert_int_equal(kvm_exit_trace_stop(&t), 0);
	assert_int_equal(rmdir_calls, 1);
	assert_int_equal(kvm_exit_trace_read(&t, c, err, sizeof(err)), -EINVAL);
	rm_tree(f.root);
	free(c);
}

static void test_stop_tolerates_plain_rmdir(void **state)
{
	const struct kvm_exit_tracefs_ops only_mkdir = {.mkdir = fake_mkdir};
	const pid_t tids[] = {77};
	struct kvm_exit_trace t, u;
	struct fake_root f;
	char err[256];

	(void)state;
	fake_root_make(&f, true, true, true);
	assert_int_equal(
	    kvm_exit_trace_start_at(&t, f.root, &only_mkdir, tids, 1, err, sizeof(err)), 0);
	/* rmdir(2) of a plain directory with files fails; the trace is released all the same. */
	assert_int_equal(kvm_exit_trace_stop(&t), -ENOTEMPTY);
	assert_int_equal(kvm_exit_trace_stop(&t), 0);
	/* Its slot is free again, and its leftover is ours, so the next start removes it. */
	assert_int_equal(kvm_exit_trace_start_at(&u, f.root, &fake_ops, tids, 1, err, sizeof(err)),
			 0);
	assert_int_equal(rmdir_calls, 1);
	assert_int_equal(kvm_exit_trace_stop(&u), 0);
	rm_tree(f.root);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void make_instance(const struct fake_root *f, const char *name, const char *trigger)
{
	char dir[1024], p[2048];

	snprintf(dir, sizeof(dir), "%s/%s", f->instances, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	make_event_dir(dir, true);
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/trigger", dir);
	put_file(p, trigger);
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_exit/enable", dir);
	put_file(p, "1\n");
}

static void test_stale_instances(void **state)
{
	const char *old =
	    "hist:keys=common_pid,isa,exit_reason:vals=hitcount:sort=hitcount:size=2048"
	    " if common_pid==42";
	const pid_t tids[] = {5};
	char dead[64], live[64], mine[64], names[512], want[1200], err[256], trig[512];
	struct kvm_exit_trace t;
	struct fake_root f;

	(void)state;
	fake_root_make(&f, true, true, true);
	snprintf(dead, sizeof(dead), "nestvmm-%d-0", (int)dead_pid());
	snprintf(live, sizeof(live), "nestvmm-%d-3", (int)getppid());
	/* Our own pid on an instance we do not hold: a dead process had this pid before. */
	snprintf(mine, sizeof(mine), "nestvmm-%d-999999", (int)getpid());
	snprintf(trig, sizeof(trig), "%s [active]\n", old);
	make_instance(&f, dead, trig);
	make_instance(&f, live, trig);
	make_instance(&f, mine, trig);
	make_instance(&f, "nestvmm-x-1", "");
	make_instance(&f, "someone-else", "");

	assert_int_equal(kvm_exit_trace_start_at(&t, f.root, &fake_ops, tids, 1, err, sizeof(err)),
			 0);
	assert_int_equal(rmdir_calls, 2);
	list_instances(&f, names, sizeof(names));
	/* The live pid's, the foreign ones and our new one stay. */
	assert_non_null(strstr(names, live));
	assert_non_null(strstr(names, "nestvmm-x-1"));
	assert_non_null(strstr(names, "someone-else"));
	assert_null(strstr(names, dead));
	assert_null(strstr(names, mine));
	assert_int_equal(kvm_exit_trace_stop(&t), 0);
	list_instances(&f, names, sizeof(names));
	snprintf(want, sizeof(want), "%s %s %s", live, "nestvmm-x-1", "someone-else");
	/* alphasort order: digits of the live pid sort before 'x', 's' sorts after 'n'. */
	assert_string_equal(names, want);
	rm_tree(f.root);

	/* The dead instance's trigger was taken out by its own text, state suffix dropped. */
	fake_root_make(&f, true, true, true);
	make_instance(&f, dead, trig);
	assert_int_equal(kvm_exit_trace_start_at(&t, f.root, &fake_ops, tids, 1, err, sizeof(err)),
			 0);
	snprintf(want, sizeof(want), "%s!%s", trig, old);
	assert_string_equal(removed_trigger, want);
	assert_string_equal(removed_enable, "0");
	assert_int_equal(kvm_exit_trace_stop(&t), 0);
	rm_tree(f.root);
}

static void expect_start_error(const struct fake_root *f, const struct kvm_exit_tracefs_ops *ops,
			       int want_rc, const char *want_err)
{
	const pid_t tids[] = {1001};
	struct kvm_exit_trace t;
	char err[256] = "", names[512];

	assert_int_equal(kvm_exit_trace_start_at(&t, f->root, ops, tids, 1, err, sizeof(err)),
			 want_rc);
	assert_string_equal(err, want_err);
	/* Nothing left behind, and the handle is a stopped trace. */
	list_instances(f, names, sizeof(names));
	assert_string_equal(names, "");
	assert_int_equal(kvm_exit_trace_stop(&t), 0);
}

static void test_no_hist_triggers(void **state)
{
	struct fake_root f;

	(void)state;
	fake_root_make(&f, true, true, false);
	expect_start_error(&f, &fake_ops, -EOPNOTSUPP,
			   "this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)");
	/* Found before anything was created. */
	assert_int_equal(mkdir_calls, 0);
	rm_tree(f.root);
}

static void test_not_mounted_no_event(void **state)
{
	struct fake_root f;
	char want[400];

	(void)state;
	fake_root_make(&f, false, false, false);
	snprintf(want, sizeof(want), "tracefs is not mounted (%s)", f.root);
	expect_start_error(&f, &fake_ops, -ENOENT, want);
	rm_tree(f.root);

	fake_root_make(&f, true, false, false);
	expect_start_error(&f, &fake_ops, -ENODEV, "kvm:kvm_exit event not available");
	assert_int_equal(mkdir_calls, 0);
	rm_tree(f.root);
}

static void test_failure_after_mkdir_leaves_nothing(void **state)
{
	const struct kvm_exit_tracefs_ops no_event = {.mkdir = fake_mkdir_no_event,
						      .rmdir = fake_rmdir};
	struct fake_root f;

	(void)state;
	fake_root_make(&f, true, true, true);
	expect_start_error(&f, &no_event, -ENODEV, "kvm:kvm_exit event not available");
	assert_int_equal(mkdir_calls, 1);
	assert_int_equal(rmdir_calls, 1);
	rm_tree(f.root);
}

static void test_signal_cleanup(void **state)
{
	const pid_t a[] = {11}, b[] = {12};
	struct kvm_exit_trace ta, tb;
	struct fake_root f;
	char err[256], names[512];
	pid_t child;
	int status;

	(void)state;
	fake_root_make(&f, true, true, true);
	assert_int_equal(kvm_exit_trace_start_at(&ta, f.root, &fake_ops, a, 1, err, sizeof(err)),
			 0);
	assert_int_equal(kvm_exit_trace_start_at(&tb, f.root, &fake_ops, b, 1, err, sizeof(err)),
			 0);

	/* A forked child's cleanup (or exit) leaves its parent's traces alone. */
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		kvm_exit_trace_cleanup_on_signal();
		exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(rmdir_calls, 0);
	list_instances(&f, names, sizeof(names));
	assert_non_null(strchr(names, ' '));

	errno = 1234;
	kvm_exit_trace_cleanup_on_signal();
	assert_int_equal(errno, 1234);
	assert_int_equal(rmdir_calls, 2);
	list_instances(&f, names, sizeof(names));
	assert_string_equal(names, "");
	/* Already cleaned: stop has nothing to do. */
	assert_int_equal(kvm_exit_trace_stop(&ta), 0);
	assert_int_equal(kvm_exit_trace_stop(&tb), 0);
	assert_int_equal(rmdir_calls, 2);
	rm_tree(f.root);
}

static void test_slots_run_out(void **state)
{
	const pid_t tids[] = {9};
	struct kvm_exit_trace t[KVM_EXIT_TRACE_SLOTS + 1], old;
	struct fake_root f;
	char err[256];

	(void)state;
	fake_root_make(&f, true, true, true);
	for (int i = 0; i < KVM_EXIT_TRACE_SLOTS; i++)
		assert_int_equal(
		    kvm_exit_trace_start_at(&t[i], f.root, &fake_ops, tids, 1, err, sizeof(err)),
		    0);
	assert_int_equal(kvm_exit_trace_start_at(&t[KVM_EXIT_TRACE_SLOTS], f.root, &fake_ops, tids,
						 1, err, sizeof(err)),
			 -EBUSY);
	/* A stale copy of a handle must not stop the slot's later owner. */
	old = t[0];
	assert_int_equal(kvm_exit_trace_stop(&t[0]), 0);
	assert_int_equal(kvm_exit_trace_start_at(&t[KVM_EXIT_TRACE_SLOTS], f.root, &fake_ops, tids,
						 1, err, sizeof(err)),
			 0);
	assert_int_equal(kvm_exit_trace_stop(&old), 0);
	assert_int_equal(rmdir_calls, 1);
	for (int i = 1; i <= KVM_EXIT_TRACE_SLOTS; i++)
		assert_int_equal(kvm_exit_trace_stop(&t[i]), 0);
	assert_int_equal(rmdir_calls, KVM_EXIT_TRACE_SLOTS + 1);
	rm_tree(f.root);
}

/*
 * The real tracefs of this machine. Where start works (root, hist triggers)
 * it must count and clean up; where it does not, the error must be one of
 * the documented lines and nothing may be left. NESTVMM_TEST_TRACE_EXPECT
 * names the line a given machine must give.
 */
static void test_live_tracefs(void **state)
{
	static const char *const known[] = {
	    "tracefs is not mounted (", "kvm:kvm_exit event not available",
	    "no permission to use tracefs: ",
	    "this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)"};
	const char *expect = getenv("NESTVMM_TEST_TRACE_EXPECT");
	const pid_t tids[] = {gettid()};
	struct exit_reason_counts *c = malloc(sizeof(*c));
	struct kvm_exit_trace t;
	char err[256] = "", prefix[64];
	bool listed = false;
	struct dirent *de;
	DIR *d;
	int r;

	(void)state;
	assert_non_null(c);
	r = kvm_exit_trace_start(&t, tids, 1, err, sizeof(err));
	print_message("kvm_exit_trace_start: %d %s\n", r, err);
	if (expect)
		assert_non_null(strstr(err, expect));
	if (r == 0) {
		assert_int_equal(kvm_exit_trace_read(&t, c, err, sizeof(err)), 0);
		assert_int_equal(kvm_exit_trace_stop(&t), 0);
	} else {
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			listed |= strncmp(err, known[i], strlen(known[i])) == 0;
		if (!listed)
			fail_msg("undocumented error: %s", err);
	}
	snprintf(prefix, sizeof(prefix), "nestvmm-%d-", (int)getpid());
	d = opendir("/sys/kernel/tracing/instances");
	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			fail_msg("left behind: %s", de->d_name);
	if (d)
		closedir(d);
	free(c);
}

/* Between two reads: per-reason differences, sorted again, the unchanged ones gone. */
static void test_counts_sub(void **state)
{
	static struct exit_reason_counts a, b, d;
	(void)state;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.nr = 3;
	a.r[0] = (struct exit_reason_count){2, 0x81, 500};
	a.r[1] = (struct exit_reason_count){2, 0x7b, 40};
	a.r[2] = (struct exit_reason_count){2, 0x72, 10};
	a.hist_dropped = 1;
	b.nr = 4;
	b.r[0] = (struct exit_reason_count){2, 0x72, 5010}; /* grew by 5000 */
	b.r[1] = (struct exit_reason_count){2, 0x80, 4990}; /* new: 4990 */
	b.r[2] = (struct exit_reason_count){2, 0x81, 500};  /* unchanged: left out */
	b.r[3] = (struct exit_reason_count){2, 0x7b, 42};   /* grew by 2 */
	b.hist_dropped = 4;
	exit_reason_counts_sub(&d, &b, &a);
	assert_int_equal(d.nr, 3);
	assert_int_equal(d.r[0].code, 0x72);
	assert_int_equal(d.r[0].count, 5000);
	assert_int_equal(d.r[1].code, 0x80);
	assert_int_equal(d.r[1].count, 4990);
	assert_int_equal(d.r[2].code, 0x7b);
	assert_int_equal(d.r[2].count, 2);
	assert_int_equal(d.total, 9992);
	assert_int_equal(d.hist_dropped, 3);
	/* The same isa matters: a VMX code equal to an SVM one is another reason. */
	a.nr = 1;
	a.r[0] = (struct exit_reason_count){1, 0x72, 100};
	b.nr = 1;
	b.r[0] = (struct exit_reason_count){2, 0x72, 100};
	exit_reason_counts_sub(&d, &b, &a);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.r[0].count, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_sub),
	    cmocka_unit_test(test_filter_one_and_many),
	    cmocka_unit_test(test_filter_bounds),
	    cmocka_unit_test(test_parse_multi_pid),
	    cmocka_unit_test(test_parse_loose_spacing_and_vmx),
	    cmocka_unit_test(test_parse_empty),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_parse_nul_and_binary),
	    cmocka_unit_test(test_parse_overflow),
	    cmocka_unit_test(test_start_read_stop_fake),
	    cmocka_unit_test(test_stop_tolerates_plain_rmdir),
	    cmocka_unit_test(test_stale_instances),
	    cmocka_unit_test(test_no_hist_triggers),
	    cmocka_unit_test(test_not_mounted_no_event),
	    cmocka_unit_test(test_failure_after_mkdir_leaves_nothing),
	    cmocka_unit_test(test_signal_cleanup),
	    cmocka_unit_test(test_slots_run_out),
	    cmocka_unit_test(test_live_tracefs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
