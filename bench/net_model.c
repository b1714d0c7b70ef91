/* SPDX-License-Identifier: MIT */
/*
 * net-model: the virtio-net device model on a real tap against plain
 * readv/writev on the same tap, no KVM.
 *
 * This process plays the guest's driver on the real split-ring code and
 * feeds the real device model (virtio/net.c) with its real pair thread and
 * engine (io_uring unless --engine says otherwise) on a tap in a network
 * namespace of its own. The reference is a loop of writev (guest-to-host)
 * or readv (host-to-guest) with the same vnet header on the same tap queue,
 * in the same process lifetime; runs alternate order round by round
 * because these machines drift.
 *
 * Traffic: guest-to-host frames enter the namespace's stack through the
 * tap and are dropped there (an ethertype nobody handles); host-to-guest
 * frames come from a packet socket on the tap, sent as fast as it can,
 * for both the model and the reference. So the figures are the frames per
 * second each side moves through the tap, frame bytes only.
 *
 * What the model's figure includes: the driver's own work (filling the
 * rings, its kicks as eventfd writes, its sleeps on the "interrupt"
 * eventfd) on this thread beside the device thread, like a guest vCPU beside
 * its VMM's I/O thread. A kick here is a cheap write(2), where a guest pays
 * a VM exit, so this bounds the device from above; the kicks and interrupts
 * per packet columns say what a guest would pay in exits. The driver polls
 * the used ring for --spin-us (50 us) before it sleeps, yielding between
 * looks. The model runs two threads (driver and device) where the
 * reference runs one, and host-to-guest a third (the sender) for both: on
 * a 2-core host they compete.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "net/engine.h"
#include "net/tap.h"
#include "virtio/net.h"
#include "bench/model_ring.h"
#include "bench/model_transport.h"
#include "vmm/guest_mem.h"

#define TAP_NAME	"nm0"
#define QUEUE_SIZE	256
#define RAM_SIZE	(64ull << 20)
#define MAX_ROUNDS	9
#define DEFAULT_SPIN_US 50
#define RX_BUF		4096 /* a mergeable RX buffer, as Linux posts them for a large MTU */
#define MAX_FRAME	65536
/* A tap's largest MTU: 65535 less its Ethernet header; the largest frame is 65535 bytes. */
#define TAP_MAX_MTU	       65521
#define SEND_BATCH	       32
#define EXPERIMENTAL_ETHERTYPE 0x88b5

/* Guest RAM: the rings of the three queues, then RX buffers, then TX slots. */
#define RING_GPA(q)  (0x10000ull + 0x10000ull * (q))
#define RXBUF_GPA(i) (0x100000ull + (uint64_t)RX_BUF * (i))
#define TXBUF_GPA(i) (0x400000ull + (uint64_t)(MAX_FRAME + 64) * (i))

enum dir { GUEST_TO_HOST, HOST_TO_GUEST };

struct workload {
	const char *name;
	enum dir dir;
	uint32_t frame; /* bytes after the vnet header */
	double goal;	/* model / reference to reach */
};

static const struct workload workloads[] = {
    {"tx 64 B", GUEST_TO_HOST, 64, 0.90},      {"tx 1514 B", GUEST_TO_HOST, 1514, 0.90},
    {"tx 64 KiB", GUEST_TO_HOST, 65535, 0.90}, {"rx 64 B", HOST_TO_GUEST, 64, 0.90},
    {"rx 1514 B", HOST_TO_GUEST, 1514, 0.90},  {"rx 64 KiB", HOST_TO_GUEST, 65535, 0.90},
};
#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

struct figures {
	double pps;
	double gbps;
	double cpu_ns_per_pkt; /* the device thread's (or the plain loop's) CPU time per frame */
	double kicks_per_pkt;  /* driver -> device notifications */
	double irqs_per_pkt;   /* device -> driver interrupts */
};

struct opts {
	double seconds;
	unsigned int rounds;
	unsigned int spin_us;
	enum net_engine engine;
	const char *only; /* run the workloads whose name starts with this */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process's thread named @comm (/proc schedstat), or 0. */
static uint64_t thread_cpu_ns(const char *comm)
{
	char path[320], name[32];
	uint64_t ns = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	if (!d)
		return 0;
	while (!ns && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(name, sizeof(name), f))
			name[0] = 0;
		fclose(f);
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name, comm))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%" SCNu64, &ns) != 1)
				ns = 0;
			fclose(f);
		}
	}
	closedir(d);
	return ns;
}

