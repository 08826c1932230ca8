/* A fake tunnel for the data plane's tests (dataplane.h's dp_send_fn and dp_room_fn): it keeps
 * what it was sent, refuses what is over its room (max) and, while blocked, everything.
 * Header-only (static inline): each test program has its own copy. */
#ifndef TESTS_DPFAKE_H
#define TESTS_DPFAKE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../agent/dataplane.h"

struct fake {
	int sent;
	size_t last_len, max;
	int blocked;
	uint8_t last[1500];
};

static inline int
fake_send(void *conn, const void *pkt, size_t len)
{
	struct fake *f = conn;

	if (len > f->max)
		return DP_DROP_TOO_BIG;
	if (f->blocked)
		return DP_DROP_BLOCKED;
	f->sent++;
	f->last_len = len;
	memcpy(f->last, pkt, len < sizeof(f->last) ? len : sizeof(f->last));
	return 0;
}

static inline size_t
fake_room(void *conn)
{
	return ((struct fake *)conn)->max;
}

#endif
