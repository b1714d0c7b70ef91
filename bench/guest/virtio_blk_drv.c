// SPDX-License-Identifier: MIT
/*
 * A polled virtio 1.x block driver for the bench guest (virtio spec 4.1
 * for the PCI transport, 2.7 for the split ring, 5.2 for the device).
 *
 * Exits are what the blk workloads measure, so the data path touches
 * nothing but RAM except for the notify write, and makes that only when
 * the device asked for it (EVENT_IDX's avail_event, or used->flags
 * without it) and only once per refill batch. The device is told never to
 * interrupt: used_event always lies half the index space ahead.
 */
#include "bench/guest/virtio_blk_drv.h"

#include "bench/guest/protocol.h"
#include "bench/guest/virtio_pci_caps.h"

#define PCI_VENDOR_DEVICE 0x00
#define PCI_COMMAND	  0x04
#define PCI_BAR0	  0x10
#define PCI_BAR1	  0x14
#define PCI_CMD_MEMORY	  0x2
#define PCI_CMD_MASTER	  0x4
#define PCI_BAR_MEM_TYPE  0x7 /* I/O bit and memory type */
#define PCI_BAR_MEM64	  0x4
#define VIRTIO_BLK_PCI_ID 0x10421af4u /* device 0x1042 (0x1040 + 2), vendor 0x1af4 */
#define PCI_SLOTS	  32

/* Common configuration (spec 4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF	    0x04
#define CC_GFSELECT 0x08
#define CC_GF	    0x0c
#define CC_NUMQ	    0x12
#define CC_STATUS   0x14
#define CC_CFGGEN   0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE   0x18
#define CC_Q_MSIX   0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF   0x1e
#define CC_Q_DESC   0x20
#define CC_Q_DRIVER 0x28
#define CC_Q_DEVICE 0x30
#define CC_SIZE	    0x38
#define NO_VECTOR   0xffff

#define S_ACKNOWLEDGE 1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8

#define F_EVENT_IDX 29
#define F_VERSION_1 32

#define D_NEXT	    1
#define D_WRITE	    2
#define A_NO_INTR   1
#define U_NO_NOTIFY 1

#define BLK_T_IN	  0
#define BLK_S_OK	  0
#define SECTOR_SHIFT	  9
#define BLOCK_SIZE	  4096
#define SECTORS_PER_BLOCK (BLOCK_SIZE >> SECTOR_SHIFT)

/* Where the parts live in the DMA area. */
#define DMA_DESC   0x0000
#define DMA_AVAIL  0x1000
#define DMA_USED   0x2000
#define DMA_HDR	   0x3000
#define DMA_STATUS 0x3800
#define DMA_ZERO   0x4000 /* everything above is zeroed at init */
#define DMA_DATA   0x10000

/* About 10 s at 3 GHz without a single completion: the device is gone. */
#define STALL_CYCLES 30000000000ull

_Static_assert(DMA_DATA + VBLK_MAX_QD * BLOCK_SIZE <= BENCH_GUEST_DMA_SIZE, "DMA area");
_Static_assert(16 * VBLK_QUEUE_SIZE <= DMA_AVAIL - DMA_DESC, "descriptor table");
_Static_assert(6 + 2 * VBLK_QUEUE_SIZE <= DMA_USED - DMA_AVAIL, "avail ring");
_Static_assert(6 + 8 * VBLK_QUEUE_SIZE <= DMA_HDR - DMA_USED, "used ring");
_Static_assert(16 * VBLK_MAX_QD <= DMA_STATUS - DMA_HDR, "request headers");

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

#define barrier() __asm__ volatile("" ::: "memory")

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint8_t rd8(volatile uint8_t *base, unsigned int off)
{
	return *(volatile uint8_t *)(base + off);
}

static inline uint16_t rd16(volatile uint8_t *base, unsigned int off)
{
	return *(volatile uint16_t *)(base + off);
}

static inline uint32_t rd32(volatile uint8_t *base, unsigned int off)
{
	return *(volatile uint32_t *)(base + off);
}

