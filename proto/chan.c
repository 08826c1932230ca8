#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"

#define BUF_MIN 4096 /* first allocation of a decoder's buffer; it doubles up to CHAN_FRAME_MAX */

/* Header field offsets (proto/README.md §2.1). */
#define OFF_VERSION 0
#define OFF_TYPE 1
#define OFF_FROM 3
#define OFF_SEQ 11
#define OFF_CORR 19
#define OFF_LEN 27

static const struct {
	const char *name;
	const ProtobufCMessageDescriptor *desc;
} msgs[CHAN_MSG_LAST + 1] = {
    [CHAN_HELLO] = {"HELLO", &state__hello__descriptor},
    [CHAN_WELCOME] = {"WELCOME", &state__welcome__descriptor},
    [CHAN_REJECT] = {"REJECT", &state__reject__descriptor},
    [CHAN_SNAPSHOT_BEGIN] = {"SNAPSHOT_BEGIN", &state__snapshot_begin__descriptor},
    [CHAN_SNAPSHOT_END] = {"SNAPSHOT_END", &state__snapshot_end__descriptor},
    [CHAN_KEY] = {"KEY", &state__key__descriptor},
    [CHAN_REVOKED] = {"REVOKED", &state__revoked__descriptor},
    [CHAN_GRANT] = {"GRANT", &state__grant__descriptor},
    [CHAN_POOL] = {"POOL", &state__pool__descriptor},
    [CHAN_LIMITS] = {"LIMITS", &state__limits__descriptor},
    [CHAN_KEY_ADD] = {"KEY_ADD", &state__key_add__descriptor},
    [CHAN_KEY_RETIRE] = {"KEY_RETIRE", &state__key_retire__descriptor},
    [CHAN_REVOKE] = {"REVOKE", &state__revoke__descriptor},
    [CHAN_GRANT_RELEASE] = {"GRANT_RELEASE", &state__grant_release__descriptor},
    [CHAN_SESSION_KILL] = {"SESSION_KILL", &state__session_kill__descriptor},
    [CHAN_POOL_UPDATE] = {"POOL_UPDATE", &state__pool_update__descriptor},
    [CHAN_ALLOC_REQ] = {"ALLOC_REQ", &state__alloc_req__descriptor},
    [CHAN_ALLOC_RES] = {"ALLOC_RES", &state__alloc_res__descriptor},
    [CHAN_HOLD_REQ] = {"HOLD_REQ", &state__hold_req__descriptor},
    [CHAN_SESSION_UP] = {"SESSION_UP", &state__session_up__descriptor},
    [CHAN_SESSION_DOWN] = {"SESSION_DOWN", &state__session_down__descriptor},
    [CHAN_STATS] = {"STATS", &state__stats__descriptor},
    [CHAN_HEARTBEAT] = {"HEARTBEAT", &state__heartbeat__descriptor},
};

struct chan_dec {
	unsigned char key[CHAN_KEY_LEN];
	uint64_t self, peer;
	uint64_t top; /* the highest seq accepted, 0 before the first */
	uint64_t seen; /* bit i: seq top - i was accepted */
	unsigned char *buf; /* the frame being read, from its first byte */
	size_t cap, used;
	size_t need; /* length of that frame: CHAN_HDR_LEN until its header is in */
	int delivered; /* chan_dec_next() gave it out: the next feed starts a new frame */
	int err; /* the first error, returned ever after */
};

const char *
chan_msg_name(int type)
{
	if (type < 0 || type > CHAN_MSG_LAST)
		return NULL;
	return msgs[type].name;
}

const ProtobufCMessageDescriptor *
chan_msg_descriptor(int type)
{
	if (type < 0 || type > CHAN_MSG_LAST)
		return NULL;
	return msgs[type].desc;
}

