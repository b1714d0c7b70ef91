/* SPDX-License-Identifier: MIT */
/*
 * virtio-net on a tap. Each queue pair has one thread (virtio/worker.h)
 * and one engine queue on its tap queue; per batch it takes TX chains and
 * RX buffers off the rings, submits the writes and reads together, and
 * makes one interrupt decision per queue.
 *
 * TX: the 12-byte header is copied out of the chain and checked
 * (net_hdr_check_tx); the write gathers the copy and the rest of the chain
 * in place, so the tap never sees a header the driver could change after
 * the check. Up to a ring's worth of writes are out at once.
 *
 * RX: a few reads are out at once, each into RX buffers gathered until
 * they hold the largest frame the driver may be sent (net_rx_frame_need):
 * one chain without MRG_RXBUF, as many as it takes with it. The tap writes
 * the header and frame straight into them; the device then fixes up the
 * header (num_buffers, flags) and hands back the chains the frame used.
 * The chains a frame did not need stay with the read for its next frame.
 */
#include "virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/worker.h"
#include "vmm/stats_report.h"
#include "vmm/sandbox.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Reads out at once per pair. */
#define RX_READS 4
/* Chains, and iovecs, one read may gather; the iovecs of one chain it uses. */
#define RX_READ_BUFS 64
#define RX_READ_IOV  256
#define RX_BUF_IOV   32
/* The most buffers of a TX chain (after the header); Linux uses at most 19. */
#define TX_SLOT_IOV 64
/* Consecutive failed reads after which the pair's RX stops, with a message. */
#define RX_MAX_ERROR_RUN 64

#define EV_BATCH 64

/* What each pair's engine queue watches. */
enum {
	TAG_RX_KICK,
	TAG_TX_KICK,
	TAG_CTRL_KICK, /* pair 0 only */
	TAG_CTL,       /* the control queue changed this pair's state */
	TAG_STOP,
};

#define CONFIG_LEN sizeof(struct virtio_net_config)

/* One read out on the tap: the chains it gathered, and their iovecs in one array. */
struct rx_read {
	struct net_io io;
	bool busy;
	unsigned int nbufs;
	unsigned int niov;
	uint64_t cap;
	uint16_t head[RX_READ_BUFS];
	uint16_t buf_niov[RX_READ_BUFS];
	uint32_t buf_cap[RX_READ_BUFS];
	struct iovec iov[RX_READ_IOV];
};

/* One write out on the tap: the checked header copy and the frame in the chain's buffers. */
struct tx_slot {
	struct net_io io;
	uint16_t head;
	struct virtio_net_hdr hdr;
	struct iovec iov[1 + TX_SLOT_IOV];
};

struct virtio_net_pair {
	struct virtio_net *net;
	unsigned int index;
	struct worker worker;
	struct virtio_net_counters c; /* written by the thread only, with relaxed stores */
	int ctl_fd;		      /* written by the control queue: look at want_active */
	bool want_active;	      /* set by pair 0's thread, read with __atomic loads */

	/* The thread's own, made at seal and kept: */
	struct net_ioq ioq;
	bool engine_ready;
	const struct net_engine_ops *engine_made_with;
	int engine_kick[3]; /* the kick eventfds it watches: rx, tx, ctrl */
	bool confined;

	/* The thread's own, per session (allocated by the start): */
	struct virtq *rxq, *txq, *ctrlq;
	struct virtq_chain *chain;
	struct rx_read *reads; /* [RX_READS] */
	struct tx_slot *tx;
	uint16_t *tx_free;
	unsigned int tx_nfree, tx_nslots;
	uint32_t rx_need;
	bool mrg;
	bool active;
	bool starting; /* set by pair_start() around worker_start(): ready() sets the session up */
	bool stopping;
	bool rx_dead, tx_dead, ctrl_dead;
	bool tx_starved;
	bool tx_recheck; /* kicks left off while writes were out: look again when they are done */
	bool rx_waiting; /* out of buffers: kicks are on */
	unsigned int rx_error_run;
	unsigned int rx_pushed, tx_pushed, ctrl_pushed;
};

#define COUNT(p, field, n) __atomic_store_n(&(p)->c.field, (p)->c.field + (n), __ATOMIC_RELAXED)

static struct virtio_net *to_net(struct virtio_dev *dev)
{
	return container_of(dev, struct virtio_net, vdev);
}

static unsigned int rxq_index(unsigned int pair)
{
	return 2 * pair;
}

static unsigned int txq_index(unsigned int pair)
{
	return 2 * pair + 1;
}

static unsigned int ctrlq_index(const struct virtio_net *net)
{
	return 2 * net->nr_pairs;
}

/* ---- config space ---- */

static void net_config_read(struct virtio_dev *dev, unsigned int off, void *data, unsigned int size)
{
	const uint8_t *cfg = (const uint8_t *)&to_net(dev)->config;
	unsigned int n = 0;

	if (off < CONFIG_LEN)
		n = size < CONFIG_LEN - off ? size : (unsigned int)(CONFIG_LEN - off);
	memcpy(data, cfg + off, n);
	memset((uint8_t *)data + n, 0, size - n);
}

static void net_config_write(struct virtio_dev *dev, unsigned int off, const void *data,
			     unsigned int size)
{
	/* The MAC is writable only in legacy devices; this is a VERSION_1 device. */
	(void)dev;
	(void)off;
	(void)data;
	(void)size;
}

