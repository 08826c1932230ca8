/* State-channel framing (proto/chan.h): a known-answer frame built by hand, a round trip for
 * every message type, the stream decoder fed in every split and in one piece, and each protocol
 * error: bad MAC, altered bytes, wrong key, bad version, unknown type, oversized length (refused
 * from the header alone), replayed, old and zero seqs, out-of-order seqs inside the window, wrong
 * sender, garbage payload under a valid MAC, and the decoder staying failed after an error. */
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/chan.h"
#include "check.h"

#define AGENT 7
#define MISMATCH (-100) /* feed_all(): a frame came out that was not the one expected */

static unsigned char key[CHAN_KEY_LEN];

/* A frame as the decoder should give it out. */
struct want {
	enum chan_msg type;
	uint64_t seq, corr;
	const unsigned char *payload;
	size_t len;
};

/* Any frame, valid or not: the MAC computed here, independently of chan.c. */
static size_t
raw_frame(unsigned char *out, const unsigned char *k, unsigned version, unsigned type,
    uint64_t from, uint64_t seq, uint64_t corr, const void *payload, uint32_t len)
{
	unsigned char *p = out;

	*p++ = (unsigned char)version;
	for (int i = 0; i < 2; i++)
		*p++ = (unsigned char)(type >> (8 * i));
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(from >> (8 * i));
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(seq >> (8 * i));
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(corr >> (8 * i));
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(len >> (8 * i));
	memcpy(p, payload, len);
	p += len;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, k, CHAN_KEY_LEN, out, (size_t)(p - out), p) < 0)
		abort();
	return (size_t)(p - out) + CHAN_MAC_LEN;
}

/* Feed all len bytes of p to d as a reader would, checking each frame that comes out against
 * w[*i] (and advancing *i). 0, MISMATCH, or the decoder's error. */
static int
feed_all(struct chan_dec *d, const unsigned char *p, size_t len, const struct want *w, size_t nw,
    size_t *i)
{
	struct chan_frame f;
	ssize_t n;
	int rv;

	do {
		if ((n = chan_dec_feed(d, p, len)) < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
		if ((rv = chan_dec_next(d, &f)) < 0)
			return rv;
		if (chan_dec_buffered(d) > CHAN_FRAME_MAX)
			return MISMATCH;
		if (rv == 0)
			continue;
		if (*i >= nw || f.type != w[*i].type || f.seq != w[*i].seq ||
		    f.corr != w[*i].corr || f.from != AGENT || f.len != w[*i].len ||
		    memcmp(f.payload, w[*i].payload, f.len) != 0)
			return MISMATCH;
		(*i)++;
	} while (len > 0);
	return 0;
}

static struct chan_dec *last; /* decode_one()'s decoder: f->payload points into it */

/* One frame through a fresh decoder (self = manager, peer = AGENT): its result. *f stays valid
 * until the next call. */
static int
decode_one(const unsigned char *frame, size_t len, struct chan_frame *f)
{
	ssize_t n;
	int rv;

	chan_dec_free(last);
	if ((last = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT)) == NULL)
		abort();
	if ((n = chan_dec_feed(last, frame, len)) < 0)
		return (int)n;
	rv = chan_dec_next(last, f);
	if (rv == 1 && (size_t)n != len)
		rv = MISMATCH;
	return rv;
}

static void
test_known_answer(void)
{
	/* HEARTBEAT {time: 1700000000} from node 7, seq 1, correlation 0x0102030405060708, with the
	 * key 00 01 … 1f. The MAC was computed with Python's hmac module. */
	static const unsigned char want[] = {0x01, /* version */
	    0x2b, 0x00, /* type 43, HEARTBEAT */
	    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* from_node_id 7 */
	    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 1 */
	    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* correlation id */
	    0x06, 0x00, 0x00, 0x00, /* payload length 6 */
	    0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, /* field 1 varint 1700000000 */
	    0x7e, 0x2c, 0xd2, 0x4b, 0xba, 0x7f, 0x82, 0xd9, 0xf3, 0xbf, 0x0e, 0x31, 0x83, 0xe8,
	    0x24, 0x95, 0x14, 0x77, 0x96, 0x89, 0x58, 0xbf, 0xa6, 0xeb, 0xf1, 0x07, 0x43, 0x9f,
	    0x2d, 0xbf, 0xd1, 0x19};
	static const unsigned char pb[] = {0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06};
	unsigned char out[128];
	State__Heartbeat hb, *back;
	struct chan_frame f;
	ssize_t n;

	state__heartbeat__init(&hb);
	hb.time = 1700000000;
	n = chan_frame_pack(
	    key, CHAN_HEARTBEAT, AGENT, 1, 0x0102030405060708, &hb.base, out, sizeof(out));
	CHECK_EQ_INT(n, sizeof(want), "known answer: frame length 31 + 6 + 32");
	CHECK(n == sizeof(want) && memcmp(out, want, sizeof(want)) == 0,
	    "known answer: chan_frame_pack() gives the hand-built bytes");
	n = chan_frame_encode(
	    key, CHAN_HEARTBEAT, AGENT, 1, 0x0102030405060708, pb, sizeof(pb), out, sizeof(out));
	CHECK(n == sizeof(want) && memcmp(out, want, sizeof(want)) == 0,
	    "known answer: chan_frame_encode() of the packed payload gives the same bytes");
	CHECK_EQ_INT(decode_one(want, sizeof(want), &f), 1, "known answer: the bytes decode");
	CHECK(f.type == CHAN_HEARTBEAT && f.from == AGENT && f.seq == 1 &&
		f.corr == 0x0102030405060708 && f.len == sizeof(pb) &&
		memcmp(f.payload, pb, sizeof(pb)) == 0,
	    "known answer: header fields and payload come back");
	back = (State__Heartbeat *)chan_frame_unpack(&f);
	CHECK(back != NULL && back->time == 1700000000, "known answer: the payload unpacks");
	if (back != NULL)
		state__heartbeat__free_unpacked(back, NULL);
	n = chan_frame_encode(key, CHAN_HEARTBEAT, AGENT, 1, 0x0102030405060708, pb, sizeof(pb),
	    out, sizeof(want) - 1);
	CHECK_EQ_INT(n, CHAN_ERR_SPACE, "one byte short of the frame: CHAN_ERR_SPACE");
}

