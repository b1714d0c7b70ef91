/* SPDX-License-Identifier: MIT */
#include <asm/bootparam.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/bzimage.h"
#include "loader/e820.h"

#define MIB	    (1ULL << 20)
#define RAM_SIZE    (64 * MIB)
#define PAYLOAD_LEN 8192

/* What a test image looks like; make_image() turns it into bytes. */
struct image_spec {
	uint8_t setup_sects;
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	size_t payload_len;
};

static struct image_spec good_spec(void)
{
	struct image_spec s = {
	    .setup_sects = 3,
	    .version = 0x020f,
	    .loadflags = LOADED_HIGH,
	    .xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
	    .relocatable = 1,
	    .pref_address = 16 * MIB,
	    .init_size = 8 * MIB,
	    .cmdline_size = 2047,
	    .initrd_addr_max = 0x7fffffff,
	    .kernel_alignment = 2 * MIB,
	    .payload_len = PAYLOAD_LEN,
	};
	return s;
}

static size_t image_setup_len(const struct image_spec *s)
{
	return ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
}

/* A bzImage-shaped buffer: boot sector + setup header + setup sectors + payload. */
static uint8_t *make_image(const struct image_spec *s, size_t *len)
{
	struct setup_header h;
	size_t setup = image_setup_len(s);
	uint8_t *img;

	*len = setup + s->payload_len;
	img = calloc(1, *len);
	assert_non_null(img);
	memset(&h, 0, sizeof(h));
	h.setup_sects = s->setup_sects;
	h.syssize = (uint32_t)((s->payload_len + 15) / 16); /* as the kernel's build writes it */
	h.boot_flag = 0xaa55;
	/* Short jump over the header; its offset byte is the header length. */
	h.jump = (uint16_t)(0xeb | ((0x26c - 0x202) << 8));
	memcpy(&h.header, "HdrS", 4);
	h.version = s->version;
	h.loadflags = s->loadflags;
	h.code32_start = 0x100000;
	h.initrd_addr_max = s->initrd_addr_max;
	h.kernel_alignment = s->kernel_alignment;
	h.relocatable_kernel = s->relocatable;
	h.xloadflags = s->xloadflags;
	h.cmdline_size = s->cmdline_size;
	h.pref_address = s->pref_address;
	h.init_size = s->init_size;
	h.setup_data = 0xdeadbeef; /* garbage the loader must not pass on */
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < s->payload_len; i++)
		img[setup + i] = (uint8_t)(i * 7 + 3);
	return img;
}

static int setup_mem(void **state)
{
	struct guest_mem *mem = malloc(sizeof(*mem));

	if (!mem || guest_mem_init(mem, RAM_SIZE)) {
		free(mem);
		return -1;
	}
	*state = mem;
	return 0;
}

static int teardown_mem(void **state)
{
	guest_mem_destroy(*state);
	free(*state);
	return 0;
}

static struct boot_params *zero_page(struct guest_mem *mem)
{
	struct boot_params *bp = gpa_to_hva(mem, LINUX_ZERO_PAGE_GPA, sizeof(*bp));

	assert_non_null(bp);
	return bp;
}

