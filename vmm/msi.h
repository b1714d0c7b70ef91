/* SPDX-License-Identifier: MIT */
/*
 * MSI delivery through the in-kernel irqchip: each MSI source gets a GSI of
 * its own above the IOAPIC's pins, routed with KVM_SET_GSI_ROUTING to the
 * address/data pair the guest programmed, and an irqfd, so a device thread
 * interrupts the guest with one eventfd write and no VMM exit.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so the table kept here
 * always starts with the default routes of the 8259 pair and the IOAPIC
 * (GSI 0-23) that KVM_CREATE_IRQCHIP had installed.
 */
#ifndef NESTVMM_MSI_H
#define NESTVMM_MSI_H

#include <pthread.h>
#include <stdint.h>

#define MSI_FIRST_GSI  24 /* after the IOAPIC's 24 pins */
#define MSI_MAX_ROUTES 1024

struct kvm_irq_routing;

struct msi_routes {
	pthread_mutex_t lock;
	int vm_fd;
	struct kvm_irq_routing *table; /* the defaults, then one entry per MSI GSI */
	unsigned int nr_defaults;
	unsigned int next_gsi;
};

/* Build the default table; installs nothing yet. Returns 0 or -errno. */
int msi_routes_init(struct msi_routes *r, int vm_fd);
void msi_routes_destroy(struct msi_routes *r);

/*
 * A new MSI GSI and an eventfd bound to it with KVM_IRQFD (writing the
 * eventfd interrupts the guest once routed). Returns 0 or -errno.
 */
int msi_vector_alloc(struct msi_routes *r, unsigned int *gsi, int *irqfd);

/* Route @gsi to the message @addr/@data and install the table. */
int msi_vector_route(struct msi_routes *r, unsigned int gsi, uint64_t addr, uint32_t data);

#endif
