/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the modern virtio-pci transport's register file (config
 * space, BAR 0, the config-space window) as a hostile driver drives it,
 * interleaved with what the device does on its own (used buffers, config
 * changes, a broken ring), on a fresh transport per input.
 *
 * Input: a header, then operations until the input ends.
 *   header: queues-1 (%4), log2 queue size - 2 (%8), config length,
 *           behaviour bits (1: features_ok refuses, 2: start fails,
 *           4: MSI routes fail)
 *   op 0  config write   off16 size8 val32
 *   op 1  config read    off16 size8
 *   op 2  BAR write      off16 size8 val64
 *   op 3  BAR read       off16 size8
 *   op 4  device: used buffers on queue q8
 *   op 5  device: config changed
 *   op 6  device: broken ring (needs reset)
 *   op 7  driver steps: bits8 (1 decode+master, 2 negotiate, 4 queue 0 in
 *         RAM at addr32, 8 MSI-X on with vectors programmed, 16 DRIVER_OK)
 *
 * What must hold after every operation (a trap otherwise): the device is
 * never started twice without a reset, never runs (nor gets started)
 * without bus mastering, no MSI-X message leaves while bus mastering or
 * MSI-X is off or for a vector that does not exist, the kick ioeventfds
 * are bound exactly while the device is not running or its BAR decodes
 * (told only of changes), and a read fills exactly its size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_virtio_pci.h"
#include "virtio/pci.h"
#include "virtio/virtio_ids.h"

#define RAM_SIZE (1u << 20)

struct fuzz_virtio_pci_stats fuzz_virtio_pci_stats;

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

struct fake {
	struct virtio_dev dev;
	struct virtio_pci *vp;
	uint8_t behaviour;
	bool running;
	int bound; /* the kick ioeventfds: they start bound */
	uint8_t config[64];
};

static struct fake fake;
static struct virtio_pci vp;

static bool bus_master_on(void)
{
	return pci_cfg_get16(&vp.cfg, PCI_COMMAND) & PCI_COMMAND_MASTER;
}

static void f_config_read(struct virtio_dev *dev, unsigned int off, void *data, unsigned int size)
{
	check(off + size <= dev->config_len);
	memcpy(data, fake.config + off, size);
}

static void f_config_write(struct virtio_dev *dev, unsigned int off, const void *data,
			   unsigned int size)
{
	check(off + size <= dev->config_len);
	memcpy(fake.config + off, data, size);
}

static bool f_features_ok(struct virtio_dev *dev, uint64_t features)
{
	(void)dev;
	(void)features;
	return !(fake.behaviour & 1);
}

static int f_start(struct virtio_dev *dev)
{
	(void)dev;
	check(!fake.running);	/* a second start without a reset */
	check(bus_master_on()); /* no DMA without bus mastering */
	fuzz_virtio_pci_stats.starts++;
	if (fake.behaviour & 2)
		return -5;
	fake.running = true;
	return 0;
}

static void f_reset(struct virtio_dev *dev)
{
	(void)dev;
	if (fake.running)
		fuzz_virtio_pci_stats.stops++;
	fake.running = false;
}

static const struct virtio_dev_ops fake_ops = {
    .config_read = f_config_read,
    .config_write = f_config_write,
    .features_ok = f_features_ok,
    .start = f_start,
    .reset = f_reset,
};

static int p_route(void *ctx, unsigned int vec, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)addr;
	(void)data;
	check(vec < vp.nr_vectors);
	return fake.behaviour & 4 ? -22 : 0;
}

static void p_fire(void *ctx, unsigned int vec)
{
	(void)ctx;
	check(vec < vp.nr_vectors);
	check(vp.msix_enabled && bus_master_on());
	fuzz_virtio_pci_stats.fires++;
}

static void p_intx(void *ctx, int level)
{
	(void)ctx;
	if (level)
		fuzz_virtio_pci_stats.intx_raises++;
}

static void p_bind(void *ctx, bool on)
{
	(void)ctx;
	check(fake.bound != (int)on); /* told only of changes */
	fake.bound = on;
	fuzz_virtio_pci_stats.decode_changes++;
}

static struct guest_mem *ram(void)
{
	static struct guest_mem mem;
	static bool made;

	if (!made) {
		if (guest_mem_init(&mem, RAM_SIZE) < 0)
			__builtin_trap();
		made = true;
	}
	return &mem;
}

static void bar_wr(unsigned int off, unsigned int size, uint64_t v)
{
	uint8_t buf[8];

	dev_data_put(buf, size, v);
	virtio_pci_bar_ops.write(&vp, off, buf, size);
}

static uint64_t bar_rd(unsigned int off, unsigned int size)
{
	uint8_t buf[16];

	memset(buf, 0xa5, sizeof(buf));
	virtio_pci_bar_ops.read(&vp, off, buf, size);
	for (unsigned int i = size; i < sizeof(buf); i++)
		check(buf[i] == 0xa5); /* exactly its size */
	return dev_data_get(buf, size);
}

/* Config space takes 1, 2 and 4 bytes; BAR 0 also 8, and a size it must refuse. */
static unsigned int pick_size(uint8_t v, bool bar)
{
	static const unsigned int cfg_sizes[] = {1, 2, 4};
	static const unsigned int bar_sizes[] = {1, 2, 4, 8, 3};

	return bar ? bar_sizes[v % 5] : cfg_sizes[v % 3];
}

