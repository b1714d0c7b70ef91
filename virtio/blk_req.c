/* SPDX-License-Identifier: MIT */
#include "virtio/blk_req.h"

#include <endian.h>
#include <string.h>

/* The header and discard segment layouts in guest memory (little-endian). */
struct blk_hdr_le {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_seg_le {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

_Static_assert(sizeof(struct blk_hdr_le) == VIRTIO_BLK_HDR_BYTES, "header layout");
_Static_assert(sizeof(struct blk_seg_le) == 16, "segment layout");

/*
 * Copy @len bytes from offset @off of the buffers iov[0, n) into @dst (the
 * caller checked they hold that much). The barrier keeps the compiler from
 * going back to guest memory for a value once it has been checked.
 */
static void gather(const struct virtq_iov *iov, unsigned int n, uint64_t off, void *dst, size_t len)
{
	uint8_t *out = dst;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t chunk;

		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		chunk = iov[i].len - off;
		if (chunk > len)
			chunk = len;
		memcpy(out, (const uint8_t *)iov[i].base + off, chunk);
		out += chunk;
		len -= chunk;
		off = 0;
	}
	__asm__ __volatile__("" ::: "memory");
}

/* req->iov = bytes [skip, skip + take) of the buffers iov[0, n). */
static void slice(struct blk_req *req, const struct virtq_iov *iov, unsigned int n, uint64_t skip,
		  uint64_t take)
{
	req->niov = 0;
	for (unsigned int i = 0; i < n && take; i++) {
		uint64_t chunk;

		if (skip >= iov[i].len) {
			skip -= iov[i].len;
			continue;
		}
		chunk = iov[i].len - skip;
		if (chunk > take)
			chunk = take;
		req->iov[req->niov].iov_base = (uint8_t *)iov[i].base + skip;
		req->iov[req->niov].iov_len = chunk;
		req->niov++;
		take -= chunk;
		skip = 0;
	}
}

static bool in_capacity(const struct blk_limits *lim, uint64_t sector, uint64_t nr_sectors)
{
	return sector <= lim->capacity && nr_sectors <= lim->capacity - sector;
}

static enum blk_req_action done(struct blk_req *req, uint8_t result)
{
	req->result = result;
	return BLK_REQ_DONE;
}

static enum blk_req_action parse_rw(struct blk_req *req, const struct virtq_chain *c,
				    const struct blk_limits *lim, uint64_t sector)
{
	bool write = req->type == VIRTIO_BLK_T_OUT;
	uint64_t out_data = c->out_len - VIRTIO_BLK_HDR_BYTES;
	uint64_t in_data = c->in_len - 1;
	uint64_t len = write ? out_data : in_data;

	if (write && lim->read_only)
		return done(req, VIRTIO_BLK_S_IOERR);
	if ((write ? in_data : out_data) != 0 || len % VIRTIO_BLK_SECTOR_SIZE)
		return done(req, VIRTIO_BLK_S_IOERR);
	if (!in_capacity(lim, sector, len / VIRTIO_BLK_SECTOR_SIZE))
		return done(req, VIRTIO_BLK_S_IOERR);
	if (len == 0)
		return done(req, VIRTIO_BLK_S_OK);

	req->sector = sector;
	req->len = len;
	if (write)
		slice(req, c->iov, c->nr_out, VIRTIO_BLK_HDR_BYTES, len);
	else
		slice(req, c->iov + c->nr_out, c->nr_in, 0, len);
	return BLK_REQ_IO;
}

static enum blk_req_action parse_segments(struct blk_req *req, const struct virtq_chain *c,
					  const struct blk_limits *lim)
{
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	uint64_t out_data = c->out_len - VIRTIO_BLK_HDR_BYTES;
	uint32_t max_seg = discard ? lim->max_discard_seg : lim->max_write_zeroes_seg;
	uint32_t max_sectors = discard ? lim->max_discard_sectors : lim->max_write_zeroes_sectors;
	struct blk_seg_le raw[BLK_REQ_MAX_SEGS];
	uint32_t nseg;

	if (!(discard ? lim->discard : lim->write_zeroes))
		return done(req, VIRTIO_BLK_S_UNSUPP);
	if (max_seg == 0 || max_seg > BLK_REQ_MAX_SEGS)
		max_seg = BLK_REQ_MAX_SEGS;
	if (c->in_len != 1 || out_data == 0 || out_data % sizeof(raw[0]) ||
	    out_data / sizeof(raw[0]) > max_seg)
		return done(req, VIRTIO_BLK_S_IOERR);
	nseg = (uint32_t)(out_data / sizeof(raw[0]));
	gather(c->iov, c->nr_out, VIRTIO_BLK_HDR_BYTES, raw, nseg * sizeof(raw[0]));

	/* Unknown flags make the whole command unsupported (spec 5.2.6.2). */
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t flags = le32toh(raw[i].flags);

		if ((flags & ~VIRTIO_BLK_SEG_F_UNMAP) || (discard && flags))
			return done(req, VIRTIO_BLK_S_UNSUPP);
	}
	/* Both write to the disk. */
	if (lim->read_only)
		return done(req, VIRTIO_BLK_S_IOERR);
	for (uint32_t i = 0; i < nseg; i++) {
		struct blk_seg *s = &req->seg[i];

		s->sector = le64toh(raw[i].sector);
		s->num_sectors = le32toh(raw[i].num_sectors);
		s->unmap = le32toh(raw[i].flags) & VIRTIO_BLK_SEG_F_UNMAP;
		if (max_sectors && s->num_sectors > max_sectors)
			return done(req, VIRTIO_BLK_S_IOERR);
		if (!in_capacity(lim, s->sector, s->num_sectors))
			return done(req, VIRTIO_BLK_S_IOERR);
	}
	req->nseg = nseg;
	return BLK_REQ_IO;
}

