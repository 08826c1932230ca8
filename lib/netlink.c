#include <assert.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"

/* How long a request waits for its acknowledgement. The kernel answers at once; this only
 * keeps a lost answer from hanging the caller. */
#define NL_TIMEOUT_SEC 5
#define NL_REQ_MAX 256 /* the largest request made here: a route with three addresses */

struct nl {
	int fd;
	uint32_t portid; /* the socket's netlink address, the kernel's answers carry it */
	uint32_t seq;
};

/* A request being built: the header, the family-specific message, the attributes. */
struct nl_req {
	union {
		struct nlmsghdr h;
		uint8_t buf[NL_REQ_MAX];
	};
};

int
nl_open(struct nl **out)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t salen = sizeof(sa);
	struct timeval tv = {.tv_sec = NL_TIMEOUT_SEC};
	int one = 1, rv;
	struct nl *nl;

	nl = calloc(1, sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0) {
		rv = -errno;
		free(nl);
		return rv;
	}
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &salen) < 0 ||
	    setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		rv = -errno;
		nl_close(nl);
		return rv;
	}
	/* Errors without a copy of the request (kernels before 4.3 lack the option: the copy is
	 * then skipped by length like any other payload). */
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = sa.nl_pid;
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
}

void
nl_close(struct nl *nl)
{
	if (nl == NULL)
		return;
	close(nl->fd);
	free(nl);
}

static void
req_init(struct nl_req *r, uint16_t type, uint16_t flags, const void *msg, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(len);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	memcpy(NLMSG_DATA(&r->h), msg, len);
}

static void
req_attr(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h.nlmsg_len);
	struct rtattr *rta = (struct rtattr *)(r->buf + at);

	/* The requests are fixed in shape: one that does not fit is a bug here. */
	assert(at + RTA_SPACE(len) <= sizeof(r->buf));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->h.nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
}

static void
req_attr_u32(struct nl_req *r, uint16_t type, uint32_t v)
{
	req_attr(r, type, &v, sizeof(v));
}

/* The kernel's error for the answer in buf (len bytes read) to request seq: 0 for the
 * acknowledgement, -errno for an error, 1 when buf holds no answer to it. Every message is
 * checked to lie inside len before it is read. */
static int
ack_find(const struct nl *nl, const uint8_t *buf, size_t len, uint32_t seq)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
		size_t mlen = h->nlmsg_len;

		if (mlen < sizeof(*h) || mlen > len - off)
			return 1;
		if (h->nlmsg_seq == seq && h->nlmsg_pid == nl->portid &&
		    h->nlmsg_type == NLMSG_ERROR) {
			int err;

			if (mlen < NLMSG_LENGTH(sizeof(err)))
				return -EPROTO;
			memcpy(&err, NLMSG_DATA(h), sizeof(err));
			return err > 0 ? -err : err;
		}
		if (NLMSG_ALIGN(mlen) >= len - off)
			break;
		off += NLMSG_ALIGN(mlen);
	}
	return 1;
}

/* A route message's device and gateway, from the mlen bytes at h (checked to hold the whole
 * message): 0, or -EPROTO when it names no device. Every attribute is checked to lie inside
 * the message before it is read. */
static int
path_parse(const struct nlmsghdr *h, size_t mlen, struct nl_path *out)
{
	const struct rtmsg *rtm = NLMSG_DATA(h);
	const struct rtattr *rta;
	size_t left, alen;
	int have_oif = 0;

	if (mlen < NLMSG_LENGTH(sizeof(*rtm)))
		return -EPROTO;
	alen = rtm->rtm_family == AF_INET ? 4 : rtm->rtm_family == AF_INET6 ? 16 : 0;
	memset(out, 0, sizeof(*out));
	left = mlen - NLMSG_LENGTH(sizeof(*rtm));
	rta = (const struct rtattr *)((const uint8_t *)rtm + NLMSG_ALIGN(sizeof(*rtm)));
	for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
		size_t plen = RTA_PAYLOAD(rta);

		if (rta->rta_type == RTA_OIF && plen == sizeof(uint32_t)) {
			uint32_t oif;

			memcpy(&oif, RTA_DATA(rta), sizeof(oif));
			out->ifindex = (int)oif;
			have_oif = 1;
		} else if (rta->rta_type == RTA_GATEWAY && alen != 0 && plen == alen) {
			out->gw.family = alen == 4 ? 4 : 6;
			memcpy(out->gw.b, RTA_DATA(rta), alen);
		}
	}
	return have_oif && out->ifindex > 0 ? 0 : -EPROTO;
}

