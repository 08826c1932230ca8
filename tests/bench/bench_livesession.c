/* What writing an agent's live sessions to the store costs (db/livesession.h): one agent's
 * report transaction as the manager commits it every 5 s — the agents row alone (what every
 * store pays anyway, the reference), then with the agent's N sessions replaced in the same
 * transaction — on a store named as the manager's --store names it.
 *
 *   bench_livesession STORE SESSIONS ROUNDS LABEL
 *
 * Prints two lines, the median of ROUNDS commits each:
 *   LIVESESSION label=LABEL sessions=0 ms=M          (the report alone)
 *   LIVESESSION label=LABEL sessions=N ms=M */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/agents.h"
#include "../../db/db.h"
#include "../../db/livesession.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"

#define NOW 1800000000
#define AGENT 1

static void
die(const char *what, int rv)
{
	fprintf(stderr, "bench_livesession: %s: %s\n", what, err_str(rv));
	exit(1);
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median time in ms of rounds report transactions, each with the n sessions of v. */
static double
rounds_ms(struct db *db, struct session *v, size_t n, int rounds)
{
	double *ms = calloc((size_t)rounds, sizeof(*ms)), med;
	uint64_t t;
	int rv;

	if (ms == NULL)
		die("calloc", ERR_NOMEM);
	for (int r = 0; r < rounds; r++) {
		/* The counters move between reports, as a STATS frame moves them. */
		for (size_t i = 0; i < n; i++)
			v[i].counters.rx_packets += 10;
		t = clock_mono_ns();
		if ((rv = db_begin(db)) < 0 ||
		    (rv = agents_report(db, AGENT, "bench", NOW + r, (int64_t)n, NULL)) < 0 ||
		    (n > 0 && (rv = livesession_replace(db, AGENT, "bench", v, n)) < 0) ||
		    (rv = db_commit(db)) < 0)
			die("report", rv);
		ms[r] = (double)(clock_mono_ns() - t) / 1e6;
	}
	qsort(ms, (size_t)rounds, sizeof(*ms), by_value);
	med = ms[rounds / 2];
	free(ms);
	return med;
}

int
main(int argc, char **argv)
{
	struct agent_row a = {0};
	struct session *v;
	struct db *db;
	size_t n;
	int rounds, rv;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_livesession STORE SESSIONS ROUNDS LABEL\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	rounds = atoi(argv[3]);
	if (rounds < 1 || n < 1 || n > 1000000 || (v = calloc(n, sizeof(*v))) == NULL) {
		fprintf(stderr, "bench_livesession: SESSIONS 1-1000000, ROUNDS 1 or more\n");
		return 2;
	}
	if ((rv = db_open(argv[1], &db)) < 0)
		die("db_open", rv);
	a.id = AGENT;
	snprintf(a.software_version, sizeof(a.software_version), "bench");
	snprintf(a.manager, sizeof(a.manager), "bench");
	if ((rv = agents_hello(db, &a, NOW)) < 0)
		die("agents_hello", rv);
	for (size_t i = 0; i < n; i++) {
		v[i].id = 1000000 + i;
		v[i].agent_id = AGENT;
		snprintf(v[i].pssid, sizeof(v[i].pssid), "a0b1c2d3-0000-4000-8000-%012zu", i);
		v[i].grant_id = i + 1;
		snprintf(v[i].address, sizeof(v[i].address), "10.%zu.%zu.%zu", i >> 16 & 255,
		    i >> 8 & 255, i & 255);
		v[i].isd_as = UINT64_C(0x0001ff0000000110);
		snprintf(v[i].remote, sizeof(v[i].remote), "192.0.2.1:%zu", 1024 + i % 60000);
		v[i].started_at = NOW;
		v[i].expires_at = NOW + 3600;
	}
	printf("LIVESESSION label=%s sessions=0 ms=%.3f\n", argv[4], rounds_ms(db, v, 0, rounds));
	printf(
	    "LIVESESSION label=%s sessions=%zu ms=%.3f\n", argv[4], n, rounds_ms(db, v, n, rounds));
	free(v);
	db_close(db);
	return 0;
}
