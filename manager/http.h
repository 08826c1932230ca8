/* The HTTP side of the manager: libmicrohttpd driven from the manager's epoll loop, one
 * struct req per request, routing, authentication, JSON bodies and problem+json replies. */
#ifndef MANAGER_HTTP_H
#define MANAGER_HTTP_H

#include <jansson.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "../db/admintoken.h"
#include "body.h"
#include "webroot.h"
#include "../lib/text.h"

struct app;
struct http;
struct http_conn;
struct MHD_Connection;

/* Admin token scopes, as a bitmask of who may call a route (0: public): a token's scope is one
 * of these bits. */
enum scope {
	SCOPE_ADMIN = ADMINTOKEN_ADMIN,
	SCOPE_READ = ADMINTOKEN_READ,
	SCOPE_PROVISION = ADMINTOKEN_PROVISION,
};

#define SCOPE_READERS (SCOPE_ADMIN | SCOPE_READ)
#define SCOPE_ALL (SCOPE_ADMIN | SCOPE_READ | SCOPE_PROVISION)

#define REQ_MAX_PARAMS 4

struct req {
	struct app *app;
	struct MHD_Connection *conn;
	struct http_conn *hc; /* its connection's state; NULL if it could not be kept */
	const char *method; /* GET for HEAD */
	const char *path;
	const struct route *route;
	const char *params[REQ_MAX_PARAMS]; /* the path's {…} segments, in order */
	char *param_buf;
	char *body;
	size_t body_len;
	json_t *json; /* the parsed body, for routes that take one */
	/* the caller, for authenticated routes */
	int64_t token_id;
	char actor[TEXT_ACTOR_MAX + 1];
	int scope;
	/* the reply */
	unsigned status;
	json_t *reply; /* NULL: no body (204), unless text is set */
	char *text; /* a JSON body already serialised (owned) */
	const char *content_type; /* of text when it is not JSON (static); NULL: JSON */
	uint64_t started_ns; /* when its head arrived (monotonic): latency, access log */
	int is_problem;
	char location[128];
	char allow[64];
	unsigned retry_after;
	int pending; /* an error decided before the body arrived */
	int close; /* close the connection after the reply */
	int answered; /* the reply is queued already */
	int committed; /* its batch is committed: the reply may go */
	int began; /* the handler has a transaction open (api_begin) */
	struct req *next_waiting; /* in the list of requests waiting for the commit */
	struct http_stream *stream; /* the reply is a stream (reply_stream) */
	size_t drained; /* bytes of a refused body read and dropped */
	struct webfile file; /* a dashboard file to send (has_file), see webroot.h */
	int has_file;
};

typedef void (*handler_fn)(struct req *r);

struct route {
	const char *method;
	const char *pattern; /* "/v1/pools/{}" */
	handler_fn handler;
	int scopes; /* who may call it; 0: public */
	const struct body_field *body; /* the fields of a JSON body, NULL: no body */
	size_t nbody;
	const char *query; /* accepted query parameters, comma-separated */
	int limited; /* public endpoint under the per-source rate limit */
	int own_tx; /* runs its own transactions: never joins a batch (group commit) */
};

/* Route lookup (router.c): the entry of table[n] for method and path, with its parameters
 * captured into r. When the path matches but not the method, *allow lists the methods that
 * do. */
const struct route *router_match(const struct route *table, size_t n, struct req *r,
    const char *method, const char *path, char *allow, size_t allowlen);

/* A route as logs and metrics show it: its pattern with each {} named {id}
 * ("/v1/pools/{id}"), or none when route is NULL; cut to fit len (ROUTE_TEMPLATE_MAX holds
 * every route of the tables). */
#define ROUTE_TEMPLATE_MAX 128
void router_template(const struct route *route, const char *none, char *out, size_t len);

/* The admin API's route table (routes.c) and its length in *n; the table of the metrics
 * listener. */
const struct route *routes_table(size_t *n);
const struct route *routes_metrics_table(size_t *n);

/* What one client may hold of the HTTP server. A connection must deliver each request head
 * within head_timeout seconds of connecting or of its previous reply, and a request's body
 * within body_timeout seconds of its head; past that it is closed, however slowly it is still
 * sending. max_conns connections are served at once, per_source of them from one address;
 * reserve more are kept for everything but the public enrollment endpoints (the admin API
 * and /v1/health), which a flood of connections from many addresses then cannot lock out. */
struct http_limits {
	unsigned max_conns;
	unsigned reserve;
	unsigned per_source;
	unsigned head_timeout;
	unsigned body_timeout;
};

#define HTTP_MAX_CONNS 4096
#define HTTP_RESERVE 64
#define HTTP_PER_SOURCE 64
#define HTTP_HEAD_TIMEOUT 10
#define HTTP_BODY_TIMEOUT 30
/* A request target longer than this is refused (414); a head, all header lines together,
 * longer than HTTP_HEAD_MAX too (431). */
