/* SPDX-License-Identifier: MIT */
#include "board/virtio_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loader/acpi.h"
#include "vmm/vm.h"

static int hd_msi_route(void *ctx, unsigned int vec, uint64_t addr, uint32_t data)
{
	struct virtio_host_dev *hd = ctx;

	return msi_vector_route(&hd->host->msi, hd->gsi[vec], addr, data);
}

static void hd_msi_fire(void *ctx, unsigned int vec)
{
	struct virtio_host_dev *hd = ctx;

	eventfd_write(hd->irqfd[vec], 1);
}

static void hd_intx(void *ctx, int level)
{
	struct virtio_host_dev *hd = ctx;

	vm_irq_line(hd->host->vm, hd->intx_gsi, level);
}

static char host_why[160];

static int fail(const char **why, const struct virtio_dev *dev, const char *what, int r)
{
	snprintf(host_why, sizeof(host_why), "cannot attach %s: %s: %s", dev->name, what,
		 strerror(-r));
	*why = host_why;
	return r;
}

/*
 * Bind every queue's notify register to its kick eventfd before the guest
 * runs: any write size if KVM can, else Linux's 16 bits (found on queue 0).
 */
static int bind_all_kicks(struct virtio_host_dev *hd)
{
	struct virtio_dev *dev = hd->vp.dev;
	int r;

	hd->notify_len = 0;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		uint64_t addr = virtio_pci_notify_addr(&hd->vp, q);

		r = vm_add_ioeventfd(hd->host->vm, false, addr, hd->notify_len, dev->kick_fd[q]);
		if (r == -EINVAL && q == 0) {
			hd->notify_len = 2;
			r = vm_add_ioeventfd(hd->host->vm, false, addr, 2, dev->kick_fd[q]);
		}
		if (r < 0)
			return r;
		hd->notify_bound[q] = true;
	}
	return 0;
}

/*
 * The transport's bind_kicks: a running device's BAR stopped or started
 * decoding. A bind that fails leaves that queue's kicks on the slow path
 * (an MMIO exit into notify_write, counted in --stats), which is still
 * correct; an unbind cannot fail for a bound fd.
 */
static void hd_bind_kicks(void *ctx, bool on)
{
	struct virtio_host_dev *hd = ctx;
	struct virtio_dev *dev = hd->vp.dev;

	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		uint64_t addr = virtio_pci_notify_addr(&hd->vp, q);

		if (on && !hd->notify_bound[q])
			hd->notify_bound[q] =
			    vm_add_ioeventfd(hd->host->vm, false, addr, hd->notify_len,
					     dev->kick_fd[q]) == 0;
		else if (!on && hd->notify_bound[q])
			hd->notify_bound[q] =
			    vm_del_ioeventfd(hd->host->vm, false, addr, hd->notify_len,
					     dev->kick_fd[q]) != 0;
	}
}

int virtio_host_init(struct virtio_host *h, struct vm *vm, struct pci_bus *pci, uint64_t mmio_base,
		     uint64_t mmio_size)
{
	memset(h, 0, sizeof(*h));
	h->vm = vm;
	h->pci = pci;
	h->next_slot = 1;
	h->mmio_next = mmio_base;
	h->mmio_end = mmio_base + mmio_size;
	return msi_routes_init(&h->msi, vm->fd);
}

int virtio_host_add(struct virtio_host *h, struct virtio_dev *dev, const char **why)
{
	struct virtio_host_dev *hd;
	struct virtio_pci_platform plat = {
	    .msi_route = hd_msi_route,
	    .msi_fire = hd_msi_fire,
	    .intx = hd_intx,
	    .bind_kicks = hd_bind_kicks,
	};
	uint64_t bar;
	int r;

	if (h->nr_devs == VIRTIO_HOST_MAX_DEVS || h->next_slot >= PCI_NR_SLOTS)
		return fail(why, dev, "too many devices", -ENOSPC);
	bar = (h->mmio_next + VIRTIO_PCI_BAR_SIZE - 1) & ~(uint64_t)(VIRTIO_PCI_BAR_SIZE - 1);
	if (bar < h->mmio_next || bar + VIRTIO_PCI_BAR_SIZE > h->mmio_end)
		return fail(why, dev, "PCI MMIO window full", -ENOSPC);
	hd = calloc(1, sizeof(*hd));
	if (!hd)
		return fail(why, dev, "out of memory", -ENOMEM);
	hd->host = h;
	hd->slot = h->next_slot;
	hd->intx_gsi = ACPI_PCI_INTX_GSI_BASE + hd->slot % ACPI_PCI_INTX_GSIS;
	for (unsigned int i = 0; i < VIRTIO_PCI_MAX_VECTORS; i++)
		hd->irqfd[i] = -1;
	plat.ctx = hd;

	r = virtio_pci_init(&hd->vp, dev, &h->vm->mem, &plat, bar);
	if (r < 0) {
		free(hd);
		return fail(why, dev, "virtio-pci", r);
	}
	virtio_pci_set_intx(&hd->vp, (uint8_t)hd->intx_gsi);
	h->devs[h->nr_devs++] = hd; /* from here virtio_host_destroy() cleans up */

	for (unsigned int v = 0; v < hd->vp.nr_vectors; v++)
		if ((r = msi_vector_alloc(&h->msi, &hd->gsi[v], &hd->irqfd[v])) < 0)
			return fail(why, dev, "MSI vector (KVM_IRQFD)", r);
	if ((r = bind_all_kicks(hd)) < 0)
		return fail(why, dev, "KVM_IOEVENTFD", r);
	if ((r = bus_register(&h->vm->mmio, bar, VIRTIO_PCI_BAR_SIZE, dev->name,
			      &virtio_pci_bar_ops, &hd->vp)) < 0)
		return fail(why, dev, "BAR 0", r);
	if ((r = pci_add_device(h->pci, hd->slot, &virtio_pci_cfg_ops, &hd->vp)) < 0)
		return fail(why, dev, "PCI slot", r);
	h->next_slot++;
	h->mmio_next = bar + VIRTIO_PCI_BAR_SIZE;
	return 0;
}

void virtio_host_destroy(struct virtio_host *h)
{
	for (unsigned int i = 0; i < h->nr_devs; i++) {
		struct virtio_host_dev *hd = h->devs[i];

		/* KVM drops the bindings with the VM; it holds its own eventfd references. */
		virtio_pci_destroy(&hd->vp);
		for (unsigned int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
			if (hd->irqfd[v] >= 0)
				close(hd->irqfd[v]);
		free(hd);
	}
	h->nr_devs = 0;
	msi_routes_destroy(&h->msi);
}
