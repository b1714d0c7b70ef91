/* SPDX-License-Identifier: MIT */
/*
 * Names of the hardware exit codes KVM reports in its kvm:kvm_exit trace
 * event: the VMX basic exit reasons (Intel SDM vol. 3, appendix C) and the
 * SVM exit codes (AMD APM vol. 2, appendix C). Pure tables, no state.
 *
 * The names are short and uppercase, spelled as in the kernel's
 * EXIT_REASON_* and SVM_EXIT_* macros without the prefix (CPUID, HLT,
 * IO_INSTRUCTION, EPT_VIOLATION; VMMCALL, IOIO, MSR, NPF), so that a table
 * printed by nestvmm reads like arch/x86/include/uapi/asm/{vmx,svm}.h.
 *
 * "hw_": these are the hardware's exit codes, not the KVM_EXIT_* reasons of
 * a userspace exit (exit_reason_name() in exit_stats.h).
 */
#ifndef NESTVMM_EXIT_REASONS_H
#define NESTVMM_EXIT_REASONS_H

#include <stddef.h>
#include <stdint.h>

/* The values of kvm_exit's "isa" field: KVM_ISA_VMX, KVM_ISA_SVM in arch/x86/kvm/trace.h. */
enum exit_isa {
	EXIT_ISA_VMX = 1,
	EXIT_ISA_SVM = 2,
};

/* SVM exit codes 0x40..0x5f: an intercepted exception, vector = code - 0x40. */
#define SVM_EXCP_FIRST 0x40u
#define SVM_EXCP_LAST  0x5fu

/* "VMX", "SVM", or NULL for another value. */
const char *exit_isa_name(enum exit_isa isa);

/*
 * Name of exit @code under @isa, a static string, or NULL when the code is
 * not one the manuals (or KVM's own SEV-ES extensions) define; the caller
 * then prints it in hex. For VMX only the basic exit reason (bits 15:0)
 * names the exit: the flag bits above it (bit 31, VM-entry failure; bit 27,
 * exit from enclave mode...) are ignored here. SVM's exception intercepts
 * are "EXCP_PF" for 0x4e (see exception_vector_name()); SVM_EXIT_ERR (-1,
 * 0xffffffff in the u32 trace field) is "ERR".
 */
const char *hw_exit_reason_name(enum exit_isa isa, uint32_t code);

/*
 * The mnemonic of exception @vector (0..31) as the SDM and APM write it
 * without the '#': "DE", "PF", "GP", "XM"...; "NMI" for vector 2; NULL for
 * a reserved vector or one above 31.
 */
const char *exception_vector_name(unsigned int vector);

/*
 * Write hw_exit_reason_name() into @buf, or "0x%x" of @code when it has none;
 * returns @buf. @len of 16 always fits the hex form.
 */
const char *hw_exit_reason_format(enum exit_isa isa, uint32_t code, char *buf, size_t len);

#endif
