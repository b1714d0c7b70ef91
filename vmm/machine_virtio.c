/* SPDX-License-Identifier: MIT */
#include "vmm/machine_virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loader/acpi.h"
#include "vmm/machine.h"
#include "vmm/vm.h"

static int mv_msi_route(void *ctx, unsigned int vec, uint64_t addr, uint32_t data)
{
	struct machine_virtio *mv = ctx;

	return msi_vector_route(&mv->m->msi, mv->gsi[vec], addr, data);
}

static void mv_msi_fire(void *ctx, unsigned int vec)
{
	struct machine_virtio *mv = ctx;

	eventfd_write(mv->irqfd[vec], 1);
}

static void mv_intx(void *ctx, int level)
{
	struct machine_virtio *mv = ctx;

	vm_irq_line(mv->m->vm, mv->intx_gsi, level);
}

static char mv_why[160];

static int fail(const char **why, const struct virtio_dev *dev, const char *what, int r)
{
	snprintf(mv_why, sizeof(mv_why), "cannot attach %s: %s: %s", dev->name, what, strerror(-r));
	*why = mv_why;
	return r;
}

/* ioeventfd for the notify register: any write size if KVM can, else Linux's 16 bits. */
static int bind_notify(struct vm *vm, uint64_t addr, int fd)
{
	int r = vm_add_ioeventfd(vm, false, addr, 0, fd);

	if (r == -EINVAL)
		r = vm_add_ioeventfd(vm, false, addr, 2, fd);
	return r;
}

int machine_add_virtio(struct machine *m, struct virtio_dev *dev, const char **why)
{
	struct machine_virtio *mv;
	struct virtio_pci_platform plat = {
	    .msi_route = mv_msi_route, .msi_fire = mv_msi_fire, .intx = mv_intx};
	uint64_t bar;
	int r;

	if (m->nr_virtio == MACHINE_MAX_VIRTIO)
		return fail(why, dev, "too many virtio devices", -ENOSPC);
	bar = (m->pci_mmio_next + VIRTIO_PCI_BAR_SIZE - 1) & ~(uint64_t)(VIRTIO_PCI_BAR_SIZE - 1);
	if (bar + VIRTIO_PCI_BAR_SIZE > MACHINE_PCI_MMIO_BASE + MACHINE_PCI_MMIO_SIZE)
		return fail(why, dev, "PCI MMIO window full", -ENOSPC);
	mv = calloc(1, sizeof(*mv));
	if (!mv)
		return fail(why, dev, "out of memory", -ENOMEM);
	mv->m = m;
	mv->slot = m->pci_next_slot;
	mv->intx_gsi = ACPI_PCI_INTX_GSI_BASE + mv->slot % ACPI_PCI_INTX_GSIS;
	for (unsigned int i = 0; i < VIRTIO_PCI_MAX_VECTORS; i++)
		mv->irqfd[i] = -1;
	plat.ctx = mv;

	r = virtio_pci_init(&mv->vp, dev, &m->vm->mem, &plat, bar);
	if (r < 0) {
		free(mv);
		return fail(why, dev, "virtio-pci", r);
	}
	virtio_pci_set_intx(&mv->vp, (uint8_t)mv->intx_gsi);
	m->virtio[m->nr_virtio++] = mv; /* from here machine_destroy() cleans up */

	for (unsigned int v = 0; v < mv->vp.nr_vectors; v++)
		if ((r = msi_vector_alloc(&m->msi, &mv->gsi[v], &mv->irqfd[v])) < 0)
			return fail(why, dev, "MSI vector (KVM_IRQFD)", r);
	for (unsigned int q = 0; q < dev->nr_queues; q++)
		if ((r = bind_notify(m->vm, virtio_pci_notify_addr(&mv->vp, q), dev->kick_fd[q])) <
		    0)
			return fail(why, dev, "KVM_IOEVENTFD", r);
	if ((r = bus_register(&m->vm->mmio, bar, VIRTIO_PCI_BAR_SIZE, dev->name,
			      &virtio_pci_bar_ops, &mv->vp)) < 0)
		return fail(why, dev, "BAR 0", r);
	if ((r = pci_add_device(&m->pci, mv->slot, &virtio_pci_cfg_ops, &mv->vp)) < 0)
		return fail(why, dev, "PCI slot", r);
	m->pci_next_slot++;
	m->pci_mmio_next = bar + VIRTIO_PCI_BAR_SIZE;
	return 0;
}

void machine_virtio_destroy_all(struct machine *m)
{
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		struct machine_virtio *mv = m->virtio[i];

		virtio_pci_destroy(&mv->vp);
		for (unsigned int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
			if (mv->irqfd[v] >= 0)
				close(mv->irqfd[v]);
		free(mv);
	}
	m->nr_virtio = 0;
}
