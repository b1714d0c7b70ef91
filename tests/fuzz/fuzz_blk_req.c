/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtio-blk request parser. The input is decoded into
 * the disk's limits and a descriptor chain as virtq_pop() would return it:
 * up to 8 readable and 8 writable buffers, each alone in its own pages and
 * ending right at a PROT_NONE guard page, holding a request header, discard
 * segments and data. The target parses, checks every promise the parser
 * makes, carries out the request on the buffers as a device would (writes
 * into what it may write, reads what it may read) and completes it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz_blk_req.h"
#include "tests/fuzz/fuzz_guard.h"
#include "tests/fuzz/fuzz_input.h"
#include "virtio/blk_req.h"

#define MAX_BUFS   16
#define SLOT_BYTES 0x2000u /* the largest buffer */

struct fuzz_blk_req_stats fuzz_blk_req_stats;

struct state {
	uint8_t *slot[MAX_BUFS]; /* each SLOT_BYTES, followed by a guard page */
	struct virtq_chain chain;
	struct blk_req req;
};

static struct state *state_get(void)
{
	static struct state *st;

	if (!st) {
		static struct state storage;

		fuzz_guarded_slots(storage.slot, MAX_BUFS, SLOT_BYTES);
		st = &storage;
	}
	return st;
}

/* Buffer sizes around the boundaries that matter: 1, 16, 512, segments. */
static uint32_t decode_len(struct input *in)
{
	static const uint32_t sizes[] = {1,  2,	  15,  16,  17,	  20,	21,  32,
					 48, 511, 512, 513, 1024, 4096, 4097};
	uint16_t v = get16(in);

	if (v & 0x8000)
		return 1 + v % SLOT_BYTES;
	return sizes[v % (sizeof(sizes) / sizeof(sizes[0]))];
}

static uint32_t decode_type(struct input *in)
{
	static const uint32_t types[] = {VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
					 VIRTIO_BLK_T_FLUSH,   VIRTIO_BLK_T_GET_ID,
					 VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES};
	uint8_t v = get8(in);

	if (v >= 0xf0)
		return get32(in);
	return types[v % (sizeof(types) / sizeof(types[0]))];
}

/* Sectors mostly inside the disk, often at its very end, sometimes anything. */
static uint64_t decode_sector(struct input *in, uint64_t capacity)
{
	uint8_t mode = get8(in);
	uint32_t v = get32(in);

	switch (mode & 3) {
	case 0:
		return capacity ? v % capacity : 0;
	case 1:
		return capacity - (v & 0xff);
	case 2:
		return capacity + (v & 0xff);
	default:
		return v & 0x100 ? get64(in) : UINT64_MAX - (v & 0xff);
	}
}

/* The readable bytes a driver would send: header, then segments or data. */
static void fill_out(struct input *in, uint8_t *out, size_t len, uint32_t type, uint64_t sector,
		     uint64_t capacity)
{
	size_t off = 16;

	memset(out, 0, len < 16 ? len : 16);
	memcpy(out, &type, len < 4 ? len : 4);
	if (len >= 16)
		memcpy(out + 8, &sector, 8);
	while (off + 16 <= len && in->n) {
		uint64_t s = decode_sector(in, capacity);
		uint32_t num = get8(in) & 0x80 ? get32(in) : get8(in);
		uint32_t flags = get8(in);

		flags = flags & 0x80 ? get32(in) : (flags & 0x41) == 0x41;
		memcpy(out + off, &s, 8);
		memcpy(out + off + 8, &num, 4);
		memcpy(out + off + 12, &flags, 4);
		off += 16;
	}
}

/* The host address of byte @off of the chain's buffers iov[first, first + n). */
static const uint8_t *stream_at(const struct virtq_chain *c, unsigned int first, unsigned int n,
				uint64_t off)
{
	for (unsigned int i = first; i < first + n; i++) {
		if (off < c->iov[i].len)
			return (const uint8_t *)c->iov[i].base + off;
		off -= c->iov[i].len;
	}
	return NULL;
}

/*
 * req->iov must be exactly bytes [skip, skip + req->len) of the buffers
 * iov[first, first + n): same addresses, in order, none straddling two.
 */
