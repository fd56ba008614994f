/* SHA-256 of streams and buffers (OpenSSL EVP). */
#ifndef INCBAK_HASH_H
#define INCBAK_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SIZE 32
#define HASH_HEX_SIZE (2 * HASH_SIZE + 1)

struct hash;

/* A new SHA-256 context; NULL only if OpenSSL cannot provide SHA-256. */
struct hash *hash_new(void);
/* Restarts ctx for a new stream. */
int hash_reset(struct hash *ctx);
int hash_update(struct hash *ctx, const void *data, size_t len);
/* Writes the digest; ctx must be reset before reuse. */
int hash_final(struct hash *ctx, uint8_t out[HASH_SIZE]);
/* Accepts NULL. */
void hash_free(struct hash *ctx);

/* One-shot digest of a buffer; 0 or -1. */
int hash_buffer(const void *data, size_t len, uint8_t out[HASH_SIZE]);

#endif
