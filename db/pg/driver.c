/* The PostgreSQL driver (db/driver.h) on libpq: one synchronous connection per manager,
 * statements prepared once per connection (PQprepare) after :name is turned into $n, values
 * sent as text. A parameter's type comes from its binding (int8 or text); a NULL one is
 * written into the statement as NULL (PostgreSQL cannot type "$1 IS NULL"), so a statement
 * has a prepared variant per shape of its bindings (which are NULL, which are integers): a
 * handful at most. Several managers write at once: READ COMMITTED with row locks where the
 * record modules take them (FOR UPDATE), conditional UPDATEs for single-use transitions and
 * unique constraints as the backstop. A lost connection is noticed on the statement that
 * fails; the transaction it was in is reported lost (ERR_BUSY, nothing of it kept) and the
 * next use outside a transaction connects again, at most once a second so that a store that
 * is down costs a request no more than one bounded connect (connect_timeout). A connection
 * lost while COMMIT was under way leaves the outcome unknown to us: the transaction's id,
 * taken with BEGIN, is asked about on a new connection, so that a transaction that committed
 * is reported committed and not as a failure the caller would try again. A nested level is a
 * savepoint sent in front of the level's first command and released in front of the next
 * command after it, never in a round trip of its own. A batch of writes (db_batch_begin) is
 * sent in pipeline mode: the statements go out without waiting for their answers, which are
 * read a window at a time, so that N rows cost a few round trips instead of N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../driver.h"
#include "schema.h"

#define STMT_SLOTS 512 /* open addressing; there are far fewer distinct statements */
#define PARAMS_MAX 32
#define REFS_MAX 64 /* parameter references in one statement */
#define VARIANTS_MAX 16
#define RECONNECT_GAP_NS 1000000000ull
#define OID_INT8 20
/* The advisory lock whose holder runs the jobs: "snapjobs" in ASCII, a key no other program
 * on the database is likely to pick. */
#define JOBS_LOCK_KEY 0x736e61706a6f6273ll
#define OID_TEXT 25

struct pg_stmt {
	struct stmt base;
	const char *sql; /* the caller's literal: the cache key */
	char *bare; /* sql without its :name references */
	int nrefs;
	size_t ref_at[REFS_MAX]; /* where in bare each reference was */
	int ref_param[REFS_MAX]; /* and which parameter it names */
	int nparams;
	const char *names[PARAMS_MAX]; /* ":name" of each parameter, pointing into names_buf */
	char *names_buf;
	struct variant {
		uint32_t nulls, ints; /* the shape: parameters bound NULL, bound integers */
		unsigned prepared_on; /* the connection generation it was prepared on */
	} variants[VARIANTS_MAX];
	int nvariants;
	int bound_int[PARAMS_MAX]; /* this binding is an integer */
	char *values[PARAMS_MAX]; /* NULL: SQL NULL */
	char ints[PARAMS_MAX][24];
	PGresult *res; /* of the last run, rows read from it */
	int next_row;
};

struct pg_db {
	struct db base;
	PGconn *conn;
	char *conninfo;
	char *description; /* without the password */
	unsigned
	    generation; /* grows with every connection: prepared statements are per connection */
	uint64_t last_attempt_ns;
	int down_logged; /* the failed attempts since the store went away are logged once */
	int changes;
	int64_t total_changes;
	int in_tx; /* BEGIN sent */
	int aborted; /* a statement in the transaction failed: the server refuses the rest */
	int aborted_err;
	int lost; /* the connection dropped inside the transaction */
	char xid[24]; /* the open transaction's id (pg_current_xact_id), to ask its fate */
	/* Savepoint commands owed, sent in front of the next command (in its round trip): the
	 * RELEASE SAVEPOINT of the level committed last (0: none), then a SAVEPOINT for each level
	 * begun since the deepest one sent (levels savepoint_sent + 1 ... level_open). A nested
	 * operation so costs no round trip of its own, and a COMMIT, a ROLLBACK or a ROLLBACK TO an
	 * outer level makes what is owed needless: nothing is sent. */
	int release_pending;
	int savepoint_sent;
	int level_open;
	char *channels[DB_LISTEN_MAX]; /* listened on every connection (db_listen) */
	int nchannels;
	int lease_held; /* the jobs lock was taken ... */
	unsigned lease_generation; /* ... on this connection (it went with any other) */
	int batch; /* in pipeline mode (db_batch_begin) */
	int npending; /* commands sent in pipeline mode whose answers are not read yet */
	int nsent; /* statements among them */
	struct pending {
		const char *sql; /* the caller's literal, for the log */
		int prepare; /* a PQsendPrepare, else a PQsendQueryPrepared */
	} pending[2 * DB_BATCH_WINDOW]; /* a statement may be prepared as it is sent */
	struct pg_stmt slots[STMT_SLOTS];
};

static const struct db_driver pg_driver;

