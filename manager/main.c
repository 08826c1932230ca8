/* snaptun-manager: flags, start-up, and the one event loop (epoll) that drives HTTP and the
 * periodic sweep of lapsed holds. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../db/db.h"
#include "../lib/args.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "admintoken.h"
#include "agentlink.h"
#include "alloc.h"
#include "app.h"
#include "http.h"
#include "enroll.h"
#include "jointoken.h"
#include "ratelimit.h"
#include "signkeys.h"

#define SWEEP_INTERVAL_NS (5ull * 1000000000u)
#define CHECKPOINT_INTERVAL_NS (1ull * 1000000000u)
#define RATELIMIT_SOURCES 65536 /* about 2 MiB of buckets */
#define SWEEP_BATCH 1000

struct options {
	double enroll_rate, enroll_burst, ack_ttl;
	const char *listen;
	const char *state_dir;
	const char *tls_cert, *tls_key;
	int check;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: snaptun-manager [--listen ADDR:PORT] [--state-dir DIR]\n"
	    "                       [--tls-cert FILE --tls-key FILE] [--log-level LEVEL] [--check]\n"
	    "\n"
	    "  --listen ADDR:PORT   admin API address (default 127.0.0.1:8080; [::1]:8080 for IPv6;\n"
	    "                       port 0 picks a free port)\n"
	    "  --state-dir DIR      database, keys and tokens (default ./var)\n"
	    "  --tls-cert FILE      serve HTTPS with this PEM certificate (needs --tls-key)\n"
	    "  --tls-key FILE       the certificate's PEM private key\n"
	    "  --log-level LEVEL    error, warn, info (default) or debug\n"
	    "  --enroll-rate R      requests per second per source address on /v1/join,\n"
	    "                       /v1/join/ack and /v1/token (default 1)\n"
	    "  --enroll-burst N     how many of them a source may save up (default 10)\n"
	    "  --ack-ttl SECONDS    how long an enrollment waits for /v1/join/ack (default 30)\n"
	    "  --check              check the configuration and the database, then exit\n"
	    "\n"
	    "The URL being served is written to DIR/manager.url once listening. Agents attach\n"
	    "on DIR/agent.sock with the key DIR/channel.key (made on the first start).\n");
}

static double
number_arg(const char *flag, const char *s, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= min && v <= max))
		fatalx("%s \"%s\": expected a number from %g to %g", flag, s, min, max);
	return v;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"log-level", required_argument, NULL, 'v'},
	    {"check", no_argument, NULL, 'C'},
	    {"enroll-rate", required_argument, NULL, 'r'},
	    {"enroll-burst", required_argument, NULL, 'b'},
	    {"ack-ttl", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	o->listen = "127.0.0.1:8080";
	o->enroll_rate = 1;
	o->enroll_burst = 10;
	o->ack_ttl = ENROLL_ACK_TTL;
	o->state_dir = "./var";
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 's': o->state_dir = optarg; break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'C': o->check = 1; break;
		case 'r':
			o->enroll_rate = number_arg(
			    "--enroll-rate", optarg, RATELIMIT_RATE_MIN, RATELIMIT_RATE_MAX);
			break;
		case 'a':
			o->ack_ttl = number_arg("--ack-ttl", optarg, 1, ENROLL_ACK_TTL_MAX);
			break;
		case 'b':
			o->enroll_burst = number_arg(
			    "--enroll-burst", optarg, RATELIMIT_BURST_MIN, RATELIMIT_BURST_MAX);
			break;
		case 'v': args_log_level(optarg); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	args_end("snaptun-manager", argc, argv, usage);
	args_tls(o->tls_cert, o->tls_key);
}

static int64_t
wall_clock(void)
{
	return clock_unix();
}

