/* SPDX-License-Identifier: MIT */
/* Tests that need /dev/kvm exit 77 (meson's SKIP) with the reason when it can't be used. */
#ifndef NESTVMM_TEST_KVM_SKIP_H
#define NESTVMM_TEST_KVM_SKIP_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void skip_without_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("SKIP: /dev/kvm cannot be opened: %s\n", strerror(errno));
		exit(77);
	}
	close(fd);
}

#endif
