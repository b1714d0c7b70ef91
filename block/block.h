/* SPDX-License-Identifier: MIT */
/*
 * Block backends: a disk image file, and the I/O engines that carry requests
 * to it (io_uring by default, libaio and synchronous preadv/pwritev as
 * fallbacks) behind one interface.
 *
 * An engine queue (struct blk_ioq) belongs to one I/O thread and is also
 * that thread's only wait primitive: besides I/O completions it reports
 * watched file descriptors (the virtqueues' kick eventfds, a stop eventfd)
 * becoming readable, so the thread sleeps in exactly one place. With
 * io_uring the kicks are multishot POLL requests on the same ring as the
 * reads and writes; with libaio they are IOCB_CMD_POLL; the sync engine uses
 * poll(2).
 *
 * Per batch: blk_ioq_queue() any number of I/Os (no syscall), then one
 * blk_ioq_submit() (one syscall), or let blk_ioq_wait() submit them.
 */
#ifndef NESTVMM_BLOCK_BLOCK_H
#define NESTVMM_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum blk_engine {
	BLK_ENGINE_IO_URING,
	BLK_ENGINE_AIO,
	BLK_ENGINE_SYNC,
};

enum blk_cache {
	BLK_CACHE_WRITEBACK, /* the host page cache; FLUSH = fdatasync */
	BLK_CACHE_NONE,	     /* O_DIRECT; FLUSH still = fdatasync (the device's cache) */
};

/* One --disk option: PATH[,ro][,engine=io_uring|aio|sync][,cache=writeback|none] */
struct disk_spec {
	const char *path;
	bool read_only;
	enum blk_engine engine;
	enum blk_cache cache;
};

/* A disk image opened and checked. */
struct blk_disk {
	int fd;
	char path[256]; /* for messages; cut if longer */
	uint64_t size;	/* bytes, a multiple of 512 */
	bool read_only;
	enum blk_engine engine;
	enum blk_cache cache;
	uint32_t block_size; /* 512, or the O_DIRECT alignment with cache=none */
	bool discard;	     /* fallocate(PUNCH_HOLE) works on this file */
	bool write_zeroes;   /* fallocate(ZERO_RANGE) or PUNCH_HOLE works */
	char serial[20];     /* the virtio-blk ID (not NUL-terminated if 20 bytes) */
	/*
	 * The tests' fault engine (blk_disk_inject_eio): from the write or
	 * flush numbered eio_after on, each completes with -EIO, whatever the
	 * engine did. 0: never.
	 */
	uint64_t eio_after;
	_Atomic uint64_t eio_count;
};

/*
 * Open @spec's file: read-write unless ro (O_DIRECT with cache=none), a
 * regular file or block device whose size is a non-zero multiple of 512
 * (and of block_size with cache=none). Probes discard / write-zeroes
 * support without changing data. Returns 0, or -errno with one line in
 * @why naming the file and the reason ("disk /x/y.img: size 1000 is not a
 * multiple of 512 bytes", "...: Permission denied (opened read-write; add
 * ,ro?)").
 */
int blk_disk_open(struct blk_disk *disk, const struct disk_spec *spec, char *why, size_t why_len);
void blk_disk_close(struct blk_disk *disk);

/*
 * Tests only: make the @after-th write or flush to @disk (counting from 1,
 * over all its queues) and every one after it fail with EIO, as a disk
 * that went bad mid-run (the rig's durability check under EIO).
 */
void blk_disk_inject_eio(struct blk_disk *disk, uint64_t after);

/* The engine's name as --disk spells it ("io_uring", "aio", "sync"). */
const char *blk_engine_name(enum blk_engine engine);
/* Whether @engine works on this host (io_uring may be disabled by sysctl). */
bool blk_engine_available(enum blk_engine engine);

enum blk_op {
	BLK_OP_READ,	     /* preadv of iov into [offset, offset + len) */
	BLK_OP_WRITE,	     /* pwritev */
	BLK_OP_FLUSH,	     /* fdatasync; completes only once the data is durable */
	BLK_OP_DISCARD,	     /* punch a hole in [offset, offset + len) */
	BLK_OP_WRITE_ZEROES, /* zero [offset, offset + len); @unmap may punch */
};

/*
 * One I/O. The caller owns the memory (embedded in its request slot) and
 * keeps it, and @iov, alive until the I/O is reported complete.
 */
struct blk_io {
	/* The disk it goes to; NULL: the queue's (one engine queue may serve several disks). */
	struct blk_disk *disk;
	enum blk_op op;
	uint64_t offset; /* bytes */
	uint64_t len;	 /* bytes: READ/WRITE the sum of iov, DISCARD/WRITE_ZEROES the range */
	const struct iovec *iov;
	unsigned int niov;
	bool unmap;

	/*
	 * On completion: len for a whole READ/WRITE, 0 for the others, or
	 * -errno. A short transfer is continued by the engine; one that makes
	 * no progress (the file shrank) completes with -EIO.
	 */
	int64_t res;

	/* engine-private progress of a short transfer */
	uint64_t done;
	struct iovec *rest;
	unsigned int nrest;
};

struct blk_event {
	enum { BLK_EV_IO, BLK_EV_FD } kind;
	struct blk_io *io; /* BLK_EV_IO: the completed I/O, res set */
	uint64_t tag;	   /* BLK_EV_FD: the tag passed to blk_ioq_watch() */
};

struct blk_ioq;

/* An engine. Exposed so tests can plug in one that fails on demand. */
struct blk_engine_ops {
	const char *name;
	int (*init)(struct blk_ioq *q);
	void (*fini)(struct blk_ioq *q);
	int (*watch)(struct blk_ioq *q, int fd, uint64_t tag);
	int (*queue)(struct blk_ioq *q, struct blk_io *io);
	int (*submit)(struct blk_ioq *q);
	int (*wait)(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms);
};

struct blk_ioq {
	const struct blk_engine_ops *ops;
	struct blk_disk *disk;
	unsigned int depth; /* the most I/Os queued or in flight at once */
	unsigned int inflight;
	void *priv; /* the engine's state */
};

/*
 * Set up an engine queue on @disk with room for @depth I/Os, with the
 * engine @disk names (or @ops for a test engine). Returns 0 or -errno
 * (-ENOSYS / -EPERM when io_uring is unavailable).
 */
int blk_ioq_init(struct blk_ioq *q, struct blk_disk *disk, unsigned int depth);
int blk_ioq_init_ops(struct blk_ioq *q, const struct blk_engine_ops *ops, struct blk_disk *disk,
		     unsigned int depth);
/* Cancels nothing: call it with no I/O in flight. */
void blk_ioq_fini(struct blk_ioq *q);

/*
 * Report @fd (an eventfd) as BLK_EV_FD with @tag each time it becomes
 * readable, until blk_ioq_fini(). The caller drains the eventfd; a
 * spurious report (already drained) is allowed. At most 64 fds.
 */
int blk_ioq_watch(struct blk_ioq *q, int fd, uint64_t tag);

/* Add @io to the batch; no syscall. -EAGAIN when @depth I/Os are out. */
int blk_ioq_queue(struct blk_ioq *q, struct blk_io *io);

/* Submit the batch with one syscall (the sync engine carries it out). */
int blk_ioq_submit(struct blk_ioq *q);

/*
 * Submit anything queued, then wait up to @timeout_ms (-1: forever, 0: do
 * not block) for events and store up to @max of them in @ev. Returns the
 * number stored (0 on timeout) or -errno; -EINTR is returned as 0.
 */
int blk_ioq_wait(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms);

#endif
