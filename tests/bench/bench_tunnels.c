/* Tunnel benchmarks against a running snaptun-agent (tests/bench/bench_agent.sh sets up the
 * manager and the agent), each beside a reference measured in the same run against a bare
 * agent/quic/quic.h server that this program forks (no tokens, no grants, no manager):
 *
 *   rate    new tunnels per second: CONC connections in flight, TOTAL in all, each a QUIC
 *           handshake + renew_session (token check) + assign_addresses (grant via the manager),
 *           then a close. Tokens are signed beforehand (like mktoken) for random pssids with
 *           --key, which the manager trusts. Reference: QUIC handshakes/s of the same client
 *           against the bare server. Target: >= 2000 tunnels/s on one agent core. On a
 *           2-core machine the clients (one core) run out before the agent does, so beside
 *           the wall-clock rate it prints what one core of the server side does: tunnels per
 *           CPU-second of the agent process (--agent-pid; /proc/PID/stat user + system time)
 *           and handshakes per CPU-second of the reference server. The target is judged on
 *           the agent's per-core figure.
 *   rtt     datagram round trips per second: tunnels A and B; A sends IP packets to B's
 *           address with WINDOW in flight, B reflects them (addresses swapped) back to A through
 *           the agent. Reference: the same two clients through the bare server, which relays
 *           every datagram of one connection to the other (a hub without checks). Target:
 *           >= 90% of the reference.
 *   idle    memory per idle tunnel: tunnels (handshake + renew + assign, CONC at a time) are
 *           opened and kept open and idle (the client's keep-alive PINGs only) in steps up to
 *           each of SIZES (--sizes 1000,10000); at each step, once the RSS of the agent
 *           (--agent-pid; /proc/PID/status VmRSS) has settled, the growth over its RSS before
 *           the first tunnel, per tunnel, in KiB. Reference: the same for bare QUIC connections
 *           held open against the forked server, so that the difference is what the tunnel
 *           layer adds over the transport. Target: <= 32 KiB per tunnel at 10,000. The client
 *           holds one UDP socket per connection: RLIMIT_NOFILE is raised to fit.
 *   serve   (for debugging) run the reference server alone: prints "HOST:PORT PIN", stops at
 *           the end of stdin.
 *   revoke  revocation latency: N tunnels up; for each in turn, POST /v1/revocations
 *           {"pssid"} to the manager (raw HTTP/1.1 over TCP) and wait for that tunnel's close
 *           (application code 3): p50 / p99 of the time from the connect() of the request to
 *           the client seeing the close. Target: p99 <= 50 ms. No reference (printed: none).
 *
 *   bench_tunnels MODE --server HOST:PORT --pin BASE64 --key ISSUER.pem [--kid KID]
 *                 [--url http://127.0.0.1:PORT --admin-token T] [--total N] [--conc N]
 *                 [--seconds S] [--window N] [--count N] [--agent-pid PID] [--sizes N,N...]
 *
 * BENCH_IDLE_HOLD=S keeps the idle connections of each run open S seconds more after the last
 * step, for a profiler to look at the server. A missed target is printed, not fatal. The exit status is non-zero when setting up fails or
 * too many tunnels fail. BENCH_REF_CPU=N pins the reference server to CPU N (put it on the
 * agent's core). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/quic/quic.h"
#include "../../lib/addr.h"
#include "../../lib/args.h"
#include "../../lib/b64url.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../lib/secret.h"
#include "../../proto/ctrl.h"
#include "../../proto/jwt.h"

#define RESP_MAX 2048
#define PKT_PAYLOAD 64

enum slot_state { S_FREE, S_HANDSHAKE, S_RENEW, S_ASSIGN, S_UP, S_CLOSING };

struct slot {
	struct quic_conn *c;
	enum slot_state state;
	int tok; /* index into the tokens */
	int64_t sid;
	uint8_t resp[RESP_MAX];
	size_t rlen;
	uint64_t t0; /* open */
	struct addr addr; /* assigned */
	int closed;
	struct quic_close how;
	uint64_t closed_at;
	int hs_only; /* close once the QUIC handshake is done (the reference) */
};

