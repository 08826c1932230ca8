/* snaptun-agent: flags, start-up, and the one event loop (lib/loop.h) that drives the QUIC server,
 * the state channel to the manager, the timers and the signals. */
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <malloc.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/args.h"
#include "../lib/atomicfile.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/isdas.h"
#include "../lib/netlink.h"
#include "../lib/safedir.h"
#include "../lib/scion.h"
#include "../lib/secret.h"
#include "../lib/tun.h"
#include "../lib/version.h"
#include "advertise.h"
#include "dataplane.h"
#include "dp_tun.h"
#include "dpmode.h"
#include "dpsink.h"
#include "gwdev.h"
#include "creds.h"
#include "enroll.h"
#include "link.h"
#include "metrics_http.h"
#include "quic/quic.h"
#include "scion_underlay.h"
#include "../lib/sockaddr.h"
#include "state.h"
#include "tunnel.h"

#define AGENT_VERSION "snaptun " SNAPTUN_VERSION
#define RESET_SECRET_LEN 32
#define PATH_MAX_LEN 4096

struct options {
	const char *listen, *advertise, *tun, *state_dir, *manager_socket, *channel_key;
	const char *metrics_listen;
	const char *credentials; /* --credentials FILE, loaded into creds */
	const char *manager_ca; /* --manager-ca FILE: CAs trusted to sign managers' certificates */
	struct creds creds;
	int agent_id_given;
	/* the managers in the order tried: --credentials' first, then --manager's */
	struct link_endpoint managers[2 * CREDS_MANAGERS_MAX];
	size_t nmanagers;
	unsigned tun_mtu;
	const char *tls_cert, *tls_key;
	uint64_t agent_id;
	enum quic_retry retry;
	unsigned max_conns, max_handshakes, retry_rate;
	uint64_t handshake_timeout_ms, idle_timeout_s;
	/* the SCION underlay: on when any of these is given */
	struct scion_underlay_config scion;
	int scion_on;
};

/* The agent: what the loop and the link callbacks share. */
struct agent {
	struct state *st; /* the live state (swapped at each snapshot) */
	struct link *link;
	struct dataplane *dp; /* ip mode: the hub, or the TUN device */
	struct dataplane *dp_scion; /* scion mode, with the underlay; NULL without */
	struct scion_underlay *scion;
	struct tunnels *ts;
	struct quic_server *srv;
	/* gateway mode (--tun): the device, its sink, its addresses and routes */
	int tun_fd;
	struct dp_tun *tun;
	struct nl *nl;
	struct gwdev *gw;
	struct metrics_http *metrics; /* --metrics-listen, or NULL */
	uint64_t agent_id;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: snaptun-agent [--listen ADDR:PORT] [--advertise HOST:PORT] [--tun NAME]\n"
	    "                     [--tun-mtu N] [--state-dir DIR] [--manager-socket PATH]\n"
	    "                     [--channel-key FILE] [--agent-id N] [--tls-cert FILE --tls-key FILE]\n"
	    "                     [--retry auto|always|never] [--retry-rate N] [--max-conns N]\n"
	    "                     [--max-handshakes N] [--log-level LEVEL] [--log-format FMT]\n"
	    "                     [--handshake-timeout-ms MS] [--idle-timeout SECONDS]\n"
	    "                     [--metrics-listen ADDR:PORT]\n"
	    "                     [--scion-topology FILE | --scion-router HOST:PORT]\n"
	    "                     [--scion-bind ADDR] [--scion-port N] [--scion-ports LO-HI]\n"
	    "                     [--credentials FILE] [--manager-ca FILE]\n"
	    "                     [--manager PATH | HOST:PORT[=PIN]]...\n"
	    "       snaptun-agent enroll --manager URL --token sat_... --out DIR [--name NAME]\n"
	    "       snaptun-agent --help | --version\n"
	    "\n"
	    "  --listen ADDR:PORT        QUIC listener (default 0.0.0.0:4433; [::]:4433 for IPv6;\n"
	    "                            port 0 picks a free port)\n"
	    "  --advertise HOST:PORT     the endpoint clients are told to dial (default: the\n"
	    "                            listener; a wildcard listener's is derived and logged)\n"
	    "  --tun NAME                gateway mode: route between the tunnels and the network\n"
	    "                            through the TUN device NAME (created if missing)\n"
	    "  --tun-mtu N               its MTU (default 1500)\n"
	    "  --state-dir DIR           certificate, key, reset secret (default ./var/agent)\n"
	    "  --manager-socket PATH     the manager's state channel (default ./var/agent.sock)\n"
	    "  --channel-key FILE        the channel key (default channel.key beside the socket)\n"
	    "  --agent-id N              this agent's node id, 1 .. 2^63 (default 1)\n"
	    "  --credentials FILE        an enrolled agent's credentials (snaptun-agent enroll):\n"
	    "                            its id, channel key, client certificate and managers\n"
	    "  --manager ENDPOINT        a manager to attach to, tried in turn with the others\n"
	    "                            on failure: a UNIX socket path, or HOST:PORT=PIN over\n"
	    "                            TCP + TLS (HOST an address or a DNS name, PIN the\n"
	    "                            manager's SPKI pin), or HOST:PORT with --manager-ca;\n"
	    "                            repeatable, up to 8; replaces --manager-socket\n"
	    "  --manager-ca FILE         PEM CA certificates: a manager over TLS must present a\n"
	    "                            certificate they sign, valid for the endpoint's HOST\n"
	    "                            (and still the pinned one where a pin is named)\n"
	    "  --tls-cert FILE           PEM certificate (default DIR/cert.pem, generated)\n"
	    "  --tls-key FILE            its PEM private key (default DIR/key.pem, generated)\n"
	    "  --retry MODE              QUIC Retry: auto (under load, default), always, never\n"
	    "  --retry-rate N            auto: new handshakes per second above which Retry\n"
	    "                            validates client addresses first (default 1000)\n"
	    "  --max-conns N             connections at once (default 10000)\n"
	    "  --max-handshakes N        validated connections in their QUIC handshake at once\n"
	    "                            (default 1000); auto sends Retry once unvalidated ones\n"
	    "                            fill half of it\n"
	    "  --log-level LEVEL         error, warn, info (default) or debug\n"
	    "  --log-format FMT          text (default) or json: one object per line\n"
	    "  --handshake-timeout-ms MS the tunnel handshake limit (default 3000)\n"
	    "  --idle-timeout SECONDS    QUIC idle timeout (default 30)\n"
	    "  --metrics-listen ADDR:PORT  serve GET /metrics (Prometheus text) there, plain HTTP\n"
	    "                            without authentication; the address bound goes to\n"
	    "                            DIR/metrics.addr\n"
	    "  --scion-topology FILE     scion mode: the AS's topology.json; uplink packets go to\n"
	    "                            the border router owning their egress interface\n"
	    "  --scion-router HOST:PORT  scion mode: the one border router for every interface\n"
	    "  --scion-bind ADDR         the SCION underlay's address (default: the --listen host)\n"
	    "  --scion-port N            the AS's end-host port the underlay receives on\n"
	    "                            (default 30041; 0: a free one, in DIR/scion.addr)\n"
	    "  --scion-ports LO-HI       the AS's dispatched port range, received on too\n"
	    "  --help                    print this and exit\n"
	    "  --version                 print the version and exit\n"
	    "\n"
	    "The bound address is written to DIR/agent.addr once listening.\n");
}

