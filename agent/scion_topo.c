/* The SCION topology file's border routers (scion_topo.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/isdas.h"
#include "../lib/sockaddr.h"
#include "../lib/text.h"
#include "scion_topo.h"

static int
if_cmp(const void *a, const void *b)
{
	const struct scion_topo_if *x = a, *y = b;

	return (x->ifid > y->ifid) - (x->ifid < y->ifid);
}

/* "HOST:PORT" (numeric, [V6]:PORT) of router name into *r. */
static int
parse_addr(const json_t *v, const char *name, struct scion_topo_router *r, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (!json_is_string(v))
		return text_fail(why, whylen,
		    "member \"border_routers.%s.internal_addr\" is missing or "
		    "not a string",
		    name);
	if (sockaddr_parse(json_string_value(v), &ss, &sslen) < 0 ||
	    sockaddr_host((const struct sockaddr *)&ss, &r->host, &r->port) < 0 || r->port == 0)
		return text_fail(why, whylen,
		    "member \"border_routers.%s.internal_addr\": \"%s\" is not a numeric HOST:PORT "
		    "(1.2.3.4:31002 or [2001:db8::1]:31002) with a port",
		    name, json_string_value(v));
	return 0;
}

/* The interface IDs of router index ri (named name) onto t->ifs. */
static int
parse_ifs(
    json_t *ifs, const char *name, unsigned ri, struct scion_topo *t, char *why, size_t whylen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(ifs))
		return text_fail(why, whylen,
		    "member \"border_routers.%s.interfaces\" is missing or not an object", name);
	json_object_foreach(ifs, key, v)
	{
		char *end;
		unsigned long id;

		errno = 0;
		id = strtoul(key, &end, 10);
		if (key[0] < '0' || key[0] > '9' || *end != '\0' || errno != 0 || id == 0 ||
		    id > UINT16_MAX)
			return text_fail(why, whylen,
			    "member \"border_routers.%s.interfaces\": interface ID \"%s\" is not a "
			    "number from 1 to 65535",
			    name, key);
		if (t->nifs == SCION_TOPO_IFS_MAX)
			return text_fail(
			    why, whylen, "more than %d interfaces", SCION_TOPO_IFS_MAX);
		t->ifs[t->nifs].ifid = (uint16_t)id;
		t->ifs[t->nifs].router = ri;
		t->nifs++;
	}
	return 0;
}

int
scion_topo_parse(const char *text, size_t len, struct scion_topo *t, char *why, size_t whylen)
{
	const char *name, *ia_why = NULL;
	json_t *root, *brs, *br, *v;
	json_error_t je;
	int rv = -1;

	memset(t, 0, sizeof(*t));
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return text_fail(
		    why, whylen, "not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
	if (!json_is_object(root)) {
		text_fail(why, whylen, "not a JSON object");
		goto out;
	}
	if (!json_is_string(v = json_object_get(root, "isd_as"))) {
		text_fail(why, whylen, "member \"isd_as\" is missing or not a string");
		goto out;
	}
	if (isdas_parse(json_string_value(v), &t->isd_as, &ia_why) < 0 ||
	    ISDAS_ISD(t->isd_as) == 0 || ISDAS_AS(t->isd_as) == 0) {
		text_fail(why, whylen, "member \"isd_as\": \"%s\" is not an ISD-AS (%s)",
		    json_string_value(v), ia_why != NULL ? ia_why : "a zero ISD or AS");
		goto out;
	}
	if (!json_is_object(brs = json_object_get(root, "border_routers"))) {
		text_fail(why, whylen, "member \"border_routers\" is missing or not an object");
		goto out;
	}
	if (json_object_size(brs) == 0 || json_object_size(brs) > SCION_TOPO_ROUTERS_MAX) {
		text_fail(why, whylen, "member \"border_routers\" has %zu routers, not 1 to %d",
		    json_object_size(brs), SCION_TOPO_ROUTERS_MAX);
		goto out;
	}
	if ((t->routers = calloc(json_object_size(brs), sizeof(*t->routers))) == NULL ||
	    (t->ifs = calloc(SCION_TOPO_IFS_MAX, sizeof(*t->ifs))) == NULL) {
		text_fail(why, whylen, "out of memory");
		goto out;
	}
	json_object_foreach(brs, name, br)
	{
		struct scion_topo_router *r = &t->routers[t->nrouters];

		if (strlen(name) == 0 || strlen(name) > SCION_TOPO_NAME_MAX) {
			text_fail(why, whylen,
			    "member \"border_routers\": a router's name is empty or "
			    "over %d bytes",
			    SCION_TOPO_NAME_MAX);
			goto out;
		}
		if (!json_is_object(br)) {
			text_fail(
			    why, whylen, "member \"border_routers.%s\" is not an object", name);
			goto out;
		}
		snprintf(r->name, sizeof(r->name), "%s", name);
		if (parse_addr(json_object_get(br, "internal_addr"), name, r, why, whylen) < 0 ||
		    parse_ifs(json_object_get(br, "interfaces"), name, (unsigned)t->nrouters, t,
			why, whylen) < 0)
			goto out;
		t->nrouters++;
	}
	qsort(t->ifs, t->nifs, sizeof(*t->ifs), if_cmp);
	for (size_t i = 1; i < t->nifs; i++) {
		if (t->ifs[i].ifid == t->ifs[i - 1].ifid) {
			text_fail(why, whylen,
			    "interface %u is listed by two routers (\"%s\" and \"%s\")",
			    t->ifs[i].ifid, t->routers[t->ifs[i - 1].router].name,
			    t->routers[t->ifs[i].router].name);
			goto out;
		}
	}
	rv = 0;
out:
	json_decref(root);
	return rv;
}

int
scion_topo_load(const char *path, struct scion_topo *t, char *why, size_t whylen)
{
	char reason[512];
	char *text;
	size_t len;
	FILE *f;
	int rv;

	memset(t, 0, sizeof(*t));
	if ((f = fopen(path, "rb")) == NULL)
		return text_fail(why, whylen, "%s: %s", path, strerror(errno));
	if ((text = malloc(SCION_TOPO_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return text_fail(why, whylen, "%s: out of memory", path);
	}
	len = fread(text, 1, SCION_TOPO_FILE_MAX + 1, f);
	if (ferror(f))
		rv = text_fail(why, whylen, "%s: %s", path, strerror(errno));
	else if (len > SCION_TOPO_FILE_MAX)
		rv = text_fail(why, whylen, "%s: over %d bytes", path, SCION_TOPO_FILE_MAX);
	else if ((rv = scion_topo_parse(text, len, t, reason, sizeof(reason))) < 0)
		text_fail(why, whylen, "%s: %s", path, reason);
	fclose(f);
	free(text);
	return rv;
}

void
scion_topo_free(struct scion_topo *t)
{
	free(t->routers);
	free(t->ifs);
	memset(t, 0, sizeof(*t));
}

int
scion_topo_router_of(const struct scion_topo *t, uint16_t ifid)
{
	struct scion_topo_if key = {.ifid = ifid};
	const struct scion_topo_if *f = bsearch(&key, t->ifs, t->nifs, sizeof(*t->ifs), if_cmp);

	return f != NULL ? (int)f->router : -1;
}
