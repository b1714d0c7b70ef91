/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "devices/console.h"
#include "devices/serial.h"
#include "fake_dev.h"

#define CTRL_A 0x01

/* Runs @in through the escape machine; returns forwarded bytes, counts actions. */
static size_t run_esc(const char *in, size_t len, uint8_t *out, unsigned *quits, unsigned *helps)
{
	struct console_esc esc = {0};
	size_t n = 0;

	*quits = *helps = 0;
	for (size_t i = 0; i < len; i++) {
		size_t nr;

		switch (console_esc_feed(&esc, (uint8_t)in[i], out + n, &nr)) {
		case CONSOLE_ESC_QUIT:
			(*quits)++;
			assert_int_equal(nr, 0);
			break;
		case CONSOLE_ESC_HELP:
			(*helps)++;
			assert_int_equal(nr, 0);
			break;
		case CONSOLE_ESC_FORWARD:
			assert_true(nr <= 2);
			n += nr;
			break;
		}
	}
	return n;
}

static void test_esc_plain_bytes_pass(void **state)
{
	uint8_t out[16];
	unsigned q, h;

	(void)state;
	assert_int_equal(run_esc("ab\x03z", 4, out, &q, &h), 4);
	assert_memory_equal(out, "ab\x03z", 4);
	assert_int_equal(q + h, 0);
}

static void test_esc_quit(void **state)
{
	uint8_t out[16];
	unsigned q, h;

	(void)state;
	assert_int_equal(run_esc("a\x01x", 3, out, &q, &h), 1);
	assert_int_equal(out[0], 'a');
	assert_int_equal(q, 1);
	/* x alone is just x */
	assert_int_equal(run_esc("x", 1, out, &q, &h), 1);
	assert_int_equal(q, 0);
}

static void test_esc_literal_ctrl_a(void **state)
{
	uint8_t out[16];
	unsigned q, h;

	(void)state;
	/* Ctrl-A Ctrl-A sends one; the following x is then a plain x. */
	assert_int_equal(run_esc("\x01\x01x", 3, out, &q, &h), 2);
	assert_int_equal(out[0], CTRL_A);
	assert_int_equal(out[1], 'x');
	assert_int_equal(q, 0);
	/* Four Ctrl-As make two. */
	assert_int_equal(run_esc("\x01\x01\x01\x01", 4, out, &q, &h), 2);
	assert_int_equal(out[0], CTRL_A);
	assert_int_equal(out[1], CTRL_A);
}

static void test_esc_unknown_and_help(void **state)
{
	uint8_t out[16];
	unsigned q, h;

	(void)state;
	assert_int_equal(run_esc("\x01q", 2, out, &q, &h), 2);
	assert_int_equal(out[0], CTRL_A);
	assert_int_equal(out[1], 'q');
	assert_int_equal(run_esc("\x01hk", 3, out, &q, &h), 1);
	assert_int_equal(h, 1);
	assert_int_equal(out[0], 'k');
	/* A trailing Ctrl-A is held back, not forwarded. */
	assert_int_equal(run_esc("z\x01", 2, out, &q, &h), 1);
}

static size_t drain_serial(struct serial *s, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	uint8_t lsr, c;

	for (;;) {
		serial_read(s, UART_LSR, &lsr, 1);
		if (!(lsr & UART_LSR_DR) || n == cap)
			return n;
		serial_read(s, UART_RBR, &c, 1);
		buf[n++] = c;
	}
}

/* Collect @want bytes from the UART, giving the reader thread up to ~10 s. */
static size_t wait_serial(struct serial *s, uint8_t *buf, size_t want)
{
	size_t n = 0;

	for (int i = 0; i < 10000 && n < want; i++) {
		n += drain_serial(s, buf + n, want - n);
		if (n < want)
			usleep(1000);
	}
	return n;
}

