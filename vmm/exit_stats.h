/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU exit statistics: for every distinct exit (reason, direction,
 * address) the count and the distribution of two costs, the cycles spent
 * inside KVM_RUN and the cycles the VMM spent handling the exit. One table
 * per vCPU, written only by its own thread, so recording takes no lock; the
 * tables are merged once the vCPUs have stopped.
 */
#ifndef NESTVMM_EXIT_STATS_H
#define NESTVMM_EXIT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Running count, extremes, sum, mean and sum of squared deviations (m2) of
 * a series, updated in O(1) per sample (Welford's algorithm) so that the
 * variance stays accurate even when the mean is large compared with the
 * spread, which is the normal case for cycle counts.
 *
 * @sum saturates at UINT64_MAX instead of wrapping (2^64 TSC cycles is
 * about 190 years at 3 GHz, so only a bogus input can get there); @mean
 * and @m2 are doubles and stay meaningful even then.
 */
struct welford {
	uint64_t n, min, max, sum;
	double mean, m2;
};

void welford_init(struct welford *w);
void welford_add(struct welford *w, uint64_t x);
/* Fold @src into @dst as if all of @src's samples had been added to @dst. */
void welford_merge(struct welford *dst, const struct welford *src);
/* 0 for an empty series. */
double welford_mean(const struct welford *w);
/*
 * Population standard deviation sqrt(m2 / n): the table describes every
 * exit that happened, not a sample drawn from a larger population.
 * 0 for n < 2.
 */
double welford_stddev(const struct welford *w);

enum exit_dir { EXIT_DIR_NONE = 0, EXIT_DIR_READ, EXIT_DIR_WRITE };

struct exit_key {
	uint32_t reason; /* KVM_EXIT_* from <linux/kvm.h> */
	uint32_t dir;	 /* enum exit_dir: IO in/out, MMIO read/write, MSR rd/wr */
	uint64_t addr;	 /* port (IO), guest-physical address (MMIO), MSR index, or 0 */
	const char *dev; /* owner of addr, NULL if none/unclaimed; a static string */
};

/* Slots of the open-addressing table, and how many distinct keys it takes. */
#define EXIT_STATS_SLOTS    512
#define EXIT_STATS_MAX_KEYS 384

struct exit_stats;

/* A zeroed table, or NULL. Nothing is allocated after this. */
struct exit_stats *exit_stats_new(void);
void exit_stats_free(struct exit_stats *s);
/* Forget every record; the table keeps its memory. */
void exit_stats_reset(struct exit_stats *s);

/*
 * @run_cycles: TSC cycles inside the KVM_RUN ioctl that ended with this exit
 * (guest time + in-kernel exits + the transitions); @handle_cycles: TSC
 * cycles the VMM spent handling it before re-entry.
 *
 * Once EXIT_STATS_MAX_KEYS distinct keys are present, records of new keys
 * go to a single "other" row: nothing is lost from the totals.
 */
void exit_stats_record(struct exit_stats *s, const struct exit_key *key, uint64_t run_cycles,
		       uint64_t handle_cycles);

/*
 * Add every row of @src into @dst (same key: merged distributions). Keys that
 * find no room in @dst fold into its "other" row, so this cannot fail and
 * returns 0; the int is kept for callers that check.
 */
int exit_stats_merge(struct exit_stats *dst, const struct exit_stats *src);

/* Total exits recorded, the "other" row included. */
uint64_t exit_stats_count(const struct exit_stats *s);
/* Exits recorded in the "other" row because the table was full. */
uint64_t exit_stats_other_count(const struct exit_stats *s);
/* Distinct keys held (the "other" row not counted). */
size_t exit_stats_nr_keys(const struct exit_stats *s);

struct exit_stats_row {
	struct exit_key key; /* meaningless when @other */
	bool other;	     /* the overflow row */
	struct welford run;
	struct welford handle;
};

/*
 * Copy up to @max rows (every key, then the "other" row if it is not empty)
 * into @rows, in no particular order. Returns the number of rows there are,
 * which is at most EXIT_STATS_MAX_KEYS + 1.
 */
size_t exit_stats_rows(const struct exit_stats *s, struct exit_stats_row *rows, size_t max);

/* "IO", "MMIO", "HLT"... for a KVM_EXIT_* value; NULL for an unknown one. */
const char *exit_reason_name(uint32_t reason);

#endif
