/* SPDX-License-Identifier: MIT */
/*
 * The exits KVM handled in the kernel, by reason, for one VM: a tracefs
 * hist trigger on kvm:kvm_exit, keyed on (common_pid, isa, exit_reason) and
 * filtered on the VM's vCPU thread ids, counts every exit in the kernel
 * without a ring buffer record reaching userspace. KVM_RUN's userspace exits
 * are only the part of the exits that leave the kernel; this is the rest
 * (CPUID, MSR, NPF/EPT, HLT, the nested VMRUN/VMMCALL... of the equation).
 *
 * The trigger lives in a tracefs instance of its own,
 * instances/nestvmm-<pid>-<n>, so the global buffer and other tracers' events
 * are never touched, and removing the instance removes everything. Needs
 * root (or tracefs access), a mounted tracefs, the kvm module, and a kernel
 * built with CONFIG_HIST_TRIGGERS; each missing piece is one error line.
 */
#ifndef NESTVMM_KVM_EXIT_TRACE_H
#define NESTVMM_KVM_EXIT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Distinct (isa, exit reason) pairs one result holds; more are counted in overflow_*. */
#define EXIT_REASON_COUNTS_MAX 256

/*
 * The longest trigger the kernel takes: event_trigger_regex_write() refuses a
 * write of PAGE_SIZE or more. At about 20 bytes a thread, some 190 vCPUs.
 */
#define KVM_EXIT_TRACE_TRIGGER_MAX 4096

/* Entries of the kernel's hash table (one per pid and reason seen). */
#define KVM_EXIT_TRACE_HIST_SIZE 2048

struct exit_reason_count {
	uint32_t isa;  /* enum exit_isa */
	uint32_t code; /* exit_reason as the event records it (VMX flag bits kept) */
	uint64_t count;
};

struct exit_reason_counts {
	size_t nr; /* used entries of r[], sorted by count, largest first */
	struct exit_reason_count r[EXIT_REASON_COUNTS_MAX];
	uint64_t total;		 /* sum of r[].count */
	uint64_t overflow_hits;	 /* exits of the pairs that did not fit in r[] */
	uint64_t overflow_lines; /* hist entries that carried them */
	uint64_t hist_hits;	 /* "Hits:" of the Totals section */
	uint64_t hist_entries;	 /* "Entries:" */
	uint64_t hist_dropped;	 /* "Dropped:": exits lost because the table was full */
};

/*
 * Write the event filter "common_pid==T1||common_pid==T2..." for @n thread
 * ids into @buf. Returns its length, -EINVAL for no thread or a tid <= 0
 * (an empty filter would count every VM on the host), -ENOSPC if it does
 * not fit in @len bytes with its NUL.
 */
int kvm_exit_trace_filter(const pid_t *tids, size_t n, char *buf, size_t len);

/*
 * Write the whole trigger, "hist:keys=common_pid,isa,exit_reason:vals=hitcount:
 * size=2048 if <filter>", into @buf; same returns as kvm_exit_trace_filter().
 */
int kvm_exit_trace_trigger(const pid_t *tids, size_t n, char *buf, size_t len);

/*
 * Parse the text of a kvm_exit hist file made by that trigger, @len bytes
 * (need not be NUL-terminated), into @out, adding the counts of all pids
 * for each (isa, exit_reason). Comment lines ('#') and blank lines are
 * skipped; every other line must be an entry
 *     { common_pid:       1234, isa:          2, exit_reason:        114 } hitcount:        500
 * (spacing free, keys in any order, further values after hitcount ignored)
 * or part of the Totals section (Hits, Entries, Dropped), which must be
 * there and agree with the number of entries. A second histogram on the
 * same event is refused rather than added in twice.
 * Returns 0, or -EBADMSG with @why saying which line is wrong and how.
 */
int kvm_exit_hist_parse(const char *text, size_t len, struct exit_reason_counts *out, char *why,
			size_t why_len);

