/* SPDX-License-Identifier: MIT */
/*
 * The value of --net:
 * tap[=NAME][,mac=XX:XX:XX:XX:XX:XX][,queues=N][,mtu=N][,engine=io_uring|sync]
 */
#ifndef NESTVMM_CLI_NET_ARG_H
#define NESTVMM_CLI_NET_ARG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/engine.h"

/* The most queue pairs --net queues= takes (the tap backend's limit). */
#define NET_SPEC_MAX_QUEUES 16

struct net_spec {
	char tap[IFNAMSIZ]; /* "" when the kernel is to pick the name */
	bool mac_set;
	uint8_t mac[6];
	unsigned int queues; /* 0: one per vCPU */
	unsigned int mtu;    /* 0: the tap's own; else set on the tap and advertised */
	enum net_engine engine;
};

/*
 * Parse @arg into @spec. Defaults: a tap named by the kernel, a MAC derived
 * from the tap's name, a queue pair per vCPU, engine=io_uring. Rejects an
 * interface name the kernel would refuse (empty, 16 bytes or more, "." or
 * "..", '/', ':' or white space), a MAC that is not six hex pairs or is
 * multicast or all zeros, queues outside 1..16, an MTU outside 68..65521.
 * Returns 0, or -EINVAL with
 * one line in @why naming the offending word.
 */
int net_spec_parse(struct net_spec *spec, const char *arg, char *why, size_t why_len);

/* Parse "52:54:00:12:34:56" into @mac. Returns 0 or -EINVAL. */
int net_mac_parse(const char *s, size_t len, uint8_t mac[6]);

#endif
