/* Fuzzes the state-channel framing (proto/chan.h) with a fixed channel key.
 *
 * Input: byte 0 picks the mode bits and the length of a chunk schedule (bytes 1 … n); the rest
 * is the body. Every stream is fed to a decoder in chunks whose sizes cycle through the schedule.
 * Invariants, in every mode:
 * - never a crash; chan_dec_buffered() never over CHAN_FRAME_MAX; feed never takes more than given;
 * - every frame given out is, byte for byte, the next CHAN_FRAME_LEN(len) bytes of the stream,
 *   and its MAC verifies when recomputed here with GnuTLS directly;
 * - accepted seqs are positive and never repeat; the sender is never ourselves and never changes;
 * - after an error, feed and next return that same error for ever.
 * Modes:
 * - raw: the body itself is the stream (the seeds hold valid frames; beyond them, no MAC can be
 *   guessed, so this mostly works the header checks);
 * - frames: the body describes frames (type, sender, seq step, payload, one defect or none) that
 *   are encoded with the key and concatenated; the decoder must accept exactly the frames and stop
 *   with exactly the error that a plain model of §2.1 (checks in order, a set of seqs for the
 *   window) predicts;
 * - message: the body is unpacked as the message of a type it picks; when that works, the message
 *   goes through chan_frame_pack(), the decoder and chan_frame_unpack(), and packs to the same
 *   bytes. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/chan.h"

#define SELF CHAN_NODE_MANAGER
#define AGENT 7
#define STREAM_MAX 65536
#define FRAMES_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[CHAN_KEY_LEN] = {0x6b, 0x65, 0x79, 0x2d, 0x66, 0x75, 0x7a, 0x7a,
    0x2d, 0x63, 0x68, 0x61, 0x6e, 0x2d, 0x30, 0x31, 0x02, 0x03, 0x05, 0x07, 0x0b, 0x0d, 0x11, 0x13,
    0x17, 0x1d, 0x1f, 0x25, 0x29, 0x2b, 0x2f, 0x35};

static int types[CHAN_MSG_LAST + 1];
static int ntypes;

/* What the decoder did with a stream. */
struct outcome {
	int err; /* 0 or its error */
	size_t n; /* frames given out */
	uint64_t seq[FRAMES_MAX];
	enum chan_msg type[FRAMES_MAX];
};

static void
init(void)
{
	for (int t = 0; t <= CHAN_MSG_LAST; t++)
		if (chan_msg_name(t) != NULL)
			types[ntypes++] = t;
}

static uint64_t
le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The frame f claims to be the len bytes ending at stream + end: check it is. */
static void
check_frame(const struct chan_frame *f, const uint8_t *stream, size_t end)
{
	unsigned char mac[CHAN_MAC_LEN];
	const unsigned char *p;
	size_t flen = CHAN_FRAME_LEN(f->len);

	if (f->len > CHAN_PAYLOAD_MAX || flen > end)
		__builtin_trap();
	p = stream + end - flen;
	if (p[0] != CHAN_VERSION || le(p + 1, 2) != (uint64_t)f->type || le(p + 3, 8) != f->from ||
	    le(p + 11, 8) != f->seq || le(p + 19, 8) != f->corr || le(p + 27, 4) != f->len ||
	    memcmp(p + CHAN_HDR_LEN, f->payload, f->len) != 0 || chan_msg_name(f->type) == NULL)
		__builtin_trap();
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, sizeof(key), p, CHAN_HDR_LEN + f->len, mac) <
	    0)
		abort();
	if (memcmp(mac, p + CHAN_HDR_LEN + f->len, CHAN_MAC_LEN) != 0)
		__builtin_trap();
}

/* Feed stream (len bytes) to a new decoder expecting peer, in chunks cycling through sched. */
static void
drive(const uint8_t *stream, size_t len, const uint8_t *sched, size_t nsched, uint64_t peer,
    struct outcome *o)
{
	struct chan_dec *d = chan_dec_new(key, SELF, peer);
	struct chan_frame f;
	size_t off = 0, step = 0, c;
	uint64_t from = CHAN_PEER_ANY;
	ssize_t n;
	int rv;

	if (d == NULL)
		abort();
	memset(o, 0, sizeof(*o));
	while (off < len) {
		c = len - off;
		if (nsched > 0) {
			unsigned v = sched[step++ % nsched];
			if (1 + v * v / 16 < c)
				c = 1 + v * v / 16;
		}
		n = chan_dec_feed(d, stream + off, c);
		if (chan_dec_buffered(d) > CHAN_FRAME_MAX || n > (ssize_t)c)
			__builtin_trap();
		if (n < 0) {
			o->err = (int)n;
			break;
		}
		off += (size_t)n;
		rv = chan_dec_next(d, &f);
		if (rv < 0) {
			o->err = rv;
			break;
		}
		if (rv == 0) {
			if (n == 0 && c > 0)
				__builtin_trap(); /* took nothing and has nothing to give: stuck */
			continue;
		}
		check_frame(&f, stream, off);
		if (f.seq == 0 || f.from == SELF || (from != CHAN_PEER_ANY && f.from != from) ||
		    (peer != CHAN_PEER_ANY && f.from != peer) || chan_dec_peer(d) != f.from)
			__builtin_trap();
		from = f.from;
		for (size_t i = 0; i < o->n; i++)
			if (o->seq[i] == f.seq)
				__builtin_trap();
		if (o->n < FRAMES_MAX) {
			o->seq[o->n] = f.seq;
			o->type[o->n] = f.type;
		}
		o->n++;
		ProtobufCMessage *m = chan_frame_unpack(&f);
		if (m != NULL)
			protobuf_c_message_free_unpacked(m, NULL);
	}
	if (o->err != 0 &&
	    (chan_dec_feed(d, stream, len) != o->err || chan_dec_next(d, &f) != o->err))
		__builtin_trap();
	chan_dec_free(d);
}

