/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/pci.h"
#include "vmm/bus.h"
#include "fake_dev.h"

/* A device model built from the header helper, as virtio-pci will be. */
struct test_dev {
	struct pci_cfg cfg;
	unsigned changed;
};

static uint32_t dev_cfg_read(void *opaque, unsigned off, unsigned size)
{
	struct test_dev *d = opaque;

	return pci_cfg_read(&d->cfg, off, size);
}

static void dev_cfg_write(void *opaque, unsigned off, unsigned size, uint32_t val)
{
	struct test_dev *d = opaque;

	d->changed |= pci_cfg_write(&d->cfg, off, size, val);
}

static const struct pci_dev_ops test_dev_ops = {
    .cfg_read = dev_cfg_read,
    .cfg_write = dev_cfg_write,
};

struct fixture {
	struct pci_bus pci;
	struct fake_stop stop;
	struct bus pio, mmio;
	struct test_dev dev;
};

#define DEV_SLOT  3
#define ECAM_BASE 0xb0000000ull

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dev_stop stop = fake_stop_ops(&f->stop);

	assert_int_equal(pci_bus_init(&f->pci, &stop), 0);
	bus_init(&f->pio);
	bus_init(&f->mmio);
	assert_int_equal(pci_bus_attach(&f->pci, &f->pio), 0);
	assert_int_equal(pci_bus_attach_ecam(&f->pci, &f->mmio, ECAM_BASE), 0);

	pci_cfg_init(&f->dev.cfg, 0x1af4, 0x1042, 0x010000, 1, 0x1af4, 0x0002);
	pci_cfg_set_intx(&f->dev.cfg, 1, 11);
	assert_int_equal(pci_cfg_set_bar(&f->dev.cfg, 0, 0x1000, 0), 0);
	assert_int_equal(pci_cfg_set_bar(&f->dev.cfg, 1, 0x40, PCI_BAR_IO), 0);
	assert_int_equal(
	    pci_cfg_set_bar(&f->dev.cfg, 2, 0x100000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci_add_device(&f->pci, DEV_SLOT, &test_dev_ops, &f->dev), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_destroy(&f->pio);
	bus_destroy(&f->mmio);
	pci_bus_destroy(&f->pci);
	free(f);
	return 0;
}

static uint32_t io_in(struct fixture *f, uint16_t port, unsigned size)
{
	const struct bus_dev *d = bus_find(&f->pio, port);
	uint8_t buf[8];

	assert_non_null(d);
	memset(buf, 0x11, sizeof(buf));
	d->ops->read(d->opaque, port - d->base, buf, size);
	return (uint32_t)dev_data_get(buf, size);
}

static void io_out(struct fixture *f, uint16_t port, unsigned size, uint32_t v)
{
	const struct bus_dev *d = bus_find(&f->pio, port);
	uint8_t buf[8];

	assert_non_null(d);
	dev_data_put(buf, size, v);
	d->ops->write(d->opaque, port - d->base, buf, size);
}

static uint32_t addr(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | reg;
}

/* A mechanism #1 config read the way Linux's pci_conf1_read does it. */
static uint32_t conf1_read(struct fixture *f, unsigned bus, unsigned slot, unsigned fn,
			   unsigned reg, unsigned size)
{
	io_out(f, 0xcf8, 4, addr(bus, slot, fn, reg & 0xfc));
	return io_in(f, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void conf1_write(struct fixture *f, unsigned slot, unsigned reg, unsigned size, uint32_t v)
{
	io_out(f, 0xcf8, 4, addr(0, slot, 0, reg & 0xfc));
	io_out(f, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static void test_address_register(void **state)
{
	struct fixture *f = *state;

	/* Linux's type 1 probe: write the enable bit, read it back. */
	io_out(f, 0xcf8, 4, 0x80000000u);
	assert_int_equal(io_in(f, 0xcf8, 4), 0x80000000u);
	io_out(f, 0xcf8, 4, 0xffffffffu);
	assert_int_equal(io_in(f, 0xcf8, 4), 0x80fffffcu); /* reserved bits read 0 */
	/* Byte accesses to 0xcf8 are not the address register (mechanism #2 probe). */
	io_out(f, 0xcf8, 1, 0x00);
	assert_int_equal(io_in(f, 0xcf8, 4), 0x80fffffcu);
	assert_int_equal(io_in(f, 0xcf8, 1), 0xff);
	assert_int_equal(io_in(f, 0xcfa, 1), 0xff);
}

static void test_host_bridge(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conf1_read(f, 0, 0, 0, 0x00, 4), 0x29c08086u);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x0e, 1), 0x00); /* type 0, single function */
	/* Identity is read-only. */
	conf1_write(f, 0, 0x00, 4, 0x12345678);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x00, 4), 0x29c08086u);
}