static struct {
	struct quic_client_config cfg;
	unsigned char pin[QUIC_SPKI_PIN_LEN];
	struct quic_callbacks cb;
	int ep;
	struct slot *slots;
	int nslots;
	char **tokens;
	char (*pssids)[40];
	int ntokens;
	/* counters of the run in progress */
	long done, failed;
	long up_closed; /* established connections that closed other than by us */
	uint64_t *lat; /* setup latency per finished tunnel, ns */
	long nlat, caplat;
	/* rtt */
	struct slot *a, *b;
	long rtt_rx, inflight;
	uint64_t last_rx;
	uint64_t next_exp; /* the earliest timer of the connections at the end of the last turn */
} g;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_tunnels: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static double
pct(uint64_t *v, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	i = (long)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

/* ---- client connections ---- */

static void
send_req(struct slot *s, enum ctrl_path path, const void *body, size_t blen)
{
	uint8_t out[4096];
	ssize_t n = ctrl_request_write(path, g.tokens[s->tok], body, blen, out, sizeof(out));

	s->rlen = 0;
	if (n < 0 || quic_stream_open(s->c, &s->sid) != 0 ||
	    quic_stream_send(s->c, s->sid, out, (size_t)n, 1) != 0) {
		quic_conn_close(s->c, 5, "bench: cannot send");
		s->state = S_CLOSING;
	}
}

static void
tunnel_up(struct slot *s)
{
	uint64_t t = clock_mono_ns() - s->t0;

	s->state = S_UP;
	g.done++;
	if (g.nlat < g.caplat)
		g.lat[g.nlat++] = t;
}

static void
on_ready(void *arg, struct quic_conn *c)
{
	struct slot *s = quic_conn_data(c);

	(void)arg;
	if (s->hs_only) {
		tunnel_up(s);
		return;
	}
	s->state = S_RENEW;
	send_req(s, CTRL_PATH_RENEW_SESSION, NULL, 0);
}

static void
on_stream(void *arg, struct quic_conn *c, int64_t sid, const uint8_t *d, size_t len, int fin)
{
	struct slot *s = quic_conn_data(c);
	const uint8_t *body;
	size_t blen;
	int status;

	(void)arg;
	if (sid != s->sid)
		return;
	if (len > sizeof(s->resp) - s->rlen)
		len = sizeof(s->resp) - s->rlen;
	memcpy(s->resp + s->rlen, d, len);
	s->rlen += len;
	if (!fin)
		return;
	if (ctrl_response_parse(s->resp, s->rlen, 1, &status, &body, &blen) != CTRL_OK ||
	    status != 200) {
		quic_conn_close(c, 0, "bench: refused");
		s->state = S_CLOSING;
		return;
	}
	if (s->state == S_RENEW) {
		struct ctrl_assign any;
		uint8_t b[64];
		ssize_t n;

		memset(&any, 0, sizeof(any));
		any.any = 1;
		n = ctrl_assign_request_encode(&any, b, sizeof(b));
		s->state = S_ASSIGN;
		send_req(s, CTRL_PATH_ASSIGN_ADDRESSES, b, n < 0 ? 0 : (size_t)n);
	} else if (s->state == S_ASSIGN) {
		uint64_t ia;

		if (ctrl_assign_response_decode(body, blen, &ia, &s->addr) != CTRL_OK) {
			quic_conn_close(c, 0, "bench: bad assignment");
			s->state = S_CLOSING;
			return;
		}
		tunnel_up(s);
	}
}

static void
on_datagram(void *arg, struct quic_conn *c, const uint8_t *d, size_t len)
{
	struct slot *s = quic_conn_data(c);
	uint8_t p[2048], t[16];

	(void)arg;
	if (s == g.b) {
		/* reflect: swap the addresses (the checksums stay right) */
		if (len > sizeof(p) || len < 20)
			return;
		memcpy(p, d, len);
		if (p[0] >> 4 == 4) {
			memcpy(t, p + 12, 4);
			memmove(p + 12, p + 16, 4);
			memcpy(p + 16, t, 4);
		} else if (len >= 40) {
			memcpy(t, p + 8, 16);
			memmove(p + 8, p + 24, 16);
			memcpy(p + 24, t, 16);
		}
		quic_datagram_send(c, p, len);
	} else if (s == g.a) {
		g.rtt_rx++;
		if (g.inflight > 0)
			g.inflight--;
		g.last_rx = clock_mono_ns();
	}
}

static void
on_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	struct slot *s = quic_conn_data(c);

	(void)arg;
	epoll_ctl(g.ep, EPOLL_CTL_DEL, quic_client_fd(c), NULL);
	if (s->state != S_UP && s->state != S_CLOSING)
		g.failed++;
	if (s->state == S_UP && ++g.up_closed <= 3)
		/* an idle one gone: why tells whether it was the server or this side's turns */
		fprintf(stderr,
		    "bench_tunnels: an established connection closed: by_peer=%d idle=%d app=%d "
		    "code=%llu \"%s\"\n",
		    how->by_peer, how->idle, how->app, (unsigned long long)how->code, how->reason);
	if (s->state != S_CLOSING && g.failed > 0 && g.failed <= 3)
		fprintf(stderr, "bench_tunnels: a tunnel closed in state %d: app=%d code=%llu %s\n",
		    s->state, how->app, (unsigned long long)how->code, how->reason);
	s->how = *how;
	s->closed = 1;
	s->closed_at = clock_mono_ns();
	s->c = NULL;
	s->state = S_FREE;
}

static int
slot_open(struct slot *s, int tok, int hs_only)
{
	struct epoll_event ev;

	memset(s, 0, sizeof(*s));
	s->tok = tok;
	s->hs_only = hs_only;
	s->t0 = clock_mono_ns();
	s->c = quic_client_open(&g.cfg, &g.cb);
	if (s->c == NULL)
		return -1;
	quic_conn_set_data(s->c, s);
	s->state = S_HANDSHAKE;
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, quic_client_fd(s->c), &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	quic_client_flush(s->c);
	if (s->c != NULL && quic_client_expiry(s->c) < g.next_exp)
		g.next_exp = quic_client_expiry(s->c);
	return 0;
}