/* Feature sets a driver may not accept (spec 5.1.3.1): each offload needs what it builds on. */
static bool net_features_ok(struct virtio_dev *dev, uint64_t f)
{
	(void)dev;
#define NEEDS(a, b) (!(f & NET_BIT(VIRTIO_NET_F_##a)) || (f & NET_BIT(VIRTIO_NET_F_##b)))
	return NEEDS(GUEST_TSO4, GUEST_CSUM) && NEEDS(GUEST_TSO6, GUEST_CSUM) &&
	       NEEDS(GUEST_USO4, GUEST_CSUM) && NEEDS(GUEST_USO6, GUEST_CSUM) &&
	       (!(f & NET_BIT(VIRTIO_NET_F_GUEST_ECN)) ||
		(f & (NET_BIT(VIRTIO_NET_F_GUEST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6)))) &&
	       NEEDS(HOST_TSO4, CSUM) && NEEDS(HOST_TSO6, CSUM) && NEEDS(HOST_USO, CSUM) &&
	       (!(f & NET_BIT(VIRTIO_NET_F_HOST_ECN)) ||
		(f & (NET_BIT(VIRTIO_NET_F_HOST_TSO4) | NET_BIT(VIRTIO_NET_F_HOST_TSO6)))) &&
	       NEEDS(CTRL_RX, CTRL_VQ) && NEEDS(CTRL_GUEST_OFFLOADS, CTRL_VQ) && NEEDS(MQ, CTRL_VQ);
#undef NEEDS
}

/* ---- helpers over iovecs ---- */

static void iov_copy_out(const struct iovec *iov, unsigned int niov, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (unsigned int i = 0; i < niov && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(d, iov[i].iov_base, n);
		d += n;
		len -= n;
	}
}

static void iov_copy_in(const struct iovec *iov, unsigned int niov, const void *src, size_t len)
{
	const uint8_t *s = src;

	for (unsigned int i = 0; i < niov && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, s, n);
		s += n;
		len -= n;
	}
}

static void ring_broken(struct virtio_net_pair *p, bool *dead)
{
	*dead = true;
	virtio_needs_reset(&p->net->vdev);
}

/* ---- RX ---- */

/* The features RX headers must meet: the negotiated set with the offloads the control queue left on. */
static uint64_t rx_features(const struct virtio_net_pair *p)
{
	uint64_t f = p->net->vdev.driver_features & ~NET_GUEST_OFFLOADS;

	return f | __atomic_load_n(&p->net->guest_offloads, __ATOMIC_RELAXED);
}

/* Append one chain's writable buffers (at most RX_BUF_IOV of them) to @r; false if no room. */
static bool rx_add_chain(struct rx_read *r, const struct virtq_chain *c)
{
	unsigned int n = c->nr_in < RX_BUF_IOV ? c->nr_in : RX_BUF_IOV;
	uint64_t cap = 0;

	if (r->nbufs == RX_READ_BUFS || r->niov + n > RX_READ_IOV)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		r->iov[r->niov + i] = (struct iovec){c->iov[i].base, c->iov[i].len};
		cap += c->iov[i].len;
	}
	r->head[r->nbufs] = c->head;
	r->buf_niov[r->nbufs] = (uint16_t)n;
	r->buf_cap[r->nbufs] = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	r->nbufs++;
	r->niov += n;
	r->cap += r->buf_cap[r->nbufs - 1];
	return true;
}

/* Move the last chain of @from to the end of @to; false if @to has no room. */
static bool rx_move_last(struct rx_read *from, struct rx_read *to)
{
	unsigned int b = from->nbufs - 1, n = from->buf_niov[b];

	if (to->nbufs == RX_READ_BUFS || to->niov + n > RX_READ_IOV)
		return false;
	memcpy(&to->iov[to->niov], &from->iov[from->niov - n], n * sizeof(to->iov[0]));
	to->head[to->nbufs] = from->head[b];
	to->buf_niov[to->nbufs] = (uint16_t)n;
	to->buf_cap[to->nbufs] = from->buf_cap[b];
	to->nbufs++;
	to->niov += n;
	to->cap += from->buf_cap[b];
	from->nbufs--;
	from->niov -= n;
	from->cap -= from->buf_cap[b];
	return true;
}

/* The first @used chains of @r went to the driver: the rest move to the front. */
static void rx_drop_front(struct rx_read *r, unsigned int used)
{
	unsigned int niov = 0;
	uint64_t cap = 0;

	for (unsigned int i = 0; i < used; i++) {
		niov += r->buf_niov[i];
		cap += r->buf_cap[i];
	}
	r->nbufs -= used;
	memmove(r->head, r->head + used, r->nbufs * sizeof(r->head[0]));
	memmove(r->buf_niov, r->buf_niov + used, r->nbufs * sizeof(r->buf_niov[0]));
	memmove(r->buf_cap, r->buf_cap + used, r->nbufs * sizeof(r->buf_cap[0]));
	memmove(r->iov, r->iov + niov, (r->niov - niov) * sizeof(r->iov[0]));
	r->niov -= niov;
	r->cap -= cap;
}

/* Hand @r's chains back empty: together they cannot hold a frame. */
static void rx_reject_small(struct virtio_net_pair *p, struct rx_read *r)
{
	for (unsigned int i = 0; i < r->nbufs; i++) {
		virtq_push(p->rxq, r->head[i], 0);
		p->rx_pushed++;
	}
	COUNT(p, rx_small_chain, r->nbufs);
	r->nbufs = 0;
	r->niov = 0;
	r->cap = 0;
}

enum { TAKE_OK, TAKE_EMPTY, TAKE_BROKEN };

