/* Fuzzes the tunnel control codec (proto/ctrl.h).
 *
 * Input: byte 0 gives the number n (low 4 bits) of split-schedule bytes that follow; the rest is
 * the stream. The stream is fed to ctrl_parse() as a receiver sees it: growing prefixes, each cut
 * where the schedule says, each in a heap copy of exactly its length (ASan catches any read past
 * it), without fin; then whole with fin. Invariants:
 * - never a crash or a read outside the bytes given;
 * - a token or body returned lies inside them; body == buf + head_len and runs to the end;
 * - CTRL_OK means: at most 4095 bytes, "POST <known path> HTTP/1.1" first, the token preceded by
 *   "Bearer " on a line that starts with "Authorization:", and a non-empty token;
 * - once a prefix gets an error, every longer prefix and the whole stream get the same one; a
 *   prefix's CTRL_OK stays CTRL_OK (same path, token) or becomes CTRL_ERR_TOO_BIG;
 * - ctrl_response_parse() obeys the same rules on the same stream;
 * - the stream as an AddressAssignRequest body: a result that follows §1.3, and a decoded request
 *   encodes and decodes back to itself;
 * - the stream as the body of a request written by ctrl_request_write() parses back unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/ctrl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one prefix gave. */
struct seen {
	int rv;
	enum ctrl_path path;
	size_t token_off, token_len;
};

static void
check_req(const uint8_t *p, size_t k, int fin, int rv, const struct ctrl_req *r)
{
	const uint8_t *line;
	const char *path;

	if (rv > CTRL_NEED_MORE || rv < CTRL_ERR_PREMATURE || (fin && rv == CTRL_NEED_MORE))
		__builtin_trap();
	if (rv != CTRL_OK)
		return;
	if (k > CTRL_MSG_MAX || r->head_len > k || r->body != p + r->head_len ||
	    r->body_len != k - r->head_len || r->complete != (fin != 0) || r->head_len < 4 ||
	    p[r->head_len - 1] != '\n' || r->nheaders < 1 || r->nheaders > CTRL_HEADERS_MAX)
		__builtin_trap();
	if (r->token_len == 0 || r->token < p + 7 || r->token + r->token_len > p + r->head_len)
		__builtin_trap();
	if ((path = ctrl_path_str(r->path)) == NULL || k < 5 + strlen(path) + 9 ||
	    memcmp(p, "POST ", 5) != 0 || memcmp(p + 5, path, strlen(path)) != 0 ||
	    memcmp(p + 5 + strlen(path), " HTTP/1.1", 9) != 0)
		__builtin_trap();
	if (memcmp(r->token - 7, "Bearer ", 7) != 0)
		__builtin_trap();
	for (line = r->token - 7; line > p && line[-1] != '\n'; line--)
		;
	if (line == p || r->token - line < 21 || memcmp(line, "Authorization:", 14) != 0)
		__builtin_trap();
	for (const uint8_t *q = r->token; q < r->token + r->token_len; q++)
		if (*q == '\n' || *q == '\r')
			__builtin_trap();
}

/* ctrl_parse() on a heap copy of the first k bytes. */
static int
parse_prefix(const uint8_t *s, size_t k, int fin, struct seen *out)
{
	uint8_t *p = malloc(k ? k : 1);
	struct ctrl_req r;
	int rv;

	if (p == NULL)
		abort();
	memcpy(p, s, k);
	rv = ctrl_parse(p, k, fin, &r);
	check_req(p, k, fin, rv, &r);
	out->rv = rv;
	if (rv == CTRL_OK) {
		out->path = r.path;
		out->token_off = (size_t)(r.token - p);
		out->token_len = r.token_len;
	}
	free(p);
	return rv;
}

static int
parse_response_prefix(const uint8_t *s, size_t k, int fin)
{
	uint8_t *p = malloc(k ? k : 1);
	const uint8_t *body;
	size_t blen;
	int rv, status;

	if (p == NULL)
		abort();
	memcpy(p, s, k);
	rv = ctrl_response_parse(p, k, fin, &status, &body, &blen);
	if (rv > CTRL_NEED_MORE || rv < CTRL_ERR_PREMATURE || rv == CTRL_ERR_METHOD ||
	    rv == CTRL_ERR_PATH || rv == CTRL_ERR_UNAUTHENTICATED || (fin && rv == CTRL_NEED_MORE))
		__builtin_trap();
	if (rv == CTRL_OK &&
	    (k > CTRL_MSG_MAX || status < 100 || status > 599 || body < p || body + blen != p + k ||
		memcmp(p, "HTTP/1.1 ", 9) != 0))
		__builtin_trap();
	free(p);
	return rv;
}

/* A prefix's answer against the final one (see the top comment). */
static void
agree(const struct seen *early, const struct seen *late)
{
	if (early->rv == CTRL_NEED_MORE)
		return;
	if (early->rv < 0 && late->rv != early->rv)
		__builtin_trap();
	if (early->rv == CTRL_OK && late->rv != CTRL_ERR_TOO_BIG &&
	    (late->rv != CTRL_OK || late->path != early->path ||
		late->token_off != early->token_off || late->token_len != early->token_len))
		__builtin_trap();
}

