/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's virtio-pci capability walk (bench/guest/virtio_pci_caps.c)
 * on nestvmm's own transport and on hand-made config spaces: duplicate,
 * malformed and looping capability lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/guest/virtio_pci_caps.h"
#include "devices/pci.h"
#include "virtio/pci.h"

/* ---- a raw config space the test lays out byte by byte ---- */

struct raw_cfg {
	uint8_t b[256];
	unsigned int reads;
};

static uint32_t raw_read32(void *ctx, unsigned int off)
{
	struct raw_cfg *c = ctx;
	uint32_t v;

	assert_true(off % 4 == 0 && off < 256); /* the walker's promise */
	c->reads++;
	memcpy(&v, c->b + off, 4);
	return v;
}

static void put32(struct raw_cfg *c, unsigned int off, uint32_t v)
{
	memcpy(c->b + off, &v, 4);
}

static void raw_init(struct raw_cfg *c, uint8_t first_cap)
{
	memset(c, 0, sizeof(*c));
	c->b[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	c->b[PCI_CAPABILITY_LIST] = first_cap;
}

/* A virtio vendor capability at @at (20 bytes with a notify multiplier). */
static void raw_vcap(struct raw_cfg *c, uint8_t at, uint8_t next, uint8_t type, uint8_t bar,
		     uint32_t offset, uint32_t length, uint8_t cap_len)
{
	c->b[at] = PCI_CAP_ID_VNDR;
	c->b[at + 1] = next;
	c->b[at + 2] = cap_len;
	c->b[at + 3] = type;
	c->b[at + 4] = bar;
	put32(c, at + 8, offset);
	put32(c, at + 12, length);
	if (cap_len >= 20)
		put32(c, at + 16, 4);
}

/* ---- nestvmm's transport ---- */

static void fake_config_read(struct virtio_dev *dev, unsigned int off, void *data,
			     unsigned int size)
{
	(void)dev, (void)off;
	memset(data, 0, size);
}

static void fake_reset(struct virtio_dev *dev)
{
	(void)dev;
}

static int fake_start(struct virtio_dev *dev)
{
	(void)dev;
	return 0;
}

static const struct virtio_dev_ops fake_ops = {
    .config_read = fake_config_read, .start = fake_start, .reset = fake_reset};

static void fake_fire(void *ctx, unsigned int vec)
{
	(void)ctx, (void)vec;
}

static uint32_t vp_read32(void *ctx, unsigned int off)
{
	return virtio_pci_cfg_ops.cfg_read(ctx, off, 4);
}

static void test_finds_the_transports_structures(void **state)
{
	struct virtio_dev dev = {
	    .ops = &fake_ops,
	    .name = "fake-blk",
	    .device_id = VIRTIO_ID_BLOCK,
	    .config_len = 60,
	    .nr_queues = 1,
	    .queue_max_size = 64,
	};
	struct virtio_pci_platform plat = {.msi_fire = fake_fire};
	struct guest_mem mem;
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	struct vpci_layout lay;

	(void)state;
	assert_non_null(vp);
	assert_int_equal(guest_mem_init(&mem, 1 << 20), 0);
	assert_int_equal(virtio_pci_init(vp, &dev, &mem, &plat, 0xe1000000ull), 0);

	assert_int_equal(vpci_find_caps(vp_read32, vp, &lay), 0);
	/* The offsets pci.h documents for BAR 0. */
	assert_int_equal(lay.common.bar, 0);
	assert_int_equal(lay.common.offset, VIRTIO_PCI_COMMON_OFF);
	assert_true(lay.common.length >= VIRTIO_PCI_COMMON_SIZE);
	assert_int_equal(lay.isr.offset, VIRTIO_PCI_ISR_OFF);
	assert_int_equal(lay.device.offset, VIRTIO_PCI_DEVICE_OFF);
	assert_true(lay.device.length >= 8); /* the capacity */
	assert_int_equal(lay.notify.offset, VIRTIO_PCI_NOTIFY_OFF);
	assert_int_equal(lay.notify_off_multiplier, VIRTIO_PCI_NOTIFY_MULT);
	assert_int_equal(lay.found,
			 1u << VIRTIO_PCI_CAP_COMMON_CFG | 1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
			     1u << VIRTIO_PCI_CAP_ISR_CFG | 1u << VIRTIO_PCI_CAP_DEVICE_CFG);

	virtio_pci_destroy(vp);
	free(vp);
	guest_mem_destroy(&mem);
}

static void test_first_valid_capability_of_a_type_wins(void **state)
{
	struct raw_cfg c;
	struct vpci_layout lay;

	(void)state;
	raw_init(&c, 0x40);
	/* an MSI-X capability first: not ours, skipped */
	c.b[0x40] = PCI_CAP_ID_MSIX;
	c.b[0x41] = 0x50;
	raw_vcap(&c, 0x50, 0x60, VIRTIO_PCI_CAP_COMMON_CFG, 7, 0x100, 0x38,
		 16); /* BAR 7: skipped */
	raw_vcap(&c, 0x60, 0x70, VIRTIO_PCI_CAP_COMMON_CFG, 2, 0x200, 0x38, 16);
	raw_vcap(&c, 0x70, 0x80, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x300, 0x38, 16); /* a second one */
	raw_vcap(&c, 0x80, 0x94, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0x400, 0x10, 16); /* too short */
	raw_vcap(&c, 0x94, 0xa8, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x500, 0x20, 20);
	raw_vcap(&c, 0xa8, 0xb8, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 20); /* type 5: not needed */
	raw_vcap(&c, 0xb8, 0x00, VIRTIO_PCI_CAP_DEVICE_CFG, 1, 0x600, 0x3c, 16);

	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), 0);
	assert_int_equal(lay.common.bar, 2);
	assert_int_equal(lay.common.offset, 0x200);
	assert_int_equal(lay.notify.bar, 4);
	assert_int_equal(lay.notify.offset, 0x500);
	assert_int_equal(lay.notify.length, 0x20);
	assert_int_equal(lay.notify_off_multiplier, 4);
	assert_int_equal(lay.device.bar, 1);
	assert_int_equal(lay.device.offset, 0x600);
	assert_int_equal(lay.device.length, 0x3c);
	assert_int_equal(lay.found & (1u << VIRTIO_PCI_CAP_ISR_CFG), 0);
}

