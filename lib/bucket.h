/* A token bucket: at most burst events at once and rate per second on average, for answers that
 * must stay bounded whatever comes in (the data plane's ICMP errors). Inline: it is asked per
 * answer, with no clock of its own (the caller passes monotonic nanoseconds). */
#ifndef LIB_BUCKET_H
#define LIB_BUCKET_H

#include <stdint.h>

#define BUCKET_NS 1000000000ull

/* Zeroed: full at its first use. */
struct bucket {
	uint64_t at_ns; /* when tokens was last right; 0: never used */
	uint32_t tokens;
};

/* Take a token at time now_ns (rate > 0 tokens a second, at most burst held): 1, or 0 when the
 * bucket is empty. */
static inline int
bucket_take(struct bucket *b, uint64_t now_ns, uint32_t rate, uint32_t burst)
{
	if (b->at_ns == 0 || now_ns - b->at_ns >= BUCKET_NS * burst / rate + BUCKET_NS) {
		b->tokens = burst;
		b->at_ns = now_ns;
	} else if (now_ns > b->at_ns) {
		uint64_t add = (now_ns - b->at_ns) * rate / BUCKET_NS;

		if (add > 0) {
			/* advance by the whole tokens only, so that fractions are not lost */
			b->at_ns += add * BUCKET_NS / rate;
			b->tokens = b->tokens + add > burst ? burst : (uint32_t)(b->tokens + add);
		}
	}
	if (b->tokens == 0)
		return 0;
	b->tokens--;
	return 1;
}

#endif
