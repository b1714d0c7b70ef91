/* SPDX-License-Identifier: MIT */
/* `nestvmm run`: boot a Linux kernel on the PC machine. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/disk_arg.h"
#include "cli/net_arg.h"
#include "cli/options.h"
#include "cli/stats_output.h"
#include "loader/bzimage.h"
#include "vmm/longmode.h"
#include "board/machine.h"
#include "vmm/sandbox.h"
#include "vmm/stats_report.h"
#include "vmm/vcpu.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/scsi.h"
#include "vmm/vm.h"

/* Appended to the user's command line; each only when the user did not set it. */
static const char *const default_params[] = {
    "console=ttyS0", /* the only console the machine has */
    "reboot=k",	     /* reboot through the i8042, which ends nestvmm with status 0 */
};

#define CMDLINE_MAX 4096
#define MAX_DISKS   8
/* --scsi images: the LUNs of one virtio-scsi controller. */
#define MAX_SCSI_LUNS 16
/* Ring entries per virtio-blk queue: Linux's default blk-mq depth fits. */
#define DISK_QUEUE_SIZE 256

#define MAX_NETS 4
/* Ring entries per virtio-net queue: Linux's default. */
#define NET_QUEUE_SIZE 256

/* One --net: what the user asked for, the open tap, the device. */
struct run_net {
	struct net_spec spec;
	struct net_tap tap;
	bool tap_open;
	uint8_t mac[6];
	struct virtio_net net;
	bool net_init;
};

/* One --disk or --scsi: what the user asked for, the open image, the device. */
struct run_disk {
	struct disk_spec spec;
	bool scsi; /* a LUN of the virtio-scsi controller, not a virtio-blk disk */
	struct blk_disk disk;
	bool disk_open;
	struct virtio_blk blk;
	bool blk_init;
};

struct mapped_file {
	const void *data;
	size_t len;
};

static void run_usage(FILE *f)
{
	fputs(
	    "usage: nestvmm run -k BZIMAGE [options]\n"
	    "  -k, --kernel FILE     Linux bzImage (boot protocol >= 2.06, 64-bit)\n"
	    "  -i, --initrd FILE     initramfs / initrd\n"
	    "  -p, --cmdline STR     kernel command line\n"
	    "  -c, --cpus N          vCPUs (default 1, max 64)\n"
	    "  -m, --mem SIZE        guest RAM, e.g. 512M or 2G (default 512M)\n"
	    "      --disk SPEC       a virtio-blk disk (repeatable; the first is /dev/vda):\n"
	    "                        PATH[,ro][,engine=io_uring|aio|sync][,cache=writeback|none]\n"
	    "                        one queue per vCPU; cache=none opens PATH with O_DIRECT;\n"
	    "                        a comma in PATH is written ,,\n"
	    "      --scsi SPEC       a LUN of one virtio-scsi controller (repeatable, at most\n"
	    "                        16; LUN n is the n-th, /dev/sda... in the guest): the\n"
	    "                        same SPEC as --disk, one engine for all the LUNs;\n"
	    "                        one request queue per vCPU\n"
	    "      --net SPEC        a virtio-net device on a tap (repeatable):\n"
	    "                        tap[=NAME][,mac=XX:XX:XX:XX:XX:XX][,queues=N][,mtu=N]\n"
	    "                        [,engine=io_uring|sync]; without NAME the kernel\n"
	    "                        makes one (its name is printed); one queue pair per\n"
	    "                        vCPU (at most 16); mtu= sets the tap's MTU and\n"
	    "                        offers it to the guest; the MAC is derived from NAME\n"
	    "      --kvm PATH        the KVM device (default /dev/kvm)\n"
	    "      --sandbox on|off  per-thread seccomp filters and no capabilities once\n"
	    "                        set up (default on; off is for debugging)\n"
	    "      --user USER[:GROUP]\n"
	    "                        run as this user (names or numbers) once /dev/kvm\n"
	    "                        and the disks are open\n"
	    "  -h, --help            this text\n"
	    "      --stats[=json]    print exit statistics on stderr when the VM "
	    "stops\n" NESTED_OPTION_HELP "\n"
	    "Appended to the command line unless already there: console=ttyS0 reboot=k.\n"
	    "The serial console is stdin/stdout; on a terminal, Ctrl-A x quits.\n"
	    "Exit status: 0 after guest power-off or reboot, 3 after a guest crash\n"
	    "(triple fault, or a kernel panic reported through pvpanic), 1 on a VMM\n"
	    "error, 2 on a usage error, 128+N after signal N (SIGINT, SIGTERM, SIGHUP),\n"
	    "159 when a sandboxed thread makes a forbidden system call (named on stderr),\n"
	    "((v << 1) | 1) & 0xff after the guest writes v to the debug-exit port 0x501.\n",
	    f);
}

