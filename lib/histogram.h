/* A latency histogram with fixed upper bounds, as Prometheus histograms count: each observation
 * lands in the first bucket whose bound is at or above it (the last, unbounded bucket takes the
 * rest), and the sum and count of all observations are kept beside. Buckets are kept per bucket
 * here, not cumulative: the renderer (prom.h) adds them up, so two histograms can be added. */
#ifndef LIB_HISTOGRAM_H
#define LIB_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_BOUNDS_MAX 16

struct histogram {
	const double *bounds; /* ascending upper bounds (the caller's, static), nbounds of them */
	size_t nbounds;
	uint64_t counts[HISTOGRAM_BOUNDS_MAX + 1]; /* per bucket; [nbounds] is above the last */
	double sum;
	uint64_t count;
};

/* Seconds: from 1 ms to 10 s, for request, transaction and revocation latencies. */
extern const double histogram_seconds[12];
#define HISTOGRAM_SECONDS histogram_seconds, sizeof(histogram_seconds) / sizeof(double)

/* An empty histogram over bounds[0..n) (kept, not copied; n at most HISTOGRAM_BOUNDS_MAX). */
void histogram_init(struct histogram *h, const double *bounds, size_t n);

/* Count one observation of v. */
void histogram_observe(struct histogram *h, double v);

#endif
