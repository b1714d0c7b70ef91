/* SPDX-License-Identifier: MIT */
#include "devices/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "devices/serial.h"
#include "vmm/sandbox.h"

/* How long the reader waits for the guest to drain a full input buffer. */
#define CONSOLE_RETRY_MS 10

/* The terminal is per process, so its saved state is too. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_saved;
static volatile sig_atomic_t tty_fd = -1;

static const int console_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV,
				      SIGBUS, SIGILL,  SIGFPE, SIGABRT};
#define NR_CONSOLE_SIGNALS (sizeof(console_signals) / sizeof(console_signals[0]))
static struct sigaction old_actions[NR_CONSOLE_SIGNALS];
static bool handlers_installed;

static const char console_help[] = "\n"
				   "Ctrl-A x       quit (stop the VM)\n"
				   "Ctrl-A Ctrl-A  send Ctrl-A\n"
				   "Ctrl-A h       this help\n";

enum console_esc_action console_esc_feed(struct console_esc *esc, uint8_t c, uint8_t out[2],
					 size_t *nr_out)
{
	*nr_out = 0;
	if (!esc->after_escape) {
		if (c == CONSOLE_ESCAPE_CHAR) {
			esc->after_escape = true;
		} else {
			out[0] = c;
			*nr_out = 1;
		}
		return CONSOLE_ESC_FORWARD;
	}
	esc->after_escape = false;
	switch (c) {
	case 'x':
	case 'X':
		return CONSOLE_ESC_QUIT;
	case 'h':
	case 'H':
	case '?':
		return CONSOLE_ESC_HELP;
	case CONSOLE_ESCAPE_CHAR:
		out[0] = c;
		*nr_out = 1;
		return CONSOLE_ESC_FORWARD;
	default:
		/* Not an escape after all: nothing the user typed is lost. */
		out[0] = CONSOLE_ESCAPE_CHAR;
		out[1] = c;
		*nr_out = 2;
		return CONSOLE_ESC_FORWARD;
	}
}

void console_restore_tty(void)
{
	if (tty_saved) {
		tcsetattr(tty_fd, TCSANOW, &saved_tio);
		tty_saved = 0;
	}
}

static void console_atexit(void)
{
	console_restore_tty();
}

static int signal_index(int sig)
{
	for (size_t i = 0; i < NR_CONSOLE_SIGNALS; i++)
		if (console_signals[i] == sig)
			return (int)i;
	return -1;
}

static void console_signal(int sig, siginfo_t *info, void *uctx)
{
	int saved_errno = errno;
	int i = signal_index(sig);
	struct sigaction dfl;

	console_restore_tty();
	if (i >= 0) {
		const struct sigaction *old = &old_actions[i];

		if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
			old->sa_sigaction(sig, info, uctx);
			errno = saved_errno;
			return;
		}
		if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_IGN) {
			errno = saved_errno;
			return;
		}
		if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL) {
			old->sa_handler(sig);
			errno = saved_errno;
			return;
		}
	}
	/*
	 * Default action: the re-raised signal stays blocked until this handler
	 * returns, then kills the process the way it would have without us.
	 */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
	errno = saved_errno;
}

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = console_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NR_CONSOLE_SIGNALS; i++)
		sigaction(console_signals[i], &sa, &old_actions[i]);
	handlers_installed = true;
}

static void remove_handlers(void)
{
	if (!handlers_installed)
		return;
	for (size_t i = 0; i < NR_CONSOLE_SIGNALS; i++)
		sigaction(console_signals[i], &old_actions[i], NULL);
	handlers_installed = false;
}

