/* Admin tokens: bearer secrets for the admin API, stored as SHA-256, with a scope and an
 * optional expiry. (The first start's bootstrap token is made by manager/admintoken.c.) */
#ifndef DB_ADMINTOKEN_H
#define DB_ADMINTOKEN_H

#include <stdint.h>

#include "../lib/secret.h"
#include "../lib/text.h"

struct db;

#define ADMINTOKEN_NAME_MAX 64
#define ADMINTOKEN_PREFIX "sna_"
#define ADMINTOKEN_TTL_MAX (366 * 86400)

/* A token's scope, as a bit: the HTTP routes allow a set of them (manager/http.h). */
enum admintoken_scope {
	ADMINTOKEN_ADMIN = 1,
	ADMINTOKEN_READ = 2,
	ADMINTOKEN_PROVISION = 4,
};

struct admin_token {
	int64_t id;
	char name[TEXT_NAME_BYTES(ADMINTOKEN_NAME_MAX) + 1];
	int scope; /* one enum admintoken_scope bit */
	int64_t created_at;
	int64_t expires_at; /* 0: never */
	int64_t last_used_at; /* 0: never */
	char created_by[TEXT_ACTOR_MAX + 1];
};

const char *admintoken_scope_str(int scope);
int admintoken_scope_parse(const char *s); /* the scope bit, or -1 */
int admintoken_name_valid(const char *s);

/* Create a token; the secret (shown once, SECRET_STRLEN bytes) goes to secret. ttl 0: no
 * expiry. 0, ERR_CONFLICT (name taken), err. */
int admintoken_create(struct db *db, const char *name, int scope, int64_t ttl,
    const char *created_by, int64_t now, struct admin_token *out, char *secret);

/* The unexpired token whose secret this is. Records its use (at most once a minute).
 * 0, ERR_NOT_FOUND, err. */
int admintoken_authenticate(
    struct db *db, const char *secret, int64_t now, struct admin_token *out);

/* Up to limit tokens with id > after, by id, into out; *n is set. 0 or err. */
int admintoken_list(struct db *db, int64_t after, int limit, struct admin_token *out, int *n);

/* Delete a token. The last unexpired admin-scope token cannot go (ERR_CONFLICT): that would
 * lock every operator out. 0, ERR_NOT_FOUND, ERR_CONFLICT, err. *deleted gets the record. */
int admintoken_delete(struct db *db, int64_t id, int64_t now, struct admin_token *deleted);

#endif
