#include <stdio.h>
#include <string.h>

#include "../lib/isdas.h"
#include "ctrl.h"
#include "proto/snaptun.pb-c.h"

#define BEARER "Bearer "
#define BEARER_LEN (sizeof(BEARER) - 1)
#define AUTHORIZATION "Authorization"
#define AUTHORIZATION_LEN (sizeof(AUTHORIZATION) - 1)
#define VERSION "HTTP/1.1"
#define VERSION_LEN (sizeof(VERSION) - 1)

static const char *const paths[CTRL_PATH_LAST + 1] = {
    [CTRL_PATH_RENEW_SESSION] = "/connectrpc.v1.snaptun/renew_session",
    [CTRL_PATH_ASSIGN_ADDRESSES] = "/connectrpc.v1.snaptun/assign_addresses",
    [CTRL_PATH_UPDATE_TOKEN] = "/connectrpc.v1.snaptun/update_token",
    [CTRL_PATH_ASSIGN_SOCKETADDR] = "/connectrpc.v1.snaptun/assign_socketaddr",
};

/* One line of a header block: [start, end) without its CR LF or LF. */
struct line {
	const uint8_t *p;
	size_t len;
};

const char *
ctrl_err_str(int err)
{
	switch (err) {
	case CTRL_NEED_MORE: return "header block incomplete";
	case CTRL_OK: return "ok";
	case CTRL_ERR_METHOD: return "invalid request: method is not POST";
	case CTRL_ERR_PATH: return "invalid request: unknown path";
	case CTRL_ERR_UNAUTHENTICATED: return "unauthenticated: no Authorization: Bearer header";
	case CTRL_ERR_TOO_BIG: return "invalid request: 4096 bytes or more";
	case CTRL_ERR_HEADERS: return "invalid request: malformed request line or headers";
	case CTRL_ERR_PREMATURE: return "stream closed prematurely";
	case CTRL_ERR_DECODE: return "invalid request: body is not the expected protobuf message";
	case CTRL_ERR_BAD_RANGE: return "invalid request: bad address range";
	case CTRL_ERR_NOT_IMPLEMENTED: return "more than one address range requested";
	case CTRL_ERR_SPACE: return "output buffer too small";
	case CTRL_ERR_INVALID: return "invalid argument";
	}
	return "unknown error";
}

int
ctrl_err_status(int err)
{
	switch (err) {
	case CTRL_NEED_MORE: return 0;
	case CTRL_OK: return 200;
	case CTRL_ERR_METHOD:
	case CTRL_ERR_PATH:
	case CTRL_ERR_TOO_BIG:
	case CTRL_ERR_HEADERS:
	case CTRL_ERR_DECODE:
	case CTRL_ERR_BAD_RANGE: return 400;
	case CTRL_ERR_UNAUTHENTICATED: return 401;
	case CTRL_ERR_NOT_IMPLEMENTED: return 501;
	}
	return 500;
}

int
ctrl_err_close(int err)
{
	switch (err) {
	case CTRL_NEED_MORE:
	case CTRL_OK: return CTRL_CLOSE_NORMAL;
	case CTRL_ERR_METHOD:
	case CTRL_ERR_PATH:
	case CTRL_ERR_TOO_BIG:
	case CTRL_ERR_HEADERS:
	case CTRL_ERR_DECODE:
	case CTRL_ERR_BAD_RANGE:
	case CTRL_ERR_NOT_IMPLEMENTED: return CTRL_CLOSE_INVALID_REQUEST;
	case CTRL_ERR_UNAUTHENTICATED: return CTRL_CLOSE_UNAUTHENTICATED;
	}
	return CTRL_CLOSE_INTERNAL;
}

const char *
ctrl_path_str(int path)
{
	if (path < 0 || path > CTRL_PATH_LAST)
		return NULL;
	return paths[path];
}

const char *
ctrl_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	}
	return NULL;
}