/* --scion-ports "LO-HI" into cfg, or fatal. */
static void
scion_ports(const char *s, struct scion_underlay_config *cfg)
{
	char lo[8];
	const char *dash = strchr(s, '-');

	if (dash == NULL || (size_t)(dash - s) >= sizeof(lo))
		fatalx("--scion-ports \"%s\": expected LO-HI (31000-32767)", s);
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = '\0';
	cfg->ports_lo = (uint16_t)args_uint("--scion-ports", lo, 1, 65535);
	cfg->ports_hi = (uint16_t)args_uint("--scion-ports", dash + 1, cfg->ports_lo, 65535);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"advertise", required_argument, NULL, 'A'},
	    {"tun", required_argument, NULL, 'T'},
	    {"tun-mtu", required_argument, NULL, 'U'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"manager-socket", required_argument, NULL, 'm'},
	    {"channel-key", required_argument, NULL, 'K'},
	    {"agent-id", required_argument, NULL, 'i'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"retry", required_argument, NULL, 'r'},
	    {"max-conns", required_argument, NULL, 'M'},
	    {"max-handshakes", required_argument, NULL, 'S'},
	    {"retry-rate", required_argument, NULL, 'R'},
	    {"log-level", required_argument, NULL, 'v'},
	    {"log-format", required_argument, NULL, 'F'},
	    {"handshake-timeout-ms", required_argument, NULL, 'H'},
	    {"idle-timeout", required_argument, NULL, 'I'},
	    {"metrics-listen", required_argument, NULL, 'P'},
	    {"scion-topology", required_argument, NULL, 'y'},
	    {"scion-router", required_argument, NULL, 'z'},
	    {"scion-bind", required_argument, NULL, 'b'},
	    {"scion-port", required_argument, NULL, 'o'},
	    {"scion-ports", required_argument, NULL, 'O'},
	    {"credentials", required_argument, NULL, 'C' + 256},
	    {"manager", required_argument, NULL, 'm' + 256},
	    {"manager-ca", required_argument, NULL, 'A' + 256},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct link_endpoint given[CREDS_MANAGERS_MAX];
	size_t ngiven = 0;
	char why[320];
	int ch;

	o->listen = "0.0.0.0:4433";
	o->tun_mtu = 1500;
	o->state_dir = "./var/agent";
	o->manager_socket = "./var/agent.sock";
	o->agent_id = 1;
	o->retry = QUIC_RETRY_AUTO;
	o->handshake_timeout_ms = 3000;
	o->idle_timeout_s = 30;
	o->scion.port = SCION_PORT_ENDHOST;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'A': o->advertise = optarg; break;
		case 'T':
			if (optarg[0] == '\0' || strlen(optarg) >= IFNAMSIZ ||
			    strchr(optarg, '/') || strchr(optarg, ' '))
				fatalx(
				    "--tun \"%s\": not an interface name (1 to %d characters, no '/' "
				    "or space)",
				    optarg, IFNAMSIZ - 1);
			o->tun = optarg;
			break;
		case 'U': o->tun_mtu = (unsigned)args_uint("--tun-mtu", optarg, 1280, 65535); break;
		case 's': o->state_dir = optarg; break;
		case 'm': o->manager_socket = optarg; break;
		case 'K': o->channel_key = optarg; break;
		case 'i':
			o->agent_id = args_uint("--agent-id", optarg, 1, 1ull << 63);
			o->agent_id_given = 1;
			break;
		case 'C' + 256: o->credentials = optarg; break;
		case 'A' + 256: o->manager_ca = optarg; break;
		case 'm' + 256:
			if (ngiven == CREDS_MANAGERS_MAX)
				fatalx("--manager: at most %d", CREDS_MANAGERS_MAX);
			if (link_dial_parse(optarg, &given[ngiven++], why, sizeof(why)) < 0)
				fatalx("--manager %s", why);
			break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'r':
			if (strcmp(optarg, "auto") == 0)
				o->retry = QUIC_RETRY_AUTO;
			else if (strcmp(optarg, "always") == 0)
				o->retry = QUIC_RETRY_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o->retry = QUIC_RETRY_NEVER;
			else
				fatalx("--retry \"%s\": expected auto, always or never", optarg);
			break;
		case 'M':
			o->max_conns = (unsigned)args_uint("--max-conns", optarg, 1, 1000000);
			break;
		case 'S':
			o->max_handshakes =
			    (unsigned)args_uint("--max-handshakes", optarg, 1, 1000000);
			break;
		case 'R':
			o->retry_rate = (unsigned)args_uint("--retry-rate", optarg, 1, 10000000);
			break;
		case 'H':
			o->handshake_timeout_ms =
			    args_uint("--handshake-timeout-ms", optarg, 1, 3600 * 1000);
			break;
		case 'I': o->idle_timeout_s = args_uint("--idle-timeout", optarg, 1, 86400); break;
		case 'P': o->metrics_listen = optarg; break;
		case 'y': o->scion.topology = optarg, o->scion_on = 1; break;
		case 'z': o->scion.router = optarg, o->scion_on = 1; break;
		case 'b': o->scion.bind = optarg, o->scion_on = 1; break;
		case 'o':
			o->scion.port = (uint16_t)args_uint("--scion-port", optarg, 0, 65535);
			o->scion_on = 1;
			break;
		case 'O':
			scion_ports(optarg, &o->scion);
			o->scion_on = 1;
			break;
		case 'v': args_log_level(optarg); break;
		case 'F': args_log_format(optarg); break;
		case 'h': usage(stdout); exit(0);
		case 'V': args_version("snaptun-agent");
		default: usage(stderr); exit(2);
		}
	}
	args_end("snaptun-agent", argc, argv, usage);
	args_tls(o->tls_cert, o->tls_key);
	if (o->credentials != NULL) {
		if (creds_load(o->credentials, &o->creds, why, sizeof(why)) < 0)
			fatalx("--credentials %s: %s", o->credentials, why);
		if (o->agent_id_given && o->agent_id != o->creds.agent_id)
			fatalx("--agent-id %llu: the credentials are agent %llu's",
			    (unsigned long long)o->agent_id, (unsigned long long)o->creds.agent_id);
		o->agent_id = o->creds.agent_id;
		memcpy(o->managers, o->creds.managers, o->creds.nmanagers * sizeof(o->managers[0]));
		o->nmanagers = o->creds.nmanagers;
	}
	memcpy(o->managers + o->nmanagers, given, ngiven * sizeof(given[0]));
	o->nmanagers += ngiven;
	if (o->nmanagers == 0 &&
	    link_dial_parse(o->manager_socket, &o->managers[o->nmanagers++], why, sizeof(why)) < 0)
		fatalx("--manager-socket %s", why);
	for (size_t i = 0; i < o->nmanagers; i++) {
		if (!link_dial_is_tls(&o->managers[i]))
			continue;
		if (o->credentials == NULL)
			fatalx("--manager %s: a manager over TLS needs --credentials (the agent's "
			       "enrolled certificate and channel key)",
			    o->managers[i].address);
		if (!o->managers[i].pinned && o->manager_ca == NULL)
			fatalx(
			    "manager %s: no pin (HOST:PORT=PIN) and no --manager-ca to check its "
			    "certificate with",
			    o->managers[i].address);
	}
	if (o->manager_ca != NULL && o->credentials == NULL)
		fatalx("--manager-ca: only managers over TLS are checked with it (--credentials)");
	if (o->scion_on && (o->scion.topology == NULL) == (o->scion.router == NULL))
		fatalx("the SCION underlay needs one of --scion-topology FILE or --scion-router "
		       "HOST:PORT (where uplink packets go), not %s",
		    o->scion.topology == NULL ? "neither" : "both");
}

