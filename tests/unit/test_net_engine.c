/* SPDX-License-Identifier: MIT */
/*
 * The net engines (net/engine.h) on both implementations, over a
 * SOCK_SEQPACKET socketpair that keeps frame boundaries as a tap does; and
 * the tap backend (net/tap.h) on a real tap in a network namespace of the
 * test's own, where the host allows one (SKIP with the reason where not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/engine.h"
#include "net/tap.h"

struct pair {
	int sv[2]; /* sv[0]: the engine's "tap", sv[1]: the other end */
	struct net_ioq q;
};

static int setup_pair(void **state, const struct net_engine_ops *ops)
{
	static struct pair p;

	if (ops == &net_engine_uring && !net_engine_available(NET_ENGINE_IO_URING)) {
		skip();
		return -1;
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p.sv), 0);
	assert_int_equal(net_ioq_init(&p.q, ops, p.sv[0], 8), 0);
	*state = &p;
	return 0;
}

static int setup_uring(void **state)
{
	return setup_pair(state, &net_engine_uring);
}

static int setup_sync(void **state)
{
	return setup_pair(state, &net_engine_sync);
}

static int teardown(void **state)
{
	struct pair *p = *state;

	if (!p)
		return 0;
	net_ioq_fini(&p->q);
	close(p->sv[0]);
	close(p->sv[1]);
	return 0;
}

/* Wait for one I/O completion, skipping fd events; bounded. */
static struct net_io *wait_io(struct net_ioq *q)
{
	struct net_event ev[4];

	for (int tries = 0; tries < 50; tries++) {
		int n = net_ioq_wait(q, ev, 1, 100);

		assert_true(n >= 0);
		if (n == 1 && ev[0].kind == NET_EV_IO)
			return ev[0].io;
	}
	fail_msg("no completion within 5 s");
	return NULL;
}

static void test_write_keeps_frame(void **state)
{
	struct pair *p = *state;
	char a[] = "head-", b[] = "tail";
	struct iovec iov[2] = {{a, 5}, {b, 4}};
	struct net_io io = {.op = NET_OP_WRITE, .iov = iov, .niov = 2};
	char got[32];

	assert_int_equal(net_ioq_queue(&p->q, &io), 0);
	assert_ptr_equal(wait_io(&p->q), &io);
	assert_int_equal(io.res, 9);
	assert_int_equal(p->q.inflight, 0);
	assert_int_equal(read(p->sv[1], got, sizeof(got)), 9);
	assert_memory_equal(got, "head-tail", 9);
}

static void test_read_waits_for_frame(void **state)
{
	struct pair *p = *state;
	char buf1[4], buf2[16];
	struct iovec iov[2] = {{buf1, sizeof(buf1)}, {buf2, sizeof(buf2)}};
	struct net_io io = {.op = NET_OP_READ, .iov = iov, .niov = 2};
	struct net_event ev[2];

	assert_int_equal(net_ioq_queue(&p->q, &io), 0);
	/* Nothing sent yet: a poll-only wait finds nothing. */
	assert_int_equal(net_ioq_wait(&p->q, ev, 2, 0), 0);
	assert_int_equal(p->q.inflight, 1);
	assert_int_equal(write(p->sv[1], "0123456789", 10), 10);
	assert_ptr_equal(wait_io(&p->q), &io);
	assert_int_equal(io.res, 10);
	assert_memory_equal(buf1, "0123", 4);
	assert_memory_equal(buf2, "456789", 6);
}

static void test_reads_take_frames_in_order(void **state)
{
	struct pair *p = *state;
	char buf[3][8];
	struct iovec iov[3];
	struct net_io io[3];

	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
		io[i] = (struct net_io){.op = NET_OP_READ, .iov = &iov[i], .niov = 1};
		assert_int_equal(net_ioq_queue(&p->q, &io[i]), 0);
	}
	assert_int_equal(write(p->sv[1], "a", 1), 1);
	assert_int_equal(write(p->sv[1], "bb", 2), 2);
	for (int i = 0; i < 2; i++) {
		struct net_io *done = wait_io(&p->q);

		assert_true(done == &io[0] || done == &io[1] || done == &io[2]);
		assert_true(done->res == 1 || done->res == 2);
	}
	/* The third is still out: cancel brings it back. */
	assert_int_equal(p->q.inflight, 1);
	for (int i = 0; i < 3; i++)
		net_ioq_cancel(&p->q, &io[i]);
	assert_int_equal(wait_io(&p->q)->res, -ECANCELED);
	assert_int_equal(p->q.inflight, 0);
}

