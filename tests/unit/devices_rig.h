/* SPDX-License-Identifier: MIT */
/*
 * The legacy PC devices on their own buses, as a guest reaches them: COM1,
 * the RTC, the i8042, the PCI host bridge (config mechanism #1 and ECAM)
 * with one test function, the ACPI PM block, debug-exit and port 0x80,
 * wired to fakes. Guest accesses and host events are drawn from a source
 * of numbers: a seeded generator (tests/unit/test_devices_fuzz.c) or a
 * fuzzer's input (tests/fuzz/fuzz_devices.c). No cmocka here: problems are
 * recorded (rig_failed) or returned (rig_check) for the caller to report.
 */
#ifndef NESTVMM_TESTS_DEVICES_RIG_H
#define NESTVMM_TESTS_DEVICES_RIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/port80.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "tests/unit/fake_dev.h"
#include "vmm/bus.h"

#define RIG_PCI_SLOT  4
#define RIG_ECAM_BASE 0xe0000000ull

/* Where the numbers come from; each caller (thread) has its own. */
struct rig_src {
	uint64_t (*next)(void *ctx);
	void *ctx;
};

static inline uint64_t rig_next(struct rig_src *s)
{
	return s->next(s->ctx);
}

/* xorshift64*: the seeded source. */
struct rig_rng {
	uint64_t s;
};

uint64_t rig_rng_next(void *rng);

struct rig_sink {
	struct rig_rng rng;
	uint64_t bytes;
	bool random_failures; /* short writes, EAGAIN, nothing written */
};

struct rig_pci_dev {
	struct pci_cfg cfg;
};

struct rig {
	/*
	 * What rig_access() found wrong. It runs on worker threads too:
	 * failures are counted here and reported by the caller's thread.
	 */
	pthread_mutex_t fail_lock;
	unsigned int failures;
	char first_failure[160];
	struct bus pio, mmio;
	struct serial serial;
	struct rtc rtc;
	struct i8042 kbd;
	struct pci_bus pci;
	struct rig_pci_dev tdev;
	struct acpi_pm pm;
	struct debug_exit dbg;
	struct port80 p80;
	/* One fake per device: each is only called under its device's lock. */
	struct fake_irq serial_irq, kbd_irq, pm_irq;
	struct fake_stop kbd_stop, pci_stop, pm_stop, dbg_stop;
	struct rig_sink sink;
	time_t rtc_now;
	uint64_t pm_ns;
	uint64_t p80_sent;
};

/* Returns 0, or -1 with what failed in r->first_failure. */
int rig_init(struct rig *r, uint64_t seed, bool sink_failures);
void rig_destroy(struct rig *r);

/* One guest access of 1, 2, 4 or 8 bytes, at or around a device's ports or in ECAM. */
void rig_access(struct rig *r, struct rig_src *src);
/* One thing the host does: serial input, a flush, the power button, the clocks. */
void rig_host_event(struct rig *r, struct rig_src *src);

void rig_failed(struct rig *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The devices' invariants: NULL when they hold, else the first that does not. */
const char *rig_check(struct rig *r);

#endif