/* mkdir -p with mode 0700 for what it creates. */
static void
make_dirs(const char *dir)
{
	char p[PATH_MAX_LEN];

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		fatalx("--state-dir \"%s\": path too long", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			fatal("mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", p);
}

/* Refuse to keep or read secrets in dir (what names it) when another user could write there
 * (root may own it when root_ok: keys an administrator installed). */
static void
check_dir(const char *what, const char *dir, int root_ok)
{
	char why[8192];

	if (safedir_check(dir, root_ok, why, sizeof(why)) < 0)
		fatalx("%s: %s", what, why);
}

/* The same for the directory that holds the key file path. */
static void
check_key_dir(const char *what, const char *path)
{
	char why[8192];

	if (safedir_check_parent(path, 1, why, sizeof(why)) < 0)
		fatalx("%s: %s", what, why);
}

/* Write len bytes to path (mode) whole or not at all, or fatal. */
static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	if (atomicfile_write(path, data, len, mode) < 0)
		fatal("cannot write %s", path);
}

/* The stateless-reset / token secret: 32 bytes that survive restarts. */
static void
load_reset_secret(const char *state_dir, unsigned char secret[RESET_SECRET_LEN])
{
	char path[PATH_MAX_LEN];
	off_t size;

	snprintf(path, sizeof(path), "%s/reset.secret", state_dir);
	if (atomicfile_read(path, secret, RESET_SECRET_LEN, &size) == 0)
		return;
	if (errno == EINVAL && size >= 0)
		fatalx("%s: not %d bytes", path, RESET_SECRET_LEN);
	if (errno != ENOENT)
		fatal("cannot read %s", path);
	if (secret_random(secret, RESET_SECRET_LEN) < 0)
		fatalx("no random bytes for %s", path);
	write_file(path, secret, RESET_SECRET_LEN, 0600);
}