/* RFC 9110 tchar. */
static int
is_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A byte of a header value or reason phrase: HTAB, SP, VCHAR, obs-text. */
static int
is_vchar_ws(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The next complete line of buf[*off, len): 1 and *l filled, *off past its LF; 0 when no LF is
 * left. A CR right before the LF belongs to the terminator; any other CR stays in the line (and
 * is refused there as a control). */
static int
line_next(const uint8_t *buf, size_t len, size_t *off, struct line *l)
{
	const uint8_t *p = buf + *off, *lf;

	if (*off >= len || (lf = memchr(p, '\n', len - *off)) == NULL)
		return 0;
	l->p = p;
	l->len = (size_t)(lf - p);
	if (l->len > 0 && p[l->len - 1] == '\r')
		l->len--;
	*off = (size_t)(lf - buf) + 1;
	return 1;
}

/* "name: value" with the value trimmed of spaces and tabs. 0 or CTRL_ERR_HEADERS. */
static int
header_split(const struct line *l, struct line *name, struct line *value)
{
	size_t i = 0, end = l->len;

	while (i < l->len && is_tchar(l->p[i]))
		i++;
	if (i == 0 || i == l->len || l->p[i] != ':')
		return CTRL_ERR_HEADERS;
	name->p = l->p;
	name->len = i;
	for (size_t j = i + 1; j < l->len; j++)
		if (!is_vchar_ws(l->p[j]))
			return CTRL_ERR_HEADERS;
	for (i++; i < end && (l->p[i] == ' ' || l->p[i] == '\t'); i++)
		;
	while (end > i && (l->p[end - 1] == ' ' || l->p[end - 1] == '\t'))
		end--;
	value->p = l->p + i;
	value->len = end - i;
	return 0;
}

/* "POST <known path> HTTP/1.1": 0 and *path, or CTRL_ERR_HEADERS (syntax or version),
 * CTRL_ERR_METHOD, CTRL_ERR_PATH, judged in that order. */
static int
request_line(const struct line *l, enum ctrl_path *path)
{
	size_t m = 0, t, v;

	while (m < l->len && is_tchar(l->p[m]))
		m++;
	if (m == 0 || m == l->len || l->p[m] != ' ')
		return CTRL_ERR_HEADERS;
	for (t = m + 1; t < l->len && l->p[t] > ' ' && l->p[t] != 0x7f; t++)
		;
	if (t == m + 1 || t == l->len || l->p[t] != ' ')
		return CTRL_ERR_HEADERS;
	v = t + 1;
	if (l->len - v != VERSION_LEN || memcmp(l->p + v, VERSION, VERSION_LEN) != 0)
		return CTRL_ERR_HEADERS;
	if (m != 4 || memcmp(l->p, "POST", 4) != 0)
		return CTRL_ERR_METHOD;
	for (int i = 1; i <= CTRL_PATH_LAST; i++) {
		if (strlen(paths[i]) == t - m - 1 &&
		    memcmp(l->p + m + 1, paths[i], t - m - 1) == 0) {
			*path = (enum ctrl_path)i;
			return 0;
		}
	}
	return CTRL_ERR_PATH;
}

/* "HTTP/1.1 <3 digits>[ <reason>]": 0 and *status, or CTRL_ERR_HEADERS. */
static int
status_line(const struct line *l, int *status)
{
	const uint8_t *p = l->p;
	int s = 0;

	if (l->len < VERSION_LEN + 4 || memcmp(p, VERSION, VERSION_LEN) != 0 ||
	    p[VERSION_LEN] != ' ')
		return CTRL_ERR_HEADERS;
	for (size_t i = VERSION_LEN + 1; i < VERSION_LEN + 4; i++) {
		if (p[i] < '0' || p[i] > '9')
			return CTRL_ERR_HEADERS;
		s = s * 10 + (p[i] - '0');
	}
	if (s < 100 || s > 599)
		return CTRL_ERR_HEADERS;
	if (l->len > VERSION_LEN + 4 && p[VERSION_LEN + 4] != ' ')
		return CTRL_ERR_HEADERS;
	for (size_t i = VERSION_LEN + 4; i < l->len; i++)
		if (!is_vchar_ws(p[i]))
			return CTRL_ERR_HEADERS;
	*status = s;
	return 0;
}

/* What head_scan() found in the head of a request or a response. */
struct head {
	enum ctrl_path path;
	int status;
	struct line token;
	size_t len; /* the header block with its blank line; 0 while incomplete */
	unsigned nheaders;
};

/* Walk the lines of buf[0, len) that end within the first CTRL_MSG_MAX + 1 bytes: the first line
 * (request or status line), each header through its syntax (and, in a request, the Authorization
 * look-up), up to the blank line. 0 (h->len set when the block is complete) or the first error
 * in byte order. */
static int
head_scan(const uint8_t *buf, size_t len, int request, struct head *h)
{
	size_t off = 0, window = len > CTRL_MSG_MAX + 1 ? CTRL_MSG_MAX + 1 : len;
	struct line l, name, value;
	int first = 1, rv;

	memset(h, 0, sizeof(*h));
	while (line_next(buf, window, &off, &l)) {
		if (first) {
			rv = request ? request_line(&l, &h->path) : status_line(&l, &h->status);
			if (rv < 0)
				return rv;
			first = 0;
			continue;
		}
		if (l.len == 0) {
			h->len = off;
			return 0;
		}
		if (++h->nheaders > CTRL_HEADERS_MAX)
			return CTRL_ERR_HEADERS;
		if ((rv = header_split(&l, &name, &value)) < 0)
			return rv;
		if (request && h->token.p == NULL && name.len == AUTHORIZATION_LEN &&
		    memcmp(name.p, AUTHORIZATION, AUTHORIZATION_LEN) == 0 &&
		    value.len > BEARER_LEN && memcmp(value.p, BEARER, BEARER_LEN) == 0) {
			h->token.p = value.p + BEARER_LEN;
			h->token.len = value.len - BEARER_LEN;
		}
	}
	return 0;
}

/* The verdict on a scanned head, in the order of ctrl.h: the incomplete block (too big,
 * premature or wait), the Authorization header, then the size. */
static int
head_verdict(const struct head *h, size_t len, int fin, int request)
{
	if (h->len == 0) {
		if (len > CTRL_MSG_MAX)
			return CTRL_ERR_TOO_BIG;
		return fin ? CTRL_ERR_PREMATURE : CTRL_NEED_MORE;
	}
	if (request && h->token.p == NULL)
		return CTRL_ERR_UNAUTHENTICATED;
	if (len > CTRL_MSG_MAX)
		return CTRL_ERR_TOO_BIG;
	return CTRL_OK;
}

int
ctrl_parse(const uint8_t *buf, size_t len, int fin, struct ctrl_req *out)
{
	struct head h;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = head_scan(buf, len, 1, &h)) < 0)
		goto out;
	if ((rv = head_verdict(&h, len, fin, 1)) != CTRL_OK)
		goto out;
	out->path = h.path;
	out->token = h.token.p;
	out->token_len = h.token.len;
	out->body = buf + h.len;
	out->body_len = len - h.len;
	out->head_len = h.len;
	out->nheaders = h.nheaders;
	out->complete = fin != 0;