static int map_file(const char *what, const char *path, struct mapped_file *out)
{
	struct stat st;
	void *p;
	/* O_NONBLOCK: a FIFO is refused below, not waited on for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		cli_error("cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cli_error("%s %s is not a regular file", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		cli_error("%s %s is empty", what, path);
		close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		cli_error("cannot read %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	out->data = p;
	out->len = (size_t)st.st_size;
	return 0;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
}

/* The user's command line plus whichever default parameter it lacks. */
static int build_cmdline(const char *user, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s", user ? user : "");

	for (size_t i = 0; i < sizeof(default_params) / sizeof(default_params[0]); i++) {
		const char *p = default_params[i];
		size_t key = (size_t)(strchr(p, '=') - p) + 1;
		bool present = false;

		for (const char *s = buf; *s; s++) {
			if ((s == buf || s[-1] == ' ') && strncmp(s, p, key) == 0) {
				present = true;
				break;
			}
		}
		if (present)
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " " : "", p);
		if (n >= len)
			return -E2BIG;
	}
	return 0;
}

/* Open every image before the VM exists: a bad disk costs no VM. */
static int open_disks(struct run_disk *disks, unsigned int n)
{
	const char *eio = getenv("NESTVMM_FAULT_EIO_AFTER");
	uint64_t eio_after = 0;
	char why[512];

	/* The tests' fault engine (bench/rig/l1-durability.sh): every disk goes bad there. */
	if (eio && *eio && parse_uint(eio, 1, UINT64_MAX, &eio_after) < 0) {
		cli_error("NESTVMM_FAULT_EIO_AFTER: '%s' is not a count of writes and flushes",
			  eio);
		return -1;
	}

	for (unsigned int i = 0; i < n; i++) {
		struct stat a, b;

		/* The same image twice would lock itself out ("in use by another VM"). */
		for (unsigned int j = 0; j < i; j++) {
			if (stat(disks[i].spec.path, &a) == 0 &&
			    stat(disks[j].spec.path, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino) {
				cli_error("%s %s: the same image as %s %s; give each disk "
					  "once",
					  disks[i].scsi ? "--scsi" : "--disk", disks[i].spec.path,
					  disks[j].scsi ? "--scsi" : "--disk", disks[j].spec.path);
				return -1;
			}
		}
		if (blk_disk_open(&disks[i].disk, &disks[i].spec, why, sizeof(why)) < 0) {
			cli_error("%s", why);
			return -1;
		}
		disks[i].disk_open = true;
		if (eio_after)
			blk_disk_inject_eio(&disks[i].disk, eio_after);
	}
	return 0;
}

/* Open every tap before the VM exists, as the disks: a bad tap costs no VM. */
static int open_nets(struct run_net *nets, unsigned int n, unsigned int nr_vcpus)
{
	char why[512];

	for (unsigned int i = 0; i < n; i++) {
		struct net_spec *sp = &nets[i].spec;
		unsigned int queues = sp->queues ? sp->queues : nr_vcpus;

		if (queues > NET_SPEC_MAX_QUEUES)
			queues = NET_SPEC_MAX_QUEUES;
		/* Two devices on one tap would split its queues between them. */
		for (unsigned int j = 0; j < i; j++) {
			if (sp->tap[0] && strcmp(sp->tap, nets[j].spec.tap) == 0) {
				cli_error("--net tap=%s: given twice; give each tap once", sp->tap);
				return -1;
			}
		}
		if (!net_engine_available(sp->engine)) {
			cli_error("--net: engine=%s is not available on this host (disabled by "
				  "sysctl or seccomp); engine=sync works everywhere",
				  net_engine_name(sp->engine));
			return -1;
		}
		if (net_tap_open(&nets[i].tap, sp->tap, queues, why, sizeof(why)) < 0) {
			cli_error("--net: %s", why);
			return -1;
		}
		nets[i].tap_open = true;
		if (sp->mtu && net_tap_set_mtu(&nets[i].tap, sp->mtu, why, sizeof(why)) < 0) {
			cli_error("--net: %s", why);
			return -1;
		}
		if (nets[i].tap.kernel_named)
			fprintf(stderr, "nestvmm: --net %u: the kernel made tap %s\n", i,
				nets[i].tap.name);
		if (sp->mac_set)
			memcpy(nets[i].mac, sp->mac, 6);
		else
			virtio_net_default_mac(nets[i].tap.name, i, nets[i].mac);
	}
	return 0;
}

static int attach_nets(struct run_net *nets, unsigned int n, struct machine *m)
{
	char why[256];
	const char *attach_why;

	for (unsigned int i = 0; i < n; i++) {
		struct run_net *rn = &nets[i];

		if (virtio_net_init(&rn->net, &rn->tap, rn->mac, rn->tap.nr_queues, NET_QUEUE_SIZE,
				    net_engine_ops(rn->spec.engine), why, sizeof(why)) < 0) {
			cli_error("%s", why);
			return -1;
		}
		rn->net_init = true;
		if (virtio_host_add(&m->virtio, &rn->net.vdev, &attach_why) < 0) {
			cli_error("tap %s: %s", rn->tap.name, attach_why);
			return -1;
		}
		if (virtio_net_seal(&rn->net, why, sizeof(why)) < 0) {
			cli_error("%s", why);
			return -1;
		}
	}
	return 0;
}

/* After machine_destroy(), as the disks. */
static void release_nets(struct run_net *nets, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (nets[i].net_init)
			virtio_net_destroy(&nets[i].net);
		if (nets[i].tap_open)
			net_tap_close(&nets[i].tap);
		nets[i].net_init = nets[i].tap_open = false;
	}
}

