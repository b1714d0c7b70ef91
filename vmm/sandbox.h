/* SPDX-License-Identifier: MIT */
/*
 * The sandbox of `nestvmm run`: once set-up is done, every thread holds a
 * seccomp filter with the system calls its kind needs and nothing else,
 * and the process holds no capability.
 *
 * Each thread enters its sandbox itself, before it touches anything the
 * guest controls: the vCPU threads and the console reader at the start of
 * their lives, each virtio queue's I/O thread (made during set-up, never by
 * a vCPU, so no vCPU needs clone) once it has made its engine queue
 * (virtio_blk_seal(), virtio_net_seal()), and the main thread once it has started the others
 * (a filter is inherited by threads made later, so the main thread goes
 * last). A forbidden call traps: the SIGSYS handler names the thread
 * kind and the system call on stderr, restores the terminal, and the
 * process exits with status 128 + SIGSYS (159).
 *
 * Off by default, so that the unit tests, the bench (which runs several
 * VMs in one process) and other library users are unaffected; cmd_run
 * turns it on unless --sandbox off.
 */
#ifndef NESTVMM_SANDBOX_H
#define NESTVMM_SANDBOX_H

#include <stdbool.h>

enum sandbox_kind {
	SANDBOX_MAIN,	 /* waits for the stop, tears down, prints statistics */
	SANDBOX_VCPU,	 /* KVM_RUN and the exits nestvmm handles */
	SANDBOX_IO,	 /* a virtio queue's thread: its block engine */
	SANDBOX_NET,	 /* a virtio-net queue pair's thread: its tap queue and engine */
	SANDBOX_CONSOLE, /* reads stdin into the serial port */
	SANDBOX_NR_KINDS,
};

#define SANDBOX_EXIT_STATUS 159 /* 128 + SIGSYS */

/*
 * Turn the sandbox on for every sandbox_enter() from now on, and install
 * the SIGSYS handler. Call before any thread exists. @on_violation, if not
 * NULL, runs in the handler before the exit (async-signal-safe code only:
 * the terminal's restore). Returns 0 or -errno.
 */
int sandbox_enable(void (*on_violation)(void));
bool sandbox_enabled(void);

/*
 * Confine the calling thread to @kind's system calls; a no-op while the
 * sandbox is off. Returns 0 or -errno (-EPERM where seccomp is refused).
 */
int sandbox_enter(enum sandbox_kind kind);

const char *sandbox_kind_name(enum sandbox_kind kind);

/*
 * The tests' proof that the filters hold: the first thread of @kind
 * ("main", "vcpu", "io", "net" or "console") to enter its sandbox then makes a
 * system call no kind may (socket), and must be stopped. `nestvmm run`
 * takes it from $NESTVMM_SANDBOX_SELFTEST. Returns 0 or -EINVAL.
 */
int sandbox_selftest(const char *kind);

/*
 * The calling thread is dying of a crash signal (async-signal-safe): from
 * now on a forbidden call of its clean-up fails with EPERM instead of
 * stopping the process, so that the crash itself is what gets reported.
 */
void sandbox_note_crash(void);

/*
 * Drop every capability of the calling thread (effective, permitted,
 * inheritable, ambient, and the bounding set where it may): done by the
 * main thread before it makes any other, so that all inherit nothing.
 * Returns 0 or -errno.
 */
int sandbox_drop_caps(void);

/*
 * Switch the process to @uid/@gid (supplementary groups: just @gid).
 * Call before any thread exists. Returns 0 or -errno.
 */
int sandbox_switch_user(unsigned int uid, unsigned int gid);

#endif