static struct pg_db *
handle(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *
pstmt(struct stmt *st)
{
	return (struct pg_stmt *)st;
}

static int
connected(const struct pg_db *p)
{
	return p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK;
}

/* SQLSTATE classes to enum err: what may pass if tried again is ERR_BUSY. */
static int
map_state(const char *state)
{
	if (state == NULL)
		return ERR_BUSY; /* no answer from the server: the connection failed */
	if (strncmp(state, "23", 2) == 0)
		return ERR_CONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return ERR_BUSY;
	return ERR_DB;
}

/* The outcome of a command: 0, or the err of its failure (logged unless it is an expected
 * conflict or a retryable one), noting what the failure did to the transaction. */
static int
result_err(struct pg_db *p, PGresult *res, const char *what)
{
	ExecStatusType s = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state;
	int rv;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
		return 0;
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	rv = map_state(state);
	if (!connected(p)) {
		rv = ERR_BUSY;
		if (p->in_tx)
			p->lost = 1;
		log_warn("postgresql: connection to %s lost: %s", p->description,
		    p->conn != NULL ? PQerrorMessage(p->conn) : "no connection");
	} else if (rv == ERR_DB) {
		log_error("postgresql: %s: %s", what,
		    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(p->conn));
	}
	if (p->in_tx && !p->aborted) {
		p->aborted = 1;
		p->aborted_err = rv;
	}
	return rv;
}

/* Settings of every connection: a request never waits long for another manager's row lock
 * (it gets ERR_BUSY, then 503 and Retry-After), nor for a runaway statement. The keepalives
 * make the server notice a manager's host that vanished without closing its TCP connection
 * within about 25 s, and so release the jobs lease it held (a dead process's connection is
 * closed by its kernel at once). */
static const char session_setup[] =
    "SET lock_timeout = '2s'; SET statement_timeout = '15s';"
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5;"
    "SET tcp_keepalives_count = 3; SET client_min_messages = warning";

static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* LISTEN on the connection there is. The name was checked by db_listen: a plain identifier. */
static int
listen_on(struct pg_db *p, const char *channel)
{
	char sql[96];
	PGresult *res;
	int rv;

	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	res = PQexec(p->conn, sql);
	rv = result_err(p, res, sql);
	PQclear(res);
	return rv;
}

/* Connect (again): 0, or ERR_BUSY when the server cannot be reached now. Tried at most once a
 * second. The channels of db_listen are listened on before it returns. */
static int
pg_connect(struct pg_db *p)
{
	/* Ours first: a connect_timeout or application_name in the user's string wins. */
	static const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *values[] = {"3", "snaptun-manager", p->conninfo, NULL};
	uint64_t now = clock_mono_ns();
	PGresult *res;
	int rv;

	if (connected(p))
		return 0;
	if (p->last_attempt_ns != 0 && now - p->last_attempt_ns < RECONNECT_GAP_NS)
		return ERR_BUSY;
	p->last_attempt_ns = now;
	PQfinish(p->conn);
	p->conn = PQconnectdbParams(keys, values, 1);
	p->generation++;
	if (p->conn == NULL)
		return ERR_NOMEM;
	if (PQstatus(p->conn) != CONNECTION_OK) {
		if (!p->down_logged)
			log_warn("postgresql: cannot connect to %s (trying again at most once a "
				 "second): %s",
			    p->description, PQerrorMessage(p->conn));
		p->down_logged = 1;
		return ERR_BUSY;
	}
	p->down_logged = 0;
	PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
	res = PQexec(p->conn, session_setup);
	rv = result_err(p, res, "session settings");
	PQclear(res);
	for (int i = 0; rv == 0 && i < p->nchannels; i++)
		rv = listen_on(p, p->channels[i]);
	if (rv == 0 && p->generation > 1)
		log_info("postgresql: connected to %s again%s", p->description,
		    p->nchannels > 0 ? ", listening for announcements again" : "");
	return rv;
}

/* A connection to send on: the one there is, or a new one outside a transaction. ERR_BUSY when
 * there is none: inside a transaction, that transaction went with the connection. */
static int
usable(struct pg_db *p)
{
	if (connected(p))
		return 0;
	if (p->in_tx) {
		p->lost = 1;
		return ERR_BUSY;
	}
	return pg_connect(p);
}

#define OWED_MAX (DB_DEPTH_MAX + 1)

/* The savepoint commands owed (see struct pg_db), into cmd, counted as sent from now on: their
 * number. */
static int
owed_take(struct pg_db *p, char cmd[OWED_MAX][32])
{
	int n = 0;

	if (p->release_pending > 0)
		snprintf(cmd[n++], sizeof(cmd[0]), "RELEASE SAVEPOINT l%d", p->release_pending);
	for (int l = p->savepoint_sent + 1; l <= p->level_open; l++)
		snprintf(cmd[n++], sizeof(cmd[0]), "SAVEPOINT l%d", l);
	p->release_pending = 0;
	p->savepoint_sent = p->level_open;
	return n;
}

/* Send sql (one or more statements) and wait for the answer, the savepoint commands owed in
 * the same round trip before it. */
static int
pg_exec(struct db *db, const char *sql)
{
	struct pg_db *p = handle(db);
	char cmd[OWED_MAX][32], text[OWED_MAX * 34 + 1] = "", *all = NULL;
	PGresult *res;
	int rv, n;

	if ((rv = usable(p)) < 0)
		return rv;
	n = owed_take(p, cmd);
	for (int i = 0; i < n; i++)
		strcat(strcat(text, cmd[i]), "; ");
	if (n > 0 && asprintf(&all, "%s%s", text, sql) < 0)
		fatalx("postgresql: out of memory");
	res = PQexec(p->conn, all != NULL ? all : sql);
	rv = result_err(p, res, all != NULL ? all : sql);
	PQclear(res);
	free(all);
	return rv;
}

/* The savepoint commands owed on their own, before a command that cannot carry them. */
static int
owed_now(struct pg_db *p)
{
	return p->release_pending > 0 || p->savepoint_sent < p->level_open ? pg_exec(&p->base, "")
									   : 0;
}

static void
stmt_clear(struct pg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->next_row = 0;
	for (int i = 0; i < s->nparams; i++) {
		if (s->values[i] != s->ints[i])
			free(s->values[i]);
		s->values[i] = NULL;
		s->bound_int[i] = 0;
	}
}

static void
pg_close(struct db *db)
{
	struct pg_db *p = handle(db);

	for (int i = 0; i < STMT_SLOTS; i++) {
		stmt_clear(&p->slots[i]);
		free(p->slots[i].bare);
		free(p->slots[i].names_buf);
	}
	PQfinish(p->conn);
	for (int i = 0; i < p->nchannels; i++)
		free(p->channels[i]);
	free(p->conninfo);
	free(p->description);
	free(p);
}

/* Find the :name references of sql (one parameter per distinct name), once per statement: sql
 * without them and where each was. Quoted text is copied as it is: a ':' there is no
 * parameter. */
static void
translate(struct pg_stmt *s, const char *sql)
{
	size_t len = strlen(sql);
	char *out = malloc(len + 1), *o = out, *names = malloc(len + 1), *nb = names;
	const char *at = sql, *start;
	int quoted = 0, i;

	if (out == NULL || names == NULL)
		fatalx("postgresql: out of memory");
	while (*at != '\0') {
		if (*at == '\'')
			quoted = !quoted;
		/* "::type" is a cast, not a parameter */
		if (quoted || at[0] != ':' || (at > sql && at[-1] == ':') ||
		    !(at[1] == '_' || (at[1] >= 'a' && at[1] <= 'z'))) {
			*o++ = *at++;
			continue;
		}
		start = at++;
		while (*at == '_' || (*at >= 'a' && *at <= 'z') || (*at >= '0' && *at <= '9'))
			at++;
		for (i = 0; i < s->nparams; i++)
			if (strlen(s->names[i]) == (size_t)(at - start) &&
			    memcmp(s->names[i], start, (size_t)(at - start)) == 0)
				break;
		if (i == s->nparams) {
			if (i == PARAMS_MAX)
				fatalx("postgresql: more than %d parameters in \"%s\"", PARAMS_MAX,
				    sql);
			memcpy(nb, start, (size_t)(at - start));
			nb[at - start] = '\0';
			s->names[s->nparams++] = nb;
			nb += at - start + 1;
		}
		if (s->nrefs == REFS_MAX)
			fatalx("postgresql: more than %d parameter uses in \"%s\"", REFS_MAX, sql);
		s->ref_at[s->nrefs] = (size_t)(o - out);
		s->ref_param[s->nrefs++] = i;
	}
	*o = '\0';
	s->bare = out;
	s->names_buf = names;
}

/* The values to send for the current bindings, in order, with their types (int8 or text): the
 * parameters that are not NULL; their count is returned. With text, also the statement for
 * this shape of bindings: $k for the k-th of them, NULL for the others (freed by the
 * caller). */
static int
variant_text(const struct pg_stmt *s, char **text, Oid *types, const char **values)
{
	size_t len = strlen(s->bare), from = 0;
	int rank[PARAMS_MAX], n = 0;
	char *o;

	for (int i = 0; i < s->nparams; i++) {
		rank[i] = 0;
		if (s->values[i] == NULL)
			continue;
		rank[i] = ++n;
		types[n - 1] = s->bound_int[i] ? OID_INT8 : OID_TEXT;
		values[n - 1] = s->values[i];
	}
	if (text == NULL)
		return n;
	if ((*text = o = malloc(len + (size_t)s->nrefs * 8 + 1)) == NULL)
		fatalx("postgresql: out of memory");
	for (int r = 0; r < s->nrefs; r++) {
		memcpy(o, s->bare + from, s->ref_at[r] - from);
		o += s->ref_at[r] - from;
		from = s->ref_at[r];
		if (rank[s->ref_param[r]] == 0)
			o += sprintf(o, "NULL");
		else
			o += sprintf(o, "$%d", rank[s->ref_param[r]]);
	}
	memcpy(o, s->bare + from, len - from + 1);
	return n;
}

static struct stmt *
pg_stmt(struct db *db, const char *sql)
{
	struct pg_db *p = handle(db);
	size_t i = ((uintptr_t)sql >> 3) % STMT_SLOTS;
	struct pg_stmt *s;

	for (int n = 0; n < STMT_SLOTS; n++, i = (i + 1) % STMT_SLOTS) {
		s = &p->slots[i];
		if (s->sql == sql) {
			stmt_clear(s);
			return &s->base;
		}
		if (s->sql == NULL) {
			translate(s, sql);
			s->sql = sql;
			s->base.db = db;
			return &s->base;
		}
	}
	fatalx("postgresql: statement cache full (%d)", STMT_SLOTS);
}

static int
param(struct pg_stmt *s, const char *name)
{
	for (int i = 0; i < s->nparams; i++)
		if (strcmp(s->names[i], name) == 0)
			return i;
	fatalx("postgresql: no parameter %s in \"%s\"", name, s->sql);
}

static void
pg_bind_int(struct stmt *st, const char *name, int64_t v)
{
	struct pg_stmt *s = pstmt(st);
	int i = param(s, name);

	if (s->values[i] != s->ints[i])
		free(s->values[i]);
	snprintf(s->ints[i], sizeof(s->ints[i]), "%lld", (long long)v);
	s->values[i] = s->ints[i];
	s->bound_int[i] = 1;
}

static void
pg_bind_text(struct stmt *st, const char *name, const char *v)
{
	struct pg_stmt *s = pstmt(st);
	int i = param(s, name);

	if (s->values[i] != s->ints[i])
		free(s->values[i]);
	s->values[i] = NULL;
	s->bound_int[i] = 0;
	if (v != NULL && (s->values[i] = strdup(v)) == NULL)
		fatalx("postgresql: out of memory");
}

/* The variant of s for the shape of its current bindings, added if new. */
static struct variant *
variant_of(struct pg_stmt *s)
{
	uint32_t nulls = 0, ints = 0;
	int i;

	for (i = 0; i < s->nparams; i++) {
		nulls |= (uint32_t)(s->values[i] == NULL) << i;
		ints |= (uint32_t)(s->bound_int[i] != 0) << i;
	}
	for (i = 0; i < s->nvariants; i++)
		if (s->variants[i].nulls == nulls && s->variants[i].ints == ints)
			return &s->variants[i];
	if (s->nvariants == VARIANTS_MAX)
		fatalx(
		    "postgresql: more than %d shapes of bindings of \"%s\"", VARIANTS_MAX, s->sql);
	s->variants[i] = (struct variant){nulls, ints, 0};
	s->nvariants++;
	return &s->variants[i];
}

/* The rows a command's result says it changed. */
static void
count_changes(struct pg_db *p, PGresult *res)
{
	const char *cmd = PQcmdStatus(res);

	p->changes = 0;
	if (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
	    strncmp(cmd, "DELETE", 6) == 0) {
		p->changes = atoi(PQcmdTuples(res));
		p->total_changes += p->changes;
	}
}

/* A command that could not be sent: the connection failed (what else would refuse it is a
 * programming error, logged as such). */
static int
send_failed(struct pg_db *p, const char *sql)
{
	return result_err(p, NULL, sql);
}

/* Read the answers of the pipelined commands up to a sync sent now: 0, or the transaction's
 * failure. The answers after a failed command are the server's skips (PGRES_PIPELINE_ABORTED):
 * the failure is already noted. With last, the answer of the last command, when it succeeded,
 * is kept there (the caller's to clear) instead of dropped. */
static int
batch_sync(struct pg_db *p, PGresult **last)
{
	struct pending *c;
	PGresult *res;
	ExecStatusType st;
	int at = 0, rv, nulls = 0;

	if (PQpipelineSync(p->conn) != 1) {
		p->npending = p->nsent = 0;
		return send_failed(p, "a pipeline sync");
	}
	for (;;) {
		/* A NULL ends each command's answers; two in a row mean nothing more will come. */
		if ((res = PQgetResult(p->conn)) == NULL) {
			if (++nulls > 1 || !connected(p)) {
				result_err(p, NULL, "a pipeline");
				break;
			}
			continue;
		}
		nulls = 0;
		st = PQresultStatus(res);
		c = at < p->npending ? &p->pending[at++] : NULL;
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (st != PGRES_PIPELINE_ABORTED && c != NULL) {
			rv = result_err(p, res, c->sql);
			/* A statement the server refuses is a programming error. */
			if (c->prepare && (rv == ERR_DB || rv == ERR_CONFLICT))
				fatalx("postgresql: cannot prepare \"%s\"", c->sql);
			if (rv == 0 && !c->prepare)
				count_changes(p, res);
			if (rv == 0 && last != NULL && at == p->npending) {
				*last = res;
				res = NULL;
			}
		}
		PQclear(res);
		if (!connected(p))
			break;
	}
	p->npending = p->nsent = 0;
	return p->lost ? ERR_BUSY : p->aborted ? p->aborted_err : 0;
}

/* Send s as a pipelined command (prepared first on this connection when it is new): 0 or the
 * transaction's failure. A full window is synced and read before the next. */
static int
batch_send(struct pg_stmt *s, const char *name, const char *text, int n, const Oid *types,
    const char *const *values)
{
	struct pg_db *p = handle(s->base.db);

	if (text != NULL) {
		if (PQsendPrepare(p->conn, name, text, n, types) != 1)
			return send_failed(p, s->sql);
		p->pending[p->npending++] = (struct pending){s->sql, 1};
	}
	if (PQsendQueryPrepared(p->conn, name, n, values, NULL, NULL, 0) != 1)
		return send_failed(p, s->sql);
	p->pending[p->npending++] = (struct pending){s->sql, 0};
	return ++p->nsent == DB_BATCH_WINDOW ? batch_sync(p, NULL) : 0;
}

/* Run s with the savepoint commands owed before it in one round trip, the connection in
 * pipeline mode already: those commands, the prepare when text is given, s, and a sync. 0
 * with s->res, or the transaction's failure. */
static int
run_owed(struct pg_stmt *s, const char *name, const char *text, int n, const Oid *types,
    const char *const *values)
{
	struct pg_db *p = handle(s->base.db);
	char cmd[OWED_MAX][32];
	int rv = 0, nowed;

	p->npending = p->nsent = 0;
	nowed = owed_take(p, cmd);
	for (int i = 0; rv == 0 && i < nowed; i++) {
		if (PQsendQueryParams(p->conn, cmd[i], 0, NULL, NULL, NULL, NULL, 0) != 1)
			rv = send_failed(p, cmd[i]);
		else
			p->pending[p->npending++] = (struct pending){cmd[i], 0};
	}
	if (rv == 0)
		rv = batch_send(s, name, text, n, types, values);
	if (connected(p))
		rv = batch_sync(p, &s->res);
	if (p->conn != NULL && !PQexitPipelineMode(p->conn)) {
		log_error("postgresql: cannot leave pipeline mode: %s", PQerrorMessage(p->conn));
		PQfinish(p->conn);
		p->conn = NULL;
		p->lost = 1;
		rv = ERR_BUSY;
	}
	if (rv < 0 || s->res == NULL) {
		PQclear(s->res);
		s->res = NULL;
		return rv < 0 ? rv : ERR_BUSY;
	}
	s->next_row = 0;
	return 0;
}

static int
run(struct pg_db *p, struct pg_stmt *s)
{
	const char *values[PARAMS_MAX];
	Oid types[PARAMS_MAX];
	struct variant *v = variant_of(s);
	char name[32], *text = NULL;
	PGresult *res;
	int rv, n;

	if (p->in_tx && (p->lost || p->aborted))
		return p->lost ? ERR_BUSY : p->aborted_err;
	if ((rv = usable(p)) < 0)
		return rv;
	n = variant_text(s, v->prepared_on != p->generation ? &text : NULL, types, values);
	snprintf(name, sizeof(name), "s%zu_%d", (size_t)(s - p->slots), (int)(v - s->variants));
	if (p->batch) {
		/* Its fate is read with the window's: a refused prepare is fatal there. */
		if (text != NULL)
			v->prepared_on = p->generation;
		rv = batch_send(s, name, text, n, types, values);
		free(text);
		return rv;
	}
	if (p->release_pending > 0 || p->savepoint_sent < p->level_open) {
		if (PQenterPipelineMode(p->conn) == 1) {
			/* A refused prepare is fatal when the answers are read. */
			if (text != NULL)
				v->prepared_on = p->generation;
			rv = run_owed(s, name, text, n, types, values);
			free(text);
			return rv;
		}
		/* A connection that cannot pipeline now sends them on their own first. */
		if ((rv = owed_now(p)) < 0) {
			free(text);
			return rv;
		}
	}
	if (text != NULL) {
		res = PQprepare(p->conn, name, text, n, types);
		/* A statement the server refuses is a programming error. */
		if ((rv = result_err(p, res, text)) == ERR_DB || rv == ERR_CONFLICT)
			fatalx("postgresql: cannot prepare \"%s\"", text);
		PQclear(res);
		if (rv < 0) {
			free(text);
			return rv;
		}
		v->prepared_on = p->generation;
	}
	s->res = PQexecPrepared(p->conn, name, n, values, NULL, NULL, 0);
	rv = result_err(p, s->res, s->sql);
	free(text);
	if (rv < 0) {
		PQclear(s->res);
		s->res = NULL;
		return rv;
	}
	count_changes(p, s->res);
	s->next_row = 0;
	return 0;
}

static int
pg_row(struct stmt *st)
{
	struct pg_stmt *s = pstmt(st);
	int rv;

	if (s->res == NULL && (rv = run(handle(st->db), s)) < 0)
		return rv;
	if (s->next_row < PQntuples(s->res)) {
		s->next_row++;
		return 1;
	}
	PQclear(s->res);
	s->res = NULL;
	return 0;
}

static void
pg_reset(struct stmt *st)
{
	struct pg_stmt *s = pstmt(st);

	PQclear(s->res);
	s->res = NULL;
	s->next_row = 0;
}

static const char *
pg_col_text(struct stmt *st, int col)
{
	struct pg_stmt *s = pstmt(st);

	if (s->res == NULL || s->next_row == 0 || col >= PQnfields(s->res))
		return "";
	return PQgetvalue(s->res, s->next_row - 1, col);
}

static int64_t
pg_col_int(struct stmt *st, int col)
{
	const char *v = pg_col_text(st, col);

	/* A boolean expression reads as 0 or 1, as in SQLite. */
	if (strcmp(v, "t") == 0)
		return 1;
	return strtoll(v, NULL, 10);
}

static int
pg_col_is_null(struct stmt *st, int col)
{
	struct pg_stmt *s = pstmt(st);

	if (s->res == NULL || s->next_row == 0 || col >= PQnfields(s->res))
		return 1;
	return PQgetisnull(s->res, s->next_row - 1, col);
}

static int
pg_changes(struct db *db)
{
	return handle(db)->changes;
}

static int64_t
pg_total_changes(struct db *db)
{
	return handle(db)->total_changes;
}

static void
tx_clear(struct pg_db *p)
{
	p->in_tx = p->aborted = p->lost = 0;
	p->release_pending = p->savepoint_sent = p->level_open = 0;
	p->aborted_err = 0;
	p->xid[0] = '\0';
}

/* BEGIN, and the transaction's id in p->xid: one round trip (a simple query answers with the
 * result of its last statement). The id is assigned now rather than at the first write: a
 * transaction that writes nothing costs one id more, which a control plane's rate of writes
 * never makes matter. */
static int
begin(struct pg_db *p)
{
	PGresult *res;
	int rv;

	if ((rv = usable(p)) < 0)
		return rv;
	res = PQexec(p->conn, "BEGIN; SELECT pg_current_xact_id()::text");
	if ((rv = result_err(p, res, "BEGIN")) == 0) {
		if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) < (int)sizeof(p->xid)) {
			memcpy(p->xid, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0) + 1);
		} else {
			log_error("postgresql: BEGIN did not answer a transaction id");
			rv = ERR_DB;
		}
	}
	PQclear(res);
	if (rv < 0 && connected(p))
		pg_exec(&p->base, "ROLLBACK");
	return rv;
}

