/* SPDX-License-Identifier: MIT */
#include "vmm/boot_marks.h"

#include <string.h>
#include <time.h>

#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

uint64_t vm_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vm_boot_marks_init(struct vm_boot_marks *bm)
{
	memset(bm, 0, sizeof(*bm));
	pthread_mutex_init(&bm->lock, NULL);
}

void vm_boot_marks_destroy(struct vm_boot_marks *bm)
{
	pthread_mutex_destroy(&bm->lock);
}

/* KVM's "exits" of @vcpu since its first KVM_RUN; false when it has no stats. */
static bool vcpu_kvm_exits(struct vcpu *vcpu, uint64_t *out)
{
	int idx = vcpu->stats ? kvm_stats_index(vcpu->stats, "exits") : -1;
	uint64_t v[1024];

	if (idx < 0 || kvm_stats_nr(vcpu->stats) > sizeof(v) / sizeof(v[0]) || !vcpu->stats_start ||
	    kvm_stats_read(vcpu->stats, v) < 0)
		return false;
	*out = v[idx] - vcpu->stats_start[idx];
	return true;
}

void vm_boot_mark(struct vm *vm, uint8_t value)
{
	struct vm_boot_marks *bm = &vm->boot_marks;
	uint64_t start = vm->cfg.launch_ns ? vm->cfg.launch_ns : vm->run_start_ns;
	struct vm_boot_mark m = {
	    .value = value, .ns = vm_monotonic_ns() - start, .has_kvm_exits = true};

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		uint64_t k;

		m.user_exits += __atomic_load_n(&vm->vcpus[i].user_exits, __ATOMIC_RELAXED);
		if (vcpu_kvm_exits(&vm->vcpus[i], &k))
			m.kvm_exits += k;
		else
			m.has_kvm_exits = false;
	}
	/* This exit itself is not counted yet by the vCPU that makes it. */
	m.user_exits++;
	pthread_mutex_lock(&bm->lock);
	if (bm->n < VM_MAX_BOOT_MARKS)
		bm->marks[bm->n++] = m;
	pthread_mutex_unlock(&bm->lock);
}
