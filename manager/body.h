/* Validation of JSON request bodies against a field table: unknown members, wrong types and
 * missing required members are reported with the field's name. Kept apart from HTTP so the
 * fuzz harness can drive it directly. */
#ifndef MANAGER_BODY_H
#define MANAGER_BODY_H

#include <jansson.h>
#include <stddef.h>

#define BODY_MAX (64 * 1024)

/* BODY_STRING_OR_NULL: null says "remove this setting" (PATCH). */
enum body_type { BODY_STRING, BODY_INT, BODY_BOOL, BODY_OBJECT, BODY_ARRAY, BODY_STRING_OR_NULL };

struct body_field {
	const char *name;
	enum body_type type;
	int required;
};

struct body_error {
	int has_field; /* 0 when the body as a whole is at fault */
	char field[72]; /* the member at fault (an unknown one may be "") */
	char detail[200];
};

/* Parse len bytes as one JSON object (duplicate keys refused) and check it against the table.
 * Returns the object (caller owns it) or NULL with *e filled in. */
json_t *body_parse(
    const char *buf, size_t len, const struct body_field *spec, size_t nspec, struct body_error *e);

#endif