static void test_cancel_pending_read(void **state)
{
	struct pair *p = *state;
	char buf[8];
	struct iovec iov = {buf, sizeof(buf)};
	struct net_io io = {.op = NET_OP_READ, .iov = &iov, .niov = 1, .res = 12345};

	assert_int_equal(net_ioq_queue(&p->q, &io), 0);
	assert_int_equal(net_ioq_cancel(&p->q, &io), 0);
	assert_ptr_equal(wait_io(&p->q), &io);
	assert_int_equal(io.res, -ECANCELED);
	assert_int_equal(p->q.inflight, 0);
	/* The next frame is not lost to the cancelled read. */
	assert_int_equal(write(p->sv[1], "x", 1), 1);
	io.res = 0;
	assert_int_equal(net_ioq_queue(&p->q, &io), 0);
	assert_ptr_equal(wait_io(&p->q), &io);
	assert_int_equal(io.res, 1);
	assert_int_equal(buf[0], 'x');
}

static void test_watch_reports_tag(void **state)
{
	struct pair *p = *state;
	struct net_event ev[4];
	uint64_t one = 1, v;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int n = 0;

	assert_true(efd >= 0);
	assert_int_equal(net_ioq_watch(&p->q, efd, 77), 0);
	assert_int_equal(net_ioq_wait(&p->q, ev, 4, 0), 0);
	/* Twice: a multishot poll must keep reporting after the first drain. */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
		for (int tries = 0; tries < 50 && n == 0; tries++)
			n = net_ioq_wait(&p->q, ev, 4, 100);
		assert_int_equal(n, 1);
		assert_int_equal(ev[0].kind, NET_EV_FD);
		assert_int_equal(ev[0].tag, 77);
		assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
		n = 0;
	}
	close(efd);
}

