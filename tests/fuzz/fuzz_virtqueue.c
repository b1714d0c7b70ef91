/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the split virtqueue. The input is decoded into a guest's
 * rings in a small two-region guest RAM with PROT_NONE guard pages around
 * each region: placement, indices, the available ring, the ring's
 * descriptor table (placed flush against the end of region 0, so reading one
 * entry past it faults), a pool of descriptors for indirect tables to point
 * into, and one descriptor tiled over all the rest of RAM (so a walk that
 * strays anywhere keeps finding chains). The device then pops until the
 * ring is empty or broken, checks every chain it gets, reads every byte of
 * every buffer, and pushes the results.
 *
 * The decoding aims most values at interesting places (inside RAM, at its
 * edges, into the hole, at 2^64) so that random bytes reach deep paths.
 *
 * Built with libFuzzer (-Dfuzz=true, clang) and, always, into the replay
 * test that feeds it seeded pseudo-random inputs (fuzz_replay.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_virtqueue.h"
#include "tests/fuzz/fuzz_input.h"
#include "virtio/virtqueue.h"

#define R0_SIZE	  0x10000u
#define R1_GPA	  0x40000ull
#define R1_SIZE	  0x10000u
#define POOL_GPA  0x0ull /* descriptors for indirect tables */
#define POOL_MAX  2048u	 /* 32 KiB of them */
#define AVAIL_GPA 0x8000ull
#define USED_GPA  0x9000ull
#define DATA_GPA  0xa000ull /* buffers in region 0 go from here to its end */

/* The ring's descriptor table ends where region 0 does. */
static uint64_t ring_table_gpa(uint16_t qsize)
{
	return R0_SIZE - 16ull * qsize;
}

struct fuzz_virtqueue_stats fuzz_virtqueue_stats;

struct ram {
	uint8_t *r0, *r1;
	struct guest_mem mem;
	struct virtq_chain chain;
};

static uint8_t *map_guarded(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, size + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED || mprotect(map + page, size, PROT_READ | PROT_WRITE))
		__builtin_trap();
	return map + page;
}

static struct ram *ram_get(void)
{
	static struct ram *ram;

	if (!ram) {
		static struct ram storage;

		storage.r0 = map_guarded(R0_SIZE);
		storage.r1 = map_guarded(R1_SIZE);
		storage.mem.nr_regions = 2;
		storage.mem.regions[0] =
		    (struct guest_mem_region){.gpa = 0, .size = R0_SIZE, .hva = storage.r0};
		storage.mem.regions[1] =
		    (struct guest_mem_region){.gpa = R1_GPA, .size = R1_SIZE, .hva = storage.r1};
		storage.mem.size = R0_SIZE + R1_SIZE;
		ram = &storage;
	}
	return ram;
}

/* @len: the length decoded with it, to place a table flush with RAM's end. */
static uint64_t decode_addr(struct input *in, unsigned int mode, uint32_t len)
{
	static const uint64_t edges[] = {R0_SIZE, R1_GPA, R1_GPA + R1_SIZE, 0};
	uint32_t a = get32(in);

	switch (mode) {
	case 0:
	case 1:
	case 2:
		return DATA_GPA + a % (R0_SIZE - DATA_GPA);
	case 3:
		return R1_GPA + a % R1_SIZE;
	case 4: /* a descriptor in the pool, sometimes unaligned, or the end of RAM */
		if ((a >> 24) >= 0xc0 && len <= R1_SIZE) /* ends at RAM's end, or a bit past */
			return R1_GPA + R1_SIZE - len + ((a >> 16) & 0x1f);
		return POOL_GPA + 16ull * (a % POOL_MAX) + ((a >> 24) & 0x80 ? (a >> 16) & 15 : 0);
	case 5:
		return edges[a % 4] - 64 + ((a >> 8) & 127);
	case 6:
		return a;
	default:
		return 0xffffffffffff0000ull | a;
	}
}

static uint32_t decode_len(struct input *in, unsigned int mode)
{
	uint32_t l = get16(in);

	switch (mode) {
	case 0:
		return l % 256;
	case 1:
		return l;
	case 2:
		return 16 * (l & 0x8000 ? l % 80 : l % 5); /* indirect table sized */
	default:
		return l | (uint32_t)get16(in) << 16;
	}
}

