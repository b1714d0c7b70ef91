/* SPDX-License-Identifier: MIT */
#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_2M (2ULL << 20)

void guest_mem_layout(struct guest_mem *mem, uint64_t size)
{
	uint64_t low = size < GUEST_MEM_LOW_LIMIT ? size : GUEST_MEM_LOW_LIMIT;

	memset(mem->regions, 0, sizeof(mem->regions));
	mem->size = size;
	mem->regions[0].gpa = 0;
	mem->regions[0].size = low;
	mem->nr_regions = 1;
	if (size > low) {
		mem->regions[1].gpa = GUEST_MEM_HIGH_BASE;
		mem->regions[1].size = size - low;
		mem->nr_regions = 2;
	}
}

/*
 * Whether memfd (shmem) memory can get transparent huge pages: the selected
 * value of shmem_enabled is the one in brackets.
 */
bool guest_mem_shmem_thp(const char *shmem_enabled)
{
	const char *sel = shmem_enabled ? strchr(shmem_enabled, '[') : NULL;

	if (!sel)
		return false;
	return strncmp(sel, "[always]", 8) == 0 || strncmp(sel, "[within_size]", 13) == 0 ||
	       strncmp(sel, "[advise]", 8) == 0 || strncmp(sel, "[force]", 7) == 0;
}

static bool host_shmem_thp(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	return guest_mem_shmem_thp(buf);
}

int guest_mem_init(struct guest_mem *mem, uint64_t size)
{
	uint8_t *reserve, *aligned;
	size_t reserve_len;
	int fd = -1;

	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	if (size == 0 || size & 0xfff)
		return -EINVAL;
	guest_mem_layout(mem, size);

	/*
	 * memfd is the backing of choice (it can be shared later), but where
	 * the host has shmem THP off (Debian's default) it would be mapped
	 * with 4 KiB pages only, and a Linux guest then takes ~26k more nested
	 * page faults per boot. Anonymous memory gets 2 MiB pages through
	 * MADV_HUGEPAGE on those hosts.
	 */
	if (host_shmem_thp()) {
		fd = memfd_create("nestvmm-ram", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)size) < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
	}

	/*
	 * Reserve 2 MiB of slack and map the memfd at a 2 MiB boundary inside
	 * it, so guest 2 MiB frames line up with host huge pages and THP can
	 * back them (unaligned RAM costs tens of thousands of extra nested
	 * page faults per Linux boot).
	 */
	reserve_len = size + HUGE_2M;
	reserve =
	    mmap(NULL, reserve_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return err;
	}
	aligned = (uint8_t *)(((uintptr_t)reserve + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	if (mmap(aligned, size, PROT_READ | PROT_WRITE,
		 fd >= 0 ? MAP_SHARED | MAP_FIXED
			 : MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 fd, 0) == MAP_FAILED) {
		int err = -errno;

		munmap(reserve, reserve_len);
		if (fd >= 0)
			close(fd);
		return err;
	}
	/* Give back the unused slack on both sides. */
	if (aligned > reserve)
		munmap(reserve, (size_t)(aligned - reserve));
	if (reserve + reserve_len > aligned + size)
		munmap(aligned + size, (size_t)(reserve + reserve_len - (aligned + size)));

	/* Advisory: shmem THP may be disabled by the host; that is not an error. */
	madvise(aligned, size, MADV_HUGEPAGE);

	mem->map = aligned;
	mem->map_len = size;
	mem->memfd = fd;
	mem->regions[0].hva = aligned;
	if (mem->nr_regions > 1)
		mem->regions[1].hva = aligned + mem->regions[0].size;
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->map)
		munmap(mem->map, mem->map_len);
	if (mem->memfd >= 0)
		close(mem->memfd);
	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
}

void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		/* Written as differences so no sum can wrap. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva ? r->hva + (gpa - r->gpa) : NULL;
	}
	return NULL;
}

int64_t guest_mem_resident(const struct guest_mem *mem)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (mem->map_len + page - 1) / page;
	unsigned char *vec;
	int64_t resident = 0;

	if (!mem->map || !mem->map_len)
		return 0;
	vec = malloc(pages);
	if (!vec)
		return -ENOMEM;
	if (mincore(mem->map, mem->map_len, vec) < 0) {
		int r = -errno;

		free(vec);
		return r;
	}
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	free(vec);
	return resident * (int64_t)page;
}