/* One turn of the loop: wait at most max_ns for the sockets, then run the timers. The timers
 * are scanned once per turn (after the reads, which move them) and the earliest one kept for
 * the next wait: with 10,000 connections held open (idle) the scan is what the client spends
 * its time on. A connection acted on between turns may wait up to max_ns for its timer. */
static void
turn(uint64_t max_ns)
{
	struct epoll_event evs[1024];
	uint64_t now = clock_mono_ns(), until = now + max_ns, e;
	struct timespec ts;
	int i, n;

	if (g.next_exp < until)
		until = g.next_exp;
	e = until > now ? until - now : 0;
	ts.tv_sec = (time_t)(e / 1000000000u);
	ts.tv_nsec = (long)(e % 1000000000u);
	n = epoll_pwait2(g.ep, evs, sizeof(evs) / sizeof(evs[0]), &ts, NULL);
	for (i = 0; i < n; i++) {
		struct slot *s = evs[i].data.ptr;

		if (s->c != NULL)
			quic_client_read(s->c);
	}
	now = clock_mono_ns();
	g.next_exp = UINT64_MAX;
	for (i = 0; i < g.nslots; i++) {
		struct slot *s = &g.slots[i];

		if (s->c == NULL)
			continue;
		if ((e = quic_client_expiry(s->c)) <= now) {
			quic_client_expire(s->c, now);
			if (s->c == NULL)
				continue;
			e = quic_client_expiry(s->c);
		}
		if (e < g.next_exp)
			g.next_exp = e;
	}
}

static void
slots_reset(int n)
{
	free(g.slots);
	g.slots = calloc((size_t)n, sizeof(*g.slots));
	if (g.slots == NULL)
		die("out of memory");
	g.nslots = n;
}

/* Close everything still open and let the closes go out. */
static void
drain(void)
{
	uint64_t end = clock_mono_ns() + 2000000000u;
	int i, open;

	for (i = 0; i < g.nslots; i++) {
		if (g.slots[i].c != NULL && g.slots[i].state != S_CLOSING) {
			g.slots[i].state = S_CLOSING;
			quic_conn_close(g.slots[i].c, 0, "bench done");
			quic_client_flush(g.slots[i].c);
		}
	}
	do {
		turn(10000000);
		for (i = open = 0; i < g.nslots; i++)
			open += g.slots[i].c != NULL;
	} while (open > 0 && clock_mono_ns() < end);
	for (i = 0; i < g.nslots; i++) {
		if (g.slots[i].c != NULL) {
			epoll_ctl(g.ep, EPOLL_CTL_DEL, quic_client_fd(g.slots[i].c), NULL);
			quic_client_free(g.slots[i].c);
			g.slots[i].c = NULL;
		}
	}
}

/* total tunnels (or handshakes when hs_only), conc at a time: tunnels per second. */
static double
run_rate(int total, int conc, int hs_only, double *p50, double *p99)
{
	int started = 0, i;
	uint64_t t0, t1;

	slots_reset(conc);
	g.done = g.failed = 0;
	g.nlat = 0;
	t0 = clock_mono_ns();
	for (;;) {
		for (i = 0; i < conc; i++) {
			struct slot *s = &g.slots[i];

			if (s->c != NULL && s->state == S_UP) {
				s->state = S_CLOSING;
				quic_conn_close(s->c, 0, "bench done");
				quic_client_flush(s->c);
			}
			if (s->c == NULL && started < total) {
				if (slot_open(s, started % g.ntokens, hs_only) < 0)
					die("cannot open a connection to %s", g.cfg.server);
				started++;
			}
		}
		if (g.done + g.failed >= total)
			break;
		if (clock_mono_ns() - t0 > 120ull * 1000000000u) {
			fprintf(stderr, "bench_tunnels: gave up after 120 s\n");
			break;
		}
		turn(100000000);
	}
	t1 = clock_mono_ns();
	drain();
	*p50 = pct(g.lat, g.nlat, 0.5);
	*p99 = pct(g.lat, g.nlat, 0.99);
	return (double)g.done / ((double)(t1 - t0) / 1e9);
}

/* Bring up n tunnels (tokens from first); 0 when all are up. */
static int
bring_up(int n, int first, int hs_only)
{
	uint64_t end = clock_mono_ns() + 20000000000ull;
	int i, up;

	slots_reset(n);
	g.done = g.failed = 0;
	g.nlat = 0;
	for (i = 0; i < n; i++)
		if (slot_open(&g.slots[i], first + i, hs_only) < 0)
			die("cannot open a connection");
	do {
		turn(10000000);
		for (i = up = 0; i < n; i++)
			up += g.slots[i].state == S_UP;
	} while (up < n && g.failed == 0 && clock_mono_ns() < end);
	return up == n ? 0 : -1;
}

/* ---- rtt ---- */

static size_t
packet(const struct addr *src, const struct addr *dst, uint8_t *p)
{
	size_t len = (src->family == 4 ? 20 : 40) + 8 + PKT_PAYLOAD;

	memset(p, 0, len);
	if (src->family == 4) {
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, src->b, 4);
		memcpy(p + 16, dst->b, 4);
	} else {
		p[0] = 0x60;
		p[5] = 8 + PKT_PAYLOAD;
		p[6] = 17;
		p[7] = 64;
		memcpy(p + 8, src->b, 16);
		memcpy(p + 24, dst->b, 16);
	}
	return len;
}

