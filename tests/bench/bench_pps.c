/* Packets per second of 1200-byte IPv4/UDP packets, one way, with a bounded window in flight
 * (tests/bench/bench_client.sh runs it):
 *
 *   relay  into snaptun-client A's relay socket (--to PORT), out of client B's (--from PORT):
 *          client A -> agent -> client B. The packets are IPv4/UDP from --src (A's tunnel
 *          address) to --dst (B's), checksums right. Relay B sends what the tunnel brings to
 *          whoever last sent to it, so the receiving socket first sends B one packet (dst
 *          --src: it crosses the tunnel to A, which drops it as it has nobody to deliver to
 *          yet), then the path is probed with single packets until one comes out of B.
 *   raw    the reference: the same packets, the same window and batches, from one loopback
 *          UDP socket straight to another (sendmmsg, recvmmsg).
 *
 * With --scion IA the packets are SCION packets of the same size instead (scion mode's tunnels
 * carry them): UDP 4000 -> 5000 from (IA, --src) to (IA, --dst) over a standard path of one
 * segment (two hop fields, egress interface 0: the destination is in the local AS), built by
 * tests/unit/scionpkt.h; the agent passes one tunnel's to the other's at once (its hairpin).
 *
 * Each packet carries a sequence number; the window is the number sent after the highest one
 * received, so a lost packet does not hold a place in it for long. When nothing comes for
 * 20 ms the window is written off (a "stall") and sending goes on. After a warm-up of 0.5 s the
 * packets received in --seconds are counted; sending then stops and late packets get 0.3 s.
 * One line on stdout:
 *
 *   pps=N sent=N received=N lost=N loss_pct=F stalls=N bad=N cpu_s=F
 *
 * pps is received in the measured seconds / seconds; sent, received and lost cover the whole
 * run (warm-up, measurement and drain); bad counts datagrams that are not our packets; cpu_s
 * is the CPU time (user + system) this program used, also over the whole run.
 *
 *   bench_pps raw|relay [--to PORT --from PORT --src A.B.C.D --dst A.B.C.D] [--seconds S]
 *             [--window N] [--batch N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/args.h"
#include "../../lib/clock.h"
#include "../../lib/csum.h"
#include "../../lib/isdas.h"
#include "../../lib/log.h"
#include "../unit/scionpkt.h"

#define PKT_SIZE 1200 /* the packet: IPv4 (or SCION) header + UDP header + payload */
#define BATCH_MAX 256
#define RXCAP 2048 /* larger than any packet of ours: a longer datagram is bad, not cut */
#define WARMUP_NS 500000000ull
#define DRAIN_NS 300000000ull
#define STALL_MS 20
#define NS 1000000000ull

/* Where the fields bench_pps writes and checks are in a packet of its kind. */
struct layout {
	size_t src, dst; /* the IPv4 source and destination addresses */
	size_t l4; /* the UDP header */
	size_t seq; /* the sequence number: the payload's first 8 bytes */
};

static const struct layout ipv4_layout = {.src = 12, .dst = 16, .l4 = 20, .seq = 28};
/* SCION: 12-byte common header, two ISD-ASes, the hosts (destination first), a meta header, an
 * info field and two hop fields, then UDP */
static const struct layout scion_layout = {.src = 32, .dst = 28, .l4 = 72, .seq = 80};

struct pps {
	struct layout at;
	uint64_t scion_ia; /* 0: IPv4 packets */
	int tx, rx;
	unsigned window, batch;
	struct in_addr src, dst;
	uint32_t base; /* the UDP checksum's sum without the sequence number */
	uint8_t txbuf[BATCH_MAX][PKT_SIZE];
	uint8_t rxbuf[BATCH_MAX][RXCAP];
	uint64_t next; /* the next sequence number to send */
	uint64_t acked; /* one past the highest sequence number received */
	uint64_t received, bad, stalls;
	int counting; /* 1 during the measured seconds */
	uint64_t counted; /* received while counting */
};

/* The packet template in every txbuf: IPv4 (DF, TTL 64, header checksum) + UDP 4000 -> 5000,
 * the payload a byte pattern after the sequence number; base is the UDP checksum's sum over the
 * pseudo-header and the packet with the sequence number and the checksum zero. */
