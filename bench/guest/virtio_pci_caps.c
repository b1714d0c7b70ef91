// SPDX-License-Identifier: MIT
#include "bench/guest/virtio_pci_caps.h"

#define CFG_STATUS	0x06
#define CFG_STATUS_CAPS 0x10
#define CFG_CAP_PTR	0x34
#define CFG_HEADER_END	0x40
#define CFG_SIZE	0x100
#define CAP_ID_VENDOR	0x09
#define CAP_VIRTIO_LEN	16 /* cap_vndr .. length */
#define CAP_NOTIFY_LEN	20 /* + notify_off_multiplier */
#define TYPE_COMMON	1
#define TYPE_NOTIFY	2
#define TYPE_ISR	3
#define TYPE_DEVICE	4
#define MAX_CAPS	((CFG_SIZE - CFG_HEADER_END) / 4)
#define NEEDED		((1u << TYPE_COMMON) | (1u << TYPE_NOTIFY) | (1u << TYPE_DEVICE))

static struct vpci_region *region_of(struct vpci_layout *out, unsigned int type)
{
	switch (type) {
	case TYPE_COMMON:
		return &out->common;
	case TYPE_NOTIFY:
		return &out->notify;
	case TYPE_ISR:
		return &out->isr;
	case TYPE_DEVICE:
		return &out->device;
	default:
		return 0;
	}
}

int vpci_find_caps(vpci_cfg_read32 read32, void *ctx, struct vpci_layout *out)
{
	unsigned int ptr;

	*out = (struct vpci_layout){0};
	if (!((read32(ctx, CFG_STATUS & ~3u) >> 16) & CFG_STATUS_CAPS))
		return -1;
	ptr = read32(ctx, CFG_CAP_PTR) & 0xfc;
	/* Capabilities are dword aligned and at least 4 bytes: at most MAX_CAPS distinct ones. */
	for (unsigned int n = 0; n < MAX_CAPS && ptr >= CFG_HEADER_END && ptr < CFG_SIZE; n++) {
		uint32_t hdr = read32(ctx, ptr);
		unsigned int id = hdr & 0xff, next = (hdr >> 8) & 0xfc, len = (hdr >> 16) & 0xff;
		unsigned int type = hdr >> 24;
		struct vpci_region *r = region_of(out, type);

		if (id == CAP_ID_VENDOR && r && !(out->found & (1u << type)) &&
		    len >= (type == TYPE_NOTIFY ? CAP_NOTIFY_LEN : CAP_VIRTIO_LEN) &&
		    ptr + len <= CFG_SIZE) {
			unsigned int bar = read32(ctx, ptr + 4) & 0xff;

			if (bar <= 5) {
				r->bar = (uint8_t)bar;
				r->offset = read32(ctx, ptr + 8);
				r->length = read32(ctx, ptr + 12);
				if (type == TYPE_NOTIFY)
					out->notify_off_multiplier = read32(ctx, ptr + 16);
				out->found |= 1u << type;
			}
		}
		ptr = next;
	}
	return (out->found & NEEDED) == NEEDED ? 0 : -1;
}
