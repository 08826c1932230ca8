#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/atomicfile.h"
#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/sockaddr.h"
#include "../../lib/text.h"
#include "bundle.h"

/* How a member is read: from our own file (unknown members are refused, so that a typo made
 * by hand is caught) or from a manager's answer (ignored: a newer manager may add some). */
enum origin { FROM_FILE, FROM_MANAGER };

/* Quote s for a message: at most 48 bytes of it, and "…" when it was longer. Secrets are never
 * quoted (their members are checked for shape only and named without their value). */
static const char *
quote(const char *s, char buf[64])
{
	size_t n = strlen(s);

	snprintf(buf, 64, "%.48s%s", s, n > 48 ? "..." : "");
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
bundle_free(struct bundle *b)
{
	if (b == NULL)
		return;
	free(b->name);
	wipe_free(b->access_token);
	wipe_free(b->refresh_token);
	wipe_free(b->ack_token);
	free(b->manager);
	free(b->ca);
	sodium_memzero(b, sizeof(*b));
}

/* A token: 1..BUNDLE_TOKEN_MAX visible ASCII characters (they travel in JSON bodies and HTTP
 * headers as they are). */
static int
token_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BUNDLE_TOKEN_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

/* The string member key of o into *out: NULL when absent or null and not required. */
static int
member_string(const json_t *o, const char *path, const char *key, int required, const char **out,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return text_fail(err, errlen, "member \"%s%s\" is missing", path, key);
		return 0;
	}
	if (!json_is_string(v))
		return text_fail(err, errlen, "member \"%s%s\" is not a string", path, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return text_fail(err, errlen, "member \"%s%s\" holds a NUL character", path, key);
	*out = json_string_value(v);
	return 0;
}

/* A secret member: checked for shape, copied to *out (freed first), never quoted. */
static int
member_token(const json_t *o, const char *key, int required, char **out, char *err, size_t errlen)
{
	const char *s;

	if (member_string(o, "", key, required, &s, err, errlen) < 0)
		return -1;
	if (s == NULL)
		return 0;
	if (!token_valid(s))
		return text_fail(err, errlen,
		    "member \"%s\" is not a token (1 to %d visible ASCII characters)", key,
		    BUNDLE_TOKEN_MAX);
	wipe_free(*out);
	if ((*out = strdup(s)) == NULL)
		return text_fail(err, errlen, "out of memory");
	return 0;
}

static int
member_time(const json_t *o, const char *key, int required, int64_t *out, char *err, size_t errlen)
{
	const char *s;
	char q[64];

	*out = 0;
	if (member_string(o, "", key, required, &s, err, errlen) < 0)
		return -1;
	if (s != NULL && clock_rfc3339_parse(s, out) < 0)
		return text_fail(
		    err, errlen, "member \"%s\": \"%s\" is not an RFC 3339 time", key, quote(s, q));
	return 0;
}

static int
parse_pin(const char *s, unsigned char pin[BUNDLE_PIN_LEN])
{
	size_t n = 0;

	if (strlen(s) != 44 ||
	    sodium_base642bin(
		pin, BUNDLE_PIN_LEN, s, 44, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return n == BUNDLE_PIN_LEN ? 0 : -1;
}

void
bundle_pin_text(const struct bundle_agent *a, char buf[45])
{
	sodium_bin2base64(buf, 45, a->spki_pin, BUNDLE_PIN_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* Members of o other than the names listed (NULL-terminated): the first one, or NULL. */
static const char *
unknown_member(const json_t *o, const char *const *known)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)(uintptr_t)o, key, v)
	{
		const char *const *k;

		(void)v;
		for (k = known; *k != NULL && strcmp(*k, key) != 0; k++)
			;
		if (*k == NULL)
			return key;
	}
	return NULL;
}

static int
parse_agent(
    const json_t *o, size_t i, enum origin from, struct bundle_agent *a, char *err, size_t errlen)
{
	static const char *const known[] = {"id", "address", "spki_pin", NULL};
	char path[32], host[SOCKADDR_HOST_MAX + 1], q[64];
	const char *s, *extra;
	const json_t *id;
	uint16_t port;

	snprintf(path, sizeof(path), "agents[%zu].", i);
	if (!json_is_object(o))
		return text_fail(err, errlen, "member \"agents[%zu]\" is not an object", i);
	if (from == FROM_FILE && (extra = unknown_member(o, known)) != NULL)
		return text_fail(err, errlen, "unknown member \"%s%s\"", path, quote(extra, q));
	id = json_object_get(o, "id");
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return text_fail(err, errlen, "member \"%sid\" is not a positive integer", path);
	a->id = json_integer_value(id);
	if (member_string(o, path, "address", 1, &s, err, errlen) < 0)
		return -1;
	if (strlen(s) > BUNDLE_ADDRESS_MAX ||
	    sockaddr_split(s, host, sizeof(host), &port, NULL) < 0 || host[0] == '\0' || port == 0)
		return text_fail(err, errlen, "member \"%saddress\": \"%s\" is not HOST:PORT", path,
		    quote(s, q));
	snprintf(a->address, sizeof(a->address), "%s", s);
	if (member_string(o, path, "spki_pin", 1, &s, err, errlen) < 0)
		return -1;
	if (parse_pin(s, a->spki_pin) < 0)
		return text_fail(err, errlen,
		    "member \"%sspki_pin\": \"%s\" is not the base64 of %d bytes (a SHA-256)", path,
		    quote(s, q), BUNDLE_PIN_LEN);
	return 0;
}

static int
parse_agents(const json_t *v, enum origin from, struct bundle *b, char *err, size_t errlen)
{
	if (!json_is_array(v))
		return text_fail(err, errlen, "member \"agents\" is not an array");
	if (json_array_size(v) > BUNDLE_AGENTS_MAX)
		return text_fail(err, errlen, "member \"agents\" lists %zu agents, more than %d",
		    json_array_size(v), BUNDLE_AGENTS_MAX);
	b->nagents = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		if (parse_agent(json_array_get(v, i), i, from, &b->agents[i], err, errlen) < 0)
			return -1;
		b->nagents = i + 1;
	}
	return 0;
}

static int
parse_route(const char *s, const char *path, size_t i, int family, struct prefix *p, char *err,
    size_t errlen)
{
	char why[128], q[64];
	const char *reason;

	if (prefix_parse(s, p, why, sizeof(why), &reason) < 0)
		return text_fail(err, errlen, "member \"%sroutes[%zu]\": invalid prefix \"%s\": %s",
		    path, i, quote(s, q), reason);
	if (p->net.family != family)
		return text_fail(err, errlen,
		    "member \"%sroutes[%zu]\": \"%s\" is not of the pool's family (IPv%d)", path, i,
		    quote(s, q), family);
	return 0;
}

static int
parse_network(
    const json_t *o, size_t i, enum origin from, struct bundle_network *n, char *err, size_t errlen)
{
	static const char *const known[] = {
	    "pool", "isd_as", "family", "prefix", "gateway", "mode", "routes", NULL};
	char path[32], why[128], q[64];
	const char *s, *reason, *extra;
	const json_t *v;
	uint64_t idx;

	memset(n, 0, sizeof(*n));
	snprintf(path, sizeof(path), "networks[%zu].", i);
	if (!json_is_object(o))
		return text_fail(err, errlen, "member \"networks[%zu]\" is not an object", i);
	if (from == FROM_FILE && (extra = unknown_member(o, known)) != NULL)
		return text_fail(err, errlen, "unknown member \"%s%s\"", path, quote(extra, q));
	v = json_object_get(o, "pool");
	if (json_is_integer(v) && json_integer_value(v) >= 1) {
		snprintf(n->pool, sizeof(n->pool), "%lld", (long long)json_integer_value(v));
	} else if (json_is_string(v) && text_name_valid(json_string_value(v), 64, 0)) {
		snprintf(n->pool, sizeof(n->pool), "%s", json_string_value(v));
	} else {
		return text_fail(err, errlen,
		    "member \"%spool\" is neither a pool name (1 to 64 characters) nor a pool id",
		    path);
	}
	if (member_string(o, path, "isd_as", 1, &s, err, errlen) < 0)
		return -1;
	if (isdas_parse(s, &n->isd_as, &reason) < 0)
		return text_fail(err, errlen, "member \"%sisd_as\": invalid ISD-AS \"%s\": %s",
		    path, quote(s, q), reason);
	if (member_string(o, path, "prefix", 1, &s, err, errlen) < 0)
		return -1;
	if (prefix_parse(s, &n->prefix, why, sizeof(why), &reason) < 0)
		return text_fail(err, errlen, "member \"%sprefix\": invalid prefix \"%s\": %s",
		    path, quote(s, q), reason);
	v = json_object_get(o, "family");
	n->family = n->prefix.net.family;
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) != n->family))
		return text_fail(err, errlen,
		    "member \"%sfamily\" is not %d, the family of the prefix", path, n->family);
	if (member_string(o, path, "gateway", 0, &s, err, errlen) < 0)
		return -1;
	if (s != NULL) {
		if (addr_parse(s, &n->gateway) < 0 ||
		    prefix_index_of(&n->prefix, &n->gateway, &idx) < 0)
			return text_fail(err, errlen,
			    "member \"%sgateway\": \"%s\" is not an address inside the prefix",
			    path, quote(s, q));
		n->has_gateway = 1;
	}
	/* absent from managers before scion mode, whose bundles list ip pools only */
	if (member_string(o, path, "mode", 0, &s, err, errlen) < 0)
		return -1;
	if (s != NULL && strcmp(s, "ip") != 0 && strcmp(s, "scion") != 0)
		return text_fail(err, errlen,
		    "member \"%smode\": \"%s\" is neither \"ip\" nor \"scion\"", path, quote(s, q));
	n->scion = s != NULL && strcmp(s, "scion") == 0;
	v = json_object_get(o, "routes");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return text_fail(err, errlen, "member \"%sroutes\" is not an array", path);
	if (json_array_size(v) > BUNDLE_ROUTES_MAX)
		return text_fail(err, errlen,
		    "member \"%sroutes\" lists %zu prefixes, more than %d", path,
		    json_array_size(v), BUNDLE_ROUTES_MAX);
	for (size_t r = 0; r < json_array_size(v); r++) {
		const json_t *e = json_array_get(v, r);

		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
			return text_fail(
			    err, errlen, "member \"%sroutes[%zu]\" is not a string", path, r);
		if (parse_route(
			json_string_value(e), path, r, n->family, &n->routes[r], err, errlen) < 0)
			return -1;
		n->nroutes = r + 1;
	}
	return 0;
}

