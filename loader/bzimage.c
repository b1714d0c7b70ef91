/* SPDX-License-Identifier: MIT */
#include "loader/bzimage.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loader/e820.h"

#define MIB		      (1ULL << 20)
#define SECTOR		      512
#define SETUP_HDR_OFF	      0x1f1 /* struct setup_header inside the image and the zero page */
#define BOOT_FLAG_OFF	      0x1fe /* 0xaa55 */
#define HDR_LEN_OFF	      0x201 /* header length byte: the header ends at 0x202 + it */
#define HDR_MAGIC_OFF	      0x202 /* "HdrS" */
#define VERSION_OFF	      0x206
#define ZERO_PAGE_HDR_END     0x290 /* room the zero page has for the setup header */
#define HDR_MIN_END_64	      0x268 /* a 2.12+ header reaches at least through init_size */
#define ENTRY_64_OFF	      0x200 /* 64-bit entry relative to the protected-mode load address */
#define SETUP_SECTS_DEFAULT   4
#define DEFAULT_KERNEL_ALIGN  (2 * MIB)
#define INITRD_ALIGN_BIG      (2 * MIB) /* lets the initrd sit on host huge pages */
#define INITRD_ALIGN_MIN      0x1000ULL
#define LOADER_TYPE_UNDEFINED 0xff
/* Where the (never run) setup code's heap would end, as the protocol suggests. */
#define SETUP_HEAP_END 0xe000

/* *why text for messages that need numbers; one line per thread is enough. */
static _Thread_local char why_buf[192];

static int fail(const char **why, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const char **why, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	if (why)
		*why = why_buf;
	return err;
}

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + MIB - 1) / MIB;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/* The kernel's protected-mode part and the memory it may use while booting. */
struct kernel_place {
	uint64_t base; /* load address */
	uint64_t need; /* bytes from base (max of init_size and the image) */
};

static int place_kernel(const struct guest_mem *mem, const struct setup_header *hdr,
			uint64_t payload, struct kernel_place *kp, const char **why)
{
	uint64_t low_top = mem->nr_regions ? mem->regions[0].gpa + mem->regions[0].size : 0;
	uint64_t align = hdr->kernel_alignment ? hdr->kernel_alignment : DEFAULT_KERNEL_ALIGN;
	uint64_t pref = hdr->pref_address;
	bool reloc = hdr->relocatable_kernel != 0;
	uint64_t base;

	kp->need = hdr->init_size > payload ? hdr->init_size : payload;
	if (reloc && (align & (align - 1)))
		return fail(why, -ENOEXEC, "bad kernel_alignment 0x%llx (not a power of two)",
			    (unsigned long long)align);

	/*
	 * A relocatable kernel decompresses at max(load address rounded up to
	 * kernel_alignment, LOAD_PHYSICAL_ADDR == pref_address), so loading
	 * anywhere below pref_address would not save any memory; the fallback
	 * only covers a preferred address that is unusable as such.
	 */
	if (pref >= E820_HIGH_RAM_START && (!reloc || !(pref & (align - 1))))
		base = pref;
	else if (reloc)
		base = (LINUX_FALLBACK_LOAD_GPA + align - 1) & ~(align - 1);
	else
		return fail(why, -ENOEXEC,
			    "kernel is not relocatable and its address 0x%llx is unusable",
			    (unsigned long long)pref);

	if (base > low_top || kp->need > low_top - base || !gpa_to_hva(mem, base, kp->need))
		return fail(why, -ENOMEM,
			    "kernel (%llu MiB at %llu MiB) does not fit in RAM (%llu MiB)",
			    (unsigned long long)mib_up(kp->need), (unsigned long long)(base / MIB),
			    (unsigned long long)(low_top / MIB));
	kp->base = base;
	return 0;
}

/* Highest aligned spot for the initrd between the kernel and the limits. */
static int place_initrd(const struct guest_mem *mem, const struct setup_header *hdr,
			const struct kernel_place *kp, uint64_t len, uint64_t *gpa,
			const char **why)
{
	uint64_t low_top = mem->regions[0].gpa + mem->regions[0].size;
	uint64_t addr_limit = (uint64_t)hdr->initrd_addr_max + 1;
	uint64_t kernel_end = kp->base + kp->need;
	uint64_t max_end = addr_limit < low_top ? addr_limit : low_top;
	uint64_t addr;

	if (max_end < kernel_end || len > max_end - kernel_end)
		return fail(why, -EFBIG,
			    "initrd (%llu MiB) does not fit between the kernel's end (%llu MiB) "
			    "and %s (%llu MiB)",
			    (unsigned long long)mib_up(len), (unsigned long long)mib_up(kernel_end),
			    addr_limit < low_top ? "initrd_addr_max" : "the top of low RAM",
			    (unsigned long long)(max_end / MIB));
	addr = align_down(max_end - len, INITRD_ALIGN_BIG);
	if (addr < kernel_end)
		addr = align_down(max_end - len, INITRD_ALIGN_MIN);
	if (addr < kernel_end || !gpa_to_hva(mem, addr, len))
		return fail(why, -EFBIG, "initrd (%llu MiB) does not fit above the kernel",
			    (unsigned long long)mib_up(len));
	*gpa = addr;
	return 0;
}

