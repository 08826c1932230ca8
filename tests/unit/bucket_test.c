/* The token bucket (lib/bucket.h): full at first use, a burst then nothing, refill at the rate
 * with no token lost to rounding, never above the burst, and a long pause (or a clock far ahead)
 * refills to the burst without overflowing. Time is passed in. */
#include "../../lib/bucket.h"
#include "check.h"

#define S 1000000000ull
#define T0 (1000 * S)

static int
take_n(struct bucket *b, uint64_t now, int n)
{
	int got = 0;

	for (int i = 0; i < n; i++)
		got += bucket_take(b, now, 100, 20);
	return got;
}

int
main(void)
{
	struct bucket b = {0};
	int got;

	CHECK_EQ_INT(take_n(&b, T0, 50), 20, "a fresh bucket gives its burst, then none");
	CHECK_EQ_INT(take_n(&b, T0 + S / 100 - 1, 5), 0, "no token before 10 ms (100/s)");
	CHECK_EQ_INT(take_n(&b, T0 + S / 100, 5), 1, "one token at 10 ms");
	got = 0;
	for (uint64_t t = T0 + S / 100; t <= T0 + S / 100 + S; t += S / 1000)
		got += bucket_take(&b, t, 100, 20);
	CHECK(got >= 99 && got <= 101,
	    "about 100 tokens over a second of 1 ms steps (%d): no "
	    "fractions lost",
	    got);
	CHECK_EQ_INT(take_n(&b, T0 + 100 * S, 50), 20, "after a pause: the burst, no more");
	CHECK_EQ_INT(take_n(&b, UINT64_MAX - S, 50), 20, "a clock far ahead: the burst");
	return check_done();
}
