/* What every store backend shares about grants: the names of their states. */
#include <string.h>

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
