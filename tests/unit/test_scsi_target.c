/* SPDX-License-Identifier: MIT */
/* The SCSI target's command set (scsi/target.c): every command, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "scsi/target.h"

#define BLOCKS 2048

static struct scsi_lun_info luns[3];
static struct scsi_target target = {.luns = luns, .nr_luns = 3};
static uint8_t buf[SCSI_DATA_IN_MAX];
static struct scsi_plan plan;

static int setup(void **state)
{
	(void)state;
	memset(luns, 0, sizeof(luns));
	for (unsigned int i = 0; i < 3; i++) {
		luns[i].blocks = BLOCKS;
		luns[i].block_size = 512;
		luns[i].phys_exp = 3;
		luns[i].unmap = true;
		luns[i].max_xfer_blocks = 0x10000;
		luns[i].naa = 0x3123456789abcdefull;
		strcpy(luns[i].serial, "SERIAL-0");
		luns[i].serial[7] = (char)('0' + i);
	}
	luns[2].read_only = true;
	luns[2].unmap = false;
	return 0;
}

/* Run @cdb (its opcode's length) on @lun. */
static void run(unsigned int lun, const uint8_t *cdb, size_t len)
{
	memset(buf, 0xee, sizeof(buf));
	memset(&plan, 0xa5, sizeof(plan));
	scsi_target_exec(&target, lun, cdb, len, buf, &plan);
}

static void expect_good(enum scsi_dir dir, uint64_t len)
{
	assert_int_equal(plan.action, SCSI_ACT_DONE);
	assert_int_equal(plan.status, SCSI_STATUS_GOOD);
	assert_int_equal(plan.dir, dir);
	assert_int_equal(plan.data_len, len);
}

static void expect_sense(enum scsi_sense_key key, enum scsi_asc asc)
{
	assert_int_equal(plan.action, SCSI_ACT_DONE);
	assert_int_equal(plan.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(plan.err.key, key);
	assert_int_equal(plan.err.asc, asc);
	assert_int_equal(plan.data_len, 0);
}

static void expect_field(uint16_t byte, int bit)
{
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_true(plan.err.field_valid);
	assert_true(plan.err.in_cdb);
	assert_int_equal(plan.err.field, byte);
	assert_int_equal(plan.err.bit_valid, bit >= 0);
	if (bit >= 0)
		assert_int_equal(plan.err.bit, bit);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void test_test_unit_ready(void **state)
{
	uint8_t c[6] = {SCSI_TEST_UNIT_READY};

	(void)state;
	run(0, c, 6);
	expect_good(SCSI_DIR_NONE, 0);
	run(3, c, 6); /* no such LU */
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	run(200, c, 6);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
}

static void test_cdb_framing(void **state)
{
	uint8_t c[16] = {SCSI_READ_16};
	uint8_t naca[6] = {SCSI_TEST_UNIT_READY, 0, 0, 0, 0, 0x04};
	uint8_t var[32] = {0x7f};
	uint8_t mode_select[6] = {0x15};

	(void)state;
	run(0, c, 10); /* a 16-byte opcode in a 10-byte CDB */
	expect_field(0, -1);
	run(0, c, 0);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	run(0, naca, 6);
	expect_field(5, 2);
	run(0, var, 32); /* variable-length CDBs are not decoded */
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	run(0, mode_select, 6);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	assert_false(plan.err.field_valid);
}

static void test_inquiry_standard(void **state)
{
	uint8_t c[6] = {SCSI_INQUIRY, 0, 0, 0, 96, 0};

	(void)state;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 36);
	assert_int_equal(buf[0], 0x00); /* direct access block device */
	assert_int_equal(buf[2], 0x06); /* SPC-4 */
	assert_int_equal(buf[3] & 0x0f, 2);
	assert_int_equal(buf[4], 31);
	assert_true(buf[7] & 0x02); /* CMDQUE */
	assert_memory_equal(buf + 8, "NESTVMM VIRTUAL DISK    0001", 28);

	c[4] = 5; /* the allocation length cuts it */
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 5);
	c[3] = 1; /* two-byte allocation length */
	c[4] = 0;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 36);

	run(7, c, 6); /* an absent LU: qualifier 3, type 0x1f */
	expect_good(SCSI_DIR_IN, 36);
	assert_int_equal(buf[0], 0x7f);

	c[1] = 0x02; /* CMDDT */
	run(0, c, 6);
	expect_field(1, 1);
	c[1] = 0;
	c[2] = 0x80; /* a page code without EVPD */
	run(0, c, 6);
	expect_field(2, -1);
}