static void decode_desc(struct input *in, struct virtq_desc *d)
{
	uint8_t f = get8(in);

	unsigned int addr_mode = (f >> 3) & 7, len_mode = f >> 6;

	d->flags = f & 7;
	d->next = get8(in);
	/* Small tables need small indices to chain at all. */
	d->next = d->next & 0x80 ? d->next & 0x7f : d->next & 7;
	/* Indirect descriptors mostly name a table of plausible size and place. */
	if ((d->flags & VIRTQ_DESC_F_INDIRECT) && len_mode != 3) {
		len_mode = 2;
		if (addr_mode < 5)
			addr_mode = 4;
	}
	d->len = decode_len(in, len_mode);
	d->addr = decode_addr(in, addr_mode, d->len);
}

/* Every 16 bytes of RAM, the pool and the ring table included, hold @d. */
static void tile(struct ram *ram, const struct virtq_desc *d)
{
	for (uint32_t off = 0; off < R0_SIZE; off += 16)
		memcpy(ram->r0 + off, d, 16);
	for (uint32_t off = 0; off < R1_SIZE; off += 16)
		memcpy(ram->r1 + off, d, 16);
}

/* Where the ring parts go: the usual layout, or (rarely) anywhere. */
static bool decode_placement(struct input *in, uint8_t mode, uint16_t qsize, uint64_t *desc,
			     uint64_t *avail, uint64_t *used)
{
	if ((mode >> 4) != 0xf) {
		*desc = ring_table_gpa(qsize);
		*avail = AVAIL_GPA;
		*used = USED_GPA;
		return true;
	}
	*desc = decode_addr(in, get8(in) & 7, 0);
	*avail = decode_addr(in, get8(in) & 7, 0);
	*used = decode_addr(in, get8(in) & 7, 0);
	return false;
}

static bool iov_in_region(const struct guest_mem_region *r, const struct virtq_iov *iov)
{
	uintptr_t b = (uintptr_t)iov->base, start = (uintptr_t)r->hva;

	return b >= start && iov->len <= r->size && b - start <= r->size - iov->len;
}

/* Every promise virtq_pop() makes about a chain it returned. */
static void check_chain(struct ram *ram, const struct virtq *q, const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;
	volatile uint8_t sink = 0;

	if (c->head >= q->size || c->nr_out + c->nr_in > VIRTQ_MAX_CHAIN)
		__builtin_trap();
	for (unsigned int n = 0; n < c->nr_out + c->nr_in; n++) {
		const struct virtq_iov *iov = &c->iov[n];

		if (iov->len == 0 || !(iov_in_region(&ram->mem.regions[0], iov) ||
				       iov_in_region(&ram->mem.regions[1], iov)))
			__builtin_trap();
		if (n < c->nr_out) {
			out += iov->len;
			for (uint32_t i = 0; i < iov->len; i++)
				sink ^= ((const uint8_t *)iov->base)[i];
		} else {
			/*
			 * Read, not written: a write could land on the rings and
			 * change what the checks below expect.
			 */
			in += iov->len;
			sink ^= ((const uint8_t *)iov->base)[0];
			sink ^= ((const uint8_t *)iov->base)[iov->len - 1];
		}
	}
	if (out != c->out_len || in != c->in_len)
		__builtin_trap();
	(void)sink;
}

