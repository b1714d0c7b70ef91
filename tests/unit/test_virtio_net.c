/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device model end to end without KVM or a real tap: a
 * driver written here lays out rings and buffers in guest RAM (virtq_driver.h)
 * and kicks; each "tap queue" is one end of a SOCK_SEQPACKET socketpair
 * (frame boundaries kept, as a tap keeps them) whose other end is the
 * test's host side; the tap's switches are recorded by fake ops. The pair
 * threads run for real, on both engines, and on an engine that fails the
 * next I/O on demand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/net.h"
#include "vmm/stats_report.h"
#include "virtq_driver.h"

#define RAM_SIZE    (16u << 20)
#define QSIZE	    64
#define MAX_PAIRS   2
#define RING_GPA(q) (0x10000ull + 0x10000ull * (q))
#define BUF_GPA	    0x200000ull /* buffers from here up, handed out in order */

#define F(b) NET_BIT(VIRTIO_NET_F_##b)

static const uint8_t test_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

/* ---- the fake tap's switches ---- */

struct fake_tap {
	struct net_tap tap;
	int host[NET_TAP_MAX_QUEUES]; /* the test's ends of the socketpairs */
	unsigned int offload_calls;
	unsigned int last_offload;
	int offload_err;
	bool attached[NET_TAP_MAX_QUEUES];
	unsigned int queue_calls;
};

static int fake_set_offload(struct net_tap *tap, unsigned int flags)
{
	struct fake_tap *ft = (struct fake_tap *)tap;

	__atomic_fetch_add(&ft->offload_calls, 1, __ATOMIC_RELAXED);
	if (ft->offload_err)
		return ft->offload_err;
	__atomic_store_n(&ft->last_offload, flags, __ATOMIC_RELAXED);
	return 0;
}

static int fake_set_queue(struct net_tap *tap, unsigned int q, bool attach)
{
	struct fake_tap *ft = (struct fake_tap *)tap;

	__atomic_fetch_add(&ft->queue_calls, 1, __ATOMIC_RELAXED);
	/* As TUNSETQUEUE: attaching an attached queue, or detaching a detached one, fails. */
	if (q >= tap->nr_queues || ft->attached[q] == attach)
		return -EINVAL;
	ft->attached[q] = attach;
	return 0;
}

static const struct net_tap_ops fake_tap_ops = {
    .set_offload = fake_set_offload,
    .set_queue = fake_set_queue,
};

/* ---- an engine that fails the next I/O on demand (over the sync engine) ---- */

static struct {
	int fail_write; /* the next write does not happen and completes with this -errno */
	int fail_read;	/* the next frame read is lost: its read completes with this -errno */
	struct net_io *failed[8];
	unsigned int nfailed;
	/* hold: writes wait in held[] until fe_release() (the pair thread's only) */
	bool hold;
	atomic_bool release;
	struct net_io *held[8];
	unsigned int nheld;
	int wake_fd; /* wakes the pair thread for fe_release(), watched with a tag it ignores */
	int fd;
} fe;

#define FE_TAG_WAKE 99

static int fe_init(struct net_ioq *q)
{
	int r = net_engine_sync.init(q);

	fe.fd = q->fd;
	if (r == 0 && fe.wake_fd > 0)
		r = net_engine_sync.watch(q, fe.wake_fd, FE_TAG_WAKE);
	return r;
}

/* Let the held writes go: they are carried out and complete at the thread's next wait. */
static void fe_release(void)
{
	uint64_t one = 1;

	atomic_store(&fe.release, true);
	assert_int_equal(write(fe.wake_fd, &one, sizeof(one)), sizeof(one));
}

static void fe_fini(struct net_ioq *q)
{
	net_engine_sync.fini(q);
}

static int fe_watch(struct net_ioq *q, int fd, uint64_t tag)
{
	return net_engine_sync.watch(q, fd, tag);
}

static int fe_queue(struct net_ioq *q, struct net_io *io)
{
	int err = __atomic_exchange_n(&fe.fail_write, 0, __ATOMIC_ACQ_REL);

	if (io->op == NET_OP_WRITE && err) {
		io->res = err;
		fe.failed[fe.nfailed++] = io;
		return 0;
	}
	if (io->op == NET_OP_WRITE && fe.hold) {
		fe.held[fe.nheld++] = io;
		return 0;
	}
	if (err)
		__atomic_store_n(&fe.fail_write, err, __ATOMIC_RELEASE);
	return net_engine_sync.queue(q, io);
}

static int fe_cancel(struct net_ioq *q, struct net_io *io)
{
	return net_engine_sync.cancel(q, io);
}

static int fe_wait(struct net_ioq *q, struct net_event *ev, unsigned int max, int timeout_ms)
{
	unsigned int n = 0;
	int r;

	if (atomic_exchange(&fe.release, false)) {
		uint64_t v;

		if (read(fe.wake_fd, &v, sizeof(v)) < 0)
			return -errno;
		for (unsigned int i = 0; i < fe.nheld; i++) {
			ssize_t w = writev(fe.fd, fe.held[i]->iov, (int)fe.held[i]->niov);

			fe.held[i]->res = w < 0 ? -errno : w;
			fe.failed[fe.nfailed++] = fe.held[i];
		}
		fe.nheld = 0;
		fe.hold = false;
	}
	while (fe.nfailed && n < max)
		ev[n++] = (struct net_event){.kind = NET_EV_IO, .io = fe.failed[--fe.nfailed]};
	r = net_engine_sync.wait(q, ev + n, max - n, n ? 0 : timeout_ms);
	if (r < 0)
		return r;
	for (int i = 0; i < r; i++) {
		struct net_event *e = &ev[n + i];

		if (e->kind == NET_EV_IO && e->io->op == NET_OP_READ && e->io->res > 0) {
			int err = __atomic_exchange_n(&fe.fail_read, 0, __ATOMIC_ACQ_REL);

			if (err)
				e->io->res = err;
		}
	}
	return (int)n + r;
}

static const struct net_engine_ops fault_engine = {
    .name = "fault",
    .init = fe_init,
    .fini = fe_fini,
    .watch = fe_watch,
    .queue = fe_queue,
    .cancel = fe_cancel,
    .wait = fe_wait,
};

