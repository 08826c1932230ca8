/* GET /metrics: the Prometheus text of everything the manager counts (api.md "Metrics"), on the
 * admin API (scope read) and on the optional unauthenticated --metrics-listen. */
#include "../lib/err.h"
#include "../lib/prom.h"
#include "api.h"
#include "app.h"
#include "metrics_prom.h"
#include "metrics_snap.h"

void
api_metrics_get(struct req *r)
{
	struct metrics_snap s;
	size_t len;
	char *text;
	int rv;

	if ((rv = metrics_snap_gather(r->app, &s)) < 0) {
		r->retry_after = 1;
		reply_problem(r, 503, NULL, "the metrics could not be gathered: %s", err_str(rv));
		return;
	}
	text = metrics_prom(&s, &len);
	metrics_snap_free(&s);
	if (text == NULL) {
		reply_problem(r, 503, NULL, "the metrics could not be rendered: out of memory");
		return;
	}
	reply_text(r, 200, PROM_CONTENT_TYPE, text);
}