static int
pg_tx_begin(struct db *db)
{
	struct pg_db *p = handle(db);
	int rv, was_up;

	tx_clear(p);
	/* A connection the server dropped while it was idle shows only when it is used: BEGIN
	 * has changed nothing yet, so it is tried once more on a new connection. */
	was_up = connected(p);
	if ((rv = begin(p)) == ERR_BUSY && was_up && !connected(p)) {
		p->last_attempt_ns = 0;
		rv = begin(p);
	}
	if (rv == 0)
		p->in_tx = 1;
	return rv;
}

static void
pg_tx_rollback(struct db *db)
{
	struct pg_db *p = handle(db);

	if (p->in_tx && !p->lost && connected(p)) {
		p->in_tx = 0; /* the rollback's own failure changes nothing more */
		p->release_pending = p->savepoint_sent = p->level_open = 0;
		pg_exec(db, "ROLLBACK");
	}
	tx_clear(p);
}

/* The fate of transaction xid, whose COMMIT went with the connection, asked on a new one: 0
 * when it committed, ERR_BUSY when it did not (nothing of it was kept) or when that cannot be
 * told now (logged: the caller reports a failure that may have landed). A backend whose
 * client vanished before COMMIT arrived ends the transaction when it notices: a moment of "in
 * progress" is waited out, briefly (the loop waits meanwhile). */
