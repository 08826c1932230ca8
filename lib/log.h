/* Logging for the programs: one line per event on stderr, leveled, in one format shared by all
 * of them. Text (the default):
 *
 *   2026-11-22T13:31:56.123Z info  snaptun-agent agent=3: message key=value key="two words"
 *
 * or JSON, one object per line for log shippers:
 *
 *   {"ts":"2026-11-22T13:31:56.123Z","level":"info","program":"snaptun-agent","agent":3,
 *    "msg":"message","key":"value"}
 *
 * Control characters in messages and values are escaped: a line is always one line. Bytes that
 * are not UTF-8 (a peer's close reason, a method) are written as U+FFFD in JSON (\xNN in text), so
 * that a JSON line is always valid JSON. A message is cut at 2 KiB, a field's key at 32 bytes
 * and its string value at 256, and a line takes at most 8 fields: every line is written
 * whole. */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT, LOG_JSON };

/* Set the threshold; parse a level name ("error", "warn", "info", "debug"), -1 if unknown. */
void log_set_level(enum log_level level);
int log_level_parse(const char *name);
int log_enabled(enum log_level level);

/* Set the format; parse a format name ("text", "json"), -1 if unknown. */
void log_set_format(enum log_format format);
int log_format_parse(const char *name);

/* Who writes: the program's name (kept; a string literal), and one field every line carries
 * (the agent's id: key "agent", value "3", numeric 1), copied; NULL key: none. */
void log_set_program(const char *name);
void log_set_context(const char *key, const char *value, int numeric);

/* A field of a structured line: a string (str not NULL) or an integer. */
struct log_field {
	const char *key;
	const char *str;
	int64_t num;
};

#define LOG_STR(k, v) ((struct log_field){(k), (v), 0})
#define LOG_INT(k, v) ((struct log_field){(k), NULL, (int64_t)(v)})

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A line with the n fields of f after its message. */
void log_fields(enum log_level level, const struct log_field *f, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Setup errors and impossible states: log and exit(1). fatal() appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
