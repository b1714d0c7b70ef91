/* SPDX-License-Identifier: MIT */
/*
 * The virtio-scsi device model (spec 5.6): one controller, one target,
 * whose LUNs are disk images (the SCSI command set is scsi/target.c's).
 * Queue 0 is the control queue, 1 the event queue, 2.. the request queues
 * (one per vCPU), each served by its own thread over one block engine queue
 * (virtio/req_queue.h) that carries the I/O of every LUN.
 *
 * Task management, on the control queue's thread: ABORT TASK, ABORT TASK
 * SET, CLEAR TASK SET, LOGICAL UNIT RESET and I_T NEXUS RESET ask every
 * request queue to finish the affected requests first: those still in the
 * ring are answered ABORTED (or RESET) without being carried out, those
 * with I/O in flight are answered so once the I/O is done (an engine
 * cannot take back a write it started). The function's answer comes after
 * all of them, as the spec requires. QUERY TASK (SET) reports whether the
 * task (set) is in flight. Asynchronous notification: none are offered,
 * so queries and subscriptions are answered with no events.
 */
#ifndef NESTVMM_VIRTIO_SCSI_H
#define NESTVMM_VIRTIO_SCSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "scsi/target.h"
#include "virtio/req_queue.h"
#include "virtio/virtio_dev.h"
#include "virtio/worker.h"

#define VIRTIO_SCSI_FIRST_REQ_QUEUE 2
#define VIRTIO_SCSI_MAX_REQ_QUEUES  (VIRTIO_MAX_QUEUES - VIRTIO_SCSI_FIRST_REQ_QUEUE)

/* Config space (spec 5.6.4), little-endian. */
struct virtio_scsi_config {
	uint32_t num_queues;
	uint32_t seg_max;
	uint32_t max_sectors;
	uint32_t cmd_per_lun;
	uint32_t event_info_size;
	uint32_t sense_size; /* writable by the driver */
	uint32_t cdb_size;   /* writable by the driver */
	uint16_t max_channel;
	uint16_t max_target;
	uint32_t max_lun;
};

/* A task management function as the request queues carry it out. */
struct scsi_tmf {
	uint32_t subtype;
	bool all_luns; /* I_T NEXUS RESET */
	unsigned int lun;
	bool by_id; /* ABORT TASK, QUERY TASK */
	uint64_t id;
	uint8_t response; /* what affected requests are answered: ABORTED or RESET */
	bool query;	  /* QUERY TASK (SET): nothing is aborted */
};

struct virtio_scsi_queue; /* a request queue */

struct virtio_scsi {
	struct virtio_dev vdev;	 /* first: the transport holds &s->vdev */
	struct blk_disk **disks; /* LUN n is disks[n] */
	struct scsi_lun_info luns[SCSI_MAX_LUNS];
	struct scsi_target target;
	struct virtio_scsi_config config;	 /* as the driver reads it */
	const struct blk_engine_ops *engine_ops; /* NULL: the engine the disks name */
	unsigned int nr_req_queues;
	struct virtio_scsi_queue *queues;
	/* Read by the request queues; fixed at each start from config. */
	uint32_t cdb_size, sense_size;

	/* The control queue's thread. */
	struct worker ctrl;
	struct virtq_chain *ctrl_chain; /* its virtq_pop() scratch */
	bool ctrl_confined;

	/*
	 * The task management handshake. The control thread publishes a TMF
	 * (tmf, tmf_gen) and waits until tmf_pending request queues have
	 * acknowledged it or a reset gives it up (tmf_abandon).
	 */
	pthread_mutex_t tmf_mu;
	pthread_cond_t tmf_cv;
	struct scsi_tmf tmf;
	uint64_t tmf_gen;
	unsigned int tmf_pending;
	bool tmf_found; /* QUERY: some queue has the task in flight */
	bool tmf_abandon;
	bool tmf_sync_made;

	/* Counters, for the tests: TMFs answered, taken up by a queue, requests they ended. */
	_Atomic uint64_t tmfs, tmf_taken, aborted;
};

/*
 * Set up a controller whose LUNs are @disks[0..@nr_luns) (1..SCSI_MAX_LUNS,
 * all on one engine: one queue thread carries every LUN's I/O) with
 * @nr_req_queues request queues of at most @queue_size entries. The disks
 * must outlive the device. Returns 0, or -EINVAL with one line in @why.
 */
int virtio_scsi_init(struct virtio_scsi *s, struct blk_disk **disks, unsigned int nr_luns,
		     unsigned int nr_req_queues, uint16_t queue_size, char *why, size_t why_len);

/* As virtio_blk_seal(): each thread makes what it needs and enters its sandbox. */
int virtio_scsi_seal(struct virtio_scsi *s, char *why, size_t why_len);

/* Stops the threads and frees what init allocated. */
void virtio_scsi_destroy(struct virtio_scsi *s);

/* Serve the request queues with @ops (a test engine); from the next start. */
void virtio_scsi_set_engine(struct virtio_scsi *s, const struct blk_engine_ops *ops);

/* As virtio_blk_set_poll(), for the request queues. */
void virtio_scsi_set_poll(struct virtio_scsi *s, uint64_t max_ns);

#endif
