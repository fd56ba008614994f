/* The JSON printer behind --json: objects and arrays built up, then printed
 * as one line on stdout. */
#ifndef INCBAK_JSONOUT_H
#define INCBAK_JSONOUT_H

#include <stdbool.h>
#include <stdint.h>

struct jsonout;

struct jsonout *jsonout_object(void);
struct jsonout *jsonout_array(void);
void jsonout_str(struct jsonout *j, const char *key, const char *value);
void jsonout_int(struct jsonout *j, const char *key, int64_t value);
void jsonout_num(struct jsonout *j, const char *key, double value);
void jsonout_bool(struct jsonout *j, const char *key, bool value);
void jsonout_null(struct jsonout *j, const char *key);
/* Moves child into j (under key for objects; appended for arrays). */
void jsonout_add(struct jsonout *j, const char *key, struct jsonout *child);
/* Prints j and a newline on stdout; frees j. */
void jsonout_print(struct jsonout *j);
/* Frees j without printing; accepts NULL. */
void jsonout_free(struct jsonout *j);

#endif
