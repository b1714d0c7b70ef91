/* SPDX-License-Identifier: MIT */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

void bus_destroy(struct bus *bus)
{
	free(bus->devs);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first device whose base is greater than @addr. */
static size_t bus_upper_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->devs[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		 const struct bus_ops *ops, void *opaque)
{
	uint64_t last;
	size_t pos;

	if (len == 0 || !ops || base + (len - 1) < base)
		return -EINVAL;
	last = base + (len - 1);

	pos = bus_upper_bound(bus, base);
	/* The device before may run into us; the one after may start inside us. */
	if (pos > 0) {
		const struct bus_dev *prev = &bus->devs[pos - 1];

		if (prev->base + (prev->len - 1) >= base)
			return -EEXIST;
	}
	if (pos < bus->nr && bus->devs[pos].base <= last)
		return -EEXIST;

	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_dev *devs = realloc(bus->devs, cap * sizeof(*devs));

		if (!devs)
			return -ENOMEM;
		bus->devs = devs;
		bus->cap = cap;
	}
	memmove(&bus->devs[pos + 1], &bus->devs[pos], (bus->nr - pos) * sizeof(*bus->devs));
	bus->devs[pos] = (struct bus_dev){
	    .base = base,
	    .len = len,
	    .name = name,
	    .ops = ops,
	    .opaque = opaque,
	};
	bus->nr++;
	return 0;
}

const struct bus_dev *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t pos = bus_upper_bound(bus, addr);
	const struct bus_dev *d;

	if (pos == 0)
		return NULL;
	d = &bus->devs[pos - 1];
	return addr - d->base < d->len ? d : NULL;
}