static void
test_names(void)
{
	int n = 0, bad = 0;

	for (int t = -1; t <= 70000; t++) {
		const char *name = chan_msg_name(t);

		if ((name == NULL) != (chan_msg_descriptor(t) == NULL))
			bad++;
		if (name == NULL)
			continue;
		n++;
		for (int u = 0; u < t; u++)
			if (chan_msg_name(u) != NULL && strcmp(chan_msg_name(u), name) == 0)
				bad++;
	}
	CHECK(
	    n == 23 && bad == 0, "23 message types, each with one name and one descriptor (%d)", n);
	CHECK(strcmp(chan_msg_name(CHAN_HELLO), "HELLO") == 0 &&
		strcmp(chan_msg_name(CHAN_SNAPSHOT_BEGIN), "SNAPSHOT_BEGIN") == 0 &&
		chan_msg_descriptor(CHAN_ALLOC_RES) == &state__alloc_res__descriptor &&
		chan_msg_name(0) == NULL && chan_msg_name(4) == NULL,
	    "names and descriptors by type; 0 and 4 are not types");
	CHECK(strcmp(chan_err_str(CHAN_ERR_MAC), "bad frame MAC") == 0 &&
		strcmp(chan_err_str(-99), "unknown error") == 0,
	    "chan_err_str()");
}

