/* Fuzz target for backup_metadata.json: any buffer either fails to parse or
 * survives a round trip, format -> parse -> format giving the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses what metadata_format() wrote for md and checks that formatting
 * the result gives the same text. */
static void check_round_trip(const struct metadata *md)
{
	struct metadata again;
	struct buf first = {0}, second = {0};
	struct error err = { "" };

	metadata_format(md, &first);
	metadata_init(&again);
	if (metadata_parse(first.data, first.len, &again, &err) < 0) {
		fprintf(stderr, "formatted metadata does not parse: %s\n%s",
			err.msg, first.data);
		abort();
	}
	metadata_format(&again, &second);
	if (first.len != second.len ||
	    memcmp(first.data, second.data, first.len) != 0) {
		fprintf(stderr, "round trip changed the metadata:\n%s\n"
			"became:\n%s", first.data, second.data);
		abort();
	}
	metadata_release(&again);
	buf_release(&first);
	buf_release(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metadata md;
	struct error err = { "" };

	metadata_init(&md);
	if (metadata_parse((const char *)data, size, &md, &err) == 0)
		check_round_trip(&md);
	else if (!err.msg[0])
		abort(); /* a failure must say why */
	metadata_release(&md);
	return 0;
}
