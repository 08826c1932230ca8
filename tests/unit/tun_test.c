/* TUN devices and rtnetlink (lib/tun.h, lib/netlink.h) against the real kernel, in a network
 * namespace of the test's own: devices made and attached to, links set, addresses and routes
 * added and removed as /proc/net and the interface ioctls show them, and packets both ways
 * between the TUN and the host's sockets. Skips (saying why) only where the machine cannot
 * make a network namespace or a TUN device. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/ippkt.h"
#include "../../lib/csum.h"
#include "../../lib/netlink.h"
#include "../../lib/tun.h"
#include "check.h"

#define MTU 1400
#define PORT 9999

static struct nl *nl;
static int ctl; /* a socket for the interface ioctls */

static struct addr
A(const char *s) {
	struct addr a;

	if (addr_parse(s, &a) < 0)
		abort();
	return a;
}

static struct prefix
P(const char *s) {
	struct prefix p;
	const char *why;
	char whybuf[64];

	if (prefix_parse(s, &p, whybuf, sizeof(whybuf), &why) < 0)
		abort();
	return p;
}

static int
if_mtu(const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ioctl(ctl, SIOCGIFMTU, &ifr) < 0 ? -1 : ifr.ifr_mtu;
}

static int
if_flags(const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0 ? -1 : ifr.ifr_flags;
}

/* Whether /proc/net/route has dst/plen on dev with metric. */
static int
route4_has(const char *dev, const char *prefix, unsigned metric)
{
	struct prefix p = P(prefix);
	uint32_t want_dst, want_mask = p.len ? htonl(~0u << (32 - p.len)) : 0;
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], name[IFNAMSIZ];
	unsigned dst, gw, flags, refcnt, use, m, mask;
	int found = 0;

	memcpy(&want_dst, p.net.b, 4);
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%15s %x %x %x %u %u %u %x", name, &dst, &gw, &flags, &refcnt,
			&use, &m, &mask) == 8 &&
		    strcmp(name, dev) == 0 && dst == want_dst && mask == want_mask && m == metric)
			found = 1;
	fclose(f);
	return found;
}

static void
hex16(const uint8_t *b, char *out)
{
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Whether /proc/net/ipv6_route has prefix on dev with metric. */
static int
route6_has(const char *dev, const char *prefix, unsigned metric)
{
	struct prefix p = P(prefix);
	FILE *f = fopen("/proc/net/ipv6_route", "r");
	char line[512], want[33], dst[33], src[33], nh[33], name[IFNAMSIZ];
	unsigned plen, splen, m, refcnt, use, flags;
	int found = 0;

	hex16(p.net.b, want);
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%32s %x %32s %x %32s %x %x %x %x %15s", dst, &plen, src, &splen,
			nh, &m, &refcnt, &use, &flags, name) == 10 &&
		    strcmp(name, dev) == 0 && strcmp(dst, want) == 0 && plen == p.len &&
		    m == metric)
			found = 1;
	fclose(f);
	return found;
}

/* The flags of address a on dev in /proc/net/if_inet6 (with its prefix length), -1 if absent. */
static int
addr6_flags(const char *dev, const char *a, unsigned plen)
{
	struct addr x = A(a);
	FILE *f = fopen("/proc/net/if_inet6", "r");
	char line[256], want[33], got[33], name[IFNAMSIZ];
	unsigned idx, pl, scope, flags;
	int rv = -1;

	hex16(x.b, want);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%32s %x %x %x %x %15s", got, &idx, &pl, &scope, &flags, name) ==
			6 &&
		    strcmp(name, dev) == 0 && strcmp(got, want) == 0 && pl == plen)
			rv = (int)flags;
	fclose(f);
	return rv;
}

/* Whether IPv4 address a/plen is on dev (getifaddrs: a netlink dump by the C library). */
static int
addr4_has(const char *dev, const char *a, unsigned plen)
{
	struct ifaddrs *ifs, *i;
	struct addr x = A(a);
	uint32_t mask = htonl(plen ? ~0u << (32 - plen) : 0);
	int found = 0;

	if (getifaddrs(&ifs) < 0)
		return 0;
	for (i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    strcmp(i->ifa_name, dev) == 0 &&
		    memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, x.b, 4) == 0 &&
		    ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr == mask)
			found = 1;
	freeifaddrs(ifs);
	return found;
}

