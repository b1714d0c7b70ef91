/* SPDX-License-Identifier: MIT */
/*
 * pvpanic: a one-byte I/O port through which a guest kernel says it
 * panicked (the QEMU-defined ISA device, ACPI id QEMU0001, which Linux's
 * pvpanic driver binds to). A panic stops the VM with a non-zero status,
 * where a plain reboot would look like success.
 */
#ifndef NESTVMM_PVPANIC_H
#define NESTVMM_PVPANIC_H

#include <stdint.h>

#include "devices/dev.h"

struct bus;

#define PVPANIC_PANICKED     0x01 /* guest kernel panicked */
#define PVPANIC_CRASH_LOADED 0x02 /* guest is about to run its crash kernel */
#define PVPANIC_EXIT_CODE    3	  /* VM_EXIT_GUEST_CRASH */

struct pvpanic {
	struct dev_stop stop;
	uint32_t events; /* what the guest has reported, for tests */
};

int pvpanic_init(struct pvpanic *p, const struct dev_stop *stop);
int pvpanic_attach(struct pvpanic *p, struct bus *pio, uint16_t port);

void pvpanic_read(void *opaque, uint64_t off, void *data, uint32_t size);
void pvpanic_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
