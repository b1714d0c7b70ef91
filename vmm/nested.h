/* SPDX-License-Identifier: MIT */
/*
 * Nested virtualization for the guest: what of SVM/VMX the host's KVM can
 * give (struct nested_host, gathered once), what `--nested off|auto|on`
 * decides to show the guest (struct nested_exposure), and the CPUID edits
 * that carry it out.
 *
 * off  hides every trace of SVM and VMX (CPUID 0x80000001 ECX.SVM, leaf
 *      0x8000000A, CPUID.1 ECX.VMX): KVM then refuses EFER.SVME and VMXON.
 * auto (default) shows exactly what KVM_GET_SUPPORTED_CPUID offers.
 * on   the same, but it is an error when KVM offers nothing, with one line
 *      saying why (no SVM/VMX in the host CPU, kvm_amd/kvm_intel loaded
 *      with nested=0, a software-only KVM such as kvm_pvm).
 */
#ifndef NESTVMM_NESTED_H
#define NESTVMM_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_cpuid2;
struct kvm;

enum nested_mode { NESTED_AUTO = 0, NESTED_OFF, NESTED_ON };
enum nested_kind { NESTED_NONE = 0, NESTED_SVM, NESTED_VMX };

/* CPUID bits (AMD APM vol. 3 appendix E; Intel SDM vol. 2A, CPUID). */
#define CPUID_80000001_ECX_SVM (1U << 2)
#define CPUID_1_ECX_VMX	       (1U << 5)
#define CPUID_SVM_LEAF	       0x8000000Au

/* CPUID 0x8000000A EDX: the SVM features (AMD APM vol. 3, E.4.9). */
#define SVM_FEAT_NPT	       (1U << 0)
#define SVM_FEAT_LBRV	       (1U << 1)
#define SVM_FEAT_SVML	       (1U << 2)
#define SVM_FEAT_NRIPS	       (1U << 3)
#define SVM_FEAT_TSCRATE       (1U << 4)
#define SVM_FEAT_VMCBCLEAN     (1U << 5)
#define SVM_FEAT_FLUSHBYASID   (1U << 6)
#define SVM_FEAT_DECODEASSISTS (1U << 7)
#define SVM_FEAT_PAUSEFILTER   (1U << 10)
#define SVM_FEAT_PFTHRESHOLD   (1U << 12)
#define SVM_FEAT_AVIC	       (1U << 13)
#define SVM_FEAT_VLS	       (1U << 15)
#define SVM_FEAT_VGIF	       (1U << 16)
#define SVM_FEAT_GMET	       (1U << 17)
#define SVM_FEAT_X2AVIC	       (1U << 18)
#define SVM_FEAT_SSSCHECK      (1U << 19)
#define SVM_FEAT_SPEC_CTRL     (1U << 20)
#define SVM_FEAT_ROGPT	       (1U << 21)
#define SVM_FEAT_HOST_MCE      (1U << 23)
#define SVM_FEAT_TLBICTL       (1U << 24)
#define SVM_FEAT_VNMI	       (1U << 25)
#define SVM_FEAT_IBSVIRT       (1U << 26)
#define SVM_FEAT_SVME_ADDR_CHK (1U << 28)

/* What the host can give; facts only, so that nested_decide() is pure. */
struct nested_host {
	enum nested_kind offered; /* what KVM_GET_SUPPORTED_CPUID shows guests */
	bool vendor_amd;	  /* CPUID 0 vendor: AuthenticAMD or HygonGenuine */
	/* leaf 0x8000000A as KVM reports it (zero when SVM is not offered) */
	uint32_t svm_rev, svm_asids, svm_features;
	bool cpu_svm, cpu_vmx; /* the host kernel's CPU flags (/proc/cpuinfo) */
	char module[16];       /* the KVM vendor module loaded: kvm_amd, kvm_intel, kvm_pvm, "" */
	int module_nested;     /* its "nested" parameter: 1, 0, or -1 when unknown */
	int nested_state_size; /* KVM_CAP_NESTED_STATE: the largest nested state, 0 if none */
};

/* What the guest is shown. */
struct nested_exposure {
	enum nested_mode mode;
	enum nested_kind kind;
	uint32_t svm_rev, svm_asids, svm_features; /* kind == NESTED_SVM */
	int nested_state_size;			   /* for a later snapshot; read, not used */
	char none_why[160]; /* kind == NESTED_NONE in auto: why the host offers none */
};

/* "off", "auto", "on"; 0 or -EINVAL. */
int nested_parse_mode(const char *s, enum nested_mode *out);
const char *nested_mode_name(enum nested_mode mode);
const char *nested_kind_name(enum nested_kind kind);

/* The CPUID half of the facts: what KVM offers and the vendor. */
void nested_host_from_cpuid(struct nested_host *h, const struct kvm_cpuid2 *supported);

/*
 * All the facts: nested_host_from_cpuid() on KVM's supported CPUID, plus the
 * host's CPU flags, the loaded vendor module and its nested parameter, read
 * below @sysroot ("" for the real /proc and /sys; tests pass a fake tree).
 */
void nested_host_probe(struct nested_host *h, const struct kvm *kvm, const char *sysroot);

/* One line saying why @h offers no nesting (when h->offered is NESTED_NONE). */
void nested_host_explain(const struct nested_host *h, char *buf, size_t len);

/*
 * Decide what the guest sees. 0, or -ENOTSUP when @mode is on and the host
 * offers nothing (@why then says why, e.g. "--nested on: ... kvm_amd is
 * loaded with nested=0").
 */
int nested_decide(enum nested_mode mode, const struct nested_host *h, struct nested_exposure *e,
		  char *why, size_t why_len);

/* Edit one vCPU's CPUID (a copy of KVM's supported set) to show exactly @e. */
void nested_apply_cpuid(struct kvm_cpuid2 *cpuid, const struct nested_exposure *e);

/*
 * One line for --stats and the bench header, e.g. "SVM (auto): rev 1, 8
 * ASIDs; NPT NRIPS VMCBCLEAN ...; nested state 8320 bytes" or "none (off:
 * SVM and VMX hidden)". Returns @buf.
 */
const char *nested_describe(const struct nested_exposure *e, char *buf, size_t len);

/* The names of the SVM feature bits set in @features, space-separated, into @buf. */
const char *nested_svm_features_str(uint32_t features, char *buf, size_t len);

#endif
