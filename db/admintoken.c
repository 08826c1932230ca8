/* What every store backend shares about admin tokens: scope names and name validation. */
#include <string.h>

#include "../lib/text.h"
#include "admintoken.h"

static const struct {
	int bit;
	const char *name;
} scopes[] = {
    {ADMINTOKEN_ADMIN, "admin"},
    {ADMINTOKEN_READ, "read"},
    {ADMINTOKEN_PROVISION, "provision"},
};

const char *
admintoken_scope_str(int scope)
{
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (scopes[i].bit == scope)
			return scopes[i].name;
	return "none";
}

int
admintoken_scope_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (strcmp(scopes[i].name, s) == 0)
			return scopes[i].bit;
	return -1;
}

int
admintoken_name_valid(const char *s)
{
	return text_name_valid(s, ADMINTOKEN_NAME_MAX, 0);
}
