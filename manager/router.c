/* Route matching: which entry of a route table a method and path name, with the path's {}
 * segments captured into the request. */
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* Match one path against a pattern, segment by segment; {} captures a segment. The captured
 * segments are copied into buf (the caller's, path-sized) and pointed at from params; the
 * entries past the pattern's last {} are NULL, whatever an earlier pattern left there. */
static int
match(const char *pattern, const char *path, const char **params, char *buf)
{
	int np = 0;

	for (int i = 0; i < REQ_MAX_PARAMS; i++)
		params[i] = NULL;
	while (*pattern != '\0' && *path != '\0') {
		if (strncmp(pattern, "{}", 2) == 0) {
			size_t n = strcspn(path, "/");
			if (n == 0 || np == REQ_MAX_PARAMS)
				return 0;
			memcpy(buf, path, n);
			buf[n] = '\0';
			params[np++] = buf;
			buf += n + 1;
			path += n;
			pattern += 2;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

/* Whether item is one of the ", "-separated list's items. */
static int
listed(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; (p = strstr(p, item)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Add method to the Allow list unless it is there already (two patterns of the table can match
 * one path with the same method) or would not fit. */
static void
allow_add(char *allow, size_t allowlen, const char *method)
{
	if (listed(allow, method) || strlen(allow) + strlen(method) + 3 > allowlen)
		return;
	if (allow[0] != '\0')
		strcat(allow, ", ");
	strcat(allow, method);
}

const struct route *
router_match(const struct route *table, size_t n, struct req *r, const char *method,
    const char *path, char *allow, size_t allowlen)
{
	const char *params[REQ_MAX_PARAMS] = {0};
	char *buf;

	allow[0] = '\0';
	if ((buf = malloc(strlen(path) + REQ_MAX_PARAMS + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!match(table[i].pattern, path, params, buf))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			memcpy(r->params, params, sizeof(params));
			free(r->param_buf);
			r->param_buf = buf;
			return &table[i];
		}
		allow_add(allow, allowlen, table[i].method);
	}
	free(buf);
	return NULL;
}

void
router_template(const struct route *route, const char *none, char *out, size_t len)
{
	const char *p = route != NULL ? route->pattern : none;
	size_t o = 0;

	for (; *p != '\0' && o + 5 < len; p++) {
		if (p[0] == '{' && p[1] == '}') {
			memcpy(out + o, "{id}", 4);
			o += 4;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}
