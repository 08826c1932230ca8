/* Tunnel control requests (proto/ctrl.h). Golden files: every tests/data/ctrl/NAME.in is a
 * request stream, parsed whole with fin; its verdict (and for assign_addresses the decoded body)
 * rendered as text must equal NAME.out. Each is also parsed at every shorter length without fin:
 * the answer must be "need more" or the final one (CTRL_OK may still turn into too big), with
 * token and body inside the bytes given. CTRL_GOLDEN_UPDATE=1 (make golden) rewrites the .out
 * files instead of comparing. Then, by hand: 4095 bytes fit and 4096 do not, NEED_MORE until the
 * header block is in, the exact SDK request bytes, the error mapping, the response writer and
 * parser, and the protobuf bodies both ways. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/isdas.h"
#include "../../proto/ctrl.h"
#include "proto/snaptun.pb-c.h"
#include "check.h"

#define DATA_DIR "tests/data/ctrl" /* make test runs from the repository root */
#define TEXT_MAX 65536

static const char *
err_name(int err)
{
	switch (err) {
	case CTRL_NEED_MORE: return "NEED_MORE";
	case CTRL_OK: return "OK";
	case CTRL_ERR_METHOD: return "ERR_METHOD";
	case CTRL_ERR_PATH: return "ERR_PATH";
	case CTRL_ERR_UNAUTHENTICATED: return "ERR_UNAUTHENTICATED";
	case CTRL_ERR_TOO_BIG: return "ERR_TOO_BIG";
	case CTRL_ERR_HEADERS: return "ERR_HEADERS";
	case CTRL_ERR_PREMATURE: return "ERR_PREMATURE";
	case CTRL_ERR_DECODE: return "ERR_DECODE";
	case CTRL_ERR_BAD_RANGE: return "ERR_BAD_RANGE";
	case CTRL_ERR_NOT_IMPLEMENTED: return "ERR_NOT_IMPLEMENTED";
	case CTRL_ERR_SPACE: return "ERR_SPACE";
	case CTRL_ERR_INVALID: return "ERR_INVALID";
	}
	return "?";
}

/* Append printf output to the text being built. */
static void __attribute__((format(printf, 3, 4))) put(char *t, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(t + *n, TEXT_MAX - *n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= TEXT_MAX - *n)
		abort();
	*n += (size_t)k;
}

/* Bytes quoted: printable ASCII as is, \r \n \t \" \\, the rest \xNN. */
static void
put_bytes(char *t, size_t *n, const uint8_t *p, size_t len)
{
	put(t, n, "\"");
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			put(t, n, "\\r");
		else if (p[i] == '\n')
			put(t, n, "\\n");
		else if (p[i] == '\t')
			put(t, n, "\\t");
		else if (p[i] == '"' || p[i] == '\\')
			put(t, n, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			put(t, n, "%c", p[i]);
		else
			put(t, n, "\\x%02x", p[i]);
	}
	put(t, n, "\"\n");
}

static void
put_err(char *t, size_t *n, const char *what, int rv)
{
	put(t, n, "%s: %s (%s)\n", what, err_name(rv), ctrl_err_str(rv));
	put(t, n, "status: %d\nclose: %d\n", ctrl_err_status(rv), ctrl_err_close(rv));
}

/* The verdict on a whole stream as text. */
static void
render(const uint8_t *buf, size_t len, char *t, size_t *n)
{
	struct ctrl_req r;
	struct ctrl_assign a;
	char ia[ISDAS_STRLEN], ad[ADDR_STRLEN];
	int rv = ctrl_parse(buf, len, 1, &r);

	put_err(t, n, "result", rv);
	if (rv != CTRL_OK)
		return;
	put(t, n, "path: %s\n", ctrl_path_str(r.path));
	put(t, n, "token: ");
	put_bytes(t, n, r.token, r.token_len);
	put(t, n, "headers: %u\nhead_len: %zu\nbody_len: %zu\nbody: ", r.nheaders, r.head_len,
	    r.body_len);
	put_bytes(t, n, r.body, r.body_len);
	if (r.path != CTRL_PATH_ASSIGN_ADDRESSES)
		return;
	rv = ctrl_assign_request_decode(r.body, r.body_len, &a);
	put_err(t, n, "assign", rv);
	if (rv != CTRL_OK)
		return;
	if (!a.has_request) {
		put(t, n, "assign_request: any address, any family\n");
		return;
	}
	isdas_format(a.isd_as, ia);
	addr_format(&a.addr, ad);
	put(t, n, "assign_request: %s v%d %s%s\n", ia, a.addr.family, ad, a.any ? " (any)" : "");
}

