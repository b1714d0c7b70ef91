/* SPDX-License-Identifier: MIT */
/*
 * The bench VM's disk: a PCI bus (ports 0xcf8/0xcfc and the ECAM window of
 * bench/guest/protocol.h) with one virtio-blk device on a scratch image the
 * bench creates, fills with the sector pattern the guest checks
 * (bench_blk_pattern()) and removes again. The guest learns of the disk
 * only through PCI.
 */
#ifndef NESTVMM_BENCH_DISK_H
#define NESTVMM_BENCH_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pci.h"
#include "virtio/blk.h"
#include "block/block.h"
#include "board/virtio_host.h"

struct vm;

#define BENCH_DISK_DEFAULT_SIZE (256ull << 20)
#define BENCH_DISK_QUEUE_SIZE	256

struct bench_disk {
	struct pci_bus pci;
	struct virtio_host vhost;
	struct blk_disk disk;
	struct virtio_blk blk;
	bool pci_up, vhost_up, disk_open, blk_up;
	char note[192]; /* "virtio-blk on io_uring, 256 MiB image in /dev/shm" */
};

/*
 * Fill @len bytes (a multiple of 512) with the pattern of the sectors from
 * @first_sector on: the first 8 bytes of each sector bench_blk_pattern(),
 * the rest zero.
 */
void bench_disk_fill(void *buf, size_t len, uint64_t first_sector);

/*
 * Create the image (@size bytes, a non-zero multiple of 4096) in /dev/shm,
 * else $TMPDIR, else /tmp; open it with io_uring (sync where io_uring is
 * unavailable); unlink it; attach the PCI bus and the device to @vm.
 * Returns 0 or -errno with one line in @why. On error, and when done,
 * bench_disk_destroy() undoes what was set up.
 */
typedef void (*bench_disk_fill_fn)(void *buf, size_t len, uint64_t first_sector);

/* @fill writes the image's contents (NULL: bench_disk_fill; tests pass a wrong one). */
int bench_disk_attach(struct bench_disk *bd, struct vm *vm, uint64_t size, bench_disk_fill_fn fill,
		      char *why, size_t why_len);

/* Call before the VM is destroyed: the device's threads use its RAM. */
void bench_disk_destroy(struct bench_disk *bd);

#endif