/* Round trips per second A -> B -> A for secs seconds with window in flight. The addresses:
 * hs_only (the bare relay) has none assigned: any two of a family do. */
static double
run_rtt(double secs, int window, int hs_only, long *lost)
{
	struct addr aa, ab;
	uint8_t p[256];
	size_t len;
	uint64_t t0, end, now;
	long sent = 0;

	if (bring_up(2, 0, hs_only) < 0)
		die("the two rtt tunnels did not come up");
	g.a = &g.slots[0];
	g.b = &g.slots[1];
	aa = g.a->addr;
	ab = g.b->addr;
	if (hs_only) {
		addr_parse("10.255.0.1", &aa);
		addr_parse("10.255.0.2", &ab);
	}
	len = packet(&aa, &ab, p);
	g.rtt_rx = 0;
	g.inflight = 0;
	/* warm-up then measure */
	t0 = clock_mono_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	g.last_rx = t0;
	for (;;) {
		now = clock_mono_ns();
		if (now >= end)
			break;
		if (g.inflight > 0 && now - g.last_rx > 20000000u) {
			*lost += g.inflight; /* nothing back for 20 ms: count them lost */
			g.inflight = 0;
			g.last_rx = now;
		}
		while (g.inflight < window && g.a->c != NULL) {
			if (quic_datagram_send(g.a->c, p, len) != 0)
				break;
			g.inflight++;
			sent++;
		}
		if (g.a->c == NULL || g.b->c == NULL)
			die("an rtt tunnel closed");
		quic_client_flush(g.a->c);
		turn(1000000);
	}
	now = clock_mono_ns();
	drain();
	g.a = g.b = NULL;
	return (double)g.rtt_rx / ((double)(now - t0) / 1e9);
}

/* ---- idle ---- */

#define IDLE_SIZES_MAX 4

/* The resident set of pid in KiB (/proc/PID/status VmRSS); -1 when unreadable. */
static long
proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Keep the connections going (keep-alives, acknowledgements) until the RSS of pid holds still:
 * two samples 500 ms apart within 0.2% (at least 1 s, at most 15 s). Its last value. */
static long
idle_settle(pid_t pid)
{
	uint64_t start = clock_mono_ns(), next = start + 500000000u;
	long prev = -1, now = proc_rss_kib(pid);

	for (;;) {
		turn(10000000);
		if (clock_mono_ns() < next)
			continue;
		next += 500000000u;
		prev = now;
		now = proc_rss_kib(pid);
		if (now < 0)
			die("cannot read /proc/%d/status", (int)pid);
		if (clock_mono_ns() - start >= 1000000000u && labs(now - prev) * 500 <= now)
			break;
		if (clock_mono_ns() - start >= 15000000000ull)
			break;
	}
	return now;
}

/* Open tunnels into slots [from, to), conc at a time (tokens by slot index), until each is up
 * or has failed. The slots before from stay open: they are the idle ones of earlier steps. */
static void
idle_grow(int from, int to, int conc, int hs_only)
{
	uint64_t t0 = clock_mono_ns();
	long done0 = g.done, failed0 = g.failed;
	int next = from;

	while (g.done - done0 + g.failed - failed0 < to - from) {
		while (next < to && next - from - (g.done - done0) - (g.failed - failed0) < conc) {
			if (slot_open(&g.slots[next], next, hs_only) < 0)
				die("cannot open connection %d (descriptors?)", next);
			next++;
		}
		if (g.failed - failed0 > (to - from) / 100 + 3)
			die("%ld of the %d tunnels from %d failed", g.failed - failed0, to - from,
			    from);
		if (clock_mono_ns() - t0 > 300ull * 1000000000u)
			die("only %ld of %d tunnels up after 300 s", g.done - done0, to - from);
		turn(10000000);
	}
}

/* RSS growth of pid per connection in KiB at each of the n sizes, into kib[]. */
static void
run_idle(pid_t pid, const int *sizes, int n, int conc, int hs_only, double *kib)
{
	long rss0, rss = 0;
	int i, from = 0, open;
	const char *env;
	uint64_t end;

	slots_reset(sizes[n - 1]);
	g.done = g.failed = 0;
	g.nlat = 0;
	rss0 = idle_settle(pid);
	for (i = 0; i < n; i++) {
		idle_grow(from, sizes[i], conc, hs_only);
		from = sizes[i];
		rss = idle_settle(pid);
		for (open = 0; open < from && g.slots[open].state == S_UP; open++)
			;
		if (open < from || g.failed > 0)
			die("%ld of %d %s failed or closed while idle", g.failed + from - open,
			    from, hs_only ? "connections" : "tunnels");
		kib[i] = (double)(rss - rss0) / sizes[i];
	}
	if ((env = getenv("BENCH_IDLE_HOLD")) != NULL) {
		/* hold them open for a profiler to look at (heaptrack, gdb's malloc_stats) */
		fprintf(stderr, "bench_tunnels: %d idle, pid %d RSS %ld KiB: holding %s s\n", from,
		    (int)pid, rss, env);
		end = clock_mono_ns() + (uint64_t)(atof(env) * 1e9);
		while (clock_mono_ns() < end)
			turn(10000000);
	}
	drain();
}

