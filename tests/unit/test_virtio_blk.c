/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device model end to end without KVM: a driver written here
 * lays out split rings and requests in guest RAM, kicks through the kick
 * eventfd like the transport would, and reads the used ring; the device's
 * queue threads run for real against an in-memory engine that can fail the
 * next I/O on demand or hold I/Os in flight until the test lets them go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/blk_req.h"

#define RAM_SIZE  (16u << 20)
#define QSIZE	  64
#define DISK_SIZE (1u << 20)
#define SERIAL	  "NESTVMM-TEST-SERIAL1" /* 20 bytes: no NUL in the ID */

#define RING_GPA(q)	(0x10000ull + 0x10000ull * (q))
#define HDR_GPA(q, s)	(0x100000ull + 0x10000ull * (q) + 64ull * (s))
#define DATA_GPA(q, s)	(0x400000ull + 0x100000ull * (q) + 0x4000ull * (s))
#define SLOTS_PER_QUEUE (QSIZE / 4) /* each request takes descriptors 4s..4s+3 */
#define WAIT_CAP_NS	(5ull * 1000 * 1000 * 1000)
#define MAX_TEST_QUEUES 2

#include "test_engine.h"

/* ---- the fake transport ---- */

struct fake_transport {
	atomic_uint notifies[MAX_TEST_QUEUES];
	atomic_uint needs_reset;
};

static void ft_notify_queue(void *t, unsigned int q)
{
	struct fake_transport *ft = t;

	if (q < MAX_TEST_QUEUES)
		atomic_fetch_add(&ft->notifies[q], 1);
}

static void ft_notify_config(void *t)
{
	(void)t;
}

static void ft_needs_reset(void *t)
{
	struct fake_transport *ft = t;

	atomic_fetch_add(&ft->needs_reset, 1);
}

static const struct virtio_transport_ops ft_ops = {
    .notify_queue = ft_notify_queue,
    .notify_config = ft_notify_config,
    .needs_reset = ft_needs_reset,
};

/* ---- the driver ---- */

struct drv_q {
	uint16_t avail_idx; /* free-running, as published */
	unsigned int next_slot;
};

struct fx {
	struct guest_mem mem;
	struct blk_disk disk;
	struct virtio_blk blk;
	struct fake_transport ft;
	struct drv_q drv[MAX_TEST_QUEUES];
	unsigned int nr_queues;
	bool event_idx;
};

struct req_handle {
	unsigned int q;
	uint16_t head;
	uint64_t data_gpa;
	uint64_t status_gpa;
};

static uint8_t *hva(struct fx *f, uint64_t gpa)
{
	/* guest_mem_init() lays out RAM this small as one region at gpa 0. */
	return f->mem.regions[0].hva + gpa;
}

static struct virtq_desc *desc(struct fx *f, unsigned int q)
{
	return (struct virtq_desc *)hva(f, RING_GPA(q));
}

static struct virtq_avail *avail(struct fx *f, unsigned int q)
{
	return (struct virtq_avail *)hva(f, RING_GPA(q) + 0x2000);
}

static struct virtq_used *used(struct fx *f, unsigned int q)
{
	return (struct virtq_used *)hva(f, RING_GPA(q) + 0x4000);
}

static uint16_t *used_event(struct fx *f, unsigned int q)
{
	return &avail(f, q)->ring[QSIZE];
}

static void fx_setup(struct fx *f, unsigned int nr_queues, bool read_only, bool event_idx)
{
	char why[128];

	memset(f, 0, sizeof(*f));
	te_reset(DISK_SIZE);
	assert_int_equal(guest_mem_init(&f->mem, RAM_SIZE), 0);
	assert_int_equal(f->mem.regions[0].gpa, 0);
	f->disk = (struct blk_disk){.fd = -1,
				    .size = DISK_SIZE,
				    .read_only = read_only,
				    .block_size = 512,
				    .discard = true,
				    .write_zeroes = true};
	strcpy(f->disk.path, "ramdisk");
	memcpy(f->disk.serial, SERIAL, sizeof(f->disk.serial));
	f->nr_queues = nr_queues;
	f->event_idx = event_idx;
	assert_int_equal(virtio_blk_init(&f->blk, &f->disk, nr_queues, QSIZE, why, sizeof(why)), 0);
	virtio_blk_set_engine(&f->blk, &te_ops);
}

