/* SPDX-License-Identifier: MIT */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "vmm/kvm_stats.h"
#include "vmm/sandbox.h"
#include "vmm/vcpu.h"
#include "vmm/vm_exit_trace.h"

#define VM_CREATE_TRIES 5

/* Addresses KVM needs for its real-mode helpers, just below the IOAPIC/BIOS area. */
#define KVM_TSS_ADDR	      0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

static char vm_why[256];

static int fail(const char **why, int err, const char *what)
{
	snprintf(vm_why, sizeof(vm_why), "%s: %s", what, strerror(-err));
	*why = vm_why;
	return err;
}

static int vm_add_memory(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = i,
		    .guest_phys_addr = vm->mem.regions[i].gpa,
		    .memory_size = vm->mem.regions[i].size,
		    .userspace_addr = (uintptr_t)vm->mem.regions[i].hva,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}

/* TSC frequency: KVM's view of the vCPU TSC, else time it against CLOCK_MONOTONIC. */
static uint64_t measure_tsc_khz(void)
{
	struct timespec a, b;
	uint64_t t0, t1, ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ULL + (uint64_t)b.tv_nsec -
		     (uint64_t)a.tv_nsec;
	} while (ns < 20000000ULL);
	t1 = __rdtsc();
	return (t1 - t0) * 1000000ULL / ns;
}

/* Before any vCPU exists: their CPUID shows what this decides. */
static int decide_nested(struct vm *vm, const char **why)
{
	struct nested_host host;
	int r;

	nested_host_probe(&host, &vm->kvm, "");
	r = nested_decide(vm->cfg.nested, &host, &vm->nested, vm_why, sizeof(vm_why));
	if (r < 0)
		*why = vm_why;
	return r;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const char **why)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t map_addr = KVM_IDENTITY_MAP_ADDR;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->stop_eventfd = -1;
	vm->mem.memfd = -1;
	vm->kvm.fd = -1;
	vm->cfg = *cfg;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm_boot_marks_init(&vm->boot_marks);
	pthread_mutex_init(&vm->gate_lock, NULL);
	pthread_cond_init(&vm->gate_cond, NULL);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);

	if (cfg->nr_vcpus == 0 || cfg->nr_vcpus > VM_MAX_VCPUS) {
		snprintf(vm_why, sizeof(vm_why), "%u vCPUs requested; nestvmm supports 1 to %d",
			 cfg->nr_vcpus, VM_MAX_VCPUS);
		*why = vm_why;
		return -EINVAL;
	}
	r = kvm_open(&vm->kvm, cfg->kvm_path ? cfg->kvm_path : "/dev/kvm", why);
	if (r < 0)
		return r;
	r = decide_nested(vm, why);
	if (r < 0)
		return r;
	/*
	 * KVM_CREATE_VM can fail with EINTR when a signal arrives while KVM
	 * sets the VM up (QEMU and Firecracker retry too); seen in the rig
	 * once in ~150 VM starts. A few tries, then the error.
	 */
	for (int tries = 0; tries < VM_CREATE_TRIES; tries++) {
		vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0);
		if (vm->fd >= 0 || errno != EINTR)
			break;
	}
	if (vm->fd < 0)
		return fail(why, -errno, "KVM_CREATE_VM");
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return fail(why, -errno, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &map_addr) < 0)
		return fail(why, -errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail(why, -errno, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail(why, -errno, "KVM_CREATE_PIT2");

	r = guest_mem_init(&vm->mem, cfg->mem_size);
	if (r < 0)
		return fail(why, r, "guest RAM");
	r = vm_add_memory(vm);
	if (r < 0)
		return fail(why, r, "KVM_SET_USER_MEMORY_REGION");

	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_eventfd < 0)
		return fail(why, -errno, "eventfd");

	if (vm->kvm.has_stats_fd && kvm_stats_open(&vm->vm_stats, vm->fd) == 0) {
		size_t n = kvm_stats_nr(vm->vm_stats);

		vm->vm_stats_start = calloc(n, sizeof(uint64_t));
		vm->vm_stats_end = calloc(n, sizeof(uint64_t));
		if (!vm->vm_stats_start || !vm->vm_stats_end)
			return fail(why, -ENOMEM, "KVM stats");
	}

	vm->nr_vcpus = cfg->nr_vcpus;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return fail(why, -ENOMEM, "vCPUs");
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_create(vm, &vm->vcpus[i], i);
		if (r < 0) {
			snprintf(vm_why, sizeof(vm_why), "creating vCPU %u: %s", i, strerror(-r));
			*why = vm_why;
			return r;
		}
	}
	r = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = r > 0 ? (uint64_t)r : measure_tsc_khz();
	return 0;
}

void vm_destroy(struct vm *vm)
{
	/* A vCPU thread still runs on these: the process is about to exit anyway. */
	if (vm->vcpus_abandoned)
		return;
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].vm)
				vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	if (vm->vm_stats)
		kvm_stats_close(vm->vm_stats);
	free(vm->vm_stats_start);
	free(vm->vm_stats_end);
	free(vm->exit_counts);
	guest_mem_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	if (vm->fd >= 0)
		close(vm->fd);
	kvm_close(&vm->kvm);
	pthread_mutex_destroy(&vm->stop_lock);
	vm_boot_marks_destroy(&vm->boot_marks);
	pthread_mutex_destroy(&vm->gate_lock);
	pthread_cond_destroy(&vm->gate_cond);
	vm->fd = -1;
	vm->vcpus = NULL;
}