/* Spec 2.7.7.2 as worded: notify iff an entry was written at index used_event. */
static bool spec_wants_notify(bool event_idx, bool first, uint16_t old, uint16_t new,
			      uint16_t used_event, uint16_t avail_flags)
{
	if (!event_idx)
		return (first || old != new) && !(avail_flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (first)
		return true;
	for (uint16_t k = old; k != new; k++)
		if (k == used_event)
			return true;
	return false;
}

/*
 * The device's notify decision, every @cadence pushes: checked against the
 * spec where the rings cannot have been rewritten under it.
 */
struct notify_check {
	bool strict, first;
	uint16_t old;
};

static void decide_notify(struct virtq *q, struct notify_check *n)
{
	uint16_t used_event = *q->used_event, flags = q->avail->flags;
	bool want =
	    spec_wants_notify(q->event_idx, n->first, n->old, q->used_idx, used_event, flags);
	bool got = virtq_should_notify(q);

	if (n->strict && q->enabled && got != want)
		__builtin_trap();
	fuzz_virtqueue_stats.notifies += got;
	n->first = false;
	n->old = q->used_idx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {.p = data, .n = size};
	struct ram *ram = ram_get();
	struct virtq q;
	uint8_t shape = get8(&in);
	uint8_t features = get8(&in);
	uint16_t qsize = (uint16_t)(1u << (shape % 9));
	uint16_t start = (features & 4) ? get16(&in) : 0;
	uint16_t pending = get16(&in);
	uint16_t used_event = get16(&in);
	uint8_t avail_flags = get8(&in);
	uint8_t cadence = get8(&in) % 5; /* notify decision every n pushes; 0: at the end */
	struct notify_check notify = {.first = true};
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct virtq_desc d;
	struct virtq_avail *avail;
	int popped = 0;
	bool strict;

	decode_desc(&in, &d);
	tile(ram, &d);
	/*
	 * Only the usual placement keeps the rings apart; elsewhere the used
	 * ring may overlap the others, and pushes rewrite what the driver
	 * offered, so the counting checks below do not hold.
	 */
	strict = decode_placement(&in, shape, qsize, &desc_gpa, &avail_gpa, &used_gpa);
	notify.strict = strict;
	if (virtq_enable(&q, &ram->mem, qsize, desc_gpa, avail_gpa, used_gpa, features & 1,
			 features & 2) < 0) {
		fuzz_virtqueue_stats.enable_refused++;
		return 0;
	}
	avail = (struct virtq_avail *)(uintptr_t)q.avail;

	/* Usually a believable number of buffers; sometimes any jump at all. */
	if ((features & 0x38) != 0x38)
		pending %= (uint16_t)(qsize + 1);
	q.last_avail = q.avail_shadow = q.used_idx = start;
	avail->flags = avail_flags;
	avail->idx = (uint16_t)(start + pending);
	q.used->idx = start;
	/* Mostly where this batch of pushes will pass (start - 1 to start + size). */
	if ((used_event & 0xc000) != 0xc000)
		used_event = (uint16_t)(start - 1 + used_event % (qsize + 2));
	avail->ring[qsize] = used_event;
	notify.old = start;

	for (uint16_t i = 0; i < qsize; i++) {
		uint16_t head = get16(&in);

		/* Mostly in range; sometimes just past it, or anything. */
		if ((head & 0xf000) != 0xf000)
			head %= qsize;
		else if (!(head & 0x100))
			head = (uint16_t)(qsize + (head & 3));
		avail->ring[i] = head;
	}

	/* The ring's table, then the pool. */
	for (uint32_t i = 0; i < (uint32_t)qsize + POOL_MAX && in.n; i++) {
		uint64_t gpa = i < qsize ? desc_gpa + 16ull * i : POOL_GPA + 16ull * (i - qsize);
		uint8_t *at = gpa_to_hva(&ram->mem, gpa, 16);

		if (!at)
			break;
		decode_desc(&in, &d);
		memcpy(at, &d, sizeof(d));
	}

	for (;;) {
		int r = virtq_pop(&q, &ram->chain);

		if (r == 0)
			break;
		if (q.broken) {
			fuzz_virtqueue_stats.broken++;
			break;
		}
		if (++popped > qsize && strict) /* at most what was offered */
			__builtin_trap();
		if (popped > 4 * qsize + 8) /* the rings rewrite themselves */
			break;
		if (r < 0) {
			fuzz_virtqueue_stats.bad_chains++;
			if (ram->chain.head >= qsize)
				__builtin_trap();
			virtq_push(&q, ram->chain.head, 0);
		} else {
			fuzz_virtqueue_stats.good_chains++;
			check_chain(ram, &q, &ram->chain);
			virtq_push(&q, ram->chain.head, (uint32_t)ram->chain.in_len);
		}
		if (cadence && popped % cadence == 0)
			decide_notify(&q, &notify);
	}
	if (strict && !q.broken && q.used->idx != (uint16_t)(start + popped))
		__builtin_trap();
	decide_notify(&q, &notify);
	/* A broken ring stays broken and quiet until reset. */
	if (q.broken && (virtq_pop(&q, &ram->chain) != -EBADMSG || virtq_has_work(&q) ||
			 virtq_set_notify(&q, true)))
		__builtin_trap();
	virtq_set_notify(&q, false);
	if (virtq_set_notify(&q, true) && strict && !q.broken)
		__builtin_trap(); /* the ring was drained: nothing can be pending */
	virtq_reset(&q);
	return 0;
}
