/* Fuzzes what the manager parses of a request head itself (libmicrohttpd splits the head into
 * method, target and header fields): the percent-decoding of the target, route matching over
 * the real route table, the digits-only integers of queries and paths, paging cursors and the
 * Authorization header's bearer credential, the event stream's Last-Event-ID
 * (manager/reqparse.h, manager/router.c).
 * The first input byte picks the method; the rest is used by every parser.
 * Invariants: decoding never lengthens and a decoded text has no NUL before its end; a matched
 * route's pattern, its {} filled with the captured parameters, is the path, and no parameter
 * is set past the pattern's last {}; an accepted integer is in range and prints back as the
 * input (leading zeros apart); an accepted cursor re-encodes to the input; an accepted bearer
 * token is non-empty visible ASCII inside the input; an accepted event id prints back as the
 * input (leading zeros apart). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../manager/http.h"
#include "../../manager/reqparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT"};

static void
check_route(const struct route *rt, struct req *r, const char *path)
{
	char rebuilt[4096];
	size_t n = 0;
	int np = 0;

	for (const char *p = rt->pattern; *p != '\0' && n < sizeof(rebuilt) - 1;) {
		if (strncmp(p, "{}", 2) == 0) {
			const char *v = r->params[np++];
			if (v == NULL || *v == '\0' || strchr(v, '/') != NULL)
				__builtin_trap();
			n += (size_t)snprintf(rebuilt + n, sizeof(rebuilt) - n, "%s", v);
			p += 2;
		} else {
			rebuilt[n++] = *p++;
		}
	}
	rebuilt[n < sizeof(rebuilt) ? n : sizeof(rebuilt) - 1] = '\0';
	if (strlen(path) < sizeof(rebuilt) - 1 && strcmp(rebuilt, path) != 0)
		__builtin_trap();
	for (int i = np; i < REQ_MAX_PARAMS; i++)
		if (r->params[i] != NULL)
			__builtin_trap();
}

static void
check_int(const char *s)
{
	char back[32];
	const char *digits = s;
	int64_t v;

	if (reqparse_int(s, 1, 1000, &v) == 0 && (v < 1 || v > 1000))
		__builtin_trap();
	if (reqparse_int(s, 0, INT64_MAX, &v) < 0)
		return;
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	snprintf(back, sizeof(back), "%lld", (long long)v);
	if (v < 0 || strcmp(back, digits) != 0)
		__builtin_trap();
}

static void
check_cursor(const char *s)
{
	int64_t id;
	json_t *next;

	if (reqparse_cursor(s, &id) < 0)
		return;
	next = page_next(1, 1, id);
	if (id < 0 || strcmp(json_string_value(next), s) != 0)
		__builtin_trap();
	json_decref(next);
}

static void
check_event_id(const char *s)
{
	char back[80], again[80];
	int64_t a, a2;
	uint64_t q, i, q2, i2;

	if (reqparse_event_id(s, &a, &q, &i) < 0)
		return;
	snprintf(back, sizeof(back), "%lld-%llu-%llu", (long long)a, (unsigned long long)q,
	    (unsigned long long)i);
	if (a < 0 || reqparse_event_id(back, &a2, &q2, &i2) < 0 || a2 != a || q2 != q || i2 != i)
		__builtin_trap();
	snprintf(again, sizeof(again), "%lld-%llu-%llu", (long long)a2, (unsigned long long)q2,
	    (unsigned long long)i2);
	if (strcmp(back, again) != 0 || strlen(s) < strlen(back))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *table, *rt;
	struct req r;
	char allow[64], *text;
	const char *tok;
	size_t n, len, toklen;
	int dec;

	if (size < 1 || size > 4096)
		return 0;
	len = size - 1;
	if (reqparse_bearer((const char *)data + 1, len, &tok, &toklen) == 0) {
		if (toklen == 0 || tok < (const char *)data + 1 ||
		    tok + toklen > (const char *)data + size)
			__builtin_trap();
		for (size_t i = 0; i < toklen; i++)
			if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
				__builtin_trap();
	}
	if ((text = malloc(len + 1)) == NULL)
		return 0;
	memcpy(text, data + 1, len);
	text[len] = '\0';
	check_int(text);
	check_cursor(text);
	check_event_id(text);
	n = strlen(text);
	dec = reqparse_unescape(text);
	if (dec > (int)n || (dec >= 0 && (size_t)dec != strlen(text)))
		__builtin_trap();
	if (dec >= 0) {
		table = routes_table(&n);
		memset(&r, 0, sizeof(r));
		rt = router_match(table, n, &r, methods[data[0] % 5], text, allow, sizeof(allow));
		if (rt != NULL)
			check_route(rt, &r, text);
		free(r.param_buf);
	}
	free(text);
	return 0;
}