/* The source address the kernel picks for a datagram to host dst (port PORT). */
static int
source_for(const char *dst, char *out)
{
	struct addr d = A(dst);
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(d.family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0), rv = -1;

	if (d.family == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(PORT);
		memcpy(&s->sin_addr, d.b, 4);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(PORT);
		memcpy(&s->sin6_addr, d.b, 16);
		len = sizeof(*s);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			void *host = ss.ss_family == AF_INET
			    ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
			    : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
			inet_ntop(ss.ss_family, host, out, INET6_ADDRSTRLEN);
			rv = 0;
		}
	}
	close(fd);
	return rv;
}

static void
test_open(void)
{
	int fds[TUN_MAX_QUEUES + 1], fl, rv;
	char name[IFNAMSIZ];
	struct ifreq ifr;

	rv = tun_open(NULL, 1, fds, name);
	CHECK(rv == 0 && strncmp(name, "tun", 3) == 0 && if_nametoindex(name) > 0,
	    "a device without a name gets the kernel's (%s, %d)", rv == 0 ? name : "", rv);
	if (rv == 0) {
		fl = fcntl(fds[0], F_GETFL);
		CHECK(fl >= 0 && (fl & O_NONBLOCK), "its descriptor is non-blocking");
		CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, "and close-on-exec");
		memset(&ifr, 0, sizeof(ifr));
		rv = ioctl(fds[0], TUNGETIFF, &ifr);
		CHECK(rv == 0 &&
			(ifr.ifr_flags & (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE)) ==
			    (IFF_TUN | IFF_NO_PI),
		    "a single-queue TUN without packet information (flags %#x)", ifr.ifr_flags);
		close(fds[0]);
		CHECK(if_nametoindex(name) == 0, "closing its descriptor removes %s", name);
	}
	rv = tun_open("", 1, fds, name);
	CHECK(rv == 0 && strncmp(name, "tun", 3) == 0, "an empty name is the kernel's too");
	if (rv == 0)
		close(fds[0]);

	rv = tun_open("sntmq", 2, fds, name);
	CHECK(rv == 0 && strcmp(name, "sntmq") == 0 && fds[0] != fds[1],
	    "a multiqueue device with 2 queues (%d)", rv);
	if (rv == 0) {
		memset(&ifr, 0, sizeof(ifr));
		CHECK(ioctl(fds[1], TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_MULTI_QUEUE),
		    "the second queue is attached to a multiqueue device");
		int one[1];
		rv = tun_open("sntmq", 1, one, name);
		CHECK(rv < 0, "a single queue on it is refused (%s)", strerror(-rv));
		if (rv == 0)
			close(one[0]);
		close(fds[0]);
		close(fds[1]);
	}
	CHECK_EQ_INT(tun_open("sntx", 0, fds, name), -EINVAL, "0 queues: -EINVAL");
	CHECK_EQ_INT(tun_open("sntx", TUN_MAX_QUEUES + 1, fds, name), -EINVAL, "%d queues: -EINVAL",
	    TUN_MAX_QUEUES + 1);
	CHECK_EQ_INT(tun_open("a-name-of-16-chr", 1, fds, name), -EINVAL,
	    "a name of IFNAMSIZ bytes: -EINVAL");
	CHECK(if_nametoindex("sntx") == 0, "and no device is left behind");
}

/* Route lookups (RTM_GETROUTE) and routes through a next hop, on dev (index idx) holding
 * 10.77.0.1/24 and 2001:db8:77::1/64. */
