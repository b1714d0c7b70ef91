/* SPDX-License-Identifier: MIT */
#include "virtio/pci.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/dev.h"

#define ISR_QUEUE  0x1
#define ISR_CONFIG 0x2

/* The body of a virtio vendor capability, after its ID and next bytes. */
struct virtio_cap_body {
	uint8_t cap_len; /* of the whole capability, ID and next included */
	uint8_t cfg_type;
	uint8_t bar;
	uint8_t id;
	uint8_t padding[2];
	uint32_t offset;
	uint32_t length;
} __attribute__((packed));

#define VIRTIO_CAP_LEN	      16
#define VIRTIO_CAP_NOTIFY_LEN 20
#define VIRTIO_CAP_PCICFG_LEN 20
/* Offsets inside a capability, from its ID byte. */
#define CAP_BAR	   4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_DATA   16

/* Which device features the transport itself handles or allows. */
#define TRANSPORT_FEATURES                                                                         \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) |                             \
	 (1ULL << VIRTIO_F_INDIRECT_DESC))

/* --- interrupts (lock held) --- */

static void pba_set(struct virtio_pci *vp, unsigned int vec, bool pending)
{
	uint64_t bit = 1ULL << (vec % 64);

	if (pending)
		vp->pba[vec / 64] |= bit;
	else
		vp->pba[vec / 64] &= ~bit;
}

static bool vector_masked(const struct virtio_pci *vp, unsigned int vec)
{
	return vp->msix_masked || (vp->msix[vec].ctrl & 1);
}

static void deliver(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit)
{
	if (vp->msix_enabled) {
		if (vec >= vp->nr_vectors)
			return; /* VIRTIO_MSI_NO_VECTOR: the driver wants none */
		/* An MSI-X message is a memory write: it waits for bus mastering. */
		if (vector_masked(vp, vec) || !vp->bus_master)
			pba_set(vp, vec, true);
		else
			vp->plat.msi_fire(vp->plat.ctx, vec);
		return;
	}
	vp->isr |= isr_bit;
	/* PCI_COMMAND_INTX_DISABLE: the cause stays in ISR, the pin stays low. */
	if (!vp->intx_level && !vp->intx_disabled) {
		vp->intx_level = true;
		vp->plat.intx(vp->plat.ctx, 1);
	}
}

/* Fire what became deliverable after an unmask or an MSI-X enable. */
static void deliver_pending(struct virtio_pci *vp)
{
	if (!vp->msix_enabled || vp->msix_masked || !vp->bus_master)
		return;
	for (unsigned int vec = 0; vec < vp->nr_vectors; vec++) {
		if (!(vp->pba[vec / 64] & (1ULL << (vec % 64))) || vector_masked(vp, vec))
			continue;
		pba_set(vp, vec, false);
		vp->plat.msi_fire(vp->plat.ctx, vec);
	}
}

static void lower_intx(struct virtio_pci *vp)
{
	if (vp->intx_level) {
		vp->intx_level = false;
		vp->plat.intx(vp->plat.ctx, 0);
	}
}

static void transport_notify_queue(void *opaque, unsigned int q)
{
	struct virtio_pci *vp = opaque;

	if (q >= vp->dev->nr_queues)
		return;
	pthread_mutex_lock(&vp->lock);
	deliver(vp, vp->queues[q].msix_vector, ISR_QUEUE);
	pthread_mutex_unlock(&vp->lock);
}

static void config_changed(struct virtio_pci *vp)
{
	vp->config_generation++;
	deliver(vp, vp->config_vector, ISR_CONFIG);
}

static void transport_notify_config(void *opaque)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->lock);
	config_changed(vp);
	pthread_mutex_unlock(&vp->lock);
}

static void transport_needs_reset(void *opaque)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->lock);
	if (!(vp->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
	    (vp->status & VIRTIO_STATUS_DRIVER_OK)) {
		vp->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		config_changed(vp);
	}
	pthread_mutex_unlock(&vp->lock);
}

static const struct virtio_transport_ops transport_ops = {
    .notify_queue = transport_notify_queue,
    .notify_config = transport_notify_config,
    .needs_reset = transport_needs_reset,
};

/* --- kick binding --- */