static void test_inquiry_vpd(void **state)
{
	uint8_t c[6] = {SCSI_INQUIRY, 1, 0x00, 0, 255, 0};

	(void)state;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 10);
	assert_int_equal(buf[1], 0x00);
	assert_int_equal(buf[3], 6);
	assert_memory_equal(buf + 4, ((uint8_t[]){0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2}), 6);

	c[2] = 0x80;
	run(1, c, 6);
	expect_good(SCSI_DIR_IN, 12);
	assert_memory_equal(buf + 4, "SERIAL-1", 8);

	c[2] = 0x83;
	run(0, c, 6);
	assert_int_equal(plan.status, SCSI_STATUS_GOOD);
	assert_int_equal(buf[4], 0x01); /* binary */
	assert_int_equal(buf[5], 0x03); /* LU, NAA */
	assert_int_equal(buf[7], 8);
	assert_int_equal(get64(buf + 8), 0x3123456789abcdefull);
	assert_int_equal(buf[16], 0x02); /* ASCII */
	assert_int_equal(buf[17], 0x01); /* T10 vendor ID */
	assert_int_equal(buf[19], 16);
	assert_memory_equal(buf + 20, "NESTVMM SERIAL-0", 16);
	assert_int_equal(plan.data_len, 36);
	assert_int_equal(buf[3], 32);

	c[2] = 0xb0;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 64);
	assert_int_equal(buf[3], 0x3c);
	assert_int_equal(buf[4] & 1, 1); /* WSNZ */
	assert_int_equal(get32(buf + 8), 0x10000);
	assert_int_equal(get32(buf + 20), SCSI_MAX_UNMAP_BLOCKS);
	assert_int_equal(get32(buf + 24), SCSI_MAX_UNMAP_DESC);
	assert_int_equal(get32(buf + 28), 8);
	assert_int_equal(get64(buf + 36), SCSI_MAX_WRITE_SAME_BLOCKS);
	run(2, c, 6); /* no unmap: no unmap limits */
	assert_int_equal(get32(buf + 20), 0);
	assert_int_equal(get32(buf + 24), 0);

	c[2] = 0xb1;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 64);
	assert_int_equal(buf[4] << 8 | buf[5], 1); /* non-rotating */

	c[2] = 0xb2;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 8);
	assert_int_equal(buf[5], 0xe4); /* LBPU, LBPWS, LBPWS10, LBPRZ */
	assert_int_equal(buf[6] & 7, 2);
	run(2, c, 6);
	assert_int_equal(buf[5], 0);

	c[2] = 0x99;
	run(0, c, 6);
	expect_field(2, -1);
	c[2] = 0x80;
	run(5, c, 6); /* VPD of an absent LU */
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
}

static void test_read_capacity(void **state)
{
	uint8_t c10[10] = {SCSI_READ_CAPACITY_10};
	uint8_t c16[16] = {SCSI_SERVICE_ACTION_IN, SCSI_SA_READ_CAPACITY_16, [13] = 32};

	(void)state;
	run(0, c10, 10);
	expect_good(SCSI_DIR_IN, 8);
	assert_int_equal(get32(buf), BLOCKS - 1);
	assert_int_equal(get32(buf + 4), 512);
	c10[5] = 1; /* an LBA without PMI */
	run(0, c10, 10);
	expect_field(2, -1);

	run(0, c16, 16);
	expect_good(SCSI_DIR_IN, 32);
	assert_int_equal(get64(buf), BLOCKS - 1);
	assert_int_equal(get32(buf + 8), 512);
	assert_int_equal(buf[13] & 0x0f, 3);
	assert_int_equal(buf[14] & 0xc0, 0xc0); /* LBPME, LBPRZ */
	run(2, c16, 16);
	assert_int_equal(buf[14] & 0xc0, 0);
	c16[13] = 12;
	run(0, c16, 16);
	expect_good(SCSI_DIR_IN, 12);
	c16[1] = 0x12; /* GET LBA STATUS: not offered */
	run(0, c16, 16);
	expect_field(1, 4);

	/* A LUN past 2^32 blocks: READ CAPACITY(10) says ask (16). */
	luns[1].blocks = 0x200000000ull;
	c10[5] = 0;
	run(1, c10, 10);
	assert_int_equal(get32(buf), 0xffffffffu);
	c16[1] = SCSI_SA_READ_CAPACITY_16;
	c16[13] = 32;
	run(1, c16, 16);
	assert_int_equal(get64(buf), 0x1ffffffffull);
}

