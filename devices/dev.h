/* SPDX-License-Identifier: MIT */
/*
 * What a legacy device needs from the VM, as small callback structs, so the
 * devices stay independent of the vCPU/VM code and unit tests can drive them
 * with fakes. Both callbacks may be invoked with the device's own mutex held:
 * they must not call back into the device.
 *
 * The PC these devices make (ports are I/O ports, IRQs ISA/GSI numbers):
 *   0x060, 0x064  i8042 (keyboard IRQ 1; reset)    0x092  System Control Port A
 *   0x070-0x071   CMOS RTC (no IRQ 8)              0x080  POST/delay port
 *   0x3f8-0x3ff   16550A COM1, IRQ 4               0x501  debug exit
 *   0x600-0x603   ACPI PM1a_EVT   0x604-0x605 PM1a_CNT   0x608-0x60b PM_TMR  (SCI: GSI 9)
 *   0xcf8-0xcff   PCI configuration mechanism #1, 0xcf9 reset control
 */
#ifndef NESTVMM_DEV_H
#define NESTVMM_DEV_H

#include <stdint.h>
#include <string.h>

/* An interrupt line to the irqchip (KVM_IRQ_LINE in the real VMM). */
struct dev_irq {
	void (*set_level)(void *ctx, unsigned gsi, int level);
	void *ctx;
};

/* Ask the VM to stop and the VMM to exit with @exit_code. */
struct dev_stop {
	void (*request)(void *ctx, int exit_code, const char *why);
	void *ctx;
};

static inline void dev_irq_set(const struct dev_irq *irq, unsigned gsi, int level)
{
	if (irq->set_level)
		irq->set_level(irq->ctx, gsi, level);
}

static inline void dev_stop_request(const struct dev_stop *stop, int exit_code, const char *why)
{
	if (stop->request)
		stop->request(stop->ctx, exit_code, why);
}

/* Bus data buffers are little-endian values of 1, 2, 4 or 8 bytes. */
static inline uint64_t dev_data_get(const void *data, uint32_t size)
{
	const uint8_t *p = data;
	uint64_t v = 0;

	for (uint32_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void dev_data_put(void *data, uint32_t size, uint64_t v)
{
	uint8_t *p = data;

	for (uint32_t i = 0; i < size; i++)
		p[i] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0xff;
}

/* What a read the hardware does not decode returns: all-ones. */
static inline void dev_data_ones(void *data, uint32_t size)
{
	memset(data, 0xff, size);
}

#endif