/*
 * Top @r up until it holds the largest frame: chains off the ring, or, when
 * the ring is empty, chains an idle read after it holds, so that buffers
 * gather in the first reads instead of spreading thin over all of them.
 * TAKE_EMPTY leaves what it gathered in @r for the next try.
 */
static int rx_top_up(struct virtio_net_pair *p, struct rx_read *r)
{
	struct virtq_chain *c = p->chain;

	while (r->cap < p->rx_need) {
		int st = virtq_pop(p->rxq, c);

		if (st == 0) {
			bool moved = false;

			for (unsigned int k = RX_READS - 1; !moved && &p->reads[k] > r; k--) {
				struct rx_read *f = &p->reads[k];

				if (!f->busy && f->nbufs)
					moved = rx_move_last(f, r);
			}
			if (moved)
				continue;
			/* Ask for a kick; buffers added meanwhile are seen now. */
			if (virtq_set_notify(p->rxq, true)) {
				virtq_set_notify(p->rxq, false);
				continue;
			}
			if (!p->rx_waiting)
				COUNT(p, rx_no_buffers, 1);
			p->rx_waiting = true;
			return TAKE_EMPTY;
		}
		if (p->rxq->broken) {
			ring_broken(p, &p->rx_dead);
			return TAKE_BROKEN;
		}
		/* Malformed, or not the device-writable buffers an RX chain is. */
		if (st < 0 || c->nr_out || c->nr_in == 0) {
			virtq_push(p->rxq, c->head, 0);
			p->rx_pushed++;
			COUNT(p, rx_bad_chain, 1);
			continue;
		}
		if (!p->mrg) {
			/* One chain per frame, alone in @r: it must hold the largest. */
			rx_add_chain(r, c);
			if (r->cap < p->rx_need)
				rx_reject_small(p, r);
			continue;
		}
		if (!rx_add_chain(r, c)) {
			/*
			 * Chains this small cannot make a frame within the
			 * limits: give them back empty and start over with this one.
			 */
			rx_reject_small(p, r);
			rx_add_chain(r, c);
		}
	}
	return TAKE_OK;
}

/* Put reads out on the tap, as many as are idle and find buffers. */
static void rx_fill(struct virtio_net_pair *p)
{
	if (p->rx_dead || p->stopping || !p->active || !p->rxq->enabled)
		return;
	for (unsigned int i = 0; i < RX_READS; i++) {
		struct rx_read *r = &p->reads[i];

		if (r->busy)
			continue;
		if (rx_top_up(p, r) != TAKE_OK)
			return;
		p->rx_waiting = false;
		r->io = (struct net_io){.op = NET_OP_READ, .iov = r->iov, .niov = r->niov};
		if (net_ioq_queue(&p->ioq, &r->io) < 0)
			return;
		r->busy = true;
	}
}

/* A frame (or an error) came back on @r. */
static void rx_complete(struct virtio_net_pair *p, struct rx_read *r)
{
	struct virtio_net_hdr h;
	int64_t res = r->io.res;
	uint64_t left;
	unsigned int used = 0;

	r->busy = false;
	/* Whatever went wrong, @r keeps its chains for its next read. */
	if (p->stopping || res == -ECANCELED)
		return;
	if (res < 0) {
		COUNT(p, rx_errors, 1);
		if (++p->rx_error_run == RX_MAX_ERROR_RUN) {
			fprintf(
			    stderr,
			    "%s: pair %u: %d reads from tap %s failed in a row (%s); RX stops\n",
			    p->net->vdev.name, p->index, RX_MAX_ERROR_RUN, p->net->tap->name,
			    strerror((int)-res));
			p->rx_dead = true;
		}
		return;
	}
	p->rx_error_run = 0;
	/* Shorter than a header, or cut to the buffers (the tap truncates silently). */
	if (res < NET_HDR_LEN + NET_ETH_HLEN || (uint64_t)res > r->cap) {
		COUNT(p, rx_bad_header, 1);
		return;
	}
	for (left = (uint64_t)res; left; used++)
		left -= left < r->buf_cap[used] ? left : r->buf_cap[used];
	iov_copy_out(r->iov, r->niov, &h, sizeof(h));
	if (!net_hdr_fix_rx(&h, rx_features(p), (uint16_t)used)) {
		COUNT(p, rx_bad_header, 1);
		return;
	}
	iov_copy_in(r->iov, r->niov, &h, sizeof(h));
	/* The chains of one frame go into the used ring together, in order. */
	left = (uint64_t)res;
	for (unsigned int i = 0; i < used; i++) {
		uint32_t n = left < r->buf_cap[i] ? (uint32_t)left : r->buf_cap[i];

		virtq_push(p->rxq, r->head[i], n);
		left -= n;
	}
	p->rx_pushed += used;
	COUNT(p, rx_packets, 1);
	COUNT(p, rx_bytes, (uint64_t)res - NET_HDR_LEN);
	rx_drop_front(r, used);
}

static void rx_cancel_all(struct virtio_net_pair *p)
{
	for (unsigned int i = 0; i < RX_READS; i++)
		if (p->reads[i].busy)
			net_ioq_cancel(&p->ioq, &p->reads[i].io);
}

/* ---- TX ---- */

/* Check the chain in p->chain and lay out its write; NET_TX_OK or why it is dropped. */
static enum net_tx_drop tx_prepare(struct virtio_net_pair *p, struct tx_slot *s)
{
	unsigned int niov;
	enum net_tx_drop why = net_tx_layout(p->chain, p->net->vdev.driver_features, &s->hdr,
					     s->iov, 1 + TX_SLOT_IOV, &niov);

