/* SPDX-License-Identifier: MIT */
#include "loader/elf.h"

#include <errno.h>
#include <string.h>

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define ET_EXEC	  2
#define EM_X86_64 62
#define PT_LOAD	  1
#define PT_NOTE	  4

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int refuse(const char **why, const char *text)
{
	*why = text;
	return -EINVAL;
}

/* [off, off + n) inside a file of @len bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The notes of one PT_NOTE segment, [p, p + n): the PVH entry, if one is there. */
static int parse_notes(const uint8_t *p, size_t n, struct elf_image *out, const char **why)
{
	size_t at = 0;

	while (n - at >= 12) {
		uint32_t namesz = get32(p + at), descsz = get32(p + at + 4);
		uint32_t type = get32(p + at + 8);
		size_t name_at = at + 12, desc_at, next;

		/* Each field padded to 4 bytes; none may run past the segment. */
		if (namesz > n - name_at || align4(namesz) > n - name_at)
			return refuse(why, "an ELF note runs past its segment");
		desc_at = name_at + align4(namesz);
		if (descsz > n - desc_at || align4(descsz) > n - desc_at)
			return refuse(why, "an ELF note runs past its segment");
		next = desc_at + align4(descsz);
		if (namesz == 4 && !memcmp(p + name_at, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t entry;

			if (descsz == 4)
				entry = get32(p + desc_at);
			else if (descsz == 8)
				entry = get64(p + desc_at);
			else
				return refuse(why, "the PVH entry note is not 4 or 8 bytes");
			if (entry > UINT32_MAX)
				return refuse(why, "the PVH entry lies above 4 GiB");
			out->has_pvh = true;
			out->pvh_entry = (uint32_t)entry;
		}
		at = next;
	}
	return 0;
}

static int add_load(const uint8_t *ph, size_t len, struct elf_image *out, const char **why)
{
	struct elf_load l = {.offset = get64(ph + 8),
			     .paddr = get64(ph + 24),
			     .filesz = get64(ph + 32),
			     .memsz = get64(ph + 40)};

	if (l.memsz == 0)
		return 0; /* spans nothing: nothing to load */
	if (!in_file(l.offset, l.filesz, len))
		return refuse(why, "an ELF segment's bytes lie outside the file");
	if (l.filesz > l.memsz)
		return refuse(why, "an ELF segment's file size exceeds its memory size");
	if (l.paddr > UINT64_MAX - l.memsz)
		return refuse(why, "an ELF segment's end overflows");
	for (unsigned int i = 0; i < out->nload; i++) {
		const struct elf_load *o = &out->load[i];

		if (l.paddr < o->paddr + o->memsz && o->paddr < l.paddr + l.memsz)
			return refuse(why, "two ELF segments overlap in memory");
	}
	if (out->nload == ELF_MAX_LOADS)
		return refuse(why, "more ELF load segments than a kernel has");
	out->load[out->nload++] = l;
	if (out->nload == 1 || l.paddr < out->paddr_lo)
		out->paddr_lo = l.paddr;
	if (out->nload == 1 || l.paddr + l.memsz > out->paddr_hi)
		out->paddr_hi = l.paddr + l.memsz;
	return 0;
}

int elf_parse(const uint8_t *img, size_t len, struct elf_image *out, const char **why)
{
	uint64_t phoff;
	uint16_t phnum;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < EHDR_SIZE || memcmp(img, "\177ELF", 4))
		return refuse(why, "not an ELF file");
	if (img[4] != 2 || img[5] != 1 || img[6] != 1)
		return refuse(why, "not a 64-bit little-endian ELF file (version 1)");
	if (get16(img + 16) != ET_EXEC)
		return refuse(why, "not an ELF executable (ET_EXEC)");
	if (get16(img + 18) != EM_X86_64)
		return refuse(why, "not an x86-64 ELF file");
	phoff = get64(img + 32);
	phnum = get16(img + 56);
	if (get16(img + 54) != PHDR_SIZE)
		return refuse(why, "the ELF program header entry size is not 56");
	if (phnum == 0 || phnum > ELF_MAX_PHDRS)
		return refuse(why, "the ELF file has no program headers, or too many");
	if (!in_file(phoff, (uint64_t)phnum * PHDR_SIZE, len))
		return refuse(why, "the ELF program header table lies outside the file");

	for (unsigned int i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (uint64_t)i * PHDR_SIZE;
		uint32_t type = get32(ph);

		if (type == PT_LOAD) {
			r = add_load(ph, len, out, why);
		} else if (type == PT_NOTE) {
			uint64_t off = get64(ph + 8), n = get64(ph + 32);

			if (!in_file(off, n, len))
				return refuse(why, "an ELF note segment lies outside the file");
			r = parse_notes(img + off, (size_t)n, out, why);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}
	if (out->nload == 0)
		return refuse(why, "the ELF file has nothing to load");
	if (out->has_pvh) {
		bool inside = false;

		for (unsigned int i = 0; i < out->nload; i++) {
			const struct elf_load *l = &out->load[i];

			inside |=
			    out->pvh_entry >= l->paddr && out->pvh_entry - l->paddr < l->filesz;
		}
		if (!inside)
			return refuse(why, "the PVH entry lies outside the kernel's segments");
	}
	return 0;
}
