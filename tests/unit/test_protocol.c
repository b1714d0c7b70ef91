/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's memory and port map: every structure the VMM and the
 * guest share must fit where the protocol puts it without overlapping
 * another one. Most checks are static; the runtime ones walk the tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/guest/protocol.h"
#include "vmm/guest_mem.h"
#include "vmm/longmode.h"

/* Mailboxes: each report fits its stride; all of them lie below the image. */
_Static_assert(sizeof(struct bench_report) <= BENCH_REPORT_STRIDE, "report overruns its slot");
_Static_assert(BENCH_REPORT_BASE + BENCH_MAX_CPUS * BENCH_REPORT_STRIDE <= BENCH_LOAD_ADDR,
	       "mailboxes run into the image");
_Static_assert(BENCH_PARAMS_ADDR + sizeof(struct bench_params) <= BENCH_REPORT_BASE,
	       "params run into the mailboxes");
/* The VMM's boot GDT and page tables end before the params page. */
_Static_assert(BENCH_BOOT_GDT_ADDR == BOOT_GDT_ADDR, "boot GDT address disagrees");
_Static_assert(BENCH_BOOT_PT_ADDR == BOOT_PML4_ADDR, "boot page table address disagrees");
_Static_assert(BOOT_GDT_ADDR + 4 * 8 <= BOOT_PML4_ADDR, "boot GDT runs into the page tables");
_Static_assert(BOOT_PT_END <= BENCH_PARAMS_ADDR, "boot page tables run into the params");
/* Image below the sweep array, and the array inside the minimum RAM. */
_Static_assert(BENCH_LOAD_ADDR + BENCH_IMAGE_MAX <= BENCH_SWEEP_PHYS, "image runs into sweep");
_Static_assert(BENCH_SWEEP_PHYS + BENCH_SWEEP_SIZE <= BENCH_MIN_MEM, "sweep beyond min RAM");
_Static_assert(BENCH_SWEEP_PHYS % (2ull << 20) == 0, "sweep array not 2 MiB aligned");
/* The minimum RAM stays in the low region, so the whole layout is one region. */
_Static_assert(BENCH_MIN_MEM <= GUEST_MEM_LOW_LIMIT, "min RAM crosses the PCI hole");
/* The MMIO addresses are in the PCI hole, never RAM. */
_Static_assert(BENCH_MMIO_ADDR >= GUEST_MEM_LOW_LIMIT && BENCH_MMIO_ADDR < GUEST_MEM_HIGH_BASE,
	       "MMIO address outside the hole");
_Static_assert(BENCH_MMIO_IOEVENTFD_ADDR >= GUEST_MEM_LOW_LIMIT &&
		   BENCH_MMIO_IOEVENTFD_ADDR + 4 <= GUEST_MEM_HIGH_BASE,
	       "MMIO ioeventfd address outside the hole");
_Static_assert(BENCH_MMIO_ADDR + 4 <= BENCH_MMIO_IOEVENTFD_ADDR, "MMIO addresses overlap");
/* The guest's DMA area is RAM every bench VM has; the PCI windows are in the hole. */
_Static_assert(BENCH_GUEST_DMA + BENCH_GUEST_DMA_SIZE <= BENCH_SWEEP_PHYS, "DMA area beyond RAM");
_Static_assert(BENCH_PCI_ECAM_ADDR >= GUEST_MEM_LOW_LIMIT &&
		   BENCH_PCI_MMIO_BASE + BENCH_PCI_MMIO_SIZE <= GUEST_MEM_HIGH_BASE,
	       "PCI windows outside the hole");
/* Per-workload caps are indexed by workload id. */
_Static_assert(BENCH_W_COUNT <= BENCH_MAX_WORKLOADS, "more workloads than list slots");
/* The report doorbell's 32-bit value carries the report kind. */
_Static_assert(BENCH_REPORT_DONE < UINT32_MAX, "report kind");

struct io_range {
	const char *name;
	uint64_t base, len;
};

