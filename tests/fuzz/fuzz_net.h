/* SPDX-License-Identifier: MIT */
/* The virtio-net TX and control fuzz target's outcome counters, for its replay. */
#ifndef NESTVMM_TESTS_FUZZ_NET_H
#define NESTVMM_TESTS_FUZZ_NET_H

#include "virtio/net_hdr.h"

struct fuzz_net_stats {
	unsigned long tx[NET_TX_NR];	     /* TX chains by verdict (NET_TX_OK: sent) */
	unsigned long tx_gso;		     /* of the sent ones, GSO frames */
	unsigned long ctrl[6];		     /* control commands by action (NET_CTRL_*) */
	unsigned long ctrl_long, ctrl_noack; /* longer than NET_CTRL_MAX, nowhere to answer */
};

extern struct fuzz_net_stats fuzz_net_stats;

#endif
