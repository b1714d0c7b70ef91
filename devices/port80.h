/* SPDX-License-Identifier: MIT */
/*
 * Port 0x80, the POST-code port Linux writes as an I/O delay: writes of any
 * size are accepted and counted, the last byte kept; reads return all-ones.
 */
#ifndef NESTVMM_PORT80_H
#define NESTVMM_PORT80_H

#include <stdatomic.h>
#include <stdint.h>

struct bus;

#define PORT80_PORT 0x80

struct port80 {
	atomic_uint_fast64_t writes;
	atomic_uint last; /* last byte written */
};

int port80_init(struct port80 *p);
int port80_attach(struct port80 *p, struct bus *pio);
uint64_t port80_writes(const struct port80 *p);
uint8_t port80_last(const struct port80 *p);

void port80_read(void *opaque, uint64_t off, void *data, uint32_t size);
void port80_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
