/* The tunnel session's lifecycle: connect, handshake, renew, reconnect (session.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>

#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/log.h"
#include "session.h"

#define BACKOFF_MIN_NS (500ull * 1000000u)
#define BACKOFF_MAX_NS (30ull * 1000000000u)
/* A tunnel that stayed up this long was a real recovery: the backoff starts over. One that
 * drops sooner (an agent that takes the handshake and then fails, another client fighting
 * over the same identity) keeps the backoff growing, so a flap does not reconnect twice a
 * second forever. */
#define STABLE_NS (30ull * 1000000000u)
#define STOP_WAIT_NS (1000ull * 1000000u) /* for the CONNECTION_CLOSE to go out on `down` */

/* The one control request in flight: the handshake's two run one after the other, renewals
 * after it one at a time. */
struct req {
	int active;
	int64_t sid;
	enum ctrl_path path;
	uint8_t buf[CTRL_MSG_MAX + 1];
	size_t len;
};

struct session {
	struct loop *l;
	struct session_config cfg;
	struct session_hooks h;
	char token[SESSION_TOKEN_MAX];

	struct quic_conn *conn;
	int fd;
	enum status_state state;
	unsigned cur; /* the agent connected or being tried */
	unsigned good; /* the agent that worked last: a new round starts there */
	unsigned tried; /* agents that failed in a row in this round */
	uint64_t backoff_ns;
	uint64_t up_since; /* monotonic ns: when the tunnel came up last */
	uint64_t retry_timer, stop_timer;

	struct req req;
	int renew_pending; /* a new token came while a request was in flight */
	struct ctrl_assign ask; /* what the next assign_addresses asks for */
	int ask_strict; /* ask is the user's --request-addr: a refusal is fatal */

	struct addr addr; /* the assigned address (family 0: none yet) */
	uint64_t isd_as;
	int64_t valid_until;
	unsigned reconnects;
	char last_error[STATUS_TEXT_MAX];

	int token_stale; /* the token was refused: ask for a fresh one before retrying */
	int awaiting_token; /* a retry waits for the fresh token asked for: connect when it comes */
	int fatal; /* a refusal that ends the session: stop instead of retrying */
	char fatal_why[STATUS_TEXT_MAX];
	int stopping, stopped;
};

static void connect_now(struct session *s);

static void session_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Remember (and log) what went wrong last, for `status`. */
static void
session_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	log_warn("%s", s->last_error);
}

static void
finish_stop(struct session *s, int rc, const char *why)
{
	if (s->stopped)
		return;
	s->stopped = 1;
	if (s->retry_timer != 0)
		loop_timer_cancel(s->l, s->retry_timer);
	if (s->stop_timer != 0)
		loop_timer_cancel(s->l, s->stop_timer);
	s->retry_timer = s->stop_timer = 0;
	s->h.stopped(s->h.arg, rc, why);
}

static void
on_retry(struct loop *l, uint64_t id, void *arg)
{
	struct session *s = arg;

	(void)l;
	(void)id;
	s->retry_timer = 0;
	connect_now(s);
}

/* Uniform in [d/2, d]: clients that lost the same agent do not come back in step. */
static uint64_t
jitter(uint64_t d)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)clock_mono_ns();
	return d / 2 + (uint64_t)((double)(d / 2) * ((double)r / 4294967296.0));
}

/* This attempt failed or the tunnel dropped: the next agent at once while some in this round
 * have not been tried, else a new round after the backoff. */
static void
schedule_retry(struct session *s, int was_up)
{
	uint64_t delay = 0;

	s->reconnects++;
	if (was_up && clock_mono_ns() - s->up_since >= STABLE_NS)
		s->backoff_ns = BACKOFF_MIN_NS;
	if (!was_up && s->cfg.nagents > 1 && ++s->tried < s->cfg.nagents) {
		s->cur = (s->cur + 1) % s->cfg.nagents;
	} else {
		s->tried = 0;
		s->cur = s->good;
		delay = jitter(s->backoff_ns);
		s->backoff_ns =
		    s->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : s->backoff_ns * 2;
	}
	s->state = STATUS_RECONNECTING;
	log_info(
	    "reconnecting to %s in %.1f s", s->cfg.agents[s->cur].address, (double)delay / 1e9);
	s->retry_timer = loop_timer_add(s->l, delay, 0, on_retry, s);
	if (s->retry_timer == 0)
		fatalx("out of memory");
}