enum blk_req_action blk_req_parse(struct blk_req *req, const struct virtq_chain *c,
				  const struct blk_limits *lim)
{
	struct blk_hdr_le hdr;
	const struct virtq_iov *last;

	req->head = c->head;
	req->type = UINT32_MAX;
	req->sector = 0;
	req->len = 0;
	req->niov = 0;
	req->nseg = 0;
	req->status = NULL;

	/* The status byte is the last writable byte of the chain. */
	if (c->in_len == 0)
		return done(req, VIRTIO_BLK_S_IOERR);
	last = &c->iov[c->nr_out + c->nr_in - 1];
	req->status = (uint8_t *)last->base + last->len - 1;

	if (c->out_len < VIRTIO_BLK_HDR_BYTES)
		return done(req, VIRTIO_BLK_S_IOERR);
	gather(c->iov, c->nr_out, 0, &hdr, sizeof(hdr));
	req->type = le32toh(hdr.type);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(req, c, lim, le64toh(hdr.sector));
	case VIRTIO_BLK_T_FLUSH:
		if (!lim->flush)
			return done(req, VIRTIO_BLK_S_UNSUPP);
		if (c->out_len != VIRTIO_BLK_HDR_BYTES || c->in_len != 1)
			return done(req, VIRTIO_BLK_S_IOERR);
		return BLK_REQ_IO;
	case VIRTIO_BLK_T_GET_ID:
		if (c->out_len != VIRTIO_BLK_HDR_BYTES)
			return done(req, VIRTIO_BLK_S_IOERR);
		req->len = c->in_len - 1;
		slice(req, c->iov + c->nr_out, c->nr_in, 0, req->len);
		return BLK_REQ_IO;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_segments(req, c, lim);
	default:
		return done(req, VIRTIO_BLK_S_UNSUPP);
	}
}

uint32_t blk_req_fill_id(struct blk_req *req, const char *id)
{
	char padded[VIRTIO_BLK_ID_BYTES] = {0};
	size_t left = req->len < sizeof(padded) ? (size_t)req->len : sizeof(padded);
	size_t done_bytes = 0;

	memcpy(padded, id, strnlen(id, sizeof(padded)));
	for (unsigned int i = 0; i < req->niov && done_bytes < left; i++) {
		size_t chunk = req->iov[i].iov_len;

		if (chunk > left - done_bytes)
			chunk = left - done_bytes;
		memcpy(req->iov[i].iov_base, padded + done_bytes, chunk);
		done_bytes += chunk;
	}
	return (uint32_t)done_bytes;
}

uint32_t blk_req_complete(struct blk_req *req, uint8_t status, uint32_t data_written)
{
	if (!req->status)
		return 0;
	*req->status = status;
	/* Never claim more than the writable data buffers hold: drivers trust len. */
	if (req->type != VIRTIO_BLK_T_IN && req->type != VIRTIO_BLK_T_GET_ID)
		data_written = 0;
	else if (data_written > req->len)
		data_written = (uint32_t)req->len;
	return data_written < UINT32_MAX ? data_written + 1 : UINT32_MAX;
}