/* Checks the image and copies its setup header into *hdr; *hdr_end is where it ends. */
static int parse_header(const uint8_t *k, size_t len, struct setup_header *hdr, size_t *hdr_end,
			uint64_t *setup_size, const char **why)
{
	uint16_t boot_flag, version;
	size_t end, copy;
	unsigned int sects;

	if (len == 0)
		return fail(why, -ENOEXEC, "kernel image is empty");
	if (len < VERSION_OFF + 2)
		return fail(why, -ENOEXEC, "not a Linux bzImage (only %zu bytes)", len);
	memcpy(&boot_flag, k + BOOT_FLAG_OFF, 2);
	if (boot_flag != 0xaa55)
		return fail(why, -ENOEXEC, "not a Linux bzImage (no 0xAA55 boot flag)");
	if (memcmp(k + HDR_MAGIC_OFF, "HdrS", 4))
		return fail(why, -ENOEXEC, "not a Linux bzImage (no HdrS magic)");
	memcpy(&version, k + VERSION_OFF, 2);
	if (version < LINUX_MIN_PROTOCOL)
		return fail(why, -ENOEXEC, "boot protocol %u.%02u too old (need >= 2.06)",
			    version >> 8, version & 0xff);

	end = HDR_MAGIC_OFF + (size_t)k[HDR_LEN_OFF];
	if (end > len)
		return fail(why, -ENOEXEC,
			    "truncated: setup header ends at 0x%zx but file has %zu bytes", end,
			    len);
	memset(hdr, 0, sizeof(*hdr));
	copy = end - SETUP_HDR_OFF;
	memcpy(hdr, k + SETUP_HDR_OFF, copy < sizeof(*hdr) ? copy : sizeof(*hdr));

	sects = hdr->setup_sects ? hdr->setup_sects : SETUP_SECTS_DEFAULT;
	*setup_size = (uint64_t)(sects + 1) * SECTOR;
	if (*setup_size > len)
		return fail(why, -ENOEXEC, "truncated: setup says %u sectors but file has %zu",
			    sects + 1, (len + SECTOR - 1) / SECTOR);
	if (*setup_size == len)
		return fail(why, -ENOEXEC, "truncated: no kernel after the %u setup sectors",
			    sects + 1);

	if (version < 0x020c)
		return fail(why, -ENOEXEC,
			    "boot protocol %u.%02u has no 64-bit entry point (need >= 2.12)",
			    version >> 8, version & 0xff);
	if (end < HDR_MIN_END_64)
		return fail(why, -ENOEXEC,
			    "setup header too short (%zu bytes) for protocol %u.%02u",
			    end - SETUP_HDR_OFF, version >> 8, version & 0xff);
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		return fail(why, -ENOEXEC,
			    "kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
	if (!(hdr->loadflags & LOADED_HIGH))
		return fail(why, -ENOEXEC, "zImage kernels (not LOADED_HIGH) are not supported");
	/*
	 * syssize (16-byte units, 32 bits since 2.04) is the protected-mode
	 * part the kernel's build wrote: a shorter file was cut off, and would
	 * only die later in the guest's decompressor. Real images may carry a
	 * little more than syssize says, never less.
	 */
	if ((uint64_t)hdr->syssize * 16 > len - *setup_size)
		return fail(why, -ENOEXEC,
			    "truncated: the header says %llu bytes of kernel after the setup but "
			    "the file has %llu",
			    (unsigned long long)hdr->syssize * 16,
			    (unsigned long long)(len - *setup_size));
	*hdr_end = end;
	return 0;
}

static void fill_zero_page(struct boot_params *bp, const uint8_t *k, size_t hdr_end,
			   const struct kernel_place *kp, uint64_t initrd_gpa, uint64_t initrd_len,
			   uint64_t rsdp, const struct boot_e820_entry *e820, int nr_e820)
{
	size_t hdr_copy =
	    (hdr_end < ZERO_PAGE_HDR_END ? hdr_end : ZERO_PAGE_HDR_END) - SETUP_HDR_OFF;

	/* A clean page with only the image's header in it, as the protocol asks. */
	memset(bp, 0, sizeof(*bp));
	memcpy((uint8_t *)bp + SETUP_HDR_OFF, k + SETUP_HDR_OFF, hdr_copy);

	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.ext_loader_ver = 0;
	bp->hdr.ext_loader_type = 0;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = SETUP_HEAP_END - 0x200;
	bp->hdr.code32_start = (uint32_t)kp->base;
	bp->hdr.cmd_line_ptr = (uint32_t)LINUX_CMDLINE_GPA;
	bp->ext_cmd_line_ptr = (uint32_t)(LINUX_CMDLINE_GPA >> 32);
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)initrd_len;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_len >> 32);
	bp->hdr.hardware_subarch = X86_SUBARCH_PC;
	bp->hdr.hardware_subarch_data = 0;
	bp->hdr.setup_data = 0; /* the image's value is not ours to pass on */
	if (rsdp && bp->hdr.version >= 0x020e)
		bp->acpi_rsdp_addr = rsdp;
	memcpy(bp->e820_table, e820, sizeof(*e820) * (size_t)nr_e820);
	bp->e820_entries = (uint8_t)nr_e820;
}

