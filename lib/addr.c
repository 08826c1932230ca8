#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static unsigned
addr_bits(int family)
{
	return family == 4 ? 32 : 128;
}

int
addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->family = 6;
		return 0;
	}
	return -1;
}

void
addr_format(const struct addr *a, char *buf)
{
	inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf, ADDR_STRLEN);
}

int
addr_is_zero(const struct addr *a)
{
	for (unsigned i = 0; i < addr_bits(a->family) / 8; i++)
		if (a->b[i] != 0)
			return 0;
	return 1;
}

static int
bit_at(const uint8_t *b, unsigned i)
{
	return b[i / 8] >> (7 - i % 8) & 1;
}

static void
clear_host_bits(struct addr *a, unsigned len)
{
	for (unsigned i = len; i < addr_bits(a->family); i++)
		a->b[i / 8] &= (uint8_t) ~(1u << (7 - i % 8));
}

int
prefix_parse(const char *s, struct prefix *p, char *whybuf, size_t whylen, const char **why)
{
	char host[ADDR_STRLEN + 1], canon[PREFIX_STRLEN];
	const char *slash = strchr(s, '/');
	struct prefix c;
	char *end;
	unsigned long len;

	*why = NULL;
	if (slash == NULL) {
		*why = "missing /length";
		return -1;
	}
	if ((size_t)(slash - s) > ADDR_STRLEN) {
		*why = "not an IPv4 or IPv6 address before the /";
		return -1;
	}
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = '\0';
	if (addr_parse(host, &p->net) < 0) {
		*why = "not an IPv4 or IPv6 address before the /";
		return -1;
	}
	if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2] != '\0')) {
		*why = "length must be a decimal number";
		return -1;
	}
	len = strtoul(slash + 1, &end, 10);
	if (*end != '\0') {
		*why = "length must be a decimal number";
		return -1;
	}
	if (len > addr_bits(p->net.family)) {
		*why = p->net.family == 4 ? "length over 32" : "length over 128";
		return -1;
	}
	p->len = (unsigned)len;
	c = *p;
	clear_host_bits(&c.net, c.len);
	if (memcmp(c.net.b, p->net.b, sizeof(c.net.b)) != 0) {
		prefix_format(&c, canon);
		snprintf(whybuf, whylen, "host bits are set (the network is %s)", canon);
		*why = whybuf;
		return -1;
	}
	return 0;
}

void
prefix_format(const struct prefix *p, char *buf)
{
	char a[ADDR_STRLEN];

	addr_format(&p->net, a);
	snprintf(buf, PREFIX_STRLEN, "%s/%u", a, p->len);
}

unsigned
prefix_host_bits(const struct prefix *p)
{
	return addr_bits(p->net.family) - p->len;
}

void
prefix_usable(const struct prefix *p, uint64_t *first, uint64_t *last)
{
	unsigned h = prefix_host_bits(p);
	uint64_t top = h >= 64 ? UINT64_MAX : (UINT64_C(1) << h) - 1;

	*first = 0;
	*last = top;
	if (p->net.family == 4 && h >= 2) {
		*first = 1;
		*last = top - 1;
	} else if (p->net.family == 6 && h >= 2) {
		*first = 1;
	}
}

void
prefix_addr_at(const struct prefix *p, uint64_t idx, struct addr *out)
{
	unsigned nbytes = addr_bits(p->net.family) / 8;

	*out = p->net;
	/* The host part is at most 64 bits: add idx into the low 8 bytes, bytewise. */
	for (unsigned i = 0; i < 8 && i < nbytes; i++)
		out->b[nbytes - 1 - i] |= (uint8_t)(idx >> (8 * i));
}

int
prefix_index_of(const struct prefix *p, const struct addr *a, uint64_t *idx)
{
	unsigned nbytes = addr_bits(p->net.family) / 8, h = prefix_host_bits(p);
	uint64_t v = 0;

	if (a->family != p->net.family)
		return -1;
	for (unsigned i = 0; i < p->len; i++)
		if (bit_at(a->b, i) != bit_at(p->net.b, i))
			return -1;
	if (h > 64)
		return -1;
	for (unsigned i = nbytes > 8 ? nbytes - 8 : 0; i < nbytes; i++)
		v = v << 8 | a->b[i];
	*idx = h == 64 ? v : v & ((UINT64_C(1) << h) - 1);
	return 0;
}

int
prefix_contains(const struct prefix *p, const struct addr *a)
{
	unsigned whole = p->len / 8, rest = p->len % 8;

	if (a->family != p->net.family || memcmp(a->b, p->net.b, whole) != 0)
		return 0;
	return rest == 0 || ((a->b[whole] ^ p->net.b[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

int
prefix_overlap(const struct prefix *a, const struct prefix *b)
{
	unsigned len = a->len < b->len ? a->len : b->len;

	if (a->net.family != b->net.family)
		return 0;
	for (unsigned i = 0; i < len; i++)
		if (bit_at(a->net.b, i) != bit_at(b->net.b, i))
			return 0;
	return 1;
}

const char *
prefix_special_use(const struct prefix *p)
{
	static const struct {
		const char *prefix, *what;
	} special[] = {
	    {"0.0.0.0/8", "overlaps the IPv4 this-network range 0.0.0.0/8"},
	    {"127.0.0.0/8", "overlaps the IPv4 loopback range 127.0.0.0/8"},
	    {"169.254.0.0/16", "overlaps the IPv4 link-local range 169.254.0.0/16"},
	    {"224.0.0.0/4", "overlaps the IPv4 multicast range 224.0.0.0/4"},
	    {"240.0.0.0/4",
		"overlaps the reserved IPv4 range 240.0.0.0/4 (and the broadcast address)"},
	    {"::/96",
		"overlaps the IPv6 range ::/96 (unspecified, loopback and IPv4-compatible "
		"addresses)"},
	    {"::ffff:0:0/96", "overlaps the IPv4-mapped IPv6 range ::ffff:0:0/96"},
	    {"fe80::/10", "overlaps the IPv6 link-local range fe80::/10"},
	    {"fec0::/10", "overlaps the deprecated IPv6 site-local range fec0::/10"},
	    {"ff00::/8", "overlaps the IPv6 multicast range ff00::/8"},
	};
	struct prefix sp;
	const char *why;
	char whybuf[8];

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (prefix_parse(special[i].prefix, &sp, whybuf, sizeof(whybuf), &why) == 0 &&
		    prefix_overlap(p, &sp))
			return special[i].what;
	return NULL;
}
