/* The store's revoked pssids, enrolled or not: the list the agent enforces (a revoked pssid's
 * tunnels are closed and its tokens refused). Adding a row tells the agents (REVOKE) and removing
 * one sends them a fresh snapshot: the store functions below queue REVOKE and UNREVOKE in the
 * agents' outbox in the change's transaction (db/agentdelta.h). */
#ifndef DB_REVOCATION_H
#define DB_REVOCATION_H

#include <stdint.h>

#include "../lib/pssid.h"
#include "../lib/text.h"

struct db;

#define REVOCATION_REASON_MAX 200

struct revocation {
	int64_t id;
	char pssid[PSSID_MAX + 1];
	char reason[REVOCATION_REASON_MAX + 1];
	int64_t created_at;
	char created_by[TEXT_ACTOR_MAX + 1];
	int64_t expires_at; /* 0: never */
};

/* Put pssid on the list (kept as it is if it is there already), for ever or, with
 * revocation_add_until, until expires_at (> 0): revocation_expire removes it then. 0 or err. */
int revocation_add(
    struct db *db, const char *pssid, const char *reason, const char *actor, int64_t now);
int revocation_add_until(struct db *db, const char *pssid, const char *reason, const char *actor,
    int64_t now, int64_t expires_at);

/* 1 if pssid is revoked, 0 if not, or err. */
int revocation_has(struct db *db, const char *pssid);

/* The revocation of pssid. 0, ERR_NOT_FOUND, err. */
int revocation_get(struct db *db, const char *pssid, struct revocation *out);

/* Revocations with id > after (pssid NULL: any, else only that one), by id, at most limit,
 * into out; *n is set. 0 or err. */
int revocation_list(
    struct db *db, const char *pssid, int64_t after, int limit, struct revocation *out, int *n);

/* Lift the revocation of pssid. 0, ERR_NOT_FOUND, err. */
int revocation_remove(struct db *db, const char *pssid);

/* Lift at most max revocations whose expires_at is <= now, soonest first (each queues its
 * UNREVOKE). Returns how many, or err. */
int revocation_expire(struct db *db, int64_t now, int max);

#endif
