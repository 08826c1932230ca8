/* Allocator throughput through the real C API (alloc_acquire, alloc_hold) on a real SQLite file
 * (WAL, synchronous=FULL, opened by db_open), beside the raw SQLite rate of a trivial INSERT
 * measured in the same run, in the same directory, with the same durability.
 *
 *   bench_alloc [DIR]      DIR: where the database files go (default: a new dir under $TMPDIR,
 *                          removed at the end). BENCH_QUICK=1: 1k/10k/100k instead of 1k/100k/1M.
 *
 * Two database files, each with one pool of ISD-AS 1-ff00:0:110, so that "N grants" is exactly
 * the size of the tables the allocator works on: a sequential IPv4 pool 10.0.0.0/8 (requests for
 * family 0, "any") and a random IPv6 pool 2001:db8::/64 (requests for family 6). Every
 * allocation is for a fresh pssid, a random-looking UUID as SNAP writes them, so the pssid index
 * sees random inserts as in production. At each size the work is interleaved with its reference:
 *   group commit:    64 alloc_acquire per db_begin()/db_commit()  vs  64 INSERTs per COMMIT
 *   one commit each: alloc_acquire alone (its own durable commit) vs  1 INSERT per COMMIT
 * A missed target is reported, not fatal: the exit status is non-zero only when the setup or an
 * allocation fails.
 *
 * BENCH_TRACE=1 also prints where the time of the group-commit run at the top size goes, per SQL
 * statement (sqlite3_trace_v2 SQLITE_TRACE_PROFILE: wall time from first step to reset). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../db/db.h"
#include "../../db/sqlite/driver.h"
#include "../../db/stmt.h"
#include "../../lib/addr.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../manager/alloc.h"
#include "../../db/grant.h"
#include "../../db/pool.h"

#define GROUP 64 /* allocations per outer transaction, as the state channel */
#define MEASURE_MAX 20000 /* allocations per group-commit point (full run) */
#define SINGLE_MAX 3000 /* one-commit-each points stop at this many (full run) ... */
#define SINGLE_SECS 1.5 /* ... or after this long, whichever comes first */
#define SINGLE_MIN 32
#define FILL_BATCH 16384 /* allocations per transaction while filling */
#define TARGET_RATE 50000.0 /* allocations/s at the top size, group commit */
#define TARGET_FLAT 0.30 /* top size within 30% of the smallest */
#define NOW 1790000000 /* a fixed clock: holds never lapse during the run */
#define NLEVELS 3
#define NSC 2

struct rate {
	double per_s;
	long n;
};

struct point {
	uint64_t grants; /* rows in the grants table at the start of the point */
	struct rate ref_group, group, ref_single, single;
};

struct scenario {
	const char *label;
	const char *prefix;
	enum pool_strategy strategy;
	int family; /* of the requests */
	const char *file;
	char path[1100];
	struct db *db;
	int64_t pool_id;
	uint64_t grants; /* grants in the file */
	double fill_secs; /* time spent filling */
	uint64_t filled; /* grants made by the fill */
	long long db_bytes, wal_bytes; /* right after the fill to the top size */
	struct point pts[NLEVELS];
	uint64_t hold_at;
	struct rate hold_group, hold_single, ref_group_hold, ref_single_hold;
	/* the grants of the last group-commit point, for hold+reclaim */
	int64_t *ids;
	char (*pssids)[PSSID_MAX + 1];
	int nids;
};

static int measure_n = MEASURE_MAX, single_max = SINGLE_MAX;
static uint64_t pssid_counter;
static const char *actor = "bench";

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_alloc: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* Monotonic seconds, for rates. */
static double
now_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

static uint64_t
splitmix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* A fresh pssid in UUID form. splitmix64 is a bijection of the counter, so they never repeat,
 * and they look random to the index like real UUIDs. */
