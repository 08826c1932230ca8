/* Fuzzes what the agent does with the contents of the manager's state-channel messages: the
 * agent's link (agent/link.h) against a hand-made manager on a UNIX socket in a temporary
 * directory, its frames verified with the channel key, so that every byte of the input reaches
 * link_frame()'s switch: protobuf-c unpacking of each State.* message, the snapshot being built
 * (agent/state.h: keys with any PEM, grants with any address, pools with any prefix, huge
 * counts and generations), the deltas applied to a live state as the agent's own callbacks do,
 * and ALLOC_RES matched against a pending request.
 *
 * Input: byte 0's bit 0 says whether the manager says WELCOME first (else the script starts in
 * the HELLO state), bit 1 whether the agent then asks for an address (link_alloc()); then
 * frames, each a type byte (an index into the message types), a correlation byte (0xff: the
 * pending request's id), a 16-bit little-endian length and that many payload bytes.
 * Invariants: never a crash, a leak or a hang; a pending request's callback runs exactly once;
 * what the live state holds is well formed (4- or 16-byte addresses, prefix lengths within
 * their family). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../agent/link.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../lib/loop.h"

#define AGENT 7
#define INPUT_MAX 16384
#define FRAMES_MAX 512 /* so that all of them fit the socket's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char key[CHAN_KEY_LEN];
static char dir[] = "/tmp/fuzz_agentlink.XXXXXX", sock[256], keyfile[256];
static struct loop *lp;
static int lfd = -1, ntypes;
static int types[CHAN_MSG_LAST + 1];
static struct state *live;
static int alloc_calls;

static void
cleanup(void)
{
	unlink(sock);
	unlink(keyfile);
	rmdir(dir);
}

static void
init(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int kfd;

	log_set_level(LOG_ERROR);
	for (int t = 0; t <= CHAN_MSG_LAST; t++)
		if (chan_msg_name(t) != NULL)
			types[ntypes++] = t;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/channel.key", dir);
	if ((kfd = open(keyfile, O_WRONLY | O_CREAT, 0600)) < 0 ||
	    write(kfd, key, sizeof(key)) != (ssize_t)sizeof(key))
		abort();
	close(kfd);
	strcpy(sun.sun_path, sock);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 4) < 0)
		abort();
	if ((lp = loop_new()) == NULL)
		abort();
}

/* ---- the agent's callbacks (agent/main.c), on a live state of our own ---- */

static void
cb_snapshot(void *arg, struct state *st)
{
	(void)arg;
	state_free(live);
	live = st;
}

static void
cb_key_add(void *arg, const State__Key *k)
{
	(void)arg;
	state_key_put(live, k);
}

static void
cb_key_retire(void *arg, const char *kid)
{
	(void)arg;
	state_key_retire(live, kid);
}

static void
cb_revoke(void *arg, const char *pssid, const char *reason)
{
	(void)arg;
	(void)reason;
	state_revoke(live, pssid);
}

static void
cb_grant_release(void *arg, uint64_t grant_id, const char *reason)
{
	(void)arg;
	(void)reason;
	state_grant_release(live, grant_id);
}

static void
cb_pool_update(void *arg, const State__Pool *p)
{
	(void)arg;
	state_pool_put(live, p);
}

static void
cb_pool_remove(void *arg, uint64_t pool_id)
{
	(void)arg;
	state_pool_remove(live, pool_id);
}

static void
on_alloc(void *arg, const struct link_alloc_res *res)
{
	(void)arg;
	alloc_calls++;
	if (res->error == 0 && res->addr.family != 4 && res->addr.family != 6)
		__builtin_trap();
	if (res->error > 0)
		__builtin_trap();
}

