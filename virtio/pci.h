/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.x modern PCI transport (spec 4.1): one PCI function whose
 * 64-bit memory BAR 0 holds every register the driver uses, found through
 * vendor capabilities, plus MSI-X:
 *
 *   BAR 0 + 0x0000  common configuration (feature negotiation, status, queues)
 *   BAR 0 + 0x1000  ISR status (INTx only)
 *   BAR 0 + 0x2000  device-specific configuration
 *   BAR 0 + 0x3000  queue notify: queue i at + 4 * i (bound to an ioeventfd)
 *   BAR 0 + 0x4000  MSI-X table: one vector per queue plus one for config
 *   BAR 0 + 0x5000  MSI-X pending bit array
 *
 * nestvmm plays the firmware and places BAR 0 before the guest starts; it
 * stays there (the bus is fixed while vCPUs run). A guest that moves the
 * BAR, or turns memory decoding off, loses the registers until it puts the
 * BAR back: accesses read all-ones and writes are dropped, and while the
 * device runs the kick ioeventfds are unbound so that a notify write is
 * dropped too.
 *
 * Bus mastering (PCI_COMMAND_MASTER) gates everything the device does to
 * guest memory: without it the device is not started (a DRIVER_OK waits
 * for the bit) and MSI-X messages, being memory writes, stay pending.
 * Clearing it under a running device (what a kernel does before kexec,
 * to stop DMA into the next kernel's memory) stops the device, waits for
 * its in-flight requests and sets DEVICE_NEEDS_RESET: the ring positions
 * are gone, so only a reset brings it back.
 *
 * The transport knows nothing of the device behind it (struct virtio_dev)
 * nor of KVM: interrupts leave through struct virtio_pci_platform, so the
 * unit tests drive it with fakes.
 */
#ifndef NESTVMM_VIRTIO_PCI_H
#define NESTVMM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "virtio/virtio_dev.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + the virtio device ID (modern-only device) */

#define VIRTIO_PCI_BAR_SIZE    0x8000
#define VIRTIO_PCI_COMMON_OFF  0x0000
#define VIRTIO_PCI_ISR_OFF     0x1000
#define VIRTIO_PCI_DEVICE_OFF  0x2000
#define VIRTIO_PCI_NOTIFY_OFF  0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_OFF    0x4000
#define VIRTIO_PCI_PBA_OFF     0x5000
#define VIRTIO_PCI_REGION_SIZE 0x1000
#define VIRTIO_PCI_MAX_VECTORS (VIRTIO_MAX_QUEUES + 1)
#define VIRTIO_MSI_NO_VECTOR   0xffff

/* Common configuration layout (spec 4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT	0x00
#define VIRTIO_PCI_COMMON_DF		0x04
#define VIRTIO_PCI_COMMON_GFSELECT	0x08
#define VIRTIO_PCI_COMMON_GF		0x0c
#define VIRTIO_PCI_COMMON_MSIX		0x10
#define VIRTIO_PCI_COMMON_NUMQ		0x12
#define VIRTIO_PCI_COMMON_STATUS	0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT	0x16
#define VIRTIO_PCI_COMMON_Q_SIZE	0x18
#define VIRTIO_PCI_COMMON_Q_MSIX	0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE	0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF	0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO	0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI	0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO	0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI	0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO	0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI	0x34
#define VIRTIO_PCI_COMMON_SIZE		0x38

/* Vendor capability cfg_type values (spec 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5

#define PCI_CAP_ID_VNDR	 0x09
#define PCI_CAP_ID_MSIX	 0x11
#define PCI_MSIX_ENABLE	 0x8000
#define PCI_MSIX_MASKALL 0x4000

/* How interrupts leave the transport; the VM's version is in vmm/. */
struct virtio_pci_platform {
	/* MSI-X vector @vec now carries @addr/@data: route it. */
	int (*msi_route)(void *ctx, unsigned int vec, uint64_t addr, uint32_t data);
	/* Send vector @vec's message (called with the transport's lock held). */
	void (*msi_fire)(void *ctx, unsigned int vec);
	/* Drive the INTx line (used while MSI-X is off). */
	void (*intx)(void *ctx, int level);
	/*
	 * Optional: bind (@on) or unbind the queues' kick ioeventfds. They
	 * start bound; they are unbound while a running device's BAR 0 does
	 * not decode, so that a notify write reaches the transport, which
	 * drops it. (A device that is not running acts on no kick, so the
	 * BAR sizing of a boot costs no KVM_IOEVENTFD calls.)
	 */
	void (*bind_kicks)(void *ctx, bool on);
	void *ctx;
};

struct virtio_pci_queue {
	uint16_t size; /* what the driver chose; starts at the maximum */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
};

struct virtio_pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl; /* ctrl bit 0: masked */
};

struct virtio_pci {
	struct virtio_dev *dev;
	struct guest_mem *mem;
	struct virtio_pci_platform plat;
	struct pci_cfg cfg; /* guarded by the PCI bus lock */
	uint64_t bar_addr;  /* where nestvmm placed BAR 0 */
	atomic_bool decode; /* BAR 0 is at bar_addr and memory decoding is on */
	int pcicfg_cap;	    /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	int msix_cap;

	/*
	 * Two locks: status_lock serialises what may wait for the device's
	 * threads (reset, start); lock guards the registers and is all the
	 * device's threads ever take (notify), so they cannot deadlock a
	 * reset that joins them. Order: PCI bus lock, status_lock, lock.
	 */
	pthread_mutex_t status_lock;
	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint64_t driver_features; /* as being written, before FEATURES_OK */
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	bool intx_level;
	bool intx_disabled; /* PCI_COMMAND_INTX_DISABLE */
	uint16_t queue_select;
	uint16_t config_vector;
	/* PCI_COMMAND_MASTER: DMA and MSI-X messages allowed (set with both locks) */
	bool bus_master;
	bool running; /* ops->start() done, no reset since (status_lock) */
	/* The kick ioeventfds are bound (bind_lock; see bind_kicks) */
	pthread_mutex_t bind_lock;
	bool kicks_bound;
	struct virtio_pci_queue queues[VIRTIO_MAX_QUEUES];
	unsigned int nr_vectors;
	struct virtio_pci_msix_entry msix[VIRTIO_PCI_MAX_VECTORS];
	uint64_t pba[2];
	bool msix_enabled, msix_masked;
};

/*
 * Set up the transport for @dev (whose ops, features, config_len and
 * queues are filled in): the config header, capabilities, MSI-X, and the
 * kick eventfds in dev->kick_fd. @bar_addr is where BAR 0 will live
 * (aligned to VIRTIO_PCI_BAR_SIZE). Returns 0 or -errno.
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *dev, struct guest_mem *mem,
		    const struct virtio_pci_platform *plat, uint64_t bar_addr);
/* Reset the device (its threads stop) and close the kick eventfds. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* The INTx pin/line the device reports (before MSI-X is enabled). */
void virtio_pci_set_intx(struct virtio_pci *vp, uint8_t line);

/* For pci_add_device() and for bus_register() of BAR 0 at vp->bar_addr. */
extern const struct pci_dev_ops virtio_pci_cfg_ops;
extern const struct bus_ops virtio_pci_bar_ops;

/* The guest address of queue @q's notify register. */
static inline uint64_t virtio_pci_notify_addr(const struct virtio_pci *vp, unsigned int q)
{
	return vp->bar_addr + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
}

#endif
