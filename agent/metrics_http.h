/* The agent's metrics listener (--metrics-listen ADDR:PORT): plain HTTP, no authentication,
 * GET (or HEAD) /metrics only, for a scraper on a loopback or management address. Driven from
 * the agent's loop: libmicrohttpd in external-epoll mode, its epoll fd watched there, and its
 * timeouts run from the loop's before-sleep hook (metrics_http_expiry, metrics_http_run).
 * Every request gathers a fresh snapshot with gather(arg, …) and renders it (metrics.h). */
#ifndef AGENT_METRICS_HTTP_H
#define AGENT_METRICS_HTTP_H

#include <stdint.h>

#include "metrics.h"

struct loop;
struct metrics_http;

typedef void metrics_gather_fn(void *arg, struct metrics_snap *s);

/* Listen on addr ("127.0.0.1:9101", "[::1]:9101"; port 0 picks one), watched on loop; the
 * address bound is written to bound (SOCKADDR_STRLEN). NULL on failure (logged). Free with
 * metrics_http_close() before loop_free(). */
struct metrics_http *metrics_http_open(const char *addr, struct loop *loop,
    metrics_gather_fn *gather, void *arg, char *bound, size_t boundlen);
void metrics_http_close(struct metrics_http *m);

/* When libmicrohttpd next has time-driven work (monotonic ns; UINT64_MAX: none), and doing
 * it. */
uint64_t metrics_http_expiry(struct metrics_http *m);
void metrics_http_run(struct metrics_http *m);

#endif
