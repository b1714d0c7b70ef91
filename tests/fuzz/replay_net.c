/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net fuzz target's replay: edge inputs whose outcome is known
 * and the verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_net.h"
#include "tests/fuzz/replay.h"

/* The target's input encoding (see fuzz_net.c). */
#define FEAT_CSUM 1
#define FEAT_TSO  2
#define FEAT_CTRL 8
#define FEAT_MQ	  16
#define LEN(i)	  ((uint16_t)(i)) /* an index into its table of lengths */
#define L_12	  LEN(5)
#define L_60	  LEN(10)
#define L_5	  LEN(2)
#define L_2	  LEN(1)
#define L_1	  LEN(0)

/* Features, max_pairs 4, a chain of @out readable and @in writable buffers, head 7. */
static void chain(struct replay_buf *b, uint8_t feat, unsigned int out, unsigned int in,
		  const uint16_t *lens)
{
	b->n = 0;
	replay_put8(b, feat);
	replay_put8(b, 3);
	replay_put8(b, (uint8_t)(out | in << 3));
	replay_put16(b, 7);
	for (unsigned int i = 0; i < out + in; i++)
		replay_put16(b, lens[i]);
}

/* The header's 12 bytes as given (shape 0: taken as they are). */
static void header(struct replay_buf *b, uint8_t flags, uint8_t gso, uint16_t hdr_len,
		   uint16_t gso_size, uint16_t csum_start, uint16_t csum_offset)
{
	replay_put8(b, 0);
	replay_put8(b, flags);
	replay_put8(b, gso);
	replay_put16(b, hdr_len);
	replay_put16(b, gso_size);
	replay_put16(b, csum_start);
	replay_put16(b, csum_offset);
	replay_put16(b, 0);
	replay_put32(b, 0); /* the first 4 frame bytes, in the 16-byte head */
}

void replay_edges(void)
{
	struct fuzz_net_stats *st = &fuzz_net_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));
	uint16_t hdr_frame[] = {L_12, L_60};
	uint16_t split[] = {L_5, LEN(3), L_60}; /* 5 + 10 bytes of header and frame, then 60 */
	uint16_t cmd_ack[] = {L_2, L_1, L_1};

	if (!b)
		exit(1);

	chain(b, 0, 2, 0, hdr_frame);
	header(b, 0, 0, 0, 0, 0, 0);
	replay_expect("a plain 60-byte frame", b, &st->tx[NET_TX_OK], 1);

	chain(b, 0, 2, 0, hdr_frame);
	header(b, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 6);
	replay_expect("a checksum request without CSUM", b, &st->tx[NET_TX_CSUM], 1);

	chain(b, FEAT_CSUM, 2, 0, hdr_frame);
	header(b, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 50, 9);
	replay_expect("a checksum field past the frame", b, &st->tx[NET_TX_CSUM], 1);

	chain(b, FEAT_CSUM | FEAT_TSO, 2, 0, hdr_frame);
	header(b, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 20, 34, 16);
	replay_expect("a TSO frame", b, &st->tx_gso, 1);

	chain(b, FEAT_CSUM, 2, 0, hdr_frame);
	header(b, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 20, 34, 16);
	replay_expect("a TSO frame without HOST_TSO4", b, &st->tx[NET_TX_GSO], 1);

	chain(b, 0, 3, 0, split);
	header(b, 0, 0, 0, 0, 0, 0);
	replay_expect("a header split over two buffers", b, &st->tx[NET_TX_OK], 1);

	chain(b, 0, 2, 1, (uint16_t[]){L_12, L_60, L_1});
	header(b, 0, 0, 0, 0, 0, 0);
	replay_expect("a TX chain with a writable buffer", b, &st->tx[NET_TX_WRITABLE], 1);

	/* Control: class RX, PROMISC, on; then the ack byte. */
	chain(b, FEAT_CTRL, 2, 1, cmd_ack);
	replay_put8(b, 0);
	replay_put8(b, VIRTIO_NET_CTRL_RX);
	replay_put8(b, VIRTIO_NET_CTRL_RX_PROMISC);
	replay_put8(b, 1);
	replay_expect("PROMISC on", b, &st->ctrl[NET_CTRL_PROMISC], 1);

	chain(b, 0, 2, 1, cmd_ack);
	replay_put8(b, 0);
	replay_put8(b, VIRTIO_NET_CTRL_RX);
	replay_put8(b, VIRTIO_NET_CTRL_RX_PROMISC);
	replay_put8(b, 1);
	replay_expect("PROMISC without CTRL_RX", b, &st->ctrl[NET_CTRL_REJECT], 1);

	chain(b, FEAT_CTRL | FEAT_MQ, 2, 1, (uint16_t[]){L_2, L_2, L_1});
	replay_put8(b, 0);
	replay_put8(b, VIRTIO_NET_CTRL_MQ);
	replay_put8(b, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	replay_put16(b, 4);
	replay_expect("VQ_PAIRS_SET 4 of 4", b, &st->ctrl[NET_CTRL_VQ_PAIRS], 1);

	chain(b, FEAT_CTRL, 2, 0, cmd_ack);
	replay_expect("a command with nowhere to answer", b, &st->ctrl_noack, 1);

	free(b);
}

/* The edges cover each accepted command; random inputs must reach a few (exact lengths are rare). */
bool replay_verdict(void)
{
	const struct fuzz_net_stats *st = &fuzz_net_stats;
	unsigned long ctrl_ok = 0;

	for (int i = NET_CTRL_PROMISC; i <= NET_CTRL_OFFLOADS; i++)
		ctrl_ok += st->ctrl[i];
	printf("tx sent %lu (gso %lu), short %lu, csum %lu, gso %lu, flags %lu, writable %lu, "
	       "segments %lu; ctrl accepted %lu, rejected %lu, no ack %lu\n",
	       st->tx[NET_TX_OK], st->tx_gso, st->tx[NET_TX_SHORT], st->tx[NET_TX_CSUM],
	       st->tx[NET_TX_GSO], st->tx[NET_TX_FLAGS], st->tx[NET_TX_WRITABLE],
	       st->tx[NET_TX_SEGMENTS], ctrl_ok, st->ctrl[NET_CTRL_REJECT], st->ctrl_noack);
	return st->tx[NET_TX_OK] >= 100 && st->tx_gso >= 10 && st->tx[NET_TX_SHORT] >= 50 &&
	       st->tx[NET_TX_CSUM] >= 50 && st->tx[NET_TX_GSO] >= 50 &&
	       st->tx[NET_TX_FLAGS] >= 50 && st->tx[NET_TX_WRITABLE] >= 50 && ctrl_ok >= 5 &&
	       st->ctrl[NET_CTRL_REJECT] >= 100;
}
