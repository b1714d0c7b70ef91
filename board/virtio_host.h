/* SPDX-License-Identifier: MIT */
/*
 * Where virtio devices plug into a VM: each gets a PCI slot, BAR 0 in a
 * PCI MMIO window, an ioeventfd on each queue's notify register (unbound
 * while a running device's BAR does not decode), an MSI GSI
 * and irqfd per MSI-X vector, and the INTx line the ACPI _PRT names for its
 * slot. `nestvmm run`'s PC (board/machine.c) and the bench VM both use it.
 */
#ifndef NESTVMM_VIRTIO_HOST_H
#define NESTVMM_VIRTIO_HOST_H

#include <stdint.h>

#include "devices/pci.h"
#include "virtio/pci.h"
#include "vmm/msi.h"

struct vm;

#define VIRTIO_HOST_MAX_DEVS 16

struct virtio_host_dev {
	struct virtio_host *host;
	struct virtio_pci vp;
	unsigned int slot;
	unsigned int intx_gsi;
	unsigned int gsi[VIRTIO_PCI_MAX_VECTORS];
	int irqfd[VIRTIO_PCI_MAX_VECTORS];
	unsigned int notify_len;	      /* the ioeventfds' write size: 0 = any */
	bool notify_bound[VIRTIO_MAX_QUEUES]; /* see struct virtio_pci_platform.bind_kicks */
};

struct virtio_host {
	struct vm *vm;
	struct pci_bus *pci;
	struct msi_routes msi;
	unsigned int next_slot;
	uint64_t mmio_next, mmio_end; /* free part of the PCI MMIO window */
	struct virtio_host_dev *devs[VIRTIO_HOST_MAX_DEVS];
	unsigned int nr_devs;
};

/*
 * Devices go into @pci's slots from 1 and their BARs into [mmio_base,
 * mmio_base + mmio_size). Returns 0 or -errno.
 */
int virtio_host_init(struct virtio_host *h, struct vm *vm, struct pci_bus *pci, uint64_t mmio_base,
		     uint64_t mmio_size);

/*
 * Attach @dev (filled in by its device model) behind a modern virtio-pci
 * transport. Returns 0 or -errno with *why set. The transport is torn down
 * (and the device reset, its threads stopped) by virtio_host_destroy(); the
 * device itself stays the caller's.
 */
int virtio_host_add(struct virtio_host *h, struct virtio_dev *dev, const char **why);

void virtio_host_destroy(struct virtio_host *h);

#endif
