/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <unistd.h>

#include "devices/serial.h"
#include "fake_dev.h"

struct sink {
	char buf[8192];
	size_t len;
	unsigned calls;
};

static ssize_t sink_out(void *ctx, const void *buf, size_t len)
{
	struct sink *k = ctx;

	k->calls++;
	if (len > sizeof(k->buf) - k->len)
		len = sizeof(k->buf) - k->len;
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	return (ssize_t)len;
}

struct fixture {
	struct serial s;
	struct fake_irq irq;
	struct sink sink;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dev_irq irq = fake_irq_ops(&f->irq);
	struct serial_sink sink = {.out = sink_out, .ctx = &f->sink};

	assert_int_equal(serial_init(&f->s, &irq, SERIAL_COM1_IRQ, &sink), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(&f->s);
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg)
{
	uint8_t v = 0x5a;

	serial_read(&f->s, reg, &v, 1);
	return v;
}

static void wr(struct fixture *f, unsigned reg, uint8_t v)
{
	serial_write(&f->s, reg, &v, 1);
}

static int line(struct fixture *f)
{
	return f->irq.level[SERIAL_COM1_IRQ];
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(rd(f, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	assert_int_equal(rd(f, UART_IER), 0);
	assert_int_equal(line(f), 0);
	assert_int_equal(f->irq.calls, 0);
}

static void test_output_is_line_buffered(void **state)
{
	struct fixture *f = *state;

	wr(f, UART_THR, 'o');
	wr(f, UART_THR, 'k');
	assert_int_equal(f->sink.calls, 0);
	/* Transmission is instant: LSR still says empty. */
	assert_int_equal(rd(f, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	wr(f, UART_THR, '\n');
	assert_int_equal(f->sink.calls, 1);
	assert_int_equal(f->sink.len, 3);
	assert_memory_equal(f->sink.buf, "ok\n", 3);

	wr(f, UART_THR, '$');
	assert_int_equal(f->sink.calls, 1);
	serial_flush(&f->s);
	assert_int_equal(f->sink.calls, 2);
	assert_memory_equal(f->sink.buf, "ok\n$", 4);
	serial_flush(&f->s); /* nothing left: no empty write */
	assert_int_equal(f->sink.calls, 2);
}

static void test_output_flushes_when_full(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < SERIAL_OUT_BUF_SIZE; i++)
		wr(f, UART_THR, (uint8_t)('a' + i % 26));
	assert_int_equal(f->sink.calls, 1);
	assert_int_equal(f->sink.len, SERIAL_OUT_BUF_SIZE);
	assert_int_equal(f->sink.buf[27], 'b');
}

static void test_ier_write_flushes(void **state)
{
	struct fixture *f = *state;

	wr(f, UART_THR, '#');
	wr(f, UART_THR, ' ');
	wr(f, UART_IER, 0);
	assert_int_equal(f->sink.len, 2);
	assert_memory_equal(f->sink.buf, "# ", 2);
}

static void test_thre_interrupt_and_rearm(void **state)
{
	struct fixture *f = *state;

	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(line(f), 1);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_THRI);
	/* Reading IIR acknowledged THRE. */
	assert_int_equal(line(f), 0);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_NO_INT);

	wr(f, UART_THR, 'x');
	assert_int_equal(line(f), 1);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_THRI);
	assert_int_equal(line(f), 0);

	/* Linux's start_tx: setting THRI again while THR is empty re-raises THRE. */
	wr(f, UART_IER, 0);
	assert_int_equal(line(f), 0);
	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(line(f), 1);
	assert_int_equal(f->irq.raises[SERIAL_COM1_IRQ], 3);
	/* Disabling THRI drops the line although THRE is still pending. */
	wr(f, UART_IER, 0);
	assert_int_equal(line(f), 0);
	assert_int_equal(f->irq.redundant, 0);
}

static void test_iir_priorities(void **state)
{
	struct fixture *f = *state;

	wr(f, UART_FCR, UART_FCR_ENABLE);
	/* Overrun the FIFO through loopback: data ready and OE together. */
	wr(f, UART_MCR, UART_MCR_LOOP);
	rd(f, UART_MSR); /* entering loopback changed the modem lines */
	for (unsigned i = 0; i <= SERIAL_FIFO_SIZE; i++)
		wr(f, UART_THR, (uint8_t)i);
	/* Change a modem input for a pending MSI. */
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);

