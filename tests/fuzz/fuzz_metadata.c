/* Fuzz target for backup_metadata.json: any buffer either fails to parse or
 * survives a round trip, format -> parse -> format giving the same bytes;
 * and the reader of records laid out as incbak writes them reads what the
 * general reader reads, with the same errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses what catalog_format() wrote for md and checks that formatting
 * the result gives the same text. */
static void check_round_trip(const struct metadata *md)
{
	struct metadata again;
	struct buf first = {0}, second = {0};
	struct error err = { "" };

	catalog_format(md, &first);
	catalog_init(&again);
	if (catalog_parse(first.data, first.len, &again, &err) < 0) {
		fprintf(stderr, "formatted metadata does not parse: %s\n%s",
			err.msg, first.data);
		abort();
	}
	catalog_format(&again, &second);
	if (first.len != second.len ||
	    memcmp(first.data, second.data, first.len) != 0) {
		fprintf(stderr, "round trip changed the metadata:\n%s\n"
			"became:\n%s", first.data, second.data);
		abort();
	}
	catalog_release(&again);
	buf_release(&first);
	buf_release(&second);
}

/* The same input through the general reader alone: the same outcome. */
static void check_general_reader(const uint8_t *data, size_t size, bool ok,
				 const struct metadata *md,
				 const struct error *err)
{
	struct metadata general;
	struct error general_err = { "" };
	struct buf fast_text = {0}, general_text = {0};
	bool general_ok;

	catalog_init(&general);
	catalog_fastread_enabled = false;
	general_ok = catalog_parse((const char *)data, size, &general,
				   &general_err) == 0;
	catalog_fastread_enabled = true;
	if (general_ok != ok || (!ok && strcmp(err->msg, general_err.msg))) {
		fprintf(stderr, "the two readers disagree: '%s' / '%s'\n",
			ok ? "read" : err->msg,
			general_ok ? "read" : general_err.msg);
		abort();
	}
	if (ok) {
		catalog_format(md, &fast_text);
		catalog_format(&general, &general_text);
		if (fast_text.len != general_text.len ||
		    memcmp(fast_text.data, general_text.data, fast_text.len)) {
			fprintf(stderr, "the two readers read differently:\n"
				"%s\nand:\n%s", fast_text.data,
				general_text.data);
			abort();
		}
	}
	catalog_release(&general);
	buf_release(&fast_text);
	buf_release(&general_text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metadata md;
	struct error err = { "" };
	bool ok;

	catalog_init(&md);
	ok = catalog_parse((const char *)data, size, &md, &err) == 0;
	if (ok)
		check_round_trip(&md);
	else if (!err.msg[0])
		abort(); /* a failure must say why */
	check_general_reader(data, size, ok, &md, &err);
	catalog_release(&md);
	return 0;
}