/* The answers for every shorter length without fin agree with final (see the top comment). */
static int
splits_agree(const uint8_t *buf, size_t len, int final, size_t *bad)
{
	struct ctrl_req r;
	uint8_t *p;
	int rv;

	for (size_t k = 0; k < len; k++) {
		/* A copy of exactly k bytes: ASan sees any read past them. */
		if ((p = malloc(k + 1)) == NULL)
			abort();
		memcpy(p, buf, k);
		rv = ctrl_parse(p, k, 0, &r);
		if (rv == CTRL_OK &&
		    (r.token < p || r.token + r.token_len > p + k || r.body != p + r.head_len ||
			r.head_len + r.body_len != k || r.complete))
			rv = -100;
		free(p);
		if (rv == CTRL_NEED_MORE || rv == final ||
		    (rv == CTRL_OK && final == CTRL_ERR_TOO_BIG))
			continue;
		*bad = k;
		return 0;
	}
	return 1;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		if (*len != (size_t)n) {
			free(p);
			p = NULL;
		}
	}
	fclose(f);
	return p;
}

static int
is_in(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 3 && strcmp(d->d_name + n - 3, ".in") == 0;
}

static void
golden(void)
{
	static char got[TEXT_MAX];
	struct dirent **ents;
	struct ctrl_req r;
	int update = getenv("CTRL_GOLDEN_UPDATE") != NULL, nent;
	char path[512];

	nent = scandir(DATA_DIR, &ents, is_in, alphasort);
	CHECK(nent >= 80, "golden: %d request files in %s (run from the repository root)", nent,
	    DATA_DIR);
	for (int i = 0; i < nent; i++) {
		const char *name = ents[i]->d_name;
		uint8_t *in, *want;
		size_t len, wlen, n = 0, bad = 0;
		int ok;

		snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
		if ((in = slurp(path, &len)) == NULL) {
			CHECK(0, "golden %s: readable", name);
			continue;
		}
		render(in, len, got, &n);
		ok = splits_agree(in, len, ctrl_parse(in, len, 1, &r), &bad);
		CHECK(ok, "golden %s: every shorter feed says need-more or the same", name);
		if (!ok)
			printf("#   not at length %zu\n", bad);
		snprintf(path + strlen(path) - 3, 5, ".out");
		if (update) {
			FILE *f = fopen(path, "wb");

			CHECK(f != NULL && fwrite(got, 1, n, f) == n && fclose(f) == 0,
			    "golden %s: updated", path);
		} else {
			want = slurp(path, &wlen);
			CHECK(want != NULL && wlen == n && memcmp(want, got, n) == 0,
			    "golden %s matches %s", name, path);
			if (want == NULL || wlen != n || memcmp(want, got, n) != 0)
				printf("# got:\n%.*s", (int)n, got);
			free(want);
		}
		free(in);
		free(ents[i]);
	}
	if (nent >= 0)
		free(ents);
}

/* A renew_session request of exactly total bytes: the SDK head plus a body of 'x'. */
static size_t
sized_request(uint8_t *buf, size_t total)
{
	ssize_t h = ctrl_request_write(CTRL_PATH_RENEW_SESSION, "tok", NULL, 0, buf, 8192);

	if (h < 0 || (size_t)h > total)
		abort();
	memset(buf + h, 'x', total - (size_t)h);
	return total;
}