static int
parse_networks(const json_t *v, enum origin from, struct bundle *b, char *err, size_t errlen)
{
	if (!json_is_array(v))
		return text_fail(err, errlen, "member \"networks\" is not an array");
	if (json_array_size(v) > BUNDLE_NETWORKS_MAX)
		return text_fail(err, errlen,
		    "member \"networks\" lists %zu networks, more than %d", json_array_size(v),
		    BUNDLE_NETWORKS_MAX);
	b->nnetworks = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		if (parse_network(json_array_get(v, i), i, from, &b->networks[i], err, errlen) < 0)
			return -1;
		b->nnetworks = i + 1;
	}
	return 0;
}

/* "ISD-AS,IP" (the form --request-addr takes) into b's last address. */
static int
parse_last_address(const char *s, struct bundle *b, char *err, size_t errlen)
{
	char ia[ISDAS_STRLEN + 1], q[64];
	const char *comma = strchr(s, ','), *reason = "no \",\"";

	if (comma == NULL || (size_t)(comma - s) > ISDAS_STRLEN)
		goto bad;
	memcpy(ia, s, (size_t)(comma - s));
	ia[comma - s] = '\0';
	if (isdas_parse(ia, &b->last_isd_as, &reason) < 0)
		goto bad;
	reason = "invalid address";
	if (addr_parse(comma + 1, &b->last_address) < 0)
		goto bad;
	b->has_last_address = 1;
	return 0;
bad:
	return text_fail(err, errlen, "member \"last_address\": \"%s\" is not ISD-AS,IP (%s)",
	    quote(s, q), reason);
}

