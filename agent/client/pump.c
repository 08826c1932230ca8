/* The packet pump (pump.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/gro.h"
#include "../../lib/gso.h"
#include "../../lib/icmp.h"
#include "../../lib/log.h"
#include "../../lib/sockaddr.h"
#include "../../lib/tun.h"
#include "../quic/quic.h"
#include "pump.h"

#define PUMP_BATCH 32
#define PUMP_CAP 65536 /* an IP packet's largest size, and a UDP datagram's */
#define PUMP_ROUNDS 8 /* batches per readiness event: the QUIC socket gets its turn */
/* Relay mode: packets from the tunnel wait here for one sendmmsg at the end of the QUIC read
 * (pump_flush), not one sendto each: one QUIC read delivers up to a thousand. Slots fit any
 * datagram a path of the usual MTUs carries; a larger packet goes out alone. */
#define PUMP_OUT 64
#define PUMP_OUT_SLOT 1536
/* TUN mode with offloads: the super-packets one turn's QUIC reads make (pump_flush). Under
 * load a turn brings a few dozen segments of one or two flows, a handful of entries. */
#define PUMP_GRO 16

struct pump {
	struct loop *l;
	struct session *s;
	int relay; /* 1: relay mode */
	int fd;
	struct netsetup *ns; /* TUN mode */
	int offload; /* TUN mode: packets behind a struct vnethdr (lib/tun.h) */
	char device[STATUS_TEXT_MAX];
	struct addr addr; /* TUN mode: the source of our ICMP answers */
	unsigned mtu; /* the room the device was set to; 0 while down */

	/* relay mode: who sent last (the packets from the tunnel go there) */
	struct sockaddr_storage peer;
	socklen_t peerlen;

	unsigned char *bufs[PUMP_BATCH];
	size_t lens[PUMP_BATCH];
	/* TUN mode with offloads: a segment of a super-packet read (gso.h) */
	unsigned char *seg;
	/* TUN mode with offloads: packets from the tunnel not yet written (pump_flush) */
	struct gro gro;
	/* relay mode: packets for the peer not yet sent (pump_flush) */
	unsigned char (*out)[PUMP_OUT_SLOT];
	size_t outlen[PUMP_OUT];
	unsigned nout;
	struct status_counters c;
};

