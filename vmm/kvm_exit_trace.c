/* SPDX-License-Identifier: MIT */
/* kvm_exit_trace.c: in-kernel exits by reason, from a tracefs hist trigger on kvm:kvm_exit. */
#include "vmm/kvm_exit_trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x)	STR_(x)

#define TRIGGER_HEAD                                                                               \
	"hist:keys=common_pid,isa,exit_reason:vals=hitcount:size=" STR(KVM_EXIT_TRACE_HIST_SIZE)
#define EVENT_DIR	"events/kvm/kvm_exit"
#define INSTANCE_PFX	"nestvmm-"
#define TRACEFS_ROOT	"/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

/* A full table of 2048 entries is some 200 KiB of text; far more means something is wrong. */
#define HIST_READ_MAX (8u << 20)

static void __attribute__((format(printf, 3, 4))) say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- the filter and the trigger ---- */

int kvm_exit_trace_filter(const pid_t *tids, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	if (!tids || !n || !buf)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int w;

		if (tids[i] <= 0)
			return -EINVAL;
		w = snprintf(buf + off, len - off, "%scommon_pid==%d", i ? "||" : "", (int)tids[i]);
		if (w < 0 || (size_t)w >= len - off) {
			if (len)
				buf[0] = '\0';
			return -ENOSPC;
		}
		off += (size_t)w;
	}
	return off > INT_MAX ? -ENOSPC : (int)off;
}

int kvm_exit_trace_trigger(const pid_t *tids, size_t n, char *buf, size_t len)
{
	static const char head[] = TRIGGER_HEAD " if ";
	int r;

	if (!buf)
		return -EINVAL;
	if (len < sizeof(head)) {
		if (len)
			buf[0] = '\0';
		return tids && n ? -ENOSPC : -EINVAL;
	}
	memcpy(buf, head, sizeof(head));
	r = kvm_exit_trace_filter(tids, n, buf + sizeof(head) - 1, len - (sizeof(head) - 1));
	if (r < 0) {
		buf[0] = '\0';
		return r;
	}
	return (int)(sizeof(head) - 1) + r;
}

/* ---- the hist file parser ---- */

struct hist_parse {
	struct exit_reason_counts *out;
	unsigned int lineno;
	const char *line, *eol;
	char *why;
	size_t why_len;
};

static int bad_line(struct hist_parse *hp, const char *what)
{
	char shown[48];
	size_t n = (size_t)(hp->eol - hp->line);

	if (n > sizeof(shown) - 1)
		n = sizeof(shown) - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)hp->line[i];

		shown[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	shown[n] = '\0';
	say(hp->why, hp->why_len, "kvm_exit hist, line %u: %s: \"%s%s\"", hp->lineno, what, shown,
	    (size_t)(hp->eol - hp->line) > n ? "..." : "");
	return -EBADMSG;
}

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

