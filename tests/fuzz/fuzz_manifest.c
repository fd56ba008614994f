/* Fuzz target for the manifest an archive carries (.incbak/manifest.json):
 * any buffer either fails to parse or survives a round trip, format ->
 * parse -> format giving the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct manifest *m)
{
	struct manifest again;
	struct buf first = {0}, second = {0};
	struct error err = { "" };

	manifest_format(m, &first);
	manifest_init(&again);
	if (manifest_parse(first.data, first.len, &again, &err) < 0) {
		fprintf(stderr, "formatted manifest does not parse: %s\n%s",
			err.msg, first.data);
		abort();
	}
	manifest_format(&again, &second);
	if (first.len != second.len ||
	    memcmp(first.data, second.data, first.len) != 0) {
		fprintf(stderr, "round trip changed the manifest:\n%s\n"
			"became:\n%s", first.data, second.data);
		abort();
	}
	manifest_release(&again);
	buf_release(&first);
	buf_release(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct error err = { "" };

	manifest_init(&m);
	if (manifest_parse((const char *)data, size, &m, &err) == 0)
		check_round_trip(&m);
	else if (!err.msg[0])
		abort(); /* a failure must say why */
	manifest_release(&m);
	return 0;
}
