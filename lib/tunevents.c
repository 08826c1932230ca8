#include "tunevents.h"

const char *const tunevents_close_names[TUNEVENTS_CLOSES] = {"0", "1", "2", "3", "4", "5", "other"};

void
tunevents_add(struct tunevents *dst, const struct tunevents *src)
{
	dst->handshakes += src->handshakes;
	for (int i = 0; i < TUNEVENTS_CLOSES; i++) {
		dst->handshake_failures[i] += src->handshake_failures[i];
		dst->closes[i] += src->closes[i];
	}
}

uint64_t
tunevents_handshake_failures(const struct tunevents *e)
{
	uint64_t n = 0;

	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		n += e->handshake_failures[i];
	return n;
}