/* ---- the fixture ---- */

struct fx {
	struct guest_mem mem;
	struct fake_tap ft;
	struct virtio_net net;
	struct vdrv_transport tr;
	struct vdrv_q q[2 * MAX_PAIRS + 1];
	unsigned int nr_pairs;
	uint64_t next_buf;
};

static const struct net_engine_ops *engines[] = {&net_engine_sync, &net_engine_uring,
						 &fault_engine};

static void fx_setup(struct fx *f, unsigned int nr_pairs, const struct net_engine_ops *engine)
{
	char why[160];

	memset(f, 0, sizeof(*f));
	if (fe.wake_fd > 0)
		close(fe.wake_fd);
	memset(&fe, 0, sizeof(fe));
	fe.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fe.wake_fd > 0);
	assert_int_equal(guest_mem_init(&f->mem, RAM_SIZE), 0);
	f->ft.tap.ops = &fake_tap_ops;
	f->ft.tap.nr_queues = nr_pairs;
	f->ft.tap.mtu = 1500;
	f->ft.tap.offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	strcpy(f->ft.tap.name, "fake0");
	for (unsigned int i = 0; i < NET_TAP_MAX_QUEUES; i++)
		f->ft.tap.fd[i] = -1;
	for (unsigned int i = 0; i < nr_pairs; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		f->ft.tap.fd[i] = sv[0];
		f->ft.host[i] = sv[1];
		f->ft.attached[i] = true; /* opening a tap queue attaches it */
	}
	f->nr_pairs = nr_pairs;
	f->next_buf = BUF_GPA;
	assert_int_equal(virtio_net_init(&f->net, &f->ft.tap, test_mac, nr_pairs, QSIZE, engine,
					 why, sizeof(why)),
			 0);
}

/* What the transport does at FEATURES_OK and DRIVER_OK; returns what start() returned. */
static int fx_start_features(struct fx *f, uint64_t features)
{
	struct virtio_dev *dev = &f->net.vdev;

	dev->transport_ops = &vdrv_transport_ops;
	dev->transport = &f->tr;
	assert_int_equal(features & ~dev->device_features, 0);
	assert_true(dev->ops->features_ok(dev, features));
	dev->driver_features = features;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		if (dev->kick_fd[q] < 0)
			dev->kick_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(dev->kick_fd[q] >= 0);
		vdrv_init(&f->q[q], &f->mem, RING_GPA(q), QSIZE);
		assert_int_equal(vdrv_enable(&f->q[q], &dev->vqs[q], &f->mem,
					     features & NET_BIT(VIRTIO_F_EVENT_IDX)),
				 0);
	}
	return dev->ops->start(dev);
}

/* The features Linux takes from this device, less the ones a test names. */
static uint64_t linux_features(const struct fx *f, uint64_t without)
{
	return f->net.vdev.device_features & ~without;
}

static void fx_start(struct fx *f, uint64_t features)
{
	assert_int_equal(fx_start_features(f, features), 0);
}

static void fx_fini(struct fx *f)
{
	struct virtio_dev *dev = &f->net.vdev;

	virtio_net_destroy(&f->net);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (dev->kick_fd[q] >= 0)
			close(dev->kick_fd[q]);
	for (unsigned int i = 0; i < f->nr_pairs; i++) {
		close(f->ft.tap.fd[i]);
		close(f->ft.host[i]);
	}
	guest_mem_destroy(&f->mem);
}

static uint64_t alloc_buf(struct fx *f, uint32_t len)
{
	uint64_t gpa = f->next_buf;

	f->next_buf += (len + 63) & ~63u;
	assert_true(f->next_buf < RAM_SIZE);
	return gpa;
}

static uint8_t *hva(struct fx *f, uint64_t gpa)
{
	return vdrv_hva(&f->mem, gpa);
}

static void kick(struct fx *f, unsigned int q)
{
	vdrv_kick(f->net.vdev.kick_fd[q]);
}

/* One RX chain of one writable buffer of @len bytes; returns its guest address. */
static uint64_t post_rx(struct fx *f, unsigned int pair, uint32_t len, uint16_t *head)
{
	struct vdrv_q *d = &f->q[2 * pair];
	uint64_t gpa = alloc_buf(f, len);
	uint16_t h = vdrv_desc(d, gpa, len, VIRTQ_DESC_F_WRITE);

	memset(hva(f, gpa), 0xee, len);
	vdrv_publish(d, h);
	if (head)
		*head = h;
	return gpa;
}

/* Send one frame on pair @pair's TX queue: header and frame in one buffer (or split after @split bytes). */
static void send_tx(struct fx *f, unsigned int pair, const struct virtio_net_hdr *h,
		    const void *frame, uint32_t len, uint32_t split)
{
	struct vdrv_q *d = &f->q[2 * pair + 1];
	uint32_t total = NET_HDR_LEN + len;
	uint64_t gpa = alloc_buf(f, total);
	uint16_t head;

	memcpy(hva(f, gpa), h, NET_HDR_LEN);
	memcpy(hva(f, gpa) + NET_HDR_LEN, frame, len);
	if (split && split < total) {
		head = vdrv_desc(d, gpa, split, VIRTQ_DESC_F_NEXT);
		vdrv_desc(d, gpa + split, total - split, 0);
	} else {
		head = vdrv_desc(d, gpa, total, 0);
	}
	vdrv_publish(d, head);
	kick(f, 2 * pair + 1);
}

/* A frame the host side got, within 5 s; returns its length (header included). */
static ssize_t host_recv(struct fx *f, unsigned int pair, void *buf, size_t len)
{
	struct pollfd pfd = {.fd = f->ft.host[pair], .events = POLLIN};

	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	return recv(f->ft.host[pair], buf, len, 0);
}

static bool host_quiet(struct fx *f, unsigned int pair)
{
	struct pollfd pfd = {.fd = f->ft.host[pair], .events = POLLIN};

	return poll(&pfd, 1, 50) == 0;
}

