/* tunclient: a scriptable client of the tunnel protocol (proto/README.md §1) for the end-to-end
 * tests, built on agent/quic/quic.h (client side) and proto/ctrl.h. It reads commands on stdin, one a
 * line, and writes events on stdout, one a line (flushed each), so that a bash test drives it
 * through a coprocess or fifos (tests/e2e/lib.bash: client_start, client_cmd, client_expect).
 *
 *   tunclient --server HOST:PORT (--pin BASE64 | --pin-cert CERT.pem | --insecure)
 *             [--token T | --token-file F] [--isd-as IA] [--handshake] [--echo] [--quiet]
 *             [--exit-on-close] [--no-stdin] [--idle-timeout-ms N]
 *
 * --pin is the base64 (standard or url-safe, padding optional) SHA-256 of the server's
 * SubjectPublicKeyInfo; --pin-cert computes it from a certificate file. --handshake runs the
 * `handshake` command first; --echo reflects every received IPv4/IPv6 packet with source and
 * destination (addresses and UDP ports) swapped; --quiet prints no `datagram` events;
 * --exit-on-close exits once the connection is gone; --no-stdin reads no commands (then only
 * a signal or --exit-on-close ends it). --isd-as is the ISD-AS of `assign ADDR` requests
 * (default 1-ff00:0:110).
 *
 * Commands run in order. A request command blocks the ones after it until its response has
 * come in full (the server's FIN), its stream was reset, or the connection is gone; commands
 * read before the connection is ready wait for it.
 *
 *   renew [TOKEN]          renew_session with TOKEN (which becomes the current token) or the
 *                          current one
 *   update [TOKEN]         the same on update_token
 *   assign [ADDR]          assign_addresses: no ADDR = the empty list (any address); ADDR is
 *                          an address, "IA,ADDR", "any4" or "any6" (an all-zero address)
 *   socketaddr             assign_socketaddr
 *   handshake              renew, then (if it answered 200) assign any: the normal sequence
 *   raw METHOD PATH [HEX]  a request with that method and path, the current token and the body
 *                          HEX (hex digits)
 *   rawbytes HEX [nofin]   exactly these bytes on a new stream, FIN after them unless nofin
 *   sized N                a renew_session request padded (an x-pad header) to exactly N bytes
 *   token TOKEN            set the current token; token-file FILE reads it from FILE
 *   send DST N SIZE        N UDP packets of SIZE payload bytes from our assigned address
 *                          (its family) to DST, port 4000 -> 5000
 *   spoof SRC DST          one such packet with the source SRC instead
 *   ttl N                  the TTL / hop limit of the packets send and spoof build (1..255,
 *                          default 64)
 *   echo on|off, quiet on|off
 *   stats                  event "stats rx=N rx_bytes=N tx=N tx_bytes=N" (datagrams of ours)
 *   close CODE [REASON]    application close with CODE
 *   wait-close SECONDS     block until the connection is gone (event "timeout wait-close" when
 *                          it is not within SECONDS; fractions allowed)
 *   sleep MS               block for MS milliseconds
 *   reconnect              drop the connection (if any, without a close) and open a new one
 *   quit                   close with code 0 (if connected), wait 1 s at most for it, exit 0
 * An end of stdin is quit (once the commands before it are done); SIGTERM or SIGINT closes with
 * code 0 at once and exits 0.
 *
 * Events:
 *   ready                                  the QUIC handshake completed
 *   response NAME STATUS SUMMARY           NAME: renew, update, assign, socketaddr, raw,
 *                                          rawbytes, sized; SUMMARY: valid_until=T for a 200
 *                                          renewal, IA,ADDR for a 200 assignment, ADDR PORT for
 *                                          a socketaddr, else the body as an escaped "string"
 *   renewed VALID_UNTIL / assigned ADDR IA / sockaddr ADDR PORT (after the response line)
 *   noresponse NAME [bytes=N]              the connection ended before the response did
 *   reset NAME code=N                      the server reset the request's stream
 *   datagram SRC DST LEN [icmp T C [mtu=M]] a received datagram (an IP packet: its addresses;
 *                                          else "? ?"); an ICMP / ICMPv6 one with its type and
 *                                          code, and the MTU of a too-big error
 *   sent N ok=K failed=F                   after send/spoof
 *   closed peer=P app=A code=C idle=I hs_failed=H reason="…"   the connection is gone
 *   timeout wait-close
 *   error TEXT                             a command failed (bad syntax, no connection, …)
 *
 * Exit status: 0 after quit / end of stdin / --exit-on-close, 1 on a setup failure. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/quic/quic.h"
#include "../../lib/addr.h"
#include "../../lib/args.h"
#include "../../lib/b64url.h"
#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/log.h"
#include "../../proto/ctrl.h"

#define LINE_MAX_BYTES 65536
#define RESP_MAX 8192
#define REQ_MAX 65536
#define TOKEN_CAP 4096
#define UDP_SPORT 4000
#define UDP_DPORT 5000

/* The one request in flight. */
struct req {
	int active;
	int64_t sid;
	const char *name; /* static */
	enum ctrl_path path; /* 0 for raw kinds: the response is only summarized as text */
	int handshake; /* a renewal of the handshake command: assign follows a 200 */
	uint8_t buf[RESP_MAX];
	size_t len;
	int overflow;
};