/* The next input byte, 0 after the end. */
static unsigned
next(const uint8_t **data, size_t *size)
{
	unsigned b = 0;

	if (*size > 0) {
		b = **data;
		(*data)++;
		(*size)--;
	}
	return b;
}

/* A frame as frames mode builds it. */
struct spec {
	unsigned version, type;
	uint64_t from, seq;
	uint32_t len; /* the header's; payload bytes present only when <= CHAN_PAYLOAD_MAX */
	int bad_mac;
};

/* What §2.1 says of a frame, given the seqs accepted so far and the pinned peer; the decoder
 * checks version, type, length, MAC, sender, seq in that order. */
static int
model(const struct spec *s, const uint64_t *acc, size_t nacc, uint64_t *peer)
{
	uint64_t top = 0;

	if (s->version != CHAN_VERSION)
		return CHAN_ERR_VERSION;
	if (chan_msg_name((int)s->type) == NULL)
		return CHAN_ERR_TYPE;
	if (s->len > CHAN_PAYLOAD_MAX)
		return CHAN_ERR_LENGTH;
	if (s->bad_mac)
		return CHAN_ERR_MAC;
	if (s->from == SELF || s->from == CHAN_PEER_ANY ||
	    (*peer != CHAN_PEER_ANY && s->from != *peer))
		return CHAN_ERR_SENDER;
	for (size_t i = 0; i < nacc; i++)
		if (acc[i] > top)
			top = acc[i];
	if (s->seq == 0 || (s->seq < top && top - s->seq >= CHAN_WINDOW))
		return CHAN_ERR_OLD;
	for (size_t i = 0; i < nacc; i++)
		if (acc[i] == s->seq)
			return CHAN_ERR_REPLAY;
	*peer = s->from;
	return 1;
}

static void
mode_frames(const uint8_t *data, size_t size, const uint8_t *sched, size_t nsched, int any)
{
	static uint8_t stream[STREAM_MAX];
	static uint64_t acc[FRAMES_MAX];
	static const uint64_t froms[] = {AGENT, 8, 9, 10, SELF, CHAN_PEER_ANY, 1, UINT64_MAX - 1};
	uint64_t peer = any ? CHAN_PEER_ANY : AGENT, origin = any ? 9 : AGENT, last = 0;
	unsigned char payload[256];
	struct outcome o;
	struct spec s;
	size_t len = 0, nacc = 0;
	int want = 0;

	while (size > 0 && nacc < FRAMES_MAX && want == 0) {
		unsigned kind = next(&data, &size), plen = next(&data, &size) % 64;

		memset(&s, 0, sizeof(s));
		s.version = CHAN_VERSION;
		s.type = (unsigned)types[next(&data, &size) % ntypes];
		s.from = origin;
		switch (kind % 8) {
		case 0: s.seq = last + 1 + next(&data, &size) % 4; break;
		case 1:
			s.seq = last - next(&data, &size) % 80;
			break; /* replay, in or out of window */
		case 2: s.seq = last + 60 + next(&data, &size); break;
		default: s.seq = last + 1; break;
		}
		if ((kind >> 3) % 16 == 1)
			s.bad_mac = 1;
		if ((kind >> 3) % 16 == 2)
			s.from = froms[next(&data, &size) % 8];
		if ((kind >> 3) % 32 == 3)
			s.version = next(&data, &size);
		if ((kind >> 3) % 32 == 4)
			s.type = next(&data, &size) | next(&data, &size) << 8;
		if ((kind >> 3) % 32 == 5)
			s.len = CHAN_PAYLOAD_MAX + 1 + next(&data, &size);
		else
			s.len = plen;
		for (unsigned i = 0; i < plen; i++)
			payload[i] = (unsigned char)next(&data, &size);
		if (len + CHAN_FRAME_LEN(plen) > sizeof(stream))
			break;

		/* Encode by hand (chan_frame_encode() refuses bad types and lengths). */
		uint8_t *p = stream + len;
		p[0] = (uint8_t)s.version;
		for (int i = 0; i < 2; i++)
			p[1 + i] = (uint8_t)(s.type >> (8 * i));
		for (int i = 0; i < 8; i++) {
			p[3 + i] = (uint8_t)(s.from >> (8 * i));
			p[11 + i] = (uint8_t)(s.seq >> (8 * i));
			p[19 + i] = (uint8_t)(len >> (8 * i));
		}
		for (int i = 0; i < 4; i++)
			p[27 + i] = (uint8_t)(s.len >> (8 * i));
		if (s.len > CHAN_PAYLOAD_MAX) {
			len += CHAN_HDR_LEN; /* the decoder must stop here, before any payload */
		} else {
			memcpy(p + CHAN_HDR_LEN, payload, plen);
			if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, sizeof(key), p,
				CHAN_HDR_LEN + plen, p + CHAN_HDR_LEN + plen) < 0)
				abort();
			if (s.bad_mac)
				p[CHAN_HDR_LEN + plen + plen % CHAN_MAC_LEN] ^=
				    (uint8_t)(1 << (kind % 8));
			len += CHAN_FRAME_LEN(plen);
			/* chan_frame_encode() must produce the same bytes for a well-formed frame. */
			if (s.version == CHAN_VERSION && chan_msg_name((int)s.type) != NULL &&
			    !s.bad_mac && s.seq > 0) {
				unsigned char again[CHAN_FRAME_LEN(64)];
				ssize_t n = chan_frame_encode(key, (enum chan_msg)s.type, s.from,
				    s.seq, (uint64_t)(p - stream), payload, plen, again,
				    sizeof(again));

				if (n != (ssize_t)CHAN_FRAME_LEN(plen) ||
				    memcmp(again, p, (size_t)n) != 0)
					__builtin_trap();
			}
		}
		if ((want = model(&s, acc, nacc, &peer)) == 1) {
			acc[nacc++] = s.seq;
			want = 0;
		}
		if (s.seq > last && want == 0)
			last = s.seq;
	}
	drive(stream, len, sched, nsched, any ? CHAN_PEER_ANY : AGENT, &o);
	if (o.n != nacc || o.err != want)
		__builtin_trap();
	for (size_t i = 0; i < nacc; i++)
		if (o.seq[i] != acc[i])
			__builtin_trap();
}

