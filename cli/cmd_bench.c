/* SPDX-License-Identifier: MIT */
/* `nestvmm bench`: parse options, run the bench guest, print the table. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench_table.h"
#include "bench/bench_vm.h"
#include "bench/workloads.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/stats_output.h"
#include "vmm/vm.h"

static void bench_list(FILE *f);

static void bench_usage(FILE *f)
{
	fputs(
	    "usage: nestvmm bench [options] [WORKLOAD...]\n"
	    "  -w, --workload LIST   comma-separated workloads (default: all); names after\n"
	    "                        the options are added to the list\n"
	    "  -c, --cpus N          vCPUs, each runs every workload (default 1, max 16)\n"
	    "  -m, --mem SIZE        guest RAM, e.g. 256M (default 256M, min 128M)\n"
	    "      --min-time MS     repeat with 2x iterations until a run lasts MS (default 100)\n"
	    "      --iters N         exactly N iterations per workload, no growth\n"
	    "      --no-native       skip the native runs of the compute workloads\n"
	    "      --disk-size SIZE  the blk workloads' scratch image (default 256M)\n"
	    "      --json            print the table as JSON\n"
	    "      --stats[=json]    print the VM's exit statistics on stderr at exit\n"
	    "      --list            list the workloads\n"
	    "      --kvm PATH        the KVM device (default /dev/kvm)\n"
	    "  -h, --help            this text\n" NESTED_OPTION_HELP "\nworkloads:\n",
	    f);
	bench_list(f);
}

/* One line per workload: name, where it runs, what it measures. */
static void bench_list(FILE *f)
{
	size_t nr;
	const struct bench_workload_info *w = bench_workloads(&nr);

	for (size_t i = 0; i < nr; i++)
		fprintf(f, "  %-16s %-11s %s\n", w[i].name,
			w[i].level == BENCH_LEVEL_GUEST ? (w[i].cpl ? "CPL3" : "CPL0")
							: bench_level_name(w[i].level),
			w[i].what);
}

struct stats_hook {
	enum stats_mode mode;
};

static void print_stats(struct vm *vm, void *ctx)
{
	struct stats_hook *h = ctx;

	if (h->mode != STATS_OFF && stats_output_print(stderr, vm, h->mode, NULL, 0) < 0)
		cli_error("cannot print statistics");
}

