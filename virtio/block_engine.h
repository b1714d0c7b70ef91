/* SPDX-License-Identifier: MIT */
/*
 * The engines behind virtio/block.h, one file each: block_uring.c,
 * block_aio.c, block_sync.c. Private to the block backend.
 */
#ifndef NESTVMM_VIRTIO_BLOCK_ENGINE_H
#define NESTVMM_VIRTIO_BLOCK_ENGINE_H

#include "virtio/block.h"

extern const struct blk_engine_ops blk_engine_uring;
extern const struct blk_engine_ops blk_engine_aio;
extern const struct blk_engine_ops blk_engine_sync;

#endif
