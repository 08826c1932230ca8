/* sciontool: SCION packets and UDP datagrams for the end-to-end tests of scion mode
 * (tests/e2e/scion_test.sh, tests/bench/bench_client.sh). Packets are built and read by
 * tests/unit/scionpkt.h (written from the specification, apart from lib/scion.c).
 *
 *   sciontool build OPTION... FILE    write one SCION packet into FILE:
 *       --src IA,ADDR --dst IA,ADDR   the source and destination (ADDR "svc:N": a service
 *                                     address N)
 *       --path none|standard          (default standard: 2 hop fields in one segment)
 *       --segs A,B,C                  hop fields per segment
 *       --curr INF,HF                 the current info and hop field
 *       --egress N                    the current hop field's ConsIngress (its ConsEgress with
 *                                     --cons-dir: the C flag of its info field)
 *       --udp SPORT,DPORT             UDP (the default, 31000,443)
 *       --scmp TYPE,CODE,A,B          SCMP: type, code and the info block's two 16-bit words
 *                                     (echo: identifier, sequence)
 *       --payload N | --quote FILE    N pattern bytes after the L4 header, or FILE's bytes
 *       --version V --hdr-words N --len N --byte OFF=VAL
 *                                     then spoil it: the version nibble; N more words of
 *                                     HdrLen, as many bytes fewer of PayloadLen (bytes left
 *                                     between the path and the payload); the file cut or
 *                                     grown (zeros) to N bytes; one byte set
 *   sciontool show FILE               one line: "src IA,ADDR dst IA,ADDR path P udp SPORT DPORT
 *                                     csum ok|bad" or "... scmp TYPE CODE A B csum ok|bad quote
 *                                     N", or "not scion"
 *   sciontool listen HOST:PORT DIR    a UDP socket (port 0: a free one); prints "port N", then
 *                                     each datagram into DIR/1.bin, DIR/2.bin, ... with a line
 *                                     "got N FILE"; until killed
 *   sciontool send HOST:PORT FILE...  each FILE as one datagram, from one socket
 *   sciontool peer HOST:PORT DIR SECONDS FILE...
 *                                     an application of a relay: one socket sends each FILE to
 *                                     HOST:PORT, then receives for SECONDS into DIR like listen
 *                                     (and prints "got N FILE" each, "done M" at the end)
 *
 * Addresses are numeric; IAs as lib/isdas.h reads them. Exit 0, or 1 with a message. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/sockaddr.h"
#include "../unit/scionpkt.h"

#define PKT_MAX 65536

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sciontool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static size_t
file_read(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
file_write(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die("%s: cannot write", path);
}

/* "IA,ADDR" (ADDR "svc:N": a service address) into *ia, *a, *svc. */
static void
endpoint(const char *s, uint64_t *ia, struct addr *a, uint16_t *svc)
{
	const char *comma = strchr(s, ',');
	char iatext[ISDAS_STRLEN];
	const char *why;

	if (comma == NULL || (size_t)(comma - s) >= sizeof(iatext))
		die("\"%s\": want IA,ADDR", s);
	memcpy(iatext, s, (size_t)(comma - s));
	iatext[comma - s] = '\0';
	if (isdas_parse(iatext, ia, &why) < 0)
		die("\"%s\": bad ISD-AS: %s", s, why);
	memset(a, 0, sizeof(*a));
	if (strncmp(comma + 1, "svc:", 4) == 0)
		*svc = (uint16_t)strtoul(comma + 5, NULL, 0);
	else if (addr_parse(comma + 1, a) < 0)
		die("\"%s\": bad address", s);
}

/* Up to n unsigned numbers separated by commas from s into v; how many. */
static int
numbers(const char *s, unsigned *v, int n)
{
	int i = 0;

	while (i < n && *s != '\0') {
		char *end;

		v[i++] = (unsigned)strtoul(s, &end, 0);
		if (*end != ',' && *end != '\0')
			die("\"%s\": want numbers separated by commas", s);
		s = *end == ',' ? end + 1 : end;
	}
	return i;
}

