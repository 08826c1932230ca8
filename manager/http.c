/* libmicrohttpd in external-epoll mode: the manager's loop polls MHD's epoll fd and calls
 * MHD_run. Each request is answered from a later call of the access handler than its first:
 * answering on the first call makes MHD close the connection (libmicrohttpd 0.9.75: every
 * reply then says Connection: close). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/b64url.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../db/admintoken.h"
#include "../db/db.h"
#include "app.h"
#include "http.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "reqparse.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
/* libmicrohttpd answers a head that does not fit its per-connection memory with an HTML page
 * of its own: the pool is sized so that the limits of this file (HTTP_URL_MAX, HTTP_HEAD_MAX)
 * are met first, and answered as problem+json. */
#define CONN_MEMORY (64 * 1024)

/* One TCP connection (MHD's socket context): where its current request stands, and by when it
 * must have got further. Connections waiting for a head or a body are in the queue of that
 * phase; every deadline of a phase is as long as the others, so appending keeps a queue in
 * deadline order and the sweep only looks at its front. */
enum conn_phase { CONN_REPLY, CONN_HEAD, CONN_BODY };

struct http_conn {
	struct http *h;
	struct MHD_Connection *mc;
	struct http_conn *prev, *next;
	enum conn_phase phase;
	uint64_t deadline_ns;
	int reserve; /* accepted beyond max_conns: no public enrollment on it */
	int bad_escape; /* the request target decoded to a NUL byte */
	int cut; /* closed at a deadline */
};

/* A streamed reply (reply_stream), in the list of its server's streams until it is done. */
struct http_stream {
	struct http *h;
	struct MHD_Connection *mc;
	const char *content_type;
	const struct http_stream_ops *ops;
	void *arg;
	int suspended; /* waiting for http_stream_wake */
	int ended; /* shutting down: the next read ends it */
	int queued; /* the response is queued: MHD calls read from now on */
	struct http_stream *prev, *next;
};

struct conn_queue {
	struct http_conn *first, *last;
};

/* Group commit: the first request that may write opens a transaction (the batch); every request
 * handled while it is open joins it, and its connection is suspended with the reply ready.
 * http_flush() commits the batch once — one fsync for all of them — and resumes them, and only
 * then are the replies sent: no reply ever shows a change that is not durable. */
struct http {
	struct MHD_Daemon *d;
	struct app *app;
	const struct route *routes; /* the route table (the caller's) */
	size_t nroutes;
	int listen_fd;
	char *tls_key, *tls_cert;
	int batch_open;
	struct req *waiting; /* suspended until the batch commits, linked by next_waiting */
	int released_early; /* replies released by a flush inside a run (own_tx routes) */
	int closing; /* shutting down: no new batch, no new suspension */
	struct http_limits lim;
	unsigned nconns;
	struct conn_queue heads, bodies; /* connections by the deadline of their phase */
	struct http_stream *streams;
	int access_log;
	int serve_web; /* unmatched paths outside /v1 go to the dashboard's files */
};

/* ---- connections and their deadlines ---- */

static struct conn_queue *
conn_queue(struct http *h, enum conn_phase phase)
{
	switch (phase) {
	case CONN_HEAD: return &h->heads;
	case CONN_BODY: return &h->bodies;
	case CONN_REPLY: break;
	}
	return NULL;
}

/* Move c to phase: out of its queue, and at the back of the new phase's with a fresh
 * deadline. CONN_REPLY has none: a reply is bounded by MHD's idle timeout. */
static void
conn_phase(struct http *h, struct http_conn *c, enum conn_phase phase)
{
	struct conn_queue *q = conn_queue(h, c->phase);
	unsigned seconds;

	if (q != NULL) {
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			q->first = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		else
			q->last = c->prev;
		c->prev = c->next = NULL;
	}
	c->phase = phase;
	if ((q = conn_queue(h, phase)) == NULL)
		return;
	seconds = phase == CONN_HEAD ? h->lim.head_timeout : h->lim.body_timeout;
	c->deadline_ns = clock_mono_ns() + (uint64_t)seconds * 1000000000u;
	c->prev = q->last;
	if (q->last != NULL)
		q->last->next = c;
	else
		q->first = c;
	q->last = c;
}

static struct http_conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* A connection past its deadline is shut down under MHD, which sees the end of the stream at
 * its next read and closes it: a trickle resets MHD's idle timeout, never this deadline. */