/* Relay mode: up to n datagrams, the sender of the last one remembered. */
static int
relay_read(struct pump *p, int n)
{
	struct mmsghdr msgs[PUMP_BATCH];
	struct iovec iov[PUMP_BATCH];
	struct sockaddr_storage from[PUMP_BATCH];
	int got, i;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = p->bufs[i];
		iov[i].iov_len = PUMP_CAP;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	got = recvmmsg(p->fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	for (i = 0; i < got; i++)
		p->lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
	if (got > 0) {
		memcpy(&p->peer, &from[got - 1], msgs[got - 1].msg_hdr.msg_namelen);
		p->peerlen = msgs[got - 1].msg_hdr.msg_namelen;
	}
	return got;
}

/* A packet over the room: the sender learns the MTU from an ICMP error (TUN mode); the answer
 * goes back into the device as if a router on the path had sent it. */
static void
too_big(struct pump *p, const uint8_t *pkt, size_t len, size_t room)
{
	uint8_t out[ICMP_ERR_MAX];
	size_t n;

	p->c.drop_too_big++;
	if (p->relay || p->addr.family == 0)
		return;
	n = icmp_error(ICMP_TOO_BIG, pkt, len, &p->addr, (unsigned)room, out);
	if (n > 0 && (p->offload ? tun_write_plain(p->fd, out, n) : tun_write(p->fd, out, n)) < 0)
		p->c.drop_local++;
}

/* One packet from the local side into the tunnel (room: the datagram room, 0 while down). */
static void
send_one(struct pump *p, const uint8_t *pkt, size_t len, size_t room)
{
	int rv;

	if (room == 0) {
		p->c.drop_down++;
		return;
	}
	if (len > room) {
		too_big(p, pkt, len, room);
		return;
	}
	rv = session_send(p->s, pkt, len);
	if (rv == 0) {
		p->c.tx_packets++;
		p->c.tx_bytes += len;
	} else if (rv == QUIC_ERR_TOO_BIG) {
		too_big(p, pkt, len, session_room(p->s));
	} else if (rv == QUIC_ERR_BLOCKED) {
		p->c.drop_blocked++;
	} else {
		p->c.drop_down++;
	}
}

/* One read from a device with offloads (buf: the struct vnethdr, then the packet): each IP
 * packet it carries into the tunnel. A header that contradicts its packet (never from a sane
 * kernel) loses the packet, counted as the device's. */
static void
send_offloaded(struct pump *p, uint8_t *buf, size_t len, size_t room)
{
	struct vnethdr h;
	struct gso g;
	ssize_t n;
	int rv;

	if (len < VNETHDR_LEN) {
		p->c.drop_local++;
		return;
	}
	vnethdr_get(buf, &h);
	rv = gso_start(&g, &h, buf + VNETHDR_LEN, len - VNETHDR_LEN);
	if (rv == 0)
		send_one(p, buf + VNETHDR_LEN, len - VNETHDR_LEN, room);
	else if (rv < 0)
		p->c.drop_local++;
	else
		while ((n = gso_next(&g, p->seg, PUMP_CAP)) != 0) {
			if (n < 0) {
				p->c.drop_local++;
				break;
			}
			send_one(p, p->seg, (size_t)n, room);
		}
}

static void
on_local(struct loop *l, int fd, unsigned events, void *arg)
{
	struct pump *p = arg;
	int round, n, i;
	size_t room;

	(void)l;
	(void)fd;
	(void)events;
	for (round = 0; round < PUMP_ROUNDS; round++) {
		if (p->relay)
			n = relay_read(p, PUMP_BATCH);
		else
			n = tun_read_batch(p->fd, p->bufs,
			    PUMP_CAP + (p->offload ? VNETHDR_LEN : 0), p->lens, PUMP_BATCH);
		if (n < 0) {
			log_warn("reading %s: %s", p->device, strerror(-n));
			return;
		}
		room = p->s != NULL ? session_room(p->s) : 0;
		for (i = 0; i < n; i++) {
			if (p->lens[i] == 0)
				continue; /* cut: too big for any IP packet */
			if (p->offload)
				send_offloaded(p, p->bufs[i], p->lens[i], room);
			else
				send_one(p, p->bufs[i], p->lens[i], room);
		}
		if (p->s != NULL && n > 0)
			session_flush(p->s);
		if (n < PUMP_BATCH)
			break;
	}
}

static int
relay_open(struct pump *p, const char *bind_to)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (sockaddr_parse(bind_to, &ss, &len) != 0) {
		log_error("invalid --relay \"%s\": want ADDRESS:PORT or [ADDRESS]:PORT (numeric)",
		    bind_to);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&ss, len) == -1) {
		log_error("cannot bind the relay socket to %s: %s", bind_to, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	p->fd = fd;
	/* the port the kernel chose when bind_to said 0: status shows where to send */
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		char text[SOCKADDR_STRLEN];

		sockaddr_format((struct sockaddr *)&ss, text, sizeof(text));
		snprintf(p->device, sizeof(p->device), "relay %s", text);
	} else {
		snprintf(p->device, sizeof(p->device), "relay %s", bind_to);
	}
	return 0;
}

struct pump *
pump_new(struct loop *l, const struct pump_config *cfg)
{
	struct pump *p;
	char ifname[IFNAMSIZ];
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->l = l;
	p->fd = -1;
	for (i = 0; i < PUMP_BATCH; i++)
		if ((p->bufs[i] = malloc(PUMP_CAP + VNETHDR_LEN)) == NULL)
			goto fail;
	if (cfg->relay != NULL) {
		p->relay = 1;
		if ((p->out = malloc(sizeof(*p->out) * PUMP_OUT)) == NULL ||
		    relay_open(p, cfg->relay) != 0)
			goto fail;
	} else {
		if (netsetup_open(cfg->tun_name, &p->ns, &p->fd, ifname, &p->offload) != 0)
			goto fail;
		if (p->offload &&
		    ((p->seg = malloc(PUMP_CAP)) == NULL || gro_init(&p->gro, PUMP_GRO) != 0))
			goto fail;
		snprintf(p->device, sizeof(p->device), "%s", ifname);
	}
	if (loop_fd_add(l, p->fd, LOOP_READ, on_local, p) != 0) {
		log_error("loop: %s", strerror(errno));
		goto fail;
	}
	return p;
fail:
	pump_free(p);
	return NULL;
}

void
pump_free(struct pump *p)
{
	int i;

	if (p == NULL)
		return;
	if (p->fd != -1)
		loop_fd_del(p->l, p->fd);
	if (p->ns != NULL)
		netsetup_close(p->ns); /* closes the TUN descriptor */
	else if (p->fd != -1)
		close(p->fd);
	for (i = 0; i < PUMP_BATCH; i++)
		free(p->bufs[i]);
	free(p->seg);
	gro_free(&p->gro);
	free(p->out);
	free(p);
}

