/* SPDX-License-Identifier: MIT */
/*
 * PCI bus 0 behind a host bridge: configuration mechanism #1 on ports
 * 0xcf8 (address, 32-bit accesses only) and 0xcfc-0xcff (data), optionally a
 * PCIe ECAM (MMCONFIG) window for bus 0, and the reset control register at
 * 0xcf9 (a byte write with bit 2 set stops the VM: exit code 0, "guest
 * reboot (0xcf9 reset)"). The host bridge is 00:00.0 (8086:29c0, class
 * 0x060000). Devices are single-function; anything absent reads all-ones.
 *
 * The second half is a helper for a standard type 0 header: a config space
 * image with a mask of guest-writable bits, write-1-to-clear status bits,
 * BARs that answer the all-ones sizing write with their size mask, and a
 * capability list.
 */
#ifndef NESTVMM_PCI_H
#define NESTVMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/dev.h"

struct bus;

#define PCI_CONFIG_ADDR_PORT   0xcf8
#define PCI_CONFIG_DATA_PORT   0xcfc
#define PCI_RESET_CONTROL_PORT 0xcf9
#define PCI_NR_SLOTS	       32
#define PCI_CFG_SPACE_SIZE     256
#define PCI_CFG_EXT_SIZE       4096
#define PCI_ECAM_BUS_SIZE      (1u << 20) /* 32 devices x 8 functions x 4 KiB */

#define PCI_HOST_VENDOR	      0x8086
#define PCI_HOST_DEVICE	      0x29c0
#define PCI_CLASS_HOST_BRIDGE 0x060000

/* Standard header offsets (PCI Local Bus 3.0). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_LATENCY_TIMER	0x0d
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_START		0x40

#define PCI_COMMAND_IO		 0x0001
#define PCI_COMMAND_MEMORY	 0x0002
#define PCI_COMMAND_MASTER	 0x0004
#define PCI_COMMAND_PARITY	 0x0040
#define PCI_COMMAND_SERR	 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT	 0x0008
#define PCI_STATUS_CAP_LIST	 0x0010

#define PCI_BAR_IO	 0x1
#define PCI_BAR_MEM64	 0x4
#define PCI_BAR_PREFETCH 0x8
#define PCI_NR_BARS	 6

/*
 * A device on the bus. @off is < 4096 and aligned to @size (1, 2 or 4), and
 * off + size never crosses a dword. Called with the bus lock held: must not
 * call back into the bus.
 */
struct pci_dev_ops {
	uint32_t (*cfg_read)(void *opaque, unsigned off, unsigned size);
	void (*cfg_write)(void *opaque, unsigned off, unsigned size, uint32_t val);
};

struct pci_slot {
	const struct pci_dev_ops *ops; /* NULL: empty slot */
	void *opaque;
};

/* A standard type 0 config header image (the helper half). */
struct pci_cfg {
	uint8_t data[PCI_CFG_SPACE_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_SIZE]; /* bits the guest may write */
	uint8_t w1c[PCI_CFG_SPACE_SIZE];   /* bits a guest 1 clears */
	uint64_t bar_size[PCI_NR_BARS];	   /* 0: BAR not implemented */
	uint16_t cap_end;		   /* first free byte for the next capability */
	uint8_t cap_last;		   /* offset of the last capability, 0 if none */
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t config_addr;  /* 0xcf8 */
	uint8_t reset_control; /* 0xcf9 */
	struct dev_stop stop;
	struct pci_slot slots[PCI_NR_SLOTS];
	struct pci_cfg host_bridge;
};

/* @stop (may be NULL) is copied; it serves the 0xcf9 reset. Returns 0 or -errno. */
int pci_bus_init(struct pci_bus *pci, const struct dev_stop *stop);
/* Claims ports 0xcf8-0xcff. */
int pci_bus_attach(struct pci_bus *pci, struct bus *pio);
/* Claims [base, base + 1 MiB) on @mmio as the ECAM window of bus 0. */
int pci_bus_attach_ecam(struct pci_bus *pci, struct bus *mmio, uint64_t base);
void pci_bus_destroy(struct pci_bus *pci);

/*
 * Put a device in @slot (1-31; 0 is the host bridge). Returns 0, -EINVAL
 * (bad slot or ops), -EBUSY (slot taken).
 */
int pci_add_device(struct pci_bus *pci, unsigned slot, const struct pci_dev_ops *ops, void *opaque);

/*
 * One config access as both mechanisms decode it. Out-of-range or misaligned
 * accesses, absent devices, other buses and functions read all-ones.
 */
uint32_t pci_bus_cfg_read(struct pci_bus *pci, unsigned bus, unsigned slot, unsigned fn,
			  unsigned off, unsigned size);
void pci_bus_cfg_write(struct pci_bus *pci, unsigned bus, unsigned slot, unsigned fn, unsigned off,
		       unsigned size, uint32_t val);

/* Bus ops of the port and ECAM windows, exposed for tests. */
void pci_io_read(void *opaque, uint64_t off, void *data, uint32_t size);
void pci_io_write(void *opaque, uint64_t off, const void *data, uint32_t size);
void pci_ecam_read(void *opaque, uint64_t off, void *data, uint32_t size);
void pci_ecam_write(void *opaque, uint64_t off, const void *data, uint32_t size);

/* --- standard header helper --- */

/* @class_code is class << 16 | subclass << 8 | prog-if. */
void pci_cfg_init(struct pci_cfg *cfg, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id);
/* Legacy INTx pin (1 = INTA#) and the line the firmware would have routed. */
void pci_cfg_set_intx(struct pci_cfg *cfg, uint8_t pin, uint8_t line);
/*
 * Implement BAR @bar: @size a power of two (>= 16 for memory, >= 4 for
 * I/O), @flags PCI_BAR_IO or a mix of PCI_BAR_MEM64 and PCI_BAR_PREFETCH.
 * A 64-bit BAR also takes @bar + 1. Returns 0 or -EINVAL.
 */
int pci_cfg_set_bar(struct pci_cfg *cfg, unsigned bar, uint64_t size, unsigned flags);
/* The address the guest programmed into BAR @bar (flag bits stripped). */
uint64_t pci_cfg_bar_addr(const struct pci_cfg *cfg, unsigned bar);
/*
 * Append a capability: @body is the capability after its ID and next
 * bytes (@len bytes, may be NULL for zeros). Returns its offset or -ENOSPC.
 * The body is read-only until pci_cfg_set_wmask() opens fields.
 */
int pci_cfg_add_cap(struct pci_cfg *cfg, uint8_t cap_id, const void *body, unsigned len);
/* Make the bits of @mask (little-endian, @size bytes at @off) guest-writable. */
void pci_cfg_set_wmask(struct pci_cfg *cfg, unsigned off, unsigned size, uint32_t mask);

uint32_t pci_cfg_read(const struct pci_cfg *cfg, unsigned off, unsigned size);

/* What a pci_cfg_write() changed, so a device can remap BARs or gate I/O. */
#define PCI_CFG_CHANGED_BAR(n)	(1u << (n))
#define PCI_CFG_CHANGED_COMMAND (1u << 8)
unsigned pci_cfg_write(struct pci_cfg *cfg, unsigned off, unsigned size, uint32_t val);

/* Direct accessors for the device model (not masked). */
uint16_t pci_cfg_get16(const struct pci_cfg *cfg, unsigned off);
void pci_cfg_put16(struct pci_cfg *cfg, unsigned off, uint16_t v);
void pci_cfg_put32(struct pci_cfg *cfg, unsigned off, uint32_t v);

#endif
