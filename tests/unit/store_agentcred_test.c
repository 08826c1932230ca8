/* The store's agent tokens and enrolled agents (db/agentcred.h) against a real SQLite file:
 * tokens inserted, listed and deleted; an enrollment spends its token once (a second one, an
 * unknown or an expired token are refused, and a refused one in its transaction changes
 * nothing); eight processes enrolling with one token at once get exactly one agent; ids above
 * every agent's; lookups by id and pin; rename; revoke once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../db/agentcred.h"
#include "../../db/agents.h"
#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000
#define KEY "-5ymRc-4nb6IwMbMClZLBTrInfkQXV8hsNPab36sCZk"

static struct db *db;
static char path[512];

/* One enrollment in its own transaction, committed when it succeeds. */
static int
enroll(const char *hash, const char *pin, int64_t now, struct agent_cred *c)
{
	int64_t token_id;
	int rv;

	if ((rv = db_begin(db)) < 0)
		return rv;
	if ((rv = agentcred_enroll(db, hash, "", pin, KEY, now, c, &token_id)) < 0) {
		db_rollback(db);
		return rv;
	}
	return db_commit(db);
}

static void
test_tokens_and_enrollment(void)
{
	struct agent_token t, v[4];
	struct agent_cred c, g;
	struct agent_row hello = {.id = 1500, .channel_version = 1};
	int n;

	CHECK(agentcred_token_insert(db, "h-1", "edge-1", T0 + 60, "alice", T0, &t) == 0 &&
		t.id > 0 && t.expires_at == T0 + 60 && t.used_at == 0,
	    "a token is inserted, unused, expiring when asked");
	CHECK_EQ_INT(agentcred_token_insert(db, "h-1", "", T0 + 60, "alice", T0, &t), ERR_CONFLICT,
	    "a second token with the same secret hash is a conflict");
	agentcred_token_insert(db, "h-2", "", T0 + 10, "alice", T0, &t);
	agentcred_token_insert(db, "h-3", "", T0 + 60, "alice", T0, &t);
	CHECK(agentcred_token_list(db, 0, 4, v, &n) == 0 && n == 3 &&
		strcmp(v[0].name, "edge-1") == 0,
	    "the list has the three tokens, by id");
	/* An agent that said HELLO on the UNIX socket with a high id: enrolled ids go above. */
	CHECK(agents_hello(db, &hello, T0) == 0, "a local agent 1500 is recorded");

	CHECK(enroll("h-1", "pin-a", T0 + 1, &c) == 0 && c.agent_id == 1501 &&
		strcmp(c.name, "edge-1") == 0 && strcmp(c.channel_key, KEY) == 0 &&
		c.enrolled_at == T0 + 1 && c.revoked_at == 0,
	    "an enrollment makes agent 1501 (above every agent), named as its token");
	CHECK(agentcred_token_list(db, 0, 4, v, &n) == 0 && v[0].used_at == T0 + 1 &&
		v[0].agent_id == 1501,
	    "its token is used, naming the agent");
	CHECK(agents_get(db, 1501, &hello) == 0 && hello.last_hello == 0,
	    "the agent is listed before it ever says HELLO");
	agents_row_clear(&hello);
	CHECK_EQ_INT(enroll("h-1", "pin-b", T0 + 2, &c), ERR_GONE, "the token is spent: GONE");
	CHECK_EQ_INT(enroll("h-none", "pin-b", T0 + 2, &c), ERR_DENIED, "an unknown token: DENIED");
	CHECK_EQ_INT(enroll("h-2", "pin-b", T0 + 10, &c), ERR_GONE, "an expired token: GONE");
	CHECK_EQ_INT(enroll("h-3", "pin-a", T0 + 2, &c), ERR_CONFLICT,
	    "a certificate enrolled already: CONFLICT");
	CHECK(agentcred_token_list(db, 0, 4, v, &n) == 0 && v[2].used_at == 0,
	    "the refused enrollment's transaction left its token unused");
	CHECK(enroll("h-3", "pin-c", T0 + 3, &c) == 0 && c.agent_id == 1502,
	    "which then enrolls another agent, 1502");

	CHECK(agentcred_get_by_pin(db, "pin-a", &g) == 0 && g.agent_id == 1501 &&
		agentcred_get(db, 1502, &g) == 0 && strcmp(g.client_pin, "pin-c") == 0,
	    "lookups by pin and by id");
	CHECK_EQ_INT(agentcred_get(db, 1500, &g), ERR_NOT_FOUND, "a local agent has no credential");
	CHECK(agentcred_rename(db, 1501, "renamed") == 0 && agentcred_get(db, 1501, &g) == 0 &&
		strcmp(g.name, "renamed") == 0,
	    "rename");
	CHECK_EQ_INT(agentcred_rename(db, 1500, "x"), ERR_NOT_FOUND, "renaming a local agent");
	CHECK(agentcred_revoke(db, 1501, T0 + 5) == 1 && agentcred_revoke(db, 1501, T0 + 6) == 0 &&
		agentcred_get_by_pin(db, "pin-a", &g) == 0 && g.revoked_at == T0 + 5,
	    "revoke: once (1), then nothing (0); the pin stays, revoked");
	CHECK_EQ_INT(agentcred_revoke(db, 42, T0), ERR_NOT_FOUND, "revoking no agent");
	CHECK(agentcred_token_delete(db, t.id, &t) == 0 &&
		agentcred_token_delete(db, t.id, &t) == ERR_NOT_FOUND,
	    "a token is deleted once");
}

/* Eight processes, each with its own connection, enroll with one token at once. */
static void
test_parallel(void)
{
	struct agent_token t;
	int wins = 0, gone = 0, other = 0, status;
	pid_t pids[8];

	agentcred_token_insert(db, "h-par", "", T0 + 60, "alice", T0, &t);
	for (int i = 0; i < 8; i++) {
		if ((pids[i] = fork()) < 0)
			abort();
		if (pids[i] == 0) {
			struct agent_cred c;
			char pin[16];
			int rv;

			snprintf(pin, sizeof(pin), "pin-par-%d", i);
			if (db_open(path, &db) < 0)
				_exit(3);
			do
				rv = enroll("h-par", pin, T0 + 1, &c);
			while (rv == ERR_BUSY);
			db_close(db);
			_exit(rv == 0 ? 0 : rv == ERR_GONE ? 1 : 2);
		}
	}
	for (int i = 0; i < 8; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status))
			other++;
		else if (WEXITSTATUS(status) == 0)
			wins++;
		else if (WEXITSTATUS(status) == 1)
			gone++;
		else
			other++;
	}
	CHECK(wins == 1 && gone == 7 && other == 0,
	    "8 parallel enrollments with one token: one agent, 7 refused (%d, %d, %d)", wins, gone,
	    other);
}

int
main(void)
{
	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store_agentcred.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;
	test_tokens_and_enrollment();
	db_close(db);
	if (db_open(path, &db) < 0)
		return 1;
	test_parallel();
	db_close(db);
	return check_done();
}