void
pump_attach(struct pump *p, struct session *s)
{
	p->s = s;
}

int
pump_up(struct pump *p, const struct addr *a, size_t room, const struct prefix *routes,
    unsigned nroutes, const struct addr *server)
{
	p->mtu = (unsigned)room;
	if (p->relay)
		return 0;
	p->addr = *a;
	return netsetup_address(p->ns, a, p->mtu, routes, nroutes, server) < 0 ? -1 : 0;
}

void
pump_down(struct pump *p)
{
	p->mtu = 0;
}

/* Relay mode: one datagram to the peer at once; 0 or -1. */
static int
relay_send1(struct pump *p, const uint8_t *pkt, size_t len)
{
	return sendto(p->fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&p->peer, p->peerlen) < 0
	    ? -1
	    : 0;
}

void
pump_packet(struct pump *p, const uint8_t *pkt, size_t len)
{
	if (p->relay) {
		if (p->peerlen == 0) {
			p->c.drop_local++; /* nobody has sent to the relay yet */
			return;
		}
		if (len <= PUMP_OUT_SLOT) {
			if (p->nout == PUMP_OUT)
				pump_flush(p);
			memcpy(p->out[p->nout], pkt, len);
			p->outlen[p->nout++] = len;
			return; /* counted when it leaves (pump_flush) */
		}
		pump_flush(p); /* keep the order */
		if (relay_send1(p, pkt, len) != 0) {
			p->c.drop_local++;
			return;
		}
	} else if (p->offload) {
		if (gro_add(&p->gro, pkt, len) == 0)
			return; /* counted when it leaves (pump_flush) */
		pump_flush(p);
		if (gro_add(&p->gro, pkt, len) == 0)
			return;
		p->c.drop_local++; /* over 64 KiB: no IP packet */
		return;
	} else if (tun_write(p->fd, pkt, len) < 0) {
		p->c.drop_local++;
		return;
	}
	p->c.rx_packets++;
	p->c.rx_bytes += len;
}

/* TUN mode with offloads: write the packets gathered since the last flush, each super-packet
 * with one write; counted as the IP packets they carry. */
static void
gro_flush(struct pump *p)
{
	unsigned i;

	gro_finish(&p->gro);
	for (i = 0; i < p->gro.n; i++) {
		const struct gro_entry *e = &p->gro.e[i];

		if (tun_write(p->fd, e->buf, VNETHDR_LEN + e->len) < 0) {
			p->c.drop_local += e->segs;
			continue;
		}
		p->c.rx_packets += e->segs;
		p->c.rx_bytes += e->bytes;
	}
	gro_reset(&p->gro);
}

void
pump_flush(struct pump *p)
{
	struct mmsghdr msgs[PUMP_OUT];
	struct iovec iov[PUMP_OUT];
	unsigned i, off = 0;
	int r;

	if (p->offload) {
		gro_flush(p);
		return;
	}
	if (p->nout == 0)
		return;
	memset(msgs, 0, sizeof(msgs[0]) * p->nout);
	for (i = 0; i < p->nout; i++) {
		iov[i].iov_base = p->out[i];
		iov[i].iov_len = p->outlen[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &p->peer;
		msgs[i].msg_hdr.msg_namelen = p->peerlen;
	}
	while (off < p->nout) {
		r = sendmmsg(p->fd, msgs + off, p->nout - off, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* a full socket buffer (or an ICMP error from the peer) loses this one,
			 * as sendto would have; the rest get their own try */
			p->c.drop_local++;
			off++;
			continue;
		}
		for (i = off; i < off + (unsigned)r; i++) {
			p->c.rx_packets++;
			p->c.rx_bytes += p->outlen[i];
		}
		off += (unsigned)r;
	}
	p->nout = 0;
}

void
pump_tick(struct pump *p)
{
	size_t room;

	if (p->mtu == 0 || p->s == NULL || (room = session_room(p->s)) == 0 || room == p->mtu)
		return;
	p->mtu = (unsigned)room;
	if (!p->relay)
		(void)netsetup_mtu(p->ns, p->mtu);
}

void
pump_status(const struct pump *p, struct status *st)
{
	snprintf(st->device, sizeof(st->device), "%s", p->device);
	st->mtu = p->mtu;
	st->counters = p->c;
}
