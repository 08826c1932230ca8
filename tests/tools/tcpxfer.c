/* tcpxfer: a TCP transfer whose two ends print the SHA-256 of the bytes they saw, for the
 * end-to-end tests that carry TCP through the tunnel: equal hashes mean every byte arrived, in
 * order, unchanged.
 *
 *   tcpxfer serve ADDR PORT
 *       Listen on ADDR:PORT (IPv4 or IPv6 literal; PORT 0 picks one), print "listening PORT",
 *       accept one connection, read it to its end, print "received BYTES SHA256" and exit.
 *
 *   tcpxfer send ADDR PORT BYTES SEED [RATE]
 *       Connect, send BYTES pseudo-random bytes drawn from SEED (the same SEED always gives the
 *       same bytes), at most RATE bytes per second when given (a transfer that lasts long enough
 *       to span an event of the test), close the sending side, wait for the server to close its
 *       side (so that the bytes were all taken), print "sent BYTES SHA256" and exit.
 *
 * Exit status 0, or 1 with a message on stderr. A wait is unbounded here; the tests run it under
 * timeout(1). */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 16384

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tcpxfer serve ADDR PORT\n"
	    "       tcpxfer send ADDR PORT BYTES SEED [RATE]\n");
	exit(1);
}

static void
die(const char *what)
{
	fprintf(stderr, "tcpxfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
number(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		fprintf(stderr, "tcpxfer: %s \"%s\" is not a number\n", what, s);
		exit(1);
	}
	return v;
}

/* ADDR PORT into a socket address; its length. */
static socklen_t
endpoint(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint64_t p = number(port, "port");

	if (p > 65535) {
		fprintf(stderr, "tcpxfer: port %s is over 65535\n", port);
		exit(1);
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		return sizeof(*sin6);
	}
	fprintf(stderr, "tcpxfer: \"%s\" is not an IPv4 or IPv6 address\n", addr);
	exit(1);
}

static void
hash_print(const char *verb, uint64_t n, gnutls_hash_hd_t h)
{
	unsigned char d[32];
	size_t i;

	gnutls_hash_deinit(h, d);
	printf("%s %" PRIu64 " ", verb, n);
	for (i = 0; i < sizeof(d); i++)
		printf("%02x", d[i]);
	printf("\n");
}

static int
serve(const char *addr, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint(addr, port, &ss);
	static unsigned char buf[CHUNK];
	gnutls_hash_hd_t h;
	uint64_t n = 0;
	ssize_t r;
	int fd, c, one = 1;

	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (listen(fd, 1) < 0)
		die("listen");
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	printf("listening %u\n",
	    ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					  : ((struct sockaddr_in6 *)&ss)->sin6_port));
	fflush(stdout);
	if ((c = accept(fd, NULL, NULL)) < 0)
		die("accept");
	close(fd);
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return fprintf(stderr, "tcpxfer: no SHA-256\n"), 1;
	while ((r = read(c, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		gnutls_hash(h, buf, (size_t)r);
		n += (uint64_t)r;
	}
	close(c);
	hash_print("received", n, h);
	return 0;
}

/* xorshift64*: fast, and the same bytes on every machine for a SEED (not for secrets). */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
send_bytes(const char *addr, const char *port, uint64_t total, uint64_t seed, uint64_t rate)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint(addr, port, &ss);
	static unsigned char buf[CHUNK];
	gnutls_hash_hd_t h;
	uint64_t n = 0, s = seed * 0x9e3779b97f4a7c15ULL + 1; /* never the all-zero state */
	double start = now(), ahead;
	size_t want, i, off;
	ssize_t r;
	int fd;

	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("connect");
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return fprintf(stderr, "tcpxfer: no SHA-256\n"), 1;
	/* Smaller writes when paced, so that the rate holds within a second too. */
	want = rate != 0 && rate / 10 < CHUNK ? (size_t)(rate / 10 + 8) & ~(size_t)7 : CHUNK;
	while (n < total) {
		if (want > total - n)
			want = (size_t)(total - n);
		for (i = 0; i < want; i += 8) {
			uint64_t v = next(&s);
			memcpy(buf + i, &v, want - i < 8 ? want - i : 8);
		}
		gnutls_hash(h, buf, want);
		for (off = 0; off < want; off += (size_t)r) {
			if ((r = write(fd, buf + off, want - off)) < 0) {
				if (errno == EINTR) {
					r = 0;
					continue;
				}
				die("write");
			}
		}
		n += want;
		if (rate != 0 && (ahead = (double)n / (double)rate - (now() - start)) > 0) {
			struct timespec ts = {
			    (time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	/* The server closes once it has read everything: our end of the stream then reads 0. */
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno != EINTR)
			die("read");
	}
	close(fd);
	hash_print("sent", n, h);
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argv[3]);
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "send") == 0)
		return send_bytes(argv[2], argv[3], number(argv[4], "byte count"),
		    number(argv[5], "seed"), argc == 7 ? number(argv[6], "rate") : 0);
	usage();
}