/* Room for one UDP socket per connection: the soft descriptor limit raised to what is needed
 * (the hard limit too, when the process may). */
static void
idle_nofile(int conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("%d connections need %llu descriptors: setrlimit: %s", conns,
		    (unsigned long long)want, strerror(errno));
}

static int
parse_sizes(const char *s, int *sizes)
{
	char buf[128], *tok, *save;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == IDLE_SIZES_MAX)
			die("--sizes \"%s\": at most %d sizes", s, IDLE_SIZES_MAX);
		sizes[n] = (int)args_uint("--sizes", tok, 1, 1000000);
		if (n > 0 && sizes[n] <= sizes[n - 1])
			die("--sizes \"%s\": the sizes must grow", s);
		n++;
	}
	if (n == 0)
		die("--sizes \"%s\": no size", s);
	return n;
}

/* ---- revoke ---- */

static int
http_post(const char *url, const char *admin, const char *path, const char *json, int *fdp)
{
	struct sockaddr_in sa;
	char host[64], req[1024];
	int fd, port, n;

	if (sscanf(url, "http://%63[^:]:%d", host, &port) != 2)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req),
	    "POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    path, host, port, admin, strlen(json), json);
	if (send(fd, req, (size_t)n, 0) != n) {
		close(fd);
		return -1;
	}
	/* the caller reads the answer (http_status) once the close was seen */
	*fdp = fd;
	return 0;
}

static int
http_status(int fd)
{
	char buf[2048];
	size_t got = 0;
	ssize_t n;
	int status = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (got < sizeof(buf) - 1 && poll(&p, 1, 5000) > 0 &&
	    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	return status;
}

static void
run_revoke(int n, const char *url, const char *admin)
{
	uint64_t *lat = calloc((size_t)n, sizeof(*lat)), t0, end;
	int i, fd, st, bad = 0, ok = 0;
	char json[256];

	if (lat == NULL)
		die("out of memory");
	if (bring_up(n, 0, 0) < 0)
		die("only %ld of %d tunnels came up", g.done, n);
	for (i = 0; i < n; i++) {
		struct slot *s = &g.slots[i];

		snprintf(json, sizeof(json), "{\"pssid\":\"%s\",\"reason\":\"bench\"}",
		    g.pssids[s->tok]);
		t0 = clock_mono_ns();
		if (http_post(url, admin, "/v1/revocations", json, &fd) < 0)
			die("cannot POST to %s", url);
		end = t0 + 2000000000u;
		while (!s->closed && clock_mono_ns() < end)
			turn(1000000);
		if (!s->closed || !s->how.app || s->how.code != 3) {
			bad++;
			if (bad <= 3)
				fprintf(stderr,
				    "bench_tunnels: tunnel %d: %s (app=%d code=%llu reason %s)\n",
				    i,
				    s->closed ? "closed other than with code 3"
					      : "not closed in 2 s",
				    s->how.app, (unsigned long long)s->how.code, s->how.reason);
		} else {
			lat[ok++] = s->closed_at - t0;
		}
		st = http_status(fd);
		if (st != 200 && st != 201 && st != 204) {
			bad++;
			if (bad <= 3)
				fprintf(stderr, "bench_tunnels: POST /v1/revocations answered %d\n",
				    st);
		}
	}
	drain();
	printf("revocation latency (POST /v1/revocations -> client sees close code 3), %d tunnels:"
	       " p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d failed\n",
	    n, pct(lat, ok, 0.5), pct(lat, ok, 0.99), pct(lat, ok, 1.0), bad);
	printf("target: p99 <= 50 ms: %s\n",
	    ok > 0 && bad == 0 && pct(lat, ok, 0.99) <= 50.0 ? "met" : "MISSED");
	free(lat);
	if (bad > n / 10)
		exit(1);
}

/* ---- the reference server (a forked child): accepts, relays datagrams pairwise ---- */

static struct quic_conn *ref_conns[2];

static int
ref_new(void *arg, struct quic_conn *c)
{
	(void)arg;
	/* the newest two connections are the pair (older ones may still be closing) */
	if (ref_conns[0] == NULL) {
		ref_conns[0] = c;
	} else if (ref_conns[1] == NULL) {
		ref_conns[1] = c;
	} else {
		ref_conns[0] = ref_conns[1];
		ref_conns[1] = c;
	}
	return 0;
}

static void
ref_datagram(void *arg, struct quic_conn *c, const uint8_t *d, size_t len)
{
	(void)arg;
	if (c == ref_conns[0] && ref_conns[1] != NULL)
		quic_datagram_send(ref_conns[1], d, len);
	else if (c == ref_conns[1] && ref_conns[0] != NULL)
		quic_datagram_send(ref_conns[0], d, len);
}

static void
ref_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	(void)arg;
	(void)how;
	if (ref_conns[0] == c)
		ref_conns[0] = NULL;
	if (ref_conns[1] == c)
		ref_conns[1] = NULL;
}

