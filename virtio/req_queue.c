/* SPDX-License-Identifier: MIT */
#include "virtio/req_queue.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/sandbox.h"

/* Tags of the fds the thread watches on its engine queue. */
#define TAG_KICK  0
#define TAG_STOP  1
#define TAG_EXTRA 2

/* Events taken from the engine per wait. */
#define EV_BATCH 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void *req_queue_slot(struct req_queue *q, unsigned int i)
{
	return q->slots + (size_t)i * q->slot_size;
}

void req_queue_push(struct req_queue *q, uint16_t head, uint32_t len)
{
	virtq_push(q->vq, head, len);
	if (!q->pushed++ && q->poll_ns)
		q->first_push_ns = now_ns();
}

static void put_slot(struct req_queue *q, void *slot)
{
	q->free_slots[q->nr_free++] = (uint16_t)(((uint8_t *)slot - q->slots) / q->slot_size);
}

static void ring_broken(struct req_queue *q)
{
	q->dead = true;
	virtio_needs_reset(q->vdev);
}

/*
 * The virtqueue loop of virtqueue.h, bounded by free slots: with every slot
 * busy it stops popping and leaves kicks off; the thread comes back here
 * once completions free slots.
 */
static void serve(struct req_queue *q)
{
	struct virtq *vq = q->vq;
	int r;

	if (q->dead)
		return;
	do {
		virtq_set_notify(vq, false);
		for (;;) {
			void *slot;

			if (q->nr_free == 0) {
				q->starved = true;
				return;
			}
			r = virtq_pop(vq, q->chain);
			if (r == 0)
				break;
			if (vq->broken) {
				ring_broken(q);
				return;
			}
			if (r < 0) {
				req_queue_push(q, q->chain->head, 0);
				continue;
			}
			slot = req_queue_slot(q, q->free_slots[q->nr_free - 1]);
			if (q->ops->start(q, slot))
				q->nr_free--;
		}
	} while (virtq_set_notify(vq, true));
	q->starved = false;
}

/*
 * While the thread polls with more I/O in flight, completions are gathered
 * for up to one poll window before the driver is interrupted: polling
 * handles them one by one as they come, and an interrupt per completion
 * costs a nested guest a chain of exits (rig disk-bench, README).
 */
static bool notify_deferred(struct req_queue *q)
{
	return q->poll_ns && q->ioq.inflight && now_ns() - q->first_push_ns < q->poll_ns;
}

/* One interrupt decision for everything pushed since the last one. */
static void notify(struct req_queue *q)
{
	if (!q->pushed)
		return;
	q->pushed = 0;
	if (virtq_should_notify(q->vq))
		virtio_notify_queue(q->vdev, q->index);
}

static void complete_io(struct req_queue *q, struct blk_io *io)
{
	void *slot = (uint8_t *)io - q->ops->io_offset;

	if (q->ops->complete(q, slot, io))
		put_slot(q, slot);
}

/*
 * The engine queue, with room for the largest queue the driver may choose,
 * watching the kick, stop and extra eventfds; then the sandbox. Made once;
 * made again only outside the sandbox, when the engine or an eventfd changed
 * (the bench, the tests) or the engine failed.
 */
