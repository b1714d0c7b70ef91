/* SPDX-License-Identifier: MIT */
#include "virtio/scsi_req.h"

#include <endian.h>
#include <string.h>

struct scsi_vlun scsi_vlun_decode(const uint8_t raw[8])
{
	struct scsi_vlun v = {.target_ok = raw[0] == 1 && raw[1] == 0, .lun = ~0u};
	unsigned int method = raw[2] >> 6;

	/* Single level only: the second to fourth levels must be empty. */
	if (raw[4] || raw[5] || raw[6] || raw[7])
		return v;
	if (method == 1) /* flat space */
		v.lun = (unsigned int)(raw[2] & 0x3f) << 8 | raw[3];
	else if (method == 0 && raw[2] == 0) /* peripheral, bus 0 */
		v.lun = raw[3];
	return v;
}

/* A cursor over a run of the chain's buffers. */
struct cursor {
	const struct virtq_iov *iov;
	unsigned int n, i;
	uint32_t off; /* into iov[i] */
};

/*
 * The next piece of at most @want bytes under the cursor, and step past it:
 * its address, its length in *@k (0: the run is used up).
 */
static uint8_t *next_piece(struct cursor *c, uint64_t want, uint64_t *k)
{
	uint8_t *p;
	uint32_t left;

	if (c->i >= c->n || !want) {
		*k = 0;
		return NULL;
	}
	left = c->iov[c->i].len - c->off;
	*k = want < left ? want : left;
	p = (uint8_t *)c->iov[c->i].base + c->off;
	c->off += (uint32_t)*k;
	if (c->off == c->iov[c->i].len) {
		c->i++;
		c->off = 0;
	}
	return p;
}

/* Copy up to @len bytes from the cursor into @dst; returns the bytes taken. */
static uint64_t take(struct cursor *c, void *dst, uint64_t len)
{
	uint64_t got = 0, k;
	uint8_t *p;

	while ((p = next_piece(c, len - got, &k)) != NULL) {
		memcpy((uint8_t *)dst + got, p, k);
		got += k;
	}
	return got;
}

/* Up to @len bytes from the cursor as iovecs in @out (at most @max); returns the bytes. */
static uint64_t take_iov(struct cursor *c, uint64_t len, struct iovec *out, unsigned int max,
			 unsigned int *n)
{
	uint64_t got = 0, k;
	uint8_t *p;

	*n = 0;
	while (*n < max && (p = next_piece(c, len - got, &k)) != NULL) {
		out[(*n)++] = (struct iovec){p, k};
		got += k;
	}
	return got;
}

void scsi_vreq_parse(struct scsi_vreq *r, const struct virtq_chain *chain, uint32_t cdb_size,
		     uint32_t sense_size)
{
	struct cursor out = {.iov = chain->iov, .n = chain->nr_out};
	struct cursor in = {.iov = chain->iov + chain->nr_out, .n = chain->nr_in};
	uint8_t hdr[VIRTIO_SCSI_CMD_HDR];
	uint32_t resp_len = VIRTIO_SCSI_RESP_HDR + sense_size;
	bool hdr_ok;

	r->head = chain->head;
	r->cdb_size = cdb_size;
	r->ndata = 0;
	r->out_len = r->in_len = 0;
	memset(r->cdb, 0, sizeof(r->cdb));
	memset(&r->lun, 0, sizeof(r->lun));
	r->id = 0;
	r->task_attr = 0;
	r->bidi = false;

	hdr_ok =
	    take(&out, hdr, sizeof(hdr)) == sizeof(hdr) && take(&out, r->cdb, cdb_size) == cdb_size;
	r->resp_room = (uint32_t)take_iov(&in, resp_len, r->resp, SCSI_VREQ_RESP_IOV, &r->nresp);
	r->framed = hdr_ok && r->resp_room == resp_len;
	if (!r->framed)
		return;
	r->lun = scsi_vlun_decode(hdr);
	memcpy(&r->id, hdr + 8, 8);
	r->id = le64toh(r->id);
	r->task_attr = hdr[16];

	/* The rest of the readable part is data-out; of the writable, data-in. */
	r->out_len = chain->out_len - VIRTIO_SCSI_CMD_HDR - cdb_size;
	r->in_len = chain->in_len - resp_len;
	if (r->out_len && r->in_len) {
		r->bidi = true;
		return;
	}
	if (r->out_len)
		take_iov(&out, r->out_len, r->data, VIRTQ_MAX_CHAIN, &r->ndata);
	else if (r->in_len)
		take_iov(&in, r->in_len, r->data, VIRTQ_MAX_CHAIN, &r->ndata);
}

