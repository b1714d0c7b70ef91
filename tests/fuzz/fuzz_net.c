/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for what virtio-net takes from a hostile driver: TX chains
 * (net_tx_layout, net_hdr_check_tx) and control commands (net_ctrl_take,
 * net_ctrl_decode). The input is decoded into the negotiated features and
 * a descriptor chain as virtq_pop() would return it: up to 8 readable and
 * 2 writable buffers, each alone in its own pages and ending right at a
 * PROT_NONE guard page. The target lays the chain out as the device does,
 * checks every promise (the header copy is the chain's first 12 bytes, the
 * frame's iovecs are exactly the rest, in place, every checked field within
 * the frame), reads what the tap would read, and decodes the chain as a
 * control command, writing the ack where the device would.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "tests/fuzz/fuzz_guard.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_net.h"
#include "virtio/virtqueue.h"

#define MAX_OUT	   8
#define MAX_IN	   2
#define SLOT_BYTES 0x11000u /* a 64 KiB frame fits one buffer */
#define MAX_IOV	   8	    /* the layout's limit here: small, so that it is reached */

struct fuzz_net_stats fuzz_net_stats;

struct state {
	uint8_t *slot[MAX_OUT + MAX_IN]; /* each SLOT_BYTES, followed by a guard page */
	struct virtq_chain chain;
	struct iovec iov[MAX_IOV];
	uint8_t cmd[NET_CTRL_MAX];
};

static struct state *state_get(void)
{
	static struct state *st;

	if (!st) {
		static struct state storage;

		fuzz_guarded_slots(storage.slot, MAX_OUT + MAX_IN, SLOT_BYTES);
		st = &storage;
	}
	return st;
}

/* Lengths around the edges that matter: the header, an Ethernet header, a frame, 64 KiB. */
static uint32_t decode_len(struct input *in)
{
	static const uint32_t sizes[] = {1,  2,	 5,  10, 11,   12,   13,    25,
					 26, 27, 60, 3,	 1514, 1526, 65000, 4};
	uint16_t v = get16(in);

	if (v & 0x8000)
		return 1 + v % (SLOT_BYTES - 1);
	return sizes[v % (sizeof(sizes) / sizeof(sizes[0]))];
}

/* Feature sets near what Linux negotiates, or anything. */
static uint64_t decode_features(struct input *in)
{
	uint8_t v = get8(in);

	if (v & 0x80)
		return get64(in);
	return (v & 1 ? NET_BIT(VIRTIO_NET_F_CSUM) : 0) |
	       (v & 2 ? NET_BIT(VIRTIO_NET_F_HOST_TSO4) | NET_BIT(VIRTIO_NET_F_HOST_TSO6) : 0) |
	       (v & 4 ? NET_BIT(VIRTIO_NET_F_HOST_ECN) | NET_BIT(VIRTIO_NET_F_HOST_USO) : 0) |
	       (v & 8 ? NET_BIT(VIRTIO_NET_F_CTRL_RX) | NET_BIT(VIRTIO_NET_F_CTRL_VQ) : 0) |
	       (v & 16 ? NET_BIT(VIRTIO_NET_F_MQ) : 0) |
	       (v & 32 ? NET_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | NET_GUEST_OFFLOADS : 0);
}

/* The first bytes of the readable stream: a header (or a command) shaped by the input. */
static void fill_head(struct input *in, uint8_t *head, size_t n)
{
	uint8_t shape = get8(in);

	for (size_t i = 0; i < n; i++)
		head[i] = get8(in);
	if (n >= 12 && (shape & 1)) {
		/* A plausible header: few flags, a known GSO type, small fields. */
		static const uint8_t gso[] = {0, 1, 3, 4, 5, 0x81, 0x84, 0x80};

		head[0] &= 3;
		head[1] = gso[shape >> 1 & 7];
		head[3] = head[5] = head[7] = head[9] = 0;
	}
	if (n >= 2 && (shape & 0x10)) {
		head[0] = shape >> 5 & 7; /* a command class 0..7 */
		head[1] &= 1;
		if (n >= 3)
			head[2] &= 3; /* on/off, or a small pair count */
		if (n >= 4)
			head[3] = 0;
	}
}