	if (why != NET_TX_OK)
		return why;
	s->head = p->chain->head;
	s->io = (struct net_io){.op = NET_OP_WRITE, .iov = s->iov, .niov = niov};
	return NET_TX_OK;
}

static void tx_start(struct virtio_net_pair *p)
{
	struct tx_slot *s = &p->tx[p->tx_free[p->tx_nfree - 1]];
	enum net_tx_drop why = tx_prepare(p, s);

	if (why == NET_TX_OK && net_ioq_queue(&p->ioq, &s->io) == 0) {
		p->tx_nfree--;
		return;
	}
	if (why != NET_TX_OK)
		COUNT(p, tx_drop[why], 1);
	else
		COUNT(p, tx_errors, 1);
	virtq_push(p->txq, p->chain->head, 0);
	p->tx_pushed++;
}

/* The virtqueue loop of virtqueue.h, bounded by free write slots. */
static void tx_serve(struct virtio_net_pair *p)
{
	struct virtq *q = p->txq;
	int r;

	if (p->tx_dead || p->stopping || !q->enabled)
		return;
	do {
		virtq_set_notify(q, false);
		for (;;) {
			if (p->tx_nfree == 0) {
				p->tx_starved = true;
				return;
			}
			r = virtq_pop(q, p->chain);
			if (r == 0)
				break;
			if (q->broken) {
				ring_broken(p, &p->tx_dead);
				return;
			}
			if (r < 0) {
				virtq_push(q, p->chain->head, 0);
				p->tx_pushed++;
				COUNT(p, tx_malformed, 1);
				continue;
			}
			tx_start(p);
		}
		/*
		 * Writes still out: leave kicks off and look again once they
		 * complete. A driver sending a stream queues its next frame
		 * meanwhile, and that frame costs it no kick (a VM exit).
		 */
		if (p->tx_nfree != p->tx_nslots) {
			p->tx_recheck = true;
			p->tx_starved = false;
			return;
		}
	} while (virtq_set_notify(q, true));
	p->tx_starved = false;
	p->tx_recheck = false;
}

static void tx_complete(struct virtio_net_pair *p, struct tx_slot *s)
{
	p->tx_free[p->tx_nfree++] = (uint16_t)(s - p->tx);
	if (p->stopping)
		return;
	/* A frame the tap refused is dropped: the driver's next one goes on. */
	if (s->io.res < 0) {
		COUNT(p, tx_errors, 1);
	} else {
		COUNT(p, tx_packets, 1);
		COUNT(p, tx_bytes, (uint64_t)s->io.res - NET_HDR_LEN);
	}
	virtq_push(p->txq, s->head, 0);
	p->tx_pushed++;
}

/* ---- the control queue (pair 0's thread) ---- */

