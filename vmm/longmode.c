/* SPDX-License-Identifier: MIT */
#include "vmm/longmode.h"

#include <errno.h>
#include <string.h>

#include "vmm/guest_mem.h"

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

static const uint64_t boot_gdt[] = {
    0,			   /* null */
    0,			   /* unused: Linux wants CS at 0x10 */
    0x00af9b000000ffffULL, /* 0x10: code, 64-bit, DPL0 */
    0x00cf93000000ffffULL, /* 0x18: data, flat 4 GiB, DPL0 */
};

uint64_t boot_gdt_entry(unsigned int selector)
{
	unsigned int i = selector >> 3;

	return i < sizeof(boot_gdt) / sizeof(boot_gdt[0]) ? boot_gdt[i] : 0;
}

int boot_longmode_setup(struct guest_mem *mem)
{
	uint64_t *gdt = gpa_to_hva(mem, BOOT_GDT_ADDR, sizeof(boot_gdt));
	uint64_t *pml4 = gpa_to_hva(mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = gpa_to_hva(mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = gpa_to_hva(mem, BOOT_PD_ADDR, 4 * 4096);

	if (!gdt || !pml4 || !pdpt || !pd)
		return -ENOMEM;
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}
