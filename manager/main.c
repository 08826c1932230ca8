/* snaptun-manager: flags, start-up, and the one event loop (lib/loop) that drives HTTP, the
 * state channel and the periodic background jobs (jobs.h). */
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../db/db.h"
#include "../lib/args.h"
#include "../lib/atomicfile.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/safedir.h"
#include "../lib/sockaddr.h"
#include "../lib/secret.h"
#include "access.h"
#include "admintoken.h"
#include "agentlink.h"
#include "agenttls.h"
#include "agentlost.h"
#include "app.h"
#include "http.h"
#include "enroll.h"
#include "evstream.h"
#include "jobs.h"
#include "keyfile.h"
#include "metrics.h"
#include "ratelimit.h"
#include "sessions.h"
#include "signkeys.h"
#include "storesecret.h"
#include "webroot.h"

#define CHECKPOINT_INTERVAL_NS (1ull * 1000000000u)
#define RATELIMIT_SOURCES 65536 /* about 3.5 MiB of buckets */

struct options {
	double enroll_rate, enroll_burst, ack_ttl;
	int64_t access_ttl;
	uint64_t agent_lost_after;
	const char *listen;
	const char *metrics_listen;
	const char *state_dir;
	const char *store; /* NULL: DIR/snaptun.db */
	const char *store_secret; /* NULL: DIR/store.secret */
	const char *tls_cert, *tls_key;
	struct agenttls_config agent_tls; /* the state channel over TCP + TLS (off: listen NULL) */
	const char *web_dir; /* NULL: the default; "": no dashboard */
	int check;
	unsigned max_event_streams;
	int access_log;
	struct http_limits http;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: snaptun-manager [--listen ADDR:PORT] [--metrics-listen ADDR:PORT]\n"
	    "                       [--state-dir DIR] [--store STORE] [--store-secret FILE]\n"
	    "                       [--tls-cert FILE --tls-key FILE] [--log-level LEVEL]\n"
	    "                       [--log-format text|json] [--access-log]\n"
	    "                       [--enroll-rate R] [--enroll-burst N] [--ack-ttl SECONDS]\n"
	    "                       [--access-token-ttl SECONDS]\n"
	    "                       [--http-max-conns N] [--http-reserve N]\n"
	    "                       [--http-max-per-source N] [--http-head-timeout SECONDS]\n"
	    "                       [--http-body-timeout SECONDS] [--agent-lost-after SECONDS]\n"
	    "                       [--max-event-streams N] [--web-dir DIR]\n"
	    "                       [--agent-listen ADDR:PORT [--agent-advertise HOST:PORT]\n"
	    "                        [--agent-tls-cert FILE --agent-tls-key FILE]]\n"
	    "                       [--check]\n"
	    "       snaptun-manager --help | --version\n"
	    "\n"
	    "  --listen ADDR:PORT   admin API address (default 127.0.0.1:8080; [::1]:8080 for IPv6;\n"
	    "                       port 0 picks a free port)\n"
	    "  --metrics-listen ADDR:PORT  serve GET /metrics there too, without authentication\n"
	    "                       (plain HTTP; for a local scraper)\n"
	    "  --state-dir DIR      database, keys and tokens (default ./var)\n"
	    "  --store STORE        where the records are kept: sqlite:PATH (default\n"
	    "                       sqlite:DIR/snaptun.db), or PostgreSQL as postgresql://...,\n"
	    "                       postgres://... or \"host=... dbname=...\" (libpq's forms);\n"
	    "                       several managers may share one PostgreSQL database\n"
	    "  --store-secret FILE  the 32-byte key that seals the token signing keys in the\n"
	    "                       store (default DIR/store.secret, made with the first key;\n"
	    "                       mode 0600). Every manager of one store needs a copy of the\n"
	    "                       same file; back it up with the store\n"
	    "  --tls-cert FILE      serve HTTPS with this PEM certificate (needs --tls-key)\n"
	    "  --tls-key FILE       the certificate's PEM private key\n"
	    "  --log-level LEVEL    error, warn, info (default) or debug\n"
	    "  --log-format FMT     text (default) or json: one object per line\n"
	    "  --access-log         log every HTTP request at info: method, route, status,\n"
	    "                       duration, source address\n"
	    "  --enroll-rate R      requests per second per source address on /v1/join,\n"
	    "                       /v1/join/ack, /v1/token and /v1/agent-enroll (default 1)\n"
	    "  --enroll-burst N     how many of them a source may save up (default 10)\n"
	    "  --ack-ttl SECONDS    how long an enrollment waits for /v1/join/ack (default 30)\n"
	    "  --access-token-ttl SECONDS  lifetime of the access tokens /v1/join and /v1/token\n"
	    "                       issue (10-3600, default 3600)\n"
	    "  --http-max-conns N   HTTP connections served at once (default 4096)\n"
	    "  --http-reserve N     more connections kept for the admin API and /v1/health\n"
	    "                       (default 64)\n"
	    "  --http-max-per-source N  connections from one address (default 64)\n"
	    "  --http-head-timeout SECONDS  to send a request head (default 10)\n"
	    "  --http-body-timeout SECONDS  to send a request body (default 30)\n"
	    "  --agent-lost-after SECONDS  how long an agent may be away before its assigned\n"
	    "                       grants go on hold (default 300)\n"
	    "  --max-event-streams N  subscribers of /v1/events/stream at once (default 64)\n"
	    "  --agent-listen ADDR:PORT  also serve the state channel over TCP + TLS 1.3 there,\n"
	    "                       for enrolled agents on other hosts (off by default)\n"
	    "  --agent-advertise HOST:PORT  the address enrolling agents are told to dial\n"
	    "                       (default: the --agent-listen address bound)\n"
	    "  --agent-tls-cert FILE  the listener's PEM certificate (default: made on the first\n"
	    "                       start as DIR/agent-tls.crt, key DIR/agent-tls.key)\n"
	    "  --agent-tls-key FILE the certificate's PEM private key\n"
	    "  --web-dir DIR        the dashboard's files, served at / (default: web/ beside the\n"
	    "                       directory of the program, else ../share/snaptun/web; \"\"\n"
	    "                       serves none)\n"
	    "  --check              check the configuration and the database, then exit\n"
	    "  --help               print this and exit\n"
	    "  --version            print the version and exit\n"
	    "\n"
	    "The URL being served is written to DIR/manager.url once listening. Agents attach\n"
	    "on DIR/agent.sock with the key DIR/channel.key (made on the first start). With\n"
	    "--metrics-listen, the metrics URL is written to DIR/metrics.url.\n");
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"metrics-listen", required_argument, NULL, 'm'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"store", required_argument, NULL, 'S'},
	    {"store-secret", required_argument, NULL, 'S' + 256},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"agent-listen", required_argument, NULL, 'A' + 256},
	    {"agent-advertise", required_argument, NULL, 'D' + 256},
	    {"agent-tls-cert", required_argument, NULL, 'c' + 256},
	    {"agent-tls-key", required_argument, NULL, 'k' + 256},
	    {"log-level", required_argument, NULL, 'v'},
	    {"log-format", required_argument, NULL, 'F'},
	    {"access-log", no_argument, NULL, 'a' + 256},
	    {"check", no_argument, NULL, 'C'},
	    {"web-dir", required_argument, NULL, 'W'},
	    {"enroll-rate", required_argument, NULL, 'r'},
	    {"enroll-burst", required_argument, NULL, 'b'},
	    {"ack-ttl", required_argument, NULL, 'a'},
	    {"access-token-ttl", required_argument, NULL, 'T'},
	    {"http-max-conns", required_argument, NULL, 'M'},
	    {"http-reserve", required_argument, NULL, 'R'},
	    {"http-max-per-source", required_argument, NULL, 'P'},
	    {"http-head-timeout", required_argument, NULL, 'H'},
	    {"http-body-timeout", required_argument, NULL, 'B'},
	    {"agent-lost-after", required_argument, NULL, 'L'},
	    {"max-event-streams", required_argument, NULL, 'E'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	o->listen = "127.0.0.1:8080";
	o->enroll_rate = 1;
	o->enroll_burst = 10;
	o->ack_ttl = ENROLL_ACK_TTL;
	o->access_ttl = ACCESS_TTL_DEFAULT;
	o->agent_lost_after = AGENTLOST_AFTER;
	o->state_dir = "./var";
	o->max_event_streams = EVSTREAM_MAX_DEFAULT;
	o->http = (struct http_limits){
	    HTTP_MAX_CONNS, HTTP_RESERVE, HTTP_PER_SOURCE, HTTP_HEAD_TIMEOUT, HTTP_BODY_TIMEOUT};
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'm': o->metrics_listen = optarg; break;
		case 's': o->state_dir = optarg; break;
		case 'S': o->store = optarg; break;
		case 'S' + 256: o->store_secret = optarg; break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'C': o->check = 1; break;
		case 'W': o->web_dir = optarg; break;
		case 'r':
			o->enroll_rate = args_number(
			    "--enroll-rate", optarg, RATELIMIT_RATE_MIN, RATELIMIT_RATE_MAX);
			break;
		case 'a':
			o->ack_ttl = args_number("--ack-ttl", optarg, 1, ENROLL_ACK_TTL_MAX);
			break;
		case 'T':
			o->access_ttl = (int64_t)args_uint("--access-token-ttl", optarg,
			    ACCESS_TTL_ENROLL_MIN, ACCESS_TTL_ENROLL_MAX);
			break;
		case 'b':
			o->enroll_burst = args_number(
			    "--enroll-burst", optarg, RATELIMIT_BURST_MIN, RATELIMIT_BURST_MAX);
			break;
		case 'M':
			o->http.max_conns =
			    (unsigned)args_number("--http-max-conns", optarg, 1, 65536);
			break;
		case 'R':
			o->http.reserve = (unsigned)args_number("--http-reserve", optarg, 0, 4096);
			break;
		case 'P':
			o->http.per_source =
			    (unsigned)args_number("--http-max-per-source", optarg, 1, 65536);
			break;
		case 'H':
			o->http.head_timeout =
			    (unsigned)args_number("--http-head-timeout", optarg, 1, 3600);
			break;
		case 'B':
			o->http.body_timeout =
			    (unsigned)args_number("--http-body-timeout", optarg, 1, 3600);
			break;
		case 'L':
			o->agent_lost_after =
			    args_uint("--agent-lost-after", optarg, 1, AGENTLOST_AFTER_MAX);
			break;
		case 'E':
			o->max_event_streams =
			    (unsigned)args_number("--max-event-streams", optarg, 0, 4096);
			break;
		case 'v': args_log_level(optarg); break;
		case 'F': args_log_format(optarg); break;
		case 'a' + 256: o->access_log = 1; break;
		case 'A' + 256: o->agent_tls.listen = optarg; break;
		case 'D' + 256: o->agent_tls.advertise = optarg; break;
		case 'c' + 256: o->agent_tls.cert_file = optarg; break;
		case 'k' + 256: o->agent_tls.key_file = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'V': args_version("snaptun-manager");
		default: usage(stderr); exit(2);
		}
	}
	args_end("snaptun-manager", argc, argv, usage);
	args_tls(o->tls_cert, o->tls_key);
	if ((o->agent_tls.cert_file == NULL) != (o->agent_tls.key_file == NULL))
		fatalx("--agent-tls-cert and --agent-tls-key go together");
	if (o->agent_tls.listen == NULL &&
	    (o->agent_tls.cert_file != NULL || o->agent_tls.advertise != NULL))
		fatalx("--agent-tls-cert and --agent-advertise need --agent-listen");
	/* What an enrolling agent is told to dial: it takes these forms alone. */
	if (o->agent_tls.advertise != NULL && !sockaddr_endpoint_valid(o->agent_tls.advertise))
		fatalx("--agent-advertise \"%s\": not HOST:PORT (HOST a numeric address, [...] for "
		       "IPv6, or a DNS name)",
		    o->agent_tls.advertise);
}

