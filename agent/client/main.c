/* snaptun-client: the endhost of the tunnel. Subcommands:
 *   join    enroll with a join token and write the bundle
 *   up      connect (bundle or manager-less), bring up the TUN device or the relay, keep the
 *           session alive until stopped
 *   status  ask the running client (its control socket)
 *   down    stop the running client
 * README.md ("snaptun-client") is the user's documentation. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/addr.h"
#include "../../lib/args.h"
#include "../../lib/b64url.h"
#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/lockfile.h"
#include "../../lib/log.h"
#include "../../lib/loop.h"
#include "../../lib/version.h"
#include "bundle.h"
#include "control.h"
#include "enroll.h"
#include "../../lib/mgrhttp.h"
#include "pump.h"
#include "renew.h"
#include "session.h"
#include "status.h"
#include "tokenfile.h"

#define PROG "snaptun-client"
#define ROUTE_ARGS_MAX 64 /* --route options */
/* Every route of the device: a pool's prefix and routes, and the --route ones. */
#define ROUTES_MAX (1 + BUNDLE_ROUTES_MAX + ROUTE_ARGS_MAX)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " join --manager URL --token SNJ [--name N] --bundle FILE [--ca FILE]\n"
	    "       " PROG " up (--bundle FILE | --server HOST:PORT (--pin B64 | --ca FILE)\n"
	    "                  --token-file F)\n"
	    "                  [--tun NAME | --relay HOST:PORT] [--route PREFIX]...\n"
	    "                  [--request-addr ISD-AS,IP] [--control PATH] [--log-level L]\n"
	    "       " PROG " status [--json] [--control PATH]\n"
	    "       " PROG " down [--control PATH]\n"
	    "       " PROG " --help | --version\n"
	    "\n"
	    "join    enrolls at the manager (POST /v1/join, then the ack) and writes the bundle\n"
	    "        FILE (mode 0600); --ca: the manager's CA for https.\n"
	    "up      connects to the agent, runs the tunnel handshake and moves packets between the\n"
	    "        tunnel and a TUN device (default snaptun0: address, routes and MTU set) or,\n"
	    "        with --relay, a UDP socket (one datagram = one packet; answers go to whoever\n"
	    "        sent last). Reconnects with backoff, asking for the same address; renews the\n"
	    "        session when --token-file holds a new token (read again at 75%% of a token's\n"
	    "        lifetime). Stops on SIGINT/SIGTERM, `down`, or a revocation (exit 1).\n"
	    "  --bundle FILE         the bundle of `join`: agents tried in order, the access token\n"
	    "                        refreshed at the manager and saved back (--log-level L)\n"
	    "  --server HOST:PORT    the agent (manager-less mode)\n"
	    "  --pin B64             its certificate's SPKI pin (base64 SHA-256)\n"
	    "  --ca FILE             or verify its certificate against these CA certificates\n"
	    "  --token-file F        the access token (a JWT), read again for renewals\n"
	    "  --tun NAME            the TUN device (default snaptun0; needs CAP_NET_ADMIN)\n"
	    "  --relay HOST:PORT     a UDP relay instead of a TUN device (unprivileged)\n"
	    "  --route PREFIX        route PREFIX into the tunnel (repeatable; TUN mode)\n"
	    "  --request-addr ISD-AS,IP  ask for this address (refused: exit 1)\n"
	    "  --control PATH        the control socket (default /run/snaptun/client.sock for\n"
	    "                        root, else $XDG_RUNTIME_DIR/snaptun-client.sock)\n"
	    "status  prints the running client's state, address, agent, session expiry and\n"
	    "        counters (--json: one JSON object); down stops it.\n");
}

/* ---- up ---- */

