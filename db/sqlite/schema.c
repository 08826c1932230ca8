/* Migrations are append-only: migration i brings user_version from i to i + 1. Never edit one
 * that has shipped; add the next. Unsigned 64-bit address indexes are stored bit-for-bit in
 * SQLite's signed INTEGER (only equality and the sequential cursor's order matter, and the
 * cursor never gets near 2^63). Ids are AUTOINCREMENT: an id once given out (a grant, a
 * token, an event) never names anything else, even after the row is deleted. */
#include <stdio.h>

#include "../../lib/err.h"
#include "../../lib/log.h"
#include "schema.h"

/* clang-format off */
static const char *const migrations[] = {
	/* 1: pools, grants, holds, reservations, admin tokens, audit events */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;"

	"CREATE TABLE pools ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  isd_as INTEGER NOT NULL,"
	"  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
	"  prefix TEXT NOT NULL,"
	"  first_index INTEGER NOT NULL,"
	"  last_index INTEGER NOT NULL,"
	"  hold_seconds INTEGER NOT NULL CHECK (hold_seconds >= 0),"
	"  strategy TEXT NOT NULL CHECK (strategy IN ('sequential', 'random')),"
	"  mode TEXT NOT NULL CHECK (mode IN ('ip', 'scion')),"
	"  next_index INTEGER NOT NULL,"		/* sequential cursor: never handed out from here */
	"  n_assigned INTEGER NOT NULL DEFAULT 0,"
	"  n_held INTEGER NOT NULL DEFAULT 0,"		/* on-hold rows, lapsed or not */
	"  n_reserved INTEGER NOT NULL DEFAULT 0,"
	"  n_occupied INTEGER NOT NULL DEFAULT 0,"	/* indexes with a grant row or a reservation */
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX pools_isd_as ON pools (isd_as, family, id);"
	"CREATE INDEX pools_family ON pools (family, id);"

	"CREATE TABLE grants ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  pool_id INTEGER NOT NULL REFERENCES pools (id),"
	"  addr_index INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  pssid TEXT NOT NULL UNIQUE,"
	"  state TEXT NOT NULL CHECK (state IN ('assigned', 'on_hold')),"
	"  agent_id INTEGER NOT NULL,"
	"  session_id INTEGER NOT NULL,"
	"  assigned_at INTEGER NOT NULL,"
	"  hold_until INTEGER,"
	"  UNIQUE (pool_id, addr_index)"
	");"
	"CREATE INDEX grants_pool ON grants (pool_id, id);"
	"CREATE INDEX grants_hold ON grants (pool_id, hold_until) WHERE state = 'on_hold';"
	"CREATE INDEX grants_lapsed ON grants (hold_until) WHERE state = 'on_hold';"

	/* Addresses below a sequential pool's cursor that were released: reused lowest first. */
	"CREATE TABLE free_addrs ("
	"  pool_id INTEGER NOT NULL,"
	"  addr_index INTEGER NOT NULL,"
	"  PRIMARY KEY (pool_id, addr_index)"
	") WITHOUT ROWID;"

	"CREATE TABLE reservations ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  pool_id INTEGER NOT NULL REFERENCES pools (id),"
	"  addr_index INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  pssid TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (pool_id, addr_index),"
	"  UNIQUE (pool_id, pssid)"
	");"
	"CREATE INDEX reservations_pssid ON reservations (pssid);"

	"CREATE TABLE grant_history ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  grant_id INTEGER NOT NULL,"
	"  pool_id INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  pssid TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  session_id INTEGER NOT NULL,"
	"  agent_id INTEGER NOT NULL,"
	"  hold_until INTEGER,"
	"  actor TEXT NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX grant_history_grant ON grant_history (grant_id, id);"

	"CREATE TABLE admin_tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  scope TEXT NOT NULL CHECK (scope IN ('admin', 'read', 'provision')),"
	"  hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  last_used_at INTEGER,"
	"  created_by TEXT NOT NULL"
	");"

	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  object TEXT NOT NULL,"
	"  details TEXT NOT NULL"
	");"
	"CREATE INDEX events_action ON events (action, id);"
	"CREATE INDEX events_object ON events (object, id);",

	/* 2: single-use join tokens (api.md "Join tokens"). A token past expires_at is expired
	 * whatever state says; the sweep writes it down. */
	"CREATE TABLE join_tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  labels TEXT NOT NULL DEFAULT '{}',"
	"  pool_id INTEGER,"
	"  state TEXT NOT NULL CHECK (state IN ('issued', 'in_flight', 'consumed', 'expired', "
	"'aborted')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  expires_at INTEGER NOT NULL,"
	"  in_flight_address TEXT,"
	"  ack_deadline INTEGER,"
	"  ack_hash TEXT,"			/* the pending acknowledgement of an in-flight token */
	"  consumed_address TEXT,"
	"  consumed_at INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX join_tokens_state ON join_tokens (state, id);"
	"CREATE INDEX join_tokens_issued_expiry ON join_tokens (expires_at) WHERE state = 'issued';"
	"CREATE INDEX join_tokens_ack_deadline ON join_tokens (ack_deadline) "
	"WHERE state = 'in_flight';"
	"CREATE UNIQUE INDEX join_tokens_ack_hash ON join_tokens (ack_hash) "
	"WHERE ack_hash IS NOT NULL;"

	/* Clients: an enrolled identity. The refresh secret rotates on every use; every superseded
	 * one is remembered so that presenting it again is recognised as theft. */
	"CREATE TABLE clients ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  pssid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  labels TEXT NOT NULL DEFAULT '{}',"
	"  join_token_id INTEGER,"
	"  refresh_hash TEXT UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  revoked_at INTEGER,"
	"  revoke_reason TEXT"
	");"
	"CREATE INDEX clients_join_token ON clients (join_token_id);"
	"CREATE TABLE superseded_refresh ("
	"  hash TEXT PRIMARY KEY,"
	"  pssid TEXT NOT NULL,"
	"  superseded_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX superseded_refresh_pssid ON superseded_refresh (pssid);"

	/* Revoked pssids, enrolled or not (outside issuers' tokens carry pssids never seen here);
	 * the agent refuses them. */
	"CREATE TABLE revocations ("
	"  pssid TEXT PRIMARY KEY,"
	"  reason TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL"
	") WITHOUT ROWID;"

	/* Token keys. Our own Ed25519 keys keep their private half in a 0600 file of the state dir
	 * (private_key_file); imported keys of outside issuers are public only. A rotated-out key
	 * verifies until verify_until (the expiry of the last token it signed), then is retired. */
	"CREATE TABLE signing_keys ("
	"  kid TEXT PRIMARY KEY,"
	"  alg TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256', 'RS256')),"
	"  public_key_pem TEXT NOT NULL,"
	"  private_key_file TEXT,"
	"  state TEXT NOT NULL CHECK (state IN ('active', 'verify', 'retired')),"
	"  created_at INTEGER NOT NULL,"
	"  verify_until INTEGER,"
	"  retired_at INTEGER"
	") WITHOUT ROWID;"
	"CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) "
	"WHERE state = 'active';",

	/* 3: the state channel. Agents as they last said HELLO (connected or not is in memory).
	 * Revocations get an id (listing order, the API's paging cursor). agent_deltas is the
	 * outbox of what agents must learn: triggers append to it in the transaction of the change
	 * itself, so a row exists only once that change committed, and the channel server sends
	 * the rows after each commit (manager/agentlink.c). session_kill rows are written by the
	 * API directly. */
	"CREATE TABLE agents ("
	"  id INTEGER PRIMARY KEY,"
	"  software_version TEXT NOT NULL,"
	"  listen_address TEXT NOT NULL,"
	"  spki_pin TEXT NOT NULL,"		/* base64 of the SHA-256 of the QUIC SPKI */
	"  channel_version INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_hello INTEGER NOT NULL,"
	"  last_heartbeat INTEGER,"
	"  sessions INTEGER NOT NULL DEFAULT 0,"	/* live sessions at the last report */
	"  last_stats TEXT"			/* the last STATS, JSON */
	");"

	"CREATE TABLE revocations_v3 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  pssid TEXT NOT NULL UNIQUE,"
	"  reason TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL"
	");"
	"INSERT INTO revocations_v3 (pssid, reason, created_at, created_by) "
	"SELECT pssid, reason, created_at, created_by FROM revocations ORDER BY created_at, pssid;"
	"DROP TABLE revocations;"
	"ALTER TABLE revocations_v3 RENAME TO revocations;"

	"CREATE TABLE agent_deltas ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL CHECK (kind IN ('key', 'key_retire', 'revoke', 'unrevoke', "
	"'grant_release', 'session_kill', 'pool', 'pool_removed')),"
	"  object TEXT NOT NULL,"		/* kid, pssid, grant id, session id or pool id */
	"  agent_id INTEGER,"			/* NULL: every agent */
	"  reason TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE TRIGGER agent_deltas_revoke AFTER INSERT ON revocations BEGIN "
	"  INSERT INTO agent_deltas (kind, object, reason) VALUES ('revoke', new.pssid, new.reason);"
	"END;"
	"CREATE TRIGGER agent_deltas_unrevoke AFTER DELETE ON revocations BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES ('unrevoke', old.pssid);"
	"END;"
	/* Only an assigned grant can have a session to close; lapsed holds go silently. */
	"CREATE TRIGGER agent_deltas_grant_release AFTER DELETE ON grants "
	"WHEN old.state = 'assigned' BEGIN "
	"  INSERT INTO agent_deltas (kind, object, agent_id, reason) "
	"  VALUES ('grant_release', old.id, old.agent_id, 'address released');"
	"END;"
	"CREATE TRIGGER agent_deltas_pool_insert AFTER INSERT ON pools BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES ('pool', new.id);"
	"END;"
	/* Not the occupancy counters, which every allocation moves. */
	"CREATE TRIGGER agent_deltas_pool_update AFTER UPDATE OF name, isd_as, family, prefix, "
	"hold_seconds, mode ON pools BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES ('pool', new.id);"
	"END;"
	"CREATE TRIGGER agent_deltas_pool_delete AFTER DELETE ON pools BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES ('pool_removed', old.id);"
	"END;"
	"CREATE TRIGGER agent_deltas_key_insert AFTER INSERT ON signing_keys "
	"WHEN new.state != 'retired' BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES ('key', new.kid);"
	"END;"
	"CREATE TRIGGER agent_deltas_key_update AFTER UPDATE OF state, verify_until "
	"ON signing_keys BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES "
	"  (CASE WHEN new.state = 'retired' THEN 'key_retire' ELSE 'key' END, new.kid);"
	"END;"
	"CREATE TRIGGER agent_deltas_key_delete AFTER DELETE ON signing_keys BEGIN "
	"  INSERT INTO agent_deltas (kind, object) VALUES ('key_retire', old.kid);"
	"END;",

	/* 4: an agent's grants are found by its id (the snapshot, the reconcile), not by a scan.
	 * A grant handed to a new session on another agent (the client moved, same address) ends
	 * the old session there: that agent would not learn it otherwise and both would route the
	 * address. On the same agent the agent supersedes the old session itself. */
	"CREATE INDEX grants_agent ON grants (agent_id, state);"
	"CREATE TRIGGER agent_deltas_grant_moved AFTER UPDATE OF agent_id, session_id ON grants "
	"WHEN old.state = 'assigned' AND old.agent_id != new.agent_id BEGIN "
	"  INSERT INTO agent_deltas (kind, object, agent_id, reason) "
	"  VALUES ('session_kill', old.session_id, old.agent_id, 'superseded');"
	"END;",

	/* 5: the outbox is written by the store functions that make each change (agentdelta_add,
	 * in the change's transaction), with the kind as the integer of enum agentdelta_kind: no
	 * triggers, no kind text to map back. Rows not yet sent are carried over. */
	"CREATE TABLE agent_outbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 8),"	/* enum agentdelta_kind */
	"  object TEXT NOT NULL,"		/* kid, pssid, grant id, session id or pool id */
	"  agent_id INTEGER,"			/* NULL: every agent */
	"  reason TEXT NOT NULL DEFAULT ''"
	");"
	"INSERT INTO agent_outbox (id, kind, object, agent_id, reason) "
	"SELECT id, CASE kind WHEN 'key' THEN 1 WHEN 'key_retire' THEN 2 WHEN 'revoke' THEN 3 "
	"WHEN 'unrevoke' THEN 4 WHEN 'grant_release' THEN 5 WHEN 'session_kill' THEN 6 "
	"WHEN 'pool' THEN 7 WHEN 'pool_removed' THEN 8 END, object, agent_id, reason "
	"FROM agent_deltas ORDER BY id;"
	"DROP TRIGGER agent_deltas_revoke;"
	"DROP TRIGGER agent_deltas_unrevoke;"
	"DROP TRIGGER agent_deltas_grant_release;"
	"DROP TRIGGER agent_deltas_grant_moved;"
	"DROP TRIGGER agent_deltas_pool_insert;"
	"DROP TRIGGER agent_deltas_pool_update;"
	"DROP TRIGGER agent_deltas_pool_delete;"
	"DROP TRIGGER agent_deltas_key_insert;"
	"DROP TRIGGER agent_deltas_key_update;"
	"DROP TRIGGER agent_deltas_key_delete;"
	"DROP TABLE agent_deltas;",

	/* 6: a revocation that only kills the credentials of an enrollment never acknowledged
	 * expires once none of them can still be valid (expires_at; NULL: for ever). */
	"ALTER TABLE revocations ADD COLUMN expires_at INTEGER;"
	"CREATE INDEX revocations_expiry ON revocations (expires_at) "
	"WHERE expires_at IS NOT NULL;",

	/* 7: an imported key may pin the issuer and the audience of the tokens it verifies
	 * (NULL: not pinned). */
	"ALTER TABLE signing_keys ADD COLUMN pinned_iss TEXT;"
	"ALTER TABLE signing_keys ADD COLUMN pinned_aud TEXT;",

	/* 8: a pool's gateway settings (api.md "Pools"): the host index of the gateway's own
	 * address (NULL: none), the prefixes behind it (canonical texts separated by spaces) and
	 * whether its clients may reach each other. */
	"ALTER TABLE pools ADD COLUMN gateway_index INTEGER;"
	"ALTER TABLE pools ADD COLUMN routes TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE pools ADD COLUMN client_to_client INTEGER NOT NULL DEFAULT 1 "
	"CHECK (client_to_client IN (0, 1));",

	/* 9: an exchange of a refresh secret that named a request_id derived its successor from
	 * the old secret and that id (api.md "POST /v1/token"), which a retry of the same exchange
	 * can derive again: the successor's hash is kept with the superseded secret (NULL: a random
	 * successor, never given out twice). */
	"ALTER TABLE superseded_refresh ADD COLUMN successor_hash TEXT;",

	/* 10: the audit log read from a point in time (GET /v1/events?since=): the events of a
	 * recent stretch without walking the log from either end. */
	"CREATE INDEX events_at ON events (at, id);",

	/* 11: agents on other hosts (api.md "Remote agents"): one-time agent tokens (stored as
	 * the SHA-256 of the secret; used_at set once, by the enrollment that spent it) and the
	 * credentials of enrolled agents: the SPKI pin of the client certificate the agent
	 * presents on the TLS channel, the channel key of its frames, and revoked_at once revoked
	 * (kept, so a revoked pin stays refused). */
	"CREATE TABLE agent_tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  agent_id INTEGER"
	");"
	"CREATE TABLE agent_creds ("
	"  agent_id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  client_pin TEXT NOT NULL UNIQUE,"
	"  channel_key TEXT NOT NULL,"		/* base64url of 32 bytes */
	"  enrolled_at INTEGER NOT NULL,"
	"  revoked_at INTEGER"
	");",

	/* 12: several managers on one store: the manager an agent is attached to (NULL: none),
	 * which keeps the agent's row fresh while it is, so that every manager sees it; and the
	 * live sessions of the agents, written by the manager they are attached to with the
	 * agent's report, so that every manager lists them (counters as the session's, drops by
	 * reason; 64-bit counters kept as their bit pattern). Written only where managers share
	 * the store (PostgreSQL); the table stays empty on SQLite. */
	"ALTER TABLE agents ADD COLUMN manager TEXT;"
	"CREATE TABLE live_sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  agent_id INTEGER NOT NULL,"
	"  manager TEXT NOT NULL,"
	"  pssid TEXT NOT NULL,"
	"  grant_id INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  isd_as INTEGER NOT NULL,"
	"  remote TEXT NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  rx_packets INTEGER NOT NULL,"
	"  rx_bytes INTEGER NOT NULL,"
	"  tx_packets INTEGER NOT NULL,"
	"  tx_bytes INTEGER NOT NULL,"
	"  dropped_packets INTEGER NOT NULL,"
	"  drop_malformed INTEGER NOT NULL,"
	"  drop_spoofed INTEGER NOT NULL,"
	"  drop_no_route INTEGER NOT NULL,"
	"  drop_too_big INTEGER NOT NULL,"
	"  drop_blocked INTEGER NOT NULL,"
	"  drop_unassigned INTEGER NOT NULL,"
	"  drop_ttl_exceeded INTEGER NOT NULL,"
	"  drop_isolated INTEGER NOT NULL,"
	"  drop_no_tunnel INTEGER NOT NULL"
	");"
	"CREATE INDEX live_sessions_agent ON live_sessions (agent_id);",

	/* 13: several managers on one store sign with the same keys, so the private half of each
	 * key of ours is kept in its row, sealed (AES-256-GCM, the kid as associated data) under
	 * the store secret, a key each manager reads from a file of its own; the store never sees
	 * that key. private_key_file stays only on rows from before, until the manager's start has
	 * sealed them and removed the files; a retired key's private half is erased (''). */
	"ALTER TABLE signing_keys ADD COLUMN private_key_sealed TEXT;",
};
/* clang-format on */

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
schema_version(void)
{
	return NMIGRATIONS;
}