/* ---- the link's callbacks ---- */

/* Give data plane dp the pools of mode: their prefixes, ISD-ASes, gateways and
 * isolate_clients. A scion pool without a gateway address answers from the agent's own
 * address on the underlay (scion_underlay_local()). */
static void
pools_give(struct agent *ag, struct dataplane *dp, enum state_pool_mode mode)
{
	const struct state *st = ag->st;
	struct dp_pool *v = NULL;
	size_t n = 0;

	if (st->npools > 0 && (v = calloc(st->npools, sizeof(*v))) == NULL) {
		log_error("pools: out of memory (the data plane keeps the previous ones)");
		return;
	}
	for (size_t i = 0; i < st->npools; i++) {
		if (st->pools[i].mode != mode)
			continue;
		v[n].prefix = st->pools[i].prefix;
		v[n].isd_as = st->pools[i].isd_as;
		v[n].gateway = st->pools[i].gateway;
		if (mode == STATE_POOL_SCION && v[n].gateway.family == 0)
			(void)scion_underlay_local(ag->scion, &v[n].gateway);
		v[n].isolate_clients = st->pools[i].isolate_clients;
		n++;
	}
	if (dataplane_pools_set(dp, v, n) < 0)
		log_error("pools: out of memory (the data plane keeps the previous ones)");
	free(v);
}

/* The pools changed (snapshot, POOL_UPDATE): each data plane learns those of its mode, the TUN
 * device the ip pools' addresses and routes. */
static void
pools_changed(struct agent *ag)
{
	pools_give(ag, ag->dp, STATE_POOL_IP);
	if (ag->dp_scion != NULL)
		pools_give(ag, ag->dp_scion, STATE_POOL_SCION);
	if (ag->gw != NULL)
		gwdev_sync(ag->gw, ag->st);
}

static void
on_welcome(void *arg)
{
	struct agent *ag = arg;

	tunnels_report_all(ag->ts);
}

static void
on_snapshot(void *arg, struct state *st)
{
	struct agent *ag = arg;
	struct state *old = ag->st;

	ag->st = st;
	state_free(old);
	pools_changed(ag);
	tunnels_enforce(ag->ts);
}

/* The outcome rv of applying the delta what to the live state: one it refuses is skipped. */
static void
applied(const char *what, int rv)
{
	if (rv < 0)
		log_warn("state channel: %s not applied: %s", what, err_str(rv));
}