static void
fresh_pssid(char *buf)
{
	uint64_t n = pssid_counter++, a = splitmix64(n), b = splitmix64(n ^ UINT64_C(0x5bd1e995));

	snprintf(buf, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
	    (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
	    (unsigned)(0x8000 | (b >> 48 & 0x3fff)),
	    (unsigned long long)(b & UINT64_C(0xffffffffffff)));
}

static void
acquire_fresh(struct scenario *s, struct grant *g)
{
	char pssid[40], why[256];
	struct alloc_req r = {
	    .pssid = pssid,
	    .isd_as = 0,
	    .family = s->family,
	    .addr = NULL,
	    .session_id = 1,
	    .agent_id = 1,
	    .actor = actor,
	};
	int rv;

	fresh_pssid(pssid);
	if ((rv = alloc_acquire(s->db, &r, NOW, g, why, sizeof(why))) < 0)
		die("%s: alloc_acquire: %s (%s) after %llu grants", s->label, err_str(rv), why,
		    (unsigned long long)s->grants);
	s->grants++;
}

static void
begin(struct db *db)
{
	if (db_begin(db) < 0)
		die("db_begin failed");
}

/* As the manager's loop does: a passive checkpoint once a second, off the commit path but
 * on the same thread, so its cost is in the measured time. */
static void
commit(struct db *db)
{
	static double last_checkpoint;
	double t;

	if (db_commit(db) < 0)
		die("db_commit failed");
	if ((t = now_s()) - last_checkpoint >= 1.0) {
		if (db_checkpoint(db) < 0)
			die("db_checkpoint failed");
		last_checkpoint = t;
	}
}

/* Fill up to target grants, in big transactions. */
static void
fill_to(struct scenario *s, uint64_t target)
{
	uint64_t start = s->grants;
	double t0 = now_s();
	struct grant g;

	while (s->grants < target) {
		begin(s->db);
		for (int i = 0; i < FILL_BATCH && s->grants < target; i++)
			acquire_fresh(s, &g);
		commit(s->db);
	}
	s->fill_secs += now_s() - t0;
	s->filled += s->grants - start;
}

/* 64 allocations per commit, measure_n in all; the grants are kept for hold+reclaim. */
static struct rate
measure_group(struct scenario *s)
{
	struct grant g;
	double t0 = now_s();
	int n = 0;

	while (n < measure_n) {
		begin(s->db);
		for (int i = 0; i < GROUP && n < measure_n; i++, n++) {
			acquire_fresh(s, &g);
			s->ids[n] = g.id;
			snprintf(s->pssids[n], sizeof(s->pssids[n]), "%s", g.pssid);
		}
		commit(s->db);
	}
	s->nids = n;
	return (struct rate){n / (now_s() - t0), n};
}

static struct rate
measure_single(struct scenario *s)
{
	struct grant g;
	double t0 = now_s(), t;
	long n = 0;

	do {
		acquire_fresh(s, &g);
		n++;
		t = now_s() - t0;
	} while (n < single_max && (t < SINGLE_SECS || n < SINGLE_MIN));
	return (struct rate){n / t, n};
}

/* alloc_hold then alloc_acquire of the same pssid (a reclaim), per pair; group: 64 pairs per
 * commit. The grants are those of the last group-commit point. The hold is fenced by the
 * grant's session; the reclaim comes from the next one. */
static struct rate
measure_hold(struct scenario *s, int group, int max, double max_secs, int64_t session)
{
	char why[256];
	struct grant g;
	struct alloc_req r = {
	    .isd_as = 0,
	    .family = s->family,
	    .session_id = session + 1,
	    .agent_id = 1,
	    .actor = actor,
	};
	double t0 = now_s(), t = 0;
	int n = 0, rv;

	while (n < max && n < s->nids && (t < max_secs || n < SINGLE_MIN)) {
		if (group)
			begin(s->db);
		for (int i = 0; i < (group ? GROUP : 1) && n < max && n < s->nids; i++, n++) {
			if ((rv = alloc_hold(s->db, s->ids[n], session, actor, NOW, &g)) < 0)
				die("%s: alloc_hold: %s", s->label, err_str(rv));
			if (g.state != GRANT_ON_HOLD)
				die("%s: alloc_hold left the grant assigned (pool hold time?)",
				    s->label);
			r.pssid = s->pssids[n];
			if ((rv = alloc_acquire(s->db, &r, NOW, &g, why, sizeof(why))) < 0)
				die("%s: reclaim: %s (%s)", s->label, err_str(rv), why);
			if (g.id != s->ids[n] || g.state != GRANT_ASSIGNED)
				die("%s: reclaim gave grant %lld, not %lld", s->label,
				    (long long)g.id, (long long)s->ids[n]);
		}
		if (group)
			commit(s->db);
		t = now_s() - t0;
	}
	return (struct rate){n / t, n};
}

/* ---- per-statement profile (BENCH_TRACE) ---- */

#define PROF_MAX 64

struct prof {
	const char *sql;
	double ns;
	long n;
};

struct profile {
	struct prof v[PROF_MAX];
	int n;
};

static int
on_trace(unsigned type, void *ctx, void *p, void *x)
{
	struct profile *pr = ctx;
	const char *sql = sqlite3_sql(p);
	int i;

	if (type != SQLITE_TRACE_PROFILE || sql == NULL)
		return 0;
	for (i = 0; i < pr->n && pr->v[i].sql != sql; i++)
		;
	if (i == pr->n) {
		if (pr->n == PROF_MAX)
			return 0;
		pr->v[pr->n++].sql = sql;
	}
	pr->v[i].ns += (double)*(sqlite3_int64 *)x;
	pr->v[i].n++;
	return 0;
}

static int
prof_cmp(const void *a, const void *b)
{
	const struct prof *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static void
prof_print(struct profile *pr, const char *label, long allocs, double secs)
{
	struct prof *prof = pr->v;
	double sum = 0;

	qsort(prof, (size_t)pr->n, sizeof(prof[0]), prof_cmp);
	for (int i = 0; i < pr->n; i++)
		sum += prof[i].ns;
	printf("\n%s: per-statement wall time of %ld group-commit allocations (%.1f us each; "
	       "statements %.1f us, the rest in C)\n",
	    label, allocs, 1e6 * secs / allocs, sum / 1e3 / allocs);
	printf(
	    "  (SQLite's profile clock ticks in ms, so these are statistical; COMMIT includes the "
	    "WAL write, fsync and checkpoints)\n");
	printf("  %8s %8s %9s  %s\n", "us/alloc", "runs", "us/run", "statement");
	for (int i = 0; i < pr->n; i++)
		printf("  %8.2f %8.2f %9.2f  %.110s\n", prof[i].ns / 1e3 / allocs,
		    (double)prof[i].n / allocs, prof[i].ns / 1e3 / prof[i].n, prof[i].sql);
}

/* ---- the reference: a trivial table in its own file, same directory, same pragmas ---- */

static sqlite3 *ref;
static sqlite3_stmt *ref_ins, *ref_begin, *ref_commit;
static long ref_rows;

static void
ref_exec(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		die("reference: %s", sqlite3_errmsg(ref));
	sqlite3_reset(st);
}

static void
ref_open(const char *dir)
{
	char path[1100], *msg = NULL;

	snprintf(path, sizeof(path), "%s/reference.db", dir);
	if (sqlite3_open(path, &ref) != SQLITE_OK ||
	    sqlite3_exec(ref,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		"PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
		"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
		NULL, NULL, &msg) != SQLITE_OK)
		die("reference %s: %s", path, msg ? msg : sqlite3_errmsg(ref));
	if (sqlite3_prepare_v2(ref, "INSERT INTO t (v) VALUES (?1)", -1, &ref_ins, NULL) ||
	    sqlite3_prepare_v2(ref, "BEGIN IMMEDIATE", -1, &ref_begin, NULL) ||
	    sqlite3_prepare_v2(ref, "COMMIT", -1, &ref_commit, NULL))
		die("reference: %s", sqlite3_errmsg(ref));
}

static void
ref_insert(void)
{
	char v[40];

	snprintf(v, sizeof(v), "row-%ld", ref_rows++);
	sqlite3_bind_text(ref_ins, 1, v, -1, SQLITE_TRANSIENT);
	ref_exec(ref_ins);
}

static struct rate
ref_group(void)
{
	double t0 = now_s();
	int n = 0;

	while (n < measure_n) {
		ref_exec(ref_begin);
		for (int i = 0; i < GROUP && n < measure_n; i++, n++)
			ref_insert();
		ref_exec(ref_commit);
	}
	return (struct rate){n / (now_s() - t0), n};
}

static struct rate
ref_single(void)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		ref_exec(ref_begin);
		ref_insert();
		ref_exec(ref_commit);
		n++;
		t = now_s() - t0;
	} while (n < single_max && (t < SINGLE_SECS || n < SINGLE_MIN));
	return (struct rate){n / t, n};
}

