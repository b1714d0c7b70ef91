/* SPDX-License-Identifier: MIT */
/* A vCPU: its KVM fd, its kvm_run page, its thread and its exit statistics. */
#ifndef NESTVMM_VCPU_H
#define NESTVMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct kvm_run;
struct exit_stats;
struct kvm_stats;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	pid_t tid; /* the thread's id, once it runs (for the exit trace's filter) */
	bool thread_started;
	bool runnable_at_start; /* APs of a Linux guest wait for INIT/SIPI instead */
	volatile bool parked;	/* this vCPU finished its work; its thread ends */

	struct exit_stats *exits; /* written only by this vCPU's thread */
	uint64_t user_exits;	  /* exits that reached userspace */
	struct kvm_stats *stats;  /* KVM's per-vCPU binary stats, may be NULL */
	uint64_t *stats_start, *stats_end;
	uint64_t guest_cycles;	/* TSC cycles spent inside KVM_RUN */
	uint64_t handle_cycles; /* TSC cycles spent handling exits */

	/*
	 * Floor mode, for the exit-floor benchmark: while set, the vCPU runs a
	 * bare KVM_RUN loop that does no work at all for an IO or MMIO exit
	 * (no timing, no statistics, no bus lookup), except that IO exits on
	 * floor_pass_port are still dispatched so the guest can report.
	 */
	volatile bool floor_mode;
	uint16_t floor_pass_port;
	/* optional: every handling time, for a benchmark that wants the median */
	uint64_t *handle_samples;
	size_t nr_handle_samples, max_handle_samples;
};

/* The vCPU whose thread is running, or NULL outside vCPU threads. */
struct vcpu *vcpu_self(void);
/* For drivers that run a vCPU on their own thread instead of vcpu_start(). */
void vcpu_set_self(struct vcpu *vcpu);

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
void vcpu_destroy(struct vcpu *vcpu);

/*
 * Enter 64-bit mode directly at @rip with the boot GDT and identity page
 * tables written by boot_longmode_setup(), RSI = @rsi, RDI = @rdi, interrupts
 * off. Marks the vCPU runnable.
 */
int vcpu_set_long_mode(struct vcpu *vcpu, uint64_t rip, uint64_t rsi, uint64_t rdi);

/*
 * Called from the vCPU's own thread (a device handler) when its work is
 * done: its thread ends after this exit; the last vCPU to park stops the VM
 * with exit code 0.
 */
void vcpu_park(struct vcpu *vcpu);

int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
/*
 * Wait for the vCPU's thread to end, at most @timeout_ms. -ETIMEDOUT if it is
 * still inside KVM_RUN (a kick that the kernel never delivered).
 */
int vcpu_join(struct vcpu *vcpu, unsigned int timeout_ms);

#endif
