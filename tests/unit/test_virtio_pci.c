/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport against a fake device and a fake
 * platform: capabilities, feature negotiation, the status state machine,
 * queue registers, MSI-X masking and pending bits, INTx with ISR, BAR
 * decoding (and the kick ioeventfds it unbinds under a running device),
 * bus mastering, the
 * config-space window, and random hostile accesses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "virtio/pci.h"

#define BAR_ADDR  0xc0008000ull
#define QMAX	  64
#define NR_QUEUES 2
#define DEV_FEAT  (1ULL << 5 | 1ULL << 9) /* two device bits (blk RO, FLUSH) */

struct fake_device {
	struct virtio_dev dev;
	int starts, resets;
	int start_ret;
	uint8_t config[24];
};

struct fake_platform {
	unsigned int fires[VIRTIO_PCI_MAX_VECTORS];
	unsigned int routes;
	uint64_t route_addr[VIRTIO_PCI_MAX_VECTORS];
	uint32_t route_data[VIRTIO_PCI_MAX_VECTORS];
	int intx;
	unsigned int intx_raises;
	int bound; /* what bind_kicks said last; they start bound */
	unsigned int bind_calls;
};

struct fixture {
	struct fake_device fd;
	struct fake_platform fp;
	struct guest_mem mem;
	struct virtio_pci vp;
};

static void fd_config_read(struct virtio_dev *dev, unsigned int off, void *data, unsigned int size)
{
	struct fake_device *fd = (struct fake_device *)dev;

	memcpy(data, fd->config + off, size);
}

static int fd_start(struct virtio_dev *dev)
{
	struct fake_device *fd = (struct fake_device *)dev;

	fd->starts++;
	return fd->start_ret;
}

static void fd_reset(struct virtio_dev *dev)
{
	((struct fake_device *)dev)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
    .config_read = fd_config_read,
    .start = fd_start,
    .reset = fd_reset,
};

static int fp_route(void *ctx, unsigned int vec, uint64_t addr, uint32_t data)
{
	struct fake_platform *fp = ctx;

	fp->routes++;
	fp->route_addr[vec] = addr;
	fp->route_data[vec] = data;
	return 0;
}

static void fp_fire(void *ctx, unsigned int vec)
{
	((struct fake_platform *)ctx)->fires[vec]++;
}

static void fp_intx(void *ctx, int level)
{
	struct fake_platform *fp = ctx;

	if (level && !fp->intx)
		fp->intx_raises++;
	fp->intx = level;
}

