/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz target without libFuzzer, so every build checks it: the
 * target's hand-written edge inputs, then pseudo-random inputs from a fixed
 * seed, then the target's verdict on what they reached. With file arguments
 * it replays those instead (a libFuzzer crash artifact, corpus files), for
 * debugging under gcc. A crash, a trap in the target or a failed
 * expectation fails the test.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/replay.h"

#define RANDOM_INPUTS 20000

static int failures;

void replay_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

void replay_expect(const char *what, const struct replay_buf *b, const unsigned long *counter,
		   unsigned long delta)
{
	unsigned long before = *counter;

	LLVMFuzzerTestOneInput(b->b, b->n);
	if (*counter - before != delta)
		replay_fail("edge input '%s': counted %lu, want %lu", what, *counter - before,
			    delta);
}

void replay_put8(struct replay_buf *b, uint8_t v)
{
	if (b->n < sizeof(b->b))
		b->b[b->n++] = v;
}

void replay_put16(struct replay_buf *b, uint16_t v)
{
	replay_put8(b, (uint8_t)v);
	replay_put8(b, (uint8_t)(v >> 8));
}

void replay_put32(struct replay_buf *b, uint32_t v)
{
	replay_put16(b, (uint16_t)v);
	replay_put16(b, (uint16_t)(v >> 16));
}

void replay_put64(struct replay_buf *b, uint64_t v)
{
	replay_put32(b, (uint32_t)v);
	replay_put32(b, (uint32_t)(v >> 32));
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_inputs(void)
{
	uint64_t seed = 0x6e657374766d6d31ull; /* fixed: the run is reproducible */
	uint8_t *in = malloc(REPLAY_MAX_INPUT);

	if (!in)
		exit(1);
	for (int n = 0; n < RANDOM_INPUTS; n++) {
		size_t len =
		    xorshift(&seed) % 8 ? xorshift(&seed) % REPLAY_MAX_INPUT : xorshift(&seed) % 64;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)xorshift(&seed);
		LLVMFuzzerTestOneInput(in, len);
	}
	free(in);
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	data = malloc((size_t)len + 1);
	if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(data);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int err = 0;

		for (int i = 1; i < argc; i++)
			err |= replay_file(argv[i]);
		return err;
	}

	replay_edges();
	random_inputs();
	/* Random inputs that never got deep would have tested nothing. */
	if (!replay_verdict())
		replay_fail("the inputs did not reach every outcome");
	return failures ? 1 : 0;
}
