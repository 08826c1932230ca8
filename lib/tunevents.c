#include "tunevents.h"

const char *const tunevents_close_names[TUNEVENTS_CLOSES] = {"0", "1", "2", "3", "4", "5", "other"};

void
tunevents_add(struct tunevents *dst, const struct tunevents *src)
{
	dst->handshakes += src->handshakes;
	dst->handshake_failures += src->handshake_failures;
	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		dst->closes[i] += src->closes[i];
}
