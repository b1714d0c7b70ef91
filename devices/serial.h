/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (the PC's COM1: ports 0x3f8-0x3ff, ISA IRQ 4).
 *
 * Transmission is instantaneous: THR is always empty, so LSR reports THRE and
 * TEMT and a THRE interrupt is pending right after each THR write. Output goes
 * to a byte sink through a line buffer, flushed on '\n', when full, when the
 * guest writes IER (Linux's driver clears IER.THRI once its queue is empty,
 * and its console path restores IER after each message, so a prompt without a
 * newline still comes out) and on serial_flush().
 *
 * Host input is queued in a 4 KiB input buffer and moved into the 16-byte RX
 * FIFO as the guest drains it, so host input is never lost to overrun; OE is
 * only seen when the guest overruns the FIFO itself (loopback mode).
 *
 * The interrupt output is not gated by MCR.OUT2: the line reflects IIR.
 */
#ifndef NESTVMM_SERIAL_H
#define NESTVMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/dev.h"

struct bus;

#define SERIAL_COM1_BASE    0x3f8
#define SERIAL_COM1_IRQ	    4
#define SERIAL_NR_PORTS	    8
#define SERIAL_FIFO_SIZE    16
#define SERIAL_INPUT_SIZE   4096
#define SERIAL_OUT_BUF_SIZE 1024

/* Register offsets and bits (PC16550D data sheet). */
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI  0x08

#define UART_IIR_NO_INT	      0x01
#define UART_IIR_MSI	      0x00
#define UART_IIR_THRI	      0x02
#define UART_IIR_RDI	      0x04
#define UART_IIR_RLSI	      0x06
#define UART_IIR_CTI	      0x0c
#define UART_IIR_ID_MASK      0x0e
#define UART_IIR_FIFO_ENABLED 0xc0

#define UART_FCR_ENABLE	      0x01
#define UART_FCR_CLEAR_RCVR   0x02
#define UART_FCR_CLEAR_XMIT   0x04
#define UART_FCR_TRIGGER_MASK 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_PE	0x04
#define UART_LSR_FE	0x08
#define UART_LSR_BI	0x10
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LSR_FIFOE	0x80
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_DELTAS 0x0f
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

/* Where guest output goes; returns bytes written or -1 (errno set). */
struct serial_sink {
	ssize_t (*out)(void *ctx, const void *buf, size_t len);
	void *ctx;
};

struct serial {
	pthread_mutex_t lock;
	struct dev_irq irq;
	unsigned gsi;
	struct serial_sink sink;

	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thre_pending; /* THR empty since the last IIR read that reported it */
	bool irq_level;	   /* what the line was last set to */

	uint8_t rx_fifo[SERIAL_FIFO_SIZE];
	unsigned rx_head, rx_count;

	uint8_t input[SERIAL_INPUT_SIZE]; /* host input not yet in the FIFO */
	unsigned in_head, in_count;

	uint8_t out_buf[SERIAL_OUT_BUF_SIZE];
	size_t out_len;
	uint64_t out_dropped; /* bytes the sink refused */
};

/* @irq and @sink are copied; either may have NULL callbacks. Returns 0 or -errno. */
int serial_init(struct serial *s, const struct dev_irq *irq, unsigned gsi,
		const struct serial_sink *sink);
/* Claims [base, base + 8) on @pio. */
int serial_attach(struct serial *s, struct bus *pio, uint16_t base);
void serial_destroy(struct serial *s);

/*
 * Queue host input for the guest. Returns the number of bytes taken (less
 * than @len when the input buffer is full; the caller retries later).
 */
size_t serial_push_input(struct serial *s, const void *buf, size_t len);

/* A ready-made sink writing to the file descriptor (intptr_t)@ctx. */
ssize_t serial_sink_fd(void *ctx, const void *buf, size_t len);

/* Push buffered output to the sink now. */
void serial_flush(struct serial *s);

/* Register access as the bus does it; exposed for tests and other buses. */
void serial_read(void *opaque, uint64_t off, void *data, uint32_t size);
void serial_write(void *opaque, uint64_t off, const void *data, uint32_t size);

#endif
