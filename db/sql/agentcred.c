/* The store of agent tokens and enrolled agents' credentials (db/agentcred.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../agentcred.h"
#include "../stmt.h"

#define TOKEN_COLUMNS "id, name, created_at, expires_at, used_at, agent_id, created_by"
#define CRED_COLUMNS "agent_id, name, client_pin, channel_key, enrolled_at, revoked_at"

static void
token_read(void *out, struct stmt *st)
{
	struct agent_token *t = out;

	memset(t, 0, sizeof(*t));
	t->id = db_col_int(st, 0);
	snprintf(t->name, sizeof(t->name), "%s", db_col_text(st, 1));
	t->created_at = db_col_int(st, 2);
	t->expires_at = db_col_int(st, 3);
	t->used_at = db_col_int(st, 4);
	t->agent_id = db_col_int(st, 5);
	snprintf(t->created_by, sizeof(t->created_by), "%s", db_col_text(st, 6));
}

static void
cred_read(void *out, struct stmt *st)
{
	struct agent_cred *c = out;

	memset(c, 0, sizeof(*c));
	c->agent_id = db_col_int(st, 0);
	snprintf(c->name, sizeof(c->name), "%s", db_col_text(st, 1));
	snprintf(c->client_pin, sizeof(c->client_pin), "%s", db_col_text(st, 2));
	snprintf(c->channel_key, sizeof(c->channel_key), "%s", db_col_text(st, 3));
	c->enrolled_at = db_col_int(st, 4);
	c->revoked_at = db_col_int(st, 5);
}

int
agentcred_token_insert(struct db *db, const char *hash, const char *name, int64_t expires_at,
    const char *actor, int64_t now, struct agent_token *out)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO agent_tokens (hash, name, created_at, created_by, expires_at) "
	    "VALUES (:hash, :name, :now, :by, :expires) RETURNING id");
	int rv;

	db_bind_text(st, ":hash", hash);
	db_bind_text(st, ":name", name);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":by", actor);
	db_bind_int(st, ":expires", expires_at);
	memset(out, 0, sizeof(*out));
	if ((rv = db_insert_id(st, &out->id)) < 0)
		return rv;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->created_at = now;
	out->expires_at = expires_at;
	snprintf(out->created_by, sizeof(out->created_by), "%s", actor);
	return 0;
}

int
agentcred_token_list(struct db *db, int64_t after, int limit, struct agent_token *out, int *n)
{
	struct stmt *st = db_stmt(db,
	    "SELECT " TOKEN_COLUMNS
	    " FROM agent_tokens WHERE id > :after ORDER BY id LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		token_read(&out[(*n)++], st);
	return rv;
}

int
agentcred_token_delete(struct db *db, int64_t id, struct agent_token *out)
{
	struct stmt *st = db_stmt(db, "SELECT " TOKEN_COLUMNS " FROM agent_tokens WHERE id = :id");
	int rv;

	db_bind_int(st, ":id", id);
	if ((rv = db_row_one(st, token_read, out)) < 0)
		return rv;
	st = db_stmt(db, "DELETE FROM agent_tokens WHERE id = :id");
	db_bind_int(st, ":id", id);
	return db_run_one(db, st);
}

int
agentcred_enroll(struct db *db, const char *hash, const char *name, const char *client_pin,
    const char *channel_key, int64_t now, struct agent_cred *out, int64_t *token_id)
{
	struct agent_token t;
	struct stmt *st;
	int rv;

	st = db_stmt(db, "SELECT " TOKEN_COLUMNS " FROM agent_tokens WHERE hash = :hash");
	db_bind_text(st, ":hash", hash);
	if ((rv = db_row_one(st, token_read, &t)) < 0)
		return rv == ERR_NOT_FOUND ? ERR_DENIED : rv;
	*token_id = t.id;
	if (t.used_at != 0 || t.expires_at <= now)
		return ERR_GONE;
	if ((rv = db_serialize(db, AGENTCRED_ID_LOCK_KEY)) < 0)
		return rv;
	/* The transition names the state it leaves: of two enrollments racing on one token
	 * (separate transactions, or managers) exactly one changes the row. */
	st = db_stmt(db,
	    "UPDATE agent_tokens SET used_at = :now, agent_id = (SELECT MAX(v) + 1 FROM ("
	    "SELECT :min AS v UNION ALL SELECT MAX(id) FROM agents UNION ALL "
	    "SELECT MAX(agent_id) FROM agent_creds) AS ids) WHERE id = :id AND used_at IS NULL");
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":min", AGENTCRED_ID_MIN);
	db_bind_int(st, ":id", t.id);
	if ((rv = db_run_one(db, st)) < 0)
		return rv == ERR_NOT_FOUND ? ERR_GONE : rv;
	st = db_stmt(db,
	    "INSERT INTO agent_creds (agent_id, name, client_pin, channel_key, enrolled_at) "
	    "SELECT agent_id, :name, :pin, :key, :now FROM agent_tokens WHERE id = :id");
	db_bind_text(st, ":name", name[0] != '\0' ? name : t.name);
	db_bind_text(st, ":pin", client_pin);
	db_bind_text(st, ":key", channel_key);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", t.id);
	if ((rv = db_run(st)) < 0)
		return rv;
	/* Listed among the agents from now on, though it has not said HELLO yet (last_hello 0). */
	st = db_stmt(db,
	    "INSERT INTO agents (id, software_version, listen_address, spki_pin, channel_version, "
	    "first_seen, last_hello) SELECT agent_id, '', '', '', 0, :now, 0 FROM agent_tokens "
	    "WHERE id = :id");
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", t.id);
	if ((rv = db_run(st)) < 0)
		return rv;
	return agentcred_get_by_pin(db, client_pin, out);
}

int
agentcred_get(struct db *db, int64_t id, struct agent_cred *out)
{
	struct stmt *st =
	    db_stmt(db, "SELECT " CRED_COLUMNS " FROM agent_creds WHERE agent_id = :id");

	db_bind_int(st, ":id", id);
	return db_row_one(st, cred_read, out);
}

int
agentcred_get_by_pin(struct db *db, const char *client_pin, struct agent_cred *out)
{
	struct stmt *st =
	    db_stmt(db, "SELECT " CRED_COLUMNS " FROM agent_creds WHERE client_pin = :pin");

	db_bind_text(st, ":pin", client_pin);
	return db_row_one(st, cred_read, out);
}

int
agentcred_rename(struct db *db, int64_t id, const char *name)
{
	struct stmt *st = db_stmt(db, "UPDATE agent_creds SET name = :name WHERE agent_id = :id");

	db_bind_text(st, ":name", name);
	db_bind_int(st, ":id", id);
	return db_run_one(db, st);
}

int
agentcred_revoke(struct db *db, int64_t id, int64_t now)
{
	struct agent_cred c;
	struct stmt *st;
	int rv;

	if ((rv = agentcred_get(db, id, &c)) < 0)
		return rv;
	if (c.revoked_at != 0)
		return 0;
	st = db_stmt(db,
	    "UPDATE agent_creds SET revoked_at = :now WHERE agent_id = :id AND revoked_at IS NULL");
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":id", id);
	if ((rv = db_run_one(db, st)) < 0)
		return rv == ERR_NOT_FOUND ? 0 : rv;
	return 1;
}