/* Runs in the child until ctl (the parent's pipe) closes; writes "HOST:PORT\n" to out. */
static void
ref_serve(const char *dir, int ctl, int out)
{
	struct quic_server_config cfg;
	struct quic_callbacks cb;
	struct quic_server *srv;
	char cert[512], key[512], line[128], host[INET6_ADDRSTRLEN];
	unsigned char secret[32];
	const struct sockaddr *sa;
	socklen_t salen;
	int fds[2], nfds, i;
	const char *env;

	if ((env = getenv("BENCH_REF_CPU")) != NULL) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(env), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	snprintf(cert, sizeof(cert), "%s/ref.crt", dir);
	snprintf(key, sizeof(key), "%s/ref.key", dir);
	if (quic_cert_ensure(cert, key) < 0 || secret_random(secret, sizeof(secret)) < 0)
		exit(1);
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "127.0.0.1:0";
	cfg.cert_file = cert;
	cfg.key_file = key;
	cfg.static_secret = secret;
	cfg.retry = QUIC_RETRY_NEVER;
	cfg.max_conns = 100000;
	cfg.max_handshakes = 100000;
	memset(&cb, 0, sizeof(cb));
	cb.conn_new = ref_new;
	cb.datagram = ref_datagram;
	cb.conn_closed = ref_closed;
	if ((srv = quic_server_new(&cfg, &cb)) == NULL)
		exit(1);
	sa = quic_server_addr(srv, &salen);
	inet_ntop(
	    AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, host, sizeof(host));
	i = snprintf(line, sizeof(line), "%s:%u\n", host,
	    ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port));
	if (write(out, line, (size_t)i) != i)
		exit(1);
	close(out);
	nfds = quic_server_fds(srv, fds);
	for (;;) {
		struct pollfd p[3];
		uint64_t now = clock_mono_ns(), e = quic_server_expiry(srv), w;
		struct timespec ts;

		for (i = 0; i < nfds; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
		}
		p[nfds].fd = ctl;
		p[nfds].events = POLLIN;
		w = e > now ? e - now : 0;
		if (w > 1000000000u)
			w = 1000000000u;
		ts.tv_sec = (time_t)(w / 1000000000u);
		ts.tv_nsec = (long)(w % 1000000000u);
		if (ppoll(p, (nfds_t)nfds + 1, &ts, NULL) < 0 && errno != EINTR)
			exit(1);
		if (p[nfds].revents)
			break;
		for (i = 0; i < nfds; i++)
			if (p[i].revents & POLLIN)
				quic_server_read(srv, fds[i]);
		quic_server_flush(srv); /* the relayed datagrams went to other connections */
		if (quic_server_expiry(srv) <= clock_mono_ns())
			quic_server_expire(srv, clock_mono_ns());
	}
	quic_server_free(srv, 0, "");
	exit(0);
}

