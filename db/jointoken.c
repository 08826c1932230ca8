/* What every backend of the join tokens shares: the state names and the labels rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/text.h"
#include "jointoken.h"

static const char *const state_names[] = {"issued", "in_flight", "consumed", "expired", "aborted"};

const char *
jointoken_state_str(enum jointoken_state s)
{
	return state_names[s];
}

int
jointoken_state_parse(const char *s, enum jointoken_state *out)
{
	int i = text_lookup(state_names, 5, s);

	if (i < 0)
		return -1;
	*out = (enum jointoken_state)i;
	return 0;
}

static int
label_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > JOINTOKEN_LABEL_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '.' ||
			k[i] == '_' || k[i] == '/' || k[i] == '-'))
			return 0;
	return 1;
}

const char *
jointoken_labels_check(json_t *labels, char *out)
{
	const char *key;
	json_t *v;
	char *text;

	if (labels == NULL) {
		snprintf(out, JOINTOKEN_LABELS_STRLEN, "{}");
		return NULL;
	}
	if (json_object_size(labels) > JOINTOKEN_LABELS_MAX)
		return "at most 16 labels";
	json_object_foreach(labels, key, v)
	{
		if (!label_key_valid(key))
			return "label keys are 1 to 63 characters of a-z 0-9 . _ / -";
		if (!json_is_string(v) || json_string_length(v) > JOINTOKEN_LABEL_LEN ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return "label values are strings of at most 63 characters";
	}
	if ((text = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return "labels cannot be stored";
	/* 16 × (63 + 63 + quoting) is far below the buffer, even with \\u escapes. */
	snprintf(out, JOINTOKEN_LABELS_STRLEN, "%s", text);
	free(text);
	return NULL;
}
