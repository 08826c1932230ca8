#include <stdio.h>
#include <string.h>

#include "body.h"

static const char *const type_names[] = {
    "a string", "an integer", "a boolean", "an object", "an array", "a string or null"};

static int
type_ok(json_t *v, enum body_type t)
{
	switch (t) {
	case BODY_STRING: return json_is_string(v);
	case BODY_INT: return json_is_integer(v);
	case BODY_BOOL: return json_is_boolean(v);
	case BODY_OBJECT: return json_is_object(v);
	case BODY_ARRAY: return json_is_array(v);
	case BODY_STRING_OR_NULL: return json_is_string(v) || json_is_null(v);
	}
	return 0;
}

/* jansson names a duplicate key only in its message, as the JSON token it stopped at
 * ("duplicate object key near '\"name\"'"): decode that token to the member's name, cut to 64
 * bytes. 0, or -1 when the message holds no whole token (a long key is cut short in it). */
static int
duplicate_member(const json_error_t *jerr, char *field, size_t len)
{
	const char *open = strstr(jerr->text, "near '"), *close;
	json_t *key;
	int rv = -1;

	if (open == NULL || (close = strrchr(open += 6, '\'')) == NULL || close <= open)
		return -1;
	key = json_loadb(open, (size_t)(close - open), JSON_DECODE_ANY, NULL);
	if (json_is_string(key) && strlen(json_string_value(key)) == json_string_length(key)) {
		snprintf(field, len, "%.64s", json_string_value(key));
		rv = 0;
	}
	json_decref(key);
	return rv;
}

json_t *
body_parse(
    const char *buf, size_t len, const struct body_field *spec, size_t nspec, struct body_error *e)
{
	json_error_t jerr;
	const char *key;
	json_t *obj, *v;
	size_t i;

	memset(e, 0, sizeof(*e));
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		/* A duplicate is named only in a body that is a JSON object otherwise. */
		if (json_error_code(&jerr) == json_error_duplicate_key &&
		    duplicate_member(&jerr, e->field, sizeof(e->field)) == 0) {
			json_t *dup = json_loadb(buf, len, 0, &jerr);
			int object = json_is_object(dup), parsed = dup != NULL;

			json_decref(dup);
			if (parsed && !object) {
				e->field[0] = '\0';
				snprintf(
				    e->detail, sizeof(e->detail), "the body must be a JSON object");
				return NULL;
			}
			if (object) {
				e->has_field = 1;
				snprintf(e->detail, sizeof(e->detail), "duplicate member \"%s\"",
				    e->field);
				return NULL;
			}
			e->field[0] = '\0';
		}
		snprintf(e->detail, sizeof(e->detail), "malformed JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(obj)) {
		snprintf(e->detail, sizeof(e->detail), "the body must be a JSON object");
		goto fail;
	}
	json_object_foreach(obj, key, v)
	{
		for (i = 0; i < nspec && strcmp(spec[i].name, key) != 0; i++)
			;
		if (i == nspec) {
			e->has_field = 1;
			snprintf(e->field, sizeof(e->field), "%.64s", key);
			snprintf(e->detail, sizeof(e->detail), "unknown field \"%.64s\"", key);
			goto fail;
		}
		if (!type_ok(v, spec[i].type)) {
			e->has_field = 1;
			snprintf(e->field, sizeof(e->field), "%s", spec[i].name);
			snprintf(e->detail, sizeof(e->detail), "\"%s\" must be %s", spec[i].name,
			    type_names[spec[i].type]);
			goto fail;
		}
	}
	for (i = 0; i < nspec; i++)
		if (spec[i].required && json_object_get(obj, spec[i].name) == NULL) {
			e->has_field = 1;
			snprintf(e->field, sizeof(e->field), "%s", spec[i].name);
			snprintf(e->detail, sizeof(e->detail), "\"%s\" is required", spec[i].name);
			goto fail;
		}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}