/* The --scsi images, as the LUNs of one controller. */
struct run_scsi {
	struct virtio_scsi dev;
	struct blk_disk *luns[MAX_SCSI_LUNS];
	bool init;
};

static int attach_scsi(struct run_scsi *sc, struct run_disk *disks, unsigned int n,
		       struct machine *m, unsigned int nr_queues)
{
	unsigned int nr_luns = 0;
	const char *attach_why;
	char why[256];

	for (unsigned int i = 0; i < n; i++)
		if (disks[i].scsi)
			sc->luns[nr_luns++] = &disks[i].disk;
	if (!nr_luns)
		return 0;
	if (nr_queues > VIRTIO_SCSI_MAX_REQ_QUEUES)
		nr_queues = VIRTIO_SCSI_MAX_REQ_QUEUES;
	if (virtio_scsi_init(&sc->dev, sc->luns, nr_luns, nr_queues, DISK_QUEUE_SIZE, why,
			     sizeof(why)) < 0) {
		cli_error("--scsi: %s", why);
		return -1;
	}
	sc->init = true;
	if (virtio_host_add(&m->virtio, &sc->dev.vdev, &attach_why) < 0) {
		cli_error("--scsi: %s", attach_why);
		return -1;
	}
	if (virtio_scsi_seal(&sc->dev, why, sizeof(why)) < 0) {
		cli_error("--scsi: %s", why);
		return -1;
	}
	return 0;
}

static int attach_disks(struct run_disk *disks, unsigned int n, struct machine *m,
			unsigned int nr_queues)
{
	char why[256];
	const char *attach_why;

	for (unsigned int i = 0; i < n; i++) {
		if (disks[i].scsi)
			continue;
		if (virtio_blk_init(&disks[i].blk, &disks[i].disk, nr_queues, DISK_QUEUE_SIZE, why,
				    sizeof(why)) < 0) {
			cli_error("disk %s: %s", disks[i].spec.path, why);
			return -1;
		}
		disks[i].blk_init = true;
		if (virtio_host_add(&m->virtio, &disks[i].blk.vdev, &attach_why) < 0) {
			cli_error("disk %s: %s", disks[i].spec.path, attach_why);
			return -1;
		}
		if (virtio_blk_seal(&disks[i].blk, why, sizeof(why)) < 0) {
			cli_error("disk %s: %s", disks[i].spec.path, why);
			return -1;
		}
	}
	return 0;
}

