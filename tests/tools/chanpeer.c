/* chanpeer: a stand-in agent on the state channel, for tests. It connects to the manager's
 * agent socket, says HELLO (or misbehaves on request), then after the snapshot sends the reports
 * and requests it was given, and prints one line per frame it receives:
 *
 *   WELCOME version=1 software="snaptun 0.1.0"
 *   KEY kid=k-… alg=EdDSA verify_until=0
 *   ALLOC_RES corr=3 grant=1 address=10.0.0.1 isd_as=1-ff00:0:110 prefix_length=32 error=0
 *   REVOKE pssid=… reason="revoked by administrator"
 *   CLOSED                      (the manager closed the channel)
 *
 * With --count-items the snapshot items (KEY, REVOKED, GRANT, POOL, LIMITS) are not printed;
 * SNAPSHOT_END then says how many arrived since the last SNAPSHOT_BEGIN:
 *
 *   SNAPSHOT_END generation=2 items=20003 received=20003 revoked=20001
 *
 * Exit status: 0 when the --until frame(s) arrived (or, without --until, at --timeout), 3 when
 * the manager closed the channel first, 4 at --timeout while waiting for --until, 5 when a frame
 * from the manager does not verify, 2 for a usage error, 1 when the socket cannot be reached. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/addr.h"
#include "../../lib/args.h"
#include "../../lib/atomicfile.h"
#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "../../lib/version.h"
#include "../../proto/chan.h"

#define MAX_ITEMS 64

struct sess {
	uint64_t id, grant;
	char pssid[80];
	struct addr addr;
};

static struct {
	const char *socket, *key_file, *listen, *version, *until, *first;
	uint64_t agent_id;
	unsigned min, max;
	int bad_mac, replay, reconcile, until_count, count_items;
	size_t slow_read; /* bytes read per 10 ms; 0: as fast as they come */
	double timeout;
	struct sess sessions[MAX_ITEMS];
	int nsessions;
	char *allocs[MAX_ITEMS];
	int nallocs;
	uint64_t holds[MAX_ITEMS][2];
	int nholds;
	uint64_t downs[MAX_ITEMS];
	int ndowns;
} o;

static unsigned char key[CHAN_KEY_LEN];
static uint64_t seq;
static int fd;
static struct chan_dec *dec;

static void
free_dec(void)
{
	chan_dec_free(dec);
}

static void
usage_print(FILE *f)
{
	fprintf(f,
	    "usage: chanpeer --socket PATH --agent-id N [--key FILE] [--min V] [--max V]\n"
	    "                [--listen HOST:PORT] [--software TEXT] [--bad-mac] [--replay]\n"
	    "                [--first TYPE] [--session ID:PSSID:GRANT[:ADDR]]... [--reconcile]\n"
	    "                [--alloc PSSID[@ISD-AS][/ADDR]]... [--hold GRANT:SESSION]...\n"
	    "                [--down SESSION]... [--until TYPE[:N]] [--timeout SECONDS]\n"
	    "                [--count-items] [--slow-read BYTES]\n"
	    "       chanpeer --help | --version\n"
	    "\n"
	    "  --key FILE      the channel key (default: channel.key beside the socket)\n"
	    "  --bad-mac       send HELLO with a corrupted MAC\n"
	    "  --replay        after the snapshot, send a frame again with an old seq\n"
	    "  --first TYPE    send a TYPE frame (HEARTBEAT, STATS) before HELLO\n"
	    "  --session …     report a live session (SESSION_UP) after the snapshot\n"
	    "  --reconcile     then send STATS reconcile=true listing those sessions (totals\n"
	    "                  rx 7/700, tx 5/500, dropped 2)\n"
	    "  --alloc …       then ALLOC_REQ for PSSID (session ids are made up, increasing)\n"
	    "  --hold G:S      then HOLD_REQ for grant G, session S\n"
	    "  --down S        then SESSION_DOWN for session S\n"
	    "  --until TYPE:N  exit 0 once N (default 1) frames of TYPE arrived\n"
	    "  --timeout S     give up after S seconds (default 10)\n"
	    "  --count-items   print no snapshot items; END says how many arrived\n"
	    "  --slow-read B   read at most B bytes every 10 ms (a slow agent)\n");
}