static void
sizes(void)
{
	static uint8_t buf[8192];
	struct ctrl_req r;
	size_t len;
	int rv;

	len = sized_request(buf, CTRL_MSG_MAX);
	rv = ctrl_parse(buf, len, 1, &r);
	CHECK(rv == CTRL_OK && r.head_len + r.body_len == 4095, "4095 bytes fit (%s)",
	    ctrl_err_str(rv));
	len = sized_request(buf, CTRL_MSG_MAX + 1);
	CHECK_EQ_INT(ctrl_parse(buf, len, 1, &r), CTRL_ERR_TOO_BIG, "4096 bytes are too big");
	CHECK_EQ_INT(ctrl_parse(buf, len, 0, &r), CTRL_ERR_TOO_BIG,
	    "4096 bytes are too big before the FIN too");
	CHECK_EQ_INT(ctrl_parse(buf, len - 1, 0, &r), CTRL_OK, "4095 of them are fine, unfinished");
	len = sized_request(buf, 8000);
	CHECK_EQ_INT(ctrl_parse(buf, len, 1, &r), CTRL_ERR_TOO_BIG, "8000 bytes are too big");

	/* A header block that alone does not fit: refused without waiting for its end. */
	len = (size_t)snprintf((char *)buf, sizeof(buf),
	    "POST %s HTTP/1.1\r\nx-pad: ", ctrl_path_str(CTRL_PATH_RENEW_SESSION));
	memset(buf + len, 'p', 5000);
	len += 5000;
	CHECK_EQ_INT(ctrl_parse(buf, len, 0, &r), CTRL_ERR_TOO_BIG, "a 5000-byte header line");
	CHECK_EQ_INT(ctrl_parse(buf, 4095, 0, &r), CTRL_NEED_MORE, "its first 4095 bytes wait");
	CHECK_EQ_INT(ctrl_parse(buf, 4096, 0, &r), CTRL_ERR_TOO_BIG, "its first 4096 do not");
	memcpy(buf + 4093, "\r\n\r\n", 4);
	CHECK_EQ_INT(
	    ctrl_parse(buf, 4097, 1, &r), CTRL_ERR_TOO_BIG, "a header block ending at byte 4097");
	/* The same block ending at byte 4095, with an Authorization header: fits. */
	len = (size_t)snprintf((char *)buf, sizeof(buf),
	    "POST %s HTTP/1.1\r\nAuthorization: Bearer t\r\nx-pad: ",
	    ctrl_path_str(CTRL_PATH_RENEW_SESSION));
	memset(buf + len, 'p', CTRL_MSG_MAX - 4 - len);
	memcpy(buf + CTRL_MSG_MAX - 4, "\r\n\r\n", 4);
	rv = ctrl_parse(buf, CTRL_MSG_MAX, 1, &r);
	CHECK(rv == CTRL_OK && r.head_len == CTRL_MSG_MAX && r.body_len == 0,
	    "a 4095-byte header block and no body fit (%s)", ctrl_err_str(rv));
	buf[CTRL_MSG_MAX] = 'b';
	CHECK_EQ_INT(ctrl_parse(buf, CTRL_MSG_MAX + 1, 1, &r), CTRL_ERR_TOO_BIG,
	    "one body byte more does not");
}