/* ---- control requests ---- */

static void
request_send(struct session *s, enum ctrl_path path, const uint8_t *body, size_t blen)
{
	uint8_t out[CTRL_MSG_MAX + 1];
	ssize_t n = ctrl_request_write(path, s->token, body, blen, out, sizeof(out));
	int rv;

	if (n < 0) {
		/* only a token that no longer fits a request gets here: the owner's file changed */
		session_error(s, "cannot write the %s request: %s", ctrl_path_str((int)path),
		    ctrl_err_str((int)n));
		quic_conn_close(s->conn, CTRL_CLOSE_NORMAL, "client cannot write a request");
		return;
	}
	if ((rv = quic_stream_open(s->conn, &s->req.sid)) != 0 ||
	    (rv = quic_stream_send(s->conn, s->req.sid, out, (size_t)n, 1)) != 0) {
		session_error(
		    s, "cannot send the %s request (QUIC error %d)", ctrl_path_str((int)path), rv);
		quic_conn_close(s->conn, CTRL_CLOSE_INTERNAL, "client cannot open a stream");
		return;
	}
	s->req.active = 1;
	s->req.path = path;
	s->req.len = 0;
}

static void
send_assign(struct session *s)
{
	uint8_t body[128];
	ssize_t n = ctrl_assign_request_encode(&s->ask, body, sizeof(body));

	if (n < 0)
		fatalx("cannot encode the address request: %s", ctrl_err_str((int)n));
	request_send(s, CTRL_PATH_ASSIGN_ADDRESSES, body, (size_t)n);
}

/* A non-200 answer as one line for logs: status and the body's text, printable bytes only. */
static void
describe(int status, const uint8_t *body, size_t blen, char *out, size_t cap)
{
	size_t o, i;

	o = (size_t)snprintf(out, cap, "%d ", status);
	for (i = 0; i < blen && o + 1 < cap; i++)
		out[o++] = body[i] >= 0x20 && body[i] < 0x7f ? (char)body[i] : '?';
	out[o < cap ? o : cap - 1] = '\0';
}

static void
on_renewed(struct session *s, int status, const uint8_t *body, size_t blen, int handshake)
{
	uint64_t until;
	char text[STATUS_TEXT_MAX];

	if (status != 200 || ctrl_session_response_decode(body, blen, &until) != CTRL_OK) {
		describe(status, body, blen, text, sizeof(text));
		session_error(s, "renew_session refused: %s", text);
		/* in the handshake the gateway closes now; either way the token is the problem */
		if (status == 401)
			s->token_stale = 1;
		return;
	}
	s->valid_until = (int64_t)until;
	log_info("session valid until %lld", (long long)until);
	if (handshake)
		send_assign(s);
}

static void
on_assigned(struct session *s, int status, const uint8_t *body, size_t blen)
{
	char text[STATUS_TEXT_MAX], a[ADDR_STRLEN], ia[ISDAS_STRLEN];
	struct addr ad;
	uint64_t isd_as;
	int asked = s->ask.has_request && !s->ask.any;

	if (status != 200 || ctrl_assign_response_decode(body, blen, &isd_as, &ad) != CTRL_OK) {
		describe(status, body, blen, text, sizeof(text));
		session_error(s, "assign_addresses refused: %s", text);
		if (status == 400 && asked && s->ask_strict) {
			s->fatal = 1;
			snprintf(s->fatal_why, sizeof(s->fatal_why),
			    "the requested address was refused: %.180s", text);
		} else if (status == 400 && asked) {
			/* the address we had went to someone else after its hold: take any */
			memset(&s->ask, 0, sizeof(s->ask));
			s->ask.any = 1;
		}
		return;
	}
	if (s->addr.family != 0 && memcmp(&s->addr, &ad, sizeof(ad)) != 0)
		log_warn("the tunnel's address changed");
	s->addr = ad;
	s->isd_as = isd_as;
	addr_format(&ad, a);
	isdas_format(isd_as, ia);
	log_info("tunnel up: %s (%s) via %s", a, ia, s->cfg.agents[s->cur].address);
	/* ask for the same address after a drop: the grant waits on hold for us */
	s->ask.has_request = 1;
	s->ask.any = 0;
	s->ask.isd_as = isd_as;
	s->ask.addr = ad;
	s->state = STATUS_UP;
	s->good = s->cur;
	s->tried = 0;
	s->up_since = clock_mono_ns();
	s->last_error[0] = '\0';
	s->h.up(s->h.arg, &ad, isd_as, quic_conn_max_datagram(s->conn));
}

