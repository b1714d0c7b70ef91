/* SPDX-License-Identifier: MIT */
/*
 * The bench hypervisor's VMRUN stubs and the inner guest's code.
 *
 * VMRUN loads the inner guest's RAX, RSP and RIP from the VMCB; every other
 * general register passes through both ways. So the stubs keep the
 * callee-saved registers (and their own arguments) on the stack, which the
 * #VMEXIT gives back with the host's RSP from the host save area, and the
 * inner guest hands its TSC stamps over in r8 and r9.
 */
	.text

	.macro save_callee_saved
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	.endm

	.macro restore_callee_saved
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	.endm

/* void svm_vmrun(uint64_t vmcb_pa) */
	.globl svm_vmrun
svm_vmrun:
	save_callee_saved
	mov %rdi, %rax
	vmrun %rax
	restore_callee_saved
	ret

/* void svm_vmrun_timed(uint64_t vmcb_pa, struct svm_stamps *st) */
	.globl svm_vmrun_timed
svm_vmrun_timed:
	save_callee_saved
	push %rsi
	mov %rdi, %rcx
	lfence
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 0(%rsi)	/* before */
	mov %rcx, %rax
	vmrun %rax
	rdtsc
	lfence
	shl $32, %rdx
	or %rdx, %rax
	pop %rsi
	mov %rax, 8(%rsi)	/* after */
	mov %r8, 16(%rsi)	/* g_entry */
	mov %r9, 24(%rsi)	/* g_exit */
	restore_callee_saved
	ret

/* Inner guest code: CPL0, 64-bit, no stack use. Each loops forever; the hypervisor stops VMRUNning. */
	.globl svm_inner_cpuid
svm_inner_cpuid:
	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	jmp svm_inner_cpuid

	.globl svm_inner_stamped
svm_inner_stamped:
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r8		/* the first thing after VMRUN */
	lfence
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r9		/* the last thing before VMMCALL */
	vmmcall
	jmp svm_inner_stamped

	.globl svm_inner_vmmcall
svm_inner_vmmcall:
	vmmcall
	jmp svm_inner_vmmcall

	.section .note.GNU-stack,"",@progbits
