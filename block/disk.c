/* SPDX-License-Identifier: MIT */
/*
 * A disk image: open and check it once at startup, so that every problem
 * the user can fix is one line naming the file, before any guest runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libaio.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "block/block.h"
#include "vmm/io_ring.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/*
 * Offset alignment for O_DIRECT when the kernel does not say (no
 * STATX_DIOALIGN before 6.1, or a filesystem that does not fill it in).
 * Filesystems align direct I/O to the logical block size of the device
 * below, which is 512 or 4096 on every disk in use; 4096 satisfies both,
 * while guessing 512 would make every guest I/O fail with EINVAL on a 4Kn
 * disk. The guest is told this block size and sends aligned I/O.
 */
#define DIO_ALIGN_FALLBACK 4096u

static int fail(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

bool blk_engine_available(enum blk_engine engine)
{
	switch (engine) {
	case BLK_ENGINE_IO_URING:
		return io_ring_available();
	case BLK_ENGINE_AIO: {
		io_context_t ctx = 0;

		if (io_setup(1, &ctx) < 0)
			return false;
		io_destroy(ctx);
		return true;
	}
	case BLK_ENGINE_SYNC:
		return true;
	}
	return false;
}

/* The O_DIRECT offset alignment of @fd, at least 512. */
static uint32_t dio_align(int fd, const struct stat *st)
{
	uint32_t align = 0;
	int ssz;

#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN))
		align = stx.stx_dio_offset_align;
#endif
	if (!align && S_ISBLK(st->st_mode) && ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
		align = (uint32_t)ssz;
	if (!align)
		align = DIO_ALIGN_FALLBACK;
	return align < 512 ? 512 : align;
}

/*
 * A block device can punch (unmap and read back zeros) only when it has a
 * write-zeroes command: the kernel does not fall back to writing zeros for
 * PUNCH_HOLE there. Partitions have no queue/ of their own, so look at the
 * whole disk's too.
 */
static bool blkdev_can_punch(const struct stat *st)
{
	static const char *const fmt[] = {
	    "/sys/dev/block/%u:%u/queue/write_zeroes_max_bytes",
	    "/sys/dev/block/%u:%u/../queue/write_zeroes_max_bytes",
	};
	char path[96];
	unsigned long long max = 0;

	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), fmt[i], major(st->st_rdev), minor(st->st_rdev));
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &max) != 1)
			max = 0;
		fclose(f);
		return max > 0;
	}
	return false;
}

/* Whether fallocate(@mode) works on @fd over [@off, @off + @len), keeping the size. */
static bool falloc_works(int fd, uint64_t off, uint32_t len, int mode)
{
	return fallocate(fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, len) == 0;
}

/*
 * An anonymous file on the image's filesystem (O_TMPFILE in its directory),
 * to ask fallocate's questions of: a ZERO_RANGE past the end of the image
 * itself would allocate a block there that ext4 does not punch back out
 * (it ignores a hole punched past i_size), so a sparse image would grow.
 * -1 when the directory does not allow it.
 */
