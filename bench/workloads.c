/* SPDX-License-Identifier: MIT */
#include "bench/workloads.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct bench_workload_info workloads[] = {
    {BENCH_W_CPUID, "cpuid", 3, 1ULL << 20, false, true,
     "CPUID leaf 0 loop (the nested-KVM study's micro benchmark)", BENCH_LEVEL_GUEST},
    {BENCH_W_PIO, "pio", 3, 1ULL << 16, false, true,
     "OUT to a port nestvmm handles in userspace (CPL0 where the host keeps IOPL 0)",
     BENCH_LEVEL_GUEST},
    {BENCH_W_PIO_IOEVENTFD, "pio-ioeventfd", 3, 1ULL << 20, false, true,
     "OUT to a port bound to an ioeventfd (in-kernel; CPL0 where IOPL stays 0)", BENCH_LEVEL_GUEST},
    {BENCH_W_MMIO, "mmio", 3, 1ULL << 16, false, true,
     "store to an MMIO address nestvmm handles in userspace", BENCH_LEVEL_GUEST},
    {BENCH_W_MMIO_IOEVENTFD, "mmio-ioeventfd", 3, 1ULL << 20, false, true,
     "store to an MMIO address bound to an ioeventfd", BENCH_LEVEL_GUEST},
    {BENCH_W_HYPERCALL, "hypercall", 3, 1ULL << 20, false, true, "VMMCALL/VMCALL round trip",
     BENCH_LEVEL_GUEST},
    {BENCH_W_SYSCALL, "syscall", 3, 1ULL << 18, false, true,
     "SYSCALL to a minimal CPL0 handler and IRETQ back (the VMware study's getppid)",
     BENCH_LEVEL_GUEST},
    {BENCH_W_COUNTPRIMES, "countprimes", 3, 1ULL << 20, true, true,
     "count primes below 10000 by trial division, per iteration", BENCH_LEVEL_GUEST},
    {BENCH_W_FIB, "fib", 3, 1ULL << 20, true, true, "naive recursive fib(20), per iteration",
     BENCH_LEVEL_GUEST},
    {BENCH_W_MEMSWEEP_4K, "memsweep-4k", 3, 1ULL << 31, true, true,
     "the VMware study's 32 MiB memsweep step, 4 KiB pages", BENCH_LEVEL_GUEST},
    {BENCH_W_MEMSWEEP_2M, "memsweep-2m", 3, 1ULL << 31, true, true,
     "the same memsweep step, 2 MiB pages", BENCH_LEVEL_GUEST},
    {BENCH_W_MSR_USER, "msr-user", 0, 1ULL << 14, false, true,
     "RDMSR of an MSR routed to userspace by the MSR filter", BENCH_LEVEL_GUEST},
    {BENCH_W_FAULT, "fault", 3, 1, false, false,
     "self-test: UD2 at CPL3; must end in a reported guest fault", BENCH_LEVEL_GUEST},
    {BENCH_W_BLK_QD1, "blk-qd1", 3, 1ULL << 22, false, false,
     "4 KiB random reads from a polled virtio-blk driver, 1 in flight", BENCH_LEVEL_GUEST},
    {BENCH_W_BLK_QD32, "blk-qd32", 3, 1ULL << 24, false, false,
     "the same with 32 reads in flight, refilled 16 at a time", BENCH_LEVEL_GUEST},
    /* The bench guest as an SVM hypervisor: SKIP where the guest has no SVM. */
    {BENCH_W_SVM_CPUID, "svm-cpuid", 0, 1ULL << 18, false, false,
     "CPUID leaf 0 loop, each one emulated by the bench hypervisor (the nested ratio)",
     BENCH_LEVEL_INNER},
    {BENCH_W_SVM_VMRUN, "svm-vmrun", 0, 1ULL << 18, false, false,
     "VMRUN -> inner VMMCALL -> #VMEXIT, entry and exit latency, clean bits 0", BENCH_LEVEL_INNER},
    {BENCH_W_SVM_VMRUN_CLEAN, "svm-vmrun-clean", 0, 1ULL << 18, false, false,
     "the same round trip with every VMCB clean bit set", BENCH_LEVEL_INNER},
    {BENCH_W_SVM_VMLOAD, "svm-vmload", 0, 1ULL << 20, false, false, "VMLOAD on its own",
     BENCH_LEVEL_HYPERVISOR},
    {BENCH_W_SVM_VMSAVE, "svm-vmsave", 0, 1ULL << 20, false, false, "VMSAVE on its own",
     BENCH_LEVEL_HYPERVISOR},
    {BENCH_W_SVM_STGI, "svm-stgi", 0, 1ULL << 20, false, false, "STGI on its own",
     BENCH_LEVEL_HYPERVISOR},
    {BENCH_W_SVM_CLGI, "svm-clgi", 0, 1ULL << 20, false, false,
     "CLGI on its own (STGI once after the loop)", BENCH_LEVEL_HYPERVISOR},
    {BENCH_W_SVM_MSRPM_STATIC, "svm-msrpm-static", 0, 1ULL << 18, false, false,
     "inner VMMCALL loop, MSR permission map unchanged, clean bits set", BENCH_LEVEL_INNER},
    {BENCH_W_SVM_MSRPM_DIRTY, "svm-msrpm-dirty", 0, 1ULL << 18, false, false,
     "the same, one MSRPM bit flipped before every VMRUN (the merge's cost)", BENCH_LEVEL_INNER},
};

