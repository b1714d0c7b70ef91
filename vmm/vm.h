/* SPDX-License-Identifier: MIT */
/*
 * One VM: guest RAM, the PIO/MMIO buses, the in-kernel irqchip and the vCPU
 * threads, plus the orderly stop that any vCPU or device can request.
 */
#ifndef NESTVMM_VM_H
#define NESTVMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/boot_marks.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm.h"
#include "vmm/kvm_exit_trace.h"
#include "vmm/nested.h"

#define VM_MAX_VCPUS 64
/* How long a stop waits for each vCPU thread to leave KVM_RUN. */
#define VM_STOP_TIMEOUT_MS 5000

struct vcpu;
struct vm;
struct kvm_stats;

/* Exit codes nestvmm returns that are not the guest's own. */
enum vm_exit_code {
	VM_EXIT_OK = 0,
	VM_EXIT_VMM_ERROR = 1,	 /* set-up failed, or the VMM hit an error */
	VM_EXIT_USAGE = 2,	 /* bad command line */
	VM_EXIT_GUEST_CRASH = 3, /* triple fault, internal error, guest-reported fault */
};

/* Model-specific registers the guest reads or writes in userspace (MSR filter). */
struct vm_msr_ops {
	/* Return 0 and fill *value, or non-zero to inject #GP. */
	int (*read)(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t *value);
	int (*write)(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t value);
	void *opaque;
	const uint32_t *indices; /* MSRs routed to userspace */
	unsigned int nr_indices;
};

struct vm_config {
	uint64_t mem_size;
	unsigned int nr_vcpus;
	bool stats;		 /* collect exit statistics */
	const char *kvm_path;	 /* default /dev/kvm */
	enum nested_mode nested; /* what of SVM/VMX the guest sees (default auto) */
	bool trace_exits;   /* count the exits KVM handles in the kernel, by reason (--stats) */
	uint64_t launch_ns; /* vm_monotonic_ns() when nestvmm started; 0: time from vm_run */
};

struct vm {
	struct kvm kvm;
	int fd;
	struct vm_config cfg;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	uint64_t tsc_khz;
	struct vm_msr_ops msr_ops;
	struct nested_exposure nested; /* decided at vm_create from cfg.nested */

	/* stop: the first request wins and sets the exit code */
	atomic_bool stopping;
	pthread_mutex_t stop_lock;
	int exit_code;
	char stop_why[256];
	int stop_eventfd;      /* written once when a stop is requested */
	atomic_uint nr_parked; /* vCPUs that finished; when all have, the VM stops */
	bool vcpus_abandoned;  /* a vCPU thread did not stop: do not free what it uses */

	uint64_t run_start_tsc, run_end_tsc;
	uint64_t run_start_ns;		 /* vm_monotonic_ns() at vm_run */
	uint64_t first_run_ns;		 /* ... at the first KVM_RUN of vCPU 0 */
	struct vm_boot_marks boot_marks; /* the guest's writes to the boot timer */
	struct kvm_stats *vm_stats;
	uint64_t *vm_stats_start, *vm_stats_end;

	/* cfg.trace_exits (vmm/vm_exit_trace.h): the vCPUs' start gate and the trace */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	unsigned int gate_ready;
	bool gate_open;
	bool exit_trace_on;
	struct kvm_exit_trace exit_trace;
	char exit_trace_why[256]; /* why there is no trace, or why reading it failed */
	struct exit_reason_counts *exit_counts; /* the whole run's, once it ended; NULL if none */
};

/*
 * Create the VM: open KVM, RAM, irqchip, PIT, TSS/identity-map addresses, and
 * the vCPUs (not started). On error returns -errno and *why says what failed.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, const char **why);
void vm_destroy(struct vm *vm);

/* Route the listed MSRs to @ops through KVM's MSR filter. Before vm_run(). */
int vm_set_msr_ops(struct vm *vm, const struct vm_msr_ops *ops, const char **why);

/*
 * Start one thread per vCPU and wait until a stop is requested (by a vCPU, a
 * device, or SIGINT/SIGTERM), then kick and join every vCPU. Returns the exit
 * code the stop carried.
 */
int vm_run(struct vm *vm);

/*
 * Block SIGINT/SIGTERM/SIGHUP in the calling thread, so that every thread it
 * creates afterwards inherits the mask and vm_run() alone receives them as a
 * stop request. Call it first, before any thread exists (the console reader,
 * the block engines' workers): a thread created earlier takes such a signal
 * with its default action and kills the process with no orderly stop.
 * Returns 0 or -errno.
 */
int vm_block_stop_signals(void);

/*
 * Ask the VM to stop with @exit_code; safe from any thread, idempotent (the
 * first request's code and reason are kept). @why may be NULL.
 */
void vm_request_stop(struct vm *vm, int exit_code, const char *why);

static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stopping, memory_order_acquire);
}

/* Raise/lower an interrupt line of the in-kernel irqchip. */
int vm_irq_line(struct vm *vm, unsigned int gsi, int level);

/* Bind a guest write of @len bytes at @addr (PIO if @pio) to @efd: no exit. */
int vm_add_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len, int efd);
/* Undo vm_add_ioeventfd() (the same arguments): the write exits again. */
int vm_del_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len, int efd);

#endif