const char *
chan_err_str(int err)
{
	switch (err) {
	case CHAN_OK: return "ok";
	case CHAN_ERR_VERSION: return "unknown envelope version";
	case CHAN_ERR_TYPE: return "unknown message type";
	case CHAN_ERR_LENGTH: return "payload length over 1 MiB";
	case CHAN_ERR_MAC: return "bad frame MAC";
	case CHAN_ERR_SENDER: return "frame from an unexpected node id";
	case CHAN_ERR_REPLAY: return "replayed seq";
	case CHAN_ERR_OLD: return "seq zero or older than the replay window";
	case CHAN_ERR_SPACE: return "output buffer too small";
	case CHAN_ERR_DECODE: return "payload is not a message of its type";
	case CHAN_ERR_INVALID: return "invalid argument";
	case CHAN_ERR_INTERNAL: return "internal error";
	}
	return "unknown error";
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The checks chan_frame_encode() and chan_frame_pack() share, before writing anything. */
static int
frame_check(enum chan_msg type, uint64_t seq, size_t len, size_t cap)
{
	if (chan_msg_name(type) == NULL)
		return CHAN_ERR_TYPE;
	if (len > CHAN_PAYLOAD_MAX)
		return CHAN_ERR_LENGTH;
	if (seq == 0)
		return CHAN_ERR_INVALID;
	if (CHAN_FRAME_LEN(len) > cap)
		return CHAN_ERR_SPACE;
	return 0;
}

/* Write the header in front of the len payload bytes already at out + CHAN_HDR_LEN, and the MAC
 * after them. */
static ssize_t
frame_seal(const unsigned char key[CHAN_KEY_LEN], enum chan_msg type, uint64_t from, uint64_t seq,
    uint64_t corr, size_t len, unsigned char *out)
{
	out[OFF_VERSION] = CHAN_VERSION;
	put_le(out + OFF_TYPE, (uint64_t)type, 2);
	put_le(out + OFF_FROM, from, 8);
	put_le(out + OFF_SEQ, seq, 8);
	put_le(out + OFF_CORR, corr, 8);
	put_le(out + OFF_LEN, len, 4);
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, CHAN_KEY_LEN, out, CHAN_HDR_LEN + len,
		out + CHAN_HDR_LEN + len) < 0)
		return CHAN_ERR_INTERNAL;
	return (ssize_t)CHAN_FRAME_LEN(len);
}

ssize_t
chan_frame_encode(const unsigned char key[CHAN_KEY_LEN], enum chan_msg type, uint64_t from,
    uint64_t seq, uint64_t corr, const void *payload, size_t len, unsigned char *out, size_t cap)
{
	int rv;

	if ((rv = frame_check(type, seq, len, cap)) < 0)
		return rv;
	if (len > 0 && payload == NULL)
		return CHAN_ERR_INVALID;
	if (len > 0)
		memmove(out + CHAN_HDR_LEN, payload, len);
	return frame_seal(key, type, from, seq, corr, len, out);
}

ssize_t
chan_frame_pack(const unsigned char key[CHAN_KEY_LEN], enum chan_msg type, uint64_t from,
    uint64_t seq, uint64_t corr, const ProtobufCMessage *msg, unsigned char *out, size_t cap)
{
	size_t len;
	int rv;

	if (chan_msg_descriptor(type) == NULL)
		return CHAN_ERR_TYPE;
	if (msg == NULL || msg->descriptor != chan_msg_descriptor(type))
		return CHAN_ERR_INVALID;
	len = protobuf_c_message_get_packed_size(msg);
	if ((rv = frame_check(type, seq, len, cap)) < 0)
		return rv;
	if (protobuf_c_message_pack(msg, out + CHAN_HDR_LEN) != len)
		return CHAN_ERR_INTERNAL;
	return frame_seal(key, type, from, seq, corr, len, out);
}

ProtobufCMessage *
chan_frame_unpack(const struct chan_frame *f)
{
	const ProtobufCMessageDescriptor *desc = chan_msg_descriptor(f->type);

	if (desc == NULL)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, f->len, f->payload);
}

struct chan_dec *
chan_dec_new(const unsigned char key[CHAN_KEY_LEN], uint64_t self, uint64_t peer)
{
	struct chan_dec *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	memcpy(d->key, key, CHAN_KEY_LEN);
	d->self = self;
	d->peer = peer;
	d->need = CHAN_HDR_LEN;
	return d;
}

void
chan_dec_free(struct chan_dec *d)
{
	if (d == NULL)
		return;
	gnutls_memset(d->key, 0, sizeof(d->key));
	free(d->buf);
	free(d);
}

static int
dec_fail(struct chan_dec *d, int err)
{
	d->err = err;
	return err;
}

/* Room for need bytes in d->buf; need is at most CHAN_FRAME_MAX. */
static int
dec_reserve(struct chan_dec *d, size_t need)
{
	unsigned char *p;
	size_t cap = d->cap > 0 ? d->cap : BUF_MIN;

	if (need <= d->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > CHAN_FRAME_MAX)
		cap = CHAN_FRAME_MAX;
	if ((p = realloc(d->buf, cap)) == NULL)
		return CHAN_ERR_INTERNAL;
	d->buf = p;
	d->cap = cap;
	return 0;
}

