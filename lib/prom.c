#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

#define PROM_LE_MAX 32

void
prom_init(struct prom *p)
{
	memset(p, 0, sizeof(*p));
}

void
prom_free(struct prom *p)
{
	free(p->buf);
	prom_init(p);
}

static int
reserve(struct prom *p, size_t more)
{
	size_t cap;
	char *nb;

	if (p->failed)
		return -1;
	if (p->len + more + 1 <= p->cap)
		return 0;
	for (cap = p->cap ? p->cap : 4096; cap < p->len + more + 1; cap *= 2)
		;
	if ((nb = realloc(p->buf, cap)) == NULL) {
		p->failed = 1;
		return -1;
	}
	p->buf = nb;
	p->cap = cap;
	return 0;
}

static void
put(struct prom *p, const char *s, size_t n)
{
	if (reserve(p, n) < 0)
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void
puts_(struct prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) putf(struct prom *p, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Only numbers go through here: they always fit. */
	assert(n >= 0 && (size_t)n < sizeof(tmp));
	put(p, tmp, (size_t)n);
}

/* Text with backslash and newline escaped, and the double quote too inside a label value. */
static void
put_escaped(struct prom *p, const char *s, int quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		if (esc == NULL)
			continue;
		put(p, run, (size_t)(s - run));
		puts_(p, esc);
		run = s + 1;
	}
	put(p, run, (size_t)(s - run));
}

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (labels take no colon, and the renderer's
 * callers use none). */
static int
name_valid(const char *s)
{
	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") ==
	    strlen(s);
}

void
prom_family(struct prom *p, const char *name, const char *help, enum prom_type type)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};

	assert(name_valid(name));
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	put_escaped(p, help, 0);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, types[type]);
	puts_(p, "\n");
}

/* name{a="x",b="y",le="…"} (the braces only when there are labels), and the space before the
 * value. */
static void
series(struct prom *p, const char *name, const char *suffix, const struct prom_label *l, size_t nl,
    const char *le)
{
	assert(name_valid(name));
	puts_(p, name);
	puts_(p, suffix);
	if (nl == 0 && le == NULL) {
		puts_(p, " ");
		return;
	}
	puts_(p, "{");
	for (size_t i = 0; i < nl; i++) {
		assert(name_valid(l[i].name) && strcmp(l[i].name, "le") != 0);
		if (i > 0)
			puts_(p, ",");
		puts_(p, l[i].name);
		puts_(p, "=\"");
		put_escaped(p, l[i].value, 1);
		puts_(p, "\"");
	}
	if (le != NULL) {
		puts_(p, nl > 0 ? ",le=\"" : "le=\"");
		puts_(p, le);
		puts_(p, "\"");
	}
	puts_(p, "} ");
}

static void
put_double(struct prom *p, double v)
{
	if (isnan(v))
		puts_(p, "NaN");
	else if (isinf(v))
		puts_(p, v > 0 ? "+Inf" : "-Inf");
	else
		putf(p, "%.17g", v);
}

void
prom_u64(struct prom *p, const char *name, const struct prom_label *l, size_t nl, uint64_t v)
{
	series(p, name, "", l, nl, NULL);
	putf(p, "%llu\n", (unsigned long long)v);
}

void
prom_double(struct prom *p, const char *name, const struct prom_label *l, size_t nl, double v)
{
	series(p, name, "", l, nl, NULL);
	put_double(p, v);
	puts_(p, "\n");
}

void
prom_histogram(struct prom *p, const char *name, const struct prom_label *l, size_t nl,
    const struct histogram *h)
{
	char le[PROM_LE_MAX];
	uint64_t cum = 0;

	for (size_t i = 0; i < h->nbounds; i++) {
		/* %g keeps "0.005" short; bounds are a few significant digits. */
		snprintf(le, sizeof(le), "%g", h->bounds[i]);
		cum += h->counts[i];
		series(p, name, "_bucket", l, nl, le);
		putf(p, "%llu\n", (unsigned long long)cum);
	}
	cum += h->counts[h->nbounds];
	series(p, name, "_bucket", l, nl, "+Inf");
	putf(p, "%llu\n", (unsigned long long)cum);
	series(p, name, "_sum", l, nl, NULL);
	put_double(p, h->sum);
	puts_(p, "\n");
	series(p, name, "_count", l, nl, NULL);
	putf(p, "%llu\n", (unsigned long long)h->count);
}

char *
prom_finish(struct prom *p, size_t *len)
{
	char *out;

	if (p->failed || reserve(p, 0) < 0) {
		prom_free(p);
		return NULL;
	}
	out = p->buf;
	*len = p->len;
	out[p->len] = '\0';
	prom_init(p);
	return out;
}
