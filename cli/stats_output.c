/* SPDX-License-Identifier: MIT */
#include "cli/stats_output.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/exit_stats.h"
#include "vmm/kvm_stats.h"
#include "vmm/stats_report.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/* RSS minus the resident guest RAM, or -1 when either cannot be read. */
static int64_t vmm_memory(struct vm *vm)
{
	long pages = 0, rss = 0;
	int64_t guest = guest_mem_resident(&vm->mem);
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	if (rss < 0 || guest < 0)
		return -1;
	return (int64_t)rss * sysconf(_SC_PAGESIZE) - guest;
}

/* kvm_stats_delta() of one vCPU or VM, summed into @acc. */
static void add_delta(const struct kvm_stats *st, const uint64_t *start, const uint64_t *end,
		      uint64_t *acc)
{
	size_t n = kvm_stats_nr(st);
	uint64_t *d = calloc(n, sizeof(*d));

	if (!d)
		return;
	kvm_stats_delta(st, start, end, d);
	for (size_t i = 0; i < n; i++)
		acc[i] += d[i];
	free(d);
}

int stats_output_print(FILE *f, struct vm *vm, enum stats_mode mode,
		       const struct stats_device *devices, unsigned int nr_devices)
{
	struct exit_stats *all = exit_stats_new();
	uint64_t *vm_delta = NULL, *vcpu_delta = NULL;
	const struct kvm_stats *vcpu_stats = vm->vcpus[0].stats;
	char nested[512];
	struct stats_report rep = {
	    .tsc_khz = vm->tsc_khz,
	    .nested = nested_describe(&vm->nested, nested, sizeof(nested)),
	    .wall_cycles = vm->run_end_tsc - vm->run_start_tsc,
	    .nr_vcpus = vm->nr_vcpus,
	    .devices = devices,
	    .nr_devices = nr_devices,
	};
	int r = 0;

	if (!all)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_vcpus && r == 0; i++)
		r = exit_stats_merge(all, vm->vcpus[i].exits);
	if (vm->vm_stats) {
		vm_delta = calloc(kvm_stats_nr(vm->vm_stats), sizeof(uint64_t));
		if (vm_delta)
			add_delta(vm->vm_stats, vm->vm_stats_start, vm->vm_stats_end, vm_delta);
	}
	if (vcpu_stats) {
		/* Every vCPU has the same descriptors: sum them index by index. */
		vcpu_delta = calloc(kvm_stats_nr(vcpu_stats), sizeof(uint64_t));
		for (unsigned int i = 0; vcpu_delta && i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].stats)
				add_delta(vm->vcpus[i].stats, vm->vcpus[i].stats_start,
					  vm->vcpus[i].stats_end, vcpu_delta);
	}
	rep.exits = all;
	rep.vm_stats = vm_delta ? vm->vm_stats : NULL;
	rep.vm_delta = vm_delta;
	rep.vcpu_stats = vcpu_delta ? vcpu_stats : NULL;
	rep.vcpu_delta = vcpu_delta;
	if (vm->first_run_ns && vm->cfg.launch_ns)
		rep.launch_to_run_ns = vm->first_run_ns - vm->cfg.launch_ns;
	rep.vmm_memory_bytes = vmm_memory(vm);
	rep.marks = vm->boot_marks.marks;
	rep.nr_marks = vm->boot_marks.n;
	if (vm->cfg.trace_exits) {
		rep.kernel_exits = vm->exit_counts;
		rep.kernel_exits_why = vm->exit_counts ? NULL : vm->exit_trace_why;
	}
	if (r == 0) {
		if (mode == STATS_JSON)
			r = stats_report_print_json(f, &rep);
		else
			stats_report_print_table(f, &rep);
	}
	free(vm_delta);
	free(vcpu_delta);
	exit_stats_free(all);
	return r;
}
