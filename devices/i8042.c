/* SPDX-License-Identifier: MIT */
#include "devices/i8042.h"

#include <string.h>

#include "vmm/bus.h"

/* Controller commands (written to 0x64). */
#define CMD_READ_CTR	  0x20
#define CMD_WRITE_CTR	  0x60
#define CMD_AUX_DISABLE	  0xa7
#define CMD_AUX_ENABLE	  0xa8
#define CMD_AUX_TEST	  0xa9
#define CMD_SELF_TEST	  0xaa
#define CMD_KBD_TEST	  0xab
#define CMD_KBD_DISABLE	  0xad
#define CMD_KBD_ENABLE	  0xae
#define CMD_READ_INPUT	  0xc0
#define CMD_READ_OUTPORT  0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_WRITE_AUX_OUT 0xd3
#define CMD_WRITE_AUX	  0xd4
#define CMD_READ_TEST	  0xe0
#define CMD_PULSE_FIRST	  0xf0

#define SELF_TEST_OK  0x55
#define OUTPORT_RESET 0x01 /* active low: 0 holds the CPU in reset */
#define OUTPORT_A20   0x02
#define PORT_A_RESET  0x01
#define PORT_A_A20    0x02

/* Keyboard commands and replies. */
#define KBD_ACK		 0xfa
#define KBD_BAT_OK	 0xaa
#define KBD_ECHO	 0xee
#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_SCANSET	 0xf0
#define KBD_CMD_GET_ID	 0xf2
#define KBD_CMD_SET_REP	 0xf3
#define KBD_CMD_RESET	 0xff

static const char reboot_why[] = "guest reboot (i8042 reset)";
static const char port_a_why[] = "guest reboot (port 0x92 reset)";

static void queue_byte(struct i8042 *k, uint8_t v)
{
	if (k->q_count == I8042_OUT_QUEUE)
		return; /* a real controller would stall; dropping is harmless */
	k->queue[(k->q_head + k->q_count) % I8042_OUT_QUEUE] = v;
	k->q_count++;
}

static void set_line(struct i8042 *k, bool level)
{
	if (level != k->irq_level) {
		k->irq_level = level;
		dev_irq_set(&k->irq, k->gsi, level);
	}
}

static void update_irq(struct i8042 *k)
{
	set_line(k, k->q_count && (k->ctr & I8042_CTR_KBDINT));
}

/* Returns true when the command pulses the reset line. */
static bool controller_command(struct i8042 *k, uint8_t cmd)
{
	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		queue_byte(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		/*
		 * There is no aux port. Linux asks here only after its aux
		 * loopback test failed and left its echo unread; that byte is
		 * then its answer, and a second one would later pass for a
		 * keystroke. Answer "clock line stuck" only into an empty buffer.
		 */
		if (!k->q_count)
			queue_byte(k, 0x01);
		break;
	case CMD_SELF_TEST:
		queue_byte(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		queue_byte(k, 0x00);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
	case CMD_READ_TEST:
		queue_byte(k, 0x00);
		break;
	case CMD_READ_OUTPORT:
		queue_byte(k, k->outport);
		break;
	default:
		if (cmd >= 0x21 && cmd < 0x40) {
			queue_byte(k, 0x00); /* controller RAM reads as zero */
		} else if (cmd >= 0x61 && cmd < 0x80) {
			k->pending_cmd = cmd; /* RAM write: data byte dropped */
		} else if (cmd >= CMD_PULSE_FIRST && !(cmd & OUTPORT_RESET)) {
			return true;
		}
		break;
	}
	return false;
}

static void keyboard_command(struct i8042 *k, uint8_t v)
{
	if (k->kbd_cmd) {
		uint8_t cmd = k->kbd_cmd;

		k->kbd_cmd = 0;
		queue_byte(k, KBD_ACK);
		if (cmd == KBD_CMD_SCANSET && v == 0)
			queue_byte(k, 0x02);
		return;
	}
	switch (v) {
	case KBD_CMD_RESET:
		queue_byte(k, KBD_ACK);
		queue_byte(k, KBD_BAT_OK);
		break;
	case KBD_CMD_GET_ID:
		queue_byte(k, KBD_ACK);
		queue_byte(k, 0xab);
		queue_byte(k, (k->ctr & I8042_CTR_XLATE) ? 0x41 : 0x83);
		break;
	case KBD_ECHO:
		queue_byte(k, KBD_ECHO);
		break;
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SCANSET:
	case KBD_CMD_SET_REP:
	case 0xfb:
	case 0xfc:
	case 0xfd:
		k->kbd_cmd = v;
		queue_byte(k, KBD_ACK);
		break;
	default:
		queue_byte(k, KBD_ACK);
		break;
	}
}

/* Returns true when the write pulses the reset line. */
static bool data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0:
		keyboard_command(k, v);
		return false;
	case CMD_WRITE_CTR:
		k->ctr = v;
		return false;
	case CMD_WRITE_OUTPORT:
		k->outport = v;
		return !(v & OUTPORT_RESET);
	case CMD_WRITE_KBD_OUT:
		queue_byte(k, v);
		return false;
	case CMD_WRITE_AUX_OUT:
		/* No aux port: the echo does not carry the aux-data flag. */
		queue_byte(k, v);
		return false;
	default:
		return false; /* aux device writes and RAM writes */
	}
}