static struct {
	struct quic_client_config cfg;
	unsigned char pin[QUIC_SPKI_PIN_LEN];
	struct quic_callbacks cb;
	struct quic_conn *conn;
	int ready;
	char token[TOKEN_CAP];
	uint64_t isd_as;
	int echo, quiet, exit_on_close, no_stdin;
	int ttl; /* of the packets built; 0: 64 */

	struct addr assigned; /* family 0 until assigned */
	uint64_t assigned_ia;

	struct req req;
	uint64_t sleep_until; /* ns; 0: not sleeping */
	uint64_t wait_close_until; /* ns; 0: not waiting */
	uint64_t quit_until; /* ns; 0: not quitting */

	char in[LINE_MAX_BYTES];
	size_t in_len;
	int in_eof;

	uint64_t rx, rx_bytes, tx, tx_bytes;
} g;

static volatile sig_atomic_t terminated;

static void
on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
event(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* s (len bytes) as a double-quoted string with \" \\ \n \r \t \xNN escapes into out (cap). */
static void
quote(const uint8_t *s, size_t len, char *out, size_t cap)
{
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; i < len && o + 6 < cap; i++) {
		uint8_t ch = s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (ch == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (ch == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (ch < 0x20 || ch >= 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* ---- IP packets ---- */

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A UDP packet src -> dst (same family) with payload bytes of payload (seq and a time first)
 * into out (cap); its length, or 0 when it does not fit. */
static size_t
build_packet(const struct addr *src, const struct addr *dst, size_t payload, uint64_t seq,
    uint8_t *out, size_t cap)
{
	size_t ip_len = src->family == 4 ? 20 : 40, total = ip_len + 8 + payload, alen, i;
	uint8_t *udp = out + ip_len, pseudo[40];
	uint64_t now = clock_mono_ns();
	uint32_t sum;
	uint16_t c;

	if (total > cap || total > 65535)
		return 0;
	memset(out, 0, total);
	for (i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)('a' + i % 26);
	for (i = 0; i < 8 && i < payload; i++)
		udp[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	for (i = 0; i < 8 && i + 8 < payload; i++)
		udp[16 + i] = (uint8_t)(now >> (56 - 8 * i));
	udp[0] = UDP_SPORT >> 8;
	udp[1] = UDP_SPORT & 0xff;
	udp[2] = UDP_DPORT >> 8;
	udp[3] = UDP_DPORT & 0xff;
	udp[4] = (uint8_t)((8 + payload) >> 8);
	udp[5] = (uint8_t)(8 + payload);
	if (src->family == 4) {
		alen = 4;
		out[0] = 0x45;
		out[2] = (uint8_t)(total >> 8);
		out[3] = (uint8_t)total;
		out[6] = 0x40; /* DF */
		out[8] = (uint8_t)(g.ttl ? g.ttl : 64);
		out[9] = 17;
		memcpy(out + 12, src->b, 4);
		memcpy(out + 16, dst->b, 4);
		c = csum_fold(csum_add(0, out, 20));
		out[10] = (uint8_t)(c >> 8);
		out[11] = (uint8_t)c;
	} else {
		alen = 16;
		out[0] = 0x60;
		out[4] = (uint8_t)((8 + payload) >> 8);
		out[5] = (uint8_t)(8 + payload);
		out[6] = 17;
		out[7] = (uint8_t)(g.ttl ? g.ttl : 64);
		memcpy(out + 8, src->b, 16);
		memcpy(out + 24, dst->b, 16);
	}
	memcpy(pseudo, src->b, alen);
	memcpy(pseudo + alen, dst->b, alen);
	sum = csum_add(0, pseudo, 2 * alen);
	sum += 17 + (uint32_t)(8 + payload);
	sum = csum_add(sum, udp, 8 + payload);
	c = csum_fold(sum);
	if (c == 0)
		c = 0xffff;
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
	return total;
}

/* The addresses of an IPv4/IPv6 packet; 0, or -1 when it is not one. */
static int
packet_addrs(const uint8_t *p, size_t len, struct addr *src, struct addr *dst)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (len >= 20 && p[0] >> 4 == 4) {
		src->family = dst->family = 4;
		memcpy(src->b, p + 12, 4);
		memcpy(dst->b, p + 16, 4);
		return 0;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		src->family = dst->family = 6;
		memcpy(src->b, p + 8, 16);
		memcpy(dst->b, p + 24, 16);
		return 0;
	}
	return -1;
}

/* Swap the addresses (and the UDP/TCP ports) of an IP packet in place: the checksums stay
 * right, as both are sums over the swapped fields. */
static int
packet_reflect(uint8_t *p, size_t len)
{
	size_t off, alen, hl;
	uint8_t tmp[16], proto;

	if (len >= 20 && p[0] >> 4 == 4) {
		off = 12, alen = 4, hl = (size_t)(p[0] & 15) * 4, proto = p[9];
	} else if (len >= 40 && p[0] >> 4 == 6) {
		off = 8, alen = 16, hl = 40, proto = p[6];
	} else {
		return -1;
	}
	memcpy(tmp, p + off, alen);
	memmove(p + off, p + off + alen, alen);
	memcpy(p + off + alen, tmp, alen);
	if ((proto == 17 || proto == 6) && len >= hl + 4) {
		memcpy(tmp, p + hl, 2);
		memcpy(p + hl, p + hl + 2, 2);
		memcpy(p + hl + 2, tmp, 2);
	}
	return 0;
}

/* ---- connection ---- */

static void
flush(void)
{
	if (g.conn != NULL)
		quic_client_flush(g.conn);
}

static void
req_finish(void)
{
	g.req.active = 0;
}

static void send_request(const char *name, enum ctrl_path path, const uint8_t *bytes, size_t len,
    int fin, int handshake);

static int
request_for(
    enum ctrl_path path, const char *token, const void *body, size_t blen, uint8_t *out, size_t cap)
{
	ssize_t n = ctrl_request_write(path, token, body, blen, out, cap);

	if (n < 0) {
		event("error cannot write the request: %s", ctrl_err_str((int)n));
		return -1;
	}
	return (int)n;
}

static void
send_assign(const char *name, const struct ctrl_assign *a)
{
	uint8_t body[256], out[REQ_MAX];
	ssize_t blen = ctrl_assign_request_encode(a, body, sizeof(body));
	int n;

	if (blen < 0) {
		event("error cannot encode the assignment: %s", ctrl_err_str((int)blen));
		return;
	}
	n = request_for(CTRL_PATH_ASSIGN_ADDRESSES, g.token, body, (size_t)blen, out, sizeof(out));
	if (n >= 0)
		send_request(name, CTRL_PATH_ASSIGN_ADDRESSES, out, (size_t)n, 1, 0);
}

/* The response of the request in flight is complete (or as complete as it gets). */
static void
response_done(int fin)
{
	struct req *r = &g.req;
	const uint8_t *body;
	size_t blen;
	int status, rv;
	char text[2 * RESP_MAX], a[ADDR_STRLEN], ia[ISDAS_STRLEN];

	rv = ctrl_response_parse(r->buf, r->len, fin, &status, &body, &blen);
	if (rv != CTRL_OK) {
		quote(r->buf, r->len, text, sizeof(text));
		event("response %s malformed %s %s", r->name, ctrl_err_str(rv), text);
		req_finish();
		return;
	}
	if (status == 200 &&
	    (r->path == CTRL_PATH_RENEW_SESSION || r->path == CTRL_PATH_UPDATE_TOKEN)) {
		uint64_t until;

		if (ctrl_session_response_decode(body, blen, &until) != CTRL_OK) {
			event("response %s 200 undecodable", r->name);
		} else {
			event(
			    "response %s 200 valid_until=%llu", r->name, (unsigned long long)until);
			event("renewed %llu", (unsigned long long)until);
		}
	} else if (status == 200 && r->path == CTRL_PATH_ASSIGN_ADDRESSES) {
		struct addr ad;
		uint64_t isd_as;

		if ((rv = ctrl_assign_response_decode(body, blen, &isd_as, &ad)) != CTRL_OK) {
			event("response %s 200 undecodable %s", r->name, ctrl_err_str(rv));
		} else {
			addr_format(&ad, a);
			isdas_format(isd_as, ia);
			g.assigned = ad;
			g.assigned_ia = isd_as;
			event("response %s 200 %s,%s", r->name, ia, a);
			event("assigned %s %s", a, ia);
		}
	} else if (status == 200 && r->path == CTRL_PATH_ASSIGN_SOCKETADDR) {
		struct addr ad;
		uint16_t port;

		if (ctrl_sockaddr_response_decode(body, blen, &ad, &port) != CTRL_OK) {
			event("response %s 200 undecodable", r->name);
		} else {
			addr_format(&ad, a);
			event("response %s 200 %s %u", r->name, a, port);
			event("sockaddr %s %u", a, port);
		}
	} else {
		quote(body, blen, text, sizeof(text));
		event("response %s %d %s", r->name, status, text);
	}
	if (r->handshake && status == 200) {
		struct ctrl_assign any;

		req_finish();
		memset(&any, 0, sizeof(any));
		any.any = 1;
		send_assign("assign", &any);
		return;
	}
	req_finish();
}

static void
send_request(
    const char *name, enum ctrl_path path, const uint8_t *bytes, size_t len, int fin, int handshake)
{
	struct req *r = &g.req;
	int rv;

	if (g.conn == NULL) {
		event("error %s: no connection", name);
		return;
	}
	memset(r, 0, offsetof(struct req, buf));
	if ((rv = quic_stream_open(g.conn, &r->sid)) != 0) {
		event("error %s: cannot open a stream (%d)", name, rv);
		return;
	}
	if ((rv = quic_stream_send(g.conn, r->sid, bytes, len, fin)) != 0) {
		event("error %s: cannot send (%d)", name, rv);
		return;
	}
	r->active = 1;
	r->name = name;
	r->path = path;
	r->handshake = handshake;
	r->len = 0;
}

static void
on_ready(void *arg, struct quic_conn *c)
{
	(void)arg;
	(void)c;
	g.ready = 1;
	event("ready");
}

static void
on_stream_data(
    void *arg, struct quic_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin)
{
	struct req *r = &g.req;
	size_t room;

	(void)arg;
	(void)c;
	if (!r->active || sid != r->sid)
		return;
	room = sizeof(r->buf) - r->len;
	if (len > room) {
		r->overflow = 1;
		len = room;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	if (fin)
		response_done(1);
}

static void
on_stream_reset(void *arg, struct quic_conn *c, int64_t sid, uint64_t code)
{
	(void)arg;
	(void)c;
	if (!g.req.active || sid != g.req.sid)
		return;
	event("reset %s code=%llu", g.req.name, (unsigned long long)code);
	req_finish();
}

static void
on_datagram(void *arg, struct quic_conn *c, const uint8_t *data, size_t len)
{
	struct addr s, d;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	uint8_t copy[QUIC_MAX_DATAGRAM_FRAME];

	(void)arg;
	g.rx++;
	g.rx_bytes += len;
	if (g.echo && len <= sizeof(copy)) {
		memcpy(copy, data, len);
		if (packet_reflect(copy, len) == 0 && quic_datagram_send(c, copy, len) == 0) {
			g.tx++;
			g.tx_bytes += len;
		}
	}
	if (g.quiet)
		return;
	if (packet_addrs(data, len, &s, &d) < 0) {
		event("datagram ? ? %zu", len);
		return;
	}
	addr_format(&s, a);
	addr_format(&d, b);
	if (s.family == 4 && data[9] == 1 && len >= (size_t)(data[0] & 0x0f) * 4 + 8) {
		const uint8_t *icmp = data + (data[0] & 0x0f) * 4;

		if (icmp[0] == 3 && icmp[1] == 4)
			event("datagram %s %s %zu icmp 3 4 mtu=%u", a, b, len,
			    (unsigned)(icmp[6] << 8 | icmp[7]));
		else
			event("datagram %s %s %zu icmp %u %u", a, b, len, icmp[0], icmp[1]);
		return;
	}
	if (s.family == 6 && data[6] == 58 && len >= 48) {
		const uint8_t *icmp = data + 40;

		if (icmp[0] == 2)
			event("datagram %s %s %zu icmp 2 %u mtu=%lu", a, b, len, icmp[1],
			    (unsigned long)icmp[4] << 24 | (unsigned long)icmp[5] << 16 |
				(unsigned long)icmp[6] << 8 | icmp[7]);
		else
			event("datagram %s %s %zu icmp %u %u", a, b, len, icmp[0], icmp[1]);
		return;
	}
	event("datagram %s %s %zu", a, b, len);
}

static void
on_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	char reason[4 * QUIC_REASON_MAX + 8];

	(void)arg;
	(void)c;
	if (g.req.active) {
		if (g.req.len > 0)
			event("noresponse %s bytes=%zu", g.req.name, g.req.len);
		else
			event("noresponse %s", g.req.name);
		req_finish();
	}
	quote((const uint8_t *)how->reason, strlen(how->reason), reason, sizeof(reason));
	event("closed peer=%d app=%d code=%llu idle=%d hs_failed=%d reason=%s", how->by_peer,
	    how->app, (unsigned long long)how->code, how->idle, how->handshake_failed, reason);
	g.conn = NULL;
	g.ready = 0;
	g.wait_close_until = 0;
}

static int
connect_now(void)
{
	g.ready = 0;
	g.conn = quic_client_open(&g.cfg, &g.cb);
	if (g.conn == NULL) {
		event("error cannot open a connection to %s", g.cfg.server);
		return -1;
	}
	flush();
	return 0;
}

/* ---- commands ---- */

static int
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), i;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !((s[2 * i] >= '0' && s[2 * i] <= '9') || (s[2 * i] | 0x20) >= 'a'))
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

static int
set_token(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n >= sizeof(g.token)) {
		event("error bad token length %zu", n);
		return -1;
	}
	memcpy(g.token, t, n + 1);
	return 0;
}

static int
read_token_file(const char *path)
{
	char buf[TOKEN_CAP];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		event("error cannot open %s", path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return set_token(buf);
}

static void
cmd_send(const struct addr *src, const struct addr *dst, long n, long size)
{
	uint8_t pkt[QUIC_MAX_DATAGRAM_FRAME];
	long i, ok = 0, failed = 0;
	static uint64_t seq;

	if (src->family != dst->family) {
		event("error source and destination differ in family");
		return;
	}
	for (i = 0; i < n; i++) {
		size_t len = build_packet(src, dst, (size_t)size, ++seq, pkt, sizeof(pkt));

		if (len == 0 || g.conn == NULL || quic_datagram_send(g.conn, pkt, len) != 0) {
			failed++;
			continue;
		}
		ok++;
		g.tx++;
		g.tx_bytes += len;
		if (ok % 32 == 0)
			flush(); /* leave room in the send queue */
	}
	flush();
	event("sent %ld ok=%ld failed=%ld", n, ok, failed);
}

/* A renew_session request of exactly n bytes, padded with an x-pad header. */
static int
sized_request(size_t n, uint8_t *out, size_t cap)
{
	uint8_t base[REQ_MAX];
	ssize_t blen =
	    ctrl_request_write(CTRL_PATH_RENEW_SESSION, g.token, NULL, 0, base, sizeof(base));
	size_t first, pad;
	const uint8_t *eol;

	if (blen < 0)
		return -1;
	/* "x-pad: <value>\r\n" after the request line: 9 bytes + the value */
	if (n < (size_t)blen + 9 || n > cap)
		return -1;
	pad = n - (size_t)blen - 9;
	eol = memchr(base, '\n', (size_t)blen);
	first = (size_t)(eol - base) + 1;
	memcpy(out, base, first);
	memcpy(out + first, "x-pad: ", 7);
	memset(out + first + 7, 'p', pad);
	memcpy(out + first + 7 + pad, "\r\n", 2);
	memcpy(out + first + 9 + pad, base + first, (size_t)blen - first);
	return (int)n;
}

/* Parse an assign argument into *a. */
static int
parse_assign(const char *arg, struct ctrl_assign *a)
{
	const char *comma, *why;
	char ia[64];

	memset(a, 0, sizeof(*a));
	if (arg == NULL) {
		a->any = 1;
		return 0;
	}
	a->has_request = 1;
	a->isd_as = g.isd_as;
	if ((comma = strchr(arg, ',')) != NULL) {
		if ((size_t)(comma - arg) >= sizeof(ia))
			return -1;
		memcpy(ia, arg, (size_t)(comma - arg));
		ia[comma - arg] = '\0';
		if (isdas_parse(ia, &a->isd_as, &why) < 0)
			return -1;
		arg = comma + 1;
	}
	if (strcmp(arg, "any4") == 0 || strcmp(arg, "any6") == 0) {
		a->addr.family = arg[3] - '0';
		a->any = 1;
		return 0;
	}
	if (addr_parse(arg, &a->addr) < 0)
		return -1;
	a->any = addr_is_zero(&a->addr);
	return 0;
}

static int
need_conn(const char *cmd)
{
	if (g.conn == NULL) {
		event("error %s: no connection", cmd);
		return 0;
	}
	return 1;
}

/* Run one command line. */
static void
run(char *line)
{
	char *argv[8], *save = NULL, *p;
	int argc = 0;
	uint8_t out[REQ_MAX];
	int n;

	for (p = strtok_r(line, " \t\r", &save); p != NULL && argc < 8;
	     p = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = p;
	if (argc == 0 || argv[0][0] == '#')
		return;
#define IS(s) (strcmp(argv[0], (s)) == 0)
	if (IS("renew") || IS("update")) {
		enum ctrl_path path =
		    IS("renew") ? CTRL_PATH_RENEW_SESSION : CTRL_PATH_UPDATE_TOKEN;

		if (argc > 1 && set_token(argv[1]) < 0)
			return;
		if (!need_conn(argv[0]))
			return;
		if ((n = request_for(path, g.token, NULL, 0, out, sizeof(out))) >= 0)
			send_request(IS("renew") ? "renew" : "update", path, out, (size_t)n, 1, 0);
	} else if (IS("handshake")) {
		if (!need_conn(argv[0]))
			return;
		if ((n = request_for(
			 CTRL_PATH_RENEW_SESSION, g.token, NULL, 0, out, sizeof(out))) >= 0)
			send_request("renew", CTRL_PATH_RENEW_SESSION, out, (size_t)n, 1, 1);
	} else if (IS("assign")) {
		struct ctrl_assign a;

		if (parse_assign(argc > 1 ? argv[1] : NULL, &a) < 0) {
			event("error assign: bad address \"%s\"", argv[1]);
			return;
		}
		if (need_conn(argv[0]))
			send_assign("assign", &a);
	} else if (IS("socketaddr")) {
		if (need_conn(argv[0]) &&
		    (n = request_for(
			 CTRL_PATH_ASSIGN_SOCKETADDR, g.token, NULL, 0, out, sizeof(out))) >= 0)
			send_request(
			    "socketaddr", CTRL_PATH_ASSIGN_SOCKETADDR, out, (size_t)n, 1, 0);
	} else if (IS("raw") && argc >= 3) {
		uint8_t body[REQ_MAX / 2];
		int blen = 0;

		if (argc > 3 && (blen = hex_decode(argv[3], body, sizeof(body))) < 0) {
			event("error raw: bad hex body");
			return;
		}
		n = snprintf((char *)out, sizeof(out),
		    "%s %s HTTP/1.1\r\nAuthorization: Bearer %s\r\n\r\n", argv[1], argv[2],
		    g.token);
		if (n < 0 || (size_t)n + (size_t)blen > sizeof(out)) {
			event("error raw: too long");
			return;
		}
		memcpy(out + n, body, (size_t)blen);
		if (need_conn(argv[0]))
			send_request("raw", 0, out, (size_t)n + (size_t)blen, 1, 0);
	} else if (IS("rawbytes") && argc >= 2) {
		int fin = !(argc > 2 && strcmp(argv[2], "nofin") == 0);

		if ((n = hex_decode(argv[1], out, sizeof(out))) < 0) {
			event("error rawbytes: bad hex");
			return;
		}
		if (!need_conn(argv[0]))
			return;
		send_request("rawbytes", 0, out, (size_t)n, fin, 0);
		if (!fin)
			req_finish(); /* nothing will come back before we end it: do not block */
	} else if (IS("sized") && argc == 2) {
		if ((n = sized_request((size_t)atol(argv[1]), out, sizeof(out))) < 0) {
			event("error sized: cannot make a request of %s bytes", argv[1]);
			return;
		}
		if (need_conn(argv[0]))
			send_request("sized", CTRL_PATH_RENEW_SESSION, out, (size_t)n, 1, 0);
	} else if (IS("token") && argc == 2) {
		set_token(argv[1]);
	} else if (IS("token-file") && argc == 2) {
		read_token_file(argv[1]);
	} else if ((IS("send") && argc == 4) || (IS("spoof") && argc >= 3)) {
		struct addr src, dst;
		long cnt = 1, size = 64;

		if (IS("send")) {
			if (g.assigned.family == 0) {
				event("error send: no address assigned");
				return;
			}
			src = g.assigned;
			cnt = atol(argv[2]);
			size = atol(argv[3]);
			p = argv[1];
		} else {
			if (addr_parse(argv[1], &src) < 0) {
				event("error spoof: bad source");
				return;
			}
			p = argv[2];
		}
		if (addr_parse(p, &dst) < 0 || cnt < 0 || size < 16) {
			event("error %s: bad destination, count or size (>= 16)", argv[0]);
			return;
		}
		if (need_conn(argv[0]))
			cmd_send(&src, &dst, cnt, size);
	} else if (IS("ttl") && argc == 2) {
		long ttl = atol(argv[1]);

		if (ttl < 1 || ttl > 255) {
			event("error ttl: 1 to 255");
			return;
		}
		g.ttl = (int)ttl;
	} else if ((IS("echo") || IS("quiet")) && argc == 2) {
		*(IS("echo") ? &g.echo : &g.quiet) = strcmp(argv[1], "on") == 0;
	} else if (IS("stats")) {
		event("stats rx=%llu rx_bytes=%llu tx=%llu tx_bytes=%llu", (unsigned long long)g.rx,
		    (unsigned long long)g.rx_bytes, (unsigned long long)g.tx,
		    (unsigned long long)g.tx_bytes);
	} else if (IS("close") && argc >= 2) {
		char reason[256] = "";
		int i;

		for (i = 2; i < argc; i++) {
			if (i > 2)
				strncat(reason, " ", sizeof(reason) - strlen(reason) - 1);
			strncat(reason, argv[i], sizeof(reason) - strlen(reason) - 1);
		}
		if (need_conn(argv[0])) {
			quic_conn_close(g.conn, (uint64_t)strtoull(argv[1], NULL, 10), reason);
			flush();
		}
	} else if (IS("wait-close") && argc == 2) {
		if (g.conn != NULL)
			g.wait_close_until = clock_mono_ns() + (uint64_t)(atof(argv[1]) * 1e9);
	} else if (IS("sleep") && argc == 2) {
		g.sleep_until = clock_mono_ns() + (uint64_t)atol(argv[1]) * 1000000u;
	} else if (IS("reconnect")) {
		if (g.conn != NULL) {
			quic_client_free(g.conn);
			g.conn = NULL;
		}
		req_finish();
		memset(&g.assigned, 0, sizeof(g.assigned));
		connect_now();
	} else if (IS("quit")) {
		g.quit_until = clock_mono_ns() + 1000000000u;
		if (g.conn != NULL) {
			quic_conn_close(g.conn, 0, "");
			flush();
		}
	} else {
		event("error unknown command or arguments: %s", argv[0]);
	}
#undef IS
}

/* Whether a command is still running (the ones after it wait). */
static int
blocked(void)
{
	uint64_t now = clock_mono_ns();

	if (g.quit_until != 0)
		return 1;
	if (g.req.active)
		return 1;
	if (g.sleep_until != 0) {
		if (now < g.sleep_until)
			return 1;
		g.sleep_until = 0;
	}
	if (g.wait_close_until != 0) {
		if (g.conn != NULL && now < g.wait_close_until)
			return 1;
		if (g.conn != NULL)
			event("timeout wait-close");
		g.wait_close_until = 0;
	}
	if (g.conn != NULL && !g.ready)
		return 1; /* the handshake is under way */
	return 0;
}

static void
run_commands(void)
{
	char *nl;
	size_t used;

	while (!blocked() && (nl = memchr(g.in, '\n', g.in_len)) != NULL) {
		*nl = '\0';
		used = (size_t)(nl - g.in) + 1;
		run(g.in);
		memmove(g.in, g.in + used, g.in_len - used);
		g.in_len -= used;
	}
	if (!blocked() && g.in_eof && g.in_len == 0 && g.quit_until == 0) {
		char q[] = "quit";

		run(q);
	}
	flush();
}

static void
read_stdin(void)
{
	ssize_t n;

	if (g.in_len == sizeof(g.in)) {
		event("error command line too long: dropped");
		g.in_len = 0;
	}
	n = read(0, g.in + g.in_len, sizeof(g.in) - g.in_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		g.in_eof = 1;
		if (g.in_len > 0 && g.in_len < sizeof(g.in))
			g.in[g.in_len++] = '\n'; /* a last line without its newline */
		return;
	}
	g.in_len += (size_t)n;
}

static int
parse_pin(const char *s)
{
	char buf[128];
	size_t n = 0;
	ssize_t got;

	for (; *s != '\0' && n + 1 < sizeof(buf); s++) {
		if (*s == '=')
			continue;
		buf[n++] = *s == '+' ? '-' : *s == '/' ? '_' : *s;
	}
	got = b64url_decode(buf, n, g.pin, sizeof(g.pin));
	return got == QUIC_SPKI_PIN_LEN ? 0 : -1;
}

static void
usage_print(FILE *f)
{
	fprintf(f,
	    "usage: tunclient --server HOST:PORT (--pin BASE64 | --pin-cert FILE | --insecure)\n"
	    "                 [--token T | --token-file F] [--isd-as IA] [--handshake] [--echo]\n"
	    "                 [--quiet] [--exit-on-close] [--no-stdin] [--idle-timeout-ms N]\n"
	    "                 [--log-level LEVEL]\n"
	    "       tunclient --help | --version\n"
	    "commands on stdin: see the top of tests/tools/tunclient.c\n");
}

static void
usage(void)
{
	usage_print(stderr);
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-cert", required_argument, NULL, 'c'},
	    {"insecure", no_argument, NULL, 'i'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"isd-as", required_argument, NULL, 'a'},
	    {"handshake", no_argument, NULL, 'h'},
	    {"echo", no_argument, NULL, 'e'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"exit-on-close", no_argument, NULL, 'x'},
	    {"no-stdin", no_argument, NULL, 'n'},
	    {"idle-timeout-ms", required_argument, NULL, 'I'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'H'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c, pinned = 0, insecure = 0, handshake = 0, lvl;
	const char *why;
	struct pollfd pfd[2];

	g.isd_as = 0x0001ff0000000110ull;
	log_set_level(LOG_WARN);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': g.cfg.server = optarg; break;
		case 'p':
			if (parse_pin(optarg) < 0) {
				fprintf(stderr, "tunclient: --pin is not a base64 SHA-256\n");
				return 1;
			}
			pinned = 1;
			break;
		case 'c':
			if (quic_cert_spki_pin(optarg, g.pin) < 0) {
				fprintf(stderr, "tunclient: no pin from %s\n", optarg);
				return 1;
			}
			pinned = 1;
			break;
		case 'i': insecure = 1; break;
		case 't':
			if (set_token(optarg) < 0)
				return 1;
			break;
		case 'T':
			if (read_token_file(optarg) < 0)
				return 1;
			break;
		case 'a':
			if (isdas_parse(optarg, &g.isd_as, &why) < 0) {
				fprintf(stderr, "tunclient: --isd-as: %s\n", why);
				return 1;
			}
			break;
		case 'h': handshake = 1; break;
		case 'H': usage_print(stdout); exit(0);
		case 'V': args_version("tunclient");
		case 'e': g.echo = 1; break;
		case 'q': g.quiet = 1; break;
		case 'x': g.exit_on_close = 1; break;
		case 'n': g.no_stdin = 1; break;
		case 'I':
			g.cfg.idle_timeout_ns =
			    args_uint("--idle-timeout-ms", optarg, 0, UINT64_MAX / 1000000u) *
			    1000000u;
			break;
		case 'L':
			if ((lvl = log_level_parse(optarg)) < 0)
				usage();
			log_set_level((enum log_level)lvl);
			break;
		default: usage();
		}
	}
	if (optind != argc || g.cfg.server == NULL || (!pinned && !insecure))
		usage();
	g.cfg.spki_pin = pinned ? g.pin : NULL;
	if (g.token[0] == '\0')
		strcpy(g.token, "none");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	g.cb.conn_ready = on_ready;
	g.cb.stream_data = on_stream_data;
	g.cb.stream_reset = on_stream_reset;
	g.cb.datagram = on_datagram;
	g.cb.conn_closed = on_closed;
	if (handshake) {
		memcpy(g.in, "handshake\n", 10);
		g.in_len = 10;
	}
	if (connect_now() < 0)
		return 1;

	for (;;) {
		uint64_t now, until = UINT64_MAX, t;
		struct timespec ts;
		int nfds = 0, i, stdin_at = -1, conn_at = -1;

		if (terminated) {
			if (g.conn != NULL) {
				quic_conn_close(g.conn, 0, "");
				flush();
			}
			break;
		}
		run_commands();
		now = clock_mono_ns();
		if (g.quit_until != 0 && (g.conn == NULL || now >= g.quit_until))
			break;
		if (g.exit_on_close && g.conn == NULL && !g.req.active)
			break;
		if (g.conn != NULL) {
			until = quic_client_expiry(g.conn);
			pfd[nfds].fd = quic_client_fd(g.conn);
			pfd[nfds].events = POLLIN;
			conn_at = nfds++;
		}
		if (!g.no_stdin && !g.in_eof) {
			pfd[nfds].fd = 0;
			pfd[nfds].events = POLLIN;
			stdin_at = nfds++;
		}
		for (i = 0; i < 3; i++) {
			t = i == 0 ? g.sleep_until : i == 1 ? g.wait_close_until : g.quit_until;
			if (t != 0 && t < until)
				until = t;
		}
		if (until != UINT64_MAX) {
			t = until > now ? until - now : 0;
			ts.tv_sec = (time_t)(t / 1000000000u);
			ts.tv_nsec = (long)(t % 1000000000u);
		}
		if (nfds == 0 && until == UINT64_MAX) {
			/* nothing can happen any more */
			if (g.no_stdin || g.in_eof)
				break;
		}
		if (ppoll(pfd, (nfds_t)nfds, until == UINT64_MAX ? NULL : &ts, NULL) < 0 &&
		    errno != EINTR) {
			perror("tunclient: ppoll");
			return 1;
		}
		if (stdin_at >= 0 && (pfd[stdin_at].revents & (POLLIN | POLLHUP | POLLERR)))
			read_stdin();
		if (conn_at >= 0 && g.conn != NULL && (pfd[conn_at].revents & POLLIN))
			quic_client_read(g.conn);
		if (g.conn != NULL && quic_client_expiry(g.conn) <= clock_mono_ns())
			quic_client_expire(g.conn, clock_mono_ns());
	}
	if (g.conn != NULL)
		quic_client_free(g.conn);
	return 0;
}
