/* SPDX-License-Identifier: MIT */
#include "loader/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/aml.h"

#define ACPI_OEM_ID	  "NESTVM"
#define ACPI_OEM_TABLE_ID "NESTVMM "
#define ACPI_CREATOR_ID	  "NVMM"
#define ACPI_TABLE_ALIGN  16
#define ACPI_FACS_ALIGN	  64

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
#define ACPI_RSDP_V1_LEN 20

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
#define ACPI_GAS_SYSTEM_IO    1
#define ACPI_GAS_ACCESS_WORD  2
#define ACPI_GAS_ACCESS_DWORD 3

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

/* FADT as of ACPI 6.0 (major revision 6). */
struct acpi_fadt {
	struct acpi_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat;
	uint16_t flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.0 is 276 bytes");

#define FADT_P_LVL2_UNSUPPORTED	     101  /* > 100 us: no C2 */
#define FADT_P_LVL3_UNSUPPORTED	     1001 /* > 1000 us: no C3 */
#define FADT_BOOT_LEGACY_DEVICES     (1u << 0)
#define FADT_BOOT_VGA_NOT_PRESENT    (1u << 2)
#define FADT_BOOT_PCIE_ASPM_CONTROLS (1u << 4)
#define FADT_F_WBINVD		     (1u << 0)
#define FADT_F_PROC_C1		     (1u << 2)
#define FADT_F_PWR_BUTTON	     (1u << 4) /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON	     (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_TMR_VAL_EXT	     (1u << 8)
#define PM1_EVT_LEN		     4
#define PM1_CNT_LEN		     2
#define PM_TMR_LEN		     4

struct acpi_madt {
	struct acpi_header hdr;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));
#define MADT_PCAT_COMPAT 1

struct madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
#define MADT_TYPE_LAPIC	   0
#define MADT_LAPIC_ENABLED 1

