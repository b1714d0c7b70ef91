/* SPDX-License-Identifier: MIT */
/*
 * cpuid_patch() on a hand-made KVM_GET_SUPPORTED_CPUID copy: each topology
 * leaf must describe one package of nr_vcpus single-thread cores and this
 * vCPU's APIC ID, and every field outside the topology must stay as KVM gave it.
 * Field layouts from the Intel SDM (CPUID leaves 1, 4, 0xB, 0x1F) and the AMD
 * APM (0x80000008, 0x8000001E).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "vmm/cpuid.h"

#define X2APIC	     (1U << 21)
#define TSC_DEADLINE (1U << 24)
#define HYPERVISOR   (1U << 31)
#define HTT	     (1U << 28)

/* Deliberately wrong topology in the input, so stale values cannot pass. */
static const struct kvm_cpuid_entry2 template[] = {
    {.function = 0, .eax = 0x1f, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69},
    {.function = 1, .eax = 0x000906ea, .ebx = 0xabcd0840, .ecx = 0x7ed8320b, .edx = 0x178bfbff},
    {.function = 4, .index = 0, .eax = 0xfc004121, .ebx = 0x01c0003f, .ecx = 0x3f},
    {.function = 4, .index = 1, .eax = 0xfc004122, .ebx = 0x01c0003f, .ecx = 0x3f},
    {.function = 4, .index = 2, .eax = 0xfc01c143, .ebx = 0x03c0003f, .ecx = 0x3ff},
    {.function = 4, .index = 3, .eax = 0xfc1fc163, .ebx = 0x02c0003f, .ecx = 0x3fff},
    {.function = 7, .eax = 0, .ebx = 0x029c6fbf, .ecx = 0x40000000, .edx = 0xbc000400},
    {.function = 0xb, .index = 0, .eax = 7, .ebx = 9, .ecx = 0x1ff, .edx = 0xee},
    {.function = 0xb, .index = 1, .eax = 9, .ebx = 99, .ecx = 0x2ff, .edx = 0xee},
    {.function = 0xb, .index = 2, .eax = 9, .ebx = 99, .ecx = 0x3ff, .edx = 0xee},
    {.function = 0x1f, .index = 0, .eax = 7, .ebx = 9, .ecx = 0x1ff, .edx = 0xee},
    {.function = 0x1f, .index = 1, .eax = 9, .ebx = 99, .ecx = 0x2ff, .edx = 0xee},
    {.function = 0x1f, .index = 2, .eax = 9, .ebx = 99, .ecx = 0x3ff, .edx = 0xee},
    {.function = 0x40000001, .eax = 0x01007afb, .ebx = 0, .ecx = 0, .edx = 0},
    {.function = 0x80000008, .eax = 0x3030, .ebx = 0x0100d000, .ecx = 0x0003f0ff, .edx = 0},
    {.function = 0x8000001e, .eax = 0xee, .ebx = 0x1ff, .ecx = 0x7ff, .edx = 0},
};

#define NENT (sizeof(template) / sizeof(template[0]))

static struct kvm_cpuid2 *make_cpuid(bool deadline_in)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = NENT;
	memcpy(c->entries, template, sizeof(template));
	for (unsigned int i = 0; i < NENT; i++)
		if (c->entries[i].function == 1 && deadline_in)
			c->entries[i].ecx |= TSC_DEADLINE;
	return c;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Smallest power of two covering @n: what the "addressable IDs" fields must hold. */
static void assert_addressable(uint32_t field, unsigned int nr)
{
	assert_true(is_pow2(field));
	assert_true(field >= nr);
	assert_true(field < 2 * nr);
}