static void host_send(struct fx *f, unsigned int pair, const struct virtio_net_hdr *h,
		      const void *frame, uint32_t len)
{
	uint8_t buf[NET_HDR_LEN + 70000];

	memcpy(buf, h, NET_HDR_LEN);
	memcpy(buf + NET_HDR_LEN, frame, len);
	assert_int_equal(send(f->ft.host[pair], buf, NET_HDR_LEN + len, 0), NET_HDR_LEN + len);
}

static void fill_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

static struct virtio_net_counters counters(struct fx *f)
{
	struct virtio_net_counters c;

	virtio_net_counters(&f->net, &c);
	return c;
}

/* Send a control command (class, command, data); returns the ack the device wrote. */
static uint8_t ctrl(struct fx *f, const void *cmd, uint32_t len)
{
	unsigned int cq = 2 * f->nr_pairs;
	struct vdrv_q *d = &f->q[cq];
	uint64_t gpa = alloc_buf(f, len + 1);
	uint16_t head;

	memcpy(hva(f, gpa), cmd, len);
	hva(f, gpa)[len] = 0xee;
	head = vdrv_desc(d, gpa, len, VIRTQ_DESC_F_NEXT);
	vdrv_desc(d, gpa + len, 1, VIRTQ_DESC_F_WRITE);
	vdrv_publish(d, head);
	kick(f, cq);
	assert_true(vdrv_wait_used(d, d->avail_idx));
	assert_int_equal(vdrv_used_elem(d, (uint16_t)(d->avail_idx - 1)).len, 1);
	return hva(f, gpa)[len];
}

/* ---- config and features ---- */

