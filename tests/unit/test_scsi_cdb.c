/* SPDX-License-Identifier: MIT */
/* The SCSI target's CDB decoding and sense data (scsi/cdb.c, scsi/sense.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/sense.h"

#define CAP 1000 /* blocks */

static struct scsi_rw rw;
static struct scsi_error err;

static int dec(const uint8_t *cdb, size_t len)
{
	memset(&err, 0xa5, sizeof(err));
	return scsi_cdb_rw(cdb, len, CAP, &rw, &err);
}

/* The CDB field the last refusal points at (ILLEGAL REQUEST, INVALID FIELD IN CDB). */
static void expect_field(uint16_t byte, int bit)
{
	assert_int_equal(err.key, SCSI_KEY_ILLEGAL_REQUEST);
	assert_int_equal(err.asc, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_true(err.field_valid);
	assert_true(err.in_cdb);
	assert_int_equal(err.field, byte);
	assert_int_equal(err.bit_valid, bit >= 0);
	if (bit >= 0)
		assert_int_equal(err.bit, bit);
}

static void expect_out_of_range(void)
{
	assert_int_equal(err.key, SCSI_KEY_ILLEGAL_REQUEST);
	assert_int_equal(err.asc, SCSI_ASC_LBA_OUT_OF_RANGE);
	assert_false(err.field_valid);
}

static void test_cdb_lengths(void **state)
{
	(void)state;
	assert_int_equal(scsi_cdb_len(SCSI_READ_6), 6);
	assert_int_equal(scsi_cdb_len(SCSI_READ_10), 10);
	assert_int_equal(scsi_cdb_len(SCSI_WRITE_SAME_10), 10);
	assert_int_equal(scsi_cdb_len(SCSI_READ_12), 12);
	assert_int_equal(scsi_cdb_len(SCSI_READ_16), 16);
	assert_int_equal(scsi_cdb_len(0x7f), 0); /* variable length */
	assert_int_equal(scsi_cdb_len(0xc0), 0); /* vendor specific */
}

static void test_rw6(void **state)
{
	uint8_t c[6] = {SCSI_READ_6, 0x00, 0x03, 0xe7, 1, 0};

	(void)state;
	assert_int_equal(dec(c, 6), 0);
	assert_int_equal(rw.kind, SCSI_RW_READ);
	assert_int_equal(rw.lba, 999);
	assert_int_equal(rw.nblocks, 1);
	/* Length 0 is 256 blocks: past the end from 999. */
	c[4] = 0;
	assert_int_equal(dec(c, 6), -EINVAL);
	expect_out_of_range();
	c[2] = 0;
	c[3] = 0;
	assert_int_equal(dec(c, 6), 0);
	assert_int_equal(rw.nblocks, 256);
	/* 21-bit LBA: the top three bits of byte 1 are not part of it. */
	c[0] = SCSI_WRITE_6;
	c[1] = 0xe0;
	assert_int_equal(dec(c, 6), 0);
	assert_int_equal(rw.kind, SCSI_RW_WRITE);
	assert_int_equal(rw.lba, 0);
	assert_int_equal(dec(c, 5), -EINVAL);
	expect_field(0, -1);
}

static void test_rw10_12_16(void **state)
{
	uint8_t r10[10] = {SCSI_READ_10, 0x08, 0, 0, 0x03, 0xe0, 0, 0, 8, 0};
	uint8_t w12[12] = {SCSI_WRITE_12, 0, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0};
	uint8_t r16[16] = {SCSI_READ_16, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe7, 0, 0, 0, 1, 0, 0};

	(void)state;
	assert_int_equal(dec(r10, 10), 0);
	assert_int_equal(rw.kind, SCSI_RW_READ);
	assert_int_equal(rw.lba, 992);
	assert_int_equal(rw.nblocks, 8);
	assert_true(rw.fua);
	r10[8] = 9; /* 992 + 9 > 1000 */
	assert_int_equal(dec(r10, 10), -EINVAL);
	expect_out_of_range();
	/* Zero blocks: no error, even at the end of the LUN. */
	r10[8] = 0;
	r10[4] = 0x03;
	r10[5] = 0xe8;
	assert_int_equal(dec(r10, 10), 0);
	r10[5] = 0xe9;
	assert_int_equal(dec(r10, 10), -EINVAL);
	expect_out_of_range();
	/* Protection information: refused, pointing at RDPROTECT. */
	r10[5] = 0;
	r10[1] = 0x20;
	assert_int_equal(dec(r10, 10), -EINVAL);
	expect_field(1, 7);
	/* NACA in the control byte. */
	r10[1] = 0;
	r10[9] = 0x04;
	assert_int_equal(dec(r10, 10), -EINVAL);
	expect_field(9, 2);
	assert_int_equal(dec(r10, 9), -EINVAL);
	expect_field(0, -1);

	assert_int_equal(dec(w12, 12), 0);
	assert_int_equal(rw.kind, SCSI_RW_WRITE);
	assert_int_equal(rw.lba, 10);
	assert_int_equal(rw.nblocks, 20);
	assert_false(rw.fua);
	w12[1] = 0x40; /* WRPROTECT */
	assert_int_equal(dec(w12, 12), -EINVAL);
	expect_field(1, 7);

	assert_int_equal(dec(r16, 16), 0);
	assert_int_equal(rw.lba, 999);
	assert_int_equal(rw.nblocks, 1);
	/* A 64-bit LBA whose end wraps around is out of range, not a wrap. */
	memset(r16 + 2, 0xff, 8);
	assert_int_equal(dec(r16, 16), -EINVAL);
	expect_out_of_range();
	r16[0] = SCSI_WRITE_16;
	memset(r16 + 2, 0, 8);
	memset(r16 + 10, 0xff, 4);
	assert_int_equal(dec(r16, 16), -EINVAL);
	expect_out_of_range();
}

static void test_verify(void **state)
{
	uint8_t v[10] = {SCSI_VERIFY_10, 0x02, 0, 0, 0, 5, 0, 0, 4, 0};

	(void)state;
	assert_int_equal(dec(v, 10), 0);
	assert_int_equal(rw.kind, SCSI_RW_VERIFY);
	assert_int_equal(rw.bytchk, 1);
	v[1] = 0x06;
	assert_int_equal(dec(v, 10), 0);
	assert_int_equal(rw.bytchk, 3);
	v[1] = 0x04; /* BYTCHK 10b: reserved */
	assert_int_equal(dec(v, 10), -EINVAL);
	expect_field(1, 2);
	v[1] = 0x80; /* VRPROTECT */
	assert_int_equal(dec(v, 10), -EINVAL);
	expect_field(1, 7);
}

static void test_sync_cache(void **state)
{
	uint8_t s10[10] = {SCSI_SYNCHRONIZE_CACHE_10, 0x02, 0, 0, 0, 0, 0, 0, 0, 0};
	uint8_t s16[16] = {SCSI_SYNCHRONIZE_CACHE_16};

	(void)state;
	assert_int_equal(dec(s10, 10), 0);
	assert_int_equal(rw.kind, SCSI_RW_SYNC);
	assert_true(rw.immed);
	assert_int_equal(rw.nblocks, 0); /* to the end */
	s10[4] = 0x03;
	s10[5] = 0xe8; /* LBA 1000, to the end: nothing, still in range */
	assert_int_equal(dec(s10, 10), 0);
	s10[5] = 0xe9;
	assert_int_equal(dec(s10, 10), -EINVAL);
	expect_out_of_range();
	assert_int_equal(dec(s16, 16), 0);
	assert_false(rw.immed);
}

static void test_write_same(void **state)
{
	uint8_t w10[10] = {SCSI_WRITE_SAME_10, 0x08, 0, 0, 0, 0, 0, 0, 16, 0};
	uint8_t w16[16] = {SCSI_WRITE_SAME_16, 0x09, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 50, 0, 0};

	(void)state;
	assert_int_equal(dec(w10, 10), 0);
	assert_int_equal(rw.kind, SCSI_RW_WRITE_SAME);
	assert_true(rw.unmap);
	assert_false(rw.ndob);
	/* WSNZ: zero blocks is refused, pointing at the length. */
	w10[8] = 0;
	assert_int_equal(dec(w10, 10), -EINVAL);
	expect_field(7, -1);
	w10[8] = 1;
	w10[1] = 0x10; /* ANCHOR */
	assert_int_equal(dec(w10, 10), -EINVAL);
	expect_field(1, 4);
	w10[1] = 0x02; /* LBDATA: obsolete */
	assert_int_equal(dec(w10, 10), -EINVAL);
	expect_field(1, 1);
	w10[1] = 0x0c; /* PBDATA beside UNMAP */
	assert_int_equal(dec(w10, 10), -EINVAL);
	expect_field(1, 2);

	assert_int_equal(dec(w16, 16), 0);
	assert_true(rw.ndob);
	assert_true(rw.unmap);
	assert_int_equal(rw.lba, 100);
	assert_int_equal(rw.nblocks, 50);
	/* NDOB without UNMAP would need zeroes written: refused. */
	w16[1] = 0x01;
	assert_int_equal(dec(w16, 16), -EINVAL);
	expect_field(1, 0);
	w16[1] = 0x08;
	memset(w16 + 10, 0, 4);
	assert_int_equal(dec(w16, 16), -EINVAL);
	expect_field(10, -1);
}

static void test_not_decoded_here(void **state)
{
	uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};

	(void)state;
	assert_int_equal(dec(inq, 6), -ENOTSUP);
	assert_int_equal(dec(inq, 0), -EINVAL);
	expect_field(0, -1);
}

