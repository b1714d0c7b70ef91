/* SPDX-License-Identifier: MIT */
/*
 * The virtio-scsi device model end to end without KVM: requests laid out in
 * guest RAM by the driver of virtq_driver.h, the device's control and
 * request-queue threads running for real against the RAM-disk engine of
 * test_engine.h (three LUNs, one read-only), which fails or holds I/O on
 * demand: commands, malformed requests, and task management that waits for
 * what is in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "test_engine.h"
#include "virtio/scsi.h"
#include "virtio/scsi_req.h"
#include "virtq_driver.h"

#define RAM_SIZE  (16u << 20)
#define QSIZE	  64
#define DISK_SIZE (1u << 20) /* 2048 blocks */
#define NLUNS	  3
#define NREQQ	  2
#define NQ	  (VIRTIO_SCSI_FIRST_REQ_QUEUE + NREQQ)

#define RING_GPA(q) (0x10000ull + 0x10000ull * (q))
#define BUF_GPA	    0x200000ull /* request buffers from here, handed out in order */
#define REQ_LEN	    (VIRTIO_SCSI_CMD_HDR + VIRTIO_SCSI_CDB_SIZE)
#define RESP_LEN    (VIRTIO_SCSI_RESP_HDR + VIRTIO_SCSI_SENSE_SIZE)

struct fx {
	struct guest_mem mem;
	struct blk_disk disk[NLUNS];
	struct blk_disk *disks[NLUNS];
	uint8_t *ram[NLUNS]; /* each LUN's RAM in the test engine */
	struct virtio_scsi s;
	struct vdrv_transport tr;
	struct vdrv_q q[NQ];
	uint64_t next_buf;
	uint32_t req_len; /* the request header for the cdb_size in use */
};

static struct fx fx;

static int setup(void **state)
{
	char why[160];

	(void)state;
	memset(&fx, 0, sizeof(fx));
	te_reset(DISK_SIZE);
	assert_int_equal(guest_mem_init(&fx.mem, RAM_SIZE), 0);
	for (unsigned int i = 0; i < NLUNS; i++) {
		fx.disk[i] = (struct blk_disk){.fd = -1,
					       .size = DISK_SIZE,
					       .read_only = i == 2,
					       .block_size = 512,
					       .discard = i != 2,
					       .write_zeroes = true};
		snprintf(fx.disk[i].path, sizeof(fx.disk[i].path), "ram%u", i);
		memcpy(fx.disk[i].serial, "nvmm-00000000000000", 20);
		fx.disk[i].serial[18] = (char)('0' + i);
		fx.disks[i] = &fx.disk[i];
	}
	/* LUN 0's I/O goes to te.data (the queue's own disk); the others to their own RAM. */
	fx.ram[0] = te.data;
	for (unsigned int i = 1; i < NLUNS; i++)
		fx.ram[i] = te_add_disk(&fx.disk[i], DISK_SIZE);
	assert_int_equal(virtio_scsi_init(&fx.s, fx.disks, NLUNS, NREQQ, QSIZE, why, sizeof(why)),
			 0);
	virtio_scsi_set_engine(&fx.s, &te_ops);
	fx.next_buf = BUF_GPA;
	fx.req_len = REQ_LEN;
	return 0;
}

/* What the transport does at DRIVER_OK. */
static void start(void)
{
	struct virtio_dev *dev = &fx.s.vdev;

	dev->transport_ops = &vdrv_transport_ops;
	dev->transport = &fx.tr;
	dev->driver_features = dev->device_features;
	for (unsigned int q = 0; q < NQ; q++) {
		dev->kick_fd[q] = eventfd(0, EFD_NONBLOCK);
		assert_true(dev->kick_fd[q] >= 0);
		vdrv_init(&fx.q[q], &fx.mem, RING_GPA(q), QSIZE);
		assert_int_equal(vdrv_enable(&fx.q[q], &dev->vqs[q], &fx.mem, true), 0);
	}
	assert_int_equal(dev->ops->start(dev), 0);
}

