#include <string.h>

#include "text.h"

int
text_name_valid(const char *s, size_t max, int empty_ok)
{
	size_t n = strlen(s);

	if ((n == 0 && !empty_ok) || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
text_lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}
