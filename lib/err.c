#include "err.h"

const char *
err_str(int err)
{
	switch (err) {
	case ERR_OK: return "ok";
	case ERR_INVALID: return "invalid argument";
	case ERR_NOT_FOUND: return "not found";
	case ERR_CONFLICT: return "conflict";
	case ERR_POOL_EXHAUSTED: return "no address available";
	case ERR_NO_POOL: return "no matching pool";
	case ERR_ADDR_TAKEN: return "address is taken";
	case ERR_ADDR_NOT_IN_POOL: return "address is in no pool";
	case ERR_STALE_SESSION: return "stale session id";
	case ERR_DB: return "database error";
	case ERR_BUSY: return "database busy";
	case ERR_NOMEM: return "out of memory";
	case ERR_GONE: return "gone";
	case ERR_DENIED: return "unauthorized";
	case ERR_LIMIT: return "capacity reached";
	}
	return "unknown error";
}
