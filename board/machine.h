/* SPDX-License-Identifier: MIT */
/*
 * The PC that `nestvmm run` builds around a Linux kernel: which legacy
 * device sits at which port and IRQ, the ACPI description of it, and the
 * console wiring. The devices themselves live in devices/.
 */
#ifndef NESTVMM_MACHINE_H
#define NESTVMM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/acpi_pm.h"
#include "devices/boot_timer.h"
#include "devices/console.h"
#include "devices/debug_exit.h"
#include "devices/dev.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/port80.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "board/virtio_host.h"

struct vm;

/* Where things are. The ACPI tables and the devices read the same constants. */
#define MACHINE_COM1_IRQ	4
#define MACHINE_I8042_IRQ	1
#define MACHINE_SCI_IRQ		9
#define MACHINE_PM1A_EVT	0x600
#define MACHINE_PM1A_CNT	0x604
#define MACHINE_DEBUG_EXIT_PORT 0x501
#define MACHINE_PVPANIC_PORT	0x505
#define MACHINE_IOAPIC_ADDR	0xfec00000U
#define MACHINE_LAPIC_ADDR	0xfee00000U
#define MACHINE_PCI_MMIO_BASE	0xc0000000ULL /* = GUEST_MEM_LOW_LIMIT */
#define MACHINE_PCI_MMIO_SIZE	(MACHINE_IOAPIC_ADDR - MACHINE_PCI_MMIO_BASE)

struct machine {
	struct vm *vm;
	struct dev_irq irq;
	struct dev_stop stop;
	struct serial com1;
	struct console console;
	struct i8042 i8042;
	struct rtc rtc;
	struct pci_bus pci;
	struct acpi_pm pm;
	struct debug_exit debug_exit;
	struct port80 port80;
	struct pvpanic pvpanic;
	struct boot_timer boot_timer; /* marks for --stats (vmm/boot_marks.h) */
	struct virtio_host virtio; /* virtio devices: PCI slots from 1, BARs in the MMIO window */
	bool console_started;
	uint64_t acpi_rsdp_gpa;
};

/*
 * Attach the PC devices to @vm's buses and write the ACPI tables. @console_fd
 * is the fd whose bytes become serial input (stdin), or -1 for none.
 * Returns 0 or -errno with *why set.
 */
int machine_init(struct machine *m, struct vm *vm, int console_fd, const char **why);
/* Raw terminal and the input thread; call right before vm_run(). */
int machine_start_console(struct machine *m);
/* Flush the console, restore the terminal, release the devices. */
void machine_destroy(struct machine *m);

#endif