static void
usage(void)
{
	usage_print(stderr);
	exit(2);
}

static int
msg_type(const char *name)
{
	for (int t = 1; t <= CHAN_MSG_LAST; t++)
		if (chan_msg_name(t) != NULL && strcmp(chan_msg_name(t), name) == 0)
			return t;
	fprintf(stderr, "chanpeer: unknown message type \"%s\"\n", name);
	exit(2);
}

static void
send_raw(const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("CLOSED (write: %s)\n", strerror(errno));
			exit(3);
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Frame msg with the next seq (or with seq_override when not 0) and send it. */
static void
send_msg(enum chan_msg type, const ProtobufCMessage *msg, uint64_t seq_override, int bad_mac)
{
	static unsigned char buf[CHAN_FRAME_MAX];
	ssize_t n = chan_frame_pack(
	    key, type, o.agent_id, seq_override ? seq_override : ++seq, 0, msg, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "chanpeer: %s\n", chan_err_str((int)n));
		exit(2);
	}
	if (bad_mac)
		buf[n - 1] ^= 0x55;
	send_raw(buf, (size_t)n);
}

static void
fmt_addr(const ProtobufCBinaryData *b, char *out)
{
	struct addr a = {0};

	if (b->len != 4 && b->len != 16) {
		strcpy(out, "-");
		return;
	}
	a.family = b->len == 4 ? 4 : 6;
	memcpy(a.b, b->data, b->len);
	addr_format(&a, out);
}

/* The snapshot items since the last SNAPSHOT_BEGIN, all and REVOKED. */
static uint64_t received, revoked;

