/* lib/tunevents' struct tunevents to and from the state channel's State.TunnelEvents, the one
 * place either program converts them. */
#ifndef PROTO_TUNEVENTS_PB_H
#define PROTO_TUNEVENTS_PB_H

#include "../lib/tunevents.h"
#include "proto/state.pb-c.h"

/* Initialise m and fill it from e; its repeated fields point into closes and failures
 * (TUNEVENTS_CLOSES entries each, the caller's storage, which must outlive m). */
void tunevents_pb_from(
    State__TunnelEvents *m, const struct tunevents *e, uint64_t *closes, uint64_t *failures);

/* Copy m's counts to e: an absent message (an older agent) leaves e as it was; close codes a
 * newer agent reports beyond ours count as other, and so do the handshake failures of an
 * agent that sends them without codes. */
void tunevents_pb_to(struct tunevents *e, const State__TunnelEvents *m);

#endif
