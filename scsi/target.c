/* SPDX-License-Identifier: MIT */
#include "scsi/target.h"

#include <errno.h>
#include <string.h>

#include "scsi/bytes.h"

#define VENDOR	 "NESTVMM "	    /* T10 vendor identification: 8 bytes */
#define PRODUCT	 "VIRTUAL DISK    " /* 16 bytes */
#define REVISION "0001"		    /* 4 bytes */

#define INQUIRY_STD_LEN 36

/* Peripheral device type: direct access block device; qualifier 3: no LU here. */
#define PDT_DISK   0x00
#define PDT_NO_LUN 0x7f

/* The mode pages answered (SBC-4 6.5), in ascending order as page 0x3f returns them. */
#define MODE_PAGE_RW_ERROR 0x01
#define MODE_PAGE_CACHING  0x08
#define MODE_PAGE_CONTROL  0x0a
#define MODE_PAGE_ALL	   0x3f

static int done(struct scsi_plan *plan, enum scsi_dir dir, uint64_t data_len)
{
	plan->action = SCSI_ACT_DONE;
	plan->status = SCSI_STATUS_GOOD;
	plan->dir = dir;
	plan->data_len = data_len;
	return 0;
}

static int check(struct scsi_plan *plan, struct scsi_error e)
{
	plan->action = SCSI_ACT_DONE;
	plan->status = SCSI_STATUS_CHECK_CONDITION;
	plan->err = e;
	plan->dir = SCSI_DIR_NONE;
	plan->data_len = 0;
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- REPORT SUPPORTED OPERATION CODES: the command set, with each CDB's usage data ---- */

struct opcode_info {
	uint8_t opcode;
	bool has_sa;
	uint16_t sa;
	uint8_t len;
	/*
	 * CDB USAGE DATA (SPC-4 6.35.3): the bits this target looks at (byte
	 * 0 is replaced by the opcode, the service action bits by its value). A bit that is refused when set (NACA, RDPROTECT,
	 * BYTCHK) is not "supported" and stays clear.
	 */
	uint8_t usage[16];
};

static const struct opcode_info opcodes[] = {
    {SCSI_TEST_UNIT_READY, false, 0, 6, {0xff, 0, 0, 0, 0, 0}},
    {SCSI_REQUEST_SENSE, false, 0, 6, {0xff, 0, 0, 0, 0xff, 0}},
    {SCSI_READ_6, false, 0, 6, {0xff, 0x1f, 0xff, 0xff, 0xff, 0}},
    {SCSI_WRITE_6, false, 0, 6, {0xff, 0x1f, 0xff, 0xff, 0xff, 0}},
    {SCSI_INQUIRY, false, 0, 6, {0xff, 0x01, 0xff, 0xff, 0xff, 0}},
    {SCSI_MODE_SENSE_6, false, 0, 6, {0xff, 0x08, 0xff, 0xff, 0xff, 0}},
    {SCSI_START_STOP_UNIT, false, 0, 6, {0xff, 0x01, 0, 0x0f, 0xf7, 0}},
    {SCSI_PREVENT_ALLOW, false, 0, 6, {0xff, 0, 0, 0, 0x03, 0}},
    {SCSI_READ_CAPACITY_10, false, 0, 10, {0xff, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0}},
    {SCSI_READ_10, false, 0, 10, {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
    {SCSI_WRITE_10, false, 0, 10, {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
    {SCSI_VERIFY_10, false, 0, 10, {0xff, 0, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
    {SCSI_SYNCHRONIZE_CACHE_10,
     false,
     0,
     10,
     {0xff, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
    {SCSI_WRITE_SAME_10, false, 0, 10, {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
    {SCSI_UNMAP, false, 0, 10, {0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0}},
    {SCSI_MODE_SENSE_10, false, 0, 10, {0xff, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0}},
    {SCSI_READ_16,
     false,
     0,
     16,
     {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_WRITE_16,
     false,
     0,
     16,
     {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_VERIFY_16,
     false,
     0,
     16,
     {0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_SYNCHRONIZE_CACHE_16,
     false,
     0,
     16,
     {0xff, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_WRITE_SAME_16,
     false,
     0,
     16,
     {0xff, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_SERVICE_ACTION_IN,
     true,
     SCSI_SA_READ_CAPACITY_16,
     16,
     {0xff, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_REPORT_LUNS, false, 0, 12, {0xff, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_READ_12,
     false,
     0,
     12,
     {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_WRITE_12,
     false,
     0,
     12,
     {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
    {SCSI_MAINTENANCE_IN,
     true,
     SCSI_SA_REPORT_OPCODES,
     12,
     {0xff, 0x1f, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
};

#define NR_OPCODES (sizeof(opcodes) / sizeof(opcodes[0]))

_Static_assert(4 + 8 * NR_OPCODES <= SCSI_DATA_IN_MAX, "REPORT SUPPORTED OPERATION CODES fits");
_Static_assert(8 + 8 * SCSI_MAX_LUNS <= SCSI_DATA_IN_MAX, "REPORT LUNS fits");

static const struct opcode_info *find_opcode(uint8_t op, bool with_sa, uint16_t sa)
{
	for (size_t i = 0; i < NR_OPCODES; i++) {
		if (opcodes[i].opcode != op)
			continue;
		if (!with_sa || !opcodes[i].has_sa || opcodes[i].sa == sa)
			return &opcodes[i];
	}
	return NULL;
}

static bool opcode_has_sa(uint8_t op)
{
	return op == SCSI_SERVICE_ACTION_IN || op == SCSI_MAINTENANCE_IN;
}

static int report_opcodes(const uint8_t *cdb, uint8_t *buf, struct scsi_plan *plan)
{
	unsigned int options = cdb[2] & 0x07;
	uint8_t op = cdb[3];
	uint16_t sa = scsi_get16(cdb + 4);
	uint32_t alloc = scsi_get32(cdb + 6);
	const struct opcode_info *o;
	size_t n;

	/* RCTD: no command timeouts descriptor to return. */
	if (cdb[2] & 0x80)
		return check(plan, scsi_err_cdb_field(2, 7));
	switch (options) {
	case 0: /* all commands */
		n = 4;
		for (size_t i = 0; i < NR_OPCODES; i++) {
			uint8_t *d = buf + n;

			memset(d, 0, 8);
			d[0] = opcodes[i].opcode;
			scsi_put16(d + 2, opcodes[i].sa);
			d[5] = opcodes[i].has_sa ? 0x01 : 0; /* SERVACTV */
			scsi_put16(d + 6, opcodes[i].len);
			n += 8;
		}
		scsi_put32(buf, (uint32_t)(n - 4));
		return done(plan, SCSI_DIR_IN, min_u64(alloc, n));
	case 1: /* one opcode that has no service actions */
		if (opcode_has_sa(op))
			return check(plan, scsi_err_cdb_field(3, -1));
		if (sa)
			return check(plan, scsi_err_cdb_field(4, -1));
		o = find_opcode(op, false, 0);
		break;
	case 2: /* one opcode and service action */
		if (!opcode_has_sa(op))
			return check(plan, scsi_err_cdb_field(3, -1));
		o = find_opcode(op, true, sa);
		break;
	case 3: /* one opcode, with its service action if it has them */
		o = find_opcode(op, opcode_has_sa(op), sa);
		break;
	default:
		return check(plan, scsi_err_cdb_field(2, 2));
	}
	memset(buf, 0, 4);
	if (!o) {
		buf[1] = 0x01; /* SUPPORT: not supported */
		n = 4;
	} else {
		buf[1] = 0x03; /* SUPPORT: supported as the standard says */
		scsi_put16(buf + 2, o->len);
		memcpy(buf + 4, o->usage, o->len);
		/* The usage data opens with the opcode itself, and the service action's value. */
		buf[4] = o->opcode;
		if (o->has_sa)
			buf[5] = (uint8_t)((o->usage[1] & ~0x1f) | o->sa);
		n = 4 + (size_t)o->len;
	}
	return done(plan, SCSI_DIR_IN, min_u64(alloc, n));
}

/* ---- INQUIRY and the VPD pages ---- */

static void put_padded(uint8_t *p, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(p, ' ', n);
	memcpy(p, s, l < n ? l : n);
}

static size_t inquiry_standard(uint8_t pdt, uint8_t *buf)
{
	memset(buf, 0, INQUIRY_STD_LEN);
	buf[0] = pdt;
	buf[2] = 0x06;			   /* VERSION: SPC-4 */
	buf[3] = 0x12;			   /* HISUP, RESPONSE DATA FORMAT 2 */
	buf[4] = INQUIRY_STD_LEN - 5;	   /* ADDITIONAL LENGTH */
	buf[7] = 0x02;			   /* CMDQUE: tagged commands */
	put_padded(buf + 8, VENDOR, 8);	   /* T10 VENDOR IDENTIFICATION */
	put_padded(buf + 16, PRODUCT, 16); /* PRODUCT IDENTIFICATION */
	put_padded(buf + 32, REVISION, 4); /* PRODUCT REVISION LEVEL */
	return INQUIRY_STD_LEN;
}

static const uint8_t vpd_pages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};

/* VPD page @page of @l into @buf; 0: no such page. */
static size_t inquiry_vpd(const struct scsi_lun_info *l, uint8_t page, uint8_t *buf)
{
	size_t n = 4, len;

	memset(buf, 0, 64);
	buf[0] = PDT_DISK;
	buf[1] = page;
	switch (page) {
	case 0x00: /* supported VPD pages */
		memcpy(buf + 4, vpd_pages, sizeof(vpd_pages));
		n += sizeof(vpd_pages);
		break;
	case 0x80: /* unit serial number */
		len = strnlen(l->serial, sizeof(l->serial) - 1);
		memcpy(buf + 4, l->serial, len);
		n += len;
		break;
	case 0x83:		   /* device identification: NAA, then T10 vendor ID */
		buf[n] = 0x01;	   /* code set: binary */
		buf[n + 1] = 0x03; /* association: the LU; designator type: NAA */
		buf[n + 3] = 8;
		scsi_put64(buf + n + 4, l->naa);
		n += 12;
		len = strnlen(l->serial, sizeof(l->serial) - 1);
		buf[n] = 0x02;	   /* code set: ASCII */
		buf[n + 1] = 0x01; /* designator type: T10 vendor ID based */
		buf[n + 3] = (uint8_t)(8 + len);
		put_padded(buf + n + 4, VENDOR, 8);
		memcpy(buf + n + 12, l->serial, len);
		n += 12 + len;
		break;
	case 0xb0:	       /* block limits */
		buf[4] = 0x01; /* WSNZ: a WRITE SAME of zero blocks is refused */
		scsi_put16(buf + 6,
			   (uint16_t)(1u << l->phys_exp)); /* OPTIMAL TRANSFER GRANULARITY */
		scsi_put32(buf + 8, l->max_xfer_blocks);   /* MAXIMUM TRANSFER LENGTH */
		if (l->unmap) {
			scsi_put32(buf + 20, SCSI_MAX_UNMAP_BLOCKS);
			scsi_put32(buf + 24, SCSI_MAX_UNMAP_DESC);
			scsi_put32(buf + 28, 1u << l->phys_exp); /* OPTIMAL UNMAP GRANULARITY */
		}
		scsi_put64(buf + 36, SCSI_MAX_WRITE_SAME_BLOCKS);
		n = 64;
		break;
	case 0xb1:			/* block device characteristics */
		scsi_put16(buf + 4, 1); /* MEDIUM ROTATION RATE: non-rotating */
		n = 64;
		break;
	case 0xb2: /* logical block provisioning */
		if (l->unmap) {
			/* LBPU, LBPWS, LBPWS10; LBPRZ 001b: unmapped blocks read as zeroes */
			buf[5] = 0x80 | 0x40 | 0x20 | 0x04;
			buf[6] = 0x02; /* PROVISIONING TYPE: thin */
		}
		n = 8;
		break;
	default:
		return 0;
	}
	scsi_put16(buf + 2, (uint16_t)(n - 4));
	return n;
}

static int inquiry(const struct scsi_lun_info *l, const uint8_t *cdb, uint8_t *buf,
		   struct scsi_plan *plan)
{
	uint16_t alloc = scsi_get16(cdb + 3);
	size_t n;

	if (cdb[1] & 0xfe) /* CMDDT (obsolete) and reserved bits */
		return check(plan, scsi_err_cdb_field(1, cdb[1] & 0x02 ? 1 : 7));
	if (!(cdb[1] & 0x01)) {
		if (cdb[2])
			return check(plan, scsi_err_cdb_field(2, -1));
		n = inquiry_standard(l ? PDT_DISK : PDT_NO_LUN, buf);
		return done(plan, SCSI_DIR_IN, min_u64(alloc, n));
	}
	if (!l)
		return check(plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED));
	n = inquiry_vpd(l, cdb[2], buf);
	if (!n)
		return check(plan, scsi_err_cdb_field(2, -1));
	return done(plan, SCSI_DIR_IN, min_u64(alloc, n));
}

/* ---- READ CAPACITY, MODE SENSE ---- */

static int read_capacity_10(const struct scsi_lun_info *l, const uint8_t *cdb, uint8_t *buf,
			    struct scsi_plan *plan)
{
	uint64_t last = l->blocks - 1;

	/* PMI (obsolete) clear: the LBA field must be 0. */
	if (!(cdb[8] & 0x01) && scsi_get32(cdb + 2))
		return check(plan, scsi_err_cdb_field(2, -1));
	/* A LUN too big for 32 bits says so: the initiator then asks READ CAPACITY(16). */
	scsi_put32(buf, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	scsi_put32(buf + 4, l->block_size);
	return done(plan, SCSI_DIR_IN, 8);
}

static int read_capacity_16(const struct scsi_lun_info *l, const uint8_t *cdb, uint8_t *buf,
			    struct scsi_plan *plan)
{
	uint32_t alloc = scsi_get32(cdb + 10);

	memset(buf, 0, 32);
	scsi_put64(buf, l->blocks - 1);
	scsi_put32(buf + 8, l->block_size);
	buf[13] = l->phys_exp & 0x0f;
	if (l->unmap)
		buf[14] = 0x80 | 0x40; /* LBPME, LBPRZ */
	return done(plan, SCSI_DIR_IN, min_u64(alloc, 32));
}

/* Mode page @code as page control @pc (0 current, 1 changeable, 2 default) asks; its length. */
static size_t mode_page(uint8_t code, unsigned int pc, uint8_t *p)
{
	size_t len;

	switch (code) {
	case MODE_PAGE_RW_ERROR:
		len = 12;
		break;
	case MODE_PAGE_CACHING:
		len = 20;
		break;
	case MODE_PAGE_CONTROL:
		len = 12;
		break;
	default:
		return 0;
	}
	memset(p, 0, len);
	p[0] = code; /* PS clear: nothing is saveable */
	p[1] = (uint8_t)(len - 2);
	/* Nothing is changeable (no MODE SELECT): the changeable mask is all zeroes. */
	if (pc == 1)
		return len;
	if (code == MODE_PAGE_CACHING)
		p[2] = 0x04; /* WCE: the host page cache is a write-back cache */
	if (code == MODE_PAGE_CONTROL)
		p[3] = 0x10; /* QUEUE ALGORITHM MODIFIER: unrestricted reordering */
	return len;
}

static int mode_sense(const struct scsi_lun_info *l, const uint8_t *cdb, uint8_t *buf,
		      struct scsi_plan *plan)
{
	bool ten = cdb[0] == SCSI_MODE_SENSE_10;
	bool dbd = cdb[1] & 0x08;
	bool llbaa = ten && (cdb[1] & 0x10);
	unsigned int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f;
	uint8_t subpage = cdb[3];
	uint32_t alloc = ten ? scsi_get16(cdb + 7) : cdb[4];
	size_t hdr = ten ? 8 : 4, bd = dbd ? 0 : (llbaa ? 16 : 8), n;
	uint8_t *d;

	if (pc == 3)
		return check(
		    plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED));
	/* No subpages: only subpage 0, or 0xff with all pages. */
	if (subpage && !(subpage == 0xff && page == MODE_PAGE_ALL))
		return check(plan, scsi_err_cdb_field(3, -1));
	memset(buf, 0, hdr + bd);
	n = hdr + bd;
	if (page == MODE_PAGE_ALL) {
		n += mode_page(MODE_PAGE_RW_ERROR, pc, buf + n);
		n += mode_page(MODE_PAGE_CACHING, pc, buf + n);
		n += mode_page(MODE_PAGE_CONTROL, pc, buf + n);
	} else {
		size_t len = mode_page(page, pc, buf + n);

		if (!len)
			return check(plan, scsi_err_cdb_field(2, 5));
		n += len;
	}
	/* DEVICE-SPECIFIC PARAMETER: WP, DPOFUA (FUA is honoured: the write, then a flush). */
	d = buf + (ten ? 3 : 2);
	*d = (uint8_t)((l->read_only ? 0x80 : 0) | 0x10);
	if (ten) {
		scsi_put16(buf, (uint16_t)(n - 2));
		buf[4] = llbaa ? 0x01 : 0; /* LONGLBA */
		scsi_put16(buf + 6, (uint16_t)bd);
	} else {
		buf[0] = (uint8_t)(n - 1);
		buf[3] = (uint8_t)bd;
	}
	if (bd == 8) {
		scsi_put32(buf + hdr, l->blocks > 0xffffffffu ? 0xffffffffu : (uint32_t)l->blocks);
		scsi_put32(buf + hdr + 4, l->block_size & 0xffffff); /* byte 4 is reserved */
	} else if (bd == 16) {
		scsi_put64(buf + hdr, l->blocks);
		scsi_put32(buf + hdr + 12, l->block_size);
	}
	return done(plan, SCSI_DIR_IN, min_u64(alloc, n));
}

/* ---- REPORT LUNS, REQUEST SENSE ---- */

void scsi_lun_encode(unsigned int lun, uint8_t out[8])
{
	memset(out, 0, 8);
	if (lun < 256) {
		out[1] = (uint8_t)lun; /* peripheral device addressing, bus 0 */
	} else {
		out[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f)); /* flat space addressing */
		out[1] = (uint8_t)lun;
	}
}

static int report_luns(const struct scsi_target *t, const uint8_t *cdb, uint8_t *buf,
		       struct scsi_plan *plan)
{
	uint32_t alloc = scsi_get32(cdb + 6);
	unsigned int n = 0;

	switch (cdb[2]) {
	case 0x00: /* every LU with an address here */
	case 0x02: /* every LU */
		n = t->nr_luns;
		break;
	case 0x01: /* well-known LUs only: there are none */
		break;
	default:
		return check(plan, scsi_err_cdb_field(2, -1));
	}
	memset(buf, 0, 8);
	scsi_put32(buf, 8 * n);
	for (unsigned int i = 0; i < n; i++)
		scsi_lun_encode(i, buf + 8 + 8 * i);
	return done(plan, SCSI_DIR_IN, min_u64(alloc, 8 + 8 * (uint64_t)n));
}

static int request_sense(const struct scsi_lun_info *l, const uint8_t *cdb, uint8_t *buf,
			 struct scsi_plan *plan)
{
	struct scsi_error e = scsi_err(SCSI_KEY_NO_SENSE, SCSI_ASC_NONE);

	/* DESC: descriptor-format sense is not produced here. */
	if (cdb[1] & 0x01)
		return check(plan, scsi_err_cdb_field(1, 0));
	/*
	 * Sense travels with each CHECK CONDITION (autosense), so nothing is
	 * ever pending; an absent LU reports that it is absent.
	 */
	if (!l)
		e = scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	scsi_sense_fixed(&e, buf, SCSI_SENSE_FIXED_LEN);
	return done(plan, SCSI_DIR_IN, min_u64(cdb[4], SCSI_SENSE_FIXED_LEN));
}

/* ---- the block commands ---- */

/* The TRANSFER LENGTH field's byte, for a refusal that points at it. */
static uint16_t xfer_len_field(uint8_t op)
{
	switch (scsi_cdb_len(op)) {
	case 6:
		return 4;
	case 10:
		return 7;
	case 12:
		return 6;
	default:
		return 10;
	}
}

static int block_command(const struct scsi_lun_info *l, const uint8_t *cdb, size_t cdb_len,
			 struct scsi_plan *plan)
{
	struct scsi_rw *rw = &plan->rw;
	struct scsi_error e;

	if (scsi_cdb_rw(cdb, cdb_len, l->blocks, rw, &e) < 0)
		return check(plan, e);
	switch (rw->kind) {
	case SCSI_RW_READ:
	case SCSI_RW_WRITE:
		if (l->max_xfer_blocks && rw->nblocks > l->max_xfer_blocks)
			return check(plan, scsi_err_cdb_field(xfer_len_field(cdb[0]), -1));
		if (rw->kind == SCSI_RW_WRITE && l->read_only)
			return check(plan,
				     scsi_err(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED));
		if (rw->nblocks == 0)
			return done(plan, SCSI_DIR_NONE, 0);
		plan->action = SCSI_ACT_RW;
		plan->dir = rw->kind == SCSI_RW_READ ? SCSI_DIR_IN : SCSI_DIR_OUT;
		plan->data_len = (uint64_t)rw->nblocks * l->block_size;
		return 0;
	case SCSI_RW_VERIFY:
		/* Comparing with data-out (BYTCHK) is not offered; the range is readable. */
		if (rw->bytchk)
			return check(plan, scsi_err_cdb_field(1, 2));
		return done(plan, SCSI_DIR_NONE, 0);
	case SCSI_RW_SYNC:
		plan->action = SCSI_ACT_RW;
		plan->dir = SCSI_DIR_NONE;
		plan->data_len = 0;
		return 0;
	case SCSI_RW_WRITE_SAME:
		if (rw->nblocks > SCSI_MAX_WRITE_SAME_BLOCKS)
			return check(plan, scsi_err_cdb_field(xfer_len_field(cdb[0]), -1));
		if (l->read_only)
			return check(plan,
				     scsi_err(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED));
		/* Without LBPWS the UNMAP bit is a hint this LUN cannot take: write instead. */
		if (!l->unmap)
			rw->unmap = false;
		plan->action = SCSI_ACT_RW;
		plan->dir = rw->ndob ? SCSI_DIR_NONE : SCSI_DIR_OUT;
		plan->data_len = rw->ndob ? 0 : l->block_size;
		return 0;
	}
	return 0;
}

static int unmap(const struct scsi_lun_info *l, const uint8_t *cdb, struct scsi_plan *plan)
{
	uint16_t param_len = scsi_get16(cdb + 7);

	if (!l->unmap) /* LBPU clear */
		return check(plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE));
	if (cdb[1] & 0x01) /* ANCHOR */
		return check(plan, scsi_err_cdb_field(1, 0));
	if (l->read_only)
		return check(plan, scsi_err(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED));
	if (param_len == 0)
		return done(plan, SCSI_DIR_NONE, 0);
	plan->action = SCSI_ACT_UNMAP;
	plan->dir = SCSI_DIR_OUT;
	plan->data_len = param_len;
	return 0;
}

int scsi_target_unmap(const struct scsi_lun_info *lun, const uint8_t *p, size_t len,
		      struct scsi_unmap_desc *out, struct scsi_error *err)
{
	return scsi_unmap_parse(p, len, lun->blocks, SCSI_MAX_UNMAP_DESC, SCSI_MAX_UNMAP_BLOCKS,
				out, err);
}

struct scsi_error scsi_target_io_error(enum scsi_rw_kind kind, int neg_errno)
{
	if (neg_errno == -ENOSPC)
		return scsi_err(SCSI_KEY_DATA_PROTECT, SCSI_ASC_SPACE_ALLOC_FAILED);
	return scsi_err(SCSI_KEY_MEDIUM_ERROR, kind == SCSI_RW_READ
						   ? SCSI_ASC_UNRECOVERED_READ_ERROR
						   : SCSI_ASC_WRITE_ERROR);
}

/* ---- dispatch ---- */

static int exec(const struct scsi_target *t, unsigned int lun, const uint8_t *cdb, size_t cdb_len,
		uint8_t *buf, struct scsi_plan *plan)
{
	const struct scsi_lun_info *l = lun < t->nr_luns ? &t->luns[lun] : NULL;
	size_t n;

	memset(plan, 0, sizeof(*plan));
	if (cdb_len == 0)
		return check(plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE));
	n = scsi_cdb_len(cdb[0]);
	if (n == 0)
		return check(plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE));
	/* The opcode names a CDB longer than the transport carried. */
	if (n > cdb_len)
		return check(plan, scsi_err_cdb_field(0, -1));
	/* NACA in the CONTROL byte: no auto contingent allegiance here. */
	if (cdb[n - 1] & 0x04)
		return check(plan, scsi_err_cdb_field((uint16_t)(n - 1), 2));

	/* What an absent LU still answers (SPC-4 the LU not supported). */
	switch (cdb[0]) {
	case SCSI_INQUIRY:
		return inquiry(l, cdb, buf, plan);
	case SCSI_REPORT_LUNS:
		return report_luns(t, cdb, buf, plan);
	case SCSI_REQUEST_SENSE:
		return request_sense(l, cdb, buf, plan);
	default:
		break;
	}
	if (!l)
		return check(plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED));

	switch (cdb[0]) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_START_STOP_UNIT: /* no medium to spin or eject: nothing to do */
		return done(plan, SCSI_DIR_NONE, 0);
	case SCSI_PREVENT_ALLOW:
		/* Values 2 and 3 (persistent prevent) are obsolete. */
		if (cdb[4] & 0x02)
			return check(plan, scsi_err_cdb_field(4, 1));
		return done(plan, SCSI_DIR_NONE, 0);
	case SCSI_READ_CAPACITY_10:
		return read_capacity_10(l, cdb, buf, plan);
	case SCSI_SERVICE_ACTION_IN:
		if ((cdb[1] & 0x1f) != SCSI_SA_READ_CAPACITY_16)
			return check(plan, scsi_err_cdb_field(1, 4));
		return read_capacity_16(l, cdb, buf, plan);
	case SCSI_MAINTENANCE_IN:
		if ((cdb[1] & 0x1f) != SCSI_SA_REPORT_OPCODES)
			return check(plan, scsi_err_cdb_field(1, 4));
		return report_opcodes(cdb, buf, plan);
	case SCSI_MODE_SENSE_6:
	case SCSI_MODE_SENSE_10:
		return mode_sense(l, cdb, buf, plan);
	case SCSI_UNMAP:
		return unmap(l, cdb, plan);
	case SCSI_READ_6:
	case SCSI_WRITE_6:
	case SCSI_READ_10:
	case SCSI_WRITE_10:
	case SCSI_READ_12:
	case SCSI_WRITE_12:
	case SCSI_READ_16:
	case SCSI_WRITE_16:
	case SCSI_VERIFY_10:
	case SCSI_VERIFY_16:
	case SCSI_SYNCHRONIZE_CACHE_10:
	case SCSI_SYNCHRONIZE_CACHE_16:
	case SCSI_WRITE_SAME_10:
	case SCSI_WRITE_SAME_16:
		return block_command(l, cdb, cdb_len, plan);
	default:
		return check(plan, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE));
	}
}

void scsi_target_exec(const struct scsi_target *t, unsigned int lun, const uint8_t *cdb,
		      size_t cdb_len, uint8_t *buf, struct scsi_plan *plan)
{
	(void)exec(t, lun, cdb, cdb_len, buf, plan);
}
