/* SPDX-License-Identifier: MIT */
/*
 * A VM's exits handled inside KVM, by reason (vmm/kvm_exit_trace.h), tied
 * to its run: the vCPU threads wait at a gate until the trace, filtered to
 * their thread ids, is in place, so that no exit of the guest escapes it;
 * the trace is read and removed when the run ends, and by a crash handler
 * if the process dies first.
 *
 * Only when vm_config.trace_exits asks for it (--stats): a hist trigger
 * costs every exit of the traced threads a hash update in the kernel.
 */
#ifndef NESTVMM_VM_EXIT_TRACE_H
#define NESTVMM_VM_EXIT_TRACE_H

#include <stdbool.h>

struct vm;
struct vcpu;
struct exit_reason_counts;

/* vm_run(), after every vCPU thread was started: wait for their tids, start the trace, open the gate. */
void vm_exit_trace_begin(struct vm *vm, unsigned int nr_started);
/* vm_run(), after the vCPU threads ended: the final counts into vm->exit_counts, trace removed. */
void vm_exit_trace_end(struct vm *vm);
/* A vCPU thread, first thing: publish its tid and wait at the gate (no-op without a trace). */
void vm_exit_trace_vcpu_ready(struct vcpu *vcpu);
/*
 * The counts so far (e.g. around one bench run). 0, or -errno when there is
 * no trace; vm->exit_trace_why then says why.
 */
int vm_exit_trace_read(struct vm *vm, struct exit_reason_counts *out);

#endif