static void test_partial_widths(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conf1_read(f, 0, 0, 0, 0x00, 1), 0x86);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x01, 1), 0x80);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x02, 1), 0xc0);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x03, 1), 0x29);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x00, 2), 0x8086);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x02, 2), 0x29c0);
	/* A word at 0xcfd or a dword at 0xcfe would cross the dword: all-ones. */
	io_out(f, 0xcf8, 4, addr(0, 0, 0, 0));
	assert_int_equal(io_in(f, 0xcfd, 2), 0xffff);
	assert_int_equal(io_in(f, 0xcfe, 4), 0xffffffffu);
	assert_int_equal(io_in(f, 0xcfc, 8) & 0xffffffffu, 0xffffffffu);

	/* Byte writes land in the right byte. */
	conf1_write(f, DEV_SLOT, PCI_LATENCY_TIMER, 1, 0x40);
	conf1_write(f, DEV_SLOT, PCI_CACHE_LINE_SIZE, 1, 0x10);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_CACHE_LINE_SIZE, 2), 0x4010);
	conf1_write(f, DEV_SLOT, PCI_INTERRUPT_LINE, 2, 0x0405); /* pin is read-only */
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_INTERRUPT_LINE, 2), 0x0105);
}

static void test_enable_bit(void **state)
{
	struct fixture *f = *state;

	io_out(f, 0xcf8, 4, 0x00000000u); /* 00:00.0 reg 0 without enable */
	assert_int_equal(io_in(f, 0xcfc, 4), 0xffffffffu);
	io_out(f, 0xcf8, 4, addr(0, DEV_SLOT, 0, PCI_LATENCY_TIMER & 0xfc) & 0x7fffffffu);
	io_out(f, 0xcfd, 1, 0x20); /* disabled: ignored */
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_LATENCY_TIMER, 1), 0);
}

static void test_absent_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conf1_read(f, 1, 0, 0, 0, 4), 0xffffffffu); /* other bus */
	assert_int_equal(conf1_read(f, 255, 3, 0, 0, 2), 0xffff);
	assert_int_equal(conf1_read(f, 0, 7, 0, 0, 4), 0xffffffffu); /* empty slot */
	assert_int_equal(conf1_read(f, 0, 31, 0, 0, 1), 0xff);
	assert_int_equal(conf1_read(f, 0, 0, 1, 0, 4), 0xffffffffu); /* function 1 */
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 7, 0, 4), 0xffffffffu);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, 0, 4), 0x10421af4u);
}

static void test_bar_sizing(void **state)
{
	struct fixture *f = *state;

	for (unsigned bar = 0; bar < PCI_NR_BARS; bar++)
		conf1_write(f, DEV_SLOT, PCI_BAR0 + 4 * bar, 4, 0xffffffffu);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_BAR0, 4), 0xfffff000u);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_BAR0 + 4, 4), 0xffffffc1u);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_BAR0 + 8, 4),
			 0xfff00000u | PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_BAR0 + 12, 4), 0xffffffffu);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_BAR0 + 16, 4), 0); /* unimplemented */
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_BAR0 + 20, 4), 0);
	assert_int_equal(f->dev.changed,
			 PCI_CFG_CHANGED_BAR(0) | PCI_CFG_CHANGED_BAR(1) | PCI_CFG_CHANGED_BAR(2));

	/* Program addresses; unaligned low bits are dropped. */
	f->dev.changed = 0;
	conf1_write(f, DEV_SLOT, PCI_BAR0, 4, 0xfebf1234u);
	conf1_write(f, DEV_SLOT, PCI_BAR0 + 4, 4, 0xc047u);
	conf1_write(f, DEV_SLOT, PCI_BAR0 + 8, 4, 0x00100000u);
	conf1_write(f, DEV_SLOT, PCI_BAR0 + 12, 4, 0x00000008u);
	assert_int_equal(pci_cfg_bar_addr(&f->dev.cfg, 0), 0xfebf1000u);
	assert_int_equal(pci_cfg_bar_addr(&f->dev.cfg, 1), 0xc040u);
	assert_true(pci_cfg_bar_addr(&f->dev.cfg, 2) == 0x800100000ull);
	assert_int_equal(pci_cfg_bar_addr(&f->dev.cfg, 4), 0);
	/* The high half of a 64-bit BAR is reported as its BAR. */
	assert_int_equal(f->dev.changed,
			 PCI_CFG_CHANGED_BAR(0) | PCI_CFG_CHANGED_BAR(1) | PCI_CFG_CHANGED_BAR(2));
	assert_int_equal(pci_cfg_set_bar(&f->dev.cfg, 0, 0x1800, 0), -EINVAL);
	assert_int_equal(pci_cfg_set_bar(&f->dev.cfg, 5, 0x1000, PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_cfg_set_bar(&f->dev.cfg, 6, 0x1000, 0), -EINVAL);
	assert_int_equal(pci_cfg_set_bar(&f->dev.cfg, 3, 8, 0), -EINVAL);
}