/* A populated message of every type, in static storage. */
static ProtobufCMessage *
sample(enum chan_msg type)
{
	static unsigned char v4[4] = {10, 20, 0, 7}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 9};
	static unsigned char pin[32] = {1, 2, 3, [31] = 0xff};
	static State__Hello hello;
	static State__Welcome welcome;
	static State__Reject reject;
	static State__SnapshotBegin sb;
	static State__SnapshotEnd se;
	static State__Key k, k2;
	static State__Revoked revoked;
	static State__Grant grant;
	static State__Pool pool, pool2;
	static State__Limits limits;
	static State__KeyAdd key_add;
	static State__KeyRetire key_retire;
	static State__Revoke revoke;
	static State__GrantRelease grant_release;
	static State__SessionKill kill;
	static State__PoolUpdate pool_update;
	static State__AllocReq alloc_req;
	static State__AllocRes alloc_res;
	static State__HoldReq hold_req;
	static State__SessionUp up;
	static State__SessionDown down;
	static State__Counters c1, c2, c3, tot;
	static State__SessionStats s1, s2;
	static State__SessionStats *ss[2] = {&s1, &s2};
	static State__Stats stats;
	static State__Heartbeat hb;
	static char pem[] = "-----BEGIN PUBLIC KEY-----\n"
			    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
			    "-----END PUBLIC KEY-----\n";

	switch (type) {
	case CHAN_HELLO:
		state__hello__init(&hello);
		hello.agent_id = AGENT;
		hello.software_version = "snaptun 0.1.0";
		hello.min_version = 1;
		hello.max_version = 3;
		hello.listen_address = "[2001:db8::1]:4433";
		hello.spki_pin.data = pin;
		hello.spki_pin.len = sizeof(pin);
		return &hello.base;
	case CHAN_WELCOME:
		state__welcome__init(&welcome);
		welcome.version = 1;
		welcome.software_version = "snaptun 0.1.0";
		return &welcome.base;
	case CHAN_REJECT:
		state__reject__init(&reject);
		reject.reason = "no common channel version (agent 2-3, manager 1-1)";
		return &reject.base;
	case CHAN_SNAPSHOT_BEGIN:
		state__snapshot_begin__init(&sb);
		sb.generation = 42;
		return &sb.base;
	case CHAN_SNAPSHOT_END:
		state__snapshot_end__init(&se);
		se.generation = 42;
		se.item_count = 1234567;
		return &se.base;
	case CHAN_KEY:
		state__key__init(&k);
		k.kid = "k-2024-1";
		k.alg = "EdDSA";
		k.public_key_pem = pem;
		k.verify_until = 1790000000;
		return &k.base;
	case CHAN_REVOKED:
		state__revoked__init(&revoked);
		revoked.pssid = "laptop-1.example";
		revoked.reason = "stolen";
		revoked.revoked_at = 1700000001;
		return &revoked.base;
	case CHAN_GRANT:
		state__grant__init(&grant);
		grant.grant_id = 99;
		grant.pssid = "laptop-1.example";
		grant.address.data = v4;
		grant.address.len = sizeof(v4);
		grant.isd_as = UINT64_C(0x0001ff0000000110);
		grant.session_id = UINT64_MAX;
		grant.state = STATE__GRANT_STATE__GRANT_STATE_ON_HOLD;
		grant.hold_until = 1700003600;
		grant.pool_id = 3;
		return &grant.base;
	case CHAN_POOL:
		state__pool__init(&pool);
		pool.id = 3;
		pool.name = "edge-v6";
		pool.isd_as = UINT64_C(0x0001ff0000000110);
		pool.prefix.data = v6;
		pool.prefix.len = sizeof(v6);
		pool.prefix_length = 64;
		pool.mode = STATE__POOL_MODE__POOL_MODE_SCION;
		pool.hold_seconds = 86400;
		return &pool.base;
	case CHAN_LIMITS:
		state__limits__init(&limits);
		limits.max_sessions = 10000;
		limits.max_sessions_per_pssid = 4;
		limits.session_rate_bps = UINT64_C(1000000000);
		limits.idle_timeout_seconds = 300;
		limits.heartbeat_seconds = 5;
		limits.stats_seconds = 10;
		return &limits.base;
	case CHAN_KEY_ADD:
		state__key__init(&k2);
		k2.kid = "k-2024-2";
		k2.alg = "EdDSA";
		k2.public_key_pem = pem;
		state__key_add__init(&key_add);
		key_add.key = &k2;
		return &key_add.base;
	case CHAN_KEY_RETIRE:
		state__key_retire__init(&key_retire);
		key_retire.kid = "k-2024-1";
		return &key_retire.base;
	case CHAN_REVOKE:
		state__revoke__init(&revoke);
		revoke.pssid = "laptop-1.example";
		revoke.reason = "revoked";
		return &revoke.base;
	case CHAN_GRANT_RELEASE:
		state__grant_release__init(&grant_release);
		grant_release.grant_id = 99;
		grant_release.reason = "released by admin";
		return &grant_release.base;
	case CHAN_SESSION_KILL:
		state__session_kill__init(&kill);
		kill.session_id = 5;
		kill.reason = "superseded";
		return &kill.base;
	case CHAN_POOL_UPDATE:
		state__pool__init(&pool2);
		pool2.id = 4;
		pool2.name = "gone";
		state__pool_update__init(&pool_update);
		pool_update.pool = &pool2;
		pool_update.removed = 1;
		return &pool_update.base;
	case CHAN_ALLOC_REQ:
		state__alloc_req__init(&alloc_req);
		alloc_req.pssid = "laptop-1.example";
		alloc_req.isd_as = UINT64_C(0x0001ff0000000110);
		alloc_req.family = 4;
		alloc_req.requested_address.data = v4;
		alloc_req.requested_address.len = sizeof(v4);
		alloc_req.session_id = 6;
		return &alloc_req.base;
	case CHAN_ALLOC_RES:
		state__alloc_res__init(&alloc_res);
		alloc_res.grant_id = 100;
		alloc_res.isd_as = UINT64_C(0x0001ff0000000110);
		alloc_res.prefix_length = 24;
		alloc_res.error_code = -6; /* ERR_ADDR_TAKEN: a negative sint32 */
		alloc_res.reason = "address 10.20.0.7 belongs to another pssid";
		return &alloc_res.base;
	case CHAN_HOLD_REQ:
		state__hold_req__init(&hold_req);
		hold_req.grant_id = 99;
		hold_req.session_id = 6;
		return &hold_req.base;
	case CHAN_SESSION_UP:
		state__session_up__init(&up);
		up.session_id = 6;
		up.pssid = "laptop-1.example";
		up.grant_id = 99;
		up.address.data = v6;
		up.address.len = sizeof(v6);
		up.isd_as = 1;
		up.remote = "192.0.2.1:55000";
		up.started_at = 1700000002;
		return &up.base;
	case CHAN_SESSION_DOWN:
		state__counters__init(&c1);
		c1.rx_packets = 10;
		c1.rx_bytes = 12000;
		c1.tx_packets = 20;
		c1.tx_bytes = 24000;
		c1.dropped_packets = 1;
		state__session_down__init(&down);
		down.session_id = 6;
		down.grant_id = 99;
		down.reason = "idle";
		down.counters = &c1;
		down.duration_ns = UINT64_C(3600000000000);
		return &down.base;
	case CHAN_STATS:
		state__counters__init(&c2);
		c2.rx_packets = 1;
		state__counters__init(&c3);
		c3.tx_bytes = UINT64_MAX;
		state__counters__init(&tot);
		tot.rx_packets = 1000;
		tot.tx_bytes = UINT64_MAX;
		state__session_stats__init(&s1);
		s1.session_id = 6;
		s1.counters = &c2;
		state__session_stats__init(&s2);
		s2.session_id = 8;
		s2.counters = &c3;
		state__stats__init(&stats);
		stats.uptime_ns = 123456789;
		stats.active_sessions = 2;
		stats.n_sessions = 2;
		stats.sessions = ss;
		stats.total = &tot;
		return &stats.base;
	case CHAN_HEARTBEAT:
		state__heartbeat__init(&hb);
		hb.time = -1; /* int64: negative values survive too */
		return &hb.base;
	}
	return NULL;
}

