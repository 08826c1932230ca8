#include <string.h>

#include "tunevents_pb.h"

void
tunevents_pb_from(State__TunnelEvents *m, const struct tunevents *e, uint64_t *closes)
{
	state__tunnel_events__init(m);
	m->handshakes = e->handshakes;
	m->handshake_failures = e->handshake_failures;
	memcpy(closes, e->closes, sizeof(e->closes));
	m->n_closes = TUNEVENTS_CLOSES;
	m->closes = closes;
}

void
tunevents_pb_to(struct tunevents *e, const State__TunnelEvents *m)
{
	if (m == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->handshakes = m->handshakes;
	e->handshake_failures = m->handshake_failures;
	for (size_t i = 0; i < m->n_closes; i++)
		e->closes[i < TUNEVENTS_CODES ? i : TUNEVENTS_CLOSE_OTHER] += m->closes[i];
}
