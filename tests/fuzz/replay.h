/* SPDX-License-Identifier: MIT */
/*
 * Replay of a fuzz target without libFuzzer (replay_main.c), and what each
 * target's replay_<name>.c supplies: edge inputs and a verdict.
 */
#ifndef NESTVMM_TESTS_FUZZ_REPLAY_H
#define NESTVMM_TESTS_FUZZ_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLAY_MAX_INPUT 6000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hand-written inputs whose outcome is known; replay_fail() on a wrong one. */
void replay_edges(void);
/* After the random inputs: print what they reached; false if too little. */
bool replay_verdict(void);

void replay_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct replay_buf;
/* Run edge input @b (@what names it); replay_fail() unless *@counter moved by @delta. */
void replay_expect(const char *what, const struct replay_buf *b, const unsigned long *counter,
		   unsigned long delta);

/* Building an input, little-endian as the targets decode it. */
struct replay_buf {
	uint8_t b[REPLAY_MAX_INPUT];
	size_t n;
};

void replay_put8(struct replay_buf *b, uint8_t v);
void replay_put16(struct replay_buf *b, uint16_t v);
void replay_put32(struct replay_buf *b, uint32_t v);
void replay_put64(struct replay_buf *b, uint64_t v);

#endif