/* What the transport does at DRIVER_OK. */
static void fx_start(struct fx *f)
{
	struct virtio_dev *dev = &f->blk.vdev;

	dev->transport_ops = &ft_ops;
	dev->transport = &f->ft;
	dev->driver_features = dev->device_features;
	if (!f->event_idx)
		dev->driver_features &= ~(1ULL << VIRTIO_F_EVENT_IDX);
	for (unsigned int q = 0; q < f->nr_queues; q++) {
		dev->kick_fd[q] = eventfd(0, EFD_NONBLOCK);
		assert_true(dev->kick_fd[q] >= 0);
		assert_int_equal(virtq_enable(&dev->vqs[q], &f->mem, QSIZE, RING_GPA(q),
					      RING_GPA(q) + 0x2000, RING_GPA(q) + 0x4000,
					      f->event_idx, true),
				 0);
	}
	assert_int_equal(dev->ops->start(dev), 0);
}

static void fx_fini(struct fx *f)
{
	virtio_blk_destroy(&f->blk);
	for (unsigned int q = 0; q < f->nr_queues; q++)
		if (f->blk.vdev.kick_fd[q] >= 0)
			close(f->blk.vdev.kick_fd[q]);
	guest_mem_destroy(&f->mem);
	for (unsigned int i = 0; i < te.nqueues; i++)
		free(te.queues[i]);
	te.nqueues = 0;
}