static void
on_key_add(void *arg, const State__Key *key)
{
	struct agent *ag = arg;

	applied("KEY_ADD", state_key_put(ag->st, key));
}

static void
on_key_retire(void *arg, const char *kid)
{
	struct agent *ag = arg;

	applied("KEY_RETIRE", state_key_retire(ag->st, kid));
}

static void
on_revoke(void *arg, const char *pssid, const char *reason)
{
	struct agent *ag = arg;

	applied("REVOKE", state_revoke(ag->st, pssid));
	log_info("pssid %s revoked%s%s", pssid, reason[0] ? ": " : "", reason);
	tunnels_revoke(ag->ts, pssid);
}

static void
on_grant_release(void *arg, uint64_t grant_id, const char *reason)
{
	struct agent *ag = arg;

	(void)reason;
	state_grant_release(ag->st, grant_id);
	tunnels_release_grant(ag->ts, grant_id);
}

static void
on_session_kill(void *arg, uint64_t session_id, const char *reason)
{
	struct agent *ag = arg;

	tunnels_kill(ag->ts, session_id, reason);
}

static void
on_pool_update(void *arg, const State__Pool *pool)
{
	struct agent *ag = arg;

	applied("POOL_UPDATE", state_pool_put(ag->st, pool));
	pools_changed(ag);
}

static void
on_pool_remove(void *arg, uint64_t pool_id)
{
	struct agent *ag = arg;

	state_pool_remove(ag->st, pool_id);
	pools_changed(ag);
}

static void
on_stats(void *arg)
{
	struct agent *ag = arg;

	tunnels_report_stats(ag->ts);
}

static void
on_down(void *arg)
{
	(void)arg;
	log_warn("manager unreachable: established tunnels go on, new assignments are refused");
}

/* ---- the loop ---- */

/* A scrape of --metrics-listen: one look at the tunnels and the channel. */
static void
gather_metrics(void *arg, struct metrics_snap *s)
{
	struct agent *ag = arg;

	s->agent_id = ag->agent_id;
	tunnels_metrics(ag->ts, &s->tunnels);
	s->nplanes = 0;
	dataplane_stats(ag->dp, &s->planes[s->nplanes].stats);
	s->planes[s->nplanes++].mode = &dp_ip_mode;
	if (ag->dp_scion != NULL) {
		dataplane_stats(ag->dp_scion, &s->planes[s->nplanes].stats);
		s->planes[s->nplanes++].mode = &dp_scion_mode;
		s->has_scion = 1;
		scion_underlay_stats(ag->scion, &s->scion);
	}
	s->channel_up = link_up(ag->link);
	link_stats(ag->link, &s->channel);
}

static void
on_signal(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("signal %d: shutting down", signo);
	loop_stop(loop);
}

static void
on_udp(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agent *ag = arg;

	(void)loop;
	(void)events;
	quic_server_read(ag->srv, fd);
	/* the SCION packets the tunnels sent in this read leave in one batch */
	if (ag->scion != NULL)
		scion_underlay_flush(ag->scion);
}

/* The SCION underlay has packets for the tunnels: a few batches, then the QUIC packets they
 * became go out. */
static void
on_scion(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agent *ag = arg;
	int n;

	(void)loop;
	(void)events;
	if ((n = scion_underlay_read(ag->scion, fd, ag->dp_scion)) > 0)
		quic_server_flush(ag->srv);
	else if (n < 0)
		log_warn("SCION underlay: read: %s", strerror(-n));
}

