#include <stdio.h>

#include "problem.h"

struct kind {
	unsigned status;
	const char *slug;
	const char *title;
};

static const struct kind kinds[] = {
    {400, "invalid-request", "Invalid request"},
    {401, "unauthorized", "Unauthorized"},
    {403, "forbidden", "Forbidden"},
    {404, "not-found", "Not found"},
    {405, "method-not-allowed", "Method not allowed"},
    {409, "conflict", "Conflict"},
    {410, "gone", "Gone"},
    {413, "payload-too-large", "Payload too large"},
    {414, "uri-too-long", "URI too long"},
    {415, "unsupported-media-type", "Unsupported media type"},
    {429, "rate-limited", "Too many requests"},
    {431, "header-fields-too-large", "Request header fields too large"},
    {503, "unavailable", "Service unavailable"},
};

json_t *
problem_new(unsigned status, const char *detail, const char *field, const char *instance)
{
	const struct kind *k = NULL;
	char type[64];
	json_t *o;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].status == status)
			k = &kinds[i];
	snprintf(type, sizeof(type), "urn:snaptun:problem:%s", k ? k->slug : "internal");
	o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title",
	    k ? k->title : "Internal error", "status", (int)status, "detail", detail);
	if (o != NULL && field != NULL)
		json_object_set_new(o, "field", json_string(field));
	if (o != NULL && instance != NULL)
		json_object_set_new(o, "instance", json_string(instance));
	return o;
}
