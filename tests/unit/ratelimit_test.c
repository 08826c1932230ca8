/* The enrollment rate limiter: bursts, refill, Retry-After, how sources are keyed (IPv4,
 * IPv6 /64, v4-mapped), eviction in a full table, run-time limits, and a million calls. Time
 * is passed in, so nothing sleeps. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "../../lib/clock.h"
#include "../../manager/ratelimit.h"
#include "check.h"

#define S 1000000000ULL
#define MS 1000000ULL
#define T0 (1000 * S)

static struct sockaddr_storage ss;

/* One address as the sockaddr the HTTP server would give us (static storage, one at a time). */
static const struct sockaddr *
sa(const char *text)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(40000);
	} else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(40001);
	} else {
		printf("not ok - bad test address \"%s\"\n", text);
	}
	return (const struct sockaddr *)&ss;
}

static const struct sockaddr *
sa4(uint32_t a)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(a);
	return (const struct sockaddr *)&ss;
}

/* How many takes succeed in a row for text at now (stops at the first refusal, or 1000). */
static int
drain(struct ratelimit *rl, const char *text, uint64_t now)
{
	int n = 0;

	while (n < 1000 && ratelimit_take(rl, sa(text), now, NULL))
		n++;
	return n;
}

static void
test_new(void)
{
	struct ratelimit *rl;

	CHECK(ratelimit_new(0, 5, 16) == NULL, "rate 0 is refused");
	CHECK(ratelimit_new(-1, 5, 16) == NULL, "a negative rate is refused");
	CHECK(ratelimit_new(1, 0.5, 16) == NULL, "a burst under 1 is refused");
	CHECK(ratelimit_new(1, 5, 0) == NULL, "max_entries 0 is refused");
	rl = ratelimit_new(1, 5, 16);
	CHECK(rl != NULL && ratelimit_size(rl) == 0, "a new limiter is empty");
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void
test_burst_refill(void)
{
	struct ratelimit *rl = ratelimit_new(1, 5, 16);
	unsigned retry = 0;

	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0), 5, "a burst of 5 is allowed");
	CHECK(!ratelimit_take(rl, sa("192.0.2.1"), T0, &retry), "the 6th is refused");
	CHECK_EQ_INT(retry, 1, "retry after 1 s at 1/s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.1"), T0 + 999 * MS, NULL), "still refused at 999 ms");
	CHECK(ratelimit_take(rl, sa("192.0.2.1"), T0 + S, NULL), "one token back after 1 s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.1"), T0 + S, NULL), "and only one");
	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0 + 4 * S), 3, "3 more after 3 more seconds");
	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0 + 100 * S), 5, "refill stops at the burst");
	ratelimit_free(rl);

	rl = ratelimit_new(2, 3, 16);
	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0), 3, "a burst of 3 at 2/s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.1"), T0 + 499 * MS, NULL), "refused at 499 ms");
	CHECK(ratelimit_take(rl, sa("192.0.2.1"), T0 + 500 * MS, NULL), "a token at 500 ms");
	CHECK(!ratelimit_take(rl, sa("192.0.2.1"), T0 + 500 * MS, NULL), "only one at 500 ms");
	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0 + 2 * S), 3, "full again 1.5 s later");
	ratelimit_free(rl);
}

static void
test_retry_after(void)
{
	struct ratelimit *rl = ratelimit_new(0.5, 1, 16);
	unsigned retry = 0;

	CHECK(ratelimit_take(rl, sa("192.0.2.7"), T0, &retry), "first allowed at 0.5/s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.7"), T0, &retry), "second refused at 0.5/s");
	CHECK_EQ_INT(retry, 2, "retry after 2 s at 0.5/s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.7"), T0 + 500 * MS, &retry), "refused at 0.5 s");
	CHECK_EQ_INT(retry, 2, "retry after 2 s (1.5 s rounded up)");
	CHECK(!ratelimit_take(rl, sa("192.0.2.7"), T0 + S, &retry), "refused at 1 s");
	CHECK_EQ_INT(retry, 1, "retry after 1 s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.7"), T0 + 1999 * MS, &retry), "refused at 1.999 s");
	CHECK_EQ_INT(retry, 1, "retry after at least 1 s");
	CHECK(ratelimit_take(rl, sa("192.0.2.7"), T0 + 2 * S, &retry), "allowed at 2 s");
	ratelimit_free(rl);

	rl = ratelimit_new(0.3, 2, 16);
	CHECK_EQ_INT(drain(rl, "192.0.2.7", T0), 2, "a burst of 2 at 0.3/s");
	CHECK(!ratelimit_take(rl, sa("192.0.2.7"), T0, &retry), "then refused");
	CHECK_EQ_INT(retry, 4, "retry after 4 s (3.33 s rounded up)");
	CHECK(!ratelimit_take(rl, sa("192.0.2.7"), T0 + 3333 * MS, NULL), "refused at 3.333 s");
	CHECK(ratelimit_take(rl, sa("192.0.2.7"), T0 + 3334 * MS, NULL), "allowed at 3.334 s");
	ratelimit_free(rl);
}

