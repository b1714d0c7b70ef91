/* SPDX-License-Identifier: MIT */
/*
 * PIO and MMIO buses: sorted, non-overlapping address ranges, each owned by
 * one device, looked up by binary search. Devices register before the vCPUs
 * start; the bus is read-only while the guest runs, so lookup takes no lock.
 */
#ifndef NESTVMM_BUS_H
#define NESTVMM_BUS_H

#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* @off is relative to the range's base; @size is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t size);
	void (*write)(void *opaque, uint64_t off, const void *data, uint32_t size);
};

struct bus_dev {
	uint64_t base;
	uint64_t len;
	const char *name; /* shown in exit statistics */
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	struct bus_dev *devs; /* sorted by base */
	size_t nr;
	size_t cap;
};

void bus_init(struct bus *bus);
void bus_destroy(struct bus *bus);

/*
 * Claim [base, base + len). Returns 0, -EINVAL for an empty or wrapping
 * range, -EEXIST if it overlaps a registered range, -ENOMEM.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		 const struct bus_ops *ops, void *opaque);

/* The device whose range holds @addr, or NULL. O(log n). */
const struct bus_dev *bus_find(const struct bus *bus, uint64_t addr);

#endif