out:
	return rv;
}

int
ctrl_response_parse(
    const uint8_t *buf, size_t len, int fin, int *status, const uint8_t **body, size_t *body_len)
{
	struct head h;
	int rv;

	*status = 0;
	*body = NULL;
	*body_len = 0;
	if ((rv = head_scan(buf, len, 0, &h)) < 0)
		goto out;
	if ((rv = head_verdict(&h, len, fin, 0)) != CTRL_OK)
		goto out;
	*status = h.status;
	*body = buf + h.len;
	*body_len = len - h.len;
out:
	return rv;
}

/* head (hlen bytes, or -1 from snprintf) then the len bytes of body into out: shared by the two
 * writers. body may lie anywhere, even in out. */
static ssize_t
message_write(const char *head, int hlen, const void *body, size_t len, uint8_t *out, size_t cap)
{
	if (hlen < 0)
		return CTRL_ERR_INVALID;
	if ((size_t)hlen > CTRL_MSG_MAX || len > CTRL_MSG_MAX - (size_t)hlen)
		return CTRL_ERR_TOO_BIG;
	if ((size_t)hlen + len > cap)
		return CTRL_ERR_SPACE;
	if (len > 0)
		memmove(out + hlen, body, len);
	memcpy(out, head, (size_t)hlen);
	return (ssize_t)((size_t)hlen + len);
}

ssize_t
ctrl_response(int status, const void *body, size_t len, uint8_t *out, size_t cap)
{
	char head[128];
	const char *reason = ctrl_status_reason(status);
	int n;

	if (reason == NULL || (len > 0 && body == NULL))
		return CTRL_ERR_INVALID;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n\r\n", status,
	    reason, len);
	return message_write(head, n, body, len, out, cap);
}