static void test_mode_sense_6(void **state)
{
	uint8_t c[6] = {SCSI_MODE_SENSE_6, 0, 0x3f, 0, 255, 0};

	(void)state;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 4 + 8 + 12 + 20 + 12);
	assert_int_equal(buf[0], 4 + 8 + 12 + 20 + 12 - 1);
	assert_int_equal(buf[2], 0x10); /* DPOFUA, not WP */
	assert_int_equal(buf[3], 8);
	assert_int_equal(get32(buf + 4), BLOCKS);
	assert_int_equal(get32(buf + 8), 512);
	assert_int_equal(buf[12], 0x01); /* read-write error recovery first */
	assert_int_equal(buf[13], 0x0a);
	assert_int_equal(buf[24], 0x08); /* caching */
	assert_int_equal(buf[25], 0x12);
	assert_int_equal(buf[26] & 0x04, 0x04); /* WCE */
	assert_int_equal(buf[44], 0x0a);	/* control */

	run(2, c, 6); /* read-only: WP */
	assert_int_equal(buf[2] & 0x80, 0x80);

	c[1] = 0x08; /* DBD, caching page only */
	c[2] = 0x08;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 4 + 20);
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[4], 0x08);
	assert_true(buf[6] & 0x04);

	c[2] = 0x48; /* changeable values: nothing */
	run(0, c, 6);
	assert_int_equal(buf[4], 0x08);
	assert_int_equal(buf[6], 0);

	c[2] = 0xc8; /* saved values */
	run(0, c, 6);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
	c[2] = 0x1c; /* informational exceptions: not offered */
	run(0, c, 6);
	expect_field(2, 5);
	c[2] = 0x08;
	c[3] = 0x01; /* a subpage */
	run(0, c, 6);
	expect_field(3, -1);
	c[2] = 0x3f;
	c[3] = 0xff; /* all pages and subpages */
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 4 + 12 + 20 + 12);
	c[4] = 3;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 3);
}

static void test_mode_sense_10(void **state)
{
	uint8_t c[10] = {SCSI_MODE_SENSE_10, 0x10, 0x0a, 0, 0, 0, 0, 0, 255, 0};

	(void)state;
	run(0, c, 10);
	expect_good(SCSI_DIR_IN, 8 + 16 + 12);
	assert_int_equal(buf[0] << 8 | buf[1], 8 + 16 + 12 - 2);
	assert_int_equal(buf[4] & 1, 1); /* LONGLBA */
	assert_int_equal(buf[7], 16);
	assert_int_equal(get64(buf + 8), BLOCKS);
	assert_int_equal(get32(buf + 20), 512);
	assert_int_equal(buf[24], 0x0a);
	c[1] = 0;
	run(2, c, 10);
	expect_good(SCSI_DIR_IN, 8 + 8 + 12);
	assert_int_equal(buf[3] & 0x80, 0x80);
}

static void test_report_luns(void **state)
{
	uint8_t c[12] = {SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};

	(void)state;
	run(0, c, 12);
	expect_good(SCSI_DIR_IN, 8 + 24);
	assert_int_equal(get32(buf), 24);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(buf[8 + 8 * i], 0);
		assert_int_equal(buf[9 + 8 * i], i);
	}
	run(9, c, 12); /* answered on any LUN */
	expect_good(SCSI_DIR_IN, 32);
	c[2] = 1; /* well-known LUs only */
	run(0, c, 12);
	expect_good(SCSI_DIR_IN, 8);
	assert_int_equal(get32(buf), 0);
	c[2] = 5;
	run(0, c, 12);
	expect_field(2, -1);
	c[2] = 0;
	c[8] = 0;
	c[9] = 16; /* the allocation length cuts the list, not the length field */
	run(0, c, 12);
	expect_good(SCSI_DIR_IN, 16);
	assert_int_equal(get32(buf), 24);
}

static void test_lun_encoding(void **state)
{
	uint8_t l[8];

	(void)state;
	scsi_lun_encode(5, l);
	assert_memory_equal(l, ((uint8_t[8]){0, 5}), 8);
	scsi_lun_encode(0x123, l);
	assert_memory_equal(l, ((uint8_t[8]){0x41, 0x23}), 8);
}

