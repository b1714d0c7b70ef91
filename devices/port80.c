/* SPDX-License-Identifier: MIT */
#include "devices/port80.h"

#include "devices/dev.h"
#include "vmm/bus.h"

int port80_init(struct port80 *p)
{
	atomic_init(&p->writes, 0);
	atomic_init(&p->last, 0);
	return 0;
}

uint64_t port80_writes(const struct port80 *p)
{
	return atomic_load_explicit(&p->writes, memory_order_relaxed);
}

uint8_t port80_last(const struct port80 *p)
{
	return (uint8_t)atomic_load_explicit(&p->last, memory_order_relaxed);
}

void port80_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	dev_data_ones(data, size);
}

void port80_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct port80 *p = opaque;

	atomic_fetch_add_explicit(&p->writes, 1, memory_order_relaxed);
	if (off == 0 && size >= 1)
		atomic_store_explicit(&p->last, *(const uint8_t *)data, memory_order_relaxed);
}

static const struct bus_ops port80_ops = {
    .read = port80_read,
    .write = port80_write,
};

int port80_attach(struct port80 *p, struct bus *pio)
{
	return bus_register(pio, PORT80_PORT, 1, "port80", &port80_ops, p);
}
