/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the PIO and MMIO register files of devices/ (COM1, the RTC,
 * the i8042, the PCI host bridge through 0xcf8/0xcfc and ECAM, the ACPI PM
 * block, debug-exit, port 0x80) as tests/unit/devices_rig.c wires them, on
 * a fresh rig per input, with host events (serial input, flushes, the
 * power button, any host time) between the guest's accesses.
 *
 * Input: one byte of set-up (bit 0: the console's sink fails at random),
 * then the rig's draws, two bytes each, spread over 64 bits by a
 * multiplicative hash so that a mutation stays local to one draw. After
 * every step the rig's invariants must hold and no read may write past
 * its size (a trap otherwise).
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz_devices.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/devices_rig.h"

#define MAX_STEPS 4000

struct fuzz_devices_stats fuzz_devices_stats;

static uint64_t input_next(void *ctx)
{
	return get16(ctx) * 0x9e3779b97f4a7c15ull;
}

static unsigned long irq_raises(const struct fake_irq *f)
{
	unsigned long n = 0;

	for (int i = 0; i < FAKE_NR_GSI; i++)
		n += f->raises[i];
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct rig_src src = {.next = input_next, .ctx = &in};
	struct fuzz_devices_stats *st = &fuzz_devices_stats;
	static struct rig *r;
	uint8_t setup = get8(&in);

	if (!r && !(r = malloc(sizeof(*r))))
		__builtin_trap();
	memset(r, 0, sizeof(*r));
	if (rig_init(r, setup, setup & 1) < 0)
		__builtin_trap();
	st->inputs++;
	for (int n = 0; in.n && n < MAX_STEPS; n++) {
		if (get8(&in) % 32 == 0) {
			rig_host_event(r, &src);
			st->host_events++;
		} else {
			rig_access(r, &src);
			st->accesses++;
		}
		if (r->failures || rig_check(r))
			__builtin_trap();
	}
	if (port80_writes(&r->p80) != r->p80_sent)
		__builtin_trap();
	st->irq_raises +=
	    irq_raises(&r->serial_irq) + irq_raises(&r->kbd_irq) + irq_raises(&r->pm_irq);
	st->stops += r->dbg_stop.count + r->pm_stop.count + r->kbd_stop.count + r->pci_stop.count;
	st->out_bytes += r->sink.bytes;
	rig_destroy(r);
	return 0;
}
