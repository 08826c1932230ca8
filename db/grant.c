/* What every store backend shares about grants: the names of their states, the collector of
 * an agent's assigned grants. */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"

#include "grant.h"

const char *
grant_state_str(enum grant_state s)
{
	return s == GRANT_ASSIGNED ? "assigned" : "on_hold";
}

int
grant_state_parse(const char *s, enum grant_state *out)
{
	if (strcmp(s, "assigned") == 0)
		*out = GRANT_ASSIGNED;
	else if (strcmp(s, "on_hold") == 0)
		*out = GRANT_ON_HOLD;
	else
		return -1;
	return 0;
}

int
grant_ids_collect(void *arg, int64_t grant_id, int64_t session_id)
{
	struct grant_ids *a = arg;
	int64_t(*p)[2];

	if (a->max > 0 && a->n == a->max)
		return 1;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		if ((p = realloc(a->v, a->cap * sizeof(*a->v))) == NULL)
			return ERR_NOMEM;
		a->v = p;
	}
	a->v[a->n][0] = grant_id;
	a->v[a->n++][1] = session_id;
	return 0;
}
