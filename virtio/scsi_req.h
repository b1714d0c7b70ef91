/* SPDX-License-Identifier: MIT */
/*
 * virtio-scsi requests (spec 5.6.6), taken apart from the descriptor chain
 * virtq_pop() returned. Any layout is accepted (VIRTIO_F_VERSION_1 implies
 * ANY_LAYOUT): the fixed parts are found by byte offset, not by descriptor.
 *
 * A command request is, device-readable: lun[8], id (le64), task_attr,
 * prio, crn, cdb[cdb_size], then the data-out; device-writable: sense_len
 * (le32), residual (le32), status_qualifier (le16), status, response,
 * sense[sense_size], then the data-in. A control request opens with a le32
 * type: TMF (type, subtype, lun[8], id; response), or an asynchronous
 * notification query or subscription (type, lun[8], event_requested;
 * event_actual, response).
 *
 * Everything the guest supplied is copied once here; the data buffers
 * stay guest memory, which the guest may rewrite at any time (that changes
 * data, never where it lies).
 */
#ifndef NESTVMM_VIRTIO_SCSI_REQ_H
#define NESTVMM_VIRTIO_SCSI_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtqueue.h"

/* Config defaults and the bounds a driver's writes are held to. */
#define VIRTIO_SCSI_CDB_SIZE   32
#define VIRTIO_SCSI_SENSE_SIZE 96
#define VIRTIO_SCSI_CDB_MAX    256
#define VIRTIO_SCSI_SENSE_MAX  252

#define VIRTIO_SCSI_CMD_HDR  19 /* lun, id, task_attr, prio, crn: before the CDB */
#define VIRTIO_SCSI_RESP_HDR 12 /* sense_len, residual, status_qualifier, status, response */

/* Response codes (spec 5.6.6.1). */
#define VIRTIO_SCSI_S_OK		 0
#define VIRTIO_SCSI_S_OVERRUN		 1
#define VIRTIO_SCSI_S_ABORTED		 2
#define VIRTIO_SCSI_S_BAD_TARGET	 3
#define VIRTIO_SCSI_S_RESET		 4
#define VIRTIO_SCSI_S_BUSY		 5
#define VIRTIO_SCSI_S_TRANSPORT_FAILURE	 6
#define VIRTIO_SCSI_S_TARGET_FAILURE	 7
#define VIRTIO_SCSI_S_NEXUS_FAILURE	 8
#define VIRTIO_SCSI_S_FAILURE		 9
#define VIRTIO_SCSI_S_FUNCTION_SUCCEEDED 10
#define VIRTIO_SCSI_S_FUNCTION_REJECTED	 11
#define VIRTIO_SCSI_S_INCORRECT_LUN	 12
#define VIRTIO_SCSI_S_FUNCTION_COMPLETE	 0 /* a TMF's answer: the same value as OK */

/* Control request types and TMF subtypes (spec 5.6.6.2). */
#define VIRTIO_SCSI_T_TMF		     0
#define VIRTIO_SCSI_T_AN_QUERY		     1
#define VIRTIO_SCSI_T_AN_SUBSCRIBE	     2
#define VIRTIO_SCSI_T_TMF_ABORT_TASK	     0
#define VIRTIO_SCSI_T_TMF_ABORT_TASK_SET     1
#define VIRTIO_SCSI_T_TMF_CLEAR_ACA	     2
#define VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET     3
#define VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET    4
#define VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET 5
#define VIRTIO_SCSI_T_TMF_QUERY_TASK	     6
#define VIRTIO_SCSI_T_TMF_QUERY_TASK_SET     7

#define SCSI_VREQ_RESP_IOV 32

/* What an 8-byte LUN field names: target 0's LUN @lun, or no target of this device. */
struct scsi_vlun {
	bool target_ok;	  /* lun[0] == 1 and lun[1] (the target) == 0 */
	unsigned int lun; /* single level, peripheral or flat addressing; ~0u: not one we have */
};

struct scsi_vlun scsi_vlun_decode(const uint8_t raw[8]);

/* Where a request's parts lie; the iovecs point into guest memory. */
struct scsi_vreq {
	uint16_t head;	    /* for virtq_push() */
	bool framed;	    /* the header and the whole response area are there */
	bool bidi;	    /* data-out and data-in both: refused (no VIRTIO_SCSI_F_INOUT) */
	uint32_t resp_room; /* writable bytes of the response area (up to 12 + sense_size) */
	struct scsi_vlun lun;
	uint64_t id;
	uint8_t task_attr;
	uint8_t cdb[VIRTIO_SCSI_CDB_MAX];
	uint32_t cdb_size;
	/* The response area (a driver that splits it finer is not framed), and the data: */
	struct iovec resp[SCSI_VREQ_RESP_IOV];
	unsigned int nresp;
	struct iovec data[VIRTQ_MAX_CHAIN];
	unsigned int ndata;
	uint64_t out_len; /* data-out bytes */
	uint64_t in_len;  /* data-in bytes */
};

/*
 * Take the command request in @chain apart for a device of @cdb_size and
 * @sense_size. A request without its whole header or response area has
 * framed false (answered with what fits, if anything: see
 * scsi_vreq_respond()).
 */
void scsi_vreq_parse(struct scsi_vreq *r, const struct virtq_chain *chain, uint32_t cdb_size,
		     uint32_t sense_size);

/*
 * Keep the first @len bytes of the data buffers (a transfer shorter than
 * the buffers); @len <= the data's length.
 */
void scsi_vreq_trim(struct scsi_vreq *r, uint64_t len);

/*
 * Write the response: @response, @status, @sense (@sense_len bytes, cut to
 * sense_size) and @residual, into as much of the response area as the
 * chain has. Returns the used length for virtq_push(): the response area
 * written plus @data_in bytes of data-in.
 */
uint32_t scsi_vreq_respond(struct scsi_vreq *r, uint8_t response, uint8_t status,
			   const uint8_t *sense, uint32_t sense_len, uint32_t residual,
			   uint32_t data_in, uint32_t sense_size);

/* Copy @len bytes of @src into the data-in buffers; returns the bytes copied. */
uint64_t scsi_vreq_copy_in(struct scsi_vreq *r, const void *src, uint64_t len);
/* Copy up to @len bytes of the data-out buffers into @dst; returns the bytes copied. */
uint64_t scsi_vreq_copy_out(const struct scsi_vreq *r, void *dst, uint64_t len);

/* A control request. */
struct scsi_vctrl {
	uint16_t head;
	uint32_t type;
	bool framed; /* the request and its response have the size their type says */
	uint32_t subtype;
	struct scsi_vlun lun;
	uint64_t id;
	uint32_t event_requested;
	struct iovec resp[8]; /* 1 (TMF) or 5 (AN) writable bytes, across at most 8 buffers */
	unsigned int nresp;
	uint32_t resp_room;
};

void scsi_vctrl_parse(struct scsi_vctrl *c, const struct virtq_chain *chain);

/* Answer a control request; returns the used length (0 when there is no room). */
uint32_t scsi_vctrl_respond(struct scsi_vctrl *c, uint8_t response, uint32_t event_actual);

#endif
