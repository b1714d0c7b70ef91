/* SPDX-License-Identifier: MIT */
/*
 * The tap backend of virtio-net: a Linux tap interface opened with one file
 * descriptor per queue pair (IFF_MULTI_QUEUE), each carrying frames behind
 * the 12-byte virtio-net header (IFF_VNET_HDR, TUNSETVNETHDRSZ), so frames
 * pass between the guest's buffers and the kernel without a copy or a
 * header rewrite. The offloads the kernel may hand the guest are switched
 * with TUNSETOFFLOAD as the driver negotiates them.
 */
#ifndef NESTVMM_NET_TAP_H
#define NESTVMM_NET_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include <linux/if_tun.h>

/* Linux 6.2's USO flags; Debian 12's headers predate them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* The most queue pairs one tap serves here (the kernel allows 256). */
#define NET_TAP_MAX_QUEUES 16

struct net_tap;

/* The tap's two switches, as ops so that the device's tests can stand a socketpair in for a tap. */
struct net_tap_ops {
	int (*set_offload)(struct net_tap *tap, unsigned int tun_flags);    /* TUNSETOFFLOAD */
	int (*set_queue)(struct net_tap *tap, unsigned int q, bool attach); /* TUNSETQUEUE */
};

struct net_tap {
	const struct net_tap_ops *ops; /* net_tap_open(): the ioctls below */
	char name[IFNAMSIZ];
	unsigned int nr_queues;
	int fd[NET_TAP_MAX_QUEUES]; /* blocking; the engines set O_NONBLOCK as they need */
	unsigned int offloads;	    /* the TUN_F_* this kernel's tap accepts */
	unsigned int mtu;	    /* the interface's MTU when opened */
	bool kernel_named;	    /* no name was given: the kernel chose it */
};

/*
 * Open (or create) tap @name, "" for a name the kernel picks, with
 * @nr_queues queues (1..NET_TAP_MAX_QUEUES). A single queue also opens a
 * tap made without multi_queue. Probes the offloads (TUN_F_USO* only where
 * the kernel has them) and leaves them all off. Returns 0, or -errno with
 * one line in @why: no /dev/net/tun, a tap in use, no permission, a tap
 * made with other flags.
 */
int net_tap_open(struct net_tap *tap, const char *name, unsigned int nr_queues, char *why,
		 size_t why_len);
void net_tap_close(struct net_tap *tap);

/* The MTUs a tap takes: Ethernet's minimum, and 64 KiB less the Ethernet header. */
#define NET_TAP_MIN_MTU 68
#define NET_TAP_MAX_MTU (65535 - 14)

/*
 * Set the interface's MTU (needs CAP_NET_ADMIN where it lives), before the
 * device is made: the device advertises tap->mtu. Returns 0, or -errno with
 * one line in @why.
 */
int net_tap_set_mtu(struct net_tap *tap, unsigned int mtu, char *why, size_t why_len);

/* TUNSETOFFLOAD on queue @fd (one queue sets them for the interface). Returns 0 or -errno. */
int net_tap_set_offload(int fd, unsigned int tun_flags);

/* TUNSETQUEUE: whether the kernel steers frames to queue @fd. Returns 0 or -errno. */
int net_tap_set_queue(int fd, bool attach);

/* tap->ops, for the device. Return 0 or -errno. */
static inline int net_tap_offload(struct net_tap *tap, unsigned int tun_flags)
{
	return tap->ops->set_offload(tap, tun_flags);
}

static inline int net_tap_queue(struct net_tap *tap, unsigned int q, bool attach)
{
	return tap->ops->set_queue(tap, q, attach);
}

#endif