static void check_slices(const struct state *st, unsigned int first, unsigned int n, uint64_t skip)
{
	const struct blk_req *r = &st->req;
	uint64_t off = skip, total = 0;

	for (unsigned int i = 0; i < r->niov; i++) {
		const uint8_t *base = r->iov[i].iov_base;
		size_t len = r->iov[i].iov_len;

		if (len == 0 || stream_at(&st->chain, first, n, off) != base ||
		    stream_at(&st->chain, first, n, off + len - 1) != base + len - 1)
			__builtin_trap();
		off += len;
		total += len;
	}
	if (total != r->len)
		__builtin_trap();
}

static void check_io(struct state *st, const struct blk_limits *lim)
{
	const struct virtq_chain *c = &st->chain;
	struct blk_req *r = &st->req;
	uint32_t max_seg, max_sectors;
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->len == 0 || r->len % 512 || r->sector > lim->capacity ||
		    r->len / 512 > lim->capacity - r->sector)
			__builtin_trap();
		if (r->type == VIRTIO_BLK_T_OUT) {
			if (lim->read_only || c->in_len != 1)
				__builtin_trap();
			check_slices(st, 0, c->nr_out, 16);
			for (unsigned int i = 0; i < r->niov; i++) {
				volatile const uint8_t *p = r->iov[i].iov_base;

				(void)p[0];
				(void)p[r->iov[i].iov_len - 1];
			}
		} else {
			if (c->out_len != 16 || r->len != c->in_len - 1)
				__builtin_trap();
			check_slices(st, c->nr_out, c->nr_in, 0);
			for (unsigned int i = 0; i < r->niov; i++)
				memset(r->iov[i].iov_base, 0x5a, r->iov[i].iov_len);
		}
		fuzz_blk_req_stats.rw++;
		return;
	case VIRTIO_BLK_T_FLUSH:
		if (!lim->flush || r->niov || c->out_len != 16 || c->in_len != 1)
			__builtin_trap();
		fuzz_blk_req_stats.other++;
		return;
	case VIRTIO_BLK_T_GET_ID:
		if (c->out_len != 16 || r->len != c->in_len - 1)
			__builtin_trap();
		check_slices(st, c->nr_out, c->nr_in, 0);
		if (blk_req_fill_id(r, "nestvmm-fuzz-disk-id-too-long") !=
		    (r->len < 20 ? r->len : 20))
			__builtin_trap();
		fuzz_blk_req_stats.other++;
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (lim->read_only || !(discard ? lim->discard : lim->write_zeroes) ||
		    c->in_len != 1 || r->niov)
			__builtin_trap();
		max_seg = discard ? lim->max_discard_seg : lim->max_write_zeroes_seg;
		max_sectors = discard ? lim->max_discard_sectors : lim->max_write_zeroes_sectors;
		if (max_seg == 0 || max_seg > BLK_REQ_MAX_SEGS)
			max_seg = BLK_REQ_MAX_SEGS;
		if (r->nseg == 0 || r->nseg > max_seg || r->nseg * 16ull != c->out_len - 16)
			__builtin_trap();
		for (unsigned int i = 0; i < r->nseg; i++) {
			const struct blk_seg *s = &r->seg[i];

			if (s->sector > lim->capacity ||
			    s->num_sectors > lim->capacity - s->sector ||
			    (max_sectors && s->num_sectors > max_sectors) || (discard && s->unmap))
				__builtin_trap();
		}
		fuzz_blk_req_stats.segments++;
		return;
	default:
		__builtin_trap();
	}
}

static void add_buf(struct state *st, uint32_t len, bool writable)
{
	struct virtq_chain *c = &st->chain;
	unsigned int i = c->nr_out + c->nr_in;

	if (i == MAX_BUFS || len == 0 || len > SLOT_BYTES)
		return;
	/* Each buffer ends at its slot's end, right before a guard page. */
	c->iov[i].base = st->slot[i] + SLOT_BYTES - len;
	c->iov[i].len = len;
	if (writable) {
		c->nr_in++;
		c->in_len += len;
	} else {
		c->nr_out++;
		c->out_len += len;
	}
}

/*
 * The layout a driver would use for @type: header, data in sector-sized
 * pieces (or segments, or the ID buffer), status; sometimes the header in
 * two buffers, or sharing one with the first readable piece, and the status
 * sharing one with the last writable piece. Gets requests past framing.
 */
