/* The Prometheus text renderer: HELP and TYPE lines, label values and help text escaped,
 * integers exact past 2^53, doubles and their special values, histograms with cumulative
 * buckets ending in +Inf and their _sum and _count; the histogram's bucketing itself (a value on
 * a bound belongs to that bucket). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/histogram.h"
#include "../../lib/prom.h"
#include "check.h"

static char *
render(struct prom *p)
{
	size_t len = 0;
	char *s = prom_finish(p, &len);

	CHECK(s != NULL && strlen(s) == len, "the document comes out whole");
	return s;
}

int
main(void)
{
	static const double bounds[] = {0.1, 0.5, 1};
	struct prom p;
	struct histogram h;
	char *s;

	prom_init(&p);
	prom_family(&p, "snaptun_x_total", "Things \\ counted\nover lines.", PROM_COUNTER);
	prom_u64(&p, "snaptun_x_total", NULL, 0, 18446744073709551615ull);
	prom_u64(
	    &p, "snaptun_x_total", (struct prom_label[]){{"pool", "a\"b\\c\nd"}, {"k", ""}}, 2, 7);
	s = render(&p);
	CHECK(strcmp(s,
		  "# HELP snaptun_x_total Things \\\\ counted\\nover lines.\n"
		  "# TYPE snaptun_x_total counter\n"
		  "snaptun_x_total 18446744073709551615\n"
		  "snaptun_x_total{pool=\"a\\\"b\\\\c\\nd\",k=\"\"} 7\n") == 0,
	    "help escapes backslash and newline, label values the double quote too; an integer is "
	    "exact");
	CHECK(strstr(s, "Things \\\\ counted\\nover") != NULL && strchr(s, '"') != NULL,
	    "the help line keeps its double quotes unescaped");
	free(s);

	prom_init(&p);
	prom_family(&p, "snaptun_g", "A gauge \"quoted\".", PROM_GAUGE);
	prom_double(&p, "snaptun_g", NULL, 0, 0.25);
	prom_double(&p, "snaptun_g", (struct prom_label[]){{"v", "inf"}}, 1, INFINITY);
	prom_double(&p, "snaptun_g", (struct prom_label[]){{"v", "-inf"}}, 1, -INFINITY);
	prom_double(&p, "snaptun_g", (struct prom_label[]){{"v", "nan"}}, 1, NAN);
	s = render(&p);
	CHECK(strcmp(s,
		  "# HELP snaptun_g A gauge \"quoted\".\n"
		  "# TYPE snaptun_g gauge\n"
		  "snaptun_g 0.25\n"
		  "snaptun_g{v=\"inf\"} +Inf\n"
		  "snaptun_g{v=\"-inf\"} -Inf\n"
		  "snaptun_g{v=\"nan\"} NaN\n") == 0,
	    "doubles, +Inf, -Inf and NaN");
	free(s);

	histogram_init(&h, bounds, 3);
	histogram_observe(&h, 0.05);
	histogram_observe(&h, 0.1); /* on the bound: the first bucket */
	histogram_observe(&h, 0.3);
	histogram_observe(&h, 5);
	CHECK(h.counts[0] == 2 && h.counts[1] == 1 && h.counts[2] == 0 && h.counts[3] == 1,
	    "a value on a bound counts in that bound's bucket, one past the last in the open one");
	CHECK(h.count == 4 && fabs(h.sum - 5.45) < 1e-9, "count and sum");
	prom_init(&p);
	prom_family(&p, "snaptun_d_seconds", "Durations.", PROM_HISTOGRAM);
	prom_histogram(
	    &p, "snaptun_d_seconds", (struct prom_label[]){{"route", "/v1/pools/{id}"}}, 1, &h);
	s = render(&p);
	CHECK(strcmp(s,
		  "# HELP snaptun_d_seconds Durations.\n"
		  "# TYPE snaptun_d_seconds histogram\n"
		  "snaptun_d_seconds_bucket{route=\"/v1/pools/{id}\",le=\"0.1\"} 2\n"
		  "snaptun_d_seconds_bucket{route=\"/v1/pools/{id}\",le=\"0.5\"} 3\n"
		  "snaptun_d_seconds_bucket{route=\"/v1/pools/{id}\",le=\"1\"} 3\n"
		  "snaptun_d_seconds_bucket{route=\"/v1/pools/{id}\",le=\"+Inf\"} 4\n"
		  "snaptun_d_seconds_sum{route=\"/v1/pools/{id}\"} 5.4500000000000002\n"
		  "snaptun_d_seconds_count{route=\"/v1/pools/{id}\"} 4\n") == 0,
	    "histogram buckets are cumulative, end in +Inf equal to _count, then _sum");
	free(s);

	histogram_init(&h, bounds, 3);
	prom_init(&p);
	prom_family(&p, "snaptun_e_seconds", "Empty.", PROM_HISTOGRAM);
	prom_histogram(&p, "snaptun_e_seconds", NULL, 0, &h);
	s = render(&p);
	CHECK(strstr(s, "snaptun_e_seconds_bucket{le=\"0.1\"} 0\n") != NULL &&
		strstr(s, "snaptun_e_seconds_bucket{le=\"+Inf\"} 0\n") != NULL &&
		strstr(s, "snaptun_e_seconds_sum 0\n") != NULL &&
		strstr(s, "snaptun_e_seconds_count 0\n") != NULL,
	    "an empty histogram without labels: le alone in the braces, zero sum and count");
	free(s);

	/* A large document grows its buffer: every line survives the moves. */
	prom_init(&p);
	prom_family(&p, "snaptun_many", "Many.", PROM_GAUGE);
	for (int i = 0; i < 5000; i++)
		prom_u64(&p, "snaptun_many", (struct prom_label[]){{"i", "xxxxxxxxxxxxxxxx"}}, 1,
		    (uint64_t)i);
	s = render(&p);
	CHECK(strstr(s, "snaptun_many{i=\"xxxxxxxxxxxxxxxx\"} 0\n") != NULL &&
		strstr(s, "snaptun_many{i=\"xxxxxxxxxxxxxxxx\"} 4999\n") != NULL,
	    "a document past the first buffer keeps its first and last lines");
	free(s);
	prom_init(&p);
	prom_free(&p);
	return check_done();
}
