/* SPDX-License-Identifier: MIT */
/*
 * The virtqueue fuzz target's replay: edge inputs whose outcome is known
 * (each would crash or be miscounted if the check it aims at went missing)
 * and the verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_virtqueue.h"
#include "tests/fuzz/replay.h"
#include "virtio/virtio_ids.h"

/* The target's input encoding (see fuzz_virtqueue.c). */
#define MODE_DATA0  (0u << 3)
#define MODE_R1	    (3u << 3)
#define MODE_POOL   (4u << 3)
#define MODE_RAW    (6u << 3)
#define LEN_SMALL   (0u << 6)
#define LEN_TABLE   (2u << 6)
#define FEAT_EVENT  1
#define FEAT_INDIR  2
#define FEAT_START  4
#define FEAT_JUMP   0x38
#define SHAPE_PLACE 0xf0

#define put8  replay_put8
#define put16 replay_put16
#define put32 replay_put32

static void record(struct replay_buf *b, uint8_t f, uint8_t next, uint32_t a, uint16_t l)
{
	put8(b, f);
	put8(b, next);
	put16(b, l);
	put32(b, a);
}

/* Everything before the placement, RAM's tile last. */
static void header_tiled(struct replay_buf *b, uint8_t shape, uint8_t features, uint16_t start,
			 uint16_t pending, uint8_t tile_flags, uint8_t tile_next)
{
	b->n = 0;
	put8(b, shape);
	put8(b, features);
	if (features & FEAT_START)
		put16(b, start);
	put16(b, pending);
	put16(b, 0); /* used_event */
	put8(b, 0);  /* avail flags */
	put8(b, 1);  /* notify decision after every push */
	record(b, tile_flags, tile_next, 0, 0);
}

static void header(struct replay_buf *b, uint8_t shape, uint8_t features, uint16_t start,
		   uint16_t pending)
{
	header_tiled(b, shape, features, start, pending, 0, 0);
}

void replay_edges(void)
{
	struct fuzz_virtqueue_stats *st = &fuzz_virtqueue_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));

	if (!b)
		exit(1);

	/* Size 8, one chain: a readable buffer then a writable one in region 1. */
	header(b, 3, 0, 0, 1);
	for (int i = 0; i < 8; i++)
		put16(b, 0);
	record(b, VIRTQ_DESC_F_NEXT | MODE_DATA0 | LEN_SMALL, 1, 0, 16);
	record(b, VIRTQ_DESC_F_WRITE | MODE_R1 | LEN_SMALL, 0, 5, 1);
	replay_expect("one chain", b, &st->good_chains, 1);

	/* A loop of empty descriptors. */
	header(b, 3, 0, 0, 1);
	for (int i = 0; i < 8; i++)
		put16(b, 0);
	record(b, VIRTQ_DESC_F_NEXT | MODE_DATA0 | LEN_SMALL, 0, 0, 0);
	replay_expect("empty self loop", b, &st->bad_chains, 1);

	/*
	 * An indirect table of two entries whose second lies past the end of
	 * region 1, RAM tiled with empty descriptors chaining to entry 1.
	 */
	header_tiled(b, 3, FEAT_INDIR, 0, 1, VIRTQ_DESC_F_NEXT, 1);
	for (int i = 0; i < 8; i++)
		put16(b, 0);
	record(b, VIRTQ_DESC_F_INDIRECT | MODE_POOL | LEN_TABLE, 0, 0xc0100000u, 2);
	replay_expect("indirect table past the end of RAM", b, &st->bad_chains, 1);

	/* A head index of 0xffff. */
	header(b, 3, 0, 0, 1);
	put16(b, 0xffff);
	replay_expect("head out of range", b, &st->broken, 1);

	/* avail->idx nine ahead on a queue of eight. */
	header(b, 3, FEAT_JUMP, 0, 9);
	replay_expect("avail idx jump", b, &st->broken, 1);

	/* A descriptor table at a misaligned address. */
	header(b, SHAPE_PLACE | 3, 0, 0, 0);
	put8(b, MODE_RAW >> 3);
	put32(b, 8);
	put8(b, MODE_RAW >> 3);
	put32(b, 0x8000);
	put8(b, MODE_RAW >> 3);
	put32(b, 0x9000);
	replay_expect("misaligned table", b, &st->enable_refused, 1);

	/* A full ring of 256, each chain one indirect table of one writable buffer. */
	header(b, 8, FEAT_INDIR | FEAT_EVENT, 0, 256);
	for (int i = 0; i < 256; i++)
		put16(b, (uint16_t)i);
	for (int i = 0; i < 256; i++)
		record(b, VIRTQ_DESC_F_INDIRECT | MODE_POOL | LEN_TABLE, 0, (uint32_t)i, 1);
	for (int i = 0; i < 256; i++)
		record(b, VIRTQ_DESC_F_WRITE | MODE_R1 | LEN_SMALL, 0, (uint32_t)(i * 64), 100);
	replay_expect("full ring of indirect chains", b, &st->good_chains, 256);

	/* Eight chains across the index wrap. */
	header(b, 3, FEAT_START, 65533, 8);
	for (int i = 0; i < 8; i++)
		put16(b, (uint16_t)(7 - i));
	for (int i = 0; i < 8; i++)
		record(b, MODE_DATA0 | LEN_SMALL, 0, (uint32_t)i, 8);
	replay_expect("wrap", b, &st->good_chains, 8);

	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_virtqueue_stats *st = &fuzz_virtqueue_stats;

	printf("enable refused %lu, good chains %lu, bad chains %lu, broken %lu, notifies %lu\n",
	       st->enable_refused, st->good_chains, st->bad_chains, st->broken, st->notifies);
	return st->good_chains >= 1000 && st->bad_chains >= 1000 && st->broken >= 100 &&
	       st->enable_refused >= 100 && st->notifies >= 100;
}