/* Kicks reach a running device only while its BAR decodes (see pci.h). */
static void update_kick_binding(struct virtio_pci *vp)
{
	bool want;

	pthread_mutex_lock(&vp->bind_lock);
	want = atomic_load_explicit(&vp->decode, memory_order_acquire) || !vp->running;
	if (want != vp->kicks_bound) {
		vp->kicks_bound = want;
		if (vp->plat.bind_kicks)
			vp->plat.bind_kicks(vp->plat.ctx, want);
	}
	pthread_mutex_unlock(&vp->bind_lock);
}

/* --- device status (status_lock held, lock not held) --- */

static void device_reset(struct virtio_pci *vp)
{
	struct virtio_dev *dev = vp->dev;

	/* Stops the device's threads: they must not hold vp->lock to finish. */
	dev->ops->reset(dev);
	vp->running = false;
	update_kick_binding(vp);

	pthread_mutex_lock(&vp->lock);
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		virtq_reset(&dev->vqs[i]);
		vp->queues[i] = (struct virtio_pci_queue){
		    .size = dev->queue_max_size,
		    .msix_vector = VIRTIO_MSI_NO_VECTOR,
		};
		/* A kick left over from before the reset must not start work. */
		eventfd_t v;
		eventfd_read(dev->kick_fd[i], &v);
	}
	dev->driver_features = 0;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->status = 0;
	vp->isr = 0;
	lower_intx(vp);
	pthread_mutex_unlock(&vp->lock);
}

static bool features_acceptable(struct virtio_pci *vp, uint64_t f)
{
	struct virtio_dev *dev = vp->dev;

	if (f & ~dev->device_features)
		return false; /* the driver took something never offered */
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return false; /* a modern-only device: no legacy interface */
	return !dev->ops->features_ok || dev->ops->features_ok(dev, f);
}

/* DRIVER_OK: hand the queues the driver set up to the device. */
static int device_start(struct virtio_pci *vp)
{
	struct virtio_dev *dev = vp->dev;
	bool event_idx = dev->driver_features & (1ULL << VIRTIO_F_EVENT_IDX);
	bool indirect = dev->driver_features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	int r;

	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct virtio_pci_queue *q = &vp->queues[i];

		if (!q->enabled)
			continue;
		r = virtq_enable(&dev->vqs[i], vp->mem, q->size, q->desc, q->driver, q->device,
				 event_idx, indirect);
		if (r < 0)
			return r;
	}
	return dev->ops->start(dev);
}