static size_t name_len(const char *p, const char *e)
{
	size_t n = 0;

	while (p + n < e && (p[n] == '_' || p[n] == '.' || (p[n] >= 'a' && p[n] <= 'z') ||
			     (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
		n++;
	return n;
}

static bool name_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(p, word, n) == 0;
}

/* A decimal number; false if there is none or it does not fit in 64 bits. */
static bool parse_u64(const char **pp, const char *e, uint64_t *v)
{
	const char *p = *pp;
	uint64_t x = 0;

	if (p >= e || *p < '0' || *p > '9')
		return false;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*pp = p;
	*v = x;
	return true;
}

/*
 * A key's value: decimal as the kernel prints a plain numeric key ("%10llu"),
 * or "<comm> [<pid>]" as it prints common_pid.execname.
 */
static bool parse_key_value(const char **pp, const char *e, uint64_t *v)
{
	const char *p = *pp;

	if (p < e && *p >= '0' && *p <= '9')
		return parse_u64(pp, e, v);
	while (p < e && *p != '[' && *p != ',' && *p != '}')
		p++;
	if (p >= e || *p != '[')
		return false;
	p = skip_ws(p + 1, e);
	if (!parse_u64(&p, e, v))
		return false;
	p = skip_ws(p, e);
	if (p >= e || *p != ']')
		return false;
	*pp = p + 1;
	return true;
}

/* "name: <decimal>" with nothing but blanks after it. */
static bool parse_total(const char *p, const char *e, const char *word, uint64_t *v)
{
	size_t n;

	p = skip_ws(p, e);
	n = name_len(p, e);
	if (!name_is(p, n, word))
		return false;
	p = skip_ws(p + n, e);
	if (p >= e || *p != ':')
		return false;
	p = skip_ws(p + 1, e);
	if (!parse_u64(&p, e, v))
		return false;
	return skip_ws(p, e) == e;
}

static void count_add(struct exit_reason_counts *out, uint32_t isa, uint32_t code, uint64_t n)
{
	for (size_t i = 0; i < out->nr; i++) {
		if (out->r[i].isa == isa && out->r[i].code == code) {
			out->r[i].count += n;
			out->total += n;
			return;
		}
	}
	if (out->nr == EXIT_REASON_COUNTS_MAX) {
		out->overflow_hits += n;
		out->overflow_lines++;
		return;
	}
	out->r[out->nr++] = (struct exit_reason_count){.isa = isa, .code = code, .count = n};
	out->total += n;
}

/* { common_pid: N, isa: N, exit_reason: N } hitcount: N [name: N]... */
static int parse_entry(struct hist_parse *hp)
{
	const char *p = skip_ws(hp->line, hp->eol), *e = hp->eol;
	uint64_t pid = 0, isa = 0, reason = 0, hits, v;
	bool have_pid = false, have_isa = false, have_reason = false;
	size_t n;

	p++; /* the '{' the caller saw */
	for (;;) {
		const char *name;
		bool *seen;
		uint64_t *dst;

		p = skip_ws(p, e);
		name = p;
		n = name_len(p, e);
		if (!n)
			return bad_line(hp, "expected a key name");
		if (name_is(name, n, "common_pid")) {
			seen = &have_pid;
			dst = &pid;
		} else if (name_is(name, n, "isa")) {
			seen = &have_isa;
			dst = &isa;
		} else if (name_is(name, n, "exit_reason")) {
			seen = &have_reason;
			dst = &reason;
		} else {
			return bad_line(hp, "unknown key (not a common_pid,isa,exit_reason hist?)");
		}
		if (*seen)
			return bad_line(hp, "key given twice");
		p = skip_ws(p + n, e);
		if (p >= e || *p != ':')
			return bad_line(hp, "expected ':' after a key");
		p = skip_ws(p + 1, e);
		if (!parse_key_value(&p, e, dst))
			return bad_line(hp, "key value is not a number");
		*seen = true;
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p < e && *p == '}') {
			p++;
			break;
		}
		return bad_line(hp, "expected ',' or '}' after a key value");
	}
	if (!have_pid || !have_isa || !have_reason)
		return bad_line(hp, "entry lacks one of common_pid, isa, exit_reason");
	if (isa > UINT32_MAX || reason > UINT32_MAX || pid > INT32_MAX)
		return bad_line(hp, "key value out of range");

	p = skip_ws(p, e);
	n = name_len(p, e);
	if (!name_is(p, n, "hitcount"))
		return bad_line(hp, "expected hitcount after the keys");
	p = skip_ws(p + n, e);
	if (p >= e || *p != ':')
		return bad_line(hp, "expected ':' after hitcount");
	p = skip_ws(p + 1, e);
	if (!parse_u64(&p, e, &hits))
		return bad_line(hp, "hitcount is not a number");
	/* Values other than hitcount (none in our trigger) are read and ignored. */
	for (p = skip_ws(p, e); p < e; p = skip_ws(p, e)) {
		n = name_len(p, e);
		if (!n)
			return bad_line(hp, "unexpected text after hitcount");
		p = skip_ws(p + n, e);
		if (p >= e || *p != ':')
			return bad_line(hp, "unexpected text after hitcount");
		p = skip_ws(p + 1, e);
		if (!parse_u64(&p, e, &v))
			return bad_line(hp, "value is not a number");
	}
	count_add(hp->out, (uint32_t)isa, (uint32_t)reason, hits);
	return 0;
}

static int count_cmp(const void *a, const void *b)
{
	const struct exit_reason_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->isa != y->isa)
		return x->isa < y->isa ? -1 : 1;
	if (x->code != y->code)
		return x->code < y->code ? -1 : 1;
	return 0;
}

