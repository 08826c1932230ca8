/* Fuzzes body_parse() (manager/body.h), the JSON request-body parser and validator, with the
 * real field tables of the admin API. The first input byte picks the table (mod 4: pool create,
 * pool update, reservation, admin token); the rest is the body.
 * Invariants: on success the result is a JSON object, every member is named in the table and
 * has the table's type, and every required member is present; on failure e.detail is non-empty
 * and NUL-terminated; e.has_field is 0 when the body is no JSON object, and for an object
 * e.field names a table field of the wrong type, a missing required field or an unknown key
 * (cut to 64 bytes; the key "" is named as ""); a duplicate member is named when jansson's
 * message holds its whole name. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "../../manager/api.h"
#include "../../manager/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct table {
	const struct body_field *spec;
	size_t n;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct table tables[] = {
    {api_pool_create_body, NELEM(api_pool_create_body)},
    {api_pool_update_body, NELEM(api_pool_update_body)},
    {api_reservation_body, NELEM(api_reservation_body)},
    {api_admin_token_body, NELEM(api_admin_token_body)},
};

static const struct body_field *
spec_find(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->spec[i].name, name) == 0)
			return &t->spec[i];
	return NULL;
}

static int
type_matches(json_t *v, enum body_type type)
{
	switch (type) {
	case BODY_STRING: return json_is_string(v);
	case BODY_INT: return json_is_integer(v);
	case BODY_BOOL: return json_is_boolean(v);
	case BODY_OBJECT: return json_is_object(v);
	case BODY_ARRAY: return json_is_array(v);
	case BODY_STRING_OR_NULL: return json_is_string(v) || json_is_null(v);
	}
	return 0;
}

static void
check_ok(const struct table *t, json_t *obj)
{
	const struct body_field *f;
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		__builtin_trap();
	json_object_foreach(obj, key, v)
	{
		if ((f = spec_find(t, key)) == NULL || !type_matches(v, f->type))
			__builtin_trap();
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->spec[i].required && json_object_get(obj, t->spec[i].name) == NULL)
			__builtin_trap();
}

/* The member e->field names explains the failure: a table field of the wrong type or a
 * missing required one, or an unknown key (cut to 64 bytes). */
static int
field_explains(const struct table *t, json_t *obj, const char *field)
{
	const struct body_field *f = spec_find(t, field);
	size_t flen = strlen(field);
	const char *key;
	json_t *v;

	if (f != NULL) {
		v = json_object_get(obj, field);
		return v == NULL ? f->required : !type_matches(v, f->type);
	}
	json_object_foreach(obj, key, v)
	{
		if (spec_find(t, key) == NULL && strncmp(key, field, 64) == 0 &&
		    flen == (strlen(key) < 64 ? strlen(key) : 64))
			return 1;
	}
	return 0;
}

/* How often the text has a member name that decodes to `field` (cut to 64 bytes): every '"'
 * is tried as the start of a string token followed by ':'. A duplicate can sit in a value a
 * later duplicate overwrote, so the permissive parse may no longer hold it: count in the text. */
static int
key_occurrences(const char *buf, size_t len, const char *field)
{
	size_t flen = strlen(field), klen;
	const char *q, *end = buf + len, *after;
	json_error_t jerr;
	int n = 0;
	json_t *s;

	for (q = memchr(buf, '"', len); q != NULL; q = memchr(q + 1, '"', (size_t)(end - q - 1))) {
		s = json_loadb(
		    q, (size_t)(end - q), JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr);
		if (json_is_string(s)) {
			klen = json_string_length(s);
			for (after = q + jerr.position;
			     after < end && *after != '\0' && strchr(" \t\r\n", *after); after++)
				;
			if (after < end && *after == ':' &&
			    strncmp(json_string_value(s), field, 64) == 0 &&
			    flen == (klen < 64 ? klen : 64) && strlen(json_string_value(s)) == klen)
				n++;
		}
		json_decref(s);
		if (q + 1 >= end)
			break;
	}
	return n;
}

static void
check_error(const struct table *t, const char *buf, size_t len, const struct body_error *e)
{
	json_t *again;

	if (memchr(e->detail, '\0', sizeof(e->detail)) == NULL || e->detail[0] == '\0')
		__builtin_trap();
	if (memchr(e->field, '\0', sizeof(e->field)) == NULL || strlen(e->field) > 64)
		__builtin_trap();
	/* Parse again on the side: a body that is no JSON object is at fault as a whole (no
	 * field); in an object a field is to blame, and names the member. */
	again = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (again == NULL && e->has_field) {
		/* A duplicate member is named: the object parses when duplicates are allowed, and
		 * the text has that member name twice. */
		again = json_loadb(buf, len, 0, NULL);
		if (!json_is_object(again) || key_occurrences(buf, len, e->field) < 2)
			__builtin_trap();
	} else if (json_is_object(again) ? !e->has_field || !field_explains(t, again, e->field)
					 : e->has_field) {
		__builtin_trap();
	}
	json_decref(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct table *t;
	struct body_error e;
	json_t *obj;

	if (size < 1 || size - 1 > BODY_MAX)
		return 0;
	t = &tables[data[0] % NELEM(tables)];
	/* Poison the error so a missing memset or terminator shows up. */
	memset(&e, 0xa5, sizeof(e));
	obj = body_parse((const char *)data + 1, size - 1, t->spec, t->n, &e);
	if (obj != NULL) {
		check_ok(t, obj);
		json_decref(obj);
	} else {
		check_error(t, (const char *)data + 1, size - 1, &e);
	}
	return 0;
}
