/* SPDX-License-Identifier: MIT */
#include "vmm/vm_exit_trace.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/kvm_exit_trace.h"
#include "vmm/sandbox.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/*
 * Fatal signals that would otherwise leave the trigger behind. SIGINT,
 * SIGTERM and SIGHUP are not here: vm_run() takes them as a stop request,
 * and the normal end removes the trace.
 */
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT};
#define NR_CRASH_SIGNALS (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction crash_old[NR_CRASH_SIGNALS];
static bool crash_installed;

/*
 * Remove the trace, then hand the signal to whoever had it before (the
 * console's terminal restore, or the default action): with the old action
 * back in place, the re-raised signal reaches it once this handler returns.
 */
static void on_crash(int sig)
{
	int saved_errno = errno;

	sandbox_note_crash(); /* a sandboxed thread may not reach tracefs: it tries */
	kvm_exit_trace_cleanup_on_signal();
	for (size_t i = 0; i < NR_CRASH_SIGNALS; i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &crash_old[i], NULL);
	raise(sig);
	errno = saved_errno;
}

static void install_crash_handlers(void)
{
	struct sigaction sa;

	if (crash_installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NR_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], &sa, &crash_old[i]);
	crash_installed = true;
}

void vm_exit_trace_vcpu_ready(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	vcpu->tid = gettid();
	if (!vm->cfg.trace_exits)
		return;
	pthread_mutex_lock(&vm->gate_lock);
	vm->gate_ready++;
	pthread_cond_broadcast(&vm->gate_cond);
	while (!vm->gate_open)
		pthread_cond_wait(&vm->gate_cond, &vm->gate_lock);
	pthread_mutex_unlock(&vm->gate_lock);
}

void vm_exit_trace_begin(struct vm *vm, unsigned int nr_started)
{
	pid_t tids[VM_MAX_VCPUS];
	int r;

	if (!vm->cfg.trace_exits)
		return;
	pthread_mutex_lock(&vm->gate_lock);
	while (vm->gate_ready < nr_started)
		pthread_cond_wait(&vm->gate_cond, &vm->gate_lock);
	pthread_mutex_unlock(&vm->gate_lock);

	for (unsigned int i = 0; i < nr_started; i++)
		tids[i] = vm->vcpus[i].tid;
	install_crash_handlers();
	r = nr_started ? kvm_exit_trace_start(&vm->exit_trace, tids, nr_started, vm->exit_trace_why,
					      sizeof(vm->exit_trace_why))
		       : -EINVAL;
	if (r == 0)
		vm->exit_trace_on = true;
	else if (!vm->exit_trace_why[0])
		snprintf(vm->exit_trace_why, sizeof(vm->exit_trace_why), "no vCPU thread to trace");

	pthread_mutex_lock(&vm->gate_lock);
	vm->gate_open = true;
	pthread_cond_broadcast(&vm->gate_cond);
	pthread_mutex_unlock(&vm->gate_lock);
}

int vm_exit_trace_read(struct vm *vm, struct exit_reason_counts *out)
{
	char err[256];
	int r;

	if (!vm->exit_trace_on)
		return -ENOENT;
	r = kvm_exit_trace_read(&vm->exit_trace, out, err, sizeof(err));
	if (r < 0)
		snprintf(vm->exit_trace_why, sizeof(vm->exit_trace_why), "%s", err);
	return r;
}

void vm_exit_trace_end(struct vm *vm)
{
	if (!vm->exit_trace_on)
		return;
	vm->exit_counts = calloc(1, sizeof(*vm->exit_counts));
	if (!vm->exit_counts)
		snprintf(vm->exit_trace_why, sizeof(vm->exit_trace_why), "out of memory");
	else if (vm_exit_trace_read(vm, vm->exit_counts) < 0) {
		free(vm->exit_counts);
		vm->exit_counts = NULL;
	}
	kvm_exit_trace_stop(&vm->exit_trace);
	vm->exit_trace_on = false;
}