static int
commit_outcome(struct pg_db *p, const char *xid)
{
	const char *values[1] = {xid};
	const char *status;
	PGresult *res;
	int rv = ERR_BUSY;

	p->last_attempt_ns = 0;
	for (int tries = 0; tries < 20; tries++) {
		if (tries > 0)
			nanosleep(&(struct timespec){0, 50000000}, NULL);
		if (pg_connect(p) < 0)
			break;
		res = PQexecParams(
		    p->conn, "SELECT pg_xact_status($1::xid8)", 1, NULL, values, NULL, NULL, 0);
		if (result_err(p, res, "pg_xact_status") < 0) {
			PQclear(res);
			break;
		}
		status =
		    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
		if (strcmp(status, "in progress") == 0) {
			PQclear(res);
			continue;
		}
		if (strcmp(status, "committed") == 0) {
			log_warn("postgresql: the answer to COMMIT of transaction %s was lost with "
				 "the connection; it committed",
			    xid);
			rv = 0;
		} else {
			log_warn(
			    "postgresql: transaction %s ended with the connection (%s): nothing "
			    "of it was kept",
			    xid, status[0] != '\0' ? status : "unknown to the server");
		}
		PQclear(res);
		return rv;
	}
	log_error("postgresql: the answer to COMMIT of transaction %s was lost with the "
		  "connection, and whether it committed cannot be told now",
	    xid);
	return ERR_BUSY;
}