/* Refuse to keep secrets in dir (what names it) when another user could write there. */
static void
check_dir(const char *what, const char *dir, int root_ok)
{
	char why[8192];

	if (safedir_check(dir, root_ok, why, sizeof(why)) < 0)
		fatalx("%s: %s", what, why);
}

/* The dashboard's directory: --web-dir, or, by default, web/ of the tree the program was built
 * in (build/snaptun-manager -> web/) or of an installation (bin/ -> share/snaptun/web). A
 * missing default only leaves the dashboard out; a missing --web-dir stops the start. */
static struct webroot *
open_web(const char *given)
{
	static const char *const rel[] = {"/../web", "/../share/snaptun/web"};
	char exe[4096], dir[4096 + 32];
	struct webroot *w;
	ssize_t n;

	if (given != NULL) {
		if (given[0] == '\0')
			return NULL;
		if ((w = webroot_new(given)) == NULL)
			fatal("--web-dir %s", given);
		return w;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(dir, sizeof(dir), "%s%s", exe, rel[i]);
		if (access(dir, F_OK) == 0 && (w = webroot_new(dir)) != NULL)
			return w;
	}
	log_info("no dashboard: neither web/ nor share/snaptun/web found near %s (--web-dir)", exe);
	return NULL;
}

static int64_t
wall_clock(void)
{
	return clock_unix();
}

