/* SPDX-License-Identifier: MIT */
/*
 * A file in the layout KVM_GET_STATS_FD returns (header, id, descriptors,
 * data), built in a memfd so that the parser and the report can be tested
 * without /dev/kvm.
 */
#ifndef NESTVMM_TESTS_FAKE_KVM_STATS_H
#define NESTVMM_TESTS_FAKE_KVM_STATS_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

struct fake_stat {
	const char *name;
	uint32_t flags;
	int16_t exponent;
	uint16_t size;
	uint32_t offset; /* bytes into the data block */
};

#define FAKE_NAME_SIZE 48
#define FAKE_ID_OFFSET ((uint32_t)sizeof(struct kvm_stats_header))

static inline uint32_t fake_desc_offset(void)
{
	return FAKE_ID_OFFSET + FAKE_NAME_SIZE;
}

static inline uint32_t fake_data_offset(size_t nr)
{
	return fake_desc_offset() +
	       (uint32_t)(nr * (sizeof(struct kvm_stats_desc) + FAKE_NAME_SIZE));
}

/* Overwrite the data block, as KVM's counters move. 0 or -1. */
static inline int fake_stats_set_data(int fd, size_t nr, const uint64_t *data, size_t words)
{
	ssize_t len = (ssize_t)(words * sizeof(uint64_t));

	return pwrite(fd, data, (size_t)len, fake_data_offset(nr)) == len ? 0 : -1;
}

/* A memfd holding the stats file, or -1. */
static inline int fake_stats_fd(const char *id, const struct fake_stat *stats, size_t nr,
				const uint64_t *data, size_t words)
{
	struct kvm_stats_header hdr = {
	    .flags = 0,
	    .name_size = FAKE_NAME_SIZE,
	    .num_desc = (uint32_t)nr,
	    .id_offset = FAKE_ID_OFFSET,
	    .desc_offset = fake_desc_offset(),
	    .data_offset = fake_data_offset(nr),
	};
	char name[FAKE_NAME_SIZE];
	int fd = memfd_create("fake-kvm-stats", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (pwrite(fd, &hdr, sizeof(hdr), 0) != sizeof(hdr))
		goto fail;
	memset(name, 0, sizeof(name));
	memcpy(name, id, strnlen(id, sizeof(name) - 1));
	if (pwrite(fd, name, sizeof(name), FAKE_ID_OFFSET) != sizeof(name))
		goto fail;
	for (size_t i = 0; i < nr; i++) {
		struct kvm_stats_desc d = {
		    .flags = stats[i].flags,
		    .exponent = stats[i].exponent,
		    .size = stats[i].size,
		    .offset = stats[i].offset,
		};
		off_t at = fake_desc_offset() + i * (sizeof(d) + FAKE_NAME_SIZE);

		memset(name, 0, sizeof(name));
		memcpy(name, stats[i].name, strnlen(stats[i].name, sizeof(name) - 1));
		if (pwrite(fd, &d, sizeof(d), at) != sizeof(d) ||
		    pwrite(fd, name, sizeof(name), at + sizeof(d)) != sizeof(name))
			goto fail;
	}
	if (fake_stats_set_data(fd, nr, data, words))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

#endif
