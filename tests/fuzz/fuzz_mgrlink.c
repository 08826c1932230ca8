/* Fuzzes what the manager does with the contents of an agent's state-channel messages: a real
 * agentlink (manager/agentlink.h) on a temporary state dir, a real loop and a real SQLite store
 * (fresh for every input, a copy of one made at start with an IPv4 and an IPv6 pool), driven
 * through its socket by a hand-made agent whose frames carry the channel key, so that every
 * byte reaches the one dispatch: HELLO (versions, oversized fields, the agent id), ALLOC_REQ and HOLD_REQ (the
 * allocator and the store, in the turn's transaction), SESSION_UP/DOWN (the sessions registry),
 * STATS (with reconcile, and the tunnel events the metrics add up) and HEARTBEAT, each unpacked
 * by protobuf-c first.
 *
 * Input: byte 0's bit 0 says whether a well-formed HELLO goes first (else the script must say
 * its own); then frames, each a type byte (an index into the message types), a correlation
 * byte, a 16-bit little-endian length and that many payload bytes. Then the loop turns a few
 * times (the manager reads everything), and the agent hangs up. Invariants: never a crash, a leak or
 * a hang; the manager drops the agent or serves it, and after the hang-up holds no connection
 * for it. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../db/db.h"
#include "../../db/pool.h"
#include "../../lib/log.h"
#include "../../lib/loop.h"
#include "../../manager/agentlink.h"
#include "../../manager/app.h"
#include "../../manager/metrics.h"
#include "../../proto/chan.h"

#define AGENT 9
#define T0 1800000000
#define INPUT_MAX 16384
#define FRAMES_MAX 512 /* so that all of them fit the socket's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], sock[256], keyfile[256], dbfile[256], tplfile[256];
static char *tpl; /* the migrated store with its pools, copied for every input */
static size_t tpllen;
static unsigned char key[CHAN_KEY_LEN];
static struct loop *loop;
static int ntypes;
static int types[CHAN_MSG_LAST + 1];

static int64_t
fixed_now(void)
{
	return T0;
}

static void
db_remove(const char *path)
{
	char p[300];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void
cleanup(void)
{
	unlink(sock);
	unlink(keyfile);
	db_remove(dbfile);
	db_remove(tplfile);
	rmdir(dir);
}

static void add_pool(struct db *db, const char *name, const char *prefix);

/* The store every input starts from: migrating a new one costs more than the rest of an input,
 * so it is done once and the file copied. */
static void
make_template(void)
{
	struct db *db;
	FILE *f;
	long n;

	if (db_open(tplfile, &db) < 0)
		abort();
	add_pool(db, "v4", "10.1.0.0/24");
	add_pool(db, "v6", "2001:db8::/120");
	db_close(db); /* the last connection: the WAL is folded into the file */
	if ((f = fopen(tplfile, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (tpl = malloc((size_t)n)) == NULL || fread(tpl, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	tpllen = (size_t)n;
}

static void
db_fresh(void)
{
	FILE *f;

	db_remove(dbfile);
	if ((f = fopen(dbfile, "wb")) == NULL || fwrite(tpl, 1, tpllen, f) != tpllen ||
	    fclose(f) != 0)
		abort();
}

static void
init(void)
{
	log_set_level(LOG_ERROR);
	for (int t = 0; t <= CHAN_MSG_LAST; t++)
		if (chan_msg_name(t) != NULL)
			types[ntypes++] = t;
	/* in memory where there is a tmpfs: the store syncs every commit */
	snprintf(dir, sizeof(dir), "%s/fuzz_mgrlink.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL || (loop = loop_new()) == NULL)
		abort();
	atexit(cleanup);
	snprintf(sock, sizeof(sock), "%s/" AGENTLINK_SOCKET, dir);
	snprintf(keyfile, sizeof(keyfile), "%s/" AGENTLINK_KEY_FILE, dir);
	snprintf(dbfile, sizeof(dbfile), "%s/snaptun.db", dir);
	snprintf(tplfile, sizeof(tplfile), "%s/template.db", dir);
	agentlink_key_load(dir, key);
	make_template();
}

static void
add_pool(struct db *db, const char *name, const char *prefix)
{
	struct pool p = {0};
	struct pool_conflict pc;
	char err[128];
	const char *why;

	snprintf(p.name, sizeof(p.name), "%s", name);
	p.isd_as = 1;
	p.hold_seconds = 600;
	if (prefix_parse(prefix, &p.prefix, err, sizeof(err), &why) < 0 ||
	    pool_create(db, &p, T0, &pc) != 0)
		abort();
}

/* One loop turn without waiting, as the manager's before-sleep hook ends it. */
static void
step(struct agentlink *l)
{
	loop_once(loop, 0);
	agentlink_run(l);
	agentlink_flush(l);
}

/* Read and forget what the manager sent: it must never wait for us. */
static void
drain(int fd)
{
	static unsigned char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void
asend(int fd, uint64_t *seq, enum chan_msg type, uint64_t corr, const uint8_t *p, size_t n)
{
	static unsigned char buf[CHAN_FRAME_LEN(INPUT_MAX)];
	ssize_t len = chan_frame_encode(key, type, AGENT, ++*seq, corr, p, n, buf, sizeof(buf));

	if (len < 0 || write(fd, buf, (size_t)len) != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct app app = {0};
	struct agentlink *l;
	uint64_t seq = 0;
	size_t off = 1;
	int fd;

	if (size == 0 || size > INPUT_MAX)
		return 0;
	if (loop == NULL)
		init();
	db_fresh();
	if (db_open(dbfile, &app.db) < 0)
		abort();
	app.now = fixed_now;
	app.state_dir = dir;
	/* STATS feed the per-agent bases, SESSION_DOWN the revocation timer. */
	if ((app.metrics = metrics_new()) == NULL)
		abort();
	l = agentlink_open(&app, dir, loop, NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	if (data[0] & 1) {
		State__Hello h;
		unsigned char pin[32] = {1}, buf[256];

		state__hello__init(&h);
		h.agent_id = AGENT;
		h.software_version = "fuzz";
		h.min_version = 1;
		h.max_version = 1;
		h.listen_address = "127.0.0.1:1";
		h.spki_pin.data = pin;
		h.spki_pin.len = sizeof(pin);
		asend(fd, &seq, CHAN_HELLO, 0, buf, protobuf_c_message_pack(&h.base, buf));
	}
	for (int frames = 0; off + 4 <= size && frames < FRAMES_MAX; frames++) {
		enum chan_msg type = (enum chan_msg)types[data[off] % ntypes];
		size_t n = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;
		uint64_t corr = data[off + 1];

		off += 4;
		if (n > size - off)
			n = size - off;
		asend(fd, &seq, type, corr, data + off, n);
		off += n;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* accept, read it all, answer: a few turns do (each reads what the socket holds) */
	for (int turn = 0; turn < 4; turn++) {
		step(l);
		drain(fd);
	}
	close(fd);
	for (int turn = 0; turn < 2; turn++)
		step(l);
	if (agentlink_connected(l, AGENT, NULL))
		__builtin_trap(); /* it hung up */
	agentlink_close(l);
	metrics_free(app.metrics);
	db_close(app.db);
	return 0;
}
