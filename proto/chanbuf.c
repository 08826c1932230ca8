#include <stdlib.h>
#include <string.h>

#include "chanbuf.h"
#include "chanio.h"

#define OUT_MIN 4096 /* first allocation of the queue; it doubles as needed */

struct chanbuf {
	unsigned char key[CHAN_KEY_LEN];
	uint64_t self;
	uint64_t seq; /* of the last frame put */
	size_t max;
	void (*want_write)(void *arg, int on);
	void *arg;
	int want; /* the last want_write() said 1 */
	unsigned char *out; /* the queue: out[off .. off + len) */
	size_t off, len, cap, peak;
	struct chan_dec *dec;
	unsigned char in[CHANBUF_READ_CHUNK];
};

struct chanbuf *
chanbuf_new(const struct chanbuf_config *cfg)
{
	struct chanbuf *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->dec = chan_dec_new(cfg->key, cfg->self, cfg->peer)) == NULL) {
		free(b);
		return NULL;
	}
	memcpy(b->key, cfg->key, CHAN_KEY_LEN);
	b->self = cfg->self;
	b->max = cfg->max;
	b->want_write = cfg->want_write;
	b->arg = cfg->arg;
	return b;
}

void
chanbuf_free(struct chanbuf *b)
{
	if (b == NULL)
		return;
	explicit_bzero(b->key, sizeof(b->key));
	chan_dec_free(b->dec);
	free(b->out);
	free(b);
}

/* Room for need more bytes after the queue: the queue moved to the front first, then grown. */
static int
out_reserve(struct chanbuf *b, size_t need)
{
	unsigned char *p;
	size_t cap;

	if (b->off + b->len + need <= b->cap)
		return 0;
	if (b->off > 0) {
		memmove(b->out, b->out + b->off, b->len);
		b->off = 0;
	}
	if (b->len + need <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : OUT_MIN; cap < b->len + need; cap *= 2)
		;
	if ((p = realloc(b->out, cap)) == NULL)
		return CHANBUF_NOMEM;
	b->out = p;
	b->cap = cap;
	return 0;
}

int
chanbuf_put(struct chanbuf *b, enum chan_msg type, uint64_t corr, const ProtobufCMessage *msg)
{
	size_t need = CHAN_FRAME_LEN(protobuf_c_message_get_packed_size(msg));
	ssize_t n;
	int rv;

	if (b->len + need > b->max)
		return CHANBUF_FULL;
	if ((rv = out_reserve(b, need)) < 0)
		return rv;
	n = chan_frame_pack(b->key, type, b->self, b->seq + 1, corr, msg, b->out + b->off + b->len,
	    b->cap - b->off - b->len);
	if (n < 0)
		return (int)n;
	b->seq++;
	b->len += (size_t)n;
	if (b->len > b->peak)
		b->peak = b->len;
	return 0;
}

uint64_t
chanbuf_seq(const struct chanbuf *b)
{
	return b->seq;
}

ssize_t
chanbuf_write(struct chanbuf *b, struct chanio *io, size_t max)
{
	size_t done = 0, n;
	ssize_t w;

	while (b->len > 0 && done < max) {
		n = b->len < max - done ? b->len : max - done;
		/* On AGAIN the queue keeps its head where it is: a TLS transport wants the same
		 * bytes offered again (chanio.h). */
		if ((w = chanio_write(io, b->out + b->off, n)) == CHANIO_AGAIN)
			break;
		if (w < 0)
			return CHANBUF_IO;
		b->off += (size_t)w;
		b->len -= (size_t)w;
		done += (size_t)w;
	}
	if (b->len == 0)
		b->off = 0;
	if ((b->len > 0) != b->want) {
		b->want = b->len > 0;
		if (b->want_write != NULL)
			b->want_write(b->arg, b->want);
	}
	return (ssize_t)done;
}

size_t
chanbuf_queued(const struct chanbuf *b)
{
	return b->len;
}

size_t
chanbuf_peak(const struct chanbuf *b)
{
	return b->peak;
}

ssize_t
chanbuf_read(struct chanbuf *b, struct chanio *io, size_t max, chanbuf_frame_fn fn, void *arg)
{
	const unsigned char *p;
	struct chan_frame f;
	size_t got = 0;
	ssize_t n, k;
	int rv;

	/* Past the budget, bytes TLS decrypted already are still taken: the socket will not
	 * signal them again, and they are at most one record. */
	while (got < max || chanio_pending(io) > 0) {
		if ((n = chanio_read(io, b->in, sizeof(b->in))) == CHANIO_AGAIN)
			break;
		if (n == CHANIO_CLOSED)
			return CHANBUF_CLOSED;
		if (n < 0)
			return CHANBUF_IO;
		got += (size_t)n;
		for (p = b->in; n > 0;) {
			if ((k = chan_dec_feed(b->dec, p, (size_t)n)) < 0)
				return k;
			p += k;
			n -= k;
			if ((rv = chan_dec_next(b->dec, &f)) < 0)
				return rv;
			if (rv == 1 && fn(arg, &f) != 0)
				return (ssize_t)got;
		}
	}
	return (ssize_t)got;
}

const char *
chanbuf_err_str(int err)
{
	switch (err) {
	case CHANBUF_FULL: return "output queue full";
	case CHANBUF_NOMEM: return "out of memory";
	case CHANBUF_CLOSED: return "closed by the peer";
	case CHANBUF_IO: return "read or write failed";
	}
	return chan_err_str(err);
}
