/* UDP sockets of the QUIC transport: address parsing, opening, and batched sending. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

/* The control message choosing from as the source address; its length (0: none). */
static size_t
udp_pktinfo(const struct sockaddr *from, void *buf)
{
	struct msghdr m;
	struct cmsghdr *cm;

	if (udp_is_wildcard(from))
		return 0;
	memset(buf, 0, QUIC_CMSG_SPACE);
	memset(&m, 0, sizeof(m));
	m.msg_control = buf;
	if (from->sa_family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)from)->sin_addr;
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)from)->sin6_addr;
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	return m.msg_controllen;
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
		    bound->ss_family == AF_INET) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in *)out)->sin_addr = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
		    bound->ss_family == AF_INET6) {
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

void
quic_tx_flush(struct quic_txbatch *tx)
{
	struct mmsghdr msgs[QUIC_BATCH];
	struct iovec iov[QUIC_BATCH];
	uint8_t ctl[QUIC_BATCH][QUIC_CMSG_SPACE];
	size_t i, off = 0, cl;
	int r;

	if (tx->n == 0)
		return;
	memset(msgs, 0, sizeof(struct mmsghdr) * tx->n);
	for (i = 0; i < tx->n; i++) {
		iov[i].iov_base = tx->buf[i];
		iov[i].iov_len = tx->len[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (!tx->connected) {
			msgs[i].msg_hdr.msg_name = &tx->to[i];
			msgs[i].msg_hdr.msg_namelen = tx->tolen[i];
			if (tx->from[i].ss_family != AF_UNSPEC &&
			    (cl = udp_pktinfo((struct sockaddr *)&tx->from[i], ctl[i])) > 0) {
				msgs[i].msg_hdr.msg_control = ctl[i];
				msgs[i].msg_hdr.msg_controllen = cl;
			}
		}
	}
	while (off < tx->n) {
		r = sendmmsg(tx->fd, msgs + off, (unsigned)(tx->n - off), 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			/* a full socket buffer or an ICMP error reported here: the packets are
			 * lost like on the wire; QUIC recovers */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug("quic: sendmmsg: %s", strerror(errno));
			off++; /* skip the one that failed */
			continue;
		}
		off += (size_t)r;
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
	if ((m.msg_controllen = udp_pktinfo(from, ctl)) > 0)
		m.msg_control = ctl;
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
