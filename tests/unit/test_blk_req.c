/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request parsing: chains built by hand the way a driver lays
 * them out (and the odd ways the spec still allows), checked against the
 * spec's rules for each request type, status values and used lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "virtio/blk_req.h"

#define CAPACITY 0x10000ull /* sectors: 32 MiB */

struct fx {
	uint8_t mem[64 * 1024]; /* the "guest" buffers */
	size_t used;
	struct virtq_chain chain;
	struct blk_req req;
	struct blk_limits lim;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->chain.head = 7;
	f->lim = (struct blk_limits){
	    .capacity = CAPACITY,
	    .flush = true,
	    .discard = true,
	    .write_zeroes = true,
	    .max_discard_sectors = 0x1000,
	    .max_discard_seg = 4,
	    .max_write_zeroes_sectors = 0x1000,
	    .max_write_zeroes_seg = 4,
	};
	return f;
}

/* Append a buffer of @len bytes; readable ones must come first. */
static uint8_t *add(struct fx *f, uint32_t len, bool writable)
{
	struct virtq_chain *c = &f->chain;
	uint8_t *p = f->mem + f->used;

	assert_true(f->used + len <= sizeof(f->mem));
	f->used += len;
	c->iov[c->nr_out + c->nr_in] = (struct virtq_iov){.base = p, .len = len};
	if (writable) {
		c->nr_in++;
		c->in_len += len;
	} else {
		assert_int_equal(c->nr_in, 0);
		c->nr_out++;
		c->out_len += len;
	}
	return p;
}

static void put_hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
	memset(p, 0, 16);
	memcpy(p, &type, 4);
	memcpy(p + 8, &sector, 8);
}

static uint8_t *add_hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint8_t *p = add(f, 16, false);

	put_hdr(p, type, sector);
	return p;
}

static void put_seg(uint8_t *p, uint64_t sector, uint32_t num, uint32_t flags)
{
	memcpy(p, &sector, 8);
	memcpy(p + 8, &num, 4);
	memcpy(p + 12, &flags, 4);
}

static enum blk_req_action parse(struct fx *f)
{
	return blk_req_parse(&f->req, &f->chain, &f->lim);
}

static void expect_done(struct fx *f, uint8_t result)
{
	assert_int_equal(parse(f), BLK_REQ_DONE);
	assert_int_equal(f->req.result, result);
}

static void test_read(void **state)
{
	struct fx *f = fx_new();
	uint8_t *data, *status;
	(void)state;

	add_hdr(f, VIRTIO_BLK_T_IN, 100);
	data = add(f, 4096, true);
	status = add(f, 1, true);
	*status = 0xee;
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(f->req.type, VIRTIO_BLK_T_IN);
	assert_int_equal(f->req.head, 7);
	assert_int_equal(f->req.sector, 100);
	assert_int_equal(f->req.len, 4096);
	assert_int_equal(f->req.niov, 1);
	assert_ptr_equal(f->req.iov[0].iov_base, data);
	assert_int_equal(f->req.iov[0].iov_len, 4096);
	assert_ptr_equal(f->req.status, status);
	assert_int_equal(blk_req_complete(&f->req, VIRTIO_BLK_S_OK, 4096), 4097);
	assert_int_equal(*status, VIRTIO_BLK_S_OK);
	free(f);
}

/* Data and status in one writable buffer: the status is its last byte. */
static void test_read_status_shares_buffer(void **state)
{
	struct fx *f = fx_new();
	uint8_t *both;
	(void)state;

	add_hdr(f, VIRTIO_BLK_T_IN, 0);
	add(f, 512, true);
	both = add(f, 1024 + 1, true);
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(f->req.len, 1536);
	assert_int_equal(f->req.niov, 2);
	assert_ptr_equal(f->req.iov[1].iov_base, both);
	assert_int_equal(f->req.iov[1].iov_len, 1024);
	assert_ptr_equal(f->req.status, both + 1024);
	free(f);
}

