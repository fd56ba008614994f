/* For unit tests of what incbak compresses: the size zstd makes of some
 * bytes as one frame at a level, with the checksum incbak's frames carry.
 * Included by the test files themselves (each is one program, with cmocka
 * already included). */
#ifndef INCBAK_TEST_ZSTD_SIZE_H
#define INCBAK_TEST_ZSTD_SIZE_H

#include <stdlib.h>

#include <zstd.h>

static inline size_t zstd_frame_size(const void *data, size_t len, int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(len), n;
	void *out = malloc(cap);

	assert_non_null(c);
	assert_non_null(out);
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(c, out, cap, data, len);
	assert_false(ZSTD_isError(n));
	ZSTD_freeCCtx(c);
	free(out);
	return n;
}

#endif