ssize_t
ctrl_request_write(
    enum ctrl_path path, const char *token, const void *body, size_t len, uint8_t *out, size_t cap)
{
	char head[CTRL_MSG_MAX + 1];
	const char *p = ctrl_path_str(path);
	size_t tlen;
	int n;

	if (p == NULL || token == NULL || (len > 0 && body == NULL))
		return CTRL_ERR_INVALID;
	if ((tlen = strlen(token)) == 0)
		return CTRL_ERR_INVALID;
	for (size_t i = 0; i < tlen; i++)
		if ((uint8_t)token[i] <= ' ' || (uint8_t)token[i] >= 0x7f)
			return CTRL_ERR_INVALID;
	/* A head over CTRL_MSG_MAX is cut short by snprintf; n still says how long it is. */
	n = snprintf(head, sizeof(head),
	    "POST %s HTTP/1.1\r\n"
	    "content-type: application/proto\r\n"
	    "connect-protocol-version: 1\r\n"
	    "content-encoding: identity\r\n"
	    "accept-encoding: identity\r\n"
	    "content-length: %zu\r\n"
	    "Authorization: Bearer %s\r\n"
	    "\r\n",
	    p, len, token);
	return message_write(head, n, body, len, out, cap);
}

/* The checks of §1.3 on one range, for requests (zero address allowed) and responses. */
static int
range_check(
    const Snaptun__AddressRange *r, int allow_any, uint64_t *isd_as, struct addr *a, int *any)
{
	size_t alen;
	int zero = 1;

	if (r->ip_version != 4 && r->ip_version != 6)
		return CTRL_ERR_BAD_RANGE;
	alen = r->ip_version == 4 ? 4 : 16;
	if (r->prefix_length != alen * 8)
		return CTRL_ERR_BAD_RANGE;
	if (ISDAS_ISD(r->isd_as) == 0 || ISDAS_AS(r->isd_as) == 0)
		return CTRL_ERR_BAD_RANGE;
	if (r->address.len != alen || r->address.data == NULL)
		return CTRL_ERR_BAD_RANGE;
	for (size_t i = 0; i < alen; i++)
		zero &= r->address.data[i] == 0;
	if (zero && !allow_any)
		return CTRL_ERR_BAD_RANGE;
	*isd_as = r->isd_as;
	memset(a, 0, sizeof(*a));
	a->family = (int)r->ip_version;
	memcpy(a->b, r->address.data, alen);
	*any = zero;
	return CTRL_OK;
}

/* A range of one host address; the caller keeps a (address.data points into it). */
static int
range_fill(Snaptun__AddressRange *r, uint64_t isd_as, const struct addr *a)
{
	if (a->family != 4 && a->family != 6)
		return CTRL_ERR_BAD_RANGE;
	snaptun__address_range__init(r);
	r->isd_as = isd_as;
	r->ip_version = (uint32_t)a->family;
	r->prefix_length = a->family == 4 ? 32 : 128;
	r->address.data = (uint8_t *)(uintptr_t)a->b;
	r->address.len = a->family == 4 ? 4 : 16;
	return CTRL_OK;
}

/* Pack msg into out when it fits. */
static ssize_t
pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	if (n > cap)
		return CTRL_ERR_SPACE;
	return (ssize_t)protobuf_c_message_pack(msg, out);
}

int
ctrl_assign_request_decode(const uint8_t *body, size_t len, struct ctrl_assign *out)
{
	Snaptun__AddressAssignRequest *m;
	int rv = CTRL_ERR_DECODE;

	memset(out, 0, sizeof(*out));
	if ((m = snaptun__address_assign_request__unpack(NULL, len, body)) == NULL)
		goto out;
	if (m->n_requested_addresses > 1) {
		rv = CTRL_ERR_NOT_IMPLEMENTED;
		goto out;
	}
	if (m->n_requested_addresses == 0) {
		out->any = 1;
		rv = CTRL_OK;
		goto out;
	}
	rv = range_check(m->requested_addresses[0], 1, &out->isd_as, &out->addr, &out->any);
	if (rv == CTRL_OK)
		out->has_request = 1;
	else
		memset(out, 0, sizeof(*out));
out:
	if (m != NULL)
		snaptun__address_assign_request__free_unpacked(m, NULL);
	return rv;
}

