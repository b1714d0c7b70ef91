/* SPDX-License-Identifier: MIT */
/* ELF64 kernel images and their PVH entry note (loader/elf.c), good and malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "loader/elf.h"

#define IMG_SIZE 0x4000
#define PHOFF	 64

static uint8_t img[IMG_SIZE];
static unsigned int nph;
static struct elf_image out;
static const char *why;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A 64-bit x86-64 executable with no program headers yet. */
static void begin(void)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF", 4);
	img[4] = 2;	     /* ELFCLASS64 */
	img[5] = 1;	     /* little-endian */
	img[6] = 1;	     /* EV_CURRENT */
	put16(img + 16, 2);  /* ET_EXEC */
	put16(img + 18, 62); /* EM_X86_64 */
	put64(img + 32, PHOFF);
	put16(img + 54, 56);
	nph = 0;
}

static void phdr(uint32_t type, uint64_t offset, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	uint8_t *p = img + PHOFF + 56 * nph++;

	put32(p, type);
	put64(p + 8, offset);
	put64(p + 16, paddr + 0xffffffff80000000ull); /* vaddr, as a vmlinux has it */
	put64(p + 24, paddr);
	put64(p + 32, filesz);
	put64(p + 40, memsz);
	put16(img + 56, (uint16_t)nph);
}

/* One note at @off: name, type and a descriptor of @descsz bytes holding @value; its size. */
static size_t note(size_t off, const char *name, uint32_t type, uint32_t descsz, uint64_t value)
{
	size_t nl = strlen(name) + 1, at = off + 12;

	put32(img + off, (uint32_t)nl);
	put32(img + off + 4, descsz);
	put32(img + off + 8, type);
	memcpy(img + at, name, nl);
	at += (nl + 3) & ~(size_t)3;
	if (descsz == 4)
		put32(img + at, (uint32_t)value);
	else if (descsz == 8)
		put64(img + at, value);
	at += (descsz + 3) & ~3u;
	return at - off;
}

/* A vmlinux-like image: two load segments, a GNU note and the PVH entry note (@descsz). */
static void vmlinux(uint32_t descsz, uint64_t entry)
{
	size_t n;

	begin();
	phdr(1, 0x1000, 0x1000000, 0x1000, 0x1000);
	phdr(1, 0x2000, 0x1200000, 0x800, 0x3000); /* .bss: memsz past filesz */
	n = note(0x3000, "GNU", 3, 4, 0x12345678);
	n += note(0x3000 + n, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, descsz, entry);
	phdr(4, 0x3000, 0, n, n);
}

static int parse(void)
{
	why = NULL;
	return elf_parse(img, sizeof(img), &out, &why);
}

static void expect_refused(const char *fragment)
{
	assert_int_equal(parse(), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, fragment));
}

static void test_vmlinux_with_pvh(void **state)
{
	(void)state;
	vmlinux(8, 0x1000850); /* Linux: _ASM_PTR, 8 bytes on 64-bit */
	assert_int_equal(parse(), 0);
	assert_int_equal(out.nload, 2);
	assert_int_equal(out.load[0].paddr, 0x1000000);
	assert_int_equal(out.load[0].offset, 0x1000);
	assert_int_equal(out.load[1].filesz, 0x800);
	assert_int_equal(out.load[1].memsz, 0x3000);
	assert_int_equal(out.paddr_lo, 0x1000000);
	assert_int_equal(out.paddr_hi, 0x1203000);
	assert_true(out.has_pvh);
	assert_int_equal(out.pvh_entry, 0x1000850);
	vmlinux(4, 0x1200010); /* a 4-byte descriptor, in the second segment */
	assert_int_equal(parse(), 0);
	assert_int_equal(out.pvh_entry, 0x1200010);
}

static void test_without_pvh(void **state)
{
	(void)state;
	begin();
	phdr(1, 0x1000, 0x1000000, 0x1000, 0x1000);
	phdr(4, 0x3000, 0, note(0x3000, "Xen", 1, 4, 7), 0); /* another Xen note: ignored */
	phdr(6, 0, 0, 0, 0);				     /* PT_PHDR: ignored */
	assert_int_equal(parse(), 0);
	assert_false(out.has_pvh);
	assert_int_equal(out.nload, 1);
}