static void test_good_image(void **state)
{
	struct guest_mem *mem = *state;
	struct image_spec s = good_spec();
	static const char cmdline[] = "console=ttyS0 root=/dev/vda rw";
	uint8_t initrd[5000];
	struct linux_boot lb;
	const char *why = NULL;
	struct boot_params *bp;
	size_t len;
	uint8_t *img = make_image(&s, &len);

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(
	    linux_load(mem, img, len, initrd, sizeof(initrd), cmdline, 0xe0000, &lb, &why), 0);

	assert_int_equal(lb.kernel_gpa, 16 * MIB);
	assert_int_equal(lb.entry_gpa, lb.kernel_gpa + 0x200);
	assert_int_equal(lb.zero_page_gpa, LINUX_ZERO_PAGE_GPA);
	assert_int_equal(lb.protocol, 0x020f);
	assert_true(lb.kernel_size >= 8 * MIB);
	/* The protected-mode part (everything after the setup sectors) is at kernel_gpa. */
	assert_memory_equal(gpa_to_hva(mem, lb.kernel_gpa, PAYLOAD_LEN), img + image_setup_len(&s),
			    PAYLOAD_LEN);

	bp = zero_page(mem);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, lb.cmdline_gpa);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_string_equal((char *)gpa_to_hva(mem, lb.cmdline_gpa, sizeof(cmdline)), cmdline);
	assert_int_equal(bp->hdr.ramdisk_image, lb.initrd_gpa);
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_memory_equal(gpa_to_hva(mem, lb.initrd_gpa, sizeof(initrd)), initrd, sizeof(initrd));
	assert_true(bp->hdr.loadflags & LOADED_HIGH);
	assert_true(bp->hdr.loadflags & CAN_USE_HEAP);
	assert_int_equal(bp->hdr.setup_data, 0);
	assert_int_equal(bp->acpi_rsdp_addr, 0xe0000);
	assert_int_equal(bp->sentinel, 0);

	/* The header fields the loader has no business changing come from the image. */
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_memory_equal((uint8_t *)bp + 0x202, "HdrS", 4);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.setup_sects, 3);
	assert_int_equal(bp->hdr.init_size, 8 * MIB);
	assert_int_equal(bp->hdr.pref_address, 16 * MIB);
	assert_int_equal(bp->hdr.kernel_alignment, 2 * MIB);
	assert_int_equal(bp->hdr.cmdline_size, 2047);
	assert_int_equal(bp->hdr.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);

	/* 64 MiB: conventional memory, the legacy hole, extended memory. */
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->e820_table[0].addr, 0);
	assert_int_equal(bp->e820_table[0].size, 0x9fc00);
	assert_int_equal(bp->e820_table[0].type, E820_RAM);
	assert_int_equal(bp->e820_table[1].addr, 0x9fc00);
	assert_int_equal(bp->e820_table[1].addr + bp->e820_table[1].size, 0x100000);
	assert_int_equal(bp->e820_table[1].type, E820_RESERVED);
	assert_int_equal(bp->e820_table[2].addr, 0x100000);
	assert_int_equal(bp->e820_table[2].size, RAM_SIZE - 0x100000);
	assert_int_equal(bp->e820_table[2].type, E820_RAM);
	free(img);
}

static void test_no_initrd_no_cmdline(void **state)
{
	struct guest_mem *mem = *state;
	struct image_spec s = good_spec();
	struct linux_boot lb;
	const char *why = NULL;
	size_t len;
	uint8_t *img;

	/* Protocol 2.12 has no acpi_rsdp_addr; the field must stay 0. */
	s.version = 0x020c;
	img = make_image(&s, &len);
	assert_int_equal(linux_load(mem, img, len, NULL, 0, NULL, 0xe0000, &lb, &why), 0);
	assert_int_equal(lb.initrd_gpa, 0);
	assert_int_equal(lb.initrd_size, 0);
	assert_int_equal(zero_page(mem)->hdr.ramdisk_image, 0);
	assert_int_equal(zero_page(mem)->hdr.ramdisk_size, 0);
	assert_int_equal(zero_page(mem)->acpi_rsdp_addr, 0);
	assert_string_equal((char *)gpa_to_hva(mem, lb.cmdline_gpa, 1), "");
	free(img);
}

/* A corrupted image must fail with @err, say why, and leave guest RAM alone. */
static void expect_refused(struct guest_mem *mem, const uint8_t *img, size_t len, int err,
			   const char *why_has)
{
	struct linux_boot lb;
	const char *why = NULL;
	static const uint8_t zeros[4096];

	memset(zero_page(mem), 0, 4096);
	assert_int_equal(linux_load(mem, img, len, NULL, 0, "", 0, &lb, &why), err);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	if (why_has)
		assert_non_null(strstr(why, why_has));
	assert_memory_equal(zero_page(mem), zeros, sizeof(zeros));
}