static void
test_route_get(const char *dev, int idx)
{
	struct nl_path path, via;
	struct prefix p;
	struct addr a;

	a = A("10.77.0.50");
	CHECK(nl_route_get(nl, &a, &path) == 0 && path.ifindex == idx && path.gw.family == 0,
	    "10.77.0.50 is on %s's link, no next hop (index %d)", dev, path.ifindex);
	a = A("2001:db8:77::50");
	CHECK(nl_route_get(nl, &a, &path) == 0 && path.ifindex == idx && path.gw.family == 0,
	    "2001:db8:77::50 too");
	a = A("192.0.2.1");
	CHECK_EQ_INT(nl_route_get(nl, &a, &path), -ENETUNREACH,
	    "no route to 192.0.2.1 (no default route here): -ENETUNREACH");
	a.family = 5;
	CHECK_EQ_INT(nl_route_get(nl, &a, &path), -EAFNOSUPPORT, "family 5: -EAFNOSUPPORT");

	via.ifindex = idx;
	via.gw = A("10.77.0.254");
	p = P("192.0.2.0/24");
	CHECK_EQ_INT(nl_route_via(nl, 1, &p, &via), 0, "route 192.0.2.0/24 via 10.77.0.254");
	CHECK(route4_has(dev, "192.0.2.0/24", 0), "the kernel has it");
	a = A("192.0.2.1");
	CHECK(nl_route_get(nl, &a, &path) == 0 && path.ifindex == idx &&
		memcmp(&path.gw, &via.gw, sizeof(via.gw)) == 0,
	    "192.0.2.1 is reached through the next hop 10.77.0.254");
	CHECK_EQ_INT(nl_route_via(nl, 1, &p, &via), -EEXIST, "adding it again: -EEXIST");
	CHECK_EQ_INT(nl_route_via(nl, 0, &p, &via), 0, "delete it");
	CHECK(!route4_has(dev, "192.0.2.0/24", 0), "it is gone");
	CHECK_EQ_INT(nl_route_via(nl, 0, &p, &via), -ESRCH, "deleting it again: -ESRCH");
	p = P("2001:db8:5::/48");
	CHECK_EQ_INT(nl_route_via(nl, 1, &p, &via), -EINVAL, "a next hop of the other family");
	via.gw = A("2001:db8:77::fe");
	CHECK_EQ_INT(nl_route_via(nl, 1, &p, &via), 0, "route 2001:db8:5::/48 via 2001:db8:77::fe");
	a = A("2001:db8:5::1");
	CHECK(nl_route_get(nl, &a, &path) == 0 && path.ifindex == idx &&
		memcmp(&path.gw, &via.gw, sizeof(via.gw)) == 0,
	    "2001:db8:5::1 is reached through it");
	CHECK_EQ_INT(nl_route_via(nl, 0, &p, &via), 0, "and it is deleted");
	memset(&via.gw, 0, sizeof(via.gw));
	p = P("198.51.100.7/32");
	CHECK_EQ_INT(nl_route_via(nl, 1, &p, &via), 0, "a host route on the link, no next hop");
	a = A("198.51.100.7");
	CHECK(nl_route_get(nl, &a, &path) == 0 && path.ifindex == idx && path.gw.family == 0,
	    "198.51.100.7 is reached on the link");
	CHECK_EQ_INT(nl_route_via(nl, 0, &p, &via), 0, "and it is deleted");
}