/* A failed statement leaves the server's transaction aborted and its COMMIT then answers
 * ROLLBACK without an error: the flags say so first. */
static int
pg_tx_commit(struct db *db)
{
	struct pg_db *p = handle(db);
	char xid[sizeof(p->xid)];
	PGresult *res;
	int rv;

	if (p->lost || p->aborted) {
		rv = p->lost ? ERR_BUSY : p->aborted_err;
		pg_tx_rollback(db);
		return rv;
	}
	memcpy(xid, p->xid, sizeof(xid));
	res = PQexec(p->conn, "COMMIT");
	if ((rv = result_err(p, res, "COMMIT")) == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rv = ERR_BUSY;
	PQclear(res);
	tx_clear(p);
	if (rv == ERR_BUSY && !connected(p) && xid[0] != '\0')
		rv = commit_outcome(p, xid);
	return rv;
}

/* Owed, not sent: a level in which nothing runs costs no round trip. */
static int
pg_level_begin(struct db *db, int level)
{
	struct pg_db *p = handle(db);

	if (p->lost || p->aborted)
		return p->lost ? ERR_BUSY : p->aborted_err;
	p->level_open = level;
	return 0;
}

/* A level that ignored its own failed statement is undone here and the failure returned. */
static int
pg_level_rollback(struct db *db, int level)
{
	struct pg_db *p = handle(db);
	char sql[64];

	if (p->lost)
		return 1;
	p->level_open = level - 1;
	/* Its SAVEPOINT was never sent: nothing ran in it on the server. */
	if (p->savepoint_sent < level)
		return 0;
	/* What is owed is deeper (a committed level's RELEASE): undone with this one. */
	p->release_pending = 0;
	p->savepoint_sent = level - 1;
	snprintf(
	    sql, sizeof(sql), "ROLLBACK TO SAVEPOINT l%d; RELEASE SAVEPOINT l%d", level, level);
	p->aborted = 0;
	if (pg_exec(db, sql) < 0)
		return 1;
	p->aborted = 0;
	p->aborted_err = 0;
	return 0;
}

static int
pg_level_commit(struct db *db, int level)
{
	struct pg_db *p = handle(db);
	int rv;

	if (p->lost)
		return ERR_BUSY;
	if (p->aborted) {
		rv = p->aborted_err;
		return pg_level_rollback(db, level) == 0 ? rv : ERR_BUSY;
	}
	p->level_open = level - 1;
	/* Its RELEASE goes with the next command (releasing any deeper level owed), or not at
	 * all when its SAVEPOINT never went. */
	if (p->savepoint_sent >= level) {
		p->release_pending = level;
		p->savepoint_sent = level - 1;
	}
	return 0;
}

/* Pipeline mode needs an idle connection in a transaction that has not failed; otherwise the
 * batch's statements run one by one (and a failed transaction refuses them at once). */
static void
pg_batch_begin(struct db *db)
{
	struct pg_db *p = handle(db);

	p->npending = p->nsent = 0;
	p->batch = !p->lost && !p->aborted && connected(p) && owed_now(p) == 0 &&
	    PQenterPipelineMode(p->conn) == 1;
}

static int
pg_batch_end(struct db *db)
{
	struct pg_db *p = handle(db);
	int rv = 0;

	if (!p->batch)
		return p->lost ? ERR_BUSY : p->aborted ? p->aborted_err : 0;
	p->batch = 0;
	if (connected(p))
		rv = batch_sync(p, NULL);
	/* A connection left in pipeline mode would refuse every later command: it is dropped
	 * (the transaction with it) and the next use outside a transaction connects again. */
	if (p->conn != NULL && !PQexitPipelineMode(p->conn)) {
		if (connected(p))
			log_error(
			    "postgresql: cannot leave pipeline mode: %s", PQerrorMessage(p->conn));
		PQfinish(p->conn);
		p->conn = NULL;
		p->lost = 1;
		rv = ERR_BUSY;
	}
	return rv < 0 ? rv : p->lost ? ERR_BUSY : p->aborted ? p->aborted_err : 0;
}

static int
pg_ping(struct db *db)
{
	return pg_exec(db, "SELECT 1") == 0 ? 0 : ERR_DB;
}

/* A lock held is confirmed by a round trip on its connection: if that connection is gone,
 * the server released the lock with it, and another manager may hold it now. */
static int
pg_jobs_lease(struct db *db)
{
	struct pg_db *p = handle(db);
	struct stmt *st;
	int rv;

	if (p->lease_held && pg_exec(db, "SELECT 1") == 0 && p->lease_generation == p->generation)
		return 1;
	p->lease_held = 0;
	/* Session level, not transaction level: held between the rounds of jobs without a
	 * transaction left open. Taken at most once per connection, so it never stacks. */
	st = db_stmt(db, "SELECT pg_try_advisory_lock(:key)");
	db_bind_int(st, ":key", JOBS_LOCK_KEY);
	if ((rv = db_row(st)) < 0)
		return rv;
	if (rv == 0)
		return ERR_DB;
	p->lease_held = db_col_int(st, 0) == 1;
	p->lease_generation = p->generation;
	db_reset(st);
	return p->lease_held;
}

/* A standby, or a server set to read-only transactions, takes no writes. */
static int
pg_writable(struct db *db)
{
	struct stmt *st = db_stmt(
	    db, "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'");
	int rv = db_row(st);

	if (rv == 1) {
		rv = db_col_int(st, 0) ? ERR_DB : 0;
		db_reset(st);
	}
	return rv == 0 ? 0 : rv < 0 ? rv : ERR_DB;
}

static int
pg_checkpoint(struct db *db)
{
	(void)db;
	return 0;
}

static int
pg_check(struct db *db)
{
	return pg_schema_check(handle(db)->conn);
}

static int
pg_fd(struct db *db, uint64_t *connection)
{
	*connection = handle(db)->generation;
	return connected(handle(db)) ? PQsocket(handle(db)->conn) : -1;
}

/* Remembered first, so a connection made later listens too; a store that is down now is no
 * error. Inside a transaction the LISTEN would only count from its commit: it waits for the
 * next connection's setup then, which a lost notification's poll makes up for. */
static int
pg_listen(struct db *db, const char *channel)
{
	struct pg_db *p = handle(db);

	for (int i = 0; i < p->nchannels; i++)
		if (strcmp(p->channels[i], channel) == 0)
			return 0;
	if (p->nchannels == DB_LISTEN_MAX)
		return ERR_INVALID;
	if ((p->channels[p->nchannels] = strdup(channel)) == NULL)
		return ERR_NOMEM;
	p->nchannels++;
	if (!connected(p) || p->in_tx)
		return 0;
	return listen_on(p, channel) == ERR_DB ? ERR_DB : 0;
}

/* The notifications libpq read already (during a command) and those waiting on the socket. */
static int
pg_announcements(struct db *db)
{
	struct pg_db *p = handle(db);
	PGnotify *n;
	int count = 0;

	if (!connected(p))
		return ERR_BUSY;
	if (!PQconsumeInput(p->conn)) {
		/* The server went away while the connection was idle: the next use connects again. */
		if (!connected(p) && !p->down_logged)
			log_warn("postgresql: connection to %s lost: %s", p->description,
			    PQerrorMessage(p->conn));
		return ERR_BUSY;
	}
	/* A connection hears its own announcements too: those are no news to its owner. */
	while ((n = PQnotifies(p->conn)) != NULL) {
		count += n->be_pid != PQbackendPID(p->conn);
		PQfreemem(n);
	}
	return count;
}

static void
pg_describe(struct db *db, char *buf, size_t len)
{
	snprintf(buf, len, "%s", handle(db)->description);
}

/* The connection string without its password, for logs and /v1/health. */
static void
describe_conninfo(const char *conninfo, char *buf, size_t len)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	const char *user = "", *host = "", *port = "", *dbname = "";

	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	if (opts == NULL)
		snprintf(buf, len, "postgresql (a connection string libpq cannot read)");
	else
		snprintf(buf, len, "postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "", host,
		    *port ? ":" : "", port, dbname);
	PQconninfoFree(opts);
}