int kvm_exit_hist_parse(const char *text, size_t len, struct exit_reason_counts *out, char *why,
			size_t why_len)
{
	struct hist_parse hp = {.out = out, .why = why, .why_len = why_len};
	const char *p = text, *end = text + len;
	bool in_totals = false, have_hits = false, have_entries = false, have_dropped = false;
	uint64_t entry_lines = 0;
	int r = 0;

	if (!out || (!text && len))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s;

		hp.lineno++;
		hp.line = p;
		hp.eol = nl ? nl : end;
		p = nl ? nl + 1 : end;
		s = skip_ws(hp.line, hp.eol);
		if (s == hp.eol || *s == '#')
			continue;
		if (*s == '{') {
			if (in_totals) {
				r = bad_line(&hp, "a second histogram on the event");
				break;
			}
			r = parse_entry(&hp);
			if (r)
				break;
			entry_lines++;
			continue;
		}
		if (hp.eol - s >= 7 && memcmp(s, "Totals:", 7) == 0 &&
		    skip_ws(s + 7, hp.eol) == hp.eol) {
			if (in_totals) {
				r = bad_line(&hp, "a second histogram on the event");
				break;
			}
			in_totals = true;
			continue;
		}
		if (in_totals && !have_hits && parse_total(s, hp.eol, "Hits", &out->hist_hits)) {
			have_hits = true;
			continue;
		}
		if (in_totals && !have_entries &&
		    parse_total(s, hp.eol, "Entries", &out->hist_entries)) {
			have_entries = true;
			continue;
		}
		if (in_totals && !have_dropped &&
		    parse_total(s, hp.eol, "Dropped", &out->hist_dropped)) {
			have_dropped = true;
			continue;
		}
		r = bad_line(&hp, in_totals ? "unexpected line in Totals" : "not a hist entry");
		break;
	}
	if (!r && !in_totals) {
		say(why, why_len, "kvm_exit hist: no Totals section (text cut short?)");
		r = -EBADMSG;
	} else if (!r && (!have_hits || !have_entries || !have_dropped)) {
		say(why, why_len, "kvm_exit hist: Totals lacks %s",
		    !have_hits	    ? "Hits"
		    : !have_entries ? "Entries"
				    : "Dropped");
		r = -EBADMSG;
	} else if (!r && out->hist_entries != entry_lines) {
		say(why, why_len, "kvm_exit hist: Totals says %llu entries but %llu are listed",
		    (unsigned long long)out->hist_entries, (unsigned long long)entry_lines);
		r = -EBADMSG;
	}
	if (r) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	qsort(out->r, out->nr, sizeof(out->r[0]), count_cmp);
	return 0;
}

void exit_reason_counts_sub(struct exit_reason_counts *out, const struct exit_reason_counts *end,
			    const struct exit_reason_counts *start)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < end->nr; i++) {
		uint64_t before = 0;

		for (size_t j = 0; j < start->nr; j++)
			if (start->r[j].isa == end->r[i].isa &&
			    start->r[j].code == end->r[i].code) {
				before = start->r[j].count;
				break;
			}
		/* counts only grow; a smaller one means a reset, not negative exits */
		if (end->r[i].count <= before)
			continue;
		out->r[out->nr] = end->r[i];
		out->r[out->nr].count -= before;
		out->total += out->r[out->nr].count;
		out->nr++;
	}
	out->overflow_hits = end->overflow_hits > start->overflow_hits
				 ? end->overflow_hits - start->overflow_hits
				 : 0;
	out->hist_dropped =
	    end->hist_dropped > start->hist_dropped ? end->hist_dropped - start->hist_dropped : 0;
	qsort(out->r, out->nr, sizeof(out->r[0]), count_cmp);
}