#define HTTP_URL_MAX 8192
#define HTTP_HEAD_MAX 16384

/* Listen on addr ("127.0.0.1:8080", "[::1]:8080"), with TLS when cert and key are given, and
 * serve the routes of table[n] (kept, not copied) within lim (NULL: the defaults above). The
 * URL it serves is written to url. NULL on failure (logged). */
struct http *http_open(struct app *app, const char *addr, const char *cert_file,
    const char *key_file, const struct route *table, size_t n, const struct http_limits *lim,
    char *url, size_t urllen);
void http_close(struct http *h);

/* With on, log every request at info when its reply is done: method, route template (never
 * the path, which may name a secret's id), status, duration and source address. */
void http_access_log(struct http *h, int on);
/* With on, a GET or HEAD of a path outside /v1 that no route matches is a file of the
 * dashboard (app->web); off (the default, --metrics-listen): 404. */
void http_serve_web(struct http *h, int on);

/* The fd to poll for input, running pending work, and the next deadline in ms (-1: none). */
int http_fd(struct http *h);
void http_run(struct http *h);
int http_timeout_ms(struct http *h);

/* Commit the open batch, if any, and release the replies that waited for it (a failed commit
 * turns them into 503s); the next http_run sends them, so the loop runs again at once when this
 * returns more than 0. The loop calls it after every run, so that nothing else it does
 * (timers) ever finds a batch open. Returns how many replies were released. */
int http_flush(struct http *h);

/* Before http_close: send the replies the last flush released and refuse new requests (503),
 * so that no connection is left suspended (libmicrohttpd aborts on that). */
void http_shutdown(struct http *h);

/* Replies: the reply object is consumed. */
void reply_json(struct req *r, unsigned status, json_t *obj);
void reply_empty(struct req *r, unsigned status);
/* A JSON body serialised by the handler (copied). */
void reply_json_text(struct req *r, unsigned status, const char *text);
/* A body of another type than JSON: text (a NUL-terminated heap string) is consumed;
 * content_type is static. */
void reply_text(struct req *r, unsigned status, const char *content_type, char *text);
void reply_problem(struct req *r, unsigned status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A reply of unknown length written as its producer has something to say (Server-Sent
 * Events): read(arg, buf, max) copies up to max bytes into buf and returns their count, 0 when
 * there is nothing now (the connection then waits, costing no turn of the loop, until
 * http_stream_wake), or -1 to end the stream. done(arg) is called once when the stream is over,
 * whoever ended it (the client gone, -1, shutdown); read is not called after it. */
struct http_stream_ops {
	ssize_t (*read)(void *arg, char *buf, size_t max);
	void (*done)(void *arg);
};

/* Answer r with 200 and a stream of content_type (a string literal) fed by ops (kept) and arg.
 * The handle names the stream to http_stream_wake and http_stream_end until done is called;
 * NULL with a 503 in the reply when out of memory. */
struct http_stream *reply_stream(
    struct req *r, const char *content_type, const struct http_stream_ops *ops, void *arg);

/* The producer of s has something to read: the connection goes on from the next http_run. */
void http_stream_wake(struct http_stream *s);

/* 1 if the client of s has closed its side (or the connection failed): a suspended stream
 * would only notice at its next write. 0 otherwise, also when it cannot tell (TLS). */
int http_stream_peer_closed(struct http_stream *s);

/* Request inputs: a query parameter, a header field (NULL: absent). */
const char *req_query(struct req *r, const char *key);
/* Whether the query names key, with a value or without ("?live"). */
int req_query_has(struct req *r, const char *key);
const char *req_header(struct req *r, const char *name);

/* The peer's address, and as text (an IPv4-mapped IPv6 address as IPv4) into buf
 * (INET6_ADDRSTRLEN). */
const struct sockaddr *req_peer(struct req *r);
void req_peer_text(struct req *r, char *buf);

/* Paging: limit (default 100, 1..1000) and the opaque after cursor. 0, or -1 with the
 * problem already in the reply. */
int req_page(struct req *r, int *limit, int64_t *after);
/* The cursor for the next page: a JSON string when the page was full, else null. */
json_t *page_next(int n, int limit, int64_t last_id);

/* A path parameter as a positive id; -1 with a 404 in the reply if it is not one. */
int64_t req_param_id(struct req *r, int i, const char *what);

/* The query parameter key as a positive id in *id (0 when absent): 0, or -1 with a 400 naming
 * key in the reply (not digits, a leading zero, or over INT64_MAX). */
int req_query_id(struct req *r, const char *key, int64_t *id);

#endif
