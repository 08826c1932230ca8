/* The parsers of what a request head carries besides its route: the percent-decoding of the
 * path and query, integers in queries and paths, paging cursors and bearer credentials. Pure
 * functions on bytes, apart from HTTP, so that the fuzz harness (fuzz_reqparse) drives them
 * directly. */
#ifndef MANAGER_REQPARSE_H
#define MANAGER_REQPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decode the %XX escapes of the NUL-terminated s in place ("+" is left alone; a "%" not
 * followed by two hex digits is kept as it is). Returns the decoded length, or -1 when an
 * escape decodes to a NUL byte (s is then decoded only up to it): a path or value with a NUL
 * in it would be cut short by every C string function after it. */
int reqparse_unescape(char *s);

/* A decimal integer from min to max: digits only, no sign, no spaces, no overflow. 0 with the
 * value in *v, or -1. */
int reqparse_int(const char *s, int64_t min, int64_t max, int64_t *v);

/* A paging cursor: the last id of the previous page, 8 bytes big-endian in base64url. 0 with
 * the id (>= 0) in *id, or -1 for anything this server did not issue. */
int reqparse_cursor(const char *s, int64_t *id);

/* An event stream position as GET /v1/events/stream writes it in its "id:" lines and reads it
 * back from Last-Event-ID: "<audit>-<seq>-<instance>", three decimal integers (audit up to
 * INT64_MAX, the others up to UINT64_MAX; digits only, at most 20 each). 0 with the parts set,
 * or -1. */
int reqparse_event_id(const char *s, int64_t *audit, uint64_t *seq, uint64_t *instance);

/* The value of an Authorization header (len bytes, which may hold NULs): "Bearer " (any case)
 * and a token of visible ASCII characters. 0 with the token in *tok (not NUL-terminated when
 * the header was not) and its length in *toklen, or -1. */
int reqparse_bearer(const char *value, size_t len, const char **tok, size_t *toklen);

#endif
