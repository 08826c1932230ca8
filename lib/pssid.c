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

int
pssid_uuid(const char *s)
{
	for (int i = 0; i < PSSID_UUID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0; /* the NUL of a shorter string ends here too */
		}
	}
	return s[PSSID_UUID_LEN] == '\0';
}
