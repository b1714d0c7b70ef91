/* SPDX-License-Identifier: MIT */
#include "vmm/kvm_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

/*
 * Bounds on what the kernel describes, far above any real kernel (a few
 * dozen stats, names of 48 bytes) but low enough that a corrupt header
 * cannot make us allocate without limit.
 */
#define KVM_STATS_MAX_DESC	4096
#define KVM_STATS_MAX_NAME_SIZE 1024
#define KVM_STATS_MAX_DATA	(1u << 20)

struct kvm_stat_item {
	const char *name;
	uint32_t flags;
	int16_t exponent;
	uint16_t size;	/* u64 words: 1 for a scalar, the buckets of a histogram */
	uint32_t first; /* index of the first word in the data block */
};

struct kvm_stats {
	int fd;
	uint32_t data_offset;
	size_t data_words;
	uint64_t *data; /* scratch for one pread of the data block */
	size_t nr;
	struct kvm_stat_item *items;
	char *descs; /* raw descriptor block; the names point into it */
	char *id;
};

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t r;

	do {
		r = pread(fd, buf, len, off);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

void kvm_stats_close(struct kvm_stats *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	free(st->data);
	free(st->items);
	free(st->descs);
	free(st->id);
	free(st);
}

static int kvm_stats_parse_descs(struct kvm_stats *st, const struct kvm_stats_header *hdr)
{
	size_t desc_size = sizeof(struct kvm_stats_desc) + hdr->name_size;
	size_t words = 0;
	int r;

	st->descs = malloc(desc_size * hdr->num_desc);
	st->items = calloc(hdr->num_desc ? hdr->num_desc : 1, sizeof(*st->items));
	if (!st->descs || !st->items)
		return -ENOMEM;
	r = pread_full(st->fd, st->descs, desc_size * hdr->num_desc, hdr->desc_offset);
	if (r)
		return r == -EIO ? -EBADMSG : r;

	for (uint32_t i = 0; i < hdr->num_desc; i++) {
		char *raw = st->descs + i * desc_size;
		char *name = raw + sizeof(struct kvm_stats_desc);
		struct kvm_stats_desc d;
		struct kvm_stat_item *it;
		uint64_t end;

		/* An odd name_size would misalign the descriptors: copy, don't cast. */
		memcpy(&d, raw, sizeof(d));
		/* The kernel pads names with NULs; do not trust it to. */
		name[hdr->name_size - 1] = '\0';
		if (d.size == 0)
			continue;
		if (d.offset % sizeof(uint64_t))
			return -EBADMSG;
		end = (uint64_t)d.offset + (uint64_t)d.size * sizeof(uint64_t);
		if (end > KVM_STATS_MAX_DATA)
			return -EBADMSG;
		if (end / sizeof(uint64_t) > words)
			words = end / sizeof(uint64_t);
		it = &st->items[st->nr++];
		it->name = name;
		it->flags = d.flags;
		it->exponent = d.exponent;
		it->size = d.size;
		it->first = d.offset / sizeof(uint64_t);
	}
	st->data_words = words;
	st->data = calloc(words ? words : 1, sizeof(uint64_t));
	return st->data ? 0 : -ENOMEM;
}

int kvm_stats_open_fd(struct kvm_stats **out, int stats_fd)
{
	struct kvm_stats_header hdr;
	struct kvm_stats *st;
	int r;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st) {
		close(stats_fd);
		return -ENOMEM;
	}
	st->fd = stats_fd;
	r = pread_full(stats_fd, &hdr, sizeof(hdr), 0);
	if (r) {
		r = r == -EIO ? -EBADMSG : r;
		goto fail;
	}
	r = -EBADMSG;
	if (hdr.name_size == 0 || hdr.name_size > KVM_STATS_MAX_NAME_SIZE ||
	    hdr.num_desc > KVM_STATS_MAX_DESC)
		goto fail;
	st->data_offset = hdr.data_offset;

	st->id = calloc(1, hdr.name_size);
	r = -ENOMEM;
	if (!st->id)
		goto fail;
	r = pread_full(stats_fd, st->id, hdr.name_size, hdr.id_offset);
	if (r) {
		r = r == -EIO ? -EBADMSG : r;
		goto fail;
	}
	st->id[hdr.name_size - 1] = '\0';

	r = kvm_stats_parse_descs(st, &hdr);
	if (r)
		goto fail;
	*out = st;
	return 0;
fail:
	kvm_stats_close(st);
	return r;
}