/* One line for a frame from the manager (none for an item with --count-items). */
static void
print_frame(const struct chan_frame *f, const ProtobufCMessage *m)
{
	char a[ADDR_STRLEN], ia[ISDAS_STRLEN];

	switch (f->type) {
	case CHAN_SNAPSHOT_BEGIN: received = revoked = 0; break;
	case CHAN_REVOKED: revoked++; /* fall through */
	case CHAN_KEY:
	case CHAN_GRANT:
	case CHAN_POOL:
	case CHAN_LIMITS:
		received++;
		if (o.count_items)
			return;
		break;
	default: break;
	}
	printf("%s", chan_msg_name(f->type));
	switch (f->type) {
	case CHAN_WELCOME: {
		const State__Welcome *w = (const State__Welcome *)m;
		printf(" version=%u software=\"%s\"", w->version, w->software_version);
		break;
	}
	case CHAN_REJECT: printf(" reason=\"%s\"", ((const State__Reject *)m)->reason); break;
	case CHAN_SNAPSHOT_BEGIN:
		printf(" generation=%llu",
		    (unsigned long long)((const State__SnapshotBegin *)m)->generation);
		break;
	case CHAN_SNAPSHOT_END: {
		const State__SnapshotEnd *e = (const State__SnapshotEnd *)m;
		printf(" generation=%llu items=%llu", (unsigned long long)e->generation,
		    (unsigned long long)e->item_count);
		if (o.count_items)
			printf(" received=%llu revoked=%llu", (unsigned long long)received,
			    (unsigned long long)revoked);
		break;
	}
	case CHAN_KEY: {
		const State__Key *k = (const State__Key *)m;
		printf(" kid=%s alg=%s verify_until=%lld pem=%s", k->kid, k->alg,
		    (long long)k->verify_until,
		    strstr(k->public_key_pem, "BEGIN PUBLIC KEY") ? "yes" : "no");
		break;
	}
	case CHAN_KEY_ADD: {
		const State__Key *k = ((const State__KeyAdd *)m)->key;
		if (k != NULL)
			printf(" kid=%s alg=%s verify_until=%lld", k->kid, k->alg,
			    (long long)k->verify_until);
		break;
	}
	case CHAN_KEY_RETIRE: printf(" kid=%s", ((const State__KeyRetire *)m)->kid); break;
	case CHAN_REVOKED: {
		const State__Revoked *r = (const State__Revoked *)m;
		printf(" pssid=%s reason=\"%s\"", r->pssid, r->reason);
		break;
	}
	case CHAN_REVOKE: {
		const State__Revoke *r = (const State__Revoke *)m;
		printf(" pssid=%s reason=\"%s\"", r->pssid, r->reason);
		break;
	}
	case CHAN_GRANT: {
		const State__Grant *g = (const State__Grant *)m;
		fmt_addr(&g->address, a);
		printf(" id=%llu pssid=%s address=%s session=%llu state=%s pool=%llu",
		    (unsigned long long)g->grant_id, g->pssid, a, (unsigned long long)g->session_id,
		    g->state == STATE__GRANT_STATE__GRANT_STATE_ASSIGNED ? "assigned" : "on_hold",
		    (unsigned long long)g->pool_id);
		break;
	}
	case CHAN_POOL:
	case CHAN_POOL_UPDATE: {
		const State__Pool *p = f->type == CHAN_POOL ? (const State__Pool *)m
							    : ((const State__PoolUpdate *)m)->pool;
		if (p == NULL)
			break;
		fmt_addr(&p->prefix, a);
		isdas_format(p->isd_as, ia);
		printf(" id=%llu name=%s isd_as=%s prefix=%s/%u hold=%u", (unsigned long long)p->id,
		    p->name, ia, a, p->prefix_length, p->hold_seconds);
		/* The gateway settings only when set: the plain line stays what it was. */
		if (p->gateway.len > 0) {
			fmt_addr(&p->gateway, a);
			printf(" gateway=%s", a);
		}
		for (size_t i = 0; i < p->n_routes; i++) {
			fmt_addr(&p->routes[i]->prefix, a);
			printf(
			    "%s%s/%u", i == 0 ? " routes=" : ",", a, p->routes[i]->prefix_length);
		}
		if (p->isolate_clients)
			printf(" isolate_clients=1");
		if (f->type == CHAN_POOL_UPDATE)
			printf(" removed=%d", ((const State__PoolUpdate *)m)->removed);
		break;
	}
	case CHAN_LIMITS: {
		const State__Limits *l = (const State__Limits *)m;
		printf(" heartbeat=%u stats=%u", l->heartbeat_seconds, l->stats_seconds);
		break;
	}
	case CHAN_GRANT_RELEASE: {
		const State__GrantRelease *g = (const State__GrantRelease *)m;
		printf(" grant=%llu reason=\"%s\"", (unsigned long long)g->grant_id, g->reason);
		break;
	}
	case CHAN_SESSION_KILL: {
		const State__SessionKill *k = (const State__SessionKill *)m;
		printf(" session=%llu reason=\"%s\"", (unsigned long long)k->session_id, k->reason);
		break;
	}
	case CHAN_ALLOC_RES: {
		const State__AllocRes *r = (const State__AllocRes *)m;
		fmt_addr(&r->address, a);
		isdas_format(r->isd_as, ia);
		printf(" corr=%llu grant=%llu address=%s isd_as=%s prefix_length=%u error=%d "
		       "reason=\"%s\"",
		    (unsigned long long)f->corr, (unsigned long long)r->grant_id, a, ia,
		    r->prefix_length, r->error_code, r->reason);
		break;
	}
	default: break;
	}
	printf("\n");
}

