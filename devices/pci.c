/* SPDX-License-Identifier: MIT */
#include "devices/pci.h"

#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

#define CONFIG_ADDR_ENABLE     0x80000000u
#define CONFIG_ADDR_MASK       0x80fffffcu /* enable, bus, device, function, dword */
#define RESET_CONTROL_SYS_RST  0x02
#define RESET_CONTROL_RST_CPU  0x04
#define RESET_CONTROL_FULL_RST 0x08
#define PCI_STATUS_W1C	       0xf900u /* the error bits */

static const char cf9_why[] = "guest reboot (0xcf9 reset)";

static bool access_ok(unsigned off, unsigned size, unsigned limit)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) && off < limit;
}

static uint32_t size_mask(unsigned size)
{
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* --- standard header helper --- */

uint16_t pci_cfg_get16(const struct pci_cfg *cfg, unsigned off)
{
	return (uint16_t)(cfg->data[off] | cfg->data[off + 1] << 8);
}

void pci_cfg_put16(struct pci_cfg *cfg, unsigned off, uint16_t v)
{
	cfg->data[off] = (uint8_t)v;
	cfg->data[off + 1] = (uint8_t)(v >> 8);
}

void pci_cfg_put32(struct pci_cfg *cfg, unsigned off, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		cfg->data[off + i] = (uint8_t)(v >> (8 * i));
}

void pci_cfg_set_wmask(struct pci_cfg *cfg, unsigned off, unsigned size, uint32_t mask)
{
	for (unsigned i = 0; i < size && off + i < PCI_CFG_SPACE_SIZE; i++)
		cfg->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

void pci_cfg_init(struct pci_cfg *cfg, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(cfg, 0, sizeof(*cfg));
	pci_cfg_put16(cfg, PCI_VENDOR_ID, vendor);
	pci_cfg_put16(cfg, PCI_DEVICE_ID, device);
	cfg->data[PCI_REVISION_ID] = revision;
	cfg->data[PCI_CLASS_PROG] = (uint8_t)class_code;
	cfg->data[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
	cfg->data[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
	pci_cfg_put16(cfg, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_cfg_put16(cfg, PCI_SUBSYSTEM_ID, subsys_id);
	pci_cfg_set_wmask(cfg, PCI_COMMAND, 2,
			  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			      PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	cfg->w1c[PCI_STATUS] = (uint8_t)PCI_STATUS_W1C;
	cfg->w1c[PCI_STATUS + 1] = (uint8_t)(PCI_STATUS_W1C >> 8);
	cfg->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	cfg->wmask[PCI_LATENCY_TIMER] = 0xff;
	cfg->wmask[PCI_INTERRUPT_LINE] = 0xff;
	cfg->cap_end = PCI_CAP_START;
}

void pci_cfg_set_intx(struct pci_cfg *cfg, uint8_t pin, uint8_t line)
{
	cfg->data[PCI_INTERRUPT_PIN] = pin;
	cfg->data[PCI_INTERRUPT_LINE] = line;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_cfg_set_bar(struct pci_cfg *cfg, unsigned bar, uint64_t size, unsigned flags)
{
	unsigned off = PCI_BAR0 + 4 * bar;
	uint64_t mask;

	if (bar >= PCI_NR_BARS || !is_pow2(size))
		return -EINVAL;
	if (flags & PCI_BAR_IO) {
		if (flags != PCI_BAR_IO || size < 4 || size > 0x10000)
			return -EINVAL;
		pci_cfg_put32(cfg, off, PCI_BAR_IO);
		pci_cfg_set_wmask(cfg, off, 4, (uint32_t) ~(size - 1) & ~3u);
	} else if (flags & PCI_BAR_MEM64) {
		if (bar + 1 >= PCI_NR_BARS || size < 16 || size > (1ull << 63) ||
		    (flags & ~(PCI_BAR_MEM64 | PCI_BAR_PREFETCH)))
			return -EINVAL;
		mask = ~(size - 1);
		pci_cfg_put32(cfg, off, flags);
		pci_cfg_put32(cfg, off + 4, 0);
		pci_cfg_set_wmask(cfg, off, 4, (uint32_t)mask & ~0xfu);
		pci_cfg_set_wmask(cfg, off + 4, 4, (uint32_t)(mask >> 32));
		cfg->bar_size[bar + 1] = 0;
	} else {
		if (size < 16 || size > (1ull << 31) || (flags & ~PCI_BAR_PREFETCH))
			return -EINVAL;
		pci_cfg_put32(cfg, off, flags);
		pci_cfg_set_wmask(cfg, off, 4, (uint32_t) ~(size - 1) & ~0xfu);
	}
	cfg->bar_size[bar] = size;
	return 0;
}

static uint32_t get32(const struct pci_cfg *cfg, unsigned off)
{
	return (uint32_t)cfg->data[off] | (uint32_t)cfg->data[off + 1] << 8 |
	       (uint32_t)cfg->data[off + 2] << 16 | (uint32_t)cfg->data[off + 3] << 24;
}

static bool bar_is_mem64(const struct pci_cfg *cfg, unsigned bar)
{
	return cfg->bar_size[bar] && !(cfg->data[PCI_BAR0 + 4 * bar] & PCI_BAR_IO) &&
	       (cfg->data[PCI_BAR0 + 4 * bar] & PCI_BAR_MEM64);
}

uint64_t pci_cfg_bar_addr(const struct pci_cfg *cfg, unsigned bar)
{
	uint32_t lo;

	if (bar >= PCI_NR_BARS || !cfg->bar_size[bar])
		return 0;
	lo = get32(cfg, PCI_BAR0 + 4 * bar);
	if (lo & PCI_BAR_IO)
		return lo & ~3u;
	if (bar_is_mem64(cfg, bar))
		return (lo & ~0xfull) | (uint64_t)get32(cfg, PCI_BAR0 + 4 * (bar + 1)) << 32;
	return lo & ~0xfu;
}

int pci_cfg_add_cap(struct pci_cfg *cfg, uint8_t cap_id, const void *body, unsigned len)
{
	unsigned off = cfg->cap_end;

	if (len > PCI_CFG_SPACE_SIZE || off + 2 + len > PCI_CFG_SPACE_SIZE)
		return -ENOSPC;
	cfg->data[off] = cap_id;
	cfg->data[off + 1] = 0;
	if (body)
		memcpy(&cfg->data[off + 2], body, len);
	else
		memset(&cfg->data[off + 2], 0, len);
	if (cfg->cap_last)
		cfg->data[cfg->cap_last + 1] = (uint8_t)off;
	else
		cfg->data[PCI_CAPABILITY_LIST] = (uint8_t)off;
	cfg->data[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	cfg->cap_last = (uint8_t)off;
	cfg->cap_end = (uint16_t)((off + 2 + len + 3) & ~3u);
	return (int)off;
}

uint32_t pci_cfg_read(const struct pci_cfg *cfg, unsigned off, unsigned size)
{
	uint32_t v = 0;

	if (!access_ok(off, size, PCI_CFG_EXT_SIZE))
		return 0xffffffffu;
	if (off >= PCI_CFG_SPACE_SIZE)
		return 0; /* no extended capabilities */
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)cfg->data[off + i] << (8 * i);
	return v;
}

/* The BAR register a config byte belongs to, folding a 64-bit BAR's high half. */
static int bar_of_byte(const struct pci_cfg *cfg, unsigned o)
{
	unsigned bar;

	if (o < PCI_BAR0 || o >= PCI_BAR0 + 4 * PCI_NR_BARS)
		return -1;
	bar = (o - PCI_BAR0) / 4;
	if (!cfg->bar_size[bar] && bar > 0 && bar_is_mem64(cfg, bar - 1))
		return (int)bar - 1;
	return (int)bar;
}

unsigned pci_cfg_write(struct pci_cfg *cfg, unsigned off, unsigned size, uint32_t val)
{
	unsigned changed = 0;

	if (!access_ok(off, size, PCI_CFG_SPACE_SIZE))
		return 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t old = cfg->data[o];
		uint8_t now = (uint8_t)((old & ~cfg->wmask[o]) | (b & cfg->wmask[o]));
		int bar;

		now &= (uint8_t) ~(b & cfg->w1c[o]);
		if (now == old)
			continue;
		cfg->data[o] = now;
		bar = bar_of_byte(cfg, o);
		if (bar >= 0)
			changed |= PCI_CFG_CHANGED_BAR(bar);
		else if (o == PCI_COMMAND || o == PCI_COMMAND + 1)
			changed |= PCI_CFG_CHANGED_COMMAND;
	}
	return changed;
}

/* --- the bus --- */

static uint32_t host_bridge_read(void *opaque, unsigned off, unsigned size)
{
	return pci_cfg_read(opaque, off, size);
}

static void host_bridge_write(void *opaque, unsigned off, unsigned size, uint32_t val)
{
	pci_cfg_write(opaque, off, size, val);
}

static const struct pci_dev_ops host_bridge_ops = {
    .cfg_read = host_bridge_read,
    .cfg_write = host_bridge_write,
};

int pci_bus_init(struct pci_bus *pci, const struct dev_stop *stop)
{
	int err;

	memset(pci, 0, sizeof(*pci));
	err = pthread_mutex_init(&pci->lock, NULL);
	if (err)
		return -err;
	if (stop)
		pci->stop = *stop;
	pci_cfg_init(&pci->host_bridge, PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_CLASS_HOST_BRIDGE, 0,
		     0, 0);
	/* The bridge decodes nothing of its own; memory and I/O are always on. */
	pci_cfg_put16(&pci->host_bridge, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	pci->slots[0].ops = &host_bridge_ops;
	pci->slots[0].opaque = &pci->host_bridge;
	return 0;
}

void pci_bus_destroy(struct pci_bus *pci)
{
	pthread_mutex_destroy(&pci->lock);
}

int pci_add_device(struct pci_bus *pci, unsigned slot, const struct pci_dev_ops *ops, void *opaque)
{
	int err = 0;

	if (slot == 0 || slot >= PCI_NR_SLOTS || !ops || !ops->cfg_read || !ops->cfg_write)
		return -EINVAL;
	pthread_mutex_lock(&pci->lock);
	if (pci->slots[slot].ops) {
		err = -EBUSY;
	} else {
		pci->slots[slot].ops = ops;
		pci->slots[slot].opaque = opaque;
	}
	pthread_mutex_unlock(&pci->lock);
	return err;
}

static const struct pci_slot *find_slot(const struct pci_bus *pci, unsigned bus, unsigned slot,
					unsigned fn, unsigned off, unsigned size)
{
	if (bus != 0 || slot >= PCI_NR_SLOTS || fn != 0 || !access_ok(off, size, PCI_CFG_EXT_SIZE))
		return NULL;
	return pci->slots[slot].ops ? &pci->slots[slot] : NULL;
}

static uint32_t cfg_read_locked(struct pci_bus *pci, unsigned bus, unsigned slot, unsigned fn,
				unsigned off, unsigned size)
{
	const struct pci_slot *s = find_slot(pci, bus, slot, fn, off, size);

	if (!s)
		return size_mask(size);
	return s->ops->cfg_read(s->opaque, off, size) & size_mask(size);
}

static void cfg_write_locked(struct pci_bus *pci, unsigned bus, unsigned slot, unsigned fn,
			     unsigned off, unsigned size, uint32_t val)
{
	const struct pci_slot *s = find_slot(pci, bus, slot, fn, off, size);

	if (s)
		s->ops->cfg_write(s->opaque, off, size, val & size_mask(size));
}

uint32_t pci_bus_cfg_read(struct pci_bus *pci, unsigned bus, unsigned slot, unsigned fn,
			  unsigned off, unsigned size)
{
	uint32_t v;

	pthread_mutex_lock(&pci->lock);
	v = cfg_read_locked(pci, bus, slot, fn, off, size);
	pthread_mutex_unlock(&pci->lock);
	return v;
}

void pci_bus_cfg_write(struct pci_bus *pci, unsigned bus, unsigned slot, unsigned fn, unsigned off,
		       unsigned size, uint32_t val)
{
	pthread_mutex_lock(&pci->lock);
	cfg_write_locked(pci, bus, slot, fn, off, size, val);
	pthread_mutex_unlock(&pci->lock);
}

/* The data window at 0xcfc-0xcff: an access must stay inside the dword. */
static bool data_access_ok(uint64_t off, uint32_t size)
{
	return off >= 4 && off < 8 && (size == 1 || size == 2 || size == 4) &&
	       !((off - 4) & (size - 1));
}

void pci_io_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct pci_bus *pci = opaque;
	uint32_t v = 0xffffffffu, a;

	pthread_mutex_lock(&pci->lock);
	if (off == 0 && size == 4) {
		v = pci->config_addr;
	} else if (off == 1 && size == 1) {
		v = pci->reset_control;
	} else if (data_access_ok(off, size)) {
		a = pci->config_addr;
		if (a & CONFIG_ADDR_ENABLE)
			v = cfg_read_locked(pci, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
					    (a & 0xfc) + (unsigned)(off - 4), size);
	}
	pthread_mutex_unlock(&pci->lock);
	if (size <= 4)
		dev_data_put(data, size, v);
	else
		dev_data_ones(data, size);
}

void pci_io_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct pci_bus *pci = opaque;
	uint32_t v = (uint32_t)dev_data_get(data, size), a;
	bool reset = false;

	pthread_mutex_lock(&pci->lock);
	if (off == 0 && size == 4) {
		pci->config_addr = v & CONFIG_ADDR_MASK;
	} else if (off == 1 && size == 1) {
		pci->reset_control = v & (RESET_CONTROL_SYS_RST | RESET_CONTROL_FULL_RST);
		reset = v & RESET_CONTROL_RST_CPU;
	} else if (data_access_ok(off, size)) {
		a = pci->config_addr;
		if (a & CONFIG_ADDR_ENABLE)
			cfg_write_locked(pci, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
					 (a & 0xfc) + (unsigned)(off - 4), size, v);
	}
	pthread_mutex_unlock(&pci->lock);
	if (reset)
		dev_stop_request(&pci->stop, 0, cf9_why);
}

void pci_ecam_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct pci_bus *pci = opaque;
	uint32_t v;

	if (off >= PCI_ECAM_BUS_SIZE || size > 4) {
		dev_data_ones(data, size);
		return;
	}
	v = pci_bus_cfg_read(pci, 0, (unsigned)(off >> 15), (unsigned)(off >> 12) & 7,
			     (unsigned)off & 0xfff, size);
	dev_data_put(data, size, v);
}

void pci_ecam_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct pci_bus *pci = opaque;

	if (off >= PCI_ECAM_BUS_SIZE || size > 4)
		return;
	pci_bus_cfg_write(pci, 0, (unsigned)(off >> 15), (unsigned)(off >> 12) & 7,
			  (unsigned)off & 0xfff, size, (uint32_t)dev_data_get(data, size));
}

static const struct bus_ops pci_io_ops = {.read = pci_io_read, .write = pci_io_write};
static const struct bus_ops pci_ecam_ops = {.read = pci_ecam_read, .write = pci_ecam_write};

int pci_bus_attach(struct pci_bus *pci, struct bus *pio)
{
	return bus_register(pio, PCI_CONFIG_ADDR_PORT, 8, "pci-cfg", &pci_io_ops, pci);
}

int pci_bus_attach_ecam(struct pci_bus *pci, struct bus *mmio, uint64_t base)
{
	return bus_register(mmio, base, PCI_ECAM_BUS_SIZE, "pci-ecam", &pci_ecam_ops, pci);
}
