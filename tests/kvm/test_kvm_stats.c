/* SPDX-License-Identifier: MIT */
/*
 * KVM's binary statistics on the real /dev/kvm: a real-mode guest does a
 * handful of OUTs and a HLT, and the vCPU's "exits" and "io_exits" must have
 * grown by at least that much. The guest is tiny because CPL0 code is
 * emulated instruction by instruction on some hosts (see PLATFORM.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/kvm.h>

#include "vmm/exit_stats.h"
#include "vmm/kvm_stats.h"
#include "vmm/stats_report.h"

#define GUEST_MEM_SIZE 0x10000
#define GUEST_CODE     0x1000
#define GUEST_PORT     0x10
#define NR_OUTS	       4
#define MAX_RUNS       64

struct vm {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
	const char *failed; /* the setup step that failed */
	int err;	    /* its errno */
};

static struct vm the_vm = {-1, -1, -1, NULL, NULL, 0, NULL, 0};

/* Setup failures are reported by the tests: a skip for no /dev/kvm, a failure otherwise. */
static int setup_failed(struct vm *v, const char *what)
{
	v->failed = what;
	v->err = errno;
	return 0;
}

static int vm_setup(void **state)
{
	struct vm *v = &the_vm;
	struct kvm_userspace_memory_region region;
	int mmap_size;

	*state = v;
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return setup_failed(v, "open /dev/kvm");
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return setup_failed(v, "KVM_CREATE_VM");
	v->mem =
	    mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		return setup_failed(v, "mmap guest memory");
	region = (struct kvm_userspace_memory_region){
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = GUEST_MEM_SIZE,
	    .userspace_addr = (uintptr_t)v->mem,
	};
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return setup_failed(v, "KVM_SET_USER_MEMORY_REGION");
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return setup_failed(v, "KVM_CREATE_VCPU");
	mmap_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0)
		return setup_failed(v, "KVM_GET_VCPU_MMAP_SIZE");
	v->run_size = (size_t)mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		return setup_failed(v, "mmap kvm_run");
	return 0;
}

static int vm_teardown(void **state)
{
	struct vm *v = *state;

	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->mem && v->mem != MAP_FAILED)
		munmap(v->mem, GUEST_MEM_SIZE);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
	return 0;
}

static void skip_without_kvm(const struct vm *v)
{
	if (v->kvm < 0) {
		print_message("skipped: cannot open /dev/kvm: %s\n", strerror(v->err));
		skip();
	}
	if (v->failed)
		fail_msg("%s: %s", v->failed, strerror(v->err));
}

