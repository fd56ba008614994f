/* --json output through cJSON. Strings that are not UTF-8 (file names) are
 * made valid by replacing bad bytes with U+FFFD, so the output always parses. */
#include "jsonout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util.h"

struct jsonout {
	cJSON *node;
};

static struct jsonout *wrap(cJSON *node)
{
	struct jsonout *j = xmalloc(sizeof(*j));

	if (!node) {
		fputs("incbak: out of memory\n", stderr);
		abort();
	}
	j->node = node;
	return j;
}

struct jsonout *jsonout_object(void)
{
	return wrap(cJSON_CreateObject());
}

struct jsonout *jsonout_array(void)
{
	return wrap(cJSON_CreateArray());
}

static void put(struct jsonout *j, const char *key, cJSON *item)
{
	if (cJSON_IsArray(j->node))
		cJSON_AddItemToArray(j->node, item);
	else
		cJSON_AddItemToObject(j->node, key, item);
}

static char *valid_utf8(const char *s)
{
	struct buf out = {0};
	size_t len = strlen(s);

	if (utf8_valid(s, len))
		return xstrdup(s);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x80)
			buf_append(&out, &s[i], 1);
		else
			buf_puts(&out, "\xEF\xBF\xBD");
	}
	return out.data ? out.data : xstrdup("");
}

void jsonout_str(struct jsonout *j, const char *key, const char *value)
{
	char *v;

	if (!value) {
		jsonout_null(j, key);
		return;
	}
	v = valid_utf8(value);
	put(j, key, cJSON_CreateString(v));
	free(v);
}

void jsonout_int(struct jsonout *j, const char *key, int64_t value)
{
	put(j, key, cJSON_CreateNumber((double)value));
}

void jsonout_num(struct jsonout *j, const char *key, double value)
{
	put(j, key, cJSON_CreateNumber(value));
}

void jsonout_bool(struct jsonout *j, const char *key, bool value)
{
	put(j, key, cJSON_CreateBool(value));
}

void jsonout_null(struct jsonout *j, const char *key)
{
	put(j, key, cJSON_CreateNull());
}

void jsonout_add(struct jsonout *j, const char *key, struct jsonout *child)
{
	put(j, key, child->node);
	free(child);
}

void jsonout_print(struct jsonout *j)
{
	char *text = cJSON_PrintUnformatted(j->node);

	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	free(text);
	jsonout_free(j);
}

void jsonout_free(struct jsonout *j)
{
	if (!j)
		return;
	cJSON_Delete(j->node);
	free(j);
}
