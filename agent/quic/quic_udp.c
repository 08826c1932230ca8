/* UDP sockets of the QUIC transport: address parsing, opening, and batched sending. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "quic_udp.h"

#define QUIC_SOCKBUF (4 * 1024 * 1024)

int
quic_udp_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *end;
	char *ep;
	unsigned long p;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		hl = (size_t)(end - text - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, text + 1, hl);
		port = end + 2;
	} else {
		end = strrchr(text, ':');
		if (end == NULL)
			return -1;
		hl = (size_t)(end - text);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, text, hl);
		port = end + 1;
	}
	host[hl] = '\0';
	errno = 0;
	p = strtoul(port, &ep, 10);
	if (port[0] == '\0' || *ep != '\0' || errno != 0 || p > 65535)
		return -1;
	if (text[0] != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
	}
	return 0;
}

int
quic_udp_open(const struct sockaddr_storage *ss, socklen_t len, int server)
{
	int fd, one = 1, zero = 0, sz = QUIC_SOCKBUF;

	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_error("quic: socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (server) {
		/* "[::]:port" takes IPv4 too (mapped addresses) */
		if (ss->ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* the address each datagram came to: answers leave from it (multi-homed hosts) */
		if (ss->ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		else
			(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
			log_error("quic: bind: %s", strerror(errno));
			close(fd);
			return -1;
		}
	} else if (connect(fd, (const struct sockaddr *)ss, len) == -1) {
		log_error("quic: connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* path MTU discovery needs DF set and no local fragmentation */
	if (ss->ss_family == AF_INET) {
		int v = IP_PMTUDISC_PROBE;

		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	} else {
		int v = IPV6_PMTUDISC_PROBE;

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
		if (server) {
			v = IP_PMTUDISC_PROBE;
			(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
		}
	}
	return fd;
}

uint8_t *
quic_tx_slot(struct quic_txbatch *tx)
{
	if (tx->n == QUIC_BATCH)
		quic_tx_flush(tx);
	return tx->buf[tx->n];
}

static int
udp_is_wildcard(const struct sockaddr *sa)
{
	if (sa == NULL)
		return 1;
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 1;
}

/* Append to the control buffer of m (QUIC_CMSG_SPACE bytes at m->msg_control, m->msg_controllen
 * used so far) one control message of level and type carrying len bytes of data. */
static void
udp_cmsg_add(struct msghdr *m, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *cm = (struct cmsghdr *)((uint8_t *)m->msg_control + m->msg_controllen);

	memset(cm, 0, CMSG_SPACE(len));
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	m->msg_controllen += CMSG_SPACE(len);
}

/* The control message choosing from as the source address, added to m (none for a wildcard). */
static void
udp_pktinfo(struct msghdr *m, const struct sockaddr *from)
{
	if (udp_is_wildcard(from))
		return;
	if (from->sa_family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)from)->sin_addr;
		udp_cmsg_add(m, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)from)->sin6_addr;
		udp_cmsg_add(m, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
}

int
quic_udp_gso(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	/* kernels before 4.18 know no UDP_SEGMENT and refuse to read it */
	return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
}

int
quic_udp_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

size_t
quic_udp_segment(struct msghdr *msg, size_t len)
{
	struct cmsghdr *cm;
	int v;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(v))) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			return v > 0 && (size_t)v < len ? (size_t)v : len;
		}
	return len;
}

void
quic_udp_local(struct msghdr *msg, const struct sockaddr_storage *bound, socklen_t boundlen,
    struct sockaddr_storage *out, socklen_t *outlen)
{
	struct cmsghdr *cm;

	memcpy(out, bound, boundlen);
	*outlen = boundlen;
	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    bound->ss_family == AF_INET &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in *)out)->sin_addr = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
		    bound->ss_family == AF_INET6 &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in6 *)out)->sin6_addr = pi.ipi6_addr;
		}
	}
}

void
quic_tx_commit(struct quic_txbatch *tx, size_t len, const struct sockaddr *to, socklen_t tolen,
    const struct sockaddr *from)
{
	tx->len[tx->n] = len;
	if (!tx->connected) {
		memcpy(&tx->to[tx->n], to, tolen);
		tx->tolen[tx->n] = tolen;
		if (from != NULL)
			memcpy(&tx->from[tx->n], from,
			    from->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						       : sizeof(struct sockaddr_in6));
		else
			tx->from[tx->n].ss_family = AF_UNSPEC;
	}
	tx->n++;
}

