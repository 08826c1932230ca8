/* Fuzzes the gateway's QUIC packet path before a connection is accepted (agent/quic/quic.h,
 * quic_server.c): datagrams from an address the server does not know, through its own UDP
 * socket on loopback and quic_server_read(), so every one meets the real entry: version and
 * connection-id decoding, version negotiation, the stateless reset of an unknown short-header
 * packet, the refusal of a full server, the Retry token check, and a client Initial accepted
 * (a connection made, its crypto frames read by ngtcp2 and GnuTLS).
 *
 * Input: byte 0 picks the Retry policy (mod 3: auto, always, never) and, bit 2, a server that
 * takes one connection at most; then up to DGRAMS_MAX datagrams, each a 16-bit little-endian
 * length and that many bytes (at most QUIC_RX_MAX). A fresh server for every input, so nothing
 * carries over; what it answers is read and dropped. Invariants: never a crash, a leak or a
 * hang; a server limited to one connection never holds more. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/quic/quic.h"
#include "../../lib/log.h"

#define DGRAMS_MAX 4
#define DGRAM_MAX 1500

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz_quicserver.XXXXXX", cert[256], key[256];
static const unsigned char secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
    18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static int peer = -1; /* the unknown client's socket */

static void
cleanup(void)
{
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

static void
init(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};

	log_set_level(LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(cert, sizeof(cert), "%s/quic.crt", dir);
	snprintf(key, sizeof(key), "%s/quic.key", dir);
	if (quic_cert_ensure(cert, key) != 0)
		abort();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((peer = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(peer, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
}

static void
drain(int fd)
{
	static unsigned char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum quic_retry retry[] = {
	    QUIC_RETRY_AUTO, QUIC_RETRY_ALWAYS, QUIC_RETRY_NEVER};
	struct quic_server_config cfg = {0};
	struct quic_callbacks cb = {0};
	struct quic_server *s;
	const struct sockaddr *sa;
	socklen_t salen;
	size_t off = 1;
	int fds[2];

	if (size == 0 || size > DGRAMS_MAX * (DGRAM_MAX + 2) + 1)
		return 0;
	if (peer < 0)
		init();
	cfg.listen = "127.0.0.1:0";
	cfg.cert_file = cert;
	cfg.key_file = key;
	cfg.static_secret = secret;
	cfg.retry = retry[data[0] % 3];
	cfg.retry_rate = 1;
	cfg.max_conns = data[0] & 4 ? 1 : 0;
	if ((s = quic_server_new(&cfg, &cb)) == NULL)
		abort();
	sa = quic_server_addr(s, &salen);
	quic_server_fds(s, fds);
	for (int i = 0; i < DGRAMS_MAX && off + 2 <= size; i++) {
		size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;

		off += 2;
		if (n > size - off)
			n = size - off;
		if (n > DGRAM_MAX)
			n = DGRAM_MAX;
		/* an empty datagram is a datagram too */
		if (sendto(peer, data + off, n, 0, sa, salen) != (ssize_t)n)
			abort();
		off += n;
		quic_server_read(s, fds[0]);
		if (cfg.max_conns == 1 && quic_server_conns(s) > 1)
			__builtin_trap();
	}
	drain(peer);
	quic_server_free(s, 0, "fuzz");
	drain(peer);
	return 0;
}
