/* State-channel framing (proto/README.md §2.1): the authenticated envelope every manager <-> agent
 * message crosses, both ways. A frame is
 *
 *   version (1) | type (2 LE) | from_node_id (8 LE) | seq (8 LE) | correlation id (8 LE) |
 *   payload length (4 LE, <= CHAN_PAYLOAD_MAX) | payload | HMAC-SHA256 (32)
 *
 * with the MAC over everything before it, keyed with the 32-byte channel key. The payload is one
 * protobuf-c message of proto/state.proto, the type says which (enum chan_msg).
 *
 * A decoder (struct chan_dec) belongs to one connection: it takes the byte stream in pieces of any
 * size, buffers at most one frame (never more than CHAN_FRAME_MAX bytes), and gives out frames
 * whose version, type, length, MAC, sender and seq are all checked, in that order. The length is
 * judged from the header alone, before any payload byte is taken; the MAC is compared in constant
 * time before anything else looks at the payload. Any error is final: the decoder then refuses
 * everything and the connection must be dropped.
 *
 * Replay protection is a sliding window of CHAN_WINDOW seqs per decoder (RFC 4303 §3.4.3): seq 0,
 * a seq already accepted and a seq older than the window are refused; a seq inside the window not
 * seen before is accepted even out of order. Over a stream socket the peer's seqs arrive in order,
 * so the window is a guard against frames recorded and injected again, not a reordering buffer.
 * The window lives as long as the decoder, that is one connection (seqs restart at 1 on each).
 *
 * The generated message types are in "proto/state.pb-c.h" (built from proto/state.proto into
 * $(BUILD)/gen). Initialise them with the state__*__init() functions: the STATE__*__INIT macros
 * cast away const and do not compile under -Wcast-qual -Werror. */
#ifndef PROTO_CHAN_H
#define PROTO_CHAN_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/state.pb-c.h"

#define CHAN_VERSION 1 /* envelope version */
#define CHAN_KEY_LEN 32
#define CHAN_HDR_LEN 31 /* version .. payload length */
#define CHAN_MAC_LEN 32
#define CHAN_PAYLOAD_MAX (1024 * 1024)
#define CHAN_FRAME_LEN(n) (CHAN_HDR_LEN + (size_t)(n) + CHAN_MAC_LEN)
#define CHAN_FRAME_MAX CHAN_FRAME_LEN(CHAN_PAYLOAD_MAX)
#define CHAN_WINDOW 64 /* replay window, in seqs */

#define CHAN_NODE_MANAGER 0 /* the manager's from_node_id */
#define CHAN_PEER_ANY UINT64_MAX /* chan_dec_new(): accept any sender, then pin the first one */

/* Message types (the frame's type field) and their payloads (proto/state.proto). */
enum chan_msg {
	/* handshake */
	CHAN_HELLO = 1, /* Hello, agent -> manager */
	CHAN_WELCOME = 2, /* Welcome */
	CHAN_REJECT = 3, /* Reject, then close */
	/* snapshot: BEGIN, items, END */
	CHAN_SNAPSHOT_BEGIN = 10, /* SnapshotBegin */
	CHAN_SNAPSHOT_END = 11, /* SnapshotEnd */
	CHAN_KEY = 12, /* Key */
	CHAN_REVOKED = 13, /* Revoked */
	CHAN_GRANT = 14, /* Grant */
	CHAN_POOL = 15, /* Pool */
	CHAN_LIMITS = 16, /* Limits */
	/* deltas */
	CHAN_KEY_ADD = 20, /* KeyAdd */
	CHAN_KEY_RETIRE = 21, /* KeyRetire */
	CHAN_REVOKE = 22, /* Revoke */
	CHAN_GRANT_RELEASE = 23, /* GrantRelease */
	CHAN_SESSION_KILL = 24, /* SessionKill */
	CHAN_POOL_UPDATE = 25, /* PoolUpdate */
	/* requests from the agent, replies by correlation id */
	CHAN_ALLOC_REQ = 30, /* AllocReq */
	CHAN_ALLOC_RES = 31, /* AllocRes, manager -> agent */
	CHAN_HOLD_REQ = 32, /* HoldReq */
	/* reports from the agent */
	CHAN_SESSION_UP = 40, /* SessionUp */
	CHAN_SESSION_DOWN = 41, /* SessionDown */
	CHAN_STATS = 42, /* Stats */
	CHAN_HEARTBEAT = 43, /* Heartbeat, both ways */
};
#define CHAN_MSG_LAST CHAN_HEARTBEAT /* the highest type; not every number below is one */

/* AllocReq.modes: the pool modes an agent forwards, a bit each. */
#define CHAN_MODE_IP 1u
#define CHAN_MODE_SCION 2u

/* 0 or one of these; chan_err_str() gives the text. Every decoder error is a protocol error:
 * log it and drop the connection. */
