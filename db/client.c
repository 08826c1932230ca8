/* What every backend of the clients shares: the name rule. */
#include "../lib/text.h"
#include "client.h"

int
client_name_valid(const char *s)
{
	return text_name_valid(s, CLIENT_NAME_MAX, 0);
}