/* The members a join answer and a bundle file share. */
static int
parse_common(const json_t *o, enum origin from, struct bundle *b, char *err, size_t errlen)
{
	const char *s;
	const json_t *v;
	char q[64];

	if (member_string(o, "", "pssid", 1, &s, err, errlen) < 0)
		return -1;
	if (!pssid_valid(s))
		return text_fail(
		    err, errlen, "member \"pssid\": \"%s\" is not a pssid", quote(s, q));
	snprintf(b->pssid, sizeof(b->pssid), "%s", s);
	if (member_string(o, "", "name", 1, &s, err, errlen) < 0)
		return -1;
	if (!text_name_valid(s, 64, 0))
		return text_fail(err, errlen,
		    "member \"name\": \"%s\" is not a name (1 to 64 characters, no control "
		    "characters)",
		    quote(s, q));
	if ((b->name = strdup(s)) == NULL)
		return text_fail(err, errlen, "out of memory");
	if (member_token(o, "access_token", 1, &b->access_token, err, errlen) < 0 ||
	    member_time(o, "access_token_expires_at", 1, &b->access_token_expires_at, err, errlen) <
		0 ||
	    member_token(o, "refresh_token", 1, &b->refresh_token, err, errlen) < 0 ||
	    member_token(o, "ack_token", 0, &b->ack_token, err, errlen) < 0 ||
	    member_time(o, "ack_deadline", b->ack_token != NULL, &b->ack_deadline, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(o, "agents")) == NULL)
		return text_fail(err, errlen, "member \"agents\" is missing");
	if (parse_agents(v, from, b, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(o, "networks")) != NULL && !json_is_null(v) &&
	    parse_networks(v, from, b, err, errlen) < 0)
		return -1;
	return 0;
}

