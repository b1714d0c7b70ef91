/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net wire formats (spec 5.1): feature bits, the config space,
 * the per-packet header, and the control queue's commands. Pure functions
 * over bytes the guest wrote: the device (net.c) copies a header or a
 * command once, then asks these whether it may act on it.
 */
#ifndef NESTVMM_VIRTIO_NET_HDR_H
#define NESTVMM_VIRTIO_NET_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits (spec 5.1.3). UFO (GUEST_UFO 10, HOST_UFO 14) is not offered: Linux dropped it in 4.14. */
#define VIRTIO_NET_F_CSUM		 0
#define VIRTIO_NET_F_GUEST_CSUM		 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU		 3
#define VIRTIO_NET_F_MAC		 5
#define VIRTIO_NET_F_GUEST_TSO4		 7
#define VIRTIO_NET_F_GUEST_TSO6		 8
#define VIRTIO_NET_F_GUEST_ECN		 9
#define VIRTIO_NET_F_GUEST_UFO		 10
#define VIRTIO_NET_F_HOST_TSO4		 11
#define VIRTIO_NET_F_HOST_TSO6		 12
#define VIRTIO_NET_F_HOST_ECN		 13
#define VIRTIO_NET_F_HOST_UFO		 14
#define VIRTIO_NET_F_MRG_RXBUF		 15
#define VIRTIO_NET_F_STATUS		 16
#define VIRTIO_NET_F_CTRL_VQ		 17
#define VIRTIO_NET_F_CTRL_RX		 18
#define VIRTIO_NET_F_CTRL_VLAN		 19
#define VIRTIO_NET_F_GUEST_ANNOUNCE	 21
#define VIRTIO_NET_F_MQ			 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR	 23
#define VIRTIO_NET_F_GUEST_USO4		 54
#define VIRTIO_NET_F_GUEST_USO6		 55
#define VIRTIO_NET_F_HOST_USO		 56

#define NET_BIT(b) (1ULL << (b))

/* The offloads the control queue may switch (spec 5.1.6.5.6.1). */
#define NET_GUEST_OFFLOADS                                                                         \
	(NET_BIT(VIRTIO_NET_F_GUEST_CSUM) | NET_BIT(VIRTIO_NET_F_GUEST_TSO4) |                     \
	 NET_BIT(VIRTIO_NET_F_GUEST_TSO6) | NET_BIT(VIRTIO_NET_F_GUEST_ECN) |                      \
	 NET_BIT(VIRTIO_NET_F_GUEST_UFO) | NET_BIT(VIRTIO_NET_F_GUEST_USO4) |                      \
	 NET_BIT(VIRTIO_NET_F_GUEST_USO6))

/* Config space (spec 5.1.4), little-endian; the fields up to mtu. */
struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
};
#define VIRTIO_NET_S_LINK_UP 1

/* The header before every packet (spec 5.1.6), VERSION_1 layout: always 12 bytes. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define NET_HDR_LEN 12

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2

#define VIRTIO_NET_HDR_GSO_NONE	  0
#define VIRTIO_NET_HDR_GSO_TCPV4  1
#define VIRTIO_NET_HDR_GSO_UDP	  3
#define VIRTIO_NET_HDR_GSO_TCPV6  4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#define VIRTIO_NET_HDR_GSO_ECN	  0x80

#define NET_ETH_HLEN  14
#define NET_VLAN_HLEN 4
/*
 * The largest frame either way: a 64 KiB GSO packet plus its Ethernet and
 * VLAN headers, as the tap takes and gives them.
 */
#define NET_MAX_FRAME (65535 + NET_ETH_HLEN + NET_VLAN_HLEN)
#define NET_MIN_MTU   68
#define NET_MAX_MTU   (65535 - NET_ETH_HLEN - NET_VLAN_HLEN)

/* Why a TX packet was dropped; the device counts each. */
enum net_tx_drop {
	NET_TX_OK,
	NET_TX_SHORT,	 /* fewer than header + Ethernet header bytes */
	NET_TX_LONG,	 /* more than NET_MAX_FRAME after the header */
	NET_TX_FLAGS,	 /* a flag bit a driver may not set on TX */
	NET_TX_CSUM,	 /* NEEDS_CSUM without CSUM, or csum_start/offset outside the packet */
	NET_TX_GSO,	 /* a GSO type not negotiated, or gso_size/hdr_len out of range */
	NET_TX_WRITABLE, /* the chain had device-writable buffers */
	NET_TX_SEGMENTS, /* more buffers than the device gathers for one frame */
	NET_TX_NR
};