/* ---- the live trace ---- */

enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_ARMED };

/*
 * Everything the teardown needs, built at start so that the signal path only
 * makes system calls. @owner keeps a forked child's exit from removing its
 * parent's trace.
 */
struct trace_slot {
	volatile sig_atomic_t state;
	uint32_t gen;
	pid_t owner;
	int (*rmdir_fn)(const char *path);
	char dir[PATH_MAX];
	char enable[PATH_MAX];
	char trigger[PATH_MAX];
	char hist[PATH_MAX];
	char remove[KVM_EXIT_TRACE_TRIGGER_MAX + 1]; /* "!" and the trigger */
	size_t remove_len;
};

static struct trace_slot slots[KVM_EXIT_TRACE_SLOTS];
static uint32_t last_gen;
static unsigned int next_instance;
static int atexit_registered;

static bool slot_take(struct trace_slot *s, int from)
{
	sig_atomic_t expected = from;

	return __atomic_compare_exchange_n(&s->state, &expected, SLOT_BUSY, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void slot_set(struct trace_slot *s, int state)
{
	__atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

static int sys_mkdir(const char *path)
{
	return mkdir(path, 0700);
}

static int sys_rmdir(const char *path)
{
	return rmdir(path);
}

/* One write(2) of @len bytes: tracefs parses a trigger per write. Async-signal-safe. */
static int write_once(const char *path, const char *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	ssize_t w;
	int r = 0;

	if (fd < 0)
		return -errno;
	w = write(fd, data, len);
	if (w < 0)
		r = -errno;
	else if ((size_t)w != len)
		r = -EIO;
	close(fd);
	return r;
}

static int read_all(const char *path, char **out, size_t *out_len)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger;

			if (cap >= HIST_READ_MAX) {
				r = -EFBIG;
				break;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/* Undo what start did, in the kernel's order: events off, trigger out, instance gone. */
static int teardown(const struct trace_slot *s, bool enabled, bool triggered)
{
	int err = 0, r;

	if (enabled) {
		r = write_once(s->enable, "0", 1, O_TRUNC);
		if (r && !err)
			err = r;
	}
	if (triggered) {
		r = write_once(s->trigger, s->remove, s->remove_len, O_APPEND);
		if (r && !err)
			err = r;
	}
	if (s->rmdir_fn(s->dir) < 0 && !err)
		err = -errno;
	return err;
}

void kvm_exit_trace_cleanup_on_signal(void)
{
	int saved_errno = errno;
	pid_t self = getpid();

	for (size_t i = 0; i < KVM_EXIT_TRACE_SLOTS; i++) {
		struct trace_slot *s = &slots[i];

		if (s->owner != self || !slot_take(s, SLOT_ARMED))
			continue;
		teardown(s, true, true);
		slot_set(s, SLOT_FREE);
	}
	errno = saved_errno;
}

static void cleanup_at_exit(void)
{
	kvm_exit_trace_cleanup_on_signal();
}

static int path_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int perm_error(int r, char *err, size_t errlen)
{
	say(err, errlen, "no permission to use tracefs: %s", strerror(-r));
	return r;
}

/* What the kernel offers, checked before anything is created. */
static int check_tracefs(const char *root, char *err, size_t errlen)
{
	char p[PATH_MAX];
	struct stat st;
	int r;

	r = path_fmt(p, sizeof(p), "%s/instances", root);
	if (!r && stat(p, &st) < 0)
		r = -errno;
	if (!r && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	if (r == -ENOENT || r == -ENOTDIR) {
		say(err, errlen, "tracefs is not mounted (%s)", root);
		return -ENOENT;
	}
	if (r == -EACCES || r == -EPERM)
		return perm_error(r, err, errlen);
	if (r) {
		say(err, errlen, "cannot use tracefs at %s: %s", root, strerror(-r));
		return r;
	}

	r = path_fmt(p, sizeof(p), "%s/" EVENT_DIR, root);
	if (!r && stat(p, &st) < 0)
		r = -errno;
	if (r == -ENOENT || r == -ENOTDIR) {
		say(err, errlen, "kvm:kvm_exit event not available");
		return -ENODEV;
	}
	if (r == -EACCES || r == -EPERM)
		return perm_error(r, err, errlen);
	if (r) {
		say(err, errlen, "cannot use %s: %s", p, strerror(-r));
		return r;
	}

	/* CONFIG_HIST_TRIGGERS gives every event directory a hist file. */
	r = path_fmt(p, sizeof(p), "%s/" EVENT_DIR "/hist", root);
	if (!r && stat(p, &st) < 0)
		r = -errno;
	if (r == -ENOENT) {
		say(err, errlen, "this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)");
		return -EOPNOTSUPP;
	}
	if (r == -EACCES || r == -EPERM)
		return perm_error(r, err, errlen);
	if (r) {
		say(err, errlen, "cannot use %s: %s", p, strerror(-r));
		return r;
	}
	return 0;
}

/* "nestvmm-<pid>-<n>" exactly; the pid, or 0 for another name. */
static pid_t instance_pid(const char *name)
{
	const char *p = name + strlen(INSTANCE_PFX);
	char *q;
	long pid;

	if (strncmp(name, INSTANCE_PFX, strlen(INSTANCE_PFX)) != 0 || *p < '1' || *p > '9')
		return 0;
	errno = 0;
	pid = strtol(p, &q, 10);
	if (errno || pid <= 0 || pid > INT32_MAX || *q != '-' || q[1] < '0' || q[1] > '9')
		return 0;
	for (q++; *q; q++)
		if (*q < '0' || *q > '9')
			return 0;
	return (pid_t)pid;
}

static bool held_here(const char *instances, const char *name)
{
	char dir[PATH_MAX];

	if (path_fmt(dir, sizeof(dir), "%s/%s", instances, name))
		return false;
	for (size_t i = 0; i < KVM_EXIT_TRACE_SLOTS; i++)
		if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) != SLOT_FREE &&
		    strcmp(slots[i].dir, dir) == 0)
			return true;
	return false;
}

/* Take out whatever hist triggers a dead process left in an instance, then the instance. */
static void remove_stale(const char *instances, const char *name, int (*rmdir_fn)(const char *))
{
	char dir[PATH_MAX], enable[PATH_MAX], trigger[PATH_MAX];
	char line[KVM_EXIT_TRACE_TRIGGER_MAX + 1];
	char *text = NULL, *p, *nl;
	size_t len = 0;

	if (path_fmt(dir, sizeof(dir), "%s/%s", instances, name) ||
	    path_fmt(enable, sizeof(enable), "%s/" EVENT_DIR "/enable", dir) ||
	    path_fmt(trigger, sizeof(trigger), "%s/" EVENT_DIR "/trigger", dir))
		return;
	write_once(enable, "0", 1, O_TRUNC);
	if (read_all(trigger, &text, &len) == 0) {
		/* The file lists "hist:keys=... if ... [active]" lines; '!' and the spec removes one. */
		for (p = text; p < text + len; p = nl + 1) {
			size_t n;
			char *bracket;

			nl = memchr(p, '\n', (size_t)(text + len - p));
			if (!nl)
				nl = text + len;
			n = (size_t)(nl - p);
			if (n < 5 || memcmp(p, "hist:", 5) != 0 || n + 1 >= sizeof(line))
				continue;
			line[0] = '!';
			memcpy(line + 1, p, n);
			line[n + 1] = '\0';
			bracket = strrchr(line, '[');
			if (bracket &&
			    (!strcmp(bracket, "[active]") || !strcmp(bracket, "[paused]")))
				*bracket = '\0';
			n = strlen(line);
			while (n > 1 && line[n - 1] == ' ')
				line[--n] = '\0';
			write_once(trigger, line, n, O_APPEND);
		}
		free(text);
	}
	rmdir_fn(dir);
}

/*
 * Instances of nestvmm processes that are gone: another pid that kill(2)
 * says does not exist, or our own pid (recycled from a dead process) on an
 * instance none of our slots holds.
 */
static void remove_stale_instances(const char *root, int (*rmdir_fn)(const char *))
{
	char instances[PATH_MAX];
	pid_t self = getpid();
	struct dirent *de;
	DIR *d;

	if (path_fmt(instances, sizeof(instances), "%s/instances", root))
		return;
	d = opendir(instances);
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid = instance_pid(de->d_name);
		bool stale;

		if (!pid)
			continue;
		if (pid == self)
			stale = !held_here(instances, de->d_name);
		else
			stale = kill(pid, 0) < 0 && errno == ESRCH;
		if (stale)
			remove_stale(instances, de->d_name, rmdir_fn);
	}
	closedir(d);
}

static struct trace_slot *claim_slot(void)
{
	for (size_t i = 0; i < KVM_EXIT_TRACE_SLOTS; i++) {
		struct trace_slot *s = &slots[i];
		uint32_t gen;

		if (!slot_take(s, SLOT_FREE))
			continue;
		do
			gen = __atomic_add_fetch(&last_gen, 1, __ATOMIC_RELAXED);
		while (!gen);
		s->gen = gen;
		s->owner = getpid();
		s->dir[0] = '\0';
		return s;
	}
	return NULL;
}

/* Undo a start that failed after the instance was made; the signal path may have done it. */
static void abandon(struct trace_slot *s, bool enabled, bool triggered)
{
	if (!slot_take(s, SLOT_ARMED))
		return;
	teardown(s, enabled, triggered);
	slot_set(s, SLOT_FREE);
}

int kvm_exit_trace_start_at(struct kvm_exit_trace *t, const char *tracefs_root,
			    const struct kvm_exit_tracefs_ops *ops, const pid_t *tids, size_t n,
			    char *err, size_t errlen)
{
	int (*mkdir_fn)(const char *) = ops && ops->mkdir ? ops->mkdir : sys_mkdir;
	char trig[KVM_EXIT_TRACE_TRIGGER_MAX];
	struct trace_slot *s;
	struct stat st;
	int len, r;

	if (!t || !tracefs_root)
		return -EINVAL;
	t->gen = 0;
	t->slot = -1;
	if (!tids || !n) {
		say(err, errlen, "kvm_exit trace: no vCPU thread to trace");
		return -EINVAL;
	}
	len = kvm_exit_trace_trigger(tids, n, trig, sizeof(trig));
	if (len == -ENOSPC) {
		say(err, errlen,
		    "kvm_exit trace: %zu vCPU threads do not fit in one trigger (%d bytes)", n,
		    KVM_EXIT_TRACE_TRIGGER_MAX);
		return -ENOSPC;
	}
	if (len < 0) {
		say(err, errlen, "kvm_exit trace: a thread id is not a valid pid");
		return len;
	}
	r = check_tracefs(tracefs_root, err, errlen);
	if (r)
		return r;

	s = claim_slot();
	if (!s) {
		say(err, errlen, "kvm_exit trace: %d traces already running in this process",
		    KVM_EXIT_TRACE_SLOTS);
		return -EBUSY;
	}
	s->rmdir_fn = ops && ops->rmdir ? ops->rmdir : sys_rmdir;
	s->remove[0] = '!';
	memcpy(s->remove + 1, trig, (size_t)len + 1);
	s->remove_len = (size_t)len + 1;

	remove_stale_instances(tracefs_root, s->rmdir_fn);

	r = -EEXIST;
	for (int tries = 0; tries < 16 && r == -EEXIST; tries++) {
		unsigned int k = __atomic_fetch_add(&next_instance, 1, __ATOMIC_RELAXED);

		r = path_fmt(s->dir, sizeof(s->dir), "%s/instances/" INSTANCE_PFX "%d-%u",
			     tracefs_root, (int)getpid(), k);
		if (!r)
			r = mkdir_fn(s->dir) < 0 ? -errno : 0;
	}
	if (!r)
		r = path_fmt(s->enable, sizeof(s->enable), "%s/" EVENT_DIR "/enable", s->dir);
	if (!r)
		r = path_fmt(s->trigger, sizeof(s->trigger), "%s/" EVENT_DIR "/trigger", s->dir);
	if (!r)
		r = path_fmt(s->hist, sizeof(s->hist), "%s/" EVENT_DIR "/hist", s->dir);
	if (r) {
		if (r == -EACCES || r == -EPERM)
			perm_error(r, err, errlen);
		else
			say(err, errlen, "kvm_exit trace: cannot create %s: %s", s->dir,
			    strerror(-r));
		s->dir[0] = '\0';
		slot_set(s, SLOT_FREE);
		return r;
	}
	/* From here the signal path can undo what follows. */
	slot_set(s, SLOT_ARMED);

	r = write_once(s->trigger, trig, (size_t)len, O_TRUNC);
	if (r) {
		/* Without CONFIG_HIST_TRIGGERS "hist:" is an unknown command: EINVAL. */
		bool no_hist = stat(s->hist, &st) < 0 && errno == ENOENT;

		if (r == -EINVAL && no_hist) {
			say(err, errlen, "this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)");
			r = -EOPNOTSUPP;
		} else if (r == -EACCES || r == -EPERM) {
			perm_error(r, err, errlen);
		} else if (r == -ENOENT) {
			say(err, errlen, "kvm:kvm_exit event not available");
			r = -ENODEV;
		} else {
			say(err, errlen, "kvm_exit trace: the kernel refused the trigger in %s: %s",
			    s->trigger, strerror(-r));
		}
		abandon(s, false, false);
		return r;
	}
	/*
	 * The event stays disabled: a trigger alone puts it in soft mode, where
	 * the tracepoint runs the hist trigger and records nothing in the ring
	 * buffer, so an exit costs the hash update and no more.
	 */

	if (!__atomic_exchange_n(&atexit_registered, 1, __ATOMIC_ACQ_REL))
		atexit(cleanup_at_exit);
	t->slot = (int)(s - slots);
	t->gen = s->gen;
	return 0;
}

int kvm_exit_trace_start(struct kvm_exit_trace *t, const pid_t *tids, size_t n, char *err,
			 size_t errlen)
{
	struct stat st;
	const char *root = TRACEFS_ROOT;

	/* Kernels before 4.1, or a system that mounts only debugfs, have it there. */
	if (stat(TRACEFS_ROOT "/instances", &st) < 0 &&
	    stat(DEBUGFS_TRACING "/instances", &st) == 0)
		root = DEBUGFS_TRACING;
	return kvm_exit_trace_start_at(t, root, NULL, tids, n, err, errlen);
}

static struct trace_slot *live_slot(const struct kvm_exit_trace *t)
{
	struct trace_slot *s;

	if (!t || !t->gen || t->slot < 0 || t->slot >= KVM_EXIT_TRACE_SLOTS)
		return NULL;
	s = &slots[t->slot];
	return s->gen == t->gen ? s : NULL;
}

int kvm_exit_trace_read(struct kvm_exit_trace *t, struct exit_reason_counts *out, char *err,
			size_t errlen)
{
	struct trace_slot *s = live_slot(t);
	char *text;
	size_t len;
	int r;

	if (!s || __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_ARMED) {
		say(err, errlen, "kvm_exit trace: not running");
		return -EINVAL;
	}
	r = read_all(s->hist, &text, &len);
	if (r) {
		say(err, errlen, "kvm_exit trace: reading %s: %s", s->hist, strerror(-r));
		return r;
	}
	r = kvm_exit_hist_parse(text, len, out, err, errlen);
	free(text);
	return r;
}

int kvm_exit_trace_stop(struct kvm_exit_trace *t)
{
	struct trace_slot *s = live_slot(t);
	int r;

	if (t) {
		t->gen = 0;
		t->slot = -1;
	}
	/* Not ARMED: stopped before, or a signal handler already cleaned up. */
	if (!s || !slot_take(s, SLOT_ARMED))
		return 0;
	r = teardown(s, true, true);
	s->dir[0] = '\0';
	slot_set(s, SLOT_FREE);
	return r;
}