static void
response_done(struct session *s)
{
	struct req *r = &s->req;
	const uint8_t *body;
	size_t blen;
	int status, rv;

	r->active = 0;
	rv = ctrl_response_parse(r->buf, r->len, 1, &status, &body, &blen);
	if (rv != CTRL_OK) {
		session_error(
		    s, "malformed %s response: %s", ctrl_path_str((int)r->path), ctrl_err_str(rv));
		if (s->state != STATUS_UP)
			quic_conn_close(s->conn, CTRL_CLOSE_INVALID_REQUEST, "malformed response");
		return;
	}
	if (r->path == CTRL_PATH_RENEW_SESSION)
		on_renewed(s, status, body, blen, s->state == STATUS_HANDSHAKING);
	else
		on_assigned(s, status, body, blen);
	if (s->state == STATUS_UP && s->renew_pending && s->conn != NULL && !r->active) {
		s->renew_pending = 0;
		request_send(s, CTRL_PATH_RENEW_SESSION, NULL, 0);
	}
}

/* ---- QUIC callbacks ---- */

static void
on_ready(void *arg, struct quic_conn *c)
{
	struct session *s = arg;

	(void)c;
	s->state = STATUS_HANDSHAKING;
	s->renew_pending = 0;
	request_send(s, CTRL_PATH_RENEW_SESSION, NULL, 0);
}

static void
on_stream_data(
    void *arg, struct quic_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin)
{
	struct session *s = arg;
	struct req *r = &s->req;

	(void)c;
	if (!r->active || sid != r->sid)
		return;
	/* bounded: a response over CTRL_MSG_MAX is too big for the parser anyway */
	if (len > sizeof(r->buf) - r->len)
		len = sizeof(r->buf) - r->len;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	if (fin)
		response_done(s);
}

static void
on_stream_reset(void *arg, struct quic_conn *c, int64_t sid, uint64_t code)
{
	struct session *s = arg;

	(void)c;
	if (!s->req.active || sid != s->req.sid)
		return;
	s->req.active = 0;
	session_error(s, "the gateway reset the %s request (code %llu)",
	    ctrl_path_str((int)s->req.path), (unsigned long long)code);
}

static void
on_datagram(void *arg, struct quic_conn *c, const uint8_t *data, size_t len)
{
	struct session *s = arg;

	(void)c;
	/* §1.4: nothing flows before the tunnel is established */
	if (s->state == STATUS_UP)
		s->h.packet(s->h.arg, data, len);
}

static void
on_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	struct session *s = arg;
	int was_up = s->state == STATUS_UP;

	(void)c;
	loop_fd_del(s->l, s->fd);
	s->conn = NULL;
	s->fd = -1;
	s->req.active = 0;
	if (was_up)
		s->h.down(s->h.arg);
	if (s->stopping) {
		finish_stop(s, 0, "stopped");
		return;
	}
	if (how->app && how->code == CTRL_CLOSE_UNAUTHENTICATED) {
		snprintf(s->fatal_why, sizeof(s->fatal_why),
		    "the gateway refused this client (close code 3: %.100s): it was revoked or sent "
		    "no token; not reconnecting",
		    how->reason[0] ? how->reason : "unauthenticated");
		session_error(s, "%s", s->fatal_why);
		finish_stop(s, 1, s->fatal_why);
		return;
	}
	if (s->fatal) {
		finish_stop(s, 1, s->fatal_why);
		return;
	}
	if (how->handshake_failed)
		session_error(s,
		    "QUIC handshake with %s failed (unreachable, or its certificate "
		    "does not match)",
		    s->cfg.agents[s->cur].address);
	else if (how->idle)
		session_error(s, "the connection to %s timed out", s->cfg.agents[s->cur].address);
	else if (how->app)
		session_error(s, "the connection closed (%s, code %llu: %s)",
		    how->by_peer ? "by the gateway" : "by us", (unsigned long long)how->code,
		    how->reason);
	else
		session_error(s, "the connection closed (transport error %llu%s%s)",
		    (unsigned long long)how->code, how->reason[0] ? ": " : "", how->reason);
	if (how->app && how->code == CTRL_CLOSE_SESSION_EXPIRED)
		s->token_stale = 1;
	schedule_retry(s, was_up);
	if (s->token_stale) {
		s->token_stale = 0;
		s->awaiting_token = 1;
		s->h.token_stale(s->h.arg); /* may hand over a token at once: session_set_token */
	}
}

