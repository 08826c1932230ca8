/* Route matching: the captured parameters, 405's method list, and no parameter left over from
 * a pattern tried before the one that matched; a route's template as logs and metrics show it. */
#include <stdlib.h>
#include <string.h>

#include "../../manager/http.h"
#include "check.h"

static void
handler(struct req *r)
{
	(void)r;
}

static const struct route table[] = {
    {"GET", "/v1/{}/{}/deep", handler, 0, NULL, 0, "", 0, 0},
    {"GET", "/v1/{}/{}", handler, 0, NULL, 0, "", 0, 0},
    {"GET", "/v1/pools/{}", handler, 0, NULL, 0, "", 0, 0},
    {"DELETE", "/v1/pools/{}", handler, 0, NULL, 0, "", 0, 0},
    {"GET", "/v1/health", handler, 0, NULL, 0, "", 0, 0},
};
#define N (sizeof(table) / sizeof(table[0]))

int
main(void)
{
	struct req r;
	char allow[64];
	const struct route *rt;

	memset(&r, 0, sizeof(r));
	rt = router_match(table, N, &r, "GET", "/v1/a/7", allow, sizeof(allow));
	CHECK(rt == &table[1] && strcmp(r.params[0], "a") == 0 && strcmp(r.params[1], "7") == 0 &&
		r.params[2] == NULL,
	    "two parameters captured, the rest NULL");
	/* "/v1/{}/{}/deep" captures two segments before it fails on "/deep"; the match of
	 * "/v1/pools/{}" must not inherit the second. */
	memset(r.params, 0x5a, sizeof(r.params));
	rt = router_match(table, N, &r, "DELETE", "/v1/pools/7", allow, sizeof(allow));
	CHECK(rt == &table[3] && strcmp(r.params[0], "7") == 0 && r.params[1] == NULL &&
		r.params[2] == NULL && r.params[3] == NULL,
	    "one parameter captured; none left from an earlier pattern or uninitialised");
	rt = router_match(table, N, &r, "POST", "/v1/pools/7", allow, sizeof(allow));
	CHECK(rt == NULL && strstr(allow, "DELETE") != NULL,
	    "405: the methods of every matching pattern (%s)", allow);
	CHECK(strcmp(allow, "GET, DELETE") == 0,
	    "each method once, though two GET patterns match (%s)", allow);
	rt = router_match(table, N, &r, "GET", "/v1/health", allow, sizeof(allow));
	CHECK(rt == &table[4] && r.params[0] == NULL, "no parameter for a fixed path");
	rt = router_match(table, N, &r, "GET", "/v1/pools/", allow, sizeof(allow));
	CHECK(rt == NULL && allow[0] == '\0', "an empty segment matches no {}");
	free(r.param_buf);
	{
		char t[ROUTE_TEMPLATE_MAX], small[10];

		router_template(&table[2], "-", t, sizeof(t));
		CHECK(strcmp(t, "/v1/pools/{id}") == 0, "template of /v1/pools/{}: %s", t);
		router_template(&table[0], "-", t, sizeof(t));
		CHECK(strcmp(t, "/v1/{id}/{id}/deep") == 0, "two parameters: %s", t);
		router_template(NULL, "unmatched", t, sizeof(t));
		CHECK(strcmp(t, "unmatched") == 0, "no route: the word given (%s)", t);
		router_template(&table[2], "-", small, sizeof(small));
		CHECK(strlen(small) < sizeof(small) &&
			strncmp(small, "/v1/pools/", strlen(small)) == 0,
		    "cut to fit a short buffer, ended: %s", small);
	}
	return check_done();
}