static inline void wr8(volatile uint8_t *base, unsigned int off, uint8_t v)
{
	*(volatile uint8_t *)(base + off) = v;
}

static inline void wr16(volatile uint8_t *base, unsigned int off, uint16_t v)
{
	*(volatile uint16_t *)(base + off) = v;
}

static inline void wr32(volatile uint8_t *base, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

static inline void wr64(volatile uint8_t *base, unsigned int off, uint64_t v)
{
	wr32(base, off, (uint32_t)v);
	wr32(base, off + 4, (uint32_t)(v >> 32));
}

struct cfg_ctx {
	const struct vblk_cfg_ops *ops;
	unsigned int slot;
};

static uint32_t cfg_read(void *ctx, unsigned int off)
{
	struct cfg_ctx *c = ctx;

	return c->ops->read32(c->slot, off);
}

static uint64_t fault(unsigned int reason, uint64_t detail)
{
	return BENCH_BLK_FAULT_ERROR(reason, detail);
}

/* BAR 0's address and size, sized with decoding off as PCI requires. */
static int bar0_probe(const struct vblk_cfg_ops *cfg, unsigned int slot, uint64_t *addr,
		      uint64_t *size)
{
	uint32_t cmd = cfg->read32(slot, PCI_COMMAND) & 0xffff;
	uint32_t lo = cfg->read32(slot, PCI_BAR0), hi, mlo, mhi;
	uint64_t mask;

	if ((lo & PCI_BAR_MEM_TYPE) != PCI_BAR_MEM64)
		return -1;
	hi = cfg->read32(slot, PCI_BAR1);
	cfg->write32(slot, PCI_COMMAND, cmd & ~(uint32_t)PCI_CMD_MEMORY);
	cfg->write32(slot, PCI_BAR0, 0xffffffff);
	cfg->write32(slot, PCI_BAR1, 0xffffffff);
	mlo = cfg->read32(slot, PCI_BAR0);
	mhi = cfg->read32(slot, PCI_BAR1);
	cfg->write32(slot, PCI_BAR0, lo);
	cfg->write32(slot, PCI_BAR1, hi);
	cfg->write32(slot, PCI_COMMAND, cmd);

	mask = ((uint64_t)mhi << 32) | (mlo & ~0xfu);
	*addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
	*size = ~mask + 1;
	/* Placed, a power of two, and inside the 4 GiB our page tables map. */
	if (!mask || (*size & (*size - 1)) || !*addr || *addr + *size > (1ull << 32) ||
	    *addr + *size < *addr)
		return -1;
	return 0;
}

static int region_ok(const struct vpci_region *r, uint64_t bar_size, uint32_t need)
{
	return r->bar == 0 && r->length >= need && (uint64_t)r->offset + r->length <= bar_size;
}

static void zero(uint8_t *p, uint64_t len)
{
	volatile uint64_t *q = (volatile uint64_t *)p;

	for (uint64_t i = 0; i < len / 8; i++)
		q[i] = 0;
}

static inline volatile uint16_t *avail_idx_p(struct vblk *d)
{
	return (volatile uint16_t *)(d->dma + DMA_AVAIL + 2);
}

static inline volatile uint16_t *avail_ring(struct vblk *d)
{
	return (volatile uint16_t *)(d->dma + DMA_AVAIL + 4);
}

static inline volatile uint16_t *used_event_p(struct vblk *d)
{
	return avail_ring(d) + d->qsize;
}

static inline volatile uint16_t *used_flags_p(struct vblk *d)
{
	return (volatile uint16_t *)(d->dma + DMA_USED);
}

static inline volatile uint16_t *used_idx_p(struct vblk *d)
{
	return (volatile uint16_t *)(d->dma + DMA_USED + 2);
}

static inline volatile struct vq_used_elem *used_ring(struct vblk *d)
{
	return (volatile struct vq_used_elem *)(d->dma + DMA_USED + 4);
}

static inline volatile uint16_t *avail_event_p(struct vblk *d)
{
	return (volatile uint16_t *)(used_ring(d) + d->qsize);
}

static uint64_t read_capacity(struct vblk *d)
{
	uint64_t cap = 0;

	/* The device may change it under us: retry until the generation holds still. */
	for (int tries = 0; tries < 16; tries++) {
		uint8_t gen = rd8(d->common, CC_CFGGEN);

		cap = rd32(d->device, 0) | ((uint64_t)rd32(d->device, 4) << 32);
		if (rd8(d->common, CC_CFGGEN) == gen)
			break;
	}
	return cap;
}

static uint64_t device_up(struct vblk *d, uint64_t bar, const struct vpci_layout *lay)
{
	volatile uint8_t *cc = d->common;
	uint32_t f_lo, f_hi, want_lo;
	uint16_t qmax, noff;
	uint64_t notify_at;

	wr8(cc, CC_STATUS, 0);
	for (int i = 0; rd8(cc, CC_STATUS) != 0; i++)
		if (i == 1000)
			return fault(BENCH_BLK_FEATURES, rd8(cc, CC_STATUS));
	wr8(cc, CC_STATUS, S_ACKNOWLEDGE);
	wr8(cc, CC_STATUS, S_ACKNOWLEDGE | S_DRIVER);

	wr32(cc, CC_DFSELECT, 0);
	f_lo = rd32(cc, CC_DF);
	wr32(cc, CC_DFSELECT, 1);
	f_hi = rd32(cc, CC_DF);
	if (!(f_hi & (1u << (F_VERSION_1 - 32))))
		return fault(BENCH_BLK_FEATURES, f_hi);
	want_lo = f_lo & (1u << F_EVENT_IDX);
	d->event_idx = want_lo != 0;
	wr32(cc, CC_GFSELECT, 0);
	wr32(cc, CC_GF, want_lo);
	wr32(cc, CC_GFSELECT, 1);
	wr32(cc, CC_GF, 1u << (F_VERSION_1 - 32));
	wr8(cc, CC_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!(rd8(cc, CC_STATUS) & S_FEATURES_OK))
		return fault(BENCH_BLK_FEATURES, rd8(cc, CC_STATUS));

	if (rd16(cc, CC_NUMQ) < 1)
		return fault(BENCH_BLK_QUEUE, 0);
	wr16(cc, CC_Q_SELECT, 0);
	qmax = rd16(cc, CC_Q_SIZE);
	d->qsize = qmax < VBLK_QUEUE_SIZE ? qmax : VBLK_QUEUE_SIZE;
	while (d->qsize & (d->qsize - 1)) /* split rings come in powers of two */
		d->qsize &= (uint16_t)(d->qsize - 1);
	if (d->qsize < 3)
		return fault(BENCH_BLK_QUEUE, qmax);
	zero(d->dma, DMA_ZERO);
	/* No interrupts, ever: with EVENT_IDX used_event does it (kept far ahead). */
	*(volatile uint16_t *)(d->dma + DMA_AVAIL) = d->event_idx ? 0 : A_NO_INTR;
	*used_event_p(d) = 0x8000;
	d->avail_idx = 0;
	d->last_used = 0;
	wr16(cc, CC_Q_SIZE, d->qsize);
	wr16(cc, CC_Q_MSIX, NO_VECTOR);
	wr64(cc, CC_Q_DESC, (uint64_t)(uintptr_t)(d->dma + DMA_DESC));
	wr64(cc, CC_Q_DRIVER, (uint64_t)(uintptr_t)(d->dma + DMA_AVAIL));
	wr64(cc, CC_Q_DEVICE, (uint64_t)(uintptr_t)(d->dma + DMA_USED));
	noff = rd16(cc, CC_Q_NOFF);
	notify_at = (uint64_t)noff * lay->notify_off_multiplier;
	if (notify_at + 2 > lay->notify.length)
		return fault(BENCH_BLK_CAPS, noff);
	d->notify = (volatile uint16_t *)(uintptr_t)(bar + lay->notify.offset + notify_at);
	wr16(cc, CC_Q_ENABLE, 1);
	wr8(cc, CC_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);

	d->blocks = read_capacity(d) / SECTORS_PER_BLOCK;
	if (!d->blocks)
		return fault(BENCH_BLK_CAPACITY, 0);
	return 0;
}

uint64_t vblk_init(struct vblk *d, const struct vblk_cfg_ops *cfg, uint8_t *dma)
{
	struct vpci_layout lay;
	struct cfg_ctx ctx = {cfg, 0};
	uint64_t bar, bar_size;
	unsigned int slot;

	*d = (struct vblk){.dma = dma, .rng = 0x853c49e6748fea9bull};
	for (slot = 0; slot < PCI_SLOTS; slot++)
		if (cfg->read32(slot, PCI_VENDOR_DEVICE) == VIRTIO_BLK_PCI_ID)
			break;
	if (slot == PCI_SLOTS)
		return fault(BENCH_BLK_NO_DEVICE, 0);
	ctx.slot = slot;
	if (bar0_probe(cfg, slot, &bar, &bar_size) < 0)
		return fault(BENCH_BLK_BAR, slot);
	if (vpci_find_caps(cfg_read, &ctx, &lay) < 0 ||
	    !region_ok(&lay.common, bar_size, CC_SIZE) || !region_ok(&lay.notify, bar_size, 2) ||
	    !region_ok(&lay.device, bar_size, 8))
		return fault(BENCH_BLK_CAPS, lay.found);
	cfg->write32(slot, PCI_COMMAND,
		     (cfg->read32(slot, PCI_COMMAND) & 0xffff) | PCI_CMD_MEMORY | PCI_CMD_MASTER);
	d->common = (volatile uint8_t *)(uintptr_t)(bar + lay.common.offset);
	d->device = (volatile uint8_t *)(uintptr_t)(bar + lay.device.offset);
	return device_up(d, bar, &lay);
}

static inline uint64_t next_random(struct vblk *d)
{
	/* xorshift64: enough to spread reads over the disk */
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static inline struct blk_outhdr *hdr_of(struct vblk *d, unsigned int s)
{
	return (struct blk_outhdr *)(d->dma + DMA_HDR) + s;
}

static inline volatile uint8_t *status_of(struct vblk *d, unsigned int s)
{
	return d->dma + DMA_STATUS + s;
}

static inline volatile uint64_t *data_of(struct vblk *d, unsigned int s)
{
	return (volatile uint64_t *)(d->dma + DMA_DATA + (uint64_t)s * BLOCK_SIZE);
}

/* Slot s owns descriptors 3s (header), 3s + 1 (data), 3s + 2 (status). */
static void build_chains(struct vblk *d, unsigned int qd)
{
	struct vq_desc *desc = (struct vq_desc *)(d->dma + DMA_DESC);

	for (unsigned int s = 0; s < qd; s++) {
		uint16_t h = (uint16_t)(3 * s);

		desc[h] = (struct vq_desc){(uintptr_t)hdr_of(d, s), sizeof(struct blk_outhdr),
					   D_NEXT, (uint16_t)(h + 1)};
		desc[h + 1] = (struct vq_desc){(uintptr_t)data_of(d, s), BLOCK_SIZE,
					       D_NEXT | D_WRITE, (uint16_t)(h + 2)};
		desc[h + 2] = (struct vq_desc){(uintptr_t)status_of(d, s), 1, D_WRITE, 0};
	}
	barrier();
}

/*
 * Queue slot @s's next read (published later, by kick()). The words the
 * check looks at are poisoned first, so a read whose data never arrived
 * cannot pass on what the buffer held before.
 */
static void submit(struct vblk *d, unsigned int s, uint64_t *sector)
{
	struct blk_outhdr *h = hdr_of(d, s);
	volatile uint64_t *data = data_of(d, s);

	*sector = (next_random(d) % d->blocks) * SECTORS_PER_BLOCK;
	h->type = BLK_T_IN;
	h->reserved = 0;
	h->sector = *sector;
	*status_of(d, s) = 0xff;
	for (unsigned int k = 0; k < SECTORS_PER_BLOCK; k++)
		data[k * 64] = ~bench_blk_pattern(*sector + k);
	avail_ring(d)[d->avail_idx & (d->qsize - 1)] = (uint16_t)(3 * s);
	d->avail_idx++;
}

/* Publish what submit() queued since @old and notify the device if it wants to be. */
static void kick(struct vblk *d, uint16_t old)
{
	uint16_t now = d->avail_idx;
	int need;

	/* Keep the device from ever crossing used_event. */
	*used_event_p(d) = (uint16_t)(d->last_used + 0x8000);
	barrier(); /* x86 orders stores; the compiler must too */
	*avail_idx_p(d) = now;
	/* The device's avail_event / NO_NOTIFY must be read after our idx store is visible. */
	__asm__ volatile("mfence" ::: "memory");
	if (d->event_idx)
		need = (uint16_t)(now - *avail_event_p(d) - 1) < (uint16_t)(now - old);
	else
		need = !(*used_flags_p(d) & U_NO_NOTIFY);
	if (need) {
		*d->notify = 0; /* queue index */
		d->kicks++;
	}
}

uint64_t vblk_read_random(struct vblk *d, unsigned int qd, uint64_t ios)
{
	uint64_t sectors[VBLK_MAX_QD];
	uint8_t in_flight[VBLK_MAX_QD];
	uint8_t free_slots[VBLK_MAX_QD];
	unsigned int nfree = 0, batch = qd / 2 ? qd / 2 : 1;
	uint64_t issued = 0, done = 0, last_progress;
	uint16_t old = d->avail_idx;

	if (qd < 1 || qd > VBLK_MAX_QD || 3 * qd > d->qsize)
		return fault(BENCH_BLK_QUEUE, qd);
	build_chains(d, qd);
	for (unsigned int s = 0; s < qd; s++) {
		in_flight[s] = 0;
		if (issued < ios) {
			submit(d, s, &sectors[s]);
			in_flight[s] = 1;
			issued++;
		} else {
			free_slots[nfree++] = (uint8_t)s;
		}
	}
	kick(d, old);

	last_progress = rdtsc();
	while (done < ios) {
		uint16_t used = *used_idx_p(d);
		uint64_t want;

		if (used == d->last_used) {
			if (rdtsc() - last_progress > STALL_CYCLES)
				return fault(BENCH_BLK_TIMEOUT, rd8(d->common, CC_STATUS));
			__asm__ volatile("pause");
			continue;
		}
		barrier(); /* the elements after the index (x86 keeps loads in order) */
		while (d->last_used != used) {
			struct vq_used_elem e = used_ring(d)[d->last_used & (d->qsize - 1)];
			unsigned int s = e.id / 3;
			volatile uint64_t *data;
			uint8_t status;

			d->last_used++;
			if (e.id % 3 || s >= qd || !in_flight[s])
				return fault(BENCH_BLK_USED_ID, e.id);
			in_flight[s] = 0;
			status = *status_of(d, s);
			if (status != BLK_S_OK)
				return fault(BENCH_BLK_STATUS, status);
			data = data_of(d, s);
			for (unsigned int k = 0; k < SECTORS_PER_BLOCK; k++)
				if (data[k * 64] != bench_blk_pattern(sectors[s] + k))
					return fault(BENCH_BLK_DATA, sectors[s] + k);
			free_slots[nfree++] = (uint8_t)s;
			done++;
		}
		last_progress = rdtsc();

		/* Refill in batches: one publish and at most one kick per batch. */
		want = ios - issued < nfree ? ios - issued : nfree;
		if (want && (nfree >= batch || want == ios - issued)) {
			old = d->avail_idx;
			while (want--) {
				unsigned int s = free_slots[--nfree];

				submit(d, s, &sectors[s]);
				in_flight[s] = 1;
				issued++;
			}
			kick(d, old);
		}
	}
	return 0;
}