	wr(f, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | UART_IER_MSI);
	assert_int_equal(line(f), 1);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_RLSI);
	assert_true(rd(f, UART_LSR) & UART_LSR_OE); /* clears OE */
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_RDI);
	for (unsigned i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(rd(f, UART_RBR), i);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_THRI);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_MSI);
	assert_int_equal(line(f), 1);
	assert_int_equal(rd(f, UART_MSR) & UART_MSR_DCTS, UART_MSR_DCTS);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
	assert_int_equal(line(f), 0);
	assert_int_equal(f->irq.redundant, 0);
}

static void test_dlab(void **state)
{
	struct fixture *f = *state;

	wr(f, UART_IER, UART_IER_RDI);
	wr(f, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(f, UART_DLL, 0x0c);
	wr(f, UART_DLM, 0x01);
	assert_int_equal(rd(f, UART_DLL), 0x0c);
	assert_int_equal(rd(f, UART_DLM), 0x01);
	assert_int_equal(rd(f, UART_LCR), UART_LCR_DLAB | 0x03);
	serial_flush(&f->s);
	assert_int_equal(f->sink.len, 0); /* the DLL write was not a character */

	wr(f, UART_LCR, 0x03);
	assert_int_equal(rd(f, UART_IER), UART_IER_RDI);
	wr(f, UART_THR, 'z');
	serial_flush(&f->s);
	assert_int_equal(f->sink.len, 1);
	wr(f, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(rd(f, UART_DLL), 0x0c);
	assert_int_equal(rd(f, UART_DLM), 0x01);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	uint8_t msr;

	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	msr = rd(f, UART_MSR);
	/* RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
	assert_int_equal(msr & 0xf0, UART_MSR_DSR | UART_MSR_RI);
	assert_true(msr & UART_MSR_DCTS);
	assert_true(msr & UART_MSR_DDCD);
	assert_int_equal(rd(f, UART_MSR) & UART_MSR_DELTAS, 0);
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR); /* RI falls: trailing edge */
	assert_int_equal(rd(f, UART_MSR), UART_MSR_DSR | UART_MSR_TERI);

	wr(f, UART_THR, 'L');
	serial_flush(&f->s);
	assert_int_equal(f->sink.len, 0);
	assert_true(rd(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(f, UART_RBR), 'L');
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(f, UART_MCR), UART_MCR_LOOP | UART_MCR_DTR);

	wr(f, UART_MCR, 0);
	assert_int_equal(rd(f, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	wr(f, UART_THR, 'O');
	serial_flush(&f->s);
	assert_int_equal(f->sink.len, 1);
	assert_int_equal(f->sink.buf[0], 'O');
}

static void test_rx_fifo_and_input_buffer(void **state)
{
	struct fixture *f = *state;
	char in[100];

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	wr(f, UART_FCR, UART_FCR_ENABLE);
	assert_int_equal(serial_push_input(&f->s, in, sizeof(in)), sizeof(in));
	for (unsigned i = 0; i < sizeof(in); i++) {
		assert_true(rd(f, UART_LSR) & UART_LSR_DR);
		assert_int_equal(rd(f, UART_RBR), (uint8_t)in[i]);
	}
	assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	/* Host input never overruns: it waits in the input buffer. */
	assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, 0);
}

static void test_input_buffer_full(void **state)
{
	struct fixture *f = *state;
	static char big[SERIAL_INPUT_SIZE + 100];
	size_t pushed, total = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 251);
	pushed = serial_push_input(&f->s, big, sizeof(big));
	pushed += serial_push_input(&f->s, big + pushed, sizeof(big) - pushed);
	assert_true(pushed >= SERIAL_INPUT_SIZE);
	assert_true(pushed < sizeof(big));
	assert_int_equal(serial_push_input(&f->s, big + pushed, 1), 0);
	/* Draining makes room again; nothing is lost or reordered. */
	while (total < sizeof(big)) {
		assert_true(rd(f, UART_LSR) & UART_LSR_DR);
		assert_int_equal(rd(f, UART_RBR), (uint8_t)big[total++]);
		if (pushed < sizeof(big))
			pushed += serial_push_input(&f->s, big + pushed, sizeof(big) - pushed);
	}
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
}

static void test_overrun(void **state)
{
	struct fixture *f = *state;

	/* FIFO off: a one-byte holding register. */
	wr(f, UART_MCR, UART_MCR_LOOP);
	wr(f, UART_THR, 'a');
	assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, 0);
	wr(f, UART_THR, 'b');
	assert_int_equal(rd(f, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, 0); /* cleared by the read */
	assert_int_equal(rd(f, UART_RBR), 'a');

	/* FIFO on: 16 deep. */
	wr(f, UART_FCR, UART_FCR_ENABLE);
	for (unsigned i = 0; i < SERIAL_FIFO_SIZE; i++)
		wr(f, UART_THR, (uint8_t)i);
	assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, 0);
	wr(f, UART_THR, 0xee);
	assert_true(rd(f, UART_LSR) & UART_LSR_OE);
	for (unsigned i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(rd(f, UART_RBR), i);
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
}

static void test_rx_interrupt_and_trigger(void **state)
{
	struct fixture *f = *state;

	wr(f, UART_FCR, UART_FCR_ENABLE | 0x40); /* trigger level 4 */
	wr(f, UART_IER, UART_IER_RDI);
	assert_int_equal(line(f), 0);
	serial_push_input(&f->s, "ab", 2);
	assert_int_equal(line(f), 1);
	/* Below the trigger level it reports a character timeout. */
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_CTI);
	serial_push_input(&f->s, "cd", 2);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_RDI);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd(f, UART_RBR), 'a' + i);
	assert_int_equal(line(f), 0);
	assert_int_equal(f->irq.raises[SERIAL_COM1_IRQ], 1);

	/* FCR clear-receiver empties the FIFO and lowers the line. */
	serial_push_input(&f->s, "xyz", 3);
	assert_int_equal(line(f), 1);
	wr(f, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RCVR);
	assert_int_equal(line(f), 0);
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(f->irq.redundant, 0);
}