static void
conn_cut(struct http *h, struct http_conn *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_CONNECTION_FD);

	log_debug("httpd: closing a connection that sent no complete request %s in time",
	    c->phase == CONN_HEAD ? "head" : "body");
	conn_phase(h, c, CONN_REPLY);
	c->cut = 1;
	if (ci != NULL)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

static void
conn_sweep(struct http *h)
{
	uint64_t now = clock_mono_ns();

	while (h->heads.first != NULL && h->heads.first->deadline_ns <= now)
		conn_cut(h, h->heads.first);
	while (h->bodies.first != NULL && h->bodies.first->deadline_ns <= now)
		conn_cut(h, h->bodies.first);
}

/* Milliseconds to the first deadline, rounded up; -1: none. */
static int
conn_timeout_ms(struct http *h)
{
	uint64_t now = clock_mono_ns(), first = UINT64_MAX;

	if (h->heads.first != NULL)
		first = h->heads.first->deadline_ns;
	if (h->bodies.first != NULL && h->bodies.first->deadline_ns < first)
		first = h->bodies.first->deadline_ns;
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	return (int)((first - now + 999999) / 1000000);
}

static void
on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct http_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->h = h;
		c->mc = mc;
		c->reserve = h->nconns >= h->lim.max_conns;
		h->nconns++;
		conn_phase(h, c, CONN_HEAD);
		*socket_context = c;
	} else if (c != NULL) {
		conn_phase(h, c, CONN_REPLY);
		h->nconns--;
		free(c);
		*socket_context = NULL;
	}
}

/* The request target and its query arguments are decoded here rather than by MHD, which leaves
 * a decoded NUL in place: every C string function after it would see the text cut short
 * ("/v1/pools/1%00x" as "/v1/pools/1"). */
static size_t
on_unescape(void *cls, struct MHD_Connection *mc, char *s)
{
	struct http_conn *c;

	(void)cls;
	if (reqparse_unescape(s) >= 0)
		return strlen(s);
	if ((c = conn_of(mc)) != NULL)
		c->bad_escape = 1;
	else
		s[0] = '\0'; /* nothing can flag the request: leave nothing to match */
	return strlen(s);
}

static int
listen_socket(const char *spec, char *url, size_t urllen, int tls)
{
	char host[256], port[16], shown[INET6_ADDRSTRLEN];
	struct addrinfo hints = {0}, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const char *colon, *h = spec;
	size_t hlen;
	int fd = -1, one = 1, rc;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		h = spec + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - spec);
	}
	if (hlen >= sizeof(host) || strlen(colon + 1) >= sizeof(port) || colon[1] == '\0')
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	/* getaddrinfo takes "99999" and wraps it to 16 bits: check the range here. */
	if (strspn(port, "0123456789") != strlen(port) || strtoul(port, NULL, 10) > 65535)
		goto bad;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(hlen ? host : NULL, port, &hints, &res)) != 0) {
		log_error("--listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		log_error("--listen %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, shown, sizeof(shown));
		snprintf(url, urllen, "%s://[%s]:%u", tls ? "https" : "http", shown,
		    ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, shown, sizeof(shown));
		snprintf(
		    url, urllen, "%s://%s:%u", tls ? "https" : "http", shown, ntohs(s4->sin_port));
	}
	return fd;
