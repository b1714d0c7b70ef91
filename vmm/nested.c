/* SPDX-License-Identifier: MIT */
/* nested.c: what of SVM/VMX the guest sees (--nested off|auto|on), and why. */
#include "vmm/nested.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/kvm.h"

int nested_parse_mode(const char *s, enum nested_mode *out)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "auto") == 0)
		*out = NESTED_AUTO;
	else if (strcmp(s, "off") == 0)
		*out = NESTED_OFF;
	else if (strcmp(s, "on") == 0)
		*out = NESTED_ON;
	else
		return -EINVAL;
	return 0;
}

const char *nested_mode_name(enum nested_mode mode)
{
	switch (mode) {
	case NESTED_OFF:
		return "off";
	case NESTED_ON:
		return "on";
	default:
		return "auto";
	}
}

const char *nested_kind_name(enum nested_kind kind)
{
	switch (kind) {
	case NESTED_SVM:
		return "SVM";
	case NESTED_VMX:
		return "VMX";
	default:
		return "none";
	}
}

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == 0)
			return &c->entries[i];
	return NULL;
}

void nested_host_from_cpuid(struct nested_host *h, const struct kvm_cpuid2 *supported)
{
	const struct kvm_cpuid_entry2 *v = find_leaf(supported, 0);
	const struct kvm_cpuid_entry2 *l1 = find_leaf(supported, 1);
	const struct kvm_cpuid_entry2 *e1 = find_leaf(supported, 0x80000001);
	const struct kvm_cpuid_entry2 *sv = find_leaf(supported, CPUID_SVM_LEAF);

	h->offered = NESTED_NONE;
	h->svm_rev = h->svm_asids = h->svm_features = 0;
	/* "AuthenticAMD" and "HygonGenuine": EBX holds "Auth" / "Hygo". */
	h->vendor_amd = v && (v->ebx == 0x68747541 || v->ebx == 0x6f677948);
	if (e1 && (e1->ecx & CPUID_80000001_ECX_SVM)) {
		h->offered = NESTED_SVM;
		if (sv) {
			h->svm_rev = sv->eax & 0xff;
			h->svm_asids = sv->ebx;
			h->svm_features = sv->edx;
		}
	} else if (l1 && (l1->ecx & CPUID_1_ECX_VMX)) {
		h->offered = NESTED_VMX;
	}
}

/* Whether the "flags" line of @path names @flag as a whole word. */
static bool cpuinfo_has_flag(const char *path, const char *flag)
{
	char line[8192];
	size_t n = strlen(flag);
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5) != 0 || !(p = strchr(line, ':')))
			continue;
		for (p++; (p = strstr(p, flag)); p += n)
			if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) {
				found = true;
				break;
			}
		break; /* every CPU has the same flags: the first line will do */
	}
	fclose(f);
	return found;
}

static int read_bool_param(const char *path)
{
	char v[8] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(v, sizeof(v), f))
		v[0] = '\0';
	fclose(f);
	if (v[0] == 'Y' || v[0] == 'y' || v[0] == '1')
		return 1;
	if (v[0] == 'N' || v[0] == 'n' || v[0] == '0')
		return 0;
	return -1;
}

void nested_host_probe(struct nested_host *h, const struct kvm *kvm, const char *sysroot)
{
	static const char *const modules[] = {"kvm_amd", "kvm_intel", "kvm_pvm"};
	char path[512];
	struct stat st;

	memset(h, 0, sizeof(*h));
	h->module_nested = -1;
	if (kvm->supported_cpuid)
		nested_host_from_cpuid(h, kvm->supported_cpuid);
	h->nested_state_size = kvm_check_cap(kvm, KVM_CAP_NESTED_STATE);

	snprintf(path, sizeof(path), "%s/proc/cpuinfo", sysroot);
	h->cpu_svm = cpuinfo_has_flag(path, "svm");
	h->cpu_vmx = cpuinfo_has_flag(path, "vmx");
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		snprintf(path, sizeof(path), "%s/sys/module/%s", sysroot, modules[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(h->module, sizeof(h->module), "%s", modules[i]);
			snprintf(path, sizeof(path), "%s/sys/module/%s/parameters/nested", sysroot,
				 modules[i]);
			h->module_nested = read_bool_param(path);
			break;
		}
	}
}

void nested_host_explain(const struct nested_host *h, char *buf, size_t len)
{
	const char *tech = h->cpu_svm ? "SVM" : "VMX";

	if (h->offered != NESTED_NONE)
		snprintf(buf, len, "the host's KVM offers %s", nested_kind_name(h->offered));
	else if (strcmp(h->module, "kvm_pvm") == 0)
		snprintf(buf, len, "/dev/kvm is kvm_pvm, a software-only KVM without SVM or VMX%s",
			 h->cpu_svm || h->cpu_vmx ? "" : " (the host CPU flags have neither)");
	else if (!h->cpu_svm && !h->cpu_vmx)
		snprintf(buf, len,
			 "the host CPU has neither SVM nor VMX (no svm/vmx flag in "
			 "/proc/cpuinfo)");
	else if (h->module[0] && h->module_nested == 0)
		snprintf(buf, len, "%s is loaded with nested=0 (reload it with nested=1)",
			 h->module);
	else
		snprintf(
		    buf, len,
		    "the host CPU has %s but KVM_GET_SUPPORTED_CPUID offers it to no guest%s%s",
		    tech, h->module[0] ? "; module " : "", h->module);
}

