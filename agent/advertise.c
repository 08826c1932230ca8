/* The advertised endpoint (advertise.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/sockaddr.h"
#include "advertise.h"

/* Global unicast addresses to route toward (public resolvers): only the route lookup uses them. */
#define PROBE_V4 "8.8.8.8"
#define PROBE_V6 "2001:4860:4860::8888"

/* The source address the kernel picks toward the probe of family (4, 6), into a: 0, or -1 when
 * there is no route or only an address no client could reach (loopback, link-local). */
static int
source_toward(int family, struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int fd, rv = -1;

	memset(&ss, 0, sizeof(ss));
	if (family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		inet_pton(AF_INET, PROBE_V4, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		inet_pton(AF_INET6, PROBE_V6, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &(socklen_t){sizeof(ss)}) == 0 &&
	    sockaddr_host((struct sockaddr *)&ss, a, &port) == 0 && !addr_is_zero(a)) {
		int loopback = family == 4
		    ? a->b[0] == 127
		    : (memcmp(a->b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0);
		int linklocal = family == 4 ? (a->b[0] == 169 && a->b[1] == 254)
					    : (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80);

		rv = loopback || linklocal ? -1 : 0;
	}
	close(fd);
	return rv;
}

int
advertise_endpoint(const char *given, const struct sockaddr *bound, char *out, size_t outlen,
    int *derived, char *why, size_t whylen)
{
	char host[SOCKADDR_HOST_MAX + 1], text[ADDR_STRLEN];
	struct addr a;
	uint16_t port;
	int bracketed;

	*derived = 0;
	if (given != NULL) {
		if (strlen(given) > ADVERTISE_MAX) {
			snprintf(why, whylen, "--advertise: longer than %d bytes", ADVERTISE_MAX);
			return -1;
		}
		if (sockaddr_split(given, host, sizeof(host), &port, &bracketed) < 0 ||
		    host[0] == '\0' || port == 0) {
			snprintf(why, whylen,
			    "--advertise \"%s\": expected HOST:PORT or [IPV6]:PORT with a port "
			    "above 0",
			    given);
			return -1;
		}
		if (addr_parse(host, &a) == 0 &&
		    (addr_is_zero(&a) || (a.family == 6) != bracketed)) {
			snprintf(why, whylen, "--advertise \"%s\": %s", given,
			    addr_is_zero(&a) ? "a wildcard address is no address to dial"
					     : "an IPv6 address goes in brackets, an IPv4 one not");
			return -1;
		}
		if (strspn(host,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
		    strlen(host)) {
			snprintf(
			    why, whylen, "--advertise \"%s\": not a host name or address", given);
			return -1;
		}
		snprintf(out, outlen, "%s", given);
		return 0;
	}
	if (sockaddr_host(bound, &a, &port) < 0) {
		snprintf(why, whylen, "the listener's address is neither IPv4 nor IPv6");
		return -1;
	}
	if (!addr_is_zero(&a)) {
		sockaddr_format(bound, out, outlen);
		return 0;
	}
	if (source_toward(a.family, &a) < 0 &&
	    (bound->sa_family != AF_INET6 || source_toward(4, &a) < 0)) {
		snprintf(why, whylen,
		    "listening on a wildcard address, and no routable address of this host to "
		    "advertise instead: set --advertise HOST:PORT (the endpoint clients dial)");
		return -1;
	}
	addr_format(&a, text);
	snprintf(out, outlen, a.family == 6 ? "[%s]:%u" : "%s:%u", text, (unsigned)port);
	*derived = 1;
	return 0;
}
