/* SPDX-License-Identifier: MIT */
/*
 * Finding a modern virtio-pci device's registers (virtio 1.x, 4.1.4): walk
 * the PCI capability list and keep the first vendor capability of each
 * structure type. Pure and freestanding: the bench guest's driver runs it
 * on real config space, the unit test on a synthetic one.
 */
#ifndef NESTVMM_BENCH_GUEST_VIRTIO_PCI_CAPS_H
#define NESTVMM_BENCH_GUEST_VIRTIO_PCI_CAPS_H

#include <stdint.h>

/* Where one register structure lives: @length bytes at @offset into BAR @bar. */
struct vpci_region {
	uint8_t bar;
	uint32_t offset;
	uint32_t length;
};

struct vpci_layout {
	struct vpci_region common, notify, isr, device;
	uint32_t notify_off_multiplier;
	unsigned int found; /* bit (1 << cfg_type) for each structure found */
};

/* A 32-bit read of config space at @off (dword aligned, < 256). */
typedef uint32_t (*vpci_cfg_read32)(void *ctx, unsigned int off);

/*
 * Fill @out from the capability list. The list is the device's to write,
 * so the walk is bounded (a loop or a pointer into the header ends it) and
 * capabilities naming a BAR above 5 or too short for their type are
 * skipped. Returns 0 when the common, notify and device structures were
 * all found, -1 otherwise (@out then says which were).
 */
int vpci_find_caps(vpci_cfg_read32 read32, void *ctx, struct vpci_layout *out);

#endif
