/* SPDX-License-Identifier: MIT */
/*
 * Opening a disk image: every startup error is refused with one line that
 * names the file and the reason, a read-only file opens with ,ro, the
 * probes leave the data alone, and the serial stays the same across opens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block/block.h"

#define TMPFS_MAGIC_ 0x01021994

struct fx {
	char dir[64];
	char path[8][128];
	int npath;
	char why[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/var/tmp/nestvmm-disk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* Let an unprivileged child reach the files (see test_read_only_file). */
	assert_int_equal(chmod(f->dir, 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < f->npath; i++) {
		unlink(f->path[i]);
		rmdir(f->path[i]);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void fill(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + 5);
}

static void set_path(char *dst, const char *dir, const char *name)
{
	char tmp[sizeof(((struct fx *)0)->path[0])];

	snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
	memcpy(dst, tmp, sizeof(tmp));
}

/* A file of @size patterned bytes with @mode, in the fixture's directory. */
static const char *make_file(struct fx *f, const char *name, size_t size, mode_t mode)
{
	char *path = f->path[f->npath++];
	uint8_t *buf = malloc(size + 1);
	int fd;

	assert_non_null(buf);
	set_path(path, f->dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fill(buf, size);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(buf);
	return path;
}

static int open_disk(struct fx *f, struct blk_disk *d, const char *path, bool ro,
		     enum blk_cache cache)
{
	struct disk_spec spec = {
	    .path = path, .read_only = ro, .engine = BLK_ENGINE_SYNC, .cache = cache};

	memset(f->why, 0, sizeof(f->why));
	return blk_disk_open(d, &spec, f->why, sizeof(f->why));
}

/* Refused with -@err, on one line naming @path and containing @words. */
static void assert_refused(struct fx *f, int r, int err, const char *path, const char *words)
{
	assert_int_equal(r, -err);
	if (!strstr(f->why, path) || !strstr(f->why, words))
		fail_msg("message '%s' lacks '%s' or '%s'", f->why, path, words);
	assert_null(strchr(f->why, '\n'));
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	struct blk_disk d;
	char path[160];

	snprintf(path, sizeof(path), "%s/absent.img", f->dir);
	assert_refused(f, open_disk(f, &d, path, false, BLK_CACHE_WRITEBACK), ENOENT, path,
		       "No such file");
	assert_int_equal(d.fd, -1);
}

static void test_size_not_multiple_of_512(void **state)
{
	struct fx *f = *state;
	const char *path = make_file(f, "odd.img", 1000, 0600);
	struct blk_disk d;

	assert_refused(f, open_disk(f, &d, path, false, BLK_CACHE_WRITEBACK), EINVAL, path,
		       "size 1000 is not a multiple of 512");
	assert_int_equal(d.fd, -1);
}

static void test_empty_file(void **state)
{
	struct fx *f = *state;
	const char *path = make_file(f, "empty.img", 0, 0600);
	struct blk_disk d;

	assert_refused(f, open_disk(f, &d, path, true, BLK_CACHE_WRITEBACK), EINVAL, path,
		       "size 0");
}

static void test_not_a_file(void **state)
{
	struct fx *f = *state;
	char *fifo = f->path[f->npath++];
	struct blk_disk d;

	/* A directory: refused read-only (open works) and read-write (EISDIR). */
	assert_refused(f, open_disk(f, &d, f->dir, true, BLK_CACHE_WRITEBACK), EINVAL, f->dir,
		       "not a regular file or block device");
	assert_int_equal(open_disk(f, &d, f->dir, false, BLK_CACHE_WRITEBACK), -EISDIR);
	assert_non_null(strstr(f->why, "not a regular file or block device"));

	/* A FIFO with no writer: refused, not waited on. */
	set_path(fifo, f->dir, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_refused(f, open_disk(f, &d, fifo, true, BLK_CACHE_WRITEBACK), EINVAL, fifo,
		       "not a regular file or block device");
}

/*
 * The checks of a 0444 file, done as a user the permission bits bind: root
 * ignores them, so as root they run in a child that became "nobody".
 * Returns a failure code for the parent, 0 when all held.
 */
static int check_read_only_file(struct fx *f, const char *path)
{
	struct blk_disk d;
	int r = open_disk(f, &d, path, false, BLK_CACHE_WRITEBACK);

	if (r != -EACCES || !strstr(f->why, path) || !strstr(f->why, ",ro"))
		return 1;
	if (open_disk(f, &d, path, true, BLK_CACHE_WRITEBACK) != 0)
		return 2;
	if (!d.read_only || d.size != 4096 || d.discard || d.write_zeroes)
		return 3;
	blk_disk_close(&d);
	return 0;
}

static void test_read_only_file(void **state)
{
	struct fx *f = *state;
	const char *path = make_file(f, "ro.img", 4096, 0444);
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		assert_int_equal(check_read_only_file(f, path), 0);
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		_exit(check_read_only_file(f, path));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("as uid 65534: check %d failed", WEXITSTATUS(status));
}

static void test_probes_keep_data(void **state)
{
	struct fx *f = *state;
	const char *path = make_file(f, "keep.img", 8192, 0600);
	uint8_t want[8192], got[8192];
	struct blk_disk d;
	struct stat st;
	int fd;

	assert_int_equal(open_disk(f, &d, path, false, BLK_CACHE_WRITEBACK), 0);
	assert_int_equal(d.size, 8192);
	assert_int_equal(d.block_size, 512);
	assert_false(d.read_only);
	blk_disk_close(&d);
	assert_int_equal(d.fd, -1);

	fill(want, sizeof(want));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 8192);
	assert_int_equal(read(fd, got, sizeof(got)), (ssize_t)sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
	close(fd);
}

/*
 * Opening a sparse image read-write allocates nothing: the discard and
 * write-zeroes probes must not leave a block behind (a ZERO_RANGE past the
 * end did, on ext4: st_blocks 0 -> 8). Where the filesystem can punch
 * holes, the probes still find that out.
 */
static void test_probes_keep_allocation(void **state)
{
	struct fx *f = *state;
	char *path = f->path[f->npath++];
	enum blk_cache caches[] = {BLK_CACHE_WRITEBACK, BLK_CACHE_NONE};
	struct statfs sfs;
	struct stat before, after;
	struct blk_disk d;
	int fd;

	set_path(path, f->dir, "sparse.img");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 << 20), 0);
	assert_int_equal(fstat(fd, &before), 0);
	close(fd);
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		int r = open_disk(f, &d, path, false, caches[i]);

		if (r == -EINVAL && caches[i] == BLK_CACHE_NONE)
			continue; /* no O_DIRECT on this filesystem */
		assert_int_equal(r, 0);
		if (statfs(path, &sfs) == 0 && sfs.f_type == 0xEF53 /* ext2/3/4 */) {
			assert_true(d.discard);
			assert_true(d.write_zeroes);
		}
		blk_disk_close(&d);
		assert_int_equal(stat(path, &after), 0);
		assert_int_equal(after.st_size, before.st_size);
		if (after.st_blocks != before.st_blocks)
			fail_msg("cache mode %zu: st_blocks %lld -> %lld", i,
				 (long long)before.st_blocks, (long long)after.st_blocks);
	}
}