static uint64_t self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the driver: one queue at a time (bench/model_ring.h) ---- */

struct drv {
	struct guest_mem *mem;
	struct model_ring ring;
	uint64_t spin_ns;
};

static uint8_t *hva(struct guest_mem *mem, uint64_t gpa)
{
	return mem->regions[0].hva + gpa;
}

static void drv_init(struct drv *d, struct guest_mem *mem, unsigned int q, int kick_fd, int irq_fd,
		     uint64_t spin_ns)
{
	d->mem = mem;
	model_ring_init(&d->ring, hva(mem, RING_GPA(q)), hva(mem, RING_GPA(q) + 0x2000),
			hva(mem, RING_GPA(q) + 0x4000), QUEUE_SIZE, kick_fd, irq_fd);
	d->spin_ns = spin_ns;
}

/* ---- the device, started afresh for each model run ---- */

struct rig {
	struct guest_mem mem;
	struct net_tap tap;
	struct virtio_net net;
	struct model_transport tr;
	int kick_fd[3];
	int packet_fd; /* sends host-to-guest frames on the tap */
	int saved_flags;
	const struct opts *o;
};

/* Fresh rings on every queue: a queue this run does not use must not show the last run's. */
static void rings_clear(struct rig *r)
{
	for (unsigned int q = 0; q < 3; q++)
		memset(hva(&r->mem, RING_GPA(q)), 0, 0x4000 + 6 + 8 * QUEUE_SIZE + 2);
}

static int device_start(struct rig *r)
{
	struct virtio_dev *dev = &r->net.vdev;

	dev->driver_features = dev->device_features;
	for (unsigned int q = 0; q < 3; q++) {
		virtq_reset(&dev->vqs[q]);
		if (virtq_enable(&dev->vqs[q], &r->mem, QUEUE_SIZE, RING_GPA(q),
				 RING_GPA(q) + 0x2000, RING_GPA(q) + 0x4000, true, true) < 0)
			return -EINVAL;
	}
	return dev->ops->start(dev);
}

static void device_stop(struct rig *r)
{
	struct virtio_dev *dev = &r->net.vdev;

	dev->ops->reset(dev);
	for (unsigned int q = 0; q < 3; q++)
		virtq_reset(&dev->vqs[q]);
}

/* ---- the host side's sender (host-to-guest runs) ---- */

struct sender {
	pthread_t thread;
	int fd;
	uint32_t frame;
	atomic_bool stop;
	uint64_t sent;
};

