/* SPDX-License-Identifier: MIT */
#include "vmm/exit_stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

_Static_assert((EXIT_STATS_SLOTS & (EXIT_STATS_SLOTS - 1)) == 0, "slots: a power of two");
_Static_assert(EXIT_STATS_MAX_KEYS < EXIT_STATS_SLOTS, "probing needs an empty slot to stop");

void welford_init(struct welford *w)
{
	memset(w, 0, sizeof(*w));
}

static inline uint64_t add_saturate(uint64_t a, uint64_t b)
{
	uint64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return UINT64_MAX;
	return r;
}

/* Inlined into exit_stats_record(), which runs on every userspace exit. */
static inline void welford_update(struct welford *w, uint64_t x)
{
	double delta;

	if (w->n == 0 || x < w->min)
		w->min = x;
	if (x > w->max)
		w->max = x;
	w->n++;
	w->sum = add_saturate(w->sum, x);
	delta = (double)x - w->mean;
	w->mean += delta / (double)w->n;
	w->m2 += delta * ((double)x - w->mean);
}

void welford_add(struct welford *w, uint64_t x)
{
	welford_update(w, x);
}

/* Chan, Golub and LeVeque's pairwise combination of two partial results. */
void welford_merge(struct welford *dst, const struct welford *src)
{
	double n_a, n_b, n, delta;

	if (src->n == 0)
		return;
	if (dst->n == 0) {
		*dst = *src;
		return;
	}
	n_a = (double)dst->n;
	n_b = (double)src->n;
	n = n_a + n_b;
	delta = src->mean - dst->mean;
	dst->mean += delta * (n_b / n);
	dst->m2 += src->m2 + delta * delta * (n_a * n_b / n);
	dst->n += src->n;
	dst->sum = add_saturate(dst->sum, src->sum);
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

double welford_mean(const struct welford *w)
{
	return w->n ? w->mean : 0.0;
}

double welford_stddev(const struct welford *w)
{
	/* m2 is a sum of non-negative terms; the guard only keeps sqrt's domain obvious. */
	if (w->n < 2 || !(w->m2 > 0.0))
		return 0.0;
	return sqrt(w->m2 / (double)w->n);
}

/* A slot is free while handle.n is 0: a key is only inserted to be recorded at once. */
struct exit_entry {
	uint32_t reason;
	uint32_t dir;
	uint64_t addr;
	const char *dev;
	struct welford run;
	struct welford handle;
};

struct exit_stats {
	struct exit_entry *last; /* the key of the previous record: tight loops repeat it */
	uint64_t total;
	size_t nr_keys;
	struct exit_entry other;
	struct exit_entry slots[EXIT_STATS_SLOTS];
};

struct exit_stats *exit_stats_new(void)
{
	return calloc(1, sizeof(struct exit_stats));
}

void exit_stats_free(struct exit_stats *s)
{
	free(s);
}

void exit_stats_reset(struct exit_stats *s)
{
	memset(s, 0, sizeof(*s));
}

static inline bool entry_matches(const struct exit_entry *e, const struct exit_key *key)
{
	return e->addr == key->addr && e->reason == key->reason && e->dir == key->dir;
}

static inline size_t key_slot(const struct exit_key *key)
{
	uint64_t h = key->addr ^ ((uint64_t)key->reason << 40) ^ ((uint64_t)key->dir << 56);

	/* Fibonacci hashing: the top bits of the product mix every input bit. */
	h *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 55) & (EXIT_STATS_SLOTS - 1);
}

/* The row for @key: found, newly claimed, or the "other" row when the table is full. */
static struct exit_entry *exit_stats_lookup(struct exit_stats *s, const struct exit_key *key)
{
	size_t i = key_slot(key);

	for (;;) {
		struct exit_entry *e = &s->slots[i];

		if (e->handle.n == 0)
			break;
		if (entry_matches(e, key))
			return e;
		i = (i + 1) & (EXIT_STATS_SLOTS - 1);
	}
	if (s->nr_keys >= EXIT_STATS_MAX_KEYS)
		return &s->other;
	s->nr_keys++;
	s->slots[i].reason = key->reason;
	s->slots[i].dir = key->dir;
	s->slots[i].addr = key->addr;
	s->slots[i].dev = key->dev;
	return &s->slots[i];
}

void exit_stats_record(struct exit_stats *s, const struct exit_key *key, uint64_t run_cycles,
		       uint64_t handle_cycles)
{
	struct exit_entry *e = s->last;

	if (__builtin_expect(e == NULL || !entry_matches(e, key), 0)) {
		e = exit_stats_lookup(s, key);
		/* The "other" row matches no key, so caching it would only cost a compare. */
		s->last = e;
	}
	welford_update(&e->run, run_cycles);
	welford_update(&e->handle, handle_cycles);
	s->total++;
}