bad:
	log_error(
	    "--listen %s: expected HOST:PORT or [V6HOST]:PORT with a port from 0 to 65535", spec);
	return -1;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) < 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		log_error("cannot read %s: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* ---- replies ---- */

void
reply_json(struct req *r, unsigned status, json_t *obj)
{
	r->content_type = NULL;
	json_decref(r->reply);
	free(r->text);
	r->text = NULL;
	r->status = status;
	r->reply = obj;
	r->is_problem = 0;
}

void
reply_json_text(struct req *r, unsigned status, const char *text)
{
	r->content_type = NULL;
	json_decref(r->reply);
	r->reply = NULL;
	free(r->text);
	r->text = strdup(text);
	r->status = status;
	r->is_problem = 0;
}

void
reply_empty(struct req *r, unsigned status)
{
	r->content_type = NULL;
	json_decref(r->reply);
	free(r->text);
	r->text = NULL;
	r->status = status;
	r->reply = NULL;
	r->is_problem = 0;
}

/* Details quote user input, which may be any bytes: keep printable ASCII so the problem is
 * always valid JSON. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

void
reply_problem(struct req *r, unsigned status, const char *field, const char *fmt, ...)
{
	char detail[512], f[80], path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printable(detail);
	snprintf(f, sizeof(f), "%s", field ? field : "");
	printable(f);
	snprintf(path, sizeof(path), "%s", r->path ? r->path : "");
	printable(path);
	json_decref(r->reply);
	free(r->text);
	r->text = NULL;
	r->status = status;
	r->reply = problem_new(status, detail, field ? f : NULL, path);
	r->is_problem = 1;
	r->content_type = NULL;
}

void
reply_text(struct req *r, unsigned status, const char *content_type, char *text)
{
	json_decref(r->reply);
	r->reply = NULL;
	free(r->text);
	r->text = text;
	r->status = status;
	r->is_problem = 0;
	r->content_type = content_type;
}

/* ---- streamed replies ---- */

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *s = cls;
	ssize_t n;

	(void)pos;
	if (s->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if ((n = s->ops->read(s->arg, buf, max)) < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		/* Suspended, MHD stops asking (returning 0 alone makes it ask again at once, a
		 * busy loop); http_stream_wake resumes it. */
		s->suspended = 1;
		MHD_suspend_connection(s->mc);
	}
	return n;
}

struct http_stream *
reply_stream(struct req *r, const char *content_type, const struct http_stream_ops *ops, void *arg)
{
	struct http_stream *s = calloc(1, sizeof(*s));
	struct http *h = r->hc != NULL ? r->hc->h : NULL;

	if (s == NULL || h == NULL) {
		free(s);
		r->retry_after = 1;
		reply_problem(r, 503, NULL, "out of memory for the stream; try again");
		return NULL;
	}
	reply_empty(r, 200);
	s->h = h;
	s->mc = r->conn;
	s->content_type = content_type;
	s->ops = ops;
	s->arg = arg;
	s->next = h->streams;
	if (h->streams != NULL)
		h->streams->prev = s;
	h->streams = s;
	r->stream = s;
	return s;
}

void
http_stream_wake(struct http_stream *s)
{
	if (s == NULL || !s->suspended)
		return;
	s->suspended = 0;
	MHD_resume_connection(s->mc);
}

int
http_stream_peer_closed(struct http_stream *s)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(s->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	char b;
	ssize_t n;

	if (ci == NULL)
		return 0;
	/* A stream's client sends nothing after its request: the end of its input is its
	 * leaving. */
	n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The stream's connection is done with it (on_completed): tell its producer and forget it. */
static void
stream_done(struct http_stream *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->h->streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->ops->done(s->arg);
	free(s);
}

static enum MHD_Result
send_stream(struct req *r)
{
	struct http_stream *s = r->stream;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	/* MHD asks for at most this much at a time: the producer's queue is the buffer. */
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s, NULL);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, s->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* A buffering proxy in front (nginx) would hold the events back. */
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	s->queued = ret == MHD_YES;
	return ret;
}

/* The dashboard's pages may load only what the manager itself serves, no inline script or
 * style, and may not be framed (clickjacking); API replies may load nothing at all. Neither is
 * ever sniffed into another type. */
#define CSP_WEB \
	"default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " \
	"object-src 'none'"
#define CSP_API "default-src 'none'; frame-ancestors 'none'"

static void
security_headers(struct MHD_Response *resp, int web)
{
	MHD_add_response_header(resp, "Content-Security-Policy", web ? CSP_WEB : CSP_API);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

/* The method as the logs name it: one HTTP defines, else "other". The method is the
 * client's own bytes, any length: logged as sent, it could forge a field or carry a secret. */
static const char *
method_for_log(const char *m)
{
	static const char *const known[] = {
	    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"};

	if (m == NULL)
		return "-";
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

/* A dashboard file, or 304 when the browser's copy is current. MHD owns the descriptor from
 * here (it closes it with the response). */
static enum MHD_Result
send_file(struct req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->status == 304) {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_fd64(r->file.size, r->file.fd);
		if (resp != NULL)
			r->has_file = 0;
	}
	if (resp == NULL)
		return MHD_NO;
	if (r->status == 200)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->file.type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->file.etag);
	/* Revalidated on every load (the ETag makes that a 304), so an upgraded manager's
	 * dashboard is never mixed with a cached older one. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	security_headers(resp, 1);
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	/* Not the path: paths are never logged (a client may put anything there). */
	log_debug("%s (a file of the dashboard) -> %u", method_for_log(r->method), r->status);
	return ret;
}

static enum MHD_Result
send_reply(struct req *r)
{
	struct MHD_Response *resp;
	char *text = NULL, ra[16], route[ROUTE_TEMPLATE_MAX];
	size_t len = 0;
	enum MHD_Result ret;

	if (r->stream != NULL && r->status == 200)
		return send_stream(r);
	if (r->has_file && r->reply == NULL)
		return send_file(r);
	if (r->text != NULL) {
		text = r->text;
		r->text = NULL;
		len = strlen(text);
	} else if (r->reply != NULL) {
		if ((text = json_dumps(r->reply, JSON_COMPACT)) == NULL)
			return MHD_NO;
		len = strlen(text);
		/* A trailing newline keeps curl output readable in a terminal. */
		text[len++] = '\n';
		char *t = realloc(text, len + 1);
		if (t != NULL)
			text = t;
	}
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (text != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type != NULL ? r->content_type
			: r->is_problem     ? "application/problem+json"
					    : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	security_headers(resp, 0);
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->status == 401)
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"snaptun\"");
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (r->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%u", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	/* The route, not the path: a path may hold a secret sent by mistake. */
	if (log_enabled(LOG_DEBUG)) {
		router_template(r->route, "(no route)", route, sizeof(route));
		log_debug("%s %s -> %u", method_for_log(r->method), route, r->status);
	}
	return ret;
}

/* ---- request inputs ---- */

const char *
req_query(struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int
req_query_has(struct req *r, const char *key)
{
	const char *v = NULL;
	size_t vlen = 0;

	/* req_query() cannot tell "?live" (no value: NULL) from its absence. */
	return MHD_lookup_connection_value_n(
		   r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v, &vlen) == MHD_YES;
}

const char *
req_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const struct sockaddr *
req_peer(struct req *r)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL ? ci->client_addr : NULL;
}

void
req_peer_text(struct req *r, char *buf)
{
	const struct sockaddr *sa = req_peer(r);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	snprintf(buf, INET6_ADDRSTRLEN, "unknown");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(
		    AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, INET6_ADDRSTRLEN);
	else if (sa != NULL && sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, INET6_ADDRSTRLEN);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, INET6_ADDRSTRLEN);
}

static int
in_list(const char *list, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == klen && strncmp(p, key, n) == 0)
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static enum MHD_Result
check_query_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct req *r = cls;

	(void)kind;
	(void)value;
	if (in_list(r->route->query, key))
		return MHD_YES;
	reply_problem(r, 400, key, "unknown query parameter \"%.64s\"", key);
	return MHD_NO;
}

