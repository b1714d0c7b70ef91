/* SPDX-License-Identifier: MIT */
#include "vmm/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <ucontext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* System calls a thread of any kind makes: memory, locks, time, messages, exit. */
static const int common_calls[] = {
    SCMP_SYS(write),	       SCMP_SYS(exit),
    SCMP_SYS(exit_group),      SCMP_SYS(futex),
    SCMP_SYS(rt_sigreturn),    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield),
    SCMP_SYS(getpid),	       SCMP_SYS(gettid),
    SCMP_SYS(clock_gettime),   SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),       SCMP_SYS(brk),
    SCMP_SYS(munmap),	       SCMP_SYS(mremap),
    SCMP_SYS(madvise),	       SCMP_SYS(getrandom),
    SCMP_SYS(newfstatat),      SCMP_SYS(fstat),
    SCMP_SYS(tgkill),	       SCMP_SYS(rseq),
};

/*
 * The block engines at work: io_uring, libaio and plain syscalls, and the
 * kick/stop eventfds. Their queues are made before the thread enters its
 * sandbox (virtio_blk_seal), so io_uring_setup, io_uring_register and
 * io_setup are not here; io_destroy and close are, for the end.
 */
static const int io_calls[] = {
    SCMP_SYS(read),	      SCMP_SYS(readv),	    SCMP_SYS(writev),	    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),	      SCMP_SYS(preadv),	    SCMP_SYS(pwritev),	    SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2),	      SCMP_SYS(fsync),	    SCMP_SYS(fdatasync),    SCMP_SYS(fallocate),
    SCMP_SYS(io_uring_enter), SCMP_SYS(io_submit),  SCMP_SYS(io_getevents), SCMP_SYS(io_pgetevents),
    SCMP_SYS(io_cancel),      SCMP_SYS(io_destroy), SCMP_SYS(poll),	    SCMP_SYS(ppoll),
    SCMP_SYS(close),
};

static const int vcpu_calls[] = {
    SCMP_SYS(read),    /* an eventfd drained by a reset */
    SCMP_SYS(pread64), /* KVM's binary statistics, at the end */
};

static const int console_calls[] = {
    SCMP_SYS(read),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
};

/* The main thread's wait and teardown, including the exit trace's tracefs files. */
static const int main_calls[] = {
    SCMP_SYS(read),	   SCMP_SYS(pread64), SCMP_SYS(poll),  SCMP_SYS(ppoll),
    SCMP_SYS(close),	   SCMP_SYS(openat),  SCMP_SYS(lseek), SCMP_SYS(getdents64),
    SCMP_SYS(mkdir),	   SCMP_SYS(rmdir),   SCMP_SYS(fcntl), SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack), SCMP_SYS(mincore), /* --stats: resident guest RAM */
    SCMP_SYS(sysinfo), /* glibc's qsort asks for the RAM size to sort --stats' rows */
};

/*
 * A sanitizer build's runtime gives each thread an alternate signal stack
 * (and takes it back at the thread's end); LeakSanitizer's check, which
 * needs a tracer thread and ptrace, is run at sandbox_enable() instead of
 * at exit.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifdef SANDBOX_SANITIZED
static const int sanitizer_calls[] = {SCMP_SYS(sigaltstack)};
void __lsan_do_leak_check(void) __attribute__((weak));
#endif

/* The terminal's restore, which the SIGSYS handler may run in any thread. */
static const unsigned long tty_ioctls[] = {TCGETS, TCSETS, TCSETSW, TCSETSF};

/* What a vCPU's exits lead to: MSI-X routes, decode changes, INTx, resets. */
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,	   KVM_GET_REGS,	KVM_GET_SREGS, KVM_IRQ_LINE,
    KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_IRQFD,
};

/* INTx while MSI-X is off. */
static const unsigned long io_ioctls[] = {KVM_IRQ_LINE};
/* And the control queue's offload and queue-pair switches on the tap. */
static const unsigned long net_ioctls[] = {KVM_IRQ_LINE, TUNSETOFFLOAD, TUNSETQUEUE};
static const unsigned long console_ioctls[] = {KVM_IRQ_LINE};
static const unsigned long main_ioctls[] = {
    KVM_IRQ_LINE, KVM_IOEVENTFD, KVM_IRQFD, KVM_SET_GSI_ROUTING, KVM_GET_REGS, KVM_GET_SREGS,
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct kind_policy {
	const char *name;
	const int *calls;
	unsigned int nr_calls;
	const unsigned long *ioctls;
	unsigned int nr_ioctls;
};

static const struct kind_policy policies[SANDBOX_NR_KINDS] = {
    [SANDBOX_MAIN] = {"main", main_calls, N(main_calls), main_ioctls, N(main_ioctls)},
    [SANDBOX_VCPU] = {"vCPU", vcpu_calls, N(vcpu_calls), vcpu_ioctls, N(vcpu_ioctls)},
    [SANDBOX_IO] = {"I/O", io_calls, N(io_calls), io_ioctls, N(io_ioctls)},
    [SANDBOX_NET] = {"net", io_calls, N(io_calls), net_ioctls, N(net_ioctls)},
    [SANDBOX_CONSOLE] = {"console", console_calls, N(console_calls), console_ioctls,
			 N(console_ioctls)},
};

/* Names for the SIGSYS handler, resolved beforehand: it may not allocate. */
#define MAX_SYSCALL_NR 512
static const char *syscall_names[MAX_SYSCALL_NR];

static bool enabled;
static int selftest_kind = -1;
static atomic_bool selftest_armed = true;
static void (*violation_hook)(void);
static _Thread_local int thread_kind = -1;
static _Thread_local char thread_name[16]; /* read before the filter: the handler may not */
static _Thread_local volatile sig_atomic_t thread_crashing;

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	return (unsigned int)kind < SANDBOX_NR_KINDS ? policies[kind].name : "?";
}