static void test_write_split_header(void **state)
{
	struct fx *f = fx_new();
	uint8_t hdr[16], *a, *b, *c, *status;
	(void)state;

	put_hdr(hdr, VIRTIO_BLK_T_OUT, CAPACITY - 3);
	memcpy(add(f, 5, false), hdr, 5);
	a = add(f, 11 + 512, false); /* header's end, then data */
	memcpy(a, hdr + 5, 11);
	b = add(f, 512, false);
	c = add(f, 512, false);
	status = add(f, 1, true);
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(f->req.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(f->req.sector, CAPACITY - 3);
	assert_int_equal(f->req.len, 1536);
	assert_int_equal(f->req.niov, 3);
	assert_ptr_equal(f->req.iov[0].iov_base, a + 11);
	assert_int_equal(f->req.iov[0].iov_len, 512);
	assert_ptr_equal(f->req.iov[1].iov_base, b);
	assert_ptr_equal(f->req.iov[2].iov_base, c);
	/* A write puts nothing into the chain, whatever the device claims. */
	assert_int_equal(blk_req_complete(&f->req, VIRTIO_BLK_S_OK, 1536), 1);
	assert_int_equal(*status, 0);
	free(f);
}

static void test_capacity_edges(void **state)
{
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t len;
		uint8_t want; /* 0xff: IO */
	} cases[] = {
	    {VIRTIO_BLK_T_IN, CAPACITY - 8, 4096, 0xff},
	    {VIRTIO_BLK_T_IN, CAPACITY - 7, 4096, VIRTIO_BLK_S_IOERR},
	    {VIRTIO_BLK_T_OUT, CAPACITY - 1, 512, 0xff},
	    {VIRTIO_BLK_T_OUT, CAPACITY, 512, VIRTIO_BLK_S_IOERR},
	    {VIRTIO_BLK_T_IN, UINT64_MAX, 512, VIRTIO_BLK_S_IOERR},
	    {VIRTIO_BLK_T_OUT, UINT64_MAX - 7, 4096, VIRTIO_BLK_S_IOERR},
	    {VIRTIO_BLK_T_IN, CAPACITY, 0, VIRTIO_BLK_S_OK},
	    {VIRTIO_BLK_T_IN, CAPACITY + 1, 0, VIRTIO_BLK_S_IOERR},
	    {VIRTIO_BLK_T_IN, 0, 511, VIRTIO_BLK_S_IOERR},
	    {VIRTIO_BLK_T_OUT, 0, 513, VIRTIO_BLK_S_IOERR},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_new();
		bool write = cases[i].type == VIRTIO_BLK_T_OUT;
		enum blk_req_action a;

		add_hdr(f, cases[i].type, cases[i].sector);
		if (cases[i].len)
			add(f, cases[i].len, !write);
		add(f, 1, true);
		a = parse(f);
		if (cases[i].want == 0xff) {
			if (a != BLK_REQ_IO)
				fail_msg("case %zu: not submitted", i);
		} else if (a != BLK_REQ_DONE || f->req.result != cases[i].want) {
			fail_msg("case %zu: action %d result %d", i, a, f->req.result);
		}
		free(f);
	}
}

static void test_wrong_direction(void **state)
{
	struct fx *f = fx_new();
	(void)state;

	/* A read with device-readable data after the header. */
	add_hdr(f, VIRTIO_BLK_T_IN, 0);
	add(f, 512, false);
	add(f, 512, true);
	add(f, 1, true);
	expect_done(f, VIRTIO_BLK_S_IOERR);
	free(f);

	/* A write with device-writable bytes before the status. */
	f = fx_new();
	add_hdr(f, VIRTIO_BLK_T_OUT, 0);
	add(f, 512, false);
	add(f, 2, true);
	expect_done(f, VIRTIO_BLK_S_IOERR);
	free(f);
}

static void test_no_status_or_header(void **state)
{
	struct fx *f = fx_new();
	uint8_t *status;
	(void)state;

	/* Nowhere to put a status: nothing is written, used length 0. */
	add_hdr(f, VIRTIO_BLK_T_OUT, 0);
	add(f, 512, false);
	expect_done(f, VIRTIO_BLK_S_IOERR);
	assert_null(f->req.status);
	assert_int_equal(blk_req_complete(&f->req, f->req.result, 0), 0);
	free(f);

	/* A 15-byte header. */
	f = fx_new();
	add(f, 15, false);
	status = add(f, 1, true);
	*status = 0xee;
	expect_done(f, VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req_complete(&f->req, f->req.result, 0), 1);
	assert_int_equal(*status, VIRTIO_BLK_S_IOERR);
	free(f);
}