static void
feeds(void)
{
	uint8_t buf[1024], body[] = {0x0a, 0x00};
	struct ctrl_req r;
	ssize_t n = ctrl_request_write(
	    CTRL_PATH_ASSIGN_ADDRESSES, "abc.def.ghi", body, sizeof(body), buf, sizeof(buf));
	size_t head = (size_t)n - sizeof(body);
	int rv, ok = 1;

	CHECK(n > 0, "write an assign_addresses request");
	for (size_t k = 0; k < head; k++)
		ok &= ctrl_parse(buf, k, 0, &r) == CTRL_NEED_MORE;
	CHECK(ok, "NEED_MORE for every prefix of the header block");
	rv = ctrl_parse(buf, head, 0, &r);
	CHECK(rv == CTRL_OK && r.body_len == 0 && !r.complete && r.head_len == head,
	    "CTRL_OK once the blank line is in, body empty and not complete");
	rv = ctrl_parse(buf, head + 1, 0, &r);
	CHECK(rv == CTRL_OK && r.body_len == 1 && !r.complete, "a partial body");
	rv = ctrl_parse(buf, (size_t)n, 1, &r);
	CHECK(rv == CTRL_OK && r.body_len == 2 && r.complete &&
		memcmp(r.body, body, sizeof(body)) == 0,
	    "the whole body at the FIN");
	CHECK_EQ_INT(
	    ctrl_parse(buf, head - 2, 1, &r), CTRL_ERR_PREMATURE, "FIN before the blank line");
	CHECK_EQ_INT(ctrl_parse(buf, 0, 1, &r), CTRL_ERR_PREMATURE, "FIN before any byte");
	CHECK_EQ_INT(ctrl_parse(buf, 0, 0, &r), CTRL_NEED_MORE, "no byte yet");
	CHECK_EQ_INT(ctrl_parse((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 0, &r), CTRL_ERR_METHOD,
	    "a bad method is refused before the header block ends");
}

static void
sdk_form(void)
{
	static const char want[] = "POST /connectrpc.v1.snaptun/renew_session HTTP/1.1\r\n"
				   "content-type: application/proto\r\n"
				   "connect-protocol-version: 1\r\n"
				   "content-encoding: identity\r\n"
				   "accept-encoding: identity\r\n"
				   "content-length: 0\r\n"
				   "Authorization: Bearer a.b.c\r\n"
				   "\r\n";
	uint8_t buf[4096];
	struct ctrl_req r;
	ssize_t n = ctrl_request_write(CTRL_PATH_RENEW_SESSION, "a.b.c", NULL, 0, buf, sizeof(buf));

	CHECK(n == (ssize_t)strlen(want) && memcmp(buf, want, strlen(want)) == 0,
	    "renew_session is written exactly as the SDK writes it");
	CHECK_EQ_INT(ctrl_request_write(CTRL_PATH_RENEW_SESSION, "a.b.c", NULL, 0, buf, n - 1),
	    CTRL_ERR_SPACE, "one byte short of room");
	CHECK_EQ_INT(ctrl_request_write(CTRL_PATH_RENEW_SESSION, "a b", NULL, 0, buf, sizeof(buf)),
	    CTRL_ERR_INVALID, "a token with a space");
	CHECK_EQ_INT(ctrl_request_write(CTRL_PATH_RENEW_SESSION, "", NULL, 0, buf, sizeof(buf)),
	    CTRL_ERR_INVALID, "an empty token");
	CHECK_EQ_INT(ctrl_request_write(CTRL_PATH_RENEW_SESSION, "a\r\nX: y", NULL, 0, buf, 4096),
	    CTRL_ERR_INVALID, "a token with CRLF");
	CHECK_EQ_INT(ctrl_request_write((enum ctrl_path)9, "t", NULL, 0, buf, sizeof(buf)),
	    CTRL_ERR_INVALID, "an unknown path");
	CHECK_EQ_INT(ctrl_request_write(CTRL_PATH_RENEW_SESSION, "t", buf, 4000, buf, sizeof(buf)),
	    CTRL_ERR_TOO_BIG, "a request over 4095 bytes is not written");

	for (int p = 1; p <= CTRL_PATH_LAST; p++) {
		uint8_t body[300];
		size_t blen = (size_t)p * 70;
		int rv;

		for (size_t i = 0; i < blen; i++)
			body[i] = (uint8_t)(i * 7 + (size_t)p);
		n = ctrl_request_write(
		    (enum ctrl_path)p, "eyJ.eyJ.sig-_", body, blen, buf, sizeof(buf));
		rv = ctrl_parse(buf, (size_t)n, 1, &r);
		CHECK(n > 0 && rv == CTRL_OK && (int)r.path == p && r.token_len == 13 &&
			memcmp(r.token, "eyJ.eyJ.sig-_", 13) == 0 && r.body_len == blen &&
			memcmp(r.body, body, blen) == 0 && r.nheaders == 6,
		    "round trip %s: ctrl_request_write -> ctrl_parse", ctrl_path_str(p));
	}
}

static void
mapping(void)
{
	static const struct {
		int err, status, close;
	} t[] = {
	    {CTRL_OK, 200, 0},
	    {CTRL_ERR_METHOD, 400, 1},
	    {CTRL_ERR_PATH, 400, 1},
	    {CTRL_ERR_HEADERS, 400, 1},
	    {CTRL_ERR_TOO_BIG, 400, 1},
	    {CTRL_ERR_DECODE, 400, 1},
	    {CTRL_ERR_BAD_RANGE, 400, 1},
	    {CTRL_ERR_UNAUTHENTICATED, 401, 3},
	    {CTRL_ERR_NOT_IMPLEMENTED, 501, 1},
	    {CTRL_ERR_PREMATURE, 500, 5},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(ctrl_err_status(t[i].err) == t[i].status &&
			ctrl_err_close(t[i].err) == t[i].close &&
			ctrl_status_reason(ctrl_err_status(t[i].err)) != NULL,
		    "%s -> %d, close %d", err_name(t[i].err), t[i].status, t[i].close);
	CHECK(strcmp(ctrl_err_str(-99), "unknown error") == 0 && ctrl_path_str(0) == NULL &&
		ctrl_path_str(CTRL_PATH_LAST + 1) == NULL,
	    "unknown error and path numbers");
}

static void
responses(void)
{
	static const int codes[] = {200, 400, 401, 403, 404, 429, 500, 501, 503};
	static const char want[] = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\n"
				   "unauthorized";
	uint8_t buf[8192];
	const uint8_t *body;
	size_t blen;
	ssize_t n;
	int status, rv;

	n = ctrl_response(401, "unauthorized", 12, buf, sizeof(buf));
	CHECK(n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0,
	    "the 401 response, byte for byte");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		n = ctrl_response(codes[i], "body\r\n\r\nx", 9, buf, sizeof(buf));
		rv = ctrl_response_parse(buf, (size_t)n, 1, &status, &body, &blen);
		CHECK(n > 0 && rv == CTRL_OK && status == codes[i] && blen == 9 &&
			memcmp(body, "body\r\n\r\nx", 9) == 0,
		    "round trip %d %s", codes[i], ctrl_status_reason(codes[i]));
	}
	CHECK_EQ_INT(ctrl_response(418, NULL, 0, buf, sizeof(buf)), CTRL_ERR_INVALID,
	    "no canonical reason for 418");
	CHECK_EQ_INT(ctrl_response(200, "x", 1, buf, 10), CTRL_ERR_SPACE, "no room");
	CHECK_EQ_INT(ctrl_response(200, buf, 4090, buf, sizeof(buf)), CTRL_ERR_TOO_BIG,
	    "a response over 4095 bytes is not written");

#define PARSE(s, fin) \
	ctrl_response_parse((const uint8_t *)(s), sizeof(s) - 1, fin, &status, &body, &blen)
	rv = PARSE("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nabcdef", 1);
	CHECK(rv == CTRL_OK && status == 200 && blen == 6, "Content-Length 1 but 6 bytes: 6");
	rv = PARSE("HTTP/1.1 200 OK\r\n\r\nab", 1);
	CHECK(rv == CTRL_OK && blen == 2, "no Content-Length");
	rv = PARSE("HTTP/1.1 400 Bad Request\r\nContent-Length: 99999999999999999999\r\n\r\n", 1);
	CHECK(rv == CTRL_OK && status == 400 && blen == 0, "a huge Content-Length");
	rv = PARSE("HTTP/1.1 200\r\n\r\n", 1);
	CHECK(rv == CTRL_OK && status == 200, "no reason phrase");
	rv = PARSE("HTTP/1.1 200 OK\n\nab", 1);
	CHECK(rv == CTRL_OK && blen == 2, "bare LF");
	CHECK_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", 0), CTRL_NEED_MORE,
	    "head incomplete");
	CHECK_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", 1), CTRL_ERR_PREMATURE,
	    "head incomplete at the FIN");
	rv = PARSE("HTTP/1.1 200 OK\r\n\r\nab", 0);
	CHECK(rv == CTRL_OK && blen == 2, "body so far, before the FIN");
	CHECK_EQ_INT(PARSE("HTTP/1.0 200 OK\r\n\r\n", 1), CTRL_ERR_HEADERS, "HTTP/1.0");
	CHECK_EQ_INT(PARSE("HTTP/1.1 20 OK\r\n\r\n", 1), CTRL_ERR_HEADERS, "two digits");
	CHECK_EQ_INT(PARSE("HTTP/1.1 2000 OK\r\n\r\n", 1), CTRL_ERR_HEADERS, "four digits");
	CHECK_EQ_INT(PARSE("HTTP/1.1 099 OK\r\n\r\n", 1), CTRL_ERR_HEADERS, "status 99");
	CHECK_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nbad\r\n\r\n", 1), CTRL_ERR_HEADERS, "bad header");
	CHECK_EQ_INT(PARSE("POST / HTTP/1.1\r\n\r\n", 1), CTRL_ERR_HEADERS, "a request");