int
req_page(struct req *r, int *limit, int64_t *after)
{
	const char *l = req_query(r, "limit"), *a = req_query(r, "after");
	int64_t v;

	*limit = LIST_LIMIT_DEFAULT;
	*after = 0;
	if (l != NULL) {
		/* Digits only: " 5" and "5 " alike are refused. */
		if (reqparse_int(l, 1, LIST_LIMIT_MAX, &v) < 0) {
			reply_problem(r, 400, "limit",
			    "limit must be an integer from 1 to %d (digits only)", LIST_LIMIT_MAX);
			return -1;
		}
		*limit = (int)v;
	}
	/* The cursor is the last id of the previous page, 8 bytes big-endian, base64url: opaque
	 * to clients, cheap to check. */
	if (a != NULL && reqparse_cursor(a, after) < 0) {
		reply_problem(r, 400, "after", "after is not a cursor this server issued");
		return -1;
	}
	return 0;
}

json_t *
page_next(int n, int limit, int64_t last_id)
{
	unsigned char raw[8];
	char text[B64URL_LEN(8) + 1];

	if (n < limit)
		return json_null();
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)((uint64_t)last_id >> (56 - 8 * i));
	b64url_encode(raw, sizeof(raw), text);
	return json_string(text);
}

int64_t
req_param_id(struct req *r, int i, const char *what)
{
	const char *s = r->params[i];
	int64_t v;

	if (*s == '0' || reqparse_int(s, 1, INT64_MAX, &v) < 0) {
		reply_problem(r, 404, NULL, "no %s with id \"%.64s\"", what, s);
		return -1;
	}
	return v;
}

