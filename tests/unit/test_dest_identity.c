/* Unit tests for dest_identity.c: which source may use a destination, and
 * what a run records in its metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "dest_identity.h"
#include "status.h"

static void test_check(void **state)
{
	static const struct {
		const char *recorded, *source;
		bool reattach;
		const char *verb;
		int want;
		const char *message; /* a part of it */
	} cases[] = {
		{ NULL, "/a", false, "run", STATUS_OK, NULL },
		{ "/a", "/a", false, "run", STATUS_OK, NULL },
		{ "/a", "/b", true, "run", STATUS_OK, NULL },
		{ "/a", "/b", false, "run", STATUS_USAGE,
		  "destination '/d' holds the backups of '/a', not of '/b': "
		  "give each source its own destination (e.g. destination = "
		  "/backups/{name} in the config), or, if the source was "
		  "moved here, run 'incbak run --reattach'" },
		{ "/a", "/b", false, NULL, STATUS_USAGE,
		  "or name it with --dest to use it anyway" },
		{ "/a", "/a/", false, "run", STATUS_USAGE, "not of '/a/'" },
	};
	struct metadata md;
	struct error err;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		catalog_init(&md);
		md.source = cases[i].recorded ? xstrdup(cases[i].recorded)
					      : NULL;
		err.msg[0] = '\0';
		assert_int_equal(dest_identity_check(&md, "/d", cases[i].source,
						     cases[i].reattach,
						     cases[i].verb, &err),
				 cases[i].want);
		if (cases[i].message && !strstr(err.msg, cases[i].message))
			fail_msg("case %zu: got '%s'", i, err.msg);
		catalog_release(&md);
	}
}

static void test_claim(void **state)
{
	struct metadata md;
	char id[DEST_ID_HEX + 1];

	(void)state;
	catalog_init(&md);
	assert_true(dest_identity_claim(&md, "/a"));
	assert_string_equal(md.source, "/a");
	assert_int_equal(strlen(md.dest_id), DEST_ID_HEX);
	assert_int_equal(strspn(md.dest_id, "0123456789abcdef"), DEST_ID_HEX);
	memcpy(id, md.dest_id, sizeof(id));
	/* the same source: nothing to save */
	assert_false(dest_identity_claim(&md, "/a"));
	/* re-attached: the new path, the same id */
	assert_true(dest_identity_claim(&md, "/moved"));
	assert_string_equal(md.source, "/moved");
	assert_string_equal(md.dest_id, id);
	catalog_release(&md);
	/* a second destination gets an id of its own */
	catalog_init(&md);
	dest_identity_claim(&md, "/a");
	assert_string_not_equal(md.dest_id, id);
	catalog_release(&md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_claim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