/*
 * What happened between two reads of the same trace: @end minus @start per
 * (isa, reason), the reasons that did not grow left out, sorted largest
 * first; overflow and Dropped as differences too.
 */
void exit_reason_counts_sub(struct exit_reason_counts *out, const struct exit_reason_counts *end,
			    const struct exit_reason_counts *start);

/*
 * How an instance directory is made and removed. On tracefs mkdir(2) makes
 * a populated instance and rmdir(2) removes it whole, files and all; a unit
 * test's plain-directory tree needs both done by hand. Each returns 0, or
 * -1 with errno set, like the system call. The rmdir hook is also what
 * kvm_exit_trace_cleanup_on_signal() calls, so it must be async-signal-safe.
 * NULL (or a NULL member) means the system call.
 */
struct kvm_exit_tracefs_ops {
	int (*mkdir)(const char *path);
	int (*rmdir)(const char *path);
};

/* Traces one process may run at once (one per VM it runs). */
#define KVM_EXIT_TRACE_SLOTS 4

/*
 * A handle on one running trace; its paths live in a static table that the
 * signal path can read. A zeroed handle, or one whose start failed, is a
 * stopped trace.
 */
struct kvm_exit_trace {
	uint32_t gen; /* 0: stopped; else matches the slot's generation */
	int slot;
};

/*
 * Find tracefs (/sys/kernel/tracing, else /sys/kernel/debug/tracing; never
 * mounts), remove the instances of nestvmm processes that are gone, create
 * instances/nestvmm-<pid>-<n>, write the trigger with the filter on @tids
 * to its events/kvm/kvm_exit/trigger. The event itself stays disabled: the
 * trigger alone runs it in soft mode, counting without recording.
 *
 * Returns 0, or -errno with one line in @err:
 *   -ENOENT   "tracefs is not mounted (/sys/kernel/tracing)"
 *   -ENODEV   "kvm:kvm_exit event not available" (kvm not loaded)
 *   -EACCES, -EPERM  "no permission to use tracefs: <strerror>"
 *   -EOPNOTSUPP  "this kernel has no hist triggers (CONFIG_HIST_TRIGGERS)"
 *   -ENOSPC   too many threads for one trigger; -EBUSY every slot in use;
 *   -EINVAL   no thread; another -errno naming the file that failed.
 * On failure nothing is left behind: no instance, no trigger. The first
 * start registers an atexit() handler that stops whatever is still running.
 */
int kvm_exit_trace_start(struct kvm_exit_trace *t, const pid_t *tids, size_t n, char *err,
			 size_t errlen);

/* Same on the tracefs at @tracefs_root (a test's fake tree), through @ops (NULL: syscalls). */
int kvm_exit_trace_start_at(struct kvm_exit_trace *t, const char *tracefs_root,
			    const struct kvm_exit_tracefs_ops *ops, const pid_t *tids, size_t n,
			    char *err, size_t errlen);

/*
 * Read the instance's hist file and parse it into @out (counts since
 * start). 0, or -errno / -EBADMSG with @err set. -EINVAL after stop.
 */
int kvm_exit_trace_read(struct kvm_exit_trace *t, struct exit_reason_counts *out, char *err,
			size_t errlen);

/*
 * Disable the event (in case someone enabled it), remove the trigger, remove
 * the instance. Idempotent:
 * 0 on a stopped trace. Returns the first error (the trace is released
 * anyway; only the directory can remain, e.g. -EBUSY while someone holds a
 * file of the instance open, or -ENOTEMPTY on a fake tree).
 */
int kvm_exit_trace_stop(struct kvm_exit_trace *t);

/*
 * Stop every running trace of this process from a signal or crash handler:
 * only open(2), write(2), close(2) and the rmdir hook on paths and strings
 * built at start, no allocation, no locks, no stdio. A trace being started
 * or stopped at that moment in another thread may be left to the next run's
 * stale-instance cleanup.
 */
void kvm_exit_trace_cleanup_on_signal(void);

#endif
