/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the bzImage loader (loader/bzimage.c) on a hostile kernel
 * file, initrd and command line, into guest RAM of one of three sizes.
 *
 * Input: flags8 (bits 0-1: RAM 32 MiB, 64 MiB, 512 MiB or 3 GiB, which
 * puts the PCI hole in play; bit 2: an initrd; bit 3: lay a plausible
 * boot-protocol header over the image, its fields from the input, so that
 * random bytes get past the magic), initrd length16 (x 4 KiB), command
 * line length8, then the kernel image itself.
 *
 * What must hold: a refused image says why (-errno and a reason); a
 * loaded one has its protected-mode part in RAM byte for byte at the
 * address the loader chose, the 64-bit entry 0x200 into it, the zero page
 * pointing at the command line, and the initrd in RAM without touching
 * the kernel (a trap otherwise).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/bzimage.h"
#include "tests/fuzz/fuzz_bzimage.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/guest_mem.h"

#define MAX_IMAGE (64u * 1024)

struct fuzz_bzimage_stats fuzz_bzimage_stats;

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static struct guest_mem *ram(unsigned int which)
{
	static const uint64_t sizes[] = {32ull << 20, 64ull << 20, 512ull << 20, 3ull << 30};
	static struct guest_mem mem[4];
	static bool made[4];

	if (!made[which]) {
		if (guest_mem_init(&mem[which], sizes[which]) < 0)
			__builtin_trap();
		made[which] = true;
	}
	return &mem[which];
}

/*
 * Boot flag, HdrS and the fields the loader reads, from the input: each
 * field is right half the time (so that random bytes load now and then)
 * and anything the other half.
 */
static void lay_header(uint8_t *k, size_t len, struct input *in)
{
	uint8_t sects = get8(in) & 1 ? 1 : get8(in) % 8;
	size_t setup = (size_t)((sects ? sects : 4) + 1) * 512;
	uint32_t syssize = len > setup ? (uint32_t)((len - setup) / 16) : 0;
	uint16_t version = get8(in) & 1 ? 0x020f : (uint16_t)(0x0200 + get8(in) % 0x20);
	uint32_t v32;
	uint64_t v64;

	if (len < 0x270)
		return;
	k[0x1f1] = sects;
	if (!(get8(in) & 1))
		syssize += get8(in) % 3 - 1; /* one off either way, or exact */
	memcpy(k + 0x1f4, &syssize, 4);
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x201] = get8(in) & 1 ? 0x66 : (uint8_t)(0x60 + get8(in) % 0x30);
	memcpy(k + 0x202, "HdrS", 4);
	memcpy(k + 0x206, &version, 2);
	k[0x211] = get8(in) & 1 ? 0x01 : get8(in);    /* LOADED_HIGH */
	v32 = get8(in) & 1 ? 0x7fffffffu : get32(in); /* initrd_addr_max */
	memcpy(k + 0x22c, &v32, 4);
	v32 = get8(in) & 1 ? 0x200000u : get32(in); /* kernel_alignment */
	memcpy(k + 0x230, &v32, 4);
	k[0x234] = get8(in) & 1;		   /* relocatable */
	k[0x236] = get8(in) & 1 ? 0x01 : get8(in); /* XLF_KERNEL_64 */
	v32 = get8(in) & 1 ? 4095u : get32(in);	   /* cmdline_size */
	memcpy(k + 0x238, &v32, 4);
	v64 = get8(in) & 1 ? 0x1000000ull : get64(in); /* pref_address */
	memcpy(k + 0x258, &v64, 8);
	v32 = get8(in) & 1 ? 0x100000u : get32(in); /* init_size */
	memcpy(k + 0x260, &v32, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct fuzz_bzimage_stats *st = &fuzz_bzimage_stats;
	uint8_t flags = get8(&in);
	size_t initrd_len = (flags & 4) ? (size_t)(get16(&in) % 2048 + 1) * 4096 : 0;
	size_t cmd_len = get8(&in);
	static uint8_t *initrd;
	static char cmdline[256];
	struct guest_mem *mem = ram(flags & 3);
	struct linux_boot boot;
	const char *why = NULL;
	uint8_t *kernel;
	size_t klen;
	int r;

	if (!initrd && !(initrd = malloc(2048 * 4096)))
		__builtin_trap();
	memset(initrd, 0x5a, initrd_len);
	memset(cmdline, 'a', cmd_len);
	cmdline[cmd_len] = '\0';
	klen = in.n < MAX_IMAGE ? in.n : MAX_IMAGE;
	kernel = malloc(klen ? klen : 1);
	if (!kernel)
		__builtin_trap();
	memcpy(kernel, in.p, klen);
	if (flags & 8) {
		/* The header's choices come from the image's tail, past what it overwrites. */
		struct input hdr_in = {in.p + (klen > 0x300 ? 0x300 : klen),
				       klen > 0x300 ? klen - 0x300 : 0};

		lay_header(kernel, klen, &hdr_in);
	}

	r = linux_load(mem, kernel, klen, initrd_len ? initrd : NULL, initrd_len, cmdline, 0, &boot,
		       &why);
	if (r < 0) {
		check(why && why[0]);
		st->refused++;
		if (klen >= 0x206 && kernel[0x1fe] == 0x55 && kernel[0x1ff] == 0xaa &&
		    !memcmp(kernel + 0x202, "HdrS", 4))
			st->past_magic++;
	} else {
		unsigned int sects = kernel[0x1f1] ? kernel[0x1f1] : 4;
		size_t setup = (size_t)(sects + 1) * 512;
		const uint8_t *pm = gpa_to_hva(mem, boot.kernel_gpa, klen - setup);
		const uint8_t *zp = gpa_to_hva(mem, boot.zero_page_gpa, 4096);
		uint32_t cmd_ptr;

		check(r == 0 && setup < klen && pm && zp);
		check(memcmp(pm, kernel + setup, klen - setup) == 0);
		check(boot.entry_gpa == boot.kernel_gpa + 0x200);
		memcpy(&cmd_ptr, zp + 0x228, 4);
		check(cmd_ptr == boot.cmdline_gpa);
		if (initrd_len) {
			const uint8_t *rd = gpa_to_hva(mem, boot.initrd_gpa, initrd_len);

			check(rd && boot.initrd_size == initrd_len);
			check(boot.initrd_gpa >= boot.kernel_gpa + boot.kernel_size ||
			      boot.initrd_gpa + initrd_len <= boot.kernel_gpa);
			check(rd[0] == 0x5a && rd[initrd_len - 1] == 0x5a);
			st->with_initrd++;
		}
		st->loaded++;
	}
	free(kernel);
	return 0;
}