static void test_serial_stable(void **state)
{
	struct fx *f = *state;
	const char *a = make_file(f, "a.img", 512, 0600);
	const char *b = make_file(f, "b.img", 512, 0600);
	struct blk_disk d1, d2, d3;

	assert_int_equal(open_disk(f, &d1, a, true, BLK_CACHE_WRITEBACK), 0);
	assert_int_equal(open_disk(f, &d3, b, true, BLK_CACHE_WRITEBACK), 0);
	blk_disk_close(&d1); /* a read-write open needs the image to itself */
	assert_int_equal(open_disk(f, &d2, a, false, BLK_CACHE_WRITEBACK), 0);
	assert_int_equal(open_disk(f, &d1, a, true, BLK_CACHE_WRITEBACK), -EBUSY);
	assert_int_equal(open_disk(f, &d1, a, true, BLK_CACHE_WRITEBACK), -EBUSY);
	blk_disk_close(&d2);
	assert_int_equal(open_disk(f, &d1, a, true, BLK_CACHE_WRITEBACK), 0);
	assert_int_equal(open_disk(f, &d2, a, false, BLK_CACHE_WRITEBACK), -EBUSY);
	assert_int_equal(open_disk(f, &d2, a, true, BLK_CACHE_WRITEBACK), 0);
	assert_memory_equal(d1.serial, d2.serial, sizeof(d1.serial));
	assert_memory_not_equal(d1.serial, d3.serial, sizeof(d1.serial));
	assert_memory_equal(d1.serial, "nvmm-", 5);
	for (size_t i = 0; i < sizeof(d1.serial); i++)
		assert_true(d1.serial[i] > ' ' && d1.serial[i] < 0x7f);
	blk_disk_close(&d1);
	blk_disk_close(&d2);
	blk_disk_close(&d3);
}

