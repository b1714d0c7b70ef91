/* SPDX-License-Identifier: MIT */
#include "board/machine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loader/acpi.h"
#include "vmm/vm.h"

static void machine_irq(void *ctx, unsigned int gsi, int level)
{
	vm_irq_line(ctx, gsi, level);
}

static void machine_boot_mark(void *ctx, uint8_t value)
{
	vm_boot_mark(ctx, value);
}

static void machine_stop(void *ctx, int exit_code, const char *why)
{
	vm_request_stop(ctx, exit_code, why);
}

/*
 * The console's output. A reader that went away (`nestvmm run | head`)
 * stops the VM: nobody sees the guest any more, and SIGPIPE is ignored so
 * that the stop is orderly (terminal restored, --stats printed).
 */
static ssize_t stdout_sink(void *ctx, const void *buf, size_t len)
{
	struct machine *m = ctx;
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(STDOUT_FILENO, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				vm_request_stop(m->vm, VM_EXIT_VMM_ERROR,
						"the console's output was closed (broken pipe)");
			return done ? (ssize_t)done : -errno;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static char machine_why[160];

static int attach_fail(const char **why, const char *dev, int r)
{
	snprintf(machine_why, sizeof(machine_why), "cannot attach %s: %s", dev, strerror(-r));
	*why = machine_why;
	return r;
}

int machine_init(struct machine *m, struct vm *vm, int console_fd, const char **why)
{
	struct acpi_config acpi = {
	    .nr_cpus = vm->nr_vcpus,
	    .ioapic_addr = MACHINE_IOAPIC_ADDR,
	    .lapic_addr = MACHINE_LAPIC_ADDR,
	    .pm1a_evt_port = MACHINE_PM1A_EVT,
	    .pm1a_cnt_port = MACHINE_PM1A_CNT,
	    .sci_irq = MACHINE_SCI_IRQ,
	    /* KVM routes the PIT to IOAPIC pin 0 by default: describe it as it is */
	    .no_irq0_override = true,
	    .pvpanic_port = MACHINE_PVPANIC_PORT,
	    .pci_mmio_base = MACHINE_PCI_MMIO_BASE,
	    .pci_mmio_size = MACHINE_PCI_MMIO_SIZE,
	};
	struct serial_sink sink = {.out = stdout_sink, .ctx = m};
	struct boot_timer_sink marks = {.mark = machine_boot_mark, .ctx = vm};
	int r;

	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->irq = (struct dev_irq){.set_level = machine_irq, .ctx = vm};
	m->stop = (struct dev_stop){.request = machine_stop, .ctx = vm};

	if ((r = serial_init(&m->com1, &m->irq, MACHINE_COM1_IRQ, &sink)) < 0 ||
	    (r = serial_attach(&m->com1, &vm->pio, SERIAL_COM1_BASE)) < 0)
		return attach_fail(why, "the serial port", r);
	if ((r = i8042_init(&m->i8042, &m->irq, MACHINE_I8042_IRQ, &m->stop)) < 0 ||
	    (r = i8042_attach(&m->i8042, &vm->pio)) < 0)
		return attach_fail(why, "the i8042", r);
	if ((r = rtc_init(&m->rtc, NULL)) < 0 || (r = rtc_attach(&m->rtc, &vm->pio)) < 0)
		return attach_fail(why, "the RTC", r);
	if ((r = pci_bus_init(&m->pci, &m->stop)) < 0 ||
	    (r = pci_bus_attach(&m->pci, &vm->pio)) < 0)
		return attach_fail(why, "the PCI host bridge", r);
	if ((r = virtio_host_init(&m->virtio, vm, &m->pci, MACHINE_PCI_MMIO_BASE,
				  MACHINE_PCI_MMIO_SIZE)) < 0)
		return attach_fail(why, "the MSI routing table", r);
	if ((r = acpi_pm_init(&m->pm, &m->stop, &m->irq, MACHINE_SCI_IRQ, NULL)) < 0 ||
	    (r = acpi_pm_attach(&m->pm, &vm->pio, MACHINE_PM1A_EVT, MACHINE_PM1A_CNT, 0)) < 0)
		return attach_fail(why, "the ACPI PM block", r);
	if ((r = debug_exit_init(&m->debug_exit, &m->stop)) < 0 ||
	    (r = debug_exit_attach(&m->debug_exit, &vm->pio, MACHINE_DEBUG_EXIT_PORT)) < 0)
		return attach_fail(why, "the debug-exit port", r);
	if ((r = port80_init(&m->port80)) < 0 || (r = port80_attach(&m->port80, &vm->pio)) < 0)
		return attach_fail(why, "port 0x80", r);
	if ((r = pvpanic_init(&m->pvpanic, &m->stop)) < 0 ||
	    (r = pvpanic_attach(&m->pvpanic, &vm->pio, MACHINE_PVPANIC_PORT)) < 0)
		return attach_fail(why, "pvpanic", r);
	if ((r = boot_timer_init(&m->boot_timer, &marks)) < 0 ||
	    (r = boot_timer_attach(&m->boot_timer, &vm->pio, BOOT_TIMER_PORT)) < 0)
		return attach_fail(why, "the boot timer", r);

	r = acpi_build(&vm->mem, &acpi, &m->acpi_rsdp_gpa);
	if (r < 0) {
		snprintf(machine_why, sizeof(machine_why), "cannot build the ACPI tables: %s",
			 strerror(-r));
		*why = machine_why;
		return r;
	}
	if (console_fd >= 0 && (r = console_init(&m->console, &m->com1, &m->stop, console_fd)) < 0)
		return attach_fail(why, "the console", r);
	m->console_started = false;
	return 0;
}

int machine_start_console(struct machine *m)
{
	int r = console_start(&m->console);

	if (r == 0)
		m->console_started = true;
	return r;
}

void machine_destroy(struct machine *m)
{
	/* First: the virtio devices' threads still use guest RAM and the irqfds. */
	virtio_host_destroy(&m->virtio);
	serial_flush(&m->com1);
	if (m->console_started)
		console_destroy(&m->console);
	serial_destroy(&m->com1);
	i8042_destroy(&m->i8042);
	rtc_destroy(&m->rtc);
	pci_bus_destroy(&m->pci);
	acpi_pm_destroy(&m->pm);
}
