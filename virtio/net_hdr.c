/* SPDX-License-Identifier: MIT */
#include "virtio/net_hdr.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "net/tap.h"
#include "virtio/virtqueue.h"

_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_LEN, "header layout");
_Static_assert(sizeof(struct virtio_net_config) == 12, "config layout");

static const char *const tx_drop_names[NET_TX_NR] = {
    [NET_TX_OK] = "ok",
    [NET_TX_SHORT] = "short",
    [NET_TX_LONG] = "long",
    [NET_TX_FLAGS] = "flags",
    [NET_TX_CSUM] = "csum",
    [NET_TX_GSO] = "gso",
    [NET_TX_WRITABLE] = "writable",
    [NET_TX_SEGMENTS] = "segments",
};

const char *net_tx_drop_name(enum net_tx_drop why)
{
	return (unsigned int)why < NET_TX_NR ? tx_drop_names[why] : "?";
}

static bool has(uint64_t features, unsigned int bit)
{
	return features & NET_BIT(bit);
}

enum net_tx_drop net_hdr_check_tx(const struct virtio_net_hdr *h, uint64_t frame_len,
				  uint64_t features)
{
	uint32_t csum_start = le16toh(h->csum_start);
	uint32_t csum_offset = le16toh(h->csum_offset);
	uint32_t gso_size = le16toh(h->gso_size);
	uint32_t hdr_len = le16toh(h->hdr_len);
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool needs_csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	bool ok;

	if (frame_len < NET_ETH_HLEN)
		return NET_TX_SHORT;
	if (frame_len > NET_MAX_FRAME)
		return NET_TX_LONG;
	/* DATA_VALID and the rest are RX flags: a driver sets only NEEDS_CSUM. */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NET_TX_FLAGS;
	if (needs_csum &&
	    (!has(features, VIRTIO_NET_F_CSUM) || csum_start + csum_offset + 2 > frame_len))
		return NET_TX_CSUM;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return NET_TX_OK;

	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		ok = has(features, VIRTIO_NET_F_HOST_TSO4);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		ok = has(features, VIRTIO_NET_F_HOST_TSO6);
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		ok = has(features, VIRTIO_NET_F_HOST_USO);
		break;
	default: /* UDP (UFO) is never offered; NONE with the ECN bit is no GSO type */
		ok = false;
		break;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
		ok = false;
	/* Segmenting needs the partial checksum the driver must ask for with any GSO type. */
	if (!ok || !needs_csum || gso_size == 0 || gso_size > frame_len || hdr_len > frame_len)
		return NET_TX_GSO;
	return NET_TX_OK;
}

bool net_hdr_fix_rx(struct virtio_net_hdr *h, uint64_t features, uint16_t num_buffers)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ok;

	if (!has(features, VIRTIO_NET_F_GUEST_CSUM)) {
		/* A partial checksum the driver cannot finish: the frame is unusable. */
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		h->flags = 0;
	}
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		ok = !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		ok = has(features, VIRTIO_NET_F_GUEST_TSO4);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		ok = has(features, VIRTIO_NET_F_GUEST_TSO6);
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		ok = has(features, VIRTIO_NET_F_GUEST_USO4) ||
		     has(features, VIRTIO_NET_F_GUEST_USO6);
		break;
	default:
		ok = false;
		break;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_GUEST_ECN))
		ok = false;
	h->num_buffers = htole16(has(features, VIRTIO_NET_F_MRG_RXBUF) ? num_buffers : 1);
	return ok;
}

enum net_tx_drop net_tx_layout(const struct virtq_chain *c, uint64_t features,
			       struct virtio_net_hdr *hdr, struct iovec *iov, unsigned int max_iov,
			       unsigned int *niov)
{
	enum net_tx_drop why;
	unsigned int n = 1;
	uint64_t skip = NET_HDR_LEN;

	if (c->nr_in)
		return NET_TX_WRITABLE;
	if (c->out_len < NET_HDR_LEN)
		return NET_TX_SHORT;
	/* Copied once: what is checked is what the tap gets, whatever the guest writes meanwhile. */
	for (unsigned int i = 0, at = 0; i < c->nr_out && at < NET_HDR_LEN; i++) {
		uint32_t k = c->iov[i].len < NET_HDR_LEN - at ? c->iov[i].len : NET_HDR_LEN - at;

		memcpy((uint8_t *)hdr + at, c->iov[i].base, k);
		at += k;
	}
	why = net_hdr_check_tx(hdr, c->out_len - NET_HDR_LEN, features);
	if (why != NET_TX_OK)
		return why;
	iov[0] = (struct iovec){hdr, NET_HDR_LEN};
	for (unsigned int i = 0; i < c->nr_out; i++) {
		if (skip >= c->iov[i].len) {
			skip -= c->iov[i].len;
			continue;
		}
		if (n == max_iov)
			return NET_TX_SEGMENTS;
		iov[n++] = (struct iovec){(uint8_t *)c->iov[i].base + skip, c->iov[i].len - skip};
		skip = 0;
	}
	*niov = n;
	return NET_TX_OK;
}