static void test_command_and_status(void **state)
{
	struct fixture *f = *state;

	f->dev.changed = 0;
	conf1_write(f, DEV_SLOT, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			     PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->dev.changed, PCI_CFG_CHANGED_COMMAND);
	/* Status error bits are write-1-to-clear; a dword write to 0x04 is safe. */
	f->dev.cfg.data[PCI_STATUS + 1] = 0xa0;
	conf1_write(f, DEV_SLOT, PCI_COMMAND, 4, 0x20000000u | PCI_COMMAND_MEMORY);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_STATUS, 2), 0x8000);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
}

static void test_capability_list(void **state)
{
	struct fixture *f = *state;
	uint8_t body_a[6] = {1, 2, 3, 4, 5, 6}, body_b[10] = {0};
	unsigned ptr, seen = 0;
	int a, b;

	a = pci_cfg_add_cap(&f->dev.cfg, 0x09, body_a, sizeof(body_a));
	b = pci_cfg_add_cap(&f->dev.cfg, 0x11, body_b, sizeof(body_b));
	assert_int_equal(a, PCI_CAP_START);
	assert_true(b >= a + 8 && (b & 3) == 0);
	pci_cfg_set_wmask(&f->dev.cfg, (unsigned)b + 2, 2, 0xc000);

	assert_true(conf1_read(f, 0, DEV_SLOT, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Walk the list as a guest does. */
	ptr = conf1_read(f, 0, DEV_SLOT, 0, PCI_CAPABILITY_LIST, 1);
	while (ptr && seen < 8) {
		unsigned id = conf1_read(f, 0, DEV_SLOT, 0, ptr, 1);

		assert_true(id == 0x09 || id == 0x11);
		if (id == 0x09) {
			assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, ptr + 2, 2), 0x0201);
			assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, ptr + 4, 2), 0x0403);
		}
		ptr = conf1_read(f, 0, DEV_SLOT, 0, ptr + 1, 1);
		seen++;
	}
	assert_int_equal(seen, 2);
	conf1_write(f, DEV_SLOT, (unsigned)b + 2, 2, 0xffff);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, (unsigned)b + 2, 2), 0xc000);
	conf1_write(f, DEV_SLOT, (unsigned)a + 2, 2, 0xffff); /* read-only body */
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, (unsigned)a + 2, 2), 0x0201);
	assert_int_equal(pci_cfg_add_cap(&f->dev.cfg, 0x05, NULL, 250), -ENOSPC);
}

static void test_ecam(void **state)
{
	struct fixture *f = *state;
	const struct bus_dev *d = bus_find(&f->mmio, ECAM_BASE);
	uint64_t off = (uint64_t)DEV_SLOT << 15;
	uint32_t v = 0;
	uint64_t q = 0;

	assert_non_null(d);
	d->ops->read(d->opaque, off, &v, 4);
	assert_int_equal(v, 0x10421af4u);
	d->ops->read(d->opaque, off + 0x100, &v, 4); /* no extended capabilities */
	assert_int_equal(v, 0);
	d->ops->read(d->opaque, off + (1 << 12), &v, 4); /* function 1 */
	assert_int_equal(v, 0xffffffffu);
	d->ops->read(d->opaque, (5ull << 15), &v, 2); /* empty slot */
	assert_int_equal(v & 0xffff, 0xffff);
	d->ops->read(d->opaque, off, &q, 8);
	assert_true(q == ~0ull);
	v = 0x33;
	d->ops->write(d->opaque, off + PCI_LATENCY_TIMER, &v, 1);
	assert_int_equal(conf1_read(f, 0, DEV_SLOT, 0, PCI_LATENCY_TIMER, 1), 0x33);
}

static void test_add_device_errors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_add_device(&f->pci, 0, &test_dev_ops, NULL), -EINVAL);
	assert_int_equal(pci_add_device(&f->pci, 32, &test_dev_ops, NULL), -EINVAL);
	assert_int_equal(pci_add_device(&f->pci, 5, NULL, NULL), -EINVAL);
	assert_int_equal(pci_add_device(&f->pci, DEV_SLOT, &test_dev_ops, NULL), -EBUSY);
}

static void test_reset_control(void **state)
{
	struct fixture *f = *state;

	io_out(f, 0xcf9, 1, 0x02); /* select hard reset */
	assert_int_equal(f->stop.count, 0);
	assert_int_equal(io_in(f, 0xcf9, 1), 0x02);
	io_out(f, 0xcf9, 1, 0x06); /* and pull it */
	assert_int_equal(f->stop.count, 1);
	assert_int_equal(f->stop.code, 0);
	assert_string_equal(f->stop.why, "guest reboot (0xcf9 reset)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_address_register, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_widths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_bit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_absent_reads_all_ones, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_command_and_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capability_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ecam, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_device_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_control, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
