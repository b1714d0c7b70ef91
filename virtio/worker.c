/* SPDX-License-Identifier: MIT */
#include "virtio/worker.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void set_state(struct worker *w, int state)
{
	pthread_mutex_lock(&w->mu);
	w->state = state;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Move to @state and wait until the thread has left it. */
static void round_trip(struct worker *w, int state)
{
	pthread_mutex_lock(&w->mu);
	w->state = state;
	pthread_cond_broadcast(&w->cv);
	while ((int)w->state == state)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	int state;

	pthread_setname_np(pthread_self(), w->name);
	set_state(w, W_IDLE);
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->state == W_IDLE)
			pthread_cond_wait(&w->cv, &w->mu);
		state = w->state;
		pthread_mutex_unlock(&w->mu);
		if (state == W_QUIT)
			break;

		/* W_SEALING or W_STARTING: the engine queue first, by the thread that uses it. */
		w->init_err = w->ops->ready(w->arg);
		if (w->init_err || state == W_SEALING) {
			set_state(w, W_IDLE);
			continue;
		}
		set_state(w, W_SERVING);
		w->ops->serve(w->arg);
		set_state(w, W_IDLE);
	}
	w->ops->fini(w->arg);
	return NULL;
}

int worker_init(struct worker *w, const char *name, const struct worker_ops *ops, void *arg)
{
	int r;

	memset(w, 0, sizeof(*w));
	w->ops = ops;
	w->arg = arg;
	snprintf(w->name, sizeof(w->name), "%s", name);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->state = W_STARTING; /* until the thread says it is idle */
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->stop_fd < 0)
		return -errno;
	r = pthread_create(&w->thread, NULL, worker_thread, w);
	if (r)
		return -r;
	w->thread_made = true;
	pthread_mutex_lock(&w->mu);
	while (w->state == W_STARTING)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int worker_seal(struct worker *w)
{
	round_trip(w, W_SEALING);
	return w->init_err;
}

int worker_start(struct worker *w)
{
	round_trip(w, W_STARTING);
	if (w->init_err)
		return w->init_err;
	w->running = true;
	return 0;
}

void worker_stop(struct worker *w)
{
	uint64_t one = 1;

	if (w->running && write(w->stop_fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "%s: cannot wake its thread: %s\n", w->name, strerror(errno));
}

bool worker_join(struct worker *w)
{
	if (!w->running)
		return false;
	pthread_mutex_lock(&w->mu);
	while (w->state != W_IDLE)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	w->running = false;
	return true;
}

void worker_destroy(struct worker *w)
{
	if (!w->ops)
		return;
	worker_stop(w);
	worker_join(w);
	if (w->thread_made) {
		set_state(w, W_QUIT);
		pthread_join(w->thread, NULL);
		w->thread_made = false;
	}
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	w->stop_fd = -1;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->ops = NULL;
}

void worker_drain_fd(int fd)
{
	uint64_t v;

	/* Non-blocking: a spurious report finds it empty. */
	if (read(fd, &v, sizeof(v)) < 0)
		return;
}
