#include <assert.h>
#include <string.h>

#include "histogram.h"

const double histogram_seconds[12] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

void
histogram_init(struct histogram *h, const double *bounds, size_t n)
{
	assert(n <= HISTOGRAM_BOUNDS_MAX);
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nbounds = n;
}

void
histogram_observe(struct histogram *h, double v)
{
	size_t i = 0;

	/* A dozen bounds: a linear scan beats a binary search's branches. */
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}
