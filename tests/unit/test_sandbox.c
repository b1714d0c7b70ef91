/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filters of vmm/sandbox.c, loaded for real in forked
 * children: what each thread kind may still do, that a forbidden call
 * stops the process with status 159 and one line naming the thread and
 * the call, that executable memory is refused to every kind, that a
 * filter binds only its own thread, and that a crash handler's clean-up
 * fails softly instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/sandbox.h"

struct child {
	int status;    /* as waitpid() gives it */
	char err[512]; /* what it wrote on stderr */
};

/* Run @fn(@arg) in a child whose stderr is captured; @fn's return is the exit status. */
static void run_child(int (*fn)(void *), void *arg, struct child *out)
{
	int pfd[2];
	pid_t pid;
	size_t len = 0;
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		_exit(fn(arg));
	}
	close(pfd[1]);
	while (len < sizeof(out->err) - 1 &&
	       (n = read(pfd[0], out->err + len, sizeof(out->err) - 1 - len)) > 0)
		len += (size_t)n;
	out->err[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &out->status, 0), pid);
}

static void assert_stopped_for(const struct child *c, const char *kind, const char *call)
{
	char want[128];

	assert_true(WIFEXITED(c->status));
	assert_int_equal(WEXITSTATUS(c->status), SANDBOX_EXIT_STATUS);
	snprintf(want, sizeof(want), "nestvmm: sandbox: the %s thread ", kind);
	assert_non_null(strstr(c->err, want));
	snprintf(want, sizeof(want), "a forbidden system call: %s (", call);
	assert_non_null(strstr(c->err, want));
	/* One line. */
	assert_non_null(strchr(c->err, '\n'));
	assert_int_equal(strchr(c->err, '\n')[1], '\0');
}

static int enter(enum sandbox_kind kind)
{
	if (sandbox_enable(NULL) < 0 || sandbox_enter(kind) < 0)
		return 90;
	return 0;
}

/* What a thread of any kind does: memory, time, its pid. */
static int common_calls_work(void)
{
	struct timespec ts;
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) < 0 || munmap(p, 1 << 20) < 0)
		return 92;
	return clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0 ? 92 : 0;
}

struct kind_case {
	enum sandbox_kind kind;
	const char *name;
};

static int child_allowed_then_socket(void *arg)
{
	const struct kind_case *k = arg;
	int pfd[2], r;
	char *buf;

	if (pipe(pfd) < 0)
		return 91;
	if ((r = enter(k->kind)) != 0)
		return r;
	if ((r = common_calls_work()) != 0)
		return r;
	buf = malloc(1 << 20); /* an allocation big enough to be its own mapping */
	if (!buf)
		return 93;
	free(buf);
	if (write(pfd[1], "x", 1) != 1)
		return 94;
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 0; /* not reached: the call above must stop the process */
}

static const struct kind_case kinds[] = {
    {SANDBOX_MAIN, "main"}, {SANDBOX_VCPU, "vCPU"},	  {SANDBOX_IO, "I/O"},
    {SANDBOX_NET, "net"},   {SANDBOX_CONSOLE, "console"},
};

static void test_each_kind_stops_a_socket(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct child c;

		run_child(child_allowed_then_socket, (void *)&kinds[i], &c);
		assert_stopped_for(&c, kinds[i].name, "socket");
	}
}

static int child_open(void *arg)
{
	const struct kind_case *k = arg;
	int r, fd;

	if ((r = enter(k->kind)) != 0)
		return r;
	fd = open("/dev/null", O_RDONLY);
	return fd >= 0 ? 0 : 95;
}

/* Only the main thread opens files after set-up (tracefs, for the exit trace). */
static void test_only_main_opens_files(void **state)
{
	struct child c;

	(void)state;
	run_child(child_open, (void *)&kinds[0], &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
	for (size_t i = 1; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		run_child(child_open, (void *)&kinds[i], &c);
		assert_stopped_for(&c, kinds[i].name, "openat");
	}
}

static int child_exec_map(void *arg)
{
	const struct kind_case *k = arg;
	int r;

	if ((r = enter(k->kind)) != 0)
		return r;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int child_exec_protect(void *arg)
{
	const struct kind_case *k = arg;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (p == MAP_FAILED)
		return 96;
	if ((r = enter(k->kind)) != 0)
		return r;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static void test_no_kind_maps_executable_memory(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct child c;

		run_child(child_exec_map, (void *)&kinds[i], &c);
		assert_stopped_for(&c, kinds[i].name, "mmap");
		run_child(child_exec_protect, (void *)&kinds[i], &c);
		assert_stopped_for(&c, kinds[i].name, "mprotect");
	}
}

static int child_clone(void *arg)
{
	pthread_t t;
	int r;

	(void)arg;
	if ((r = enter(SANDBOX_VCPU)) != 0)
		return r;
	/* Stopped at the first call it needs that a vCPU may not make. */
	if (pthread_create(&t, NULL, (void *(*)(void *))abort, NULL) != 0)
		return 97;
	return 98;
}

static void test_vcpu_cannot_make_threads(void **state)
{
	struct child c;

	(void)state;
	run_child(child_clone, NULL, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), SANDBOX_EXIT_STATUS);
	/* glibc sets up its thread signals first; a later glibc may go straight to clone3. */
	assert_true(strstr(c.err, "the vCPU thread ") &&
		    (strstr(c.err, ": rt_sigaction (") || strstr(c.err, ": clone3 (") ||
		     strstr(c.err, ": clone (")));
}

static int sibling_fd = -2;

static void *sibling(void *arg)
{
	(void)arg;
	sibling_fd = open("/dev/null", O_RDONLY);
	return NULL;
}

static void *confined(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)sandbox_enter(SANDBOX_IO);
}