int kvm_stats_open(struct kvm_stats **out, int vm_or_vcpu_fd)
{
	int fd = ioctl(vm_or_vcpu_fd, KVM_GET_STATS_FD, NULL);

	*out = NULL;
	if (fd < 0) {
		/* Kernels before 5.14 do not know the ioctl. */
		if (errno == ENOTTY || errno == EINVAL)
			return -ENOTSUP;
		return -errno;
	}
	return kvm_stats_open_fd(out, fd);
}

const char *kvm_stats_id(const struct kvm_stats *st)
{
	return st->id;
}

size_t kvm_stats_nr(const struct kvm_stats *st)
{
	return st->nr;
}

const char *kvm_stats_name(const struct kvm_stats *st, size_t i)
{
	return i < st->nr ? st->items[i].name : NULL;
}

uint32_t kvm_stats_type(const struct kvm_stats *st, size_t i)
{
	return i < st->nr ? st->items[i].flags & KVM_STATS_TYPE_MASK : 0;
}

bool kvm_stats_is_cumulative(const struct kvm_stats *st, size_t i)
{
	return i < st->nr &&
	       (st->items[i].flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE;
}

int kvm_stats_index(const struct kvm_stats *st, const char *name)
{
	for (size_t i = 0; i < st->nr; i++) {
		if (strcmp(st->items[i].name, name) == 0)
			return (int)i;
	}
	return -ENOENT;
}

static const char *pow10_prefix(int exponent)
{
	switch (exponent) {
	case 0:
		return "";
	case -3:
		return "m";
	case -6:
		return "u";
	case -9:
		return "n";
	case 3:
		return "k";
	case 6:
		return "M";
	case 9:
		return "G";
	}
	return NULL;
}

static const char *pow2_prefix(int exponent)
{
	switch (exponent) {
	case 0:
		return "";
	case 10:
		return "Ki";
	case 20:
		return "Mi";
	case 30:
		return "Gi";
	}
	return NULL;
}

const char *kvm_stats_unit(const struct kvm_stats *st, size_t i, char *buf, size_t len)
{
	uint32_t flags, unit;
	int exponent;
	bool pow2;
	const char *base, *prefix;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (i >= st->nr)
		return buf;
	flags = st->items[i].flags;
	exponent = st->items[i].exponent;
	unit = flags & KVM_STATS_UNIT_MASK;
	pow2 = (flags & KVM_STATS_BASE_MASK) == KVM_STATS_BASE_POW2;

	switch (unit) {
	case KVM_STATS_UNIT_BYTES:
		base = "B";
		break;
	case KVM_STATS_UNIT_SECONDS:
		base = "s";
		break;
	case KVM_STATS_UNIT_CYCLES:
		base = "cycles";
		break;
	case KVM_STATS_UNIT_BOOLEAN:
		base = "bool";
		break;
	default:
		base = "";
		break;
	}
	prefix = pow2 ? pow2_prefix(exponent) : pow10_prefix(exponent);
	if (prefix && (*base || !*prefix))
		snprintf(buf, len, "%s%s", prefix, base);
	else
		snprintf(buf, len, "x%d^%d%s%s", pow2 ? 2 : 10, exponent, *base ? " " : "", base);
	return buf;
}

int kvm_stats_read(const struct kvm_stats *st, uint64_t *values)
{
	int r = pread_full(st->fd, st->data, st->data_words * sizeof(uint64_t), st->data_offset);

	if (r)
		return r;
	for (size_t i = 0; i < st->nr; i++) {
		const struct kvm_stat_item *it = &st->items[i];
		const uint64_t *w = &st->data[it->first];
		uint64_t v = w[0];

		for (uint32_t b = 1; b < it->size; b++)
			v += w[b];
		values[i] = v;
	}
	return 0;
}

void kvm_stats_delta(const struct kvm_stats *st, const uint64_t *start, const uint64_t *end,
		     uint64_t *delta)
{
	for (size_t i = 0; i < st->nr; i++) {
		if (!kvm_stats_is_cumulative(st, i))
			delta[i] = end[i];
		else
			delta[i] = end[i] >= start[i] ? end[i] - start[i] : 0;
	}
}
