/* SPDX-License-Identifier: MIT */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct required_cap {
	int cap;
	const char *name;
};

/* Everything the VM set-up and the hot path depend on. */
static const struct required_cap required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
};

int kvm_check_cap(const struct kvm *kvm, int cap)
{
	int r = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int kvm_get_supported_cpuid(struct kvm *kvm)
{
	/* Grow until KVM stops saying E2BIG. */
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->supported_cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

int kvm_open(struct kvm *kvm, const char *path, const char **why)
{
	static char msg[160];
	int api, r;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		r = -errno;
		snprintf(msg, sizeof(msg), "cannot open %s: %s%s", path, strerror(errno),
			 errno == ENOENT   ? " (is the kvm module loaded?)"
			 : errno == EACCES ? " (are you root or in the kvm group?)"
					   : "");
		*why = msg;
		return r;
	}
	api = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(msg, sizeof(msg), "%s: KVM API version %d, need %d", path, api,
			 KVM_API_VERSION);
		*why = msg;
		r = -ENOTSUP;
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (!kvm_check_cap(kvm, required_caps[i].cap)) {
			snprintf(msg, sizeof(msg), "%s: KVM lacks required capability %s", path,
				 required_caps[i].name);
			*why = msg;
			r = -ENOTSUP;
			goto fail;
		}
	}
	r = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		snprintf(msg, sizeof(msg), "%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
		*why = msg;
		r = -EIO;
		goto fail;
	}
	kvm->run_size = (size_t)r;
	r = kvm_get_supported_cpuid(kvm);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: KVM_GET_SUPPORTED_CPUID failed: %s", path,
			 strerror(-r));
		*why = msg;
		goto fail;
	}
	kvm->has_stats_fd = kvm_check_cap(kvm, KVM_CAP_BINARY_STATS_FD);
	kvm->has_user_msr = kvm_check_cap(kvm, KVM_CAP_X86_USER_SPACE_MSR);
	kvm->has_msr_filter = kvm_check_cap(kvm, KVM_CAP_X86_MSR_FILTER);
	kvm->has_coalesced_pio = kvm_check_cap(kvm, KVM_CAP_COALESCED_PIO);
	kvm->has_coalesced_mmio = kvm_check_cap(kvm, KVM_CAP_COALESCED_MMIO);
	kvm->has_tsc_deadline = kvm_check_cap(kvm, KVM_CAP_TSC_DEADLINE_TIMER);
	kvm->has_x2apic_api = kvm_check_cap(kvm, KVM_CAP_X2APIC_API);
	kvm->has_tsc_control = kvm_check_cap(kvm, KVM_CAP_TSC_CONTROL);
	return 0;
fail:
	close(kvm->fd);
	kvm->fd = -1;
	return r;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	free(kvm->supported_cpuid);
	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = -1;
}