static void set_desc(struct fx *f, unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	desc(f, q)[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/*
 * Lay out header, data (@len bytes at the slot's data area, device-writable
 * when @dev_writes, filled from @src if given) and status, and make the
 * chain available. No kick.
 */
static struct req_handle add_req_data(struct fx *f, unsigned int q, uint32_t type, uint64_t sector,
				      uint32_t len, bool dev_writes, const void *src)
{
	struct drv_q *d = &f->drv[q];
	unsigned int slot = d->next_slot++ % SLOTS_PER_QUEUE;
	uint16_t head = (uint16_t)(slot * 4), i = head;
	struct req_handle h = {.q = q,
			       .head = head,
			       .data_gpa = DATA_GPA(q, slot),
			       .status_gpa = HDR_GPA(q, slot) + 16};
	uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};

	memcpy(hva(f, HDR_GPA(q, slot)), hdr, sizeof(hdr));
	*hva(f, h.status_gpa) = 0xee;
	if (src)
		memcpy(hva(f, h.data_gpa), src, len);
	set_desc(f, q, i, HDR_GPA(q, slot), 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	i++;
	if (len) {
		set_desc(f, q, i, h.data_gpa, len,
			 VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0),
			 (uint16_t)(i + 1));
		i++;
	}
	set_desc(f, q, i, h.status_gpa, 1, VIRTQ_DESC_F_WRITE, 0);

	avail(f, q)->ring[d->avail_idx % QSIZE] = head;
	d->avail_idx++;
	__atomic_store_n(&avail(f, q)->idx, d->avail_idx, __ATOMIC_RELEASE);
	return h;
}

static struct req_handle add_req(struct fx *f, unsigned int q, uint32_t type, uint64_t sector,
				 uint32_t len, bool dev_writes)
{
	return add_req_data(f, q, type, sector, len, dev_writes, NULL);
}

static void kick(struct fx *f, unsigned int q)
{
	signal_fd(f->blk.vdev.kick_fd[q]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nap(void)
{
	struct timespec ts = {.tv_nsec = 100 * 1000};

	nanosleep(&ts, NULL);
}

/* Wait (at most 5 s) until used->idx reaches @idx. */
static bool wait_used(struct fx *f, unsigned int q, uint16_t idx)
{
	uint64_t end = now_ns() + WAIT_CAP_NS;

	while (__atomic_load_n(&used(f, q)->idx, __ATOMIC_ACQUIRE) != idx) {
		if (now_ns() > end)
			return false;
		nap();
	}
	return true;
}

static bool wait_counter(atomic_uint *c, unsigned int at_least)
{
	uint64_t end = now_ns() + WAIT_CAP_NS;

	while (atomic_load(c) < at_least) {
		if (now_ns() > end)
			return false;
		nap();
	}
	return true;
}

static uint8_t status(struct fx *f, const struct req_handle *h)
{
	return __atomic_load_n(hva(f, h->status_gpa), __ATOMIC_ACQUIRE);
}

/* Submit one request, kick, wait for it; returns its status byte. */
static uint8_t do_req(struct fx *f, unsigned int q, uint32_t type, uint64_t sector, uint32_t len,
		      bool dev_writes, struct req_handle *out)
{
	struct req_handle h = add_req(f, q, type, sector, len, dev_writes);

	kick(f, q);
	assert_true(wait_used(f, q, f->drv[q].avail_idx));
	if (out)
		*out = h;
	return status(f, &h);
}

static struct virtq_used_elem last_used(struct fx *f, unsigned int q)
{
	return used(f, q)->ring[(uint16_t)(used(f, q)->idx - 1) % QSIZE];
}

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

/* ---- config space ---- */

static uint64_t cfg(struct fx *f, unsigned int off, unsigned int size)
{
	uint8_t buf[8] = {0};
	uint64_t v = 0;

	f->blk.vdev.ops->config_read(&f->blk.vdev, off, buf, size);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

static void test_config_fields(void **state)
{
	struct fx f;
	uint8_t whole[60], bytes[60], tail[8];

	(void)state;
	fx_setup(&f, 2, true, true);
	assert_int_equal(f.blk.vdev.device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(f.blk.vdev.config_len, 60);
	assert_int_equal(f.blk.vdev.nr_queues, 2);
	assert_int_equal(f.blk.vdev.queue_max_size, QSIZE);
	assert_int_equal(cfg(&f, 0, 8), DISK_SIZE / 512);
	assert_int_equal(cfg(&f, 0, 4), DISK_SIZE / 512); /* low half alone */
	assert_int_equal(cfg(&f, 12, 4), QSIZE - 2);	  /* seg_max */
	assert_int_equal(cfg(&f, 20, 4), 512);		  /* blk_size */
	assert_int_equal(cfg(&f, 34, 2), 2);		  /* num_queues */
	assert_int_not_equal(cfg(&f, 40, 4), 0);	  /* max_discard_seg */
	assert_int_not_equal(cfg(&f, 52, 4), 0);	  /* max_write_zeroes_seg */
	/* 4 KiB physical blocks of 512-byte logical ones: exp 3, min_io 8 blocks. */
	assert_int_equal(cfg(&f, 24, 1), 3);
	assert_int_equal(cfg(&f, 26, 2), 8);

	uint64_t feat = f.blk.vdev.device_features;
	assert_true(feat & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(feat & (1ULL << VIRTIO_F_EVENT_IDX));
	assert_true(feat & (1ULL << VIRTIO_F_INDIRECT_DESC));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_RO));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_MQ));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_CONFIG_WCE));

	/* Any size at any offset reads the same bytes. */
	f.blk.vdev.ops->config_read(&f.blk.vdev, 0, whole, sizeof(whole));
	for (unsigned int i = 0; i < sizeof(bytes); i++)
		f.blk.vdev.ops->config_read(&f.blk.vdev, i, &bytes[i], 1);
	assert_memory_equal(whole, bytes, sizeof(whole));
	memset(tail, 0xaa, sizeof(tail));
	f.blk.vdev.ops->config_read(&f.blk.vdev, 58, tail, 8);
	assert_memory_equal(tail, whole + 58, 2);
	for (unsigned int i = 2; i < 8; i++)
		assert_int_equal(tail[i], 0);
	/* Writes change nothing. */
	f.blk.vdev.ops->config_write(&f.blk.vdev, 0, tail, 8);
	assert_int_equal(cfg(&f, 0, 8), DISK_SIZE / 512);
	fx_fini(&f);
}

static void test_config_single_queue_rw(void **state)
{
	struct fx f;
	struct blk_disk disk = {.fd = -1, .size = 1 << 30, .block_size = 4096};
	struct virtio_blk big;
	char why[128];
	uint8_t b[4];

	(void)state;
	fx_setup(&f, 1, false, true);
	assert_false(f.blk.vdev.device_features & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f.blk.vdev.device_features & (1ULL << VIRTIO_BLK_F_MQ));
	assert_int_equal(cfg(&f, 34, 2), 1);
	fx_fini(&f);

	/* Large queues: seg_max stays within what one chain may carry. */
	assert_int_equal(virtio_blk_init(&big, &disk, 1, 4096, why, sizeof(why)), 0);
	big.vdev.ops->config_read(&big.vdev, 12, b, 4);
	assert_int_equal(b[0] | b[1] << 8, VIRTQ_MAX_CHAIN - 2);
	big.vdev.ops->config_read(&big.vdev, 20, b, 4);
	assert_int_equal(b[0] | b[1] << 8, 4096);
	assert_false(big.vdev.device_features & (1ULL << VIRTIO_BLK_F_DISCARD));
	virtio_blk_destroy(&big);

	/* Bad geometry is refused with a reason. */
	why[0] = 0;
	assert_int_equal(virtio_blk_init(&big, &disk, 1, 48, why, sizeof(why)), -EINVAL);
	assert_true(strlen(why) > 0);
	assert_int_equal(virtio_blk_init(&big, &disk, 0, 64, why, sizeof(why)), -EINVAL);
	assert_int_equal(virtio_blk_init(&big, &disk, VIRTIO_MAX_QUEUES + 1, 64, why, sizeof(why)),
			 -EINVAL);
}