static int
parse_file(const json_t *o, struct bundle *b, char *err, size_t errlen)
{
	static const char *const known[] = {"pssid", "name", "access_token",
	    "access_token_expires_at", "access_token_received_at", "refresh_token", "agents",
	    "networks", "ack_token", "ack_deadline", "manager", "ca", "refresh_request_id",
	    "last_address", NULL};
	const char *s, *extra;
	char q[64];

	if (!json_is_object(o))
		return text_fail(err, errlen, "not a JSON object");
	if ((extra = unknown_member(o, known)) != NULL)
		return text_fail(err, errlen, "unknown member \"%s\"", quote(extra, q));
	if (parse_common(o, FROM_FILE, b, err, errlen) < 0 ||
	    member_time(
		o, "access_token_received_at", 0, &b->access_token_received_at, err, errlen) < 0)
		return -1;
	if (member_string(o, "", "manager", 1, &s, err, errlen) < 0)
		return -1;
	if (strlen(s) > BUNDLE_URL_MAX ||
	    (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) || !token_valid(s))
		return text_fail(err, errlen,
		    "member \"manager\": \"%s\" is not an http or https URL", quote(s, q));
	if ((b->manager = strdup(s)) == NULL)
		return text_fail(err, errlen, "out of memory");
	if (member_string(o, "", "ca", 0, &s, err, errlen) < 0)
		return -1;
	if (s != NULL && (s[0] == '\0' || strlen(s) >= PATH_MAX))
		return text_fail(err, errlen, "member \"ca\" is not a file name");
	if (s != NULL && (b->ca = strdup(s)) == NULL)
		return text_fail(err, errlen, "out of memory");
	if (member_string(o, "", "refresh_request_id", 0, &s, err, errlen) < 0)
		return -1;
	if (s != NULL) {
		unsigned char raw[16];

		if (strlen(s) != BUNDLE_REQUEST_ID_LEN ||
		    sodium_base642bin(raw, sizeof(raw), s, strlen(s), NULL, NULL, NULL,
			sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
			return text_fail(err, errlen,
			    "member \"refresh_request_id\": \"%s\" is not %d base64url characters",
			    quote(s, q), BUNDLE_REQUEST_ID_LEN);
		snprintf(b->refresh_request_id, sizeof(b->refresh_request_id), "%s", s);
	}
	if (member_string(o, "", "last_address", 0, &s, err, errlen) < 0)
		return -1;
	if (s != NULL && parse_last_address(s, b, err, errlen) < 0)
		return -1;
	return 0;
}

int
bundle_parse(const char *text, size_t len, struct bundle *b, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;
	int rv;

	memset(b, 0, sizeof(*b));
	if (len > BUNDLE_FILE_MAX)
		return text_fail(err, errlen, "%zu bytes, more than %d", len, BUNDLE_FILE_MAX);
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return text_fail(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
	rv = parse_file(o, b, err, errlen);
	json_decref(o);
	return rv;
}

int
bundle_load(const char *path, struct bundle *b, char *err, size_t errlen)
{
	char *text = NULL, why[256];
	struct stat st;
	ssize_t n = 0;
	int fd, rv = -1;

	memset(b, 0, sizeof(*b));
	/* O_NONBLOCK: a FIFO at path must not hang the start (it is refused below) */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return text_fail(err, errlen, "bundle %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		text_fail(err, errlen, "bundle %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		text_fail(err, errlen, "bundle %s: not a regular file", path);
		goto out;
	}
	/* It holds the refresh token, which is the client's identity: like ssh with its keys,
	 * refuse rather than use a secret others could have read. */
	if (st.st_mode & 077) {
		text_fail(err, errlen,
		    "bundle %s: mode %03o lets group or others at its secrets; chmod 600 %s", path,
		    (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	if (st.st_size > BUNDLE_FILE_MAX) {
		text_fail(err, errlen, "bundle %s: %lld bytes, more than %d", path,
		    (long long)st.st_size, BUNDLE_FILE_MAX);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		text_fail(err, errlen, "bundle %s: out of memory", path);
		goto out;
	}
	while (n < st.st_size) {
		ssize_t r = read(fd, text + n, (size_t)(st.st_size - n));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			text_fail(err, errlen, "bundle %s: %s", path,
			    r < 0 ? strerror(errno) : "shorter than its size");
			goto out;
		}
		n += r;
	}
	if (bundle_parse(text, (size_t)n, b, why, sizeof(why)) < 0) {
		text_fail(err, errlen, "bundle %s: %s", path, why);
		goto out;
	}
	rv = 0;
out:
	if (text != NULL) {
		sodium_memzero(text, (size_t)st.st_size);
		free(text);
	}
	close(fd);
	return rv;
}

static json_t *
time_json(int64_t t)
{
	char buf[32];

	clock_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
prefix_json(const struct prefix *p)
{
	char buf[PREFIX_STRLEN];

	prefix_format(p, buf);
	return json_string(buf);
}

static json_t *
networks_json(const struct bundle *b)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < b->nnetworks; i++) {
		const struct bundle_network *n = &b->networks[i];
		char ia[ISDAS_STRLEN], gw[ADDR_STRLEN];
		json_t *routes = json_array();

		for (size_t r = 0; routes != NULL && r < n->nroutes; r++)
			json_array_append_new(routes, prefix_json(&n->routes[r]));
		isdas_format(n->isd_as, ia);
		if (n->has_gateway)
			addr_format(&n->gateway, gw);
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:i, s:o, s:o, s:s, s:o}", "pool", n->pool, "isd_as", ia,
			"family", n->family, "prefix", prefix_json(&n->prefix), "gateway",
			n->has_gateway ? json_string(gw) : json_null(), "mode",
			n->scion ? "scion" : "ip", "routes", routes));
	}
	return a;
}

char *
bundle_dump(const struct bundle *b)
{
	json_t *o, *agents = json_array();
	char *text = NULL;

	for (size_t i = 0; agents != NULL && i < b->nagents; i++) {
		char pin[45];

		bundle_pin_text(&b->agents[i], pin);
		json_array_append_new(agents,
		    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)b->agents[i].id, "address",
			b->agents[i].address, "spki_pin", pin));
	}
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:s}", "pssid", b->pssid, "name",
	    b->name != NULL ? b->name : "", "access_token",
	    b->access_token != NULL ? b->access_token : "", "access_token_expires_at",
	    time_json(b->access_token_expires_at), "access_token_received_at",
	    time_json(b->access_token_received_at), "refresh_token",
	    b->refresh_token != NULL ? b->refresh_token : "", "agents", agents, "networks",
	    networks_json(b), "manager", b->manager != NULL ? b->manager : "");
	if (o == NULL)
		return NULL;
	if (b->ca != NULL)
		json_object_set_new(o, "ca", json_string(b->ca));
	if (b->ack_token != NULL) {
		json_object_set_new(o, "ack_token", json_string(b->ack_token));
		json_object_set_new(o, "ack_deadline", time_json(b->ack_deadline));
	}
	if (b->refresh_request_id[0] != '\0')
		json_object_set_new(o, "refresh_request_id", json_string(b->refresh_request_id));
	if (b->has_last_address) {
		char ia[ISDAS_STRLEN], ip[ADDR_STRLEN], both[ISDAS_STRLEN + ADDR_STRLEN + 2];

		isdas_format(b->last_isd_as, ia);
		addr_format(&b->last_address, ip);
		snprintf(both, sizeof(both), "%s,%s", ia, ip);
		json_object_set_new(o, "last_address", json_string(both));
	}
	text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	return text;
}