static void fp_bind_kicks(void *ctx, bool on)
{
	struct fake_platform *fp = ctx;

	fp->bound = on;
	fp->bind_calls++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_pci_platform plat = {
	    .msi_route = fp_route,
	    .msi_fire = fp_fire,
	    .intx = fp_intx,
	    .bind_kicks = fp_bind_kicks,
	};

	assert_non_null(f);
	assert_int_equal(guest_mem_init(&f->mem, 4 << 20), 0);
	f->fd.dev = (struct virtio_dev){
	    .ops = &fake_ops,
	    .name = "fake",
	    .device_id = VIRTIO_ID_BLOCK,
	    .device_features = DEV_FEAT | 1ULL << VIRTIO_F_EVENT_IDX,
	    .config_len = sizeof(f->fd.config),
	    .nr_queues = NR_QUEUES,
	    .queue_max_size = QMAX,
	};
	for (unsigned int i = 0; i < sizeof(f->fd.config); i++)
		f->fd.config[i] = (uint8_t)(0xa0 + i);
	plat.ctx = &f->fp;
	f->fp.bound = 1;
	assert_int_equal(virtio_pci_init(&f->vp, &f->fd.dev, &f->mem, &plat, BAR_ADDR), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_pci_destroy(&f->vp);
	guest_mem_destroy(&f->mem);
	free(f);
	return 0;
}

static uint32_t cfg_rd(struct fixture *f, unsigned int off, unsigned int size)
{
	return virtio_pci_cfg_ops.cfg_read(&f->vp, off, size);
}

static void cfg_wr(struct fixture *f, unsigned int off, unsigned int size, uint32_t v)
{
	virtio_pci_cfg_ops.cfg_write(&f->vp, off, size, v);
}

static void enable_decode(struct fixture *f)
{
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static uint64_t rd(struct fixture *f, uint64_t off, unsigned int size)
{
	uint8_t buf[8];

	virtio_pci_bar_ops.read(&f->vp, off, buf, size);
	return dev_data_get(buf, size);
}

static void wr(struct fixture *f, uint64_t off, unsigned int size, uint64_t v)
{
	uint8_t buf[8];

	dev_data_put(buf, size, v);
	virtio_pci_bar_ops.write(&f->vp, off, buf, size);
}

static uint8_t status(struct fixture *f)
{
	return (uint8_t)rd(f, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void set_status(struct fixture *f, uint8_t s)
{
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, s);
}

static void write_features(struct fixture *f, uint64_t feat)
{
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(f, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)feat);
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(f, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(feat >> 32));
}

/* Lay queue @q's rings out in RAM and enable it. */
static void setup_queue(struct fixture *f, uint16_t q, uint16_t size)
{
	uint64_t base = 0x100000 + q * 0x10000ull;

	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)base);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)(base + 0x4000));
	wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)(base + 0x8000));
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static void negotiate(struct fixture *f)
{
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_features(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 9);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

/* Find the vendor capability of @type; returns its offset or 0. */
static unsigned int find_cap(struct fixture *f, uint8_t id, int type)
{
	unsigned int off = cfg_rd(f, PCI_CAPABILITY_LIST, 1);

	for (int n = 0; off && n < 48; n++) {
		if (cfg_rd(f, off, 1) == id &&
		    (type < 0 || cfg_rd(f, off + 3, 1) == (unsigned)type))
			return off;
		off = cfg_rd(f, off + 1, 1);
	}
	return 0;
}

static void enable_msix(struct fixture *f, bool mask_all)
{
	unsigned int msix = find_cap(f, PCI_CAP_ID_MSIX, -1);

	cfg_wr(f, msix + 2, 2, PCI_MSIX_ENABLE | (mask_all ? PCI_MSIX_MASKALL : 0));
}

static void program_vector(struct fixture *f, unsigned int vec, uint32_t data, bool masked)
{
	uint64_t e = VIRTIO_PCI_MSIX_OFF + 16 * vec;

	wr(f, e + 0, 4, 0xfee00000u);
	wr(f, e + 4, 4, 0);
	wr(f, e + 8, 4, data);
	wr(f, e + 12, 4, masked);
}

static void test_identity_and_caps(void **state)
{
	struct fixture *f = *state;
	static const struct {
		int type;
		uint32_t offset;
	} want[] = {
	    {VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF},
	    {VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF},
	    {VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF},
	    {VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF},
	};
	unsigned int cap, msix;

	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_BLOCK);
	assert_int_equal(cfg_rd(f, PCI_REVISION_ID, 1), 1); /* modern-only: revision >= 1 */
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(f, PCI_BAR0, 4) & ~0xfu, (uint32_t)BAR_ADDR);
	assert_int_equal(cfg_rd(f, PCI_BAR0, 4) & 0x6u, PCI_BAR_MEM64);

	for (unsigned int i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cap = find_cap(f, PCI_CAP_ID_VNDR, want[i].type);
		assert_int_not_equal(cap, 0);
		assert_int_equal(cfg_rd(f, cap + 4, 1), 0); /* BAR 0 */
		assert_int_equal(cfg_rd(f, cap + 8, 4), want[i].offset);
	}
	cap = find_cap(f, PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_NOTIFY_CFG);
	assert_int_equal(cfg_rd(f, cap + 2, 1), 20);
	assert_int_equal(cfg_rd(f, cap + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
	assert_int_not_equal(find_cap(f, PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG), 0);

	msix = find_cap(f, PCI_CAP_ID_MSIX, -1);
	assert_int_not_equal(msix, 0);
	assert_int_equal((cfg_rd(f, msix + 2, 2) & 0x7ff) + 1, NR_QUEUES + 1);
	assert_int_equal(cfg_rd(f, msix + 4, 4), VIRTIO_PCI_MSIX_OFF);
	assert_int_equal(cfg_rd(f, msix + 8, 4), VIRTIO_PCI_PBA_OFF);
}

static void test_decode_gating(void **state)
{
	struct fixture *f = *state;

	/* Memory decoding off (reset state): the BAR reads all-ones. */
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), 0xffff);
	enable_decode(f);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), NR_QUEUES);
	/* The guest moves the BAR: the registers are gone from the fixed place. */
	cfg_wr(f, PCI_BAR0, 4, 0xd0000000u);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), 0xffff);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE); /* dropped */
	cfg_wr(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), NR_QUEUES);
	assert_int_equal(status(f), 0);
	/* Sizing: all-ones reads back the size mask. */
	cfg_wr(f, PCI_BAR0, 4, 0xffffffffu);
	assert_int_equal(cfg_rd(f, PCI_BAR0, 4) & ~0xfu, (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1));
}