static uint64_t sum_iov(const struct iovec *iov, unsigned int n)
{
	uint64_t s = 0;

	for (unsigned int i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

/* The byte at offset @off of the chain's readable stream. */
static const uint8_t *stream_at(const struct virtq_chain *c, uint64_t off)
{
	for (unsigned int i = 0; i < c->nr_out; i++) {
		if (off < c->iov[i].len)
			return (const uint8_t *)c->iov[i].base + off;
		off -= c->iov[i].len;
	}
	return NULL;
}

static void check_tx(struct state *st, uint64_t features)
{
	const struct virtq_chain *c = &st->chain;
	struct virtio_net_hdr hdr;
	unsigned int niov = 0;
	enum net_tx_drop why = net_tx_layout(c, features, &hdr, st->iov, MAX_IOV, &niov);
	uint64_t frame, off = NET_HDR_LEN;

	if ((unsigned int)why >= NET_TX_NR)
		__builtin_trap();
	fuzz_net_stats.tx[why]++;
	if (why != NET_TX_OK)
		return;
	frame = c->out_len - NET_HDR_LEN;
	/* What was checked is the chain's header, and it passes the check on its own. */
	if (c->nr_in || c->out_len < NET_HDR_LEN + NET_ETH_HLEN || niov < 1 || niov > MAX_IOV ||
	    st->iov[0].iov_base != &hdr || st->iov[0].iov_len != NET_HDR_LEN ||
	    net_hdr_check_tx(&hdr, frame, features) != NET_TX_OK)
		__builtin_trap();
	for (unsigned int i = 0; i < NET_HDR_LEN; i++)
		if (*stream_at(c, i) != ((uint8_t *)&hdr)[i])
			__builtin_trap();
	if ((hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint64_t)hdr.csum_start + hdr.csum_offset + 2 > frame)
		__builtin_trap();
	if (hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (hdr.gso_size == 0 || hdr.gso_size > frame || hdr.hdr_len > frame)
			__builtin_trap();
		fuzz_net_stats.tx_gso++;
	}
	/* The rest is the frame, in place, in order, each piece inside one buffer. */
	if (sum_iov(st->iov + 1, niov - 1) != frame)
		__builtin_trap();
	for (unsigned int i = 1; i < niov; i++) {
		const uint8_t *b = st->iov[i].iov_base;
		size_t len = st->iov[i].iov_len;
		volatile const uint8_t *p = b;

		if (len == 0 || stream_at(c, off) != b ||
		    stream_at(c, off + len - 1) != b + len - 1)
			__builtin_trap();
		(void)p[0];
		(void)p[len - 1];
		off += len;
	}
}

static void check_ctrl(struct state *st, uint64_t features, uint16_t max_pairs)
{
	const struct virtq_chain *c = &st->chain;
	uint8_t *ack = NULL;
	size_t len = 0;
	int r = net_ctrl_take(c, st->cmd, sizeof(st->cmd), &len, &ack);
	struct net_ctrl_cmd cmd;

	if (r == -EINVAL) {
		if (c->nr_in || ack)
			__builtin_trap();
		fuzz_net_stats.ctrl_noack++;
		return;
	}
	if (!ack || ack != c->iov[c->nr_out].base)
		__builtin_trap();
	if (r == -ENOSPC) {
		if (c->out_len <= NET_CTRL_MAX)
			__builtin_trap();
		fuzz_net_stats.ctrl_long++;
		*ack = VIRTIO_NET_ERR;
		return;
	}
	if (r != 0 || len != c->out_len || (len && memcmp(st->cmd, stream_at(c, 0), 1)))
		__builtin_trap();
	cmd = net_ctrl_decode(st->cmd, len, features, max_pairs);
	switch (cmd.action) {
	case NET_CTRL_REJECT:
		break;
	case NET_CTRL_PROMISC:
	case NET_CTRL_ALLMULTI:
		if (cmd.arg > 1 || len != 3 || !(features & NET_BIT(VIRTIO_NET_F_CTRL_RX)))
			__builtin_trap();
		break;
	case NET_CTRL_MAC_TABLE:
		if (len != 2 + 4 + 6 * cmd.arg + 4 + 6 * cmd.arg2)
			__builtin_trap();
		break;
	case NET_CTRL_VQ_PAIRS:
		if (cmd.arg < 1 || cmd.arg > max_pairs || !(features & NET_BIT(VIRTIO_NET_F_MQ)))
			__builtin_trap();
		break;
	case NET_CTRL_OFFLOADS:
		if (cmd.arg & ~(features & NET_GUEST_OFFLOADS))
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	fuzz_net_stats.ctrl[cmd.action]++;
	*ack = cmd.action == NET_CTRL_REJECT ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct state *st = state_get();
	struct virtq_chain *c = &st->chain;
	uint64_t features = decode_features(&in);
	uint16_t max_pairs = 1 + get8(&in) % 16;
	uint8_t shape = get8(&in);
	unsigned int nr_out = shape & 7, nr_in = (shape >> 3) % (MAX_IN + 1);
	uint8_t head[16];
	size_t head_n = 0;

	memset(c, 0, offsetof(struct virtq_chain, iov));
	c->head = get16(&in);
	if (shape & 0x80)
		nr_out++; /* up to 8 */
	for (unsigned int i = 0; i < nr_out + nr_in; i++) {
		uint32_t len = decode_len(&in);
		/* Each buffer ends at its guard page. */
		uint8_t *base = st->slot[i] + SLOT_BYTES - len;

		c->iov[i] = (struct virtq_iov){base, len};
		if (i < nr_out)
			c->out_len += len;
		else
			c->in_len += len;
	}
	c->nr_out = nr_out;
	c->nr_in = nr_in;
	/* The stream's first bytes shaped by the input, the rest from it as it lasts. */
	head_n = c->out_len < sizeof(head) ? (size_t)c->out_len : sizeof(head);
	fill_head(&in, head, head_n);
	for (unsigned int i = 0; i < nr_out; i++) {
		uint8_t *b = c->iov[i].base;
		size_t n = c->iov[i].len < in.n ? c->iov[i].len : in.n;

		memcpy(b, in.p, n);
		memset(b + n, 0, c->iov[i].len - n);
		in.p += n;
		in.n -= n;
	}
	for (size_t off = 0; off < head_n; off++)
		*(uint8_t *)stream_at(c, off) = head[off];
	check_tx(st, features);
	check_ctrl(st, features, max_pairs);
	return 0;
}
