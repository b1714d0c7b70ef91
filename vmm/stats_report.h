/* SPDX-License-Identifier: MIT */
/*
 * The --stats output: the exit table in the form of the classic KVM exit
 * timing tables (count min max sum avg stddev % per exit type), the KVM_RUN
 * time per exit, the time split between guest and VMM, and what KVM's own
 * counters saw over the same run. As a text table or as JSON.
 */
#ifndef NESTVMM_STATS_REPORT_H
#define NESTVMM_STATS_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/boot_marks.h"
#include "vmm/exit_stats.h"
#include "vmm/kvm_exit_trace.h"
#include "vmm/kvm_stats.h"

/* One device's counters, as the device names them (virtio-net: rx_packets, tx_drop_csum, ...). */
#define STATS_DEVICE_MAX_COUNTERS 40
struct stats_counter {
	const char *name; /* a JSON-safe identifier */
	uint64_t value;
};

struct stats_device {
	char name[48]; /* "virtio-net tap0" */
	unsigned int nr;
	struct stats_counter c[STATS_DEVICE_MAX_COUNTERS];
};

struct stats_report {
	uint64_t tsc_khz;     /* for cycles -> ns; 0 if unknown: cycles only */
	uint64_t wall_cycles; /* TSC cycles from first KVM_RUN to VM stop */
	unsigned nr_vcpus;
	const char
	    *nested; /* what of SVM/VMX the guest was shown (nested_describe()); NULL: omit */
	const struct exit_stats *exits; /* merged over vCPUs; NULL: no exit table */
	/*
	 * Deltas (end - start, see kvm_stats_delta()) of the KVM stats, vCPU
	 * ones summed over vCPUs; NULL if unavailable. Only the cumulative
	 * values are shown.
	 */
	const struct kvm_stats *vm_stats;
	const uint64_t *vm_delta;
	const struct kvm_stats *vcpu_stats;
	const uint64_t *vcpu_delta;
	/*
	 * The exits KVM handled in the kernel, by reason (vmm/kvm_exit_trace.h).
	 * NULL with a reason in kernel_exits_why: asked for, not available;
	 * both NULL: not asked for, nothing printed.
	 */
	const struct exit_reason_counts *kernel_exits;
	const char *kernel_exits_why;
	/*
	 * Start-up: ns from launch to vCPU 0's first KVM_RUN (0: not known),
	 * and the guest's boot-timer marks (vmm/boot_marks.h).
	 */
	uint64_t launch_to_run_ns;
	const struct vm_boot_mark *marks;
	unsigned int nr_marks;
	/* The VMM's own memory: RSS minus the resident guest RAM; < 0: unknown. */
	int64_t vmm_memory_bytes;
	/* The devices' counters (drops, errors, packets); none: no section. */
	const struct stats_device *devices;
	unsigned int nr_devices;
};

/*
 * The table's name for an exit: "IO out 0x3f8 serial", "MMIO write
 * 0xd0000000 bench-mmio", "IO in 0x80 (unclaimed)", "MSR rd 0x4e560001",
 * "HLT", "exit 99" for a reason this build does not know. Returns what
 * snprintf() returns.
 */
int exit_key_format(const struct exit_key *key, char *buf, size_t len);

/* "SVM CPUID", "VMX EPT_VIOLATION", "SVM 0x4ff" for a code without a name. */
const char *kernel_exit_format(uint32_t isa, uint32_t code, char *buf, size_t len);

void stats_report_print_table(FILE *f, const struct stats_report *r);
/* One JSON object with the same data. 0, -ENOMEM or -EIO (write error on @f). */
int stats_report_print_json(FILE *f, const struct stats_report *r);

#endif
