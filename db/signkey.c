/* What every backend of the token keys shares: the state names. */
#include "../lib/text.h"
#include "signkey.h"

static const char *const state_names[] = {"active", "verify", "retired"};

const char *
signkey_state_str(enum signkey_state s)
{
	return state_names[s];
}

int
signkey_state_parse(const char *s, enum signkey_state *out)
{
	int i = text_lookup(state_names, 3, s);

	if (i < 0)
		return -1;
	*out = (enum signkey_state)i;
	return 0;
}