static uint64_t cfg(struct fx *f, unsigned int off, unsigned int size)
{
	uint8_t buf[8] = {0};
	uint64_t v = 0;

	f->net.vdev.ops->config_read(&f->net.vdev, off, buf, size);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

static void test_config_and_offer(void **state)
{
	struct fx f;
	uint64_t dev_f;

	(void)state;
	fx_setup(&f, 2, &net_engine_sync);
	dev_f = f.net.vdev.device_features;
	assert_int_equal(f.net.vdev.device_id, VIRTIO_ID_NET);
	assert_int_equal(f.net.vdev.nr_queues, 5);
	assert_int_equal(f.net.vdev.config_len, 12);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(cfg(&f, i, 1), test_mac[i]);
	assert_int_equal(cfg(&f, 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg(&f, 8, 2), 2);
	assert_int_equal(cfg(&f, 10, 2), 1500);
	assert_int_equal(cfg(&f, 12, 4), 0); /* past the end reads zeroes */
	for (unsigned int b = 0; b < 64; b++) {
		bool want = b == VIRTIO_F_VERSION_1 || b == VIRTIO_F_EVENT_IDX ||
			    b == VIRTIO_F_INDIRECT_DESC || b == VIRTIO_NET_F_CSUM ||
			    b == VIRTIO_NET_F_GUEST_CSUM || b == VIRTIO_NET_F_CTRL_GUEST_OFFLOADS ||
			    b == VIRTIO_NET_F_MTU || b == VIRTIO_NET_F_MAC ||
			    b == VIRTIO_NET_F_GUEST_TSO4 || b == VIRTIO_NET_F_GUEST_TSO6 ||
			    b == VIRTIO_NET_F_GUEST_ECN || b == VIRTIO_NET_F_HOST_TSO4 ||
			    b == VIRTIO_NET_F_HOST_TSO6 || b == VIRTIO_NET_F_HOST_ECN ||
			    b == VIRTIO_NET_F_MRG_RXBUF || b == VIRTIO_NET_F_STATUS ||
			    b == VIRTIO_NET_F_CTRL_VQ || b == VIRTIO_NET_F_CTRL_RX ||
			    b == VIRTIO_NET_F_MQ;

		if (want != !!(dev_f & (1ULL << b)))
			fail_msg("feature bit %u: offered %d, want %d", b, !want, want);
	}
	/* Queue 1 is not steered to until the driver asks for two pairs. */
	assert_false(f.ft.attached[1]);
	assert_true(f.ft.attached[0]);
	fx_fini(&f);

	/* One pair: no MQ. A tap that takes USO: USO both ways. */
	fx_setup(&f, 1, &net_engine_sync);
	assert_false(f.net.vdev.device_features & F(MQ));
	fx_fini(&f);
	memset(&f, 0, sizeof(f));
}

static void test_uso_follows_tap(void **state)
{
	struct fx f;
	char why[160];

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	virtio_net_destroy(&f.net);
	f.ft.tap.offloads |= TUN_F_USO4 | TUN_F_USO6;
	assert_int_equal(virtio_net_init(&f.net, &f.ft.tap, test_mac, 1, QSIZE, &net_engine_sync,
					 why, sizeof(why)),
			 0);
	assert_true(f.net.vdev.device_features & F(HOST_USO));
	assert_true(f.net.vdev.device_features & F(GUEST_USO4));
	fx_fini(&f);
}

static void test_init_errors(void **state)
{
	struct fx f;
	struct virtio_net n2;
	char why[160];

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	assert_int_equal(
	    virtio_net_init(&n2, &f.ft.tap, test_mac, 2, QSIZE, &net_engine_sync, why, sizeof(why)),
	    -EINVAL);
	assert_non_null(strstr(why, "the tap has 1 queues"));
	assert_int_equal(
	    virtio_net_init(&n2, &f.ft.tap, test_mac, 1, 100, &net_engine_sync, why, sizeof(why)),
	    -EINVAL);
	assert_non_null(strstr(why, "queue size 100"));
	assert_int_equal(
	    virtio_net_init(&n2, &f.ft.tap, test_mac, 1, 2048, &net_engine_sync, why, sizeof(why)),
	    -EINVAL);
	fx_fini(&f);
}

static void test_features_ok(void **state)
{
	struct fx f;
	struct virtio_dev *dev;

	(void)state;
	fx_setup(&f, 2, &net_engine_sync);
	dev = &f.net.vdev;
	assert_true(dev->ops->features_ok(dev, dev->device_features));
	assert_true(dev->ops->features_ok(dev, NET_BIT(VIRTIO_F_VERSION_1)));
	assert_false(dev->ops->features_ok(dev, F(GUEST_TSO4)));
	assert_false(dev->ops->features_ok(dev, F(HOST_TSO6)));
	assert_false(dev->ops->features_ok(dev, F(CSUM) | F(HOST_ECN)));
	assert_false(dev->ops->features_ok(dev, F(MQ)));
	assert_false(dev->ops->features_ok(dev, F(CTRL_RX)));
	assert_true(dev->ops->features_ok(dev, F(MQ) | F(CTRL_VQ)));
	fx_fini(&f);
}

static void test_default_mac(void **state)
{
	uint8_t a[6], b[6], c[6];

	(void)state;
	virtio_net_default_mac("tap0", 0, a);
	virtio_net_default_mac("tap0", 0, b);
	virtio_net_default_mac("tap1", 0, c);
	assert_memory_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	virtio_net_default_mac("tap0", 1, c);
	assert_memory_not_equal(a, c, 6);
	/* Locally administered, unicast. */
	assert_int_equal(a[0] & 3, 2);
}

/* ---- TX ---- */

static void tx_frames(const struct net_engine_ops *engine)
{
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[1514], got[2048];
	struct virtio_net_counters c;

	fx_setup(&f, 1, engine);
	fx_start(&f, linux_features(&f, 0));
	fill_frame(frame, sizeof(frame), 1);
	send_tx(&f, 0, &h, frame, 60, 0);
	assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + 60);
	assert_memory_equal(got, &h, NET_HDR_LEN);
	assert_memory_equal(got + NET_HDR_LEN, frame, 60);

	/* A header split over two descriptors, the frame's first bytes in the first. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 6;
	send_tx(&f, 0, &h, frame, sizeof(frame), 5);
	assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got, &h, NET_HDR_LEN);
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
	send_tx(&f, 0, &h, frame, sizeof(frame), NET_HDR_LEN + 100);
	assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));

	assert_true(vdrv_wait_used(&f.q[1], 3));
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(vdrv_used_elem(&f.q[1], i).len, 0);
	c = counters(&f);
	assert_int_equal(c.tx_packets, 3);
	assert_int_equal(c.tx_bytes, 60 + 2 * sizeof(frame));
	assert_true(vdrv_wait_counter(&f.tr.notifies[1], 1));
	fx_fini(&f);
}

static void test_tx_frames_sync(void **state)
{
	(void)state;
	tx_frames(&net_engine_sync);
}

static void test_tx_frames_uring(void **state)
{
	(void)state;
	if (!net_engine_available(NET_ENGINE_IO_URING))
		skip();
	tx_frames(&net_engine_uring);
}

/* A dropped chain is handed back empty and counted; the next frame still goes out. */
static void expect_drop(struct fx *f, enum net_tx_drop why, uint64_t before)
{
	uint8_t frame[60] = {0}, got[256];
	struct virtio_net_hdr ok = {0};
	struct vdrv_q *d = &f->q[1];
	uint16_t used_before = (uint16_t)(d->avail_idx - 1);

	assert_true(vdrv_wait_used(d, d->avail_idx));
	assert_int_equal(vdrv_used_elem(d, used_before).len, 0);
	assert_int_equal(counters(f).tx_drop[why], before + 1);
	assert_true(host_quiet(f, 0));
	fill_frame(frame, sizeof(frame), (uint8_t)why);
	send_tx(f, 0, &ok, frame, sizeof(frame), 0);
	assert_int_equal(host_recv(f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
}

static void test_tx_hostile_chains(void **state)
{
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[200] = {0};
	struct vdrv_q *d;
	uint16_t head;
	uint64_t gpa;

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	/* No CSUM, no HOST_TSO: what the checks then refuse. */
	fx_start(&f, linux_features(&f, F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN)));
	d = &f.q[1];

	/* Shorter than header + Ethernet header. */
	send_tx(&f, 0, &h, frame, 10, 0);
	expect_drop(&f, NET_TX_SHORT, 0);
	/* Only part of a header. */
	gpa = alloc_buf(&f, 8);
	vdrv_publish(d, vdrv_desc(d, gpa, 8, 0));
	kick(&f, 1);
	expect_drop(&f, NET_TX_SHORT, 1);
	/* A checksum request without CSUM. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	send_tx(&f, 0, &h, frame, 100, 0);
	expect_drop(&f, NET_TX_CSUM, 0);
	/* A GSO frame without HOST_TSO4. */
	h = (struct virtio_net_hdr){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 100};
	send_tx(&f, 0, &h, frame, 200, 0);
	expect_drop(&f, NET_TX_GSO, 0);
	/* An RX flag. */
	h = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	send_tx(&f, 0, &h, frame, 100, 0);
	expect_drop(&f, NET_TX_FLAGS, 0);
	/* A device-writable buffer in a TX chain. */
	h = (struct virtio_net_hdr){0};
	gpa = alloc_buf(&f, 200);
	memcpy(hva(&f, gpa), &h, sizeof(h));
	head = vdrv_desc(d, gpa, 100, VIRTQ_DESC_F_NEXT);
	vdrv_desc(d, gpa + 100, 100, VIRTQ_DESC_F_WRITE);
	vdrv_publish(d, head);
	kick(&f, 1);
	expect_drop(&f, NET_TX_WRITABLE, 0);
	/* More buffers than the device gathers: 70 one-byte pieces after the header, indirect. */
	{
		uint64_t table = alloc_buf(&f, 71 * sizeof(struct virtq_desc));
		struct virtq_desc *t = (struct virtq_desc *)hva(&f, table);

		gpa = alloc_buf(&f, 200);
		memcpy(hva(&f, gpa), &h, sizeof(h));
		t[0] = (struct virtq_desc){gpa, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1};
		for (uint16_t i = 1; i <= 70; i++)
			t[i] =
			    (struct virtq_desc){gpa + NET_HDR_LEN + i, 1,
						i < 70 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1)};
		vdrv_publish(d, vdrv_desc(d, table, 71 * sizeof(*t), VIRTQ_DESC_F_INDIRECT));
		kick(&f, 1);
		expect_drop(&f, NET_TX_SEGMENTS, 0);
	}
	/* A malformed chain: its buffer outside RAM. */
	vdrv_publish(d, vdrv_desc(d, RAM_SIZE + 4096, 100, 0));
	kick(&f, 1);
	assert_true(vdrv_wait_used(d, d->avail_idx));
	assert_int_equal(counters(&f).tx_malformed, 1);
	assert_int_equal(counters(&f).tx_packets, 7);
	assert_int_equal(atomic_load(&f.tr.needs_reset), 0);
	/* What --stats shows of it. */
	{
		struct stats_device sd;
		bool seen_csum = false, seen_short = false;

		virtio_net_stats_device(&f.net, &sd);
		assert_string_equal(sd.name, "virtio-net fake0");
		for (unsigned int i = 0; i < sd.nr; i++) {
			if (strcmp(sd.c[i].name, "tx_drop_csum") == 0)
				seen_csum = sd.c[i].value == 1;
			if (strcmp(sd.c[i].name, "tx_drop_short") == 0)
				seen_short = sd.c[i].value == 2;
			if (strcmp(sd.c[i].name, "tx_packets") == 0)
				assert_int_equal(sd.c[i].value, 7);
		}
		assert_true(seen_csum && seen_short);
	}
	fx_fini(&f);
}

static void test_tx_broken_ring_needs_reset(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	fx_start(&f, linux_features(&f, 0));
	/* avail->idx moved by more than the queue size. */
	__atomic_store_n(&f.q[1].avail->idx, QSIZE + 5, __ATOMIC_RELEASE);
	kick(&f, 1);
	assert_true(vdrv_wait_counter(&f.tr.needs_reset, 1));
	fx_fini(&f);
}

static void test_tx_fault_injection(void **state)
{
	static const int errs[] = {-EAGAIN, -EIO, -ENOBUFS};
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[60], got[128];

	(void)state;
	fx_setup(&f, 1, &fault_engine);
	fx_start(&f, linux_features(&f, 0));
	for (unsigned int i = 0; i < 3; i++) {
		__atomic_store_n(&fe.fail_write, errs[i], __ATOMIC_RELEASE);
		fill_frame(frame, sizeof(frame), (uint8_t)(40 + i));
		send_tx(&f, 0, &h, frame, sizeof(frame), 0);
		assert_true(vdrv_wait_used(&f.q[1], f.q[1].avail_idx));
		assert_true(host_quiet(&f, 0));
		assert_int_equal(counters(&f).tx_errors, i + 1);
		/* The next frame goes through. */
		send_tx(&f, 0, &h, frame, sizeof(frame), 0);
		assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
		assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
		/* Counted once handed back, which may come after the host sees the frame. */
		assert_true(vdrv_wait_used(&f.q[1], f.q[1].avail_idx));
	}
	assert_int_equal(counters(&f).tx_packets, 3);
	fx_fini(&f);
}

/* Whether a driver publishing avail->idx @old -> @new must kick (spec 2.7.10, vring_need_event). */
static bool needs_kick(uint16_t event, uint16_t old, uint16_t new)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/*
 * While a write is out the device leaves kicks off (avail_event is not moved
 * on), and looks at the ring again once the write completes: a frame the
 * driver queued meanwhile goes out without a kick.
 */
static void test_tx_frame_queued_during_write_needs_no_kick(void **state)
{
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[60], got[128];
	uint16_t *avail_event;

	(void)state;
	fx_setup(&f, 1, &fault_engine);
	fx_start(&f, linux_features(&f, 0));
	avail_event = (uint16_t *)&f.q[1].used->ring[QSIZE];
	fe.hold = true;
	fill_frame(frame, sizeof(frame), 1);
	send_tx(&f, 0, &h, frame, sizeof(frame), 0);
	/* The device took it (kicks off) and holds its write. */
	for (int i = 0; i < 500 && !counters(&f).kicks; i++)
		vdrv_nap();
	for (int i = 0; i < 200; i++)
		vdrv_nap();
	assert_int_equal(vdrv_used_idx(&f.q[1]), 0);
	/* With EVENT_IDX a driver kicks when avail->idx passes avail_event: not for the next one. */
	assert_false(needs_kick(*avail_event, f.q[1].avail_idx, f.q[1].avail_idx + 1));
	fill_frame(frame, sizeof(frame), 2);
	{
		struct vdrv_q *d = &f.q[1];
		uint64_t gpa = alloc_buf(&f, NET_HDR_LEN + sizeof(frame));

		memcpy(hva(&f, gpa), &h, NET_HDR_LEN);
		memcpy(hva(&f, gpa) + NET_HDR_LEN, frame, sizeof(frame));
		vdrv_publish(d, vdrv_desc(d, gpa, NET_HDR_LEN + sizeof(frame), 0));
		/* no kick */
	}
	fe_release();
	assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
	assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
	assert_true(vdrv_wait_used(&f.q[1], 2));
	assert_int_equal(counters(&f).tx_packets, 2);
	fx_fini(&f);
}

/* ---- RX ---- */

static void rx_plain(const struct net_engine_ops *engine)
{
	struct fx f;
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 77};
	struct virtio_net_hdr *gh;
	uint8_t frame[1514];
	uint64_t gpa;

	fx_setup(&f, 1, engine);
	/* No MRG_RXBUF, no guest offloads: one 1530-byte chain per frame. */
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	gpa = post_rx(&f, 0, 1530, NULL);
	kick(&f, 0);
	fill_frame(frame, sizeof(frame), 9);
	host_send(&f, 0, &h, frame, sizeof(frame));
	assert_true(vdrv_wait_used(&f.q[0], 1));
	assert_int_equal(vdrv_used_elem(&f.q[0], 0).len, NET_HDR_LEN + sizeof(frame));
	gh = (struct virtio_net_hdr *)hva(&f, gpa);
	assert_int_equal(gh->num_buffers, 1);
	assert_int_equal(gh->flags, 0); /* no GUEST_CSUM: DATA_VALID cleared */
	assert_memory_equal(hva(&f, gpa) + NET_HDR_LEN, frame, sizeof(frame));
	assert_true(vdrv_wait_counter(&f.tr.notifies[0], 1));
	assert_int_equal(counters(&f).rx_packets, 1);
	assert_int_equal(counters(&f).rx_bytes, sizeof(frame));
	fx_fini(&f);
}

static void test_rx_plain_sync(void **state)
{
	(void)state;
	rx_plain(&net_engine_sync);
}

static void test_rx_plain_uring(void **state)
{
	(void)state;
	if (!net_engine_available(NET_ENGINE_IO_URING))
		skip();
	rx_plain(&net_engine_uring);
}

static void test_rx_frame_waits_for_buffers(void **state)
{
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[100];
	uint64_t gpa;

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	fill_frame(frame, sizeof(frame), 3);
	host_send(&f, 0, &h, frame, sizeof(frame));
	for (int i = 0; i < 100; i++)
		vdrv_nap();
	assert_int_equal(vdrv_used_idx(&f.q[0]), 0);
	/* A chain too small for the largest frame is handed back empty, counted. */
	post_rx(&f, 0, 200, NULL);
	kick(&f, 0);
	assert_true(vdrv_wait_used(&f.q[0], 1));
	assert_int_equal(vdrv_used_elem(&f.q[0], 0).len, 0);
	assert_int_equal(counters(&f).rx_small_chain, 1);
	/* A readable RX chain, likewise. */
	vdrv_publish(&f.q[0], vdrv_desc(&f.q[0], alloc_buf(&f, 2000), 2000, 0));
	kick(&f, 0);
	assert_true(vdrv_wait_used(&f.q[0], 2));
	assert_int_equal(counters(&f).rx_bad_chain, 1);
	/* The frame waited in the tap, and comes now. */
	gpa = post_rx(&f, 0, 1530, NULL);
	kick(&f, 0);
	assert_true(vdrv_wait_used(&f.q[0], 3));
	assert_int_equal(vdrv_used_elem(&f.q[0], 2).len, NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(hva(&f, gpa) + NET_HDR_LEN, frame, sizeof(frame));
	assert_true(counters(&f).rx_no_buffers >= 1);
	fx_fini(&f);
}

static void test_rx_mergeable_buffers(void **state)
{
	struct fx f;
	struct virtio_net_hdr h = {0};
	static uint8_t frame[4000], frame2[1000], got[8000];
	uint64_t gpa[48];
	uint16_t head[48];
	struct virtio_net_hdr *gh;
	uint32_t at = 0;

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	/* MRG_RXBUF with guest TSO: each read gathers 64 KiB of 1536-byte buffers. */
	fx_start(&f, linux_features(&f, 0));
	for (int i = 0; i < 48; i++)
		gpa[i] = post_rx(&f, 0, 1536, &head[i]);
	kick(&f, 0);
	fill_frame(frame, sizeof(frame), 5);
	host_send(&f, 0, &h, frame, sizeof(frame));
	assert_true(vdrv_wait_used(&f.q[0], 3));
	/* Three chains, in order, the first saying so; reassembled, the frame. */
	for (uint16_t i = 0; i < 3; i++) {
		struct virtq_used_elem e = vdrv_used_elem(&f.q[0], i);
		uint64_t g = 0;

		for (int k = 0; k < 48; k++)
			if (head[k] == e.id)
				g = gpa[k];
		assert_true(g != 0);
		assert_int_equal(e.len, i < 2 ? 1536 : NET_HDR_LEN + sizeof(frame) - 2 * 1536);
		memcpy(got + at, hva(&f, g), e.len);
		at += e.len;
		if (i == 0) {
			gh = (struct virtio_net_hdr *)hva(&f, g);
			assert_int_equal(gh->num_buffers, 3);
		}
	}
	assert_int_equal(at, NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
	/* The buffers the frame did not need serve the next. */
	fill_frame(frame2, sizeof(frame2), 6);
	host_send(&f, 0, &h, frame2, sizeof(frame2));
	assert_true(vdrv_wait_used(&f.q[0], 4));
	assert_int_equal(vdrv_used_elem(&f.q[0], 3).len, NET_HDR_LEN + sizeof(frame2));
	assert_int_equal(counters(&f).rx_packets, 2);
	fx_fini(&f);
}

/*
 * Chains so fragmented that a read's iovecs run out before they hold a
 * frame: handed back empty and counted, the device goes on.
 */
static void test_rx_fragmented_chains_handed_back(void **state)
{
	struct fx f;
	struct vdrv_q *d;

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	/* MRG_RXBUF with guest TSO: a read needs 64 KiB. */
	fx_start(&f, linux_features(&f, 0));
	d = &f.q[0];
	/* 9 chains of 32 buffers of 10 bytes (indirect): 8 fill a read's 256 iovecs. */
	for (int c = 0; c < 9; c++) {
		uint64_t table = alloc_buf(&f, 32 * sizeof(struct virtq_desc));
		struct virtq_desc *t = (struct virtq_desc *)hva(&f, table);
		uint64_t data = alloc_buf(&f, 320);

		for (uint16_t i = 0; i < 32; i++)
			t[i] = (struct virtq_desc){
			    data + 10u * i, 10,
			    (uint16_t)(VIRTQ_DESC_F_WRITE | (i < 31 ? VIRTQ_DESC_F_NEXT : 0)),
			    (uint16_t)(i + 1)};
		vdrv_publish(d, vdrv_desc(d, table, 32 * sizeof(*t), VIRTQ_DESC_F_INDIRECT));
	}
	kick(&f, 0);
	assert_true(vdrv_wait_used(d, 8));
	for (uint16_t i = 0; i < 8; i++)
		assert_int_equal(vdrv_used_elem(d, i).len, 0);
	assert_int_equal(counters(&f).rx_small_chain, 8);
	assert_int_equal(atomic_load(&f.tr.needs_reset), 0);
	fx_fini(&f);
}

static void test_rx_header_checks(void **state)
{
	struct fx f;
	struct virtio_net_hdr h = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16};
	uint8_t frame[100] = {0};

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	post_rx(&f, 0, 1530, NULL);
	kick(&f, 0);
	/* A partial checksum for a driver without GUEST_CSUM: dropped, the buffer kept. */
	host_send(&f, 0, &h, frame, sizeof(frame));
	/* A GSO frame it did not accept: likewise. */
	h = (struct virtio_net_hdr){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 50};
	host_send(&f, 0, &h, frame, sizeof(frame));
	/* Shorter than a header and an Ethernet header. */
	assert_int_equal(send(f.ft.host[0], frame, 20, 0), 20);
	h = (struct virtio_net_hdr){0};
	frame[0] = 0x42;
	host_send(&f, 0, &h, frame, sizeof(frame));
	assert_true(vdrv_wait_used(&f.q[0], 1));
	assert_int_equal(vdrv_used_elem(&f.q[0], 0).len, NET_HDR_LEN + sizeof(frame));
	assert_int_equal(counters(&f).rx_bad_header, 3);
	assert_int_equal(counters(&f).rx_packets, 1);
	fx_fini(&f);
}

static void test_rx_fault_injection(void **state)
{
	static const int errs[] = {-EAGAIN, -EIO, -ENOBUFS};
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[80];
	uint64_t gpa;

	(void)state;
	fx_setup(&f, 1, &fault_engine);
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	for (unsigned int i = 0; i < 3; i++) {
		gpa = post_rx(&f, 0, 1530, NULL);
		kick(&f, 0);
		__atomic_store_n(&fe.fail_read, errs[i], __ATOMIC_RELEASE);
		fill_frame(frame, sizeof(frame), (uint8_t)(60 + i));
		host_send(&f, 0, &h, frame, sizeof(frame)); /* lost */
		fill_frame(frame, sizeof(frame), (uint8_t)(70 + i));
		host_send(&f, 0, &h, frame, sizeof(frame)); /* goes through */
		assert_true(vdrv_wait_used(&f.q[0], (uint16_t)(i + 1)));
		assert_memory_equal(hva(&f, gpa) + NET_HDR_LEN, frame, sizeof(frame));
		assert_int_equal(counters(&f).rx_errors, i + 1);
	}
	fx_fini(&f);
}

static void reset_with_reads_out(const struct net_engine_ops *engine)
{
	struct fx f;
	struct virtio_dev *dev;
	struct virtio_net_hdr h = {0};
	uint8_t frame[64] = {1, 2, 3};
	uint64_t gpa;

	fx_setup(&f, 1, engine);
	dev = &f.net.vdev;
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	for (int i = 0; i < 6; i++)
		post_rx(&f, 0, 1530, NULL);
	kick(&f, 0);
	/* Reads are out waiting for frames; a reset must get them back, not hang. */
	vdrv_nap();
	dev->ops->reset(dev);
	for (unsigned int q = 0; q < dev->nr_queues; q++)
		virtq_reset(&dev->vqs[q]);
	/* And the device starts again on fresh rings. */
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	gpa = post_rx(&f, 0, 1530, NULL);
	kick(&f, 0);
	host_send(&f, 0, &h, frame, sizeof(frame));
	assert_true(vdrv_wait_used(&f.q[0], 1));
	assert_memory_equal(hva(&f, gpa) + NET_HDR_LEN, frame, sizeof(frame));
	fx_fini(&f);
}

static void test_reset_with_reads_out_sync(void **state)
{
	(void)state;
	reset_with_reads_out(&net_engine_sync);
}

static void test_reset_with_reads_out_uring(void **state)
{
	(void)state;
	if (!net_engine_available(NET_ENGINE_IO_URING))
		skip();
	reset_with_reads_out(&net_engine_uring);
}

static void test_event_idx_suppresses_interrupts(void **state)
{
	struct fx f;
	struct virtio_net_hdr h = {0};
	uint8_t frame[60] = {0}, got[128];

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	fx_start(&f, linux_features(&f, 0));
	/* The first decision always interrupts (nothing signalled yet). */
	send_tx(&f, 0, &h, frame, sizeof(frame), 0);
	assert_true(host_recv(&f, 0, got, sizeof(got)) > 0);
	assert_true(vdrv_wait_counter(&f.tr.notifies[1], 1));
	/* Then the driver wants one only once used->idx passes 3. */
	*vdrv_used_event(&f.q[1]) = 3;
	for (int i = 0; i < 2; i++) {
		send_tx(&f, 0, &h, frame, sizeof(frame), 0);
		assert_true(host_recv(&f, 0, got, sizeof(got)) > 0);
		assert_true(vdrv_wait_used(&f.q[1], (uint16_t)(i + 2)));
	}
	assert_true(host_quiet(&f, 0));
	assert_int_equal(atomic_load(&f.tr.notifies[1]), 1);
	send_tx(&f, 0, &h, frame, sizeof(frame), 0);
	assert_true(vdrv_wait_counter(&f.tr.notifies[1], 2));
	fx_fini(&f);
}

/* ---- the control queue ---- */

static void test_ctrl_commands(void **state)
{
	struct fx f;
	uint8_t promisc[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
	uint8_t bogus[] = {9, 9, 9};
	uint8_t mac_table[2 + 4 + 6 + 4] = {VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, 1};
	uint8_t off[10] = {VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET};
	uint64_t want;
	struct virtio_net_counters c;

	(void)state;
	fx_setup(&f, 1, &net_engine_sync);
	fx_start(&f, linux_features(&f, 0));
	/* At start the tap got the offloads the driver accepted. */
	assert_int_equal(f.ft.last_offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	assert_int_equal(ctrl(&f, promisc, sizeof(promisc)), VIRTIO_NET_OK);
	assert_int_equal(__atomic_load_n(&f.net.promisc, __ATOMIC_RELAXED), 1);
	assert_int_equal(ctrl(&f, bogus, sizeof(bogus)), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(&f, mac_table, sizeof(mac_table)), VIRTIO_NET_OK);
	assert_int_equal(f.net.mac_uni, 1);
	assert_int_equal(ctrl(&f, mac_table, sizeof(mac_table) - 1), VIRTIO_NET_ERR);

	/* Offloads switched: the tap follows; RX headers are held to the new set. */
	want = F(GUEST_CSUM);
	memcpy(off + 2, &want, 8);
	assert_int_equal(ctrl(&f, off, sizeof(off)), VIRTIO_NET_OK);
	assert_int_equal(f.ft.last_offload, TUN_F_CSUM);
	assert_int_equal(f.net.guest_offloads, F(GUEST_CSUM));
	want = F(GUEST_USO4) | F(GUEST_CSUM); /* not negotiated */
	memcpy(off + 2, &want, 8);
	assert_int_equal(ctrl(&f, off, sizeof(off)), VIRTIO_NET_ERR);
	assert_int_equal(f.ft.last_offload, TUN_F_CSUM);
	/* The tap refusing: ERR, and the device's view stays. */
	want = 0;
	memcpy(off + 2, &want, 8);
	f.ft.offload_err = -EINVAL;
	assert_int_equal(ctrl(&f, off, sizeof(off)), VIRTIO_NET_ERR);
	assert_int_equal(f.net.guest_offloads, F(GUEST_CSUM));
	f.ft.offload_err = 0;

	/* A command with nowhere to put the ack is handed back empty. */
	{
		struct vdrv_q *d = &f.q[2];
		uint64_t gpa = alloc_buf(&f, 8);

		memcpy(hva(&f, gpa), promisc, sizeof(promisc));
		vdrv_publish(d, vdrv_desc(d, gpa, sizeof(promisc), 0));
		kick(&f, 2);
		assert_true(vdrv_wait_used(d, d->avail_idx));
		assert_int_equal(vdrv_used_elem(d, (uint16_t)(d->avail_idx - 1)).len, 0);
	}
	c = counters(&f);
	assert_int_equal(c.ctrl_ok, 3);
	assert_int_equal(c.ctrl_err, 5);
	fx_fini(&f);
}

static void test_ctrl_queue_pairs(void **state)
{
	struct fx f;
	uint8_t pairs[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	struct virtio_net_hdr h = {0};
	uint8_t frame[90], got[256];
	uint64_t gpa;

	(void)state;
	fx_setup(&f, 2, &net_engine_sync);
	fx_start(&f, linux_features(&f, F(MRG_RXBUF) | NET_GUEST_OFFLOADS));
	assert_false(f.ft.attached[1]);
	assert_int_equal(ctrl(&f, pairs, sizeof(pairs)), VIRTIO_NET_OK);
	assert_true(f.ft.attached[1]);
	/* Pair 1 now carries frames both ways. */
	gpa = post_rx(&f, 1, 1530, NULL);
	kick(&f, 2);
	fill_frame(frame, sizeof(frame), 11);
	host_send(&f, 1, &h, frame, sizeof(frame));
	assert_true(vdrv_wait_used(&f.q[2], 1));
	assert_memory_equal(hva(&f, gpa) + NET_HDR_LEN, frame, sizeof(frame));
	send_tx(&f, 1, &h, frame, sizeof(frame), 0);
	assert_int_equal(host_recv(&f, 1, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
	assert_true(vdrv_wait_counter(&f.tr.notifies[2], 1));

	pairs[2] = 3; /* more than max_virtqueue_pairs */
	assert_int_equal(ctrl(&f, pairs, sizeof(pairs)), VIRTIO_NET_ERR);
	pairs[2] = 1;
	assert_int_equal(ctrl(&f, pairs, sizeof(pairs)), VIRTIO_NET_OK);
	assert_false(f.ft.attached[1]);
	assert_int_equal(f.net.active_pairs, 1);
	fx_fini(&f);
}

static void test_engine_sweep_roundtrip(void **state)
{
	(void)state;
	/* Every engine moves a frame each way through a started device. */
	for (unsigned int e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		struct fx f;
		struct virtio_net_hdr h = {0};
		uint8_t frame[300], got[512];
		uint64_t gpa;

		if (engines[e] == &net_engine_uring && !net_engine_available(NET_ENGINE_IO_URING))
			continue;
		fx_setup(&f, 1, engines[e]);
		fx_start(&f, linux_features(&f, 0));
		fill_frame(frame, sizeof(frame), (uint8_t)e);
		send_tx(&f, 0, &h, frame, sizeof(frame), 0);
		assert_int_equal(host_recv(&f, 0, got, sizeof(got)), NET_HDR_LEN + sizeof(frame));
		gpa = post_rx(&f, 0, 1536, NULL);
		kick(&f, 0);
		host_send(&f, 0, &h, frame, sizeof(frame));
		/* MRG with TSO: one 1536-byte buffer is not 64 KiB: more are needed first. */
		for (int i = 0; i < 44; i++)
			post_rx(&f, 0, 1536, NULL);
		kick(&f, 0);
		assert_true(vdrv_wait_used(&f.q[0], 1));
		(void)gpa;
		assert_int_equal(counters(&f).rx_packets, 1);
		fx_fini(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_and_offer),
	    cmocka_unit_test(test_uso_follows_tap),
	    cmocka_unit_test(test_init_errors),
	    cmocka_unit_test(test_features_ok),
	    cmocka_unit_test(test_default_mac),
	    cmocka_unit_test(test_tx_frames_sync),
	    cmocka_unit_test(test_tx_frames_uring),
	    cmocka_unit_test(test_tx_hostile_chains),
	    cmocka_unit_test(test_tx_broken_ring_needs_reset),
	    cmocka_unit_test(test_tx_fault_injection),
	    cmocka_unit_test(test_tx_frame_queued_during_write_needs_no_kick),
	    cmocka_unit_test(test_rx_plain_sync),
	    cmocka_unit_test(test_rx_plain_uring),
	    cmocka_unit_test(test_rx_frame_waits_for_buffers),
	    cmocka_unit_test(test_rx_mergeable_buffers),
	    cmocka_unit_test(test_rx_fragmented_chains_handed_back),
	    cmocka_unit_test(test_rx_header_checks),
	    cmocka_unit_test(test_rx_fault_injection),
	    cmocka_unit_test(test_reset_with_reads_out_sync),
	    cmocka_unit_test(test_reset_with_reads_out_uring),
	    cmocka_unit_test(test_event_idx_suppresses_interrupts),
	    cmocka_unit_test(test_ctrl_commands),
	    cmocka_unit_test(test_ctrl_queue_pairs),
	    cmocka_unit_test(test_engine_sweep_roundtrip),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