static void
send_hello(int bad_mac)
{
	State__Hello h;
	unsigned char pin[32];
	char version[64], listen[128];

	for (int i = 0; i < 32; i++)
		pin[i] = (unsigned char)(o.agent_id + (uint64_t)i);
	snprintf(version, sizeof(version), "%s", o.version);
	snprintf(listen, sizeof(listen), "%s", o.listen);
	state__hello__init(&h);
	h.agent_id = o.agent_id;
	h.software_version = version;
	h.min_version = o.min;
	h.max_version = o.max;
	h.listen_address = listen;
	h.spki_pin.data = pin;
	h.spki_pin.len = sizeof(pin);
	send_msg(CHAN_HELLO, &h.base, 0, bad_mac);
}

static void
send_heartbeat(uint64_t seq_override)
{
	State__Heartbeat hb;

	state__heartbeat__init(&hb);
	hb.time = clock_unix();
	send_msg(CHAN_HEARTBEAT, &hb.base, seq_override, 0);
}

/* What a real agent sends once the snapshot is in: its sessions, the reconcile, requests. */
static void
after_snapshot(void)
{
	static State__SessionStats ss[MAX_ITEMS];
	static State__SessionStats *ssp[MAX_ITEMS];
	uint64_t sid = ((uint64_t)clock_unix() * 1000) << 10 | (o.agent_id & 1023);

	for (int i = 0; i < o.nsessions; i++) {
		State__SessionUp up;
		struct sess *s = &o.sessions[i];
		state__session_up__init(&up);
		up.session_id = s->id;
		up.pssid = s->pssid;
		up.grant_id = s->grant;
		if (s->addr.family != 0) {
			up.address.data = s->addr.b;
			up.address.len = s->addr.family == 4 ? 4 : 16;
		}
		up.remote = "127.0.0.1:40000";
		up.started_at = clock_unix();
		up.expires_at = clock_unix() + 3600;
		send_msg(CHAN_SESSION_UP, &up.base, 0, 0);
	}
	if (o.reconcile) {
		State__Counters total;
		State__Stats st;
		state__stats__init(&st);
		/* Totals an e2e test can recognise in GET /v1/agents. */
		state__counters__init(&total);
		total.rx_packets = 7;
		total.rx_bytes = 700;
		total.tx_packets = 5;
		total.tx_bytes = 500;
		total.dropped_packets = 2;
		st.total = &total;
		for (int i = 0; i < o.nsessions; i++) {
			state__session_stats__init(&ss[i]);
			ss[i].session_id = o.sessions[i].id;
			ssp[i] = &ss[i];
		}
		st.n_sessions = (size_t)o.nsessions;
		st.sessions = ssp;
		st.active_sessions = (uint32_t)o.nsessions;
		st.reconcile = 1;
		send_msg(CHAN_STATS, &st.base, 0, 0);
	}
	for (int i = 0; i < o.nallocs; i++) {
		State__AllocReq r;
		char pssid[80], *at, *slash;
		struct addr a = {0};
		uint64_t ia = 0;
		const char *why;
		snprintf(pssid, sizeof(pssid), "%s", o.allocs[i]);
		state__alloc_req__init(&r);
		if ((slash = strchr(pssid, '/')) != NULL) {
			*slash = '\0';
			if (addr_parse(slash + 1, &a) < 0)
				usage();
			r.requested_address.data = a.b;
			r.requested_address.len = a.family == 4 ? 4 : 16;
			r.family = (uint32_t)a.family;
		}
		if ((at = strchr(pssid, '@')) != NULL) {
			*at = '\0';
			if (isdas_parse(at + 1, &ia, &why) < 0)
				usage();
		}
		r.pssid = pssid;
		r.isd_as = ia;
		r.session_id = ++sid;
		send_msg(CHAN_ALLOC_REQ, &r.base, 0, 0);
		printf("sent ALLOC_REQ seq=%llu pssid=%s session=%llu\n", (unsigned long long)seq,
		    pssid, (unsigned long long)r.session_id);
	}
	for (int i = 0; i < o.nholds; i++) {
		State__HoldReq h;
		state__hold_req__init(&h);
		h.grant_id = o.holds[i][0];
		h.session_id = o.holds[i][1];
		send_msg(CHAN_HOLD_REQ, &h.base, 0, 0);
	}
	for (int i = 0; i < o.ndowns; i++) {
		State__SessionDown d;
		state__session_down__init(&d);
		d.session_id = o.downs[i];
		d.reason = "closed by the client";
		send_msg(CHAN_SESSION_DOWN, &d.base, 0, 0);
	}
	if (o.replay) {
		/* Seq 1 was HELLO's: an old seq, which the manager must refuse. */
		send_heartbeat(1);
		printf("sent HEARTBEAT seq=1 (replayed)\n");
	}
}