static struct {
	struct loop *l;
	struct session *s;
	struct pump *p;
	struct control *ctl;
	struct prefix routes[ROUTE_ARGS_MAX]; /* --route */
	unsigned nroutes, nroutes_given;
	const char *token_file;
	int64_t token_exp;
	int relay; /* --relay: raw packets to a UDP socket, no TUN device */
	/* bundle mode */
	const char *bundle_path;
	struct bundle b;
	struct renewer *rn;
	uint64_t renew_timer;
	uint64_t renew_started; /* monotonic ns: when the refresh running now began */
	unsigned renew_attempt;
	int save_pending; /* the address changed while the renewer held the bundle */
	/* The loop's own copy of what it reads of the bundle while the tunnel comes up: b belongs
	 * to the renewer's thread while a refresh runs (renew.h), which may rewrite its networks. */
	struct bundle_network nets[BUNDLE_NETWORKS_MAX];
	size_t nnets;
	int has_last;
	uint64_t last_isd_as;
	struct addr last_address;
	uint64_t token_timer;
	int rc;
	char why[STATUS_TEXT_MAX];
} g;

/* The bundle's network that holds a, or NULL (none, or no bundle). */
static const struct bundle_network *
network_of(const struct addr *a)
{
	for (size_t j = 0; j < g.nnets && g.bundle_path != NULL; j++)
		if (prefix_contains(&g.nets[j].prefix, a))
			return &g.nets[j];
	return NULL;
}

/* The routes into the tunnel: the prefix of the bundle's network that holds a and what that
 * network routes behind its gateway, then the --route ones. */
static unsigned
routes_for(const struct addr *a, struct prefix *out)
{
	const struct bundle_network *nw = network_of(a);
	unsigned n = 0, i;

	if (nw != NULL) {
		out[n++] = nw->prefix;
		for (size_t k = 0; k < nw->nroutes; k++)
			out[n++] = nw->routes[k];
	}
	for (i = 0; i < g.nroutes; i++)
		out[n++] = g.routes[i];
	assert(n <= ROUTES_MAX); /* one network's, bounded by the bundle, and --route's */
	return n;
}

/* The bundle is the loop's (no refresh running): copy what the loop reads of it. */
static void
bundle_view_take(void)
{
	g.nnets = g.b.nnetworks;
	memcpy(g.nets, g.b.networks, sizeof(g.nets[0]) * g.nnets);
}

/* The bundle is the loop's: save it with the last address the tunnel had. */
static void
bundle_save_now(void)
{
	char err[512];

	g.b.has_last_address = g.has_last;
	g.b.last_isd_as = g.last_isd_as;
	g.b.last_address = g.last_address;
	if (bundle_save(g.bundle_path, &g.b, err, sizeof(err)) != 0)
		log_warn("%s", err);
}

static void
on_up(void *arg, const struct addr *a, uint64_t isd_as, size_t room)
{
	struct prefix routes[ROUTES_MAX];
	const struct bundle_network *nw;
	char text[ADDR_STRLEN];
	struct addr server;
	unsigned n;

	(void)arg;
	if (!g.relay && (nw = network_of(a)) != NULL && nw->scion) {
		/* Its packets are SCION packets: IP packets from the device would all be dropped
		 * (malformed) by the gateway, and its SCION packets would reach no stack here. */
		g.rc = 1;
		addr_format(a, text);
		snprintf(g.why, sizeof(g.why),
		    "address %s is of pool \"%.32s\" in scion mode: a TUN device cannot carry its "
		    "SCION packets (an application with a SCION stack uses --relay)",
		    text, nw->pool);
		session_stop(g.s);
		return;
	}
	session_remote(g.s, &server);
	n = routes_for(a, routes);
	if (g.bundle_path != NULL &&
	    (!g.has_last || g.last_isd_as != isd_as ||
		memcmp(&g.last_address, a, sizeof(*a)) != 0)) {
		/* a restart asks for this address again (its grant is on hold for us) */
		g.has_last = 1;
		g.last_isd_as = isd_as;
		g.last_address = *a;
		if (renewer_busy(g.rn))
			g.save_pending = 1;
		else
			bundle_save_now();
	}
	if (pump_up(g.p, a, room, routes, n, &server) != 0) {
		g.rc = 1;
		snprintf(g.why, sizeof(g.why), "cannot set up the TUN device with the address");
		session_stop(g.s);
	}
}

