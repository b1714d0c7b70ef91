/* SPDX-License-Identifier: MIT */
#include "devices/pvpanic.h"

#include <errno.h>

#include "vmm/bus.h"

static const struct bus_ops pvpanic_ops = {.read = pvpanic_read, .write = pvpanic_write};

int pvpanic_init(struct pvpanic *p, const struct dev_stop *stop)
{
	if (!p || !stop)
		return -EINVAL;
	p->stop = *stop;
	p->events = 0;
	return 0;
}

int pvpanic_attach(struct pvpanic *p, struct bus *pio, uint16_t port)
{
	return bus_register(pio, port, 1, "pvpanic", &pvpanic_ops, p);
}

void pvpanic_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque;
	/* The events the device supports; anything wider than the port reads as ones. */
	if (off == 0 && size == 1)
		dev_data_put(data, 1, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	else
		dev_data_ones(data, size);
}

void pvpanic_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct pvpanic *p = opaque;
	uint32_t v;

	if (off != 0 || size != 1)
		return;
	v = (uint32_t)dev_data_get(data, 1);
	__atomic_fetch_or(&p->events, v, __ATOMIC_RELAXED);
	if (v & PVPANIC_PANICKED)
		dev_stop_request(&p->stop, PVPANIC_EXIT_CODE, "guest kernel panic (pvpanic)");
	/* CRASH_LOADED: a kdump kernel runs next; the VM keeps going. */
}
