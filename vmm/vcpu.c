/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads: the KVM_RUN loop and the table-driven exit dispatch. Every
 * exit that reaches userspace is timed with the TSC (inside KVM_RUN, and in
 * the handler) and recorded in this vCPU's exit statistics.
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "vmm/cpuid.h"
#include "vmm/exit_stats.h"
#include "vmm/kvm_stats.h"
#include "vmm/longmode.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"
#include "vmm/vm_exit_trace.h"

static __thread struct vcpu *tls_vcpu;

struct vcpu *vcpu_self(void)
{
	return tls_vcpu;
}

void vcpu_set_self(struct vcpu *vcpu)
{
	tls_vcpu = vcpu;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	struct kvm_cpuid2 *cpuid;
	size_t cpuid_len;
	int r;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return -errno;
	vcpu->run = mmap(NULL, vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return -errno;
	}

	cpuid_len = sizeof(*cpuid) + vm->kvm.supported_cpuid->nent * sizeof(cpuid->entries[0]);
	cpuid = malloc(cpuid_len);
	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, vm->kvm.supported_cpuid, cpuid_len);
	cpuid_patch(cpuid, &(struct cpuid_topology){.apic_id = id,
						    .nr_vcpus = vm->nr_vcpus,
						    .tsc_deadline = vm->kvm.has_tsc_deadline});
	nested_apply_cpuid(cpuid, &vm->nested);
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r < 0)
		return -errno;

	vcpu->exits = exit_stats_new();
	if (!vcpu->exits)
		return -ENOMEM;
	if (vm->kvm.has_stats_fd && kvm_stats_open(&vcpu->stats, vcpu->fd) == 0) {
		size_t n = kvm_stats_nr(vcpu->stats);

		vcpu->stats_start = calloc(n, sizeof(uint64_t));
		vcpu->stats_end = calloc(n, sizeof(uint64_t));
		if (!vcpu->stats_start || !vcpu->stats_end)
			return -ENOMEM;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm.run_size);
	if (vcpu->fd > 0)
		close(vcpu->fd);
	if (vcpu->exits)
		exit_stats_free(vcpu->exits);
	if (vcpu->stats)
		kvm_stats_close(vcpu->stats);
	free(vcpu->stats_start);
	free(vcpu->stats_end);
	memset(vcpu, 0, sizeof(*vcpu));
}

static void set_segment(struct kvm_segment *s, unsigned int selector)
{
	uint64_t d = boot_gdt_entry(selector);

	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = (uint16_t)selector,
	    .type = (d >> 40) & 0xf,
	    .present = (d >> 47) & 1,
	    .dpl = (d >> 45) & 3,
	    .db = (d >> 54) & 1,
	    .s = (d >> 44) & 1,
	    .l = (d >> 53) & 1,
	    .g = (d >> 55) & 1,
	};
}

int vcpu_set_long_mode(struct vcpu *vcpu, uint64_t rip, uint64_t rsi, uint64_t rdi)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_segment(&sregs.cs, BOOT_CS);
	set_segment(&sregs.ds, BOOT_DS);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr0 = BOOT_CR0;
	sregs.cr3 = BOOT_PML4_ADDR;
	sregs.cr4 = BOOT_CR4;
	sregs.efer = BOOT_EFER;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rsi = rsi;
	regs.rdi = rdi;
	regs.rflags = 0x2;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	/* With the in-kernel LAPIC, APs start in wait-for-SIPI; make this one run. */
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	vcpu->runnable_at_start = true;
	return 0;
}

/* What a handler tells the run loop. */
enum exit_action {
	EXIT_CONTINUE = 0, /* re-enter the guest */
	EXIT_STOP,	   /* leave the loop: the VM is stopping or this vCPU is done */
};

typedef enum exit_action (*exit_handler_fn)(struct vcpu *vcpu, struct exit_key *key);