static void
test_netlink(const char *dev, int idx)
{
	struct addr a;
	struct prefix p;
	char src[INET6_ADDRSTRLEN];
	int fl;

	CHECK_EQ_INT(nl_link_set(nl, idx, MTU, 1), 0, "set the MTU and bring %s up", dev);
	CHECK_EQ_INT(if_mtu(dev), MTU, "the MTU is %d", MTU);
	fl = if_flags(dev);
	CHECK(fl >= 0 && (fl & IFF_UP), "the link is up");
	CHECK_EQ_INT(nl_link_set(nl, idx, 0, 0), 0, "bring it down, MTU 0");
	fl = if_flags(dev);
	CHECK(fl >= 0 && !(fl & IFF_UP) && if_mtu(dev) == MTU, "down, the MTU left as it was");
	CHECK_EQ_INT(nl_link_set(nl, idx, 0, 1), 0, "and up again");
	CHECK_EQ_INT(nl_link_set(nl, idx, 70000, 1), -EINVAL, "an MTU of 70000: -EINVAL");
	CHECK_EQ_INT(nl_link_set(nl, 99999, 1280, 1), -ENODEV, "no link 99999: -ENODEV");
	CHECK_EQ_INT(nl_link_set(nl, (int)if_nametoindex("lo"), 0, 1), 0, "bring lo up");

	a = A("10.77.0.1");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 24), 0, "add 10.77.0.1/24");
	CHECK(addr4_has(dev, "10.77.0.1", 24), "the kernel lists it");
	CHECK(route4_has(dev, "10.77.0.0/24", 0), "with its connected route");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 24), -EEXIST, "adding it again: -EEXIST");
	a = A("10.77.0.2");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 24), 0, "add 10.77.0.2/24 beside it");
	a = A("2001:db8:77::1");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 64), 0, "add 2001:db8:77::1/64");
	fl = addr6_flags(dev, "2001:db8:77::1", 64);
	CHECK(fl >= 0 && !(fl & IFA_F_TENTATIVE), "the kernel lists it, not tentative (%#x)", fl);
	CHECK(route6_has(dev, "2001:db8:77::/64", 256), "with its connected route");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 64), -EEXIST, "adding it again: -EEXIST");
	a.family = 5;
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 64), -EAFNOSUPPORT, "family 5: -EAFNOSUPPORT");
	a = A("10.77.0.9");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 33), -EINVAL, "an IPv4 /33: -EINVAL");
	CHECK_EQ_INT(nl_addr(nl, 0, idx, &a, 24), -EADDRNOTAVAIL,
	    "deleting an address that is not there: -EADDRNOTAVAIL");

	p = P("10.88.0.0/16");
	a = A("10.77.0.2");
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 50, &a), 0, "route 10.88.0.0/16, metric 50, src .2");
	CHECK(route4_has(dev, "10.88.0.0/16", 50), "the kernel has it");
	CHECK(source_for("10.88.1.1", src) == 0 && strcmp(src, "10.77.0.2") == 0,
	    "its preferred source is used (%s)", src);
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 50, &a), -EEXIST, "adding it again: -EEXIST");
	CHECK_EQ_INT(nl_route(nl, 0, idx, &p, 50, &a), 0, "delete it");
	CHECK(!route4_has(dev, "10.88.0.0/16", 50), "it is gone");
	CHECK_EQ_INT(nl_route(nl, 0, idx, &p, 50, &a), -ESRCH, "deleting it again: -ESRCH");
	a = A("10.66.0.1");
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 50, &a), -EINVAL,
	    "a preferred source the host does not have: -EINVAL");
	a = A("2001:db8:77::1");
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 50, &a), -EINVAL, "a source of the other family");
	p.len = 33;
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 0, NULL), -EINVAL, "an IPv4 /33: -EINVAL");

	p = P("2001:db8:88::/48");
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 77, &a), 0, "route 2001:db8:88::/48, metric 77");
	CHECK(route6_has(dev, "2001:db8:88::/48", 77), "the kernel has it");
	CHECK(source_for("2001:db8:88::1", src) == 0 && strcmp(src, "2001:db8:77::1") == 0,
	    "its preferred source is used (%s)", src);
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 77, &a), -EEXIST, "adding it again: -EEXIST");
	CHECK_EQ_INT(nl_route(nl, 0, idx, &p, 77, &a), 0, "delete it");
	CHECK(!route6_has(dev, "2001:db8:88::/48", 77), "it is gone");
	CHECK_EQ_INT(nl_route(nl, 0, idx, &p, 77, &a), -ESRCH, "deleting it again: -ESRCH");
	p = P("2001:db8:99::/48");
	CHECK_EQ_INT(nl_route(nl, 1, idx, &p, 0, NULL), 0, "an IPv6 route with the default metric");
	CHECK(route6_has(dev, "2001:db8:99::/48", 1024), "has the kernel's metric 1024");
	CHECK_EQ_INT(nl_route(nl, 0, idx, &p, 0, NULL), 0, "and is deleted without one");

	test_route_get(dev, idx);

	a = A("10.77.0.2");
	CHECK_EQ_INT(nl_addr(nl, 0, idx, &a, 24), 0, "delete 10.77.0.2/24");
	CHECK(!addr4_has(dev, "10.77.0.2", 24) && addr4_has(dev, "10.77.0.1", 24),
	    "it is gone, 10.77.0.1 stays");
	a = A("2001:db8:77::2");
	CHECK_EQ_INT(nl_addr(nl, 1, idx, &a, 64), 0, "add 2001:db8:77::2/64");
	CHECK_EQ_INT(nl_addr(nl, 0, idx, &a, 64), 0, "delete it");
	CHECK(addr6_flags(dev, "2001:db8:77::2", 64) < 0, "it is gone");
	CHECK_EQ_INT(nl_addr(nl, 0, idx, &a, 64), -EADDRNOTAVAIL, "deleting it again");
}