static void test_scr_and_bad_accesses(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;
	uint16_t w = 0x4141;

	wr(f, UART_SCR, 0xa5);
	assert_int_equal(rd(f, UART_SCR), 0xa5);

	serial_read(&f->s, UART_SCR, &v, 4);
	assert_int_equal(v, 0xffffffff);
	serial_read(&f->s, 8, &w, 1);
	assert_int_equal(w & 0xff, 0xff);
	w = 0x4141;
	serial_write(&f->s, UART_THR, &w, 2);
	serial_write(&f->s, 9, &w, 1);
	serial_flush(&f->s);
	assert_int_equal(f->sink.len, 0);
	assert_int_equal(rd(f, UART_SCR), 0xa5);
}

static void test_fd_sink(void **state)
{
	struct serial s;
	struct serial_sink sink = {.out = serial_sink_fd};
	char got[8] = {0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	sink.ctx = (void *)(intptr_t)p[1];
	assert_int_equal(serial_init(&s, NULL, 4, &sink), 0);
	serial_write(&s, UART_THR, "h", 1);
	serial_write(&s, UART_THR, "\n", 1);
	assert_int_equal(read(p[0], got, sizeof(got)), 2);
	assert_memory_equal(got, "h\n", 2);
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_is_line_buffered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_flushes_when_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ier_write_flushes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thre_interrupt_and_rearm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_fifo_and_input_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input_buffer_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_interrupt_and_trigger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scr_and_bad_accesses, setup, teardown),
	    cmocka_unit_test(test_fd_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
