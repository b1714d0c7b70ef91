/* SPDX-License-Identifier: MIT */
/*
 * One virtio-blk request (spec 5.2.6), taken apart from the descriptor chain
 * virtq_pop() returned: a 16-byte device-readable header (type, reserved,
 * sector), the data, and a device-writable status byte at the very end.
 * Everything the guest supplied is copied once and checked against the
 * disk's limits here, so the device model and the backends only ever see
 * requests they can carry out as they stand.
 */
#ifndef NESTVMM_VIRTIO_BLK_REQ_H
#define NESTVMM_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtqueue.h"

/* Feature bits (spec 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_GEOMETRY	  4
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_CONFIG_WCE	  11
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types. */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* Status byte values. */
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR_SIZE 512
#define VIRTIO_BLK_ID_BYTES    20
#define VIRTIO_BLK_HDR_BYTES   16

/* The flag bit of a discard / write zeroes segment. */
#define VIRTIO_BLK_SEG_F_UNMAP 1u

/* Discard / write zeroes segments one request may carry here. */
#define BLK_REQ_MAX_SEGS 64

/* What the device offers; the parser holds every request to it. */
struct blk_limits {
	uint64_t capacity; /* in 512-byte sectors */
	bool read_only;	   /* VIRTIO_BLK_F_RO offered */
	bool flush;	   /* VIRTIO_BLK_F_FLUSH offered */
	bool discard;	   /* VIRTIO_BLK_F_DISCARD negotiated */
	bool write_zeroes; /* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
	/* As advertised in config space; 0 sectors means no limit but capacity. */
	uint32_t max_discard_sectors, max_discard_seg;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
};

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	bool unmap; /* write zeroes only: the range may be deallocated */
};

struct blk_req {
	uint16_t head;	 /* the chain's head, for virtq_push() */
	uint32_t type;	 /* VIRTIO_BLK_T_* */
	uint64_t sector; /* IN, OUT: first sector */
	uint64_t len;	 /* IN, OUT, GET_ID: data bytes in iov[] */
	uint8_t *status; /* where the status byte goes; NULL if the chain has no room */
	uint8_t result;	 /* the status, when blk_req_parse() said BLK_REQ_DONE */
	unsigned int niov;
	unsigned int nseg;
	struct blk_seg seg[BLK_REQ_MAX_SEGS];
	struct iovec iov[VIRTQ_MAX_CHAIN]; /* the data only: no header, no status */
};

enum blk_req_action {
	BLK_REQ_DONE, /* complete now with req->result */
	BLK_REQ_IO,   /* carry out req->type (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES) */
};

/*
 * Take the request in @chain apart into @req and check it against @lim:
 * - IN / OUT: data a multiple of 512 bytes, [sector, sector + len / 512)
 *   inside capacity, no data in the other direction; OUT refused (IOERR,
 *   nothing written) on a read-only disk;
 * - FLUSH: UNSUPP unless offered; no data;
 * - GET_ID: writable data of any length (the ID is cut to fit);
 * - DISCARD / WRITE_ZEROES: UNSUPP unless negotiated or when a segment has an
 *   unknown flag (or unmap, for discard); IOERR on a read-only disk, for a
 *   segment count or size over the limits or a range outside capacity;
 * - any other type: UNSUPP.
 * A chain without a 16-byte header or with data in the wrong direction is
 * IOERR. A zero-length IN or OUT is done at once (OK).
 *
 * Returns BLK_REQ_IO, or BLK_REQ_DONE with req->result set. Either way the
 * request ends with blk_req_complete(). The guest memory behind req->iov
 * may be rewritten by the guest at any time; that changes data, never
 * where it lies.
 */
enum blk_req_action blk_req_parse(struct blk_req *req, const struct virtq_chain *chain,
				  const struct blk_limits *lim);

/*
 * For GET_ID: copy the device ID string, NUL-padded to 20 bytes and cut to
 * the data buffers' size, into them. Returns the bytes written.
 */
uint32_t blk_req_fill_id(struct blk_req *req, const char *id);

/*
 * Write @status into the request's status byte, if it has one, and return
 * the used length to hand to virtq_push(): @data_written (bytes the device
 * put into the data buffers, capped at what an IN or GET_ID request has; 0
 * for any other type) plus the status byte, or 0 with no status byte.
 */
uint32_t blk_req_complete(struct blk_req *req, uint8_t status, uint32_t data_written);

#endif