/*
 * The kick ioeventfds: bound from the start, unbound exactly while a running
 * device's BAR 0 does not decode. The BAR sizing of a boot, before the
 * driver starts the device, costs no call.
 */
static void test_kicks_bound_while_running_device_decodes(void **state)
{
	struct fixture *f = *state;

	enable_decode(f);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MASTER); /* sizing: memory off, then on */
	cfg_wr(f, PCI_BAR0, 4, 0xffffffffu);
	cfg_wr(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR);
	enable_decode(f);
	assert_int_equal(f->fp.bind_calls, 0);

	negotiate(f);
	setup_queue(f, 0, 16);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.starts, 1);
	assert_int_equal(f->fp.bind_calls, 0);	       /* running and decoding: stay bound */
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MASTER); /* memory off under a running device */
	assert_int_equal(f->fp.bound, 0);
	assert_int_equal(f->fp.bind_calls, 1);
	wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0); /* the slow path drops it too (decode off) */
	enable_decode(f);
	assert_int_equal(f->fp.bound, 1);
	cfg_wr(f, PCI_BAR0, 4, 0xd0000000u); /* moved away while running */
	assert_int_equal(f->fp.bound, 0);
	/* Bus mastering off while the BAR is away stops the device: bound again. */
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->fd.resets, 1);
	assert_int_equal(f->fp.bound, 1);
	assert_int_equal(f->fp.bind_calls, 4);
}

static const uint8_t all_ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

/* Without bus mastering the device does not start; it starts when the bit comes. */
static void test_bus_master_gates_start(void **state)
{
	struct fixture *f = *state;

	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	negotiate(f);
	setup_queue(f, 0, 16);
	set_status(f, all_ok);
	assert_int_equal(status(f), all_ok); /* the driver's view is kept */
	assert_int_equal(f->fd.starts, 0);
	assert_false(f->fd.dev.vqs[0].enabled);
	/* A kick through the slow path changes nothing either. */
	wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(f->fd.starts, 0);

	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(f->fd.starts, 1);
	assert_true(f->fd.dev.vqs[0].enabled);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR);
	assert_int_equal(f->fd.starts, 1); /* another COMMAND bit: no second start */
}

/*
 * Clearing bus mastering under a running device stops it (reset waits for
 * in-flight requests), flags DEVICE_NEEDS_RESET, holds its MSI-X messages,
 * and only a reset brings it back: the ring positions are gone.
 */