int
req_query_id(struct req *r, const char *key, int64_t *id)
{
	const char *s = req_query(r, key);

	*id = 0;
	if (s == NULL)
		return 0;
	if (*s == '0' || reqparse_int(s, 1, INT64_MAX, id) < 0) {
		reply_problem(r, 400, key,
		    "%s must be an id: digits, from 1 to %lld, not \"%.64s\"", key,
		    (long long)INT64_MAX, s);
		return -1;
	}
	return 0;
}

/* ---- authentication ---- */

struct line_end {
	const char *next; /* where the line after the value would start */
	int found;
};

static enum MHD_Result
find_line(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen, const char *value,
    size_t vlen)
{
	struct line_end *le = cls;

	(void)kind;
	(void)klen;
	(void)value;
	(void)vlen;
	if (key == le->next)
		le->found = 1;
	return MHD_YES;
}

/* libmicrohttpd 0.9 ends a header value at a NUL byte, and hides the rest of its line: "Bearer
 * <token>\0junk" reads as "Bearer <token>". It parses the head in place, ending each line with
 * NULs where its CR and LF were, so the value of a whole line is followed by a second NUL
 * (CRLF, or LF then the empty line) or by the next header line; anything else is the hidden
 * rest of a line that held a NUL. The byte read is inside MHD's buffer: at least the end of
 * the head follows any header value. */
static int
value_whole(struct req *r, const char *value, size_t vlen)
{
	struct line_end le = {value + vlen + 1, 0};

	if (value[vlen + 1] == '\0')
		return 1;
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, find_line, &le);
	return le.found;
}

static int
authenticate(struct req *r)
{
	const char *h = NULL, *tok;
	size_t hlen = 0, toklen;
	struct admin_token t;
	int rv;

	/* With its length: a value with a NUL in it must not pass for the part before it. */
	if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
		strlen(MHD_HTTP_HEADER_AUTHORIZATION), &h, &hlen) != MHD_YES ||
	    h == NULL) {
		reply_problem(r, 401, NULL,
		    "an admin token is required: "
		    "Authorization: Bearer <token>");
		return -1;
	}
	if (reqparse_bearer(h, hlen, &tok, &toklen) < 0 || !value_whole(r, h, hlen)) {
		reply_problem(r, 401, NULL,
		    "the Authorization header must be \"Bearer \" and a token of visible ASCII "
		    "characters");
		return -1;
	}
	rv = admintoken_authenticate(r->app->db, tok, r->app->now(), &t);
	if (rv == ERR_BUSY || rv == ERR_DB || rv == ERR_NOMEM) {
		/* The store could not say: the token may well be good (a PostgreSQL store may
		 * be restarting). */
		r->retry_after = 1;
		reply_problem(r, 503, NULL, "the store is unavailable; try again");
		return -1;
	}
	if (rv < 0) {
		reply_problem(r, 401, NULL, "the admin token is unknown, revoked or expired");
		return -1;
	}
	r->token_id = t.id;
	r->scope = t.scope;
	snprintf(r->actor, sizeof(r->actor), "%s", t.name);
	if ((r->route->scopes & t.scope) == 0) {
		reply_problem(r, 403, NULL, "a token of scope \"%s\" may not %s %s",
		    admintoken_scope_str(t.scope), r->method, r->path);
		return -1;
	}
	return 0;
}

static int
content_type_json(struct req *r)
{
	const char *ct =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

struct head_scan {
	size_t bytes;
	int content_lengths;
	int nul;
};

static enum MHD_Result
scan_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen, const char *value,
    size_t vlen)
{
	struct head_scan *hs = cls;

	(void)kind;
	hs->bytes += klen + vlen + 4; /* "key: value\r\n" */
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		hs->content_lengths++;
	if (memchr(key, '\0', klen) != NULL || memchr(value, '\0', vlen) != NULL)
		hs->nul = 1;
	return MHD_YES;
}

/* The head as a whole, before its route is looked at. 0, or -1 with the problem in the
 * reply. */