/* msg and back pack to the same bytes (protobuf-c packs fields in number order: equal bytes
 * mean equal messages). */
static int
same_message(const ProtobufCMessage *msg, const ProtobufCMessage *back)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	unsigned char *a = malloc(n + 1), *b = malloc(n + 1);
	int same;

	same = a != NULL && b != NULL && protobuf_c_message_get_packed_size(back) == n &&
	    protobuf_c_message_pack(msg, a) == n && protobuf_c_message_pack(back, b) == n &&
	    memcmp(a, b, n) == 0;
	free(a);
	free(b);
	return same;
}

static void
test_roundtrip_all(void)
{
	static unsigned char buf[4096];
	struct chan_dec *d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	struct chan_frame f;
	ProtobufCMessage *msg, *back;
	uint64_t seq = 0;
	int n = 0, ok = 0;
	ssize_t len;

	for (int t = 0; t <= CHAN_MSG_LAST; t++) {
		if (chan_msg_name(t) == NULL)
			continue;
		n++;
		msg = sample((enum chan_msg)t);
		if (msg == NULL) {
			CHECK(0, "%s: no sample message", chan_msg_name(t));
			continue;
		}
		seq++;
		len = chan_frame_pack(
		    key, (enum chan_msg)t, AGENT, seq, seq * 1000, msg, buf, sizeof(buf));
		if (len < 0 || chan_dec_feed(d, buf, (size_t)len) != len ||
		    chan_dec_next(d, &f) != 1) {
			CHECK(0, "%s: frame does not decode (%zd)", chan_msg_name(t), len);
			continue;
		}
		if ((int)f.type != t || f.seq != seq || f.corr != seq * 1000 ||
		    (back = chan_frame_unpack(&f)) == NULL) {
			CHECK(0, "%s: header or unpack wrong", chan_msg_name(t));
			continue;
		}
		if (back->descriptor == chan_msg_descriptor(t) && same_message(msg, back))
			ok++;
		else
			CHECK(0, "%s: the message does not come back unchanged", chan_msg_name(t));
		protobuf_c_message_free_unpacked(back, NULL);
	}
	CHECK(n == 23 && ok == n, "every message type, populated, round-trips (%d of %d)", ok, n);
	chan_dec_free(d);

	/* a few fields by name, beyond byte equality */
	msg = sample(CHAN_STATS);
	len = chan_frame_pack(key, CHAN_STATS, AGENT, 1, 0, msg, buf, sizeof(buf));
	{
		State__Stats *s = NULL;

		if (len > 0 && decode_one(buf, (size_t)len, &f) == 1)
			s = (State__Stats *)chan_frame_unpack(&f);
		CHECK(s != NULL && s->n_sessions == 2 && s->sessions[1]->session_id == 8 &&
			s->sessions[1]->counters->tx_bytes == UINT64_MAX &&
			s->total->tx_bytes == UINT64_MAX,
		    "STATS: repeated per-session counters and totals survive");
		if (s != NULL)
			state__stats__free_unpacked(s, NULL);
	}
	msg = sample(CHAN_ALLOC_RES);
	len = chan_frame_pack(key, CHAN_ALLOC_RES, CHAN_NODE_MANAGER, 1, 17, msg, buf, sizeof(buf));
	{
		struct chan_dec *agent = chan_dec_new(key, AGENT, CHAN_NODE_MANAGER);
		State__AllocRes *r = NULL;

		if (len > 0 && chan_dec_feed(agent, buf, (size_t)len) == len &&
		    chan_dec_next(agent, &f) == 1)
			r = (State__AllocRes *)chan_frame_unpack(&f);
		CHECK(r != NULL && f.corr == 17 && f.from == CHAN_NODE_MANAGER &&
			r->error_code == -6 && r->address.len == 0,
		    "ALLOC_RES manager -> agent: correlation id and a negative error code");
		if (r != NULL)
			state__alloc_res__free_unpacked(r, NULL);
		chan_dec_free(agent);
	}
}

