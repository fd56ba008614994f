/* Fuzz target for the manifest an archive carries (.incbak/manifest.json):
 * any buffer either fails to parse or survives a round trip, format ->
 * parse -> format giving the same bytes; and read for one path (as a
 * restore of that path reads it), the formatted manifest gives every
 * entry at, under and above that path, and nothing that is not in it;
 * read record by record as it arrives, the same as read whole; and the
 * reader of records laid out as incbak writes them reads what the general
 * reader reads, with the same errors. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct manifest *m)
{
	struct manifest again;
	struct buf first = {0}, second = {0};
	struct error err = { "" };

	catalog_manifest_format(m, &first);
	catalog_manifest_init(&again);
	if (catalog_manifest_parse(first.data, first.len, &again, &err) < 0) {
		fprintf(stderr, "formatted manifest does not parse: %s\n%s",
			err.msg, first.data);
		abort();
	}
	catalog_manifest_format(&again, &second);
	if (first.len != second.len ||
	    memcmp(first.data, second.data, first.len) != 0) {
		fprintf(stderr, "round trip changed the manifest:\n%s\n"
			"became:\n%s", first.data, second.data);
		abort();
	}
	catalog_manifest_release(&again);
	buf_release(&first);
	buf_release(&second);
}

static bool in_scope(const char *path, const char *scope)
{
	size_t n = strlen(path), m = strlen(scope);

	if (n >= m && !memcmp(path, scope, m) && (n == m || path[m] == '/'))
		return true;
	return n < m && !memcmp(scope, path, n) && scope[n] == '/';
}

static void check_paths(const struct manifest *whole)
{
	struct strlist paths = {0};
	struct manifest part;
	struct buf text = {0};
	struct error err = { "" };
	const char *scope;

	if (!whole->files.len)
		return;
	scope = whole->files.entries[whole->files.len / 2].path;
	strlist_push(&paths, scope);
	catalog_manifest_format(whole, &text);
	catalog_manifest_init(&part);
	if (catalog_manifest_parse_paths(text.data, text.len, &paths, &part,
					 &err) < 0) {
		fprintf(stderr, "read for '%s', the manifest fails: %s\n",
			scope, err.msg);
		abort();
	}
	for (size_t i = 0; i < whole->files.len; i++) {
		const char *p = whole->files.entries[i].path;

		if (in_scope(p, scope) && !tree_find(&part.files, p)) {
			fprintf(stderr, "read for '%s': '%s' is missing\n",
				scope, p);
			abort();
		}
	}
	/* Names in hex are kept whatever they are: parsing decides. */
	for (size_t i = 0; i < part.files.len; i++) {
		const char *p = part.files.entries[i].path;

		if (!tree_find(&whole->files, p)) {
			fprintf(stderr, "read for '%s': '%s' came from "
				"nowhere\n", scope, p);
			abort();
		}
	}
	catalog_manifest_release(&part);
	strlist_clear(&paths);
	buf_release(&text);
}

/* Read record by record as it arrives (in two pieces), any text gives
 * what a whole read gives, or defers to it. */
static void check_streamed(const uint8_t *data, size_t size,
			   const struct manifest *whole, bool whole_ok)
{
	struct catalog_stream *s = catalog_stream_new(NULL);
	struct manifest m;
	struct buf a = {0}, b = {0};
	struct error err = { "" };
	int rc;

	catalog_stream_feed(s, (const char *)data, size / 2);
	catalog_stream_feed(s, (const char *)data + size / 2, size - size / 2);
	catalog_manifest_init(&m);
	rc = catalog_stream_finish(s, &m, &err);
	catalog_stream_free(s);
	if (rc == 0 && !whole_ok) {
		fprintf(stderr, "streamed, a manifest a whole read refuses "
			"parses\n");
		abort();
	}
	if (rc == 0) {
		catalog_manifest_format(&m, &a);
		catalog_manifest_format(whole, &b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len)) {
			fprintf(stderr, "streamed:\n%s\nwhole:\n%s", a.data,
				b.data);
			abort();
		}
	}
	buf_release(&a);
	buf_release(&b);
	catalog_manifest_release(&m);
}

/* Whatever the text, a read for some path parses or says why. */
static void check_raw_paths(const uint8_t *data, size_t size)
{
	struct strlist paths = {0};
	struct manifest m;
	struct error err = { "" };

	strlist_push(&paths, "a");
	catalog_manifest_init(&m);
	if (catalog_manifest_parse_paths((const char *)data, size, &paths, &m,
					 &err) < 0 &&
	    !err.msg[0])
		abort();
	catalog_manifest_release(&m);
	strlist_clear(&paths);
}

static void check_general_reader(const uint8_t *data, size_t size, bool ok,
				 const struct manifest *m,
				 const struct error *err)
{
	struct manifest general;
	struct error general_err = { "" };
	struct buf fast_text = {0}, general_text = {0};
	bool general_ok;

	catalog_manifest_init(&general);
	catalog_fastread_enabled = false;
	general_ok = catalog_manifest_parse((const char *)data, size, &general,
					    &general_err) == 0;
	catalog_fastread_enabled = true;
	if (general_ok != ok || (!ok && strcmp(err->msg, general_err.msg))) {
		fprintf(stderr, "the two readers disagree: '%s' / '%s'\n",
			ok ? "read" : err->msg,
			general_ok ? "read" : general_err.msg);
		abort();
	}
	if (ok) {
		catalog_manifest_format(m, &fast_text);
		catalog_manifest_format(&general, &general_text);
		if (fast_text.len != general_text.len ||
		    memcmp(fast_text.data, general_text.data, fast_text.len)) {
			fprintf(stderr, "the two readers read differently:\n"
				"%s\nand:\n%s", fast_text.data,
				general_text.data);
			abort();
		}
	}
	catalog_manifest_release(&general);
	buf_release(&fast_text);
	buf_release(&general_text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct error err = { "" };
	bool ok;

	catalog_manifest_init(&m);
	ok = catalog_manifest_parse((const char *)data, size, &m, &err) == 0;
	if (ok) {
		check_round_trip(&m);
		check_paths(&m);
	} else if (!err.msg[0]) {
		abort(); /* a failure must say why */
	}
	check_streamed(data, size, &m, ok);
	check_general_reader(data, size, ok, &m, &err);
	catalog_manifest_release(&m);
	check_raw_paths(data, size);
	return 0;
}
