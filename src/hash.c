/* SHA-256 through OpenSSL's EVP interface (the SHA256_* calls are deprecated
 * in OpenSSL 3 and slower to reach the assembly paths). */
#include "hash.h"

#include <stdlib.h>

#include <openssl/evp.h>

struct hash {
	EVP_MD_CTX *ctx;
};

struct hash *hash_new(void)
{
	struct hash *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || hash_reset(h) < 0) {
		hash_free(h);
		return NULL;
	}
	return h;
}

int hash_reset(struct hash *h)
{
	return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int hash_update(struct hash *h, const void *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -1;
}

int hash_final(struct hash *h, uint8_t out[HASH_SIZE])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != HASH_SIZE)
		return -1;
	return 0;
}

void hash_free(struct hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int hash_buffer(const void *data, size_t len, uint8_t out[HASH_SIZE])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != HASH_SIZE)
		return -1;
	return 0;
}