/* Run sql (one or more statements); 0 or ERR_DB, logged. */
static int
exec_sql(sqlite3 *h, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	log_error("sqlite: %s", msg != NULL ? msg : sqlite3_errmsg(h));
	sqlite3_free(msg);
	return ERR_DB;
}

static int
user_version(sqlite3 *h)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
schema_migrate(sqlite3 *h)
{
	return schema_migrate_to(h, NMIGRATIONS);
}

int
schema_migrate_to(sqlite3 *h, int version)
{
	char sql[64];
	int v = user_version(h);

	if (v < 0 || version < 0 || version > NMIGRATIONS)
		return ERR_DB;
	if (v > NMIGRATIONS) {
		log_error(
		    "database schema version %d is newer than this program's (%d)", v, NMIGRATIONS);
		return ERR_DB;
	}
	for (; v < version; v++) {
		if (exec_sql(h, "BEGIN IMMEDIATE") < 0)
			return ERR_DB;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec_sql(h, migrations[v]) < 0 || exec_sql(h, sql) < 0) {
			exec_sql(h, "ROLLBACK");
			log_error("database migration to version %d failed", v + 1);
			return ERR_DB;
		}
		if (exec_sql(h, "COMMIT") < 0)
			return ERR_DB;
		log_info("database schema migrated to version %d", v + 1);
	}
	return 0;
}