static void
test_keys(void)
{
	struct ratelimit *rl = ratelimit_new(0.01, 2, 64);
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0), 2, "192.0.2.1 drained");
	CHECK_EQ_INT(drain(rl, "192.0.2.2", T0), 2, "192.0.2.2 has its own bucket");
	CHECK_EQ_INT(drain(rl, "198.51.100.1", T0), 2, "198.51.100.1 has its own bucket");
	CHECK_EQ_INT(drain(rl, "::ffff:192.0.2.1", T0), 0, "::ffff:192.0.2.1 is 192.0.2.1");
	CHECK_EQ_INT(drain(rl, "::ffff:192.0.2.3", T0), 2, "::ffff:192.0.2.3 is new");
	CHECK_EQ_INT(drain(rl, "192.0.2.3", T0), 0, "192.0.2.3 is ::ffff:192.0.2.3");
	CHECK_EQ_INT(drain(rl, "::192.0.2.4", T0), 2, "::192.0.2.4 (not mapped) drained");
	CHECK_EQ_INT(drain(rl, "192.0.2.4", T0), 2, "192.0.2.4 is not ::192.0.2.4");

	CHECK_EQ_INT(drain(rl, "2001:db8:1:2::1", T0), 2, "2001:db8:1:2::1 drained");
	CHECK_EQ_INT(drain(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff", T0), 0,
	    "2001:db8:1:2:ffff:ffff:ffff:ffff is in the same /64");
	CHECK_EQ_INT(drain(rl, "2001:db8:1:2:abcd::77", T0), 0, "as is 2001:db8:1:2:abcd::77");
	CHECK_EQ_INT(drain(rl, "2001:db8:1:3::1", T0), 2, "2001:db8:1:3::1 is another /64");
	CHECK_EQ_INT(drain(rl, "2001:db8:2:2::1", T0), 2, "2001:db8:2:2::1 is another /64");
	CHECK_EQ_INT(drain(rl, "2001:db8:1:1::1", T0), 2, "2001:db8:1:1::1 is another /64");

	CHECK(ratelimit_take(rl, (const struct sockaddr *)&un, T0, NULL), "a Unix socket: 1st");
	CHECK(ratelimit_take(rl, NULL, T0, NULL), "no address shares that bucket: 2nd");
	CHECK(!ratelimit_take(rl, (const struct sockaddr *)&un, T0, NULL), "3rd refused");
	CHECK_EQ_INT(ratelimit_size(rl), 11, "11 sources: 6 IPv4, 4 /64s (::/64 too), 1 other");
	ratelimit_free(rl);
}

static void
test_config(void)
{
	struct ratelimit *rl = ratelimit_new(0.5, 1, 16);
	unsigned retry = 0;

	CHECK(ratelimit_take(rl, sa("192.0.2.9"), T0, NULL), "allowed before the change");
	CHECK(!ratelimit_take(rl, sa("192.0.2.9"), T0, &retry), "refused before the change");
	CHECK_EQ_INT(retry, 2, "retry after 2 s at 0.5/s");
	ratelimit_config(rl, 0.25, 1);
	CHECK(!ratelimit_take(rl, sa("192.0.2.9"), T0, &retry), "still refused at 0.25/s");
	CHECK_EQ_INT(retry, 4, "the token owed now takes 4 s");
	CHECK_EQ_INT(drain(rl, "192.0.2.10", T0), 1, "a new source gets the burst of 1");
	ratelimit_config(rl, 0.25, 3);
	CHECK_EQ_INT(drain(rl, "192.0.2.9", T0), 2, "a burst raised to 3 lets 2 more through");
	CHECK_EQ_INT(drain(rl, "192.0.2.11", T0), 3, "a new source gets the burst of 3");
	ratelimit_config(rl, 10, 2);
	CHECK(!ratelimit_take(rl, sa("192.0.2.11"), T0, &retry), "owing 3 with a burst of 2");
	CHECK_EQ_INT(retry, 1, "retry after 1 s at 10/s");
	CHECK_EQ_INT(
	    drain(rl, "192.0.2.11", T0 + 200 * MS), 2, "the owed tokens come back at 10/s");
	ratelimit_free(rl);
}

