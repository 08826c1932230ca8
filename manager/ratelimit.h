/* Per-source token buckets for the public enrollment endpoints (/v1/join, /v1/join/ack,
 * /v1/token). A source is an IPv4 address or an IPv6 /64; memory is bounded by a fixed number
 * of buckets, the least useful of which is forgotten when a new source arrives. */
#ifndef MANAGER_RATELIMIT_H
#define MANAGER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Limits accepted by ratelimit_new and ratelimit_config. They keep every deadline in ns well
 * inside 64 bits. */
#define RATELIMIT_RATE_MIN 1e-4 /* tokens per second: one per 2.8 hours */
#define RATELIMIT_RATE_MAX 1e6
#define RATELIMIT_BURST_MIN 1.0
#define RATELIMIT_BURST_MAX 1e5
#define RATELIMIT_ENTRIES_MAX 0x1000000

struct ratelimit;

/* A limiter of rate_per_sec tokens a second per source, at most burst of them saved up, for at
 * most max_entries sources at once (all allocated here: about 48 bytes each plus 8 per hash
 * bucket, as many buckets as sources). Returns NULL when an argument is outside the limits above, when max_entries is 0, or
 * when memory or randomness for the hash key is short. The caller frees it with
 * ratelimit_free. */
struct ratelimit *ratelimit_new(double rate_per_sec, double burst, size_t max_entries);

/* Free rl; NULL is fine. */
void ratelimit_free(struct ratelimit *rl);

/* Change the limits of every source at once. Each source keeps the number of tokens it is
 * short of (so a source refused before stays refused under an equal or stricter burst), and the
 * shortfall then refills at the new rate. Values outside the limits are a programming error. */
void ratelimit_config(struct ratelimit *rl, double rate_per_sec, double burst);

/* Take one token for the source of sa at monotonic time now_ns. Returns 1 when it was taken,
 * 0 when the source has none, with *retry_after_s (may be NULL) set to the whole seconds, at
 * least 1, until it has one. Addresses of a family other than AF_INET and AF_INET6 (a Unix
 * socket behind a proxy) and a NULL sa all count as one source. */
int ratelimit_take(
    struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ns, unsigned *retry_after_s);

/* The number of sources remembered now (for tests and metrics). */
size_t ratelimit_size(const struct ratelimit *rl);

#endif
