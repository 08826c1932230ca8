/* Time sources: monotonic nanoseconds for timers, Unix seconds for stored times. */
#ifndef LIB_CLOCK_H
#define LIB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t clock_mono_ns(void);
int64_t clock_unix(void);

/* Format Unix seconds as RFC 3339 UTC ("2026-11-22T13:31:56Z") into buf (>= 21 bytes). */
void clock_rfc3339(int64_t unix_seconds, char *buf, size_t len);

#endif