static void
write_url(const char *state_dir, const char *url)
{
	char path[4096], tmp[4100];
	FILE *f;

	/* Written beside and renamed, so a reader never sees half a URL. */
	snprintf(path, sizeof(path), "%s/manager.url", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", url) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) < 0)
		fatal("cannot write %s", path);
}

/* Write down what time decided. Correctness never waits for this: lapsed holds are free and
 * expired tokens are refused whether or not they were swept. */
static void
sweep(struct app *app)
{
	/* The loop flushes every batch before it gets here (http_flush). */
	assert(!db_in_tx(app->db));
	int n = alloc_sweep(app->db, app->now(), SWEEP_BATCH);

	if (n > 0)
		log_info("expired %d lapsed holds", n);
	else if (n < 0)
		log_warn("sweeping lapsed holds failed; retrying later");
	if ((n = jointoken_sweep(app->db, app->now(), SWEEP_BATCH)) > 0)
		log_info("%d join tokens expired or reverted", n);
	else if (n < 0)
		log_warn("sweeping join tokens failed; retrying later");
	if ((n = signkeys_retire_due(app->keys, app->now())) < 0)
		log_warn("retiring signing keys failed; retrying later");
	/* What the sweep changed (retired keys) goes to the agents now. */
	agentlink_flush(app->link);
	agentlink_sweep(app->link);
}

static int
loop_run(struct app *app, struct http *http)
{
	struct epoll_event ev = {.events = EPOLLIN}, events[16];
	uint64_t next_sweep = clock_mono_ns(), next_checkpoint = next_sweep, now;
	sigset_t mask;
	int ep, sfd, n, timeout, stop = 0, released = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("event loop");
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		fatal("epoll_ctl");
	ev.data.fd = http_fd(http);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		fatal("epoll_ctl");
	/* The state channel's own epoll fd: its listener and every agent connection. */
	ev.data.fd = agentlink_fd(app->link);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		fatal("epoll_ctl");
	while (!stop) {
		now = clock_mono_ns();
		if (now >= next_sweep) {
			sweep(app);
			next_sweep = now + SWEEP_INTERVAL_NS;
		}
		if (now >= next_checkpoint) {
			db_checkpoint(app->db);
			next_checkpoint = now + CHECKPOINT_INTERVAL_NS;
		}
		timeout =
		    (int)(((next_sweep < next_checkpoint ? next_sweep : next_checkpoint) - now) /
			1000000u) +
		    1;
		n = http_timeout_ms(http);
		if (n >= 0 && n < timeout)
			timeout = n;
		n = agentlink_timeout_ms(app->link);
		if (n >= 0 && n < timeout)
			timeout = n;
		if (released)
			timeout = 0; /* replies released by the last flush go out now */
		n = epoll_wait(ep, events, 16, timeout);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++)
			if (events[i].data.fd == sfd)
				stop = 1;
		/* The agents' requests of this turn share one transaction of their own (no batch
		 * is open here: the last turn flushed it). */
		agentlink_run(app->link);
		/* MHD also has time-driven work (timeouts), so run it on every turn; then commit
		 * what the requests of this turn changed, once for all of them. */
		http_run(http);
		released = http_flush(http);
		/* Deltas of what just committed (revocations, kills, …) go out in this turn. */
		agentlink_flush(app->link);
	}
	/* Committed changes get their answers before the connections close. */
	http_shutdown(http);
	log_info("shutting down");
	close(ep);
	close(sfd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct app app = {0};
	struct http *http = NULL;
	const struct route *routes;
	size_t nroutes;
	char path[4096], url[128];

	parse_options(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	app.state_dir = o.state_dir;
	app.now = wall_clock;
	app.ack_ttl = (int64_t)o.ack_ttl;
	app.started_mono = clock_mono_ns();
	routes = routes_table(&nroutes);
	/* Bind first: a bad --listen or a port in use fails before any state is created. MHD
	 * serves nothing until the loop runs, after the store is open. */
	if (!o.check &&
	    (http = http_open(
		 &app, o.listen, o.tls_cert, o.tls_key, routes, nroutes, url, sizeof(url))) == NULL)
		fatalx("cannot serve the admin API");
	if (mkdir(o.state_dir, 0700) < 0 && errno != EEXIST)
		fatal("cannot create state dir %s", o.state_dir);
	snprintf(path, sizeof(path), "%s/snaptun.db", o.state_dir);
	if (db_open(path, &app.db) < 0)
		fatalx("cannot open the database %s", path);
	if (o.check) {
		if (db_check(app.db) < 0)
			fatalx("database %s failed its integrity check", path);
		if ((http = http_open(&app, "127.0.0.1:0", o.tls_cert, o.tls_key, routes, nroutes,
			 url, sizeof(url))) == NULL)
			fatalx("configuration check failed");
		http_close(http);
		printf("snaptun-manager: configuration ok (database %s)\n", path);
		db_close(app.db);
		return 0;
	}
	if (admintoken_bootstrap(app.db, o.state_dir, app.now()) < 0)
		fatalx("cannot create the bootstrap admin token");
	if (signkeys_open(app.db, o.state_dir, app.now(), &app.keys) < 0)
		fatalx("cannot load or create the token signing keys in %s", o.state_dir);
	if ((app.limiter = ratelimit_new(o.enroll_rate, o.enroll_burst, RATELIMIT_SOURCES)) == NULL)
		fatalx("cannot set up the enrollment rate limit");
	app.link = agentlink_open(&app, o.state_dir);
	write_url(o.state_dir, url);
	log_info("snaptun-manager %s serving %s (state in %s)", SNAPTUN_VERSION, url, o.state_dir);
	loop_run(&app, http);
	http_close(http);
	agentlink_close(app.link);
	signkeys_close(app.keys);
	ratelimit_free(app.limiter);
	db_close(app.db);
	return 0;
}
