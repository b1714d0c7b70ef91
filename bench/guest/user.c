// SPDX-License-Identifier: MIT
/*
 * The bench guest's CPL3 part: runs the workload list of struct
 * bench_params and reports each run through the vCPU's mailbox. start.S
 * enters bench_user_main() with IRETQ once CPL0 is set up, with IOPL 3 so
 * that the doorbell OUT works from here; where the host does not honour
 * IOPL, CPL0 rings it (and runs the PIO loops) on our behalf.
 */
#include <stddef.h>

#include "bench/guest/compute.h"
#include "bench/guest/layout.h"
#include "bench/guest/protocol.h"
#include "bench/guest/svm.h"
#include "bench/guest/virtio_blk_drv.h"

_Static_assert(G_LOAD_ADDR == BENCH_LOAD_ADDR, "layout.h out of date");
_Static_assert(G_MAX_CPUS == BENCH_MAX_CPUS, "layout.h out of date");
_Static_assert(G_REPORT_BASE == BENCH_REPORT_BASE, "layout.h out of date");
_Static_assert(1u << G_REPORT_SHIFT == BENCH_REPORT_STRIDE, "layout.h out of date");
_Static_assert(G_PORT_DOORBELL == BENCH_PORT_DOORBELL, "layout.h out of date");
_Static_assert(G_REPORT_READY == BENCH_REPORT_READY, "layout.h out of date");
_Static_assert(G_REPORT_FAULT == BENCH_REPORT_FAULT, "layout.h out of date");
_Static_assert(G_MSR_USER == BENCH_MSR_USER, "layout.h out of date");
_Static_assert(G_SWEEP_PHYS == BENCH_SWEEP_PHYS, "layout.h out of date");
_Static_assert(G_SWEEP_SIZE == BENCH_SWEEP_SIZE, "layout.h out of date");
_Static_assert(G_SWEEP_VA_4K == BENCH_SWEEP_VA_4K, "layout.h out of date");
_Static_assert(G_STACK_BASE == BENCH_GUEST_STACKS, "layout.h out of date");
_Static_assert(G_STACK_BASE + (G_MAX_CPUS << G_STACK_SHIFT) <= BENCH_SWEEP_PHYS, "stacks");
_Static_assert(BENCH_LOAD_ADDR + BENCH_IMAGE_MAX <= G_STACK_BASE, "stacks overlap the image");
_Static_assert(BENCH_GUEST_DMA + BENCH_GUEST_DMA_SIZE <= BENCH_GUEST_SVM, "SVM area overlaps DMA");
_Static_assert(BENCH_GUEST_SVM + BENCH_GUEST_SVM_SIZE <= BENCH_SWEEP_PHYS, "SVM area");
_Static_assert(BENCH_MAX_CPUS << SVM_AREA_SHIFT == BENCH_GUEST_SVM_SIZE, "SVM area per vCPU");
_Static_assert(offsetof(struct bench_report, kind) == G_REP_KIND, "report layout");
_Static_assert(offsetof(struct bench_report, vector) == G_REP_VECTOR, "report layout");
_Static_assert(offsetof(struct bench_report, error) == G_REP_ERROR, "report layout");
_Static_assert(offsetof(struct bench_report, rip) == G_REP_RIP, "report layout");
_Static_assert(offsetof(struct bench_report, cr2) == G_REP_CR2, "report layout");
_Static_assert(offsetof(struct bench_report, cs) == G_REP_CS, "report layout");

void bench_user_main(uint64_t cpu, const volatile struct bench_params *params)
    __attribute__((noreturn));

struct run_result {
	uint64_t cycles;
	uint64_t value;
	uint32_t cpl;
	const struct svm_run *svm; /* the SVM workloads' further figures */
};