#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

const struct bench_workload_info *bench_workloads(size_t *nr)
{
	*nr = NR_WORKLOADS;
	return workloads;
}

const struct bench_workload_info *bench_workload_by_id(uint32_t id)
{
	for (size_t i = 0; i < NR_WORKLOADS; i++)
		if (workloads[i].id == id)
			return &workloads[i];
	return NULL;
}

const char *bench_level_name(enum bench_level level)
{
	switch (level) {
	case BENCH_LEVEL_HYPERVISOR:
		return "hypervisor";
	case BENCH_LEVEL_INNER:
		return "inner guest";
	default:
		return "guest";
	}
}

bool bench_workload_is_svm(uint32_t id)
{
	return id >= BENCH_W_SVM_CPUID && id <= BENCH_W_SVM_MSRPM_DIRTY;
}

bool bench_workload_uses_disk(uint32_t id)
{
	return id == BENCH_W_BLK_QD1 || id == BENCH_W_BLK_QD32;
}

const struct bench_workload_info *bench_workload_by_name(const char *name)
{
	for (size_t i = 0; i < NR_WORKLOADS; i++)
		if (strcmp(workloads[i].name, name) == 0)
			return &workloads[i];
	return NULL;
}

int bench_parse_workloads(const char *list, uint32_t *ids, size_t max, char *bad_buf,
			  size_t bad_len)
{
	size_t n = 0;
	const char *p = list;

	if (!list || !*list) {
		snprintf(bad_buf, bad_len, "%s", "");
		return -EINVAL;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[32];

		if (len == 0 || len >= sizeof(name)) {
			snprintf(bad_buf, bad_len, "%.*s", (int)(len < 64 ? len : 64), p);
			return -EINVAL;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (strcmp(name, "all") == 0) {
			for (size_t i = 0; i < NR_WORKLOADS; i++) {
				if (!workloads[i].in_default)
					continue;
				if (n == max)
					return -E2BIG;
				ids[n++] = workloads[i].id;
			}
		} else {
			const struct bench_workload_info *w = bench_workload_by_name(name);

			if (!w) {
				snprintf(bad_buf, bad_len, "%s", name);
				return -EINVAL;
			}
			if (n == max)
				return -E2BIG;
			ids[n++] = w->id;
		}
		p += len;
		if (*p == ',') {
			p++;
			if (!*p) { /* trailing comma */
				snprintf(bad_buf, bad_len, "%s", "");
				return -EINVAL;
			}
		}
	}
	return (int)n;
}
