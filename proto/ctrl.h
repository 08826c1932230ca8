/* Tunnel control requests (proto/README.md §1.2, §1.3): the HTTP/1.1 request a client writes on one
 * bidirectional QUIC stream, the response the gateway writes back, and the protobuf bodies of
 * both. Both sides live here: the agent parses requests and writes responses, snaptun-client and
 * the test client write requests and parse responses. Nothing here knows of QUIC: every parser
 * takes the bytes of one stream received so far and whether the stream has ended (fin).
 *
 * The end of a message is the stream's FIN. Content-Length is never required and never trusted:
 * the body is every byte after the header block up to the FIN. A request or response is at most
 * CTRL_MSG_MAX (4095) bytes in all (request line, headers, blank line, body) and has at most
 * CTRL_HEADERS_MAX headers.
 *
 * Where §1.2 is silent, this codec chose (lenient where common HTTP/1.1 parsers are, strict
 * elsewhere):
 * - a line ends with CRLF or with a bare LF (both are accepted; we always write CRLF); a CR
 *   anywhere else is malformed;
 * - the request line is exactly "METHOD SP target SP HTTP/1.1": single spaces, method a token,
 *   the target any bytes but controls, space and DEL, the version exactly HTTP/1.1 (HTTP/1.0 and
 *   others are malformed); no blank line may come before it; checks go syntax, version, method,
 *   path: "GET / HTTP/2" is CTRL_ERR_HEADERS, "GET / HTTP/1.1" CTRL_ERR_METHOD;
 * - the method is case-sensitive ("post" is not POST); the path is compared byte for byte, so a
 *   query ("?a=b"), a fragment, a trailing slash or another case is CTRL_ERR_PATH;
 * - a header is "name:" (the name a non-empty token, no space before the colon), optional
 *   spaces/tabs, the value, optional spaces/tabs; the value is trimmed of both. Obsolete line
 *   folding (a line starting with a space) and controls other than tab are malformed;
 * - the token is the trimmed value's bytes after "Bearer " (case-sensitive, one space), kept as
 *   they are (not trimmed again); an empty token is CTRL_ERR_UNAUTHENTICATED (a trimmed
 *   "Bearer " is "Bearer", which does not start with "Bearer "); when several headers qualify
 *   the first is used, one that does not qualify ("Basic x") is skipped;
 * - every other header (Content-Length, Transfer-Encoding, Content-Type, …) is ignored.
 *
 * Errors come in the order the bytes arrive, so that feeding a stream in any pieces never changes
 * the verdict: a line is judged when its LF is in; only lines inside the first CTRL_MSG_MAX + 1
 * bytes are judged; then, with the header block complete, the Authorization header; then the
 * size. A CTRL_OK before the FIN may still become CTRL_ERR_TOO_BIG as the body grows; any
 * negative result is final. */
#ifndef PROTO_CTRL_H
#define PROTO_CTRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/addr.h"

#define CTRL_MSG_MAX 4095 /* bytes of a whole request or response: 4096 is too big */
#define CTRL_HEADERS_MAX 16

/* The request paths of §1.2. */
enum ctrl_path {
	CTRL_PATH_RENEW_SESSION = 1, /* /connectrpc.v1.snaptun/renew_session */
	CTRL_PATH_ASSIGN_ADDRESSES = 2, /* /connectrpc.v1.snaptun/assign_addresses */
	CTRL_PATH_UPDATE_TOKEN = 3, /* /connectrpc.v1.snaptun/update_token, alias of renew */
	CTRL_PATH_ASSIGN_SOCKETADDR = 4, /* /connectrpc.v1.snaptun/assign_socketaddr */
};
#define CTRL_PATH_LAST CTRL_PATH_ASSIGN_SOCKETADDR

/* CTRL_NEED_MORE, CTRL_OK or a negative error; ctrl_err_str() gives the text, ctrl_err_status()
 * the HTTP status to answer with and ctrl_err_close() the QUIC close code (§1.4). */