/* This manager's id among those sharing a store: 16 hex digits in DIR/manager.id, made on the
 * first start and kept, so that after a restart the rows it wrote (its agents') are still its
 * own and not taken for another manager's. A state dir copied whole to start a second manager
 * gives both one id: the copy's manager.id must be removed (api.md says so). */
static void
manager_id(const char *state_dir, char out[APP_MANAGER_ID_MAX + 1])
{
	enum { ID_LEN = 16 };
	unsigned char raw[ID_LEN / 2];
	char path[4096], text[ID_LEN + 1] = "";

	snprintf(path, sizeof(path), "%s/manager.id", state_dir);
	if (atomicfile_read(path, text, ID_LEN, NULL) == 0) {
		text[ID_LEN] = '\0';
		if (strspn(text, "0123456789abcdef") != ID_LEN)
			fatalx("%s: not a manager id (16 hex digits); remove it to have one made",
			    path);
	} else if (errno == ENOENT) {
		if (secret_random(raw, sizeof(raw)) < 0)
			fatalx("no randomness for the manager's id");
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(text + 2 * i, 3, "%02x", raw[i]);
		if (atomicfile_write(path, text, ID_LEN, 0644) < 0)
			fatal("cannot write %s", path);
	} else {
		fatal("cannot read %s", path);
	}
	snprintf(out, APP_MANAGER_ID_MAX + 1, "%s", text);
}