static void
on_down(void *arg)
{
	(void)arg;
	pump_down(g.p);
}

static void
on_packet(void *arg, const uint8_t *pkt, size_t len)
{
	(void)arg;
	pump_packet(g.p, pkt, len);
}

static void
on_stopped(void *arg, int rc, const char *why)
{
	(void)arg;
	if (g.rc == 0) {
		g.rc = rc;
		snprintf(g.why, sizeof(g.why), "%s", why);
	}
	loop_stop(g.l);
}

static void schedule_token_read(int64_t at);

/* Say so when the token from --token-file has expired already: the gateway would refuse it,
 * and without this the user sees only refusals. */
static void
token_expired_warn(int64_t exp)
{
	char at[32];
	int64_t now = clock_unix();

	if (exp > now)
		return;
	clock_rfc3339(exp, at, sizeof(at));
	log_warn("the token in %s expired at %s (%lld s ago): the gateway refuses it; waiting for "
		 "a fresh one to be written to the file",
	    g.token_file, at, (long long)(now - exp));
}

/* Read --token-file again; a new token renews the session on the tunnel. */
static void
token_reread(void)
{
	char tok[SESSION_TOKEN_MAX], why[512];
	int64_t exp, iat, now = clock_unix(), wait;

	if (tokenfile_read(g.token_file, tok, sizeof(tok), &exp, &iat, why, sizeof(why)) != 0) {
		log_warn("%s", why);
		schedule_token_read(now + 30);
		return;
	}
	if (exp == g.token_exp) {
		/* not rewritten yet: look again, more often as the end nears */
		wait = (exp - now) / 4;
		wait = wait < 5 ? 5 : wait > 60 ? 60 : wait;
		schedule_token_read(now + wait);
		explicit_bzero(tok, sizeof(tok));
		return;
	}
	log_info("a new token from %s (expires %lld)", g.token_file, (long long)exp);
	token_expired_warn(exp);
	g.token_exp = exp;
	(void)session_set_token(g.s, tok);
	explicit_bzero(tok, sizeof(tok));
	schedule_token_read(tokenfile_next(now, exp, iat));
}

static void
on_token_timer(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	(void)arg;
	g.token_timer = 0;
	token_reread();
}

static void
schedule_token_read(int64_t at)
{
	int64_t now = clock_unix();

	if (g.token_timer != 0)
		loop_timer_cancel(g.l, g.token_timer);
	g.token_timer = loop_timer_add(
	    g.l, (uint64_t)(at > now ? at - now : 1) * 1000000000ull, 0, on_token_timer, NULL);
}

static void schedule_refresh(uint64_t delay_ms);

static void
on_refresh_timer(struct loop *l, uint64_t id, void *arg)
{
	char shown[256];

	(void)l;
	(void)id;
	(void)arg;
	g.renew_timer = 0;
	if (renewer_busy(g.rn))
		return;
	log_info("refreshing the access token at %s",
	    mgrhttp_url_shown(g.b.manager, shown, sizeof(shown)));
	g.renew_started = clock_mono_ns();
	if (renewer_start(g.rn, &g.b, g.bundle_path) != 0)
		fatal("cannot start the renewer");
}

static void
schedule_refresh(uint64_t delay_ms)
{
	if (g.renew_timer != 0)
		loop_timer_cancel(g.l, g.renew_timer);
	g.renew_timer = loop_timer_add(g.l, delay_ms * 1000000ull, 0, on_refresh_timer, NULL);
}

static uint64_t
refresh_delay_ms(void)
{
	int64_t now = clock_unix(),
		at = renew_at(g.b.access_token_received_at, g.b.access_token_expires_at, now);

	return (uint64_t)(at - now) * 1000u;
}