enum chan_err {
	CHAN_OK = 0,
	CHAN_ERR_VERSION = -1, /* envelope version is not CHAN_VERSION */
	CHAN_ERR_TYPE = -2, /* not a message type of enum chan_msg */
	CHAN_ERR_LENGTH = -3, /* payload length over CHAN_PAYLOAD_MAX */
	CHAN_ERR_MAC = -4, /* the HMAC does not verify: wrong key or altered bytes */
	CHAN_ERR_SENDER = -5, /* from_node_id is not the connection's peer (or is ourselves) */
	CHAN_ERR_REPLAY = -6, /* seq accepted before */
	CHAN_ERR_OLD = -7, /* seq 0, or older than the replay window */
	CHAN_ERR_SPACE = -8, /* encoding: the output buffer is too small */
	CHAN_ERR_DECODE = -9, /* the payload is not the protobuf message of its type */
	CHAN_ERR_INVALID = -10, /* a bad argument (seq 0, message of another type, NULL) */
	CHAN_ERR_INTERNAL = -11, /* out of memory, GnuTLS failed: not the peer's fault */
};

/* A verified frame. payload points into the decoder's buffer: valid until the next call of
 * chan_dec_feed() or chan_dec_free() on that decoder. */
struct chan_frame {
	enum chan_msg type;
	uint64_t from;
	uint64_t seq;
	uint64_t corr;
	const unsigned char *payload;
	size_t len;
};

/* The decoder of one connection; opaque. */
struct chan_dec;

/* "HELLO", "SNAPSHOT_BEGIN", … for a message type; NULL when type is not one. */
const char *chan_msg_name(int type);

/* The protobuf-c descriptor of type's payload (&state__hello__descriptor for CHAN_HELLO, …);
 * NULL when type is not a message type. */
const ProtobufCMessageDescriptor *chan_msg_descriptor(int type);

const char *chan_err_str(int err);

/* Write one frame into out (cap bytes): the header, the len bytes of payload (already packed;
 * NULL is fine when len is 0) and the MAC with key. seq must be > 0; from, corr are not judged.
 * Returns the frame length, CHAN_FRAME_LEN(len), or CHAN_ERR_TYPE (type unknown),
 * CHAN_ERR_LENGTH (len over CHAN_PAYLOAD_MAX), CHAN_ERR_INVALID (seq 0), CHAN_ERR_SPACE (cap too
 * small) or CHAN_ERR_INTERNAL; out is then unspecified. */
ssize_t chan_frame_encode(const unsigned char key[CHAN_KEY_LEN], enum chan_msg type, uint64_t from,
    uint64_t seq, uint64_t corr, const void *payload, size_t len, unsigned char *out, size_t cap);

/* chan_frame_encode() of msg packed in place: msg must be the message of type (its descriptor is
 * chan_msg_descriptor(type), else CHAN_ERR_INVALID). The caller keeps msg. Returns the frame length
 * or a negative enum chan_err as chan_frame_encode(). */
ssize_t chan_frame_pack(const unsigned char key[CHAN_KEY_LEN], enum chan_msg type, uint64_t from,
    uint64_t seq, uint64_t corr, const ProtobufCMessage *msg, unsigned char *out, size_t cap);

/* The payload of a verified frame (from chan_dec_next()) unpacked as the message of its type:
 * cast it to that type (State__Hello * for CHAN_HELLO, …) and free it with
 * protobuf_c_message_free_unpacked(m, NULL). NULL when the payload is not such a message
 * (CHAN_ERR_DECODE: a protocol error) or memory ran out. Unknown fields are kept, not refused. */
ProtobufCMessage *chan_frame_unpack(const struct chan_frame *f);

/* A decoder for a connection on which we are node self, receiving from node peer with the channel
 * key (copied; wiped on free). peer CHAN_PEER_ANY accepts the sender of the first verified frame
 * and then only it (the manager does not know an agent's id before its HELLO). Frames whose
 * from_node_id is self are always refused (reflected frames). NULL when out of memory. Free with
 * chan_dec_free() (NULL is fine). */
struct chan_dec *chan_dec_new(const unsigned char key[CHAN_KEY_LEN], uint64_t self, uint64_t peer);
void chan_dec_free(struct chan_dec *d);

/* Take bytes of the stream: as many of the len bytes of data as belong to the frame being read,
 * never beyond its end. Returns the number taken, 0 when a complete frame waits for
 * chan_dec_next(), or a negative enum chan_err (the header's version, type or length is bad, the
 * decoder has failed before, or CHAN_ERR_INTERNAL). Call it in a loop with chan_dec_next() until
 * the data is used up:
 *
 *	while (len > 0) {
 *		if ((n = chan_dec_feed(d, p, len)) < 0)
 *			drop;
 *		p += n, len -= n;
 *		if ((rv = chan_dec_next(d, &f)) < 0)
 *			drop;
 *		if (rv == 1)
 *			handle(&f);
 *	} */
ssize_t chan_dec_feed(struct chan_dec *d, const void *data, size_t len);

/* The frame read by chan_dec_feed(), verified: 1 and *f filled, 0 when more bytes are needed (or
 * the frame was given out already), or a negative enum chan_err. After an error every call of
 * chan_dec_feed() and chan_dec_next() returns that error again. */
int chan_dec_next(struct chan_dec *d, struct chan_frame *f);

/* Bytes held by the decoder now: at most CHAN_FRAME_MAX. */
size_t chan_dec_buffered(const struct chan_dec *d);

/* The peer's node id: as given to chan_dec_new(), or once pinned the sender of the first frame
 * (CHAN_PEER_ANY until then). */
uint64_t chan_dec_peer(const struct chan_dec *d);

#endif