static void test_sense_bytes(void **state)
{
	struct scsi_error e = scsi_err_cdb_field(9, 2);
	uint8_t s[32];

	(void)state;
	memset(s, 0xee, sizeof(s));
	assert_int_equal(scsi_sense_fixed(&e, s, sizeof(s)), 18);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[2], SCSI_KEY_ILLEGAL_REQUEST);
	assert_int_equal(s[7], 10);
	assert_int_equal(s[12], 0x24);
	assert_int_equal(s[13], 0x00);
	assert_int_equal(s[15], 0x80 | 0x40 | 0x08 | 2); /* SKSV, C/D, BPV, bit 2 */
	assert_int_equal(s[16], 0);
	assert_int_equal(s[17], 9);
	assert_int_equal(s[18], 0xee); /* nothing past the 18 bytes */

	e = scsi_err_param_field(0x123, -1);
	scsi_sense_fixed(&e, s, sizeof(s));
	assert_int_equal(s[12], 0x26);
	assert_int_equal(s[15], 0x80); /* in the parameter list, no bit pointer */
	assert_int_equal(s[16], 0x01);
	assert_int_equal(s[17], 0x23);

	/* Other keys carry no field pointer. */
	e = scsi_err(SCSI_KEY_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
	scsi_sense_fixed(&e, s, sizeof(s));
	assert_int_equal(s[2], 3);
	assert_int_equal(s[12], 0x11);
	assert_int_equal(s[15], 0);
	e = scsi_err(SCSI_KEY_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	scsi_sense_fixed(&e, s, sizeof(s));
	assert_int_equal(s[2], 7);
	assert_int_equal(s[12], 0x27);

	/* A short buffer gets what fits, the full length is still said. */
	memset(s, 0xee, sizeof(s));
	assert_int_equal(scsi_sense_fixed(&e, s, 8), 18);
	assert_int_equal(s[7], 10);
	assert_int_equal(s[8], 0xee);
}

/* An UNMAP parameter list: header, then @n descriptors (lba, nblocks). */
static size_t unmap_list(uint8_t *p, const uint64_t *lba, const uint32_t *nb, unsigned int n)
{
	size_t len = 8 + 16 * n;

	memset(p, 0, len);
	p[0] = (uint8_t)((len - 2) >> 8);
	p[1] = (uint8_t)(len - 2);
	p[2] = (uint8_t)((16 * n) >> 8);
	p[3] = (uint8_t)(16 * n);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = p + 8 + 16 * i;

		for (int b = 0; b < 8; b++)
			d[b] = (uint8_t)(lba[i] >> (56 - 8 * b));
		for (int b = 0; b < 4; b++)
			d[8 + b] = (uint8_t)(nb[i] >> (24 - 8 * b));
	}
	return len;
}