static inline uint64_t tsc_serialized(void)
{
	uint32_t lo, hi;

	/* lfence before: earlier work is done; after: later work waits. */
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint32_t current_cpl(void)
{
	uint16_t cs;

	__asm__("mov %%cs, %0" : "=rm"(cs));
	return cs & 3;
}

static inline void __attribute__((noreturn)) pause_forever(void)
{
	for (;;)
		__asm__ volatile("pause");
}

/* See syscall_entry in start.S for the register contract. */
static inline uint64_t guest_syscall(uint64_t nr)
{
	uint64_t ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r10", "r11", "memory");
	return ret;
}

struct kcall_ret {
	uint64_t rax, rdx, r8;
};

/* See kcall_entry in start.S for the register contract. */
static inline struct kcall_ret guest_kcall(uint64_t nr, uint64_t arg0, uint64_t arg1)
{
	struct kcall_ret ret;
	register uint64_t r8 __asm__("r8");

	__asm__ volatile("int3"
			 : "=a"(ret.rax), "=d"(ret.rdx), "=r"(r8), "+D"(arg0), "+S"(arg1)
			 : "a"(nr)
			 : "rcx", "r9", "r10", "memory");
	ret.r8 = r8;
	return ret;
}

/* The G_KCALL_SVM kcall calls C at CPL0: every caller-saved register is lost. */
static inline void guest_kcall_svm(struct svm_run *run)
{
	register uint64_t r8 __asm__("r8");
	register uint64_t r9 __asm__("r9");
	register uint64_t r10 __asm__("r10");
	register uint64_t r11 __asm__("r11");
	uint64_t rax = G_KCALL_SVM, rdi = (uint64_t)run, rcx, rdx, rsi;

	__asm__ volatile("int3"
			 : "+a"(rax), "+D"(rdi), "=c"(rcx), "=d"(rdx), "=S"(rsi), "=r"(r8),
			   "=r"(r9), "=r"(r10), "=r"(r11)
			 :
			 : "memory");
}

/*
 * Whether OUT works here at CPL3. start.S asked for IOPL 3, but a host that
 * runs CPL3 on the hardware without trusting it with port I/O (kvm_pvm)
 * keeps the real IOPL at 0; PUSHF shows which.
 */
static int user_pio_allowed(void)
{
	uint64_t rflags;

	__asm__ volatile("pushfq; popq %0" : "=r"(rflags));
	return ((rflags >> 12) & 3) == 3;
}

static int user_pio;

static void ring(volatile struct bench_report *rep, uint32_t kind)
{
	rep->kind = kind;
	if (user_pio)
		__asm__ volatile("outl %0, %w1" ::"a"(kind), "Nd"(BENCH_PORT_DOORBELL) : "memory");
	else
		guest_kcall(G_KCALL_RING, kind, 0);
}

/* A FAULT report raised by the guest itself; the VMM stops this vCPU. */
static void __attribute__((noreturn))
guest_fault_at(volatile struct bench_report *rep, uint64_t vector, uint64_t error, uint64_t rip,
	       uint64_t cr2)
{
	rep->vector = vector;
	rep->error = error;
	rep->rip = rip;
	rep->cr2 = cr2;
	rep->cs = 0;
	ring(rep, BENCH_REPORT_FAULT);
	pause_forever();
}

static void __attribute__((noreturn))
guest_fault(volatile struct bench_report *rep, uint64_t vector, uint64_t error)
{
	guest_fault_at(rep, vector, error, 0, 0);
}

static int cpu_is_amd(void)
{
	uint32_t eax = 0, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	/* "AuthenticAMD", "HygonGenuine": VMMCALL; anything else VMCALL. */
	return ebx == 0x68747541 || ebx == 0x6f677948;
}

static void run_cpuid(uint64_t iters, struct run_result *res)
{
	uint32_t last = 0;
	uint64_t t0 = tsc_serialized();

	for (uint64_t i = 0; i < iters; i++) {
		uint32_t eax = 0, ebx, ecx = 0, edx;

		__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
		last = eax;
	}
	res->cycles = tsc_serialized() - t0;
	res->value = last;
}

static void run_pio(uint16_t port, uint64_t iters, struct run_result *res)
{
	if (!user_pio) {
		struct kcall_ret ret = guest_kcall(G_KCALL_PIO_LOOP, iters, port);

		res->cycles = ret.rax;
		res->value = ret.rdx;
		res->cpl = (uint32_t)ret.r8;
		return;
	}

	uint64_t t0 = tsc_serialized();

	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("outl %0, %w1" ::"a"((uint32_t)i), "Nd"(port));
	res->cycles = tsc_serialized() - t0;
	res->value = iters;
}

static void run_mmio(uint64_t addr, uint64_t iters, struct run_result *res)
{
	volatile uint32_t *reg = (volatile uint32_t *)addr;
	uint64_t t0 = tsc_serialized();

	for (uint64_t i = 0; i < iters; i++)
		*reg = (uint32_t)i;
	res->cycles = tsc_serialized() - t0;
	res->value = iters;
}

/*
 * KVM ABI: nr in rax, args in rbx, rcx, rdx, rsi, result in rax. Nr 0 is
 * no hypercall; from CPL3 KVM answers -KVM_EPERM anyway. The value is
 * KVM's answer, so the report shows whether the exit reached KVM.
 */
static void run_hypercall(int amd, uint64_t iters, struct run_result *res)
{
	uint64_t ret = 0;
	uint64_t t0 = tsc_serialized();

	if (amd) {
		for (uint64_t i = 0; i < iters; i++)
			__asm__ volatile("vmmcall"
					 : "=a"(ret)
					 : "a"(0ul), "b"(0ul), "c"(0ul), "d"(0ul), "S"(0ul)
					 : "memory");
	} else {
		for (uint64_t i = 0; i < iters; i++)
			__asm__ volatile("vmcall"
					 : "=a"(ret)
					 : "a"(0ul), "b"(0ul), "c"(0ul), "d"(0ul), "S"(0ul)
					 : "memory");
	}
	res->cycles = tsc_serialized() - t0;
	res->value = ret;
}

/*
 * The value is the CPL the SYSCALL handler runs at: 0 on hardware, 3 where
 * the host only emulates the jump (kvm_pvm), which makes the round trip a
 * different thing to measure.
 */
static void run_syscall(uint64_t iters, struct run_result *res)
{
	uint64_t t0 = tsc_serialized();

	for (uint64_t i = 0; i < iters; i++)
		guest_syscall(G_SYS_NULL);
	res->cycles = tsc_serialized() - t0;
	res->value = guest_syscall(G_SYS_CPL);
}

/* The loop runs at CPL0; its own TSC reading excludes the way there and back. */
static void run_msr_user(uint64_t iters, struct run_result *res)
{
	struct kcall_ret ret = guest_kcall(G_KCALL_MSR_LOOP, iters, 0);

	res->cycles = ret.rax;
	res->value = ret.rdx;
	res->cpl = (uint32_t)ret.r8;
}

static void run_countprimes(uint64_t iters, struct run_result *res)
{
	uint64_t t0 = tsc_serialized();

	res->value = bench_countprimes_loop(iters);
	res->cycles = tsc_serialized() - t0;
}

static void run_fib(uint64_t iters, struct run_result *res)
{
	uint64_t t0 = tsc_serialized();

	res->value = bench_fib_loop(iters);
	res->cycles = tsc_serialized() - t0;
}

static void run_memsweep(uint64_t base, uint64_t *start, uint64_t iters, struct run_result *res)
{
	volatile uint8_t *large = (volatile uint8_t *)base;
	uint64_t t0 = tsc_serialized();

	bench_memsweep(large, *start, iters);
	res->cycles = tsc_serialized() - t0;
	*start += iters;
	res->value = large[0];
}

/*
 * PCI config space for the virtio-blk driver: ports 0xcf8/0xcfc where IOPL
 * 3 lets CPL3 use them, else the ECAM window (MMIO, so it works at CPL3
 * on hosts that run CPL3 natively but keep the real IOPL at 0, kvm_pvm).
 */
static uint32_t cfg_read_port(unsigned int slot, unsigned int off)
{
	uint32_t v;

	__asm__ volatile("outl %0, %w1" ::"a"(0x80000000u | slot << 11 | (off & 0xfc)),
			 "Nd"(0xcf8));
	__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(0xcfc));
	return v;
}

