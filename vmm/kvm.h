/* SPDX-License-Identifier: MIT */
/* The /dev/kvm handle: API version and the capabilities nestvmm relies on. */
#ifndef NESTVMM_KVM_H
#define NESTVMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_cpuid2;

struct kvm {
	int fd;
	size_t run_size; /* mmap size of struct kvm_run */
	struct kvm_cpuid2 *supported_cpuid;
	/* optional capabilities, probed once */
	bool has_stats_fd;
	bool has_user_msr;
	bool has_msr_filter;
	bool has_coalesced_pio;
	bool has_coalesced_mmio;
	bool has_tsc_deadline;
	bool has_x2apic_api;
	bool has_tsc_control;
};

/*
 * Open @path (normally /dev/kvm), check API version 12 and every required
 * capability. On failure returns -errno and sets *why to one line naming
 * the missing piece.
 */
int kvm_open(struct kvm *kvm, const char *path, const char **why);
void kvm_close(struct kvm *kvm);

/* KVM_CHECK_EXTENSION on the system fd; 0 when absent. */
int kvm_check_cap(const struct kvm *kvm, int cap);

#endif
