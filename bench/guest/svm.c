// SPDX-License-Identifier: MIT
/*
 * The bench guest's CPL0 hypervisor (AMD SVM). Reached from CPL3 through
 * the G_KCALL_SVM kcall, it sets SVM up once per vCPU (EFER.SVME,
 * VM_HSAVE_PA, a VMCB, IOPM, MSRPM, nested page tables) and runs one
 * measured loop per call: VMRUN round trips into a tiny inner guest
 * (svm_entry.S), or one SVM instruction on its own.
 *
 * The loops do the least a hypervisor can: check the exit code, advance
 * the inner RIP (NRIP where the CPU offers it, else the known instruction
 * length) and VMRUN again. GIF: #VMEXIT clears it and VMRUN sets it, so
 * between VMRUNs the hypervisor runs with GIF 0, like KVM's own run loop;
 * STGI at the end of every loop gives it back.
 */
#include "bench/guest/svm.h"

#include <stddef.h>

#include "bench/guest/protocol.h"
#include "bench/guest/svm_vmcb.h"

#define PTE_P	       0x1ull
#define PTE_RW	       0x2ull
#define PTE_US	       0x4ull /* nested page walks are user accesses: every level needs U */
#define PTE_PS	       0x80ull
#define CPUID_SVM      (1u << 2)
#define SVM_FEAT_NPT   (1u << 0)
#define SVM_FEAT_NRIPS (1u << 3)

/* Inner guest selectors: the bench guest's own GDT (layout.h). */
#define INNER_CS     0x10
#define INNER_DS     0x18
#define ATTR_CODE64  0xa9b		   /* P, DPL0, S, code exec/read accessed; G, L */
#define ATTR_DATA    0xc93		   /* P, DPL0, S, data read/write accessed; G, D/B */
#define GUEST_PAT    0x0007040600070406ull /* the reset value of IA32_PAT */
#define DR6_RESET    0xffff0ff0ull
#define DR7_RESET    0x400ull
#define RFLAGS_RESET 0x2ull
#define INNER_ASID   1
#define LEN_CPUID    2
#define LEN_VMMCALL  3

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint8_t svm_ready[BENCH_MAX_CPUS];
static uint32_t svm_leaf0_eax; /* the cached answer the inner CPUID gets */

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void stgi(void)
{
	__asm__ volatile("stgi" ::: "memory");
}

#define READ_CR(n)                                                                                 \
	({                                                                                         \
		uint64_t v_;                                                                       \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_));                                 \
		v_;                                                                                \
	})

static uint64_t area(uint32_t cpu)
{
	return BENCH_GUEST_SVM + ((uint64_t)cpu << SVM_AREA_SHIFT);
}

/* Volatile stores: no memset for the compiler to call in a freestanding image. */
static void fill(uint64_t pa, uint64_t pattern, uint64_t bytes)
{
	volatile uint64_t *p = (volatile uint64_t *)pa;

	for (uint64_t i = 0; i < bytes / 8; i++)
		p[i] = pattern;
}

static void build_npt(uint64_t base)
{
	volatile uint64_t *pml4 = (volatile uint64_t *)(base + SVM_AREA_NPT_PML4);
	volatile uint64_t *pdpt = (volatile uint64_t *)(base + SVM_AREA_NPT_PDPT);
	volatile uint64_t *pd = (volatile uint64_t *)(base + SVM_AREA_NPT_PD);

	fill(base + SVM_AREA_NPT_PML4, 0, 0x1000);
	fill(base + SVM_AREA_NPT_PDPT, 0, 0x1000);
	pml4[0] = (base + SVM_AREA_NPT_PDPT) | PTE_P | PTE_RW | PTE_US;
	pdpt[0] = (base + SVM_AREA_NPT_PD) | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
}

static void set_seg(volatile struct vmcb_seg *s, uint16_t sel, uint16_t attrib)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = 0xffffffffu;
	s->base = 0;
}