static void test_bad_magic(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img = make_image(&s, &len);

	memcpy(img + 0x202, "HdrX", 4);
	expect_refused(*state, img, len, -ENOEXEC, "HdrS");
	free(img);
}

static void test_bad_boot_flag(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img = make_image(&s, &len);

	img[0x1fe] = 0x55;
	img[0x1ff] = 0x55;
	expect_refused(*state, img, len, -ENOEXEC, "0xAA55");
	free(img);
}

static void test_old_protocol(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img;

	s.version = 0x0205;
	img = make_image(&s, &len);
	expect_refused(*state, img, len, -ENOEXEC, "2.05");
	free(img);
	/* 2.06-2.11 pass the age check but have no 64-bit entry point. */
	s.version = 0x020a;
	img = make_image(&s, &len);
	expect_refused(*state, img, len, -ENOEXEC, "64-bit");
	free(img);
}

static void test_no_kernel_64(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img;

	s.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	img = make_image(&s, &len);
	expect_refused(*state, img, len, -ENOEXEC, "XLF_KERNEL_64");
	free(img);
}

static void test_not_loaded_high(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img;

	s.loadflags = 0;
	img = make_image(&s, &len);
	expect_refused(*state, img, len, -ENOEXEC, NULL);
	free(img);
}

static void test_setup_past_eof(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img = make_image(&s, &len);

	img[0x1f1] = 200; /* setup_sects */
	expect_refused(*state, img, len, -ENOEXEC, "truncated");
	/* Exactly the setup sectors and no kernel after them. */
	expect_refused(*state, img, image_setup_len(&s), -ENOEXEC, "truncated");
	free(img);
}

static void test_truncated_and_empty(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img = make_image(&s, &len);

	expect_refused(*state, img, 100, -ENOEXEC, NULL);
	expect_refused(*state, img, 0x210, -ENOEXEC, "truncated"); /* header cut */
	expect_refused(*state, img, 0, -ENOEXEC, "empty");
	expect_refused(*state, NULL, 0, -ENOEXEC, "empty");
	free(img);
}

/*
 * Half a kernel (a download cut off) is refused by its size, not loaded to
 * die in the guest; a file a little longer than syssize says (real images
 * are) is fine.
 */
static void test_cut_kernel_refused(void **state)
{
	struct image_spec s = good_spec();
	size_t len, setup = image_setup_len(&s);
	uint8_t *img = make_image(&s, &len);
	uint8_t *longer;
	struct linux_boot boot;
	const char *why = NULL;

	expect_refused(*state, img, setup + PAYLOAD_LEN / 2, -ENOEXEC, "truncated");
	expect_refused(*state, img, len - 1, -ENOEXEC, "truncated");
	longer = calloc(1, len + 1472);
	assert_non_null(longer);
	memcpy(longer, img, len);
	assert_int_equal(linux_load(*state, longer, len + 1472, NULL, 0, "", 0, &boot, &why), 0);
	free(longer);
	free(img);
}

static void test_kernel_too_big(void **state)
{
	struct image_spec s = good_spec();
	size_t len;
	uint8_t *img;

	s.init_size = 60 * MIB; /* 16 + 60 > 64 MiB */
	img = make_image(&s, &len);
	expect_refused(*state, img, len, -ENOMEM, "does not fit");
	free(img);
}