/* ---- requests ---- */

static void test_write_then_read(void **state)
{
	struct fx f;
	struct req_handle w, r;
	uint8_t pattern[8192];

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	fill_pattern(pattern, sizeof(pattern), 0x5a);

	w = add_req_data(&f, 0, VIRTIO_BLK_T_OUT, 100, sizeof(pattern), false, pattern);
	kick(&f, 0);
	assert_true(wait_used(&f, 0, 1));
	assert_int_equal(status(&f, &w), VIRTIO_BLK_S_OK);
	assert_int_equal(last_used(&f, 0).id, w.head);
	assert_int_equal(last_used(&f, 0).len, 1); /* status byte only */
	assert_memory_equal(te.data + 100 * 512, pattern, sizeof(pattern));

	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, 100, sizeof(pattern), true, &r),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(&f, r.data_gpa), pattern, sizeof(pattern));
	assert_int_equal(last_used(&f, 0).id, r.head);
	assert_int_equal(last_used(&f, 0).len, sizeof(pattern) + 1);
	assert_int_equal(te.last_offset[BLK_OP_READ], 100 * 512);
	assert_int_equal(te.last_len[BLK_OP_READ], sizeof(pattern));
	assert_true(atomic_load(&f.ft.notifies[0]) >= 1);
	assert_int_equal(atomic_load(&f.ft.needs_reset), 0);
	fx_fini(&f);
}

static void test_flush_reaches_engine(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(te.ops[BLK_OP_FLUSH], 1);
	fx_fini(&f);
}

static void test_get_id(void **state)
{
	struct fx f;
	struct req_handle h;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_GET_ID, 0, 20, true, &h), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(&f, h.data_gpa), SERIAL, 20);
	assert_int_equal(last_used(&f, 0).len, 21);
	assert_int_equal(te_ops_total(), 0); /* answered by the device itself */
	fx_fini(&f);
}

static void test_out_of_range_is_ioerr(void **state)
{
	struct fx f;
	uint64_t last = DISK_SIZE / 512;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	/* One sector past the end, one straddling it, one absurd. */
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, last, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_OUT, last - 1, 1024, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, UINT64_MAX - 1, 512, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(te_ops_total(), 0);
	/* The last sector itself is fine. */
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, last - 1, 512, true, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(te.out_of_range, 0);
	fx_fini(&f);
}

static void test_write_on_ro_disk(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, 1, true, true);
	fx_start(&f);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(te_ops_total(), 0);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(te.ops[BLK_OP_READ], 1);
	fx_fini(&f);
}

static void check_fault(struct fx *f, int err)
{
	struct req_handle h;
	uint8_t good[512], bad[512], *disk_at = te.data + 8 * 512;

	fill_pattern(good, sizeof(good), (uint8_t)err);
	pthread_mutex_lock(&te.lock);
	te.fail_next = err;
	pthread_mutex_unlock(&te.lock);
	memset(bad, 0x11, sizeof(bad));
	h = add_req_data(f, 0, VIRTIO_BLK_T_OUT, 8, 512, false, bad);
	kick(f, 0);
	assert_true(wait_used(f, 0, f->drv[0].avail_idx));
	assert_int_equal(status(f, &h), VIRTIO_BLK_S_IOERR);
	assert_int_equal(last_used(f, 0).len, 1);

	h = add_req_data(f, 0, VIRTIO_BLK_T_OUT, 8, 512, false, good);
	kick(f, 0);
	assert_true(wait_used(f, 0, f->drv[0].avail_idx));
	assert_int_equal(status(f, &h), VIRTIO_BLK_S_OK);
	assert_memory_equal(disk_at, good, sizeof(good));
}

static void test_fault_injection(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	check_fault(&f, EIO);
	check_fault(&f, ENOSPC);
	/* A failed read is IOERR with no data claimed. */
	pthread_mutex_lock(&te.lock);
	te.fail_next = EIO;
	pthread_mutex_unlock(&te.lock);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, 0, 4096, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(last_used(&f, 0).len, 1);
	assert_int_equal(atomic_load(&f.ft.needs_reset), 0);
	fx_fini(&f);
}

