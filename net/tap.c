/* SPDX-License-Identifier: MIT */
#include "net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* The header every frame carries: the virtio-net v1 header, num_buffers included. */
static const int vnet_hdr_len = 12;

/* The offloads tried in turn: each kernel accepts one of these sets (USO from 6.2). */
static const unsigned int offload_sets[] = {
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
    TUN_F_CSUM,
};

static void say_open_error(const char *name, unsigned int nr_queues, int err, char *why,
			   size_t why_len)
{
	const char *n = *name ? name : "(new)";

	switch (err) {
	case EBUSY:
		snprintf(why, why_len, "tap %s is in use by another process", n);
		break;
	case EPERM:
	case EACCES:
		snprintf(why, why_len,
			 "no permission to open tap %s: it needs CAP_NET_ADMIN, or a tap made "
			 "for this user (ip tuntap add %s mode tap multi_queue vnet_hdr user USER)",
			 n, *name ? name : "NAME");
		break;
	case EINVAL:
		snprintf(why, why_len,
			 "tap %s exists but was made otherwise (a tun, or %s): remove it or pick "
			 "another name",
			 n,
			 nr_queues > 1 ? "without multi_queue, for queues > 1"
				       : "with flags this VMM cannot use");
		break;
	default:
		snprintf(why, why_len, "tap %s: %s", n, strerror(err));
		break;
	}
}

/* One queue of the tap: TUNSETIFF on a fresh /dev/net/tun file. */
static int open_queue(char name[IFNAMSIZ], bool multi_queue, int *fd_out)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &vnet_hdr_len) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	/* Queue 0 learns the kernel's name; the others must join the same interface. */
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = 0;
	*fd_out = fd;
	return 0;
}

/* The u32 of netlink attribute @type among the attributes [rta, rta + len), or -1. */
static int64_t rta_u32(const struct rtattr *rta, int len, unsigned short type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type && RTA_PAYLOAD(rta) >= sizeof(uint32_t))
			return *(const uint32_t *)RTA_DATA(rta);
	return -1;
}

static const struct rtattr *rta_find(const struct rtattr *rta, int len, unsigned short type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type & NLA_TYPE_MASK) == type)
			return rta;
	return NULL;
}

/*
 * How many queues some process holds on tap @name (attached or disabled),
 * from the kernel's rtnetlink view: 0 when no such interface, -1 when the
 * kernel cannot tell (no netlink, not a tun). A multi_queue tap takes more
 * queues from anyone allowed to open it, so this is the only way to see
 * that another VM is using it.
 */
static int64_t queues_held(const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[RTA_SPACE(IFNAMSIZ)];
	} req;
	static char buf[16384];
	struct rtattr *rta;
	const struct rtattr *info, *kind, *data;
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t n;
	int64_t q, d;
	int len;

	if (s < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.ifi.ifi_family = AF_UNSPEC;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
	memcpy(RTA_DATA(rta), name, strlen(name) + 1);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	if (send(s, &req, req.nh.nlmsg_len, 0) < 0 || (n = recv(s, buf, sizeof(buf), 0)) < 0) {
		close(s);
		return -1;
	}
	close(s);
	if (!NLMSG_OK(nh, (unsigned int)n))
		return -1;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nh);

		return e->error == -ENODEV ? 0 : -1;
	}
	if (nh->nlmsg_type != RTM_NEWLINK)
		return -1;
	len = (int)IFLA_PAYLOAD(nh);
	info = rta_find(IFLA_RTA((struct ifinfomsg *)NLMSG_DATA(nh)), len, IFLA_LINKINFO);
	if (!info)
		return -1;
	kind = rta_find(RTA_DATA(info), (int)RTA_PAYLOAD(info), IFLA_INFO_KIND);
	data = rta_find(RTA_DATA(info), (int)RTA_PAYLOAD(info), IFLA_INFO_DATA);
	if (!kind || strncmp(RTA_DATA(kind), "tun", RTA_PAYLOAD(kind)) || !data)
		return -1;
	q = rta_u32(RTA_DATA(data), (int)RTA_PAYLOAD(data), IFLA_TUN_NUM_QUEUES);
	d = rta_u32(RTA_DATA(data), (int)RTA_PAYLOAD(data), IFLA_TUN_NUM_DISABLED_QUEUES);
	return q < 0 ? -1 : q + (d > 0 ? d : 0);
}

static unsigned int read_mtu(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned int mtu = 1500;

	if (s < 0)
		return mtu;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= NET_TAP_MIN_MTU)
		mtu = ifr.ifr_mtu > NET_TAP_MAX_MTU ? NET_TAP_MAX_MTU : (unsigned int)ifr.ifr_mtu;
	close(s);
	return mtu;
}

static int ioctl_set_offload(struct net_tap *tap, unsigned int tun_flags)
{
	return net_tap_set_offload(tap->fd[0], tun_flags);
}

