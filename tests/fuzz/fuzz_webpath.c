/* Fuzzes the dashboard's request-path check (manager/webroot.h), which sees every request
 * target outside /v1/ once MHD has percent-decoded it. Invariants: nothing past len is read
 * (the input is copied to an exact-size heap buffer, so ASan sees an overread); an accepted path
 * starts with "/", is at most WEBROOT_PATH_MAX bytes, holds no "..", no "//", no segment that
 * starts with a dot and only A-Z a-z 0-9 . _ - / — so it cannot leave the directory whatever
 * the walk does; its type is one of the table's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../manager/webroot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	const char *type = NULL;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (webroot_path_check(p, size, &type) == 0) {
		if (size == 0 || p[0] != '/' || size > WEBROOT_PATH_MAX || type == NULL)
			__builtin_trap();
		for (size_t i = 0; i < size; i++) {
			char c = p[i];
			int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
			if (!plain ||
			    (c == '/' && i + 1 < size && (p[i + 1] == '/' || p[i + 1] == '.')))
				__builtin_trap();
		}
		if (size > 1 && p[size - 1] == '/')
			__builtin_trap();
	}
	free(p);
	return 0;
}