static int
cmd_build(int argc, char **argv)
{
	static uint8_t pkt[PKT_MAX], extra[PKT_MAX];
	unsigned v[4], version = 0, hdr_words = 0, egress = 1;
	long cut = -1;
	int cons_dir = 0, nbytes = 0, i;
	unsigned byte_off[16], byte_val[16];
	struct scionpkt p;
	size_t n;

	memset(&p, 0, sizeof(p));
	p.path_type = 1;
	p.seg[0] = 2;
	p.next_hdr = SCIONPKT_UDP;
	p.sport = 31000;
	p.dport = 443;
	for (i = 0; i < 256; i++)
		extra[i] = (uint8_t)i;
	p.payload = extra;
	for (i = 0; i + 1 < argc; i += 2) {
		const char *o = argv[i], *a = argv[i + 1];

		if (strcmp(o, "--src") == 0)
			endpoint(a, &p.src_ia, &p.src, &p.src_svc);
		else if (strcmp(o, "--dst") == 0)
			endpoint(a, &p.dst_ia, &p.dst, &p.dst_svc);
		else if (strcmp(o, "--path") == 0)
			p.path_type = strcmp(a, "standard") == 0 ? 1 : 0;
		else if (strcmp(o, "--segs") == 0) {
			memset(v, 0, sizeof(v));
			numbers(a, v, 3);
			for (int k = 0; k < 3; k++)
				p.seg[k] = v[k];
		} else if (strcmp(o, "--curr") == 0) {
			if (numbers(a, v, 2) != 2)
				die("--curr \"%s\": want INF,HF", a);
			p.curr_inf = v[0], p.curr_hf = v[1];
		} else if (strcmp(o, "--egress") == 0)
			egress = (unsigned)strtoul(a, NULL, 0);
		else if (strcmp(o, "--cons-dir") == 0)
			cons_dir = atoi(a);
		else if (strcmp(o, "--udp") == 0) {
			if (numbers(a, v, 2) != 2)
				die("--udp \"%s\": want SPORT,DPORT", a);
			p.next_hdr = SCIONPKT_UDP, p.sport = (uint16_t)v[0],
			p.dport = (uint16_t)v[1];
		} else if (strcmp(o, "--scmp") == 0) {
			if (numbers(a, v, 4) != 4)
				die("--scmp \"%s\": want TYPE,CODE,A,B", a);
			p.next_hdr = SCIONPKT_SCMP;
			p.scmp_type = (uint8_t)v[0], p.scmp_code = (uint8_t)v[1];
			p.scmp_a = (uint16_t)v[2], p.scmp_b = (uint16_t)v[3];
		} else if (strcmp(o, "--payload") == 0) {
			p.payload_len = strtoul(a, NULL, 0);
			if (p.payload_len > 60000)
				die("--payload %s: at most 60000", a);
			for (size_t k = 0; k < p.payload_len; k++)
				extra[k] = (uint8_t)k;
		} else if (strcmp(o, "--quote") == 0)
			p.payload_len = file_read(a, extra, 60000);
		else if (strcmp(o, "--version") == 0)
			version = (unsigned)strtoul(a, NULL, 0);
		else if (strcmp(o, "--hdr-words") == 0)
			hdr_words = (unsigned)strtoul(a, NULL, 0);
		else if (strcmp(o, "--len") == 0)
			cut = strtol(a, NULL, 0);
		else if (strcmp(o, "--byte") == 0 && nbytes < 16) {
			char *end;

			byte_off[nbytes] = (unsigned)strtoul(a, &end, 0);
			if (*end != '=')
				die("--byte \"%s\": want OFF=VAL", a);
			byte_val[nbytes++] = (unsigned)strtoul(end + 1, NULL, 0);
		} else
			die("build: unknown option %s", o);
	}
	if (i != argc - 1)
		die("build: want OPTION VALUE... FILE");
	for (int k = 0; k < SCIONPKT_HOPS_MAX; k++)
		p.ingress[k] = cons_dir ? 0 : (uint16_t)egress,
		p.egress[k] = cons_dir ? (uint16_t)egress : 0;
	for (int k = 0; k < 3; k++)
		p.cons_dir[k] = cons_dir;
	if ((n = scionpkt_build(&p, pkt, sizeof(pkt))) == 0)
		die("build: the packet does not fit");
	pkt[0] = (uint8_t)(version << 4 | (pkt[0] & 0x0f));
	if (hdr_words > 0) {
		pkt[5] = (uint8_t)(pkt[5] + hdr_words);
		scionpkt_put16(pkt + 6, scionpkt_get16(pkt + 6) - 4 * hdr_words);
	}
	if (cut >= 0) {
		if ((size_t)cut > n)
			memset(pkt + n, 0, (size_t)cut - n);
		n = (size_t)cut;
	}
	for (int k = 0; k < nbytes; k++)
		if (byte_off[k] < n)
			pkt[byte_off[k]] = (uint8_t)byte_val[k];
	file_write(argv[argc - 1], pkt, n);
	return 0;
}