static void pair_signal(struct virtio_net_pair *p)
{
	uint64_t one = 1;

	if (write(p->ctl_fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "%s: pair %u: cannot signal its thread: %s\n", p->net->vdev.name,
			p->index, strerror(errno));
}

/* Steer the tap to pairs [0, n) and tell each pair that changed. */
static int set_active_pairs(struct virtio_net *net, unsigned int n)
{
	for (unsigned int i = 1; i < net->nr_pairs; i++) {
		struct virtio_net_pair *q = &net->pairs[i];
		bool want = i < n;
		int r;

		if (__atomic_load_n(&q->want_active, __ATOMIC_RELAXED) == want)
			continue;
		r = net_tap_queue(net->tap, i, want);
		if (r < 0)
			return r;
		__atomic_store_n(&q->want_active, want, __ATOMIC_RELAXED);
		pair_signal(q);
	}
	__atomic_store_n(&net->active_pairs, n, __ATOMIC_RELAXED);
	return 0;
}

static int set_offloads(struct virtio_net *net, uint64_t guest)
{
	int r = net_tap_offload(net->tap, net_tun_offloads(guest));

	if (r == 0)
		__atomic_store_n(&net->guest_offloads, guest, __ATOMIC_RELAXED);
	return r;
}

static uint8_t ctrl_apply(struct virtio_net *net, const struct net_ctrl_cmd *cmd)
{
	switch (cmd->action) {
	case NET_CTRL_PROMISC:
		/* Recorded: a tap's traffic is already its guest's, there is nothing to filter. */
		__atomic_store_n(&net->promisc, (uint8_t)cmd->arg, __ATOMIC_RELAXED);
		return VIRTIO_NET_OK;
	case NET_CTRL_ALLMULTI:
		__atomic_store_n(&net->allmulti, (uint8_t)cmd->arg, __ATOMIC_RELAXED);
		return VIRTIO_NET_OK;
	case NET_CTRL_MAC_TABLE:
		__atomic_store_n(&net->mac_uni, (uint32_t)cmd->arg, __ATOMIC_RELAXED);
		__atomic_store_n(&net->mac_multi, (uint32_t)cmd->arg2, __ATOMIC_RELAXED);
		return VIRTIO_NET_OK;
	case NET_CTRL_VQ_PAIRS:
		return set_active_pairs(net, (unsigned int)cmd->arg) == 0 ? VIRTIO_NET_OK
									  : VIRTIO_NET_ERR;
	case NET_CTRL_OFFLOADS:
		return set_offloads(net, cmd->arg) == 0 ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	case NET_CTRL_REJECT:
		break;
	}
	return VIRTIO_NET_ERR;
}

static void ctrl_one(struct virtio_net_pair *p)
{
	struct virtio_net *net = p->net;
	uint8_t buf[NET_CTRL_MAX], *ack_at;
	struct net_ctrl_cmd cmd = {.action = NET_CTRL_REJECT};
	size_t len;
	uint8_t ack;
	int r = net_ctrl_take(p->chain, buf, sizeof(buf), &len, &ack_at);

	if (!ack_at) {
		/* Nowhere to answer. */
		virtq_push(p->ctrlq, p->chain->head, 0);
		p->ctrl_pushed++;
		COUNT(p, ctrl_err, 1);
		return;
	}
	if (r == 0)
		cmd = net_ctrl_decode(buf, len, net->vdev.driver_features, net->nr_pairs);
	ack = ctrl_apply(net, &cmd);
	if (ack == VIRTIO_NET_OK)
		COUNT(p, ctrl_ok, 1);
	else
		COUNT(p, ctrl_err, 1);
	*ack_at = ack;
	virtq_push(p->ctrlq, p->chain->head, 1);
	p->ctrl_pushed++;
}

static void ctrl_serve(struct virtio_net_pair *p)
{
	struct virtq *q = p->ctrlq;
	int r;

	if (!q || p->ctrl_dead || p->stopping || !q->enabled)
		return;
	do {
		virtq_set_notify(q, false);
		while ((r = virtq_pop(q, p->chain)) != 0) {
			if (q->broken) {
				ring_broken(p, &p->ctrl_dead);
				return;
			}
			if (r < 0) {
				virtq_push(q, p->chain->head, 0);
				p->ctrl_pushed++;
				COUNT(p, ctrl_err, 1);
				continue;
			}
			ctrl_one(p);
		}
	} while (virtq_set_notify(q, true));
}

/* ---- the pair's session ---- */

static void notify_one(struct virtio_net_pair *p, struct virtq *q, unsigned int *pushed,
		       unsigned int index)
{
	if (!*pushed)
		return;
	*pushed = 0;
	if (virtq_should_notify(q)) {
		virtio_notify_queue(&p->net->vdev, index);
		COUNT(p, interrupts, 1);
	}
}

/* One interrupt decision per queue for everything pushed in the batch. */
static void notify(struct virtio_net_pair *p)
{
	notify_one(p, p->rxq, &p->rx_pushed, rxq_index(p->index));
	notify_one(p, p->txq, &p->tx_pushed, txq_index(p->index));
	if (p->ctrlq)
		notify_one(p, p->ctrlq, &p->ctrl_pushed, ctrlq_index(p->net));
}

/* The control queue switched this pair on or off. */
static void apply_active(struct virtio_net_pair *p)
{
	bool want = __atomic_load_n(&p->want_active, __ATOMIC_RELAXED);

	if (want == p->active)
		return;
	p->active = want;
	if (!want)
		rx_cancel_all(p); /* the frames they catch meanwhile still go to the driver */
}

/* The engine failed to wait: nothing more can complete. Park until stopped. */
static void engine_failed(struct virtio_net_pair *p)
{
	struct pollfd pfd = {.fd = p->worker.stop_fd, .events = POLLIN};

	fprintf(stderr, "%s: pair %u: engine %s failed; device needs reset\n", p->net->vdev.name,
		p->index, p->ioq.ops->name);
	p->rx_dead = p->tx_dead = p->ctrl_dead = true;
	virtio_needs_reset(&p->net->vdev);
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	worker_drain_fd(p->worker.stop_fd);
	net_ioq_fini(&p->ioq);
	p->engine_ready = false;
}

static void handle_events(struct virtio_net_pair *p, const struct net_event *ev, int n)
{
	struct {
		bool rx, tx, ctrl, ctl;
	} k = {0};
	struct virtio_dev *dev = &p->net->vdev;

	for (int i = 0; i < n; i++) {
		if (ev[i].kind == NET_EV_IO) {
			if (ev[i].io->op == NET_OP_READ)
				rx_complete(p, container_of(ev[i].io, struct rx_read, io));
			else
				tx_complete(p, container_of(ev[i].io, struct tx_slot, io));
			continue;
		}
		switch (ev[i].tag) {
		case TAG_RX_KICK:
			worker_drain_fd(dev->kick_fd[rxq_index(p->index)]);
			k.rx = true;
			break;
		case TAG_TX_KICK:
			worker_drain_fd(dev->kick_fd[txq_index(p->index)]);
			k.tx = true;
			break;
		case TAG_CTRL_KICK:
			worker_drain_fd(dev->kick_fd[ctrlq_index(p->net)]);
			k.ctrl = true;
			break;
		case TAG_CTL:
			worker_drain_fd(p->ctl_fd);
			k.ctl = true;
			break;
		case TAG_STOP:
			worker_drain_fd(p->worker.stop_fd);
			if (!p->stopping)
				rx_cancel_all(p);
			p->stopping = true;
			break;
		}
	}
	if (p->stopping)
		return;
	COUNT(p, kicks, (uint64_t)k.rx + k.tx);
	if (k.ctl)
		apply_active(p);
	if (k.ctrl)
		ctrl_serve(p);
	if (k.tx || (p->tx_starved && p->tx_nfree) ||
	    (p->tx_recheck && p->tx_nfree == p->tx_nslots))
		tx_serve(p);
	if (k.rx)
		virtq_set_notify(p->rxq, false);
	/* After a kick, a completion or a change: idle reads look for buffers again. */
	rx_fill(p);
}

static void pair_serve_session(void *arg)
{
	struct virtio_net_pair *p = arg;
	struct net_event ev[EV_BATCH];

	/* Buffers and frames the driver made available before the watches were armed. */
	ctrl_serve(p);
	tx_serve(p);
	rx_fill(p);
	for (;;) {
		int n;

		if (!p->stopping)
			notify(p);
		if (p->stopping && p->ioq.inflight == 0)
			break;
		/* Submits what the batch queued and sleeps, in one call. */
		n = net_ioq_wait(&p->ioq, ev, EV_BATCH, -1);
		if (n < 0) {
			engine_failed(p);
			break;
		}
		handle_events(p, ev, n);
	}
}

/*
 * The engine queue, with room for a ring of writes and the reads, watching
 * the kicks, the control fd and the stop fd; then the sandbox. Made once;
 * made again only outside the sandbox, when the engine or a kick eventfd
 * changed (the tests) or the engine failed.
 */
static int pair_engine_ready(struct virtio_net_pair *p)
{
	struct virtio_net *net = p->net;
	struct virtio_dev *dev = &net->vdev;
	int kick[3] = {dev->kick_fd[rxq_index(p->index)], dev->kick_fd[txq_index(p->index)],
		       p->index == 0 ? dev->kick_fd[ctrlq_index(net)] : -1};
	int r;

	if (p->engine_ready && p->engine_made_with == net->engine_ops &&
	    memcmp(p->engine_kick, kick, sizeof(kick)) == 0)
		return 0;
	if (p->confined)
		return -EIO; /* remaking it needs calls the sandbox forbids */
	if (p->engine_ready)
		net_ioq_fini(&p->ioq);
	p->engine_ready = false;
	if (kick[0] < 0 || kick[1] < 0 || (p->index == 0 && kick[2] < 0))
		return -EINVAL;
	r = net_ioq_init(&p->ioq, net->engine_ops, net->tap->fd[p->index],
			 dev->queue_max_size + RX_READS);
	if (r < 0)
		return r;
	r = net_ioq_watch(&p->ioq, kick[0], TAG_RX_KICK);
	if (r == 0)
		r = net_ioq_watch(&p->ioq, kick[1], TAG_TX_KICK);
	if (r == 0 && p->index == 0)
		r = net_ioq_watch(&p->ioq, kick[2], TAG_CTRL_KICK);
	if (r == 0)
		r = net_ioq_watch(&p->ioq, p->ctl_fd, TAG_CTL);
	if (r == 0)
		r = net_ioq_watch(&p->ioq, p->worker.stop_fd, TAG_STOP);
	if (r < 0) {
		net_ioq_fini(&p->ioq);
		return r;
	}
	p->engine_ready = true;
	p->engine_made_with = net->engine_ops;
	memcpy(p->engine_kick, kick, sizeof(kick));
	/* Everything this thread will ever touch is made: confine it now. */
	r = sandbox_enter(SANDBOX_NET);
	if (r < 0)
		return r;
	p->confined = sandbox_enabled();
	return 0;
}

/*
 * Pair 0 sets the tap up for the session: the offloads the driver accepted,
 * and only queue 0 steered to until the driver asks for more pairs. Done in
 * the thread, which may (the vCPU that started the device may not).
 */
static int session_setup_tap(struct virtio_net *net)
{
	int r = set_offloads(net, net->vdev.driver_features & NET_GUEST_OFFLOADS);

	if (r == 0)
		r = set_active_pairs(net, 1);
	return r;
}

static int pair_ready(void *arg)
{
	struct virtio_net_pair *p = arg;
	int r = pair_engine_ready(p);

	/* A seal readies the thread only; a start also sets the tap up for its session. */
	if (r == 0 && p->index == 0 && p->starting)
		r = session_setup_tap(p->net);
	if (r == 0)
		p->active = __atomic_load_n(&p->want_active, __ATOMIC_RELAXED);
	return r;
}

static void pair_fini(void *arg)
{
	struct virtio_net_pair *p = arg;

	if (p->engine_ready)
		net_ioq_fini(&p->ioq);
	p->engine_ready = false;
}

static const struct worker_ops pair_worker_ops = {
    .ready = pair_ready,
    .serve = pair_serve_session,
    .fini = pair_fini,
};

/* ---- start / reset ---- */

static void pair_free(struct virtio_net_pair *p)
{
	free(p->chain);
	free(p->reads);
	free(p->tx);
	free(p->tx_free);
	p->chain = NULL;
	p->reads = NULL;
	p->tx = NULL;
	p->tx_free = NULL;
}

static int pair_start(struct virtio_net *net, unsigned int i)
{
	struct virtio_net_pair *p = &net->pairs[i];
	struct virtio_dev *dev = &net->vdev;
	unsigned int nslots;
	uint16_t mtu = virtio_has_feature(dev, VIRTIO_NET_F_MTU) ? le16toh(net->config.mtu) : 1500;
	int r;

	p->rxq = &dev->vqs[rxq_index(i)];
	p->txq = &dev->vqs[txq_index(i)];
	p->ctrlq = i == 0 && virtio_has_feature(dev, VIRTIO_NET_F_CTRL_VQ)
		       ? &dev->vqs[ctrlq_index(net)]
		       : NULL;
	nslots = p->txq->enabled ? p->txq->size : 1;
	p->mrg = virtio_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);
	p->rx_need = net_rx_frame_need(dev->driver_features, mtu);
	p->tx_nfree = p->tx_nslots = nslots;
	p->stopping = p->rx_dead = p->tx_dead = p->ctrl_dead = false;
	p->tx_starved = p->tx_recheck = p->rx_waiting = false;
	p->rx_error_run = 0;
	p->rx_pushed = p->tx_pushed = p->ctrl_pushed = 0;
	p->chain = malloc(sizeof(*p->chain));
	p->reads = calloc(RX_READS, sizeof(*p->reads));
	p->tx = calloc(nslots, sizeof(*p->tx));
	p->tx_free = calloc(nslots, sizeof(*p->tx_free));
	if (!p->chain || !p->reads || !p->tx || !p->tx_free) {
		pair_free(p);
		return -ENOMEM;
	}
	for (unsigned int s = 0; s < nslots; s++)
		p->tx_free[s] = (uint16_t)(nslots - 1 - s);
	p->starting = true;
	r = worker_start(&p->worker);
	p->starting = false;
	if (r < 0)
		pair_free(p);
	return r;
}

