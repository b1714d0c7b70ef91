/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/acpi.h"

#define MIB	(1ULL << 20)
#define HDR_LEN 36

static struct acpi_config default_config(unsigned int nr_cpus)
{
	struct acpi_config c = {
	    .nr_cpus = nr_cpus,
	    .ioapic_addr = 0xfec00000,
	    .lapic_addr = 0xfee00000,
	    .pm1a_evt_port = 0x600,
	    .pm1a_cnt_port = 0x604,
	    .sci_irq = 9,
	    .pci_mmio_base = 0xc0000000,
	    .pci_mmio_size = 0x3ec00000,
	};
	return c;
}

static int setup_mem(void **state)
{
	struct guest_mem *mem = malloc(sizeof(*mem));

	if (!mem || guest_mem_init(mem, 16 * MIB)) {
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

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* What a legacy OS does: scan the BIOS area for the signature on 16-byte boundaries. */
static const uint8_t *find_rsdp(struct guest_mem *mem)
{
	for (uint64_t gpa = 0xe0000; gpa < 0x100000; gpa += 16) {
		const uint8_t *p = gpa_to_hva(mem, gpa, 36);

		if (p && !memcmp(p, "RSD PTR ", 8))
			return p;
	}
	return NULL;
}

/* A table at @gpa: inside RAM, sane length, bytes summing to 0. */
static const uint8_t *get_table(struct guest_mem *mem, uint64_t gpa, const char *sig)
{
	const uint8_t *h = gpa_to_hva(mem, gpa, HDR_LEN);
	uint32_t len;

	assert_non_null(h);
	len = rd32(h + 4);
	assert_true(len >= HDR_LEN);
	h = gpa_to_hva(mem, gpa, len);
	assert_non_null(h);
	if (sig)
		assert_memory_equal(h, sig, 4);
	assert_int_equal(sum(h, len), 0);
	return h;
}

struct tables {
	const uint8_t *fadt, *madt, *dsdt, *facs;
	uint64_t dsdt_gpa;
};

static void walk(struct guest_mem *mem, uint64_t rsdp_gpa, struct tables *t)
{
	const uint8_t *rsdp = find_rsdp(mem);
	const uint8_t *xsdt, *rsdt;
	unsigned int n;

	memset(t, 0, sizeof(*t));
	assert_non_null(rsdp);
	assert_ptr_equal(rsdp, gpa_to_hva(mem, rsdp_gpa, 36));
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(rsdp[15], 2); /* revision */
	assert_int_equal(rd32(rsdp + 20), 36);
	assert_int_equal(sum(rsdp, 36), 0);

	xsdt = get_table(mem, rd64(rsdp + 24), "XSDT");
	rsdt = get_table(mem, rd32(rsdp + 16), "RSDT");
	n = (rd32(xsdt + 4) - HDR_LEN) / 8;
	assert_int_equal(rd32(xsdt + 4), HDR_LEN + 8 * n);
	assert_int_equal(rd32(rsdt + 4), HDR_LEN + 4 * n);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = rd64(xsdt + HDR_LEN + 8 * i);
		const uint8_t *tab = get_table(mem, gpa, NULL);

		/* The RSDT lists the same tables. */
		assert_int_equal(rd32(rsdt + HDR_LEN + 4 * i), gpa);
		if (!memcmp(tab, "FACP", 4))
			t->fadt = tab;
		else if (!memcmp(tab, "APIC", 4))
			t->madt = tab;
		else
			fail_msg("unexpected table %.4s", (const char *)tab);
	}
	assert_non_null(t->fadt);
	assert_non_null(t->madt);

	/* FADT: DSDT in both pointers, FACS present. */
	t->dsdt_gpa = rd32(t->fadt + 40);
	assert_int_equal(rd64(t->fadt + 140), t->dsdt_gpa);
	t->dsdt = get_table(mem, t->dsdt_gpa, "DSDT");
	t->facs = gpa_to_hva(mem, rd32(t->fadt + 36), 64);
	assert_non_null(t->facs);
	assert_memory_equal(t->facs, "FACS", 4);
	assert_int_equal(rd32(t->facs + 4), 64);
	assert_int_equal(rd32(t->fadt + 36) % 64, 0);
	/* One FACS pointer only: OSes install both if both are set. */
	assert_int_equal(rd64(t->fadt + 132), 0);
}

static void check_fadt(const uint8_t *f, const struct acpi_config *c)
{
	assert_true(f[8] >= 5); /* revision */
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(rd16(f + 46), c->sci_irq);
	assert_int_equal(rd32(f + 48), 0); /* SMI_CMD: always in ACPI mode */
	assert_int_equal(rd32(f + 56), c->pm1a_evt_port);
	assert_int_equal(rd32(f + 64), c->pm1a_cnt_port);
	assert_int_equal(f[88], 4); /* PM1_EVT_LEN */
	assert_int_equal(f[89], 2); /* PM1_CNT_LEN */
	/* Not hardware-reduced: the fixed PM1 registers are used. */
	assert_int_equal(rd32(f + 112) & (1u << 20), 0);
	/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK: system I/O at the same ports. */
	assert_int_equal(f[148], 1);
	assert_int_equal(f[149], 32);
	assert_int_equal(rd64(f + 152), c->pm1a_evt_port);
	assert_int_equal(f[172], 1);
	assert_int_equal(f[173], 16);
	assert_int_equal(rd64(f + 176), c->pm1a_cnt_port);
}

static void check_madt(const uint8_t *m, const struct acpi_config *c)
{
	uint32_t len = rd32(m + 4);
	uint8_t *seen = calloc(256, 1);
	unsigned int lapics = 0, ioapics = 0;
	bool irq0 = false, sci = false;

	assert_non_null(seen);
	assert_int_equal(rd32(m + 36), c->lapic_addr);
	assert_int_equal(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = m + off;

		assert_true(off + 2 <= len);
		assert_true(e[1] >= 2);
		assert_true(off + e[1] <= len);
		switch (e[0]) {
		case 0: /* Processor Local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], e[3]); /* UID == APIC id */
			assert_true(e[3] < c->nr_cpus);
			assert_int_equal(seen[e[3]]++, 0);
			assert_int_equal(rd32(e + 4) & 1, 1);
			lapics++;
			break;
		case 1: /* I/O APIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(rd32(e + 4), c->ioapic_addr);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2: /* Interrupt Source Override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			if (e[3] == 0) {
				assert_int_equal(rd32(e + 4), 2);
				assert_int_equal(rd16(e + 8), 0);
				irq0 = true;
			} else if (e[3] == c->sci_irq) {
				assert_int_equal(rd32(e + 4), c->sci_irq);
				/* level (3 << 2), active high (1) */
				assert_int_equal(rd16(e + 8), 0xd);
				sci = true;
			} else {
				fail_msg("unexpected override for IRQ %u", e[3]);
			}
			break;
		case 4: /* Local APIC NMI */
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(lapics, c->nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(irq0, !c->no_irq0_override);
	assert_true(sci);
	free(seen);
}

/* Decodes a PkgLength; returns the package length and sets *n to its size. */
static size_t pkg_length(const uint8_t *p, size_t *n)
{
	size_t extra = p[0] >> 6, v;

	if (!extra) {
		*n = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0xf;
	for (size_t i = 1; i <= extra; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*n = extra + 1;
	return v;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

static void check_dsdt(const uint8_t *d)
{
	uint32_t len = rd32(d + 4);
	/* Name(_S5_, Package(4) { 5, 5, 0, 0 }) as the AML grammar encodes it. */
	static const uint8_t s5[] = {0x08, '_',	 'S',  '5',  '_',  0x12, 0x08,
				     0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
	static const uint8_t pnp0a03[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
	static const uint8_t pnp0501[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	const uint8_t *p = d + HDR_LEN;
	size_t n, plen;

	assert_memory_equal(d, "DSDT", 4);
	assert_int_equal(d[8], 2); /* 64-bit AML integers */
	assert_memory_equal(p, s5, sizeof(s5));
	p += sizeof(s5);
	/* Then Scope(\_SB) spanning exactly the rest of the table. */
	assert_int_equal(p[0], 0x10);
	plen = pkg_length(p + 1, &n);
	assert_int_equal(1 + plen, (size_t)(d + len - p));
	assert_memory_equal(p + 1 + n, "\\_SB_", 5);
	assert_non_null(find_bytes(d, len, "PCI0", 4));
	assert_non_null(find_bytes(d, len, pnp0a03, sizeof(pnp0a03)));
	assert_non_null(find_bytes(d, len, "_CRS", 4));
	assert_non_null(find_bytes(d, len, "_PRT", 4));
	assert_non_null(find_bytes(d, len, pnp0501, sizeof(pnp0501)));
}

static void build_and_check(struct guest_mem *mem, const struct acpi_config *c)
{
	struct tables t;
	uint64_t rsdp = 0;

	assert_int_equal(acpi_build(mem, c, &rsdp), 0);
	assert_int_equal(rsdp, 0xe0000);
	walk(mem, rsdp, &t);
	check_fadt(t.fadt, c);
	check_madt(t.madt, c);
	check_dsdt(t.dsdt);
}

static void test_1_cpu(void **state)
{
	struct acpi_config c = default_config(1);

	build_and_check(*state, &c);
}

static void test_2_cpus(void **state)
{
	struct acpi_config c = default_config(2);

	build_and_check(*state, &c);
}

static void test_64_cpus(void **state)
{
	struct acpi_config c = default_config(64);

	build_and_check(*state, &c);
}

static void test_max_cpus(void **state)
{
	struct acpi_config c = default_config(ACPI_MAX_CPUS);

	build_and_check(*state, &c);
}

static void test_too_many_cpus(void **state)
{
	struct acpi_config c = default_config(ACPI_MAX_CPUS + 1);
	uint64_t rsdp = 0;

	assert_int_equal(acpi_build(*state, &c, &rsdp), -E2BIG);
	c.nr_cpus = 0;
	assert_int_equal(acpi_build(*state, &c, &rsdp), -EINVAL);
	/* Nothing was written. */
	assert_null(find_rsdp(*state));
}

static void test_no_irq0_override_and_pm_timer(void **state)
{
	struct acpi_config c = default_config(4);
	struct tables t;
	uint64_t rsdp = 0;

	c.no_irq0_override = true;
	c.pm_tmr_port = 0x608;
	assert_int_equal(acpi_build(*state, &c, &rsdp), 0);
	walk(*state, rsdp, &t);
	check_madt(t.madt, &c);
	assert_int_equal(rd32(t.fadt + 76), 0x608);
	assert_int_equal(t.fadt[91], 4);
	assert_int_equal(rd64(t.fadt + 212), 0x608);
}

static void test_pvpanic_device(void **state)
{
	/* Name(_HID, "QEMU0001") then, in _CRS, an IO descriptor for port 0x505, 1 byte. */
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E',
				      'M',  'U', '0', '0', '0', '1',  0};
	static const uint8_t io505[] = {0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01};
	struct acpi_config c = default_config(2);
	struct tables t;
	uint64_t rsdp = 0;
	uint32_t len;

	assert_int_equal(acpi_build(*state, &c, &rsdp), 0);
	walk(*state, rsdp, &t);
	len = rd32(t.dsdt + 4);
	assert_null(find_bytes(t.dsdt, len, hid, sizeof(hid))); /* not asked for: absent */

	c.pvpanic_port = 0x505;
	assert_int_equal(acpi_build(*state, &c, &rsdp), 0);
	walk(*state, rsdp, &t);
	len = rd32(t.dsdt + 4);
	check_dsdt(t.dsdt);
	assert_non_null(find_bytes(t.dsdt, len, hid, sizeof(hid)));
	assert_non_null(find_bytes(t.dsdt, len, io505, sizeof(io505)));
}

static void test_bad_config(void **state)
{
	struct acpi_config c;
	uint64_t rsdp = 0;

	c = default_config(2);
	c.pm1a_cnt_port = 0x602; /* inside the event block */
	assert_int_equal(acpi_build(*state, &c, &rsdp), -EINVAL);
	c = default_config(2);
	c.pci_mmio_base = 0x800000; /* overlaps RAM */
	assert_int_equal(acpi_build(*state, &c, &rsdp), -EINVAL);
	c = default_config(2);
	c.pci_mmio_size = 0x40000000; /* runs over the IOAPIC */
	assert_int_equal(acpi_build(*state, &c, &rsdp), -EINVAL);
	c = default_config(2);
	c.pci_mmio_base = 0xffff0000;
	c.pci_mmio_size = 0x20000; /* past 4 GiB */
	assert_int_equal(acpi_build(*state, &c, &rsdp), -EINVAL);
	c = default_config(2);
	c.sci_irq = 16;
	assert_int_equal(acpi_build(*state, &c, &rsdp), -EINVAL);
	assert_int_equal(acpi_build(*state, NULL, &rsdp), -EINVAL);
}

static void test_no_bios_area(void **state)
{
	struct guest_mem mem;
	struct acpi_config c = default_config(1);
	uint64_t rsdp = 0;

	(void)state;
	c.pci_mmio_size = 0;
	assert_int_equal(guest_mem_init(&mem, 512 * 1024), 0);
	assert_int_equal(acpi_build(&mem, &c, &rsdp), -ENOMEM);
	guest_mem_destroy(&mem);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_mem, teardown_mem)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_1_cpu),	    T(test_2_cpus),	   T(test_64_cpus),
	    T(test_max_cpus),	    T(test_too_many_cpus), T(test_no_irq0_override_and_pm_timer),
	    T(test_pvpanic_device), T(test_bad_config),	   cmocka_unit_test(test_no_bios_area),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