/* Find a capability by ID (and virtio cfg_type, if >= 0). */
static unsigned int find_cap(uint8_t id, int type)
{
	unsigned int off = virtio_pci_cfg_ops.cfg_read(&vp, PCI_CAPABILITY_LIST, 1);

	for (int n = 0; off && n < 48; n++) {
		if (virtio_pci_cfg_ops.cfg_read(&vp, off, 1) == id &&
		    (type < 0 || virtio_pci_cfg_ops.cfg_read(&vp, off + 3, 1) == (unsigned)type))
			return off;
		off = virtio_pci_cfg_ops.cfg_read(&vp, off + 1, 1);
	}
	return 0;
}

static void driver_steps(struct input *in)
{
	uint8_t bits = get8(in);
	uint32_t addr = get32(in) % RAM_SIZE;

	if (bits & 1)
		virtio_pci_cfg_ops.cfg_write(&vp, PCI_COMMAND, 2,
					     PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (bits & 2) {
		bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, 3);
		bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
		bar_wr(VIRTIO_PCI_COMMON_GF, 4, 1); /* VERSION_1 */
		bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, 11);
	}
	if (bits & 4) {
		bar_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
		bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, addr);
		bar_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, addr + 0x1000);
		bar_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, addr + 0x2000);
		bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
		bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	if (bits & 8) {
		unsigned int msix = find_cap(PCI_CAP_ID_MSIX, -1);

		for (unsigned int v = 0; v < vp.nr_vectors; v++) {
			bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v, 4, 0xfee00000u);
			bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v + 8, 4, 0x30 + v);
			bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v + 12, 4, 0);
		}
		bar_wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
		if (msix)
			virtio_pci_cfg_ops.cfg_write(&vp, msix + 2, 2, PCI_MSIX_ENABLE);
	}
	if (bits & 16)
		bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, 15);
}

/* What must hold between any two operations. */
static void invariants(void)
{
	bool decodes = (pci_cfg_get16(&vp.cfg, PCI_COMMAND) & PCI_COMMAND_MEMORY) &&
		       pci_cfg_bar_addr(&vp.cfg, 0) == vp.bar_addr;

	check(!fake.running || bus_master_on());
	check(fake.running == vp.running);
	/* No kick reaches a running device whose BAR does not decode. */
	check(fake.bound == (decodes || !fake.running));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct virtio_pci_platform plat = {
	    .msi_route = p_route,
	    .msi_fire = p_fire,
	    .intx = p_intx,
	    .bind_kicks = p_bind,
	};
	uint8_t nq = 1 + get8(&in) % 4, qshift = 2 + get8(&in) % 8, clen = get8(&in) % 65;
	int ops = 0;

	memset(&fake, 0, sizeof(fake));
	fake.behaviour = get8(&in);
	fake.bound = 1;
	fake.dev = (struct virtio_dev){
	    .ops = &fake_ops,
	    .name = "fuzz",
	    .device_id = VIRTIO_ID_BLOCK,
	    .device_features = 1ULL << 5 | 1ULL << 9 | 1ULL << VIRTIO_F_EVENT_IDX,
	    .config_len = clen,
	    .nr_queues = nq,
	    .queue_max_size = (uint16_t)(1u << qshift),
	};
	if (virtio_pci_init(&vp, &fake.dev, ram(), &plat, 0xc0000000ull) < 0)
		__builtin_trap();
	fake.vp = &vp;
	fuzz_virtio_pci_stats.inputs++;

	while (in.n && ops++ < 512) {
		uint8_t op = get8(&in) % 8;
		unsigned int off = get16(&in), sz;

		switch (op) {
		case 0:
			sz = pick_size(get8(&in), false);
			virtio_pci_cfg_ops.cfg_write(&vp, (off % 256) & ~(sz - 1), sz, get32(&in));
			break;
		case 1:
			sz = pick_size(get8(&in), false);
			virtio_pci_cfg_ops.cfg_read(&vp, (off % 256) & ~(sz - 1), sz);
			break;
		case 2:
			sz = pick_size(get8(&in), true);
			bar_wr(off % (VIRTIO_PCI_BAR_SIZE + 0x100), sz, get64(&in));
			break;
		case 3:
			sz = pick_size(get8(&in), true);
			bar_rd(off % (VIRTIO_PCI_BAR_SIZE + 0x100), sz);
			break;
		case 4:
			fake.dev.transport_ops->notify_queue(fake.dev.transport, off % (nq + 2));
			break;
		case 5:
			fake.dev.transport_ops->notify_config(fake.dev.transport);
			break;
		case 6:
			fake.dev.transport_ops->needs_reset(fake.dev.transport);
			break;
		default:
			driver_steps(&in); /* off16 went unused: two bytes of slack */
			break;
		}
		invariants();
		if (vp.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			fuzz_virtio_pci_stats.needs_reset++;
	}
	if (fake.running)
		fuzz_virtio_pci_stats.ran++;
	virtio_pci_destroy(&vp);
	check(!fake.running); /* destroy stops the device */
	return 0;
}