static int
udp_socket(int family)
{
	return socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static void
udp_send(int fd, const char *dst, uint16_t port, const void *data, size_t len)
{
	struct addr d = A(dst);
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	memcpy(&s4.sin_addr, d.b, 4);
	memcpy(&s6.sin6_addr, d.b, 16);
	if (d.family == 4)
		sendto(fd, data, len, 0, (struct sockaddr *)&s4, sizeof(s4));
	else
		sendto(fd, data, len, 0, (struct sockaddr *)&s6, sizeof(s6));
}

/* Whether pkt (len bytes) is a UDP datagram to dst port PORT: its payload length, else -1.
 * Anything else (the kernel's own IPv6 neighbour and multicast traffic) is not ours. */
static long
ours(const uint8_t *pkt, size_t len, const char *dst)
{
	struct ippkt ip;
	struct addr d = A(dst);

	if (ippkt_parse(pkt, len, &ip) < 0 || ip.proto != 17 || ip.family != d.family ||
	    memcmp(ip.dst.b, d.b, d.family == 4 ? 4 : 16) != 0 || len < ip.hdr_len + 8 ||
	    (pkt[ip.hdr_len + 2] << 8 | pkt[ip.hdr_len + 3]) != PORT)
		return -1;
	return (long)(len - ip.hdr_len - 8);
}

static int
wait_in(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, ms) == 1;
}

static void
test_read(const char *dev, int fd, int idx)
{
	enum { N = 16, CAP = 2048 };
	static unsigned char mem[N][CAP + 16];
	unsigned char *bufs[N];
	size_t lens[N];
	struct prefix p = P("10.88.0.0/16"), p6 = P("2001:db8:88::/48");
	char payload[1200];
	int s4 = udp_socket(4), s6 = udp_socket(6), rv, mine, first = -1;

	for (int i = 0; i < N; i++)
		bufs[i] = mem[i];
	memset(payload, 'x', sizeof(payload));
	CHECK(nl_route(nl, 1, idx, &p, 0, NULL) == 0 && nl_route(nl, 1, idx, &p6, 0, NULL) == 0,
	    "routes to 10.88.0.0/16 and 2001:db8:88::/48 via %s", dev);

	/* What the kernel sent on its own since the link came up is not counted below. */
	while (tun_read_batch(fd, bufs, CAP, lens, N) > 0)
		;
	CHECK_EQ_INT(tun_read_batch(fd, bufs, CAP, lens, N), 0, "an empty queue reads 0");

	for (int i = 0; i < 5; i++)
		udp_send(s4, "10.88.1.1", PORT, payload, 100 + (size_t)i);
	mine = 0;
	for (int t = 0; t < 20 && mine < 5; t++) {
		if (!wait_in(fd, 100))
			continue;
		rv = tun_read_batch(fd, bufs, CAP, lens, N);
		if (first < 0)
			first = rv;
		for (int i = 0; i < rv; i++)
			if (ours(bufs[i], lens[i], "10.88.1.1") == 100 + mine)
				mine++;
	}
	CHECK(
	    mine == 5, "5 datagrams sent to 10.88.1.1 are read from the TUN, in order (%d)", mine);
	CHECK(first >= 5, "in one batch (the first read gave %d)", first);

	for (int i = 0; i < 5; i++)
		udp_send(s4, "10.88.1.1", PORT, payload, 10);
	wait_in(fd, 1000);
	rv = tun_read_batch(fd, bufs, CAP, lens, 3);
	CHECK_EQ_INT(rv, 3, "a batch of 3 reads 3 of 5 waiting");
	mine = 0;
	for (int i = 0; i < rv; i++)
		mine += ours(bufs[i], lens[i], "10.88.1.1") == 10;
	for (int t = 0; t < 10 && (rv = tun_read_batch(fd, bufs, CAP, lens, N)) >= 0; t++) {
		for (int i = 0; i < rv; i++)
			mine += ours(bufs[i], lens[i], "10.88.1.1") == 10;
		if (rv == 0)
			break;
	}
	CHECK_EQ_INT(mine, 5, "the next read has the other 2");

	/* cap 256: a 428-byte packet is dropped, a 256-byte one read whole, the buffer's bytes
	 * past cap untouched */
	for (int i = 0; i < N; i++)
		memset(mem[i], 0xee, sizeof(mem[i]));
	udp_send(s4, "10.88.1.1", PORT, payload, 400);
	udp_send(s4, "10.88.1.1", PORT, payload, 256 - 28);
	udp_send(s4, "10.88.1.1", PORT, payload, 257 - 28);
	udp_send(s4, "10.88.1.1", PORT, payload, 7);
	wait_in(fd, 1000);
	mine = 0;
	int exact = 0, small = 0;
	for (int t = 0; t < 10 && (rv = tun_read_batch(fd, bufs, 256, lens, N)) > 0; t++)
		for (int i = 0; i < rv; i++) {
			long l = ours(bufs[i], lens[i], "10.88.1.1");
			exact += l == 256 - 28 && lens[i] == 256;
			small += l == 7;
			mine += l >= 0;
		}
	int clean = 1;
	for (int i = 0; i < N; i++)
		for (int j = 256; j < CAP + 16; j++)
			clean &= mem[i][j] == 0xee;
	CHECK(exact == 1 && small == 1 && mine == 2,
	    "with cap 256: a packet of 256 bytes is read, ones of 257 and 428 dropped (%d of ours)",
	    mine);
	CHECK(clean, "nothing is written past cap");

	for (int i = 0; i < 4; i++)
		udp_send(s6, "2001:db8:88::1", PORT, payload, 1000);
	mine = 0;
	for (int t = 0; t < 20 && mine < 4; t++) {
		if (!wait_in(fd, 100))
			continue;
		rv = tun_read_batch(fd, bufs, CAP, lens, N);
		for (int i = 0; i < rv; i++)
			mine += ours(bufs[i], lens[i], "2001:db8:88::1") == 1000;
	}
	CHECK_EQ_INT(mine, 4, "4 IPv6 datagrams of 1000 bytes are read from the TUN");
	close(s4);
	close(s6);
}