int vm_set_msr_ops(struct vm *vm, const struct vm_msr_ops *ops, const char **why)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR,
				     .args[0] = KVM_MSR_EXIT_REASON_FILTER};
	struct kvm_msr_filter filter = {.flags = KVM_MSR_FILTER_DEFAULT_ALLOW};
	/* One deny bit per listed MSR: a range of one MSR whose bitmap bit is 0. */
	static uint8_t deny[KVM_MSR_FILTER_MAX_RANGES];

	if (!vm->kvm.has_user_msr || !vm->kvm.has_msr_filter) {
		*why = "KVM lacks KVM_CAP_X86_USER_SPACE_MSR or KVM_CAP_X86_MSR_FILTER";
		return -ENOTSUP;
	}
	if (ops->nr_indices > KVM_MSR_FILTER_MAX_RANGES) {
		*why = "too many MSRs for the KVM MSR filter";
		return -E2BIG;
	}
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0)
		return fail(why, -errno, "KVM_CAP_X86_USER_SPACE_MSR");
	for (unsigned int i = 0; i < ops->nr_indices; i++) {
		deny[i] = 0;
		filter.ranges[i] = (struct kvm_msr_filter_range){
		    .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		    .nmsrs = 1,
		    .base = ops->indices[i],
		    .bitmap = &deny[i],
		};
	}
	if (ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		return fail(why, -errno, "KVM_X86_SET_MSR_FILTER");
	vm->msr_ops = *ops;
	return 0;
}

void vm_request_stop(struct vm *vm, int exit_code, const char *why)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->stop_lock);
	first = !atomic_load(&vm->stopping);
	if (first) {
		vm->exit_code = exit_code;
		snprintf(vm->stop_why, sizeof(vm->stop_why), "%s", why ? why : "");
		atomic_store_explicit(&vm->stopping, true, memory_order_release);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (first) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
		if (write(vm->stop_eventfd, &one, sizeof(one)) < 0)
			perror("nestvmm: stop eventfd");
	}
}

int vm_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = level};

	return ioctl(vm->fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static int vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len, int efd,
			uint32_t flags)
{
	struct kvm_ioeventfd io = {
	    .addr = addr,
	    .len = len,
	    .fd = efd,
	    .flags = flags | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0),
	};

	return ioctl(vm->fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int vm_add_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len, int efd)
{
	return vm_ioeventfd(vm, pio, addr, len, efd, 0);
}

int vm_del_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len, int efd)
{
	return vm_ioeventfd(vm, pio, addr, len, efd, KVM_IOEVENTFD_FLAG_DEASSIGN);
}

static void kick_signal_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static void stop_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

int vm_block_stop_signals(void)
{
	sigset_t set;

	stop_signal_set(&set);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int vm_run(struct vm *vm)
{
	struct sigaction sa = {.sa_handler = kick_signal_handler};
	sigset_t stop_sigs, old;
	struct pollfd pfd[2];
	unsigned int nr_started;
	int sfd, r;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: KVM_RUN must return EINTR */

	/*
	 * SIGINT/SIGTERM/SIGHUP are taken by this thread through a signalfd.
	 * Blocking them here is a no-op for a caller that did it before
	 * creating any thread (vm_block_stop_signals), as it must.
	 */
	stop_signal_set(&stop_sigs);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);
	sfd = signalfd(-1, &stop_sigs, SFD_CLOEXEC);

	if (vm->vm_stats)
		kvm_stats_read(vm->vm_stats, vm->vm_stats_start);
	vm->run_start_tsc = __rdtsc();
	vm->run_start_ns = vm_monotonic_ns();
	for (nr_started = 0; nr_started < vm->nr_vcpus; nr_started++) {
		r = vcpu_start(&vm->vcpus[nr_started]);
		if (r < 0) {
			vm_request_stop(vm, VM_EXIT_VMM_ERROR, "cannot start a vCPU thread");
			break;
		}
	}
	vm_exit_trace_begin(vm, nr_started);
	/* Last: a filter is inherited, and the vCPU threads carry their own. */
	if (sandbox_enter(SANDBOX_MAIN) < 0)
		vm_request_stop(vm, VM_EXIT_VMM_ERROR, "the main thread cannot enter its sandbox");

	pfd[0] = (struct pollfd){.fd = vm->stop_eventfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	while (!vm_stopping(vm)) {
		if (poll(pfd, sfd >= 0 ? 2 : 1, -1) > 0 && sfd >= 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			char why[64];

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				snprintf(why, sizeof(why), "interrupted by %s",
					 sigabbrev_np((int)si.ssi_signo));
				vm_request_stop(vm, 128 + (int)si.ssi_signo, why);
			}
		}
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		/*
		 * A vCPU that does not leave KVM_RUN must not keep the process
		 * alive after a stop (SIGTERM, the guest's power-off): give up
		 * on it, say so, and leave its resources alone.
		 */
		if (vcpu_join(&vm->vcpus[i], VM_STOP_TIMEOUT_MS) < 0) {
			size_t n = strlen(vm->stop_why);

			snprintf(vm->stop_why + n, sizeof(vm->stop_why) - n,
				 "%svCPU %u did not stop within %u ms; abandoned", n ? "; " : "", i,
				 VM_STOP_TIMEOUT_MS);
			if (vm->exit_code == 0)
				vm->exit_code = VM_EXIT_VMM_ERROR;
			vm->vcpus_abandoned = true;
		}
	}
	vm->run_end_tsc = __rdtsc();
	if (vm->vm_stats)
		kvm_stats_read(vm->vm_stats, vm->vm_stats_end);
	vm_exit_trace_end(vm); /* even with a vCPU abandoned: never leave the trigger behind */
	if (sfd >= 0)
		close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return vm->exit_code;
}