static void
on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct session *s = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (s->conn != NULL)
		quic_client_read(s->conn); /* may end it: on_closed */
}

/* ---- connecting ---- */

/* HOST:PORT with HOST a name or an address, as the numeric form quic_client_open() takes and
 * the bare host (the certificate's name in CA mode). A name is resolved here, blocking: it
 * happens once per attempt, while no tunnel is up. 0 or -1 (logged in last_error). */
static int
resolve(struct session *s, const char *text, char *numeric, size_t cap, char *host, size_t hcap)
{
	struct addrinfo hints, *res = NULL;
	uint16_t port;
	int rv;

	if (sockaddr_split(text, host, hcap, &port, NULL) != 0 || host[0] == '\0') {
		session_error(s, "invalid agent address \"%s\": want HOST:PORT", text);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if ((rv = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		session_error(s, "cannot resolve \"%s\": %s", host, gai_strerror(rv));
		return -1;
	}
	if (res->ai_family == AF_INET)
		((struct sockaddr_in *)res->ai_addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)res->ai_addr)->sin6_port = htons(port);
	rv = sockaddr_format(res->ai_addr, numeric, cap);
	freeaddrinfo(res);
	return rv;
}

static void
connect_now(struct session *s)
{
	static const struct quic_callbacks cbs_template = {
	    .conn_ready = on_ready,
	    .stream_data = on_stream_data,
	    .stream_reset = on_stream_reset,
	    .datagram = on_datagram,
	    .conn_closed = on_closed,
	};
	const struct session_agent *ag = &s->cfg.agents[s->cur];
	struct quic_callbacks cbs = cbs_template;
	struct quic_client_config qc;
	char numeric[SOCKADDR_STRLEN], host[SOCKADDR_HOST_MAX + 1];

	if (s->state != STATUS_RECONNECTING)
		s->state = STATUS_CONNECTING;
	if (resolve(s, ag->address, numeric, sizeof(numeric), host, sizeof(host)) != 0) {
		schedule_retry(s, 0);
		return;
	}
	memset(&qc, 0, sizeof(qc));
	qc.server = numeric;
	qc.idle_timeout_ns = s->cfg.idle_timeout_ns;
	if (ag->has_pin) {
		qc.spki_pin = ag->pin;
	} else {
		qc.ca_file = s->cfg.ca_file;
		qc.server_name = host;
	}
	cbs.arg = s;
	log_info("connecting to %s%s%s", ag->address, ag->id[0] ? " " : "", ag->id);
	s->req.active = 0;
	if ((s->conn = quic_client_open(&qc, &cbs)) == NULL) {
		session_error(s, "cannot open a QUIC connection to %s", ag->address);
		schedule_retry(s, 0);
		return;
	}
	s->fd = quic_client_fd(s->conn);
	if (loop_fd_add(s->l, s->fd, LOOP_READ, on_readable, s) != 0)
		fatal("loop_fd_add");
}

/* ---- the interface ---- */

struct session *
session_new(struct loop *l, const struct session_config *cfg, const char *token,
    const struct session_hooks *hooks)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->l = l;
	s->cfg = *cfg;
	s->h = *hooks;
	s->fd = -1;
	s->backoff_ns = BACKOFF_MIN_NS;
	s->ask = cfg->request;
	s->ask_strict = cfg->request_strict;
	if (!s->ask.has_request)
		s->ask.any = 1;
	if (session_set_token(s, token) != 0) {
		free(s);
		return NULL;
	}
	s->state = STATUS_CONNECTING;
	connect_now(s);
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL) {
		loop_fd_del(s->l, s->fd);
		quic_client_free(s->conn);
	}
	if (s->retry_timer != 0)
		loop_timer_cancel(s->l, s->retry_timer);
	if (s->stop_timer != 0)
		loop_timer_cancel(s->l, s->stop_timer);
	explicit_bzero(s->token, sizeof(s->token));
	free(s);
}