static void test_bus_master_clear_stops_device(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *dev = &f->fd.dev;

	enable_decode(f);
	enable_msix(f, false);
	program_vector(f, 0, 0x40, false);
	program_vector(f, 1, 0x41, false);
	negotiate(f);
	wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	setup_queue(f, 0, 16);
	wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	set_status(f, all_ok);
	assert_int_equal(f->fd.starts, 1);
	dev->transport_ops->notify_queue(dev->transport, 0);
	assert_int_equal(f->fp.fires[1], 1);

	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->fd.resets, 1);
	assert_true(status(f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* The config change and a late completion are held, not sent. */
	dev->transport_ops->notify_queue(dev->transport, 0);
	assert_int_equal(f->fp.fires[0], 0);
	assert_int_equal(f->fp.fires[1], 1);
	assert_int_equal(rd(f, VIRTIO_PCI_PBA_OFF, 4) & 3, 3);

	/* Bus mastering back: the held messages go, the device does not restart. */
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(f->fp.fires[0], 1);
	assert_int_equal(f->fp.fires[1], 2);
	assert_int_equal(rd(f, VIRTIO_PCI_PBA_OFF, 4) & 3, 0);
	assert_int_equal(f->fd.starts, 1);
	set_status(f, all_ok); /* DRIVER_OK again without a reset: refused */
	assert_int_equal(f->fd.starts, 1);

	set_status(f, 0);
	assert_int_equal(status(f), 0);
	negotiate(f);
	setup_queue(f, 0, 16);
	set_status(f, all_ok);
	assert_int_equal(f->fd.starts, 2);
	assert_int_equal(status(f), all_ok);
}

static void test_device_config(void **state)
{
	struct fixture *f = *state;

	enable_decode(f);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 0, 1), 0xa0);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 4, 4), 0xa7a6a5a4u);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 16, 8), 0xb7b6b5b4b3b2b1b0ull);
	/* Past config_len: zeros, and the device is never asked. */
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 24, 4), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 22, 4), 0xffffffffu); /* misaligned */
}

static void test_feature_negotiation(void **state)
{
	struct fixture *f = *state;
	uint64_t offered;

	enable_decode(f);
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	offered = rd(f, VIRTIO_PCI_COMMON_DF, 4);
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	offered |= rd(f, VIRTIO_PCI_COMMON_DF, 4) << 32;
	assert_true(offered & (1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(offered & DEV_FEAT, DEV_FEAT);
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_DF, 4), 0);

	/* No VERSION_1: a legacy driver is refused. */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_features(f, 1ULL << 9);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(status(f) & VIRTIO_STATUS_FEATURES_OK);

	/* A bit never offered is refused as well. */
	write_features(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 3);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(status(f) & VIRTIO_STATUS_FEATURES_OK);

	write_features(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 9);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(status(f) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(f->fd.dev.driver_features, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 9);
	/* Fixed from FEATURES_OK on. */
	write_features(f, 1ULL << VIRTIO_F_VERSION_1);
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_GF, 4), 1u << 9);
}

static void test_driver_ok_starts_and_reset_clears(void **state)
{
	struct fixture *f = *state;

	enable_decode(f);
	/* DRIVER_OK before FEATURES_OK: refused, the device never starts. */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_false(status(f) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.starts, 0);

	negotiate(f);
	setup_queue(f, 0, 16);
	wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	assert_true(status(f) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.starts, 1);
	assert_true(f->fd.dev.vqs[0].enabled);
	assert_int_equal(f->fd.dev.vqs[0].size, 16);
	assert_false(f->fd.dev.vqs[1].enabled);

	/* Queue registers are frozen once the device runs. */
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x5000);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x100000);

	set_status(f, 0);
	assert_int_equal(f->fd.resets, 1);
	assert_int_equal(status(f), 0);
	assert_false(f->fd.dev.vqs[0].enabled);
	assert_int_equal(f->fd.dev.driver_features, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
}

static void test_bad_queue_needs_reset(void **state)
{
	struct fixture *f = *state;

	enable_decode(f);
	negotiate(f);
	setup_queue(f, 0, 24); /* not a power of two */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.starts, 0);
	assert_true(status(f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	/* Rings outside RAM: the same. */
	set_status(f, 0);
	negotiate(f);
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0xfffff000u);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0x7);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.starts, 0);
	assert_true(status(f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	/* A queue bigger than the maximum cannot be enabled. */
	set_status(f, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, QMAX * 2);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);

	/* A queue that does not exist reads size 0 and takes no writes. */
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, NR_QUEUES);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
}

