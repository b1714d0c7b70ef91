/* SPDX-License-Identifier: MIT */
/*
 * Boot marks: when the guest writes the boot timer (devices/boot_timer.h),
 * the VM notes the time since nestvmm was launched and the exits so far,
 * for --stats ("launch -> mark 0x01: 812.4 ms, 4,720 exits (1,546 to
 * userspace)"). The exits are KVM's own count (its binary stats' "exits",
 * all vCPUs, from their first KVM_RUN) and those that reached nestvmm; the
 * other vCPUs' counts are read while they run, so they may lag by an exit.
 */
#ifndef NESTVMM_BOOT_MARKS_H
#define NESTVMM_BOOT_MARKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define VM_MAX_BOOT_MARKS 16

struct vm_boot_mark {
	uint8_t value;
	uint64_t ns;	     /* since launch (vm_config.launch_ns) */
	bool has_kvm_exits;  /* KVM has binary stats */
	uint64_t kvm_exits;  /* all exits, in-kernel ones included */
	uint64_t user_exits; /* exits that reached nestvmm */
};

/* The first VM_MAX_BOOT_MARKS marks; later ones are not kept. */
struct vm_boot_marks {
	pthread_mutex_t lock;
	unsigned int n;
	struct vm_boot_mark marks[VM_MAX_BOOT_MARKS];
};

void vm_boot_marks_init(struct vm_boot_marks *bm);
void vm_boot_marks_destroy(struct vm_boot_marks *bm);

/* The guest wrote @value to the boot timer (any vCPU thread). */
void vm_boot_mark(struct vm *vm, uint8_t value);

/* CLOCK_MONOTONIC in ns: what vm_config.launch_ns is measured in. */
uint64_t vm_monotonic_ns(void);

#endif
