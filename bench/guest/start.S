/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's CPL0 part: entry, the static GDT/TSS/IDT, the exception
 * stubs, the SYSCALL handler and the INT3 "kcall" handler (layout.h says
 * why both). CPL0 is emulated instruction by instruction on some hosts (~1
 * us each), so every table is built by the assembler at a fixed offset from
 * _start and the entry path only loads them (43 instructions), then drops
 * to CPL3 where the workloads run. A vCPU index >= G_MAX_CPUS has no
 * mailbox: that vCPU halts without a report.
 */
#include "layout.h"

#define ABS(off) (G_LOAD_ADDR + (off))

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define EFER_SCE 1

	.section .text.start, "ax" /* the CPU writes TSS busy bits here: paging allows it */
	.code64
	.globl _start
_start:
	jmp entry

	/* Pseudo-descriptors for LGDT/LIDT. */
	.org G_OFF_GDTR
	.word G_GDT_ENTRIES * 8 - 1
	.quad ABS(G_OFF_GDT)
	.org G_OFF_IDTR
	.word G_IDT_VECTORS * 16 - 1
	.quad ABS(G_OFF_IDT)

	/* Code/data descriptors are flat; accessed bits preset so the CPU never writes them. */
	.org G_OFF_GDT
	.quad 0			/* 0x00 null */
	.quad 0			/* 0x08 unused: keeps the boot GDT's kernel CS selector */
	.quad 0x00af9b000000ffff /* 0x10 kernel code, 64-bit, DPL0 */
	.quad 0x00cf93000000ffff /* 0x18 kernel data, DPL0 */
	.quad 0x00cff3000000ffff /* 0x20 user data, DPL3 */
	.quad 0x00affb000000ffff /* 0x28 user code, 64-bit, DPL3 */
	/* 0x30 + 16 * cpu: available 64-bit TSS (type 9), limit 103 */
	.set cpu, 0
	.rept G_MAX_CPUS
	.set tss_base, ABS(G_OFF_TSS + cpu * G_TSS_SIZE)
	.word G_TSS_SIZE - 1
	.word tss_base & 0xffff
	.byte (tss_base >> 16) & 0xff
	.byte 0x89
	.byte 0
	.byte (tss_base >> 24) & 0xff
	.long tss_base >> 32
	.long 0
	.set cpu, cpu + 1
	.endr

	/* TSS per vCPU: RSP0 for exceptions from CPL3, IST1 for NMI, #DF, #MC. */
	.org G_OFF_TSS
	.set cpu, 0
	.rept G_MAX_CPUS
	.set stack, G_STACK_BASE + (cpu << G_STACK_SHIFT)
	.long 0
	.quad stack + G_RSP0_TOP /* RSP0 */
	.quad 0, 0		/* RSP1, RSP2 */
	.quad 0
	.quad stack + G_IST1_TOP /* IST1 */
	.quad 0, 0, 0, 0, 0, 0	/* IST2-7 */
	.quad 0
	.word 0
	.word G_TSS_SIZE	/* I/O map base beyond the limit: no bitmap, IOPL decides */
	.set cpu, cpu + 1
	.endr

	/* IDT: interrupt gates to stub[vector]; only G_VEC_KCALL is open to CPL3. */
	.org G_OFF_IDT
	.set vec, 0
	.rept G_IDT_VECTORS
	.set handler, ABS(G_OFF_STUBS + vec * G_STUB_SIZE)
	.if vec == G_VEC_KCALL
	.set handler, ABS(G_OFF_KCALL)
	.endif
	.word handler & 0xffff
	.word G_SEL_KCODE
	.if vec == 2 || vec == 8 || vec == 18
	.byte 1			/* IST1 */
	.else
	.byte 0
	.endif
	.if vec == G_VEC_KCALL
	.byte 0xee
	.else
	.byte 0x8e
	.endif
	.word (handler >> 16) & 0xffff
	.long handler >> 32
	.long 0
	.set vec, vec + 1
	.endr

	/*
	 * Stub per vector: make the frame uniform (push 0 where the CPU pushed
	 * no error code), push the vector, go to fault_common.
	 */
	.set vec, 0
	.rept G_IDT_VECTORS
	.org G_OFF_STUBS + vec * G_STUB_SIZE
	.if !(vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || \
	      vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq $0
	.endif
	pushq $vec
	jmp fault_common
	.set vec, vec + 1
	.endr

/*
 * INT3 from CPL3 (a trap: the frame's RIP is the next instruction), on this
 * vCPU's RSP0 stack. The timed loops
 * return rax = TSC cycles of the loop alone, rdx = value, r8 = CPL.
 * In: rax = nr, rdi, rsi. Clobbers rcx, rsi, rdi, r9, r10 (G_KCALL_SVM: every
 * caller-saved register).
 */
	.org G_OFF_KCALL
kcall_entry:
	cmp $G_KCALL_RING, %eax
	je kcall_ring
	cmp $G_KCALL_SVM, %eax
	je kcall_svm
	mov %eax, %r10d		/* nr: RDTSC needs rax */
	lfence
	rdtsc
	lfence
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r8		/* r8 = start TSC */
	cmp $G_KCALL_MSR_LOOP, %r10d
	je kcall_msr_loop
	cmp $G_KCALL_PIO_LOOP, %r10d
	je kcall_pio_loop
	mov $-1, %rax
	iretq

kcall_ring:
	mov %edi, %eax
	mov $G_PORT_DOORBELL, %edx
	outl %eax, %dx
	xor %eax, %eax
	iretq

/* A C function at CPL0: the SysV ABI wants RSP 16-byte aligned at the call. */
kcall_svm:
	push %rbx
	mov %rsp, %rbx
	and $-16, %rsp
	call bench_svm_kcall
	mov %rbx, %rsp
	pop %rbx
	iretq

kcall_msr_loop:
	mov $G_MSR_USER, %ecx
	xor %esi, %esi
	test %rdi, %rdi
	jz timed_loop_end
1:	rdmsr
	dec %rdi
	jnz 1b
	shl $32, %rdx
	or %rax, %rdx
	mov %rdx, %rsi		/* rsi = last MSR value */
	jmp timed_loop_end

kcall_pio_loop:
	mov %esi, %edx
	mov %rdi, %rsi		/* rsi = iterations, the value */
	test %rdi, %rdi
	jz timed_loop_end
1:	mov %edi, %eax
	outl %eax, %dx
	dec %rdi
	jnz 1b

timed_loop_end:
	lfence
	rdtsc
	lfence
	shl $32, %rdx
	or %rdx, %rax
	sub %r8, %rax
	mov %rsi, %rdx
	mov %cs, %r8d
	and $3, %r8d
	iretq

	.org G_OFF_CODE
/*
 * RDI = vCPU index, RSI = params (kept for bench_user_main). RSP is not
 * ours until it points at this vCPU's stacks.
 */
entry:
	cmp $G_MAX_CPUS, %rdi
	jae stop
	mov $pml4, %eax
	mov %rax, %cr3
	lgdt ABS(G_OFF_GDTR)
	lidt ABS(G_OFF_IDTR)
	mov %edi, %eax
	shl $4, %eax
	add $G_SEL_TSS0, %eax
	ltr %ax
	mov %rdi, %rbp
	shl $G_STACK_SHIFT, %rbp
	add $G_STACK_BASE, %rbp	/* rbp = this vCPU's stack block */
	lea G_RSP0_TOP(%rbp), %rsp

	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_SCE, %eax
	wrmsr
	mov $MSR_STAR, %ecx
	xor %eax, %eax
	mov $((G_SEL_KDATA << 16) | G_SEL_KCODE), %edx /* user base 0x18: SYSRET SS 0x20, CS 0x28 */
	wrmsr
	mov $MSR_LSTAR, %ecx
	mov $syscall_entry, %eax
	xor %edx, %edx
	wrmsr
	mov $MSR_SFMASK, %ecx
	mov $G_SFMASK, %eax
	wrmsr

	mov %edi, %ebx
	shl $G_REPORT_SHIFT, %ebx
	movl $G_REPORT_READY, G_REPORT_BASE + G_REP_KIND(%rbx)
	mov $G_REPORT_READY, %eax
	mov $G_PORT_DOORBELL, %edx
	outl %eax, %dx

	/* IRETQ to bench_user_main(cpu, params) at CPL3, RSP as if called. */
	pushq $(G_SEL_UDATA | 3)
	lea (G_USER_TOP - 8)(%rbp), %rax
	push %rax
	pushq $G_RFLAGS_USER
	pushq $(G_SEL_UCODE | 3)
	pushq $bench_user_main
	iretq

stop:	hlt
	jmp stop

/*
 * SYSCALL from CPL3: RCX = user RIP, R11 = user RFLAGS, RSP still the user
 * stack (usable here too: no SMAP, and the CPL3 code keeps no red zone).
 * Returns with IRETQ: SYSRETQ triple-faults on kvm_pvm. The null syscall
 * is the measured round trip, so it is as short as can be.
 * In: rax = nr. Out: rax. Clobbers rcx, r10, r11.
 */
syscall_entry:
	test %eax, %eax
	jnz 1f
syscall_iret:
	mov %rsp, %r10
	pushq $(G_SEL_UDATA | 3)
	push %r10
	push %r11
	pushq $(G_SEL_UCODE | 3)
	push %rcx
	iretq

1:	cmp $G_SYS_CPL, %eax
	jne 2f
	mov %cs, %eax
	and $3, %eax
	jmp syscall_iret
2:	mov $-1, %rax
	jmp syscall_iret

/*
 * Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. The vCPU is known
 * from TR (each vCPU loaded its own TSS selector). Report and stop.
 */
fault_common:
	str %eax
	sub $G_SEL_TSS0, %eax
	shl $(G_REPORT_SHIFT - 4), %eax
	cmp $(G_MAX_CPUS << G_REPORT_SHIFT), %eax
	jb 1f
	xor %eax, %eax
1:	lea G_REPORT_BASE(%rax), %rbx
	popq G_REP_VECTOR(%rbx)
	popq G_REP_ERROR(%rbx)
	popq G_REP_RIP(%rbx)
	popq G_REP_CS(%rbx)
	mov %cr2, %rax
	mov %rax, G_REP_CR2(%rbx)
	movl $G_REPORT_FAULT, G_REP_KIND(%rbx)
	mov $G_REPORT_FAULT, %eax
	mov $G_PORT_DOORBELL, %edx
	outl %eax, %dx
	jmp stop

	.section .note.GNU-stack,"",@progbits
