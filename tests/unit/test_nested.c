/* SPDX-License-Identifier: MIT */
/*
 * --nested off|auto|on: the facts taken from KVM's supported CPUID and a
 * fake /proc + /sys tree, the decision, and the CPUID the guest ends up
 * with. Bit positions from the AMD APM vol. 3 (CPUID Fn8000_0001 ECX bit 2,
 * Fn8000_000A) and the Intel SDM vol. 2A (CPUID.1:ECX bit 5).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "vmm/kvm.h"
#include "vmm/nested.h"

#define AMD_EBX	  0x68747541u /* "Auth" */
#define INTEL_EBX 0x756e6547u /* "Genu" */
/* Every bit of leaf 1 ECX and 0x80000001 ECX set: only the nesting bit may go. */
#define ALL_ONES 0xffffffffu

static struct kvm_cpuid2 *make_cpuid(uint32_t vendor_ebx, bool svm, bool vmx)
{
	const struct kvm_cpuid_entry2 ents[] = {
	    {.function = 0, .eax = 0x10, .ebx = vendor_ebx, .ecx = 1, .edx = 2},
	    {.function = 1,
	     .eax = 0xa20f10,
	     .ebx = 0x800,
	     .ecx = vmx ? ALL_ONES : ~CPUID_1_ECX_VMX,
	     .edx = 0x178bfbff},
	    {.function = 0x80000001,
	     .eax = 0xa20f10,
	     .ecx = svm ? ALL_ONES : ~CPUID_80000001_ECX_SVM,
	     .edx = 0x2fd3fbff},
	    {.function = CPUID_SVM_LEAF, .eax = 1, .ebx = 8, .ecx = 0, .edx = svm ? 0x1ebbfu : 0},
	    {.function = 0x80000008, .eax = 0x3030},
	};
	size_t n = sizeof(ents) / sizeof(ents[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(ents[0]));

	assert_non_null(c);
	c->nent = (uint32_t)n;
	memcpy(c->entries, ents, sizeof(ents));
	return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	fail_msg("leaf 0x%x missing", fn);
	return NULL;
}

static void test_parse_mode(void **state)
{
	enum nested_mode m = NESTED_AUTO;

	(void)state;
	assert_int_equal(nested_parse_mode("off", &m), 0);
	assert_int_equal(m, NESTED_OFF);
	assert_int_equal(nested_parse_mode("on", &m), 0);
	assert_int_equal(m, NESTED_ON);
	assert_int_equal(nested_parse_mode("auto", &m), 0);
	assert_int_equal(m, NESTED_AUTO);
	m = NESTED_ON;
	assert_int_equal(nested_parse_mode("", &m), -EINVAL);
	assert_int_equal(nested_parse_mode("ON", &m), -EINVAL);
	assert_int_equal(nested_parse_mode("on ", &m), -EINVAL);
	assert_int_equal(nested_parse_mode("yes", &m), -EINVAL);
	assert_int_equal(nested_parse_mode(NULL, &m), -EINVAL);
	assert_int_equal(m, NESTED_ON); /* untouched by every failure */
	assert_string_equal(nested_mode_name(NESTED_OFF), "off");
	assert_string_equal(nested_mode_name(NESTED_ON), "on");
	assert_string_equal(nested_mode_name(NESTED_AUTO), "auto");
}

static void test_host_from_cpuid(void **state)
{
	struct nested_host h;
	struct kvm_cpuid2 *c;

	(void)state;
	c = make_cpuid(AMD_EBX, true, false);
	nested_host_from_cpuid(&h, c);
	assert_int_equal(h.offered, NESTED_SVM);
	assert_true(h.vendor_amd);
	assert_int_equal(h.svm_rev, 1);
	assert_int_equal(h.svm_asids, 8);
	assert_int_equal(h.svm_features, 0x1ebbf);
	free(c);

	c = make_cpuid(INTEL_EBX, false, true);
	nested_host_from_cpuid(&h, c);
	assert_int_equal(h.offered, NESTED_VMX);
	assert_false(h.vendor_amd);
	assert_int_equal(h.svm_features, 0);
	free(c);

	c = make_cpuid(AMD_EBX, false, false);
	nested_host_from_cpuid(&h, c);
	assert_int_equal(h.offered, NESTED_NONE);
	free(c);
}

/* auto copies exactly what KVM offers; every other bit stays as KVM gave it. */
static void test_auto_copies_kvm(void **state)
{
	struct nested_host h;
	struct nested_exposure e;
	struct kvm_cpuid2 *c = make_cpuid(AMD_EBX, true, false);
	char why[256] = "";
	char desc[512];

	(void)state;
	nested_host_from_cpuid(&h, c);
	assert_int_equal(nested_decide(NESTED_AUTO, &h, &e, why, sizeof(why)), 0);
	assert_int_equal(e.kind, NESTED_SVM);
	assert_int_equal(e.svm_features, 0x1ebbf);
	nested_apply_cpuid(c, &e);
	assert_int_equal(leaf(c, 0x80000001)->ecx, ALL_ONES);
	assert_int_equal(leaf(c, CPUID_SVM_LEAF)->edx, 0x1ebbf);
	assert_int_equal(leaf(c, CPUID_SVM_LEAF)->ebx, 8);
	assert_int_equal(leaf(c, 1)->ecx & CPUID_1_ECX_VMX, 0);
	nested_describe(&e, desc, sizeof(desc));
	assert_non_null(strstr(desc, "SVM (auto): rev 1, 8 ASIDs"));
	assert_non_null(strstr(desc, "NPT"));
	assert_non_null(strstr(desc, "NRIPS"));
	assert_non_null(strstr(desc, "VMCBCLEAN"));
	assert_non_null(strstr(desc, "VGIF"));
	assert_null(strstr(desc, "FLUSHBYASID")); /* bit 6 is not in 0x1ebbf */
	free(c);
}

/* off removes SVM and VMX and the whole SVM leaf, and nothing else. */
static void test_off_clears_everything(void **state)
{
	struct nested_host h;
	struct nested_exposure e;
	char why[256] = "";
	char desc[256];

	(void)state;
	for (int vendor = 0; vendor < 2; vendor++) {
		struct kvm_cpuid2 *c = make_cpuid(vendor ? INTEL_EBX : AMD_EBX, true, true);

		nested_host_from_cpuid(&h, c);
		assert_int_equal(nested_decide(NESTED_OFF, &h, &e, why, sizeof(why)), 0);
		assert_int_equal(e.kind, NESTED_NONE);
		nested_apply_cpuid(c, &e);
		assert_int_equal(leaf(c, 1)->ecx, ALL_ONES & ~CPUID_1_ECX_VMX);
		assert_int_equal(leaf(c, 0x80000001)->ecx, ALL_ONES & ~CPUID_80000001_ECX_SVM);
		assert_int_equal(leaf(c, CPUID_SVM_LEAF)->eax, 0);
		assert_int_equal(leaf(c, CPUID_SVM_LEAF)->ebx, 0);
		assert_int_equal(leaf(c, CPUID_SVM_LEAF)->ecx, 0);
		assert_int_equal(leaf(c, CPUID_SVM_LEAF)->edx, 0);
		/* the rest untouched */
		assert_int_equal(leaf(c, 1)->edx, 0x178bfbff);
		assert_int_equal(leaf(c, 0x80000001)->edx, 0x2fd3fbff);
		assert_int_equal(leaf(c, 0x80000008)->eax, 0x3030);
		assert_int_equal(leaf(c, 0)->ebx, vendor ? INTEL_EBX : AMD_EBX);
		free(c);
	}
	nested_describe(&e, desc, sizeof(desc));
	assert_string_equal(desc, "none (off: SVM and VMX hidden)");
}

/* VMX offered: auto keeps VMX and still hides any SVM leaf. */
static void test_auto_vmx(void **state)
{
	struct nested_host h;
	struct nested_exposure e;
	struct kvm_cpuid2 *c = make_cpuid(INTEL_EBX, false, true);
	char why[256] = "";

	(void)state;
	nested_host_from_cpuid(&h, c);
	assert_int_equal(nested_decide(NESTED_ON, &h, &e, why, sizeof(why)), 0);
	assert_int_equal(e.kind, NESTED_VMX);
	nested_apply_cpuid(c, &e);
	assert_int_equal(leaf(c, 1)->ecx, ALL_ONES);
	assert_int_equal(leaf(c, CPUID_SVM_LEAF)->edx, 0);
	free(c);
}

/* A fake /proc and /sys below a temporary root, for nested_host_probe(). */
struct fake_root {
	char dir[64];
};

static void write_file(const char *root, const char *rel, const char *text)
{
	char path[512];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_root(struct fake_root *r, const char *flags, const char *module,
		      const char *nested)
{
	char rel[128];
	char cpuinfo[512];

	snprintf(r->dir, sizeof(r->dir), "/tmp/nestvmm-test-nested-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(cpuinfo, sizeof(cpuinfo),
		 "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme %s lm\n\n"
		 "processor\t: 1\nflags\t\t: fpu vme %s lm\n",
		 flags, flags);
	write_file(r->dir, "proc/cpuinfo", cpuinfo);
	if (module) {
		snprintf(rel, sizeof(rel), "sys/module/%s/parameters/nested", module);
		write_file(r->dir, rel, nested ? nested : "");
	}
}

static void remove_root(struct fake_root *r)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	assert_int_equal(system(cmd), 0);
}

/* Probe with KVM's CPUID offering nothing, and explain why. */
static void probe_none(const char *flags, const char *module, const char *nested, char *why,
		       size_t len, int *rc)
{
	struct fake_root root;
	struct kvm kvm = {.fd = -1};
	struct nested_host h;
	struct nested_exposure e;

	make_root(&root, flags, module, nested);
	kvm.supported_cpuid = make_cpuid(AMD_EBX, false, false);
	nested_host_probe(&h, &kvm, root.dir);
	assert_int_equal(h.offered, NESTED_NONE);
	assert_int_equal(h.nested_state_size, 0); /* fd -1: no capability */
	*rc = nested_decide(NESTED_ON, &h, &e, why, len);
	/* auto never fails; it records the same reason for --stats */
	assert_int_equal(nested_decide(NESTED_AUTO, &h, &e, NULL, 0), 0);
	assert_int_equal(e.kind, NESTED_NONE);
	assert_non_null(strstr(why, e.none_why));
	free(kvm.supported_cpuid);
	remove_root(&root);
}

static void test_on_fails_with_reason(void **state)
{
	char why[256];
	int rc;

	(void)state;
	probe_none("sse2 svm_lock", "kvm_pvm", NULL, why, sizeof(why), &rc);
	assert_int_equal(rc, -ENOTSUP);
	assert_non_null(strstr(why, "--nested on: "));
	assert_non_null(strstr(why, "kvm_pvm"));
	assert_non_null(strstr(why, "the host CPU flags have neither")); /* svm_lock is not svm */

	probe_none("sse2 svm", "kvm_amd", "0\n", why, sizeof(why), &rc);
	assert_int_equal(rc, -ENOTSUP);
	assert_non_null(strstr(why, "kvm_amd is loaded with nested=0"));

	probe_none("sse2 vmx", "kvm_intel", "N\n", why, sizeof(why), &rc);
	assert_int_equal(rc, -ENOTSUP);
	assert_non_null(strstr(why, "kvm_intel is loaded with nested=0"));

	probe_none("sse2 avx", NULL, NULL, why, sizeof(why), &rc);
	assert_int_equal(rc, -ENOTSUP);
	assert_non_null(strstr(why, "neither SVM nor VMX"));

	/* the CPU has it, the module says nested=1, and KVM still offers none */
	probe_none("svm sse2", "kvm_amd", "1\n", why, sizeof(why), &rc);
	assert_int_equal(rc, -ENOTSUP);
	assert_non_null(strstr(why, "has SVM but KVM_GET_SUPPORTED_CPUID offers it to no guest"));
}

static void test_probe_offered(void **state)
{
	struct fake_root root;
	struct kvm kvm = {.fd = -1};
	struct nested_host h;

	(void)state;
	make_root(&root, "svm npt", "kvm_amd", "1\n");
	kvm.supported_cpuid = make_cpuid(AMD_EBX, true, false);
	nested_host_probe(&h, &kvm, root.dir);
	assert_int_equal(h.offered, NESTED_SVM);
	assert_true(h.cpu_svm);
	assert_false(h.cpu_vmx);
	assert_string_equal(h.module, "kvm_amd");
	assert_int_equal(h.module_nested, 1);
	free(kvm.supported_cpuid);
	remove_root(&root);
}

static void test_features_str(void **state)
{
	char buf[320];

	(void)state;
	assert_string_equal(nested_svm_features_str(0, buf, sizeof(buf)), "");
	assert_string_equal(
	    nested_svm_features_str(SVM_FEAT_NPT | SVM_FEAT_NRIPS, buf, sizeof(buf)), "NPT NRIPS");
	assert_string_equal(nested_svm_features_str((1U << 31) | SVM_FEAT_VGIF, buf, sizeof(buf)),
			    "VGIF other=0x80000000");
	/* truncation stays terminated */
	nested_svm_features_str(0xffffffffu, buf, 8);
	assert_true(strlen(buf) < 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_mode),	    cmocka_unit_test(test_host_from_cpuid),
	    cmocka_unit_test(test_auto_copies_kvm), cmocka_unit_test(test_off_clears_everything),
	    cmocka_unit_test(test_auto_vmx),	    cmocka_unit_test(test_on_fails_with_reason),
	    cmocka_unit_test(test_probe_offered),   cmocka_unit_test(test_features_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