static void test_read_only(void **state)
{
	static const uint32_t writes[] = {VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_DISCARD,
					  VIRTIO_BLK_T_WRITE_ZEROES};
	struct fx *f;
	(void)state;

	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		f = fx_new();
		f->lim.read_only = true;
		add_hdr(f, writes[i], 0);
		if (writes[i] == VIRTIO_BLK_T_OUT)
			add(f, 512, false);
		else
			put_seg(add(f, 16, false), 0, 8, 0);
		add(f, 1, true);
		expect_done(f, VIRTIO_BLK_S_IOERR);
		assert_int_equal(f->req.niov, 0);
		free(f);
	}
	/* Even an empty write is refused on a read-only disk. */
	f = fx_new();
	f->lim.read_only = true;
	add_hdr(f, VIRTIO_BLK_T_OUT, 0);
	add(f, 1, true);
	expect_done(f, VIRTIO_BLK_S_IOERR);
	free(f);
	/* Reads and flushes still work. */
	f = fx_new();
	f->lim.read_only = true;
	add_hdr(f, VIRTIO_BLK_T_IN, 0);
	add(f, 512, true);
	add(f, 1, true);
	assert_int_equal(parse(f), BLK_REQ_IO);
	free(f);
	f = fx_new();
	f->lim.read_only = true;
	add_hdr(f, VIRTIO_BLK_T_FLUSH, 0);
	add(f, 1, true);
	assert_int_equal(parse(f), BLK_REQ_IO);
	free(f);
}

static void test_flush(void **state)
{
	struct fx *f = fx_new();
	(void)state;

	add_hdr(f, VIRTIO_BLK_T_FLUSH, 12345); /* sector is ignored */
	add(f, 1, true);
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(f->req.type, VIRTIO_BLK_T_FLUSH);
	assert_int_equal(f->req.niov, 0);
	f->lim.flush = false;
	expect_done(f, VIRTIO_BLK_S_UNSUPP);
	free(f);

	f = fx_new();
	add_hdr(f, VIRTIO_BLK_T_FLUSH, 0);
	add(f, 512, false);
	add(f, 1, true);
	expect_done(f, VIRTIO_BLK_S_IOERR);
	free(f);
}