/* The route message answering request seq in buf (len bytes read) into *out: 0, or 1 when
 * there is none (or a malformed one). Bounded like ack_find. */
static int
path_find(const struct nl *nl, const uint8_t *buf, size_t len, uint32_t seq, struct nl_path *out)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
		size_t mlen = h->nlmsg_len;

		if (mlen < sizeof(*h) || mlen > len - off)
			return 1;
		if (h->nlmsg_seq == seq && h->nlmsg_pid == nl->portid &&
		    h->nlmsg_type == RTM_NEWROUTE)
			return path_parse(h, mlen, out) == 0 ? 0 : 1;
		if (NLMSG_ALIGN(mlen) >= len - off)
			break;
		off += NLMSG_ALIGN(mlen);
	}
	return 1;
}

/* Send r and wait for its acknowledgement: 0 or -errno. Answers to earlier requests that
 * timed out, and anything not from the kernel, are skipped. With path non-NULL, a route
 * message answering r (RTM_GETROUTE) fills it: -EPROTO when the ack came without one. */
static int
nl_exchange(struct nl *nl, struct nl_req *r, struct nl_path *path)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	/* Aligned for the nlmsghdr read in it. */
	union {
		struct nlmsghdr h;
		uint8_t b[8192];
	} buf;
	int got_path = 0;

	r->h.nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, r->buf, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) <
	    0)
		return -errno;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n =
		    recvfrom(nl->fd, buf.b, sizeof(buf.b), 0, (struct sockaddr *)&from, &fromlen);
		int rv;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (fromlen < sizeof(from) || from.nl_pid != 0)
			continue;
		if (path != NULL && !got_path)
			got_path = path_find(nl, buf.b, (size_t)n, r->h.nlmsg_seq, path) == 0;
		rv = ack_find(nl, buf.b, (size_t)n, r->h.nlmsg_seq);
		if (rv < 0 || (rv == 0 && (path == NULL || got_path)))
			return rv;
		if (rv == 0)
			return -EPROTO;
	}
}

static int
nl_request(struct nl *nl, struct nl_req *r)
{
	return nl_exchange(nl, r, NULL);
}

int
nl_link_set(struct nl *nl, int ifindex, unsigned mtu, int up)
{
	struct ifinfomsg ifi = {
	    .ifi_family = AF_UNSPEC,
	    .ifi_index = ifindex,
	    .ifi_flags = up ? IFF_UP : 0,
	    .ifi_change = IFF_UP,
	};
	struct nl_req r;

	req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	/* The kernel sets the MTU before the flags: the link comes up with it. */
	if (mtu != 0)
		req_attr_u32(&r, IFLA_MTU, mtu);
	return nl_request(nl, &r);
}

static int
af_of(int family, unsigned *bits)
{
	switch (family) {
	case 4: *bits = 32; return AF_INET;
	case 6: *bits = 128; return AF_INET6;
	default: return -1;
	}
}

int
nl_addr(struct nl *nl, int add, int ifindex, const struct addr *a, unsigned plen)
{
	struct ifaddrmsg ifa = {.ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)ifindex};
	unsigned bits;
	int af = af_of(a->family, &bits);
	size_t alen = a->family == 4 ? 4 : 16;
	struct nl_req r;

	if (af < 0)
		return -EAFNOSUPPORT;
	if (plen > bits)
		return -EINVAL;
	ifa.ifa_family = (uint8_t)af;
	ifa.ifa_prefixlen = (uint8_t)plen;
	/* Duplicate address detection would hold the address tentative (unusable) for a second
	 * or more; on a TUN device nobody else can hold it. */
	if (af == AF_INET6)
		ifa.ifa_flags = IFA_F_NODAD;
	req_init(&r, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &ifa,
	    sizeof(ifa));
	/* Local and peer address equal: the address with its prefix, as on a broadcast link, so
	 * that the kernel adds the prefix's connected route. */
	req_attr(&r, IFA_LOCAL, a->b, alen);
	req_attr(&r, IFA_ADDRESS, a->b, alen);
	if (af == AF_INET6 && add)
		req_attr_u32(&r, IFA_FLAGS, IFA_F_NODAD);
	return nl_request(nl, &r);
}