static int engine_ready(void *arg)
{
	struct req_queue *q = arg;
	int kick = q->vdev->kick_fd[q->index];
	int r;

	if (q->engine_ready && q->engine_made_with == q->engine_ops && q->engine_kick_fd == kick &&
	    q->engine_extra_fd == q->extra_fd)
		return 0;
	if (q->confined)
		return -EIO; /* remaking it needs calls the sandbox forbids */
	if (q->engine_ready)
		blk_ioq_fini(&q->ioq);
	q->engine_ready = false;
	if (kick < 0 || !q->disk)
		return -EINVAL;
	if (q->engine_ops)
		r = blk_ioq_init_ops(&q->ioq, q->engine_ops, q->disk, q->vdev->queue_max_size);
	else
		r = blk_ioq_init(&q->ioq, q->disk, q->vdev->queue_max_size);
	if (r < 0)
		return r;
	r = blk_ioq_watch(&q->ioq, kick, TAG_KICK);
	if (r == 0)
		r = blk_ioq_watch(&q->ioq, q->worker.stop_fd, TAG_STOP);
	if (r == 0 && q->extra_fd >= 0)
		r = blk_ioq_watch(&q->ioq, q->extra_fd, TAG_EXTRA);
	if (r < 0) {
		blk_ioq_fini(&q->ioq);
		return r;
	}
	q->engine_ready = true;
	q->engine_made_with = q->engine_ops;
	q->engine_kick_fd = kick;
	q->engine_extra_fd = q->extra_fd;
	/* Everything this thread will ever touch is made: confine it now. */
	r = sandbox_enter(SANDBOX_IO);
	if (r < 0)
		return r;
	q->confined = sandbox_enabled();
	return 0;
}

/* The engine failed to wait: nothing more can complete. Park until stopped. */
static void engine_failed(struct req_queue *q)
{
	struct pollfd pfd = {.fd = q->worker.stop_fd, .events = POLLIN};

	fprintf(stderr, "%s: queue %u: engine %s failed; device needs reset\n", q->vdev->name,
		q->index, q->ioq.ops->name);
	ring_broken(q);
	if (q->ops->failed)
		q->ops->failed(q);
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	worker_drain_fd(q->worker.stop_fd);
	blk_ioq_fini(&q->ioq);
	q->engine_ready = false;
}

/*
 * Before sleeping: look at the completion queue and the avail ring for up
 * to q->poll_ns, with kicks off, yielding between looks (on a small host a
 * pure spin starves the engine's own workers). Returns the events found
 * (n > 0), 0 with *@ring set when the driver made buffers available, or 0
 * with nothing: then kicks are on again and the caller sleeps.
 */
static int poll_before_sleep(struct req_queue *q, struct blk_event *ev, bool *ring)
{
	uint64_t end = now_ns() + q->poll_ns;
	int n;

	*ring = false;
	virtq_set_notify(q->vq, false);
	for (;;) {
		if (q->pushed && !notify_deferred(q))
			notify(q);
		n = blk_ioq_wait(&q->ioq, ev, EV_BATCH, 0);
		if (n != 0)
			return n;
		if (virtq_has_work(q->vq)) {
			*ring = true;
			return 0;
		}
		if (now_ns() >= end)
			break;
		sched_yield();
	}
	/* About to sleep: nothing gathered waits longer; kicks back on. */
	notify(q);
	*ring = virtq_set_notify(q->vq, true);
	return 0;
}

/*
 * Adaptive polling (req_queue_next_poll() in req_queue.h), after each wait.
 */
uint64_t req_queue_next_poll(uint64_t poll_ns, uint64_t max_ns, uint64_t waited_ns)
{
	if (waited_ns <= poll_ns)
		return poll_ns;
	if (waited_ns > max_ns)
		return 0;
	poll_ns = poll_ns ? poll_ns * 2 : REQ_QUEUE_POLL_START_NS;
	return poll_ns < max_ns ? poll_ns : max_ns;
}

static void adjust_poll(struct req_queue *q, uint64_t waited_ns)
{
	q->poll_ns = req_queue_next_poll(q->poll_ns, q->poll_max_ns, waited_ns);
}