/* scion mode's underlay (--scion-*): its sockets, routers and data plane. */
static void
scion_setup(struct agent *ag, struct options *o, const char *state_dir)
{
	char host[SOCKADDR_HOST_MAX + 1], why[1024], name[SOCKADDR_STRLEN],
	    line[SOCKADDR_STRLEN + 1];
	char ia[ISDAS_STRLEN], local[ADDR_STRLEN] = "none", path[PATH_MAX_LEN], ports[16] = "none";
	struct dp_sink sink;
	struct addr a;
	uint16_t port;
	int len;

	/* by default the listener's host: the address the agent is known by */
	if (o->scion.bind == NULL) {
		if (sockaddr_split(o->listen, host, sizeof(host), &port, NULL) < 0)
			fatalx("--listen \"%s\": not HOST:PORT", o->listen);
		o->scion.bind = host;
	}
	if ((ag->scion = scion_underlay_open(&o->scion, why, sizeof(why))) == NULL)
		fatalx("SCION underlay: %s", why);
	scion_underlay_sink(ag->scion, &sink);
	if ((ag->dp_scion = dataplane_new(
		 &dp_scion_mode, &sink, tunnels_port_send, tunnels_port_room)) == NULL)
		fatalx("out of memory");
	scion_underlay_name(ag->scion, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/scion.addr", state_dir);
	len = snprintf(line, sizeof(line), "%s\n", name);
	write_file(path, line, (size_t)len, 0644);
	if (scion_underlay_local(ag->scion, &a) == 0)
		addr_format(&a, local);
	isdas_format(scion_underlay_isd_as(ag->scion), ia);
	if (o->scion.ports_lo != 0)
		snprintf(ports, sizeof(ports), "%u-%u", o->scion.ports_lo, o->scion.ports_hi);
	log_info("scion mode: underlay %s (dispatched ports %s), %s %s, local ISD-AS %s, SCMP "
		 "answers from a pool's gateway address or %s",
	    name, ports, o->scion.topology != NULL ? "topology" : "border router",
	    o->scion.topology != NULL ? o->scion.topology : o->scion.router,
	    o->scion.topology != NULL ? ia : "each pool's", local);
	o->scion.bind = NULL; /* host is this function's */
}

/* The TUN device has packets for the tunnels: a few batches of them, then the QUIC packets
 * they became go out. A device that fails to read is gone (deleted under the agent): without it
 * the gateway is no gateway, so the agent stops as on SIGTERM (tunnels closed with code 0,
 * grants on hold) for its supervisor to start it again, rather than spin on the error. */
static void
on_tun(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agent *ag = arg;
	int n;

	(void)fd;
	(void)events;
	if ((n = dp_tun_read(ag->tun, ag->dp)) > 0) {
		quic_server_flush(ag->srv);
	} else if (n < 0 && n != -EINTR) {
		log_error("TUN device: read: %s: shutting down", strerror(-n));
		loop_fd_del(loop, ag->tun_fd);
		loop_stop(loop);
	}
}

/* Gateway mode (--tun): open the device, set its MTU and bring it up; the sink goes to *sink. */
static void
tun_setup(struct agent *ag, const struct options *o, struct dp_sink *sink)
{
	char ifname[IFNAMSIZ];
	int rv, ifindex, refused;

	if ((rv = tun_open_best(o->tun, &ag->tun_fd, ifname, &refused)) < 0)
		fatalx("--tun %s: cannot open the TUN device: %s", o->tun, strerror(-rv));
	if (refused != 0)
		log_warn("--tun %s: no offloads (%s): one packet per read and write", ifname,
		    strerror(refused));
	if ((ifindex = (int)if_nametoindex(ifname)) == 0)
		fatal("--tun %s: no such interface after creating it", ifname);
	if ((rv = nl_open(&ag->nl)) < 0 || (rv = nl_link_set(ag->nl, ifindex, o->tun_mtu, 1)) < 0)
		fatalx("--tun %s: cannot set its MTU %u and bring it up: %s", ifname, o->tun_mtu,
		    strerror(-rv));
	if ((ag->tun = dp_tun_new(ag->tun_fd, o->tun_mtu, refused == 0)) == NULL ||
	    (ag->gw = gwdev_new(ag->nl, ifindex, ifname)) == NULL)
		fatalx("out of memory");
	dp_tun_sink(ag->tun, sink);
	log_info("gateway mode: TUN device %s, MTU %u%s", ifname, o->tun_mtu,
	    refused == 0 ? ", TCP segmentation offloads" : "");
}

/* Before each wait: the transport's and the link's deadlines that passed, the connections acted
 * on outside the transport's callbacks, and the wait bounded by the next deadline (exact to the
 * nanosecond: QUIC pacing deadlines are often less than a millisecond apart). */
static void
before_sleep(struct loop *loop, void *arg)
{
	struct agent *ag = arg;
	uint64_t now = clock_mono_ns(), at;

	if (quic_server_expiry(ag->srv) <= now)
		quic_server_expire(ag->srv, now);
	if (link_expiry(ag->link) <= now)
		link_expire(ag->link, now);
	if (metrics_http_expiry(ag->metrics) <= now)
		metrics_http_run(ag->metrics);
	if (tunnels_take_dirty(ag->ts))
		quic_server_flush(ag->srv);
	if (ag->tun != NULL)
		dp_tun_flush(ag->tun); /* what the turn's QUIC reads brought for the device */
	at = quic_server_expiry(ag->srv);
	if (link_expiry(ag->link) < at)
		at = link_expiry(ag->link);
	if (metrics_http_expiry(ag->metrics) < at)
		at = metrics_http_expiry(ag->metrics);
	loop_wait_until(loop, at);
}

int
main(int argc, char **argv)
{
	char cert[PATH_MAX_LEN], key[PATH_MAX_LEN], keyfile[PATH_MAX_LEN], path[PATH_MAX_LEN];
	char addrtext[SOCKADDR_STRLEN], pin64[64], why[256];
	char advertised[SOCKADDR_STRLEN + SOCKADDR_HOST_MAX];
	struct dp_sink sink = dataplane_hub;
	int derived;
	unsigned char pin[QUIC_SPKI_PIN_LEN], reset[RESET_SECRET_LEN];
	struct quic_server_config qc = {0};
	struct tunnel_config tc = {0};
	struct link_config lc = {0};
	struct link_callbacks lcb = {0};
	struct quic_callbacks qcb;
	struct agent ag = {.tun_fd = -1};
	gnutls_datum_t raw, b64;
	const struct sockaddr *sa;
	struct options o = {0};
	socklen_t salen;
	sigset_t mask;
	struct loop *loop;

	log_set_program("snaptun-agent");
	if (argc > 1 && strcmp(argv[1], "enroll") == 0)
		return enroll_main(argc - 1, argv + 1);
	parse_options(argc, argv, &o);
	{
		char id[24];

		/* Every line names the agent: several log into one place. */
		snprintf(id, sizeof(id), "%llu", (unsigned long long)o.agent_id);
		log_set_context("agent", id, 1);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Tunnels come and go by the thousand per second, each with tens of KiB of ngtcp2 and
	 * GnuTLS state: keep freed heap memory for the next ones instead of handing it back to the
	 * kernel and faulting it in again (page faults were 9% of the agent's time at 1000 new
	 * tunnels/s; with this the agent does 8% more tunnels per CPU-second, bench_tunnels). */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	make_dirs(o.state_dir);
	/* The certificate's key and the reset secret are written there: nobody else may write it. */
	check_dir("--state-dir", o.state_dir, 0);
	if (o.tls_cert != NULL) {
		check_key_dir("--tls-key", o.tls_key);
		snprintf(cert, sizeof(cert), "%s", o.tls_cert);
		snprintf(key, sizeof(key), "%s", o.tls_key);
	} else {
		snprintf(cert, sizeof(cert), "%s/cert.pem", o.state_dir);
		snprintf(key, sizeof(key), "%s/key.pem", o.state_dir);
		if (quic_cert_ensure(cert, key) < 0)
			fatalx("cannot create the TLS certificate in %s", o.state_dir);
	}
	if (quic_cert_spki_pin(cert, pin) < 0)
		fatalx("cannot read the certificate %s", cert);
	raw.data = pin;
	raw.size = sizeof(pin);
	if (gnutls_base64_encode2(&raw, &b64) < 0)
		fatalx("base64");
	snprintf(pin64, sizeof(pin64), "%.*s", (int)b64.size, (const char *)b64.data);
	gnutls_free(b64.data);
	load_reset_secret(o.state_dir, reset);
	keyfile[0] = '\0';
	for (size_t i = 0; i < o.nmanagers && keyfile[0] == '\0'; i++) {
		/* The channel key of UNIX sockets: --channel-key, or beside the first one. */
		const char *sock = o.managers[i].address, *slash = strrchr(sock, '/');

		if (link_dial_is_tls(&o.managers[i]))
			continue;
		if (o.channel_key != NULL)
			snprintf(keyfile, sizeof(keyfile), "%s", o.channel_key);
		else
			snprintf(keyfile, sizeof(keyfile), "%.*s/channel.key", (int)(slash - sock),
			    sock);
		check_key_dir(o.channel_key != NULL ? "--channel-key" : "the channel key", keyfile);
	}
	if (o.credentials != NULL) {
		check_key_dir("the client key", o.creds.key);
		if ((lc.tls_cred =
			    link_dial_credentials(o.creds.cert, o.creds.key, o.manager_ca)) == NULL)
			fatalx(
			    "--credentials %s%s%s: cannot load the client certificate or the CAs",
			    o.credentials, o.manager_ca != NULL ? ", --manager-ca " : "",
			    o.manager_ca != NULL ? o.manager_ca : "");
		lc.tls_ca = o.manager_ca != NULL;
		lc.channel_key = o.creds.channel_key;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if ((loop = loop_new()) == NULL || loop_signals(loop, &mask, on_signal, NULL) < 0)
		fatal("event loop");

	if ((ag.st = state_new()) == NULL)
		fatalx("out of memory");
	tc.agent_id = o.agent_id;
	tc.handshake_timeout_ns = o.handshake_timeout_ms * 1000000u;
	/* ip mode; the hub, or the TUN device in gateway mode */
	if (o.tun != NULL)
		tun_setup(&ag, &o, &sink);
	if ((ag.dp = dataplane_new(&dp_ip_mode, &sink, tunnels_port_send, tunnels_port_room)) ==
	    NULL)
		fatalx("out of memory");
	if (o.scion_on)
		scion_setup(&ag, &o, o.state_dir);
	if ((ag.ts = tunnels_new(&tc, &ag.st, NULL, ag.dp, ag.dp_scion)) == NULL)
		fatalx("out of memory");
	tunnels_callbacks(ag.ts, &qcb);
	qc.listen = o.listen;
	qc.cert_file = cert;
	qc.key_file = key;
	qc.static_secret = reset;
	qc.retry = o.retry;
	qc.max_conns = o.max_conns;
	qc.max_handshakes = o.max_handshakes;
	qc.retry_rate = o.retry_rate;
	qc.idle_timeout_ns = o.idle_timeout_s * 1000000000u;
	if ((ag.srv = quic_server_new(&qc, &qcb)) == NULL)
		fatalx("cannot listen on %s", o.listen);
	{
		int fds[2], nfds = quic_server_fds(ag.srv, fds);

		for (int i = 0; i < nfds; i++)
			if (loop_fd_add(loop, fds[i], LOOP_READ, on_udp, &ag) < 0)
				fatal("event loop");
	}
	if (ag.tun != NULL && loop_fd_add(loop, ag.tun_fd, LOOP_READ, on_tun, &ag) < 0)
		fatal("event loop");
	if (ag.scion != NULL) {
		const int *fds;
		size_t nfds = scion_underlay_fds(ag.scion, &fds);

		for (size_t i = 0; i < nfds; i++)
			if (loop_fd_add(loop, fds[i], LOOP_READ, on_scion, &ag) < 0)
				fatal("event loop");
	}
	sa = quic_server_addr(ag.srv, &salen);
	sockaddr_format(sa, addrtext, sizeof(addrtext));
	if (advertise_endpoint(
		o.advertise, sa, advertised, sizeof(advertised), &derived, why, sizeof(why)) < 0)
		fatalx("%s", why);
	if (derived)
		log_info("advertising %s (derived; set --advertise to choose)", advertised);
	snprintf(path, sizeof(path), "%s/agent.addr", o.state_dir);

	lc.managers = o.managers;
	lc.nmanagers = o.nmanagers;
	lc.key_file = keyfile[0] != '\0' ? keyfile : NULL;
	lc.agent_id = o.agent_id;
	lc.software_version = AGENT_VERSION;
	lc.listen_address = advertised;
	lc.spki_pin = pin;
	lcb.arg = &ag;
	lcb.welcome = on_welcome;
	lcb.snapshot = on_snapshot;
	lcb.key_add = on_key_add;
	lcb.key_retire = on_key_retire;
	lcb.revoke = on_revoke;
	lcb.grant_release = on_grant_release;
	lcb.session_kill = on_session_kill;
	lcb.pool_update = on_pool_update;
	lcb.pool_remove = on_pool_remove;
	lcb.stats = on_stats;
	lcb.down = on_down;
	if ((ag.link = link_new(&lc, &lcb, loop)) == NULL)
		fatalx("out of memory");
	tunnels_set_link(ag.ts, ag.link);
	ag.agent_id = o.agent_id;
	if (o.metrics_listen != NULL) {
		char bound[SOCKADDR_STRLEN + 1], mpath[PATH_MAX_LEN];
		int len;

		if ((ag.metrics = metrics_http_open(o.metrics_listen, loop, gather_metrics, &ag,
			 bound, sizeof(bound) - 1)) == NULL)
			fatalx("cannot serve the metrics on --metrics-listen %s", o.metrics_listen);
		snprintf(mpath, sizeof(mpath), "%s/metrics.addr", o.state_dir);
		len = (int)strlen(bound);
		bound[len++] = '\n';
		write_file(mpath, bound, (size_t)len, 0644);
		log_info("metrics at http://%.*s/metrics", len - 1, bound);
	}

	{
		char line[sizeof(addrtext) + 1];
		int len = snprintf(line, sizeof(line), "%s\n", addrtext);

		write_file(path, line, (size_t)len, 0644);
	}
	log_info("snaptun-agent %s (agent id %llu) listening on %s (advertised %s), SPKI pin %s, "
		 "manager %s",
	    AGENT_VERSION, (unsigned long long)o.agent_id, addrtext, advertised, pin64,
	    o.managers[0].address);

	loop_before_sleep(loop, before_sleep, &ag);
	if (loop_run(loop) < 0)
		fatal("event loop");

	/* Every connection closes with code 0; each session's end sends its HOLD_REQ. */
	quic_server_free(ag.srv, 0, "shutting down");
	ag.srv = NULL;
	metrics_http_close(ag.metrics);
	link_flush(ag.link, 1000);
	link_free(ag.link);
	explicit_bzero(&o.creds, sizeof(o.creds));
	tunnels_free(ag.ts);
	gwdev_free(ag.gw);
	if (ag.nl != NULL)
		nl_close(ag.nl);
	dp_tun_free(ag.tun);
	if (ag.tun_fd >= 0)
		close(ag.tun_fd);
	scion_underlay_close(ag.scion);
	dataplane_free(ag.dp_scion);
	dataplane_free(ag.dp);
	state_free(ag.st);
	explicit_bzero(reset, sizeof(reset));
	loop_free(loop);
	return 0;
}