static void
endpoint_format(uint64_t ia, const struct addr *a, char *buf, size_t len)
{
	char iat[ISDAS_STRLEN], at[ADDR_STRLEN] = "svc";

	isdas_format(ia, iat);
	if (a->family != 0)
		addr_format(a, at);
	snprintf(buf, len, "%s,%s", iat, at);
}

static int
cmd_show(const char *path)
{
	static uint8_t pkt[PKT_MAX];
	size_t n = file_read(path, pkt, sizeof(pkt));
	struct scionpkt_view v;
	char src[64], dst[64];

	if (scionpkt_read(pkt, n, &v) < 0) {
		printf("not scion\n");
		return 0;
	}
	endpoint_format(v.src_ia, &v.src, src, sizeof(src));
	endpoint_format(v.dst_ia, &v.dst, dst, sizeof(dst));
	if (v.next_hdr == SCIONPKT_UDP)
		printf("src %s dst %s path %u udp %u %u csum %s\n", src, dst, v.path_type,
		    scionpkt_get16(pkt + v.l4), scionpkt_get16(pkt + v.l4 + 2),
		    v.csum_ok ? "ok" : "bad");
	else
		printf("src %s dst %s path %u scmp %u %u %u %u csum %s quote %zu\n", src, dst,
		    v.path_type, v.scmp_type, v.scmp_code, v.scmp_a, v.scmp_b,
		    v.csum_ok ? "ok" : "bad", v.quote_len);
	return 0;
}

/* A UDP socket for text ("HOST:PORT"): bound to it (bind) or of its family. */
static int
udp_socket(const char *text, int bind_it, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd;

	if (sockaddr_parse(text, ss, len) < 0)
		die("\"%s\": want a numeric HOST:PORT", text);
	if ((fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket: %s", strerror(errno));
	if (bind_it && bind(fd, (struct sockaddr *)ss, *len) < 0)
		die("bind %s: %s", text, strerror(errno));
	return fd;
}

/* Receive into DIR/N.bin until deadline (ns; 0: forever), printing "got LEN FILE" each. The
 * number received. */
static int
receive(int fd, const char *dir, uint64_t deadline)
{
	static uint8_t buf[PKT_MAX];
	char path[4096];
	int got = 0;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		uint64_t now = clock_mono_ns();
		int ms = deadline == 0 ? -1
		    : now >= deadline  ? 0
				       : (int)((deadline - now) / 1000000);
		ssize_t n;

		if (poll(&pf, 1, ms) <= 0)
			return got;
		if ((n = recv(fd, buf, sizeof(buf), 0)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%d.bin", dir, ++got);
		file_write(path, buf, (size_t)n);
		printf("got %zd %s\n", n, path);
		fflush(stdout);
	}
}

static void
send_files(int fd, const struct sockaddr_storage *to, socklen_t tolen, char **files, int n)
{
	static uint8_t pkt[PKT_MAX];

	for (int i = 0; i < n; i++) {
		size_t len = file_read(files[i], pkt, sizeof(pkt));

		if (sendto(fd, pkt, len, 0, (const struct sockaddr *)to, tolen) < 0)
			die("send %s: %s", files[i], strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (argc >= 3 && strcmp(argv[1], "build") == 0)
		return cmd_build(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return cmd_show(argv[2]);
	if (argc == 4 && strcmp(argv[1], "listen") == 0) {
		struct addr a;
		uint16_t port;

		fd = udp_socket(argv[2], 1, &ss, &len);
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    sockaddr_host((struct sockaddr *)&ss, &a, &port) < 0)
			die("getsockname: %s", strerror(errno));
		printf("port %u\n", port);
		fflush(stdout);
		receive(fd, argv[3], 0);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "send") == 0) {
		fd = udp_socket(argv[2], 0, &ss, &len);
		send_files(fd, &ss, len, argv + 3, argc - 3);
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "peer") == 0) {
		uint64_t secs = strtoull(argv[4], NULL, 10);

		fd = udp_socket(argv[2], 0, &ss, &len);
		send_files(fd, &ss, len, argv + 5, argc - 5);
		printf("done %d\n", receive(fd, argv[3], clock_mono_ns() + secs * 1000000000ull));
		return 0;
	}
	fprintf(stderr,
	    "usage: sciontool build OPTION... FILE | show FILE | listen HOST:PORT DIR |\n"
	    "       send HOST:PORT FILE... | peer HOST:PORT DIR SECONDS FILE...\n");
	return 2;
}
