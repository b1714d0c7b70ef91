/* SPDX-License-Identifier: MIT */
/*
 * KVM's binary statistics (KVM_GET_STATS_FD, Linux >= 5.14): the counters
 * KVM keeps per VM and per vCPU (exits, io_exits, halt_exits...), read from
 * a file descriptor without debugfs. The descriptors are parsed once at open;
 * each read is one pread of the data block.
 *
 * Every descriptor becomes one scalar value. A histogram (size > 1: the halt
 * polling histograms) is reported as the sum of its buckets, which is the
 * number of samples it has seen; its type stays the histogram type, so it is
 * not "cumulative" below.
 */
#ifndef NESTVMM_KVM_STATS_H
#define NESTVMM_KVM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_stats;

/*
 * Open the statistics of a VM or vCPU fd. 0, -ENOTSUP if the kernel lacks
 * KVM_CAP_BINARY_STATS_FD, -EBADMSG if what it returns does not parse,
 * -ENOMEM, or another -errno.
 */
int kvm_stats_open(struct kvm_stats **out, int vm_or_vcpu_fd);
/*
 * Same, from a stats fd obtained elsewhere (or a file in the same format, for
 * tests). The fd belongs to the result on success and is closed on failure.
 */
int kvm_stats_open_fd(struct kvm_stats **out, int stats_fd);
void kvm_stats_close(struct kvm_stats *st);

/* "kvm-1234" or "kvm-1234/vcpu-0": which VM or vCPU these are. */
const char *kvm_stats_id(const struct kvm_stats *st);
/* Number of scalar values, the length of the arrays kvm_stats_read() fills. */
size_t kvm_stats_nr(const struct kvm_stats *st);
const char *kvm_stats_name(const struct kvm_stats *st, size_t i);
/* KVM_STATS_TYPE_*: cumulative, instant, peak, linear or log histogram. */
uint32_t kvm_stats_type(const struct kvm_stats *st, size_t i);
/* A counter that only grows, so that end - start is what happened in between. */
bool kvm_stats_is_cumulative(const struct kvm_stats *st, size_t i);
/* Index of the value called @name, or -ENOENT. */
int kvm_stats_index(const struct kvm_stats *st, const char *name);

/*
 * Write the unit of value @i for display ("", "ns", "cycles", "KiB",
 * "x10^3"...) into @buf; returns @buf.
 */
const char *kvm_stats_unit(const struct kvm_stats *st, size_t i, char *buf, size_t len);

/*
 * Read every value into @values (kvm_stats_nr() slots): one pread into a
 * buffer allocated at open, then a copy. 0 or -errno (-EIO on a short read).
 * Uses that buffer, so one handle serves one reader at a time (each vCPU
 * has its own handle).
 */
int kvm_stats_read(const struct kvm_stats *st, uint64_t *values);

/*
 * @delta[i] = @end[i] - @start[i] for cumulative values, @end[i] for the
 * others (a level or a peak has no meaningful difference). A counter that
 * went backwards gives 0.
 */
void kvm_stats_delta(const struct kvm_stats *st, const uint64_t *start, const uint64_t *end,
		     uint64_t *delta);

#endif
