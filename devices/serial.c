/* SPDX-License-Identifier: MIT */
#include "devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/bus.h"

/* Bounded so a sink that keeps failing cannot stall a vCPU forever. */
#define SERIAL_SINK_RETRIES 64

static unsigned rx_depth(const struct serial *s)
{
	return (s->fcr & UART_FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct serial *s)
{
	static const unsigned levels[4] = {1, 4, 8, 14};

	return levels[(s->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

static void flush_locked(struct serial *s)
{
	size_t done = 0;
	int tries = 0;

	while (done < s->out_len && s->sink.out && tries++ < SERIAL_SINK_RETRIES) {
		ssize_t n = s->sink.out(s->sink.ctx, s->out_buf + done, s->out_len - done);

		if (n > 0) {
			done += (size_t)n;
			tries = 0;
		} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
			break;
		}
	}
	s->out_dropped += s->out_len - done;
	s->out_len = 0;
}

static void out_byte(struct serial *s, uint8_t c)
{
	s->out_buf[s->out_len++] = c;
	if (c == '\n' || s->out_len == sizeof(s->out_buf))
		flush_locked(s);
}

/* Move host input into the FIFO as far as the FIFO has room. */
static void rx_refill(struct serial *s)
{
	while (s->in_count && s->rx_count < rx_depth(s)) {
		unsigned tail = (s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE;

		s->rx_fifo[tail] = s->input[s->in_head];
		s->in_head = (s->in_head + 1) % SERIAL_INPUT_SIZE;
		s->in_count--;
		s->rx_count++;
	}
}

/* A character arriving at the receiver itself (loopback): it can overrun. */
static void rx_receive(struct serial *s, uint8_t c)
{
	if (s->rx_count >= rx_depth(s)) {
		s->lsr |= UART_LSR_OE;
		return;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = c;
	s->rx_count++;
}

static uint8_t compute_iir(const struct serial *s)
{
	uint8_t id = UART_IIR_NO_INT;

	if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_ERRORS))
		id = UART_IIR_RLSI;
	else if ((s->ier & UART_IER_RDI) && s->rx_count)
		id = ((s->fcr & UART_FCR_ENABLE) && s->rx_count < rx_trigger(s)) ? UART_IIR_CTI
										 : UART_IIR_RDI;
	else if ((s->ier & UART_IER_THRI) && s->thre_pending)
		id = UART_IIR_THRI;
	else if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTAS))
		id = UART_IIR_MSI;
	if (s->fcr & UART_FCR_ENABLE)
		id |= UART_IIR_FIFO_ENABLED;
	return id;
}

static void update_irq(struct serial *s)
{
	bool level = !(compute_iir(s) & UART_IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		dev_irq_set(&s->irq, s->gsi, level);
	}
}

/* Modem status inputs: looped back from MCR, or a permanently connected peer. */
static void update_msr(struct serial *s)
{
	uint8_t old = s->msr, now;

	if (s->mcr & UART_MCR_LOOP) {
		now = 0;
		if (s->mcr & UART_MCR_RTS)
			now |= UART_MSR_CTS;
		if (s->mcr & UART_MCR_DTR)
			now |= UART_MSR_DSR;
		if (s->mcr & UART_MCR_OUT1)
			now |= UART_MSR_RI;
		if (s->mcr & UART_MCR_OUT2)
			now |= UART_MSR_DCD;
	} else {
		now = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	}
	s->msr = now | (old & UART_MSR_DELTAS);
	if ((old ^ now) & UART_MSR_CTS)
		s->msr |= UART_MSR_DCTS;
	if ((old ^ now) & UART_MSR_DSR)
		s->msr |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		s->msr |= UART_MSR_TERI;
	if ((old ^ now) & UART_MSR_DCD)
		s->msr |= UART_MSR_DDCD;
}

int serial_init(struct serial *s, const struct dev_irq *irq, unsigned gsi,
		const struct serial_sink *sink)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = pthread_mutex_init(&s->lock, NULL);
	if (err)
		return -err;
	if (irq)
		s->irq = *irq;
	if (sink)
		s->sink = *sink;
	s->gsi = gsi;
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	update_msr(s);
	s->msr &= ~UART_MSR_DELTAS;
	return 0;
}

static const struct bus_ops serial_ops = {
    .read = serial_read,
    .write = serial_write,
};

int serial_attach(struct serial *s, struct bus *pio, uint16_t base)
{
	return bus_register(pio, base, SERIAL_NR_PORTS, "serial", &serial_ops, s);
}

void serial_destroy(struct serial *s)
{
	serial_flush(s);
	pthread_mutex_destroy(&s->lock);
}

size_t serial_push_input(struct serial *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	while (taken < len && s->in_count < SERIAL_INPUT_SIZE) {
		s->input[(s->in_head + s->in_count) % SERIAL_INPUT_SIZE] = p[taken++];
		s->in_count++;
	}
	rx_refill(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

ssize_t serial_sink_fd(void *ctx, const void *buf, size_t len)
{
	return write((int)(intptr_t)ctx, buf, len);
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static uint8_t read_reg(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v = 0;

	switch (reg) {
	case UART_RBR:
		if (dlab)
			return s->dll;
		if (s->rx_count) {
			v = s->rx_fifo[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
			s->rx_count--;
			rx_refill(s);
		}
		return v;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = compute_iir(s);
		/* Reading IIR while it reports THRE is what acknowledges THRE. */
		if ((v & UART_IIR_ID_MASK) == UART_IIR_THRI && !(v & UART_IIR_NO_INT))
			s->thre_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = s->lsr | UART_LSR_THRE | UART_LSR_TEMT;
		if (s->rx_count)
			v |= UART_LSR_DR;
		s->lsr &= ~UART_LSR_ERRORS;
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= ~UART_MSR_DELTAS;
		return v;
	default:
		return s->scr;
	}
}

static void write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			rx_receive(s, v);
		else
			out_byte(s, v);
		s->thre_pending = true;
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		s->ier = v & 0x0f;
		/* THR is always empty, so enabling THRI always raises THRE. */
		if (s->ier & UART_IER_THRI)
			s->thre_pending = true;
		flush_locked(s);
		break;
	case UART_FCR:
		if ((v ^ s->fcr) & UART_FCR_ENABLE)
			s->rx_count = 0;
		if (v & UART_FCR_CLEAR_RCVR)
			s->rx_count = 0;
		s->fcr = v & (UART_FCR_ENABLE | UART_FCR_TRIGGER_MASK);
		if (!(s->fcr & UART_FCR_ENABLE))
			s->fcr = 0;
		rx_refill(s);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & UART_MCR_MASK;
		update_msr(s);
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* factory-test writes: ignored */
	default:
		s->scr = v;
		break;
	}
}

void serial_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct serial *s = opaque;

	if (size != 1 || off >= SERIAL_NR_PORTS) {
		dev_data_ones(data, size);
		return;
	}
	pthread_mutex_lock(&s->lock);
	*(uint8_t *)data = read_reg(s, (unsigned)off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct serial *s = opaque;

	if (size != 1 || off >= SERIAL_NR_PORTS)
		return;
	pthread_mutex_lock(&s->lock);
	write_reg(s, (unsigned)off, *(const uint8_t *)data);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}