int
bundle_save(const char *path, const struct bundle *b, char *err, size_t errlen)
{
	char *text = bundle_dump(b);
	size_t len;
	int rv;

	if (text == NULL)
		return text_fail(err, errlen, "bundle %s: out of memory", path);
	len = strlen(text);
	text[len] = '\n';
	rv = atomicfile_write(path, text, len + 1, 0600);
	if (rv < 0)
		text_fail(err, errlen, "bundle %s: %s", path, strerror(errno));
	sodium_memzero(text, len + 1);
	free(text);
	return rv;
}

int
bundle_from_join(
    const json_t *answer, int64_t received_at, struct bundle *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (!json_is_object(answer))
		return text_fail(err, errlen, "the answer is not a JSON object");
	if (parse_common(answer, FROM_MANAGER, b, err, errlen) < 0)
		return -1;
	if (b->ack_token == NULL)
		return text_fail(err, errlen, "member \"ack_token\" is missing");
	b->access_token_received_at = received_at;
	return 0;
}

int
bundle_apply_refresh(
    struct bundle *b, const json_t *answer, int64_t received_at, char *err, size_t errlen)
{
	char *access = NULL, *refresh = NULL;
	struct bundle *next = NULL;
	const json_t *v;
	int64_t exp;
	int rv = -1;