/* Three frames, back to back: an empty payload, a small one, a larger one. */
static size_t
stream3(unsigned char *out, size_t cap, struct want w[3], unsigned char *big, size_t bigl)
{
	static const unsigned char small[] = {0x08, 0x01};
	ssize_t n;
	size_t len = 0;

	for (size_t i = 0; i < bigl; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	w[0] = (struct want){CHAN_HEARTBEAT, 1, 0, small, 0};
	w[1] = (struct want){CHAN_HOLD_REQ, 2, 5, small, sizeof(small)};
	w[2] = (struct want){CHAN_STATS, 3, 0, big, bigl};
	for (int i = 0; i < 3; i++) {
		n = chan_frame_encode(key, w[i].type, AGENT, w[i].seq, w[i].corr, w[i].payload,
		    w[i].len, out + len, cap - len);
		if (n < 0)
			abort();
		len += (size_t)n;
	}
	return len;
}

static void
test_splits(void)
{
	static unsigned char s[2048], big[700];
	struct want w[3];
	size_t len = stream3(s, sizeof(s), w, big, sizeof(big)), i, bad = 0;
	struct chan_dec *d;
	int rv;

	d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	i = 0;
	rv = feed_all(d, s, len, w, 3, &i);
	CHECK(rv == 0 && i == 3, "three frames in one feed: all three come out in order");
	chan_dec_free(d);

	for (size_t k = 0; k <= len; k++) {
		d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
		i = 0;
		rv = feed_all(d, s, k, w, 3, &i);
		if (rv == 0)
			rv = feed_all(d, s + k, len - k, w, 3, &i);
		if (rv != 0 || i != 3)
			bad++;
		chan_dec_free(d);
	}
	CHECK(bad == 0, "the stream split at each of its %zu byte boundaries decodes the same",
	    len + 1);

	d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	i = 0;
	rv = 0;
	for (size_t k = 0; k < len && rv == 0; k++)
		rv = feed_all(d, s + k, 1, w, 3, &i);
	CHECK(rv == 0 && i == 3, "fed one byte at a time: the same three frames");
	chan_dec_free(d);
}

/* A good HOLD_REQ frame from AGENT into out; its length. */
static size_t
good_frame(unsigned char *out, uint64_t seq)
{
	static const unsigned char pb[] = {0x08, 0x63, 0x10, 0x06};

	return raw_frame(out, key, CHAN_VERSION, CHAN_HOLD_REQ, AGENT, seq, 0, pb, sizeof(pb));
}

static void
test_mac(void)
{
	unsigned char fr[256], other[CHAN_KEY_LEN];
	struct chan_frame f;
	size_t len = good_frame(fr, 1);

	CHECK_EQ_INT(decode_one(fr, len, &f), 1, "the unaltered frame decodes");
	fr[len - 1] ^= 0x01;
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_MAC, "a flipped MAC bit: CHAN_ERR_MAC");
	fr[len - 1] ^= 0x01;
	fr[CHAN_HDR_LEN + 1] ^= 0x80;
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_MAC, "a flipped payload bit: CHAN_ERR_MAC");
	fr[CHAN_HDR_LEN + 1] ^= 0x80;
	fr[19] ^= 0x01; /* correlation id */
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_MAC, "a flipped header bit: CHAN_ERR_MAC");
	fr[19] ^= 0x01;
	memcpy(other, key, sizeof(other));
	other[31] ^= 0x01;
	len = raw_frame(fr, other, CHAN_VERSION, CHAN_HOLD_REQ, AGENT, 1, 0, "", 0);
	CHECK_EQ_INT(
	    decode_one(fr, len, &f), CHAN_ERR_MAC, "a frame under another key: CHAN_ERR_MAC");
}

