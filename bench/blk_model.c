/* SPDX-License-Identifier: MIT */
/*
 * blk-model: the virtio-blk device model against the backend's limit, no
 * KVM involved; with --device scsi, the virtio-scsi device model the same
 * way (one LUN, one request queue, READ(16)/WRITE(16) through the SCSI
 * target): the scsi-model.
 *
 * This process plays the guest's driver on the real split-ring code and
 * feeds the real device model (virtio/blk.c) with its real I/O thread and
 * engine (io_uring unless --engine says otherwise) on a file. The reference
 * is fio with the same engine, the same file, the same pattern and depth,
 * run in the same process lifetime, so both see the same page cache and the
 * same machine state; runs alternate order round by round because these
 * machines drift.
 *
 * What the nestvmm figure includes, honestly: the driver's own work (laying
 * out requests, reading the used ring, its kicks as eventfd writes, its
 * sleeps on the "interrupt" eventfd) runs on this thread beside the device
 * thread, like a guest vCPU beside its VMM's I/O thread. A kick here is a
 * cheap write(2), where a real guest pays a VM exit (ioeventfd), so this
 * bounds the device model from above; it does not model the guest kernel.
 * The driver polls the used ring for a while (--spin-us, 50 us) before it
 * sleeps, like a guest driver with poll queues; it yields the CPU between
 * looks, since on a small host a pure spin starves the io_uring workers that
 * carry buffered I/O punted out of line (tmpfs). It asks for an interrupt at
 * every batch (used_event), so the device pays for its notifications (one
 * eventfd write per batch). On hosts where a cross-CPU wakeup is costly (a
 * nested or paravirtual host: an IPI is an exit) --spin-us 0, a purely
 * interrupt-driven guest, is dominated by the two wakeups per batch.
 * The model side runs two threads (driver and device) where fio runs one,
 * so on a host with idle cores a ratio above 1 is possible and means "the
 * device model is not the bottleneck", not "faster than the backend".
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/blk_req.h"
#include "virtio/scsi.h"
#include "virtio/scsi_req.h"
#include "block/block.h"
#include "bench/model_ring.h"
#include "bench/model_transport.h"
#include "vmm/guest_mem.h"

#define DEFAULT_SIZE	(1ull << 30)
#define DEFAULT_DIR	"/dev/shm"
#define QUEUE_SIZE	256
#define MAX_QD		64
#define MAX_BS		(128u << 10)
#define RAM_SIZE	(64ull << 20)
#define MAX_ROUNDS	9
#define DEFAULT_SPIN_US 50
#define FIO_OUT_MAX	(1u << 20)

/* Guest RAM layout: rings, then per-slot headers and status bytes, then data. */
#define DESC_GPA      0x10000ull
#define AVAIL_GPA     0x20000ull
#define USED_GPA      0x30000ull
#define HDR_GPA(s)    (0x100000ull + 32ull * (s))
#define STATUS_GPA(s) (HDR_GPA(s) + 16)
/* virtio-scsi: the request header (51 bytes) and the response area (108) of slot s. */
#define SCSI_REQ_GPA(s)	 (0x200000ull + 256ull * (s))
#define SCSI_RESP_GPA(s) (SCSI_REQ_GPA(s) + 64)
#define SCSI_REQ_LEN	 (VIRTIO_SCSI_CMD_HDR + VIRTIO_SCSI_CDB_SIZE)
#define SCSI_RESP_LEN	 (VIRTIO_SCSI_RESP_HDR + VIRTIO_SCSI_SENSE_SIZE)
/* The request queue the bench drives: virtio-blk's first, virtio-scsi's first request queue. */
#define BLK_QUEUE   0
#define SCSI_QUEUE  VIRTIO_SCSI_FIRST_REQ_QUEUE
#define DATA_GPA(s) (0x400000ull + (uint64_t)MAX_BS * (s))

struct workload {
	const char *name;
	const char *fio_rw;
	uint32_t bs;
	unsigned int qd;
	bool write;
	bool random;
	double goal; /* nestvmm / fio to reach; 0: none */
};

static const struct workload workloads[] = {
    {"randread 4k qd1", "randread", 4096, 1, false, true, 0},
    {"randread 4k qd32", "randread", 4096, 32, false, true, 0.90},
    {"seqread 128k qd32", "read", 128 << 10, 32, false, false, 0.95},
    {"seqwrite 128k qd32", "write", 128 << 10, 32, true, false, 0.95},
};
#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