static int probe_file(const char *image_path)
{
	char dir[sizeof(((struct blk_disk *)0)->path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", image_path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/*
 * What the guest may ask of a file image: discard (a punched hole reads
 * back as zeros) and write-zeroes (ZERO_RANGE, or a punch). Asked of a
 * scratch file of the same filesystem, so that the image's data and its
 * allocation stay exactly as they were; where no scratch file can be made,
 * only PUNCH_HOLE is asked of the image, past its end, which allocates
 * nothing.
 */
static void probe_file_discard(struct blk_disk *disk)
{
	int fd = probe_file(disk->path);

	if (fd < 0) {
		disk->discard =
		    falloc_works(disk->fd, disk->size, disk->block_size, FALLOC_FL_PUNCH_HOLE);
		disk->write_zeroes = disk->discard;
		return;
	}
	disk->discard = falloc_works(fd, 0, disk->block_size, FALLOC_FL_PUNCH_HOLE);
	disk->write_zeroes =
	    disk->discard || falloc_works(fd, 0, disk->block_size, FALLOC_FL_ZERO_RANGE);
	close(fd);
}

static void probe_discard(struct blk_disk *disk, const struct stat *st)
{
	if (disk->read_only)
		return;
	if (S_ISBLK(st->st_mode)) {
		disk->discard = blkdev_can_punch(st);
		/* ZERO_RANGE on a block device falls back to writing zeros in the kernel. */
		disk->write_zeroes = true;
		return;
	}
	probe_file_discard(disk);
}

/*
 * The virtio-blk ID: the same file gives the same ID at every start (the
 * guest's /dev/disk/by-id stays put), two files differ. 15 hex digits of a
 * mix of st_dev and st_ino fill the 20 bytes after the prefix.
 */
static void make_serial(struct blk_disk *disk, const struct stat *st)
{
	uint64_t h = (uint64_t)st->st_ino;
	char buf[32];

	h ^= ((uint64_t)st->st_dev + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	snprintf(buf, sizeof(buf), "nvmm-%015" PRIx64, (uint64_t)(h & ((1ull << 60) - 1)));
	memcpy(disk->serial, buf, sizeof(disk->serial));
}

/* Explain an open() failure of @spec's file. */
static int open_failed(const struct disk_spec *spec, int err, char *why, size_t why_len)
{
	struct statfs sfs;

	if (!spec->read_only && (err == EACCES || err == EPERM || err == EROFS))
		return fail(why, why_len, -err, "disk %s: %s (opened read-write; add ,ro?)",
			    spec->path, strerror(err));
	if (err == EISDIR)
		return fail(why, why_len, -err,
			    "disk %s: is a directory, not a regular file or block device",
			    spec->path);
	if (err == EINVAL && spec->cache == BLK_CACHE_NONE) {
		if (statfs(spec->path, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
			return fail(why, why_len, -err,
				    "disk %s: cache=none needs O_DIRECT, which tmpfs refuses; use "
				    "cache=writeback",
				    spec->path);
		return fail(
		    why, why_len, -err,
		    "disk %s: cache=none needs O_DIRECT, which this filesystem refuses; use "
		    "cache=writeback",
		    spec->path);
	}
	return fail(why, why_len, -err, "disk %s: %s", spec->path, strerror(err));
}

static int check_and_size(struct blk_disk *disk, const struct disk_spec *spec, struct stat *st,
			  char *why, size_t why_len)
{
	uint64_t size;
	int err;

	if (fstat(disk->fd, st) < 0) {
		err = errno;
		return fail(why, why_len, -err, "disk %s: %s", spec->path, strerror(err));
	}
	if (S_ISREG(st->st_mode)) {
		size = (uint64_t)st->st_size;
	} else if (S_ISBLK(st->st_mode)) {
		if (ioctl(disk->fd, BLKGETSIZE64, &size) < 0) {
			err = errno;
			return fail(why, why_len, -err, "disk %s: cannot read the device size: %s",
				    spec->path, strerror(err));
		}
	} else {
		return fail(why, why_len, -EINVAL, "disk %s: not a regular file or block device",
			    spec->path);
	}
	if (size == 0)
		return fail(why, why_len, -EINVAL, "disk %s: is empty (size 0)", spec->path);
	if (size % 512)
		return fail(why, why_len, -EINVAL,
			    "disk %s: size %" PRIu64 " is not a multiple of 512 bytes", spec->path,
			    size);
	disk->size = size;
	disk->block_size = spec->cache == BLK_CACHE_NONE ? dio_align(disk->fd, st) : 512;
	if (size % disk->block_size)
		return fail(why, why_len, -EINVAL,
			    "disk %s: size %" PRIu64
			    " is not a multiple of the %u-byte O_DIRECT alignment (cache=none)",
			    spec->path, size, disk->block_size);
	return 0;
}

int blk_disk_open(struct blk_disk *disk, const struct disk_spec *spec, char *why, size_t why_len)
{
	struct stat st;
	int flags, err, r;

	memset(disk, 0, sizeof(*disk));
	disk->fd = -1;
	if (why && why_len)
		why[0] = '\0';
	if (!spec || !spec->path || !spec->path[0])
		return fail(why, why_len, -EINVAL, "disk: no file given");
	snprintf(disk->path, sizeof(disk->path), "%s", spec->path);
	disk->read_only = spec->read_only;
	disk->engine = spec->engine;
	disk->cache = spec->cache;

	/*
	 * O_NONBLOCK: a FIFO given by mistake must be refused, not wait for a
	 * writer. It is cleared below: it means nothing to files and disks.
	 */
	flags = (spec->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
	if (spec->cache == BLK_CACHE_NONE)
		flags |= O_DIRECT;
	disk->fd = open(spec->path, flags);
	if (disk->fd < 0) {
		err = errno;
		disk->fd = -1;
		return open_failed(spec, err, why, why_len);
	}
	r = check_and_size(disk, spec, &st, why, why_len);
	if (r < 0)
		goto out_close;
	/*
	 * Two VMs writing one image corrupt it: a read-write disk takes the
	 * image exclusively, read-only ones share it (flock, as QEMU does).
	 */
	if (flock(disk->fd, (spec->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		err = errno;
		r = err == EWOULDBLOCK
			? fail(why, why_len, -EBUSY,
			       "disk %s: in use by another VM or process (image locked)%s",
			       spec->path, spec->read_only ? "" : "; readers can share it with ,ro")
			: fail(why, why_len, -err, "disk %s: cannot lock: %s", spec->path,
			       strerror(err));
		goto out_close;
	}
	flags = fcntl(disk->fd, F_GETFL);
	if (flags < 0 || fcntl(disk->fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		err = errno;
		r = fail(why, why_len, -err, "disk %s: %s", spec->path, strerror(err));
		goto out_close;
	}
	if (!blk_engine_available(spec->engine)) {
		r = fail(why, why_len, -ENOSYS,
			 "disk %s: engine=%s is not available on this host (disabled by sysctl or "
			 "seccomp?); try engine=%s",
			 spec->path, blk_engine_name(spec->engine),
			 spec->engine == BLK_ENGINE_IO_URING ? "aio" : "sync");
		goto out_close;
	}
	probe_discard(disk, &st);
	make_serial(disk, &st);
	return 0;

out_close:
	close(disk->fd);
	disk->fd = -1;
	return r;
}

void blk_disk_close(struct blk_disk *disk)
{
	if (disk->fd >= 0)
		close(disk->fd);
	disk->fd = -1;
}
