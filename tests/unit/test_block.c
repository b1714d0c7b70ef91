/* SPDX-License-Identifier: MIT */
/*
 * The block engines (io_uring, libaio, sync) behind block/block.h, each put
 * through the same checks on a real file: data written comes back, FLUSH,
 * DISCARD and WRITE_ZEROES do what they say, a file that shrank gives -EIO
 * without breaking the queue, the depth limit holds, watched eventfds are
 * reported again and again, and a large batch completes exactly once.
 * What the engine did is checked through a second, independent fd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fcntl.h>
#include <liburing.h>

#include "block/block.h"
#include "block/engine.h"

#define DISK_SIZE (1u << 20)
#define DEPTH	  64
#define FILL	  0xaa
/* A safety net against a hang, not a timing check: events come far sooner. */
#define WAIT_MS 5000

struct engine_case {
	enum blk_engine engine;
	const char *name;
};

static const struct engine_case cases[] = {
    {BLK_ENGINE_IO_URING, "io_uring"},
    {BLK_ENGINE_AIO, "aio"},
    {BLK_ENGINE_SYNC, "sync"},
};

struct fx {
	const struct engine_case *ec;
	char dir[64];
	char file[128];
	int raw; /* the test's own view of the file */
	struct blk_disk disk;
	struct blk_ioq q;
	bool q_ok;
	char skip_why[160];
};