static void assert_disjoint(const struct io_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			print_message("%s vs %s\n", r[i].name, r[j].name);
			assert_true(r[i].base + r[i].len <= r[j].base ||
				    r[j].base + r[j].len <= r[i].base);
		}
}

static void test_ports_distinct(void **state)
{
	/* Every port is written with a 32-bit OUT: 4 bytes each. */
	static const struct io_range ports[] = {
	    {"doorbell", BENCH_PORT_DOORBELL, 4},
	    {"pio", BENCH_PORT_PIO, 4},
	    {"pio-ioeventfd", BENCH_PORT_PIO_IOEVENTFD, 4},
	};
	(void)state;

	assert_disjoint(ports, sizeof(ports) / sizeof(ports[0]));
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		assert_true(ports[i].base + ports[i].len <= 0x10000);
}

static void test_memory_map_disjoint(void **state)
{
	static const struct io_range ram[] = {
	    {"boot gdt", BOOT_GDT_ADDR, 4 * 8},
	    {"boot page tables", BOOT_PML4_ADDR, BOOT_PT_END - BOOT_PML4_ADDR},
	    {"params", BENCH_PARAMS_ADDR, sizeof(struct bench_params)},
	    {"mailboxes", BENCH_REPORT_BASE, BENCH_MAX_CPUS * BENCH_REPORT_STRIDE},
	    {"image", BENCH_LOAD_ADDR, BENCH_IMAGE_MAX},
	    {"sweep", BENCH_SWEEP_PHYS, BENCH_SWEEP_SIZE},
	    {"mmio", BENCH_MMIO_ADDR, 4},
	    {"mmio-ioeventfd", BENCH_MMIO_IOEVENTFD_ADDR, 4},
	    {"stacks", BENCH_GUEST_STACKS, BENCH_MAX_CPUS * 0x10000ull},
	    {"guest dma", BENCH_GUEST_DMA, BENCH_GUEST_DMA_SIZE},
	    {"pci ecam", BENCH_PCI_ECAM_ADDR, 1ull << 20},
	    {"pci mmio window", BENCH_PCI_MMIO_BASE, BENCH_PCI_MMIO_SIZE},
	};
	(void)state;

	assert_disjoint(ram, sizeof(ram) / sizeof(ram[0]));
}

static void test_blk_pattern_tells_sectors_apart(void **state)
{
	(void)state;

	/* Neighbouring sectors, and the same sector one 4 KiB block away, differ. */
	for (uint64_t s = 0; s < 4096; s++) {
		assert_true(bench_blk_pattern(s) != bench_blk_pattern(s + 1));
		assert_true(bench_blk_pattern(s) != bench_blk_pattern(s + 8));
		assert_true(bench_blk_pattern(s) != 0);
	}
}

static void test_mailboxes(void **state)
{
	(void)state;

	/* Consecutive, non-overlapping, naturally aligned for their 64-bit fields. */
	for (uint32_t cpu = 0; cpu < BENCH_MAX_CPUS; cpu++) {
		uint64_t a = bench_report_addr(cpu);

		assert_int_equal(a % 8, 0);
		assert_true(a >= BENCH_REPORT_BASE);
		assert_true(a + sizeof(struct bench_report) <= BENCH_LOAD_ADDR);
		if (cpu)
			assert_true(bench_report_addr(cpu - 1) + sizeof(struct bench_report) <= a);
	}
	/* The guest writes the layout with 64-bit stores: no padding surprises. */
	assert_int_equal(offsetof(struct bench_report, iters) % 8, 0);
	assert_int_equal(offsetof(struct bench_params, min_cycles) % 8, 0);
	assert_int_equal(offsetof(struct bench_params, max_iters) % 8, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ports_distinct),
	    cmocka_unit_test(test_memory_map_disjoint),
	    cmocka_unit_test(test_mailboxes),
	    cmocka_unit_test(test_blk_pattern_tells_sectors_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