static int teardown(void **state)
{
	(void)state;
	te_release();
	virtio_scsi_destroy(&fx.s);
	for (unsigned int q = 0; q < NQ; q++)
		if (fx.s.vdev.kick_fd[q] > 0)
			close(fx.s.vdev.kick_fd[q]);
	guest_mem_destroy(&fx.mem);
	for (unsigned int i = 0; i < te.nqueues; i++)
		free(te.queues[i]);
	te.nqueues = 0;
	return 0;
}

static uint64_t alloc_buf(uint64_t len)
{
	uint64_t gpa = fx.next_buf;

	fx.next_buf += (len + 63) & ~63ull;
	assert_true(fx.next_buf < RAM_SIZE);
	return gpa;
}

static uint8_t *hva(uint64_t gpa)
{
	return vdrv_hva(&fx.mem, gpa);
}

/* A request's buffers and where its answer lands. */
struct cmd {
	unsigned int q;
	uint16_t head;
	uint64_t req, resp, data;
	uint32_t data_len;
};

/* The request header for LUN @lun of target 0 (flat addressing, as Linux writes it). */
static void put_header(uint8_t *h, unsigned int lun, uint64_t id, const uint8_t *cdb,
		       size_t cdb_len)
{
	uint64_t le = htole64(id);

	memset(h, 0, fx.req_len);
	h[0] = 1;
	h[1] = 0;
	h[2] = (uint8_t)(0x40 | (lun >> 8));
	h[3] = (uint8_t)lun;
	memcpy(h + 8, &le, 8);
	memcpy(h + VIRTIO_SCSI_CMD_HDR, cdb, cdb_len);
}

/*
 * Queue a command on request queue @rq (0-based) without kicking: header,
 * then data-out or response then data-in, one buffer each.
 */
