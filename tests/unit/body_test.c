/* Request bodies: every rejection names the field; problem+json has the RFC 9457 members. */
#include <string.h>

#include "../../manager/api.h"
#include "../../manager/body.h"
#include "../../manager/problem.h"
#include "check.h"

#define SPEC api_pool_create_body, sizeof(api_pool_create_body) / sizeof(api_pool_create_body[0])

static void
reject(const char *body, const char *field, const char *detail_part)
{
	struct body_error e;
	json_t *o = body_parse(body, strlen(body), SPEC, &e);

	CHECK(o == NULL && strcmp(e.field, field) == 0 && strstr(e.detail, detail_part) != NULL,
	    "reject %s: field \"%s\", detail \"%s\"", body, e.field, e.detail);
	json_decref(o);
}

int
main(void)
{
	struct body_error e;
	const char *ok = "{\"name\":\"a\",\"isd_as\":\"1-1\",\"prefix\":\"10.0.0.0/8\","
			 "\"hold_seconds\":0}";
	json_t *o = body_parse(ok, strlen(ok), SPEC, &e), *p;

	CHECK(o != NULL && json_integer_value(json_object_get(o, "hold_seconds")) == 0,
	    "accept a valid pool body");
	json_decref(o);
	reject("{", "", "malformed JSON");
	reject("[]", "", "must be a JSON object");
	reject("{\"name\":\"a\",\"name\":\"b\",\"isd_as\":\"1-1\",\"prefix\":\"x\"}", "name",
	    "duplicate member \"name\"");
	reject("{\"isd_as\":\"1-1\",\"n\\u0061me\":\"a\",\"name\":\"b\"}", "name", "duplicate");
	reject("{\"name\":\"a\",\"isd_as\":\"1-1\",\"prefix\":\"p\",\"extra\":1}", "extra",
	    "unknown field \"extra\"");
	reject("{\"name\":\"a\",\"isd_as\":\"1-1\",\"prefix\":\"p\",\"hold_seconds\":\"1\"}",
	    "hold_seconds", "must be an integer");
	reject("{\"name\":\"a\",\"isd_as\":\"1-1\",\"prefix\":\"p\",\"hold_seconds\":1.5}",
	    "hold_seconds", "must be an integer");
	reject("{\"name\":\"a\",\"isd_as\":\"1-1\"}", "prefix", "is required");
	reject("{\"name\":null,\"isd_as\":\"1-1\",\"prefix\":\"p\"}", "name", "must be a string");
	reject("{\"name\":\"a\",\"isd_as\":\"1-1\",\"prefix\":\"p\",\"hold_seconds\":"
	       "99999999999999999999999}",
	    "", "malformed JSON");

	p = problem_new(409, "prefix overlaps", "prefix", "/v1/pools");
	CHECK(strcmp(json_string_value(json_object_get(p, "type")),
		  "urn:snaptun:problem:conflict") == 0 &&
		strcmp(json_string_value(json_object_get(p, "title")), "Conflict") == 0 &&
		json_integer_value(json_object_get(p, "status")) == 409 &&
		strcmp(json_string_value(json_object_get(p, "detail")), "prefix overlaps") == 0 &&
		strcmp(json_string_value(json_object_get(p, "field")), "prefix") == 0 &&
		strcmp(json_string_value(json_object_get(p, "instance")), "/v1/pools") == 0,
	    "problem+json carries type, title, status, detail, field and instance");
	json_decref(p);
	p = problem_new(404, "no such pool", NULL, NULL);
	CHECK(json_object_get(p, "field") == NULL, "no field member when no field is at fault");
	json_decref(p);
	return check_done();
}