static void net_reset(struct virtio_dev *dev)
{
	struct virtio_net *net = to_net(dev);

	/* Wake them all first so that their reads are cancelled in parallel. */
	for (unsigned int i = 0; i < net->nr_pairs; i++)
		worker_stop(&net->pairs[i].worker);
	for (unsigned int i = 0; i < net->nr_pairs; i++)
		if (worker_join(&net->pairs[i].worker))
			pair_free(&net->pairs[i]);
}

static int net_start(struct virtio_dev *dev)
{
	struct virtio_net *net = to_net(dev);
	int r;

	net_reset(dev);
	for (unsigned int i = 0; i < net->nr_pairs; i++) {
		/* Pair 0 always: its thread sets the tap up and serves the control queue. */
		if (i > 0 && !dev->vqs[rxq_index(i)].enabled && !dev->vqs[txq_index(i)].enabled)
			continue;
		r = pair_start(net, i);
		if (r < 0) {
			fprintf(stderr, "%s: pair %u cannot start: %s\n", dev->name, i,
				strerror(-r));
			net_reset(dev);
			return r;
		}
	}
	return 0;
}

static const struct virtio_dev_ops net_ops = {
    .config_read = net_config_read,
    .config_write = net_config_write,
    .features_ok = net_features_ok,
    .start = net_start,
    .reset = net_reset,
};