/* An IPv4 or IPv6 UDP packet from src:4000 to dst:port with payload "hello tun". */
static size_t
build_udp(uint8_t *pkt, const char *src, const char *dst, uint16_t port)
{
	static const char msg[] = "hello tun";
	struct addr s = A(src), d = A(dst);
	size_t alen = s.family == 4 ? 4 : 16, hl = s.family == 4 ? 20 : 40;
	size_t ulen = 8 + sizeof(msg) - 1, len = hl + ulen;
	uint8_t *u = pkt + hl, ph[8] = {0};
	uint16_t c;

	memset(pkt, 0, len);
	if (s.family == 4) {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(len >> 8);
		pkt[3] = (uint8_t)len;
		pkt[8] = 64;
		pkt[9] = 17;
		memcpy(pkt + 12, s.b, 4);
		memcpy(pkt + 16, d.b, 4);
		c = csum_fold(csum_add(0, pkt, 20));
		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
	} else {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(ulen >> 8);
		pkt[5] = (uint8_t)ulen;
		pkt[6] = 17;
		pkt[7] = 64;
		memcpy(pkt + 8, s.b, 16);
		memcpy(pkt + 24, d.b, 16);
	}
	u[0] = 4000 >> 8;
	u[1] = 4000 & 0xff;
	u[2] = (uint8_t)(port >> 8);
	u[3] = (uint8_t)port;
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	memcpy(u + 8, msg, sizeof(msg) - 1);
	/* the pseudo-header after the two addresses: IPv4 zero, protocol, 16-bit length; IPv6
	 * 32-bit length, three zeros, next header */
	if (s.family == 4) {
		ph[1] = 17;
		ph[2] = (uint8_t)(ulen >> 8);
		ph[3] = (uint8_t)ulen;
	} else {
		ph[2] = (uint8_t)(ulen >> 8);
		ph[3] = (uint8_t)ulen;
		ph[7] = 17;
	}
	c = csum_fold(csum_add(
	    csum_add(csum_add(csum_add(0, s.b, alen), d.b, alen), ph, s.family == 4 ? 4 : 8), u,
	    ulen));
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return len;
}

/* 64 flows (each its own source port) through a device of 2 queues: the kernel spreads them
 * by flow hash, and every packet is read from one queue or the other. */