int exit_stats_merge(struct exit_stats *dst, const struct exit_stats *src)
{
	for (size_t i = 0; i < EXIT_STATS_SLOTS; i++) {
		const struct exit_entry *from = &src->slots[i];
		struct exit_key key;
		struct exit_entry *to;

		if (from->handle.n == 0)
			continue;
		key = (struct exit_key){from->reason, from->dir, from->addr, from->dev};
		to = exit_stats_lookup(dst, &key);
		welford_merge(&to->run, &from->run);
		welford_merge(&to->handle, &from->handle);
	}
	welford_merge(&dst->other.run, &src->other.run);
	welford_merge(&dst->other.handle, &src->other.handle);
	dst->total += src->total;
	return 0;
}

uint64_t exit_stats_count(const struct exit_stats *s)
{
	return s->total;
}

uint64_t exit_stats_other_count(const struct exit_stats *s)
{
	return s->other.handle.n;
}

size_t exit_stats_nr_keys(const struct exit_stats *s)
{
	return s->nr_keys;
}

static void entry_to_row(const struct exit_entry *e, bool other, struct exit_stats_row *row)
{
	row->key = (struct exit_key){e->reason, e->dir, e->addr, e->dev};
	row->other = other;
	row->run = e->run;
	row->handle = e->handle;
}

size_t exit_stats_rows(const struct exit_stats *s, struct exit_stats_row *rows, size_t max)
{
	size_t nr = 0;

	for (size_t i = 0; i < EXIT_STATS_SLOTS; i++) {
		if (s->slots[i].handle.n == 0)
			continue;
		if (nr < max)
			entry_to_row(&s->slots[i], false, &rows[nr]);
		nr++;
	}
	if (s->other.handle.n) {
		if (nr < max)
			entry_to_row(&s->other, true, &rows[nr]);
		nr++;
	}
	return nr;
}

static const char *const exit_reason_names[] = {
    [KVM_EXIT_UNKNOWN] = "UNKNOWN",
    [KVM_EXIT_EXCEPTION] = "EXCEPTION",
    [KVM_EXIT_IO] = "IO",
    [KVM_EXIT_HYPERCALL] = "HYPERCALL",
    [KVM_EXIT_DEBUG] = "DEBUG",
    [KVM_EXIT_HLT] = "HLT",
    [KVM_EXIT_MMIO] = "MMIO",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
    [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
    [KVM_EXIT_INTR] = "INTR",
    [KVM_EXIT_SET_TPR] = "SET_TPR",
    [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
    [KVM_EXIT_S390_SIEIC] = "S390_SIEIC",
    [KVM_EXIT_S390_RESET] = "S390_RESET",
    [KVM_EXIT_DCR] = "DCR",
    [KVM_EXIT_NMI] = "NMI",
    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
    [KVM_EXIT_OSI] = "OSI",
    [KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
    [KVM_EXIT_S390_UCONTROL] = "S390_UCONTROL",
    [KVM_EXIT_WATCHDOG] = "WATCHDOG",
    [KVM_EXIT_S390_TSCH] = "S390_TSCH",
    [KVM_EXIT_EPR] = "EPR",
    [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
    [KVM_EXIT_S390_STSI] = "S390_STSI",
    [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
    [KVM_EXIT_HYPERV] = "HYPERV",
    [KVM_EXIT_ARM_NISV] = "ARM_NISV",
    [KVM_EXIT_X86_RDMSR] = "RDMSR",
    [KVM_EXIT_X86_WRMSR] = "WRMSR",
    [KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
    [KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
    [KVM_EXIT_X86_BUS_LOCK] = "BUS_LOCK",
    [KVM_EXIT_XEN] = "XEN",
    [KVM_EXIT_RISCV_SBI] = "RISCV_SBI",
    [KVM_EXIT_RISCV_CSR] = "RISCV_CSR",
    [KVM_EXIT_NOTIFY] = "NOTIFY",
#ifdef KVM_EXIT_LOONGARCH_IOCSR
    [KVM_EXIT_LOONGARCH_IOCSR] = "LOONGARCH_IOCSR",
#endif
#ifdef KVM_EXIT_MEMORY_FAULT
    [KVM_EXIT_MEMORY_FAULT] = "MEMORY_FAULT",
#endif
};

const char *exit_reason_name(uint32_t reason)
{
	if (reason >= sizeof(exit_reason_names) / sizeof(exit_reason_names[0]))
		return NULL;
	return exit_reason_names[reason];
}