static void
write_url(const char *state_dir, const char *file, const char *url)
{
	char path[4096], line[160];
	int n;

	/* Written beside and renamed, so a reader never sees half a URL. Not a secret: 0644, less
	 * the umask (077), as for every file in the state dir. */
	snprintf(path, sizeof(path), "%s/%s", state_dir, file);
	n = snprintf(line, sizeof(line), "%s\n", url);
	if (n < 0 || (size_t)n >= sizeof(line) || atomicfile_write(path, line, (size_t)n, 0644) < 0)
		fatal("cannot write %s", path);
}

static void
sweep(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	jobs_run(arg);
}

static void
on_session(void *arg, int up, const struct session *s)
{
	evstream_session(arg, up, s);
}

static void
checkpoint(struct loop *l, uint64_t id, void *arg)
{
	struct app *app = arg;

	(void)l;
	(void)id;
	db_checkpoint(app->db);
}

struct serve {
	struct app *app;
	struct http *http;
	struct http *metrics; /* --metrics-listen, or NULL */
};

/* The work of a loop turn; returns how many replies its flush released and how many waiting
 * event streams it woke. */
static int
serve_work(struct serve *s)
{
	int released;

	/* The agents' requests of this turn share one transaction of their own (no batch is open
	 * here: the last turn flushed it). */
	agentlink_run(s->app->link);
	/* MHD also has time-driven work (timeouts), so run it on every turn; then commit what the
	 * requests of this turn changed, once for all of them. */
	http_run(s->http);
	released = http_flush(s->http);
	/* Scrapes read the store with no batch open: after the flush. */
	if (s->metrics != NULL) {
		http_run(s->metrics);
		released += http_flush(s->metrics);
	}
	/* Deltas of what just committed (revocations, kills, …) go out in this turn, and so do
	 * the events: the sweep's of the last timers too, committed since the last turn. */
	agentlink_flush(s->app->link);
	released += evstream_pump(s->app->events);
	return released;
}

