/* The endpoint the agent reports to the manager (HELLO listen_address) and the manager lists in
 * bundles for clients to dial (agent --advertise). A listener on a wildcard address (0.0.0.0,
 * ::) names no address a client could dial: without --advertise one is derived, the source
 * address the kernel would pick toward a global address (a connected UDP socket; nothing is
 * sent), of the listener's family first (an IPv6 listener takes IPv4 too, so IPv4 is tried
 * next). */
#ifndef AGENT_ADVERTISE_H
#define AGENT_ADVERTISE_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest endpoint: what the manager records of HELLO's listen_address (longer ones it
 * refuses). */
#define ADVERTISE_MAX 64

/* Into out (outlen bytes; SOCKADDR_STRLEN + SOCKADDR_HOST_MAX is enough): given ("HOST:PORT" or
 * "[V6]:PORT", a name or a numeric address other than a wildcard, at most ADVERTISE_MAX bytes) when not NULL, else the bound
 * address when it is specific, else the derived one with the bound port (*derived set to 1).
 * 0, or -1 with the reason in why (whylen bytes). */
int advertise_endpoint(const char *given, const struct sockaddr *bound, char *out, size_t outlen,
    int *derived, char *why, size_t whylen);

#endif