/* The names --stats prints ("short", "csum", ...). */
const char *net_tx_drop_name(enum net_tx_drop why);

/*
 * May a packet with header @h (as the guest wrote it, copied) and @frame_len
 * bytes after the header go to the tap, given the negotiated @features?
 * Checks what the tap would otherwise be trusted with: the flags, the
 * checksum span inside the frame, a GSO type the driver was offered, a
 * non-zero gso_size no larger than the frame, hdr_len within it.
 */
enum net_tx_drop net_hdr_check_tx(const struct virtio_net_hdr *h, uint64_t frame_len,
				  uint64_t features);

/*
 * The header the tap wrote before a received frame, made what the driver
 * was promised: num_buffers set (1 without MRG_RXBUF), flags cleared
 * without GUEST_CSUM. Returns false when the header carries a GSO type the
 * driver did not accept (the offloads were not switched as negotiated):
 * the frame must be dropped.
 */
bool net_hdr_fix_rx(struct virtio_net_hdr *h, uint64_t features, uint16_t num_buffers);

struct virtq_chain;
struct iovec;

/*
 * A TX chain as virtq_pop() gave it, made ready for the tap: the header
 * copied into @hdr and checked, then @iov[0] = @hdr and the frame's
 * buffers after it, in place (at most @max_iov entries in all). Returns
 * NET_TX_OK with *@niov set, or why the chain must be dropped.
 */
enum net_tx_drop net_tx_layout(const struct virtq_chain *c, uint64_t features,
			       struct virtio_net_hdr *hdr, struct iovec *iov, unsigned int max_iov,
			       unsigned int *niov);

/* The RX buffer one frame needs: header and frame, 64 KiB with a guest GSO offload. */
uint32_t net_rx_frame_need(uint64_t features, uint16_t mtu);

/* ---- the control queue (spec 5.1.6.5) ---- */

#define VIRTIO_NET_OK  0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_RX		   0
#define VIRTIO_NET_CTRL_RX_PROMISC	   0
#define VIRTIO_NET_CTRL_RX_ALLMULTI	   1
#define VIRTIO_NET_CTRL_MAC		   1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	   0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	   1
#define VIRTIO_NET_CTRL_VLAN		   2
#define VIRTIO_NET_CTRL_ANNOUNCE	   3
#define VIRTIO_NET_CTRL_MQ		   4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET	   0
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS	   5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

/* The most bytes of a command (class, command, data) the device reads: 680 MAC entries. */
#define NET_CTRL_MAX 4096

/*
 * A control chain's command: its readable bytes copied into @buf (at most
 * @cap, NET_CTRL_MAX) and where the ack byte goes (the first writable
 * byte). Returns 0, -ENOSPC when the command is longer than @cap (*@ack
 * still set: the device answers ERR), -EINVAL when there is nowhere to
 * answer (*@ack NULL).
 */
int net_ctrl_take(const struct virtq_chain *c, uint8_t *buf, size_t cap, size_t *len,
		  uint8_t **ack);

/* What a well-formed command asks for. */
enum net_ctrl_action {
	NET_CTRL_REJECT,    /* answer VIRTIO_NET_ERR, change nothing */
	NET_CTRL_PROMISC,   /* arg: 0 or 1 */
	NET_CTRL_ALLMULTI,  /* arg: 0 or 1 */
	NET_CTRL_MAC_TABLE, /* arg: unicast entries, arg2: multicast entries */
	NET_CTRL_VQ_PAIRS,  /* arg: queue pairs, 1..max */
	NET_CTRL_OFFLOADS,  /* arg: the guest offload feature bits to turn on */
};

struct net_ctrl_cmd {
	enum net_ctrl_action action;
	uint64_t arg;
	uint64_t arg2;
};

/*
 * Decode a command: @buf holds the @len device-readable bytes of the chain
 * (class, command, data). @features is the negotiated set, @max_pairs the
 * config's max_virtqueue_pairs. Every length is checked exactly; a command
 * of a class or feature not negotiated, or with data out of range, is
 * NET_CTRL_REJECT.
 */
struct net_ctrl_cmd net_ctrl_decode(const uint8_t *buf, size_t len, uint64_t features,
				    uint16_t max_pairs);

/* The tap's TUN_F_* offload flags for guest offload bits @guest (GUEST_CSUM and friends). */
unsigned int net_tun_offloads(uint64_t guest);

#endif