/* An access that does not fit in one device's range is treated as unclaimed. */
static const struct bus_dev *bus_claim(const struct bus *bus, uint64_t addr, uint32_t size)
{
	const struct bus_dev *d = bus_find(bus, addr);

	if (d && addr - d->base + size > d->len)
		return NULL;
	return d;
}

static enum exit_action handle_io(struct vcpu *vcpu, struct exit_key *key)
{
	struct kvm_run *run = vcpu->run;
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t offset = run->io.data_offset;
	const struct bus_dev *d;
	uint8_t *data;

	key->dir = run->io.direction == KVM_EXIT_IO_OUT ? EXIT_DIR_WRITE : EXIT_DIR_READ;
	key->addr = run->io.port;
	/* The data area is inside the kvm_run mapping; check before trusting it. */
	if (size == 0 || size > 8 || offset > vcpu->vm->kvm.run_size ||
	    (uint64_t)size * count > vcpu->vm->kvm.run_size - offset)
		return EXIT_CONTINUE;
	data = (uint8_t *)run + offset;
	d = bus_claim(&vcpu->vm->pio, run->io.port, size);
	key->dev = d ? d->name : NULL;
	for (uint32_t i = 0; i < count; i++, data += size) {
		if (!d) {
			if (key->dir == EXIT_DIR_READ)
				memset(data, 0xff, size);
		} else if (key->dir == EXIT_DIR_WRITE) {
			if (d->ops->write)
				d->ops->write(d->opaque, run->io.port - d->base, data, size);
		} else if (d->ops->read) {
			d->ops->read(d->opaque, run->io.port - d->base, data, size);
		} else {
			memset(data, 0xff, size);
		}
	}
	return vm_stopping(vcpu->vm) || vcpu->parked ? EXIT_STOP : EXIT_CONTINUE;
}

static enum exit_action handle_mmio(struct vcpu *vcpu, struct exit_key *key)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;
	const struct bus_dev *d;

	key->dir = run->mmio.is_write ? EXIT_DIR_WRITE : EXIT_DIR_READ;
	key->addr = run->mmio.phys_addr;
	if (len == 0 || len > sizeof(run->mmio.data))
		return EXIT_CONTINUE;
	d = bus_claim(&vcpu->vm->mmio, run->mmio.phys_addr, len);
	key->dev = d ? d->name : NULL;
	if (run->mmio.is_write) {
		if (d && d->ops->write)
			d->ops->write(d->opaque, run->mmio.phys_addr - d->base, run->mmio.data,
				      len);
	} else if (d && d->ops->read) {
		d->ops->read(d->opaque, run->mmio.phys_addr - d->base, run->mmio.data, len);
	} else {
		memset(run->mmio.data, 0xff, len);
	}
	return vm_stopping(vcpu->vm) || vcpu->parked ? EXIT_STOP : EXIT_CONTINUE;
}

static enum exit_action handle_rdmsr(struct vcpu *vcpu, struct exit_key *key)
{
	struct vm_msr_ops *ops = &vcpu->vm->msr_ops;
	struct kvm_run *run = vcpu->run;
	key->dir = EXIT_DIR_READ;
	key->addr = run->msr.index;
	key->dev = "msr";
	uint64_t value = 0;

	run->msr.error = !ops->read || ops->read(ops->opaque, vcpu, run->msr.index, &value);
	run->msr.data = value;
	return vm_stopping(vcpu->vm) ? EXIT_STOP : EXIT_CONTINUE;
}

static enum exit_action handle_wrmsr(struct vcpu *vcpu, struct exit_key *key)
{
	struct vm_msr_ops *ops = &vcpu->vm->msr_ops;
	struct kvm_run *run = vcpu->run;

	key->dir = EXIT_DIR_WRITE;
	key->addr = run->msr.index;
	key->dev = "msr";
	run->msr.error =
	    !ops->write || ops->write(ops->opaque, vcpu, run->msr.index, run->msr.data);
	return vm_stopping(vcpu->vm) ? EXIT_STOP : EXIT_CONTINUE;
}

static uint64_t vcpu_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	return ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ? 0 : regs.rip;
}