/* The inner guest: this CPU's own 64-bit CPL0 state, on its own stack. */
static void build_vmcb(uint64_t base, uint32_t features)
{
	volatile struct vmcb *v = (volatile struct vmcb *)(base + SVM_AREA_VMCB);
	struct dtr gdt, idt;
	uint64_t pa = base + SVM_AREA_VMCB;

	fill(pa, 0, 0x1000);
	fill(base + SVM_AREA_SCRATCH, 0, 0x1000);
	/* FS, GS, TR, LDTR, KernelGsBase, STAR..SFMASK, SYSENTER_*: as they are now. */
	__asm__ volatile("vmsave %%rax" ::"a"(pa) : "memory");
	__asm__ volatile("vmsave %%rax" ::"a"(base + SVM_AREA_SCRATCH) : "memory");
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt), "=m"(idt));

	set_seg(&v->save.cs, INNER_CS, ATTR_CODE64);
	set_seg(&v->save.ss, INNER_DS, ATTR_DATA);
	set_seg(&v->save.ds, INNER_DS, ATTR_DATA);
	set_seg(&v->save.es, INNER_DS, ATTR_DATA);
	v->save.gdtr.limit = gdt.limit;
	v->save.gdtr.base = gdt.base;
	v->save.idtr.limit = idt.limit;
	v->save.idtr.base = idt.base;
	v->save.cpl = 0;
	v->save.efer = rdmsr(MSR_EFER_ADDR); /* SVME included: VMRUN checks it */
	v->save.cr0 = READ_CR(0);
	v->save.cr3 = READ_CR(3);
	v->save.cr4 = READ_CR(4);
	v->save.dr6 = DR6_RESET;
	v->save.dr7 = DR7_RESET;
	v->save.rflags = RFLAGS_RESET;
	v->save.g_pat = GUEST_PAT;
	v->save.rsp = base + SVM_AREA_INNER_STACK;

	v->control.intercept_exceptions = 0xffffffffu;
	v->control.intercept_misc1 = SVM_INTERCEPT1_CPUID | SVM_INTERCEPT1_HLT |
				     SVM_INTERCEPT1_IOIO | SVM_INTERCEPT1_MSR |
				     SVM_INTERCEPT1_SHUTDOWN;
	v->control.intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL;
	v->control.iopm_base_pa = base + SVM_AREA_IOPM;
	v->control.msrpm_base_pa = base + SVM_AREA_MSRPM;
	v->control.guest_asid = INNER_ASID;
	if (features & SVM_FEAT_NPT) {
		v->control.np_enable = SVM_NP_ENABLE;
		v->control.ncr3 = base + SVM_AREA_NPT_PML4;
	}
	v->control.clean = 0;
}

/* Once per vCPU. Returns enum bench_skip. */
static uint32_t svm_setup(uint32_t cpu, uint32_t *features)
{
	uint32_t a, b, c, d;
	uint64_t base = area(cpu);

	cpuid(0x80000000u, &a, &b, &c, &d);
	if (a < 0x8000000au)
		return BENCH_SKIP_NO_SVM;
	cpuid(0x80000001u, &a, &b, &c, &d);
	if (!(c & CPUID_SVM))
		return BENCH_SKIP_NO_SVM;
	cpuid(0x8000000au, &a, &b, &c, &d);
	*features = d;
	if (b < 2) /* ASID 0 is the host's */
		return BENCH_SKIP_NO_ASIDS;
	if (svm_ready[cpu])
		return BENCH_SKIP_NONE;
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)
		return BENCH_SKIP_SVM_DIS;
	cpuid(0, &a, &b, &c, &d);
	svm_leaf0_eax = a;

	wrmsr(MSR_EFER_ADDR, rdmsr(MSR_EFER_ADDR) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, base + SVM_AREA_HSAVE);
	fill(base + SVM_AREA_IOPM, ~0ull, SVM_IOPM_SIZE);   /* every port intercepted */
	fill(base + SVM_AREA_MSRPM, ~0ull, SVM_MSRPM_SIZE); /* every MSR intercepted */
	build_npt(base);
	build_vmcb(base, *features);
	svm_ready[cpu] = 1;
	return BENCH_SKIP_NONE;
}

static void record_failure(struct svm_run *run, volatile struct vmcb *v)
{
	run->failed = 1;
	run->fail_exitcode = v->control.exitcode;
	run->fail_info1 = v->control.exitinfo1;
	run->fail_rip = v->save.rip;
}

/* Past the intercepted instruction of @len bytes. */
static inline void skip_insn(volatile struct vmcb *v, uint32_t features, uint64_t len)
{
	v->save.rip = (features & SVM_FEAT_NRIPS) ? v->control.next_rip : v->save.rip + len;
}

static void loop_cpuid(struct svm_run *run, volatile struct vmcb *v, uint64_t pa)
{
	uint64_t i, t0;

	v->save.rip = (uint64_t)svm_inner_cpuid;
	v->control.clean = 0;
	t0 = tsc();
	for (i = 0; i < run->iters; i++) {
		svm_vmrun(pa);
		if (v->control.exitcode != SVM_EXIT_CPUID) {
			record_failure(run, v);
			break;
		}
		v->save.rax = svm_leaf0_eax;
		skip_insn(v, run->features, LEN_CPUID);
		v->control.clean = VMCB_CLEAN_ALL; /* only RIP and RAX changed */
	}
	run->cycles = tsc() - t0;
	stgi();
	run->value = run->inner_exits = i;
}