int nested_decide(enum nested_mode mode, const struct nested_host *h, struct nested_exposure *e,
		  char *why, size_t why_len)
{
	memset(e, 0, sizeof(*e));
	e->mode = mode;
	e->nested_state_size = h->nested_state_size;
	if (mode == NESTED_OFF)
		return 0;
	if (h->offered == NESTED_NONE) {
		nested_host_explain(h, e->none_why, sizeof(e->none_why));
		if (mode == NESTED_ON) {
			snprintf(why, why_len,
				 "--nested on: the guest cannot be given SVM or VMX: %s",
				 e->none_why);
			return -ENOTSUP;
		}
		return 0;
	}
	e->kind = h->offered;
	if (e->kind == NESTED_SVM) {
		e->svm_rev = h->svm_rev;
		e->svm_asids = h->svm_asids;
		e->svm_features = h->svm_features;
	}
	return 0;
}

void nested_apply_cpuid(struct kvm_cpuid2 *cpuid, const struct nested_exposure *e)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *c = &cpuid->entries[i];

		if (c->function == 1 && e->kind != NESTED_VMX)
			c->ecx &= ~CPUID_1_ECX_VMX;
		else if (c->function == 0x80000001 && e->kind != NESTED_SVM)
			c->ecx &= ~CPUID_80000001_ECX_SVM;
		else if (c->function == CPUID_SVM_LEAF && e->kind != NESTED_SVM)
			c->eax = c->ebx = c->ecx = c->edx = 0;
	}
}

static const struct {
	uint32_t bit;
	const char *name;
} svm_feature_names[] = {
    {SVM_FEAT_NPT, "NPT"},
    {SVM_FEAT_LBRV, "LBRV"},
    {SVM_FEAT_SVML, "SVML"},
    {SVM_FEAT_NRIPS, "NRIPS"},
    {SVM_FEAT_TSCRATE, "TSCRATE"},
    {SVM_FEAT_VMCBCLEAN, "VMCBCLEAN"},
    {SVM_FEAT_FLUSHBYASID, "FLUSHBYASID"},
    {SVM_FEAT_DECODEASSISTS, "DECODEASSISTS"},
    {SVM_FEAT_PAUSEFILTER, "PAUSEFILTER"},
    {SVM_FEAT_PFTHRESHOLD, "PFTHRESHOLD"},
    {SVM_FEAT_AVIC, "AVIC"},
    {SVM_FEAT_VLS, "VLS"},
    {SVM_FEAT_VGIF, "VGIF"},
    {SVM_FEAT_GMET, "GMET"},
    {SVM_FEAT_X2AVIC, "X2AVIC"},
    {SVM_FEAT_SSSCHECK, "SSSCHECK"},
    {SVM_FEAT_SPEC_CTRL, "SPEC_CTRL"},
    {SVM_FEAT_ROGPT, "ROGPT"},
    {SVM_FEAT_HOST_MCE, "HOST_MCE_OVERRIDE"},
    {SVM_FEAT_TLBICTL, "TLBICTL"},
    {SVM_FEAT_VNMI, "VNMI"},
    {SVM_FEAT_IBSVIRT, "IBSVIRT"},
    {SVM_FEAT_SVME_ADDR_CHK, "SVME_ADDR_CHK"},
};

const char *nested_svm_features_str(uint32_t features, char *buf, size_t len)
{
	size_t at = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(svm_feature_names) / sizeof(svm_feature_names[0]); i++) {
		int n;

		if (!(features & svm_feature_names[i].bit))
			continue;
		features &= ~svm_feature_names[i].bit;
		n = snprintf(buf + at, len > at ? len - at : 0, "%s%s", at ? " " : "",
			     svm_feature_names[i].name);
		if (n > 0)
			at += (size_t)n;
	}
	if (features) /* bits this table does not name yet */
		snprintf(buf + (at < len ? at : len), len > at ? len - at : 0, "%sother=0x%x",
			 at ? " " : "", features);
	return buf;
}

const char *nested_describe(const struct nested_exposure *e, char *buf, size_t len)
{
	char feats[320];
	char state[48] = "";

	if (e->nested_state_size > 0)
		snprintf(state, sizeof(state), "; nested state %d bytes", e->nested_state_size);
	switch (e->kind) {
	case NESTED_SVM:
		snprintf(buf, len, "SVM (%s): rev %u, %u ASIDs; %s%s", nested_mode_name(e->mode),
			 e->svm_rev, e->svm_asids,
			 nested_svm_features_str(e->svm_features, feats, sizeof(feats)), state);
		break;
	case NESTED_VMX:
		snprintf(buf, len, "VMX (%s): KVM's default VMX capability MSRs%s",
			 nested_mode_name(e->mode), state);
		break;
	default:
		if (e->mode == NESTED_OFF)
			snprintf(buf, len, "none (off: SVM and VMX hidden)");
		else
			snprintf(buf, len, "none (%s: %s)", nested_mode_name(e->mode),
				 e->none_why[0] ? e->none_why : "the host offers none");
		break;
	}
	return buf;
}