static void test_discard_segments(void **state)
{
	struct fx f;
	struct req_handle h;
	uint32_t seg[8] = {/* sector lo, hi, num_sectors, flags */ 16,
			   0,
			   8,
			   0,
			   64,
			   0,
			   4,
			   0};

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	memset(te.data, 0x77, DISK_SIZE);
	h = add_req_data(&f, 0, VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false, seg);
	kick(&f, 0);
	assert_true(wait_used(&f, 0, 1));
	assert_int_equal(status(&f, &h), VIRTIO_BLK_S_OK);
	assert_int_equal(te.ops[BLK_OP_DISCARD], 2);
	assert_int_equal(te.last_offset[BLK_OP_DISCARD], 64 * 512);
	assert_int_equal(te.last_len[BLK_OP_DISCARD], 4 * 512);
	assert_int_equal(te.data[16 * 512], 0);
	assert_int_equal(te.data[24 * 512 - 1], 0);
	assert_int_equal(te.data[24 * 512], 0x77);
	assert_int_equal(te.data[64 * 512], 0);
	assert_int_equal(te.data[68 * 512], 0x77);
	fx_fini(&f);
}

static void test_broken_ring_needs_reset(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	/* The driver claims more buffers than the ring holds. */
	__atomic_store_n(&avail(&f, 0)->idx, (uint16_t)(f.drv[0].avail_idx + QSIZE + 5),
			 __ATOMIC_RELEASE);
	kick(&f, 0);
	assert_true(wait_counter(&f.ft.needs_reset, 1));
	assert_int_equal(used(&f, 0)->idx, 1);
	/* Kicks on a dead queue are ignored, and reset still works. */
	kick(&f, 0);
	f.blk.vdev.ops->reset(&f.blk.vdev);
	assert_int_equal(atomic_load(&f.ft.needs_reset), 1);
	assert_int_equal(te_ops_total(), 1);
	fx_fini(&f);
}

struct reset_arg {
	struct fx *f;
	atomic_bool done;
};

static void *reset_thread(void *p)
{
	struct reset_arg *a = p;

	a->f->blk.vdev.ops->reset(&a->f->blk.vdev);
	atomic_store(&a->done, true);
	return NULL;
}