static void loop_vmrun(struct svm_run *run, volatile struct vmcb *v, uint64_t pa, uint32_t clean)
{
	struct svm_stamps st;
	uint64_t i, t0;

	run->entry_min = run->exit_min = ~0ull;
	v->save.rip = (uint64_t)svm_inner_stamped;
	v->control.clean = 0;
	t0 = tsc();
	for (i = 0; i < run->iters; i++) {
		uint64_t entry, exit;

		svm_vmrun_timed(pa, &st);
		if (v->control.exitcode != SVM_EXIT_VMMCALL) {
			record_failure(run, v);
			break;
		}
		entry = st.g_entry - st.before;
		exit = st.after - st.g_exit;
		run->entry_sum += entry;
		run->exit_sum += exit;
		if (entry < run->entry_min)
			run->entry_min = entry;
		if (entry > run->entry_max)
			run->entry_max = entry;
		if (exit < run->exit_min)
			run->exit_min = exit;
		if (exit > run->exit_max)
			run->exit_max = exit;
		skip_insn(v, run->features, LEN_VMMCALL);
		v->control.clean = clean;
	}
	run->cycles = tsc() - t0;
	stgi();
	run->value = run->inner_exits = i;
	if (!i)
		run->entry_min = run->exit_min = 0;
}

/*
 * VMMCALL round trips; with @dirty, the read-intercept bit of FS_BASE flips
 * before every VMRUN and the IOPM clean bit (which covers the MSRPM) says so.
 */
static void loop_msrpm(struct svm_run *run, volatile struct vmcb *v, uint64_t pa, uint64_t base,
		       int dirty)
{
	volatile uint8_t *msrpm = (volatile uint8_t *)(base + SVM_AREA_MSRPM);
	int64_t bit = svm_msrpm_read_bit(MSR_FS_BASE_ADDR);
	uint8_t mask = (uint8_t)(1u << (bit % 8));
	uint64_t i, t0;

	v->save.rip = (uint64_t)svm_inner_vmmcall;
	v->control.clean = 0;
	t0 = tsc();
	for (i = 0; i < run->iters; i++) {
		if (dirty)
			msrpm[bit / 8] ^= mask;
		svm_vmrun(pa);
		if (v->control.exitcode != SVM_EXIT_VMMCALL) {
			record_failure(run, v);
			break;
		}
		skip_insn(v, run->features, LEN_VMMCALL);
		v->control.clean = dirty ? VMCB_CLEAN_ALL & ~VMCB_CLEAN_IOPM : VMCB_CLEAN_ALL;
	}
	run->cycles = tsc() - t0;
	stgi();
	msrpm[bit / 8] |= mask; /* back to "intercept every MSR" */
	run->value = run->inner_exits = i;
}

/* One SVM instruction on its own, @iters times; nothing runs in an inner guest. */
static void loop_insn(struct svm_run *run, uint64_t base)
{
	uint64_t scratch = base + SVM_AREA_SCRATCH;
	uint64_t n = run->iters, t0 = tsc();

	switch (run->workload) {
	case BENCH_W_SVM_VMLOAD:
		for (uint64_t i = 0; i < n; i++)
			__asm__ volatile("vmload %%rax" ::"a"(scratch) : "memory");
		break;
	case BENCH_W_SVM_VMSAVE:
		for (uint64_t i = 0; i < n; i++)
			__asm__ volatile("vmsave %%rax" ::"a"(scratch) : "memory");
		break;
	case BENCH_W_SVM_STGI:
		for (uint64_t i = 0; i < n; i++)
			__asm__ volatile("stgi" ::: "memory");
		break;
	default: /* BENCH_W_SVM_CLGI */
		for (uint64_t i = 0; i < n; i++)
			__asm__ volatile("clgi" ::: "memory");
		break;
	}
	run->cycles = tsc() - t0;
	stgi();
	run->value = n;
}

void bench_svm_kcall(struct svm_run *run)
{
	uint64_t base, pa;
	volatile struct vmcb *v;

	if (run->cpu >= BENCH_MAX_CPUS) {
		run->skip = BENCH_SKIP_NO_SVM;
		return;
	}
	run->skip = svm_setup(run->cpu, &run->features);
	if (run->skip)
		return;
	base = area(run->cpu);
	pa = base + SVM_AREA_VMCB;
	v = (volatile struct vmcb *)pa;
	switch (run->workload) {
	case BENCH_W_SVM_CPUID:
		loop_cpuid(run, v, pa);
		break;
	case BENCH_W_SVM_VMRUN:
		loop_vmrun(run, v, pa, 0);
		break;
	case BENCH_W_SVM_VMRUN_CLEAN:
		loop_vmrun(run, v, pa, VMCB_CLEAN_ALL);
		break;
	case BENCH_W_SVM_MSRPM_STATIC:
		loop_msrpm(run, v, pa, base, 0);
		break;
	case BENCH_W_SVM_MSRPM_DIRTY:
		loop_msrpm(run, v, pa, base, 1);
		break;
	default:
		loop_insn(run, base);
		break;
	}
}