static void test_msix_delivery_mask_and_pending(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *dev = &f->fd.dev;

	enable_decode(f);
	/* Vector numbers beyond the table read back as NO_VECTOR. */
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, NR_QUEUES + 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 0);

	program_vector(f, 2, 0x4042, true);
	assert_int_equal(f->fp.route_addr[2], 0xfee00000u);
	assert_int_equal(f->fp.route_data[2], 0x4042);
	assert_int_equal(rd(f, VIRTIO_PCI_MSIX_OFF + 32 + 8, 4), 0x4042);
	enable_msix(f, false);

	/* Masked vector: the message waits in the PBA. */
	virtio_notify_queue(dev, 1);
	assert_int_equal(f->fp.fires[2], 0);
	assert_int_equal(rd(f, VIRTIO_PCI_PBA_OFF, 8), 1u << 2);
	/* Unmasking delivers it once and clears the bit. */
	wr(f, VIRTIO_PCI_MSIX_OFF + 32 + 12, 4, 0);
	assert_int_equal(f->fp.fires[2], 1);
	assert_int_equal(rd(f, VIRTIO_PCI_PBA_OFF, 8), 0);
	virtio_notify_queue(dev, 1);
	assert_int_equal(f->fp.fires[2], 2);

	/* Function mask: pending again, delivered when the function unmasks. */
	enable_msix(f, true);
	virtio_notify_queue(dev, 1);
	assert_int_equal(f->fp.fires[2], 2);
	enable_msix(f, false);
	assert_int_equal(f->fp.fires[2], 3);

	/* Config changes go to the config vector (masked here: pending). */
	virtio_notify_config(dev);
	assert_int_equal(f->fp.fires[0], 0);
	assert_int_equal(rd(f, VIRTIO_PCI_PBA_OFF, 4), 1);
	/* No INTx while MSI-X is on. */
	assert_int_equal(f->fp.intx_raises, 0);
	/* A queue with no vector: nothing at all. */
	virtio_notify_queue(dev, 0);
	assert_int_equal(f->fp.fires[1], 0);
	/* A queue number out of range from a buggy device: ignored. */
	virtio_notify_queue(dev, VIRTIO_MAX_QUEUES + 5);
}

static void test_intx_and_isr(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *dev = &f->fd.dev;

	enable_decode(f);
	virtio_notify_queue(dev, 0);
	assert_int_equal(f->fp.intx, 1);
	virtio_notify_config(dev);
	assert_int_equal(f->fp.intx_raises, 1);
	/* Reading ISR returns both causes, clears them and drops the line. */
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 3);
	assert_int_equal(f->fp.intx, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);
	/* INTx disabled in PCI_COMMAND: the cause is kept, the pin is not raised. */
	virtio_notify_queue(dev, 0);
	assert_int_equal(f->fp.intx, 1);
	cfg_wr(f, PCI_COMMAND, 2,
	       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->fp.intx, 0); /* the raised line goes down */
	virtio_notify_config(dev);
	assert_int_equal(f->fp.intx, 0);
	enable_decode(f); /* enabled again: the held causes raise it */
	assert_int_equal(f->fp.intx, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 3);
	assert_int_equal(f->fp.intx, 0);
	/* Enabling MSI-X drops a raised INTx line. */
	virtio_notify_queue(dev, 0);
	assert_int_equal(f->fp.intx, 1);
	enable_msix(f, false);
	assert_int_equal(f->fp.intx, 0);
}

