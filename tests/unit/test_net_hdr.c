/* SPDX-License-Identifier: MIT */
/* virtio-net's header checks, RX header fix-up and control command decoding (virtio/net_hdr.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/tap.h"
#include "virtio/net_hdr.h"

#define F(b) NET_BIT(VIRTIO_NET_F_##b)

static const uint64_t all_host = F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | F(HOST_USO);
static const uint64_t all_guest =
    F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) | F(GUEST_USO4) | F(GUEST_USO6);

static struct virtio_net_hdr tso4(uint16_t gso_size)
{
	return (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				       .hdr_len = 54,
				       .gso_size = gso_size,
				       .csum_start = 34,
				       .csum_offset = 16};
}

static void test_tx_plain_frames(void **state)
{
	struct virtio_net_hdr h = {0};

	(void)state;
	assert_int_equal(net_hdr_check_tx(&h, 60, 0), NET_TX_OK);
	assert_int_equal(net_hdr_check_tx(&h, NET_ETH_HLEN, 0), NET_TX_OK);
	assert_int_equal(net_hdr_check_tx(&h, NET_ETH_HLEN - 1, 0), NET_TX_SHORT);
	assert_int_equal(net_hdr_check_tx(&h, 0, 0), NET_TX_SHORT);
	assert_int_equal(net_hdr_check_tx(&h, NET_MAX_FRAME, 0), NET_TX_OK);
	assert_int_equal(net_hdr_check_tx(&h, NET_MAX_FRAME + 1, 0), NET_TX_LONG);
	/* num_buffers is the device's: whatever the driver leaves there is ignored. */
	h.num_buffers = 0xffff;
	assert_int_equal(net_hdr_check_tx(&h, 60, 0), NET_TX_OK);
}

static void test_tx_flags(void **state)
{
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};

	(void)state;
	assert_int_equal(net_hdr_check_tx(&h, 60, all_host), NET_TX_FLAGS);
	h.flags = 0x80;
	assert_int_equal(net_hdr_check_tx(&h, 60, all_host), NET_TX_FLAGS);
}

static void test_tx_checksum_span(void **state)
{
	struct virtio_net_hdr h = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 6};

	(void)state;
	/* UDP over IPv4: the checksum field ends at 42 bytes. */
	assert_int_equal(net_hdr_check_tx(&h, 42, F(CSUM)), NET_TX_OK);
	assert_int_equal(net_hdr_check_tx(&h, 41, F(CSUM)), NET_TX_CSUM);
	/* Not negotiated: the tap must not be asked to finish a checksum. */
	assert_int_equal(net_hdr_check_tx(&h, 42, 0), NET_TX_CSUM);
	/* The 16-bit fields cannot wrap the sum. */
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(net_hdr_check_tx(&h, NET_MAX_FRAME, F(CSUM)), NET_TX_CSUM);
}

static void test_tx_gso(void **state)
{
	struct virtio_net_hdr h = tso4(1448);

	(void)state;
	assert_int_equal(net_hdr_check_tx(&h, 65000, all_host), NET_TX_OK);
	/* Each GSO type needs its own feature. */
	assert_int_equal(net_hdr_check_tx(&h, 65000, F(CSUM) | F(HOST_TSO6)), NET_TX_GSO);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(net_hdr_check_tx(&h, 65000, F(CSUM) | F(HOST_TSO6)), NET_TX_OK);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	assert_int_equal(net_hdr_check_tx(&h, 65000, F(CSUM) | F(HOST_TSO4)), NET_TX_GSO);
	assert_int_equal(net_hdr_check_tx(&h, 65000, F(CSUM) | F(HOST_USO)), NET_TX_OK);
	/* UFO is never offered. */
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(net_hdr_check_tx(&h, 65000, ~0ULL), NET_TX_GSO);
	h.gso_type = 2;
	assert_int_equal(net_hdr_check_tx(&h, 65000, ~0ULL), NET_TX_GSO);
	/* ECN needs HOST_ECN; the ECN bit alone is no GSO type. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(net_hdr_check_tx(&h, 65000, F(CSUM) | F(HOST_TSO4)), NET_TX_GSO);
	assert_int_equal(net_hdr_check_tx(&h, 65000, all_host), NET_TX_OK);
	h.gso_type = VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(net_hdr_check_tx(&h, 65000, all_host), NET_TX_GSO);
}

static void test_tx_gso_fields(void **state)
{
	struct virtio_net_hdr h = tso4(0);

	(void)state;
	assert_int_equal(net_hdr_check_tx(&h, 65000, all_host), NET_TX_GSO);
	h = tso4(1448);
	assert_int_equal(net_hdr_check_tx(&h, 1000, all_host), NET_TX_GSO); /* gso_size > frame */
	h = tso4(500);
	h.hdr_len = 1001;
	assert_int_equal(net_hdr_check_tx(&h, 1000, all_host), NET_TX_GSO);
	h.hdr_len = 1000;
	assert_int_equal(net_hdr_check_tx(&h, 1000, all_host), NET_TX_OK);
	/* GSO without a partial checksum to finish. */
	h.flags = 0;
	assert_int_equal(net_hdr_check_tx(&h, 1000, all_host), NET_TX_GSO);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int i = 0; i < NET_TX_NR; i++) {
		assert_non_null(net_tx_drop_name(i));
		assert_string_not_equal(net_tx_drop_name(i), "?");
	}
	assert_string_equal(net_tx_drop_name(NET_TX_NR), "?");
	assert_string_equal(net_tx_drop_name(NET_TX_CSUM), "csum");
}