	if (!json_is_object(answer))
		return text_fail(err, errlen, "the answer is not a JSON object");
	if (member_token(answer, "access_token", 1, &access, err, errlen) < 0 ||
	    member_time(answer, "access_token_expires_at", 1, &exp, err, errlen) < 0 ||
	    member_token(answer, "refresh_token", 1, &refresh, err, errlen) < 0)
		goto out;
	/* Lists are parsed beside the old ones and copied over only when all of them parsed. */
	if ((next = malloc(sizeof(*next))) == NULL) {
		text_fail(err, errlen, "out of memory");
		goto out;
	}
	memcpy(next, b, sizeof(*next));
	if ((v = json_object_get(answer, "agents")) != NULL &&
	    parse_agents(v, FROM_MANAGER, next, err, errlen) < 0)
		goto out;
	if ((v = json_object_get(answer, "networks")) != NULL && !json_is_null(v) &&
	    parse_networks(v, FROM_MANAGER, next, err, errlen) < 0)
		goto out;
	b->nagents = next->nagents;
	memcpy(b->agents, next->agents, sizeof(b->agents));
	b->nnetworks = next->nnetworks;
	memcpy(b->networks, next->networks, sizeof(b->networks));
	wipe_free(b->access_token);
	wipe_free(b->refresh_token);
	b->access_token = access;
	b->refresh_token = refresh;
	access = refresh = NULL;
	b->access_token_expires_at = exp;
	b->access_token_received_at = received_at;
	b->refresh_request_id[0] = '\0';
	rv = 0;
out:
	/* next shares b's strings: only its memory goes. */
	free(next);
	wipe_free(access);
	wipe_free(refresh);
	return rv;
}