static pid_t
ref_start(char *addr, size_t cap, unsigned char pin[QUIC_SPKI_PIN_LEN], int *ctl)
{
	char dir[] = "/tmp/bench-ref.XXXXXX", cert[512];
	int c[2], o[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	if (mkdtemp(dir) == NULL || pipe(c) < 0 || pipe(o) < 0)
		die("cannot set up the reference server");
	fflush(NULL);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(c[1]);
		close(o[0]);
		ref_serve(dir, c[0], o[1]);
	}
	close(c[0]);
	close(o[1]);
	while (got < cap - 1 && (n = read(o[0], addr + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(o[0]);
	addr[got] = '\0';
	if (got == 0 || addr[got - 1] != '\n')
		die("the reference server did not start");
	addr[got - 1] = '\0';
	snprintf(cert, sizeof(cert), "%s/ref.crt", dir);
	if (quic_cert_spki_pin(cert, pin) < 0)
		die("no pin of the reference server");
	unlink(cert);
	snprintf(cert, sizeof(cert), "%s/ref.key", dir);
	unlink(cert);
	rmdir(dir);
	*ctl = c[1];
	return pid;
}

static void
ref_stop(pid_t pid, int ctl)
{
	close(ctl);
	waitpid(pid, NULL, 0);
}

/* ---- main ---- */

static void
make_tokens(int n, const char *keyfile, const char *kid)
{
	struct jwt_signer *s;
	struct jwt_claims cl;
	char pem[8192], tok[JWT_TOKEN_MAX + 1];
	unsigned char r[16];
	FILE *f = fopen(keyfile, "r");
	size_t len;
	int i, j, o;
	ssize_t tl;

	if (f == NULL)
		die("cannot open %s", keyfile);
	len = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	if (jwt_signer_from_pem(kid, pem, len, &s) < 0)
		die("%s is not an Ed25519 key", keyfile);
	g.tokens = calloc((size_t)n, sizeof(*g.tokens));
	g.pssids = calloc((size_t)n, sizeof(*g.pssids));
	if (g.tokens == NULL || g.pssids == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		memset(&cl, 0, sizeof(cl));
		if (secret_random(r, sizeof(r)) < 0)
			die("no randomness");
		r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
		r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
		for (j = o = 0; j < 16; j++) {
			if (j == 4 || j == 6 || j == 8 || j == 10)
				cl.pssid[o++] = '-';
			o += sprintf(cl.pssid + o, "%02x", r[j]);
		}
		cl.exp = clock_unix() + 3600;
		if ((tl = jwt_sign(s, &cl, tok, sizeof(tok))) < 0)
			die("cannot sign");
		strcpy(g.pssids[i], cl.pssid);
		g.tokens[i] = strdup(tok);
	}
	g.ntokens = n;
	jwt_signer_free(s);
}

static int
parse_pin(const char *s, unsigned char pin[QUIC_SPKI_PIN_LEN])
{
	char buf[128];
	size_t n = 0;

	for (; *s != '\0' && n + 1 < sizeof(buf); s++) {
		if (*s == '=')
			continue;
		buf[n++] = *s == '+' ? '-' : *s == '/' ? '_' : *s;
	}
	return b64url_decode(buf, n, pin, QUIC_SPKI_PIN_LEN) == QUIC_SPKI_PIN_LEN ? 0 : -1;
}

/* User + system CPU seconds pid has used so far (/proc/PID/stat fields 14 and 15); 0 when pid
 * is 0 or unreadable. */
static double
proc_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name (field 2) may hold spaces: count from the last ')' */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"pin", required_argument, NULL, 'p'},
	    {"key", required_argument, NULL, 'k'},
	    {"kid", required_argument, NULL, 'K'},
	    {"url", required_argument, NULL, 'u'},
	    {"admin-token", required_argument, NULL, 'a'},
	    {"total", required_argument, NULL, 't'},
	    {"conc", required_argument, NULL, 'c'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"window", required_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'n'},
	    {"agent-pid", required_argument, NULL, 'P'},
	    {"sizes", required_argument, NULL, 'z'},
	    {NULL, 0, NULL, 0},
	};
	const char *mode, *server = NULL, *pin = NULL, *key = NULL, *kid = NULL, *url = NULL;
	const char *admin = NULL;
	int total = 2000, conc = 64, window = 32, count = 200, c, ctl;
	double secs = 3, p50, p99, rp50, rp99, agent, ref;
	char refaddr[128];
	unsigned char refpin[QUIC_SPKI_PIN_LEN];
	pid_t refpid, agentpid = 0;
	double cpu0, agentcpu = 0, refcpu = 0;
	long lost = 0, rlost = 0;
	int sizes[IDLE_SIZES_MAX] = {1000, 10000}, nsizes = 2, i;
	double kib[IDLE_SIZES_MAX], refkib[IDLE_SIZES_MAX];

	if (argc < 2)
		die("usage: bench_tunnels rate|rtt|idle|revoke --server H:P --pin B64 --key FILE ...");
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'p': pin = optarg; break;
		case 'k': key = optarg; break;
		case 'K': kid = optarg; break;
		case 'u': url = optarg; break;
		case 'a': admin = optarg; break;
		case 't': total = (int)args_uint("--total", optarg, 1, INT_MAX / 2); break;
		case 'c': conc = (int)args_uint("--conc", optarg, 1, INT_MAX); break;
		case 'S': secs = args_number("--seconds", optarg, 0.001, 86400); break;
		case 'w': window = (int)args_uint("--window", optarg, 1, INT_MAX); break;
		case 'n': count = (int)args_uint("--count", optarg, 1, INT_MAX / 2); break;
		case 'P': agentpid = (pid_t)args_uint("--agent-pid", optarg, 0, INT_MAX); break;
		case 'z': nsizes = parse_sizes(optarg, sizes); break;
		default: die("bad arguments");
		}
	}
	if (strcmp(mode, "serve") != 0 && (server == NULL || pin == NULL || key == NULL))
		die("--server, --pin and --key are required");
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	g.cb.conn_ready = on_ready;
	g.cb.stream_data = on_stream;
	g.cb.datagram = on_datagram;
	g.cb.conn_closed = on_closed;
	g.caplat = total > count ? total : count;
	g.lat = calloc((size_t)g.caplat + 2, sizeof(*g.lat));

	if (strcmp(mode, "revoke") == 0) {
		if (url == NULL || admin == NULL)
			die("revoke needs --url and --admin-token");
		make_tokens(count, key, kid);
		if (parse_pin(pin, g.pin) < 0)
			die("bad --pin");
		g.cfg.server = server;
		g.cfg.spki_pin = g.pin;
		run_revoke(count, url, admin);
		return 0;
	}

	refpid = ref_start(refaddr, sizeof(refaddr), refpin, &ctl);
	if (strcmp(mode, "serve") == 0) {
		char b64[B64URL_LEN(QUIC_SPKI_PIN_LEN) + 1];

		b64url_encode(refpin, sizeof(refpin), b64);
		printf("%s %s\n", refaddr, b64);
		fflush(stdout);
		while (getchar() != EOF)
			;
		ref_stop(refpid, ctl);
		return 0;
	}
	if (strcmp(mode, "rate") == 0) {
		make_tokens(total, key, kid);
		/* warm-up of both, then reference and agent alternately, the best of 2 each */
		g.cfg.server = refaddr;
		g.cfg.spki_pin = refpin;
		run_rate(conc * 2, conc, 1, &p50, &p99);
		cpu0 = proc_cpu_seconds(refpid);
		ref = run_rate(total, conc, 1, &rp50, &rp99);
		refcpu = proc_cpu_seconds(refpid) - cpu0;
		if (parse_pin(pin, g.pin) < 0)
			die("bad --pin");
		g.cfg.server = server;
		g.cfg.spki_pin = g.pin;
		cpu0 = proc_cpu_seconds(agentpid);
		agent = run_rate(total, conc, 0, &p50, &p99);
		agentcpu = proc_cpu_seconds(agentpid) - cpu0;
		if (g.failed > total / 100)
			die("%ld of %d tunnels failed", g.failed, total);
		printf("%-58s %8.0f /s  (setup p50 %.1f ms, p99 %.1f ms)\n",
		    "reference: QUIC handshakes against a bare agent/quic/quic.h server", ref, rp50,
		    rp99);
		printf("%-58s %8.0f /s  (setup p50 %.1f ms, p99 %.1f ms; %ld failed)\n",
		    "agent: handshake + renew_session + assign_addresses", agent, p50, p99,
		    g.failed);
		if (refcpu > 0)
			printf("%-58s %8.0f /s  (%.2f CPU-s for %d)\n",
			    "reference per server core: handshakes per CPU-second", total / refcpu,
			    refcpu, total);
		if (agentcpu > 0)
			printf("%-58s %8.0f /s  (%.2f CPU-s for %d)\n",
			    "agent per core: tunnels per agent CPU-second", total / agentcpu,
			    agentcpu, total);
		printf(
		    "%d tunnels, %d in flight; wall clock agent/reference %.0f%%; target >= 2000 "
		    "tunnels/s on one agent core: %s\n",
		    total, conc, 100 * agent / ref,
		    agentcpu <= 0                  ? "not judged (no --agent-pid)"
			: total / agentcpu >= 2000 ? "met"
						   : "MISSED");
	} else if (strcmp(mode, "rtt") == 0) {
		make_tokens(2, key, kid);
		g.cfg.server = refaddr;
		g.cfg.spki_pin = refpin;
		run_rtt(0.5, window, 1, &rlost);
		rlost = 0;
		ref = run_rtt(secs, window, 1, &rlost);
		if (parse_pin(pin, g.pin) < 0)
			die("bad --pin");
		g.cfg.server = server;
		g.cfg.spki_pin = g.pin;
		make_tokens(2, key, kid);
		agent = run_rtt(secs, window, 0, &lost);
		printf("%-58s %8.0f /s  (%ld lost)\n",
		    "reference: A -> bare quic.h relay -> B echo -> relay -> A", ref, rlost);
		printf("%-58s %8.0f /s  (%ld lost)\n", "agent: A -> agent -> B echo -> agent -> A",
		    agent, lost);
		printf(
		    "%d-byte packets, %d in flight, %.0f s each; agent/reference %.0f%%; target >= "
		    "90%%: %s\n",
		    (int)(28 + PKT_PAYLOAD), window, secs, 100 * agent / ref,
		    agent >= 0.9 * ref ? "met" : "MISSED");
	} else if (strcmp(mode, "idle") == 0) {
		if (agentpid <= 0)
			die("idle needs --agent-pid");
		idle_nofile(sizes[nsizes - 1]);
		make_tokens(sizes[nsizes - 1], key, kid);
		g.cfg.server = refaddr;
		g.cfg.spki_pin = refpin;
		run_idle(refpid, sizes, nsizes, conc, 1, refkib);
		if (parse_pin(pin, g.pin) < 0)
			die("bad --pin");
		g.cfg.server = server;
		g.cfg.spki_pin = g.pin;
		run_idle(agentpid, sizes, nsizes, conc, 0, kib);
		printf("%-58s", "RSS growth per idle connection, KiB, at");
		for (i = 0; i < nsizes; i++)
			printf(" %8d", sizes[i]);
		printf("\n%-58s", "reference: bare agent/quic/quic.h server, QUIC connections");
		for (i = 0; i < nsizes; i++)
			printf(" %8.1f", refkib[i]);
		printf("\n%-58s", "agent: tunnels (handshake + renew + assign)");
		for (i = 0; i < nsizes; i++)
			printf(" %8.1f", kib[i]);
		printf("\n%-58s", "what the tunnel layer adds");
		for (i = 0; i < nsizes; i++)
			printf(" %8.1f", kib[i] - refkib[i]);
		printf("\ntarget: <= 32 KiB per idle tunnel at %d tunnels: %.1f KiB   %s\n",
		    sizes[nsizes - 1], kib[nsizes - 1],
		    sizes[nsizes - 1] < 10000   ? "not judged (fewer than 10000)"
			: kib[nsizes - 1] <= 32 ? "met"
						: "MISSED");
	} else {
		die("unknown mode %s", mode);
	}
	ref_stop(refpid, ctl);
	return 0;
}