static void test_relocation_fallback(void **state)
{
	struct guest_mem *mem = *state;
	struct image_spec s = good_spec();
	struct linux_boot lb;
	const char *why;
	size_t len;
	uint8_t *img;

	/* A preferred address that is not kernel_alignment aligned is not used. */
	s.pref_address = 0x300000;
	s.kernel_alignment = 4 * MIB;
	img = make_image(&s, &len);
	assert_int_equal(linux_load(mem, img, len, NULL, 0, "", 0, &lb, &why), 0);
	assert_true(lb.kernel_gpa >= 16 * MIB);
	assert_int_equal(lb.kernel_gpa % (4 * MIB), 0);
	assert_int_equal(lb.entry_gpa, lb.kernel_gpa + 0x200);
	free(img);

	/* A non-relocatable kernel gets its address or nothing. */
	s.relocatable = 0;
	s.pref_address = 0x1000;
	img = make_image(&s, &len);
	expect_refused(mem, img, len, -ENOEXEC, NULL);
	free(img);
}

static void test_cmdline_limit(void **state)
{
	struct guest_mem *mem = *state;
	struct image_spec s = good_spec();
	char cmdline[102];
	struct linux_boot lb;
	const char *why = NULL;
	size_t len;
	uint8_t *img;

	s.cmdline_size = 100;
	img = make_image(&s, &len);
	memset(cmdline, 'x', 100);
	cmdline[100] = '\0';
	assert_int_equal(linux_load(mem, img, len, NULL, 0, cmdline, 0, &lb, &why), 0);
	assert_int_equal(strlen(gpa_to_hva(mem, lb.cmdline_gpa, 101)), 100);
	assert_memory_equal(gpa_to_hva(mem, lb.cmdline_gpa, 101), cmdline, 101);

	cmdline[100] = 'x';
	cmdline[101] = '\0';
	why = NULL;
	assert_int_equal(linux_load(mem, img, len, NULL, 0, cmdline, 0, &lb, &why), -E2BIG);
	assert_non_null(why);
	assert_non_null(strstr(why, "101"));
	free(img);
}

/* The initrd is page aligned, below the limit, clear of the kernel, and high. */
static void check_initrd(const struct linux_boot *lb, uint64_t limit, size_t size)
{
	assert_int_equal(lb->initrd_gpa % 4096, 0);
	assert_int_equal(lb->initrd_size, size);
	assert_true(lb->initrd_gpa + size <= limit);
	assert_true(lb->initrd_gpa >= lb->kernel_gpa + lb->kernel_size);
	/* As high as possible: within one 2 MiB alignment step of the limit. */
	assert_true(lb->initrd_gpa + size > limit - 2 * MIB);
}

static void test_initrd_placement(void **state)
{
	struct guest_mem *mem = *state;
	struct image_spec s = good_spec();
	size_t isize = 3 * MIB + 123;
	uint8_t *initrd = malloc(isize);
	struct linux_boot lb;
	const char *why;
	size_t len;
	uint8_t *img;

	assert_non_null(initrd);
	for (size_t i = 0; i < isize; i++)
		initrd[i] = (uint8_t)(i * 13);

	/* initrd_addr_max above RAM: the top of RAM is the limit. */
	img = make_image(&s, &len);
	assert_int_equal(linux_load(mem, img, len, initrd, isize, "", 0, &lb, &why), 0);
	check_initrd(&lb, RAM_SIZE, isize);
	assert_int_equal(lb.initrd_gpa % (2 * MIB), 0);
	assert_memory_equal(gpa_to_hva(mem, lb.initrd_gpa, isize), initrd, isize);
	free(img);

	/* initrd_addr_max is the last byte the initrd may occupy. */
	s.initrd_addr_max = 40 * MIB - 1;
	img = make_image(&s, &len);
	assert_int_equal(linux_load(mem, img, len, initrd, isize, "", 0, &lb, &why), 0);
	check_initrd(&lb, 40 * MIB, isize);
	free(img);

	/* No 2 MiB aligned spot above the kernel: fall back to 4 KiB alignment. */
	s.init_size = 8 * MIB + 0x1000;
	s.initrd_addr_max = (uint32_t)(24 * MIB + 0x1000 + isize + 0x6000 - 1);
	img = make_image(&s, &len);
	assert_int_equal(linux_load(mem, img, len, initrd, isize, "", 0, &lb, &why), 0);
	check_initrd(&lb, s.initrd_addr_max + 1ULL, isize);
	assert_true(lb.initrd_gpa % (2 * MIB) != 0);
	free(img);

	free(initrd);
}