static void test_reset_waits_for_inflight(void **state)
{
	struct fx f;
	struct req_handle h[3];
	struct reset_arg a = {.f = &f};
	pthread_t t;
	uint64_t end;
	unsigned int held;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	te.hold = true;
	for (int i = 0; i < 3; i++)
		h[i] = add_req(&f, 0, VIRTIO_BLK_T_IN, (uint64_t)i * 8, 4096, true);
	kick(&f, 0);
	end = now_ns() + WAIT_CAP_NS;
	do {
		pthread_mutex_lock(&te.lock);
		held = te.nheld;
		pthread_mutex_unlock(&te.lock);
		if (held < 3)
			nap();
	} while (held < 3 && now_ns() < end);
	assert_int_equal(held, 3);

	assert_int_equal(pthread_create(&t, NULL, reset_thread, &a), 0);
	for (int i = 0; i < 200; i++)
		nap();
	/* It cannot have returned: three I/Os are still held by the engine. */
	assert_false(atomic_load(&a.done));
	assert_int_equal(used(&f, 0)->idx, 0);
	te_release();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(atomic_load(&a.done));
	assert_int_equal(used(&f, 0)->idx, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(status(&f, &h[i]), VIRTIO_BLK_S_OK);

	/* Idempotent, and the device starts again afterwards. */
	f.blk.vdev.ops->reset(&f.blk.vdev);
	f.blk.vdev.ops->reset(&f.blk.vdev);
	virtq_reset(&f.blk.vdev.vqs[0]);
	memset(used(&f, 0), 0, 8);
	f.drv[0].avail_idx = 0;
	avail(&f, 0)->idx = 0;
	assert_int_equal(virtq_enable(&f.blk.vdev.vqs[0], &f.mem, QSIZE, RING_GPA(0),
				      RING_GPA(0) + 0x2000, RING_GPA(0) + 0x4000, true, true),
			 0);
	assert_int_equal(f.blk.vdev.ops->start(&f.blk.vdev), 0);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	fx_fini(&f);
}

static void test_two_queues_two_threads(void **state)
{
	struct fx f;
	struct req_handle a, b;
	uint8_t da[512], db[512];

	(void)state;
	fx_setup(&f, 2, false, true);
	fx_start(&f);
	memset(da, 0xa0, sizeof(da));
	memset(db, 0xb1, sizeof(db));
	a = add_req_data(&f, 0, VIRTIO_BLK_T_OUT, 0, 512, false, da);
	b = add_req_data(&f, 1, VIRTIO_BLK_T_OUT, 1, 512, false, db);
	kick(&f, 0);
	kick(&f, 1);
	assert_true(wait_used(&f, 0, 1));
	assert_true(wait_used(&f, 1, 1));
	assert_int_equal(status(&f, &a), VIRTIO_BLK_S_OK);
	assert_int_equal(status(&f, &b), VIRTIO_BLK_S_OK);
	assert_int_equal(te.data[0], 0xa0);
	assert_int_equal(te.data[512], 0xb1);

	/* Each queue's I/O went through its own engine queue on its own thread. */
	assert_int_equal(te.nqueues, 2);
	assert_int_equal(te.queues[0]->nr_ios, 1);
	assert_int_equal(te.queues[1]->nr_ios, 1);
	assert_false(pthread_equal(te.queues[0]->thread, te.queues[1]->thread));
	assert_false(pthread_equal(te.queues[0]->thread, pthread_self()));
	assert_false(pthread_equal(te.queues[1]->thread, pthread_self()));
	assert_true(atomic_load(&f.ft.notifies[0]) >= 1);
	assert_true(atomic_load(&f.ft.notifies[1]) >= 1);
	fx_fini(&f);
}

static void test_event_idx_suppresses_notify(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, 1, false, true);
	fx_start(&f);
	/* The first used buffer always notifies. */
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_true(wait_counter(&f.ft.notifies[0], 1));
	/* Driver wants an interrupt only after used index 101: none for index 2. */
	__atomic_store_n(used_event(&f, 0), 100,
			 __ATOMIC_RELEASE); /* the device reads it concurrently */
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	/* Driver wants one as soon as used index passes 2: index 3 notifies. */
	__atomic_store_n(used_event(&f, 0), 2, __ATOMIC_RELEASE);
	assert_int_equal(do_req(&f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	/* Joining the thread settles every notify decision. */
	f.blk.vdev.ops->reset(&f.blk.vdev);
	assert_int_equal(atomic_load(&f.ft.notifies[0]), 2);
	fx_fini(&f);
}

static void test_full_ring_in_flight(void **state)
{
	struct fx f;
	struct req_handle h[SLOTS_PER_QUEUE];

	/* Every request the driver can post, all held in flight at once, then released. */
	(void)state;
	fx_setup(&f, 1, false, false);
	fx_start(&f);
	te.hold = true;
	for (unsigned int i = 0; i < SLOTS_PER_QUEUE; i++) {
		uint8_t d[512];

		memset(d, (int)i + 1, sizeof(d));
		h[i] = add_req_data(&f, 0, VIRTIO_BLK_T_OUT, i, 512, false, d);
	}
	kick(&f, 0);
	for (uint64_t end = now_ns() + WAIT_CAP_NS; now_ns() < end;) {
		pthread_mutex_lock(&te.lock);
		unsigned int held = te.nheld;
		pthread_mutex_unlock(&te.lock);
		if (held == SLOTS_PER_QUEUE)
			break;
		nap();
	}
	te_release();
	assert_true(wait_used(&f, 0, SLOTS_PER_QUEUE));
	for (unsigned int i = 0; i < SLOTS_PER_QUEUE; i++) {
		assert_int_equal(status(&f, &h[i]), VIRTIO_BLK_S_OK);
		assert_int_equal(te.data[i * 512], i + 1);
	}
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_fields),
	    cmocka_unit_test(test_config_single_queue_rw),
	    cmocka_unit_test(test_write_then_read),
	    cmocka_unit_test(test_flush_reaches_engine),
	    cmocka_unit_test(test_get_id),
	    cmocka_unit_test(test_out_of_range_is_ioerr),
	    cmocka_unit_test(test_write_on_ro_disk),
	    cmocka_unit_test(test_fault_injection),
	    cmocka_unit_test(test_discard_segments),
	    cmocka_unit_test(test_broken_ring_needs_reset),
	    cmocka_unit_test(test_reset_waits_for_inflight),
	    cmocka_unit_test(test_two_queues_two_threads),
	    cmocka_unit_test(test_event_idx_suppresses_notify),
	    cmocka_unit_test(test_full_ring_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