static void check(unsigned int apic_id, unsigned int nr, bool deadline, bool deadline_in)
{
	struct kvm_cpuid2 *c = make_cpuid(deadline_in);
	struct cpuid_topology topo = {.apic_id = apic_id, .nr_vcpus = nr, .tsc_deadline = deadline};
	unsigned int seen_b = 0, seen_1f = 0, seen_4 = 0;

	print_message("apic_id %u of %u, deadline %d (KVM had it: %d)\n", apic_id, nr, deadline,
		      deadline_in);
	cpuid_patch(c, &topo);
	assert_int_equal(c->nent, NENT);

	for (unsigned int i = 0; i < NENT; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i], *t = &template[i];
		uint32_t shift;

		assert_int_equal(e->function, t->function);
		assert_int_equal(e->index, t->index);
		switch (e->function) {
		case 1:
			assert_int_equal(e->eax, t->eax);
			assert_int_equal(e->ebx >> 24, apic_id);
			assert_addressable((e->ebx >> 16) & 0xff, nr);
			assert_int_equal(e->ebx & 0xffff, t->ebx & 0xffff);
			assert_int_equal(!!(e->edx & HTT), nr > 1);
			assert_int_equal(e->edx & ~HTT, t->edx & ~HTT);
			assert_true(e->ecx & HYPERVISOR);
			assert_true(e->ecx & X2APIC);
			assert_int_equal(!!(e->ecx & TSC_DEADLINE), deadline);
			assert_int_equal(e->ecx & ~(HYPERVISOR | X2APIC | TSC_DEADLINE),
					 t->ecx & ~(HYPERVISOR | X2APIC | TSC_DEADLINE));
			break;
		case 4:
			seen_4++;
			/* EAX[31:26] + 1: addressable core IDs; cache type/level kept. */
			assert_addressable((e->eax >> 26) + 1, nr);
			assert_int_equal(e->eax & 0x3ff, t->eax & 0x3ff);
			assert_int_equal(e->ebx, t->ebx);
			assert_int_equal(e->ecx, t->ecx);
			break;
		case 0xb:
		case 0x1f:
			if (e->function == 0xb)
				seen_b++;
			else
				seen_1f++;
			assert_int_equal(e->edx, apic_id); /* x2APIC ID at every level */
			assert_int_equal(e->ecx & 0xff, e->index);
			shift = e->eax & 0x1f;
			if (e->index == 0) {
				/* SMT level: one thread, no bits to shift away. */
				assert_int_equal((e->ecx >> 8) & 0xff, 1);
				assert_int_equal(e->ebx & 0xffff, 1);
				assert_int_equal(shift, 0);
			} else if (e->index == 1) {
				/* Core level: shifting the APIC ID leaves package 0 for all. */
				assert_int_equal((e->ecx >> 8) & 0xff, 2);
				assert_int_equal(e->ebx & 0xffff, nr);
				assert_int_equal((nr - 1) >> shift, 0);
				assert_true(shift == 0 || ((nr - 1) >> (shift - 1)) != 0);
			} else {
				/* Past the last level: type invalid, no processors. */
				assert_int_equal((e->ecx >> 8) & 0xff, 0);
				assert_int_equal(e->ebx & 0xffff, 0);
			}
			break;
		case 0x80000008:
			/* ECX[7:0] cores - 1; [15:12] APIC ID bits (0 = derive from [7:0]). */
			assert_int_equal(e->ecx & 0xff, nr - 1);
			shift = (e->ecx >> 12) & 0xf;
			if (shift)
				assert_addressable(1U << shift, nr);
			assert_int_equal(e->ecx & ~0xf0ffU, t->ecx & ~0xf0ffU);
			assert_int_equal(e->eax, t->eax);
			assert_int_equal(e->ebx, t->ebx);
			break;
		case 0x8000001e:
			assert_int_equal(e->eax, apic_id);
			assert_int_equal(e->ebx & 0xff, apic_id);  /* core id */
			assert_int_equal((e->ebx >> 8) & 0xff, 0); /* threads per core - 1 */
			assert_int_equal(e->ecx & 0x7ff, 0);	   /* node 0 of 1 */
			break;
		default:
			/* Everything else (vendor, features, KVM's paravirt leaves) untouched. */
			assert_memory_equal(e, t, sizeof(*e));
			break;
		}
	}
	assert_int_equal(seen_4, 4);
	assert_int_equal(seen_b, 3);
	assert_int_equal(seen_1f, 3);
	free(c);
}

static void test_patch_8_vcpus(void **state)
{
	(void)state;

	check(0, 8, false, false);
	check(5, 8, false, false);
	check(7, 8, true, false);
	check(5, 8, true, true);
}

static void test_patch_1_vcpu(void **state)
{
	(void)state;

	check(0, 1, false, false);
	check(0, 1, true, false);
}

static void test_patch_odd_counts(void **state)
{
	(void)state;

	check(2, 3, false, false);
	check(4, 5, true, false);
	check(15, 16, false, false);
}

static void test_tsc_deadline_only_when_asked(void **state)
{
	(void)state;

	/* KVM without the TSC-deadline capability: the bit must not be advertised. */
	check(0, 1, false, true);
	check(3, 8, false, true);
}

static void test_id_bits(void **state)
{
	(void)state;

	assert_int_equal(cpuid_id_bits(1), 0);
	assert_int_equal(cpuid_id_bits(2), 1);
	assert_int_equal(cpuid_id_bits(3), 2);
	assert_int_equal(cpuid_id_bits(4), 2);
	assert_int_equal(cpuid_id_bits(5), 3);
	assert_int_equal(cpuid_id_bits(64), 6);
	assert_int_equal(cpuid_id_bits(65), 7);
	/* The defining property: the fewest bits that number n IDs. */
	for (unsigned int n = 1; n <= 4096; n++) {
		unsigned int b = cpuid_id_bits(n);

		assert_true((1U << b) >= n);
		assert_true(b == 0 || (1U << (b - 1)) < n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_patch_8_vcpus),
	    cmocka_unit_test(test_patch_1_vcpu),
	    cmocka_unit_test(test_patch_odd_counts),
	    cmocka_unit_test(test_tsc_deadline_only_when_asked),
	    cmocka_unit_test(test_id_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