/*
 * cache=none: accepted where the filesystem takes O_DIRECT (and then the
 * block size is an alignment O_DIRECT accepts), refused with the reason
 * where it does not (tmpfs before Linux 6.6).
 */
static void check_cache_none(struct fx *f, const char *path, bool tmpfs)
{
	int fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	struct blk_disk d;
	int r = open_disk(f, &d, path, false, BLK_CACHE_NONE);

	if (fd < 0) {
		assert_int_equal(errno, EINVAL);
		assert_refused(f, r, EINVAL, path, tmpfs ? "tmpfs" : "O_DIRECT");
		return;
	}
	if (r != 0)
		fail_msg("refused: %s", f->why);
	assert_true(d.block_size >= 512 && (d.block_size & (d.block_size - 1)) == 0);
	assert_int_equal(d.size % d.block_size, 0);
	{
		void *buf = NULL;

		/* The promised alignment works for a direct read. */
		assert_int_equal(posix_memalign(&buf, 4096, d.block_size), 0);
		assert_int_equal(pread(d.fd, buf, d.block_size, d.block_size), d.block_size);
		free(buf);
	}
	blk_disk_close(&d);
	close(fd);
}

/* One writer or many readers per image, across processes too. */
static void test_image_lock(void **state)
{
	struct fx *f = *state;
	const char *a = make_file(f, "lock.img", 1024, 0600);
	struct blk_disk w, r1, r2;
	int status;
	pid_t pid;

	assert_int_equal(open_disk(f, &w, a, false, BLK_CACHE_WRITEBACK), 0);
	assert_refused(f, open_disk(f, &r1, a, false, BLK_CACHE_WRITEBACK), EBUSY, a, "locked");
	assert_refused(f, open_disk(f, &r1, a, true, BLK_CACHE_WRITEBACK), EBUSY, a, "locked");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) /* another VMM process */
		_exit(open_disk(f, &r1, a, false, BLK_CACHE_WRITEBACK) == -EBUSY ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	blk_disk_close(&w);

	assert_int_equal(open_disk(f, &r1, a, true, BLK_CACHE_WRITEBACK), 0);
	assert_int_equal(open_disk(f, &r2, a, true, BLK_CACHE_WRITEBACK), 0);
	assert_refused(f, open_disk(f, &w, a, false, BLK_CACHE_WRITEBACK), EBUSY, a, ",ro");
	blk_disk_close(&r1);
	blk_disk_close(&r2);
	assert_int_equal(open_disk(f, &w, a, false, BLK_CACHE_WRITEBACK), 0);
	blk_disk_close(&w);
}

static void test_cache_none(void **state)
{
	struct fx *f = *state;

	check_cache_none(f, make_file(f, "direct.img", 65536, 0600), false);
}

/* tmpfs refuses O_DIRECT: cache=none there is one line that says to use writeback. */
static void test_cache_none_on_tmpfs(void **state)
{
	struct fx *f = *state;
	struct statfs sfs;
	char *shm = f->path[f->npath++];
	int fd;

	if (statfs("/dev/shm", &sfs) < 0 || sfs.f_type != TMPFS_MAGIC_)
		skip(); /* no tmpfs at /dev/shm to try the refusal on */
	snprintf(shm, sizeof(f->path[0]), "/dev/shm/nestvmm-disk-%d.img", (int)getpid());
	fd = open(shm, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	close(fd);
	check_cache_none(f, shm, true);
}

static void test_sync_engine_always_there(void **state)
{
	(void)state;
	assert_true(blk_engine_available(BLK_ENGINE_SYNC));
	assert_string_equal(blk_engine_name(BLK_ENGINE_IO_URING), "io_uring");
	assert_string_equal(blk_engine_name(BLK_ENGINE_AIO), "aio");
	assert_string_equal(blk_engine_name(BLK_ENGINE_SYNC), "sync");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_not_multiple_of_512, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probes_keep_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_image_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_none_on_tmpfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probes_keep_allocation, setup, teardown),
	    cmocka_unit_test(test_sync_engine_always_there),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
