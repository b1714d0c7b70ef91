/* SPDX-License-Identifier: MIT */
/*
 * The boot timer, at port 0x507: a guest (its init, by `dd` to /dev/port)
 * writes one byte when it reaches a point worth timing, and the VM notes
 * the time since launch and the exits so far (Firecracker's boot-timer
 * device and Cloud Hypervisor's debug port are the precedents). The byte
 * names the point; `--stats` prints each one noted. Only 1-byte writes at
 * the port count; reads return all-ones. The device keeps nothing: the
 * mark goes to its sink, which the board wires to the VM.
 */
#ifndef NESTVMM_BOOT_TIMER_H
#define NESTVMM_BOOT_TIMER_H

#include <stdint.h>

struct bus;

#define BOOT_TIMER_PORT 0x507

struct boot_timer_sink {
	void (*mark)(void *ctx, uint8_t value);
	void *ctx;
};

struct boot_timer {
	struct boot_timer_sink sink; /* immutable after init: no lock needed */
};

int boot_timer_init(struct boot_timer *bt, const struct boot_timer_sink *sink);
int boot_timer_attach(struct boot_timer *bt, struct bus *pio, uint16_t port);

void boot_timer_read(void *opaque, uint64_t off, void *data, uint32_t size);
void boot_timer_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
