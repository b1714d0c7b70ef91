/* SPDX-License-Identifier: MIT */
/* The CPUID a vCPU sees: KVM's supported set, with its own APIC ID and the VM's topology. */
#ifndef NESTVMM_CPUID_H
#define NESTVMM_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

struct cpuid_topology {
	unsigned int apic_id;  /* this vCPU's (x2)APIC ID */
	unsigned int nr_vcpus; /* one socket, one thread per core */
	bool tsc_deadline;     /* KVM supports the TSC-deadline timer */
};

/*
 * Patch a copy of KVM_GET_SUPPORTED_CPUID for one vCPU: APIC IDs in leaves 1,
 * 0xB, 0x1F and 0x8000001E, core counts in leaves 1, 4 and 0x80000008, the
 * hypervisor bit, TSC-deadline and x2APIC. KVM's paravirt leaves are kept.
 */
void cpuid_patch(struct kvm_cpuid2 *cpuid, const struct cpuid_topology *topo);

/* Number of bits needed to number @n APIC IDs. */
unsigned int cpuid_id_bits(unsigned int n);

#endif