int
nl_route(struct nl *nl, int add, int ifindex, const struct prefix *p, unsigned metric,
    const struct addr *src)
{
	struct rtmsg rtm = {
	    .rtm_table = RT_TABLE_MAIN,
	    .rtm_protocol = RTPROT_STATIC,
	    .rtm_type = RTN_UNICAST,
	};
	unsigned bits;
	int af = af_of(p->net.family, &bits);
	size_t alen = p->net.family == 4 ? 4 : 16;
	struct nl_req r;

	if (af < 0)
		return -EAFNOSUPPORT;
	if (p->len > bits || (src != NULL && src->family != p->net.family))
		return -EINVAL;
	rtm.rtm_family = (uint8_t)af;
	rtm.rtm_dst_len = (uint8_t)p->len;
	/* What `ip route` does: IPv4 device routes have link scope, and a delete matches any
	 * scope; IPv6 routes are all universe scope. */
	if (af == AF_INET6)
		rtm.rtm_scope = RT_SCOPE_UNIVERSE;
	else
		rtm.rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	req_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &rtm,
	    sizeof(rtm));
	if (p->len > 0)
		req_attr(&r, RTA_DST, p->net.b, alen);
	req_attr_u32(&r, RTA_OIF, (uint32_t)ifindex);
	if (metric != 0)
		req_attr_u32(&r, RTA_PRIORITY, metric);
	if (src != NULL)
		req_attr(&r, RTA_PREFSRC, src->b, alen);
	return nl_request(nl, &r);
}

int
nl_route_get(struct nl *nl, const struct addr *dst, struct nl_path *out)
{
	struct rtmsg rtm = {.rtm_table = RT_TABLE_MAIN};
	unsigned bits;
	int af = af_of(dst->family, &bits);
	struct nl_req r;

	if (af < 0)
		return -EAFNOSUPPORT;
	rtm.rtm_family = (uint8_t)af;
	rtm.rtm_dst_len = (uint8_t)bits;
	req_init(&r, RTM_GETROUTE, 0, &rtm, sizeof(rtm));
	req_attr(&r, RTA_DST, dst->b, dst->family == 4 ? 4 : 16);
	return nl_exchange(nl, &r, out);
}

int
nl_route_via(struct nl *nl, int add, const struct prefix *p, const struct nl_path *via)
{
	struct rtmsg rtm = {
	    .rtm_table = RT_TABLE_MAIN,
	    .rtm_protocol = RTPROT_STATIC,
	    .rtm_type = RTN_UNICAST,
	};
	unsigned bits;
	int af = af_of(p->net.family, &bits);
	size_t alen = p->net.family == 4 ? 4 : 16;
	struct nl_req r;

	if (af < 0)
		return -EAFNOSUPPORT;
	if (p->len > bits || (via->gw.family != 0 && via->gw.family != p->net.family))
		return -EINVAL;
	rtm.rtm_family = (uint8_t)af;
	rtm.rtm_dst_len = (uint8_t)p->len;
	/* as nl_route; a route through a next hop is universe scope in both families */
	if (af == AF_INET6 || via->gw.family != 0)
		rtm.rtm_scope = RT_SCOPE_UNIVERSE;
	else
		rtm.rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	if (!add && af == AF_INET)
		rtm.rtm_scope = RT_SCOPE_NOWHERE;
	req_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &rtm,
	    sizeof(rtm));
	if (p->len > 0)
		req_attr(&r, RTA_DST, p->net.b, alen);
	req_attr_u32(&r, RTA_OIF, (uint32_t)via->ifindex);
	if (via->gw.family != 0)
		req_attr(&r, RTA_GATEWAY, via->gw.b, alen);
	return nl_request(nl, &r);
}