/*
 * Everything privileged is open (/dev/kvm, the VM, the disks) and no
 * thread exists yet: switch user, drop every capability, and turn the
 * per-thread seccomp filters on for the threads set-up makes from here.
 */
static int confine(bool sandbox, bool switch_user, unsigned int uid, unsigned int gid)
{
	const char *selftest;
	int r;

	if (switch_user && (r = sandbox_switch_user(uid, gid)) < 0) {
		cli_error("--user %u:%u: cannot switch to it: %s", uid, gid, strerror(-r));
		return -1;
	}
	if (!sandbox)
		return 0;
	/* The tests' hook (tests/kvm/run_cli.py): a thread of that kind breaks its filter. */
	if ((selftest = getenv("NESTVMM_SANDBOX_SELFTEST")) && sandbox_selftest(selftest) < 0) {
		cli_error("NESTVMM_SANDBOX_SELFTEST: '%s' is not main, vcpu, io, net or console",
			  selftest);
		return -1;
	}
	if ((r = sandbox_drop_caps()) < 0) {
		cli_error("sandbox: cannot drop the capabilities: %s (--sandbox off runs without)",
			  strerror(-r));
		return -1;
	}
	if ((r = sandbox_enable(console_restore_tty)) < 0) {
		cli_error("sandbox: cannot install its SIGSYS handler: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* After machine_destroy(): the transports have stopped the devices' threads. */
static void release_disks(struct run_disk *disks, unsigned int n, struct run_scsi *sc)
{
	if (sc->init)
		virtio_scsi_destroy(&sc->dev);
	sc->init = false;
	for (unsigned int i = 0; i < n; i++) {
		if (disks[i].blk_init)
			virtio_blk_destroy(&disks[i].blk);
		if (disks[i].disk_open)
			blk_disk_close(&disks[i].disk);
		disk_spec_free(&disks[i].spec);
	}
}

int cmd_run(int argc, char **argv)
{
	enum {
		OPT_STATS = 256,
		OPT_KVM,
		OPT_DISK,
		OPT_SCSI,
		OPT_NET,
		OPT_NESTED,
		OPT_SANDBOX,
		OPT_USER
	};
	static const struct option longopts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"cmdline", required_argument, NULL, 'p'},
	    {"cpus", required_argument, NULL, 'c'},
	    {"mem", required_argument, NULL, 'm'},
	    {"stats", optional_argument, NULL, OPT_STATS},
	    {"kvm", required_argument, NULL, OPT_KVM},
	    {"disk", required_argument, NULL, OPT_DISK},
	    {"scsi", required_argument, NULL, OPT_SCSI},
	    {"net", required_argument, NULL, OPT_NET},
	    {"nested", required_argument, NULL, OPT_NESTED},
	    {"sandbox", required_argument, NULL, OPT_SANDBOX},
	    {"user", required_argument, NULL, OPT_USER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct vm_config cfg = {.mem_size = 512ULL << 20, .nr_vcpus = 1, .stats = true};
	const char *kernel_path = NULL, *initrd_path = NULL, *user_cmdline = NULL;
	struct mapped_file kernel = {0}, initrd = {0};
	enum stats_mode stats = STATS_OFF;
	static struct vm vm;
	static struct machine machine;
	static struct run_disk disks[MAX_DISKS + MAX_SCSI_LUNS];
	static struct run_scsi scsi;
	unsigned int nr_disks = 0, nr_blk = 0, nr_scsi = 0, first_scsi = 0;
	static struct run_net nets[MAX_NETS];
	unsigned int nr_nets = 0;
	static struct stats_device net_stats[MAX_NETS];
	char disk_why[256];
	struct linux_boot boot;
	char cmdline[CMDLINE_MAX];
	const char *why = NULL;
	bool sandbox = true, switch_user = false;
	unsigned int uid = 0, gid = 0;
	uint64_t v;
	int c, r, status = VM_EXIT_VMM_ERROR;

	optind = 1;
	opterr = 0; /* getopt's own messages are neither one line nor prefixed "nestvmm: " */
	while ((c = getopt_long(argc, argv, ":k:i:p:c:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kernel_path = optarg;
			break;
		case 'i':
			initrd_path = optarg;
			break;
		case 'p':
			user_cmdline = optarg;
			break;
		case 'c':
			if (parse_uint(optarg, 1, VM_MAX_VCPUS, &v) < 0) {
				cli_error("--cpus: '%s' is not a number from 1 to %d", optarg,
					  VM_MAX_VCPUS);
				return VM_EXIT_USAGE;
			}
			cfg.nr_vcpus = (unsigned int)v;
			break;
		case 'm':
			if (parse_size(optarg, &cfg.mem_size) < 0 || cfg.mem_size & 0xfff ||
			    cfg.mem_size < (16ULL << 20)) {
				cli_error(
				    "--mem: '%s' is not a size of at least 16M, like 512M or 2G",
				    optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_STATS:
			if (parse_stats_mode(optarg, &stats) < 0) {
				cli_error("--stats: '%s' is neither table nor json", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_KVM:
			cfg.kvm_path = optarg;
			break;
		case OPT_NESTED:
			if (nested_parse_mode(optarg, &cfg.nested) < 0) {
				cli_error("--nested: '%s' is not off, auto or on", optarg);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			break;
		case OPT_SANDBOX:
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
				cli_error("--sandbox: '%s' is neither on nor off", optarg);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			sandbox = strcmp(optarg, "on") == 0;
			break;
		case OPT_USER:
			r = parse_user_spec(optarg, &uid, &gid);
			if (r < 0) {
				cli_error(r == -ENOENT
					      ? "--user: '%s': no such user or group"
					      : "--user: '%s' is not USER[:GROUP] (names or "
						"numbers)",
					  optarg);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			switch_user = true;
			break;
		case OPT_DISK:
		case OPT_SCSI:
			if (c == OPT_DISK ? nr_blk == MAX_DISKS : nr_scsi == MAX_SCSI_LUNS) {
				cli_error(c == OPT_DISK ? "--disk: at most %d disks"
							: "--scsi: at most %d LUNs",
					  c == OPT_DISK ? MAX_DISKS : MAX_SCSI_LUNS);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			if (disk_spec_parse_as(&disks[nr_disks].spec,
					       c == OPT_DISK ? "--disk" : "--scsi", optarg,
					       disk_why, sizeof(disk_why)) < 0) {
				cli_error("%s", disk_why);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			disks[nr_disks].scsi = c == OPT_SCSI;
			if (c == OPT_SCSI && nr_scsi &&
			    disks[nr_disks].spec.engine != disks[first_scsi].spec.engine) {
				cli_error(
				    "--scsi %s: engine %s, but LUN 0 (%s) has %s: the LUNs of "
				    "one controller share one engine",
				    disks[nr_disks].spec.path,
				    blk_engine_name(disks[nr_disks].spec.engine),
				    disks[first_scsi].spec.path,
				    blk_engine_name(disks[first_scsi].spec.engine));
				nr_disks++;
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			if (c == OPT_SCSI && !nr_scsi)
				first_scsi = nr_disks;
			nr_blk += c == OPT_DISK;
			nr_scsi += c == OPT_SCSI;
			nr_disks++;
			break;
		case OPT_NET:
			if (nr_nets == MAX_NETS) {
				cli_error("--net: at most %d devices", MAX_NETS);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			if (net_spec_parse(&nets[nr_nets].spec, optarg, disk_why,
					   sizeof(disk_why)) < 0) {
				cli_error("%s", disk_why);
				release_disks(disks, nr_disks, &scsi);
				return VM_EXIT_USAGE;
			}
			nr_nets++;
			break;
		case 'h':
			release_disks(disks, nr_disks, &scsi);
			run_usage(stdout);
			return 0;
		case ':':
			cli_error("run: option '%s' needs a value", argv[optind - 1]);
			release_disks(disks, nr_disks, &scsi);
			return VM_EXIT_USAGE;
		default:
			cli_error("run: bad option '%s' (see --help)", argv[optind - 1]);
			release_disks(disks, nr_disks, &scsi);
			return VM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("run: unexpected argument '%s'", argv[optind]);
		status = VM_EXIT_USAGE;
		goto out_files;
	}
	if (!kernel_path) {
		cli_error("run: no kernel given (-k BZIMAGE)");
		status = VM_EXIT_USAGE;
		goto out_files;
	}
	if (check_mem_fits_host(cfg.mem_size) < 0)
		goto out_files;
	if (build_cmdline(user_cmdline, cmdline, sizeof(cmdline)) < 0) {
		cli_error("--cmdline: longer than %d bytes", CMDLINE_MAX - 1);
		status = VM_EXIT_USAGE;
		goto out_files;
	}
	if (map_file("kernel", kernel_path, &kernel) < 0 ||
	    (initrd_path && map_file("initrd", initrd_path, &initrd) < 0) ||
	    open_disks(disks, nr_disks) < 0 || open_nets(nets, nr_nets, cfg.nr_vcpus) < 0)
		goto out_files;

	cfg.trace_exits = stats != STATS_OFF;
	cfg.launch_ns = cli_launch_ns;
	r = vm_create(&vm, &cfg, &why);
	if (r < 0) {
		cli_error("%s", why);
		goto out_vm;
	}
	if (confine(sandbox, switch_user, uid, gid) < 0)
		goto out_vm;
	r = machine_init(&machine, &vm, STDIN_FILENO, &why);
	if (r < 0) {
		cli_error("%s", why);
		goto out_machine;
	}
	if (attach_disks(disks, nr_disks, &machine, cfg.nr_vcpus) < 0 ||
	    attach_scsi(&scsi, disks, nr_disks, &machine, cfg.nr_vcpus) < 0 ||
	    attach_nets(nets, nr_nets, &machine) < 0)
		goto out_machine;
	if (boot_longmode_setup(&vm.mem) < 0) {
		cli_error("guest RAM too small for the boot page tables");
		goto out_machine;
	}
	r = linux_load(&vm.mem, kernel.data, kernel.len, initrd.data, initrd.len, cmdline,
		       machine.acpi_rsdp_gpa, &boot, &why);
	if (r < 0) {
		cli_error("%s %s: %s", r == -EFBIG ? "initrd" : "kernel",
			  r == -EFBIG ? initrd_path : kernel_path, why ? why : strerror(-r));
		goto out_machine;
	}
	/* Only the boot CPU starts; the others wait for the kernel's INIT/SIPI. */
	r = vcpu_set_long_mode(&vm.vcpus[0], boot.entry_gpa, boot.zero_page_gpa, 0);
	if (r < 0) {
		cli_error("boot vCPU set-up: %s", strerror(-r));
		goto out_machine;
	}
	/* The loaded files live in guest RAM now. */
	unmap_file(&kernel);
	unmap_file(&initrd);
	kernel.data = initrd.data = NULL;

	if (machine_start_console(&machine) < 0) {
		cli_error("cannot start the console");
		goto out_machine;
	}
	status = vm_run(&vm);
	if (vm.vcpus_abandoned)
		console_restore_tty(); /* a vCPU may still touch the devices: leave them */
	else
		machine_destroy(&machine);
	for (unsigned int i = 0; i < nr_nets && nets[i].net_init; i++)
		virtio_net_stats_device(&nets[i].net, &net_stats[i]);
	if (stats != STATS_OFF && stats_output_print(stderr, &vm, stats, net_stats, nr_nets) < 0)
		cli_error("cannot print statistics");
	if (status != 0)
		cli_error("%s", vm.stop_why[0] ? vm.stop_why : "the guest stopped with an error");
	if (!vm.vcpus_abandoned) {
		release_disks(disks, nr_disks, &scsi);
		release_nets(nets, nr_nets);
	}
	vm_destroy(&vm);
	return status;

out_machine:
	machine_destroy(&machine);
out_vm:
	vm_destroy(&vm);
out_files:
	release_disks(disks, nr_disks, &scsi);
	release_nets(nets, nr_nets);
	unmap_file(&kernel);
	unmap_file(&initrd);
	return status;
}
