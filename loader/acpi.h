/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables describing the machine to the guest: RSDP, RSDT, XSDT, FADT
 * (with FACS), MADT and a DSDT in AML. They live in the BIOS area
 * 0xe0000-0xfffff (reported reserved in the e820) with the RSDP first, so a
 * legacy scan finds it as well as boot_params.acpi_rsdp_addr.
 *
 * What the VMM's devices must match:
 * - PM1a event block (4 bytes: PM1_STS, PM1_EN) at pm1a_evt_port and PM1a
 *   control (2 bytes) at pm1a_cnt_port. SMI_CMD is 0, so the OS assumes
 *   ACPI mode is always on: a PM1_CNT read should return SCI_EN (bit 0) set.
 *   PM1_EN must read back what was written (Linux probes the global lock
 *   by setting GBL_EN and logs "ACPI Error" if the bit does not stick).
 *   Poweroff is a 16-bit write to PM1_CNT with SLP_EN (bit 13) set and
 *   SLP_TYP (bits 12:10) == ACPI_S5_SLP_TYP (Linux writes 0x1401, then
 *   0x3401).
 * - SCI on ISA IRQ sci_irq, level triggered, active high (MADT override).
 * - IRQ0 -> GSI 2 override unless no_irq0_override: KVM's default GSI
 *   routing sends the in-kernel PIT to IOAPIC pin 0, so either route GSI 0
 *   to IOAPIC pin 2 (KVM_SET_GSI_ROUTING) or set no_irq0_override.
 * - PCI INTx (_PRT): device d, pin p (0 = INTA) -> GSI ACPI_PCI_INTX_GSI_BASE
 *   + ((d + p) % ACPI_PCI_INTX_GSIS), level triggered, active low.
 * - No 8042 is announced (the OS skips probing it; reset via port 0x64
 *   still works), no VGA, CMOS RTC present.
 */
#ifndef NESTVMM_ACPI_H
#define NESTVMM_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define ACPI_TABLES_GPA 0xe0000ULL
#define ACPI_TABLES_END 0x100000ULL
#define ACPI_RSDP_GPA	ACPI_TABLES_GPA
/* xAPIC ids are 8 bits and 0xff is the broadcast id. */
#define ACPI_MAX_CPUS 255
/* _S5 package value: SLP_TYP the PM device decodes as "power off". */
#define ACPI_S5_SLP_TYP	       5
#define ACPI_PCI_INTX_GSI_BASE 16
#define ACPI_PCI_INTX_GSIS     8

struct acpi_config {
	unsigned int nr_cpus;		       /* LAPIC ids and processor UIDs 0..n-1 */
	uint32_t ioapic_addr;		       /* e.g. 0xfec00000 */
	uint32_t lapic_addr;		       /* e.g. 0xfee00000 */
	uint16_t pm1a_evt_port, pm1a_cnt_port; /* e.g. 0x600, 0x604 */
	uint16_t pm_tmr_port;		       /* 0: no ACPI PM timer */
	uint8_t sci_irq;		       /* e.g. 9 */
	bool no_irq0_override;		       /* see above */
	uint16_t pvpanic_port;		       /* 0: none; else a QEMU0001 device there */
	uint64_t pci_mmio_base, pci_mmio_size; /* 32-bit PCI BAR window; size 0: none */
};

/*
 * Write the tables into @mem and return the RSDP's address in *rsdp_gpa.
 * Returns 0, -EINVAL (bad config), -E2BIG (too many CPUs for the MADT or
 * the tables do not fit the BIOS area) or -ENOMEM (no RAM there).
 */
int acpi_build(struct guest_mem *mem, const struct acpi_config *cfg, uint64_t *rsdp_gpa);

#endif