void scsi_vreq_trim(struct scsi_vreq *r, uint64_t len)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < r->ndata && sum < len; i++) {
		if (r->data[i].iov_len > len - sum)
			r->data[i].iov_len = len - sum;
		sum += r->data[i].iov_len;
	}
	r->ndata = i;
}

/* Scatter @len bytes of @src into @iov[n] from byte @off on; returns the bytes written. */
static uint64_t scatter(const struct iovec *iov, unsigned int n, uint64_t off, const void *src,
			uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint64_t k;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, k);
		done += k;
		off = 0;
	}
	return done;
}

uint32_t scsi_vreq_respond(struct scsi_vreq *r, uint8_t response, uint8_t status,
			   const uint8_t *sense, uint32_t sense_len, uint32_t residual,
			   uint32_t data_in, uint32_t sense_size)
{
	uint8_t resp[VIRTIO_SCSI_RESP_HDR + VIRTIO_SCSI_SENSE_MAX];
	uint32_t len = VIRTIO_SCSI_RESP_HDR + sense_size, v;
	uint64_t written;

	/* Without room for the response byte there is no answer to give. */
	if (r->resp_room < VIRTIO_SCSI_RESP_HDR)
		return 0;
	if (sense_len > sense_size)
		sense_len = sense_size;
	memset(resp, 0, sizeof(resp));
	v = htole32(sense_len);
	memcpy(resp, &v, 4);
	v = htole32(residual);
	memcpy(resp + 4, &v, 4);
	resp[10] = status;
	resp[11] = response;
	if (sense_len)
		memcpy(resp + VIRTIO_SCSI_RESP_HDR, sense, sense_len);
	written = scatter(r->resp, r->nresp, 0, resp, len < r->resp_room ? len : r->resp_room);
	if (!r->framed || r->out_len)
		data_in = 0;
	return (uint32_t)written + data_in;
}

uint64_t scsi_vreq_copy_in(struct scsi_vreq *r, const void *src, uint64_t len)
{
	if (r->out_len)
		return 0;
	return scatter(r->data, r->ndata, 0, src, len);
}

uint64_t scsi_vreq_copy_out(const struct scsi_vreq *r, void *dst, uint64_t len)
{
	uint64_t done = 0;

	if (!r->out_len)
		return 0;
	for (unsigned int i = 0; i < r->ndata && done < len; i++) {
		uint64_t k = r->data[i].iov_len < len - done ? r->data[i].iov_len : len - done;

		memcpy((uint8_t *)dst + done, r->data[i].iov_base, k);
		done += k;
	}
	return done;
}

void scsi_vctrl_parse(struct scsi_vctrl *c, const struct virtq_chain *chain)
{
	struct cursor out = {.iov = chain->iov, .n = chain->nr_out};
	struct cursor in = {.iov = chain->iov + chain->nr_out, .n = chain->nr_in};
	uint8_t req[24];
	uint32_t v;
	uint64_t got, want_in;

	memset(c, 0, sizeof(*c));
	c->head = chain->head;
	got = take(&out, req, sizeof(req));
	if (got < 4) {
		c->type = ~0u;
	} else {
		memcpy(&v, req, 4);
		c->type = le32toh(v);
	}
	switch (c->type) {
	case VIRTIO_SCSI_T_TMF:
		c->framed = got >= 24;
		memcpy(&v, req + 4, 4);
		c->subtype = le32toh(v);
		c->lun = scsi_vlun_decode(req + 8);
		memcpy(&c->id, req + 16, 8);
		c->id = le64toh(c->id);
		want_in = 1;
		break;
	case VIRTIO_SCSI_T_AN_QUERY:
	case VIRTIO_SCSI_T_AN_SUBSCRIBE:
		c->framed = got >= 16;
		c->lun = scsi_vlun_decode(req + 4);
		memcpy(&v, req + 12, 4);
		c->event_requested = le32toh(v);
		want_in = 5;
		break;
	default:
		c->framed = false;
		want_in = 1; /* room for a response byte, if there is any */
		break;
	}
	c->resp_room = (uint32_t)take_iov(&in, want_in, c->resp, 8, &c->nresp);
	if (c->resp_room < want_in)
		c->framed = false;
}

uint32_t scsi_vctrl_respond(struct scsi_vctrl *c, uint8_t response, uint32_t event_actual)
{
	uint8_t b[5];
	uint32_t v = htole32(event_actual);

	if (c->type == VIRTIO_SCSI_T_AN_QUERY || c->type == VIRTIO_SCSI_T_AN_SUBSCRIBE) {
		if (c->resp_room < 5)
			return 0;
		memcpy(b, &v, 4);
		b[4] = response;
		return (uint32_t)scatter(c->resp, c->nresp, 0, b, 5);
	}
	if (c->resp_room < 1)
		return 0;
	return (uint32_t)scatter(c->resp, c->nresp, 0, &response, 1);
}