/* ---- setup and report ---- */

static void
scenario_open(struct scenario *s, const char *dir)
{
	struct pool p = {0};
	struct pool_conflict c;
	const char *why;
	char whybuf[128];
	int rv;

	snprintf(s->path, sizeof(s->path), "%s/%s", dir, s->file);
	if (db_open(s->path, &s->db) < 0)
		die("db_open %s failed", s->path);
	snprintf(p.name, sizeof(p.name), "%s", s->label);
	p.isd_as = UINT64_C(0x0001ff0000000110);
	if (prefix_parse(s->prefix, &p.prefix, whybuf, sizeof(whybuf), &why) < 0)
		die("prefix %s: %s", s->prefix, why);
	p.hold_seconds = 600;
	p.strategy = s->strategy;
	p.mode = POOL_MODE_IP;
	if ((rv = pool_create(s->db, &p, NOW, &c)) < 0)
		die("pool_create %s: %s", s->prefix, err_str(rv));
	s->pool_id = p.id;
	s->ids = calloc(MEASURE_MAX, sizeof(*s->ids));
	s->pssids = calloc(MEASURE_MAX, sizeof(*s->pssids));
	if (s->ids == NULL || s->pssids == NULL)
		die("out of memory");
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The store agrees with the allocations made: a benchmark of a broken allocator is no
 * benchmark. (pool_id, addr_index) is UNIQUE, so equal counts mean distinct addresses. */
static void
verify(const struct scenario *s)
{
	struct stmt *st = db_stmt(s->db, "SELECT count(*) FROM grants");
	struct pool p;

	if (db_row(st) != 1)
		die("%s: verification query failed", s->label);
	if ((uint64_t)db_col_int(st, 0) != s->grants)
		die("%s: %llu grants made, but the table has %lld rows", s->label,
		    (unsigned long long)s->grants, (long long)db_col_int(st, 0));
	db_reset(st);
	if (pool_get(s->db, s->pool_id, &p) < 0)
		die("%s: pool_get failed", s->label);
	if ((uint64_t)p.n_assigned != s->grants || (uint64_t)p.n_occupied != s->grants)
		die("%s: %llu grants made, but the pool counts %lld assigned, %lld occupied",
		    s->label, (unsigned long long)s->grants, (long long)p.n_assigned,
		    (long long)p.n_occupied);
}

static const char *
human(uint64_t n, char *buf, size_t len)
{
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(n / 1000000));
	else if (n >= 1000 && n % 1000 == 0)
		snprintf(buf, len, "%lluk", (unsigned long long)(n / 1000));
	else
		snprintf(buf, len, "%llu", (unsigned long long)n);
	return buf;
}

