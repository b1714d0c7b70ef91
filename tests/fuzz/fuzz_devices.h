/* SPDX-License-Identifier: MIT */
/* The legacy devices' fuzz target, shared by the libFuzzer binary and the replay test. */
#ifndef NESTVMM_TESTS_FUZZ_DEVICES_H
#define NESTVMM_TESTS_FUZZ_DEVICES_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the inputs led to, so the replay can show it reached the deep paths. */
struct fuzz_devices_stats {
	unsigned long inputs;
	unsigned long accesses;
	unsigned long host_events;
	unsigned long irq_raises; /* COM1, i8042 and SCI lines raised */
	unsigned long stops;	  /* debug-exit, power-off and reset requests */
	unsigned long out_bytes;  /* what the UART wrote to its sink */
};

extern struct fuzz_devices_stats fuzz_devices_stats;

#endif