/* One serving session: from a start to the stop that ends it. */
static void serve_session(void *arg)
{
	struct req_queue *q = arg;
	struct blk_event ev[EV_BATCH];
	bool stopping = false;
	uint64_t t0;

	q->poll_ns = 0;
	/* Buffers made available before the watch was armed. */
	serve(q);
	for (;;) {
		bool kicked = false;
		int n = 0;

		if (!stopping) {
			if (!notify_deferred(q))
				notify(q);
			if (q->ops->batch_done)
				q->ops->batch_done(q);
		}
		if (stopping && q->ioq.inflight == 0)
			break;
		t0 = now_ns();
		if (!stopping && q->poll_ns && !q->dead) {
			n = poll_before_sleep(q, ev, &kicked);
			if (n == 0 && kicked) {
				adjust_poll(q, now_ns() - t0);
				serve(q);
				continue;
			}
		}
		/* Submits what serve() queued and sleeps, in one call. */
		if (n == 0)
			n = blk_ioq_wait(&q->ioq, ev, EV_BATCH, -1);
		if (!stopping)
			adjust_poll(q, now_ns() - t0);
		if (n < 0) {
			engine_failed(q);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].kind == BLK_EV_IO) {
				complete_io(q, ev[i].io);
			} else if (ev[i].tag == TAG_KICK) {
				worker_drain_fd(q->vdev->kick_fd[q->index]);
				kicked = true;
			} else if (ev[i].tag == TAG_STOP) {
				worker_drain_fd(q->worker.stop_fd);
				stopping = true;
			} else if (ev[i].tag == TAG_EXTRA) {
				worker_drain_fd(q->extra_fd);
				if (q->ops->event)
					q->ops->event(q);
				kicked = true; /* the device may want the ring read now */
			}
		}
		if (!stopping && (kicked || (q->starved && q->nr_free)))
			serve(q);
	}
}

static void engine_fini(void *arg)
{
	struct req_queue *q = arg;

	if (q->engine_ready)
		blk_ioq_fini(&q->ioq);
	q->engine_ready = false;
}

static const struct worker_ops req_worker_ops = {
    .ready = engine_ready,
    .serve = serve_session,
    .fini = engine_fini,
};

static void session_free(struct req_queue *q)
{
	free(q->slots);
	free(q->free_slots);
	free(q->chain);
	q->slots = NULL;
	q->free_slots = NULL;
	q->chain = NULL;
}

int req_queue_init(struct req_queue *q, struct virtio_dev *vdev, unsigned int index,
		   const char *name, const struct req_queue_ops *ops, void *owner, size_t slot_size)
{
	memset(q, 0, sizeof(*q));
	q->vdev = vdev;
	q->index = index;
	q->ops = ops;
	q->owner = owner;
	q->slot_size = slot_size;
	q->extra_fd = -1;
	/* With one CPU the guest adds work only while this thread is off it: nothing to poll for. */
	q->poll_max_ns = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? REQ_QUEUE_POLL_MAX_NS : 0;
	q->engine_kick_fd = -1;
	q->engine_extra_fd = -1;
	return worker_init(&q->worker, name, &req_worker_ops, q);
}

int req_queue_seal(struct req_queue *q)
{
	return worker_seal(&q->worker);
}

int req_queue_start(struct req_queue *q)
{
	struct virtq *vq = &q->vdev->vqs[q->index];
	int r;

	if (q->vdev->kick_fd[q->index] < 0)
		return -EINVAL;
	q->vq = vq;
	q->nr_slots = vq->size;
	q->dead = false;
	q->starved = false;
	q->pushed = 0;
	q->slots = calloc(q->nr_slots, q->slot_size);
	q->free_slots = calloc(q->nr_slots, sizeof(*q->free_slots));
	q->chain = malloc(sizeof(*q->chain));
	if (!q->slots || !q->free_slots || !q->chain) {
		session_free(q);
		return -ENOMEM;
	}
	/* Lowest index on top: the first requests use the first slots. */
	for (unsigned int s = 0; s < q->nr_slots; s++)
		q->free_slots[s] = (uint16_t)(q->nr_slots - 1 - s);
	q->nr_free = q->nr_slots;

	r = worker_start(&q->worker);
	if (r < 0)
		session_free(q);
	return r;
}

void req_queue_set_poll(struct req_queue *q, uint64_t max_ns)
{
	q->poll_max_ns = max_ns;
}

void req_queue_stop(struct req_queue *q)
{
	worker_stop(&q->worker);
}

void req_queue_join(struct req_queue *q)
{
	if (worker_join(&q->worker))
		session_free(q);
}

void req_queue_destroy(struct req_queue *q)
{
	req_queue_stop(q);
	req_queue_join(q);
	worker_destroy(&q->worker);
}
