/* SPDX-License-Identifier: MIT */
#include "devices/debug_exit.h"

#include <string.h>

#include "vmm/bus.h"

int debug_exit_init(struct debug_exit *dbg, const struct dev_stop *stop)
{
	memset(dbg, 0, sizeof(*dbg));
	if (stop)
		dbg->stop = *stop;
	return 0;
}

void debug_exit_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	dev_data_ones(data, size);
}

void debug_exit_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct debug_exit *dbg = opaque;

	if (off != 0 || (size != 1 && size != 2 && size != 4))
		return;
	dev_stop_request(&dbg->stop, debug_exit_status((uint32_t)dev_data_get(data, size)),
			 "guest debug-exit");
}

static const struct bus_ops debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
};

int debug_exit_attach(struct debug_exit *dbg, struct bus *pio, uint16_t port)
{
	return bus_register(pio, port, 1, "debug-exit", &debug_exit_ops, dbg);
}