static void cfg_write_port(unsigned int slot, unsigned int off, uint32_t val)
{
	__asm__ volatile("outl %0, %w1" ::"a"(0x80000000u | slot << 11 | (off & 0xfc)),
			 "Nd"(0xcf8));
	__asm__ volatile("outl %0, %w1" ::"a"(val), "Nd"(0xcfc));
}

static volatile uint32_t *ecam_reg(unsigned int slot, unsigned int off)
{
	return (volatile uint32_t *)(uintptr_t)(BENCH_PCI_ECAM_ADDR + ((uint64_t)slot << 15) +
						(off & 0xffc));
}

static uint32_t cfg_read_ecam(unsigned int slot, unsigned int off)
{
	return *ecam_reg(slot, off);
}

static void cfg_write_ecam(unsigned int slot, unsigned int off, uint32_t val)
{
	*ecam_reg(slot, off) = val;
}

static const struct vblk_cfg_ops cfg_port = {cfg_read_port, cfg_write_port};
static const struct vblk_cfg_ops cfg_ecam = {cfg_read_ecam, cfg_write_ecam};

static struct vblk blk;
static int blk_ready;

/* Untimed: the device comes up once, before the first blk run. */
static void blk_setup(volatile struct bench_report *rep)
{
	uint64_t err;

	if (blk_ready)
		return;
	err = vblk_init(&blk, user_pio ? &cfg_port : &cfg_ecam, (uint8_t *)BENCH_GUEST_DMA);
	if (err)
		guest_fault(rep, BENCH_FAULT_BLK, err);
	blk_ready = 1;
}