static void
pps_template_ipv4(struct pps *b)
{
	uint8_t *p = b->txbuf[0], pseudo[12];
	uint16_t v;
	unsigned i;

	memset(p, 0, PKT_SIZE);
	p[0] = 0x45;
	v = htons(PKT_SIZE);
	memcpy(p + 2, &v, 2);
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	memcpy(p + 12, &b->src, 4);
	memcpy(p + 16, &b->dst, 4);
	v = htons(csum_fold(csum_add(0, p, 20)));
	memcpy(p + 10, &v, 2);
	v = htons(4000);
	memcpy(p + 20, &v, 2);
	v = htons(5000);
	memcpy(p + 22, &v, 2);
	v = htons(PKT_SIZE - 20);
	memcpy(p + 24, &v, 2);
	for (i = 28 + 8; i < PKT_SIZE; i++)
		p[i] = (uint8_t)i;
	memcpy(pseudo, &b->src, 4);
	memcpy(pseudo + 4, &b->dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	v = htons(PKT_SIZE - 20);
	memcpy(pseudo + 10, &v, 2);
	b->base = csum_add(csum_add(0, pseudo, sizeof(pseudo)), p + 20, PKT_SIZE - 20);
}

/* The same as a SCION packet of the same size (the file's header comment); base likewise, over
 * SCION's pseudo-header (the ISD-ASes and hosts as in the header, the UDP length, protocol 17). */
static void
pps_template_scion(struct pps *b)
{
	static uint8_t payload[PKT_SIZE];
	uint8_t *p = b->txbuf[0], tail[8] = {0};
	struct scionpkt sp;

	memset(&sp, 0, sizeof(sp));
	sp.src_ia = sp.dst_ia = b->scion_ia;
	sp.src.family = sp.dst.family = 4;
	memcpy(sp.src.b, &b->src, 4);
	memcpy(sp.dst.b, &b->dst, 4);
	sp.path_type = 1;
	sp.seg[0] = 2;
	sp.next_hdr = SCIONPKT_UDP;
	sp.sport = 4000;
	sp.dport = 5000;
	for (unsigned i = 8; i < PKT_SIZE; i++)
		payload[i] = (uint8_t)i;
	sp.payload = payload;
	sp.payload_len = PKT_SIZE - scion_layout.l4 - 8;
	if (scionpkt_build(&sp, p, PKT_SIZE) != PKT_SIZE || p[5] * 4 != (int)scion_layout.l4)
		fatalx("the SCION packet template is not %d bytes with UDP at %zu", PKT_SIZE,
		    scion_layout.l4);
	memset(p + scion_layout.l4 + 6, 0, 2);
	tail[2] = (uint8_t)((PKT_SIZE - scion_layout.l4) >> 8);
	tail[3] = (uint8_t)(PKT_SIZE - scion_layout.l4);
	tail[7] = SCIONPKT_UDP;
	b->base = csum_add(csum_add(csum_add(0, p + 12, 24), tail, sizeof(tail)),
	    p + scion_layout.l4, PKT_SIZE - scion_layout.l4);
}

static void
pps_template(struct pps *b)
{
	b->at = b->scion_ia != 0 ? scion_layout : ipv4_layout;
	if (b->scion_ia != 0)
		pps_template_scion(b);
	else
		pps_template_ipv4(b);
	for (unsigned i = 1; i < BATCH_MAX; i++)
		memcpy(b->txbuf[i], b->txbuf[0], PKT_SIZE);
}

/* Stamp sequence number seq into packet p and fix its UDP checksum (the other bytes are the
 * template's, whose sum is base). */
static void
pps_stamp(const struct pps *b, uint8_t *p, uint64_t seq)
{
	uint8_t s[8];
	uint16_t c;
	int i;

	for (i = 0; i < 8; i++)
		s[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(p + b->at.seq, s, 8);
	c = csum_fold(csum_add(b->base, s, 8));
	if (c == 0)
		c = 0xffff; /* 0 would mean "no checksum" */
	c = htons(c);
	memcpy(p + b->at.l4 + 6, &c, 2);
}

/* Send up to the window's room, in batches. */
static void
pps_send(struct pps *b)
{
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	uint64_t room;
	unsigned n, i;
	int sent;

	room = b->window - (b->next - b->acked);
	while (room > 0 && b->next - b->acked < b->window) {
		n = room < b->batch ? (unsigned)room : b->batch;
		memset(msgs, 0, sizeof(msgs[0]) * n);
		for (i = 0; i < n; i++) {
			pps_stamp(b, b->txbuf[i], b->next + i);
			iov[i].iov_base = b->txbuf[i];
			iov[i].iov_len = PKT_SIZE;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		sent = sendmmsg(b->tx, msgs, n, MSG_DONTWAIT);
		if (sent <= 0) {
			if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ENOBUFS && errno != EINTR && errno != ECONNREFUSED)
				fatal("sendmmsg");
			return; /* the socket is full: the receiving side gets its turn */
		}
		b->next += (unsigned)sent;
		room -= (unsigned)sent;
	}
}

/* Receive what is there (a few batches at most, so that sending is not starved). */
static void
pps_recv(struct pps *b)
{
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	uint64_t seq;
	int got, i, j, round;

	for (round = 0; round < 4; round++) {
		memset(msgs, 0, sizeof(msgs[0]) * b->batch);
		for (i = 0; i < (int)b->batch; i++) {
			iov[i].iov_base = b->rxbuf[i];
			iov[i].iov_len = RXCAP;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(b->rx, msgs, b->batch, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNREFUSED)
				return;
			fatal("recvmmsg");
		}
		for (i = 0; i < got; i++) {
			const uint8_t *p = b->rxbuf[i];

			if (msgs[i].msg_len != PKT_SIZE || memcmp(p + b->at.src, &b->src, 4) != 0 ||
			    memcmp(p + b->at.dst, &b->dst, 4) != 0) {
				b->bad++;
				continue;
			}
			for (seq = 0, j = 0; j < 8; j++)
				seq = seq << 8 | p[b->at.seq + j];
			if (seq >= b->next) {
				b->bad++; /* never sent */
				continue;
			}
			b->received++;
			b->counted += (uint64_t)b->counting;
			if (seq + 1 > b->acked)
				b->acked = seq + 1;
		}
		if (got < (int)b->batch)
			return;
	}
}

/* Run until mono time end; sending only when send is 1. */
static void
pps_run(struct pps *b, uint64_t end, int send)
{
	struct pollfd pfd = {.fd = b->rx, .events = POLLIN};
	uint64_t now;
	int rv;

	while ((now = clock_mono_ns()) < end) {
		if (send)
			pps_send(b);
		rv = poll(&pfd, 1, send ? STALL_MS : 10);
		if (rv < 0 && errno != EINTR)
			fatal("poll");
		if (rv > 0)
			pps_recv(b);
		else if (rv == 0 && send && b->next > b->acked) {
			b->stalls++; /* the window's packets are lost: go on */
			b->acked = b->next;
		}
	}
}

/* A UDP socket on 127.0.0.1, bound to a free port, receive buffer as large as allowed. */
static int
udp_open(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd, buf = 4 << 20;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fatal("bind");
	/* the same for both modes; the kernel caps it at net.core.rmem_max */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return fd;
}

static void
udp_connect(int fd, unsigned port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fatal("connect to 127.0.0.1:%u", port);
}

static unsigned
udp_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		fatal("getsockname");
	return ntohs(sin.sin_port);
}

/* Relay mode: tell relay B where to deliver (a packet from rx), then send single packets
 * through A until one comes out of B; 10 tries of 0.5 s. */
static void
pps_probe(struct pps *b)
{
	uint8_t hello[PKT_SIZE];
	int try;

	/* B -> A, so that the tunnel's hub has somewhere to send it */
	memcpy(hello, b->txbuf[0], PKT_SIZE);
	memcpy(hello + b->at.src, &b->dst, 4);
	memcpy(hello + b->at.dst, &b->src, 4);
	/* UDP over IPv4 may go without a checksum; nobody checks the SCION one's on its way */
	memset(hello + b->at.l4 + 6, 0, 2);
	for (try = 0; try < 10; try++) {
		if (send(b->rx, hello, PKT_SIZE, 0) < 0)
			fatal("sending to relay B");
		b->window = 1;
		pps_send(b);
		pps_run(b, clock_mono_ns() + NS / 2, 0);
		if (b->received > 0)
			return;
		b->acked = b->next;
	}
	fatalx("no packet came out of relay B in 5 s (%llu sent into relay A, %llu bad)",
	    (unsigned long long)b->next, (unsigned long long)b->bad);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_pps raw|relay [--to PORT --from PORT --src A.B.C.D --dst A.B.C.D]\n"
	    "                 [--scion ISD-AS] [--seconds S] [--window N] [--batch N]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, 'f'},
	    {"src", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'd'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"window", required_argument, NULL, 'w'},
	    {"batch", required_argument, NULL, 'b'},
	    {"scion", required_argument, NULL, 'I'},
	    {NULL, 0, NULL, 0},
	};
	static struct pps b; /* 800 KiB of buffers: not on the stack */
	const char *mode, *src = "10.0.0.1", *dst = "10.0.0.2";
	unsigned to = 0, from = 0, window = 256;
	double secs = 5;
	struct rusage ru;
	uint64_t t0;
	int c, relay;

	if (argc < 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (strcmp(mode, "raw") != 0 && strcmp(mode, "relay") != 0) {
		usage(stderr);
		return 2;
	}
	relay = strcmp(mode, "relay") == 0;
	b.batch = 32;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = (unsigned)args_uint("--to", optarg, 1, 65535); break;
		case 'f': from = (unsigned)args_uint("--from", optarg, 1, 65535); break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'S': secs = args_number("--seconds", optarg, 0.1, 3600); break;
		case 'w': window = (unsigned)args_uint("--window", optarg, 1, 1u << 20); break;
		case 'b': b.batch = (unsigned)args_uint("--batch", optarg, 1, BATCH_MAX); break;
		case 'I': {
			const char *why;

			if (isdas_parse(optarg, &b.scion_ia, &why) < 0 || b.scion_ia == 0)
				fatalx("--scion \"%s\": not an ISD-AS", optarg);
			break;
		}
		default: usage(stderr); return 2;
		}
	}
	args_end("bench_pps", argc, argv, usage);
	if (inet_pton(AF_INET, src, &b.src) != 1)
		fatalx("--src \"%s\": not an IPv4 address", src);
	if (inet_pton(AF_INET, dst, &b.dst) != 1)
		fatalx("--dst \"%s\": not an IPv4 address", dst);
	if (relay && (to == 0 || from == 0))
		fatalx("relay needs --to (relay A's port) and --from (relay B's port)");
	pps_template(&b);

	b.tx = udp_open();
	b.rx = udp_open();
	if (relay) {
		udp_connect(b.tx, to);
		/* only relay B's datagrams, and the probe's hello goes there */
		udp_connect(b.rx, from);
		pps_probe(&b);
	} else {
		udp_connect(b.tx, udp_port(b.rx));
		udp_connect(b.rx, udp_port(b.tx));
	}

	b.window = window;
	t0 = clock_mono_ns();
	pps_run(&b, t0 + WARMUP_NS, 1);
	b.counting = 1;
	t0 = clock_mono_ns();
	pps_run(&b, t0 + (uint64_t)(secs * NS), 1);
	secs = (double)(clock_mono_ns() - t0) / NS;
	b.counting = 0;
	pps_run(&b, clock_mono_ns() + DRAIN_NS, 0);

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		fatal("getrusage");
	printf("pps=%.0f sent=%llu received=%llu lost=%llu loss_pct=%.2f stalls=%llu bad=%llu "
	       "cpu_s=%.3f\n",
	    (double)b.counted / secs, (unsigned long long)b.next, (unsigned long long)b.received,
	    (unsigned long long)(b.next > b.received ? b.next - b.received : 0),
	    b.next ? 100.0 * (double)(b.next - (b.received < b.next ? b.received : b.next)) /
		    (double)b.next
		   : 0.0,
	    (unsigned long long)b.stalls, (unsigned long long)b.bad,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	close(b.tx);
	close(b.rx);
	return 0;
}
