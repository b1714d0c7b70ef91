/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one memfd, mapped once, split into at most two KVM memory
 * slots around the 32-bit PCI hole. gpa_to_hva() is the only place that
 * turns a guest-physical address into a host pointer.
 */
#ifndef NESTVMM_GUEST_MEM_H
#define NESTVMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RAM above this address is moved above 4 GiB to leave room for PCI MMIO. */
#define GUEST_MEM_LOW_LIMIT   0xc0000000ULL
#define GUEST_MEM_HIGH_BASE   0x100000000ULL
#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;  /* first guest-physical address */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host address of gpa */
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t size;	/* total RAM bytes */
	uint8_t *map;	/* the whole mapping (2 MiB aligned) */
	size_t map_len; /* bytes mapped, including alignment slack */
	int memfd;	/* -1 when RAM is anonymous memory (host without shmem THP) */
};

/*
 * Split @size bytes of RAM into regions (low RAM below GUEST_MEM_LOW_LIMIT,
 * the rest from 4 GiB) without allocating anything; used by guest_mem_init()
 * and by the loader to describe the layout (e820).
 */
void guest_mem_layout(struct guest_mem *mem, uint64_t size);

/*
 * Allocate @size bytes of guest RAM, mapped at a 2 MiB aligned host address
 * and advised for transparent huge pages: from a memfd where the host lets
 * shmem use THP, else anonymous memory. Returns 0 or -errno.
 */
int guest_mem_init(struct guest_mem *mem, uint64_t size);
void guest_mem_destroy(struct guest_mem *mem);

/* Whether a shmem_enabled setting ("always [never] ...") lets memfd RAM use THP. */
bool guest_mem_shmem_thp(const char *shmem_enabled);

/*
 * Host pointer for guest-physical [gpa, gpa + len), or NULL unless every
 * byte lies inside one RAM region. len == 0 is treated as len == 1 (a
 * pointer to an address outside RAM is never handed out). Overflow-safe for
 * any 64-bit gpa and len.
 */
void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/*
 * Bytes of guest RAM resident in host memory now (mincore() over the
 * mapping), or -errno: what --stats subtracts from the process's RSS to
 * show the VMM's own memory.
 */
int64_t guest_mem_resident(const struct guest_mem *mem);

#endif