static void test_stats_names(void **state)
{
	struct vm *v = *state;
	struct kvm_stats *vm_st, *vcpu_st;
	uint64_t *values;
	int r;

	skip_without_kvm(v);
	r = kvm_stats_open(&vcpu_st, v->vcpu);
	if (r == -ENOTSUP) {
		print_message("skipped: no KVM_CAP_BINARY_STATS_FD (Linux < 5.14)\n");
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_equal(kvm_stats_open(&vm_st, v->vm), 0);

	assert_true(kvm_stats_nr(vcpu_st) > 0);
	assert_true(kvm_stats_nr(vm_st) > 0);
	assert_non_null(strstr(kvm_stats_id(vcpu_st), "vcpu-0"));
	/* The counters the report leads with exist on every x86 KVM. */
	assert_true(kvm_stats_index(vcpu_st, "exits") >= 0);
	assert_true(kvm_stats_index(vcpu_st, "io_exits") >= 0);
	assert_true(kvm_stats_index(vcpu_st, "halt_exits") >= 0);
	assert_true(kvm_stats_is_cumulative(vcpu_st, kvm_stats_index(vcpu_st, "exits")));
	assert_int_equal(kvm_stats_index(vcpu_st, "no_such_counter"), -ENOENT);
	assert_int_equal(kvm_stats_index(vm_st, "exits"), -ENOENT);

	values = calloc(kvm_stats_nr(vm_st), sizeof(*values));
	assert_non_null(values);
	assert_int_equal(kvm_stats_read(vm_st, values), 0);
	free(values);
	kvm_stats_close(vm_st);
	kvm_stats_close(vcpu_st);
}

/* mov al, imm8; out imm8, al -- NR_OUTS times -- then hlt. */
static void load_guest(uint8_t *mem)
{
	uint8_t *p = mem + GUEST_CODE;

	for (int i = 0; i < NR_OUTS; i++) {
		*p++ = 0xb0;
		*p++ = (uint8_t)(0xa0 + i);
		*p++ = 0xe6;
		*p++ = GUEST_PORT;
	}
	*p++ = 0xf4;
}

static void vcpu_real_mode(const struct vm *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	assert_int_equal(ioctl(v->vcpu, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	assert_int_equal(ioctl(v->vcpu, KVM_SET_SREGS, &sregs), 0);
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE;
	regs.rflags = 0x2;
	assert_int_equal(ioctl(v->vcpu, KVM_SET_REGS, &regs), 0);
}

static uint64_t stat(const struct kvm_stats *st, const uint64_t *values, const char *name)
{
	int i = kvm_stats_index(st, name);

	assert_true(i >= 0);
	return values[i];
}

static void test_exit_counters_follow_guest(void **state)
{
	struct vm *v = *state;
	struct kvm_stats *st, *vm_st;
	struct exit_stats *es;
	uint64_t *start, *end, *delta, *vm_start, *vm_end, *vm_delta;
	uint64_t t_run, t_exit;
	int outs = 0, hlts = 0, r;
	uint8_t seen[NR_OUTS];

	skip_without_kvm(v);
	r = kvm_stats_open(&st, v->vcpu);
	if (r == -ENOTSUP) {
		print_message("skipped: no KVM_CAP_BINARY_STATS_FD (Linux < 5.14)\n");
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_equal(kvm_stats_open(&vm_st, v->vm), 0);
	start = calloc(kvm_stats_nr(st), sizeof(uint64_t));
	end = calloc(kvm_stats_nr(st), sizeof(uint64_t));
	delta = calloc(kvm_stats_nr(st), sizeof(uint64_t));
	vm_start = calloc(kvm_stats_nr(vm_st), sizeof(uint64_t));
	vm_end = calloc(kvm_stats_nr(vm_st), sizeof(uint64_t));
	vm_delta = calloc(kvm_stats_nr(vm_st), sizeof(uint64_t));
	es = exit_stats_new();
	assert_true(start && end && delta && vm_start && vm_end && vm_delta && es);

	load_guest(v->mem);
	vcpu_real_mode(v);
	assert_int_equal(kvm_stats_read(st, start), 0);
	assert_int_equal(kvm_stats_read(vm_st, vm_start), 0);

	uint64_t t_first = __rdtsc();

	for (int n = 0; n < MAX_RUNS && !hlts; n++) {
		struct exit_key key = {0};

		t_run = __rdtsc();
		assert_int_equal(ioctl(v->vcpu, KVM_RUN, 0), 0);
		t_exit = __rdtsc();
		key.reason = v->run->exit_reason;
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			assert_int_equal(v->run->io.direction, KVM_EXIT_IO_OUT);
			assert_int_equal(v->run->io.port, GUEST_PORT);
			assert_int_equal(v->run->io.size, 1);
			assert_true(outs < NR_OUTS);
			seen[outs++] = *((uint8_t *)v->run + v->run->io.data_offset);
			key.dir = EXIT_DIR_WRITE;
			key.addr = v->run->io.port;
			key.dev = "test-port";
			break;
		case KVM_EXIT_HLT:
			hlts++;
			break;
		default:
			fail_msg("unexpected exit reason %u", v->run->exit_reason);
		}
		exit_stats_record(es, &key, t_exit - t_run, __rdtsc() - t_exit);
	}
	uint64_t wall = __rdtsc() - t_first;
	/* The guest's TSC rate; unscaled, as here, it is the host's. */
	int khz = ioctl(v->vcpu, KVM_GET_TSC_KHZ, 0);

	assert_int_equal(outs, NR_OUTS);
	assert_int_equal(hlts, 1);
	for (int i = 0; i < NR_OUTS; i++)
		assert_int_equal(seen[i], 0xa0 + i); /* the guest really ran, in order */

	assert_int_equal(kvm_stats_read(st, end), 0);
	assert_int_equal(kvm_stats_read(vm_st, vm_end), 0);
	kvm_stats_delta(st, start, end, delta);
	kvm_stats_delta(vm_st, vm_start, vm_end, vm_delta);
	/* KVM may take more exits than we see (in-kernel ones), never fewer. */
	/*
	 * An OUT intercepted by the hardware counts in io_exits. Where KVM
	 * runs the guest in its instruction emulator instead (real mode
	 * without unrestricted guest; kvm_pvm's emulated CPL0), the OUT
	 * exits to us from inside the emulator and only insn_emulation
	 * grows. Either way each OUT left a trace.
	 */
	if (stat(st, delta, "io_exits") < NR_OUTS) {
		print_message("note: io_exits +%" PRIu64 ", insn_emulation +%" PRIu64
			      ": OUTs were emulated\n",
			      stat(st, delta, "io_exits"), stat(st, delta, "insn_emulation"));
		assert_true(stat(st, delta, "io_exits") + stat(st, delta, "insn_emulation") >=
			    NR_OUTS);
	}
	assert_true(stat(st, delta, "exits") >= NR_OUTS + 1);
	assert_true(stat(st, delta, "exits") >= stat(st, delta, "io_exits"));
	assert_int_equal(exit_stats_count(es), NR_OUTS + 1);

	/* The whole report on a real run, for the log and as a smoke test. */
	struct stats_report rep = {
	    .tsc_khz = khz > 0 ? (uint64_t)khz : 0,
	    .wall_cycles = wall,
	    .nr_vcpus = 1,
	    .exits = es,
	    .vm_stats = vm_st,
	    .vm_delta = vm_delta,
	    .vcpu_stats = st,
	    .vcpu_delta = delta,
	};
	stats_report_print_table(stdout, &rep);
	assert_int_equal(stats_report_print_json(stdout, &rep), 0);

	exit_stats_free(es);
	free(start);
	free(end);
	free(delta);
	free(vm_start);
	free(vm_end);
	free(vm_delta);
	kvm_stats_close(st);
	kvm_stats_close(vm_st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stats_names),
	    cmocka_unit_test(test_exit_counters_follow_guest),
	};

	return cmocka_run_group_tests(tests, vm_setup, vm_teardown);
}