static void
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"key", required_argument, NULL, 'k'},
	    {"agent-id", required_argument, NULL, 'a'},
	    {"min", required_argument, NULL, 'm'},
	    {"max", required_argument, NULL, 'M'},
	    {"listen", required_argument, NULL, 'l'},
	    {"software", required_argument, NULL, 'v'},
	    {"bad-mac", no_argument, NULL, 'b'},
	    {"replay", no_argument, NULL, 'r'},
	    {"first", required_argument, NULL, 'f'},
	    {"session", required_argument, NULL, 'S'},
	    {"reconcile", no_argument, NULL, 'R'},
	    {"alloc", required_argument, NULL, 'A'},
	    {"hold", required_argument, NULL, 'H'},
	    {"down", required_argument, NULL, 'D'},
	    {"until", required_argument, NULL, 'u'},
	    {"timeout", required_argument, NULL, 't'},
	    {"count-items", no_argument, NULL, 'c'},
	    {"slow-read", required_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long long a, b;
	char pssid[80], addr[64];
	int ch, n;

	o.min = o.max = 1;
	o.listen = "127.0.0.1:4433";
	o.version = "chanpeer " SNAPTUN_VERSION;
	o.timeout = 10;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage_print(stdout); exit(0);
		case 'V': args_version("chanpeer");
		case 's': o.socket = optarg; break;
		case 'k': o.key_file = optarg; break;
		case 'a': o.agent_id = args_uint("--agent-id", optarg, 0, UINT64_MAX); break;
		case 'm': o.min = (unsigned)args_uint("--min", optarg, 0, UINT_MAX); break;
		case 'M': o.max = (unsigned)args_uint("--max", optarg, 0, UINT_MAX); break;
		case 'l': o.listen = optarg; break;
		case 'v': o.version = optarg; break;
		case 'b': o.bad_mac = 1; break;
		case 'r': o.replay = 1; break;
		case 'f': o.first = optarg; break;
		case 'R': o.reconcile = 1; break;
		case 'S':
			if (o.nsessions == MAX_ITEMS)
				usage();
			addr[0] = '\0';
			n = sscanf(optarg, "%llu:%79[^:]:%llu:%63s", &a, pssid, &b, addr);
			if (n < 3)
				usage();
			o.sessions[o.nsessions].id = a;
			o.sessions[o.nsessions].grant = b;
			snprintf(o.sessions[o.nsessions].pssid, 80, "%s", pssid);
			if (addr[0] != '\0' && addr_parse(addr, &o.sessions[o.nsessions].addr) < 0)
				usage();
			o.nsessions++;
			break;
		case 'A':
			if (o.nallocs == MAX_ITEMS)
				usage();
			o.allocs[o.nallocs++] = optarg;
			break;
		case 'H':
			if (o.nholds == MAX_ITEMS || sscanf(optarg, "%llu:%llu", &a, &b) != 2)
				usage();
			o.holds[o.nholds][0] = a;
			o.holds[o.nholds++][1] = b;
			break;
		case 'D':
			if (o.ndowns == MAX_ITEMS)
				usage();
			o.downs[o.ndowns++] = args_uint("--down", optarg, 0, UINT64_MAX);
			break;
		case 'u': o.until = optarg; break;
		case 't': o.timeout = args_number("--timeout", optarg, 0, 86400); break;
		case 'c': o.count_items = 1; break;
		case 'w':
			o.slow_read = (size_t)args_uint("--slow-read", optarg, 0, SIZE_MAX);
			break;
		default: usage();
		}
	}
	if (o.socket == NULL || o.agent_id == 0 || optind != argc)
		usage();
}