/* A filter binds the thread that loaded it, not the threads beside it. */
static int child_per_thread(void *arg)
{
	pthread_t t;
	void *ret;

	(void)arg;
	if (sandbox_enable(NULL) < 0)
		return 90;
	if (pthread_create(&t, NULL, confined, NULL) != 0 || pthread_join(t, &ret) != 0 || ret)
		return 99;
	if (pthread_create(&t, NULL, sibling, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 100;
	return sibling_fd >= 0 ? 0 : 101;
}

static void test_filter_is_per_thread(void **state)
{
	struct child c;

	(void)state;
	run_child(child_per_thread, NULL, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
	assert_string_equal(c.err, "");
}

static int child_crashing(void *arg)
{
	int r, fd;

	(void)arg;
	if ((r = enter(SANDBOX_VCPU)) != 0)
		return r;
	sandbox_note_crash();
	fd = open("/dev/null", O_RDONLY);
	return fd == -1 && errno == EPERM ? 0 : 102;
}

static void test_crash_cleanup_fails_softly(void **state)
{
	struct child c;

	(void)state;
	run_child(child_crashing, NULL, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
	assert_string_equal(c.err, "");
}

static int child_disabled(void *arg)
{
	(void)arg;
	/* Never enabled: entering is a no-op and nothing is filtered. */
	if (sandbox_enter(SANDBOX_VCPU) != 0)
		return 103;
	return open("/dev/null", O_RDONLY) >= 0 ? 0 : 104;
}

static void test_off_filters_nothing(void **state)
{
	struct child c;

	(void)state;
	run_child(child_disabled, NULL, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * The main thread sorts --stats' rows: glibc's qsort asks sysinfo() for the
 * RAM size once the array passes 1 KiB (the e2e net scenario found it).
 */
static int child_main_sorts(void *arg)
{
	static int v[4096];
	int r;

	(void)arg;
	for (int i = 0; i < 4096; i++)
		v[i] = (i * 7919) % 4096;
	if ((r = enter(SANDBOX_MAIN)) != 0)
		return r;
	qsort(v, 4096, sizeof(v[0]), cmp_int);
	return v[0] == 0 && v[4095] == 4095 ? 0 : 98;
}

static void test_main_sorts_large_arrays(void **state)
{
	struct child c;

	(void)state;
	run_child(child_main_sorts, NULL, &c);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
		fail_msg("status %d: %s", c.status, c.err);
}

static int child_net_ioctls(void *arg)
{
	int pfd[2], r;

	(void)arg;
	if (pipe(pfd) < 0)
		return 91;
	if ((r = enter(SANDBOX_NET)) != 0)
		return r;
	/* Allowed (a pipe is no tap: ENOTTY), then a call that would make a tap: stopped. */
	if (ioctl(pfd[0], TUNSETOFFLOAD, 0ul) != -1 || errno != ENOTTY)
		return 96;
	if (ioctl(pfd[0], TUNSETQUEUE, NULL) != -1 || errno != ENOTTY)
		return 97;
	ioctl(pfd[0], TUNSETIFF, NULL);
	return 0;
}

/* A net thread switches its tap's offloads and queues, and makes nothing. */
static void test_net_ioctls(void **state)
{
	struct child c;

	(void)state;
	run_child(child_net_ioctls, NULL, &c);
	assert_stopped_for(&c, "net", "ioctl");
}

static void test_selftest_names(void **state)
{
	(void)state;
	assert_int_equal(sandbox_selftest("vcpu"), 0);
	assert_int_equal(sandbox_selftest("io"), 0);
	assert_int_equal(sandbox_selftest("net"), 0);
	assert_int_equal(sandbox_selftest("bogus"), -EINVAL);
	assert_int_equal(sandbox_selftest(""), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_kind_stops_a_socket),
	    cmocka_unit_test(test_only_main_opens_files),
	    cmocka_unit_test(test_no_kind_maps_executable_memory),
	    cmocka_unit_test(test_vcpu_cannot_make_threads),
	    cmocka_unit_test(test_filter_is_per_thread),
	    cmocka_unit_test(test_crash_cleanup_fails_softly),
	    cmocka_unit_test(test_off_filters_nothing),
	    cmocka_unit_test(test_net_ioctls),
	    cmocka_unit_test(test_main_sorts_large_arrays),
	    cmocka_unit_test(test_selftest_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