bool sandbox_enabled(void)
{
	return enabled;
}

void sandbox_note_crash(void)
{
	thread_crashing = 1;
}

/* A message line built without allocating, for the SIGSYS handler. */
struct line {
	char buf[192];
	size_t len;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_uint(struct line *l, unsigned int v)
{
	char digits[12];
	int i = sizeof(digits);

	digits[--i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(l, digits + i);
}

/* Async-signal-safe: one write(2), the hook, _exit. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	static atomic_flag told = ATOMIC_FLAG_INIT;
	unsigned int nr = (unsigned int)si->si_syscall;
	struct line l = {.len = 0};

	(void)sig;
	if (thread_crashing) {
		/* A crash handler's clean-up: let the call fail, the crash report goes on. */
		((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = -EPERM;
		return;
	}
	if (atomic_flag_test_and_set(&told))
		syscall(SYS_exit_group, SANDBOX_EXIT_STATUS); /* another thread tells it */
	put(&l, "nestvmm: sandbox: the ");
	put(&l, thread_kind >= 0 ? sandbox_kind_name(thread_kind) : "unsandboxed");
	put(&l, " thread ");
	put(&l, thread_name);
	put(&l, thread_name[0] ? " made" : "made");
	put(&l, " a forbidden system call: ");
	put(&l, nr < MAX_SYSCALL_NR && syscall_names[nr] ? syscall_names[nr] : "unknown");
	put(&l, " (");
	put_uint(&l, nr);
	put(&l, "); stopping\n");
	if (write(STDERR_FILENO, l.buf, l.len) < 0) {
		/* nowhere left to say it */
	}
	if (violation_hook)
		violation_hook();
	/* Not _exit(): a sanitizer's wrapper of it may make calls of its own. */
	syscall(SYS_exit_group, SANDBOX_EXIT_STATUS);
}

int sandbox_enable(void (*on_violation)(void))
{
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};

	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	/*
	 * What glibc reads from files on first use must be read now: the
	 * first gmtime_r() (the RTC's, from a vCPU) loads /etc/localtime.
	 */
	tzset();
#ifdef SANDBOX_SANITIZED
	if (__lsan_do_leak_check)
		__lsan_do_leak_check(); /* now, and then never at exit */
#endif
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	violation_hook = on_violation;
	enabled = true;
	return 0;
}

int sandbox_selftest(const char *kind)
{
	static const char *const names[SANDBOX_NR_KINDS] = {
	    [SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu",	    [SANDBOX_IO] = "io",
	    [SANDBOX_NET] = "net",   [SANDBOX_CONSOLE] = "console",
	};

	for (int k = 0; k < SANDBOX_NR_KINDS; k++)
		if (strcmp(kind, names[k]) == 0) {
			selftest_kind = k;
			return 0;
		}
	return -EINVAL;
}

static int allow_all(scmp_filter_ctx ctx, const int *calls, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		if (r < 0)
			return r;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		/* The request is an unsigned int in the kernel: compare the low 32 bits. */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, reqs[i]));

		if (r < 0)
			return r;
	}
	return 0;
}

/* Memory may be mapped and protected, never made executable. */
static int allow_memory(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));

	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return r;
}

int sandbox_enter(enum sandbox_kind kind)
{
	const struct kind_policy *p;
	scmp_filter_ctx ctx;
	int r;

	if (!enabled)
		return 0;
	if ((unsigned int)kind >= SANDBOX_NR_KINDS)
		return -EINVAL;
	p = &policies[kind];
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
#ifdef SANDBOX_SANITIZED
	if ((r = allow_all(ctx, sanitizer_calls, N(sanitizer_calls))) < 0)
		goto out;
#endif
	if ((r = allow_all(ctx, common_calls, N(common_calls))) < 0 ||
	    (r = allow_all(ctx, p->calls, p->nr_calls)) < 0 || (r = allow_memory(ctx)) < 0 ||
	    (r = allow_ioctls(ctx, tty_ioctls, N(tty_ioctls))) < 0 ||
	    (r = allow_ioctls(ctx, p->ioctls, p->nr_ioctls)) < 0)
		goto out;
	thread_kind = (int)kind;
	if (pthread_getname_np(pthread_self(), thread_name, sizeof(thread_name)) != 0)
		thread_name[0] = '\0';
	/* Without TSYNC: the filter is this thread's (and its future children's) only. */
	r = seccomp_load(ctx);
	if (r < 0)
		thread_kind = -1;
	else if (selftest_kind == (int)kind && atomic_exchange(&selftest_armed, false))
		syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); /* forbidden to every kind */
out:
	seccomp_release(ctx);
	return r == -EACCES || r == -EINVAL ? -EPERM : r;
}

int sandbox_drop_caps(void)
{
	capng_clear(CAPNG_SELECT_ALL);
	/* The bounding set needs CAP_SETPCAP to change: without it, drop the rest. */
	if (capng_apply(CAPNG_SELECT_ALL) < 0 && capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return -EPERM;
	return 0;
}

int sandbox_switch_user(unsigned int uid, unsigned int gid)
{
	gid_t g = (gid_t)gid;

	if (setgroups(1, &g) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	/* A switch that could be undone is no switch. */
	if (uid != 0 && (setresuid(0, 0, 0) == 0 || geteuid() != uid))
		return -EPERM;
	return 0;
}