struct figures {
	double iops;
	double mbps;		/* 10^6 bytes per second */
	double kicks_per_io;	/* driver -> device notifications */
	double notifies_per_io; /* device -> driver interrupts */
};

struct opts {
	const char *file;
	const char *dir;
	uint64_t size;
	double seconds;
	unsigned int rounds;
	unsigned int spin_us;
	enum blk_engine engine;
	bool scsi;	  /* --device scsi */
	const char *only; /* run the workloads whose name starts with this */
	long poll_us;	  /* --device-poll-us; < 0: the device's default */
	bool json;
};

/* ---- the driver ---- */

struct drv {
	uint8_t *ram; /* host address of gpa 0 (one region) */
	struct model_ring ring;
	unsigned int outstanding;
	uint64_t spin_ns; /* polls the used ring this long before it sleeps */

	const struct workload *w;
	uint64_t nr_blocks; /* of w->bs in the file */
	uint64_t next_block;
	uint64_t rng;
	uint64_t done;
	bool scsi; /* lays out virtio-scsi requests */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void put_desc(struct drv *d, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct virtq_desc *e = &d->ring.desc[i];

	e->addr = htole64(addr);
	e->len = htole32(len);
	e->flags = htole16(flags);
	e->next = htole16(next);
}

/*
 * Slot s owns descriptors 3s, 3s + 1, 3s + 2: virtio-blk header, data,
 * status; virtio-scsi header, then data-out and response (a write) or
 * response and data-in (a read).
 */
static void drv_layout(struct drv *d, const struct workload *w)
{
	for (unsigned int s = 0; s < w->qd; s++) {
		uint16_t h = (uint16_t)(3 * s);
		uint16_t wr = w->write ? 0 : VIRTQ_DESC_F_WRITE;

		if (!d->scsi) {
			put_desc(d, h, HDR_GPA(s), 16, VIRTQ_DESC_F_NEXT, h + 1);
			put_desc(d, h + 1, DATA_GPA(s), w->bs, VIRTQ_DESC_F_NEXT | wr, h + 2);
			put_desc(d, h + 2, STATUS_GPA(s), 1, VIRTQ_DESC_F_WRITE, 0);
			continue;
		}
		put_desc(d, h, SCSI_REQ_GPA(s), SCSI_REQ_LEN, VIRTQ_DESC_F_NEXT, h + 1);
		if (w->write) {
			put_desc(d, h + 1, DATA_GPA(s), w->bs, VIRTQ_DESC_F_NEXT, h + 2);
			put_desc(d, h + 2, SCSI_RESP_GPA(s), SCSI_RESP_LEN, VIRTQ_DESC_F_WRITE, 0);
		} else {
			put_desc(d, h + 1, SCSI_RESP_GPA(s), SCSI_RESP_LEN,
				 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, h + 2);
			put_desc(d, h + 2, DATA_GPA(s), w->bs, VIRTQ_DESC_F_WRITE, 0);
		}
	}
}

/* A READ(16) or WRITE(16) of @w->bs at 512-byte sector @sector, for LUN 0. */
static void scsi_header(uint8_t *h, const struct workload *w, uint64_t sector, unsigned int slot)
{
	uint32_t n = w->bs / VIRTIO_BLK_SECTOR_SIZE;
	uint8_t *cdb = h + VIRTIO_SCSI_CMD_HDR;

	memset(h, 0, SCSI_REQ_LEN);
	h[0] = 1;    /* single-level LUN structure, target 0 */
	h[2] = 0x40; /* flat addressing, LUN 0 */
	h[8] = (uint8_t)slot;
	cdb[0] = w->write ? 0x8a : 0x88;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(sector >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		cdb[10 + i] = (uint8_t)(n >> (24 - 8 * i));
}

static void drv_add(struct drv *d, unsigned int slot)
{
	const struct workload *w = d->w;
	uint32_t *hdr = (uint32_t *)(d->ram + HDR_GPA(slot));
	uint64_t block, sector;

	if (w->random) {
		block = xorshift(&d->rng) % d->nr_blocks;
	} else {
		block = d->next_block++;
		if (d->next_block == d->nr_blocks)
			d->next_block = 0;
	}
	sector = block * (w->bs / VIRTIO_BLK_SECTOR_SIZE);
	if (d->scsi) {
		scsi_header(d->ram + SCSI_REQ_GPA(slot), w, sector, slot);
		d->ram[SCSI_RESP_GPA(slot) + 11] = 0xff; /* the response byte */
	} else {
		hdr[0] = htole32(w->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
		hdr[1] = 0;
		hdr[2] = htole32((uint32_t)sector);
		hdr[3] = htole32((uint32_t)(sector >> 32));
		d->ram[STATUS_GPA(slot)] = 0xff;
	}
	model_ring_add(&d->ring, (uint16_t)(3 * slot));
	d->outstanding++;
}

/* Whether slot @slot's request came back good. */
static bool drv_ok(const struct drv *d, unsigned int slot)
{
	if (d->scsi)
		return d->ram[SCSI_RESP_GPA(slot) + 11] == VIRTIO_SCSI_S_OK &&
		       d->ram[SCSI_RESP_GPA(slot) + 10] == 0; /* GOOD */
	return d->ram[STATUS_GPA(slot)] == VIRTIO_BLK_S_OK;
}

/* Take what the device used; refill each freed slot when @refill. */
static unsigned int drv_reap(struct drv *d, bool refill)
{
	uint16_t idx = model_ring_used_idx(&d->ring);
	unsigned int n = 0;

	while (d->ring.last_used != idx) {
		struct virtq_used_elem *e =
		    &d->ring.used->ring[d->ring.last_used & (QUEUE_SIZE - 1)];
		unsigned int slot = le32toh(e->id) / 3;

		if (!drv_ok(d, slot))
			d->ring.errors++;
		d->ring.last_used++;
		d->outstanding--;
		d->done++;
		n++;
		if (refill)
			drv_add(d, slot);
	}
	if (n) {
		/* An interrupt for the next used buffer, like a driver with callbacks on. */
		model_ring_want_irq(&d->ring);
		model_ring_publish(&d->ring);
	}
	return n;
}

static int run_model(struct drv *d, struct model_transport *tr, const struct workload *w,
		     uint64_t file_size, double seconds, struct figures *fig)
{
	uint64_t kicks0 = d->ring.kicks,
		 notifies0 = __atomic_load_n(&tr->notifies, __ATOMIC_RELAXED);
	uint64_t t0, t_end, last_activity, now, done_at_end;
	uint64_t deadline;

	d->w = w;
	d->nr_blocks = file_size / w->bs;
	d->next_block = 0;
	d->done = 0;
	d->ring.errors = 0;
	drv_layout(d, w);

	t0 = now_ns();
	t_end = t0 + (uint64_t)(seconds * 1e9);
	for (unsigned int s = 0; s < w->qd; s++)
		drv_add(d, s);
	model_ring_publish(&d->ring);
	last_activity = t0;
	for (;;) {
		unsigned int n = drv_reap(d, true);

		now = now_ns();
		if (now >= t_end)
			break;
		if (n)
			last_activity = now;
		else if (now - last_activity >= d->spin_ns)
			model_ring_sleep(&d->ring);
		else
			sched_yield();
	}
	done_at_end = d->done;
	/* Drain what is still in flight; not counted. */
	deadline = now + 10ull * 1000000000ull;
	while (d->outstanding && now_ns() < deadline)
		if (!drv_reap(d, false))
			model_ring_sleep(&d->ring);
	if (d->outstanding) {
		fprintf(stderr, "blk-model: %u requests never completed\n", d->outstanding);
		return -ETIMEDOUT;
	}
	if (d->ring.errors) {
		fprintf(stderr, "blk-model: %s: %" PRIu64 " requests failed\n", w->name,
			d->ring.errors);
		return -EIO;
	}
	fig->iops = (double)done_at_end / ((double)(now - t0) / 1e9);
	fig->mbps = fig->iops * w->bs / 1e6;
	/* Over the whole run, drain included: the device thread is idle by now. */
	fig->kicks_per_io = (double)(d->ring.kicks - kicks0) / (double)d->done;
	fig->notifies_per_io =
	    (double)(__atomic_load_n(&tr->notifies, __ATOMIC_RELAXED) - notifies0) /
	    (double)d->done;
	return 0;
}

/* ---- fio ---- */

/* The number after "key" : inside the object that starts at @obj. */
static bool json_number(const char *obj, const char *key, double *out)
{
	char pat[64];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(obj, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p != ':')
		return false;
	*out = strtod(p + 1, &end);
	return end != p + 1;
}

/* The object value of "key" : { ... } (its opening brace), or NULL. */
static const char *json_object(const char *s, const char *key)
{
	char pat[64];
	size_t len;

	len = (size_t)snprintf(pat, sizeof(pat), "\"%s\"", key);
	for (const char *p = strstr(s, pat); p; p = strstr(p + 1, pat)) {
		const char *q = p + len;

		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q != ':')
			continue;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q == '{')
			return q;
	}
	return NULL;
}

/* Run fio with @argv; its stdout into @out. Returns the exit status, or -errno. */
static int run_capture(char *const argv[], char *out, size_t out_len)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(pipefd[1], STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		close(pipefd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, out_len - 1 - used);

		if (n > 0) {
			used += (size_t)n;
			if (used == out_len - 1)
				break;
		} else if (n == 0 || errno != EINTR) {
			break;
		}
	}
	out[used] = 0;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Whether fio runs here; if not, why (for the SKIP column). */
static bool fio_available(const char *engine, char *why, size_t why_len)
{
	char *argv[] = {"fio", "--version", NULL};
	char *out = malloc(4096);
	int r;

	if (!out) {
		snprintf(why, why_len, "out of memory");
		return false;
	}
	r = run_capture(argv, out, 4096);
	free(out);
	if (r == 127) {
		snprintf(why, why_len, "fio not installed (scripts/install-deps installs it)");
		return false;
	}
	if (r != 0) {
		snprintf(why, why_len, "fio --version failed (status %d)", r);
		return false;
	}
	if (strcmp(engine, "io_uring") && strcmp(engine, "sync") && strcmp(engine, "aio")) {
		snprintf(why, why_len, "no fio engine for %s", engine);
		return false;
	}
	return true;
}

static int run_fio(const struct workload *w, const char *file, const char *engine, double seconds,
		   char *buf, struct figures *fig)
{
	char filename[300], bs[32], iodepth[32], runtime[32], ioengine[32];
	/* gtod_reduce: fio without per-I/O latency clocks, the leaner reference. */
	char *argv[] = {"fio",
			"--name=blk-model",
			ioengine,
			"--direct=0",
			"--invalidate=0",
			"--gtod_reduce=1",
			filename,
			NULL /* rw */,
			bs,
			iodepth,
			runtime,
			"--time_based",
			"--output-format=json",
			NULL};
	char rw[32];
	const char *obj;
	double iops, bw;
	int r;

	/* Same engine as the model: fio calls libaio "libaio" and the sync engine "psync". */
	snprintf(ioengine, sizeof(ioengine), "--ioengine=%s",
		 !strcmp(engine, "aio")	   ? "libaio"
		 : !strcmp(engine, "sync") ? "psync"
					   : engine);
	snprintf(filename, sizeof(filename), "--filename=%s", file);
	snprintf(rw, sizeof(rw), "--rw=%s", w->fio_rw);
	argv[7] = rw;
	snprintf(bs, sizeof(bs), "--bs=%u", w->bs);
	snprintf(iodepth, sizeof(iodepth), "--iodepth=%u", w->qd);
	snprintf(runtime, sizeof(runtime), "--runtime=%.0fms", seconds * 1000);
	r = run_capture(argv, buf, FIO_OUT_MAX);
	if (r != 0) {
		fprintf(stderr, "blk-model: fio %s exited with %d\n", w->name, r);
		return -EIO;
	}
	obj = strstr(buf, "\"jobs\""); /* an array: its first job's read or write object */
	obj = obj ? json_object(obj, w->write ? "write" : "read") : NULL;
	if (!obj || !json_number(obj, "iops", &iops) || !json_number(obj, "bw_bytes", &bw)) {
		fprintf(stderr, "blk-model: cannot read fio's JSON for %s\n", w->name);
		return -EINVAL;
	}
	fig->iops = iops;
	fig->mbps = bw / 1e6;
	return 0;
}

/* ---- the file ---- */

static char created_path[300];

static void remove_created(void)
{
	if (created_path[0])
		unlink(created_path);
	created_path[0] = 0;
}

static void on_signal(int sig)
{
	remove_created();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Fill a new file with non-zero data so reads are real reads, not holes. */
static int create_file(const char *dir, uint64_t size, char *path, size_t path_len)
{
	const size_t chunk = 1u << 20;
	struct statvfs sv;
	uint64_t rng = 0x243f6a8885a308d3ull;
	uint64_t *buf;
	int fd;

	if (statvfs(dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < size + (64ull << 20)) {
		fprintf(stderr, "blk-model: %s: not enough free space for a %" PRIu64 " MiB file\n",
			dir, size >> 20);
		return -ENOSPC;
	}
	snprintf(path, path_len, "%s/nestvmm-blk-model-%d.img", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "blk-model: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	snprintf(created_path, sizeof(created_path), "%s", path);
	buf = malloc(chunk);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (uint64_t off = 0; off < size; off += chunk) {
		for (size_t i = 0; i < chunk / 8; i++)
			buf[i] = xorshift(&rng);
		if (pwrite(fd, buf, chunk, (off_t)off) != (ssize_t)chunk) {
			int e = errno ? errno : EIO;

			fprintf(stderr, "blk-model: %s: %s\n", path, strerror(e));
			free(buf);
			close(fd);
			return -e;
		}
	}
	free(buf);
	/* Written back now, so writeback does not land in the middle of a run. */
	fdatasync(fd);
	close(fd);
	return 0;
}

/* ---- setup, rounds, output ---- */

struct bench {
	struct guest_mem mem;
	struct blk_disk disk;
	bool disk_open;
	struct virtio_blk blk;
	struct virtio_scsi scsi;
	struct blk_disk *luns[1];
	bool scsi_init;
	struct virtio_dev *dev; /* blk.vdev or scsi.vdev */
	unsigned int qi;	/* the queue driven */
	struct model_transport tr;
	struct drv drv;
};

static int bench_start(struct bench *b, const struct opts *o, const char *path)
{
	struct disk_spec spec = {.path = path, .engine = o->engine, .cache = BLK_CACHE_WRITEBACK};
	struct virtio_dev *dev;
	struct drv *d = &b->drv;
	char why[256];
	unsigned int qi;
	int r;

	r = blk_disk_open(&b->disk, &spec, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "blk-model: %s\n", why);
		return r;
	}
	b->disk_open = true;
	r = guest_mem_init(&b->mem, RAM_SIZE);
	if (r < 0) {
		fprintf(stderr, "blk-model: guest RAM: %s\n", strerror(-r));
		return r;
	}
	if (o->scsi) {
		b->luns[0] = &b->disk;
		r = virtio_scsi_init(&b->scsi, b->luns, 1, 1, QUEUE_SIZE, why, sizeof(why));
		b->scsi_init = r == 0;
		dev = &b->scsi.vdev;
		qi = SCSI_QUEUE;
	} else {
		r = virtio_blk_init(&b->blk, &b->disk, 1, QUEUE_SIZE, why, sizeof(why));
		dev = &b->blk.vdev;
		qi = BLK_QUEUE;
	}
	if (r < 0) {
		fprintf(stderr, "blk-model: %s\n", why);
		return r;
	}
	b->dev = dev;
	b->qi = qi;
	if (o->poll_us >= 0 && o->scsi)
		virtio_scsi_set_poll(&b->scsi, (uint64_t)o->poll_us * 1000);
	else if (o->poll_us >= 0)
		virtio_blk_set_poll(&b->blk, (uint64_t)o->poll_us * 1000);
	/* One "interrupt" for every queue (model_transport: irq_fd[0] past nr_irq_fds). */
	b->tr.nr_irq_fds = 1;
	b->tr.irq_fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	dev->kick_fd[qi] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->tr.irq_fd[0] < 0 || dev->kick_fd[qi] < 0)
		return -errno;
	dev->transport_ops = &model_transport_ops;
	dev->transport = &b->tr;
	/* What Linux accepts from this device. */
	dev->driver_features = dev->device_features;
	r = virtq_enable(&dev->vqs[qi], &b->mem, QUEUE_SIZE, DESC_GPA, AVAIL_GPA, USED_GPA, true,
			 true);
	if (r < 0)
		return r;

	d->ram = b->mem.regions[0].hva;
	d->scsi = o->scsi;
	model_ring_init(&d->ring, d->ram + DESC_GPA, d->ram + AVAIL_GPA, d->ram + USED_GPA,
			QUEUE_SIZE, dev->kick_fd[qi], b->tr.irq_fd[0]);
	d->rng = 0x9e3779b97f4a7c15ull;
	d->spin_ns = (uint64_t)o->spin_us * 1000;

	r = dev->ops->start(dev);
	if (r < 0)
		fprintf(stderr, "blk-model: device start (engine %s): %s\n",
			blk_engine_name(o->engine), strerror(-r));
	return r;
}

static void bench_stop(struct bench *b)
{
	if (b->scsi_init)
		virtio_scsi_destroy(&b->scsi);
	b->scsi_init = false;
	virtio_blk_destroy(&b->blk);
	if (b->dev && b->dev->kick_fd[b->qi] >= 0)
		close(b->dev->kick_fd[b->qi]);
	if (b->tr.irq_fd[0] >= 0)
		close(b->tr.irq_fd[0]);
	if (b->mem.map)
		guest_mem_destroy(&b->mem);
	if (b->disk_open)
		blk_disk_close(&b->disk);
	b->disk_open = false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct row {
	struct figures model, fio;
	double ratio;
	double ratio_min, ratio_max; /* the spread over rounds */
	bool ran;		     /* not left out by --only */
	bool have_fio;
};

/* The device's poll window as the run had it. */
static const char *poll_text(const struct opts *o)
{
	static char t[64];

	if (o->poll_us < 0)
		snprintf(t, sizeof(t), "%llu us (default; none on one CPU)",
			 REQ_QUEUE_POLL_MAX_NS / 1000);
	else
		snprintf(t, sizeof(t), "%ld us", o->poll_us);
	return t;
}

static void print_table(const struct opts *o, const char *path, const struct row *rows,
			const char *fio_skip)
{
	printf(
	    "blk-model: %s device model vs fio, engine %s, file %s, "
	    "%u round(s) x %.1f s, median per figure, driver spins %u us, device polls up to %s\n",
	    o->scsi ? "virtio-scsi" : "virtio-blk", blk_engine_name(o->engine), path, o->rounds,
	    o->seconds, o->spin_us, poll_text(o));
	printf("%-20s %12s %10s %12s %10s %8s %11s %7s %7s  %s\n", "workload", "nestvmm IOPS",
	       "MB/s", "fio IOPS", "fio MB/s", "ratio", "(rounds)", "kick/IO", "irq/IO", "goal");
	for (unsigned int i = 0; i < NR_WORKLOADS; i++) {
		const struct workload *w = &workloads[i];
		const struct row *r = &rows[i];
		char goal[32] = "-";

		if (!r->ran)
			continue;
		if (w->goal > 0 && r->have_fio)
			snprintf(goal, sizeof(goal), ">= %.2f %s", w->goal,
				 r->ratio >= w->goal ? "met" : "MISSED");
		else if (w->goal > 0)
			snprintf(goal, sizeof(goal), ">= %.2f", w->goal);
		if (r->have_fio)
			printf("%-20s %12.0f %10.1f %12.0f %10.1f %8.3f %5.2f-%-5.2f %7.3f %7.3f  "
			       "%s\n",
			       w->name, r->model.iops, r->model.mbps, r->fio.iops, r->fio.mbps,
			       r->ratio, r->ratio_min, r->ratio_max, r->model.kicks_per_io,
			       r->model.notifies_per_io, goal);
		else
			printf("%-20s %12.0f %10.1f %12s %10s %8s %11s %7.3f %7.3f  %s\n", w->name,
			       r->model.iops, r->model.mbps, "SKIP", "", "", "",
			       r->model.kicks_per_io, r->model.notifies_per_io, goal);
	}
	if (fio_skip)
		printf("fio: SKIP: %s\n", fio_skip);
}

static void print_json(const struct opts *o, const char *path, const struct row *rows,
		       const char *fio_skip)
{
	printf("{\"bench\": \"blk-model\", \"device\": \"%s\", \"engine\": \"%s\", \"file\": "
	       "\"%s\", \"rounds\": %u, \"seconds\": %.3f, \"fio_skip\": ",
	       o->scsi ? "virtio-scsi" : "virtio-blk", blk_engine_name(o->engine), path, o->rounds,
	       o->seconds);
	if (fio_skip)
		printf("\"%s\"", fio_skip);
	else
		printf("null");
	printf(", \"workloads\": [");
	for (unsigned int i = 0, first = 1; i < NR_WORKLOADS; i++) {
		const struct workload *w = &workloads[i];
		const struct row *r = &rows[i];

		if (!r->ran)
			continue;
		printf("%s\n  {\"name\": \"%s\", \"bs\": %u, \"qd\": %u, \"nestvmm_iops\": %.0f, "
		       "\"nestvmm_mbps\": %.1f, \"kicks_per_io\": %.4f, \"irqs_per_io\": %.4f",
		       first ? "" : ",", w->name, w->bs, w->qd, r->model.iops, r->model.mbps,
		       r->model.kicks_per_io, r->model.notifies_per_io);
		if (r->have_fio)
			printf(", \"fio_iops\": %.0f, \"fio_mbps\": %.1f, \"ratio\": %.4f, "
			       "\"ratio_min\": %.4f, \"ratio_max\": %.4f",
			       r->fio.iops, r->fio.mbps, r->ratio, r->ratio_min, r->ratio_max);
		else
			printf(", \"fio_iops\": null, \"fio_mbps\": null, \"ratio\": null");
		if (w->goal > 0)
			printf(", \"goal\": %.2f, \"goal_met\": %s", w->goal,
			       r->have_fio ? (r->ratio >= w->goal ? "true" : "false") : "null");
		printf("}");
		first = 0;
	}
	printf("\n]}\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: blk-model [--file PATH | --dir DIR] [--size MIB] [--seconds S]\n"
		"                 [--rounds N] [--engine io_uring|aio|sync] [--device blk|scsi]\n"
		"                 [--spin-us US] [--device-poll-us US] [--only PREFIX] [--json]\n"
		"  --device D   the device model: virtio-blk (default) or virtio-scsi\n"
		"  --only P     only the workloads whose name starts with P\n"
		"  --device-poll-us US  the device threads' longest poll window (0: none;\n"
		"               default: the device's own)\n"
		"  --file PATH  run on this existing file (not removed)\n"
		"  --dir DIR    create the test file in DIR (default " DEFAULT_DIR ", tmpfs)\n"
		"  --size MIB   size of the created file (default 1024)\n"
		"  --seconds S  length of each run (default 2)\n"
		"  --rounds N   runs of each side per workload, order alternating (default 3)\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"dir", required_argument, NULL, 'd'},
	    {"size", required_argument, NULL, 'z'},
	    {"seconds", required_argument, NULL, 's'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"engine", required_argument, NULL, 'e'},
	    {"spin-us", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"device", required_argument, NULL, 'D'},
	    {"only", required_argument, NULL, 'o'},
	    {"device-poll-us", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	*o = (struct opts){.dir = DEFAULT_DIR,
			   .size = DEFAULT_SIZE,
			   .seconds = 2,
			   .rounds = 3,
			   .spin_us = DEFAULT_SPIN_US,
			   .poll_us = -1,
			   .engine = BLK_ENGINE_IO_URING};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->file = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'z': {
			unsigned long long mib = strtoull(optarg, &end, 10);

			if (*end || mib < 16 || mib > (1ull << 20)) {
				fprintf(stderr, "blk-model: --size %s: MiB in 16..1048576\n",
					optarg);
				return -EINVAL;
			}
			o->size = mib << 20;
			break;
		}
		case 's':
			o->seconds = strtod(optarg, &end);
			if (*end || !(o->seconds >= 0.1 && o->seconds <= 600)) {
				fprintf(stderr, "blk-model: --seconds %s: 0.1..600\n", optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			o->rounds = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || o->rounds < 1 || o->rounds > MAX_ROUNDS) {
				fprintf(stderr, "blk-model: --rounds %s: 1..%u\n", optarg,
					MAX_ROUNDS);
				return -EINVAL;
			}
			break;
		case 'e': {
			bool found = false;

			for (int e = BLK_ENGINE_IO_URING; e <= BLK_ENGINE_SYNC; e++)
				if (!strcmp(optarg, blk_engine_name((enum blk_engine)e))) {
					o->engine = (enum blk_engine)e;
					found = true;
				}
			if (!found) {
				fprintf(stderr, "blk-model: --engine %s: io_uring, aio or sync\n",
					optarg);
				return -EINVAL;
			}
			break;
		}
		case 'p':
			o->spin_us = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || o->spin_us > 1000000) {
				fprintf(stderr, "blk-model: --spin-us %s: 0..1000000\n", optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			o->json = true;
			break;
		case 'o':
			o->only = optarg;
			break;
		case 'P':
			o->poll_us = strtol(optarg, &end, 10);
			if (*end || o->poll_us < 0 || o->poll_us > 1000000) {
				fprintf(stderr, "blk-model: --device-poll-us %s: 0..1000000\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'D':
			if (strcmp(optarg, "blk") && strcmp(optarg, "scsi")) {
				fprintf(stderr, "blk-model: --device %s: blk or scsi\n", optarg);
				return -EINVAL;
			}
			o->scsi = !strcmp(optarg, "scsi");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "blk-model: unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct row rows[NR_WORKLOADS] = {0};
	char path[300], fio_why[160];
	const char *fio_skip = NULL;
	char *fio_buf = NULL;
	struct opts o;
	int r;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (!blk_engine_available(o.engine)) {
		fprintf(stderr, "blk-model: engine %s is not available on this host\n",
			blk_engine_name(o.engine));
		return 1;
	}
	b.tr.irq_fd[0] = -1;
	b.tr.nr_irq_fds = 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(remove_created);
	if (o.file) {
		snprintf(path, sizeof(path), "%s", o.file);
	} else if (create_file(o.dir, o.size, path, sizeof(path)) < 0) {
		return 1;
	}
	if (!fio_available(blk_engine_name(o.engine), fio_why, sizeof(fio_why)))
		fio_skip = fio_why;
	else if (!(fio_buf = malloc(FIO_OUT_MAX)))
		return 1;

	r = bench_start(&b, &o, path);
	if (r < 0) {
		bench_stop(&b);
		return 1;
	}
	for (unsigned int i = 0; i < NR_WORKLOADS && r == 0; i++) {
		const struct workload *w = &workloads[i];
		double m_iops[MAX_ROUNDS], m_mbps[MAX_ROUNDS], f_iops[MAX_ROUNDS],
		    f_mbps[MAX_ROUNDS], ratio[MAX_ROUNDS], kicks[MAX_ROUNDS], irqs[MAX_ROUNDS];

		if (o.only && strncmp(w->name, o.only, strlen(o.only)) != 0)
			continue;
		rows[i].ran = true;

		for (unsigned int k = 0; k < o.rounds && r == 0; k++) {
			struct figures m = {0}, f = {0};
			bool fio_first = k % 2 == 1;

			if (fio_first && !fio_skip)
				r = run_fio(w, path, blk_engine_name(o.engine), o.seconds, fio_buf,
					    &f);
			if (r == 0)
				r = run_model(&b.drv, &b.tr, w, b.disk.size, o.seconds, &m);
			if (r == 0 && !fio_first && !fio_skip)
				r = run_fio(w, path, blk_engine_name(o.engine), o.seconds, fio_buf,
					    &f);
			m_iops[k] = m.iops;
			m_mbps[k] = m.mbps;
			kicks[k] = m.kicks_per_io;
			irqs[k] = m.notifies_per_io;
			f_iops[k] = f.iops;
			f_mbps[k] = f.mbps;
			ratio[k] = f.iops > 0 ? m.iops / f.iops : 0;
		}
		if (r)
			break;
		rows[i].model.iops = median(m_iops, o.rounds);
		rows[i].model.mbps = median(m_mbps, o.rounds);
		rows[i].model.kicks_per_io = median(kicks, o.rounds);
		rows[i].model.notifies_per_io = median(irqs, o.rounds);
		if (!fio_skip) {
			rows[i].have_fio = true;
			rows[i].fio.iops = median(f_iops, o.rounds);
			rows[i].fio.mbps = median(f_mbps, o.rounds);
			rows[i].ratio = median(ratio, o.rounds); /* sorts ratio[] */
			rows[i].ratio_min = ratio[0];
			rows[i].ratio_max = ratio[o.rounds - 1];
		}
	}
	if (atomic_load(&b.tr.needs_reset)) {
		fprintf(stderr, "blk-model: the device asked for a reset\n");
		r = -EIO;
	}
	bench_stop(&b);
	free(fio_buf);
	if (r)
		return 1;
	if (o.json)
		print_json(&o, path, rows, fio_skip);
	else
		print_table(&o, path, rows, fio_skip);
	return 0;
}
