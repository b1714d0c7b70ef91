/* SPDX-License-Identifier: MIT */
/*
 * The host terminal side of the serial console.
 *
 * If the input fd is a TTY it is put in raw mode (output post-processing is
 * kept, so the VMM's own messages still get their carriage returns) and the
 * original mode is restored on every way out: console_destroy(), exit()
 * (atexit), SIGINT/SIGTERM/SIGHUP and the fatal signals (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT). A signal handler that was installed before
 * console_start() is chained to after the restore; otherwise the signal's
 * default action is taken. A handler installed after console_start() must
 * call console_restore_tty() itself (it is async-signal-safe).
 *
 * A reader thread forwards input to the UART. Escapes, as in QEMU:
 *   Ctrl-A x       stop the VM; the VMM exits with code 0
 *   Ctrl-A Ctrl-A  send one Ctrl-A to the guest
 *   Ctrl-A h       print the escapes on stderr
 *   Ctrl-A other   both bytes go to the guest
 * Escapes exist only on a TTY: from a pipe or a file every byte is the
 * guest's, so a script's 0x01 'x' is data, not a quit. EOF on the input
 * stops the reader and nothing else.
 */
#ifndef NESTVMM_CONSOLE_H
#define NESTVMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"

struct serial;

#define CONSOLE_ESCAPE_CHAR    0x01 /* Ctrl-A */
#define CONSOLE_QUIT_EXIT_CODE 0

/* The escape state machine, pure: no I/O. */
struct console_esc {
	bool after_escape;
};

enum console_esc_action {
	CONSOLE_ESC_FORWARD, /* send the *nr_out bytes put in out[] (may be 0) */
	CONSOLE_ESC_QUIT,    /* Ctrl-A x */
	CONSOLE_ESC_HELP,    /* Ctrl-A h */
};

/* Feed one input byte; @out has room for 2 bytes. */
enum console_esc_action console_esc_feed(struct console_esc *esc, uint8_t c, uint8_t out[2],
					 size_t *nr_out);

struct console {
	struct serial *serial;
	struct dev_stop stop;
	int in_fd;
	int wake_pipe[2]; /* written by console_destroy to end the reader */
	bool raw;	  /* the tty was switched to raw mode */
	bool started;
	pthread_t thread;
	struct console_esc esc;
};

/* @stop is copied. Does not touch the terminal yet. Returns 0 or -errno. */
int console_init(struct console *con, struct serial *serial, const struct dev_stop *stop,
		 int in_fd);
/* Raw mode (if @in_fd is a TTY), signal handlers, and the reader thread. */
int console_start(struct console *con);
/* Stops the reader, restores the terminal. Safe to call more than once. */
void console_destroy(struct console *con);

/* Restore the terminal mode saved by console_start(). Async-signal-safe. */
void console_restore_tty(void);

#endif
