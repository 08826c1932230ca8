/* Manager-less tokens: the access token in a file (--token-file) that something else keeps
 * fresh, read again before the one in use runs out. The lifetime comes from the token's own
 * claims, read without verifying them (the gateway verifies; the client only needs the time). */
#ifndef CLIENT_TOKENFILE_H
#define CLIENT_TOKENFILE_H

#include <stddef.h>
#include <stdint.h>

/* Read the token in path (surrounding whitespace trimmed; JWS characters only, at most cap - 1
 * bytes) into tok, its exp and iat (0 when absent) claims into *exp and *iat. 0, or -1 with why
 * (whycap bytes) naming the file and what is wrong. */
int tokenfile_read(
    const char *path, char *tok, size_t cap, int64_t *exp, int64_t *iat, char *why, size_t whycap);

/* When to read the file again (Unix seconds): at 75 % of the token's lifetime (from iat, else
 * from now), and at most a minute from now once less than four minutes are left, so that a
 * file rewritten late is still seen in time. */
int64_t tokenfile_next(int64_t now, int64_t exp, int64_t iat);

#endif
