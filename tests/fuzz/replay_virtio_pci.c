/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport fuzz target's replay: edge inputs whose outcome
 * is known (bus mastering gates the start, its loss stops the device, an
 * MSI-X message waits for it) and the verdict on what the random inputs
 * reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/pci.h"
#include "tests/fuzz/fuzz_virtio_pci.h"
#include "tests/fuzz/replay.h"

/* The target's input encoding (see fuzz_virtio_pci.c). */
#define OP_CFG_WRITE 0
#define OP_USED	     4
#define OP_STEPS     7
#define CFG_SIZE2    1 /* pick_size(): 1, 2, 4 */
#define STEP_MASTER  1
#define STEP_ALL     0x1f

static void header(struct replay_buf *b)
{
	b->n = 0;
	replay_put8(b, 0); /* one queue */
	replay_put8(b, 4); /* of 64 entries */
	replay_put8(b, 8); /* 8 bytes of config */
	replay_put8(b, 0); /* a device that accepts and starts */
}

static void steps(struct replay_buf *b, uint8_t bits)
{
	replay_put8(b, OP_STEPS);
	replay_put16(b, 0);
	replay_put8(b, bits);
	replay_put32(b, 0x10000); /* queue 0's rings */
}

static void command(struct replay_buf *b, uint16_t v)
{
	replay_put8(b, OP_CFG_WRITE);
	replay_put16(b, PCI_COMMAND);
	replay_put8(b, CFG_SIZE2);
	replay_put32(b, v);
}

static void used(struct replay_buf *b)
{
	replay_put8(b, OP_USED);
	replay_put16(b, 0); /* queue 0 */
}

void replay_edges(void)
{
	struct fuzz_virtio_pci_stats *st = &fuzz_virtio_pci_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));

	if (!b)
		exit(1);

	header(b);
	steps(b, STEP_ALL);
	replay_expect("a driver's set-up with bus mastering starts the device", b, &st->ran, 1);

	header(b);
	command(b, PCI_COMMAND_MEMORY);
	steps(b, STEP_ALL & ~STEP_MASTER);
	replay_expect("DRIVER_OK without bus mastering does not start", b, &st->starts, 0);
	command(b, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	replay_expect("bus mastering then starts it", b, &st->ran, 1);

	header(b);
	steps(b, STEP_ALL);
	command(b, PCI_COMMAND_MEMORY);
	replay_expect("losing bus mastering stops the running device", b, &st->stops, 1);

	header(b);
	steps(b, STEP_ALL);
	used(b);
	replay_expect("used buffers send queue 0's MSI-X message", b, &st->fires, 1);

	header(b);
	steps(b, STEP_ALL);
	command(b, PCI_COMMAND_MEMORY);
	used(b);
	replay_expect("no MSI-X message leaves without bus mastering", b, &st->fires, 0);
	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_virtio_pci_stats *st = &fuzz_virtio_pci_stats;

	printf("inputs %lu, starts %lu, stops %lu, ran %lu, MSI-X %lu, INTx %lu, decode changes "
	       "%lu, needs-reset %lu\n",
	       st->inputs, st->starts, st->stops, st->ran, st->fires, st->intx_raises,
	       st->decode_changes, st->needs_reset);
	return st->starts && st->stops && st->fires && st->intx_raises && st->decode_changes &&
	       st->needs_reset;
}
