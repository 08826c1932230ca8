/* lib/counters' struct counters to and from the state channel's State.Counters, the one place
 * either program converts them. */
#ifndef PROTO_COUNTERS_PB_H
#define PROTO_COUNTERS_PB_H

#include "../lib/counters.h"
#include "proto/state.pb-c.h"

/* Initialise m and fill it from c (m holds no pointers: nothing to free). */
void counters_pb_from(State__Counters *m, const struct counters *c);

/* Copy m's counters to c; a NULL m (the field was absent) leaves c as it was. */
void counters_pb_to(struct counters *c, const State__Counters *m);

#endif
