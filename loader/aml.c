/* SPDX-License-Identifier: MIT */
#include "loader/aml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP	      0x00
#define AML_ONE_OP	      0x01
#define AML_NAME_OP	      0x08
#define AML_BYTE_PREFIX	      0x0a
#define AML_WORD_PREFIX	      0x0b
#define AML_DWORD_PREFIX      0x0c
#define AML_STRING_PREFIX     0x0d
#define AML_QWORD_PREFIX      0x0e
#define AML_SCOPE_OP	      0x10
#define AML_BUFFER_OP	      0x11
#define AML_PACKAGE_OP	      0x12
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX     0x5b
#define AML_DEVICE_OP	      0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR	      '\\'
#define AML_PARENT_CHAR	      '^'
#define AML_MAX_SEGS	      255
#define AML_PKG_LENGTH_MAX    0x0fffffffULL

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int aml_finish(const struct aml *a)
{
	return a->err;
}

static int aml_reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return a->err;
	if (n <= a->cap - a->len)
		return 0;
	cap = a->cap ? a->cap : 256;
	while (cap - a->len < n) {
		if (cap > SIZE_MAX / 2)
			return a->err = -ENOMEM;
		cap *= 2;
	}
	p = realloc(a->buf, cap);
	if (!p)
		return a->err = -ENOMEM;
	a->buf = p;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (n == 0 || aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

static bool is_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_lead_char(c) || (c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	uint8_t segs[AML_MAX_SEGS][4];
	unsigned int n = 0;
	const char *p = path;

	if (a->err)
		return;
	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_CHAR)
			aml_byte(a, *p++);
	}
	while (*p) {
		unsigned int i = 0;

		if (n == AML_MAX_SEGS || !is_lead_char(*p)) {
			a->err = -EINVAL;
			return;
		}
		for (; i < 4 && is_name_char(*p); i++)
			segs[n][i] = (uint8_t)*p++;
		for (; i < 4; i++)
			segs[n][i] = '_';
		n++;
		if (*p == '.' && p[1])
			p++;
		else if (*p) {
			a->err = -EINVAL;
			return;
		}
	}
	if (n == 0) {
		aml_byte(a, 0); /* NullName */
		return;
	}
	if (n == 2)
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	else if (n > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)n);
	}
	aml_bytes(a, segs, 4 * (size_t)n);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++) {
		/* AML strings are 7-bit ASCII without NUL. */
		if ((unsigned char)*p > 0x7f) {
			if (!a->err)
				a->err = -EINVAL;
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t aml_eisaid_value(const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7)
		return 0;
	/* Three letters of 5 bits each ('A' == 1), then four hex digits. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0)
			return 0;
		v = (v << 4) | (uint32_t)d;
	}
	/* The 32-bit id is stored big-endian: swap so the integer's bytes read in that order. */
	return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = aml_eisaid_value(id);

	if (!v) {
		if (!a->err)
			a->err = -EINVAL;
		return;
	}
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, path);
}

size_t aml_pkg_length_encode(size_t len, uint8_t out[4])
{
	size_t total;
	unsigned int n;

	if (len + 1 < 0x40) {
		out[0] = (uint8_t)(len + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = len + n;
		/* Lead byte: count of extra bytes in bits 7-6, low nibble in bits 3-0. */
		if (total < (1ULL << (4 + 8 * (n - 1)))) {
			out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
			for (unsigned int i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0;
}

void aml_end(struct aml *a, size_t mark)
{
	uint8_t enc[4];
	size_t n;

	if (a->err)
		return;
	if (mark > a->len) {
		a->err = -EINVAL;
		return;
	}
	n = aml_pkg_length_encode(a->len - mark, enc);
	if (n == 0) {
		a->err = -E2BIG;
		return;
	}
	if (aml_reserve(a, n))
		return;
	memmove(a->buf + mark + n, a->buf + mark, a->len - mark);
	memcpy(a->buf + mark, enc, n);
	a->len += n;
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml_name_string(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = a->len;
	aml_name_string(a, path);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml_byte(a, nr_elements);
	return mark;
}

void aml_buffer(struct aml *a, const void *p, size_t n)
{
	size_t mark;

	aml_byte(a, AML_BUFFER_OP);
	mark = a->len;
	aml_integer(a, n);
	aml_bytes(a, p, n);
	aml_end(a, mark);
}
