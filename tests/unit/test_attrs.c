/* Unit tests for attrs.c: the encoding the catalog records, which
 * attributes a restore applies as root and as a user, ACLs in the kernel's
 * form, and attribute changes as change detection sees them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "attrs.h"
#include "change.h"
#include "tree.h"
#include "util.h"

struct decode_case {
	const char *text;
	long want;             /* items, or -1 */
	const char *first_name, *first_value;
};

static const struct decode_case decode_cases[] = {
	{ "", 0, NULL, NULL },
	{ "757365722e61=6869", 1, "user.a", "hi" },
	{ "757365722e61=,757365722e62=00ff", 2, "user.a", "" },
	{ "757365722e61=6869,", 1, "user.a", "hi" },
	{ "user.a=hi", -1, NULL, NULL },          /* not hex */
	{ "757365722e61=686", -1, NULL, NULL },   /* odd digits */
	{ "=6869", -1, NULL, NULL },              /* no name */
	{ "7500=68", -1, NULL, NULL },            /* NUL in the name */
	{ "757365722e61", -1, NULL, NULL },       /* no '=' */
	{ "757365722E61=6869", -1, NULL, NULL },  /* upper case */
};

static void test_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(decode_cases); i++) {
		const struct decode_case *c = &decode_cases[i];
		struct attrs_item *items;
		long n = attrs_decode(c->text, &items);

		if (n != c->want)
			fail_msg("'%s': %ld items, want %ld", c->text, n,
				 c->want);
		if (n > 0) {
			assert_string_equal(items[0].name, c->first_name);
			assert_int_equal(items[0].size,
					 strlen(c->first_value));
			assert_memory_equal(items[0].value, c->first_value,
					    items[0].size);
		}
		attrs_items_free(items, n > 0 ? n : 0);
	}
}

/* ACLs as the kernel stores them: version 2, then tag, perm, id. */
static const unsigned char acl_own[] = {
	2, 0, 0, 0,
	0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
	0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
};
static const unsigned char acl_names_user[] = {
	2, 0, 0, 0,
	0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
	0x02, 0, 4, 0, 0xfe, 0xff, 0, 0,
	0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
};
static const unsigned char acl_names_group[] = {
	2, 0, 0, 0,
	0x08, 0, 7, 0, 0x64, 0, 0, 0,
};
static const unsigned char acl_bad[] = { 2, 0, 0 };

struct apply_case {
	const char *name;
	const unsigned char *value;
	size_t size;
	bool as_root, as_user;
};

#define V(a) a, sizeof(a)
static const struct apply_case apply_cases[] = {
	{ "user.test", (const unsigned char *)"x", 1, true, true },
	{ "trusted.secret", (const unsigned char *)"x", 1, true, false },
	{ "security.capability", (const unsigned char *)"x", 1, true, false },
	{ "security.selinux", (const unsigned char *)"x", 1, true, false },
	{ ATTRS_ACL_ACCESS, V(acl_own), true, true },
	{ ATTRS_ACL_DEFAULT, V(acl_own), true, true },
	{ ATTRS_ACL_ACCESS, V(acl_names_user), true, false },
	{ ATTRS_ACL_DEFAULT, V(acl_names_group), true, false },
	{ ATTRS_ACL_ACCESS, V(acl_bad), true, false },
	{ "system.nfs4_acl", (const unsigned char *)"x", 1, false, false },
	{ "other.name", (const unsigned char *)"x", 1, false, false },
};

static void test_may_apply(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(apply_cases); i++) {
		const struct apply_case *c = &apply_cases[i];
		struct attrs_item it = { (char *)c->name,
					 (unsigned char *)c->value, c->size };

		if (attrs_may_apply(&it, true) != c->as_root ||
		    attrs_may_apply(&it, false) != c->as_user)
			fail_msg("case %zu (%s): root %d, user %d", i, c->name,
				 attrs_may_apply(&it, true),
				 attrs_may_apply(&it, false));
	}
}

static void test_acl_entries(void **state)
{
	struct attrs_acl_entry e[8];

	(void)state;
	assert_int_equal(attrs_acl_entries(V(acl_names_user), e, 8), 5);
	assert_int_equal(e[1].tag, ATTRS_ACL_USER);
	assert_int_equal(e[1].perm, 4);
	assert_int_equal(e[1].id, 65534);
	assert_int_equal(attrs_acl_entries(V(acl_names_user), e, 2), 2);
	assert_int_equal(attrs_acl_entries(V(acl_bad), e, 8), -1);
	assert_int_equal(attrs_acl_entries(acl_own, 4, e, 8), 0);
}

/* A change of attributes alone: the file counts as modified (and its
 * record is written again), a folder or symlink as changed. */
static void test_attribute_changes(void **state)
{
	static const char *const values[] = { NULL, "757365722e61=6869",
					      "757365722e61=6870" };
	(void)state;
	for (size_t a = 0; a < ARRAY_SIZE(values); a++)
		for (size_t b = 0; b < ARRAY_SIZE(values); b++) {
			struct tree_entry now = { .path = "f", .mode = 0644,
						  .type = ENTRY_DIR };
			struct tree_entry old = now;

			now.attrs = (char *)values[a];
			old.attrs = (char *)values[b];
			assert_int_equal(change_same_owner_and_mode(&now, &old),
					 a == b);
			assert_int_equal(change_other_differs(&now, &old),
					 a != b);
			assert_int_equal(tree_entry_same(&now, &old), a == b);
			assert_int_equal(attrs_same(values[a], values[b]),
					 a == b);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_may_apply),
		cmocka_unit_test(test_acl_entries),
		cmocka_unit_test(test_attribute_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
