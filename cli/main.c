/* SPDX-License-Identifier: MIT */
/* nestvmm: a lean VMM on the raw KVM API. Dispatches to the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
	      "exit status: the guest's own (0 on power-off/reboot), 1 VMM error,\n"
	      "2 usage error, 3 guest crash (triple fault, reported fault)\n",
	      f);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "bench";

	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(argc > 1 ? argc - 1 : 1,
				 argc > 1 ? argv + 1 : (char *[]){"bench", NULL});
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
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
