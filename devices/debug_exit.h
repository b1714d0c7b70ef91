/* SPDX-License-Identifier: MIT */
/*
 * Debug-exit port for the bench and test guests, at 0x501 by default (the
 * port QEMU's isa-debug-exit uses, but not its encoding): a write of value v
 * (1, 2 or 4 bytes, at the port itself) stops the VM with exit code v & 0xff
 * and why "guest debug-exit". Reads return all-ones.
 */
#ifndef NESTVMM_DEBUG_EXIT_H
#define NESTVMM_DEBUG_EXIT_H

#include <stdint.h>

#include "devices/dev.h"

struct bus;

#define DEBUG_EXIT_PORT 0x501

struct debug_exit {
	struct dev_stop stop; /* immutable after init: no lock needed */
};

int debug_exit_init(struct debug_exit *dbg, const struct dev_stop *stop);
int debug_exit_attach(struct debug_exit *dbg, struct bus *pio, uint16_t port);

void debug_exit_read(void *opaque, uint64_t off, void *data, uint32_t size);
void debug_exit_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
