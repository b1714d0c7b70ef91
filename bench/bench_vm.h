/* SPDX-License-Identifier: MIT */
/*
 * The host side of the bench guest: builds the VM, loads the guest, serves
 * its doorbell and the ports/MMIO/MSR its workloads poke, and collects one
 * result per (vCPU, workload) with the exits KVM counted during that run.
 */
#ifndef NESTVMM_BENCH_VM_H
#define NESTVMM_BENCH_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/guest/protocol.h"
#include "vmm/kvm_exit_trace.h"
#include "vmm/nested.h"

struct vm;
struct vcpu;

struct bench_options {
	unsigned int nr_cpus;
	uint64_t mem_size;
	uint32_t workloads[BENCH_MAX_WORKLOADS];
	unsigned int nr_workloads;
	uint64_t min_time_us; /* a run shorter than this is repeated with 2x iterations */
	uint64_t fixed_iters; /* non-zero: exactly this many iterations, no growth */
	bool native;	      /* also time the compute workloads on the host */
	uint64_t disk_size;   /* the blk workloads' scratch image; 0: BENCH_DISK_DEFAULT_SIZE */
	/* optional: what the image holds instead of the pattern the guest checks (tests) */
	void (*disk_fill)(void *buf, size_t len, uint64_t first_sector);
	const char *kvm_path;
	enum nested_mode nested; /* --nested: what of SVM/VMX the bench guest sees */
	bool trace_exits;	 /* exits KVM handles, by reason, per run (--stats) */
	/* optional: called on a vCPU's thread when the guest begins list entry @slot */
	void (*on_begin)(struct vcpu *vcpu, unsigned int slot, void *ctx);
	void *on_begin_ctx;
};

/* Exit reasons kept per run (the rest are in the VM's --stats table). */
#define BENCH_MAX_REASONS 6

struct bench_result {
	bool valid;
	uint32_t workload;
	uint32_t cpu;
	uint32_t cpl;
	uint64_t iters;
	uint64_t cycles;
	uint64_t value;
	bool has_kvm_exits;
	uint64_t kvm_exits;  /* all exits KVM counted during the run (stats fd "exits") */
	uint64_t user_exits; /* exits that reached nestvmm during the run */
	/* native comparison (compute workloads, --native) */
	bool has_native;
	uint64_t native_iters;
	uint64_t native_cycles;
	uint64_t native_value;
	/* the SVM workloads (bench_workload_is_svm()) */
	uint32_t skip;	       /* enum bench_skip: the run did not happen, and why */
	uint32_t svm_features; /* CPUID 0x8000000A EDX as the bench hypervisor saw it */
	uint64_t inner_exits;  /* inner #VMEXITs the bench hypervisor handled */
	uint64_t entry_min, entry_sum, entry_max; /* VMRUN -> inner guest, TSC cycles */
	uint64_t exit_min, exit_sum, exit_max;	  /* inner VMMCALL -> after VMRUN */
	bool has_nested_runs;
	uint64_t nested_runs; /* KVM's "nested_run" stat over the run: VMRUNs it emulated */
	/* --stats on one vCPU: the run's exits KVM handled in the kernel, top reasons first */
	unsigned int nr_reasons;
	struct exit_reason_count reasons[BENCH_MAX_REASONS];
};

struct bench_fault {
	bool happened;
	uint32_t cpu;
	uint32_t workload;
	uint64_t vector, error, rip, cr2, cs;
};

struct bench_outcome {
	uint64_t tsc_khz;
	unsigned int nr_cpus;
	unsigned int nr_workloads;
	struct bench_result results[BENCH_MAX_CPUS][BENCH_MAX_WORKLOADS];
	struct bench_fault fault;
	int exit_code;	       /* what the VM run ended with */
	char disk_note[192];   /* the blk workloads' disk, engine and image; "" if none */
	char nested_note[512]; /* what of SVM/VMX the guest saw (nested_describe()) */
	struct nested_exposure nested;
	/* --stats: why the runs carry no exit reasons ("" when they do or when not asked) */
	char reasons_why[256];
	char stop_why[256];
};

/* Fill @opt with defaults (1 vCPU, 256 MiB, the default workload set, 100 ms). */
void bench_options_default(struct bench_options *opt);

/*
 * Optional hook called with the VM after it has stopped and before it is
 * destroyed (the CLI prints --stats there).
 */
typedef void (*bench_vm_done_fn)(struct vm *vm, void *ctx);

/*
 * Whether @opt is a run the bench guest can do (vCPUs, RAM, workloads, the
 * blk workloads on one vCPU): 0, or -EINVAL with *why. The command line
 * calls it first, so that these are usage errors.
 */
int bench_options_check(const struct bench_options *opt, const char **why);

/*
 * Run the bench guest. Returns 0 when the VM ran (out->exit_code and
 * out->fault tell how it ended), or -errno when it could not be set up, with
 * *why naming the reason.
 */
int bench_vm_run(const struct bench_options *opt, struct bench_outcome *out, bench_vm_done_fn done,
		 void *done_ctx, const char **why);

/*
 * The same in steps, for drivers that run the guest their own way (the
 * exit-floor benchmark's null VMM): create the VM with the guest loaded and
 * its devices attached, then either bench_session_run() (nestvmm's vCPU
 * threads) or drive the vCPUs yourself, then destroy (which also runs the
 * native comparison when asked).
 */
struct bench_session;
int bench_session_create(const struct bench_options *opt, struct bench_outcome *out,
			 struct bench_session **session, const char **why);
struct vm *bench_session_vm(struct bench_session *session);
int bench_session_run(struct bench_session *session);
void bench_session_destroy(struct bench_session *session);

/* Why an SVM workload was skipped, in words, from the guest's reason and what nestvmm exposed. */
void bench_skip_describe(uint32_t skip, const struct nested_exposure *nested, char *buf,
			 size_t len);

/* One line describing a guest fault, e.g. "#UD (vector 6) error 0 at RIP 0x1012a3". */
void bench_fault_describe(const struct bench_fault *f, char *buf, size_t len);

#endif