/* Whether packet j of tx may join the GSO run that starts at packet i and holds n packets. */
static int
tx_joins(const struct quic_txbatch *tx, size_t i, size_t j, size_t n)
{
	if (n == QUIC_GSO_SEGS || tx->len[j] > tx->len[i] || (n + 1) * tx->len[i] > QUIC_GSO_BYTES)
		return 0;
	/* only the last packet of a run may be shorter */
	if (tx->len[j - 1] != tx->len[i])
		return 0;
	if (tx->connected)
		return 1;
	return tx->tolen[j] == tx->tolen[i] && memcmp(&tx->to[j], &tx->to[i], tx->tolen[i]) == 0 &&
	    tx->from[j].ss_family == tx->from[i].ss_family &&
	    (tx->from[i].ss_family == AF_UNSPEC ||
		memcmp(&tx->from[j], &tx->from[i],
		    tx->from[i].ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6)) == 0);
}

/* Build the messages for packets first.. of tx into msgs (runs of packets when gso), each
 * message's packet count into npkt; returns the number of messages. */
static size_t
tx_build(struct quic_txbatch *tx, size_t first, struct mmsghdr *msgs, struct iovec *iov,
    uint8_t (*ctl)[QUIC_CMSG_SPACE], size_t *npkt)
{
	size_t i, j, m = 0;
	uint16_t seg;

	for (i = first; i < tx->n; i = j, m++) {
		struct msghdr *h = &msgs[m].msg_hdr;

		memset(&msgs[m], 0, sizeof(msgs[m]));
		iov[i].iov_base = tx->buf[i];
		iov[i].iov_len = tx->len[i];
		for (j = i + 1; tx->gso && j < tx->n && tx_joins(tx, i, j, j - i); j++) {
			iov[j].iov_base = tx->buf[j];
			iov[j].iov_len = tx->len[j];
		}
		npkt[m] = j - i;
		h->msg_iov = &iov[i];
		h->msg_iovlen = j - i;
		h->msg_control = ctl[m];
		if (!tx->connected) {
			h->msg_name = &tx->to[i];
			h->msg_namelen = tx->tolen[i];
			if (tx->from[i].ss_family != AF_UNSPEC)
				udp_pktinfo(h, (struct sockaddr *)&tx->from[i]);
		}
		if (j - i > 1) {
			seg = (uint16_t)tx->len[i];
			udp_cmsg_add(h, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
		}
		if (h->msg_controllen == 0)
			h->msg_control = NULL;
	}
	return m;
}

void
quic_tx_flush(struct quic_txbatch *tx)
{
	struct mmsghdr msgs[QUIC_BATCH];
	struct iovec iov[QUIC_BATCH];
	uint8_t ctl[QUIC_BATCH][QUIC_CMSG_SPACE];
	size_t npkt[QUIC_BATCH];
	size_t nmsg, m = 0, first = 0;
	int r;

	if (tx->n == 0)
		return;
	nmsg = tx_build(tx, 0, msgs, iov, ctl, npkt);
	while (m < nmsg) {
		r = sendmmsg(tx->fd, msgs + m, (unsigned)(nmsg - m), 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (npkt[m] > 1 &&
			    (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
				errno == EOPNOTSUPP)) {
				/* the route's device cannot segment (no checksum offload: EIO)
				 * or the kernel refuses the run: one datagram per message from
				 * now on, this run included */
				log_info("quic: UDP GSO send failed (%s): sending unsegmented",
				    strerror(errno));
				tx->gso = 0;
				nmsg = m + tx_build(tx, first, msgs + m, iov, ctl + m, npkt + m);
				continue;
			}
			/* a full socket buffer or an ICMP error reported here: the packets are
			 * lost like on the wire; QUIC recovers */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug("quic: sendmmsg: %s", strerror(errno));
			r = 1; /* skip the message that failed */
		}
		while (r-- > 0)
			first += npkt[m++];
	}
	tx->n = 0;
}

void
quic_udp_send1(int fd, const void *pkt, size_t len, const struct sockaddr *to, socklen_t tolen,
    const struct sockaddr *from)
{
	uint8_t ctl[QUIC_CMSG_SPACE];
	struct msghdr m;
	struct iovec iov;
	ssize_t r;

	memset(&m, 0, sizeof(m));
	iov.iov_base = (void *)(uintptr_t)pkt;
	iov.iov_len = len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_name = (void *)(uintptr_t)to;
	m.msg_namelen = tolen;
	m.msg_control = ctl;
	udp_pktinfo(&m, from);
	if (m.msg_controllen == 0)
		m.msg_control = NULL;
	do
		r = sendmsg(fd, &m, 0);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		log_debug("quic: sendto: %s", strerror(errno));
}

void
quic_udp_unmap(
    const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out, socklen_t *outlen)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;

		memset(out, 0, sizeof(*out));
		in->sin_family = AF_INET;
		in->sin_port = in6->sin6_port;
		memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		*outlen = sizeof(*in);
		return;
	}
	memcpy(out, sa, len);
	*outlen = len;
}
