/* enrolltool: drives the client's enrollment modules (agent/client/enroll.h, bundle.h) against
 * a real manager, for tests/e2e/client_enroll_test.sh.
 *
 *   enrolltool join --manager URL --token T [--name N] [--ca FILE] --bundle FILE
 *       enroll_client_join: join, save, ack, save.
 *   enrolltool refresh --bundle FILE [--lose-answer LOST]
 *       enroll_client_refresh on FILE. With --lose-answer, the crash between the manager's
 *       answer and its save: FILE is saved with a new refresh_request_id beside the old token
 *       (what the client writes before it sends), then the refresh runs with LOST as its
 *       bundle path, so that FILE stays as a crash would leave it and LOST gets the answer.
 *   enrolltool show --bundle FILE
 *       bundle_load, then one "member value" line each for pssid, name, agents, networks,
 *       pin0, address0, request_id, acked, expires_in, network0 ("POOL ISD-AS PREFIX GATEWAY
 *       ROUTE,..." of the first network, "-" for none) (never a secret).
 *
 * Exit status: 0 done, 1 usage or local failure, 2 refused by the manager (ENROLL_REFUSED),
 * 3 transient (ENROLL_TRANSIENT). Messages go to stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/client/bundle.h"
#include "../../agent/client/enroll.h"
#include "../../lib/mgrhttp.h"
#include "../../lib/b64url.h"
#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/secret.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: enrolltool join --manager URL --token T [--name N] [--ca FILE] "
	    "--bundle FILE\n"
	    "       enrolltool refresh --bundle FILE [--lose-answer LOST]\n"
	    "       enrolltool show --bundle FILE\n");
	return 1;
}

static int
exit_of(enum enroll_status st)
{
	return st == ENROLL_OK ? 0 : st == ENROLL_REFUSED ? 2 : 3;
}

static int
show(const char *path)
{
	char err[512], pin[45] = "-";
	struct bundle b;

	if (bundle_load(path, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "enrolltool: %s\n", err);
		bundle_free(&b);
		return 1;
	}
	if (b.nagents > 0)
		bundle_pin_text(&b.agents[0], pin);
	printf("pssid %s\nname %s\nagents %zu\nnetworks %zu\npin0 %s\naddress0 %s\n", b.pssid,
	    b.name, b.nagents, b.nnetworks, pin, b.nagents > 0 ? b.agents[0].address : "-");
	printf("request_id %s\nacked %s\nexpires_in %lld\n",
	    b.refresh_request_id[0] != '\0' ? b.refresh_request_id : "-",
	    b.ack_token == NULL ? "yes" : "no",
	    (long long)(b.access_token_expires_at - clock_unix()));
	if (b.nnetworks > 0) {
		const struct bundle_network *n = &b.networks[0];
		char ia[ISDAS_STRLEN], pfx[PREFIX_STRLEN], gw[ADDR_STRLEN] = "-";

		isdas_format(n->isd_as, ia);
		prefix_format(&n->prefix, pfx);
		if (n->has_gateway)
			addr_format(&n->gateway, gw);
		printf("network0 %s %s %s %s ", n->pool, ia, pfx, gw);
		for (size_t i = 0; i < n->nroutes; i++) {
			prefix_format(&n->routes[i], pfx);
			printf("%s%s", i > 0 ? "," : "", pfx);
		}
		printf("%s\n", n->nroutes == 0 ? "-" : "");
	} else {
		printf("network0 -\n");
	}
	bundle_free(&b);
	return 0;
}

static int
refresh(const char *path, const char *lost)
{
	char err[512], why[512];
	enum enroll_status st;
	struct bundle b;
	long ra;

	if (bundle_load(path, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "enrolltool: %s\n", err);
		bundle_free(&b);
		return 1;
	}
	if (lost != NULL) {
		unsigned char raw[16];

		if (b.refresh_request_id[0] == '\0') {
			if (secret_random(raw, sizeof(raw)) < 0) {
				fprintf(stderr, "enrolltool: no random bytes\n");
				bundle_free(&b);
				return 1;
			}
			b64url_encode(raw, sizeof(raw), b.refresh_request_id);
		}
		if (bundle_save(path, &b, why, sizeof(why)) < 0) {
			fprintf(stderr, "enrolltool: %s\n", why);
			bundle_free(&b);
			return 1;
		}
		path = lost;
	}
	st = enroll_client_refresh(&b, path, &ra, err, sizeof(err));
	if (err[0] != '\0')
		fprintf(stderr, "enrolltool: %s\n", err);
	if (st == ENROLL_TRANSIENT && ra >= 0)
		fprintf(stderr, "enrolltool: retry after %ld s\n", ra);
	bundle_free(&b);
	return exit_of(st);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"manager", required_argument, NULL, 'm'},
	    {"token", required_argument, NULL, 't'},
	    {"name", required_argument, NULL, 'n'},
	    {"ca", required_argument, NULL, 'c'},
	    {"bundle", required_argument, NULL, 'b'},
	    {"lose-answer", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	const char *manager = NULL, *token = NULL, *name = NULL, *ca = NULL, *bundle = NULL;
	const char *lost = NULL, *cmd;
	char err[1024];
	int c;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': manager = optarg; break;
		case 't': token = optarg; break;
		case 'n': name = optarg; break;
		case 'c': ca = optarg; break;
		case 'b': bundle = optarg; break;
		case 'l': lost = optarg; break;
		default: return usage();
		}
	}
	if (optind != argc || bundle == NULL)
		return usage();
	if (mgrhttp_init() < 0) {
		fprintf(stderr, "enrolltool: libcurl did not initialise\n");
		return 1;
	}
	if (strcmp(cmd, "show") == 0)
		return show(bundle);
	if (strcmp(cmd, "refresh") == 0)
		return refresh(bundle, lost);
	if (strcmp(cmd, "join") != 0 || manager == NULL || token == NULL)
		return usage();
	c = exit_of(enroll_client_join(manager, ca, token, name, bundle, err, sizeof(err)));
	if (c != 0)
		fprintf(stderr, "enrolltool: %s\n", err);
	return c;
}
