/* IPv4/IPv6 addresses and prefixes, and the pool-relative address index arithmetic:
 * an address inside a prefix is its host part, a number below 2^64. */
#ifndef LIB_ADDR_H
#define LIB_ADDR_H

#include <stdint.h>
#include <netinet/in.h>

#define ADDR_STRLEN INET6_ADDRSTRLEN
#define PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

struct addr {
	int family; /* 4 or 6 */
	uint8_t b[16]; /* network order; IPv4 uses the first 4 bytes */
};

struct prefix {
	struct addr net;
	unsigned len;
};

/* Parse an address in text form; 0 or -1. */
int addr_parse(const char *s, struct addr *a);
void addr_format(const struct addr *a, char *buf);
int addr_is_zero(const struct addr *a);

/* Parse "10.0.0.0/24" or "2001:db8::/64". Host bits set is an error (the reason names the
 * canonical form). Returns 0 or -1 with a reason (static or in whybuf) in *why. */
int prefix_parse(const char *s, struct prefix *p, char *whybuf, size_t whylen, const char **why);
void prefix_format(const struct prefix *p, char *buf);

/* Bits of host part (32 - len or 128 - len). */
unsigned prefix_host_bits(const struct prefix *p);

/* The usable index range [first, last]: network and broadcast of IPv4 prefixes up to /30 and
 * the subnet-router anycast index 0 of IPv6 up to /126 are left out. The prefix must have at
 * most 64 host bits. */
void prefix_usable(const struct prefix *p, uint64_t *first, uint64_t *last);

/* The address at host index idx (idx below 2^host_bits). */
void prefix_addr_at(const struct prefix *p, uint64_t idx, struct addr *out);

/* The host index of a inside p; -1 if a is not inside p. */
int prefix_index_of(const struct prefix *p, const struct addr *a, uint64_t *idx);

/* Whether a is inside p (same family, the first p->len bits agree): 1 or 0. */
int prefix_contains(const struct prefix *p, const struct addr *a);

/* Whether two prefixes share any address. */
int prefix_overlap(const struct prefix *a, const struct prefix *b);

/* NULL when p holds only addresses a host may be given on a network, else why not ("overlaps
 * the IPv4 loopback range 127.0.0.0/8"): this-network, loopback, link-local, multicast and reserved
 * IPv4 space; ::/96 (unspecified, loopback, IPv4-compatible), IPv4-mapped,
 * link-local, site-local and multicast IPv6 space. Private, shared and documentation ranges
 * are addresses like any other. */
const char *prefix_special_use(const struct prefix *p);

#endif