static int ioctl_set_queue(struct net_tap *tap, unsigned int q, bool attach)
{
	/* A tap without multi_queue has one queue, always attached. */
	if (tap->nr_queues == 1)
		return q == 0 ? 0 : -EINVAL;
	return q < tap->nr_queues ? net_tap_set_queue(tap->fd[q], attach) : -EINVAL;
}

static const struct net_tap_ops ioctl_ops = {
    .set_offload = ioctl_set_offload,
    .set_queue = ioctl_set_queue,
};

int net_tap_open(struct net_tap *tap, const char *name, unsigned int nr_queues, char *why,
		 size_t why_len)
{
	char ifname[IFNAMSIZ];
	int r;

	memset(tap, 0, sizeof(*tap));
	tap->ops = &ioctl_ops;
	for (unsigned int i = 0; i < NET_TAP_MAX_QUEUES; i++)
		tap->fd[i] = -1;
	if (!name)
		name = "";
	if (strlen(name) >= IFNAMSIZ) {
		snprintf(why, why_len, "tap name '%s' is longer than %d characters", name,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (nr_queues < 1 || nr_queues > NET_TAP_MAX_QUEUES) {
		snprintf(why, why_len, "tap %s: %u queues (1..%d)", *name ? name : "(new)",
			 nr_queues, NET_TAP_MAX_QUEUES);
		return -EINVAL;
	}
	memset(ifname, 0, sizeof(ifname));
	memcpy(ifname, name, strlen(name));
	tap->kernel_named = !*name;

	/* A multi_queue tap would let us in beside whoever holds it: refuse that here. */
	if (*name) {
		int64_t held = queues_held(name);

		if (held > 0) {
			snprintf(why, why_len,
				 "tap %s is in use by another process (%lld queue%s held)", name,
				 (long long)held, held == 1 ? "" : "s");
			return -EBUSY;
		}
	}
	r = open_queue(ifname, true, &tap->fd[0]);
	/* One queue: a tap someone made without multi_queue serves as well. */
	if (r == -EINVAL && nr_queues == 1)
		r = open_queue(ifname, false, &tap->fd[0]);
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO) {
		snprintf(why, why_len, "no /dev/net/tun on this host (load the tun module)");
		return r;
	}
	if (r < 0) {
		say_open_error(name, nr_queues, -r, why, why_len);
		return r;
	}
	tap->nr_queues = 1;
	for (unsigned int i = 1; i < nr_queues; i++) {
		r = open_queue(ifname, true, &tap->fd[i]);
		if (r < 0) {
			say_open_error(ifname, nr_queues, -r, why, why_len);
			net_tap_close(tap);
			return r;
		}
		tap->nr_queues++;
	}
	memcpy(tap->name, ifname, IFNAMSIZ);

	for (unsigned int i = 0; i < sizeof(offload_sets) / sizeof(offload_sets[0]); i++) {
		if (net_tap_set_offload(tap->fd[0], offload_sets[i]) == 0) {
			tap->offloads = offload_sets[i];
			break;
		}
	}
	/* Off until the driver negotiates them: the kernel must not hand it what it cannot take. */
	r = net_tap_set_offload(tap->fd[0], 0);
	if (r < 0) {
		snprintf(why, why_len, "tap %s: cannot turn its offloads off: %s", tap->name,
			 strerror(-r));
		net_tap_close(tap);
		return r;
	}
	tap->mtu = read_mtu(tap->name);
	return 0;
}

int net_tap_set_mtu(struct net_tap *tap, unsigned int mtu, char *why, size_t why_len)
{
	struct ifreq ifr;
	int s, r = 0;

	if (mtu < NET_TAP_MIN_MTU || mtu > NET_TAP_MAX_MTU) {
		snprintf(why, why_len, "tap %s: MTU %u is not in %d..%d", tap->name, mtu,
			 NET_TAP_MIN_MTU, NET_TAP_MAX_MTU);
		return -EINVAL;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		r = -errno;
	} else {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap->name);
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			r = -errno;
		close(s);
	}
	if (r < 0) {
		snprintf(why, why_len, "tap %s: cannot set its MTU to %u: %s", tap->name, mtu,
			 strerror(-r));
		return r;
	}
	tap->mtu = mtu;
	return 0;
}

void net_tap_close(struct net_tap *tap)
{
	for (unsigned int i = 0; i < NET_TAP_MAX_QUEUES; i++) {
		if (tap->fd[i] >= 0)
			close(tap->fd[i]);
		tap->fd[i] = -1;
	}
	tap->nr_queues = 0;
}

int net_tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

int net_tap_set_queue(int fd, bool attach)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	return ioctl(fd, TUNSETQUEUE, &ifr) < 0 ? -errno : 0;
}