static void test_rx_fix(void **state)
{
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0x4242};

	(void)state;
	/* Without MRG_RXBUF num_buffers is 1; without GUEST_CSUM the flags are cleared. */
	assert_true(net_hdr_fix_rx(&h, 0, 3));
	assert_int_equal(h.num_buffers, 1);
	assert_int_equal(h.flags, 0);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_true(net_hdr_fix_rx(&h, F(MRG_RXBUF) | F(GUEST_CSUM), 3));
	assert_int_equal(h.num_buffers, 3);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	/* A partial checksum the driver cannot finish. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	assert_false(net_hdr_fix_rx(&h, 0, 1));
	/* GSO types the driver did not accept. */
	h = tso4(1448);
	assert_false(net_hdr_fix_rx(&h, F(GUEST_CSUM), 1));
	assert_true(net_hdr_fix_rx(&h, F(GUEST_CSUM) | F(GUEST_TSO4), 1));
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	assert_false(net_hdr_fix_rx(&h, F(GUEST_CSUM) | F(GUEST_TSO4), 1));
	assert_true(net_hdr_fix_rx(&h, all_guest, 1));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	assert_true(net_hdr_fix_rx(&h, F(GUEST_CSUM) | F(GUEST_USO6), 1));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_false(net_hdr_fix_rx(&h, ~0ULL, 1));
}

static void test_rx_need(void **state)
{
	(void)state;
	assert_int_equal(net_rx_frame_need(0, 1500), 12 + 14 + 4 + 1500);
	assert_int_equal(net_rx_frame_need(0, 9000), 12 + 14 + 4 + 9000);
	assert_int_equal(net_rx_frame_need(F(GUEST_TSO4), 1500), 12 + NET_MAX_FRAME);
	assert_int_equal(net_rx_frame_need(F(GUEST_CSUM), 1500), 12 + 14 + 4 + 1500);
}

/* ---- control commands ---- */

static const uint64_t ctrl_all = F(CTRL_VQ) | F(CTRL_RX) | F(MQ) | F(CTRL_GUEST_OFFLOADS) |
				 F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN);

static struct net_ctrl_cmd decode(const void *buf, size_t len, uint64_t features)
{
	return net_ctrl_decode(buf, len, features, 4);
}

