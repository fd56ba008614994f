/* A destination's source and id: the check a command makes before it
 * touches a destination, and the record a run makes in its metadata. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "catalog.h"
#include "dest_identity.h"
#include "status.h"
#include "util.h"

int dest_identity_check(const struct metadata *md, const char *dest,
			const char *source, bool reattach, const char *verb,
			struct error *err)
{
	if (!md->source || !strcmp(md->source, source) || reattach)
		return STATUS_OK;
	error_set(err, "destination '%s' holds the backups of '%s', not of "
		  "'%s': give each source its own destination (e.g. "
		  "destination = /backups/{name} in the config)%s%s%s", dest,
		  md->source, source,
		  verb ? ", or, if the source was moved here, run 'incbak " :
			 ", or name it with --dest to use it anyway",
		  verb ? verb : "", verb ? " --reattach'" : "");
	return STATUS_USAGE;
}

/* DEST_ID_HEX hex digits from the kernel's random source. */
static char *new_dest_id(void)
{
	uint8_t bytes[DEST_ID_HEX / 2];
	char *hex = xmalloc(DEST_ID_HEX + 1);
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

		if (n < 0 && errno != EINTR)
			abort(); /* only before the pool is ready, at boot */
		if (n > 0)
			got += (size_t)n;
	}
	hex_encode(bytes, sizeof(bytes), hex);
	return hex;
}

bool dest_identity_claim(struct metadata *md, const char *source)
{
	bool changed = false;

	if (!md->source || strcmp(md->source, source)) {
		free(md->source);
		md->source = xstrdup(source);
		changed = true;
	}
	if (!md->dest_id) {
		md->dest_id = new_dest_id();
		changed = true;
	}
	return changed;
}