static struct cmd queue_cmd(unsigned int rq, unsigned int lun, uint64_t id, const uint8_t *cdb,
			    size_t cdb_len, uint32_t data_len, bool data_out)
{
	struct cmd c = {.q = VIRTIO_SCSI_FIRST_REQ_QUEUE + rq, .data_len = data_len};
	struct vdrv_q *d = &fx.q[c.q];

	c.req = alloc_buf(fx.req_len);
	c.resp = alloc_buf(RESP_LEN);
	c.data = data_len ? alloc_buf(data_len) : 0;
	put_header(hva(c.req), lun, id, cdb, cdb_len);
	memset(hva(c.resp), 0xee, RESP_LEN);
	c.head = vdrv_desc(d, c.req, fx.req_len, VIRTQ_DESC_F_NEXT);
	if (data_len && data_out) {
		vdrv_desc(d, c.data, data_len, VIRTQ_DESC_F_NEXT);
		vdrv_desc(d, c.resp, RESP_LEN, VIRTQ_DESC_F_WRITE);
	} else if (data_len) {
		vdrv_desc(d, c.resp, RESP_LEN, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
		vdrv_desc(d, c.data, data_len, VIRTQ_DESC_F_WRITE);
	} else {
		vdrv_desc(d, c.resp, RESP_LEN, VIRTQ_DESC_F_WRITE);
	}
	vdrv_publish(d, c.head);
	return c;
}

static void kick(unsigned int q)
{
	vdrv_kick(fx.s.vdev.kick_fd[q]);
}

/* Run one command on request queue 0 and wait for its answer; returns the used length. */
static uint32_t run_cmd(struct cmd *c, unsigned int lun, const uint8_t *cdb, size_t cdb_len,
			uint32_t data_len, bool data_out, const void *out)
{
	struct vdrv_q *d = &fx.q[VIRTIO_SCSI_FIRST_REQ_QUEUE];
	uint16_t want = (uint16_t)(vdrv_used_idx(d) + 1);

	*c = queue_cmd(0, lun, 0x100 + want, cdb, cdb_len, data_len, data_out);
	if (out)
		memcpy(hva(c->data), out, data_len);
	kick(c->q);
	assert_true(vdrv_wait_used(d, want));
	assert_int_equal(vdrv_used_elem(d, (uint16_t)(want - 1)).id, c->head);
	return vdrv_used_elem(d, (uint16_t)(want - 1)).len;
}

static uint8_t resp_response(const struct cmd *c)
{
	return hva(c->resp)[11];
}

static uint8_t resp_status(const struct cmd *c)
{
	return hva(c->resp)[10];
}

static uint32_t resp_le32(const struct cmd *c, unsigned int off)
{
	uint32_t v;

	memcpy(&v, hva(c->resp) + off, 4);
	return le32toh(v);
}

/* CHECK CONDITION with sense key @key and ASC @asc (ASC << 8 | ASCQ). */
static void expect_sense(const struct cmd *c, uint8_t key, uint16_t asc)
{
	const uint8_t *sense = hva(c->resp) + VIRTIO_SCSI_RESP_HDR;

	assert_int_equal(resp_response(c), VIRTIO_SCSI_S_OK);
	assert_int_equal(resp_status(c), SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(resp_le32(c, 0), 18);
	assert_int_equal(sense[0], 0x70);
	assert_int_equal(sense[2] & 0x0f, key);
	assert_int_equal(sense[12] << 8 | sense[13], asc);
}

static void test_config(void **state)
{
	struct virtio_dev *dev = &fx.s.vdev;
	uint32_t v;

	(void)state;
	assert_int_equal(dev->device_id, VIRTIO_ID_SCSI);
	assert_int_equal(dev->nr_queues, NQ);
	dev->ops->config_read(dev, 0, &v, 4);
	assert_int_equal(le32toh(v), NREQQ);
	dev->ops->config_read(dev, 20, &v, 4);
	assert_int_equal(le32toh(v), 96);
	dev->ops->config_read(dev, 24, &v, 4);
	assert_int_equal(le32toh(v), 32);
	dev->ops->config_read(dev, 32, &v, 4);
	assert_int_equal(le32toh(v), SCSI_MAX_LUNS - 1);
	/* The driver's sizes are held to what the device can use. */
	v = htole32(100000);
	dev->ops->config_write(dev, 24, &v, 4);
	dev->ops->config_read(dev, 24, &v, 4);
	assert_int_equal(le32toh(v), VIRTIO_SCSI_CDB_MAX);
	v = htole32(1000);
	dev->ops->config_write(dev, 20, &v, 4);
	dev->ops->config_read(dev, 20, &v, 4);
	assert_int_equal(le32toh(v), VIRTIO_SCSI_SENSE_MAX);
	v = htole32(7); /* read-only fields stay */
	dev->ops->config_write(dev, 0, &v, 4);
	dev->ops->config_read(dev, 0, &v, 4);
	assert_int_equal(le32toh(v), NREQQ);
}

static void test_init_refusals(void **state)
{
	struct virtio_scsi s2;
	char why[200];

	(void)state;
	assert_int_equal(virtio_scsi_init(&s2, fx.disks, 0, 1, QSIZE, why, sizeof(why)), -EINVAL);
	assert_int_equal(virtio_scsi_init(&s2, fx.disks, NLUNS, 0, QSIZE, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(virtio_scsi_init(&s2, fx.disks, NLUNS, 1, 100, why, sizeof(why)), -EINVAL);
	fx.disk[1].engine = BLK_ENGINE_AIO; /* LUN 0 is io_uring */
	assert_int_equal(virtio_scsi_init(&s2, fx.disks, NLUNS, 1, QSIZE, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "share one engine"));
}

static void test_inquiry_report_luns(void **state)
{
	uint8_t inq[6] = {SCSI_INQUIRY, 0, 0, 0, 96, 0};
	uint8_t rl[12] = {SCSI_REPORT_LUNS, [9] = 64};
	struct cmd c;

	(void)state;
	start();
	assert_int_equal(run_cmd(&c, 0, inq, 6, 96, false, NULL), RESP_LEN + 36);
	assert_int_equal(resp_response(&c), VIRTIO_SCSI_S_OK);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_int_equal(resp_le32(&c, 4), 96 - 36); /* residual */
	assert_memory_equal(hva(c.data) + 8, "NESTVMM ", 8);
	assert_int_equal(run_cmd(&c, 5, inq, 6, 96, false, NULL), RESP_LEN + 36);
	assert_int_equal(hva(c.data)[0], 0x7f); /* no LUN 5 */

	assert_int_equal(run_cmd(&c, 0, rl, 12, 64, false, NULL), RESP_LEN + 32);
	assert_int_equal(hva(c.data)[3], 24);
	assert_int_equal(hva(c.data)[8 + 8 * 2 + 1], 2);
}

static void test_read_write(void **state)
{
	uint8_t w10[10] = {SCSI_WRITE_10, 0, 0, 0, 0, 16, 0, 0, 8, 0};
	uint8_t r16[16] = {SCSI_READ_16, [9] = 16, [13] = 8};
	uint8_t pattern[4096];
	struct cmd c;

	(void)state;
	start();
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(run_cmd(&c, 1, w10, 10, 4096, true, pattern), RESP_LEN);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_memory_equal(fx.ram[1] + 16 * 512, pattern, 4096);
	assert_int_equal(fx.ram[0][16 * 512], 0); /* not LUN 0 */
	assert_int_equal(run_cmd(&c, 1, r16, 16, 4096, false, NULL), RESP_LEN + 4096);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_memory_equal(hva(c.data), pattern, 4096);
	/* A buffer larger than the transfer: the rest is the residual. */
	assert_int_equal(run_cmd(&c, 1, r16, 16, 8192, false, NULL), RESP_LEN + 4096);
	assert_int_equal(resp_le32(&c, 4), 4096);
}

static void test_read_only_and_range(void **state)
{
	uint8_t w10[10] = {SCSI_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t r10[10] = {SCSI_READ_10, 0, 0, 0, 0x08, 0, 0, 0, 1, 0}; /* LBA 2048: the end */
	uint8_t buf[512] = {1};
	unsigned int ops = te_ops_total();
	struct cmd c;

	(void)state;
	start();
	run_cmd(&c, 2, w10, 10, 512, true, buf);
	expect_sense(&c, SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	run_cmd(&c, 0, r10, 10, 512, false, NULL);
	expect_sense(&c, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(te_ops_total(), ops); /* neither reached the disk */
	assert_int_equal(fx.ram[2][0], 0);
}

static void test_eio_then_good(void **state)
{
	uint8_t r10[10] = {SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t w10[10] = {SCSI_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t buf[512] = {9};
	struct cmd c;

	(void)state;
	start();
	te.fail_next = EIO;
	run_cmd(&c, 0, r10, 10, 512, false, NULL);
	expect_sense(&c, SCSI_KEY_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
	te.fail_next = EIO;
	run_cmd(&c, 1, w10, 10, 512, true, buf);
	expect_sense(&c, SCSI_KEY_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	run_cmd(&c, 0, r10, 10, 512, false, NULL);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
}

static void test_sync_fua(void **state)
{
	uint8_t sc[10] = {SCSI_SYNCHRONIZE_CACHE_10};
	uint8_t w10[10] = {SCSI_WRITE_10, 0x08, 0, 0, 0, 4, 0, 0, 1, 0};
	uint8_t buf[512] = {5};
	struct cmd c;

	(void)state;
	start();
	run_cmd(&c, 0, sc, 10, 0, false, NULL);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_int_equal(te.ops[BLK_OP_FLUSH], 1);
	run_cmd(&c, 0, w10, 10, 512, true, buf); /* FUA: the write, then a flush */
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_int_equal(te.ops[BLK_OP_WRITE], 1);
	assert_int_equal(te.ops[BLK_OP_FLUSH], 2);
	assert_int_equal(fx.ram[0][4 * 512], 5);
}

static void test_unmap_write_same(void **state)
{
	uint8_t um[10] = {SCSI_UNMAP, [8] = 40};
	uint8_t list[40] = {0, 38, 0, 32, [15] = 8, [19] = 8, [31] = 100, [35] = 4};
	uint8_t ws16[16] = {SCSI_WRITE_SAME_16, 0x08, [9] = 200, [13] = 16};
	uint8_t ws10[10] = {SCSI_WRITE_SAME_10, 0, 0, 0, 0x01, 0, 0, 0, 200, 0}; /* LBA 256 */
	uint8_t zero[512] = {0}, pat[512];
	struct cmd c;

	(void)state;
	start();
	memset(fx.ram[0], 0x77, DISK_SIZE);
	run_cmd(&c, 0, um, 10, 40, true, list);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_int_equal(te.ops[BLK_OP_DISCARD], 2);
	assert_int_equal(fx.ram[0][8 * 512], 0);
	assert_int_equal(fx.ram[0][16 * 512 - 1], 0);
	assert_int_equal(fx.ram[0][16 * 512], 0x77);
	assert_int_equal(fx.ram[0][100 * 512], 0);
	assert_int_equal(fx.ram[0][104 * 512], 0x77);

	run_cmd(&c, 0, ws16, 16, 512, true, zero); /* zeroes with UNMAP: one WRITE_ZEROES */
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	assert_int_equal(te.ops[BLK_OP_WRITE_ZEROES], 1);
	assert_int_equal(te.last_offset[BLK_OP_WRITE_ZEROES], 200 * 512);
	assert_int_equal(te.last_len[BLK_OP_WRITE_ZEROES], 16 * 512);

	memset(pat, 0xab, sizeof(pat));
	run_cmd(&c, 0, ws10, 10, 512, true, pat); /* a pattern: written out */
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
	for (unsigned int b = 256; b < 456; b++)
		assert_memory_equal(fx.ram[0] + b * 512, pat, 512);
	assert_int_equal(fx.ram[0][456 * 512], 0x77);

	run_cmd(&c, 2, um, 10, 40, true, list); /* no provisioning on LUN 2 */
	expect_sense(&c, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
}

/* A chain of hand-made buffers on request queue 0; returns the used element. */
static struct virtq_used_elem run_chain(const uint64_t *gpa, const uint32_t *len,
					const uint16_t *flags, unsigned int n)
{
	struct vdrv_q *d = &fx.q[VIRTIO_SCSI_FIRST_REQ_QUEUE];
	uint16_t want = (uint16_t)(vdrv_used_idx(d) + 1), head = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t h = vdrv_desc(d, gpa[i], len[i],
				       (uint16_t)(flags[i] | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));

		if (i == 0)
			head = h;
	}
	vdrv_publish(d, head);
	kick(VIRTIO_SCSI_FIRST_REQ_QUEUE);
	assert_true(vdrv_wait_used(d, want));
	assert_int_equal(vdrv_used_elem(d, (uint16_t)(want - 1)).id, head);
	return vdrv_used_elem(d, (uint16_t)(want - 1));
}

static void test_malformed_requests(void **state)
{
	uint8_t r10[10] = {SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	uint8_t r16[16] = {SCSI_READ_16, [13] = 1};
	uint64_t req = alloc_buf(REQ_LEN), resp = alloc_buf(RESP_LEN), data = alloc_buf(4096);
	const uint16_t W = VIRTQ_DESC_F_WRITE;
	unsigned int ops = te_ops_total();
	struct virtq_used_elem e;
	struct cmd c;
	uint32_t v;

	(void)state;
	/* A CDB longer than the cdb_size the driver set. */
	v = htole32(10);
	fx.s.vdev.ops->config_write(&fx.s.vdev, 24, &v, 4);
	fx.req_len = VIRTIO_SCSI_CMD_HDR + 10;
	start();
	put_header(hva(req), 0, 1, r16, 10);
	memset(hva(resp), 0xee, RESP_LEN);

	/* A header cut short: FAILURE. */
	e = run_chain((uint64_t[]){req, resp}, (uint32_t[]){12, RESP_LEN}, (uint16_t[]){0, W}, 2);
	assert_int_equal(e.len, RESP_LEN);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_FAILURE);

	/* Data-out and data-in in one chain: FAILURE. */
	e = run_chain((uint64_t[]){req, data, resp, data + 2048},
		      (uint32_t[]){fx.req_len, 512, RESP_LEN, 512}, (uint16_t[]){0, 0, W, W}, 4);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_FAILURE);

	/* A response area too small for the response byte: no answer, the device goes on. */
	e = run_chain((uint64_t[]){req, resp}, (uint32_t[]){fx.req_len, 8}, (uint16_t[]){0, W}, 2);
	assert_int_equal(e.len, 0);

	/* The 16-byte CDB in a 10-byte CDB field. */
	e = run_chain((uint64_t[]){req, resp, data}, (uint32_t[]){fx.req_len, RESP_LEN, 512},
		      (uint16_t[]){0, W, W}, 3);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_OK);
	assert_int_equal(hva(resp)[10], SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(hva(resp)[VIRTIO_SCSI_RESP_HDR + 12], 0x24);

	/* Another target: BAD_TARGET; the header split over three buffers on the way. */
	put_header(hva(req), 0, 2, r10, 10);
	hva(req)[1] = 1;
	e = run_chain((uint64_t[]){req, req + 5, req + 20, resp},
		      (uint32_t[]){5, 15, fx.req_len - 20, RESP_LEN}, (uint16_t[]){0, 0, 0, W}, 4);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_BAD_TARGET);
	hva(req)[0] = 2; /* not a single-level LUN structure this device knows */
	hva(req)[1] = 0;
	e = run_chain((uint64_t[]){req, resp}, (uint32_t[]){fx.req_len, RESP_LEN},
		      (uint16_t[]){0, W}, 2);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_BAD_TARGET);
	hva(req)[0] = 1;

	/* Eight blocks asked for, one block of buffer: OVERRUN, no I/O. */
	e = run_chain((uint64_t[]){req, resp, data}, (uint32_t[]){fx.req_len, RESP_LEN, 512},
		      (uint16_t[]){0, W, W}, 3);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_OVERRUN);
	/* A READ with data-out buffers instead: OVERRUN. */
	e = run_chain((uint64_t[]){req, data, resp}, (uint32_t[]){fx.req_len, 4096, RESP_LEN},
		      (uint16_t[]){0, 0, W}, 3);
	assert_int_equal(hva(resp)[11], VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(te_ops_total(), ops);
	assert_int_equal(atomic_load(&fx.tr.needs_reset), 0);

	/* And a good request after all that. */
	run_cmd(&c, 0, r10, 10, 4096, false, NULL);
	assert_int_equal(resp_response(&c), VIRTIO_SCSI_S_OK);
	assert_int_equal(resp_status(&c), SCSI_STATUS_GOOD);
}

/* ---- the control queue ---- */

/* Send a TMF on the control queue without waiting; the response byte's gpa. */
static uint64_t send_tmf(uint32_t subtype, uint8_t target, unsigned int lun, uint64_t id,
			 uint16_t *head)
{
	struct vdrv_q *d = &fx.q[0];
	uint64_t req = alloc_buf(24), resp = alloc_buf(1);
	uint8_t *p = hva(req);
	uint32_t v = htole32(VIRTIO_SCSI_T_TMF);
	uint64_t le = htole64(id);

	memcpy(p, &v, 4);
	v = htole32(subtype);
	memcpy(p + 4, &v, 4);
	memset(p + 8, 0, 8);
	p[8] = 1;
	p[9] = target;
	p[10] = (uint8_t)(0x40 | (lun >> 8));
	p[11] = (uint8_t)lun;
	memcpy(p + 16, &le, 8);
	hva(resp)[0] = 0xee;
	*head = vdrv_desc(d, req, 24, VIRTQ_DESC_F_NEXT);
	vdrv_desc(d, resp, 1, VIRTQ_DESC_F_WRITE);
	vdrv_publish(d, *head);
	kick(0);
	return resp;
}

static uint8_t tmf(uint32_t subtype, unsigned int lun, uint64_t id)
{
	uint16_t head;
	uint64_t resp = send_tmf(subtype, 0, lun, id, &head);

	assert_true(vdrv_wait_used(&fx.q[0], fx.q[0].avail_idx));
	assert_int_equal(vdrv_used_elem(&fx.q[0], (uint16_t)(fx.q[0].avail_idx - 1)).len, 1);
	return hva(resp)[0];
}

/* Wait until the test engine holds @n I/Os. */
static void wait_held(unsigned int n)
{
	uint64_t end = vdrv_now_ns() + VDRV_WAIT_NS;

	for (;;) {
		unsigned int held;

		pthread_mutex_lock(&te.lock);
		held = te.nheld;
		pthread_mutex_unlock(&te.lock);
		if (held >= n)
			return;
		assert_true(vdrv_now_ns() < end);
		vdrv_nap();
	}
}

/* Wait until @n more hand-overs of a TMF to a request queue than @before happened. */
static void wait_taken(uint64_t before, unsigned int n)
{
	uint64_t end = vdrv_now_ns() + VDRV_WAIT_NS;

	while (atomic_load(&fx.s.tmf_taken) < before + n) {
		assert_true(vdrv_now_ns() < end);
		vdrv_nap();
	}
}

/* ABORT TASK answers only once the aborted READ is answered, ABORTED. */
static void test_abort_task_waits(void **state)
{
	uint8_t r10[10] = {SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	struct vdrv_q *rq = &fx.q[VIRTIO_SCSI_FIRST_REQ_QUEUE];
	struct cmd c, other;
	uint16_t head;
	uint64_t resp, taken;

	(void)state;
	start();
	te.hold = true;
	c = queue_cmd(0, 0, 7, r10, 10, 512, false);
	other = queue_cmd(0, 1, 8, r10, 10, 512, false);
	kick(c.q);
	wait_held(2);
	taken = atomic_load(&fx.s.tmf_taken);
	resp = send_tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0, 7, &head);
	wait_taken(taken, NREQQ); /* both request queues have it */
	/* Not answered while the READ is in flight. */
	assert_int_equal(vdrv_used_idx(&fx.q[0]), 0);
	assert_int_equal(vdrv_used_idx(rq), 0);
	te_release();
	assert_true(vdrv_wait_used(&fx.q[0], 1));
	/* By the time the TMF is answered, the aborted command is. */
	assert_true(vdrv_used_idx(rq) >= 1);
	assert_int_equal(hva(resp)[0], VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_true(vdrv_wait_used(rq, 2));
	assert_int_equal(resp_response(&c), VIRTIO_SCSI_S_ABORTED);
	assert_int_equal(resp_response(&other), VIRTIO_SCSI_S_OK); /* another LUN's task */
	assert_int_equal(resp_status(&other), SCSI_STATUS_GOOD);
	assert_int_equal(atomic_load(&fx.s.tmfs), 1);
	assert_int_equal(atomic_load(&fx.s.aborted), 1);
}

static void test_lun_reset_and_queries(void **state)
{
	uint8_t r10[10] = {SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	struct cmd a, b, other;
	uint16_t head;
	uint64_t resp, taken;

	(void)state;
	start();
	te.hold = true;
	a = queue_cmd(0, 0, 1, r10, 10, 512, false);
	other = queue_cmd(0, 1, 2, r10, 10, 512, false);
	kick(a.q);
	b = queue_cmd(1, 0, 3, r10, 10, 512, false); /* on the second request queue */
	kick(b.q);
	wait_held(3);
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 3), VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 999),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 1, 0),
			 VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 2, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 9, 0),
			 VIRTIO_SCSI_S_INCORRECT_LUN);
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_CLEAR_ACA, 0, 0), VIRTIO_SCSI_S_FUNCTION_REJECTED);
	assert_int_equal(tmf(99, 0, 0), VIRTIO_SCSI_S_FUNCTION_REJECTED);

	taken = atomic_load(&fx.s.tmf_taken);
	resp = send_tmf(VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 0, 0, &head);
	wait_taken(taken, NREQQ);
	assert_int_equal(vdrv_used_idx(&fx.q[0]), fx.q[0].avail_idx - 1); /* not answered yet */
	te_release();
	assert_true(vdrv_wait_used(&fx.q[0], fx.q[0].avail_idx));
	assert_int_equal(hva(resp)[0], VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(resp_response(&a), VIRTIO_SCSI_S_RESET);
	assert_int_equal(resp_response(&b), VIRTIO_SCSI_S_RESET);
	assert_true(vdrv_wait_used(&fx.q[VIRTIO_SCSI_FIRST_REQ_QUEUE], 2));
	assert_int_equal(resp_response(&other), VIRTIO_SCSI_S_OK);

	/* With nothing in flight an I_T NEXUS RESET is answered at once; then work goes on. */
	assert_int_equal(tmf(VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	run_cmd(&a, 0, r10, 10, 512, false, NULL);
	assert_int_equal(resp_status(&a), SCSI_STATUS_GOOD);
}

static void test_control_malformed_and_an(void **state)
{
	struct vdrv_q *d = &fx.q[0];
	uint64_t req = alloc_buf(24), resp = alloc_buf(8);
	uint32_t v = htole32(VIRTIO_SCSI_T_AN_QUERY), ev;
	uint16_t head;

	(void)state;
	start();
	/* An asynchronous notification query: no events. */
	memset(hva(req), 0, 24);
	memcpy(hva(req), &v, 4);
	hva(req)[4] = 1;
	memset(hva(resp), 0xee, 8);
	head = vdrv_desc(d, req, 16, VIRTQ_DESC_F_NEXT);
	vdrv_desc(d, resp, 5, VIRTQ_DESC_F_WRITE);
	vdrv_publish(d, head);
	kick(0);
	assert_true(vdrv_wait_used(d, 1));
	assert_int_equal(vdrv_used_elem(d, 0).len, 5);
	memcpy(&ev, hva(resp), 4);
	assert_int_equal(ev, 0);
	assert_int_equal(hva(resp)[4], VIRTIO_SCSI_S_OK);

	/* A TMF cut short: FAILURE. */
	v = htole32(VIRTIO_SCSI_T_TMF);
	memcpy(hva(req), &v, 4);
	head = vdrv_desc(d, req, 10, VIRTQ_DESC_F_NEXT);
	vdrv_desc(d, resp, 1, VIRTQ_DESC_F_WRITE);
	vdrv_publish(d, head);
	kick(0);
	assert_true(vdrv_wait_used(d, 2));
	assert_int_equal(hva(resp)[0], VIRTIO_SCSI_S_FAILURE);

	/* Another target. */
	resp = send_tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 3, 0, 1, &head);
	assert_true(vdrv_wait_used(d, 3));
	assert_int_equal(hva(resp)[0], VIRTIO_SCSI_S_BAD_TARGET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inquiry_report_luns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_and_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eio_then_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_fua, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unmap_write_same, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_task_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lun_reset_and_queries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_malformed_and_an, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