static void test_initrd_too_big(void **state)
{
	struct guest_mem *mem = *state;
	struct image_spec s = good_spec();
	size_t isize = 41 * MIB; /* kernel ends at 24 MiB, RAM at 64 MiB */
	uint8_t *initrd = calloc(1, isize);
	struct linux_boot lb;
	const char *why = NULL;
	size_t len;
	uint8_t *img = make_image(&s, &len);

	assert_non_null(initrd);
	/* -EFBIG, not the kernel's -ENOMEM: the caller names the initrd as the culprit. */
	assert_int_equal(linux_load(mem, img, len, initrd, isize, "", 0, &lb, &why), -EFBIG);
	assert_non_null(why);
	assert_non_null(strstr(why, "initrd"));

	/* Fits in RAM but not below initrd_addr_max. */
	free(img);
	s.initrd_addr_max = 32 * MIB - 1;
	img = make_image(&s, &len);
	why = NULL;
	assert_int_equal(linux_load(mem, img, len, initrd, 9 * MIB, "", 0, &lb, &why), -EFBIG);
	assert_non_null(strstr(why, "initrd_addr_max"));
	free(img);
	free(initrd);
}

static void test_bad_args(void **state)
{
	struct linux_boot lb;
	const char *why = NULL;

	assert_int_equal(linux_load(*state, NULL, 10, NULL, 0, "", 0, &lb, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(linux_load(NULL, "x", 1, NULL, 0, "", 0, &lb, NULL), -EINVAL);
}

/*
 * With NESTVMM_TEST_BZIMAGE=/path/to/vmlinuz, also load a real kernel (for
 * example Debian's) and check what its header says about the placement.
 */
static void test_real_kernel(void **state)
{
	const char *path = getenv("NESTVMM_TEST_BZIMAGE");
	struct guest_mem mem;
	struct linux_boot lb;
	struct boot_params *bp;
	const char *why = NULL;
	uint8_t *img;
	FILE *f;
	long len;

	(void)state;
	if (!path || !*path) {
		skip();
		return;
	}
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	img = malloc((size_t)len);
	assert_non_null(img);
	assert_int_equal(fread(img, 1, (size_t)len, f), (size_t)len);
	fclose(f);

	assert_int_equal(guest_mem_init(&mem, 512 * MIB), 0);
	assert_int_equal(
	    linux_load(&mem, img, (size_t)len, NULL, 0, "console=ttyS0", 0xe0000, &lb, &why), 0);
	bp = zero_page(&mem);
	assert_true(lb.protocol >= 0x020c);
	assert_int_equal(lb.kernel_gpa, bp->hdr.pref_address);
	assert_int_equal(lb.entry_gpa, lb.kernel_gpa + 0x200);
	assert_true(lb.kernel_size >= bp->hdr.init_size);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	/* Its first half, as a cut-off download would leave it. */
	why = NULL;
	assert_int_equal(linux_load(&mem, img, (size_t)len / 2, NULL, 0, "", 0, &lb, &why),
			 -ENOEXEC);
	assert_non_null(strstr(why, "truncated"));
	guest_mem_destroy(&mem);
	free(img);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_mem, teardown_mem)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_good_image),
	    T(test_no_initrd_no_cmdline),
	    T(test_bad_magic),
	    T(test_bad_boot_flag),
	    T(test_old_protocol),
	    T(test_no_kernel_64),
	    T(test_not_loaded_high),
	    T(test_setup_past_eof),
	    T(test_truncated_and_empty),
	    T(test_cut_kernel_refused),
	    T(test_kernel_too_big),
	    T(test_relocation_fallback),
	    T(test_cmdline_limit),
	    T(test_initrd_placement),
	    T(test_initrd_too_big),
	    T(test_bad_args),
	    cmocka_unit_test(test_real_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