static void
test_header(void)
{
	unsigned char fr[256];
	struct chan_dec *d;
	struct chan_frame f;
	size_t len;
	ssize_t n;

	len = raw_frame(fr, key, 2, CHAN_HOLD_REQ, AGENT, 1, 0, "", 0);
	d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	n = chan_dec_feed(d, fr, 1);
	CHECK_EQ_INT(
	    n, CHAN_ERR_VERSION, "version 2 (with a valid MAC) is refused at its first byte");
	chan_dec_free(d);
	fr[0] = 0;
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_VERSION, "version 0 is refused");

	len = raw_frame(fr, key, CHAN_VERSION, 4, AGENT, 1, 0, "", 0);
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_TYPE, "type 4 (valid MAC): CHAN_ERR_TYPE");
	len = raw_frame(fr, key, CHAN_VERSION, 0, AGENT, 1, 0, "", 0);
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_TYPE, "type 0: CHAN_ERR_TYPE");
	len = raw_frame(fr, key, CHAN_VERSION, 0x1001, AGENT, 1, 0, "", 0);
	CHECK_EQ_INT(decode_one(fr, len, &f), CHAN_ERR_TYPE, "type 0x1001: CHAN_ERR_TYPE");

	/* A header announcing 1 MiB + 1: refused with only the 31 header bytes in. */
	raw_frame(fr, key, CHAN_VERSION, CHAN_STATS, AGENT, 1, 0, "", 0);
	fr[27] = 0x01, fr[28] = 0x00, fr[29] = 0x10, fr[30] = 0x00;
	d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	n = chan_dec_feed(d, fr, CHAN_HDR_LEN - 1);
	CHECK_EQ_INT(n, CHAN_HDR_LEN - 1, "30 header bytes: taken");
	n = chan_dec_feed(d, fr + CHAN_HDR_LEN - 1, 1);
	CHECK_EQ_INT(n, CHAN_ERR_LENGTH, "the 31st byte completes a length of 1 MiB + 1: refused");
	CHECK(chan_dec_buffered(d) <= CHAN_HDR_LEN, "no payload byte was buffered (%zu)",
	    chan_dec_buffered(d));
	chan_dec_free(d);
	fr[27] = 0xff, fr[28] = 0xff, fr[29] = 0xff, fr[30] = 0xff;
	CHECK_EQ_INT(decode_one(fr, 200, &f), CHAN_ERR_LENGTH, "length 2^32 - 1: refused");
}

static void
test_max_payload(void)
{
	size_t cap = CHAN_FRAME_MAX;
	unsigned char *fr = calloc(1, cap), *pl = calloc(1, CHAN_PAYLOAD_MAX + 1);
	struct chan_dec *d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	struct chan_frame f;
	ssize_t n, m;
	int rv = 0;

	if (fr == NULL || pl == NULL || d == NULL)
		abort();
	n = chan_frame_encode(key, CHAN_STATS, AGENT, 1, 0, pl, CHAN_PAYLOAD_MAX + 1, fr, cap);
	CHECK_EQ_INT(n, CHAN_ERR_LENGTH, "encoding 1 MiB + 1 of payload: CHAN_ERR_LENGTH");
	memset(pl, 0xa5, CHAN_PAYLOAD_MAX);
	n = chan_frame_encode(key, CHAN_STATS, AGENT, 1, 0, pl, CHAN_PAYLOAD_MAX, fr, cap);
	CHECK_EQ_INT(
	    n, CHAN_FRAME_MAX, "a frame of exactly 1 MiB of payload is CHAN_FRAME_MAX bytes");
	m = 0;
	while (n > 0 && m < n && rv == 0) {
		ssize_t k =
		    chan_dec_feed(d, fr + m, (size_t)(n - m) < 65536 ? (size_t)(n - m) : 65536);

		if (k < 0 || chan_dec_buffered(d) > CHAN_FRAME_MAX)
			rv = -1;
		else
			m += k;
		if (rv == 0 && (rv = chan_dec_next(d, &f)) == 1)
			break;
	}
	CHECK(rv == 1 && f.len == CHAN_PAYLOAD_MAX && f.payload[CHAN_PAYLOAD_MAX - 1] == 0xa5 &&
		chan_dec_buffered(d) == CHAN_FRAME_MAX,
	    "a 1 MiB payload decodes in 64 KiB reads, buffered within CHAN_FRAME_MAX");
	CHECK(
	    chan_frame_unpack(&f) == NULL, "1 MiB of 0xa5 is no STATS message: unpack gives NULL");
	chan_dec_free(d);
	free(fr);
	free(pl);
}

/* Feed the frames of the given seqs (from AGENT) to one decoder: the result of the last. */
static int
seqs(const uint64_t *s, size_t n)
{
	struct chan_dec *d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	unsigned char fr[256];
	struct chan_frame f;
	size_t len;
	int rv = 0;

	for (size_t i = 0; i < n; i++) {
		len = good_frame(fr, s[i]);
		if (chan_dec_feed(d, fr, len) < 0 && i + 1 < n) {
			rv = MISMATCH;
			break;
		}
		rv = chan_dec_next(d, &f);
		if (i + 1 < n && rv != 1) {
			rv = MISMATCH;
			break;
		}
	}
	chan_dec_free(d);
	return rv;
}