static int
check_head(struct req *r, const char *url)
{
	struct head_scan hs = {0};

	if (r->hc != NULL && r->hc->bad_escape) {
		reply_problem(r, 400, NULL, "the request target holds an encoded NUL byte (%%00)");
		return -1;
	}
	if (strlen(url) > HTTP_URL_MAX) {
		r->close = 1;
		reply_problem(r, 414, NULL, "the request target is over %d bytes", HTTP_URL_MAX);
		return -1;
	}
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, scan_header, &hs);
	if (hs.bytes > HTTP_HEAD_MAX) {
		r->close = 1;
		reply_problem(r, 431, NULL, "the request header fields are over %d bytes in all",
		    HTTP_HEAD_MAX);
		return -1;
	}
	/* Two lengths for one body: whichever a proxy in front believed, the other is a
	 * smuggled request. */
	if (hs.content_lengths > 1) {
		r->close = 1;
		reply_problem(r, 400, NULL, "more than one Content-Length header");
		return -1;
	}
	if (hs.nul) {
		r->close = 1;
		reply_problem(r, 400, NULL, "a header field holds a NUL byte");
		return -1;
	}
	return 0;
}

/* A path outside the API, answered from the dashboard's files when there are any. Only GET
 * and HEAD; a 404 is problem+json like any other. */
static void
begin_web(struct req *r, const char *method, const char *url)
{
	const char *inm;

	if (strcmp(r->method, "GET") != 0) {
		snprintf(r->allow, sizeof(r->allow), "GET, HEAD");
		reply_problem(r, 405, NULL, "%s is not allowed here (allowed: GET, HEAD)", method);
		return;
	}
	if (webroot_open(r->app->web, url, &r->file) < 0) {
		reply_problem(r, 404, NULL, "no such resource");
		return;
	}
	r->has_file = 1;
	inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	r->status = webroot_etag_matches(inm, r->file.etag) ? 304 : 200;
}

/* Everything that can be decided from the request head. */
static void
begin_request(struct http *h, struct req *r, const char *method, const char *url)
{
	const char *cl;
	char allow[64] = "";

	r->method = strcmp(method, "HEAD") == 0 ? "GET" : method;
	r->path = url;
	if (check_head(r, url) < 0) {
		r->pending = 1;
		return;
	}
	r->route = router_match(h->routes, h->nroutes, r, r->method, url, allow, sizeof(allow));
	if (r->route == NULL) {
		if (allow[0] != '\0') {
			snprintf(r->allow, sizeof(r->allow), "%s", allow);
			reply_problem(
			    r, 405, NULL, "%s is not allowed here (allowed: %s)", method, allow);
		} else if (h->serve_web && r->app->web != NULL && strncmp(url, "/v1/", 4) != 0 &&
		    strcmp(url, "/v1") != 0) {
			begin_web(r, method, url);
		} else {
			reply_problem(r, 404, NULL, "no such resource");
		}
		r->pending = 1;
		return;
	}
	if (r->route->limited && r->hc != NULL && r->hc->reserve) {
		r->close = 1;
		r->retry_after = 1;
		reply_problem(r, 503, NULL,
		    "the manager is at its connection limit; only the admin API and /v1/health are "
		    "served now, try again");
		r->pending = 1;
		return;
	}
	if (r->route->limited && r->app->limiter != NULL &&
	    !ratelimit_take(r->app->limiter, req_peer(r), clock_mono_ns(), &r->retry_after)) {
		reply_problem(r, 429, NULL, "too many requests from this address; retry in %u s",
		    r->retry_after);
		r->pending = 1;
		return;
	}
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > BODY_MAX) {
		reply_problem(r, 413, NULL, "the request body is over %d bytes", BODY_MAX);
		r->pending = 1;
		r->close = 1;
		return;
	}
	if (r->route->scopes != 0 && authenticate(r) < 0) {
		r->pending = 1;
		return;
	}
	if (MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_query_key, r) >= 0 &&
	    r->reply != NULL)
		r->pending = 1;
}

static void
finish_request(struct req *r)
{
	struct body_error e;

	if (r->route->body == NULL) {
		if (r->body_len > 0) {
			reply_problem(r, 400, NULL, "this endpoint takes no request body");
			return;
		}
	} else {
		if (r->body_len == 0) {
			reply_problem(
			    r, 400, NULL, "a JSON object is required as the request body");
			return;
		}
		if (!content_type_json(r)) {
			reply_problem(r, 415, NULL, "the request body must be application/json");
			return;
		}
		r->json = body_parse(r->body, r->body_len, r->route->body, r->route->nbody, &e);
		if (r->json == NULL) {
			reply_problem(r, 400, e.has_field ? e.field : NULL, "%s", e.detail);
			return;
		}
	}
	r->route->handler(r);
	if (r->status == 0)
		reply_problem(r, 500, NULL, "the handler gave no answer");
}

