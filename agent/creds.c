/* The credentials file and the enrollment answer. See creds.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/atomicfile.h"
#include "../lib/b64url.h"
#include "creds.h"

static int
fail(char *why, size_t whylen, const char *fmt, const char *arg)
{
	snprintf(why, whylen, fmt, arg);
	return -1;
}

static int
parse_managers(json_t *a, struct creds *c, char *why, size_t whylen)
{
	const char *address, *pin;
	char reason[256];
	json_error_t e;
	json_t *m;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > CREDS_MANAGERS_MAX)
		return fail(why, whylen, "managers must be an array of 1 to %s managers", "8");
	json_array_foreach(a, i, m)
	{
		pin = NULL;
		if (json_unpack_ex(
			m, &e, JSON_STRICT, "{s:s, s?s}", "address", &address, "pin", &pin) < 0)
			return fail(why, whylen, "managers: %s", e.text);
		if (link_dial_parse_tls(
			address, strlen(address), pin, &c->managers[i], reason, sizeof(reason)) < 0)
			return fail(why, whylen, "managers: %s", reason);
	}
	c->nmanagers = json_array_size(a);
	return 0;
}

int
creds_parse(const char *text, size_t len, struct creds *c, char *why, size_t whylen)
{
	const char *name = "", *key = NULL, *cert = "", *keyfile = "";
	json_int_t id = 0;
	json_t *root, *managers = NULL;
	json_error_t e;
	int rv = -1;

	memset(c, 0, sizeof(*c));
	if (len > CREDS_TEXT_MAX)
		return fail(why, whylen, "longer than %s bytes", "65536");
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return fail(why, whylen, "not JSON: %s", e.text);
	if (json_unpack_ex(root, &e, JSON_STRICT, "{s:I, s?s, s:s, s:o, s?s, s?s}", "agent_id", &id,
		"name", &name, "channel_key", &key, "managers", &managers, "cert", &cert, "key",
		&keyfile) < 0) {
		fail(why, whylen, "%s", e.text);
		goto out;
	}
	if (id < 1) {
		fail(why, whylen, "agent_id must be a positive integer%s", "");
		goto out;
	}
	c->agent_id = (uint64_t)id;
	if (strlen(name) >= sizeof(c->name) || strlen(cert) >= sizeof(c->cert) ||
	    strlen(keyfile) >= sizeof(c->key)) {
		fail(why, whylen, "name, cert or key is too long%s", "");
		goto out;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->cert, sizeof(c->cert), "%s", cert);
	snprintf(c->key, sizeof(c->key), "%s", keyfile);
	if (b64url_decode(key, strlen(key), c->channel_key, sizeof(c->channel_key)) !=
	    sizeof(c->channel_key)) {
		fail(why, whylen, "channel_key must be the base64url of 32 bytes%s", "");
		goto out;
	}
	if (parse_managers(managers, c, why, whylen) < 0)
		goto out;
	rv = 0;
out:
	if (rv < 0)
		explicit_bzero(c->channel_key, sizeof(c->channel_key));
	json_decref(root);
	return rv;
}

/* A path named in the file at dir/path unless it is absolute. */
static int
beside(const char *dir, char *path, size_t cap)
{
	char tmp[1024];

	if (path[0] == '/' || path[0] == '\0')
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", dir, path) >= sizeof(tmp) ||
	    strlen(tmp) >= cap)
		return -1;
	snprintf(path, cap, "%s", tmp);
	return 0;
}

int
creds_load(const char *path, struct creds *c, char *why, size_t whylen)
{
	char *text, dir[1024], reason[256];
	const char *slash = strrchr(path, '/');
	ssize_t n;
	size_t len = 0;
	int fd, rv;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return fail(why, whylen, "%s", strerror(errno));
	if ((text = malloc(CREDS_TEXT_MAX + 1)) == NULL) {
		close(fd);
		return fail(why, whylen, "%s", strerror(ENOMEM));
	}
	while (len <= CREDS_TEXT_MAX && (n = read(fd, text + len, CREDS_TEXT_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	rv = creds_parse(text, len, c, reason, sizeof(reason));
	explicit_bzero(text, len);
	free(text);
	if (rv < 0)
		return fail(why, whylen, "%s", reason);
	if (c->cert[0] == '\0' || c->key[0] == '\0')
		return fail(
		    why, whylen, "cert and key (the client certificate's files) are %s", "missing");
	snprintf(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash - path) : 1,
	    slash != NULL ? path : ".");
	if (beside(dir, c->cert, sizeof(c->cert)) < 0 || beside(dir, c->key, sizeof(c->key)) < 0)
		return fail(why, whylen, "cert or key: %s", "path too long");
	return 0;
}

int
creds_save(const char *path, const struct creds *c)
{
	char key[B64URL_LEN(32) + 1], pin[TLSCERT_PIN_STRLEN], *text;
	json_t *o, *managers = json_array();
	int rv;

	for (size_t i = 0; i < c->nmanagers; i++) {
		json_t *m = json_pack("{s:s}", "address", c->managers[i].address);

		tlscert_pin_text(c->managers[i].pin, pin);
		if (c->managers[i].pinned)
			json_object_set_new(m, "pin", json_string(pin));
		json_array_append_new(managers, m);
	}
	b64url_encode(c->channel_key, sizeof(c->channel_key), key);
	o = json_pack("{s:I, s:s, s:s, s:o, s:s, s:s}", "agent_id", (json_int_t)c->agent_id, "name",
	    c->name, "channel_key", key, "managers", managers, "cert", c->cert, "key", c->key);
	explicit_bzero(key, sizeof(key));
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2))) == NULL) {
		json_decref(o);
		errno = ENOMEM;
		return -1;
	}
	json_decref(o);
	rv = atomicfile_write(path, text, strlen(text), 0600);
	explicit_bzero(text, strlen(text));
	free(text);
	return rv;
}
