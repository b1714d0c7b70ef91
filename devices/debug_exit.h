/* SPDX-License-Identifier: MIT */
/*
 * Debug-exit port for test guests, at 0x501 (QEMU's isa-debug-exit, with its
 * encoding): a write of value v (1, 2 or 4 bytes, at the port itself) stops
 * the VM with exit status ((v << 1) | 1) & 0xff and why "guest debug-exit".
 * The status is always odd, so a guest cannot pass for nestvmm's own 0
 * (power-off) or 2 (usage error). Reads return all-ones.
 */
#ifndef NESTVMM_DEBUG_EXIT_H
#define NESTVMM_DEBUG_EXIT_H

#include <stdint.h>

#include "devices/dev.h"

struct bus;

#define DEBUG_EXIT_PORT 0x501

/* The exit status a write of @value asks for. */
static inline int debug_exit_status(uint32_t value)
{
	return (int)(((value << 1) | 1) & 0xff);
}

struct debug_exit {
	struct dev_stop stop; /* immutable after init: no lock needed */
};

int debug_exit_init(struct debug_exit *dbg, const struct dev_stop *stop);
int debug_exit_attach(struct debug_exit *dbg, struct bus *pio, uint16_t port);

void debug_exit_read(void *opaque, uint64_t off, void *data, uint32_t size);
void debug_exit_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