/* Decide how r meets the batch: a request that may write opens or joins it; a read joins an open
 * one (it may read the batch's changes, so it must not be answered before they are durable) and
 * otherwise runs alone; a route that manages its own transactions runs after the batch is
 * flushed. 0, or -1 with a 503 in the reply. */
static int
join_batch(struct http *h, struct req *r)
{
	if (h->closing) {
		/* Nothing may be left suspended when the daemon stops. */
		r->close = 1;
		reply_problem(r, 503, NULL, "the manager is shutting down");
		return -1;
	}
	if (r->route->own_tx) {
		/* The loop's own flush reports these too (released_early). */
		h->released_early += http_flush(h);
		return 0;
	}
	if (h->batch_open || strcmp(r->method, "GET") == 0)
		return 0;
	if (db_begin(h->app->db) < 0) {
		r->retry_after = 1;
		reply_problem(r, 503, NULL, "the store is busy; try again");
		return -1;
	}
	h->batch_open = 1;
	return 0;
}

int
http_flush(struct http *h)
{
	struct req *r, *next;
	int rv, n = h->released_early;

	h->released_early = 0;
	if (!h->batch_open)
		return n;
	rv = db_commit(h->app->db);
	h->batch_open = 0;
	for (r = h->waiting; r != NULL; r = next) {
		next = r->next_waiting;
		r->next_waiting = NULL;
		r->committed = 1;
		if (rv < 0) {
			r->retry_after = 1;
			reply_problem(r, 503, NULL,
			    "the change could not be stored; nothing was "
			    "changed, try again");
		}
		MHD_resume_connection(r->conn);
		n++;
	}
	h->waiting = NULL;
	/* The resumed connections are served by the next run, which MHD's timeout asks for at
	 * once. Not here: that run could open a new batch, and the loop's timers (sweeps,
	 * checkpoints) must find none open. */
	return n;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->app = h->app;
		r->conn = conn;
		r->started_ns = clock_mono_ns();
		r->hc = conn_of(conn);
		*con_cls = r;
		if (r->hc != NULL)
			conn_phase(h, r->hc, CONN_BODY);
		begin_request(h, r, method, url);
		/* A declared oversized body is refused before it is sent; everything else is
		 * answered from a later call. */
		if (r->status == 413) {
			r->answered = 1;
			if (r->hc != NULL)
				conn_phase(h, r->hc, CONN_REPLY);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->pending) {
			/* MHD cannot answer in the middle of an upload (a chunked body has no
			 * length to refuse up front): read and drop what is left of a refused
			 * body, then answer. The body deadline bounds how long that may take. */
			r->drained += n;
			return MHD_YES;
		}
		if (r->body_len + n > BODY_MAX) {
			reply_problem(r, 413, NULL, "the request body is over %d bytes", BODY_MAX);
			r->pending = 1;
			r->close = 1;
			return MHD_YES;
		}
		char *nb = realloc(r->body, r->body_len + n + 1);
		if (nb == NULL)
			return MHD_NO;
		r->body = nb;
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		return MHD_YES;
	}
	/* The request is complete: its reply is bounded by MHD's idle timeout, not a deadline. */
	if (r->hc != NULL)
		conn_phase(h, r->hc, CONN_REPLY);
	if (r->answered)
		return MHD_YES;
	if (r->committed || r->pending)
		return send_reply(r);
	if (join_batch(h, r) < 0)
		return send_reply(r);
	finish_request(r);
	if (!h->batch_open)
		return send_reply(r);
	r->next_waiting = h->waiting;
	h->waiting = r;
	MHD_suspend_connection(conn);
	return MHD_YES;
}