static void
test_multiqueue(void)
{
	enum { FLOWS = 64, N = 16 };
	static unsigned char mem[N][2048];
	unsigned char *bufs[N];
	size_t lens[N];
	struct prefix p = P("10.99.0.0/16");
	int fds[2], got[2] = {0, 0}, rv, idx;
	char name[IFNAMSIZ], payload[64] = {0};

	for (int i = 0; i < N; i++)
		bufs[i] = mem[i];
	rv = tun_open("sntmq", 2, fds, name);
	CHECK_EQ_INT(rv, 0, "make the 2-queue device sntmq");
	if (rv < 0)
		return;
	idx = (int)if_nametoindex(name);
	CHECK(nl_link_set(nl, idx, 0, 1) == 0 && nl_route(nl, 1, idx, &p, 0, NULL) == 0,
	    "bring it up with a route to 10.99.0.0/16");
	for (int i = 0; i < FLOWS; i++) {
		int s = udp_socket(4);
		udp_send(s, "10.99.0.1", PORT, payload, sizeof(payload));
		close(s);
	}
	for (int t = 0; t < 20 && got[0] + got[1] < FLOWS; t++) {
		struct pollfd pfd[2] = {
		    {.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};

		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (int q = 0; q < 2; q++) {
			rv = tun_read_batch(fds[q], bufs, sizeof(mem[0]), lens, N);
			for (int i = 0; i < rv; i++)
				got[q] += ours(bufs[i], lens[i], "10.99.0.1") == sizeof(payload);
		}
	}
	CHECK(got[0] + got[1] == FLOWS && got[0] > 0 && got[1] > 0,
	    "%d flows are read from the two queues (%d and %d)", FLOWS, got[0], got[1]);
	close(fds[0]);
	close(fds[1]);
}

static void
test_write(int fd, int family)
{
	const char *local = family == 4 ? "10.77.0.1" : "2001:db8:77::1";
	const char *remote = family == 4 ? "10.88.1.1" : "2001:db8:88::1";
	struct addr l = A(local);
	struct sockaddr_storage ss = {0}, from;
	socklen_t sl = family == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	socklen_t fl = sizeof(from);
	uint8_t pkt[128];
	char got[64], host[INET6_ADDRSTRLEN] = "";
	size_t len;
	ssize_t n = -1;
	int s = udp_socket(family);

	if (family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, l.b, 4);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, l.b, 16);
	}
	CHECK(bind(s, (struct sockaddr *)&ss, sl) == 0 &&
		getsockname(s, (struct sockaddr *)&ss, &sl) == 0,
	    "a UDP socket bound on %s", local);
	len = build_udp(pkt, remote, local,
	    ntohs(family == 4 ? ((struct sockaddr_in *)&ss)->sin_port
			      : ((struct sockaddr_in6 *)&ss)->sin6_port));
	/* Within a few hundred milliseconds of the address's configuration the kernel was seen
	 * to route the first IPv6 packet written in as not local (Ip6InAddrErrors in
	 * /proc/net/snmp6), the next one delivered: up to 3 writes, the count in the message. */
	int writes = 0, wrv = 0;
	while (n < 0 && writes < 3) {
		writes++;
		wrv |= tun_write(fd, pkt, len);
		if (wait_in(s, family == 4 ? 2000 : 300))
			n = recvfrom(
			    s, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	}
	CHECK_EQ_INT(wrv, 0, "tun_write a datagram from %s to it", remote);
	if (n >= 0)
		inet_ntop(from.ss_family,
		    from.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&from)->sin_addr
					      : (void *)&((struct sockaddr_in6 *)&from)->sin6_addr,
		    host, sizeof(host));
	CHECK(n == 9 && memcmp(got, "hello tun", 9) == 0 && strcmp(host, remote) == 0,
	    "the socket receives it from %s (%zd bytes from %s, write %d)", remote, n, host,
	    writes);
	close(s);
}

int
main(void)
{
	int fds[1], idx, rv;
	char dev[IFNAMSIZ];

	if (unshare(CLONE_NEWNET) < 0) {
		printf("ok - TUN devices and rtnetlink # SKIP cannot make a network namespace: "
		       "unshare(CLONE_NEWNET): %s\n",
		    strerror(errno));
		return check_done();
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		printf(
		    "ok - TUN devices and rtnetlink # SKIP no /dev/net/tun: %s\n", strerror(errno));
		return check_done();
	}
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	rv = nl_open(&nl);
	CHECK_EQ_INT(rv, 0, "open a rtnetlink socket");
	if (rv < 0)
		return check_done();

	test_open();

	rv = tun_open("snt0", 1, fds, dev);
	CHECK(rv == 0 && strcmp(dev, "snt0") == 0, "make the TUN device snt0 (%d)", rv);
	if (rv < 0)
		return check_done();
	idx = (int)if_nametoindex(dev);
	test_netlink(dev, idx);
	test_read(dev, fds[0], idx);
	test_write(fds[0], 4);
	test_write(fds[0], 6);
	test_multiqueue();
	close(fds[0]);
	nl_close(nl);
	close(ctl);
	return check_done();
}