/* The renewer finished: a new access token renews the session on the tunnel. */
static void
on_renewed(struct loop *l, int fd, unsigned events, void *arg)
{
	struct renewer_result res;
	uint32_t rnd = (uint32_t)clock_mono_ns();

	(void)l;
	(void)fd;
	(void)events;
	(void)arg;
	if (renewer_take(g.rn, &res) != 0)
		return;
	bundle_view_take();
	if (g.save_pending) {
		g.save_pending = 0;
		bundle_save_now();
	}
	switch (res.status) {
	case ENROLL_OK:
		if (res.message[0] != '\0')
			log_warn("%s", res.message);
		g.renew_attempt = 0;
		log_info("new access token, valid until %lld (refreshed in %llu ms)",
		    (long long)g.b.access_token_expires_at,
		    (unsigned long long)((clock_mono_ns() - g.renew_started) / 1000000u));
		(void)session_set_token(g.s, g.b.access_token);
		schedule_refresh(refresh_delay_ms());
		break;
	case ENROLL_TRANSIENT:
		log_warn("token refresh failed, will retry: %s", res.message);
		schedule_refresh(renew_backoff_ms(++g.renew_attempt, res.retry_after, clock_unix(),
		    g.b.access_token_expires_at, rnd));
		break;
	case ENROLL_REFUSED:
		g.rc = 1;
		snprintf(g.why, sizeof(g.why), "the manager refused the token refresh: %.200s",
		    res.message);
		session_stop(g.s);
		break;
	}
}

static void
on_token_stale(void *arg)
{
	(void)arg;
	if (g.token_file != NULL)
		token_reread();
	else if (g.bundle_path != NULL && !renewer_busy(g.rn))
		schedule_refresh(0);
}

/* Hold "<bundle>.lock" for the life of `up`, or fatal. Two clients on one bundle would each
 * refresh with the same refresh token; the manager takes the second use of a rotated one for
 * theft and revokes the client. The lock goes with the process (fd kept open, never closed). */
static void
bundle_lock(void)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", g.bundle_path) >= (int)sizeof(path))
		fatalx("bundle path \"%s\" is too long", g.bundle_path);
	if (lockfile_take(path, &fd) == 0)
		return;
	if (errno == EWOULDBLOCK)
		fatalx("bundle %s is in use by another `" PROG " up` (it holds %s): one client "
		       "per bundle, two would spend each other's refresh tokens and be revoked",
		    g.bundle_path, path);
	fatal("cannot lock the bundle %s (%s)", g.bundle_path, path);
}

