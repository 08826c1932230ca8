/* Domain error codes shared by the manager, the agent and the state channel. Functions return
 * 0 or a negative enum err; err_str() gives the text. The numbers travel in ALLOC_RES. */
#ifndef LIB_ERR_H
#define LIB_ERR_H

enum err {
	ERR_OK = 0,
	ERR_INVALID = -1, /* a malformed or out-of-range argument */
	ERR_NOT_FOUND = -2,
	ERR_CONFLICT = -3, /* exists already, or is in use */
	ERR_POOL_EXHAUSTED = -4, /* no free address in any matching pool */
	ERR_NO_POOL = -5, /* no pool matches the ISD-AS / family asked for */
	ERR_ADDR_TAKEN = -6, /* the requested address belongs to another pssid */
	ERR_ADDR_NOT_IN_POOL = -7, /* the requested address is in no pool */
	ERR_STALE_SESSION = -8, /* an older session id than the grant's: fenced off */
	ERR_DB = -9, /* the store failed (I/O, corruption) */
	ERR_BUSY = -10, /* the store is locked by another writer */
	ERR_NOMEM = -11,
	ERR_GONE = -12, /* used up, expired or withdrawn for good */
	ERR_DENIED = -13, /* the credential is unknown or no longer valid */
	ERR_LIMIT = -14, /* a capacity limit is reached: try again later */
};

const char *err_str(int err);

#endif
