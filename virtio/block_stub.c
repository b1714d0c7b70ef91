/* SPDX-License-Identifier: MIT */
/* Placeholder engines until block_uring.c, block_aio.c and block_sync.c land. */
#include <errno.h>

#include "virtio/block_engine.h"

static int stub_init(struct blk_ioq *q)
{
	(void)q;
	return -ENOSYS;
}

const struct blk_engine_ops blk_engine_uring = {.name = "io_uring", .init = stub_init};
const struct blk_engine_ops blk_engine_aio = {.name = "aio", .init = stub_init};
const struct blk_engine_ops blk_engine_sync = {.name = "sync", .init = stub_init};