static void test_get_id(void **state)
{
	struct fx *f = fx_new();
	uint8_t *a, *b, *status;
	(void)state;

	add_hdr(f, VIRTIO_BLK_T_GET_ID, 0);
	a = add(f, 6, true);
	b = add(f, 14, true);
	status = add(f, 1, true);
	memset(a, 'x', 6);
	memset(b, 'x', 14);
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(f->req.len, 20);
	assert_int_equal(blk_req_fill_id(&f->req, "nestvmm0"), 20);
	assert_memory_equal(a, "nestvm", 6);
	assert_memory_equal(b, "m0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
	assert_int_equal(blk_req_complete(&f->req, VIRTIO_BLK_S_OK, 20), 21);
	assert_int_equal(*status, VIRTIO_BLK_S_OK);
	free(f);

	/* 20 characters: no NUL. Longer: cut. Smaller buffer: cut to it. */
	f = fx_new();
	add_hdr(f, VIRTIO_BLK_T_GET_ID, 0);
	a = add(f, 21, true);
	memset(a, 'x', 21);
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(blk_req_fill_id(&f->req, "0123456789abcdefghijKLMN"), 20);
	assert_memory_equal(a, "0123456789abcdefghij", 20);
	free(f);

	f = fx_new();
	add_hdr(f, VIRTIO_BLK_T_GET_ID, 0);
	a = add(f, 8, true);
	b = add(f, 1, true);
	memset(a, 'x', 8);
	*b = 'x';
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(blk_req_fill_id(&f->req, "0123456789"), 8);
	assert_memory_equal(a, "01234567", 8);
	assert_int_equal(*b, 'x'); /* the status byte is not data */
	/* The used length never claims more than the data buffers. */
	assert_int_equal(blk_req_complete(&f->req, VIRTIO_BLK_S_OK, 20), 9);
	free(f);
}

static void test_discard_write_zeroes(void **state)
{
	struct fx *f = fx_new();
	uint8_t *segs;
	(void)state;

	/* Two segments, the second split across two buffers. */
	add_hdr(f, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	segs = add(f, 20, false);
	put_seg(segs, 8, 0x1000, VIRTIO_BLK_SEG_F_UNMAP);
	{
		uint8_t seg[16];

		put_seg(seg, CAPACITY - 1, 1, 0);
		memcpy(segs + 16, seg, 4);
		memcpy(add(f, 12, false), seg + 4, 12);
	}
	add(f, 1, true);
	assert_int_equal(parse(f), BLK_REQ_IO);
	assert_int_equal(f->req.nseg, 2);
	assert_int_equal(f->req.seg[0].sector, 8);
	assert_int_equal(f->req.seg[0].num_sectors, 0x1000);
	assert_true(f->req.seg[0].unmap);
	assert_int_equal(f->req.seg[1].sector, CAPACITY - 1);
	assert_int_equal(f->req.seg[1].num_sectors, 1);
	assert_false(f->req.seg[1].unmap);
	f->lim.write_zeroes = false;
	expect_done(f, VIRTIO_BLK_S_UNSUPP);
	free(f);

	/* Device-writable bytes besides the status make no sense here. */
	f = fx_new();
	add_hdr(f, VIRTIO_BLK_T_DISCARD, 0);
	put_seg(add(f, 16, false), 0, 8, 0);
	add(f, 2, true);
	expect_done(f, VIRTIO_BLK_S_IOERR);
	free(f);
}

struct seg_case {
	const char *what;
	uint32_t type;
	unsigned int nseg;
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
	uint32_t extra_bytes; /* after the segments */
	uint8_t want;
};

static void test_segment_rules(void **state)
{
	static const struct seg_case cases[] = {
	    {"discard ok", VIRTIO_BLK_T_DISCARD, 4, 0, 0x1000, 0, 0, 0xff},
	    {"discard with unmap", VIRTIO_BLK_T_DISCARD, 1, 0, 8, 1, 0, VIRTIO_BLK_S_UNSUPP},
	    {"unknown flag", VIRTIO_BLK_T_WRITE_ZEROES, 1, 0, 8, 2, 0, VIRTIO_BLK_S_UNSUPP},
	    {"unknown flag, bad range", VIRTIO_BLK_T_WRITE_ZEROES, 1, UINT64_MAX, 8, 0x80000000u, 0,
	     VIRTIO_BLK_S_UNSUPP},
	    {"too many segments", VIRTIO_BLK_T_DISCARD, 5, 0, 8, 0, 0, VIRTIO_BLK_S_IOERR},
	    {"no segment", VIRTIO_BLK_T_DISCARD, 0, 0, 8, 0, 0, VIRTIO_BLK_S_IOERR},
	    {"partial segment", VIRTIO_BLK_T_DISCARD, 1, 0, 8, 0, 8, VIRTIO_BLK_S_IOERR},
	    {"too many sectors", VIRTIO_BLK_T_WRITE_ZEROES, 1, 0, 0x1001, 0, 0, VIRTIO_BLK_S_IOERR},
	    {"past capacity", VIRTIO_BLK_T_DISCARD, 1, CAPACITY - 7, 8, 0, 0, VIRTIO_BLK_S_IOERR},
	    {"overflowing range", VIRTIO_BLK_T_DISCARD, 1, UINT64_MAX - 3, 8, 0, 0,
	     VIRTIO_BLK_S_IOERR},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct seg_case *k = &cases[i];
		struct fx *f = fx_new();
		enum blk_req_action a;

		add_hdr(f, k->type, 0);
		for (unsigned int s = 0; s < k->nseg; s++)
			put_seg(add(f, 16, false), k->sector + 0x1000ull * s * (k->nseg > 1),
				k->num, k->flags);
		if (k->extra_bytes)
			add(f, k->extra_bytes, false);
		add(f, 1, true);
		a = parse(f);
		if (k->want == 0xff) {
			if (a != BLK_REQ_IO || f->req.nseg != k->nseg)
				fail_msg("%s: not submitted", k->what);
		} else if (a != BLK_REQ_DONE || f->req.result != k->want) {
			fail_msg("%s: action %d result %d", k->what, a, f->req.result);
		}
		free(f);
	}
}

static void test_unsupported_types(void **state)
{
	static const uint32_t types[] = {2, 3, 5, 10, 14, 15, 16, 0x80000000u, UINT32_MAX};
	(void)state;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct fx *f = fx_new();

		add_hdr(f, types[i], 0);
		add(f, 1, true);
		expect_done(f, VIRTIO_BLK_S_UNSUPP);
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read),
	    cmocka_unit_test(test_read_status_shares_buffer),
	    cmocka_unit_test(test_write_split_header),
	    cmocka_unit_test(test_capacity_edges),
	    cmocka_unit_test(test_wrong_direction),
	    cmocka_unit_test(test_no_status_or_header),
	    cmocka_unit_test(test_read_only),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_get_id),
	    cmocka_unit_test(test_discard_write_zeroes),
	    cmocka_unit_test(test_segment_rules),
	    cmocka_unit_test(test_unsupported_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
