/* Name lookups off the event loop. See resolve.h. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "resolve.h"
#include "sockaddr.h"

#define FREE_WAIT_MS 2000 /* how long resolve_free() waits for a lookup it cannot cancel */

struct resolve {
	struct gaicb cb;
	struct addrinfo hints;
	char host[SOCKADDR_HOST_MAX + 1];
	int started; /* a lookup was started and its request not yet collected */
	int abandoned; /* given up: its result is dropped when it ends */
};

struct resolve *
resolve_new(void)
{
	return calloc(1, sizeof(struct resolve));
}

/* Whether a started lookup is over (its result, if any, collected and freed). */
static int
settle(struct resolve *r)
{
	if (!r->started)
		return 1;
	if (gai_error(&r->cb) == EAI_INPROGRESS)
		return 0;
	if (r->cb.ar_result != NULL)
		freeaddrinfo(r->cb.ar_result);
	r->cb.ar_result = NULL;
	r->started = r->abandoned = 0;
	return 1;
}

int
resolve_start(struct resolve *r, const char *host, char *why, size_t whylen)
{
	struct gaicb *list[1] = {&r->cb};
	int rv;

	if (!settle(r)) {
		snprintf(
		    why, whylen, "the lookup of \"%s\" started before is still under way", r->host);
		return -1;
	}
	if (strlen(host) >= sizeof(r->host)) {
		snprintf(why, whylen, "host name too long");
		return -1;
	}
	memcpy(r->host, host, strlen(host) + 1);
	memset(&r->hints, 0, sizeof(r->hints));
	r->hints.ai_family = AF_UNSPEC;
	r->hints.ai_socktype = SOCK_STREAM;
	memset(&r->cb, 0, sizeof(r->cb));
	r->cb.ar_name = r->host;
	r->cb.ar_request = &r->hints;
	if ((rv = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		snprintf(why, whylen, "cannot look \"%s\" up: %s", host, gai_strerror(rv));
		return -1;
	}
	r->started = 1;
	return 0;
}

int
resolve_poll(struct resolve *r, uint16_t port, struct sockaddr_storage *out, size_t max, size_t *n,
    char *why, size_t whylen)
{
	int rv;

	*n = 0;
	if (!r->started || r->abandoned) {
		snprintf(why, whylen, "no lookup under way");
		return -1;
	}
	if ((rv = gai_error(&r->cb)) == EAI_INPROGRESS)
		return 0;
	if (rv != 0) {
		snprintf(why, whylen, "cannot resolve \"%s\": %s", r->host, gai_strerror(rv));
		settle(r);
		return -1;
	}
	for (struct addrinfo *a = r->cb.ar_result; a != NULL && *n < max; a = a->ai_next) {
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
		    a->ai_addrlen > sizeof(out[0]))
			continue;
		memset(&out[*n], 0, sizeof(out[0]));
		memcpy(&out[*n], a->ai_addr, a->ai_addrlen);
		if (a->ai_family == AF_INET)
			((struct sockaddr_in *)&out[*n])->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&out[*n])->sin6_port = htons(port);
		(*n)++;
	}
	settle(r);
	if (*n == 0) {
		snprintf(why, whylen, "\"%s\" has no IPv4 or IPv6 address", r->host);
		return -1;
	}
	return 1;
}

void
resolve_cancel(struct resolve *r)
{
	if (!r->started)
		return;
	if (gai_cancel(&r->cb) == EAI_CANCELED) {
		r->started = r->abandoned = 0;
		return;
	}
	r->abandoned = 1;
	settle(r);
}

void
resolve_free(struct resolve *r)
{
	if (r == NULL)
		return;
	resolve_cancel(r);
	for (int waited = 0; !settle(r) && waited < FREE_WAIT_MS; waited += 10)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	if (settle(r))
		free(r);
	/* else glibc still writes into it: left to it */
}