/* Before each wait: the turn's work, then how long the wait may last (the state channel gives
 * its deadlines itself). HTTP is polled through libmicrohttpd's own epoll fd, which only
 * wakes the loop. */
static void
serve_turn(struct loop *l, void *arg)
{
	struct serve *s = arg;

	if (serve_work(s) > 0)
		loop_wait_max(l, 0); /* replies released by the flush go out now */
	loop_wait_max(l, http_timeout_ms(s->http));
	if (s->metrics != NULL)
		loop_wait_max(l, http_timeout_ms(s->metrics));
}

/* Run the loop l (the state channel's sockets are on it already) until SIGINT or SIGTERM. */
static void
serve(struct app *app, struct http *http, struct http *metrics, struct loop *l)
{
	struct serve s = {app, http, metrics};
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (loop_signals(l, &mask, NULL, NULL) < 0 ||
	    loop_fd_add(l, http_fd(http), LOOP_READ, NULL, NULL) < 0 ||
	    (metrics != NULL && loop_fd_add(l, http_fd(metrics), LOOP_READ, NULL, NULL) < 0))
		fatal("event loop");
	/* Both are due at once: a start sweeps what lapsed while the manager was down. */
	if (loop_timer_add(l, 0, JOBS_INTERVAL_SECONDS * 1000000000ull, sweep, app) == 0 ||
	    loop_timer_add(l, 0, CHECKPOINT_INTERVAL_NS, checkpoint, app) == 0)
		fatalx("event loop: out of memory");
	loop_before_sleep(l, serve_turn, &s);
	if (loop_run(l) < 0)
		fatal("event loop");
	/* A signal stops the loop: what the turn that saw it read is still handled. */
	serve_work(&s);
	/* Committed changes get their answers before the connections close. */
	http_shutdown(http);
	if (metrics != NULL)
		http_shutdown(metrics);
	log_info("shutting down");
}

