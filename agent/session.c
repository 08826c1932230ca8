#include "session.h"

#define NS 1000000000ull
#define CAP_SECONDS (30ll * 366 * 86400)

uint64_t
session_id_next(uint64_t *last_ms, uint64_t now_ms, uint64_t agent_id)
{
	uint64_t ms = now_ms > *last_ms ? now_ms : *last_ms + 1;

	*last_ms = ms;
	return ms << SESSION_AGENT_BITS | (agent_id & ((1u << SESSION_AGENT_BITS) - 1));
}

uint64_t
session_expiry_deadline(int64_t exp, uint64_t now_real_ns, uint64_t now_mono_ns)
{
	int64_t now_s = (int64_t)(now_real_ns / NS), secs;
	uint64_t into = now_real_ns % NS;

	if (exp < now_s)
		return now_mono_ns;
	/* exp >= now_s: the deadline is (exp + 1 - now_s) s minus what passed of this second */
	secs = exp - now_s >= CAP_SECONDS ? CAP_SECONDS : exp - now_s + 1;
	return now_mono_ns + (uint64_t)secs * NS - into;
}