static void test_depth_limit(void **state)
{
	struct pair *p = *state;
	char buf[8][4];
	struct iovec iov[9];
	struct net_io io[9];

	for (int i = 0; i < 9; i++) {
		iov[i] = (struct iovec){buf[i % 8], 4};
		io[i] = (struct net_io){.op = NET_OP_READ, .iov = &iov[i], .niov = 1};
		assert_int_equal(net_ioq_queue(&p->q, &io[i]), i < 8 ? 0 : -EAGAIN);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(net_ioq_cancel(&p->q, &io[i]), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(wait_io(&p->q)->res, -ECANCELED);
	assert_int_equal(p->q.inflight, 0);
}

static void test_write_error_reported(void **state)
{
	struct pair *p = *state;
	char a[4] = "abc";
	struct iovec iov = {a, 3};
	struct net_io io = {.op = NET_OP_WRITE, .iov = &iov, .niov = 1};

	/* The far end gone: the write completes with the error, nothing hangs. */
	close(p->sv[1]);
	p->sv[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(net_ioq_queue(&p->q, &io), 0);
	assert_ptr_equal(wait_io(&p->q), &io);
	assert_int_equal(io.res, -EPIPE);
}

static void test_engine_names(void **state)
{
	(void)state;
	assert_string_equal(net_engine_name(NET_ENGINE_IO_URING), "io_uring");
	assert_string_equal(net_engine_name(NET_ENGINE_SYNC), "sync");
	assert_true(net_engine_available(NET_ENGINE_SYNC));
	assert_ptr_equal(net_engine_ops(NET_ENGINE_SYNC), &net_engine_sync);
}

/* ---- the tap backend, in a network namespace of our own ---- */

static bool have_netns;
static char netns_why[128];

static void enter_netns(void)
{
	static bool tried;

	if (tried)
		return;
	tried = true;
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		snprintf(netns_why, sizeof(netns_why), "no usable /dev/net/tun: %s",
			 strerror(errno));
		return;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(netns_why, sizeof(netns_why), "cannot make a network namespace: %s",
			 strerror(errno));
		return;
	}
	have_netns = true;
}

#define NEED_NETNS()                                                                               \
	do {                                                                                       \
		enter_netns();                                                                     \
		if (!have_netns) {                                                                 \
			print_message("SKIP: %s\n", netns_why);                                    \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void set_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

/* A packet socket on the tap: what it sends comes out of the tap fd, and the reverse. */
static int packet_socket(const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(s >= 0);
	sll.sll_ifindex = (int)if_nametoindex(name);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static void test_tap_open_errors(void **state)
{
	struct net_tap tap, tap2;
	char why[256];

	(void)state;
	NEED_NETNS();
	assert_int_equal(net_tap_open(&tap, "a-name-far-too-long", 1, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "longer than"));
	assert_int_equal(net_tap_open(&tap, "nv0", 0, why, sizeof(why)), -EINVAL);
	assert_int_equal(net_tap_open(&tap, "nv0", NET_TAP_MAX_QUEUES + 1, why, sizeof(why)),
			 -EINVAL);

	/* A tap made without multi_queue: one queue opens it, two are told why not. */
	{
		struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

		assert_true(fd >= 0);
		strcpy(ifr.ifr_name, "nv1");
		assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
		assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
		close(fd);
		assert_int_equal(net_tap_open(&tap2, "nv1", 2, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "multi_queue"));
		assert_int_equal(net_tap_open(&tap, "nv1", 1, why, sizeof(why)), 0);
		assert_int_equal(tap.nr_queues, 1);
		net_tap_close(&tap);
	}
	/* A tap made without multi_queue, held by someone: EBUSY. */
	{
		struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

		assert_true(fd >= 0);
		strcpy(ifr.ifr_name, "nv2");
		assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
		assert_int_equal(net_tap_open(&tap, "nv2", 1, why, sizeof(why)), -EBUSY);
		assert_non_null(strstr(why, "in use"));
		close(fd);
	}
	/* A multi_queue tap someone holds: the kernel would let us attach beside them. */
	assert_int_equal(net_tap_open(&tap, "nvq0", 2, why, sizeof(why)), 0);
	assert_int_equal(net_tap_open(&tap2, "nvq0", 1, why, sizeof(why)), -EBUSY);
	assert_non_null(strstr(why, "tap nvq0 is in use by another process (2 queues held)"));
	/* Its queues detached still count: they are held. */
	assert_int_equal(net_tap_set_queue(tap.fd[1], false), 0);
	assert_int_equal(net_tap_open(&tap2, "nvq0", 2, why, sizeof(why)), -EBUSY);
	net_tap_close(&tap);
	assert_int_equal(net_tap_open(&tap2, "nvq0", 2, why, sizeof(why)), 0);
	net_tap_close(&tap2);
	/* A tun, not a tap. */
	{
		struct ifreq ifr = {.ifr_flags = IFF_TUN | IFF_NO_PI};
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

		assert_true(fd >= 0);
		strcpy(ifr.ifr_name, "nv3");
		assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
		assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
		close(fd);
		assert_true(net_tap_open(&tap, "nv3", 1, why, sizeof(why)) < 0);
		assert_non_null(strstr(why, "nv3"));
	}
}

static void test_tap_kernel_name_and_offloads(void **state)
{
	struct net_tap tap;
	char why[256];

	(void)state;
	NEED_NETNS();
	assert_int_equal(net_tap_open(&tap, "", 2, why, sizeof(why)), 0);
	assert_true(tap.kernel_named);
	assert_int_equal(strncmp(tap.name, "tap", 3), 0);
	assert_int_equal(tap.nr_queues, 2);
	assert_true(tap.fd[0] >= 0 && tap.fd[1] >= 0 && tap.fd[2] == -1);
	assert_int_equal(tap.mtu, 1500);
	/* Every kernel this runs on takes checksum and TSO offloads. */
	assert_true(tap.offloads & TUN_F_CSUM);
	assert_true(tap.offloads & TUN_F_TSO4);
	assert_int_equal(net_tap_set_offload(tap.fd[0], tap.offloads), 0);
	assert_int_equal(net_tap_set_offload(tap.fd[0], TUN_F_TSO4), -EINVAL);
	/* The MTU: set on the interface, kept for the device to offer. */
	assert_int_equal(net_tap_set_mtu(&tap, 9000, why, sizeof(why)), 0);
	assert_int_equal(tap.mtu, 9000);
	{
		struct ifreq ifr;
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap.name);
		assert_int_equal(ioctl(s, SIOCGIFMTU, &ifr), 0);
		assert_int_equal(ifr.ifr_mtu, 9000);
		close(s);
	}
	assert_int_equal(net_tap_set_mtu(&tap, 67, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "MTU 67 is not in 68..65521"));
	assert_int_equal(tap.mtu, 9000);
	assert_int_equal(net_tap_set_mtu(&tap, NET_TAP_MAX_MTU, why, sizeof(why)), 0);
	/* Queues detach and come back. */
	assert_int_equal(net_tap_set_queue(tap.fd[1], false), 0);
	assert_int_equal(net_tap_set_queue(tap.fd[1], true), 0);
	net_tap_close(&tap);
	assert_int_equal(tap.fd[0], -1);
}

static void tap_frames(const struct net_engine_ops *ops)
{
	struct net_tap tap;
	struct net_ioq q;
	char why[256];
	uint8_t frame[12 + 60], got[12 + 1600];
	struct iovec iov;
	struct net_io io;
	int ps;

	NEED_NETNS();
	if (ops == &net_engine_uring && !net_engine_available(NET_ENGINE_IO_URING))
		skip();
	assert_int_equal(net_tap_open(&tap, "nvf0", 1, why, sizeof(why)), 0);
	set_up("nvf0");
	ps = packet_socket("nvf0");
	assert_int_equal(net_ioq_init(&q, ops, tap.fd[0], 4), 0);

	/* Guest to host: header + broadcast frame written to the tap, seen on the socket. */
	memset(frame, 0, sizeof(frame));
	memset(frame + 12, 0xff, 6);
	memcpy(frame + 12 + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5",
	       8); /* local experimental ethertype */
	memcpy(frame + 12 + 14, "guest-to-host", 13);
	iov = (struct iovec){frame, sizeof(frame)};
	io = (struct net_io){.op = NET_OP_WRITE, .iov = &iov, .niov = 1};
	assert_int_equal(net_ioq_queue(&q, &io), 0);
	assert_ptr_equal(wait_io(&q), &io);
	assert_int_equal(io.res, sizeof(frame));
	for (int tries = 0;; tries++) {
		ssize_t n = recv(ps, got, sizeof(got), 0);

		assert_true(n > 0 && tries < 100);
		if (n == 60 && memcmp(got + 14, "guest-to-host", 13) == 0)
			break;
	}

	/* Host to guest: a frame sent on the socket comes out of the tap behind a header. */
	memcpy(frame + 12 + 14, "host-to-guest", 13);
	iov = (struct iovec){got, sizeof(got)};
	io = (struct net_io){.op = NET_OP_READ, .iov = &iov, .niov = 1};
	assert_int_equal(net_ioq_queue(&q, &io), 0);
	assert_int_equal(send(ps, frame + 12, 60, 0), 60);
	for (int tries = 0;; tries++) {
		assert_ptr_equal(wait_io(&q), &io);
		assert_true(io.res > 12 && tries < 100);
		if (io.res == 72 && memcmp(got + 12 + 14, "host-to-guest", 13) == 0)
			break;
		/* Something else the namespace sent (IPv6 chatter): read again. */
		assert_int_equal(net_ioq_queue(&q, &io), 0);
	}
	net_ioq_fini(&q);
	close(ps);
	net_tap_close(&tap);
}

static void test_tap_frames_uring(void **state)
{
	(void)state;
	tap_frames(&net_engine_uring);
}

static void test_tap_frames_sync(void **state)
{
	(void)state;
	tap_frames(&net_engine_sync);
}

#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_uring, teardown),                                 \
	    cmocka_unit_test_setup_teardown(t, setup_sync, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_write_keeps_frame),
	    BOTH(test_read_waits_for_frame),
	    BOTH(test_reads_take_frames_in_order),
	    BOTH(test_cancel_pending_read),
	    BOTH(test_watch_reports_tag),
	    BOTH(test_depth_limit),
	    BOTH(test_write_error_reported),
	    cmocka_unit_test(test_engine_names),
	    cmocka_unit_test(test_tap_open_errors),
	    cmocka_unit_test(test_tap_kernel_name_and_offloads),
	    cmocka_unit_test(test_tap_frames_uring),
	    cmocka_unit_test(test_tap_frames_sync),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
