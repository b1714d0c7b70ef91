/* SPDX-License-Identifier: MIT */
/*
 * Plugging a virtio device into the PC: a PCI slot, BAR 0 in the PCI MMIO
 * window, an ioeventfd on each queue's notify register, an MSI GSI and
 * irqfd per MSI-X vector, and the INTx line the ACPI _PRT names for the
 * slot.
 */
#ifndef NESTVMM_MACHINE_VIRTIO_H
#define NESTVMM_MACHINE_VIRTIO_H

#include "virtio/pci.h"

struct machine;

struct machine_virtio {
	struct machine *m;
	struct virtio_pci vp;
	unsigned int slot;
	unsigned int intx_gsi;
	unsigned int gsi[VIRTIO_PCI_MAX_VECTORS];
	int irqfd[VIRTIO_PCI_MAX_VECTORS];
};

/*
 * Attach @dev (filled in by its device model) behind a modern virtio-pci
 * transport. Returns 0 or -errno with *why set. The transport is torn down
 * (and the device reset) by machine_destroy(); the device itself stays the
 * caller's.
 */
int machine_add_virtio(struct machine *m, struct virtio_dev *dev, const char **why);

/* Reset and detach every virtio device (their threads stop). */
void machine_virtio_destroy_all(struct machine *m);

#endif