/* Judge a complete header before any payload byte is taken; set d->need to the frame length. */
static int
dec_header(struct chan_dec *d)
{
	uint64_t len = get_le(d->buf + OFF_LEN, 4);

	if (chan_msg_name((int)get_le(d->buf + OFF_TYPE, 2)) == NULL)
		return CHAN_ERR_TYPE;
	if (len > CHAN_PAYLOAD_MAX)
		return CHAN_ERR_LENGTH;
	d->need = CHAN_FRAME_LEN(len);
	return 0;
}

ssize_t
chan_dec_feed(struct chan_dec *d, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t taken = 0, n;
	int rv;

	if (d->err)
		return d->err;
	if (d->delivered) {
		d->used = 0;
		d->need = CHAN_HDR_LEN;
		d->delivered = 0;
	}
	while (taken < len && d->used < d->need) {
		if ((rv = dec_reserve(d, d->need)) < 0)
			return dec_fail(d, rv);
		n = d->need - d->used;
		if (n > len - taken)
			n = len - taken;
		memcpy(d->buf + d->used, p + taken, n);
		d->used += n;
		taken += n;
		/* Refuse a foreign stream at its first byte, whatever follows. */
		if (d->buf[OFF_VERSION] != CHAN_VERSION)
			return dec_fail(d, CHAN_ERR_VERSION);
		if (d->need == CHAN_HDR_LEN && d->used == CHAN_HDR_LEN && (rv = dec_header(d)) < 0)
			return dec_fail(d, rv);
	}
	return (ssize_t)taken;
}

/* The RFC 4303 window: 0 when seq may be accepted. */
static int
dec_window_check(const struct chan_dec *d, uint64_t seq)
{
	if (seq == 0)
		return CHAN_ERR_OLD;
	if (seq > d->top)
		return 0;
	if (d->top - seq >= CHAN_WINDOW)
		return CHAN_ERR_OLD;
	if (d->seen & (UINT64_C(1) << (d->top - seq)))
		return CHAN_ERR_REPLAY;
	return 0;
}

static void
dec_window_accept(struct chan_dec *d, uint64_t seq)
{
	uint64_t shift;

	if (seq > d->top) {
		shift = seq - d->top;
		d->seen = shift >= CHAN_WINDOW ? 1 : d->seen << shift | 1;
		d->top = seq;
	} else {
		d->seen |= UINT64_C(1) << (d->top - seq);
	}
}

int
chan_dec_next(struct chan_dec *d, struct chan_frame *f)
{
	unsigned char mac[CHAN_MAC_LEN];
	size_t len;
	uint64_t from, seq;
	int rv;

	if (d->err)
		return d->err;
	if (d->delivered || d->used < d->need)
		return 0;
	len = d->need - CHAN_HDR_LEN - CHAN_MAC_LEN;
	if (gnutls_hmac_fast(
		GNUTLS_MAC_SHA256, d->key, CHAN_KEY_LEN, d->buf, CHAN_HDR_LEN + len, mac) < 0)
		return dec_fail(d, CHAN_ERR_INTERNAL);
	if (gnutls_memcmp(mac, d->buf + CHAN_HDR_LEN + len, CHAN_MAC_LEN) != 0)
		return dec_fail(d, CHAN_ERR_MAC);
	from = get_le(d->buf + OFF_FROM, 8);
	seq = get_le(d->buf + OFF_SEQ, 8);
	if (from == d->self || from == CHAN_PEER_ANY ||
	    (d->peer != CHAN_PEER_ANY && from != d->peer))
		return dec_fail(d, CHAN_ERR_SENDER);
	if ((rv = dec_window_check(d, seq)) < 0)
		return dec_fail(d, rv);
	dec_window_accept(d, seq);
	d->peer = from;
	d->delivered = 1;
	f->type = (enum chan_msg)get_le(d->buf + OFF_TYPE, 2);
	f->from = from;
	f->seq = seq;
	f->corr = get_le(d->buf + OFF_CORR, 8);
	f->payload = d->buf + CHAN_HDR_LEN;
	f->len = len;
	return 1;
}

size_t
chan_dec_buffered(const struct chan_dec *d)
{
	return d->used;
}

uint64_t
chan_dec_peer(const struct chan_dec *d)
{
	return d->peer;
}