int i8042_init(struct i8042 *k, const struct dev_irq *irq, unsigned gsi,
	       const struct dev_stop *stop)
{
	int err;

	memset(k, 0, sizeof(*k));
	err = pthread_mutex_init(&k->lock, NULL);
	if (err)
		return -err;
	if (irq)
		k->irq = *irq;
	if (stop)
		k->stop = *stop;
	k->gsi = gsi;
	/* As firmware leaves it: self-tested, translating, aux off. */
	k->status = I8042_STR_SYS | I8042_STR_UNLOCKED;
	k->ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS | I8042_CTR_XLATE;
	k->outport = OUTPORT_RESET | OUTPORT_A20;
	k->port_a = PORT_A_A20;
	return 0;
}

void i8042_port_read(struct i8042 *k, uint16_t port, void *data, uint32_t size)
{
	uint8_t v = 0xff;

	if (size != 1) {
		dev_data_ones(data, size);
		return;
	}
	pthread_mutex_lock(&k->lock);
	switch (port) {
	case I8042_DATA_PORT:
		v = 0;
		if (k->q_count) {
			v = k->queue[k->q_head];
			k->q_head = (k->q_head + 1) % I8042_OUT_QUEUE;
			k->q_count--;
		}
		/* Drop the line so the next byte, if any, is a fresh edge. */
		set_line(k, false);
		update_irq(k);
		break;
	case I8042_CMD_PORT:
		v = k->status | (k->q_count ? I8042_STR_OBF : 0);
		break;
	case I8042_PORT_A:
		v = k->port_a;
		break;
	}
	pthread_mutex_unlock(&k->lock);
	*(uint8_t *)data = v;
}

void i8042_port_write(struct i8042 *k, uint16_t port, const void *data, uint32_t size)
{
	const char *why = NULL;
	uint8_t v;

	if (size != 1)
		return;
	v = *(const uint8_t *)data;
	pthread_mutex_lock(&k->lock);
	switch (port) {
	case I8042_DATA_PORT:
		k->status &= ~I8042_STR_CMD;
		if (data_write(k, v))
			why = reboot_why;
		break;
	case I8042_CMD_PORT:
		k->status |= I8042_STR_CMD;
		if (controller_command(k, v))
			why = reboot_why;
		break;
	case I8042_PORT_A:
		k->port_a = v & PORT_A_A20;
		if (v & PORT_A_RESET)
			why = port_a_why;
		break;
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (why)
		dev_stop_request(&k->stop, 0, why);
}

static void data_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	if (off)
		dev_data_ones(data, size);
	else
		i8042_port_read(opaque, I8042_DATA_PORT, data, size);
}

static void data_write_op(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	if (!off)
		i8042_port_write(opaque, I8042_DATA_PORT, data, size);
}

static void cmd_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	if (off)
		dev_data_ones(data, size);
	else
		i8042_port_read(opaque, I8042_CMD_PORT, data, size);
}

static void cmd_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	if (!off)
		i8042_port_write(opaque, I8042_CMD_PORT, data, size);
}

static void port_a_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	if (off)
		dev_data_ones(data, size);
	else
		i8042_port_read(opaque, I8042_PORT_A, data, size);
}

static void port_a_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	if (!off)
		i8042_port_write(opaque, I8042_PORT_A, data, size);
}

static const struct bus_ops data_ops = {.read = data_read, .write = data_write_op};
static const struct bus_ops cmd_ops = {.read = cmd_read, .write = cmd_write};
static const struct bus_ops port_a_ops = {.read = port_a_read, .write = port_a_write};

int i8042_attach(struct i8042 *k, struct bus *pio)
{
	int err;

	err = bus_register(pio, I8042_DATA_PORT, 1, "i8042", &data_ops, k);
	if (!err)
		err = bus_register(pio, I8042_CMD_PORT, 1, "i8042", &cmd_ops, k);
	if (!err)
		err = bus_register(pio, I8042_PORT_A, 1, "port92", &port_a_ops, k);
	return err;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
