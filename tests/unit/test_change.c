/* Unit tests for change.c: when a file is read again, when a folder or
 * symlink counts as changed, and how changes are counted, by tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "change.h"
#include "tree.h"
#include "util.h"

/* The old record every case starts from: a file. */
static struct tree_entry base(void)
{
	struct tree_entry e = {
		.path = "a.txt", .size = 100, .ino = 7,
		.mtime = { 1700000000, 500 }, .ctime = { 1700000001, 600 },
		.mode = 0644, .uid = 1000, .gid = 1000, .type = ENTRY_FILE,
	};
	return e;
}

enum field { NONE, SIZE, MTIME_SEC, MTIME_NSEC, CTIME_SEC, CTIME_NSEC,
	     INODE, MODE, OWNER, GROUP, TO_DIR, TO_SYMLINK, RECHECK, NEW };

static const char *const field_names[] = {
	"nothing", "size", "mtime s", "mtime ns", "ctime s", "ctime ns",
	"inode", "mode", "owner", "group", "was a folder", "was a symlink",
	"recheck", "new",
};

struct reading_case {
	enum field changed;       /* what differs in the old record */
	struct change_options o;
	bool want;                /* must be read again */
};

#define PLAIN { false, false, false }
#define CHECKSUM { true, false, false }
#define NO_CTIME { false, true, false }
#define NO_INODE { false, false, true }
#define NO_BOTH { false, true, true }

/* The old record with one field changed. */
static struct tree_entry old_with(enum field f)
{
	struct tree_entry e = base();

	switch (f) {
	case SIZE: e.size++; break;
	case MTIME_SEC: e.mtime.sec--; break;
	case MTIME_NSEC: e.mtime.nsec++; break;
	case CTIME_SEC: e.ctime.sec--; break;
	case CTIME_NSEC: e.ctime.nsec--; break;
	case INODE: e.ino++; break;
	case MODE: e.mode = 0600; break;
	case OWNER: e.uid = 0; break;
	case GROUP: e.gid = 0; break;
	case TO_DIR: e.type = ENTRY_DIR; break;
	case TO_SYMLINK: e.type = ENTRY_SYMLINK; break;
	case RECHECK: e.recheck = true; break;
	case NONE: case NEW: break;
	}
	return e;
}