/* The bundle's agents as the session's, its token and last address. Fatal when unusable. */
static void
bundle_setup(struct session_config *cfg, char *token, size_t cap)
{
	char err[512];
	size_t i;

	bundle_lock();
	if (bundle_load(g.bundle_path, &g.b, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (g.b.ack_token != NULL)
		fatalx(
		    "bundle %s was never acknowledged: run `" PROG " join` again", g.bundle_path);
	if (g.b.nagents == 0)
		fatalx("bundle %s lists no agent (none was connected to the manager at the join)",
		    g.bundle_path);
	if (g.b.access_token == NULL || strlen(g.b.access_token) >= cap)
		fatalx("bundle %s: no usable access_token", g.bundle_path);
	for (i = 0; i < g.b.nagents && i < SESSION_AGENTS_MAX; i++) {
		struct session_agent *ag = &cfg->agents[i];

		snprintf(ag->id, sizeof(ag->id), "%lld", (long long)g.b.agents[i].id);
		snprintf(ag->address, sizeof(ag->address), "%s", g.b.agents[i].address);
		memcpy(ag->pin, g.b.agents[i].spki_pin, QUIC_SPKI_PIN_LEN);
		ag->has_pin = 1;
	}
	cfg->nagents = (unsigned)i;
	g.has_last = g.b.has_last_address;
	g.last_isd_as = g.b.last_isd_as;
	g.last_address = g.b.last_address;
	bundle_view_take();
	if (g.b.has_last_address && !cfg->request.has_request) {
		cfg->request.has_request = 1;
		cfg->request.isd_as = g.b.last_isd_as;
		cfg->request.addr = g.b.last_address;
	}
	memcpy(token, g.b.access_token, strlen(g.b.access_token) + 1);
	if ((g.rn = renewer_new()) == NULL)
		fatal("renewer");
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	(void)l;
	(void)arg;
	log_info("signal %d: stopping", signo);
	session_stop(g.s);
}

static void
before_sleep(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	session_before_sleep(g.s);
	pump_flush(g.p); /* what the turn's QUIC reads brought, in one sendmmsg */
	pump_tick(g.p);
}

static size_t
on_control(void *arg, const char *req, char *out, size_t cap)
{
	struct status st;
	ssize_t n;

	(void)arg;
	if (strcmp(req, "status") == 0 || strcmp(req, "status json") == 0) {
		memset(&st, 0, sizeof(st));
		session_status(g.s, &st);
		pump_status(g.p, &st);
		n = status_render(&st, strcmp(req, "status json") == 0, out, cap);
		if (n >= 0)
			return (size_t)n;
		return (size_t)snprintf(out, cap, "error the status does not fit\n");
	}
	if (strcmp(req, "down") == 0) {
		log_info("down requested on the control socket");
		session_stop(g.s);
		return (size_t)snprintf(out, cap, "stopping\n");
	}
	return (size_t)snprintf(out, cap, "error unknown request (status, status json, down)\n");
}

/* "B64" (standard or url-safe base64, padding optional) as a 32-byte pin, or fatal. */
static void
parse_pin(const char *s, unsigned char pin[QUIC_SPKI_PIN_LEN])
{
	char u[64];
	size_t n = strlen(s), i;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n >= sizeof(u))
		fatalx("--pin \"%s\": not the base64 of 32 bytes", s);
	for (i = 0; i < n; i++)
		u[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	if (b64url_decode(u, n, pin, QUIC_SPKI_PIN_LEN) != QUIC_SPKI_PIN_LEN)
		fatalx("--pin \"%s\": not the base64 of 32 bytes (a SHA-256)", s);
}

/* "ISD-AS,IP" into *a, or fatal. */
static void
parse_request_addr(const char *s, struct ctrl_assign *a)
{
	const char *comma = strchr(s, ','), *why = "";
	char ia[ISDAS_STRLEN];

	memset(a, 0, sizeof(*a));
	if (comma == NULL || (size_t)(comma - s) >= sizeof(ia))
		fatalx("--request-addr \"%s\": want ISD-AS,IP (1-ff00:0:110,10.0.0.7)", s);
	memcpy(ia, s, (size_t)(comma - s));
	ia[comma - s] = '\0';
	if (isdas_parse(ia, &a->isd_as, &why) != 0 || ISDAS_ISD(a->isd_as) == 0 ||
	    ISDAS_AS(a->isd_as) == 0)
		fatalx(
		    "--request-addr \"%s\": bad ISD-AS \"%s\"%s%s", s, ia, why[0] ? ": " : "", why);
	if (addr_parse(comma + 1, &a->addr) != 0 || addr_is_zero(&a->addr))
		fatalx("--request-addr \"%s\": \"%s\" is not an address", s, comma + 1);
	a->has_request = 1;
}

static void
add_route(const char *s)
{
	char whybuf[128];
	const char *why;

	/* counted to the end, so that the refusal names how many were given */
	if (++g.nroutes_given > ROUTE_ARGS_MAX)
		return;
	if (prefix_parse(s, &g.routes[g.nroutes], whybuf, sizeof(whybuf), &why) != 0)
		fatalx("--route \"%s\": %s", s, why);
	g.nroutes++;
}

static const struct option up_options[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"server", required_argument, NULL, 's'},
    {"pin", required_argument, NULL, 'p'},
    {"ca", required_argument, NULL, 'C'},
    {"token-file", required_argument, NULL, 'T'},
    {"tun", required_argument, NULL, 't'},
    {"relay", required_argument, NULL, 'r'},
    {"route", required_argument, NULL, 'R'},
    {"request-addr", required_argument, NULL, 'a'},
    {"control", required_argument, NULL, 'c'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
cmd_up(int argc, char **argv)
{
	static struct session_config cfg; /* large: off the stack */
	struct session_hooks hooks = {
	    .up = on_up,
	    .down = on_down,
	    .packet = on_packet,
	    .token_stale = on_token_stale,
	    .stopped = on_stopped,
	};
	struct pump_config pc = {.tun_name = "snaptun0"};
	const char *server = NULL, *pin = NULL, *control = NULL;
	char token[SESSION_TOKEN_MAX], why[512], ctlbuf[256];
	int64_t iat;
	sigset_t sigs;
	int ch;

	memset(&cfg, 0, sizeof(cfg));
	while ((ch = getopt_long(argc, argv, "", up_options, NULL)) != -1) {
		switch (ch) {
		case 'b': g.bundle_path = optarg; break;
		case 's': server = optarg; break;
		case 'p': pin = optarg; break;
		case 'C': cfg.ca_file = optarg; break;
		case 'T': g.token_file = optarg; break;
		case 't': pc.tun_name = optarg; break;
		case 'r': pc.relay = optarg, g.relay = 1; break;
		case 'R': add_route(optarg); break;
		case 'a':
			parse_request_addr(optarg, &cfg.request);
			cfg.request_strict = 1;
			break;
		case 'c': control = optarg; break;
		case 'L': args_log_level(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	args_end(PROG " up", argc, argv, usage);
	if (g.nroutes_given > ROUTE_ARGS_MAX)
		fatalx("--route given %u times, at most %d", g.nroutes_given, ROUTE_ARGS_MAX);
	if (g.bundle_path != NULL) {
		if (server != NULL || pin != NULL || g.token_file != NULL)
			fatalx("up: --bundle goes without --server, --pin and --token-file");
		bundle_setup(&cfg, token, sizeof(token));
	} else {
		if (server == NULL || g.token_file == NULL ||
		    (pin == NULL) == (cfg.ca_file == NULL))
			fatalx("up: give --bundle FILE, or --server HOST:PORT, one of --pin or "
			       "--ca, and --token-file");
		if (strlen(server) >= sizeof(cfg.agents[0].address))
			fatalx("--server \"%s\": too long", server);
		snprintf(cfg.agents[0].address, sizeof(cfg.agents[0].address), "%s", server);
		if (pin != NULL) {
			parse_pin(pin, cfg.agents[0].pin);
			cfg.agents[0].has_pin = 1;
		}
		cfg.nagents = 1;
		if (tokenfile_read(g.token_file, token, sizeof(token), &g.token_exp, &iat, why,
			sizeof(why)) != 0)
			fatalx("%s", why);
		token_expired_warn(g.token_exp);
	}
	if (control == NULL && (control = control_default_path(ctlbuf, sizeof(ctlbuf))) == NULL)
		fatalx("no control socket path: XDG_RUNTIME_DIR is not set (give --control PATH)");

	signal(SIGPIPE, SIG_IGN);
	if ((g.l = loop_new()) == NULL)
		fatal("loop_new");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (loop_signals(g.l, &sigs, on_signal, NULL) != 0)
		fatal("signalfd");
	if ((g.p = pump_new(g.l, &pc)) == NULL)
		return 1;
	if ((g.ctl = control_open(g.l, control, on_control, NULL)) == NULL) {
		pump_free(g.p);
		return 1;
	}
	if ((g.s = session_new(g.l, &cfg, token, &hooks)) == NULL)
		fatalx("out of memory");
	explicit_bzero(token, sizeof(token));
	pump_attach(g.p, g.s);
	if (g.token_file != NULL) {
		schedule_token_read(tokenfile_next(clock_unix(), g.token_exp, iat));
	} else {
		if (loop_fd_add(g.l, renewer_fd(g.rn), LOOP_READ, on_renewed, NULL) != 0)
			fatal("loop_fd_add");
		/* A request id left pending: the manager may have rotated the refresh token
		 * already (a crash before its answer was saved). Its retry window is bounded:
		 * settle it now rather than at the usual time. */
		schedule_refresh(g.b.refresh_request_id[0] != '\0' ? 0 : refresh_delay_ms());
	}
	loop_before_sleep(g.l, before_sleep, NULL);
	if (loop_run(g.l) != 0)
		fatal("epoll_wait");
	pump_attach(g.p, NULL);
	pump_free(g.p); /* routes and the address go with the device */
	control_close(g.ctl);
	session_free(g.s);
	if (g.rn != NULL) {
		loop_fd_del(g.l, renewer_fd(g.rn));
		renewer_free(g.rn); /* cancels a refresh in flight: the bundle stays whole */
	}
	bundle_free(&g.b);
	loop_free(g.l);
	if (g.rc != 0)
		fprintf(stderr, PROG ": %s\n", g.why);
	return g.rc;
}

/* ---- join ---- */

static const struct option join_options[] = {
    {"manager", required_argument, NULL, 'm'},
    {"token", required_argument, NULL, 't'},
    {"name", required_argument, NULL, 'n'},
    {"bundle", required_argument, NULL, 'b'},
    {"ca", required_argument, NULL, 'C'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
cmd_join(int argc, char **argv)
{
	const char *manager = NULL, *token = NULL, *name = NULL, *bundle = NULL, *ca = NULL;
	char err[1024];
	int ch;

	while ((ch = getopt_long(argc, argv, "", join_options, NULL)) != -1) {
		switch (ch) {
		case 'm': manager = optarg; break;
		case 't': token = optarg; break;
		case 'n': name = optarg; break;
		case 'b': bundle = optarg; break;
		case 'C': ca = optarg; break;
		case 'L': args_log_level(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	args_end(PROG " join", argc, argv, usage);
	if (manager == NULL || token == NULL || bundle == NULL)
		fatalx("join: give --manager URL, --token SNJ and --bundle FILE");
	if (enroll_client_join(manager, ca, token, name, bundle, err, sizeof(err)) != ENROLL_OK) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	printf("enrolled; bundle written to %s\n", bundle);
	return 0;
}

/* ---- status, down ---- */

static const struct option status_options[] = {
    {"json", no_argument, NULL, 'j'},
    {"control", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* status and down: one request on the control socket, its answer on stdout. */
static int
cmd_ask(int argc, char **argv, int down)
{
	const char *control = NULL, *req = down ? "down" : "status";
	char ctlbuf[256], answer[CONTROL_ANSWER_MAX + 8], why[512];
	int ch;

	while ((ch = getopt_long(argc, argv, "", status_options, NULL)) != -1) {
		switch (ch) {
		case 'j':
			if (down) {
				usage(stderr);
				return 2;
			}
			req = "status json";
			break;
		case 'c': control = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	args_end(down ? PROG " down" : PROG " status", argc, argv, usage);
	if (control == NULL && (control = control_default_path(ctlbuf, sizeof(ctlbuf))) == NULL)
		fatalx("no control socket path: XDG_RUNTIME_DIR is not set (give --control PATH)");
	if (control_ask(control, req, answer, sizeof(answer), why, sizeof(why)) < 0) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	if (strncmp(answer, "ok\n", 3) != 0) {
		fprintf(stderr, PROG ": %s", answer);
		return 1;
	}
	fputs(answer + 3, stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	log_set_program(PROG);
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0)
		args_version(PROG);
	argv[1] = argv[0]; /* getopt sees the subcommand's arguments alone */
	if (strcmp(cmd, "join") == 0)
		return cmd_join(argc - 1, argv + 1);
	if (strcmp(cmd, "up") == 0)
		return cmd_up(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cmd_ask(argc - 1, argv + 1, 0);
	if (strcmp(cmd, "down") == 0)
		return cmd_ask(argc - 1, argv + 1, 1);
	fprintf(stderr, PROG ": unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
