/* SPDX-License-Identifier: MIT */
/*
 * A small ACPI Machine Language byte builder: just enough of the grammar
 * (ACPI spec, chapter 20) for a static DSDT: names, scopes, devices,
 * packages, buffers, integers, strings and EISA ids.
 *
 * Errors are sticky: after a failed allocation or a malformed name every
 * call is a no-op and aml_finish() reports the first error.
 */
#ifndef NESTVMM_AML_H
#define NESTVMM_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err; /* first error, -errno */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* Returns 0 or the first error seen while building. */
int aml_finish(const struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* "\\_SB.PCI0", "_HID", "^FOO"; segments shorter than 4 are padded with '_'. */
void aml_name_string(struct aml *a, const char *path);
/* The shortest integer encoding of @v (ZeroOp, OneOp, Byte/Word/DWord/QWord). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* A compressed EISA id such as "PNP0A03", as a DWord integer. */
void aml_eisaid(struct aml *a, const char *id);
/* The 32-bit value of a compressed EISA id; 0 if @id is malformed. */
uint32_t aml_eisaid_value(const char *id);
/* Buffer(n) { bytes } */
void aml_buffer(struct aml *a, const void *p, size_t n);
/* Name(path, ...): the object that follows is the value. */
void aml_name(struct aml *a, const char *path);

/*
 * Objects with a PkgLength: *_begin() writes the opcode and returns a mark;
 * the contents follow; aml_end(mark) inserts the length in front of them.
 */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);
size_t aml_package_begin(struct aml *a, uint8_t nr_elements);
void aml_end(struct aml *a, size_t mark);

/* Encode a PkgLength whose package (length bytes included) holds @len bytes of
 * contents into @out; returns the number of bytes written (1-4), 0 if too big. */
size_t aml_pkg_length_encode(size_t len, uint8_t out[4]);

#endif