static void test_request_sense(void **state)
{
	uint8_t c[6] = {SCSI_REQUEST_SENSE, 0, 0, 0, 252, 0};

	(void)state;
	run(0, c, 6);
	expect_good(SCSI_DIR_IN, 18);
	assert_int_equal(buf[0], 0x70);
	assert_int_equal(buf[2], SCSI_KEY_NO_SENSE);
	assert_int_equal(buf[12], 0);
	run(4, c, 6);
	expect_good(SCSI_DIR_IN, 18);
	assert_int_equal(buf[2], SCSI_KEY_ILLEGAL_REQUEST);
	assert_int_equal(buf[12], 0x25);
	c[1] = 1; /* DESC */
	run(0, c, 6);
	expect_field(1, 0);
}

static void test_start_stop_prevent(void **state)
{
	uint8_t ss[6] = {SCSI_START_STOP_UNIT, 1, 0, 0, 0x01, 0};
	uint8_t pa[6] = {SCSI_PREVENT_ALLOW, 0, 0, 0, 1, 0};

	(void)state;
	run(0, ss, 6);
	expect_good(SCSI_DIR_NONE, 0);
	run(0, pa, 6);
	expect_good(SCSI_DIR_NONE, 0);
	pa[4] = 3;
	run(0, pa, 6);
	expect_field(4, 1);
}

static void test_read_write_plans(void **state)
{
	uint8_t r10[10] = {SCSI_READ_10, 0, 0, 0, 0x01, 0, 0, 0, 8, 0};
	uint8_t w16[16] = {SCSI_WRITE_16, 0x08, [9] = 0x10, [13] = 4};

	(void)state;
	run(0, r10, 10);
	assert_int_equal(plan.action, SCSI_ACT_RW);
	assert_int_equal(plan.rw.kind, SCSI_RW_READ);
	assert_int_equal(plan.rw.lba, 256);
	assert_int_equal(plan.rw.nblocks, 8);
	assert_int_equal(plan.dir, SCSI_DIR_IN);
	assert_int_equal(plan.data_len, 8 * 512);

	run(1, w16, 16);
	assert_int_equal(plan.action, SCSI_ACT_RW);
	assert_int_equal(plan.rw.kind, SCSI_RW_WRITE);
	assert_int_equal(plan.rw.lba, 16);
	assert_true(plan.rw.fua);
	assert_int_equal(plan.dir, SCSI_DIR_OUT);
	assert_int_equal(plan.data_len, 4 * 512);

	run(2, w16, 16); /* read-only LU */
	expect_sense(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	run(2, r10, 10); /* reads are fine there */
	assert_int_equal(plan.action, SCSI_ACT_RW);

	r10[2] = 0xff; /* past the end */
	run(0, r10, 10);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	r10[2] = 0;
	r10[4] = 0;
	r10[5] = 0;
	r10[7] = 0x08; /* 2056 blocks: past the end from LBA 0 */
	run(0, r10, 10);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	luns[0].max_xfer_blocks = 4; /* over MAXIMUM TRANSFER LENGTH */
	r10[7] = 0;
	run(0, r10, 10);
	expect_field(7, -1);
	r10[8] = 0; /* zero blocks: nothing to move */
	run(0, r10, 10);
	expect_good(SCSI_DIR_NONE, 0);
	r10[1] = 0x20; /* RDPROTECT */
	run(0, r10, 10);
	expect_field(1, 7);
}

static void test_verify_sync(void **state)
{
	uint8_t v[10] = {SCSI_VERIFY_10, 0, 0, 0, 0, 1, 0, 0, 4, 0};
	uint8_t s[16] = {SCSI_SYNCHRONIZE_CACHE_16};

	(void)state;
	run(0, v, 10);
	expect_good(SCSI_DIR_NONE, 0);
	v[1] = 0x02; /* BYTCHK 1: comparing is not offered */
	run(0, v, 10);
	expect_field(1, 2);
	v[1] = 0;
	v[2] = 0x10;
	run(0, v, 10);
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);

	run(0, s, 16);
	assert_int_equal(plan.action, SCSI_ACT_RW);
	assert_int_equal(plan.rw.kind, SCSI_RW_SYNC);
	assert_int_equal(plan.dir, SCSI_DIR_NONE);
	run(2, s, 16); /* a read-only LU may still flush */
	assert_int_equal(plan.action, SCSI_ACT_RW);
}