enum ctrl_err {
	CTRL_NEED_MORE = 1, /* the header block is incomplete and the stream goes on */
	CTRL_OK = 0,
	CTRL_ERR_METHOD = -1, /* invalid request: the method is not POST */
	CTRL_ERR_PATH = -2, /* invalid request: not one of the known paths */
	CTRL_ERR_UNAUTHENTICATED = -3, /* no "Authorization: Bearer <token>" header */
	CTRL_ERR_TOO_BIG = -4, /* invalid request: 4096 bytes or more */
	CTRL_ERR_HEADERS = -5, /* invalid request: malformed first line or header, > 16 headers */
	CTRL_ERR_PREMATURE = -6, /* the stream ended before the header block did */
	CTRL_ERR_DECODE = -7, /* a body is not the protobuf message of its path */
	CTRL_ERR_BAD_RANGE = -8, /* an AddressRange breaks §1.3 (or a response has not 1 range) */
	CTRL_ERR_NOT_IMPLEMENTED = -9, /* more than one requested address range */
	CTRL_ERR_SPACE = -10, /* writing: the output buffer is too small */
	CTRL_ERR_INVALID = -11, /* writing: a bad argument (unknown status or path, bad token) */
};

/* QUIC application close codes (§1.4). */
enum ctrl_close {
	CTRL_CLOSE_NORMAL = 0, /* client shutting down; from ctrl_err_close(): do not close */
	CTRL_CLOSE_INVALID_REQUEST = 1,
	CTRL_CLOSE_TIMEOUT = 2,
	CTRL_CLOSE_UNAUTHENTICATED = 3,
	CTRL_CLOSE_SESSION_EXPIRED = 4,
	CTRL_CLOSE_INTERNAL = 5,
};

/* A parsed request. token and body point into the caller's buffer. */
struct ctrl_req {
	enum ctrl_path path;
	const uint8_t *token; /* the bytes after "Bearer ", token_len > 0 */
	size_t token_len;
	const uint8_t *body; /* everything after the header block received so far */
	size_t body_len;
	size_t head_len; /* request line, headers and blank line: body == buf + head_len */
	unsigned nheaders;
	int complete; /* the stream has ended: body is the whole body */
};

/* What an AddressAssignRequest asks for (one in-memory form for both sides). */
struct ctrl_assign {
	int has_request; /* 0: the empty list, any address of any family (IPv4 first) */
	uint64_t isd_as; /* when has_request */
	struct addr addr; /* when has_request: family 4 or 6; all zero when any */
	int any; /* no particular address: the empty list or an all-zero address */
};

const char *ctrl_err_str(int err);

/* The HTTP status that answers err: 200 for CTRL_OK; 400 for the invalid requests (method,
 * path, headers, too big, bad body, bad range); 401 for CTRL_ERR_UNAUTHENTICATED; 501 for
 * CTRL_ERR_NOT_IMPLEMENTED; 500 for the rest (premature end: an internal error). 0 for
 * CTRL_NEED_MORE. */
int ctrl_err_status(int err);

/* The close code the agent uses when it closes the connection because of err (§1.4): 1 for
 * every invalid request (and any other non-200 answer of the handshake: 400, 501), 3 for
 * CTRL_ERR_UNAUTHENTICATED, 5 for CTRL_ERR_PREMATURE and the internal errors; 0 (no close) for
 * CTRL_OK and CTRL_NEED_MORE. Whether to close at all is the agent's decision (§1.4: a failed
 * renewal after the handshake does not close). */
int ctrl_err_close(int err);

/* "/connectrpc.v1.snaptun/renew_session", …; NULL when path is not an enum ctrl_path. */
const char *ctrl_path_str(int path);

/* "OK", "Bad Request", … for 200, 400, 401, 403, 404, 429, 500, 501, 503; NULL for others. */
const char *ctrl_status_reason(int status);

/* Parse the len bytes of one control stream received so far; fin says the stream has ended.
 * Returns CTRL_NEED_MORE, CTRL_OK with *out filled (a partial body until fin: call again as
 * bytes arrive; the answer may turn to CTRL_ERR_TOO_BIG), or a negative enum ctrl_err: METHOD,
 * PATH, HEADERS, TOO_BIG, UNAUTHENTICATED, PREMATURE. Reads nothing outside buf[0, len); keeps
 * no state: call it on the whole stream each time. *out is zeroed unless CTRL_OK. */
int ctrl_parse(const uint8_t *buf, size_t len, int fin, struct ctrl_req *out);