static void
test_replay(void)
{
	CHECK_EQ_INT(seqs((uint64_t[]){1, 2, 3}, 3), 1, "seqs 1, 2, 3 are accepted");
	CHECK_EQ_INT(
	    seqs((uint64_t[]){1, 2, 2}, 3), CHAN_ERR_REPLAY, "seq 2 again: CHAN_ERR_REPLAY");
	CHECK_EQ_INT(seqs((uint64_t[]){1, 1}, 2), CHAN_ERR_REPLAY, "seq 1 again: CHAN_ERR_REPLAY");
	CHECK_EQ_INT(seqs((uint64_t[]){0}, 1), CHAN_ERR_OLD, "seq 0: CHAN_ERR_OLD");
	CHECK_EQ_INT(
	    seqs((uint64_t[]){5, 3}, 2), 1, "seq 3 after 5 (inside the window) is accepted");
	CHECK_EQ_INT(
	    seqs((uint64_t[]){5, 3, 3}, 3), CHAN_ERR_REPLAY, "... but only once: CHAN_ERR_REPLAY");
	CHECK_EQ_INT(seqs((uint64_t[]){5, 3, 4, 6}, 4), 1, "5, 3, 4, 6: all accepted");
	CHECK_EQ_INT(seqs((uint64_t[]){1, 100, 37}, 3), 1,
	    "seq 37 after 100 (63 behind, the window's oldest) is accepted");
	CHECK_EQ_INT(seqs((uint64_t[]){1, 100, 36}, 3), CHAN_ERR_OLD,
	    "seq 36 after 100 (64 behind, outside the window): CHAN_ERR_OLD");
	CHECK_EQ_INT(
	    seqs((uint64_t[]){1, 100, 1}, 3), CHAN_ERR_OLD, "seq 1 after 100: CHAN_ERR_OLD");
	CHECK_EQ_INT(seqs((uint64_t[]){UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 64}, 3),
	    CHAN_ERR_OLD, "near 2^64: 64 behind is outside the window");
	CHECK_EQ_INT(seqs((uint64_t[]){UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 63}, 3), 1,
	    "near 2^64: 63 behind is inside");
	CHECK_EQ_INT(
	    seqs((uint64_t[]){10, 74, 11}, 3), 1, "a jump of exactly 64: 11 is still inside");
	CHECK_EQ_INT(seqs((uint64_t[]){10, 74, 10}, 3), CHAN_ERR_OLD, "... and 10 is outside");
	CHECK_EQ_INT(seqs((uint64_t[]){10, 200, 10}, 3), CHAN_ERR_OLD,
	    "a jump over the window forgets everything before it");
}

static void
test_sender(void)
{
	unsigned char fr[256];
	struct chan_dec *d;
	struct chan_frame f;
	size_t len;
	int rv;

	len = raw_frame(fr, key, CHAN_VERSION, CHAN_HEARTBEAT, 8, 1, 0, "", 0);
	CHECK_EQ_INT(
	    decode_one(fr, len, &f), CHAN_ERR_SENDER, "a frame from node 8 when 7 is expected");
	len = raw_frame(fr, key, CHAN_VERSION, CHAN_HEARTBEAT, CHAN_NODE_MANAGER, 1, 0, "", 0);
	CHECK_EQ_INT(
	    decode_one(fr, len, &f), CHAN_ERR_SENDER, "a frame from ourselves (reflected)");

	d = chan_dec_new(key, CHAN_NODE_MANAGER, CHAN_PEER_ANY);
	len = raw_frame(fr, key, CHAN_VERSION, CHAN_HELLO, 9, 1, 0, "", 0);
	chan_dec_feed(d, fr, len);
	rv = chan_dec_next(d, &f);
	CHECK(rv == 1 && f.from == 9 && chan_dec_peer(d) == 9,
	    "CHAN_PEER_ANY: the first frame's sender (9) is accepted and pinned");
	len = raw_frame(fr, key, CHAN_VERSION, CHAN_HEARTBEAT, 10, 2, 0, "", 0);
	chan_dec_feed(d, fr, len);
	CHECK_EQ_INT(chan_dec_next(d, &f), CHAN_ERR_SENDER, "then node 10 is refused");
	chan_dec_free(d);

	d = chan_dec_new(key, CHAN_NODE_MANAGER, CHAN_PEER_ANY);
	len = raw_frame(fr, key, CHAN_VERSION, CHAN_HELLO, CHAN_NODE_MANAGER, 1, 0, "", 0);
	chan_dec_feed(d, fr, len);
	CHECK(chan_dec_next(d, &f) == CHAN_ERR_SENDER && chan_dec_peer(d) == CHAN_PEER_ANY,
	    "CHAN_PEER_ANY still refuses a frame from ourselves, and pins nothing");
	chan_dec_free(d);
}

