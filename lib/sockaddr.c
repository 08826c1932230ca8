#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "sockaddr.h"

/* The host of sa into host (INET6_ADDRSTRLEN); unmap: an IPv4-mapped address as IPv4. 4 or 6
 * for the form written, 0 when sa is no IP address. */
static int
host_of(const struct sockaddr *sa, int unmap, char *host)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(
		    AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, INET6_ADDRSTRLEN);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	if (unmap && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], host, INET6_ADDRSTRLEN);
		return 4;
	}
	inet_ntop(AF_INET6, &s6->sin6_addr, host, INET6_ADDRSTRLEN);
	return 6;
}

int
sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	switch (host_of(sa, 0, host)) {
	case 4:
		snprintf(
		    buf, len, "%s:%u", host, ntohs(((const struct sockaddr_in *)sa)->sin_port));
		return 0;
	case 6:
		snprintf(
		    buf, len, "[%s]:%u", host, ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
		return 0;
	default: snprintf(buf, len, "?"); return -1;
	}
}

int
sockaddr_format_host(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (host_of(sa, 1, host) == 0) {
		snprintf(buf, len, "?");
		return -1;
	}
	snprintf(buf, len, "%s", host);
	return 0;
}

int
sockaddr_split(const char *text, char *host, size_t hostlen, uint16_t *port, int *bracketed)
{
	const char *h = text, *colon, *p;
	unsigned long v = 0;
	size_t hlen;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = text + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(text, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - text);
	}
	if (hlen >= hostlen || colon[1] == '\0')
		return -1;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		/* leading zeros may run long; the value may not */
		if ((v = v * 10 + (unsigned long)(*p - '0')) > 65535)
			return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	if (bracketed != NULL)
		*bracketed = text[0] == '[';
	return 0;
}

int
sockaddr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[SOCKADDR_HOST_MAX + 1];
	uint16_t port;
	int bracketed;

	memset(ss, 0, sizeof(*ss));
	if (sockaddr_split(text, host, sizeof(host), &port, &bracketed) < 0)
		return -1;
	if (!bracketed) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
	}
	return 0;
}

int
sockaddr_host(const struct sockaddr *sa, struct addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		a->family = 4;
		memcpy(a->b, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a->family = 4;
			memcpy(a->b, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = 6;
			memcpy(a->b, &in6->sin6_addr, 16);
		}
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -1;
}

int
sockaddr_dns_name_valid(const char *h)
{
	size_t n = strlen(h), label = 0;

	if (n == 0 || n > 254 || (n == 254 && h[253] != '.') || h[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return h[n - 1] != '-';
}

int
sockaddr_endpoint_valid(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[SOCKADDR_HOST_MAX + 1];
	uint16_t port;
	int bracketed;

	if (sockaddr_parse(text, &ss, &len) == 0)
		return 1;
	return sockaddr_split(text, host, sizeof(host), &port, &bracketed) == 0 && !bracketed &&
	    port != 0 && sockaddr_dns_name_valid(host);
}