static void
remove_files(const char *dir, const char *file)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char path[1200];

	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, file, suffix[i]);
		unlink(path);
	}
}

static double
pct(double a, double b)
{
	return b > 0 ? 100 * a / b : 0;
}

int
main(int argc, char **argv)
{
	static const uint64_t full[NLEVELS] = {1000, 100000, 1000000};
	static const uint64_t quick[NLEVELS] = {1000, 10000, 100000};
	struct scenario sc[NSC] = {
	    {.label = "sequential v4",
		.prefix = "10.0.0.0/8",
		.strategy = POOL_SEQUENTIAL,
		.family = 0,
		.file = "alloc-seq-v4.db"},
	    {.label = "random v6",
		.prefix = "2001:db8::/64",
		.strategy = POOL_RANDOM,
		.family = 6,
		.file = "alloc-random-v6.db"},
	};
	const char *q = getenv("BENCH_QUICK"), *dir, *tmp, *tr = getenv("BENCH_TRACE");
	int trace = tr != NULL && tr[0] != '\0' && strcmp(tr, "0") != 0;
	static struct profile profiles[NSC];
	struct rate traced[NSC];
	int is_quick = q != NULL && q[0] != '\0' && strcmp(q, "0") != 0;
	const uint64_t *levels = is_quick ? quick : full;
	const uint64_t top = levels[NLEVELS - 1];
	char dirbuf[1024], a[24], b[24], tmpl[1024], wal[1200];
	int own_dir = 0, all_met = 1;
	double t_start = now_s();

	log_set_level(LOG_ERROR);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (is_quick) {
		measure_n = 2000;
		single_max = 1000;
	}
	if (argc > 1) {
		if (strlen(argv[1]) >= sizeof(dirbuf))
			die("directory name too long");
		snprintf(dirbuf, sizeof(dirbuf), "%s", argv[1]);
	} else {
		tmp = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/snaptun-bench-XXXXXX",
		    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if (mkdtemp(tmpl) == NULL)
			die("mkdtemp %s: %s", tmpl, strerror(errno));
		snprintf(dirbuf, sizeof(dirbuf), "%s", tmpl);
		own_dir = 1;
	}
	dir = dirbuf;

	printf(
	    "allocator: alloc_acquire, SQLite %s files in %s (db_open: WAL, synchronous=FULL)%s\n",
	    sqlite3_libversion(), dir, is_quick ? ", BENCH_QUICK" : "");
	printf(
	    "  one file per pool: \"%s\" %s (requests: family 0), \"%s\" %s (family 6);\n"
	    "  each point: %d fresh-pssid allocations %d per commit, then up to %d or %.1fs with "
	    "one commit each;\n  ref: raw INSERT of one row into a trivial table in "
	    "reference.db beside them (same pragmas), run just before\n",
	    sc[0].label, sc[0].prefix, sc[1].label, sc[1].prefix, measure_n, GROUP, single_max,
	    SINGLE_SECS);
	ref_open(dir);
	for (int i = 0; i < NSC; i++)
		scenario_open(&sc[i], dir);

	for (int l = 0; l < NLEVELS; l++) {
		for (int i = 0; i < NSC; i++) {
			struct scenario *s = &sc[i];
			struct point *pt = &s->pts[l];
			double t0 = now_s();

			fill_to(s, levels[l]);
			if (l == NLEVELS - 1) {
				s->db_bytes = file_size(s->path);
				snprintf(wal, sizeof(wal), "%s-wal", s->path);
				s->wal_bytes = file_size(wal);
			}
			fprintf(stderr, "bench_alloc: %s: %llu grants (fill %.1fs), measuring\n",
			    s->label, (unsigned long long)s->grants, now_s() - t0);
			pt->grants = s->grants;
			pt->ref_group = ref_group();
			if (trace && l == NLEVELS - 1)
				sqlite3_trace_v2(sqlite_db_handle(s->db), SQLITE_TRACE_PROFILE,
				    on_trace, &profiles[i]);
			pt->group = measure_group(s);
			if (trace && l == NLEVELS - 1) {
				sqlite3_trace_v2(sqlite_db_handle(s->db), 0, NULL, NULL);
				traced[i] = pt->group;
			}
			pt->ref_single = ref_single();
			pt->single = measure_single(s);
			if (l == NLEVELS - 1) {
				s->hold_at = s->grants;
				s->ref_group_hold = ref_group();
				s->hold_group = measure_hold(s, 1, measure_n, 1e9, 1);
				s->ref_single_hold = ref_single();
				s->hold_single = measure_hold(s, 0, single_max, SINGLE_SECS, 2);
			}
			verify(s);
		}
	}

	printf("\nalloc_acquire, allocations/s; ref = raw SQLite INSERTs/s with the same commit "
	       "pattern, measured alongside\n");
	printf("%-14s %7s %9s | %9s %9s %6s | %9s %9s %6s\n", "pool", "point", "grants", "group/64",
	    "ref/64", "ratio", "one-each", "ref/1", "ratio");
	printf("%.*s\n", 91,
	    "----------------------------------------------------------------"
	    "------------------------------------------------");
	for (int i = 0; i < NSC; i++)
		for (int l = 0; l < NLEVELS; l++) {
			struct point *pt = &sc[i].pts[l];
			printf("%-14s %7s %9llu | %9.0f %9.0f %5.0f%% | %9.0f %9.0f %5.0f%%\n",
			    sc[i].label, human(levels[l], a, sizeof(a)),
			    (unsigned long long)pt->grants, pt->group.per_s, pt->ref_group.per_s,
			    pct(pt->group.per_s, pt->ref_group.per_s), pt->single.per_s,
			    pt->ref_single.per_s, pct(pt->single.per_s, pt->ref_single.per_s));
		}
	printf("  (grants: rows when the point started; a point adds its own allocations)\n");

	printf("\nhold+reclaim (alloc_hold, then alloc_acquire of the same pssid), pairs/s\n");
	printf("%-14s %7s %9s | %9s %9s %6s | %9s %9s %6s\n", "pool", "point", "grants", "group/64",
	    "ref/64", "ratio", "one-each", "ref/1", "ratio");
	for (int i = 0; i < NSC; i++) {
		struct scenario *s = &sc[i];
		printf("%-14s %7s %9llu | %9.0f %9.0f %5.0f%% | %9.0f %9.0f %5.0f%%\n", s->label,
		    human(top, a, sizeof(a)), (unsigned long long)s->hold_at, s->hold_group.per_s,
		    s->ref_group_hold.per_s, pct(s->hold_group.per_s, s->ref_group_hold.per_s),
		    s->hold_single.per_s, s->ref_single_hold.per_s,
		    pct(s->hold_single.per_s, s->ref_single_hold.per_s));
	}
	printf("  (group: 64 pairs per commit; one-each: each call its own commit, 2 per pair; "
	       "ref: rows/s)\n");

	printf("\nfill (alloc_acquire, %d per transaction, up to %s) and the file at %s\n",
	    FILL_BATCH, human(top, a, sizeof(a)), human(top, b, sizeof(b)));
	for (int i = 0; i < NSC; i++) {
		struct scenario *s = &sc[i];
		printf(
		    "  %-14s %8llu grants filled in %5.1fs (%6.0f/s); db %6.1f MiB + wal %5.1f MiB"
		    " (%.0f bytes/grant)\n",
		    s->label, (unsigned long long)s->filled, s->fill_secs,
		    s->fill_secs > 0 ? s->filled / s->fill_secs : 0, s->db_bytes / 1048576.0,
		    s->wal_bytes / 1048576.0, (double)s->db_bytes / (double)top);
	}

	printf("\ntargets (group commit)\n");
	for (int i = 0; i < NSC; i++) {
		struct scenario *s = &sc[i];
		double hi = s->pts[NLEVELS - 1].group.per_s, lo = s->pts[0].group.per_s;
		double change = (hi - lo) / lo;
		int met_rate = hi >= TARGET_RATE, met_flat = change >= -TARGET_FLAT;

		all_met &= met_rate && met_flat;
		printf("  %-14s rate at %-4s %9.0f alloc/s   target >= %.0f/s   %s\n", s->label,
		    human(top, a, sizeof(a)), hi, TARGET_RATE, met_rate ? "met" : "MISSED");
		printf("  %-14s %-4s vs %-4s %+8.0f%%          target >= -%.0f%%      %s\n",
		    s->label, human(top, a, sizeof(a)), human(levels[0], b, sizeof(b)),
		    100 * change, 100 * TARGET_FLAT, met_flat ? "met" : "MISSED");
	}
	if (is_quick)
		printf("  (BENCH_QUICK: the top size is %s, not 1M; the targets are for 1M)\n",
		    human(top, a, sizeof(a)));
	for (int i = 0; trace && i < NSC; i++)
		prof_print(&profiles[i], sc[i].label, traced[i].n, traced[i].n / traced[i].per_s);
	printf("allocator targets: %s (bench_alloc took %.0fs)\n",
	    all_met ? "all met" : "NOT all met", now_s() - t_start);

	for (int i = 0; i < NSC; i++) {
		db_close(sc[i].db);
		free(sc[i].ids);
		free(sc[i].pssids);
		if (own_dir)
			remove_files(dir, sc[i].file);
	}
	sqlite3_finalize(ref_ins);
	sqlite3_finalize(ref_begin);
	sqlite3_finalize(ref_commit);
	sqlite3_close(ref);
	if (own_dir) {
		remove_files(dir, "reference.db");
		rmdir(dir);
	}
	return 0;
}
