#include <string.h>

#include "pssid.h"

int
pssid_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PSSID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}