int cmd_bench(int argc, char **argv)
{
	enum {
		OPT_MIN_TIME = 256,
		OPT_ITERS,
		OPT_NO_NATIVE,
		OPT_JSON,
		OPT_STATS,
		OPT_LIST,
		OPT_KVM,
		OPT_DISK_SIZE,
		OPT_NESTED
	};
	static const struct option longopts[] = {
	    {"workload", required_argument, NULL, 'w'},
	    {"cpus", required_argument, NULL, 'c'},
	    {"mem", required_argument, NULL, 'm'},
	    {"min-time", required_argument, NULL, OPT_MIN_TIME},
	    {"iters", required_argument, NULL, OPT_ITERS},
	    {"no-native", no_argument, NULL, OPT_NO_NATIVE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"stats", optional_argument, NULL, OPT_STATS},
	    {"list", no_argument, NULL, OPT_LIST},
	    {"kvm", required_argument, NULL, OPT_KVM},
	    {"disk-size", required_argument, NULL, OPT_DISK_SIZE},
	    {"nested", required_argument, NULL, OPT_NESTED},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct bench_outcome out;
	struct bench_options opt;
	struct stats_hook hook = {STATS_OFF};
	const char *why = NULL;
	bool json = false, listed = false;
	uint64_t v;
	char bad[80];
	int c, r;

	bench_options_default(&opt);
	optind = 1;
	opterr = 0; /* getopt's own messages are neither one line nor prefixed "nestvmm: " */
	while ((c = getopt_long(argc, argv, ":w:c:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			r = bench_parse_workloads(optarg, opt.workloads, BENCH_MAX_WORKLOADS, bad,
						  sizeof(bad));
			if (r == -E2BIG) {
				cli_error("--workload: more than %d workloads",
					  BENCH_MAX_WORKLOADS);
				return VM_EXIT_USAGE;
			}
			if (r < 0) {
				cli_error("--workload: unknown workload '%s' (see --list)", bad);
				return VM_EXIT_USAGE;
			}
			opt.nr_workloads = (unsigned int)r;
			listed = true;
			break;
		case 'c':
			if (parse_uint(optarg, 1, BENCH_MAX_CPUS, &v) < 0) {
				cli_error("--cpus: '%s' is not a number from 1 to %d", optarg,
					  BENCH_MAX_CPUS);
				return VM_EXIT_USAGE;
			}
			opt.nr_cpus = (unsigned int)v;
			break;
		case 'm':
			if (parse_size(optarg, &opt.mem_size) < 0 || opt.mem_size & 0xfff) {
				cli_error("--mem: '%s' is not a size like 256M or 2G", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_MIN_TIME:
			if (parse_uint(optarg, 1, 600000, &v) < 0) {
				cli_error("--min-time: '%s' is not milliseconds from 1 to 600000",
					  optarg);
				return VM_EXIT_USAGE;
			}
			opt.min_time_us = v * 1000;
			break;
		case OPT_ITERS:
			if (parse_uint(optarg, 1, 1ULL << 40, &opt.fixed_iters) < 0) {
				cli_error("--iters: '%s' is not a positive count", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_NO_NATIVE:
			opt.native = false;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_STATS:
			if (parse_stats_mode(optarg, &hook.mode) < 0) {
				cli_error("--stats: '%s' is neither table nor json", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_LIST:
			bench_list(stdout);
			return 0;
		case 'h':
			bench_usage(stdout);
			return 0;
		case OPT_KVM:
			opt.kvm_path = optarg;
			break;
		case OPT_DISK_SIZE:
			if (parse_size(optarg, &opt.disk_size) < 0 || opt.disk_size < 4096 ||
			    opt.disk_size & 0xfff) {
				cli_error("--disk-size: '%s' is not a size like 256M (4K at least)",
					  optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_NESTED:
			if (nested_parse_mode(optarg, &opt.nested) < 0) {
				cli_error("--nested: '%s' is not off, auto or on", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case ':':
			cli_error("bench: option '%s' needs a value", argv[optind - 1]);
			return VM_EXIT_USAGE;
		default:
			cli_error("bench: bad option '%s' (see --help)", argv[optind - 1]);
			return VM_EXIT_USAGE;
		}
	}
	if (optind < argc && !listed)
		opt.nr_workloads = 0;
	for (; optind < argc; optind++) {
		r = bench_parse_workloads(argv[optind], opt.workloads + opt.nr_workloads,
					  BENCH_MAX_WORKLOADS - opt.nr_workloads, bad, sizeof(bad));
		if (r == -E2BIG) {
			cli_error("bench: more than %d workloads", BENCH_MAX_WORKLOADS);
			return VM_EXIT_USAGE;
		}
		if (r < 0) {
			cli_error("bench: unknown workload '%s' (see --list)", bad);
			return VM_EXIT_USAGE;
		}
		opt.nr_workloads += (unsigned int)r;
	}

	if (check_mem_fits_host(opt.mem_size) < 0)
		return VM_EXIT_VMM_ERROR;
	if (bench_options_check(&opt, &why) < 0) {
		cli_error("bench: %s", why);
		return VM_EXIT_USAGE;
	}
	opt.trace_exits = hook.mode != STATS_OFF;
	r = bench_vm_run(&opt, &out, print_stats, &hook, &why);
	if (r < 0) {
		cli_error("%s", why ? why : strerror(-r));
		return VM_EXIT_VMM_ERROR;
	}
	if (json)
		bench_table_print_json(stdout, &out);
	else
		bench_table_print(stdout, &out);
	fflush(stdout);
	if (out.exit_code != 0)
		cli_error("%s", out.stop_why[0] ? out.stop_why : "the guest stopped with an error");
	return out.exit_code;
}
