/* The traffic counters: adding adds each field to its own (the drops by reason too), and wraps as
 * the counters do; the conversion to and from State.Counters keeps every field, through the
 * packed bytes too; the drop reasons have their names. */
#include <string.h>

#include "../../lib/counters.h"
#include "../../proto/counters_pb.h"
#include "check.h"

int
main(void)
{
	struct counters sum = {0}, a = {1, 100, 2, 200, 3, {0}}, b = {10, 1000, 20, 2000, 30, {0}},
			c, d;
	State__Counters m, *u;
	uint8_t buf[256];
	size_t len;

	for (int i = 0; i < COUNTERS_DROP_N; i++) {
		a.drops[i] = (uint64_t)i + 1;
		b.drops[i] = ((uint64_t)i + 1) * 1000;
	}
	counters_add(&sum, &a);
	counters_add(&sum, &b);
	CHECK(
	    sum.drops[COUNTERS_DROP_MALFORMED] == 1001 && sum.drops[COUNTERS_DROP_ISOLATED] == 8008,
	    "each drop reason adds to its own");
	CHECK(strcmp(counters_drop_names[COUNTERS_DROP_NO_ROUTE], "no_route") == 0 &&
		strcmp(counters_drop_names[COUNTERS_DROP_TTL_EXCEEDED], "ttl_exceeded") == 0,
	    "the reasons' names");
	CHECK(sum.rx_packets == 11 && sum.rx_bytes == 1100 && sum.tx_packets == 22 &&
		sum.tx_bytes == 2200 && sum.dropped_packets == 33,
	    "each field adds to its own");
	CHECK(a.rx_packets == 1 && a.dropped_packets == 3, "the source is left as it was");
	c = sum;
	CHECK(memcmp(&c, &sum, sizeof(c)) == 0, "a copy is an assignment");
	c.rx_bytes = UINT64_MAX;
	counters_add(&c, &a);
	CHECK(c.rx_bytes == 99, "a field wraps modulo 2^64");

	c.tx_bytes = UINT64_MAX;
	c.drops[COUNTERS_DROP_BLOCKED] = UINT64_MAX - 1;
	counters_pb_from(&m, &c);
	len = state__counters__pack(&m, buf);
	u = state__counters__unpack(NULL, len, buf);
	memset(&d, 0, sizeof(d));
	counters_pb_to(&d, u);
	CHECK(u != NULL && memcmp(&c, &d, sizeof(c)) == 0,
	    "State.Counters round trip keeps every field");
	state__counters__free_unpacked(u, NULL);
	d = a;
	counters_pb_to(&d, NULL);
	CHECK(memcmp(&d, &a, sizeof(d)) == 0, "an absent State.Counters leaves the counters");
	return check_done();
}