static enum exit_action handle_shutdown(struct vcpu *vcpu, struct exit_key *key)
{
	char why[128];

	(void)key;
	snprintf(why, sizeof(why), "vCPU %u: guest triple fault (shutdown) at RIP 0x%llx", vcpu->id,
		 (unsigned long long)vcpu_rip(vcpu));
	vm_request_stop(vcpu->vm, VM_EXIT_GUEST_CRASH, why);
	return EXIT_STOP;
}

static enum exit_action handle_hlt(struct vcpu *vcpu, struct exit_key *key)
{
	char why[128];

	/* Only without an in-kernel LAPIC; nestvmm always has one, so this is a dead guest. */
	(void)key;
	snprintf(why, sizeof(why), "vCPU %u: guest halted at RIP 0x%llx", vcpu->id,
		 (unsigned long long)vcpu_rip(vcpu));
	vm_request_stop(vcpu->vm, VM_EXIT_GUEST_CRASH, why);
	return EXIT_STOP;
}

static enum exit_action handle_fail_entry(struct vcpu *vcpu, struct exit_key *key)
{
	char why[128];

	key->addr = vcpu->run->fail_entry.hardware_entry_failure_reason;
	snprintf(why, sizeof(why), "vCPU %u: VM entry failed, hardware reason 0x%llx", vcpu->id,
		 (unsigned long long)key->addr);
	vm_request_stop(vcpu->vm, VM_EXIT_GUEST_CRASH, why);
	return EXIT_STOP;
}

static enum exit_action handle_internal_error(struct vcpu *vcpu, struct exit_key *key)
{
	char why[160];

	key->addr = vcpu->run->internal.suberror;
	snprintf(why, sizeof(why), "vCPU %u: KVM internal error, suberror %u at RIP 0x%llx",
		 vcpu->id, vcpu->run->internal.suberror, (unsigned long long)vcpu_rip(vcpu));
	vm_request_stop(vcpu->vm, VM_EXIT_GUEST_CRASH, why);
	return EXIT_STOP;
}

static enum exit_action handle_system_event(struct vcpu *vcpu, struct exit_key *key)
{
	uint32_t type = vcpu->run->system_event.type;

	key->addr = type;
	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, VM_EXIT_OK, "guest power-off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, VM_EXIT_OK, "guest reboot");
		break;
	default:
		vm_request_stop(vcpu->vm, VM_EXIT_GUEST_CRASH, "guest crashed (system event)");
		break;
	}
	return EXIT_STOP;
}

static enum exit_action handle_unexpected(struct vcpu *vcpu, struct exit_key *key)
{
	char why[96];

	snprintf(why, sizeof(why), "vCPU %u: unexpected KVM exit reason %u", vcpu->id, key->reason);
	vm_request_stop(vcpu->vm, VM_EXIT_VMM_ERROR, why);
	return EXIT_STOP;
}

static enum exit_action handle_ignore(struct vcpu *vcpu, struct exit_key *key)
{
	(void)key;
	return vm_stopping(vcpu->vm) ? EXIT_STOP : EXIT_CONTINUE;
}

static const exit_handler_fn exit_handlers[] = {
    [KVM_EXIT_IO] = handle_io,
    [KVM_EXIT_MMIO] = handle_mmio,
    [KVM_EXIT_X86_RDMSR] = handle_rdmsr,
    [KVM_EXIT_X86_WRMSR] = handle_wrmsr,
    [KVM_EXIT_HLT] = handle_hlt,
    [KVM_EXIT_SHUTDOWN] = handle_shutdown,
    [KVM_EXIT_FAIL_ENTRY] = handle_fail_entry,
    [KVM_EXIT_INTERNAL_ERROR] = handle_internal_error,
    [KVM_EXIT_SYSTEM_EVENT] = handle_system_event,
    [KVM_EXIT_INTR] = handle_ignore,
    [KVM_EXIT_IRQ_WINDOW_OPEN] = handle_ignore,
};

