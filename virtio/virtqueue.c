/* SPDX-License-Identifier: MIT */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/*
 * Plain loads and stores of ring fields shared with the guest, done as
 * relaxed atomics so the compiler performs each exactly once, at its size.
 */
#define RING_LOAD(p)	 __atomic_load_n((p), __ATOMIC_RELAXED)
#define RING_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

#define DESC_SIZE 16u /* sizeof(struct virtq_desc), as the spec fixes it */

_Static_assert(sizeof(struct virtq_desc) == DESC_SIZE, "descriptor layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element layout");

static bool aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

int virtq_enable(struct virtq *q, struct guest_mem *mem, uint16_t size, uint64_t desc_gpa,
		 uint64_t avail_gpa, uint64_t used_gpa, bool event_idx, bool indirect)
{
	void *desc, *avail, *used;

	virtq_reset(q);
	if (size == 0 || size > VIRTQ_SIZE_MAX || (size & (size - 1)))
		return -EINVAL;
	if ((desc_gpa & 15) || (avail_gpa & 1) || (used_gpa & 3))
		return -EINVAL;

	/* Sizes from the spec's table, the event fields included. */
	desc = gpa_to_hva(mem, desc_gpa, (uint64_t)DESC_SIZE * size);
	avail = gpa_to_hva(mem, avail_gpa, 6 + 2 * (uint64_t)size);
	used = gpa_to_hva(mem, used_gpa, 6 + 8 * (uint64_t)size);
	if (!desc || !avail || !used)
		return -EINVAL;
	/* RAM is page aligned in the host too; this only guards the atomics. */
	if (!aligned(desc, 16) || !aligned(avail, 2) || !aligned(used, 4))
		return -EINVAL;

	q->mem = mem;
	q->size = size;
	q->desc_gpa = desc_gpa;
	q->avail_gpa = avail_gpa;
	q->used_gpa = used_gpa;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->notify_enabled = true;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->used_event = &q->avail->ring[size];
	q->avail_event = (uint16_t *)&q->used->ring[size];
	q->enabled = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

/*
 * Copy one descriptor out of guest memory. The guest may rewrite it at any
 * moment; the compiler barrier makes the local copy the only thing later
 * code looks at, so what is validated is what is used. memcpy also covers
 * indirect tables, which the spec does not require to be aligned.
 */
static void desc_read(const uint8_t *src, struct virtq_desc *d)
{
	memcpy(d, src, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static int chain_bad(struct virtq_chain *c)
{
	c->nr_out = 0;
	c->nr_in = 0;
	c->out_len = 0;
	c->in_len = 0;
	return -EBADMSG;
}

/*
 * Walk the chain starting at descriptor @head of the ring's table, into an
 * indirect table when one is met. Each table bounds its own walk: a chain
 * that visits more descriptors than its table holds must have looped.
 */
static int chain_walk(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	const uint8_t *table = (const uint8_t *)q->desc;
	uint32_t table_len = q->size; /* entries in the table being walked */
	uint32_t budget = q->size;    /* visits left in this table */
	uint32_t i = head;
	bool in_indirect = false;
	bool seen_writable = false;
	unsigned int nr_out = 0, nr_in = 0;
	uint64_t out_len = 0, in_len = 0;
	struct virtq_desc d;

	for (;;) {
		if (budget == 0)
			return chain_bad(c);
		budget--;
		desc_read(table + (size_t)i * DESC_SIZE, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Its WRITE flag means nothing (spec 2.7.5.3.2). */
			if (!q->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return chain_bad(c);
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_CHAIN)
				return chain_bad(c);
			table = gpa_to_hva(q->mem, d.addr, d.len);
			if (!table)
				return chain_bad(c);
			table_len = d.len / DESC_SIZE;
			budget = table_len;
			in_indirect = true;
			i = 0;
			continue;
		}

		if (d.flags & VIRTQ_DESC_F_WRITE)
			seen_writable = true;
		else if (seen_writable)
			return chain_bad(c);

		if (d.len) {
			unsigned int n = nr_out + nr_in;
			void *base;

			if (n == VIRTQ_MAX_CHAIN)
				return chain_bad(c);
			base = gpa_to_hva(q->mem, d.addr, d.len);
			if (!base)
				return chain_bad(c);
			c->iov[n].base = base;
			c->iov[n].len = d.len;
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				nr_in++;
				in_len += d.len;
			} else {
				nr_out++;
				out_len += d.len;
			}
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= table_len)
			return chain_bad(c);
	}

	c->nr_out = nr_out;
	c->nr_in = nr_in;
	c->out_len = out_len;
	c->in_len = in_len;
	return 1;
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	uint16_t head;

	if (!q->enabled)
		return 0;
	if (q->broken)
		return -EBADMSG;

	if (q->last_avail == q->avail_shadow) {
		/* Acquire: ring entries and descriptors are read after idx. */
		uint16_t idx = le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
		uint16_t pending = (uint16_t)(idx - q->last_avail);

		if (pending == 0)
			return 0;
		/* The driver can offer at most size buffers; more is a lie. */
		if (pending > q->size) {
			q->broken = true;
			return -EBADMSG;
		}
		q->avail_shadow = idx;
	}

	head = le16toh(RING_LOAD(&q->avail->ring[q->last_avail & (q->size - 1)]));
	if (head >= q->size) {
		/* No valid id to return it under: the ring cannot go on. */
		q->broken = true;
		return -EBADMSG;
	}
	q->last_avail++;
	chain->head = head;
	return chain_walk(q, chain, head);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e;

	if (!q->enabled || head >= q->size)
		return;
	e = &q->used->ring[q->used_idx & (q->size - 1)];
	RING_STORE(&e->id, htole32(head));
	RING_STORE(&e->len, htole32(len));
	q->used_idx++;
	/* Release: the driver must see the element before the new idx. */
	__atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used;
	uint16_t new = q->used_idx;
	bool old_valid = q->signalled_used_valid;

	if (!q->enabled)
		return false;
	/*
	 * used->idx must be globally visible before the driver's suppression
	 * state is read, or a driver that re-enables interrupts and re-checks
	 * used->idx at the same time could miss both (store-load ordering).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	q->signalled_used = new;
	q->signalled_used_valid = true;
	if (old_valid && old == new)
		return false;

	if (q->event_idx) {
		uint16_t event;

		if (!old_valid)
			return true;
		event = le16toh(RING_LOAD(q->used_event));
		/* True iff event lies in [old, new) modulo 2^16 (spec 2.7.7.2). */
		return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
	}
	return !(le16toh(RING_LOAD(&q->avail->flags)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_set_notify(struct virtq *q, bool enable)
{
	if (!q->enabled || q->broken)
		return false;

	if (q->event_idx) {
		/*
		 * flags must stay 0 under EVENT_IDX, so disabling only stops
		 * moving avail_event: the driver kicks at most once more.
		 */
		if (enable)
			RING_STORE(q->avail_event, htole16(q->last_avail));
	} else if (enable != q->notify_enabled) {
		RING_STORE(&q->used->flags, htole16(enable ? 0 : VIRTQ_USED_F_NO_NOTIFY));
	}
	q->notify_enabled = enable;
	if (!enable)
		return false;

	/* The new setting must be visible before avail->idx is re-read. */
	atomic_thread_fence(memory_order_seq_cst);
	return virtq_has_work(q);
}

bool virtq_has_work(struct virtq *q)
{
	if (!q->enabled || q->broken)
		return false;
	if (q->last_avail != q->avail_shadow)
		return true;
	return le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE)) != q->last_avail;
}