/* Start the device, or flag it DEVICE_NEEDS_RESET if it cannot start. */
static void device_start_or_flag(struct virtio_pci *vp)
{
	if (device_start(vp) == 0) {
		vp->running = true;
		update_kick_binding(vp);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	vp->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	config_changed(vp);
	pthread_mutex_unlock(&vp->lock);
}

static void status_write(struct virtio_pci *vp, uint8_t val)
{
	struct virtio_dev *dev = vp->dev;
	uint8_t old, set;
	bool start = false;

	if (val == 0) {
		device_reset(vp);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	old = vp->status;
	set = val & ~old;
	if ((set & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (features_acceptable(vp, vp->driver_features))
			dev->driver_features = vp->driver_features;
		else
			val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	/*
	 * DRIVER_OK without FEATURES_OK is a driver bug, and a device that
	 * needs a reset gets one first: refuse to start. Without bus
	 * mastering the start waits for the bit (bus_master_update).
	 */
	if ((set & VIRTIO_STATUS_DRIVER_OK) &&
	    (!(val & VIRTIO_STATUS_FEATURES_OK) || (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)))
		val &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	else if (set & VIRTIO_STATUS_DRIVER_OK)
		start = vp->bus_master;
	/* Bits are only ever added; NEEDS_RESET is the device's to set. */
	vp->status = (uint8_t)(old | (val & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	pthread_mutex_unlock(&vp->lock);

	if (start)
		device_start_or_flag(vp);
}

/* --- common configuration --- */

static struct virtio_pci_queue *selected_queue(struct virtio_pci *vp)
{
	return vp->queue_select < vp->dev->nr_queues ? &vp->queues[vp->queue_select] : NULL;
}

/* Whether the driver may still change the queue (spec: not once enabled). */
static bool queue_writable(const struct virtio_pci *vp, const struct virtio_pci_queue *q)
{
	return q && !q->enabled && !(vp->status & VIRTIO_STATUS_DRIVER_OK);
}

static uint32_t common_read(struct virtio_pci *vp, unsigned int off, unsigned int size)
{
	struct virtio_dev *dev = vp->dev;
	struct virtio_pci_queue *q = selected_queue(vp);

	switch (off | size << 8) {
	case VIRTIO_PCI_COMMON_DFSELECT | 4 << 8:
		return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF | 4 << 8:
		return vp->dfselect < 2 ? (uint32_t)(dev->device_features >> (32 * vp->dfselect))
					: 0;
	case VIRTIO_PCI_COMMON_GFSELECT | 4 << 8:
		return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF | 4 << 8:
		return vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect))
					: 0;
	case VIRTIO_PCI_COMMON_MSIX | 2 << 8:
		return vp->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ | 2 << 8:
		return dev->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS | 1 << 8:
		return vp->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION | 1 << 8:
		return vp->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT | 2 << 8:
		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_SIZE | 2 << 8:
		return q ? q->size : 0; /* 0: no such queue */
	case VIRTIO_PCI_COMMON_Q_MSIX | 2 << 8:
		return q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE | 2 << 8:
		return q ? q->enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF | 2 << 8:
		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO | 4 << 8:
		return q ? (uint32_t)q->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI | 4 << 8:
		return q ? (uint32_t)(q->desc >> 32) : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO | 4 << 8:
		return q ? (uint32_t)q->driver : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI | 4 << 8:
		return q ? (uint32_t)(q->driver >> 32) : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO | 4 << 8:
		return q ? (uint32_t)q->device : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI | 4 << 8:
		return q ? (uint32_t)(q->device >> 32) : 0;
	}
	return 0; /* a reserved offset or a width the field does not have */
}

static void set_half(uint64_t *v, bool hi, uint32_t val)
{
	if (hi)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static uint16_t checked_vector(const struct virtio_pci *vp, uint32_t val)
{
	/* A vector the table does not have reads back as NO_VECTOR (spec 4.1.5.1.2). */
	return val < vp->nr_vectors ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

/* Everything but the status register; vp->lock held. */
static void common_write(struct virtio_pci *vp, unsigned int off, unsigned int size, uint32_t val)
{
	struct virtio_pci_queue *q = selected_queue(vp);

	switch (off | size << 8) {
	case VIRTIO_PCI_COMMON_DFSELECT | 4 << 8:
		vp->dfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT | 4 << 8:
		vp->gfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GF | 4 << 8:
		/* Fixed once FEATURES_OK is set; only two words exist. */
		if (!(vp->status & VIRTIO_STATUS_FEATURES_OK) && vp->gfselect < 2)
			set_half(&vp->driver_features, vp->gfselect == 1, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX | 2 << 8:
		vp->config_vector = checked_vector(vp, val);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT | 2 << 8:
		vp->queue_select = (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE | 2 << 8:
		/* Checked (power of 2, <= max) by virtq_enable() at DRIVER_OK. */
		if (queue_writable(vp, q))
			q->size = (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX | 2 << 8:
		if (q)
			q->msix_vector = checked_vector(vp, val);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE | 2 << 8:
		/* Writing 0 is not allowed without VIRTIO_F_RING_RESET: ignored. */
		if (queue_writable(vp, q) && val == 1)
			q->enabled = q->size <= vp->dev->queue_max_size;
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_DESCHI | 4 << 8:
		if (queue_writable(vp, q))
			set_half(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_AVAILHI | 4 << 8:
		if (queue_writable(vp, q))
			set_half(&q->driver, off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_USEDHI | 4 << 8:
		if (queue_writable(vp, q))
			set_half(&q->device, off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
		break;
	}
}

/* --- MSI-X table and PBA (vp->lock held) --- */

static uint64_t msix_table_read(struct virtio_pci *vp, unsigned int off, unsigned int size)
{
	unsigned int vec = off / 16, word = (off % 16) / 4;
	const uint32_t *e;
	uint64_t v;

	if (vec >= vp->nr_vectors)
		return 0;
	e = &vp->msix[vec].addr_lo;
	v = e[word];
	if (size == 8 && word % 2 == 0)
		v |= (uint64_t)e[word + 1] << 32;
	return v;
}

static void msix_table_write(struct virtio_pci *vp, unsigned int off, unsigned int size,
			     uint64_t val)
{
	unsigned int vec = off / 16, word = (off % 16) / 4;
	struct virtio_pci_msix_entry *e;
	struct virtio_pci_msix_entry old;
	uint32_t *w;

	if (vec >= vp->nr_vectors)
		return;
	e = &vp->msix[vec];
	old = *e;
	w = &e->addr_lo;
	w[word] = (uint32_t)val;
	if (size == 8 && word % 2 == 0)
		w[word + 1] = (uint32_t)(val >> 32);
	e->ctrl &= 1; /* only the mask bit is defined */

	if (e->addr_lo != old.addr_lo || e->addr_hi != old.addr_hi || e->data != old.data)
		vp->plat.msi_route(vp->plat.ctx, vec, (uint64_t)e->addr_hi << 32 | e->addr_lo,
				   e->data);
	if ((old.ctrl & 1) && !(e->ctrl & 1))
		deliver_pending(vp);
}

/* --- BAR 0 --- */

static bool bar_access_ok(unsigned int off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) && off % size == 0;
}

static void bar_read(struct virtio_pci *vp, unsigned int off, void *data, unsigned int size)
{
	struct virtio_dev *dev = vp->dev;
	unsigned int region = off & ~(VIRTIO_PCI_REGION_SIZE - 1);
	unsigned int roff = off - region;
	uint64_t v = 0;

	if (!bar_access_ok(off, size)) {
		dev_data_ones(data, size);
		return;
	}
	if (region == VIRTIO_PCI_DEVICE_OFF) {
		if (roff + size <= dev->config_len)
			dev->ops->config_read(dev, roff, data, size);
		else
			dev_data_put(data, size, 0);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	switch (region) {
	case VIRTIO_PCI_COMMON_OFF:
		v = size <= 4 ? common_read(vp, roff, size) : 0;
		break;
	case VIRTIO_PCI_ISR_OFF:
		/* Reading acknowledges the interrupt (spec 4.1.4.5). */
		if (roff == 0) {
			v = vp->isr;
			vp->isr = 0;
			lower_intx(vp);
		}
		break;
	case VIRTIO_PCI_MSIX_OFF:
		if (size >= 4)
			v = msix_table_read(vp, roff, size);
		break;
	case VIRTIO_PCI_PBA_OFF:
		if (roff < sizeof(vp->pba) && size >= 4)
			v = ((const uint64_t *)vp->pba)[roff / 8] >> (8 * (roff % 8));
		break;
	}
	pthread_mutex_unlock(&vp->lock);
	dev_data_put(data, size, v);
}

static void notify_write(struct virtio_pci *vp, unsigned int roff)
{
	unsigned int q = roff / VIRTIO_PCI_NOTIFY_MULT;

	/* Reached only when the ioeventfd did not catch the write (e.g. its size). */
	if (roff % VIRTIO_PCI_NOTIFY_MULT == 0 && q < vp->dev->nr_queues)
		eventfd_write(vp->dev->kick_fd[q], 1);
}

static void bar_write(struct virtio_pci *vp, unsigned int off, const void *data, unsigned int size)
{
	struct virtio_dev *dev = vp->dev;
	unsigned int region = off & ~(VIRTIO_PCI_REGION_SIZE - 1);
	unsigned int roff = off - region;
	uint64_t v = dev_data_get(data, size);

	if (!bar_access_ok(off, size))
		return;
	switch (region) {
	case VIRTIO_PCI_COMMON_OFF:
		if (roff == VIRTIO_PCI_COMMON_STATUS && size == 1) {
			pthread_mutex_lock(&vp->status_lock);
			status_write(vp, (uint8_t)v);
			pthread_mutex_unlock(&vp->status_lock);
		} else if (size <= 4) {
			pthread_mutex_lock(&vp->lock);
			common_write(vp, roff, size, (uint32_t)v);
			pthread_mutex_unlock(&vp->lock);
		}
		break;
	case VIRTIO_PCI_DEVICE_OFF:
		if (roff + size <= dev->config_len && dev->ops->config_write)
			dev->ops->config_write(dev, roff, data, size);
		break;
	case VIRTIO_PCI_NOTIFY_OFF:
		notify_write(vp, roff);
		break;
	case VIRTIO_PCI_MSIX_OFF:
		if (size >= 4) {
			pthread_mutex_lock(&vp->lock);
			msix_table_write(vp, roff, size, v);
			pthread_mutex_unlock(&vp->lock);
		}
		break;
	}
}

static void bar_bus_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct virtio_pci *vp = opaque;

	if (!atomic_load_explicit(&vp->decode, memory_order_acquire) ||
	    off >= VIRTIO_PCI_BAR_SIZE) {
		dev_data_ones(data, size);
		return;
	}
	bar_read(vp, (unsigned int)off, data, size);
}

static void bar_bus_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct virtio_pci *vp = opaque;

	if (atomic_load_explicit(&vp->decode, memory_order_acquire) && off < VIRTIO_PCI_BAR_SIZE)
		bar_write(vp, (unsigned int)off, data, size);
}

const struct bus_ops virtio_pci_bar_ops = {
    .read = bar_bus_read,
    .write = bar_bus_write,
};

/* --- PCI configuration space (called with the PCI bus lock held) --- */

static bool in_field(unsigned int off, unsigned int size, unsigned int field, unsigned int len)
{
	return off < field + len && field < off + size;
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG: a window into BAR 0 through config space, for
 * drivers that cannot map the BAR (spec 4.1.4.9). The access goes to the
 * registers even while memory decoding is off.
 */
static bool pcicfg_window(struct virtio_pci *vp, unsigned int off, unsigned int size, uint32_t *val,
			  bool write)
{
	unsigned int cap = (unsigned int)vp->pcicfg_cap;
	uint32_t bar_off, len;
	uint8_t buf[4];

	if (off != cap + CAP_DATA)
		return false;
	bar_off = pci_cfg_read(&vp->cfg, cap + CAP_OFFSET, 4);
	len = pci_cfg_read(&vp->cfg, cap + CAP_LENGTH, 4);
	if (pci_cfg_read(&vp->cfg, cap + CAP_BAR, 1) != 0 || (len != 1 && len != 2 && len != 4) ||
	    len > size || bar_off >= VIRTIO_PCI_BAR_SIZE) {
		if (!write)
			*val = 0xffffffffu;
		return true;
	}
	if (write) {
		dev_data_put(buf, len, *val);
		bar_write(vp, bar_off, buf, len);
	} else {
		bar_read(vp, bar_off, buf, len);
		*val = (uint32_t)dev_data_get(buf, len);
	}
	return true;
}

static uint32_t vp_cfg_read(void *opaque, unsigned off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint32_t v;

	if (pcicfg_window(vp, off, size, &v, false))
		return v;
	return pci_cfg_read(&vp->cfg, off, size);
}

static void update_decode(struct virtio_pci *vp)
{
	bool on = (pci_cfg_get16(&vp->cfg, PCI_COMMAND) & PCI_COMMAND_MEMORY) &&
		  pci_cfg_bar_addr(&vp->cfg, 0) == vp->bar_addr;

	if (atomic_exchange_explicit(&vp->decode, on, memory_order_acq_rel) != on)
		update_kick_binding(vp);
}

/*
 * PCI_COMMAND_MASTER changed or was rewritten: start a device whose
 * DRIVER_OK waited for it, release the MSI-X messages it held, or stop a
 * running device (see pci.h).
 */
static void bus_master_update(struct virtio_pci *vp)
{
	bool on = pci_cfg_get16(&vp->cfg, PCI_COMMAND) & PCI_COMMAND_MASTER;
	bool start;

	pthread_mutex_lock(&vp->status_lock);
	pthread_mutex_lock(&vp->lock);
	if (on == vp->bus_master) {
		pthread_mutex_unlock(&vp->lock);
		pthread_mutex_unlock(&vp->status_lock);
		return;
	}
	vp->bus_master = on;
	start = on && !vp->running &&
		(vp->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ==
		    VIRTIO_STATUS_DRIVER_OK;
	if (on)
		deliver_pending(vp);
	pthread_mutex_unlock(&vp->lock);

	if (start) {
		device_start_or_flag(vp);
	} else if (!on && vp->running) {
		vp->dev->ops->reset(vp->dev); /* returns once nothing is in flight */
		vp->running = false;
		update_kick_binding(vp);
		pthread_mutex_lock(&vp->lock);
		vp->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		config_changed(vp); /* INTx now, or an MSI-X message held pending */
		pthread_mutex_unlock(&vp->lock);
	}
	pthread_mutex_unlock(&vp->status_lock);
}

static void vp_cfg_write(void *opaque, unsigned off, unsigned size, uint32_t val)
{
	struct virtio_pci *vp = opaque;
	unsigned int changed;
	uint16_t ctrl;

	if (pcicfg_window(vp, off, size, &val, true))
		return;
	changed = pci_cfg_write(&vp->cfg, off, size, val);
	if (changed & (PCI_CFG_CHANGED_BAR(0) | PCI_CFG_CHANGED_BAR(1) | PCI_CFG_CHANGED_COMMAND))
		update_decode(vp);
	if (changed & PCI_CFG_CHANGED_COMMAND) {
		bus_master_update(vp);
		pthread_mutex_lock(&vp->lock);
		vp->intx_disabled = pci_cfg_get16(&vp->cfg, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
		if (vp->intx_disabled)
			lower_intx(vp);
		else if (vp->isr && !vp->msix_enabled && !vp->intx_level)
			deliver(vp, VIRTIO_MSI_NO_VECTOR, 0); /* a cause held while disabled */
		pthread_mutex_unlock(&vp->lock);
	}
	if (!in_field(off, size, (unsigned int)vp->msix_cap + 2, 2))
		return;
	ctrl = pci_cfg_get16(&vp->cfg, (unsigned int)vp->msix_cap + 2);
	pthread_mutex_lock(&vp->lock);
	vp->msix_enabled = ctrl & PCI_MSIX_ENABLE;
	vp->msix_masked = ctrl & PCI_MSIX_MASKALL;
	if (vp->msix_enabled)
		lower_intx(vp); /* INTx is not used while MSI-X is on */
	deliver_pending(vp);
	pthread_mutex_unlock(&vp->lock);
}

const struct pci_dev_ops virtio_pci_cfg_ops = {
    .cfg_read = vp_cfg_read,
    .cfg_write = vp_cfg_write,
};

/* --- set-up --- */

static int add_virtio_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t length,
			  const void *extra, unsigned int extra_len)
{
	uint8_t body[VIRTIO_CAP_NOTIFY_LEN - 2];
	struct virtio_cap_body b = {
	    .cap_len = (uint8_t)(VIRTIO_CAP_LEN + extra_len),
	    .cfg_type = type,
	    .bar = 0,
	    .offset = offset,
	    .length = length,
	};

	memcpy(body, &b, sizeof(b));
	if (extra_len)
		memcpy(body + sizeof(b), extra, extra_len);
	return pci_cfg_add_cap(&vp->cfg, PCI_CAP_ID_VNDR, body, sizeof(b) + extra_len);
}

static uint32_t pci_class_of(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* mass storage, other */
	case VIRTIO_ID_NET:
		return 0x020000; /* ethernet */
	case VIRTIO_ID_SCSI:
		return 0x010000; /* SCSI */
	}
	return 0xff0000;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *dev, struct guest_mem *mem,
		    const struct virtio_pci_platform *plat, uint64_t bar_addr)
{
	uint32_t mult = VIRTIO_PCI_NOTIFY_MULT, zero = 0;
	uint8_t msix[10];
	uint16_t ctrl;
	uint32_t table, pba;
	int r;

	memset(vp, 0, sizeof(*vp));
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		dev->kick_fd[i] = -1;
	if (!dev->ops || dev->nr_queues == 0 || dev->nr_queues > VIRTIO_MAX_QUEUES ||
	    dev->config_len > VIRTIO_PCI_REGION_SIZE || !dev->queue_max_size ||
	    (dev->queue_max_size & (dev->queue_max_size - 1)) || bar_addr % VIRTIO_PCI_BAR_SIZE)
		return -EINVAL;
	vp->dev = dev;
	vp->mem = mem;
	vp->plat = *plat;
	vp->bar_addr = bar_addr;
	vp->nr_vectors = dev->nr_queues + 1;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vp->status_lock, NULL);
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->bind_lock, NULL);
	vp->kicks_bound = true; /* the platform binds them at attach */
	for (unsigned int i = 0; i < vp->nr_vectors; i++)
		vp->msix[i].ctrl = 1; /* vectors start masked (PCI 6.8.2.9) */
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		vp->queues[i] = (struct virtio_pci_queue){
		    .size = dev->queue_max_size,
		    .msix_vector = VIRTIO_MSI_NO_VECTOR,
		};
		virtq_reset(&dev->vqs[i]);
		dev->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->kick_fd[i] < 0) {
			r = -errno;
			virtio_pci_destroy(vp);
			return r;
		}
	}
	dev->device_features |= 1ULL << VIRTIO_F_VERSION_1;
	dev->transport_ops = &transport_ops;
	dev->transport = vp;

	pci_cfg_init(&vp->cfg, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + dev->device_id,
		     pci_class_of(dev->device_id), 1, VIRTIO_PCI_VENDOR, 0x40 + dev->device_id);
	if ((r = pci_cfg_set_bar(&vp->cfg, 0, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM64)) < 0)
		goto fail;
	pci_cfg_put32(&vp->cfg, PCI_BAR0, (uint32_t)bar_addr | PCI_BAR_MEM64);
	pci_cfg_put32(&vp->cfg, PCI_BAR0 + 4, (uint32_t)(bar_addr >> 32));

	if ((r = add_virtio_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
				VIRTIO_PCI_COMMON_SIZE, NULL, 0)) < 0 ||
	    (r = add_virtio_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
				dev->nr_queues * VIRTIO_PCI_NOTIFY_MULT, &mult, 4)) < 0 ||
	    (r = add_virtio_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, NULL, 0)) < 0)
		goto fail;
	if (dev->config_len &&
	    (r = add_virtio_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
				dev->config_len, NULL, 0)) < 0)
		goto fail;
	if ((r = add_virtio_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, &zero, 4)) < 0)
		goto fail;
	vp->pcicfg_cap = r;
	pci_cfg_set_wmask(&vp->cfg, (unsigned int)r + CAP_BAR, 1, 0xff);
	pci_cfg_set_wmask(&vp->cfg, (unsigned int)r + CAP_OFFSET, 4, 0xffffffffu);
	pci_cfg_set_wmask(&vp->cfg, (unsigned int)r + CAP_LENGTH, 4, 0xffffffffu);

	/* MSI-X: message control, table offset/BIR, PBA offset/BIR (PCI 6.8.2). */
	ctrl = (uint16_t)(vp->nr_vectors - 1);
	table = VIRTIO_PCI_MSIX_OFF; /* BIR 0 */
	pba = VIRTIO_PCI_PBA_OFF;
	memcpy(msix, &ctrl, 2);
	memcpy(msix + 2, &table, 4);
	memcpy(msix + 6, &pba, 4);
	if ((r = pci_cfg_add_cap(&vp->cfg, PCI_CAP_ID_MSIX, msix, sizeof(msix))) < 0)
		goto fail;
	vp->msix_cap = r;
	pci_cfg_set_wmask(&vp->cfg, (unsigned int)r + 2, 2, PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	return 0;
fail:
	virtio_pci_destroy(vp);
	return r;
}

void virtio_pci_set_intx(struct virtio_pci *vp, uint8_t line)
{
	pci_cfg_set_intx(&vp->cfg, 1, line);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	struct virtio_dev *dev = vp->dev;

	if (!dev)
		return;
	pthread_mutex_lock(&vp->status_lock);
	device_reset(vp);
	pthread_mutex_unlock(&vp->status_lock);
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		if (dev->kick_fd[i] >= 0)
			close(dev->kick_fd[i]);
		dev->kick_fd[i] = -1;
	}
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->status_lock);
	pthread_mutex_destroy(&vp->bind_lock);
	vp->dev = NULL;
}