/* The store secret, then the token signing keys sealed with it (made on the first start). */
static void
load_keys(struct app *app, const struct options *o)
{
	unsigned char secret[SEAL_KEY_LEN];
	char path[4096], why[8192];
	int rv;

	if (o->store_secret != NULL)
		snprintf(path, sizeof(path), "%s", o->store_secret);
	else
		snprintf(path, sizeof(path), "%s/" STORESECRET_FILE, o->state_dir);
	if (storesecret_load(app->db, path, secret, why, sizeof(why)) < 0)
		fatalx("%s", why);
	rv = signkeys_open(app->db, o->state_dir, secret, app->now(), &app->keys);
	gnutls_memset(secret, 0, sizeof(secret));
	if (rv == ERR_DENIED)
		fatalx("the store's signing keys are sealed with another secret than %s: copy the "
		       "store secret of a manager of this store to %s and start again",
		    path, path);
	if (rv < 0)
		fatalx("cannot load or create the token signing keys of the store (with the store "
		       "secret %s)",
		    path);
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct app app = {0};
	struct http *http = NULL, *metrics = NULL;
	struct loop *loop;
	const struct route *routes;
	size_t nroutes;
	char path[4096], store[512], url[128], murl[128];

	log_set_program("snaptun-manager");
	parse_options(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	app.state_dir = o.state_dir;
	app.now = wall_clock;
	app.ack_ttl = (int64_t)o.ack_ttl;
	app.access_ttl = o.access_ttl;
	app.agent_lost_after = (int64_t)o.agent_lost_after;
	app.started_at = app.now();
	app.started_mono = clock_mono_ns();
	routes = routes_table(&nroutes);
	/* Bind first: a bad --listen or a port in use fails before any state is created. MHD
	 * serves nothing until the loop runs, after the store is open. */
	if (!o.check &&
	    (http = http_open(&app, o.listen, o.tls_cert, o.tls_key, routes, nroutes, &o.http, url,
		 sizeof(url))) == NULL)
		fatalx("cannot serve the admin API");
	if (!o.check && o.metrics_listen != NULL) {
		const struct route *mr;
		size_t nmr;

		mr = routes_metrics_table(&nmr);
		if ((metrics = http_open(&app, o.metrics_listen, NULL, NULL, mr, nmr, &o.http, murl,
			 sizeof(murl))) == NULL)
			fatalx("cannot serve the metrics on --metrics-listen %s", o.metrics_listen);
	}
	if (http != NULL) {
		http_access_log(http, o.access_log);
		http_serve_web(http, 1);
	}
	if (mkdir(o.state_dir, 0700) < 0 && errno != EEXIST)
		fatal("cannot create state dir %s", o.state_dir);
	/* Secrets are written there (tokens, the store secret, the channel key): nobody else may
	 * write it. */
	check_dir("--state-dir", o.state_dir, 0);
	/* Key files of an older version, read once to seal them into the store. */
	snprintf(path, sizeof(path), "%s/" KEYFILE_DIR, o.state_dir);
	if (access(path, F_OK) == 0)
		check_dir("the signing keys' directory", path, 0);
	if (o.tls_key != NULL) {
		char why[8192];

		if (safedir_check_parent(o.tls_key, 1, why, sizeof(why)) < 0)
			fatalx("--tls-key: %s", why);
	}
	if (o.store_secret != NULL) {
		char why[8192];

		/* It may be made there: refused where another user could plant it. */
		if (safedir_check_parent(o.store_secret, 0, why, sizeof(why)) < 0)
			fatalx("--store-secret: %s", why);
	}
	snprintf(path, sizeof(path), "sqlite:%s/snaptun.db", o.state_dir);
	/* db_open logged why, naming the store without its password. */
	if (db_open(o.store != NULL ? o.store : path, &app.db) < 0)
		fatalx("cannot open the store");
	db_describe(app.db, store, sizeof(store));
	if (!o.check)
		manager_id(o.state_dir, app.manager_id);
	if (o.check) {
		if (db_check(app.db) < 0)
			fatalx("the store %s failed its check", store);
		if ((http = http_open(&app, "127.0.0.1:0", o.tls_cert, o.tls_key, routes, nroutes,
			 &o.http, url, sizeof(url))) == NULL)
			fatalx("configuration check failed");
		http_close(http);
		printf("snaptun-manager: configuration ok (store %s)\n", store);
		db_close(app.db);
		return 0;
	}
	if (admintoken_bootstrap(app.db, o.state_dir, app.now()) < 0)
		fatalx("cannot create the bootstrap admin token");
	load_keys(&app, &o);
	if ((app.metrics = metrics_new()) == NULL)
		fatalx("out of memory");
	if ((app.limiter = ratelimit_new(o.enroll_rate, o.enroll_burst, RATELIMIT_SOURCES)) == NULL)
		fatalx("cannot set up the enrollment rate limit");
	if ((loop = loop_new()) == NULL)
		fatal("event loop");
	if ((app.events = evstream_new(&app, loop, o.max_event_streams)) == NULL)
		fatalx("cannot set up the event stream");
	app.link = agentlink_open(&app, o.state_dir, loop, &o.agent_tls);
	sessions_watch(agentlink_sessions(app.link), on_session, app.events);
	if (metrics != NULL) {
		/* Before manager.url: whoever waits for that finds this one there too. */
		snprintf(path, sizeof(path), "%s/metrics", murl);
		write_url(o.state_dir, "metrics.url", path);
		log_info("metrics at %s", path);
	}
	if ((app.web = open_web(o.web_dir)) != NULL)
		log_info("dashboard: %s/ served from %s", url, webroot_dir(app.web));
	write_url(o.state_dir, "manager.url", url);
	log_info("snaptun-manager %s serving %s (state in %s, store %s, manager id %s)",
	    SNAPTUN_VERSION, url, o.state_dir, store, app.manager_id);
	serve(&app, http, metrics, loop);
	http_close(http);
	http_close(metrics);
	webroot_free(app.web);
	/* The channel's last sessions go down into the stream, which outlives it. */
	agentlink_close(app.link);
	evstream_free(app.events);
	loop_free(loop);
	signkeys_close(app.keys);
	ratelimit_free(app.limiter);
	metrics_free(app.metrics);
	db_close(app.db);
	return 0;
}