/* The value is the reads done; the host turns cycles into IOPS. */
static void run_blk(volatile struct bench_report *rep, unsigned int qd, uint64_t iters,
		    struct run_result *res)
{
	uint64_t t0 = tsc_serialized();
	uint64_t err = vblk_read_random(&blk, qd, iters);

	res->cycles = tsc_serialized() - t0;
	if (err)
		guest_fault(rep, BENCH_FAULT_BLK, err);
	res->value = iters;
}

static struct svm_run svm_runs[BENCH_MAX_CPUS];

/* The RESULT fields only the SVM workloads fill; zero for the others. */
static void svm_report(volatile struct bench_report *rep, const struct svm_run *run)
{
	rep->skip = run ? run->skip : 0;
	rep->svm_features = run ? run->features : 0;
	rep->inner_exits = run ? run->inner_exits : 0;
	rep->entry_min = run ? run->entry_min : 0;
	rep->entry_sum = run ? run->entry_sum : 0;
	rep->entry_max = run ? run->entry_max : 0;
	rep->exit_min = run ? run->exit_min : 0;
	rep->exit_sum = run ? run->exit_sum : 0;
	rep->exit_max = run ? run->exit_max : 0;
}

/* The loop runs at CPL0 (the bench hypervisor) or in its inner guest. */
static void run_svm(volatile struct bench_report *rep, uint32_t cpu, uint32_t w, uint64_t iters,
		    struct run_result *res)
{
	struct svm_run *run = &svm_runs[cpu];

	*run = (struct svm_run){.workload = w, .cpu = cpu, .iters = iters};
	guest_kcall_svm(run);
	if (run->failed)
		guest_fault_at(rep, BENCH_FAULT_SVM, run->fail_exitcode, run->fail_rip,
			       run->fail_info1);
	res->cycles = run->cycles;
	res->value = run->value;
	res->cpl = 0;
	res->svm = run;
}

static void __attribute__((noreturn)) run_fault(void)
{
	__asm__ volatile("ud2");
	pause_forever();
}

/*
 * Copies the workload list out of params once it checks out, so that the
 * VMM's page cannot change it behind the checks. Returns how many there
 * are, or -1 with *bad set to the FAULT error code.
 */
static int params_load(const volatile struct bench_params *params, uint32_t *workloads,
		       uint64_t *bad)
{
	uint32_t n = params->nr_workloads;

	*bad = 0;
	if (params->magic != BENCH_MAGIC || params->version != BENCH_PROTOCOL_VERSION ||
	    params->mem_size < BENCH_MIN_MEM || n > BENCH_MAX_WORKLOADS)
		return -1;
	for (uint32_t k = 0; k < n; k++) {
		workloads[k] = params->workloads[k];
		if (workloads[k] == BENCH_W_NONE || workloads[k] >= BENCH_W_COUNT) {
			*bad = BENCH_MAX_WORKLOADS + k;
			return -1;
		}
	}
	return (int)n;
}

