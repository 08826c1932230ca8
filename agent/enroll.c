/* `snaptun-agent enroll`. See enroll.h. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/log.h"
#include "../lib/tlscert.h"
#include "creds.h"
#include "enroll.h"

#define CERT_NAME "client.crt"
#define KEY_NAME "client.key"
#define CREDS_NAME "credentials.json"

struct answer {
	char *text;
	size_t len;
	int over; /* longer than CREDS_TEXT_MAX: refused */
};

static size_t
take(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	char *q;

	if (a->len + len > CREDS_TEXT_MAX) {
		a->over = 1;
		return 0;
	}
	if ((q = realloc(a->text, a->len + len + 1)) == NULL)
		return 0;
	a->text = q;
	memcpy(a->text + a->len, p, len);
	a->len += len;
	a->text[a->len] = '\0';
	return len;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: snaptun-agent enroll --manager URL --token sat_... --out DIR [--name NAME]\n"
	    "                            [--cacert FILE]\n"
	    "\n"
	    "  --manager URL   the manager's API (http://host:8080 or https://…)\n"
	    "  --token TOKEN   a one-time agent token (POST /v1/agent-tokens)\n"
	    "  --out DIR       where the key, certificate and credentials.json go (made 0700)\n"
	    "  --name NAME     the agent's name in /v1/agents (default: the token's)\n"
	    "  --cacert FILE   CA certificates for an https manager URL\n");
}

/* POST the enrollment; the answer's text into *a and its HTTP status into *status. 0 or -1. */
static int
post(const char *url, const char *cacert, const char *body, struct answer *a, long *status)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	char full[2048];
	CURLcode rc;

	snprintf(full, sizeof(full), "%s/v1/agent-enroll", url);
	if (c == NULL || h == NULL) {
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		fprintf(stderr, "snaptun-agent enroll: out of memory\n");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "snaptun-agent enroll: %s: %s\n", full,
		    a->over ? "the answer is too long" : curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

int
enroll_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"manager", required_argument, NULL, 'm'},
	    {"token", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'},
	    {"name", required_argument, NULL, 'n'},
	    {"cacert", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *token = NULL, *out = NULL, *name = NULL, *cacert = NULL;
	char cert[1024], key[1024], path[1024], pin64[TLSCERT_PIN_STRLEN], why[256], *body;
	unsigned char pin[TLSCERT_PIN_LEN];
	struct answer a = {0};
	struct creds c;
	long status = 0;
	json_t *req, *problem;
	int ch, rv = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': url = optarg; break;
		case 't': token = optarg; break;
		case 'o': out = optarg; break;
		case 'n': name = optarg; break;
		case 'c': cacert = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (url == NULL || token == NULL || out == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "snaptun-agent enroll: --out %s: %s\n", out, strerror(errno));
		return 1;
	}
	snprintf(cert, sizeof(cert), "%s/%s", out, CERT_NAME);
	snprintf(key, sizeof(key), "%s/%s", out, KEY_NAME);
	snprintf(path, sizeof(path), "%s/%s", out, CREDS_NAME);
	/* The key never leaves this host: the manager learns its pin only. */
	if (tlscert_ensure(cert, key, "snaptun-agent") < 0 || tlscert_spki_pin(cert, pin) < 0)
		return 1;
	tlscert_pin_text(pin, pin64);
	req = json_pack("{s:s, s:s}", "token", token, "client_pin", pin64);
	if (req != NULL && name != NULL)
		json_object_set_new(req, "name", json_string(name));
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL) {
		fprintf(stderr, "snaptun-agent enroll: out of memory\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (post(url, cacert, body, &a, &status) < 0)
		goto out;
	if (status != 201) {
		problem = a.text != NULL ? json_loads(a.text, 0, NULL) : NULL;
		fprintf(stderr, "snaptun-agent enroll: the manager refused (HTTP %ld): %s\n",
		    status,
		    json_string_value(json_object_get(problem, "detail")) != NULL
			? json_string_value(json_object_get(problem, "detail"))
			: "no reason given");
		json_decref(problem);
		goto out;
	}
	if (creds_parse(a.text != NULL ? a.text : "", a.len, &c, why, sizeof(why)) < 0) {
		fprintf(stderr, "snaptun-agent enroll: the manager's answer: %s\n", why);
		goto out;
	}
	snprintf(c.cert, sizeof(c.cert), "%s", CERT_NAME);
	snprintf(c.key, sizeof(c.key), "%s", KEY_NAME);
	if (creds_save(path, &c) < 0) {
		fprintf(
		    stderr, "snaptun-agent enroll: cannot write %s: %s\n", path, strerror(errno));
		goto out;
	}
	printf("enrolled as agent %llu (%s); credentials in %s\n", (unsigned long long)c.agent_id,
	    c.name, path);
	rv = 0;
out:
	explicit_bzero(&c, sizeof(c));
	if (a.text != NULL)
		explicit_bzero(a.text, a.len);
	free(a.text);
	free(body);
	curl_global_cleanup();
	return rv;
}