static int enter_raw_mode(int fd)
{
	static bool atexit_done;
	struct termios tio;

	if (tcgetattr(fd, &saved_tio) < 0)
		return -errno;
	tio = saved_tio;
	tio.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	tio.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	tio.c_cflag &= ~(CSIZE | PARENB);
	tio.c_cflag |= CS8;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;

	if (!atexit_done) {
		if (atexit(console_atexit))
			return -ENOMEM;
		atexit_done = true;
	}
	tty_fd = fd;
	install_handlers();
	/* Saved and hooked before the switch, so no window leaves it raw. */
	tty_saved = 1;
	if (tcsetattr(fd, TCSANOW, &tio) < 0) {
		int err = errno;

		tty_saved = 0;
		remove_handlers();
		return -err;
	}
	return 0;
}

static void write_all_stderr(const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Returns false when woken to stop. */
static bool wait_wake(struct console *con, int timeout_ms)
{
	struct pollfd p = {.fd = con->wake_pipe[0], .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 0;
}

static bool push_all(struct console *con, const uint8_t *buf, size_t len)
{
	while (len) {
		size_t n = serial_push_input(con->serial, buf, len);

		buf += n;
		len -= n;
		if (len && !wait_wake(con, CONSOLE_RETRY_MS))
			return false;
	}
	return true;
}

static void *console_reader(void *arg)
{
	struct console *con = arg;
	uint8_t in[256], fwd[2 * sizeof(in)];

	pthread_setname_np(pthread_self(), "console");
	if (sandbox_enter(SANDBOX_CONSOLE) < 0) {
		dev_stop_request(&con->stop, 1, "the console cannot enter its sandbox (seccomp)");
		return NULL;
	}
	for (;;) {
		struct pollfd p[2] = {
		    {.fd = con->in_fd, .events = POLLIN},
		    {.fd = con->wake_pipe[0], .events = POLLIN},
		};
		size_t nf = 0;
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLNVAL)
			break;
		if (!p[0].revents)
			continue;
		n = read(con->in_fd, in, sizeof(in));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if (!con->raw) {
			/* Not a terminal: a script's bytes, escapes included, are data. */
			if (!push_all(con, in, (size_t)n))
				break;
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			size_t nr;

			switch (console_esc_feed(&con->esc, in[i], fwd + nf, &nr)) {
			case CONSOLE_ESC_FORWARD:
				nf += nr;
				break;
			case CONSOLE_ESC_HELP:
				write_all_stderr(console_help, sizeof(console_help) - 1);
				break;
			case CONSOLE_ESC_QUIT:
				push_all(con, fwd, nf);
				dev_stop_request(&con->stop, CONSOLE_QUIT_EXIT_CODE,
						 "console: Ctrl-A x");
				return NULL;
			}
		}
		if (!push_all(con, fwd, nf))
			break;
	}
	return NULL;
}

int console_init(struct console *con, struct serial *serial, const struct dev_stop *stop, int in_fd)
{
	memset(con, 0, sizeof(*con));
	con->serial = serial;
	if (stop)
		con->stop = *stop;
	con->in_fd = in_fd;
	if (pipe2(con->wake_pipe, O_CLOEXEC) < 0) {
		con->wake_pipe[0] = con->wake_pipe[1] = -1;
		return -errno;
	}
	return 0;
}

int console_start(struct console *con)
{
	int err;

	if (isatty(con->in_fd)) {
		err = enter_raw_mode(con->in_fd);
		if (err)
			return err;
		con->raw = true;
	}
	err = pthread_create(&con->thread, NULL, console_reader, con);
	if (err) {
		if (con->raw) {
			console_restore_tty();
			remove_handlers();
			con->raw = false;
		}
		return -err;
	}
	con->started = true;
	return 0;
}

void console_destroy(struct console *con)
{
	if (con->started) {
		ssize_t n;

		do {
			n = write(con->wake_pipe[1], "", 1);
		} while (n < 0 && errno == EINTR);
		pthread_join(con->thread, NULL);
		con->started = false;
	}
	if (con->raw) {
		console_restore_tty();
		remove_handlers();
		con->raw = false;
	}
	for (int i = 0; i < 2; i++) {
		if (con->wake_pipe[i] >= 0)
			close(con->wake_pipe[i]);
		con->wake_pipe[i] = -1;
	}
}