static void test_missing_structure_fails(void **state)
{
	struct raw_cfg c;
	struct vpci_layout lay;

	(void)state;
	raw_init(&c, 0x40);
	raw_vcap(&c, 0x40, 0x50, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38, 16);
	raw_vcap(&c, 0x50, 0x00, VIRTIO_PCI_CAP_DEVICE_CFG, 0, 0x2000, 0x3c, 16);

	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), -1);
	assert_int_equal(lay.found,
			 1u << VIRTIO_PCI_CAP_COMMON_CFG | 1u << VIRTIO_PCI_CAP_DEVICE_CFG);

	/* All three there, but the status register says there is no list. */
	raw_vcap(&c, 0x50, 0x60, VIRTIO_PCI_CAP_DEVICE_CFG, 0, 0x2000, 0x3c, 16);
	raw_vcap(&c, 0x60, 0x00, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0x3000, 0x1000, 20);
	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), 0);
	c.b[PCI_STATUS] = 0;
	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), -1);
	assert_int_equal(lay.found, 0);
}

static void test_hostile_lists_end(void **state)
{
	struct raw_cfg c;
	struct vpci_layout lay;

	(void)state;
	/* A capability pointing at itself: the walk is bounded. */
	raw_init(&c, 0x40);
	raw_vcap(&c, 0x40, 0x40, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38, 16);
	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), -1);
	assert_true(c.reads < 256);
	assert_int_equal(lay.found, 1u << VIRTIO_PCI_CAP_COMMON_CFG);

	/* A pointer into the standard header ends the list. */
	raw_init(&c, 0x40);
	raw_vcap(&c, 0x40, 0x10, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38, 16);
	raw_vcap(&c, 0x10, 0x00, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0, 0x38, 20);
	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), -1);
	assert_int_equal(lay.found, 1u << VIRTIO_PCI_CAP_COMMON_CFG);

	/* A capability whose length runs past the config space is ignored. */
	raw_init(&c, 0xf0);
	raw_vcap(&c, 0xf0, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38, 20);
	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), -1);
	assert_int_equal(lay.found, 0);

	/* Unaligned pointers are aligned down, as PCI says the low bits are reserved. */
	raw_init(&c, 0x43);
	raw_vcap(&c, 0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38, 16);
	assert_int_equal(vpci_find_caps(raw_read32, &c, &lay), -1);
	assert_int_equal(lay.found, 1u << VIRTIO_PCI_CAP_COMMON_CFG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_finds_the_transports_structures),
	    cmocka_unit_test(test_first_valid_capability_of_a_type_wins),
	    cmocka_unit_test(test_missing_structure_fails),
	    cmocka_unit_test(test_hostile_lists_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