static void test_needs_reading(void **state)
{
	static const struct reading_case cases[] = {
		{ NONE, PLAIN, false },
		{ NEW, PLAIN, true },
		{ SIZE, PLAIN, true },
		{ MTIME_SEC, PLAIN, true },
		{ MTIME_NSEC, PLAIN, true },   /* nanoseconds matter */
		{ CTIME_SEC, PLAIN, true },
		{ CTIME_NSEC, PLAIN, true },
		{ INODE, PLAIN, true },
		{ TO_DIR, PLAIN, true },
		{ TO_SYMLINK, PLAIN, true },
		{ RECHECK, PLAIN, true },      /* racily clean last time */
		/* owner and mode are recorded, not a reason to read */
		{ MODE, PLAIN, false },
		{ OWNER, PLAIN, false },
		{ GROUP, PLAIN, false },
		/* --checksum reads everything */
		{ NONE, CHECKSUM, true },
		{ MODE, CHECKSUM, true },
		/* ignore_ctime: ctime alone is no reason */
		{ CTIME_SEC, NO_CTIME, false },
		{ CTIME_NSEC, NO_CTIME, false },
		{ INODE, NO_CTIME, true },
		{ SIZE, NO_CTIME, true },
		{ MTIME_NSEC, NO_CTIME, true },
		/* ignore_inode: the inode alone is no reason */
		{ INODE, NO_INODE, false },
		{ CTIME_SEC, NO_INODE, true },
		{ SIZE, NO_INODE, true },
		{ INODE, NO_BOTH, false },
		{ CTIME_NSEC, NO_BOTH, false },
		{ MTIME_SEC, NO_BOTH, true },
		{ NEW, NO_BOTH, true },
		{ RECHECK, NO_BOTH, true },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct reading_case *c = &cases[i];
		struct tree_entry now = base(), old = old_with(c->changed);
		bool got = change_needs_reading(&now,
						c->changed == NEW ? NULL : &old,
						&c->o);

		if (got != c->want) {
			print_error("case %zu: %s changed, checksum %d "
				    "ignore_ctime %d ignore_inode %d: got %d, "
				    "want %d\n", i, field_names[c->changed],
				    c->o.checksum_all, c->o.ignore_ctime,
				    c->o.ignore_inode, got, c->want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

struct owner_case {
	enum field changed;
	bool want_same;
};

static void test_same_owner_and_mode(void **state)
{
	static const struct owner_case cases[] = {
		{ NONE, true }, { SIZE, true }, { MTIME_NSEC, true },
		{ INODE, true }, { MODE, false }, { OWNER, false },
		{ GROUP, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tree_entry now = base(), old = old_with(cases[i].changed);

		if (change_same_owner_and_mode(&now, &old) !=
		    cases[i].want_same)
			fail_msg("case %zu: %s changed", i,
				 field_names[cases[i].changed]);
	}
}

struct other_case {
	uint8_t now_type, old_type;     /* ENTRY_*; old 0xff: new */
	uint32_t now_mode, old_mode;
	uint32_t now_uid, old_uid;
	const char *now_target, *old_target;
	bool want;
};

#define D ENTRY_DIR
#define L ENTRY_SYMLINK
#define F ENTRY_FILE
#define NEW_ENTRY 0xff

static void test_other_differs(void **state)
{
	static const struct other_case cases[] = {
		{ D, D, 0755, 0755, 0, 0, NULL, NULL, false },
		{ D, D, 0755, 0700, 0, 0, NULL, NULL, true },
		{ D, D, 0755, 0755, 0, 1, NULL, NULL, true },
		{ D, NEW_ENTRY, 0755, 0, 0, 0, NULL, NULL, true },
		{ D, F, 0755, 0755, 0, 0, NULL, NULL, true },
		{ D, L, 0755, 0755, 0, 0, NULL, "x", true },
		{ L, L, 0777, 0777, 0, 0, "x", "x", false },
		/* a symlink's mode means nothing on Linux */
		{ L, L, 0777, 0755, 0, 0, "x", "x", false },
		{ L, L, 0777, 0777, 0, 0, "x", "y", true },
		{ L, L, 0777, 0777, 1, 0, "x", "x", true },
		{ L, D, 0777, 0777, 0, 0, "x", NULL, true },
		{ L, NEW_ENTRY, 0777, 0, 0, 0, "x", NULL, true },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct other_case *c = &cases[i];
		struct tree_entry now = {
			.path = "p", .type = c->now_type, .mode = c->now_mode,
			.uid = c->now_uid, .link_target = (char *)c->now_target,
		};
		struct tree_entry old = {
			.path = "p", .type = c->old_type, .mode = c->old_mode,
			.uid = c->old_uid, .link_target = (char *)c->old_target,
		};
		bool got = change_other_differs(
			&now, c->old_type == NEW_ENTRY ? NULL : &old);

		if (got != c->want)
			fail_msg("case %zu: got %d, want %d", i, got, c->want);
	}
}

struct count_case {
	uint8_t now_type, old_type;     /* NEW_ENTRY: none; for missing,
					   now_type is NEW_ENTRY */
	struct change_counts want;
};

static void test_counts(void **state)
{
	static const struct count_case cases[] = {
		/* added, modified */
		{ F, NEW_ENTRY, { .files_added = 1 } },
		{ L, NEW_ENTRY, { .files_added = 1 } },
		{ D, NEW_ENTRY, { .dirs_changed = 1 } },
		{ F, F, { .files_modified = 1 } },
		{ L, F, { .files_modified = 1 } },
		{ F, L, { .files_modified = 1 } },
		{ D, D, { .dirs_changed = 1 } },
		/* a file became a folder, or back: one out, one in */
		{ D, F, { .files_deleted = 1, .dirs_changed = 1 } },
		{ D, L, { .files_deleted = 1, .dirs_changed = 1 } },
		{ F, D, { .files_added = 1, .dirs_changed = 1 } },
		/* gone */
		{ NEW_ENTRY, F, { .files_deleted = 1 } },
		{ NEW_ENTRY, L, { .files_deleted = 1 } },
		{ NEW_ENTRY, D, { .dirs_changed = 1 } },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct count_case *c = &cases[i];
		struct tree_entry now = { .path = "p", .type = c->now_type };
		struct tree_entry old = { .path = "p", .type = c->old_type };
		struct change_counts got = {0};

		if (c->now_type == NEW_ENTRY)
			change_count_missing(&old, &got);
		else
			change_count_present(
				&now, c->old_type == NEW_ENTRY ? NULL : &old,
				&got);
		if (memcmp(&got, &c->want, sizeof(got)))
			fail_msg("case %zu: got +%lld ~%lld -%lld d%lld", i,
				 (long long)got.files_added,
				 (long long)got.files_modified,
				 (long long)got.files_deleted,
				 (long long)got.dirs_changed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_reading),
		cmocka_unit_test(test_same_owner_and_mode),
		cmocka_unit_test(test_other_differs),
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
