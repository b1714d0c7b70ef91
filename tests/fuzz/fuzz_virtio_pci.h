/* SPDX-License-Identifier: MIT */
/* The virtio-pci transport fuzz target, shared by the libFuzzer binary and the replay test. */
#ifndef NESTVMM_TESTS_FUZZ_VIRTIO_PCI_H
#define NESTVMM_TESTS_FUZZ_VIRTIO_PCI_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the inputs led to, so the replay can show it reached the deep paths. */
struct fuzz_virtio_pci_stats {
	unsigned long inputs;
	unsigned long starts;	      /* ops->start() calls */
	unsigned long stops;	      /* a running device stopped by a reset */
	unsigned long ran;	      /* inputs that ended with the device running */
	unsigned long fires;	      /* MSI-X messages sent */
	unsigned long intx_raises;    /* INTx line raised */
	unsigned long decode_changes; /* kick ioeventfds unbound or bound again */
	unsigned long needs_reset;    /* operations after which NEEDS_RESET showed */
};

extern struct fuzz_virtio_pci_stats fuzz_virtio_pci_stats;

#endif