static void
test_garbage_payload(void)
{
	static const unsigned char junk[][6] = {
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* an unterminated varint tag */
	    {0x0a, 0x7f, 0x41, 0x41, 0x41, 0x41}, /* string field 1 of length 127, 4 bytes there */
	    {0x0f, 0x00, 0x00, 0x00, 0x00, 0x00}, /* wire type 7 */
	};
	unsigned char fr[256];
	struct chan_frame f;
	size_t len;
	int bad = 0;

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		len = raw_frame(fr, key, CHAN_VERSION, CHAN_HELLO, AGENT, 1, 0, junk[i], 6);
		if (decode_one(fr, len, &f) != 1 || chan_frame_unpack(&f) != NULL)
			bad++;
	}
	CHECK(bad == 0, "garbage payloads under a valid MAC: framed fine, unpack gives NULL");
	len = raw_frame(fr, key, CHAN_VERSION, CHAN_HELLO, AGENT, 1, 0, "", 0);
	if (decode_one(fr, len, &f) == 1) {
		State__Hello *h = (State__Hello *)chan_frame_unpack(&f);

		CHECK(h != NULL && h->agent_id == 0 && strcmp(h->software_version, "") == 0,
		    "an empty payload is a message with every field at its default");
		if (h != NULL)
			state__hello__free_unpacked(h, NULL);
	}
}

static void
test_sticky(void)
{
	unsigned char fr[256], good[256];
	struct chan_dec *d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	struct chan_frame f;
	size_t len = good_frame(fr, 1), glen = good_frame(good, 2);
	int rv;

	fr[len - 5] ^= 0x10;
	chan_dec_feed(d, fr, len);
	rv = chan_dec_next(d, &f);
	CHECK_EQ_INT(rv, CHAN_ERR_MAC, "a bad MAC fails the decoder");
	CHECK(chan_dec_feed(d, good, glen) == CHAN_ERR_MAC &&
		chan_dec_next(d, &f) == CHAN_ERR_MAC && chan_dec_feed(d, good, 0) == CHAN_ERR_MAC,
	    "after it, a good frame is refused with the same error, by feed and by next");
	chan_dec_free(d);

	d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	len = raw_frame(fr, key, 9, CHAN_HOLD_REQ, AGENT, 1, 0, "", 0);
	chan_dec_feed(d, fr, len);
	CHECK(chan_dec_feed(d, good, glen) == CHAN_ERR_VERSION &&
		chan_dec_next(d, &f) == CHAN_ERR_VERSION,
	    "after a bad version, everything is refused");
	chan_dec_free(d);

	d = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	len = good_frame(fr, 1);
	chan_dec_feed(d, fr, len);
	chan_dec_next(d, &f);
	chan_dec_feed(d, fr, len);
	rv = chan_dec_next(d, &f);
	CHECK(rv == CHAN_ERR_REPLAY && chan_dec_feed(d, good, glen) == CHAN_ERR_REPLAY,
	    "after a replay, the next good frame (seq 2) is refused as well");
	chan_dec_free(d);
	chan_dec_free(NULL);
}

static void
test_encode_args(void)
{
	unsigned char out[256];
	State__Hello h;
	State__Welcome w;

	state__hello__init(&h);
	state__welcome__init(&w);
	CHECK_EQ_INT(chan_frame_encode(key, (enum chan_msg)4, 1, 1, 0, "", 0, out, sizeof(out)),
	    CHAN_ERR_TYPE, "encode: type 4 is CHAN_ERR_TYPE");
	CHECK_EQ_INT(chan_frame_encode(key, CHAN_HELLO, 1, 0, 0, "", 0, out, sizeof(out)),
	    CHAN_ERR_INVALID, "encode: seq 0 is CHAN_ERR_INVALID");
	CHECK_EQ_INT(chan_frame_encode(key, CHAN_HELLO, 1, 1, 0, NULL, 3, out, sizeof(out)),
	    CHAN_ERR_INVALID, "encode: a NULL payload of 3 bytes is CHAN_ERR_INVALID");
	CHECK_EQ_INT(chan_frame_pack(key, CHAN_WELCOME, 1, 1, 0, &h.base, out, sizeof(out)),
	    CHAN_ERR_INVALID, "pack: a Hello as WELCOME is CHAN_ERR_INVALID");
	CHECK_EQ_INT(
	    chan_frame_pack(key, CHAN_WELCOME, 1, 1, 0, &w.base, out, CHAN_FRAME_LEN(0) - 1),
	    CHAN_ERR_SPACE, "pack: no room is CHAN_ERR_SPACE");
	CHECK_EQ_INT(chan_frame_pack(key, CHAN_WELCOME, 1, 1, 0, &w.base, out, CHAN_FRAME_LEN(0)),
	    CHAN_FRAME_LEN(0), "pack: an all-default Welcome is a frame with an empty payload");
}

int
main(void)
{
	for (int i = 0; i < CHAN_KEY_LEN; i++)
		key[i] = (unsigned char)i;
	test_known_answer();
	test_names();
	test_roundtrip_all();
	test_splits();
	test_mac();
	test_header();
	test_max_payload();
	test_replay();
	test_sender();
	test_garbage_payload();
	test_sticky();
	test_encode_args();
	chan_dec_free(last);
	return check_done();
}