/* What the live state holds must be well formed whatever the manager sent. */
static void
check_state(const struct state *st)
{
	struct addr a = {.family = 4, .b = {10, 0, 0, 1}};

	for (size_t i = 0; i < st->ngrants; i++) {
		const struct state_grant *g = &st->grants[i];

		if ((g->addr.family != 4 && g->addr.family != 6) ||
		    state_grant_find(st, g->id) == NULL)
			__builtin_trap();
	}
	for (size_t i = 0; i < st->npools; i++) {
		const struct prefix *p = &st->pools[i].prefix;

		if ((p->net.family != 4 && p->net.family != 6) ||
		    p->len > (p->net.family == 4 ? 32u : 128u))
			__builtin_trap();
	}
	state_pool_of(st, &a);
	state_revoked(st, "0d9c3b4e-4a8b-4c55-9b8e-9e3a0c1f2a11");
}

/* Write frame type (payload p, n bytes) as the manager. */
static void
msend(int mfd, uint64_t *seq, enum chan_msg type, uint64_t corr, const uint8_t *p, size_t n)
{
	static unsigned char buf[CHAN_FRAME_LEN(INPUT_MAX)];
	ssize_t len =
	    chan_frame_encode(key, type, CHAN_NODE_MANAGER, ++*seq, corr, p, n, buf, sizeof(buf));

	if (len < 0 || write(mfd, buf, (size_t)len) != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char pin[32] = {0};
	struct link_endpoint ep = {0};
	struct link_config cfg = {
	    .managers = &ep,
	    .nmanagers = 1,
	    .key_file = keyfile,
	    .agent_id = AGENT,
	    .software_version = "fuzz",
	    .listen_address = "127.0.0.1:1",
	    .spki_pin = pin,
	};
	struct link_callbacks cb = {
	    .snapshot = cb_snapshot,
	    .key_add = cb_key_add,
	    .key_retire = cb_key_retire,
	    .revoke = cb_revoke,
	    .grant_release = cb_grant_release,
	    .pool_update = cb_pool_update,
	    .pool_remove = cb_pool_remove,
	};
	State__AllocReq req;
	struct link *l;
	uint64_t seq = 0;
	int64_t alloc_id = 0;
	size_t off = 1;
	int mfd, flags;

	if (size == 0 || size > INPUT_MAX)
		return 0;
	if (lp == NULL)
		init();
	snprintf(ep.address, sizeof(ep.address), "%s", sock);
	if ((live = state_new()) == NULL || (l = link_new(&cfg, &cb, lp)) == NULL)
		abort();
	link_expire(l, clock_mono_ns());
	if (link_fd(l) < 0 || (mfd = accept(lfd, NULL, NULL)) < 0)
		abort();
	alloc_calls = 0;
	flags = data[0];
	if (flags & 1) {
		State__Welcome w;

		state__welcome__init(&w);
		w.version = 1;
		w.software_version = "fuzz manager";
		unsigned char buf[256];
		size_t n = protobuf_c_message_pack(&w.base, buf);

		msend(mfd, &seq, CHAN_WELCOME, 0, buf, n);
		link_handle(l, LOOP_READ);
		if (!link_up(l))
			__builtin_trap();
		if (flags & 2) {
			state__alloc_req__init(&req);
			req.pssid = "0d9c3b4e-4a8b-4c55-9b8e-9e3a0c1f2a11";
			req.session_id = 4242;
			req.family = 4;
			if ((alloc_id = link_alloc(l, &req, on_alloc, NULL)) <= 0)
				__builtin_trap();
		}
	}
	for (int frames = 0; off + 4 <= size && frames < FRAMES_MAX; frames++) {
		enum chan_msg type = (enum chan_msg)types[data[off] % ntypes];
		uint64_t corr = data[off + 1] == 0xff ? (uint64_t)alloc_id : data[off + 1];
		size_t n = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;

		off += 4;
		if (n > size - off)
			n = size - off;
		msend(mfd, &seq, type, corr, data + off, n);
		off += n;
	}
	/* Everything written is in the socket's buffer: one read budget takes it all. */
	if (link_fd(l) >= 0)
		link_handle(l, LOOP_READ);
	check_state(live);
	link_free(l);
	if (alloc_id > 0 && alloc_calls != 1)
		__builtin_trap(); /* answered, or failed at link_free(): once either way */
	close(mfd);
	state_free(live);
	live = NULL;
	return 0;
}