int
pg_db_open(const char *conninfo, struct db **out)
{
	PQconninfoOption *opts;
	struct pg_db *p;
	char desc[512];
	int rv = ERR_DB;

	*out = NULL;
	describe_conninfo(conninfo, desc, sizeof(desc));
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->conninfo = strdup(conninfo)) == NULL ||
	    (p->description = strdup(desc)) == NULL) {
		if (p != NULL)
			free(p->conninfo);
		free(p);
		return ERR_NOMEM;
	}
	db_init(&p->base, &pg_driver);
	if ((opts = PQconninfoParse(conninfo, NULL)) == NULL) {
		log_error("store %s: not a connection string libpq reads", desc);
		goto out;
	}
	PQconninfoFree(opts);
	if (pg_connect(p) < 0) {
		log_error("cannot open the store %s", desc);
		goto out;
	}
	if (pg_schema_migrate(p->conn) < 0)
		goto out;
	*out = &p->base;
	p = NULL;
	rv = 0;
out:
	if (p != NULL)
		pg_close(&p->base);
	return rv;
}

static const struct db_driver pg_driver = {
    .dialect = DB_DIALECT_PG,
    .close = pg_close,
    .stmt = pg_stmt,
    .bind_int = pg_bind_int,
    .bind_text = pg_bind_text,
    .row = pg_row,
    .reset = pg_reset,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_is_null = pg_col_is_null,
    .changes = pg_changes,
    .total_changes = pg_total_changes,
    .exec = pg_exec,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .level_begin = pg_level_begin,
    .level_commit = pg_level_commit,
    .level_rollback = pg_level_rollback,
    .batch_begin = pg_batch_begin,
    .batch_end = pg_batch_end,
    .ping = pg_ping,
    .jobs_lease = pg_jobs_lease,
    .writable = pg_writable,
    .checkpoint = pg_checkpoint,
    .check = pg_check,
    .fd = pg_fd,
    .listen = pg_listen,
    .announcements = pg_announcements,
    .describe = pg_describe,
};