static void layout_plausible(struct input *in, struct state *st, uint8_t shape, uint32_t type)
{
	unsigned int pieces = (shape & 7) + 1;
	bool split_hdr = shape & 8, share = shape & 0x80;
	bool data_writable = true, status_added = false, hdr_merged;
	uint32_t piece[8];

	switch (type) {
	case VIRTIO_BLK_T_OUT:
		data_writable = false;
		/* fall through */
	case VIRTIO_BLK_T_IN:
		if (shape & 0x40)
			pieces = 0; /* an empty transfer */
		for (unsigned int i = 0; i < pieces; i++)
			piece[i] = 512u * (get8(in) % 8 + 1);
		break;
	case VIRTIO_BLK_T_GET_ID:
		piece[0] = shape & 0x40 ? VIRTIO_BLK_ID_BYTES : get8(in) % 32 + 1;
		pieces = 1;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		data_writable = false;
		piece[0] = 16 * (pieces % 4 + 1);
		pieces = 1;
		break;
	default:
		pieces = 0;
	}

	hdr_merged = !split_hdr && share && pieces && !data_writable;
	if (split_hdr) {
		add_buf(st, 7, false);
		add_buf(st, 9, false);
	} else if (!hdr_merged) {
		add_buf(st, 16, false);
	}
	for (unsigned int i = 0; i < pieces; i++) {
		uint32_t len = piece[i];

		if (i == 0 && hdr_merged)
			len += 16;
		if (data_writable && share && i == pieces - 1) {
			len += 1;
			status_added = true;
		}
		add_buf(st, len, data_writable);
	}
	/* Now and then a status buffer a byte too long: writable data where none belongs. */
	if (!status_added)
		add_buf(st, (shape & 0x30) == 0x30 ? 2 : 1, true);
}

static void layout_random(struct input *in, struct state *st, uint8_t shape)
{
	unsigned int nr_out = shape & 7, nr_in = (shape >> 4) & 7;

	for (unsigned int i = 0; i < nr_out + nr_in; i++)
		add_buf(st, decode_len(in), i >= nr_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {.p = data, .n = size};
	struct state *st = state_get();
	struct virtq_chain *c = &st->chain;
	struct blk_limits lim;
	uint8_t shape = get8(&in), flags = get8(&in);
	uint32_t type;
	uint64_t sector;
	enum blk_req_action action;
	uint8_t status;
	uint32_t used;

	memset(&lim, 0, sizeof(lim));
	lim.capacity = flags & 0x80 ? get64(&in) : get16(&in);
	lim.read_only = (flags & 0x11) == 0x11;
	lim.flush = flags & 2;
	lim.discard = flags & 4;
	lim.write_zeroes = flags & 8;
	lim.max_discard_seg = lim.max_write_zeroes_seg = get8(&in);
	lim.max_discard_sectors = get16(&in);
	lim.max_write_zeroes_sectors = get16(&in);

	c->head = get16(&in);
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	type = decode_type(&in);
	sector = decode_sector(&in, lim.capacity);
	if (get8(&in) % 4)
		layout_plausible(&in, st, shape, type);
	else
		layout_random(&in, st, shape);

	/* The readable stream, scattered into place buffer by buffer. */
	if (c->nr_out) {
		static uint8_t out[MAX_BUFS * SLOT_BYTES];
		size_t off = 0;

		fill_out(&in, out, (size_t)c->out_len, type, sector, lim.capacity);
		for (unsigned int i = 0; i < c->nr_out; i++) {
			memcpy(c->iov[i].base, out + off, c->iov[i].len);
			off += c->iov[i].len;
		}
	}

	action = blk_req_parse(&st->req, c, &lim);
	if (st->req.head != c->head)
		__builtin_trap();
	if (c->in_len == 0 ? st->req.status != NULL
			   : st->req.status != (uint8_t *)c->iov[c->nr_out + c->nr_in - 1].base +
						   c->iov[c->nr_out + c->nr_in - 1].len - 1)
		__builtin_trap();

	if (action == BLK_REQ_IO) {
		check_io(st, &lim);
		status = VIRTIO_BLK_S_OK;
		/* A careless device's count: completion must cap it. */
		used = blk_req_complete(&st->req, status, get32(&in));
	} else {
		status = st->req.result;
		if (status > VIRTIO_BLK_S_UNSUPP)
			__builtin_trap();
		/* OK without I/O only for an empty read or write. */
		if (status == VIRTIO_BLK_S_OK &&
		    ((st->req.type != VIRTIO_BLK_T_IN && st->req.type != VIRTIO_BLK_T_OUT) ||
		     c->out_len + c->in_len != 17))
			__builtin_trap();
		fuzz_blk_req_stats.done[status]++;
		used = blk_req_complete(&st->req, status, get32(&in));
	}
	if (used > c->in_len || (st->req.status && *st->req.status != status))
		__builtin_trap();
	return 0;
}