static void test_ctrl_rx(void **state)
{
	uint8_t on[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
	uint8_t off[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 0};
	uint8_t bad[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 2};
	uint8_t alluni[] = {VIRTIO_NET_CTRL_RX, 2, 1};
	uint8_t longer[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1, 0};
	struct net_ctrl_cmd c;

	(void)state;
	c = decode(on, sizeof(on), ctrl_all);
	assert_int_equal(c.action, NET_CTRL_PROMISC);
	assert_int_equal(c.arg, 1);
	c = decode(off, sizeof(off), ctrl_all);
	assert_int_equal(c.action, NET_CTRL_ALLMULTI);
	assert_int_equal(c.arg, 0);
	assert_int_equal(decode(bad, sizeof(bad), ctrl_all).action, NET_CTRL_REJECT);
	assert_int_equal(decode(alluni, sizeof(alluni), ctrl_all).action, NET_CTRL_REJECT);
	assert_int_equal(decode(longer, sizeof(longer), ctrl_all).action, NET_CTRL_REJECT);
	assert_int_equal(decode(on, 2, ctrl_all).action, NET_CTRL_REJECT);
	/* The class needs CTRL_RX. */
	assert_int_equal(decode(on, sizeof(on), ctrl_all & ~F(CTRL_RX)).action, NET_CTRL_REJECT);
	assert_int_equal(decode(on, 1, ctrl_all).action, NET_CTRL_REJECT);
	assert_int_equal(decode(on, 0, ctrl_all).action, NET_CTRL_REJECT);
}

static size_t mac_table(uint8_t *buf, uint32_t uni, uint32_t multi)
{
	size_t n = 0;

	buf[n++] = VIRTIO_NET_CTRL_MAC;
	buf[n++] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
	memcpy(buf + n, &uni, 4);
	n += 4;
	memset(buf + n, 0x02, 6 * uni);
	n += 6 * uni;
	memcpy(buf + n, &multi, 4);
	n += 4;
	memset(buf + n, 0x33, 6 * multi);
	n += 6 * multi;
	return n;
}

static void test_ctrl_mac_table(void **state)
{
	static uint8_t buf[2 + 8 + 6 * 700];
	uint32_t huge = 0xffffffff;
	struct net_ctrl_cmd c;
	size_t n;

	(void)state;
	n = mac_table(buf, 2, 3);
	c = decode(buf, n, ctrl_all);
	assert_int_equal(c.action, NET_CTRL_MAC_TABLE);
	assert_int_equal(c.arg, 2);
	assert_int_equal(c.arg2, 3);
	assert_int_equal(decode(buf, mac_table(buf, 0, 0), ctrl_all).action, NET_CTRL_MAC_TABLE);
	/* Exact lengths only: a byte short, a byte over, a count past the end. */
	n = mac_table(buf, 2, 3);
	assert_int_equal(decode(buf, n - 1, ctrl_all).action, NET_CTRL_REJECT);
	assert_int_equal(decode(buf, n + 1, ctrl_all).action, NET_CTRL_REJECT);
	memcpy(buf + 2, &huge, 4);
	assert_int_equal(decode(buf, n, ctrl_all).action, NET_CTRL_REJECT);
	n = mac_table(buf, 1, 0);
	memcpy(buf + 2 + 4 + 6, &huge, 4);
	assert_int_equal(decode(buf, n, ctrl_all).action, NET_CTRL_REJECT);
	/* The first table alone, with no second count. */
	assert_int_equal(decode(buf, 2 + 4 + 6, ctrl_all).action, NET_CTRL_REJECT);
	/* Larger than the device reads. */
	n = mac_table(buf, 700, 0);
	assert_int_equal(decode(buf, n, ctrl_all).action, NET_CTRL_REJECT);
	/* ADDR_SET needs CTRL_MAC_ADDR, never offered. */
	buf[1] = VIRTIO_NET_CTRL_MAC_ADDR_SET;
	assert_int_equal(decode(buf, 8, ~0ULL).action, NET_CTRL_REJECT);
}

static void test_ctrl_mq(void **state)
{
	uint8_t cmd[] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	struct net_ctrl_cmd c;

	(void)state;
	c = decode(cmd, sizeof(cmd), ctrl_all);
	assert_int_equal(c.action, NET_CTRL_VQ_PAIRS);
	assert_int_equal(c.arg, 2);
	cmd[2] = 4;
	assert_int_equal(decode(cmd, sizeof(cmd), ctrl_all).arg, 4);
	cmd[2] = 5; /* over max_virtqueue_pairs */
	assert_int_equal(decode(cmd, sizeof(cmd), ctrl_all).action, NET_CTRL_REJECT);
	cmd[2] = 0;
	assert_int_equal(decode(cmd, sizeof(cmd), ctrl_all).action, NET_CTRL_REJECT);
	cmd[2] = 1;
	cmd[3] = 1; /* 257 */
	assert_int_equal(decode(cmd, sizeof(cmd), ctrl_all).action, NET_CTRL_REJECT);
	cmd[3] = 0;
	assert_int_equal(decode(cmd, 3, ctrl_all).action, NET_CTRL_REJECT);
	assert_int_equal(decode(cmd, sizeof(cmd), ctrl_all & ~F(MQ)).action, NET_CTRL_REJECT);
	cmd[1] = 1; /* RSS_CONFIG: not offered */
	assert_int_equal(decode(cmd, sizeof(cmd), ctrl_all).action, NET_CTRL_REJECT);
}

static size_t offloads_cmd(uint8_t *buf, uint64_t want)
{
	buf[0] = VIRTIO_NET_CTRL_GUEST_OFFLOADS;
	buf[1] = VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET;
	memcpy(buf + 2, &want, 8);
	return 10;
}

static void test_ctrl_offloads(void **state)
{
	uint8_t buf[16];
	struct net_ctrl_cmd c;

	(void)state;
	c = decode(buf, offloads_cmd(buf, F(GUEST_CSUM) | F(GUEST_TSO4)), ctrl_all);
	assert_int_equal(c.action, NET_CTRL_OFFLOADS);
	assert_int_equal(c.arg, F(GUEST_CSUM) | F(GUEST_TSO4));
	assert_int_equal(decode(buf, offloads_cmd(buf, 0), ctrl_all).action, NET_CTRL_OFFLOADS);
	/* Only what was negotiated; only guest offload bits. */
	assert_int_equal(
	    decode(buf, offloads_cmd(buf, F(GUEST_USO4) | F(GUEST_CSUM)), ctrl_all).action,
	    NET_CTRL_REJECT);
	assert_int_equal(decode(buf, offloads_cmd(buf, F(MQ)), ctrl_all).action, NET_CTRL_REJECT);
	/* Segmentation without checksum, ECN without TSO: the tap would refuse them too. */
	assert_int_equal(decode(buf, offloads_cmd(buf, F(GUEST_TSO4)), ctrl_all).action,
			 NET_CTRL_REJECT);
	assert_int_equal(
	    decode(buf, offloads_cmd(buf, F(GUEST_CSUM) | F(GUEST_ECN)), ctrl_all).action,
	    NET_CTRL_REJECT);
	assert_int_equal(decode(buf, 9, ctrl_all).action, NET_CTRL_REJECT);
	offloads_cmd(buf, 0);
	assert_int_equal(decode(buf, 10, ctrl_all & ~F(CTRL_GUEST_OFFLOADS)).action,
			 NET_CTRL_REJECT);
}

static void test_ctrl_other_classes(void **state)
{
	uint8_t vlan[] = {VIRTIO_NET_CTRL_VLAN, 0, 1, 0};
	uint8_t announce[] = {VIRTIO_NET_CTRL_ANNOUNCE, 0};
	uint8_t junk[] = {0xff, 0xff};

	(void)state;
	assert_int_equal(decode(vlan, sizeof(vlan), ~0ULL).action, NET_CTRL_REJECT);
	assert_int_equal(decode(announce, sizeof(announce), ~0ULL).action, NET_CTRL_REJECT);
	assert_int_equal(decode(junk, sizeof(junk), ~0ULL).action, NET_CTRL_REJECT);
}

static void test_tun_offloads(void **state)
{
	(void)state;
	assert_int_equal(net_tun_offloads(0), 0);
	assert_int_equal(net_tun_offloads(F(GUEST_CSUM)), TUN_F_CSUM);
	assert_int_equal(net_tun_offloads(all_guest), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
							  TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6);
	assert_int_equal(net_tun_offloads(F(GUEST_UFO)), TUN_F_UFO);
	/* Host-side bits are not the tap's business. */
	assert_int_equal(net_tun_offloads(all_host), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tx_plain_frames),
	    cmocka_unit_test(test_tx_flags),
	    cmocka_unit_test(test_tx_checksum_span),
	    cmocka_unit_test(test_tx_gso),
	    cmocka_unit_test(test_tx_gso_fields),
	    cmocka_unit_test(test_drop_names),
	    cmocka_unit_test(test_rx_fix),
	    cmocka_unit_test(test_rx_need),
	    cmocka_unit_test(test_ctrl_rx),
	    cmocka_unit_test(test_ctrl_mac_table),
	    cmocka_unit_test(test_ctrl_mq),
	    cmocka_unit_test(test_ctrl_offloads),
	    cmocka_unit_test(test_ctrl_other_classes),
	    cmocka_unit_test(test_tun_offloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
