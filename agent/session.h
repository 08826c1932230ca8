/* Session arithmetic of the tunnel layer, kept pure for the unit tests: session ids and the
 * monotonic deadline of a session expiry. */
#ifndef AGENT_SESSION_H
#define AGENT_SESSION_H

#include <stdint.h>

#define SESSION_AGENT_BITS 10

/* The next session id (proto/state.proto): (ms << 10) | (agent_id & 1023), ms = max(previous ms
 * + 1, now_ms, the Unix milliseconds now), so strictly increasing per agent and ordered by start
 * time across agents (the manager's allocator fences grants by them). *last_ms is the ms part of
 * the previous id (0 at first) and is updated. */
uint64_t session_id_next(uint64_t *last_ms, uint64_t now_ms, uint64_t agent_id);

/* The CLOCK_MONOTONIC deadline of a session whose token expires at Unix second exp: valid while the
 * Unix time in whole seconds is <= exp (proto/README.md §1.4, §1.5: no leeway), so the deadline is
 * the first instant of second exp + 1 on the wall clock. now_real_ns (CLOCK_REALTIME) and
 * now_mono_ns are read together; a past expiry gives now_mono_ns; far expiries are capped at 30
 * years. */
uint64_t session_expiry_deadline(int64_t exp, uint64_t now_real_ns, uint64_t now_mono_ns);

#endif