/* ---- setup ---- */

int virtio_net_seal(struct virtio_net *net, char *why, size_t why_len)
{
	for (unsigned int i = 0; i < net->nr_pairs; i++) {
		int r = worker_seal(&net->pairs[i].worker);

		if (r < 0) {
			snprintf(why, why_len, "virtio-net %s: pair %u: %s", net->tap->name, i,
				 r == -EPERM ? "cannot enter its sandbox" : strerror(-r));
			return r;
		}
	}
	return 0;
}

static uint64_t offer(const struct net_tap *tap, unsigned int nr_pairs)
{
	uint64_t f = NET_BIT(VIRTIO_F_VERSION_1) | NET_BIT(VIRTIO_F_EVENT_IDX) |
		     NET_BIT(VIRTIO_F_INDIRECT_DESC) | NET_BIT(VIRTIO_NET_F_MAC) |
		     NET_BIT(VIRTIO_NET_F_STATUS) | NET_BIT(VIRTIO_NET_F_MTU) |
		     NET_BIT(VIRTIO_NET_F_MRG_RXBUF) | NET_BIT(VIRTIO_NET_F_CTRL_VQ) |
		     NET_BIT(VIRTIO_NET_F_CTRL_RX) | NET_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	unsigned int t = tap->offloads;

	/* TX offloads: the tap takes partial checksums and GSO frames from any kernel here. */
	if (t & TUN_F_CSUM)
		f |= NET_BIT(VIRTIO_NET_F_CSUM) | NET_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (t & TUN_F_TSO4)
		f |= NET_BIT(VIRTIO_NET_F_HOST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (t & TUN_F_TSO6)
		f |= NET_BIT(VIRTIO_NET_F_HOST_TSO6) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6);
	if (t & TUN_F_TSO_ECN)
		f |= NET_BIT(VIRTIO_NET_F_HOST_ECN) | NET_BIT(VIRTIO_NET_F_GUEST_ECN);
	/* USO both ways only where the tap can be told to hand USO frames to the guest (6.2+). */
	if ((t & TUN_F_USO4) && (t & TUN_F_USO6))
		f |= NET_BIT(VIRTIO_NET_F_HOST_USO) | NET_BIT(VIRTIO_NET_F_GUEST_USO4) |
		     NET_BIT(VIRTIO_NET_F_GUEST_USO6);
	if (nr_pairs > 1)
		f |= NET_BIT(VIRTIO_NET_F_MQ);
	return f;
}