static void
feed(const uint8_t *s, size_t len, const uint8_t *sched, size_t nsched)
{
	struct seen prev = {CTRL_NEED_MORE, 0, 0, 0}, cur, fin;
	int rprev = CTRL_NEED_MORE, rcur, rfin;
	size_t k = 0, step = 0;

	while (nsched > 0 && k < len) {
		unsigned v = sched[step++ % nsched];

		k += 1 + (size_t)v * v / 8;
		if (k >= len)
			break;
		parse_prefix(s, k, 0, &cur);
		agree(&prev, &cur);
		prev = cur;
		rcur = parse_response_prefix(s, k, 0);
		if (rprev < 0 && rcur != rprev)
			__builtin_trap();
		rprev = rcur;
		if (step > 64)
			break;
	}
	parse_prefix(s, len, 0, &cur);
	agree(&prev, &cur);
	parse_prefix(s, len, 1, &fin);
	agree(&cur, &fin);
	if (fin.rv == CTRL_NEED_MORE)
		__builtin_trap();
	rfin = parse_response_prefix(s, len, 1);
	if (rprev < 0 && rfin != rprev)
		__builtin_trap();
}

static void
assign(const uint8_t *s, size_t len)
{
	uint8_t buf[64];
	struct ctrl_assign a, b;
	ssize_t n;
	int rv = ctrl_assign_request_decode(s, len, &a);

	if (rv != CTRL_OK && rv != CTRL_ERR_DECODE && rv != CTRL_ERR_BAD_RANGE &&
	    rv != CTRL_ERR_NOT_IMPLEMENTED)
		__builtin_trap();
	if (rv != CTRL_OK)
		return;
	if (!a.has_request) {
		if (!a.any || a.addr.family != 0)
			__builtin_trap();
	} else if ((a.addr.family != 4 && a.addr.family != 6) || (a.isd_as >> 48) == 0 ||
	    (a.isd_as & 0xffffffffffffULL) == 0) {
		__builtin_trap();
	}
	n = ctrl_assign_request_encode(&a, buf, sizeof(buf));
	if (n < 0 || ctrl_assign_request_decode(buf, (size_t)n, &b) != CTRL_OK ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		__builtin_trap();
}

static void
other_bodies(const uint8_t *s, size_t len)
{
	uint8_t buf[64];
	struct addr a, b;
	uint64_t ia, ib;
	uint16_t port, port2;
	ssize_t n;

	if (ctrl_assign_response_decode(s, len, &ia, &a) == CTRL_OK) {
		n = ctrl_assign_response_encode(ia, &a, buf, sizeof(buf));
		if (n < 0 || ctrl_assign_response_decode(buf, (size_t)n, &ib, &b) != CTRL_OK ||
		    ia != ib || memcmp(&a, &b, sizeof(a)) != 0)
			__builtin_trap();
	}
	if (ctrl_sockaddr_response_decode(s, len, &a, &port) == CTRL_OK) {
		n = ctrl_sockaddr_response_encode(&a, port, buf, sizeof(buf));
		if (n < 0 || ctrl_sockaddr_response_decode(buf, (size_t)n, &b, &port2) != CTRL_OK ||
		    port != port2 || memcmp(&a, &b, sizeof(a)) != 0)
			__builtin_trap();
	}
	if (ctrl_session_response_decode(s, len, &ia) == CTRL_OK) {
		n = ctrl_session_response_encode(ia, buf, sizeof(buf));
		if (n < 0 || ctrl_session_response_decode(buf, (size_t)n, &ib) != CTRL_OK ||
		    ia != ib)
			__builtin_trap();
	}
}

static void
write_back(const uint8_t *s, size_t len, unsigned pick)
{
	static uint8_t out[CTRL_MSG_MAX + 1];
	enum ctrl_path path = (enum ctrl_path)(1 + pick % CTRL_PATH_LAST);
	struct ctrl_req r;
	const uint8_t *body;
	size_t blen;
	ssize_t n = ctrl_request_write(path, "tok.en", s, len, out, sizeof(out));
	int status;

	if (n < 0) {
		if (n != CTRL_ERR_TOO_BIG || len < CTRL_MSG_MAX - 300)
			__builtin_trap();
	} else if (ctrl_parse(out, (size_t)n, 1, &r) != CTRL_OK || r.path != path ||
	    r.body_len != len || memcmp(r.body, s, len) != 0 || r.token_len != 6) {
		__builtin_trap();
	}
	n = ctrl_response(pick % 2 ? 200 : 503, s, len, out, sizeof(out));
	if (n < 0) {
		if (n != CTRL_ERR_TOO_BIG || len < CTRL_MSG_MAX - 100)
			__builtin_trap();
	} else if (ctrl_response_parse(out, (size_t)n, 1, &status, &body, &blen) != CTRL_OK ||
	    status != (pick % 2 ? 200 : 503) || blen != len || memcmp(body, s, len) != 0) {
		__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nsched;

	if (size == 0)
		return 0;
	nsched = data[0] % 16;
	if (nsched > size - 1)
		nsched = size - 1;
	const uint8_t *sched = data + 1, *s = data + 1 + nsched;
	size_t len = size - 1 - nsched;

	feed(s, len, sched, nsched);
	assign(s, len);
	other_bodies(s, len);
	write_back(s, len, data[0] >> 4);
	return 0;
}
