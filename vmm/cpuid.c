/* SPDX-License-Identifier: MIT */
#include "vmm/cpuid.h"

#include <linux/kvm.h>

#define CPUID1_ECX_X2APIC	(1U << 21)
#define CPUID1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID1_ECX_HYPERVISOR	(1U << 31)
#define CPUID1_EDX_HTT		(1U << 28)

/* Extended topology level types (leaves 0xB and 0x1F, ECX[15:8]). */
#define TOPO_LEVEL_SMT	1
#define TOPO_LEVEL_CORE 2

unsigned int cpuid_id_bits(unsigned int n)
{
	unsigned int bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

static void patch_ext_topology(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
	e->edx = t->apic_id;
	switch (e->index) {
	case 0: /* SMT level: one thread per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1: /* core level: every vCPU is a core of one package */
		e->eax = cpuid_id_bits(t->nr_vcpus);
		e->ebx = t->nr_vcpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default: /* no further levels */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

void cpuid_patch(struct kvm_cpuid2 *cpuid, const struct cpuid_topology *t)
{
	unsigned int bits = cpuid_id_bits(t->nr_vcpus);

	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors per package */
			e->ebx =
			    (e->ebx & 0xffff) | (t->apic_id << 24) | ((1U << bits) & 0xff) << 16;
			if (t->nr_vcpus > 1)
				e->edx |= CPUID1_EDX_HTT;
			else
				e->edx &= ~CPUID1_EDX_HTT;
			/* x2APIC: the in-kernel LAPIC always emulates it. */
			e->ecx |= CPUID1_ECX_HYPERVISOR | CPUID1_ECX_X2APIC;
			if (t->tsc_deadline)
				e->ecx |= CPUID1_ECX_TSC_DEADLINE;
			else
				e->ecx &= ~CPUID1_ECX_TSC_DEADLINE;
			break;
		case 4:
			/* EAX[31:26]: cores per package - 1; EAX[25:14]: threads sharing - 1 */
			e->eax &= 0x3ff;
			e->eax |= ((1U << bits) - 1) << 26;
			break;
		case 0xb:
		case 0x1f:
			patch_ext_topology(e, t);
			break;
		case 0x80000008:
			/* ECX[15:12] APIC ID size, [7:0] number of cores - 1 */
			e->ecx = (e->ecx & ~0xf0ffU) | (bits << 12) | ((t->nr_vcpus - 1) & 0xff);
			break;
		case 0x8000001e:
			e->eax = t->apic_id;
			e->ebx = t->apic_id & 0xff; /* compute unit id; one thread per unit */
			e->ecx = 0;		    /* node 0 */
			break;
		default:
			break;
		}
	}
}
