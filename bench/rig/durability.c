/* SPDX-License-Identifier: MIT */
/*
 * rig-durability: the two halves of the kill -9 durability check.
 *
 *   rig-durability write DEV [N]   (in L2) write numbered 4 KiB records to
 *       DEV with O_DIRECT, each followed by fdatasync; once fdatasync has
 *       returned, print "RIG-DUR-ACK <seq> ." (the dot ends a complete
 *       line: a line cut by the kill cannot be misread). An error prints
 *       "RIG-DUR-ERR seq=<seq> op=pwrite|fdatasync errno=<name> ." and
 *       exits 2; N records (default: the whole device) print
 *       "RIG-DUR-DONE <N> .".
 *   rig-durability verify IMG ACKED   (in L1, after the kill) read records
 *       0..ACKED back from the image and print
 *       "RIG-DUR-VERIFY acked=<n> intact=<k> lost=<m> [first_lost=<seq>]";
 *       exit 0 when every acknowledged record is intact, 1 otherwise.
 *       ACKED -1: nothing was acknowledged.
 *
 * A record: the magic "NVMDUR01", its sequence number, a checksum (FNV-1a
 * of the rest), and 4072 bytes generated from the sequence number, so a
 * record that is torn, stale or at the wrong place fails.
 *
 * Built static by bench/meson.build: L2 and L1 are busybox initramfses.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD 4096
#define MAGIC  "NVMDUR01"
#define BODY   (RECORD - 24)

struct record {
	char magic[8];
	uint64_t seq;
	uint64_t sum;
	uint8_t body[BODY];
};

_Static_assert(sizeof(struct record) == RECORD, "a record is one 4 KiB block");

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t record_sum(const struct record *r)
{
	uint64_t h = fnv1a(&r->seq, sizeof(r->seq), 0xcbf29ce484222325ull);

	return fnv1a(r->body, sizeof(r->body), h);
}

static void record_fill(struct record *r, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;

	memcpy(r->magic, MAGIC, 8);
	r->seq = seq;
	for (size_t i = 0; i < sizeof(r->body); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r->body[i] = (uint8_t)x;
	}
	r->sum = record_sum(r);
}

static int write_records(const char *dev, long long limit)
{
	struct record *r;
	off_t size;
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd < 0) {
		printf("RIG-DUR-ERR seq=-1 op=open errno=%s .\n", strerrorname_np(errno));
		return 2;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size < RECORD || posix_memalign((void **)&r, RECORD, RECORD) != 0) {
		printf("RIG-DUR-ERR seq=-1 op=size errno=%s .\n", strerrorname_np(errno));
		return 2;
	}
	if (limit < 0 || limit > size / RECORD)
		limit = size / RECORD;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long long seq = 0; seq < limit; seq++) {
		record_fill(r, (uint64_t)seq);
		if (pwrite(fd, r, RECORD, (off_t)seq * RECORD) != RECORD) {
			printf("RIG-DUR-ERR seq=%lld op=pwrite errno=%s .\n", seq,
			       errno ? strerrorname_np(errno) : "short");
			return 2;
		}
		if (fdatasync(fd) < 0) {
			printf("RIG-DUR-ERR seq=%lld op=fdatasync errno=%s .\n", seq,
			       strerrorname_np(errno));
			return 2;
		}
		printf("RIG-DUR-ACK %lld .\n", seq);
	}
	printf("RIG-DUR-DONE %lld .\n", limit);
	return 0;
}

static int verify_records(const char *img, long long acked)
{
	struct record r;
	long long intact = 0, lost = 0, first_lost = -1;
	int fd = open(img, O_RDONLY);

	if (fd < 0) {
		printf("RIG-DUR-VERIFY acked=%lld error=%s\n", acked, strerror(errno));
		return 1;
	}
	for (long long seq = 0; seq <= acked; seq++) {
		bool ok = pread(fd, &r, RECORD, (off_t)seq * RECORD) == RECORD &&
			  memcmp(r.magic, MAGIC, 8) == 0 && r.seq == (uint64_t)seq &&
			  r.sum == record_sum(&r);

		if (ok) {
			intact++;
		} else {
			if (first_lost < 0)
				first_lost = seq;
			lost++;
		}
	}
	printf("RIG-DUR-VERIFY acked=%lld intact=%lld lost=%lld", acked + 1, intact, lost);
	if (first_lost >= 0)
		printf(" first_lost=%lld", first_lost);
	printf("\n");
	return lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "write") == 0)
		return write_records(argv[2], argc > 3 ? atoll(argv[3]) : -1);
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return verify_records(argv[2], atoll(argv[3]));
	fprintf(stderr, "usage: rig-durability write DEV [N] | verify IMG ACKED\n");
	return 2;
}