struct madt_ioapic {
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
#define MADT_TYPE_IOAPIC 1

struct madt_iso {
	uint8_t type, length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
#define MADT_TYPE_ISO	2
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL	(0x3 << 2)

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t processor_uid; /* 0xff: all */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
#define MADT_TYPE_LAPIC_NMI 4

/* Large and small resource descriptors used in _CRS (ACPI 6.4.2/6.4.3). */
#define RES_IO		    0x47
#define RES_IRQ_NO_FLAGS    0x22
#define RES_END_TAG	    0x79
#define RES_WORD_ADDR	    0x88
#define RES_DWORD_ADDR	    0x87
#define RES_ADDR_MEMORY	    0
#define RES_ADDR_IO	    1
#define RES_ADDR_BUS	    2
#define RES_PRODUCER_FIXED  0x0c /* MinFixed, MaxFixed, PosDecode, producer */
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_READ_WRITE  0x01

#define PCI_CFG_PORT	    0xcf8
#define PCI_CFG_PORT_LEN    8
#define PCI_IO_WINDOW_START 0x0d00
#define PCI_IO_WINDOW_END   0xffff
#define PCI_SLOTS	    32
#define PCI_PINS	    4
#define COM1_PORT	    0x3f8
#define COM1_IRQ	    4
#define ISA_IRQS	    16

/* The BIOS area being filled; offsets are relative to ACPI_TABLES_GPA. */
struct acpi_area {
	uint8_t *base;
	size_t used;
};

static uint8_t acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

/* Reserve @len bytes at @align; returns the host pointer or NULL when full. */
static void *area_alloc(struct acpi_area *ar, size_t len, size_t align, uint64_t *gpa)
{
	size_t off = (ar->used + align - 1) & ~(align - 1);

	if (off > ACPI_TABLES_END - ACPI_TABLES_GPA ||
	    len > ACPI_TABLES_END - ACPI_TABLES_GPA - off)
		return NULL;
	ar->used = off + len;
	*gpa = ACPI_TABLES_GPA + off;
	return ar->base + off;
}

static void header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

static void table_checksum(void *table)
{
	struct acpi_header *h = table;

	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_sum(table, h->length);
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

/* Word address space descriptor (bus numbers or an I/O window). */
static size_t res_word_addr(uint8_t *p, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	p[0] = RES_WORD_ADDR;
	le16(p + 1, 13);
	p[3] = type;
	p[4] = RES_PRODUCER_FIXED;
	p[5] = tflags;
	le16(p + 6, 0); /* granularity */
	le16(p + 8, min);
	le16(p + 10, max);
	le16(p + 12, 0); /* translation */
	le16(p + 14, (uint16_t)(max - min + 1));
	return 16;
}

static size_t res_dword_mem(uint8_t *p, uint32_t min, uint32_t len)
{
	p[0] = RES_DWORD_ADDR;
	le16(p + 1, 23);
	p[3] = RES_ADDR_MEMORY;
	p[4] = RES_PRODUCER_FIXED;
	p[5] = RES_MEM_READ_WRITE; /* non-cacheable */
	le32(p + 6, 0);
	le32(p + 10, min);
	le32(p + 14, min + len - 1);
	le32(p + 18, 0);
	le32(p + 22, len);
	return 26;
}

static size_t res_io(uint8_t *p, uint16_t port, uint8_t align, uint8_t len)
{
	p[0] = RES_IO;
	p[1] = 1; /* 16-bit decode */
	le16(p + 2, port);
	le16(p + 4, port);
	p[6] = align;
	p[7] = len;
	return 8;
}

static size_t res_end(uint8_t *p)
{
	p[0] = RES_END_TAG;
	p[1] = 0; /* checksum 0: "treat as valid" */
	return 2;
}

static void dsdt_pci_root(struct aml *a, const struct acpi_config *cfg)
{
	uint8_t crs[96];
	size_t n = 0, dev, prt;

	dev = aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);

	n += res_word_addr(crs + n, RES_ADDR_BUS, 0, 0, 0);
	n += res_io(crs + n, PCI_CFG_PORT, 1, PCI_CFG_PORT_LEN);
	n += res_word_addr(crs + n, RES_ADDR_IO, RES_IO_ENTIRE_RANGE, PCI_IO_WINDOW_START,
			   PCI_IO_WINDOW_END);
	if (cfg->pci_mmio_size)
		n += res_dword_mem(crs + n, (uint32_t)cfg->pci_mmio_base,
				   (uint32_t)cfg->pci_mmio_size);
	n += res_end(crs + n);
	aml_name(a, "_CRS");
	aml_buffer(a, crs, n);

	/* INTx straight to IOAPIC GSIs (source 0), swizzled over 8 lines. */
	aml_name(a, "_PRT");
	prt = aml_package_begin(a, PCI_SLOTS * PCI_PINS);
	for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < PCI_PINS; pin++) {
			size_t e = aml_package_begin(a, 4);

			aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, ACPI_PCI_INTX_GSI_BASE + (slot + pin) % ACPI_PCI_INTX_GSIS);
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
	aml_end(a, dev);
}

static void dsdt_com1(struct aml *a)
{
	uint8_t crs[16];
	size_t n = 0, dev;

	dev = aml_device_begin(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	n += res_io(crs + n, COM1_PORT, 1, 8);
	crs[n++] = RES_IRQ_NO_FLAGS;
	le16(crs + n, 1u << COM1_IRQ);
	n += 2;
	n += res_end(crs + n);
	aml_name(a, "_CRS");
	aml_buffer(a, crs, n);
	aml_end(a, dev);
}

/*
 * The pvpanic device: Linux's pvpanic driver binds to the ACPI id QEMU0001
 * and writes to its port when the kernel panics.
 */
static void dsdt_pvpanic(struct aml *a, uint16_t port)
{
	uint8_t crs[16];
	size_t n = 0, dev;

	dev = aml_device_begin(a, "PEVT");
	aml_name(a, "_HID");
	aml_string(a, "QEMU0001");
	n += res_io(crs + n, port, 1, 1);
	n += res_end(crs + n);
	aml_name(a, "_CRS");
	aml_buffer(a, crs, n);
	aml_end(a, dev);
}

/* Builds the whole DSDT (header included, checksummed) into @a. */
static int dsdt_build(struct aml *a, const struct acpi_config *cfg)
{
	struct acpi_header hdr = {0};
	size_t pkg, sb;

	aml_init(a);
	aml_bytes(a, &hdr, sizeof(hdr));

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved */
	aml_name(a, "_S5_");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);

	sb = aml_scope_begin(a, "\\_SB_");
	dsdt_pci_root(a, cfg);
	dsdt_com1(a);
	if (cfg->pvpanic_port)
		dsdt_pvpanic(a, cfg->pvpanic_port);
	aml_end(a, sb);

	if (aml_finish(a))
		return aml_finish(a);
	if (a->len > UINT32_MAX)
		return -E2BIG;
	/* Revision 2: AML integers are 64 bits. */
	header_init(&hdr, "DSDT", (uint32_t)a->len, 2);
	memcpy(a->buf, &hdr, sizeof(hdr));
	table_checksum(a->buf);
	return 0;
}

static size_t madt_size(const struct acpi_config *cfg)
{
	return sizeof(struct acpi_madt) + cfg->nr_cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static void *madt_fill(void *p, const struct acpi_config *cfg)
{
	struct acpi_madt *madt = p;
	uint8_t *cur = (uint8_t *)(madt + 1);
	struct madt_ioapic io = {
	    .type = MADT_TYPE_IOAPIC,
	    .length = sizeof(io),
	    .ioapic_id = 0, /* matches the IOAPIC's reset id, so the OS does not rewrite it */
	    .address = cfg->ioapic_addr,
	    .gsi_base = 0,
	};
	struct madt_iso iso0 = {
	    .type = MADT_TYPE_ISO,
	    .length = sizeof(iso0),
	    .source = 0,
	    .gsi = 2,
	    .flags = 0,
	};
	struct madt_iso sci = {
	    .type = MADT_TYPE_ISO,
	    .length = sizeof(sci),
	    .source = cfg->sci_irq,
	    .gsi = cfg->sci_irq,
	    .flags = MPS_ACTIVE_HIGH | MPS_LEVEL,
	};
	struct madt_lapic_nmi nmi = {
	    .type = MADT_TYPE_LAPIC_NMI,
	    .length = sizeof(nmi),
	    .processor_uid = 0xff,
	    .lint = 1,
	};

	madt->lapic_addr = cfg->lapic_addr;
	madt->flags = MADT_PCAT_COMPAT;
	for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
		struct madt_lapic l = {
		    .type = MADT_TYPE_LAPIC,
		    .length = sizeof(l),
		    .processor_uid = (uint8_t)i,
		    .apic_id = (uint8_t)i,
		    .flags = MADT_LAPIC_ENABLED,
		};

		memcpy(cur, &l, sizeof(l));
		cur += sizeof(l);
	}
	memcpy(cur, &io, sizeof(io));
	cur += sizeof(io);
	if (!cfg->no_irq0_override) {
		memcpy(cur, &iso0, sizeof(iso0));
		cur += sizeof(iso0);
	}
	memcpy(cur, &sci, sizeof(sci));
	cur += sizeof(sci);
	memcpy(cur, &nmi, sizeof(nmi));
	cur += sizeof(nmi);
	return cur;
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bytes, uint8_t access)
{
	struct acpi_gas g = {0};

	if (!port)
		return g;
	g.space_id = ACPI_GAS_SYSTEM_IO;
	g.bit_width = (uint8_t)(bytes * 8);
	g.access_size = access;
	g.address = port;
	return g;
}

static void fadt_fill(struct acpi_fadt *f, const struct acpi_config *cfg, uint64_t facs,
		      uint64_t dsdt)
{
	header_init(&f->hdr, "FACP", sizeof(*f), 6);
	f->minor_version = 0;
	/* The FACS is below 4 GiB: the spec wants X_FIRMWARE_CTRL zero then. */
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = 0;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = cfg->sci_irq;
	f->smi_cmd = 0; /* ACPI mode only: no SMM hand-over */
	f->pm1a_evt_blk = cfg->pm1a_evt_port;
	f->pm1a_cnt_blk = cfg->pm1a_cnt_port;
	f->pm1_evt_len = PM1_EVT_LEN;
	f->pm1_cnt_len = PM1_CNT_LEN;
	f->x_pm1a_evt_blk = gas_io(cfg->pm1a_evt_port, PM1_EVT_LEN, ACPI_GAS_ACCESS_WORD);
	f->x_pm1a_cnt_blk = gas_io(cfg->pm1a_cnt_port, PM1_CNT_LEN, ACPI_GAS_ACCESS_WORD);
	if (cfg->pm_tmr_port) {
		f->pm_tmr_blk = cfg->pm_tmr_port;
		f->pm_tmr_len = PM_TMR_LEN;
		f->x_pm_tmr_blk = gas_io(cfg->pm_tmr_port, PM_TMR_LEN, ACPI_GAS_ACCESS_DWORD);
	}
	f->p_lvl2_lat = FADT_P_LVL2_UNSUPPORTED;
	f->p_lvl3_lat = FADT_P_LVL3_UNSUPPORTED;
	f->iapc_boot_arch =
	    FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_VGA_NOT_PRESENT | FADT_BOOT_PCIE_ASPM_CONTROLS;
	f->flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		   (cfg->pm_tmr_port ? FADT_F_TMR_VAL_EXT : 0);
	memcpy(f->hypervisor_vendor_id, "NESTVMM", 8);
	table_checksum(f);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int config_check(const struct guest_mem *mem, const struct acpi_config *cfg)
{
	uint64_t base = cfg->pci_mmio_base, size = cfg->pci_mmio_size;

	if (cfg->nr_cpus == 0)
		return -EINVAL;
	if (cfg->nr_cpus > ACPI_MAX_CPUS)
		return -E2BIG;
	if (!cfg->ioapic_addr || !cfg->lapic_addr || cfg->sci_irq >= ISA_IRQS)
		return -EINVAL;
	if (!cfg->pm1a_evt_port || !cfg->pm1a_cnt_port ||
	    cfg->pm1a_evt_port > 0x10000 - PM1_EVT_LEN ||
	    cfg->pm1a_cnt_port > 0x10000 - PM1_CNT_LEN ||
	    ranges_overlap(cfg->pm1a_evt_port, PM1_EVT_LEN, cfg->pm1a_cnt_port, PM1_CNT_LEN))
		return -EINVAL;
	if (cfg->pm_tmr_port &&
	    (cfg->pm_tmr_port > 0x10000 - PM_TMR_LEN ||
	     ranges_overlap(cfg->pm_tmr_port, PM_TMR_LEN, cfg->pm1a_evt_port, PM1_EVT_LEN) ||
	     ranges_overlap(cfg->pm_tmr_port, PM_TMR_LEN, cfg->pm1a_cnt_port, PM1_CNT_LEN)))
		return -EINVAL;
	if (size) {
		/* A 32-bit window that overlaps neither RAM nor the APICs. */
		if (base > 0x100000000ULL || size > 0x100000000ULL - base)
			return -EINVAL;
		if (ranges_overlap(base, size, cfg->ioapic_addr, 0x1000) ||
		    ranges_overlap(base, size, cfg->lapic_addr, 0x1000))
			return -EINVAL;
		for (unsigned int i = 0; i < mem->nr_regions; i++)
			if (ranges_overlap(base, size, mem->regions[i].gpa, mem->regions[i].size))
				return -EINVAL;
	}
	return 0;
}

int acpi_build(struct guest_mem *mem, const struct acpi_config *cfg, uint64_t *rsdp_gpa)
{
	struct acpi_area ar = {0};
	struct acpi_rsdp *rsdp;
	struct acpi_facs *facs;
	struct acpi_fadt *fadt;
	struct acpi_header *xsdt, *rsdt;
	uint64_t rsdp_at = 0, dsdt_at = 0, facs_at = 0, fadt_at = 0, madt_at = 0, xsdt_at = 0;
	uint64_t rsdt_at = 0;
	uint64_t sdt[2];
	void *dsdt, *madt;
	struct aml aml;
	int err;

	if (!mem || !cfg || !rsdp_gpa)
		return -EINVAL;
	err = config_check(mem, cfg);
	if (err)
		return err;
	ar.base = gpa_to_hva(mem, ACPI_TABLES_GPA, ACPI_TABLES_END - ACPI_TABLES_GPA);
	if (!ar.base)
		return -ENOMEM;

	err = dsdt_build(&aml, cfg);
	if (err) {
		aml_free(&aml);
		return err;
	}

	/* Lay everything out first so a table that does not fit writes nothing. */
	rsdp = area_alloc(&ar, sizeof(*rsdp), ACPI_TABLE_ALIGN, &rsdp_at);
	dsdt = area_alloc(&ar, aml.len, ACPI_TABLE_ALIGN, &dsdt_at);
	facs = area_alloc(&ar, sizeof(*facs), ACPI_FACS_ALIGN, &facs_at);
	fadt = area_alloc(&ar, sizeof(*fadt), ACPI_TABLE_ALIGN, &fadt_at);
	madt = area_alloc(&ar, madt_size(cfg), ACPI_TABLE_ALIGN, &madt_at);
	xsdt = area_alloc(&ar, sizeof(*xsdt) + sizeof(sdt), ACPI_TABLE_ALIGN, &xsdt_at);
	rsdt = area_alloc(&ar, sizeof(*rsdt) + 2 * sizeof(uint32_t), ACPI_TABLE_ALIGN, &rsdt_at);
	if (!rsdp || !dsdt || !facs || !fadt || !madt || !xsdt || !rsdt) {
		aml_free(&aml);
		return -E2BIG;
	}
	memset(ar.base, 0, ACPI_TABLES_END - ACPI_TABLES_GPA);

	memcpy(dsdt, aml.buf, aml.len);
	aml_free(&aml);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	fadt_fill(fadt, cfg, facs_at, dsdt_at);

	{
		uint8_t *end = madt_fill(madt, cfg);
		struct acpi_header *h = madt;

		/* MADT revision 4 (ACPI 6.0). */
		header_init(h, "APIC", (uint32_t)(end - (uint8_t *)madt), 4);
		table_checksum(madt);
	}

	sdt[0] = fadt_at;
	sdt[1] = madt_at;
	header_init(xsdt, "XSDT", sizeof(*xsdt) + sizeof(sdt), 1);
	memcpy(xsdt + 1, sdt, sizeof(sdt));
	table_checksum(xsdt);

	header_init(rsdt, "RSDT", sizeof(*rsdt) + 2 * sizeof(uint32_t), 1);
	for (unsigned int i = 0; i < 2; i++) {
		uint32_t a32 = (uint32_t)sdt[i];

		memcpy((uint8_t *)(rsdt + 1) + 4 * i, &a32, 4);
	}
	table_checksum(rsdt);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt_addr = (uint32_t)rsdt_at;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_addr = xsdt_at;
	rsdp->checksum = (uint8_t)-acpi_sum(rsdp, ACPI_RSDP_V1_LEN);
	rsdp->ext_checksum = (uint8_t)-acpi_sum(rsdp, sizeof(*rsdp));

	*rsdp_gpa = rsdp_at;
	return 0;
}