static void test_needs_reset_from_device(void **state)
{
	struct fixture *f = *state;
	uint8_t gen;

	enable_decode(f);
	/* Before DRIVER_OK there is nothing to reset. */
	virtio_needs_reset(&f->fd.dev);
	assert_int_equal(status(f), 0);

	negotiate(f);
	setup_queue(f, 0, 16);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	gen = (uint8_t)rd(f, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	virtio_needs_reset(&f->fd.dev);
	assert_true(status(f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_not_equal(rd(f, VIRTIO_PCI_COMMON_CFGGENERATION, 1), gen);
	assert_int_equal(f->fp.intx, 1); /* config interrupt (INTx mode) */
	/* The driver cannot clear NEEDS_RESET except by a reset. */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	assert_true(status(f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	set_status(f, 0);
	assert_int_equal(status(f), 0);
}

static void test_notify_write_kicks(void **state)
{
	struct fixture *f = *state;
	eventfd_t v = 0;

	enable_decode(f);
	/* The ioeventfd normally takes these; a trapped write still kicks. */
	wr(f, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
	assert_int_equal(eventfd_read(f->fd.dev.kick_fd[1], &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(eventfd_read(f->fd.dev.kick_fd[0], &v), -1);
	/* A queue that does not exist: nothing. */
	wr(f, VIRTIO_PCI_NOTIFY_OFF + NR_QUEUES * VIRTIO_PCI_NOTIFY_MULT, 2, 0);
	assert_int_equal(virtio_pci_notify_addr(&f->vp, 1),
			 BAR_ADDR + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT);
}

static void test_pci_cfg_window(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = find_cap(f, PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG);

	/* Works with memory decoding off: that is what the window is for. */
	cfg_wr(f, cap + 4, 1, 0);
	cfg_wr(f, cap + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
	cfg_wr(f, cap + 12, 4, 2);
	assert_int_equal(cfg_rd(f, cap + 16, 4) & 0xffff, NR_QUEUES);
	cfg_wr(f, cap + 8, 4, VIRTIO_PCI_COMMON_STATUS);
	cfg_wr(f, cap + 12, 4, 1);
	cfg_wr(f, cap + 16, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(cfg_rd(f, cap + 16, 4) & 0xff, VIRTIO_STATUS_ACKNOWLEDGE);
	/* A bad BAR number or length: all-ones, no access. */
	cfg_wr(f, cap + 4, 1, 3);
	assert_int_equal(cfg_rd(f, cap + 16, 4), 0xffffffffu);
	cfg_wr(f, cap + 4, 1, 0);
	cfg_wr(f, cap + 12, 4, 3);
	assert_int_equal(cfg_rd(f, cap + 16, 4), 0xffffffffu);
	cfg_wr(f, cap + 12, 4, 1);
	cfg_wr(f, cap + 8, 4, 0xfffffff0u);
	assert_int_equal(cfg_rd(f, cap + 16, 4), 0xffffffffu);
}

/* A hostile driver: random offsets, sizes and values never crash or escape. */
static void test_random_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	static const unsigned int sizes[] = {1, 2, 4, 8, 3};

	enable_decode(f);
	for (int i = 0; i < 200000; i++) {
		unsigned int size, off;
		uint64_t v;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size = sizes[x % 5];
		off = (unsigned int)(x >> 8) % (VIRTIO_PCI_BAR_SIZE + 64);
		v = x >> 3;
		if ((x >> 40) % 3 == 0)
			v &= 0xff; /* small values hit status/select/vector fields */
		if ((x >> 50) % 2)
			wr(f, off, size, v);
		else
			(void)rd(f, off, size);
		if ((x >> 20) % 64 == 0) {
			cfg_wr(f, (unsigned int)(x >> 24) % 256 & ~3u, 4, (uint32_t)v);
			(void)cfg_rd(f, (unsigned int)(x >> 32) % 256, 1);
		}
		if (i % 1000 == 0)
			virtio_notify_queue(&f->fd.dev, (unsigned int)(x % 4));
	}
	/* Still a working device afterwards. */
	enable_decode(f);
	cfg_wr(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR);
	cfg_wr(f, PCI_BAR0 + 4, 4, 0);
	set_status(f, 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), NR_QUEUES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decode_gating, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kicks_bound_while_running_device_decodes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bus_master_gates_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bus_master_clear_stops_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_driver_ok_starts_and_reset_clears, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_queue_needs_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msix_delivery_mask_and_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intx_and_isr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_needs_reset_from_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_write_kicks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random_accesses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