static void test_write_same(void **state)
{
	uint8_t ws16[16] = {SCSI_WRITE_SAME_16, 0x08, [13] = 64};
	uint8_t ws10[10] = {SCSI_WRITE_SAME_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};

	(void)state;
	run(0, ws16, 16);
	assert_int_equal(plan.action, SCSI_ACT_RW);
	assert_int_equal(plan.rw.kind, SCSI_RW_WRITE_SAME);
	assert_true(plan.rw.unmap);
	assert_int_equal(plan.dir, SCSI_DIR_OUT);
	assert_int_equal(plan.data_len, 512); /* one block */

	ws16[1] = 0x09; /* NDOB: no data-out */
	run(0, ws16, 16);
	assert_int_equal(plan.action, SCSI_ACT_RW);
	assert_true(plan.rw.ndob);
	assert_int_equal(plan.dir, SCSI_DIR_NONE);
	assert_int_equal(plan.data_len, 0);

	luns[1].unmap = false; /* without LBPWS: a plain write of the block */
	ws16[1] = 0x08;
	run(1, ws16, 16);
	assert_int_equal(plan.action, SCSI_ACT_RW);
	assert_false(plan.rw.unmap);

	run(2, ws10, 10);
	expect_sense(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	ws16[1] = 0;
	ws16[2] = 0; /* more blocks than MAXIMUM WRITE SAME LENGTH */
	ws16[10] = 0x00;
	ws16[11] = 0x40;
	ws16[12] = 0;
	ws16[13] = 0;
	luns[0].blocks = 1ull << 30;
	run(0, ws16, 16);
	expect_field(10, -1);
}

static void test_unmap(void **state)
{
	uint8_t c[10] = {SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0};
	uint8_t list[24] = {0, 22, 0, 16, 0, 0, 0, 0, [15] = 8, [19] = 16};
	struct scsi_unmap_desc d[SCSI_MAX_UNMAP_DESC];
	struct scsi_error e;

	(void)state;
	run(0, c, 10);
	assert_int_equal(plan.action, SCSI_ACT_UNMAP);
	assert_int_equal(plan.dir, SCSI_DIR_OUT);
	assert_int_equal(plan.data_len, 24);
	assert_int_equal(scsi_target_unmap(&luns[0], list, 24, d, &e), 1);
	assert_int_equal(d[0].lba, 8);
	assert_int_equal(d[0].nblocks, 16);
	list[15] = 0xff; /* a descriptor past the end */
	list[14] = 0xff;
	assert_int_equal(scsi_target_unmap(&luns[0], list, 24, d, &e), -EINVAL);
	assert_int_equal(e.asc, SCSI_ASC_LBA_OUT_OF_RANGE);

	run(2, c, 10); /* no provisioning: UNMAP is not a command here */
	expect_sense(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	luns[2].unmap = true; /* a read-only LU that could unmap */
	run(2, c, 10);
	expect_sense(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	c[1] = 1; /* ANCHOR */
	run(0, c, 10);
	expect_field(1, 0);
	c[1] = 0;
	c[8] = 0; /* an empty parameter list */
	run(0, c, 10);
	expect_good(SCSI_DIR_NONE, 0);
}

static void test_report_opcodes(void **state)
{
	uint8_t c[12] = {SCSI_MAINTENANCE_IN, SCSI_SA_REPORT_OPCODES, 0, 0, 0, 0, 0, 0, 4, 0};
	size_t n;

	(void)state;
	run(0, c, 12); /* all commands */
	assert_int_equal(plan.status, SCSI_STATUS_GOOD);
	n = get32(buf) / 8;
	assert_true(n >= 20);
	assert_int_equal(plan.data_len, 4 + 8 * n);
	for (size_t i = 0; i < n; i++) { /* each one answers as supported */
		const uint8_t *d = buf + 4 + 8 * i;
		uint8_t one[12] = {
		    SCSI_MAINTENANCE_IN, SCSI_SA_REPORT_OPCODES, 3, d[0], d[2], d[3], 0, 0, 1, 0};
		uint8_t saved[8];

		memcpy(saved, d, 8);
		run(0, one, 12);
		assert_int_equal(plan.status, SCSI_STATUS_GOOD);
		assert_int_equal(buf[1] & 7, 3);
		assert_int_equal(buf[2] << 8 | buf[3], saved[6] << 8 | saved[7]);
		assert_int_equal(buf[4], saved[0]);
		run(0, c, 12);
	}

	c[2] = 1; /* READ(10) alone */
	c[3] = SCSI_READ_10;
	run(0, c, 12);
	expect_good(SCSI_DIR_IN, 14);
	assert_int_equal(buf[1] & 7, 3);
	assert_int_equal(buf[3], 10);
	assert_int_equal(buf[5], 0x08); /* FUA, not RDPROTECT */
	c[3] = 0x15;			/* MODE SELECT: not supported */
	run(0, c, 12);
	expect_good(SCSI_DIR_IN, 4);
	assert_int_equal(buf[1] & 7, 1);
	c[3] = SCSI_SERVICE_ACTION_IN; /* has service actions: option 1 is wrong */
	run(0, c, 12);
	expect_field(3, -1);
	c[2] = 2;
	c[5] = SCSI_SA_READ_CAPACITY_16;
	run(0, c, 12);
	expect_good(SCSI_DIR_IN, 20);
	assert_int_equal(buf[1] & 7, 3);
	assert_int_equal(buf[4], SCSI_SERVICE_ACTION_IN);
	assert_int_equal(buf[5], SCSI_SA_READ_CAPACITY_16);
	c[3] = SCSI_READ_10; /* option 2 on an opcode without service actions */
	run(0, c, 12);
	expect_field(3, -1);
	c[2] = 0x80; /* RCTD */
	run(0, c, 12);
	expect_field(2, 7);
	c[2] = 5;
	run(0, c, 12);
	expect_field(2, 2);
	c[1] = 0x05; /* another MAINTENANCE IN service action */
	run(0, c, 12);
	expect_field(1, 4);
}

static void test_io_errors(void **state)
{
	struct scsi_error e;
	uint8_t s[18];

	(void)state;
	e = scsi_target_io_error(SCSI_RW_READ, -EIO);
	assert_int_equal(e.key, SCSI_KEY_MEDIUM_ERROR);
	assert_int_equal(e.asc, SCSI_ASC_UNRECOVERED_READ_ERROR);
	e = scsi_target_io_error(SCSI_RW_WRITE, -EIO);
	assert_int_equal(e.asc, SCSI_ASC_WRITE_ERROR);
	e = scsi_target_io_error(SCSI_RW_SYNC, -EIO);
	assert_int_equal(e.key, SCSI_KEY_MEDIUM_ERROR);
	e = scsi_target_io_error(SCSI_RW_WRITE, -ENOSPC);
	assert_int_equal(e.key, SCSI_KEY_DATA_PROTECT);
	assert_int_equal(scsi_sense_fixed(&e, s, sizeof(s)), 18);
	assert_int_equal(s[2], 0x07);
	assert_int_equal(s[12], 0x27);
	assert_int_equal(s[13], 0x07);
}

/* The sense bytes of a refusal, as the initiator gets them. */
static void test_refusal_sense_bytes(void **state)
{
	uint8_t c[6] = {SCSI_INQUIRY, 0x02, 0, 0, 36, 0};
	uint8_t s[18];

	(void)state;
	run(0, c, 6);
	assert_int_equal(scsi_sense_fixed(&plan.err, s, sizeof(s)), 18);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[2], 0x05);
	assert_int_equal(s[7], 10);
	assert_int_equal(s[12], 0x24);
	assert_int_equal(s[13], 0x00);
	assert_int_equal(s[15], 0x80 | 0x40 | 0x08 | 1); /* SKSV, C/D, BPV, bit 1 */
	assert_int_equal(s[16], 0);
	assert_int_equal(s[17], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_test_unit_ready, setup),
	    cmocka_unit_test_setup(test_cdb_framing, setup),
	    cmocka_unit_test_setup(test_inquiry_standard, setup),
	    cmocka_unit_test_setup(test_inquiry_vpd, setup),
	    cmocka_unit_test_setup(test_read_capacity, setup),
	    cmocka_unit_test_setup(test_mode_sense_6, setup),
	    cmocka_unit_test_setup(test_mode_sense_10, setup),
	    cmocka_unit_test_setup(test_report_luns, setup),
	    cmocka_unit_test_setup(test_lun_encoding, setup),
	    cmocka_unit_test_setup(test_request_sense, setup),
	    cmocka_unit_test_setup(test_start_stop_prevent, setup),
	    cmocka_unit_test_setup(test_read_write_plans, setup),
	    cmocka_unit_test_setup(test_verify_sync, setup),
	    cmocka_unit_test_setup(test_write_same, setup),
	    cmocka_unit_test_setup(test_unmap, setup),
	    cmocka_unit_test_setup(test_report_opcodes, setup),
	    cmocka_unit_test_setup(test_io_errors, setup),
	    cmocka_unit_test_setup(test_refusal_sense_bytes, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