#undef PARSE
	memset(buf, 'x', sizeof(buf));
	n = snprintf((char *)buf, sizeof(buf), "HTTP/1.1 200 OK\r\n\r\n");
	CHECK_EQ_INT(ctrl_response_parse(buf, 4096, 1, &status, &body, &blen), CTRL_ERR_TOO_BIG,
	    "a 4096-byte response");
	CHECK_EQ_INT(ctrl_response_parse(buf, 4095, 1, &status, &body, &blen), CTRL_OK,
	    "a 4095-byte response");
}

static void
bodies(void)
{
	uint8_t buf[256];
	struct ctrl_assign a, b;
	struct addr v4, v6, got;
	uint64_t ia = 0x0001ff0000000110ULL, ia2, t;
	uint16_t port;
	ssize_t n;

	CHECK(
	    addr_parse("192.0.2.7", &v4) == 0 && addr_parse("2001:db8::7", &v6) == 0, "addresses");
	n = ctrl_assign_response_encode(ia, &v4, buf, sizeof(buf));
	CHECK(n > 0 && ctrl_assign_response_decode(buf, (size_t)n, &ia2, &got) == CTRL_OK &&
		ia2 == ia && got.family == 4 && memcmp(got.b, v4.b, 4) == 0,
	    "AddressAssignResponse v4 round trip");
	n = ctrl_assign_response_encode(ia, &v6, buf, sizeof(buf));
	CHECK(n > 0 && ctrl_assign_response_decode(buf, (size_t)n, &ia2, &got) == CTRL_OK &&
		got.family == 6 && memcmp(got.b, v6.b, 16) == 0,
	    "AddressAssignResponse v6 round trip");
	{
		Snaptun__AddressAssignResponse *m =
		    snaptun__address_assign_response__unpack(NULL, (size_t)n, buf);

		CHECK(m != NULL && m->n_assigned_addresses == 1 &&
			m->assigned_addresses[0]->prefix_length == 128 &&
			m->assigned_addresses[0]->ip_version == 6 &&
			m->assigned_addresses[0]->isd_as == ia,
		    "AddressAssignResponse fields as protobuf-c reads them");
		if (m != NULL)
			snaptun__address_assign_response__free_unpacked(m, NULL);
	}
	CHECK_EQ_INT(ctrl_assign_response_encode(ia, &v4, buf, 5), CTRL_ERR_SPACE, "no room");
	CHECK_EQ_INT(ctrl_assign_response_encode(1ULL << 48, &v4, buf, sizeof(buf)),
	    CTRL_ERR_BAD_RANGE, "zero AS");
	CHECK_EQ_INT(ctrl_assign_response_decode(buf, 0, &ia2, &got), CTRL_ERR_BAD_RANGE,
	    "a response without a range");

	n = ctrl_session_response_encode(1700000000, buf, sizeof(buf));
	CHECK(n == 6 && ctrl_session_response_decode(buf, (size_t)n, &t) == CTRL_OK &&
		t == 1700000000,
	    "SessionRenewalResponse round trip (%zd bytes)", n);
	CHECK_EQ_INT(ctrl_session_response_decode((const uint8_t *)"\xff", 1, &t), CTRL_ERR_DECODE,
	    "garbage session response");

	n = ctrl_sockaddr_response_encode(&v6, 40001, buf, sizeof(buf));
	CHECK(n > 0 && ctrl_sockaddr_response_decode(buf, (size_t)n, &got, &port) == CTRL_OK &&
		got.family == 6 && memcmp(got.b, v6.b, 16) == 0 && port == 40001,
	    "SocketAddrAssignmentResponse round trip");
	CHECK_EQ_INT(ctrl_sockaddr_response_decode(
			 (const uint8_t *)"\x08\x04\x18\x80\x80\x04", 6, &got, &port),
	    CTRL_ERR_BAD_RANGE, "v4 without an address, port 65536");

	memset(&a, 0, sizeof(a));
	n = ctrl_assign_request_encode(&a, buf, sizeof(buf));
	CHECK(
	    n == 0 && ctrl_assign_request_decode(buf, 0, &b) == CTRL_OK && !b.has_request && b.any,
	    "AddressAssignRequest: the empty list is any address");
	a.has_request = 1;
	a.isd_as = ia;
	a.addr = v4;
	n = ctrl_assign_request_encode(&a, buf, sizeof(buf));
	CHECK(n > 0 && ctrl_assign_request_decode(buf, (size_t)n, &b) == CTRL_OK && b.has_request &&
		!b.any && b.isd_as == ia && b.addr.family == 4 && memcmp(b.addr.b, v4.b, 4) == 0,
	    "AddressAssignRequest: one v4 address round trip");
	a.any = 1;
	a.addr = v6;
	n = ctrl_assign_request_encode(&a, buf, sizeof(buf));
	CHECK(n > 0 && ctrl_assign_request_decode(buf, (size_t)n, &b) == CTRL_OK && b.has_request &&
		b.any && b.addr.family == 6,
	    "AddressAssignRequest: any v6 address round trip");
	a.isd_as = 0;
	CHECK_EQ_INT(ctrl_assign_request_encode(&a, buf, sizeof(buf)), CTRL_ERR_BAD_RANGE,
	    "a request for ISD-AS 0");
}

int
main(void)
{
	golden();
	sizes();
	feeds();
	sdk_form();
	mapping();
	responses();
	bodies();
	return check_done();
}
