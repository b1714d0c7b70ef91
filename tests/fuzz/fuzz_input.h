/* SPDX-License-Identifier: MIT */
/*
 * How the fuzz targets read their input: little-endian fields taken in
 * order, zeros once it runs out. Each byte is read in its own statement:
 * `get8(in) | get8(in) << 8` leaves the order of the two reads to the
 * compiler (a sanitizer build reversed it).
 */
#ifndef NESTVMM_FUZZ_INPUT_H
#define NESTVMM_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t get8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t get16(struct input *in)
{
	uint16_t lo = get8(in);

	return (uint16_t)(lo | get8(in) << 8);
}

static inline uint32_t get32(struct input *in)
{
	uint32_t lo = get16(in);

	return lo | (uint32_t)get16(in) << 16;
}

static inline uint64_t get64(struct input *in)
{
	uint64_t lo = get32(in);

	return lo | (uint64_t)get32(in) << 32;
}

#endif
