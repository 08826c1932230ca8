#include <string.h>

#include "csum.h"
#include "icmp.h"

#define V4_HDR 20
#define V6_HDR 40
#define ICMP_HDR 8
#define V4_QUOTE_MAX 576 /* RFC 1812 4.3.2.3: the whole answer at most 576 bytes */
#define V6_QUOTE_MAX 1280 /* RFC 4443 2.4 c: not exceeding the minimum IPv6 MTU */
#define V6_EXT_MAX 8 /* extension headers walked before giving up: more is no sane packet */

#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

/* Whether the IPv4 source a cannot name a single host (RFC 1122 3.2.2, RFC 1812 4.3.2.7):
 * this network (0/8), loopback (127/8), multicast (224/4), reserved and limited broadcast
 * (240/4). A subnet's directed broadcast cannot be told from a host address without the
 * subnet's length, which only the network's routers know: such a packet gets an answer. */
static int
v4_not_host(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

/* Whether the IPv4 destination a is no single host's: this network (0/8), multicast (224/4),
 * limited broadcast 255.255.255.255. */
static int
v4_dst_not_host(const uint8_t *a)
{
	return a[0] == 0 || (a[0] & 0xf0) == 0xe0 ||
	    (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
}

static int
v6_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static int
v6_loopback(const uint8_t *a)
{
	static const uint8_t one[16] = {[15] = 1};

	return memcmp(a, one, 16) == 0;
}

static size_t
v4_error(enum icmp_err kind, const uint8_t *pkt, size_t len, const struct addr *src, unsigned mtu,
    uint8_t *out)
{
	size_t ihl, quote, total;
	uint8_t type, code;

	if (len < V4_HDR)
		return 0;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < V4_HDR || ihl > len)
		return 0;
	if (v4_not_host(pkt + 12) || v4_dst_not_host(pkt + 16))
		return 0;
	/* A non-first fragment: the first one gets the answer (its header is the one quoted). */
	if ((((unsigned)pkt[6] << 8 | pkt[7]) & 0x1fff) != 0)
		return 0;
	if (pkt[9] == IPPROTO_ICMP_) {
		/* Without the type byte it might be an error: no answer either. */
		if (ihl + 1 > len)
			return 0;
		switch (pkt[ihl]) {
		case 3: /* destination unreachable */
		case 4: /* source quench */
		case 5: /* redirect */
		case 11: /* time exceeded */
		case 12: /* parameter problem */ return 0;
		default: break;
		}
	}
	if (kind == ICMP_TOO_BIG) {
		if (!(pkt[6] & 0x40))
			return 0;
		type = 3;
		code = 4;
	} else {
		type = 11;
		code = 0;
	}
	quote = len < V4_QUOTE_MAX - V4_HDR - ICMP_HDR ? len : V4_QUOTE_MAX - V4_HDR - ICMP_HDR;
	total = V4_HDR + ICMP_HDR + quote;

	memset(out, 0, V4_HDR + ICMP_HDR);
	out[0] = 0x45;
	/* Precedence 6, internetwork control (RFC 1812 4.3.2.5), as Linux sends its own errors. */
	out[1] = 0xc0;
	out[2] = (uint8_t)(total >> 8);
	out[3] = (uint8_t)total;
	/* Identification 0 and DF clear: the answer is below every link's MTU (576 bytes). */
	out[8] = 64;
	out[9] = IPPROTO_ICMP_;
	memcpy(out + 12, src->b, 4);
	memcpy(out + 16, pkt + 12, 4);
	{
		uint16_t c = csum_fold(csum_add(0, out, V4_HDR));

		out[10] = (uint8_t)(c >> 8);
		out[11] = (uint8_t)c;
	}

	uint8_t *icmp = out + V4_HDR;
	icmp[0] = type;
	icmp[1] = code;
	if (kind == ICMP_TOO_BIG) {
		/* The next-hop MTU field (RFC 1191) is 16 bits. */
		unsigned m = mtu > 0xffff ? 0xffff : mtu;

		icmp[6] = (uint8_t)(m >> 8);
		icmp[7] = (uint8_t)m;
	}
	memcpy(icmp + ICMP_HDR, pkt, quote);
	{
		uint16_t c = csum_fold(csum_add(0, icmp, ICMP_HDR + quote));

		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	}
	return total;
}

/* Whether an error may be sent about the IPv6 packet whose headers after the fixed one start at
 * off with next header nh: not about an ICMPv6 error (type below 128) nor a non-first fragment.
 * The walk is bounded by len and by V6_EXT_MAX headers. A chain cut short or longer than that
 * could hide an ICMPv6 error: no answer. ESP (50) and "no next header" (59) end the walk like an
 * upper layer: what follows is opaque to every router. */
static int
v6_may_answer(const uint8_t *pkt, size_t len, uint8_t nh, size_t off)
{
	for (int i = 0; i <= V6_EXT_MAX; i++) {
		size_t hlen;

		switch (nh) {
		case 0: /* hop-by-hop options */
		case 43: /* routing */
		case 60: /* destination options */
			if (i == V6_EXT_MAX || len - off < 2)
				return 0;
			hlen = ((size_t)pkt[off + 1] + 1) * 8;
			break;
		case 44: /* fragment */
			if (i == V6_EXT_MAX || len - off < 8)
				return 0;
			if ((((unsigned)pkt[off + 2] << 8 | pkt[off + 3]) & 0xfff8) != 0)
				return 0;
			hlen = 8;
			break;
		case 51: /* authentication header: its length counts 4-byte units, less 2 */
			if (i == V6_EXT_MAX || len - off < 2)
				return 0;
			hlen = ((size_t)pkt[off + 1] + 2) * 4;
			break;
		case IPPROTO_ICMPV6_:
			if (len - off < 1)
				return 0;
			return pkt[off] >= 128;
		default: /* an upper layer, ESP (50) or no next header (59) */ return 1;
		}
		if (hlen > len - off)
			return 0;
		nh = pkt[off];
		off += hlen;
	}
	return 0;
}

static size_t
v6_error(enum icmp_err kind, const uint8_t *pkt, size_t len, const struct addr *src, unsigned mtu,
    uint8_t *out)
{
	size_t quote, plen;
	uint8_t pseudo[40];
	uint32_t sum;

	if (len < V6_HDR)
		return 0;
	if (v6_unspecified(pkt + 8) || pkt[8] == 0xff || v6_loopback(pkt + 8))
		return 0;
	/* To a multicast group only "packet too big" is sent, so that path MTU discovery works
	 * for multicast (RFC 4443 2.4 e.2). */
	if (v6_unspecified(pkt + 24) || (pkt[24] == 0xff && kind != ICMP_TOO_BIG))
		return 0;
	if (!v6_may_answer(pkt, len, pkt[6], V6_HDR))
		return 0;
	quote = len < V6_QUOTE_MAX - V6_HDR - ICMP_HDR ? len : V6_QUOTE_MAX - V6_HDR - ICMP_HDR;
	plen = ICMP_HDR + quote;

	memset(out, 0, V6_HDR + ICMP_HDR);
	out[0] = 0x60;
	out[4] = (uint8_t)(plen >> 8);
	out[5] = (uint8_t)plen;
	out[6] = IPPROTO_ICMPV6_;
	out[7] = 64;
	memcpy(out + 8, src->b, 16);
	memcpy(out + 24, pkt + 8, 16);

	uint8_t *icmp = out + V6_HDR;
	if (kind == ICMP_TOO_BIG) {
		icmp[0] = 2;
		icmp[4] = (uint8_t)(mtu >> 24);
		icmp[5] = (uint8_t)(mtu >> 16);
		icmp[6] = (uint8_t)(mtu >> 8);
		icmp[7] = (uint8_t)mtu;
	} else {
		icmp[0] = 3;
	}
	memcpy(icmp + ICMP_HDR, pkt, quote);

	/* The pseudo-header's length and next header after the two addresses (RFC 8200 8.1). */
	memset(pseudo, 0, sizeof(pseudo));
	pseudo[2] = (uint8_t)(plen >> 8);
	pseudo[3] = (uint8_t)plen;
	pseudo[7] = IPPROTO_ICMPV6_;
	sum = csum_add(0, out + 8, 32);
	sum = csum_add(sum, pseudo, 8);
	sum = csum_add(sum, icmp, plen);
	{
		uint16_t c = csum_fold(sum);

		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	}
	return V6_HDR + plen;
}

size_t
icmp_error(enum icmp_err kind, const uint8_t *pkt, size_t len, const struct addr *src, unsigned mtu,
    uint8_t *out)
{
	if (len < 1 || (kind != ICMP_TOO_BIG && kind != ICMP_TIME_EXCEEDED))
		return 0;
	switch (pkt[0] >> 4) {
	case 4: return src->family == 4 ? v4_error(kind, pkt, len, src, mtu, out) : 0;
	case 6: return src->family == 6 ? v6_error(kind, pkt, len, src, mtu, out) : 0;
	default: return 0;
	}
}

int
icmp_hop_decrement(uint8_t *pkt, size_t len)
{
	if (len < 1)
		return -1;
	switch (pkt[0] >> 4) {
	case 4: {
		uint32_t sum;

		if (len < V4_HDR || pkt[8] <= 1)
			return -1;
		/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the TTL is the high byte of its word, so
		 * m' = m - 0x100, and ~m + m' is 0xfeff in ones' complement. */
		sum = (uint32_t)(uint16_t) ~((unsigned)pkt[10] << 8 | pkt[11]);
		sum += 0xfeff;
		pkt[8]--;
		{
			uint16_t c = csum_fold(sum);

			pkt[10] = (uint8_t)(c >> 8);
			pkt[11] = (uint8_t)c;
		}
		return 0;
	}
	case 6:
		if (len < V6_HDR || pkt[7] <= 1)
			return -1;
		pkt[7]--;
		return 0;
	default: return -1;
	}
}