int linux_load(struct guest_mem *mem, const void *kernel, size_t kernel_len, const void *initrd,
	       size_t initrd_len, const char *cmdline, uint64_t acpi_rsdp_gpa,
	       struct linux_boot *out, const char **why)
{
	struct boot_e820_entry e820[E820_MAX_ENTRIES_ZEROPAGE];
	const uint8_t *k = kernel;
	struct setup_header hdr;
	struct kernel_place kp = {0};
	uint64_t setup_size = 0, initrd_gpa = 0;
	size_t hdr_end = 0, cmdline_len;
	struct boot_params *bp;
	uint8_t *dst;
	char *cmd_dst;
	int nr_e820, err;

	if (!mem || !out || (!kernel && kernel_len) || (!initrd && initrd_len) ||
	    mem->nr_regions == 0)
		return fail(why, -EINVAL, "linux_load: bad arguments");
	if (!cmdline)
		cmdline = "";

	/* Validate and place everything before writing a byte of guest RAM. */
	err = parse_header(k, kernel_len, &hdr, &hdr_end, &setup_size, why);
	if (err)
		return err;
	err = place_kernel(mem, &hdr, kernel_len - setup_size, &kp, why);
	if (err)
		return err;

	cmdline_len = strlen(cmdline);
	if (cmdline_len > hdr.cmdline_size)
		return fail(why, -E2BIG, "command line %zu bytes > cmdline_size %u", cmdline_len,
			    hdr.cmdline_size);
	if (cmdline_len >= LINUX_CMDLINE_AREA)
		return fail(why, -E2BIG, "command line %zu bytes > %llu", cmdline_len,
			    LINUX_CMDLINE_AREA - 1);

	if (initrd_len) {
		err = place_initrd(mem, &hdr, &kp, initrd_len, &initrd_gpa, why);
		if (err)
			return err;
	}

	nr_e820 = e820_build(mem, e820, E820_MAX_ENTRIES_ZEROPAGE);
	if (nr_e820 < 0)
		return fail(why, nr_e820, "memory map does not fit in the zero page");

	bp = gpa_to_hva(mem, LINUX_ZERO_PAGE_GPA, sizeof(*bp));
	cmd_dst = gpa_to_hva(mem, LINUX_CMDLINE_GPA, cmdline_len + 1);
	dst = gpa_to_hva(mem, kp.base, kernel_len - setup_size);
	if (!bp || !cmd_dst || !dst)
		return fail(why, -ENOMEM, "guest RAM too small for the boot data below 1 MiB");

	memcpy(dst, k + setup_size, kernel_len - setup_size);
	memcpy(cmd_dst, cmdline, cmdline_len + 1);
	if (initrd_len)
		memcpy(gpa_to_hva(mem, initrd_gpa, initrd_len), initrd, initrd_len);
	fill_zero_page(bp, k, hdr_end, &kp, initrd_gpa, initrd_len, acpi_rsdp_gpa, e820, nr_e820);

	memset(out, 0, sizeof(*out));
	out->entry_gpa = kp.base + ENTRY_64_OFF;
	out->zero_page_gpa = LINUX_ZERO_PAGE_GPA;
	out->cmdline_gpa = LINUX_CMDLINE_GPA;
	out->initrd_gpa = initrd_gpa;
	out->initrd_size = initrd_len;
	out->kernel_gpa = kp.base;
	out->kernel_size = kp.need;
	out->protocol = hdr.version;
	return 0;
}
