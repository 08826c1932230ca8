/* Looking a host name up without blocking the caller's event loop: glibc's getaddrinfo_a,
 * started and then polled from the caller's timers. One lookup at a time per struct resolve.
 * glibc writes into the struct from its own thread until the lookup is over, so a lookup that
 * could not be cancelled keeps its struct alive: resolve_free() waits for it briefly and
 * otherwise leaves it to glibc (a few hundred bytes, at exit). */
#ifndef LIB_RESOLVE_H
#define LIB_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct resolve;

/* A resolver, or NULL when out of memory. */
struct resolve *resolve_new(void);
void resolve_free(struct resolve *r);

/* Start looking host up (a DNS name, or a numeric address, which is answered at once). 0, or -1
 * with the reason in why (whylen bytes): an earlier lookup is still under way, or glibc refused
 * to start one. */
int resolve_start(struct resolve *r, const char *host, char *why, size_t whylen);

/* Where the lookup stands: 1 done, its addresses (IPv4 and IPv6, at most max, in the resolver's
 * order) with port into out and their number into *n; 0 still under way; -1 it failed, with the
 * reason in why (the name does not exist, no address, the resolver failed). */
int resolve_poll(struct resolve *r, uint16_t port, struct sockaddr_storage *out, size_t max,
    size_t *n, char *why, size_t whylen);

/* Give the lookup up (it took too long): cancelled, or left to end by itself; its result is
 * dropped. The next resolve_start() fails while it goes on. */
void resolve_cancel(struct resolve *r);

#endif
