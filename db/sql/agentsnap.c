#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../agentsnap.h"
#include "../stmt.h"

/* A key row (kid, alg, public_key_pem, verify_until, pinned_iss, pinned_aud) to fn. */
static int
key_row(struct stmt *st, agentsnap_key_fn fn, void *arg)
{
	struct agentsnap_key k;

	k.kid = db_col_text(st, 0);
	k.alg = db_col_text(st, 1);
	k.pem = db_col_text(st, 2);
	k.verify_until = db_col_int(st, 3);
	k.iss = db_col_text(st, 4);
	k.aud = db_col_text(st, 5);
	return fn(arg, &k);
}

int
agentsnap_keys(struct db *db, agentsnap_key_fn fn, void *arg)
{
	struct stmt *st = db_stmt(db,
	    "SELECT kid, alg, public_key_pem, coalesce(verify_until, 0), pinned_iss, pinned_aud "
	    "FROM signing_keys "
	    "WHERE state != 'retired' ORDER BY kid");
	int rv;

	while ((rv = db_row(st)) == 1)
		if ((rv = key_row(st, fn, arg)) != 0) {
			db_reset(st);
			return rv;
		}
	return rv;
}

int
agentsnap_key(struct db *db, const char *kid, agentsnap_key_fn fn, void *arg)
{
	struct stmt *st = db_stmt(db,
	    "SELECT kid, alg, public_key_pem, coalesce(verify_until, 0), pinned_iss, pinned_aud "
	    "FROM signing_keys "
	    "WHERE kid = :kid AND state != 'retired'");
	int rv;

	db_bind_text(st, ":kid", kid);
	if ((rv = db_row(st)) != 1)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	rv = key_row(st, fn, arg);
	db_reset(st);
	return rv;
}

int
agentsnap_grants(struct db *db, int64_t agent_id, int64_t now, int64_t after, int limit,
    struct agentsnap_grant *out, int *n)
{
	/* Each arm walks grants_agent (agent_id, state, id) from the cursor in id order and the two
	 * are merged: no sort of all the agent's grants per page. */
	struct stmt *st = db_stmt(db,
	    "SELECT g.id, g.pssid, g.address, p.isd_as, g.session_id, g.state, "
	    "coalesce(g.hold_until, 0), g.pool_id FROM grants g JOIN pools p ON p.id = g.pool_id "
	    "WHERE g.agent_id = :agent AND g.state = 'assigned' AND g.id > :after "
	    "UNION ALL "
	    "SELECT g.id, g.pssid, g.address, p.isd_as, g.session_id, g.state, "
	    "coalesce(g.hold_until, 0), g.pool_id FROM grants g JOIN pools p ON p.id = g.pool_id "
	    "WHERE g.agent_id = :agent AND g.state = 'on_hold' AND g.hold_until > :now "
	    "AND g.id > :after "
	    "ORDER BY 1 LIMIT :n");
	struct agentsnap_grant *g;
	int rv;

	*n = 0;
	db_bind_int(st, ":agent", agent_id);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":n", limit);
	while ((rv = db_row(st)) == 1) {
		g = &out[(*n)++];
		g->id = db_col_int(st, 0);
		snprintf(g->pssid, sizeof(g->pssid), "%s", db_col_text(st, 1));
		snprintf(g->address, sizeof(g->address), "%s", db_col_text(st, 2));
		g->isd_as = (uint64_t)db_col_int(st, 3);
		g->session_id = db_col_int(st, 4);
		g->on_hold = strcmp(db_col_text(st, 5), "assigned") != 0;
		g->hold_until = db_col_int(st, 6);
		g->pool_id = db_col_int(st, 7);
	}
	return rv;
}
