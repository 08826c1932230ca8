#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sockaddr.h"

void
sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[ADDR_STRLEN];

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
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
