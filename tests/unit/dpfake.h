/* Fakes for the data plane's tests. A tunnel (dataplane.h's dp_send_fn and dp_room_fn): it keeps
 * what it was sent, refuses what is over its room (max) and, while blocked, everything. A sink
 * (dpsink.h's output, arg a struct fake_sink): it keeps what the mode passed it and answers
 * verdict. Header-only (static inline): each test program has its own copy. */
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

struct fake_sink {
	int n;
	struct dp_dest dst;
	size_t len;
	uint8_t last[1500];
	int verdict;
};

static inline int
fake_sink_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt,
    size_t len, const struct dp_dest *dst)
{
	struct fake_sink *sn = arg;

	(void)dp;
	(void)from;
	sn->n++;
	sn->dst = *dst;
	sn->len = len;
	memcpy(sn->last, pkt, len < sizeof(sn->last) ? len : sizeof(sn->last));
	return sn->verdict;
}

#endif
