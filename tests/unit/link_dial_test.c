/* The agent's manager endpoints (agent/link_dial.c) and name lookups off the loop
 * (lib/resolve.c): what --manager and the credentials' managers take (numeric addresses, DNS
 * names, with or without a pin, UNIX socket paths) and refuse; the host of an endpoint; and a
 * lookup of a name, of an address, of a name that does not exist, and one given up. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../agent/link_dial.h"
#include "../../lib/resolve.h"
#include "../../lib/sockaddr.h"
#include "check.h"

#define PIN "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void
test_parse(void)
{
	static const char *const good[] = {
	    "192.0.2.1:7443=" PIN,
	    "[2001:db8::1]:7443=" PIN,
	    "manager.example.net:7443=" PIN,
	    "manager.example.net.:7443=" PIN,
	    "localhost:7443",
	    "m-1.example:1",
	    "192.0.2.1:7443",
	};
	static const char *const bad[] = {
	    "manager.example.net:0",
	    "-manager.example:7443",
	    "manager-.example:7443",
	    "man_ager.example:7443",
	    "a..b:7443",
	    ".a:7443",
	    "[manager.example]:7443",
	    "2001:db8::1:7443",
	    "manager.example.net:70000",
	    "manager.example.net:7443=notapin",
	    "agent.sock",
	    "",
	};
	struct link_endpoint ep;
	char why[320], long_label[80], long_name[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rv = link_dial_parse(good[i], &ep, why, sizeof(why));

		CHECK(rv == 0 && link_dial_is_tls(&ep), "takes %s (%s)", good[i], rv ? why : "");
		CHECK(ep.pinned == (strchr(good[i], '=') != NULL), "%s: pinned %d", good[i],
		    ep.pinned);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(link_dial_parse(bad[i], &ep, why, sizeof(why)) < 0 && why[0] != '\0',
		    "refuses \"%s\": %s", bad[i], why);
	memset(long_label, 'a', 64);
	snprintf(long_label + 64, sizeof(long_label) - 64, ".example:1");
	CHECK(link_dial_parse(long_label, &ep, why, sizeof(why)) < 0,
	    "refuses a label of 64 bytes: %s", why);
	for (size_t i = 0; i < 254; i += 2)
		long_name[i] = 'a', long_name[i + 1] = '.';
	snprintf(long_name + 254, sizeof(long_name) - 254, "b:1");
	CHECK(link_dial_parse(long_name, &ep, why, sizeof(why)) < 0,
	    "refuses a name of 255 bytes: %s", why);
	CHECK(link_dial_parse("/run/snaptun/agent.sock", &ep, why, sizeof(why)) == 0 &&
		!link_dial_is_tls(&ep),
	    "a socket path");
	CHECK(link_dial_parse("./var/a=b/agent.sock", &ep, why, sizeof(why)) == 0 &&
		!link_dial_is_tls(&ep),
	    "a socket path with '=' after a '/'");
	CHECK(link_dial_parse_tls("localhost:7443", 14, NULL, &ep, why, sizeof(why)) == 0 &&
		!ep.pinned,
	    "a credentials' manager without a pin");
}

static void
test_host(void)
{
	struct link_endpoint ep;
	struct sockaddr_storage ss;
	socklen_t len;
	char host[SOCKADDR_HOST_MAX + 1], why[320];
	uint16_t port;

	link_dial_parse("manager.example.net:7443=" PIN, &ep, why, sizeof(why));
	CHECK(link_dial_host(&ep, host, &port, &ss, &len) == 0 &&
		strcmp(host, "manager.example.net") == 0 && port == 7443,
	    "a name to resolve: %s %u", host, port);
	link_dial_parse("[2001:db8::1]:7443", &ep, why, sizeof(why));
	CHECK(link_dial_host(&ep, host, &port, &ss, &len) == 1 &&
		strcmp(host, "2001:db8::1") == 0 && ss.ss_family == AF_INET6 && port == 7443,
	    "an IPv6 address: %s", host);
}

/* Poll r until it answers, at most 30 s: its result. */
static int
wait_lookup(struct resolve *r, uint16_t port, struct sockaddr_storage *out, size_t max, size_t *n,
    char *why, size_t whylen)
{
	int rv = 0;

	for (int i = 0; i < 3000 && (rv = resolve_poll(r, port, out, max, n, why, whylen)) == 0;
	     i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	return rv;
}

static void
test_resolve(void)
{
	struct resolve *r = resolve_new();
	struct sockaddr_storage out[4];
	char why[320], text[SOCKADDR_STRLEN];
	size_t n;
	int rv;

	CHECK(r != NULL, "a resolver");
	CHECK(resolve_start(r, "127.0.0.1", why, sizeof(why)) == 0, "an address: %s", why);
	rv = wait_lookup(r, 7443, out, 4, &n, why, sizeof(why));
	sockaddr_format((struct sockaddr *)&out[0], text, sizeof(text));
	CHECK(rv == 1 && n == 1 && strcmp(text, "127.0.0.1:7443") == 0, "answered: %s", text);

	CHECK(resolve_start(r, "localhost", why, sizeof(why)) == 0, "localhost: %s", why);
	rv = wait_lookup(r, 9, out, 4, &n, why, sizeof(why));
	sockaddr_format((struct sockaddr *)&out[0], text, sizeof(text));
	CHECK(
	    rv == 1 && n >= 1 && (strcmp(text, "127.0.0.1:9") == 0 || strcmp(text, "[::1]:9") == 0),
	    "localhost is a loopback address with the port: %s (%zu)", text, n);

	CHECK(resolve_start(r, "no-such-host.invalid", why, sizeof(why)) == 0, "started");
	rv = wait_lookup(r, 9, out, 4, &n, why, sizeof(why));
	CHECK(rv < 0 && strstr(why, "no-such-host.invalid") != NULL && n == 0,
	    "a name that does not exist fails, naming it: %s", why);

	CHECK(resolve_start(r, "localhost", why, sizeof(why)) == 0, "started again");
	resolve_cancel(r);
	CHECK(resolve_poll(r, 9, out, 4, &n, why, sizeof(why)) < 0,
	    "a lookup given up answers nothing");
	for (int i = 0; i < 3000 && resolve_start(r, "127.0.0.1", why, sizeof(why)) < 0; i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	rv = wait_lookup(r, 1, out, 4, &n, why, sizeof(why));
	CHECK(rv == 1 && n == 1, "the resolver takes a new lookup after one given up: %s",
	    rv < 0 ? why : "");
	resolve_free(r);
}

int
main(void)
{
	test_parse();
	test_host();
	test_resolve();
	return check_done();
}