int
session_set_token(struct session *s, const char *token)
{
	size_t n = strlen(token);

	if (n == 0 || n >= sizeof(s->token))
		return -1;
	memcpy(s->token, token, n + 1);
	if (s->awaiting_token && s->conn == NULL && s->retry_timer != 0) {
		/* the backoff was for the old token (maybe long, after an outage of the
		 * manager): the new one is worth trying now */
		s->awaiting_token = 0;
		loop_timer_cancel(s->l, s->retry_timer);
		log_info("a fresh token: reconnecting now");
		/* from the loop, not here: the caller may be inside on_closed */
		if ((s->retry_timer = loop_timer_add(s->l, 0, 0, on_retry, s)) == 0)
			fatalx("out of memory");
		return 0;
	}
	s->awaiting_token = 0;
	if (s->state != STATUS_UP || s->conn == NULL)
		return 0; /* the next handshake uses it */
	if (s->req.active)
		s->renew_pending = 1;
	else
		request_send(s, CTRL_PATH_RENEW_SESSION, NULL, 0);
	return 0;
}

int
session_send(struct session *s, const void *pkt, size_t len)
{
	if (s->state != STATUS_UP || s->conn == NULL)
		return QUIC_ERR_CLOSED;
	return quic_datagram_send(s->conn, pkt, len);
}

void
session_flush(struct session *s)
{
	if (s->conn != NULL)
		quic_client_flush(s->conn); /* may end it: on_closed */
}

void
session_remote(const struct session *s, struct addr *a)
{
	const struct sockaddr *sa;
	socklen_t len;
	uint16_t port;

	memset(a, 0, sizeof(*a));
	if (s->conn != NULL && (sa = quic_conn_remote(s->conn, &len)) != NULL)
		(void)sockaddr_host(sa, a, &port);
}

size_t
session_room(const struct session *s)
{
	if (s->state != STATUS_UP || s->conn == NULL)
		return 0;
	return quic_conn_max_datagram(s->conn);
}

void
session_before_sleep(struct session *s)
{
	uint64_t now, at;

	if (s->conn == NULL)
		return;
	now = clock_mono_ns();
	if (quic_client_expiry(s->conn) <= now)
		quic_client_expire(s->conn, now); /* may end it: on_closed */
	if (s->conn == NULL)
		return;
	quic_client_flush(s->conn);
	if (s->conn != NULL && (at = quic_client_expiry(s->conn)) != UINT64_MAX)
		loop_wait_until(s->l, at);
}

static void
on_stop_timeout(struct loop *l, uint64_t id, void *arg)
{
	struct session *s = arg;

	(void)l;
	(void)id;
	s->stop_timer = 0;
	if (s->conn != NULL) {
		loop_fd_del(s->l, s->fd);
		quic_client_free(s->conn); /* the close went out; no need to wait for the drain */
		s->conn = NULL;
		if (s->state == STATUS_UP)
			s->h.down(s->h.arg);
	}
	finish_stop(s, 0, "stopped");
}

void
session_stop(struct session *s)
{
	if (s->stopping)
		return;
	s->stopping = 1;
	s->state = STATUS_STOPPING;
	if (s->retry_timer != 0)
		loop_timer_cancel(s->l, s->retry_timer);
	s->retry_timer = 0;
	if (s->conn == NULL) {
		finish_stop(s, 0, "stopped");
		return;
	}
	quic_conn_close(s->conn, CTRL_CLOSE_NORMAL, "client shutting down");
	if (s->conn != NULL)
		quic_client_flush(s->conn);
	if (s->conn != NULL)
		s->stop_timer = loop_timer_add(s->l, STOP_WAIT_NS, 0, on_stop_timeout, s);
}

void
session_status(const struct session *s, struct status *st)
{
	const struct session_agent *ag = &s->cfg.agents[s->cur];

	st->state = s->state;
	st->addr = s->addr;
	st->isd_as = s->isd_as;
	snprintf(st->agent_id, sizeof(st->agent_id), "%s", ag->id);
	snprintf(st->agent_address, sizeof(st->agent_address), "%s", ag->address);
	st->valid_until = s->valid_until;
	st->reconnects = s->reconnects;
	snprintf(st->last_error, sizeof(st->last_error), "%s", s->last_error);
}
