#include <string.h>

#include "tunevents_pb.h"

void
tunevents_pb_from(
    State__TunnelEvents *m, const struct tunevents *e, uint64_t *closes, uint64_t *failures)
{
	state__tunnel_events__init(m);
	m->handshakes = e->handshakes;
	m->handshake_failures = tunevents_handshake_failures(e);
	memcpy(closes, e->closes, sizeof(e->closes));
	m->n_closes = TUNEVENTS_CLOSES;
	m->closes = closes;
	memcpy(failures, e->handshake_failures, sizeof(e->handshake_failures));
	m->n_handshake_failure_closes = TUNEVENTS_CLOSES;
	m->handshake_failure_closes = failures;
}

void
tunevents_pb_to(struct tunevents *e, const State__TunnelEvents *m)
{
	if (m == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->handshakes = m->handshakes;
	for (size_t i = 0; i < m->n_closes; i++)
		e->closes[i < TUNEVENTS_CODES ? i : TUNEVENTS_CLOSE_OTHER] += m->closes[i];
	for (size_t i = 0; i < m->n_handshake_failure_closes; i++)
		e->handshake_failures[i < TUNEVENTS_CODES ? i : TUNEVENTS_CLOSE_OTHER] +=
		    m->handshake_failure_closes[i];
	/* An older agent counts them without their codes. */
	if (m->n_handshake_failure_closes == 0)
		e->handshake_failures[TUNEVENTS_CLOSE_OTHER] = m->handshake_failures;
}