static void test_unmap_list(void **state)
{
	uint8_t p[8 + 16 * 4];
	struct scsi_unmap_desc d[4];
	uint64_t lba[3] = {0, 500, 990};
	uint32_t nb[3] = {10, 0, 10};
	size_t len;

	(void)state;
	len = unmap_list(p, lba, nb, 3);
	assert_int_equal(scsi_unmap_parse(p, len, CAP, 4, 1000, d, &err), 2);
	assert_int_equal(d[0].lba, 0);
	assert_int_equal(d[1].lba, 990);
	assert_int_equal(d[1].nblocks, 10);
	/* Empty: no error. Shorter than a header: a length error. */
	assert_int_equal(scsi_unmap_parse(p, 0, CAP, 4, 1000, d, &err), 0);
	assert_int_equal(scsi_unmap_parse(p, 7, CAP, 4, 1000, d, &err), -EINVAL);
	assert_int_equal(err.asc, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* A list cut short of what its header says. */
	assert_int_equal(scsi_unmap_parse(p, len - 1, CAP, 4, 1000, d, &err), -EINVAL);
	assert_int_equal(err.asc, SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(err.field, 0);
	/* Too many descriptors, too many blocks in one. */
	assert_int_equal(scsi_unmap_parse(p, len, CAP, 2, 1000, d, &err), -EINVAL);
	assert_int_equal(err.field, 2);
	assert_int_equal(scsi_unmap_parse(p, len, CAP, 4, 9, d, &err), -EINVAL);
	assert_int_equal(err.field, 8 + 8);
	/* Past the end. */
	nb[2] = 11;
	len = unmap_list(p, lba, nb, 3);
	assert_int_equal(scsi_unmap_parse(p, len, CAP, 4, 1000, d, &err), -EINVAL);
	assert_int_equal(err.asc, SCSI_ASC_LBA_OUT_OF_RANGE);
	lba[0] = UINT64_MAX;
	nb[2] = 1;
	len = unmap_list(p, lba, nb, 3);
	assert_int_equal(scsi_unmap_parse(p, len, CAP, 4, 1000, d, &err), -EINVAL);
	assert_int_equal(err.asc, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* A descriptor length that is not a multiple of 16. */
	len = unmap_list(p, lba, nb, 1);
	p[3] = 15;
	assert_int_equal(scsi_unmap_parse(p, len, CAP, 4, 1000, d, &err), -EINVAL);
	assert_int_equal(err.field, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cdb_lengths),	     cmocka_unit_test(test_rw6),
	    cmocka_unit_test(test_rw10_12_16),	     cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_sync_cache),	     cmocka_unit_test(test_write_same),
	    cmocka_unit_test(test_not_decoded_here), cmocka_unit_test(test_sense_bytes),
	    cmocka_unit_test(test_unmap_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