static void
access_line(struct req *r, enum MHD_RequestTerminationCode toe)
{
	char peer[INET6_ADDRSTRLEN], route[ROUTE_TEMPLATE_MAX];
	struct log_field f[7];
	size_t n = 0;

	req_peer_text(r, peer);
	f[n++] = LOG_STR("method", method_for_log(r->method));
	/* The template: a path can carry what must not be logged (ids of secrets). */
	router_template(r->route, "-", route, sizeof(route));
	f[n++] = LOG_STR("route", route);
	f[n++] = LOG_INT("status", r->status);
	f[n++] = LOG_INT("duration_us", (clock_mono_ns() - r->started_ns) / 1000);
	f[n++] = LOG_STR("source", peer);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		f[n++] = LOG_STR("end",
		    toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT          ? "client closed"
			: toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
			: toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
									: "error");
	log_fields(LOG_INFO, f, n, "http request");
}

static void
on_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct req *r = *con_cls;
	struct http_conn *c = conn_of(conn);

	/* The next request's head is due from now on (the connection may close instead). */
	if (c != NULL && !c->cut) {
		c->bad_escape = 0;
		conn_phase(h, c, CONN_HEAD);
	}
	if (r == NULL)
		return;
	/* Answered or not (a connection cut mid-request counts with status 0): from its head to
	 * the end of its reply. */
	metrics_http(
	    h->app->metrics, r->route, r->status, (double)(clock_mono_ns() - r->started_ns) / 1e9);
	if (h->access_log)
		access_line(r, toe);
	if (r->stream != NULL)
		stream_done(r->stream);
	if (r->has_file)
		close(r->file.fd);
	json_decref(r->reply);
	json_decref(r->json);
	free(r->text);
	free(r->body);
	free(r->param_buf);
	free(r);
	*con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("httpd: %s", msg);
}

struct http *
http_open(struct app *app, const char *addr, const char *cert_file, const char *key_file,
    const struct route *table, size_t n, const struct http_limits *lim, char *url, size_t urllen)
{
	static const struct http_limits defaults = {
	    HTTP_MAX_CONNS, HTTP_RESERVE, HTTP_PER_SOURCE, HTTP_HEAD_TIMEOUT, HTTP_BODY_TIMEOUT};
	struct http *h;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	int tls = cert_file != NULL && key_file != NULL;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->app = app;
	h->routes = table;
	h->nroutes = n;
	h->lim = lim != NULL ? *lim : defaults;
	if (tls &&
	    ((h->tls_cert = read_file(cert_file)) == NULL ||
		(h->tls_key = read_file(key_file)) == NULL))
		goto fail;
	if ((h->listen_fd = listen_socket(addr, url, urllen, tls)) < 0)
		goto fail;
	if (tls)
		flags |= MHD_USE_TLS;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_LISTEN_SOCKET,
	    h->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_UNESCAPE_CALLBACK,
	    on_unescape, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_LIMIT, h->lim.max_conns + h->lim.reserve,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->lim.per_source,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, NULL,
	    /* Without TLS the list ends here and the TLS options are never read. */
	    tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
	    h->tls_key, MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    MHD_OPTION_END);
	if (h->d == NULL) {
		log_error("cannot start the HTTP server on %s%s", addr,
		    tls ? " (check --tls-cert/--tls-key)" : "");
		goto fail;
	}
	return h;
fail:
	http_close(h);
	return NULL;
}

void
http_access_log(struct http *h, int on)
{
	h->access_log = on;
}

void
http_serve_web(struct http *h, int on)
{
	h->serve_web = on;
}

void
http_close(struct http *h)
{
	if (h == NULL)
		return;
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	if (h->listen_fd > 0)
		close(h->listen_fd);
	free(h->tls_cert);
	free(h->tls_key);
	free(h);
}

void
http_shutdown(struct http *h)
{
	h->closing = 1;
	/* Streams end at their next read; a suspended one is resumed for it, as MHD refuses to
	 * stop with a connection suspended. */
	for (struct http_stream *st = h->streams; st != NULL; st = st->next) {
		st->ended = 1;
		http_stream_wake(st);
	}
	/* Send what the last flush released; whatever arrives now is refused. */
	MHD_run(h->d);
}

int
http_fd(struct http *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return info != NULL ? info->epoll_fd : -1;
}

void
http_run(struct http *h)
{
	conn_sweep(h);
	MHD_run(h->d);
}

int
http_timeout_ms(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int deadline = conn_timeout_ms(h), t;

	if (MHD_get_timeout(h->d, &ms) != MHD_YES)
		return deadline;
	t = ms > 60000 ? 60000 : (int)ms;
	return deadline >= 0 && deadline < t ? deadline : t;
}