/* Whether the message of type does not unpack from the n bytes of p. */
static int
unpacks_to_null(enum chan_msg type, const unsigned char *p, size_t n)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(chan_msg_descriptor(type), NULL, n, p);

	if (m == NULL)
		return 1;
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static void
mode_message(const uint8_t *data, size_t size)
{
	static unsigned char frame[CHAN_FRAME_LEN(8192)];
	enum chan_msg type = (enum chan_msg)types[next(&data, &size) % ntypes];
	ProtobufCMessage *msg, *back = NULL;
	struct chan_dec *d = NULL;
	struct chan_frame f;
	unsigned char *a = NULL, *b = NULL;
	size_t n;
	ssize_t len;

	if ((msg = protobuf_c_message_unpack(chan_msg_descriptor(type), NULL, size, data)) == NULL)
		return;
	len = chan_frame_pack(key, type, AGENT, 1 + size, size, msg, frame, sizeof(frame));
	n = protobuf_c_message_get_packed_size(msg);
	if (len < 0) {
		if (len != CHAN_ERR_SPACE || CHAN_FRAME_LEN(n) <= sizeof(frame))
			__builtin_trap();
		goto out;
	}
	if ((d = chan_dec_new(key, SELF, AGENT)) == NULL)
		abort();
	if (chan_dec_feed(d, frame, (size_t)len) != len || chan_dec_next(d, &f) != 1 ||
	    f.type != type || f.seq != 1 + size || f.corr != size || f.len != n)
		__builtin_trap();
	if ((a = malloc(n + 1)) == NULL || (b = malloc(n + 1)) == NULL)
		abort();
	if (protobuf_c_message_pack(msg, a) != n || memcmp(a, f.payload, n) != 0)
		__builtin_trap();
	/* protobuf-c 1.4.1 keeps an unknown field numbered 0 when its tag is padded (80 80 00) and
	 * then refuses its own minimal repacking (00): unpack fails exactly when it fails on the
	 * packed bytes outside the frame too. */
	back = chan_frame_unpack(&f);
	if ((back == NULL) != (unpacks_to_null(type, a, n)))
		__builtin_trap();
	if (back != NULL &&
	    (protobuf_c_message_get_packed_size(back) != n ||
		protobuf_c_message_pack(back, b) != n || memcmp(a, b, n) != 0))
		__builtin_trap();
out:
	free(a);
	free(b);
	chan_dec_free(d);
	if (back != NULL)
		protobuf_c_message_free_unpacked(back, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome o;
	unsigned mode;
	size_t nsched;

	if (ntypes == 0)
		init();
	if (size == 0)
		return 0;
	mode = data[0] >> 4;
	nsched = data[0] % 16;
	if (nsched > size - 1)
		nsched = size - 1;
	const uint8_t *sched = data + 1, *body = data + 1 + nsched;
	size_t blen = size - 1 - nsched;

	drive(body, blen, sched, nsched, mode & 1 ? CHAN_PEER_ANY : AGENT, &o);
	mode_frames(body, blen, sched, nsched, mode & 1);
	mode_message(body, blen);
	return 0;
}