/* Write the response "HTTP/1.1 <status> <reason>\r\nContent-Length: <len>\r\n\r\n<body>" into
 * out (cap bytes). body may be NULL when len is 0. Returns its length, or CTRL_ERR_INVALID
 * (status without a canonical reason), CTRL_ERR_TOO_BIG (over CTRL_MSG_MAX: the peer would refuse
 * it) or CTRL_ERR_SPACE (cap too small); out is then unspecified. */
ssize_t ctrl_response(int status, const void *body, size_t len, uint8_t *out, size_t cap);

/* Client side: write the request for path exactly as the SDK does (§1.2: request line, the
 * content-type, connect-protocol-version, content-encoding, accept-encoding and content-length
 * headers, Authorization last) with token (NUL-terminated, 1 or more bytes 0x21..0x7e) and the
 * len bytes of body. content-length carries len (0 for the empty bodies of §1.2). Returns the
 * request length, or CTRL_ERR_INVALID (unknown path, bad token), CTRL_ERR_TOO_BIG (over
 * CTRL_MSG_MAX) or CTRL_ERR_SPACE. */
ssize_t ctrl_request_write(
    enum ctrl_path path, const char *token, const void *body, size_t len, uint8_t *out, size_t cap);

/* Client side: parse the len bytes of the response stream so far ("HTTP/1.1 <3 digits>
 * [<reason>]", headers as for requests, Content-Length ignored). Returns CTRL_NEED_MORE, CTRL_OK
 * with *status and the body so far (pointing into buf; whole once fin), or CTRL_ERR_HEADERS
 * (malformed status line or header, status outside 100..599, > 16 headers), CTRL_ERR_TOO_BIG
 * (4096 bytes or more) or CTRL_ERR_PREMATURE. */
int ctrl_response_parse(
    const uint8_t *buf, size_t len, int fin, int *status, const uint8_t **body, size_t *body_len);

/* Decode an AddressAssignRequest body (§1.3) into *out. Returns CTRL_OK, CTRL_ERR_DECODE (not
 * the message; also when memory ran out), CTRL_ERR_NOT_IMPLEMENTED (more than one range, judged
 * first) or CTRL_ERR_BAD_RANGE (ip_version not 4/6, prefix_length not 32/128 to match, zero ISD
 * or AS, address not 4/16 bytes to match). Unknown fields are ignored. */
int ctrl_assign_request_decode(const uint8_t *body, size_t len, struct ctrl_assign *out);

/* Encode *a as an AddressAssignRequest (no range when !has_request; a zero address when any).
 * Returns the length (0 for the empty list), CTRL_ERR_BAD_RANGE or CTRL_ERR_SPACE. */
ssize_t ctrl_assign_request_encode(const struct ctrl_assign *a, uint8_t *out, size_t cap);

/* An AddressAssignResponse of the one host range isd_as / *a. Returns the length,
 * CTRL_ERR_BAD_RANGE (zero ISD or AS, family not 4/6) or CTRL_ERR_SPACE. */
ssize_t ctrl_assign_response_encode(
    uint64_t isd_as, const struct addr *a, uint8_t *out, size_t cap);

/* Decode an AddressAssignResponse. CTRL_OK, CTRL_ERR_DECODE or CTRL_ERR_BAD_RANGE (not exactly
 * one range, a range that breaks §1.3, or an all-zero address). */
int ctrl_assign_response_decode(const uint8_t *body, size_t len, uint64_t *isd_as, struct addr *a);

/* A SessionRenewalResponse. The length or CTRL_ERR_SPACE. */
ssize_t ctrl_session_response_encode(uint64_t valid_until, uint8_t *out, size_t cap);

/* CTRL_OK or CTRL_ERR_DECODE. */
int ctrl_session_response_decode(const uint8_t *body, size_t len, uint64_t *valid_until);

/* A SocketAddrAssignmentResponse of *a and port. The length, CTRL_ERR_BAD_RANGE (family not
 * 4/6) or CTRL_ERR_SPACE. */
ssize_t ctrl_sockaddr_response_encode(
    const struct addr *a, uint16_t port, uint8_t *out, size_t cap);

/* CTRL_OK, CTRL_ERR_DECODE, or CTRL_ERR_BAD_RANGE (ip_version not 4/6, address not 4/16 bytes to
 * match, port over 65535). */
int ctrl_sockaddr_response_decode(const uint8_t *body, size_t len, struct addr *a, uint16_t *port);

#endif
