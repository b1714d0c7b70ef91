/* SPDX-License-Identifier: MIT */
/*
 * Numbers from the virtio 1.x specification that more than one file needs:
 * device IDs, device status bits, transport-independent feature bits and the
 * split ring's flag values.
 */
#ifndef NESTVMM_VIRTIO_IDS_H
#define NESTVMM_VIRTIO_IDS_H

/* Device IDs (spec 5 "Device Types"). */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_SCSI	  8
#define VIRTIO_ID_VSOCK	  19

/* Device status field (spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED		 128

/* Reserved feature bits (spec 6), as bit numbers. */
#define VIRTIO_F_INDIRECT_DESC	   28
#define VIRTIO_F_EVENT_IDX	   29
#define VIRTIO_F_VERSION_1	   32
#define VIRTIO_F_ACCESS_PLATFORM   33
#define VIRTIO_F_RING_PACKED	   34
#define VIRTIO_F_IN_ORDER	   35
#define VIRTIO_F_ORDER_PLATFORM	   36
#define VIRTIO_F_SR_IOV		   37
#define VIRTIO_F_NOTIFICATION_DATA 38

/* Split ring descriptor flags (spec 2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

/* Notification suppression flags (spec 2.7.7, 2.7.10). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/* The largest queue size the split ring format allows. */
#define VIRTQ_SIZE_MAX 32768

#endif
