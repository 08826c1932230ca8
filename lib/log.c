/* Leveled logging to stderr with an ISO-8601 UTC timestamp, as text or JSON (log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

#define MSG_MAX 2048
#define CONTEXT_MAX 64
#define KEY_MAX 32 /* bytes of a field's key written */
#define VALUE_MAX 256 /* bytes of a field's string value written; the rest is cut */
#define FIELDS_MAX 8 /* fields of one line written; more are left out */
#define ESCAPED_MAX(n) ((n)*6) /* every byte as "\u00XX" at worst */
/* Every part of a line is cut to its bound before it is written, so that the longest line
 * fits whole and a JSON line is always a whole object (a line cut at a buffer's end would
 * not be one). */
#define LINE_MAX_BYTES \
	(ESCAPED_MAX(MSG_MAX) + ESCAPED_MAX(CONTEXT_MAX * 2) + \
	    FIELDS_MAX * (ESCAPED_MAX(KEY_MAX) + ESCAPED_MAX(VALUE_MAX) + 8) + 256)

static enum log_level threshold = LOG_INFO;
static enum log_format format = LOG_TEXT;
static const char *program = "snaptun";
static char context_key[CONTEXT_MAX], context_value[CONTEXT_MAX];
static int context_numeric;
static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const format_names[] = {"text", "json"};

void
log_set_level(enum log_level level)
{
	threshold = level;
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_enabled(enum log_level level)
{
	return level <= threshold;
}

void
log_set_format(enum log_format f)
{
	format = f;
}

int
log_format_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_set_program(const char *name)
{
	program = name;
}

void
log_set_context(const char *key, const char *value, int numeric)
{
	snprintf(context_key, sizeof(context_key), "%s", key != NULL ? key : "");
	snprintf(context_value, sizeof(context_value), "%s", key != NULL ? value : "");
	context_numeric = numeric;
}

/* A line being built: appends stop at the end of buf (a backstop: the bounds above make every
 * line fit). */
struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->buf) - 2 - l->len)
		n = sizeof(l->buf) - 2 - l->len; /* room for the newline and the NUL */
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* At most max bytes of s, escaped: for JSON inside quotes, for text with control characters as
 * \xNN (and quotes and backslashes escaped when quoted). Bytes that are not UTF-8 (a peer's
 * bytes, a sequence cut by a bound) become U+FFFD in JSON, which must be UTF-8 to be JSON at
 * all, and \xNN in text. */
static void
put_escaped(struct line *l, const char *s, size_t max, int json, int quoted)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strnlen(s, max);
	char esc[8];
	uint32_t cp;
	size_t n;

	while (p < end) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", *p);
			puts_(l, esc);
			p++;
		} else if ((json || quoted) && (*p == '"' || *p == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
			p++;
		} else if (*p < 0x80) {
			put(l, (const char *)p, 1);
			p++;
		} else if ((n = text_utf8_next(p, &cp)) > 0 && n <= (size_t)(end - p)) {
			put(l, (const char *)p, n);
			p += n;
		} else {
			if (json)
				puts_(l, "\\ufffd");
			else {
				snprintf(esc, sizeof(esc), "\\x%02x", *p);
				puts_(l, esc);
			}
			p++;
		}
	}
}

/* A text value goes in quotes when it would not read back as one word. */
static int
needs_quotes(const char *s)
{
	return *s == '\0' || strpbrk(s, " \t\"=\\") != NULL;
}

static void
put_field_text(struct line *l, const char *key, const char *str, int64_t num)
{
	char n[24];

	put(l, " ", 1);
	put_escaped(l, key, KEY_MAX, 0, 0);
	put(l, "=", 1);
	if (str == NULL) {
		snprintf(n, sizeof(n), "%lld", (long long)num);
		puts_(l, n);
	} else if (needs_quotes(str)) {
		put(l, "\"", 1);
		put_escaped(l, str, VALUE_MAX, 0, 1);
		put(l, "\"", 1);
	} else {
		put_escaped(l, str, VALUE_MAX, 0, 0);
	}
}

static void
put_field_json(struct line *l, const char *key, const char *str, int64_t num, int raw)
{
	char n[24];

	put(l, ",\"", 2);
	put_escaped(l, key, KEY_MAX, 1, 1);
	put(l, "\":", 2);
	if (str == NULL) {
		snprintf(n, sizeof(n), "%lld", (long long)num);
		puts_(l, n);
	} else if (raw) {
		puts_(l, str); /* a number given as text (the context) */
	} else {
		put(l, "\"", 1);
		put_escaped(l, str, VALUE_MAX, 1, 1);
		put(l, "\"", 1);
	}
}

static void
log_vwrite(enum log_level level, const struct log_field *f, size_t nf, const char *fmt, va_list ap,
    const char *suffix)
{
	char stamp[40], msg[MSG_MAX];
	struct timespec ts;
	struct tm tm;
	struct line *l;
	int json = format == LOG_JSON;
	int saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(
	    stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ldZ", ts.tv_nsec / 1000000);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s", suffix);
	/* Some 27 KiB: off the stack. */
	if ((l = malloc(sizeof(*l))) == NULL) {
		fprintf(stderr, "%s %s %s: %s\n", stamp, level_names[level], program, msg);
		errno = saved;
		return;
	}
	l->len = 0;
	if (json) {
		puts_(l, "{\"ts\":\"");
		puts_(l, stamp);
		puts_(l, "\",\"level\":\"");
		puts_(l, level_names[level]);
		puts_(l, "\",\"program\":\"");
		put_escaped(l, program, CONTEXT_MAX, 1, 1);
		put(l, "\"", 1);
		if (context_key[0] != '\0')
			put_field_json(l, context_key, context_value, 0, context_numeric);
		puts_(l, ",\"msg\":\"");
		put_escaped(l, msg, MSG_MAX, 1, 1);
		put(l, "\"", 1);
		for (size_t i = 0; i < nf && i < FIELDS_MAX; i++)
			put_field_json(l, f[i].key, f[i].str, f[i].num, 0);
		put(l, "}", 1);
	} else {
		char head[64];

		snprintf(head, sizeof(head), "%s %-5s ", stamp, level_names[level]);
		puts_(l, head);
		put_escaped(l, program, CONTEXT_MAX, 0, 0);
		if (context_key[0] != '\0')
			put_field_text(l, context_key, context_numeric ? NULL : context_value,
			    context_numeric ? strtoll(context_value, NULL, 10) : 0);
		puts_(l, ": ");
		put_escaped(l, msg, MSG_MAX, 0, 0);
		for (size_t i = 0; i < nf && i < FIELDS_MAX; i++)
			put_field_text(l, f[i].key, f[i].str, f[i].num);
	}
	l->buf[l->len++] = '\n';
	/* One write per line: lines of processes sharing the file do not interleave. */
	if (write(STDERR_FILENO, l->buf, l->len) < 0) {
		/* nowhere left to say it */
	}
	free(l);
	errno = saved;
}

#define LOG_FN(name, level) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		if (!log_enabled(level)) \
			return; \
		va_start(ap, fmt); \
		log_vwrite(level, NULL, 0, fmt, ap, NULL); \
		va_end(ap); \
	}

LOG_FN(log_error, LOG_ERROR)
LOG_FN(log_warn, LOG_WARN)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)

void
log_fields(enum log_level level, const struct log_field *f, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vwrite(level, f, n, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *why = strerror(errno);

	va_start(ap, fmt);
	log_vwrite(LOG_ERROR, NULL, 0, fmt, ap, why);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERROR, NULL, 0, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