static void
test_eviction(void)
{
	struct ratelimit *rl = ratelimit_new(1, 2, 64);
	unsigned retry;
	int ok = 1;

	for (uint32_t i = 0; i < 1000; i++)
		ok &= ratelimit_take(rl, sa4(0x0a000000 + i), T0 + i * MS, NULL);
	CHECK(ok, "1000 new sources are each allowed");
	CHECK_EQ_INT(ratelimit_size(rl), 64, "the table holds no more than 64");
	ratelimit_free(rl);

	/* A (least recently seen) is still short of tokens; B, behind it, has refilled: B goes. */
	rl = ratelimit_new(0.1, 3, 4);
	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0), 3, "A takes its burst");
	CHECK(ratelimit_take(rl, sa("192.0.2.2"), T0 + 100 * MS, NULL), "B takes one");
	CHECK(ratelimit_take(rl, sa("192.0.2.3"), T0 + 10400 * MS, NULL), "C takes one");
	CHECK(ratelimit_take(rl, sa("192.0.2.4"), T0 + 10400 * MS, NULL), "D takes one");
	CHECK(ratelimit_take(rl, sa("192.0.2.5"), T0 + 10500 * MS, NULL), "E evicts one");
	CHECK_EQ_INT(ratelimit_size(rl), 4, "the table stays at 4");
	CHECK_EQ_INT(drain(rl, "192.0.2.1", T0 + 10500 * MS), 1, "A kept its bucket (1 token)");
	CHECK_EQ_INT(drain(rl, "192.0.2.3", T0 + 10500 * MS), 2, "C kept its bucket (2 tokens)");
	ratelimit_free(rl);

	/* A refused source that keeps trying is not forgotten while fewer than max_entries others
	 * come between its attempts, even as thousands of new sources churn through the table. */
	rl = ratelimit_new(0.001, 2, 256);
	CHECK_EQ_INT(drain(rl, "2001:db8::1", T0), 2, "X takes its burst");
	ok = 1;
	for (uint32_t round = 0, a = 0; round < 50; round++) {
		uint64_t now = T0 + round * MS;

		for (int k = 0; k < 200; k++, a++)
			ok &= ratelimit_take(rl, sa4(0x0a000000 + a), now, NULL);
		retry = 0;
		if (ratelimit_take(rl, sa("2001:db8::1"), now, &retry) || retry < 999)
			ok = 0;
	}
	CHECK(ok, "X stays refused (retry ~1000 s) while 10000 new sources pass");
	CHECK_EQ_INT(ratelimit_size(rl), 256, "the table stays at 256");
	ratelimit_free(rl);
}

/* 1M calls spread over 100k sources (half IPv4 addresses, half IPv6 /64s), more than the
 * table holds, so most new sources evict one. No timing assertion: it has to finish. */
static void
test_million(void)
{
	struct ratelimit *rl = ratelimit_new(1, 10, 65536);
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	uint64_t x = 0x9e3779b97f4a7c15ULL, start, now = T0;
	unsigned long allowed = 0;
	uint32_t src;
	double secs;

	s6.sin6_addr.s6_addr[0] = 0x20;
	s6.sin6_addr.s6_addr[1] = 0x01;
	start = clock_mono_ns();
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		src = (uint32_t)(x % 100000);
		if (src < 50000) {
			allowed += ratelimit_take(rl, sa4(0xc6120000 + src), now, NULL);
		} else {
			s6.sin6_addr.s6_addr[5] = (unsigned char)(src >> 16);
			s6.sin6_addr.s6_addr[6] = (unsigned char)(src >> 8);
			s6.sin6_addr.s6_addr[7] = (unsigned char)src;
			s6.sin6_addr.s6_addr[15] = (unsigned char)i; /* same /64, any host */
			allowed += ratelimit_take(rl, (const struct sockaddr *)&s6, now, NULL);
		}
		now += 1000;
	}
	secs = (double)(clock_mono_ns() - start) / 1e9;
	printf("# 1000000 calls in %.3f s (%.1f M calls/s), %lu allowed, %zu sources\n", secs,
	    secs > 0 ? 1.0 / secs : 0.0, allowed, ratelimit_size(rl));
	CHECK_EQ_INT(ratelimit_size(rl), 65536, "a million calls leave the table at 65536");
	CHECK(allowed > 0 && allowed < 1000000, "some allowed, some refused");
	ratelimit_free(rl);
}

int
main(void)
{
	test_new();
	test_burst_refill();
	test_retry_after();
	test_keys();
	test_config();
	test_eviction();
	test_million();
	return check_done();
}