uint32_t net_rx_frame_need(uint64_t features, uint16_t mtu)
{
	uint64_t gso = NET_BIT(VIRTIO_NET_F_GUEST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		       NET_BIT(VIRTIO_NET_F_GUEST_UFO) | NET_BIT(VIRTIO_NET_F_GUEST_USO4) |
		       NET_BIT(VIRTIO_NET_F_GUEST_USO6);

	if (features & gso)
		return NET_HDR_LEN + NET_MAX_FRAME;
	return NET_HDR_LEN + NET_ETH_HLEN + NET_VLAN_HLEN + mtu;
}

/* ---- the control queue ---- */

static const struct net_ctrl_cmd reject = {.action = NET_CTRL_REJECT};

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* MAC_TABLE_SET: le32 n, n MACs (unicast), then le32 m, m MACs (multicast), nothing after. */
static struct net_ctrl_cmd decode_mac_table(const uint8_t *d, size_t len)
{
	uint64_t uni, multi;

	if (len < 4)
		return reject;
	uni = get_le32(d);
	if (uni > (len - 4) / 6)
		return reject;
	d += 4 + 6 * uni;
	len -= 4 + 6 * uni;
	if (len < 4)
		return reject;
	multi = get_le32(d);
	if (multi > (len - 4) / 6 || len - 4 != 6 * multi)
		return reject;
	return (struct net_ctrl_cmd){.action = NET_CTRL_MAC_TABLE, .arg = uni, .arg2 = multi};
}

static struct net_ctrl_cmd decode_offloads(const uint8_t *d, size_t len, uint64_t features)
{
	uint64_t want, segmenting;

	if (len != 8)
		return reject;
	memcpy(&want, d, sizeof(want));
	want = le64toh(want);
	/* Only offloads the driver accepted at negotiation may be turned back on. */
	if (want & ~(features & NET_GUEST_OFFLOADS))
		return reject;
	/* Segments arrive with a partial checksum: the tap refuses GSO without CSUM, so does this. */
	segmenting = want & (NET_BIT(VIRTIO_NET_F_GUEST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6) |
			     NET_BIT(VIRTIO_NET_F_GUEST_UFO) | NET_BIT(VIRTIO_NET_F_GUEST_USO4) |
			     NET_BIT(VIRTIO_NET_F_GUEST_USO6));
	if (segmenting && !has(want, VIRTIO_NET_F_GUEST_CSUM))
		return reject;
	if (has(want, VIRTIO_NET_F_GUEST_ECN) && !has(want, VIRTIO_NET_F_GUEST_TSO4) &&
	    !has(want, VIRTIO_NET_F_GUEST_TSO6))
		return reject;
	return (struct net_ctrl_cmd){.action = NET_CTRL_OFFLOADS, .arg = want};
}

int net_ctrl_take(const struct virtq_chain *c, uint8_t *buf, size_t cap, size_t *len, uint8_t **ack)
{
	size_t at = 0;

	*len = 0;
	*ack = c->nr_in ? c->iov[c->nr_out].base : NULL;
	if (!*ack)
		return -EINVAL;
	if (c->out_len > cap)
		return -ENOSPC;
	for (unsigned int i = 0; i < c->nr_out; i++) {
		memcpy(buf + at, c->iov[i].base, c->iov[i].len);
		at += c->iov[i].len;
	}
	*len = at;
	return 0;
}

struct net_ctrl_cmd net_ctrl_decode(const uint8_t *buf, size_t len, uint64_t features,
				    uint16_t max_pairs)
{
	const uint8_t *d = buf + 2;
	size_t dlen;
	uint16_t pairs;

	if (len < 2 || len > NET_CTRL_MAX)
		return reject;
	dlen = len - 2;
	switch (buf[0]) {
	case VIRTIO_NET_CTRL_RX:
		if (!has(features, VIRTIO_NET_F_CTRL_RX) || dlen != 1 || d[0] > 1)
			return reject;
		if (buf[1] == VIRTIO_NET_CTRL_RX_PROMISC)
			return (struct net_ctrl_cmd){.action = NET_CTRL_PROMISC, .arg = d[0]};
		if (buf[1] == VIRTIO_NET_CTRL_RX_ALLMULTI)
			return (struct net_ctrl_cmd){.action = NET_CTRL_ALLMULTI, .arg = d[0]};
		return reject; /* ALLUNI and the others need CTRL_RX_EXTRA, not offered */
	case VIRTIO_NET_CTRL_MAC:
		/* ADDR_SET needs CTRL_MAC_ADDR, not offered: the MAC is the VMM's. */
		if (!has(features, VIRTIO_NET_F_CTRL_RX) || buf[1] != VIRTIO_NET_CTRL_MAC_TABLE_SET)
			return reject;
		return decode_mac_table(d, dlen);
	case VIRTIO_NET_CTRL_MQ:
		if (!has(features, VIRTIO_NET_F_MQ) || buf[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    dlen != 2)
			return reject;
		pairs = (uint16_t)(d[0] | d[1] << 8);
		if (pairs < 1 || pairs > max_pairs)
			return reject;
		return (struct net_ctrl_cmd){.action = NET_CTRL_VQ_PAIRS, .arg = pairs};
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		if (!has(features, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
		    buf[1] != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET)
			return reject;
		return decode_offloads(d, dlen, features);
	default: /* VLAN and ANNOUNCE are not offered */
		return reject;
	}
}

unsigned int net_tun_offloads(uint64_t guest)
{
	unsigned int f = 0;

	if (has(guest, VIRTIO_NET_F_GUEST_CSUM))
		f |= TUN_F_CSUM;
	if (has(guest, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (has(guest, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if (has(guest, VIRTIO_NET_F_GUEST_ECN))
		f |= TUN_F_TSO_ECN;
	if (has(guest, VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	if (has(guest, VIRTIO_NET_F_GUEST_USO4))
		f |= TUN_F_USO4;
	if (has(guest, VIRTIO_NET_F_GUEST_USO6))
		f |= TUN_F_USO6;
	return f;
}
