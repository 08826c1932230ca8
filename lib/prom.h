/* The Prometheus text exposition format, version 0.0.4: a renderer that is told families and
 * samples and knows nothing of where their numbers come from. Each family is announced once
 * (prom_family: its HELP and TYPE lines), then its samples follow; label values and help text
 * are escaped as the format wants (backslash, double quote in label values, newline).
 *
 * The output grows in one heap buffer; running out of memory is remembered and reported once,
 * by prom_finish(). Names and label names are the caller's constants: they are checked with
 * assert, not escaped. */
#ifndef LIB_PROM_H
#define LIB_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "histogram.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_label {
	const char *name;
	const char *value; /* any UTF-8: escaped on output */
};

struct prom {
	char *buf;
	size_t len, cap;
	int failed; /* out of memory: prom_finish() says so */
};

/* An empty document (no allocation yet). */
void prom_init(struct prom *p);

/* Free what p holds (a document prom_finish() did not hand out). */
void prom_free(struct prom *p);

/* Start family name: "# HELP name help" and "# TYPE name type". */
void prom_family(struct prom *p, const char *name, const char *help, enum prom_type type);

/* One sample of the current family: name{labels} value. An integer is written exactly (a
 * double loses counts past 2^53); a double as %.17g, or +Inf, -Inf, NaN. */
void prom_u64(struct prom *p, const char *name, const struct prom_label *l, size_t nl, uint64_t v);
void prom_double(struct prom *p, const char *name, const struct prom_label *l, size_t nl, double v);

/* The samples of histogram h under name: name_bucket{labels,le="…"} for every bound and +Inf,
 * cumulative, then name_sum and name_count. */
void prom_histogram(struct prom *p, const char *name, const struct prom_label *l, size_t nl,
    const struct histogram *h);

/* The document (NUL-terminated, its length in *len), now the caller's to free(), and p empty;
 * NULL when memory ran out on the way (p is freed). */
char *prom_finish(struct prom *p, size_t *len);

#endif