static void wait_stop(struct fake_stop *f)
{
	for (int i = 0; i < 10000 && !__atomic_load_n(&f->count, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
}

static void test_reader_forwards_pipe_until_eof(void **state)
{
	struct serial s;
	struct console con;
	struct fake_stop stop_f;
	struct dev_stop stop = fake_stop_ops(&stop_f);
	uint8_t got[64];
	int p[2];

	(void)state;
	assert_int_equal(serial_init(&s, NULL, 4, NULL), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(console_init(&con, &s, &stop, p[0]), 0);
	assert_int_equal(console_start(&con), 0);
	assert_false(con.raw); /* a pipe is not a terminal */
	/* Not a terminal: no escapes (not even ^A x), every byte reaches the guest as it is. */
	assert_int_equal(write(p[1], "hi\x01\x01!\x01x", 7), 7);
	close(p[1]);
	assert_int_equal(wait_serial(&s, got, 7), 7);
	assert_memory_equal(got, "hi\x01\x01!\x01x", 7);
	console_destroy(&con);
	assert_int_equal(drain_serial(&s, got, sizeof(got)), 0);
	assert_int_equal(stop_f.count, 0);
	close(p[0]);
	serial_destroy(&s);
}

/* Ctrl-A x typed on a terminal stops the VM; what came before it still goes in. */
static void test_reader_ctrl_a_x_stops_vm(void **state)
{
	struct serial s;
	struct console con;
	struct fake_stop stop_f;
	struct dev_stop stop = fake_stop_ops(&stop_f);
	uint8_t got[64];
	int master, slave;

	(void)state;
	assert_int_equal(serial_init(&s, NULL, 4, NULL), 0);
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	assert_int_equal(console_init(&con, &s, &stop, slave), 0);
	assert_int_equal(console_start(&con), 0);
	assert_true(con.raw);
	assert_int_equal(write(master, "ab\x01xcd", 6), 6);
	wait_stop(&stop_f);
	console_destroy(&con);
	assert_int_equal(stop_f.count, 1);
	assert_int_equal(stop_f.code, CONSOLE_QUIT_EXIT_CODE);
	assert_int_equal(drain_serial(&s, got, sizeof(got)), 2);
	assert_memory_equal(got, "ab", 2);
	close(master);
	close(slave);
	serial_destroy(&s);
}

static void test_destroy_stops_a_blocked_reader(void **state)
{
	struct serial s;
	struct console con;
	int p[2];

	(void)state;
	assert_int_equal(serial_init(&s, NULL, 4, NULL), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(console_init(&con, &s, NULL, p[0]), 0);
	assert_int_equal(console_start(&con), 0);
	console_destroy(&con); /* no EOF: must not hang */
	console_destroy(&con); /* idempotent */
	close(p[0]);
	close(p[1]);
	serial_destroy(&s);
}

static bool is_canonical(int fd)
{
	struct termios t;

	assert_int_equal(tcgetattr(fd, &t), 0);
	return (t.c_lflag & ICANON) && (t.c_lflag & ECHO) && (t.c_lflag & ISIG);
}

static void test_tty_raw_and_restored(void **state)
{
	struct serial s;
	struct console con;
	int master, slave;

	(void)state;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	assert_true(is_canonical(slave));
	assert_int_equal(serial_init(&s, NULL, 4, NULL), 0);
	assert_int_equal(console_init(&con, &s, NULL, slave), 0);
	assert_int_equal(console_start(&con), 0);
	assert_true(con.raw);
	{
		struct termios t;

		assert_int_equal(tcgetattr(slave, &t), 0);
		assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);
		assert_int_equal(t.c_iflag & ICRNL, 0);
	}
	/* Bytes typed on the terminal reach the UART, Ctrl-C included. */
	assert_int_equal(write(master, "\x03k", 2), 2);
	{
		uint8_t got[4];

		assert_int_equal(wait_serial(&s, got, 2), 2);
		assert_memory_equal(got, "\x03k", 2);
	}
	console_destroy(&con);
	assert_true(is_canonical(slave));
	close(master);
	close(slave);
	serial_destroy(&s);
}

/* A signal that kills the process must still leave the terminal cooked. */
static void check_restored_on_signal(int sig)
{
	int master, slave, status;
	pid_t pid;

	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct serial s;
		struct console con;
		struct termios t;

		/* The test runner's own handlers would catch it; a VMM has none. */
		signal(sig, SIG_DFL);
		if (serial_init(&s, NULL, 4, NULL) || console_init(&con, &s, NULL, slave) ||
		    console_start(&con))
			_exit(100);
		if (tcgetattr(slave, &t) || (t.c_lflag & ICANON))
			_exit(101);
		raise(sig);
		_exit(102); /* not reached: the signal's default action kills */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), sig);
	assert_true(is_canonical(slave));
	close(master);
	close(slave);
}

static void test_tty_restored_on_sigterm(void **state)
{
	(void)state;
	check_restored_on_signal(SIGTERM);
	check_restored_on_signal(SIGHUP);
	check_restored_on_signal(SIGINT);
}

static void test_tty_restored_on_fatal_signal(void **state)
{
	(void)state;
	check_restored_on_signal(SIGSEGV);
	check_restored_on_signal(SIGABRT);
}

static void test_tty_restored_on_exit(void **state)
{
	int master, slave, status;
	pid_t pid;

	(void)state;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct serial s;
		static struct console con;

		if (serial_init(&s, NULL, 4, NULL) || console_init(&con, &s, NULL, slave) ||
		    console_start(&con))
			_exit(100);
		exit(7); /* no console_destroy: atexit must restore */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_true(is_canonical(slave));
	close(master);
	close(slave);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_esc_plain_bytes_pass),
	    cmocka_unit_test(test_esc_quit),
	    cmocka_unit_test(test_esc_literal_ctrl_a),
	    cmocka_unit_test(test_esc_unknown_and_help),
	    cmocka_unit_test(test_reader_forwards_pipe_until_eof),
	    cmocka_unit_test(test_reader_ctrl_a_x_stops_vm),
	    cmocka_unit_test(test_destroy_stops_a_blocked_reader),
	    cmocka_unit_test(test_tty_raw_and_restored),
	    cmocka_unit_test(test_tty_restored_on_sigterm),
	    cmocka_unit_test(test_tty_restored_on_fatal_signal),
	    cmocka_unit_test(test_tty_restored_on_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
