/* SPDX-License-Identifier: MIT */
/* `nestvmm run`: boot a Linux kernel. */
#include "cli/commands.h"
#include "vmm/vm.h"

int cmd_run(int argc, char **argv)
{
	(void)argc, (void)argv;
	cli_error("run: not implemented yet");
	return VM_EXIT_USAGE;
}