static void fill_frame(uint8_t *f, uint32_t len)
{
	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = EXPERIMENTAL_ETHERTYPE >> 8;
	f[13] = EXPERIMENTAL_ETHERTYPE & 0xff;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

static void *sender_thread(void *arg)
{
	struct sender *s = arg;
	static uint8_t frame[MAX_FRAME];
	struct mmsghdr msg[SEND_BATCH];
	struct iovec iov = {frame, s->frame};

	fill_frame(frame, s->frame);
	memset(msg, 0, sizeof(msg));
	for (int i = 0; i < SEND_BATCH; i++) {
		msg[i].msg_hdr.msg_iov = &iov;
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		/* Large frames one at a time: a batch of them would only fill the tap's queue. */
		int n = sendmmsg(s->fd, msg, s->frame > 4096 ? 1 : SEND_BATCH, 0);

		if (n > 0)
			s->sent += (uint64_t)n;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			break;
	}
	return NULL;
}

static int sender_start(struct sender *s, int fd, uint32_t frame)
{
	s->fd = fd;
	s->frame = frame;
	s->sent = 0;
	atomic_store(&s->stop, false);
	return -pthread_create(&s->thread, NULL, sender_thread, s);
}

static void sender_stop(struct sender *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
}

/* ---- the model ---- */

/*
 * Until @t_end: hand every used chain straight back (the same buffer, the
 * same slot), publish after each batch, poll the used ring spin_ns and then
 * sleep on the interrupt. Counts frames: one per used TX chain; on RX the
 * first chain of each frame says (num_buffers) how many follow. Returns the
 * frames, the time it stopped in *@now.
 */
static uint64_t drv_loop(struct drv *d, struct rig *r, bool rx, uint64_t t_end, uint64_t *now)
{
	uint64_t pkts = 0, last = now_ns();
	unsigned int rest = 0; /* RX: chains still to come of the frame being received */

	for (;;) {
		uint16_t idx = model_ring_used_idx(&d->ring);
		unsigned int n = 0;

		while (d->ring.last_used != idx) {
			uint16_t id = (uint16_t)le32toh(
			    d->ring.used->ring[d->ring.last_used % QUEUE_SIZE].id);

			if (!rx) {
				pkts++;
			} else if (rest == 0) {
				const struct virtio_net_hdr *h =
				    (const struct virtio_net_hdr *)hva(&r->mem, RXBUF_GPA(id));

				rest = le16toh(h->num_buffers);
				if (rest == 0)
					d->ring.errors++;
				pkts++;
			}
			if (rest)
				rest--;
			model_ring_add(&d->ring, id);
			d->ring.last_used++;
			n++;
		}
		*now = now_ns();
		if (*now >= t_end)
			return pkts;
		if (n) {
			model_ring_publish(&d->ring);
			last = *now;
		} else if (*now - last >= d->spin_ns) {
			{
				model_ring_want_irq(&d->ring);
				model_ring_sleep(&d->ring);
			}
		} else {
			sched_yield();
		}
	}
}

static void finish_figures(struct figures *fig, uint64_t pkts, uint64_t ns, uint32_t frame,
			   uint64_t kicks, uint64_t irqs, uint64_t cpu_ns)
{
	double s = (double)ns / 1e9;

	fig->cpu_ns_per_pkt = pkts ? (double)cpu_ns / (double)pkts : 0;
	fig->pps = (double)pkts / s;
	fig->gbps = fig->pps * frame * 8 / 1e9;
	fig->kicks_per_pkt = pkts ? (double)kicks / (double)pkts : 0;
	fig->irqs_per_pkt = pkts ? (double)irqs / (double)pkts : 0;
}

static int model_tx(struct rig *r, const struct workload *w, struct figures *fig)
{
	struct drv d;
	uint64_t t0, t_end, now, pkts, irq0, cpu0;
	int e;

	rings_clear(r);
	drv_init(&d, &r->mem, 1, r->kick_fd[1], r->tr.irq_fd[1], r->o->spin_us * 1000ull);
	/* Slot i: descriptor i, a zero header and the frame, one buffer. */
	for (uint16_t i = 0; i < QUEUE_SIZE; i++) {
		uint8_t *b = hva(&r->mem, TXBUF_GPA(i));

		memset(b, 0, NET_HDR_LEN);
		fill_frame(b + NET_HDR_LEN, w->frame);
		d.ring.desc[i] = (struct virtq_desc){.addr = htole64(TXBUF_GPA(i)),
						     .len = htole32(NET_HDR_LEN + w->frame)};
	}
	e = device_start(r);
	if (e < 0)
		return e;
	irq0 = __atomic_load_n(&r->tr.notifies, __ATOMIC_RELAXED);
	cpu0 = thread_cpu_ns("net-q0");
	for (uint16_t i = 0; i < QUEUE_SIZE; i++)
		model_ring_add(&d.ring, i);
	t0 = now_ns();
	t_end = t0 + (uint64_t)(r->o->seconds * 1e9);
	model_ring_publish(&d.ring);
	pkts = drv_loop(&d, r, false, t_end, &now);
	finish_figures(fig, pkts, now - t0, w->frame, d.ring.kicks,
		       __atomic_load_n(&r->tr.notifies, __ATOMIC_RELAXED) - irq0,
		       thread_cpu_ns("net-q0") - cpu0);
	device_stop(r);
	return d.ring.errors ? -EIO : 0;
}

static int model_rx(struct rig *r, const struct workload *w, struct figures *fig)
{
	struct drv d;
	struct sender s;
	uint64_t t0, t_end, now, pkts, irq0, cpu0;
	int e;

	rings_clear(r);
	drv_init(&d, &r->mem, 0, r->kick_fd[0], r->tr.irq_fd[0], r->o->spin_us * 1000ull);
	for (uint16_t i = 0; i < QUEUE_SIZE; i++)
		d.ring.desc[i] = (struct virtq_desc){.addr = htole64(RXBUF_GPA(i)),
						     .len = htole32(RX_BUF),
						     .flags = htole16(VIRTQ_DESC_F_WRITE)};
	e = device_start(r);
	if (e < 0)
		return e;
	for (uint16_t i = 0; i < QUEUE_SIZE; i++)
		model_ring_add(&d.ring, i);
	model_ring_publish(&d.ring);
	irq0 = __atomic_load_n(&r->tr.notifies, __ATOMIC_RELAXED);
	e = sender_start(&s, r->packet_fd, w->frame);
	if (e < 0) {
		device_stop(r);
		return e;
	}
	cpu0 = thread_cpu_ns("net-q0");
	t0 = now_ns();
	t_end = t0 + (uint64_t)(r->o->seconds * 1e9);
	pkts = drv_loop(&d, r, true, t_end, &now);
	finish_figures(fig, pkts, now - t0, w->frame, d.ring.kicks,
		       __atomic_load_n(&r->tr.notifies, __ATOMIC_RELAXED) - irq0,
		       thread_cpu_ns("net-q0") - cpu0);
	sender_stop(&s);
	device_stop(r);
	return d.ring.errors ? -EIO : 0;
}

/*
 * ---- the reference: plain readv/writev on the same tap queue ----
 *
 * From and into the same guest buffers the model uses, in the same order
 * (TX: slot after slot, header and frame; RX: into enough 4 KiB buffers
 * for the largest frame, as the device must offer since it cannot know the
 * next frame's size, moving on by the buffers the frame filled), so that
 * both touch the same memory and only the device model's own work (rings,
 * header checks, the engine, the thread) is measured.
 */
static int reference(struct rig *r, const struct workload *w, struct figures *fig)
{
	static uint8_t scratch[MAX_FRAME + NET_HDR_LEN];
	struct iovec iov[(NET_HDR_LEN + NET_MAX_FRAME) / RX_BUF + 2];
	/* The device's need with guest GSO negotiated, as net_rx_frame_need() says. */
	unsigned int per_read = (NET_HDR_LEN + NET_MAX_FRAME + RX_BUF - 1) / RX_BUF, slot = 0;
	int fd = r->tap.fd[0];
	uint64_t t0, t_end, now, pkts = 0, errors = 0, cpu0;
	struct sender s;
	int e;

	/* Blocking, as a plain reader or writer would have it; the engine's mode after. */
	if (fcntl(fd, F_SETFL, r->saved_flags & ~O_NONBLOCK) < 0)
		return -errno;
	for (unsigned int i = 0; w->dir == GUEST_TO_HOST && i < QUEUE_SIZE; i++) {
		uint8_t *b = hva(&r->mem, TXBUF_GPA(i));

		memset(b, 0, NET_HDR_LEN);
		fill_frame(b + NET_HDR_LEN, w->frame);
	}
	if (w->dir == HOST_TO_GUEST) {
		e = sender_start(&s, r->packet_fd, w->frame);
		if (e < 0)
			return e;
	}
	cpu0 = self_cpu_ns();
	t0 = now_ns();
	t_end = t0 + (uint64_t)(r->o->seconds * 1e9);
	do {
		ssize_t n;

		if (w->dir == GUEST_TO_HOST) {
			uint8_t *b = hva(&r->mem, TXBUF_GPA(slot));

			iov[0] = (struct iovec){b, NET_HDR_LEN};
			iov[1] = (struct iovec){b + NET_HDR_LEN, w->frame};
			n = writev(fd, iov, 2);
			slot = (slot + 1) % QUEUE_SIZE;
		} else {
			if (slot + per_read > QUEUE_SIZE)
				slot = 0;
			for (unsigned int k = 0; k < per_read; k++)
				iov[k] = (struct iovec){hva(&r->mem, RXBUF_GPA(slot + k)), RX_BUF};
			n = readv(fd, iov, (int)per_read);
			if (n > 0)
				slot += (unsigned int)(n + RX_BUF - 1) / RX_BUF;
		}
		if (n > 0)
			pkts++;
		else
			errors++;
		now = now_ns();
	} while (now < t_end);
	finish_figures(fig, pkts, now - t0, w->frame, 0, 0, self_cpu_ns() - cpu0);
	if (w->dir == HOST_TO_GUEST)
		sender_stop(&s);
	/* Frames the sender left in the tap: not the next run's. */
	fcntl(fd, F_SETFL, r->saved_flags | O_NONBLOCK);
	while (read(fd, scratch, sizeof(scratch)) > 0)
		;
	if (fcntl(fd, F_SETFL, r->saved_flags) < 0)
		return -errno;
	return errors > pkts ? -EIO : 0;
}

/* ---- set-up ---- */

static int if_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
	FILE *f;
	char path[128];

	if (s < 0)
		return -errno;
	/* No IPv6 chatter (router solicitations) in the RX figures. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	f = fopen(path, "we");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (r == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

static int packet_socket(const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = 0};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	int big = 4 << 20;

	if (s < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex(name);
	if (sll.sll_ifindex <= 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -errno;
	}
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return s;
}

static int rig_init(struct rig *r, const struct opts *o)
{
	static const uint8_t mac[6] = {0x02, 'N', 'M', 0, 0, 1};
	struct virtio_dev *dev;
	char why[256];
	int e;

	memset(r, 0, sizeof(*r));
	r->o = o;
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr,
			"net-model: SKIP: cannot make a network namespace: %s (needs root)\n",
			strerror(errno));
		return 77;
	}
	if (net_tap_open(&r->tap, TAP_NAME, 1, why, sizeof(why)) < 0) {
		fprintf(stderr, "net-model: SKIP: %s\n", why);
		return 77;
	}
	if (net_tap_set_mtu(&r->tap, NET_TAP_MAX_MTU, why, sizeof(why)) < 0) {
		fprintf(stderr, "net-model: %s\n", why);
		return 1;
	}
	e = if_up(TAP_NAME);
	if (e == 0)
		e = r->packet_fd = packet_socket(TAP_NAME);
	if (e < 0) {
		fprintf(stderr, "net-model: cannot set tap %s up: %s\n", TAP_NAME, strerror(-e));
		return 1;
	}
	if (guest_mem_init(&r->mem, RAM_SIZE) < 0 ||
	    virtio_net_init(&r->net, &r->tap, mac, 1, QUEUE_SIZE, net_engine_ops(o->engine), why,
			    sizeof(why)) < 0) {
		fprintf(stderr, "net-model: %s\n", why);
		return 1;
	}
	dev = &r->net.vdev;
	dev->transport_ops = &model_transport_ops;
	dev->transport = &r->tr;
	for (unsigned int q = 0; q < 3; q++) {
		r->kick_fd[q] = dev->kick_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		r->tr.irq_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		r->tr.nr_irq_fds = q + 1;
		if (r->kick_fd[q] < 0 || r->tr.irq_fd[q] < 0)
			return 1;
	}
	if (virtio_net_seal(&r->net, why, sizeof(why)) < 0) {
		fprintf(stderr, "net-model: %s\n", why);
		return 1;
	}
	r->saved_flags = fcntl(r->tap.fd[0], F_GETFL);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: net-model [--seconds S] [--rounds N] [--engine io_uring|sync] [--spin-us U]\n"
	      "                 [--only PREFIX]\n"
	      "The virtio-net device model on a tap against plain readv/writev on the same tap,\n"
	      "guest-to-host (tx) and host-to-guest (rx), 64 B, 1514 B and 64 KiB frames.\n"
	      "Needs root (a network namespace of its own).\n",
	      f);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"seconds", required_argument, NULL, 's'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"engine", required_argument, NULL, 'e'},
	    {"spin-us", required_argument, NULL, 'u'},
	    {"only", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	*o = (struct opts){.seconds = 1, .rounds = 3, .spin_us = DEFAULT_SPIN_US};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->seconds = strtod(optarg, &end);
			if (*end || !(o->seconds >= 0.05 && o->seconds <= 60))
				goto bad;
			break;
		case 'r':
			o->rounds = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || o->rounds < 1 || o->rounds > MAX_ROUNDS)
				goto bad;
			break;
		case 'u':
			o->spin_us = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || o->spin_us > 100000)
				goto bad;
			break;
		case 'e':
			if (!strcmp(optarg, "io_uring"))
				o->engine = NET_ENGINE_IO_URING;
			else if (!strcmp(optarg, "sync"))
				o->engine = NET_ENGINE_SYNC;
			else
				goto bad;
			break;
		case 'o':
			o->only = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind == argc)
		return 0;
bad:
	fprintf(stderr, "net-model: bad option or value '%s'\n", argv[optind - 1]);
	usage(stderr);
	return 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static struct rig r;
	struct opts o;
	int e = parse(argc, argv, &o);
	bool all_met = true;

	if (e)
		return e;
	e = rig_init(&r, &o);
	if (e)
		return e;
	printf("net-model: engine %s, %u rounds of %.2f s, spin %u us; median of rounds\n",
	       net_engine_name(o.engine), o.rounds, o.seconds, o.spin_us);
	printf("%-10s %11s %7s %11s %7s %6s %5s %9s %8s %8s %8s\n", "workload", "model pps",
	       "Gbit/s", "plain pps", "Gbit/s", "ratio", "goal", "kicks/pkt", "irqs/pkt", "dev ns",
	       "plain ns");
	for (unsigned int i = 0; i < NR_WORKLOADS; i++) {
		const struct workload *w = &workloads[i];
		struct figures m[MAX_ROUNDS], p[MAX_ROUNDS];
		double ratio[MAX_ROUNDS], mp[MAX_ROUNDS], pp[MAX_ROUNDS], kicks = 0, irqs = 0, med;
		double dev_ns = 0, plain_ns = 0;

		if (o.only && strncmp(w->name, o.only, strlen(o.only)) != 0)
			continue;

		for (unsigned int k = 0; k < o.rounds; k++) {
			/* Alternate which goes first: the machine drifts. */
			for (int step = 0; step < 2; step++) {
				bool model = (step == 0) == (k % 2 == 0);

				e = model ? (w->dir == GUEST_TO_HOST ? model_tx(&r, w, &m[k])
								     : model_rx(&r, w, &m[k]))
					  : reference(&r, w, &p[k]);
				if (e < 0) {
					fprintf(stderr, "net-model: %s (%s): %s\n", w->name,
						model ? "model" : "plain", strerror(-e));
					return 1;
				}
			}
			ratio[k] = p[k].pps > 0 ? m[k].pps / p[k].pps : 0;
			mp[k] = m[k].pps;
			pp[k] = p[k].pps;
			kicks += m[k].kicks_per_pkt / o.rounds;
			irqs += m[k].irqs_per_pkt / o.rounds;
			dev_ns += m[k].cpu_ns_per_pkt / o.rounds;
			plain_ns += p[k].cpu_ns_per_pkt / o.rounds;
		}
		qsort(ratio, o.rounds, sizeof(double), cmp_double);
		qsort(mp, o.rounds, sizeof(double), cmp_double);
		qsort(pp, o.rounds, sizeof(double), cmp_double);
		med = ratio[o.rounds / 2];
		all_met &= med >= w->goal;
		printf("%-10s %11.0f %7.2f %11.0f %7.2f %6.2f %5.2f %9.3f %8.3f %8.0f %8.0f%s\n",
		       w->name, mp[o.rounds / 2], mp[o.rounds / 2] * w->frame * 8 / 1e9,
		       pp[o.rounds / 2], pp[o.rounds / 2] * w->frame * 8 / 1e9, med, w->goal, kicks,
		       irqs, dev_ns, plain_ns, med >= w->goal ? "" : "  (goal missed)");
	}
	{
		struct virtio_net_counters c;

		virtio_net_counters(&r.net, &c);
		printf("device: rx %" PRIu64 " tx %" PRIu64 " frames; rx errors %" PRIu64
		       ", tx errors %" PRIu64 ", rx bad header %" PRIu64 ", needs reset %u\n",
		       c.rx_packets, c.tx_packets, c.rx_errors, c.tx_errors, c.rx_bad_header,
		       atomic_load(&r.tr.needs_reset));
	}
	printf("net-model: %s\n", all_met ? "every goal met" : "a goal was missed");
	virtio_net_destroy(&r.net);
	net_tap_close(&r.tap);
	return 0;
}