static void
load_key(void)
{
	char path[4096];
	const char *slash;

	if (o.key_file == NULL) {
		slash = strrchr(o.socket, '/');
		snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - o.socket + 1) : 0,
		    o.socket, "channel.key");
	} else {
		snprintf(path, sizeof(path), "%s", o.key_file);
	}
	if (atomicfile_read(path, key, sizeof(key), NULL) < 0) {
		fprintf(stderr, "chanpeer: cannot read the key %s\n", path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static unsigned char buf[65536];
	struct chan_frame f;
	ProtobufCMessage *m;
	uint64_t start, next_hb;
	int until_type = 0, until_n = 1, seen = 0, snapped = 0, rv = 0;
	char until[32];

	parse_options(argc, argv);
	signal(SIGPIPE, SIG_IGN); /* a closed channel shows as CLOSED, exit 3 */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.until != NULL) {
		snprintf(until, sizeof(until), "%s", o.until);
		if (strchr(until, ':') != NULL) {
			until_n = atoi(strchr(until, ':') + 1);
			*strchr(until, ':') = '\0';
		}
		until_type = msg_type(until);
	}
	load_key();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "chanpeer: cannot connect to %s: %s\n", o.socket, strerror(errno));
		return 1;
	}
	if ((dec = chan_dec_new(key, o.agent_id, CHAN_NODE_MANAGER)) == NULL)
		return 1;
	atexit(free_dec); /* every exit path, for LeakSanitizer */
	if (o.first != NULL) {
		State__Heartbeat hb;
		int t = msg_type(o.first);
		state__heartbeat__init(&hb);
		if (t != CHAN_HEARTBEAT) {
			/* Any frame but HELLO; an empty payload is a valid proto3 message. */
			unsigned char fb[CHAN_FRAME_LEN(0)];
			ssize_t n = chan_frame_encode(
			    key, (enum chan_msg)t, o.agent_id, ++seq, 0, NULL, 0, fb, sizeof(fb));
			send_raw(fb, (size_t)n);
		} else {
			send_msg(CHAN_HEARTBEAT, &hb.base, 0, 0);
		}
	}
	send_hello(o.bad_mac);
	start = clock_mono_ns();
	next_hb = start + 5000000000ull;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = clock_mono_ns();
		ssize_t n, k;

		if ((double)(now - start) / 1e9 >= o.timeout) {
			printf("TIMEOUT\n");
			return until_type ? 4 : 0;
		}
		if (now >= next_hb) {
			send_heartbeat(0);
			next_hb = now + 5000000000ull;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (o.slow_read > 0)
			usleep(10000);
		n = read(fd, buf,
		    o.slow_read > 0 && o.slow_read < sizeof(buf) ? o.slow_read : sizeof(buf));
		if (n <= 0) {
			printf("CLOSED\n");
			return 3;
		}
		for (unsigned char *q = buf; n > 0;) {
			if ((k = chan_dec_feed(dec, q, (size_t)n)) < 0 ||
			    (rv = chan_dec_next(dec, &f)) < 0) {
				printf("BADFRAME %s\n", chan_err_str(k < 0 ? (int)k : rv));
				return 5;
			}
			q += k;
			n -= k;
			if (rv != 1)
				continue;
			if ((m = chan_frame_unpack(&f)) == NULL) {
				printf("BADFRAME %s does not decode\n", chan_msg_name(f.type));
				return 5;
			}
			print_frame(&f, m);
			protobuf_c_message_free_unpacked(m, NULL);
			if (f.type == CHAN_SNAPSHOT_END && !snapped++)
				after_snapshot();
			if ((int)f.type == until_type && ++seen >= until_n) {
				close(fd);
				return 0;
			}
		}
	}
}
