/* The traffic counters: adding adds each field to its own, and wraps as the counters do. */
#include <string.h>

#include "../../lib/counters.h"
#include "check.h"

int
main(void)
{
	struct counters sum = {0}, a = {1, 100, 2, 200, 3}, b = {10, 1000, 20, 2000, 30}, c;

	counters_add(&sum, &a);
	counters_add(&sum, &b);
	CHECK(sum.rx_packets == 11 && sum.rx_bytes == 1100 && sum.tx_packets == 22 &&
		sum.tx_bytes == 2200 && sum.dropped_packets == 33,
	    "each field adds to its own");
	CHECK(a.rx_packets == 1 && a.dropped_packets == 3, "the source is left as it was");
	c = sum;
	CHECK(memcmp(&c, &sum, sizeof(c)) == 0, "a copy is an assignment");
	c.rx_bytes = UINT64_MAX;
	counters_add(&c, &a);
	CHECK(c.rx_bytes == 99, "a field wraps modulo 2^64");
	return check_done();
}
