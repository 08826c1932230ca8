/* Time sources: monotonic nanoseconds for timers, Unix seconds for stored times. */
#ifndef LIB_CLOCK_H
#define LIB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t clock_mono_ns(void);
int64_t clock_unix(void);

/* The times RFC 3339 can write: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define CLOCK_RFC3339_MIN (-62135596800LL)
#define CLOCK_RFC3339_MAX 253402300799LL
#define CLOCK_RFC3339_LEN 20 /* "2026-11-22T13:31:56Z", NUL not counted */

/* Format Unix seconds as RFC 3339 UTC ("2026-11-22T13:31:56Z") into buf (len > 20 bytes). Total:
 * a time before CLOCK_RFC3339_MIN or after CLOCK_RFC3339_MAX is written as that bound, and buf
 * always holds a NUL-terminated string ("" when len is too small). */
void clock_rfc3339(int64_t unix_seconds, char *buf, size_t len);

/* Parse an RFC 3339 date-time ("2026-11-22T13:31:56Z", also with a fraction of a second,
 * dropped, or an offset "+01:00") into Unix seconds. Field ranges are checked (no 2026-02-30);
 * a leap second reads as the second after it. 0, or -1 for anything else. */
int clock_rfc3339_parse(const char *s, int64_t *unix_seconds);

#endif
