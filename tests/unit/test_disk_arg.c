/* SPDX-License-Identifier: MIT */
/* --disk PATH[,ro][,engine=...][,cache=...]: the forms accepted, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/disk_arg.h"

static void test_accepts(void **state)
{
	static const struct {
		const char *arg;
		const char *path;
		bool ro;
		enum blk_engine engine;
		enum blk_cache cache;
	} ok[] = {
	    {"disk.img", "disk.img", false, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {"/a/b.img,ro", "/a/b.img", true, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {"x,engine=aio", "x", false, BLK_ENGINE_AIO, BLK_CACHE_WRITEBACK},
	    {"x,engine=sync,cache=none", "x", false, BLK_ENGINE_SYNC, BLK_CACHE_NONE},
	    {"x,cache=none,ro,engine=io_uring", "x", true, BLK_ENGINE_IO_URING, BLK_CACHE_NONE},
	    {"x,cache=writeback", "x", false, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {"a,,b.img,ro", "a,b.img", true, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {"a,,", "a,", false, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {",,a", ",a", false, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {"a,,,ro", "a,", true, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	    {"a=b.img", "a=b.img", false, BLK_ENGINE_IO_URING, BLK_CACHE_WRITEBACK},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct disk_spec spec;
		char why[128] = "";
		char *arg = strdup(ok[i].arg);

		assert_non_null(arg);
		if (disk_spec_parse(&spec, arg, why, sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", ok[i].arg, why);
		/* The path outlives the argument string. */
		memset(arg, 'X', strlen(arg));
		free(arg);
		assert_string_equal(spec.path, ok[i].path);
		assert_int_equal(spec.read_only, ok[i].ro);
		assert_int_equal(spec.engine, ok[i].engine);
		assert_int_equal(spec.cache, ok[i].cache);
		disk_spec_free(&spec);
		assert_null(spec.path);
		disk_spec_free(&spec);
	}
}

static void test_refuses(void **state)
{
	static const struct {
		const char *arg;
		const char *word; /* the message must name it */
	} bad[] = {
	    {"", "empty path"},
	    {",ro", "empty path"},
	    {"x,rw", "'rw'"},
	    {"x,readonly", "'readonly'"},
	    {"x,ro,ro", "'ro' given twice"},
	    {"x,engine=aio,engine=sync", "'engine' given twice"},
	    {"x,cache=none,cache=none", "'cache' given twice"},
	    {"x,engine=uring", "'uring'"},
	    {"x,engine=", "bad engine ''"},
	    {"x,engine", "bad engine"},
	    {"x,cache=direct", "'direct'"},
	    {"x,cache", "bad cache"},
	    {"x,ro=1", "'ro=1'"},
	    {"x,", "empty option"},
	    {"x,ro,", "empty option"},
	    {"x,,,", "empty option"},
	    {"x,Engine=aio", "'Engine=aio'"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct disk_spec spec;
		char why[160] = "";

		assert_int_equal(disk_spec_parse(&spec, bad[i].arg, why, sizeof(why)), -EINVAL);
		if (!strstr(why, bad[i].word))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].arg, why, bad[i].word);
		assert_null(strchr(why, '\n'));
		assert_null(spec.path);
	}
}

/* --scsi takes the same grammar, and its refusals name --scsi. */
static void test_scsi_names_itself(void **state)
{
	struct disk_spec spec;
	char why[128];

	(void)state;
	assert_int_equal(
	    disk_spec_parse_as(&spec, "--scsi", "a.img,ro,engine=aio", why, sizeof(why)), 0);
	assert_string_equal(spec.path, "a.img");
	assert_true(spec.read_only);
	assert_int_equal(spec.engine, BLK_ENGINE_AIO);
	disk_spec_free(&spec);
	assert_int_equal(disk_spec_parse_as(&spec, "--scsi", "a.img,bogus", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "--scsi: unknown option 'bogus' (expected ro, engine= or cache=)");
	assert_int_equal(disk_spec_parse_as(&spec, "--scsi", ",ro", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "--scsi: empty path in ',ro'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_scsi_names_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