static int fx_open(struct fx *f, const char *tmpdir)
{
	struct disk_spec spec = {.engine = f->ec->engine};
	char why[256];
	uint8_t *buf;
	int r;

	snprintf(f->dir, sizeof(f->dir), "%s/nestvmm-blk-XXXXXX", tmpdir);
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->file, sizeof(f->file), "%s/disk.img", f->dir);
	f->raw = open(f->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(f->raw >= 0);
	buf = malloc(DISK_SIZE);
	assert_non_null(buf);
	memset(buf, FILL, DISK_SIZE);
	assert_int_equal(pwrite(f->raw, buf, DISK_SIZE, 0), DISK_SIZE);
	free(buf);

	spec.path = f->file;
	r = blk_disk_open(&f->disk, &spec, why, sizeof(why));
	if (r < 0)
		fail_msg("blk_disk_open: %s", why);
	r = blk_ioq_init(&f->q, &f->disk, DEPTH);
	if (f->ec->engine == BLK_ENGINE_IO_URING && (r == -ENOSYS || r == -EPERM)) {
		snprintf(f->skip_why, sizeof(f->skip_why),
			 "io_uring refused here (%s: disabled by sysctl or seccomp)", strerror(-r));
		return 0;
	}
	assert_int_equal(r, 0);
	f->q_ok = true;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ec = *state;
	f->raw = -1;
	f->disk.fd = -1;
	assert_int_equal(fx_open(f, "/var/tmp"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->q_ok)
		blk_ioq_fini(&f->q);
	blk_disk_close(&f->disk);
	if (f->raw >= 0)
		close(f->raw);
	unlink(f->file);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The engine is missing on this host: skip, saying why. */
static struct fx *fx_get(void **state)
{
	struct fx *f = *state;

	if (!f->q_ok) {
		print_message("[  SKIP    ] %s\n", f->skip_why);
		skip();
	}
	return f;
}

/*
 * Wait until every one of @ios has completed, each exactly once and nothing
 * else; watched-fd events are ignored here.
 */
static void collect(struct fx *f, struct blk_io **ios, unsigned int n)
{
	unsigned int *count = calloc(n, sizeof(*count));
	unsigned int got = 0;
	struct blk_event ev[16];

	assert_non_null(count);
	while (got < n) {
		int r = blk_ioq_wait(&f->q, ev, 16, WAIT_MS);

		assert_true(r >= 0);
		if (r == 0)
			fail_msg("%s: %u of %u I/Os never completed", f->ec->name, n - got, n);
		for (int i = 0; i < r; i++) {
			unsigned int k;

			if (ev[i].kind != BLK_EV_IO)
				continue;
			for (k = 0; k < n && ios[k] != ev[i].io; k++)
				;
			if (k == n)
				fail_msg("%s: completion of an I/O never queued", f->ec->name);
			count[k]++;
			assert_int_equal(count[k], 1);
			got++;
		}
	}
	free(count);
}

static void run1(struct fx *f, struct blk_io *io)
{
	assert_int_equal(blk_ioq_queue(&f->q, io), 0);
	collect(f, &io, 1);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Read [off, off + len) through the test's own fd. */
static uint8_t *raw_read(struct fx *f, uint64_t off, size_t len)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	assert_int_equal(pread(f->raw, p, len, (off_t)off), (ssize_t)len);
	return p;
}

static void test_write_read(void **state)
{
	struct fx *f = fx_get(state);
	uint8_t src[4096], a[1536], b[2560];
	struct iovec wiov[3] = {{src, 512}, {src + 512, 1024}, {src + 1536, 2560}};
	struct iovec riov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	struct blk_io w = {.op = BLK_OP_WRITE, .offset = 8192, .len = 4096, .iov = wiov, .niov = 3};
	struct blk_io r = {.op = BLK_OP_READ, .offset = 8192, .len = 4096, .iov = riov, .niov = 2};
	uint8_t *disk;

	fill_pattern(src, sizeof(src), 1);
	run1(f, &w);
	assert_int_equal(w.res, 4096);
	disk = raw_read(f, 8192, 4096);
	assert_memory_equal(disk, src, 4096);
	free(disk);

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	run1(f, &r);
	assert_int_equal(r.res, 4096);
	assert_memory_equal(a, src, sizeof(a));
	assert_memory_equal(b, src + sizeof(a), sizeof(b));
}

static void test_flush(void **state)
{
	struct fx *f = fx_get(state);
	uint8_t src[512];
	struct iovec iov = {src, sizeof(src)};
	struct blk_io w = {.op = BLK_OP_WRITE, .offset = 0, .len = 512, .iov = &iov, .niov = 1};
	struct blk_io fl = {.op = BLK_OP_FLUSH, .res = 12345};

	fill_pattern(src, sizeof(src), 2);
	run1(f, &w);
	assert_int_equal(w.res, 512);
	run1(f, &fl);
	assert_int_equal(fl.res, 0);
}

/*
 * The io_uring engine's ring carries only the disk operations it needs: an
 * OPENAT (what a compromised I/O thread would try, out of seccomp's sight)
 * and an SQE flag are refused by the kernel.
 */
static void test_ring_restricted(void **state)
{
	struct fx *f = fx_get(state);
	struct io_uring *ring = blk_engine_uring_ring(&f->q);
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};

	assert_non_null(ring);
	sqe = io_uring_get_sqe(ring);
	assert_non_null(sqe);
	io_uring_prep_openat(sqe, AT_FDCWD, "/dev/null", O_RDONLY, 0);
	io_uring_sqe_set_data64(sqe, 2); /* a poll tag, not an I/O, should it complete */
	sqe = io_uring_get_sqe(ring);
	assert_non_null(sqe);
	io_uring_prep_readv(sqe, f->disk.fd, &iov, 1, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
	io_uring_sqe_set_data64(sqe, 4);
	assert_true(io_uring_submit(ring) >= 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
		assert_int_equal(cqe->res, -EACCES);
		io_uring_cqe_seen(ring, cqe);
	}
}

/*
 * The tests' fault engine, on every engine: from the third write or flush
 * on, each fails with EIO; reads go on working.
 */
static void test_injected_eio(void **state)
{
	struct fx *f = fx_get(state);
	uint8_t src[512], dst[512];
	struct iovec wiov = {src, sizeof(src)}, riov = {dst, sizeof(dst)};
	struct blk_io w = {.op = BLK_OP_WRITE, .offset = 0, .len = 512, .iov = &wiov, .niov = 1};
	struct blk_io r = {.op = BLK_OP_READ, .offset = 0, .len = 512, .iov = &riov, .niov = 1};
	struct blk_io fl = {.op = BLK_OP_FLUSH};

	fill_pattern(src, sizeof(src), 3);
	blk_disk_inject_eio(&f->disk, 3);
	run1(f, &w);
	assert_int_equal(w.res, 512);
	run1(f, &fl);
	assert_int_equal(fl.res, 0);
	run1(f, &w);
	assert_int_equal(w.res, -EIO);
	run1(f, &r);
	assert_int_equal(r.res, 512);
	assert_memory_equal(dst, src, sizeof(src));
	run1(f, &fl);
	assert_int_equal(fl.res, -EIO);
}

/* [off, off + len) reads zeros, and the FILL bytes on either side are intact. */
static void assert_zeroed(struct fx *f, uint64_t off, size_t len)
{
	uint8_t *p = raw_read(f, off - 512, len + 1024);

	assert_true(all_bytes(p, 512, FILL));
	assert_true(all_bytes(p + 512, len, 0));
	assert_true(all_bytes(p + 512 + len, 512, FILL));
	free(p);
}

static void test_discard(void **state)
{
	struct fx *f = fx_get(state);
	struct blk_io d = {.op = BLK_OP_DISCARD, .offset = 65536, .len = 65536, .res = 1};

	if (!f->disk.discard) {
		print_message("[  SKIP    ] %s does not punch holes\n", f->file);
		skip();
	}
	run1(f, &d);
	assert_int_equal(d.res, 0);
	assert_zeroed(f, 65536, 65536);
}

static void test_write_zeroes(void **state)
{
	struct fx *f = fx_get(state);
	struct blk_io keep = {.op = BLK_OP_WRITE_ZEROES, .offset = 131072, .len = 65536};
	struct blk_io unmap = {
	    .op = BLK_OP_WRITE_ZEROES, .offset = 262144, .len = 65536, .unmap = true};
	/* Not block-aligned: the filesystem must zero part of a block. */
	struct blk_io odd = {.op = BLK_OP_WRITE_ZEROES, .offset = 409600 + 512, .len = 1536};
	struct blk_io *all[] = {&keep, &unmap, &odd};

	keep.res = unmap.res = odd.res = 1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(blk_ioq_queue(&f->q, all[i]), 0);
	assert_int_equal(blk_ioq_submit(&f->q), 0);
	collect(f, all, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(all[i]->res, 0);
		assert_zeroed(f, all[i]->offset, all[i]->len);
	}
}

/*
 * tmpfs has PUNCH_HOLE but no ZERO_RANGE: a WRITE_ZEROES without unmap
 * must fall back to writing zeros.
 */
static void test_write_zeroes_fallback(void **state)
{
	struct fx *f = fx_get(state);
	struct blk_io wz = {.op = BLK_OP_WRITE_ZEROES, .offset = 8192, .len = 200 * 1024, .res = 1};
	struct statfs sfs;
	struct fx *t;

	if (statfs("/dev/shm", &sfs) < 0 || sfs.f_type != 0x01021994) {
		print_message("[  SKIP    ] no tmpfs at /dev/shm\n");
		skip();
	}
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->ec = f->ec;
	assert_int_equal(fx_open(t, "/dev/shm"), 0);
	assert_true(t->q_ok);
	if (fallocate(t->raw, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0 ||
	    errno != EOPNOTSUPP) {
		void *tp = t;

		teardown(&tp);
		print_message("[  SKIP    ] this tmpfs has ZERO_RANGE: no fallback to test\n");
		skip();
	}
	run1(t, &wz);
	assert_int_equal(wz.res, 0);
	assert_zeroed(t, wz.offset, wz.len);
	{
		void *tp = t;

		teardown(&tp);
	}
}

static void test_read_past_shrunk_end(void **state)
{
	struct fx *f = fx_get(state);
	uint8_t a[2048], b[2048], c[4096];
	struct iovec iov2[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	struct iovec iov1 = {c, sizeof(c)};
	struct blk_io past = {
	    .op = BLK_OP_READ, .offset = 65536, .len = 4096, .iov = &iov1, .niov = 1};
	/* Half of it is still there: a short read, then nothing. */
	struct blk_io straddle = {
	    .op = BLK_OP_READ, .offset = 2048, .len = 4096, .iov = iov2, .niov = 2};
	struct blk_io ok = {.op = BLK_OP_READ, .offset = 0, .len = 4096, .iov = &iov1, .niov = 1};

	assert_int_equal(ftruncate(f->raw, 4096), 0);
	run1(f, &past);
	assert_int_equal(past.res, -EIO);
	memset(a, 0, sizeof(a));
	run1(f, &straddle);
	assert_int_equal(straddle.res, -EIO);
	assert_true(all_bytes(a, sizeof(a), FILL));

	memset(c, 0, sizeof(c));
	run1(f, &ok);
	assert_int_equal(ok.res, 4096);
	assert_true(all_bytes(c, sizeof(c), FILL));
}

static void test_depth_limit(void **state)
{
	struct fx *f = fx_get(state);
	static uint8_t buf[DEPTH + 1][512];
	struct iovec iov[DEPTH + 1];
	struct blk_io io[DEPTH + 1];
	struct blk_io *ptr[DEPTH];

	for (int i = 0; i <= DEPTH; i++) {
		iov[i] = (struct iovec){buf[i], 512};
		io[i] = (struct blk_io){.op = BLK_OP_READ,
					.offset = (uint64_t)i * 512,
					.len = 512,
					.iov = &iov[i],
					.niov = 1};
	}
	for (int i = 0; i < DEPTH; i++) {
		assert_int_equal(blk_ioq_queue(&f->q, &io[i]), 0);
		ptr[i] = &io[i];
	}
	assert_int_equal(blk_ioq_queue(&f->q, &io[DEPTH]), -EAGAIN);
	collect(f, ptr, DEPTH);
	for (int i = 0; i < DEPTH; i++)
		assert_int_equal(io[i].res, 512);
	/* Room again once they are reported. */
	run1(f, &io[DEPTH]);
	assert_int_equal(io[DEPTH].res, 512);
}

/* Wait until an event for @tag arrives; fail after WAIT_MS without one. */
static void expect_fd_event(struct fx *f, uint64_t tag)
{
	struct blk_event ev[8];

	for (;;) {
		int r = blk_ioq_wait(&f->q, ev, 8, WAIT_MS);

		assert_true(r >= 0);
		if (r == 0)
			fail_msg("%s: no event for watched fd %#llx", f->ec->name,
				 (unsigned long long)tag);
		for (int i = 0; i < r; i++)
			if (ev[i].kind == BLK_EV_FD && ev[i].tag == tag)
				return;
	}
}

/* Take every event already reported (spurious ones are allowed). */
static void drain_events(struct fx *f)
{
	struct blk_event ev[8];

	while (blk_ioq_wait(&f->q, ev, 8, 0) > 0)
		;
}

static void test_watch_rearm(void **state)
{
	struct fx *f = fx_get(state);
	int kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int other = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t one = 1, val;

	assert_true(kick >= 0 && other >= 0);
	assert_int_equal(blk_ioq_watch(&f->q, other, 7), 0);
	assert_int_equal(blk_ioq_watch(&f->q, kick, 0x1234abcdULL), 0);
	for (int round = 0; round < 3; round++) {
		drain_events(f);
		assert_int_equal(write(kick, &one, 8), 8);
		expect_fd_event(f, 0x1234abcdULL);
		assert_int_equal(read(kick, &val, 8), 8);
		assert_int_equal(val, 1);
	}
	/* The other fd is reported too, with its own tag. */
	assert_int_equal(write(other, &one, 8), 8);
	expect_fd_event(f, 7);
	assert_int_equal(read(other, &val, 8), 8);
	close(kick);
	close(other);
}

static void test_batch_64(void **state)
{
	struct fx *f = fx_get(state);
	static uint8_t wbuf[DEPTH][4096], rbuf[DEPTH][4096];
	struct iovec wiov[DEPTH], riov[DEPTH];
	struct blk_io w[DEPTH], r[DEPTH];
	struct blk_io *wp[DEPTH], *rp[DEPTH];
	int kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	/* A watched fd in the same queue must not disturb the I/O. */
	assert_true(kick >= 0);
	assert_int_equal(blk_ioq_watch(&f->q, kick, 99), 0);
	for (int i = 0; i < DEPTH; i++) {
		fill_pattern(wbuf[i], 4096, 100 + (unsigned int)i);
		memset(rbuf[i], 0, 4096);
		wiov[i] = (struct iovec){wbuf[i], 4096};
		riov[i] = (struct iovec){rbuf[i], 4096};
		w[i] = (struct blk_io){.op = BLK_OP_WRITE,
				       .offset = (uint64_t)i * 8192,
				       .len = 4096,
				       .iov = &wiov[i],
				       .niov = 1};
		r[i] = w[i];
		r[i].op = BLK_OP_READ;
		r[i].iov = &riov[i];
		wp[i] = &w[i];
		rp[i] = &r[i];
		assert_int_equal(blk_ioq_queue(&f->q, &w[i]), 0);
	}
	assert_int_equal(write(kick, &(uint64_t){1}, 8), 8);
	assert_int_equal(blk_ioq_submit(&f->q), 0);
	collect(f, wp, DEPTH);
	for (int i = 0; i < DEPTH; i++) {
		uint8_t *disk = raw_read(f, w[i].offset, 4096);

		assert_int_equal(w[i].res, 4096);
		assert_memory_equal(disk, wbuf[i], 4096);
		free(disk);
	}
	for (int i = 0; i < DEPTH; i++)
		assert_int_equal(blk_ioq_queue(&f->q, &r[i]), 0);
	collect(f, rp, DEPTH);
	for (int i = 0; i < DEPTH; i++) {
		assert_int_equal(r[i].res, 4096);
		assert_memory_equal(rbuf[i], wbuf[i], 4096);
	}
	close(kick);
}

static void test_out_of_range_refused(void **state)
{
	struct fx *f = fx_get(state);
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct blk_io past = {
	    .op = BLK_OP_WRITE, .offset = DISK_SIZE, .len = 512, .iov = &iov, .niov = 1};
	struct blk_io wrap = {.op = BLK_OP_DISCARD, .offset = UINT64_MAX - 511, .len = 1024};

	assert_int_equal(blk_ioq_queue(&f->q, &past), -EINVAL);
	assert_int_equal(blk_ioq_queue(&f->q, &wrap), -EINVAL);
	/* Nothing was written past the end. */
	assert_int_equal(lseek(f->raw, 0, SEEK_END), DISK_SIZE);
}

/*
 * The continuation of a short transfer, shared by every engine: a real
 * file only gives short reads at its end, so the bookkeeping is driven here
 * with the counts a kernel could return.
 */
static void test_short_transfer_continues(void **state)
{
	uint8_t a[512], b[1024], c[2560];
	struct iovec iov[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
	struct blk_io io = {.op = BLK_OP_READ, .offset = 4096, .len = 4096, .iov = iov, .niov = 3};
	const struct iovec *cur;
	unsigned int n;

	(void)state;
	/* 1000 bytes: the rest starts 488 bytes into the second buffer. */
	assert_int_equal(blk_io_advance(&io, 1000), 1);
	cur = blk_io_cur_iov(&io, &n);
	assert_int_equal(n, 2);
	assert_ptr_equal(cur[0].iov_base, b + 488);
	assert_int_equal(cur[0].iov_len, 1024 - 488);
	assert_ptr_equal(cur[1].iov_base, c);
	assert_int_equal(cur[1].iov_len, 2560);
	assert_int_equal(blk_io_cur_offset(&io), 4096 + 1000);
	/* The caller's iovec is left alone. */
	assert_ptr_equal(iov[1].iov_base, b);
	/* Exactly to a buffer boundary. */
	assert_int_equal(blk_io_advance(&io, 536), 1);
	cur = blk_io_cur_iov(&io, &n);
	assert_int_equal(n, 1);
	assert_ptr_equal(cur[0].iov_base, c);
	assert_int_equal(blk_io_advance(&io, 2560), 0);
	assert_int_equal(io.res, 4096);
	assert_null(io.rest);

	/* No progress after some: -EIO; an error: passed on. */
	io = (struct blk_io){.op = BLK_OP_WRITE, .len = 4096, .iov = iov, .niov = 3};
	assert_int_equal(blk_io_advance(&io, 512), 1);
	assert_int_equal(blk_io_advance(&io, 0), 0);
	assert_int_equal(io.res, -EIO);
	assert_null(io.rest);
	io = (struct blk_io){.op = BLK_OP_READ, .len = 4096, .iov = iov, .niov = 3};
	assert_int_equal(blk_io_advance(&io, -ENOSPC), 0);
	assert_int_equal(io.res, -ENOSPC);
}

/* WRITE_ZEROES: punch, then ZERO_RANGE, then writing zeros, each on EOPNOTSUPP. */
static void test_write_zeroes_stages(void **state)
{
	struct blk_io io = {.op = BLK_OP_WRITE_ZEROES, .len = 100000, .unmap = true};

	(void)state;
	io.nrest = blk_wz_first(&io);
	assert_int_equal(io.nrest, BLK_WZ_PUNCH);
	assert_int_equal(blk_io_advance(&io, -EOPNOTSUPP), 1);
	assert_int_equal(io.nrest, BLK_WZ_ZERO_RANGE);
	assert_int_equal(blk_io_advance(&io, -EOPNOTSUPP), 1);
	assert_int_equal(io.nrest, BLK_WZ_WRITE);
	assert_int_equal(blk_io_advance(&io, BLK_ZERO_BUF_SIZE), 1);
	assert_int_equal(io.done, BLK_ZERO_BUF_SIZE);
	assert_int_equal(blk_io_advance(&io, 100000 - BLK_ZERO_BUF_SIZE), 0);
	assert_int_equal(io.res, 0);

	io = (struct blk_io){.op = BLK_OP_WRITE_ZEROES, .len = 4096};
	io.nrest = blk_wz_first(&io);
	assert_int_equal(io.nrest, BLK_WZ_ZERO_RANGE);
	assert_int_equal(blk_io_advance(&io, -EIO), 0);
	assert_int_equal(io.res, -EIO);
}

/*
 * One engine queue serves a second disk when the I/O names it (one
 * virtio-scsi queue thread serves every LUN): the data lands in that file,
 * not in the queue's own, and the fault engine follows the I/O's disk.
 */
static void test_second_disk(void **state)
{
	struct fx *f = fx_get(state);
	char path[160], why[256];
	struct disk_spec spec = {.engine = f->ec->engine};
	struct blk_disk other;
	uint8_t src[4096], dst[4096];
	struct iovec wiov = {src, sizeof(src)}, riov = {dst, sizeof(dst)};
	struct blk_io w = {.disk = &other,
			   .op = BLK_OP_WRITE,
			   .offset = 4096,
			   .len = 4096,
			   .iov = &wiov,
			   .niov = 1};
	struct blk_io r = {.disk = &other,
			   .op = BLK_OP_READ,
			   .offset = 4096,
			   .len = 4096,
			   .iov = &riov,
			   .niov = 1};
	struct blk_io past = {.disk = &other, .op = BLK_OP_DISCARD, .offset = 65536, .len = 512};
	uint8_t *mine;
	int fd;

	snprintf(path, sizeof(path), "%s/other.img", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0); /* smaller than the queue's disk */
	spec.path = path;
	if (blk_disk_open(&other, &spec, why, sizeof(why)) < 0)
		fail_msg("blk_disk_open: %s", why);

	fill_pattern(src, sizeof(src), 9);
	run1(f, &w);
	assert_int_equal(w.res, 4096);
	assert_int_equal(pread(fd, dst, sizeof(dst), 4096), 4096);
	assert_memory_equal(dst, src, sizeof(src));
	mine = raw_read(f, 4096, 4096); /* the queue's own disk is untouched */
	assert_true(all_bytes(mine, 4096, FILL));
	free(mine);
	memset(dst, 0, sizeof(dst));
	run1(f, &r);
	assert_int_equal(r.res, 4096);
	assert_memory_equal(dst, src, sizeof(src));

	/* The range check is the I/O's disk's: in range of the queue's, past this one's end. */
	assert_int_equal(blk_ioq_queue(&f->q, &past), -EINVAL);

	blk_disk_inject_eio(&other, 1);
	run1(f, &w);
	assert_int_equal(w.res, -EIO);
	w.disk = NULL; /* the queue's own disk has no fault */
	run1(f, &w);
	assert_int_equal(w.res, 4096);

	blk_disk_close(&other);
	close(fd);
	unlink(path);
}

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static const struct {
	const char *name;
	CMUnitTestFunction fn;
} checks[] = {
    {"write_read", test_write_read},
    {"flush", test_flush},
    {"discard", test_discard},
    {"write_zeroes", test_write_zeroes},
    {"write_zeroes_fallback", test_write_zeroes_fallback},
    {"read_past_shrunk_end", test_read_past_shrunk_end},
    {"depth_limit", test_depth_limit},
    {"watch_rearm", test_watch_rearm},
    {"batch_64", test_batch_64},
    {"out_of_range_refused", test_out_of_range_refused},
    {"injected_eio", test_injected_eio},
    {"second_disk", test_second_disk},
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

int main(void)
{
	static char names[N_CASES * N_CHECKS][64];
	struct CMUnitTest tests[N_CASES * N_CHECKS + 3] = {
	    cmocka_unit_test(test_short_transfer_continues),
	    cmocka_unit_test(test_write_zeroes_stages),
	    {.name = "io_uring/ring_restricted",
	     .test_func = test_ring_restricted,
	     .setup_func = setup,
	     .teardown_func = teardown,
	     .initial_state = (void *)&cases[0]},
	};

	for (size_t e = 0; e < N_CASES; e++) {
		for (size_t c = 0; c < N_CHECKS; c++) {
			size_t i = 3 + e * N_CHECKS + c;

			snprintf(names[i - 3], sizeof(names[0]), "%s/%s", cases[e].name,
				 checks[c].name);
			tests[i] = (struct CMUnitTest){
			    .name = names[i - 3],
			    .test_func = checks[c].fn,
			    .setup_func = setup,
			    .teardown_func = teardown,
			    .initial_state = (void *)&cases[e],
			};
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