static void test_header_refusals(void **state)
{
	(void)state;
	vmlinux(8, 0x1000850);
	img[1] = 'X';
	expect_refused("not an ELF file");
	assert_int_equal(elf_parse(img, 10, &out, &why), -EINVAL);
	vmlinux(8, 0x1000850);
	img[4] = 1; /* 32-bit */
	expect_refused("64-bit");
	vmlinux(8, 0x1000850);
	img[5] = 2; /* big-endian */
	expect_refused("little-endian");
	vmlinux(8, 0x1000850);
	put16(img + 16, 3); /* ET_DYN */
	expect_refused("ET_EXEC");
	vmlinux(8, 0x1000850);
	put16(img + 18, 3); /* i386 */
	expect_refused("x86-64");
	vmlinux(8, 0x1000850);
	put16(img + 54, 32);
	expect_refused("entry size");
	vmlinux(8, 0x1000850);
	put16(img + 56, 0);
	expect_refused("no program headers");
	vmlinux(8, 0x1000850);
	put16(img + 56, 0xffff); /* PN_XNUM */
	expect_refused("too many");
	vmlinux(8, 0x1000850);
	put64(img + 32, IMG_SIZE - 100); /* the table runs off the end */
	expect_refused("program header table");
	vmlinux(8, 0x1000850);
	put64(img + 32, UINT64_MAX - 8); /* an offset that wraps */
	expect_refused("program header table");
}

static void test_segment_refusals(void **state)
{
	(void)state;
	begin();
	phdr(1, IMG_SIZE - 0x100, 0x1000000, 0x200, 0x200);
	expect_refused("outside the file");
	begin();
	phdr(1, UINT64_MAX - 0x10, 0x1000000, 0x20, 0x20);
	expect_refused("outside the file");
	begin();
	phdr(1, 0x1000, 0x1000000, 0x2000, 0x1000);
	expect_refused("exceeds its memory size");
	begin();
	phdr(1, 0x1000, UINT64_MAX - 0x10, 0x100, 0x100);
	expect_refused("overflows");
	begin();
	phdr(1, 0x1000, 0x1000000, 0x1000, 0x1000);
	phdr(1, 0x1000, 0x1000800, 0x1000, 0x1000);
	expect_refused("overlap");
	begin();
	for (unsigned int i = 0; i <= ELF_MAX_LOADS; i++)
		phdr(1, 0x1000, 0x1000000 + 0x1000ull * i, 0x100, 0x100);
	expect_refused("more ELF load segments");
	begin();
	phdr(1, 0x1000, 0x1000000, 0, 0); /* spans nothing */
	expect_refused("nothing to load");
}

static void test_note_refusals(void **state)
{
	(void)state;
	vmlinux(2, 0x1000850);
	expect_refused("not 4 or 8 bytes");
	vmlinux(8, 0x100001000ull);
	expect_refused("above 4 GiB");
	vmlinux(8, 0x2000000); /* in no segment */
	expect_refused("outside the kernel's segments");
	vmlinux(8, 0x1200900); /* in the second segment's .bss, not its file bytes */
	expect_refused("outside the kernel's segments");
	vmlinux(8, 0x1000850);
	put32(img + 0x3000, 0x7fffffff); /* the first note's name runs away */
	expect_refused("runs past its segment");
	vmlinux(8, 0x1000850);
	put32(img + 0x3004, 0xfffffffd); /* its descriptor size would wrap when aligned */
	expect_refused("runs past its segment");
	vmlinux(8, 0x1000850);
	put64(img + PHOFF + 2 * 56 + 8, IMG_SIZE - 4); /* the note segment off the end */
	expect_refused("note segment lies outside");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vmlinux_with_pvh), cmocka_unit_test(test_without_pvh),
	    cmocka_unit_test(test_header_refusals),  cmocka_unit_test(test_segment_refusals),
	    cmocka_unit_test(test_note_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
