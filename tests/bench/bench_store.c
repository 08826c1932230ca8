/* Allocations per second through the real allocator (alloc_acquire) on a store named as the
 * manager's --store names it, in batches of 64 per commit as the state channel commits them,
 * for a number of seconds. Several of these processes on one PostgreSQL database are several
 * managers allocating from the same pool at once (tests/bench/bench_store.sh runs them).
 *
 *   bench_store STORE SECONDS LABEL
 *
 * The pool "bench" (10.0.0.0/8, sequential) is made by whichever process comes first; the
 * others find it. Prints one line: ALLOC label=LABEL allocations=N seconds=S busy=B, where B
 * counts the batches refused as busy (ERR_BUSY: a lock not had in time, a deadlock), which are
 * tried again; any other failure is fatal (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../db/db.h"
#include "../../db/pool.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../manager/alloc.h"

#define GROUP 64
#define NOW 1800000000

static void
die(const char *what, int rv)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, err_str(rv));
	exit(1);
}

/* The pool to allocate from: made here, or by another process a moment ago. */
static void
pool_setup(struct db *db)
{
	struct pool p = {0};
	struct pool_conflict c;
	const char *why;
	char whybuf[64];
	int rv;

	snprintf(p.name, sizeof(p.name), "bench");
	p.isd_as = UINT64_C(0x0001ff0000000110);
	prefix_parse("10.0.0.0/8", &p.prefix, whybuf, sizeof(whybuf), &why);
	p.hold_seconds = 600;
	p.strategy = POOL_SEQUENTIAL;
	p.mode = POOL_MODE_IP;
	if ((rv = pool_create(db, &p, NOW, &c)) < 0 && rv != ERR_CONFLICT)
		die("pool_create", rv);
}

int
main(int argc, char **argv)
{
	char pssid[40], why[256];
	struct alloc_req r = {.pssid = pssid, .session_id = 1, .agent_id = 1, .actor = "bench"};
	struct grant g;
	struct db *db;
	uint64_t n = 0, busy = 0, seq = 0, t0, end;
	double secs;
	int rv;

	if (argc != 4 || (secs = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: bench_store STORE SECONDS LABEL\n");
		return 2;
	}
	log_set_level(LOG_ERROR);
	if ((rv = db_open(argv[1], &db)) < 0)
		die("db_open", rv);
	pool_setup(db);
	srandom((unsigned)clock_mono_ns() ^ (unsigned)getpid());
	t0 = clock_mono_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	while (clock_mono_ns() < end) {
		if ((rv = db_begin(db)) < 0)
			die("db_begin", rv);
		for (int i = 0; i < GROUP && rv == 0; i++) {
			/* A fresh pssid per allocation, unique across processes. */
			snprintf(pssid, sizeof(pssid), "%08lx-%04x-4%03x-8%03x-%012llx", random(),
			    (unsigned)(seq & 0xffff), (unsigned)(random() & 0xfff),
			    (unsigned)(random() & 0xfff), (unsigned long long)seq);
			seq++;
			rv = alloc_acquire(db, &r, NOW, &g, why, sizeof(why));
		}
		if (rv == 0)
			rv = db_commit(db);
		else
			db_rollback(db);
		if (rv == ERR_BUSY) {
			busy++;
			continue;
		}
		if (rv < 0) {
			fprintf(stderr, "bench_store: %s\n", why);
			die("alloc_acquire", rv);
		}
		n += GROUP;
	}
	printf("ALLOC label=%s allocations=%llu seconds=%.3f busy=%llu\n", argv[3],
	    (unsigned long long)n, (double)(clock_mono_ns() - t0) / 1e9, (unsigned long long)busy);
	db_close(db);
	return 0;
}
