/* The manager's metrics snapshot (metrics_snap.h) as Prometheus text (lib/prom.h): the names,
 * help texts, types and labels GET /metrics serves (api.md "Metrics" lists them). */
#ifndef MANAGER_METRICS_PROM_H
#define MANAGER_METRICS_PROM_H

#include <stddef.h>

struct metrics_snap;

/* The document, NUL-terminated, its length in *len; the caller frees it. NULL when out of
 * memory. */
char *metrics_prom(const struct metrics_snap *s, size_t *len);

#endif