int virtio_net_init(struct virtio_net *net, struct net_tap *tap, const uint8_t mac[6],
		    unsigned int nr_pairs, uint16_t queue_size, const struct net_engine_ops *engine,
		    char *why, size_t why_len)
{
	struct virtio_dev *dev = &net->vdev;

	memset(net, 0, sizeof(*net));
	if (!tap || !engine) {
		snprintf(why, why_len, "virtio-net: no tap or no engine");
		return -EINVAL;
	}
	if (nr_pairs == 0 || nr_pairs > VIRTIO_NET_MAX_PAIRS || nr_pairs > tap->nr_queues) {
		snprintf(why, why_len,
			 "virtio-net %s: %u queue pairs (1..%u, the tap has %u queues)", tap->name,
			 nr_pairs, VIRTIO_NET_MAX_PAIRS, tap->nr_queues);
		return -EINVAL;
	}
	if (queue_size < 16 || queue_size > 1024 || (queue_size & (queue_size - 1))) {
		snprintf(why, why_len,
			 "virtio-net %s: queue size %u is not a power of two in 16..1024",
			 tap->name, queue_size);
		return -EINVAL;
	}
	net->pairs = calloc(nr_pairs, sizeof(*net->pairs));
	if (!net->pairs) {
		snprintf(why, why_len, "virtio-net %s: out of memory", tap->name);
		return -ENOMEM;
	}
	net->tap = tap;
	net->engine_ops = engine;
	net->nr_pairs = nr_pairs;
	for (unsigned int i = 0; i < nr_pairs; i++) {
		struct virtio_net_pair *p = &net->pairs[i];

		p->net = net;
		p->index = i;
		p->want_active = i == 0;
		p->engine_kick[0] = p->engine_kick[1] = p->engine_kick[2] = -1;
		p->ctl_fd = -1;
	}
	for (unsigned int i = 0; i < nr_pairs; i++) {
		struct virtio_net_pair *p = &net->pairs[i];
		char name[16];
		int r = 0;

		p->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		snprintf(name, sizeof(name), "net-q%u", i);
		if (p->ctl_fd < 0)
			r = -errno;
		else
			r = worker_init(&p->worker, name, &pair_worker_ops, p);
		/* Until the driver asks for them, the tap steers nothing to the other pairs. */
		if (r == 0 && i > 0)
			r = net_tap_queue(tap, i, false);
		if (r < 0) {
			snprintf(why, why_len, "virtio-net %s: pair %u: %s", tap->name, i,
				 strerror(-r));
			virtio_net_destroy(net);
			return r;
		}
	}
	net->active_pairs = 1;

	memcpy(net->config.mac, mac, 6);
	net->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	net->config.max_virtqueue_pairs = htole16((uint16_t)nr_pairs);
	net->config.mtu = htole16((uint16_t)tap->mtu);

	dev->ops = &net_ops;
	dev->name = "virtio-net";
	dev->device_id = VIRTIO_ID_NET;
	dev->device_features = offer(tap, nr_pairs);
	dev->config_len = CONFIG_LEN;
	dev->nr_queues = 2 * nr_pairs + 1;
	dev->queue_max_size = queue_size;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		dev->kick_fd[i] = -1;
	return 0;
}

void virtio_net_destroy(struct virtio_net *net)
{
	if (!net->pairs)
		return;
	net_reset(&net->vdev);
	for (unsigned int i = 0; i < net->nr_pairs; i++) {
		struct virtio_net_pair *p = &net->pairs[i];

		worker_destroy(&p->worker);
		pair_free(p);
		if (p->ctl_fd >= 0)
			close(p->ctl_fd);
	}
	free(net->pairs);
	net->pairs = NULL;
}

void virtio_net_counters(const struct virtio_net *net, struct virtio_net_counters *out)
{
	const unsigned int n = sizeof(*out) / sizeof(uint64_t);
	uint64_t *o = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < net->nr_pairs; i++) {
		const uint64_t *c = (const uint64_t *)&net->pairs[i].c;

		for (unsigned int k = 0; k < n; k++)
			o[k] += __atomic_load_n(&c[k], __ATOMIC_RELAXED);
	}
}

void virtio_net_stats_device(const struct virtio_net *net, struct stats_device *out)
{
	static const char *const drop_names[NET_TX_NR] = {
	    [NET_TX_SHORT] = "tx_drop_short",	    [NET_TX_LONG] = "tx_drop_long",
	    [NET_TX_FLAGS] = "tx_drop_flags",	    [NET_TX_CSUM] = "tx_drop_csum",
	    [NET_TX_GSO] = "tx_drop_gso",	    [NET_TX_WRITABLE] = "tx_drop_writable",
	    [NET_TX_SEGMENTS] = "tx_drop_segments",
	};
	struct virtio_net_counters c;
	unsigned int n = 0;

#define PUT(label, v) (out->c[n++] = (struct stats_counter){label, v})
	virtio_net_counters(net, &c);
	snprintf(out->name, sizeof(out->name), "virtio-net %s", net->tap->name);
	PUT("rx_packets", c.rx_packets);
	PUT("rx_bytes", c.rx_bytes);
	PUT("tx_packets", c.tx_packets);
	PUT("tx_bytes", c.tx_bytes);
	for (unsigned int i = NET_TX_OK + 1; i < NET_TX_NR; i++)
		PUT(drop_names[i], c.tx_drop[i]);
	PUT("tx_malformed", c.tx_malformed);
	PUT("tx_errors", c.tx_errors);
	PUT("rx_errors", c.rx_errors);
	PUT("rx_bad_header", c.rx_bad_header);
	PUT("rx_bad_chain", c.rx_bad_chain);
	PUT("rx_small_chain", c.rx_small_chain);
	PUT("rx_no_buffers", c.rx_no_buffers);
	PUT("ctrl_ok", c.ctrl_ok);
	PUT("ctrl_err", c.ctrl_err);
	PUT("kicks", c.kicks);
	PUT("interrupts", c.interrupts);
#undef PUT
	out->nr = n;
}

void virtio_net_default_mac(const char *seed, unsigned int index, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (const char *s = seed; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	h = (h ^ index) * 0x100000001b3ull;
	/* 0x02: locally administered, unicast; then "NV" and three bytes of the hash. */
	mac[0] = 0x02;
	mac[1] = 'N';
	mac[2] = 'V';
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