ssize_t
ctrl_assign_request_encode(const struct ctrl_assign *a, uint8_t *out, size_t cap)
{
	Snaptun__AddressAssignRequest m;
	Snaptun__AddressRange r, *rp = &r;
	struct addr zero;

	snaptun__address_assign_request__init(&m);
	if (a->has_request) {
		if (ISDAS_ISD(a->isd_as) == 0 || ISDAS_AS(a->isd_as) == 0)
			return CTRL_ERR_BAD_RANGE;
		memset(&zero, 0, sizeof(zero));
		zero.family = a->addr.family;
		if (range_fill(&r, a->isd_as, a->any ? &zero : &a->addr) < 0)
			return CTRL_ERR_BAD_RANGE;
		m.n_requested_addresses = 1;
		m.requested_addresses = &rp;
		return pack(&m.base, out, cap);
	}
	return pack(&m.base, out, cap);
}

ssize_t
ctrl_assign_response_encode(uint64_t isd_as, const struct addr *a, uint8_t *out, size_t cap)
{
	Snaptun__AddressAssignResponse m;
	Snaptun__AddressRange r, *rp = &r;

	if (ISDAS_ISD(isd_as) == 0 || ISDAS_AS(isd_as) == 0 || range_fill(&r, isd_as, a) < 0)
		return CTRL_ERR_BAD_RANGE;
	snaptun__address_assign_response__init(&m);
	m.n_assigned_addresses = 1;
	m.assigned_addresses = &rp;
	return pack(&m.base, out, cap);
}

int
ctrl_assign_response_decode(const uint8_t *body, size_t len, uint64_t *isd_as, struct addr *a)
{
	Snaptun__AddressAssignResponse *m;
	int any, rv = CTRL_ERR_DECODE;

	if ((m = snaptun__address_assign_response__unpack(NULL, len, body)) == NULL)
		goto out;
	rv = CTRL_ERR_BAD_RANGE;
	if (m->n_assigned_addresses != 1)
		goto out;
	rv = range_check(m->assigned_addresses[0], 0, isd_as, a, &any);
out:
	if (m != NULL)
		snaptun__address_assign_response__free_unpacked(m, NULL);
	return rv;
}

ssize_t
ctrl_session_response_encode(uint64_t valid_until, uint8_t *out, size_t cap)
{
	Snaptun__SessionRenewalResponse m;

	snaptun__session_renewal_response__init(&m);
	m.valid_until = valid_until;
	return pack(&m.base, out, cap);
}

int
ctrl_session_response_decode(const uint8_t *body, size_t len, uint64_t *valid_until)
{
	Snaptun__SessionRenewalResponse *m;

	if ((m = snaptun__session_renewal_response__unpack(NULL, len, body)) == NULL)
		return CTRL_ERR_DECODE;
	*valid_until = m->valid_until;
	snaptun__session_renewal_response__free_unpacked(m, NULL);
	return CTRL_OK;
}

ssize_t
ctrl_sockaddr_response_encode(const struct addr *a, uint16_t port, uint8_t *out, size_t cap)
{
	Snaptun__SocketAddrAssignmentResponse m;

	if (a->family != 4 && a->family != 6)
		return CTRL_ERR_BAD_RANGE;
	snaptun__socket_addr_assignment_response__init(&m);
	m.ip_version = (uint32_t)a->family;
	m.address.data = (uint8_t *)(uintptr_t)a->b;
	m.address.len = a->family == 4 ? 4 : 16;
	m.port = port;
	return pack(&m.base, out, cap);
}

int
ctrl_sockaddr_response_decode(const uint8_t *body, size_t len, struct addr *a, uint16_t *port)
{
	Snaptun__SocketAddrAssignmentResponse *m;
	int rv = CTRL_ERR_DECODE;
	size_t alen;

	if ((m = snaptun__socket_addr_assignment_response__unpack(NULL, len, body)) == NULL)
		goto out;
	rv = CTRL_ERR_BAD_RANGE;
	if (m->ip_version != 4 && m->ip_version != 6)
		goto out;
	alen = m->ip_version == 4 ? 4 : 16;
	if (m->address.len != alen || m->address.data == NULL || m->port > UINT16_MAX)
		goto out;
	memset(a, 0, sizeof(*a));
	a->family = (int)m->ip_version;
	memcpy(a->b, m->address.data, alen);
	*port = (uint16_t)m->port;
	rv = CTRL_OK;
out:
	if (m != NULL)
		snaptun__socket_addr_assignment_response__free_unpacked(m, NULL);
	return rv;
}
