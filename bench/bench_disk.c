// SPDX-License-Identifier: MIT
#include "bench/bench_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bench/guest/protocol.h"
#include "vmm/vm.h"

#define SECTOR	   512
#define FILL_CHUNK (1u << 20)

void bench_disk_fill(void *buf, size_t len, uint64_t first_sector)
{
	uint8_t *p = buf;

	memset(buf, 0, len);
	for (size_t off = 0; off + SECTOR <= len; off += SECTOR) {
		uint64_t v = bench_blk_pattern(first_sector + off / SECTOR);

		memcpy(p + off, &v, sizeof(v));
	}
}

/* $TMPDIR when set, as for every temporary file; else tmpfs, where one is. */
static const char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp && *tmp)
		return tmp;
	if (access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

/* The image at @path: @size bytes of pattern. */
static int write_image(int fd, uint64_t size, bench_disk_fill_fn fill)
{
	uint8_t *buf = malloc(FILL_CHUNK);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < size && r == 0; off += FILL_CHUNK) {
		size_t len = size - off < FILL_CHUNK ? (size_t)(size - off) : FILL_CHUNK;

		fill(buf, len, off / SECTOR);
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? -errno : -EIO;
				break;
			}
			done += (size_t)n;
		}
	}
	free(buf);
	return r;
}

static int create_image(struct bench_disk *bd, uint64_t size, bench_disk_fill_fn fill, char *why,
			size_t why_len)
{
	const char *dir = scratch_dir();
	struct disk_spec spec = {.engine = BLK_ENGINE_IO_URING, .cache = BLK_CACHE_WRITEBACK};
	char path[256];
	struct statvfs sv;
	int fd, r;

	if (!blk_engine_available(BLK_ENGINE_IO_URING))
		spec.engine = BLK_ENGINE_SYNC;
	if (statvfs(dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < size) {
		snprintf(why, why_len,
			 "bench disk: a %llu MiB image does not fit in %s (%llu MiB free); "
			 "see --disk-size and TMPDIR",
			 (unsigned long long)(size >> 20), dir,
			 (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize >> 20));
		return -ENOSPC;
	}
	if (snprintf(path, sizeof(path), "%s/nestvmm-bench-XXXXXX", dir) >= (int)sizeof(path)) {
		snprintf(why, why_len, "bench disk: scratch directory path too long");
		return -ENAMETOOLONG;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		r = -errno;
		snprintf(why, why_len, "bench disk: cannot create an image in %s: %s", dir,
			 strerror(errno));
		return r;
	}
	/*
	 * Nameless from the start: whatever ends the process (a signal during
	 * the fill, SIGKILL), the image goes with it. The disk layer opens it
	 * again through /proc, as a file of its own.
	 */
	unlink(path);
	r = write_image(fd, size, fill ? fill : bench_disk_fill);
	if (r < 0) {
		snprintf(why, why_len, "bench disk in %s: cannot write %llu MiB: %s", dir,
			 (unsigned long long)(size >> 20), strerror(-r));
		close(fd);
		return r;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	spec.path = path;
	r = blk_disk_open(&bd->disk, &spec, why, why_len);
	close(fd);
	if (r < 0)
		return r;
	bd->disk_open = true;
	snprintf(bd->note, sizeof(bd->note), "virtio-blk on %s%s, %llu MiB image in %s",
		 blk_engine_name(spec.engine),
		 spec.engine == BLK_ENGINE_SYNC ? " (io_uring unavailable)" : "",
		 (unsigned long long)(size >> 20), dir);
	return 0;
}

int bench_disk_attach(struct bench_disk *bd, struct vm *vm, uint64_t size, bench_disk_fill_fn fill,
		      char *why, size_t why_len)
{
	const char *what = NULL;
	int r;

	memset(bd, 0, sizeof(*bd));
	if (size == 0 || size % 4096) {
		snprintf(why, why_len, "bench disk: size %llu is not a multiple of 4 KiB",
			 (unsigned long long)size);
		return -EINVAL;
	}
	if ((r = pci_bus_init(&bd->pci, NULL)) < 0) {
		snprintf(why, why_len, "bench disk: PCI bus: %s", strerror(-r));
		return r;
	}
	bd->pci_up = true;
	if ((r = pci_bus_attach(&bd->pci, &vm->pio)) < 0 ||
	    (r = pci_bus_attach_ecam(&bd->pci, &vm->mmio, BENCH_PCI_ECAM_ADDR)) < 0) {
		snprintf(why, why_len, "bench disk: cannot attach the PCI bus: %s", strerror(-r));
		return r;
	}
	if ((r = virtio_host_init(&bd->vhost, vm, &bd->pci, BENCH_PCI_MMIO_BASE,
				  BENCH_PCI_MMIO_SIZE)) < 0) {
		snprintf(why, why_len, "bench disk: MSI routing: %s", strerror(-r));
		return r;
	}
	bd->vhost_up = true;
	if ((r = create_image(bd, size, fill, why, why_len)) < 0)
		return r;
	if ((r = virtio_blk_init(&bd->blk, &bd->disk, 1, BENCH_DISK_QUEUE_SIZE, why, why_len)) < 0)
		return r;
	bd->blk_up = true;
	if ((r = virtio_host_add(&bd->vhost, &bd->blk.vdev, &what)) < 0) {
		snprintf(why, why_len, "bench disk: %s", what);
		return r;
	}
	return 0;
}

void bench_disk_destroy(struct bench_disk *bd)
{
	/* The transport first: it resets the device, whose threads then stop. */
	if (bd->vhost_up)
		virtio_host_destroy(&bd->vhost);
	if (bd->blk_up)
		virtio_blk_destroy(&bd->blk);
	if (bd->disk_open)
		blk_disk_close(&bd->disk);
	if (bd->pci_up)
		pci_bus_destroy(&bd->pci);
	bd->vhost_up = bd->blk_up = bd->disk_open = bd->pci_up = false;
}
