/* SPDX-License-Identifier: MIT */
#include "vmm/msi.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define IOAPIC_PINS 24
#define PIC_IRQS    16

static struct kvm_irq_routing_entry *entry(struct msi_routes *r, unsigned int i)
{
	return &r->table->entries[i];
}

int msi_routes_init(struct msi_routes *r, int vm_fd)
{
	unsigned int n = 0;

	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->next_gsi = MSI_FIRST_GSI;
	r->table = calloc(1, sizeof(*r->table) + (PIC_IRQS + IOAPIC_PINS + MSI_MAX_ROUTES) *
						     sizeof(struct kvm_irq_routing_entry));
	if (!r->table)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);

	/* What KVM_CREATE_IRQCHIP installs: GSI i on both 8259s' pin i % 8 and IOAPIC pin i. */
	for (unsigned int gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi < PIC_IRQS) {
			*entry(r, n++) = (struct kvm_irq_routing_entry){
			    .gsi = gsi,
			    .type = KVM_IRQ_ROUTING_IRQCHIP,
			    .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							     : KVM_IRQCHIP_PIC_SLAVE,
					  .pin = gsi % 8},
			};
		}
		*entry(r, n++) = (struct kvm_irq_routing_entry){
		    .gsi = gsi,
		    .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
		};
	}
	r->nr_defaults = n;
	r->table->nr = n;
	return 0;
}

void msi_routes_destroy(struct msi_routes *r)
{
	if (!r->table)
		return;
	free(r->table);
	r->table = NULL;
	pthread_mutex_destroy(&r->lock);
}

int msi_vector_alloc(struct msi_routes *r, unsigned int *gsi, int *irqfd)
{
	struct kvm_irqfd req = {0};
	int fd, ret = 0;

	pthread_mutex_lock(&r->lock);
	if (r->next_gsi - MSI_FIRST_GSI >= MSI_MAX_ROUTES) {
		ret = -ENOSPC;
		goto out;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/*
	 * The GSI has no route until the guest programs its message: a write
	 * to the irqfd before that interrupts nobody.
	 */
	req.fd = (uint32_t)fd;
	req.gsi = r->next_gsi;
	if (ioctl(r->vm_fd, KVM_IRQFD, &req) < 0) {
		ret = -errno;
		close(fd);
		goto out;
	}
	*gsi = r->next_gsi++;
	*irqfd = fd;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int msi_vector_route(struct msi_routes *r, unsigned int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry e = {
	    .gsi = gsi,
	    .type = KVM_IRQ_ROUTING_MSI,
	    .u.msi = {.address_lo = (uint32_t)addr,
		      .address_hi = (uint32_t)(addr >> 32),
		      .data = data},
	};
	unsigned int i;
	int ret = 0;

	if (gsi < MSI_FIRST_GSI)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (gsi >= r->next_gsi) {
		ret = -EINVAL;
		goto out;
	}
	for (i = r->nr_defaults; i < r->table->nr; i++)
		if (entry(r, i)->gsi == gsi)
			break;
	if (i == r->table->nr)
		r->table->nr++;
	*entry(r, i) = e;
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, r->table) < 0)
		ret = -errno;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}
