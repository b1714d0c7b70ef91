/* SPDX-License-Identifier: MIT */
/* nestvmm: a lean VMM on the raw KVM API. Dispatches to the subcommands. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cli/commands.h"
#include "vmm/vm.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("nestvmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int check_mem_fits_host(uint64_t mem_size)
{
	struct sysinfo si;
	uint64_t ram;

	if (sysinfo(&si) < 0)
		return 0; /* unknown: KVM or the kernel will say */
	ram = (uint64_t)si.totalram * si.mem_unit;
	if (mem_size <= ram)
		return 0;
	cli_error("--mem: %llu MiB is more than this host's %llu MiB of RAM",
		  (unsigned long long)(mem_size >> 20), (unsigned long long)(ram >> 20));
	return -ENOMEM;
}

static void usage(FILE *f)
{
	fputs("usage: nestvmm <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  bench   run the bench guest's workloads and print where the time goes\n"
	      "  run     boot a Linux kernel (bzImage, initrd, cmdline)\n"
	      "  help    this text; `nestvmm <command> --help` for a command's options\n"
	      "  version print the version\n"
	      "\n"
	      "exit status: 0 guest power-off/reboot, 1 VMM error, 2 usage error,\n"
	      "3 guest crash (triple fault, reported fault), 128+N stopped by signal N,\n"
	      "odd (v << 1) | 1 the guest's write of v to the debug-exit port 0x501\n",
	      f);
}

/*
 * A closed stdin, stdout or stderr gets /dev/null, so that no file nestvmm
 * opens later (a disk image) becomes fd 1 and receives the guest's console.
 * Returns a bitmask of the descriptors that were closed.
 */
static unsigned int reserve_std_fds(void)
{
	unsigned int closed = 0;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		closed |= 1u << fd;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			abort(); /* the lowest free descriptor is @fd: cannot happen */
	}
	return closed;
}

/* What the command printed must have reached stdout: a full disk or a gone reader is an error. */
static int finish_stdout(int status)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	cli_error("cannot write to stdout: %s", strerror(errno ? errno : EIO));
	return status == 0 ? VM_EXIT_VMM_ERROR : status;
}

static int dispatch(int argc, char **argv);

uint64_t cli_launch_ns;

int main(int argc, char **argv)
{
	unsigned int closed;

	cli_launch_ns = vm_monotonic_ns(); /* "launch" in --stats */
	closed = reserve_std_fds();

	if (closed & (1u << STDOUT_FILENO)) {
		cli_error("stdout is closed: nothing nestvmm prints would be seen");
		return VM_EXIT_VMM_ERROR;
	}
	return finish_stdout(dispatch(argc, argv));
}

static int dispatch(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/*
	 * Before any thread exists: the stop signals go to vm_run() alone, and
	 * a closed stdout is an EPIPE the writer reports, not a silent death
	 * that leaves a terminal raw.
	 */
	if (vm_block_stop_signals() < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		cli_error("cannot set up signal handling: %s", strerror(errno));
		return VM_EXIT_VMM_ERROR;
	}

	if (!cmd) {
		usage(stderr);
		return VM_EXIT_USAGE;
	}
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		/* `nestvmm help run` is `nestvmm run --help` */
		if (argc > 2 && (strcmp(argv[2], "run") == 0 || strcmp(argv[2], "bench") == 0))
			return dispatch(3, (char *[]){argv[0], argv[2], "--help", NULL});
		if (argc > 2) {
			cli_error("help: unknown command '%s' (commands: bench, run)", argv[2]);
			return VM_EXIT_USAGE;
		}
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		puts("nestvmm " NESTVMM_VERSION);
		return 0;
	}
	cli_error("unknown command '%s' (try `nestvmm help`)", cmd);
	return VM_EXIT_USAGE;
}