static void vcpu_stats_snapshot(struct vcpu *vcpu, uint64_t *values)
{
	if (vcpu->stats && values)
		kvm_stats_read(vcpu->stats, values);
}

/*
 * The floor: the cheapest possible exit loop on this vCPU. Returns when the
 * mode is switched off (by the pass port's handler) or the VM stops.
 */
static void vcpu_run_floor(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	while (vcpu->floor_mode && !vm_stopping(vcpu->vm) && !vcpu->parked) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_request_stop(vcpu->vm, VM_EXIT_VMM_ERROR, "floor mode: KVM_RUN failed");
			return;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == vcpu->floor_pass_port) {
			struct exit_key key = {.reason = KVM_EXIT_IO};

			handle_io(vcpu, &key);
			vcpu->user_exits++;
			continue;
		}
		if (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO) {
			vm_request_stop(vcpu->vm, VM_EXIT_VMM_ERROR, "floor mode: unexpected exit");
			return;
		}
		vcpu->user_exits++;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	struct exit_key key;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	tls_vcpu = vcpu;
	vm_exit_trace_vcpu_ready(vcpu);
	vcpu_stats_snapshot(vcpu, vcpu->stats_start);
	if (sandbox_enter(SANDBOX_VCPU) < 0) {
		char why[64];

		snprintf(why, sizeof(why), "vCPU %u: cannot enter its sandbox (seccomp)", vcpu->id);
		vm_request_stop(vcpu->vm, VM_EXIT_VMM_ERROR, why);
		return NULL;
	}
	if (vcpu->id == 0)
		vcpu->vm->first_run_ns =
		    vm_monotonic_ns(); /* launch -> first KVM_RUN, for --stats */
	while (!vm_stopping(vcpu->vm) && !vcpu->parked) {
		uint64_t t0, t1, t2;
		enum exit_action act;
		exit_handler_fn fn;
		int r;

		if (vcpu->floor_mode) {
			vcpu_run_floor(vcpu);
			continue;
		}
		t0 = __rdtsc();
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		t1 = __rdtsc();
		vcpu->guest_cycles += t1 - t0;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue; /* a kick: the loop condition decides */
			char why[96];

			snprintf(why, sizeof(why), "vCPU %u: KVM_RUN failed: %s", vcpu->id,
				 strerror(errno));
			vm_request_stop(vcpu->vm, VM_EXIT_VMM_ERROR, why);
			break;
		}
		key = (struct exit_key){.reason = run->exit_reason};
		fn = run->exit_reason < sizeof(exit_handlers) / sizeof(exit_handlers[0])
			 ? exit_handlers[run->exit_reason]
			 : NULL;
		act = (fn ? fn : handle_unexpected)(vcpu, &key);
		t2 = __rdtsc();
		vcpu->handle_cycles += t2 - t1;
		vcpu->user_exits++;
		exit_stats_record(vcpu->exits, &key, t1 - t0, t2 - t1);
		if (vcpu->nr_handle_samples < vcpu->max_handle_samples)
			vcpu->handle_samples[vcpu->nr_handle_samples++] = t2 - t1;
		if (act == EXIT_STOP)
			break;
	}
	vcpu_stats_snapshot(vcpu, vcpu->stats_end);
	return NULL;
}

void vcpu_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	if (vcpu->parked)
		return;
	vcpu->parked = true;
	if (atomic_fetch_add(&vm->nr_parked, 1) + 1 == vm->nr_vcpus)
		vm_request_stop(vm, VM_EXIT_OK, NULL);
}

int vcpu_start(struct vcpu *vcpu)
{
	int r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (r)
		return -r;
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/*
	 * immediate_exit makes a KVM_RUN that has not started yet return at
	 * once; the signal interrupts one that is running.
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, SIGUSR1);
}

int vcpu_join(struct vcpu *vcpu, unsigned int timeout_ms)
{
	struct timespec deadline;

	if (!vcpu->thread_started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(vcpu->thread, NULL, &deadline) != 0)
		return -ETIMEDOUT;
	vcpu->thread_started = false;
	return 0;
}
