/* SPDX-License-Identifier: MIT */
/*
 * The legacy devices' fuzz target replay: edge inputs whose outcome is
 * known (a debug-exit write stops, a UART byte reaches the sink) and the
 * verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_devices.h"
#include "tests/fuzz/replay.h"

/*
 * The target hashes each two-byte draw: v * 0x9e3779b97f4a7c15. Find a
 * draw whose hash has @want under @mod (small searches: the hash is a
 * bijection on the low bits).
 */
static uint16_t draw_for(uint64_t mod, uint64_t want)
{
	for (uint32_t v = 0; v < 0x10000; v++)
		if ((v * 0x9e3779b97f4a7c15ull) % mod == want)
			return (uint16_t)v;
	return 0;
}

/* One guest write of a byte to port window @t, port lo - 3 + @port_off (see devices_rig.c). */
static void write_byte(struct replay_buf *b, unsigned int t, unsigned int window,
		       unsigned int port_off, uint8_t value)
{
	replay_put8(b, 1);		  /* not a host event */
	replay_put16(b, draw_for(4, 0));  /* size 1 */
	replay_put16(b, draw_for(2, 1));  /* a write */
	replay_put16(b, draw_for(16, 1)); /* not ECAM */
	replay_put16(b, draw_for(9, t));  /* the port window */
	replay_put16(b, draw_for(window, port_off));
	for (int i = 0; i < 16; i++) /* the data bytes: the first is written */
		replay_put16(b, i == 0 ? draw_for(256, value) : 0);
}

void replay_edges(void)
{
	struct fuzz_devices_stats *st = &fuzz_devices_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));

	if (!b)
		exit(1);
	/* Window 6 is debug-exit, 0x501..0x502, widened to 0x4fe..0x504: 0x501 is offset 3. */
	b->n = 0;
	replay_put8(b, 0);
	write_byte(b, 6, 0x502 - 0x501 + 6, 3, 7);
	replay_expect("a write to port 0x501 stops the VM", b, &st->stops, 1);

	/* Window 5 is COM1, 0x3f8..0x400 widened: THR 0x3f8 is offset 3. */
	b->n = 0;
	replay_put8(b, 0);
	write_byte(b, 5, 0x400 - 0x3f8 + 6, 3, 'x');
	replay_put8(b, 0); /* a host event: */
	replay_put16(b, 0);
	replay_put16(b, draw_for(5, 1)); /* a flush */
	replay_expect("a byte written to COM1 reaches the sink", b, &st->out_bytes, 1);
	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_devices_stats *st = &fuzz_devices_stats;

	printf("inputs %lu, accesses %lu, host events %lu, IRQ raises %lu, stops %lu, UART bytes "
	       "out %lu\n",
	       st->inputs, st->accesses, st->host_events, st->irq_raises, st->stops, st->out_bytes);
	return st->accesses && st->host_events && st->irq_raises && st->stops && st->out_bytes;
}
