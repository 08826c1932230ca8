/* `snaptun-agent enroll`. See enroll.h. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/log.h"
#include "../lib/mgrhttp.h"
#include "../lib/tlscert.h"
#include "creds.h"
#include "enroll.h"

#define CERT_NAME "client.crt"
#define KEY_NAME "client.key"
#define CREDS_NAME "credentials.json"

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
	char cert[1024], key[1024], path[1024], pin64[TLSCERT_PIN_STRLEN], why[256];
	unsigned char pin[TLSCERT_PIN_LEN];
	struct mgrhttp_reply r = {0};
	struct creds c;
	char *text = NULL;
	json_t *req;
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
	if (req == NULL || mgrhttp_init() < 0) {
		json_decref(req);
		fprintf(stderr, "snaptun-agent enroll: out of memory\n");
		return 1;
	}
	if (mgrhttp_post(url, cacert, "/v1/agent-enroll", req, "the agent token", &r) !=
	    MGRHTTP_OK) {
		fprintf(stderr, "snaptun-agent enroll: %s\n", r.message);
		goto out;
	}
	/* The answer goes through the one parser of credentials (fuzzed), as text. */
	if ((text = json_dumps(r.body, JSON_COMPACT)) == NULL ||
	    creds_parse(text, strlen(text), &c, why, sizeof(why)) < 0) {
		fprintf(stderr, "snaptun-agent enroll: the manager's answer: %s\n",
		    text != NULL ? why : "not JSON");
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
	if (text != NULL)
		explicit_bzero(text, strlen(text));
	free(text);
	mgrhttp_reply_free(&r);
	return rv;
}
