/* SPDX-License-Identifier: MIT */
#include "devices/boot_timer.h"

#include <string.h>

#include "devices/dev.h"
#include "vmm/bus.h"

int boot_timer_init(struct boot_timer *bt, const struct boot_timer_sink *sink)
{
	memset(bt, 0, sizeof(*bt));
	if (sink)
		bt->sink = *sink;
	return 0;
}

void boot_timer_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	dev_data_ones(data, size);
}

void boot_timer_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct boot_timer *bt = opaque;

	if (off != 0 || size != 1 || !bt->sink.mark)
		return;
	bt->sink.mark(bt->sink.ctx, *(const uint8_t *)data);
}

static const struct bus_ops boot_timer_ops = {
    .read = boot_timer_read,
    .write = boot_timer_write,
};

int boot_timer_attach(struct boot_timer *bt, struct bus *pio, uint16_t port)
{
	return bus_register(pio, port, 1, "boot-timer", &boot_timer_ops, bt);
}