void bench_user_main(uint64_t cpu, const volatile struct bench_params *params)
{
	volatile struct bench_report *rep = (volatile struct bench_report *)bench_report_addr(cpu);
	uint32_t workloads[BENCH_MAX_WORKLOADS];
	uint64_t bad;

	user_pio = user_pio_allowed();
	int n = params_load(params, workloads, &bad);
	if (n < 0)
		guest_fault(rep, BENCH_FAULT_BAD_PARAMS, bad);

	int amd = cpu_is_amd();
	uint64_t min_cycles = params->min_cycles;
	uint64_t start_iters = params->start_iters ? params->start_iters : 1;

	for (int k = 0; k < n; k++) {
		uint32_t w = workloads[k];
		uint64_t max_iters = params->max_iters[w];
		uint64_t sweep_start = 0;

		/* Untimed, before the first BEGIN: no run is charged for it. */
		if (w == BENCH_W_MEMSWEEP_4K)
			bench_memsweep_warm((volatile uint8_t *)BENCH_SWEEP_VA_4K);
		else if (w == BENCH_W_MEMSWEEP_2M)
			bench_memsweep_warm((volatile uint8_t *)BENCH_SWEEP_PHYS);
		else if (w == BENCH_W_BLK_QD1 || w == BENCH_W_BLK_QD32)
			blk_setup(rep);

		for (uint64_t iters = start_iters;; iters *= 2) {
			struct run_result res = {.cpl = current_cpl()};

			rep->workload = w;
			rep->iters = iters;
			ring(rep, BENCH_REPORT_BEGIN);
			switch (w) {
			case BENCH_W_CPUID:
				run_cpuid(iters, &res);
				break;
			case BENCH_W_PIO:
				run_pio(BENCH_PORT_PIO, iters, &res);
				break;
			case BENCH_W_PIO_IOEVENTFD:
				run_pio(BENCH_PORT_PIO_IOEVENTFD, iters, &res);
				break;
			case BENCH_W_MMIO:
				run_mmio(BENCH_MMIO_ADDR, iters, &res);
				break;
			case BENCH_W_MMIO_IOEVENTFD:
				run_mmio(BENCH_MMIO_IOEVENTFD_ADDR, iters, &res);
				break;
			case BENCH_W_HYPERCALL:
				run_hypercall(amd, iters, &res);
				break;
			case BENCH_W_SYSCALL:
				run_syscall(iters, &res);
				break;
			case BENCH_W_COUNTPRIMES:
				run_countprimes(iters, &res);
				break;
			case BENCH_W_FIB:
				run_fib(iters, &res);
				break;
			case BENCH_W_MEMSWEEP_4K:
				run_memsweep(BENCH_SWEEP_VA_4K, &sweep_start, iters, &res);
				break;
			case BENCH_W_MEMSWEEP_2M:
				run_memsweep(BENCH_SWEEP_PHYS, &sweep_start, iters, &res);
				break;
			case BENCH_W_MSR_USER:
				run_msr_user(iters, &res);
				break;
			case BENCH_W_BLK_QD1:
				run_blk(rep, 1, iters, &res);
				break;
			case BENCH_W_BLK_QD32:
				run_blk(rep, 32, iters, &res);
				break;
			case BENCH_W_SVM_CPUID:
			case BENCH_W_SVM_VMRUN:
			case BENCH_W_SVM_VMRUN_CLEAN:
			case BENCH_W_SVM_VMLOAD:
			case BENCH_W_SVM_VMSAVE:
			case BENCH_W_SVM_STGI:
			case BENCH_W_SVM_CLGI:
			case BENCH_W_SVM_MSRPM_STATIC:
			case BENCH_W_SVM_MSRPM_DIRTY:
				run_svm(rep, (uint32_t)cpu, w, iters, &res);
				break;
			default: /* BENCH_W_FAULT; params_load() rejected the rest */
				run_fault();
			}

			uint32_t skip = res.svm ? res.svm->skip : BENCH_SKIP_NONE;
			uint32_t final = skip || res.cycles >= min_cycles || iters > max_iters / 2;

			rep->iters = skip ? 0 : iters;
			rep->cycles = res.cycles;
			rep->value = res.value;
			rep->cpl = res.cpl;
			rep->final = final;
			svm_report(rep, res.svm);
			ring(rep, BENCH_REPORT_RESULT);
			if (final)
				break;
		}
	}
	ring(rep, BENCH_REPORT_DONE);
	pause_forever();
}
