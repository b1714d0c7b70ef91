/* SPDX-License-Identifier: MIT */
/*
 * A minimal i8042 keyboard controller (data 0x60, command/status 0x64) with
 * a keyboard that acknowledges commands but never types, and no aux (mouse)
 * port: boot Linux with "i8042.noaux" (and "i8042.nomux") so it does not
 * wait for a mouse that never answers. The keyboard interrupt is ISA IRQ 1.
 *
 * Its real job is reset: pulsing the CPU reset line (command 0xFE, or any
 * 0xF0-0xFF pulse with bit 0 clear, or output-port bit 0 cleared via 0xD1)
 * asks the VM to stop with exit code 0, "guest reboot (i8042 reset)". Port
 * 0x92 (System Control Port A) is there too: bit 0 set is a fast reset
 * (exit code 0, "guest reboot (port 0x92 reset)"); bit 1 (A20) is stored.
 */
#ifndef NESTVMM_I8042_H
#define NESTVMM_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/dev.h"

struct bus;

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT	0x64
#define I8042_PORT_A	0x92
#define I8042_KBD_IRQ	1
#define I8042_OUT_QUEUE 8

#define I8042_STR_OBF	   0x01
#define I8042_STR_IBF	   0x02
#define I8042_STR_SYS	   0x04
#define I8042_STR_CMD	   0x08 /* last write went to the command port */
#define I8042_STR_UNLOCKED 0x10
#define I8042_STR_AUXDATA  0x20

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS	 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE	 0x40

struct i8042 {
	pthread_mutex_t lock;
	struct dev_irq irq;
	unsigned gsi;
	struct dev_stop stop;
	uint8_t status;
	uint8_t ctr;
	uint8_t outport;
	uint8_t port_a;	     /* port 0x92 */
	uint8_t pending_cmd; /* controller command waiting for its data byte */
	uint8_t kbd_cmd;     /* keyboard command waiting for its argument */
	uint8_t queue[I8042_OUT_QUEUE];
	unsigned q_head, q_count;
	bool irq_level;
};

/* @irq and @stop are copied. Returns 0 or -errno. */
int i8042_init(struct i8042 *k, const struct dev_irq *irq, unsigned gsi,
	       const struct dev_stop *stop);
/* Claims ports 0x60, 0x64 and 0x92. */
int i8042_attach(struct i8042 *k, struct bus *pio);
void i8042_destroy(struct i8042 *k);

/* Port accesses; @port is the absolute port number (0x60, 0x64 or 0x92). */
void i8042_port_read(struct i8042 *k, uint16_t port, void *data, uint32_t size);
void i8042_port_write(struct i8042 *k, uint16_t port, const void *data, uint32_t size);

#endif
