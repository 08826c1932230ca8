/* lib/log: the shared line format as text and as JSON, with the program, the context field,
 * structured fields, escaping (a message stays one line, JSON stays valid), the level
 * threshold. stderr is captured in a file for each case. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "check.h"

static char out[65536];
static int newlines; /* in what fn wrote; the last one is cut off out */

/* Run fn with stderr going to a file; its text into out. */
static void
capture(void (*fn)(void))
{
	char path[512];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/log.out", check_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	newlines = 0;
	for (char *p = out; *p != '\0'; p++)
		newlines += *p == '\n';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
}

static void
plain(void)
{
	log_info("hello %d", 42);
}

static void
fields(void)
{
	struct log_field f[] = {LOG_STR("route", "/v1/pools/{}"), LOG_INT("status", 200),
	    LOG_STR("who", "two words"), LOG_STR("q", "a\"b")};

	log_fields(LOG_INFO, f, 4, "http request");
}

static void
hostile(void)
{
	log_warn("line one\nline two\t\"quoted\" \\ \x01");
}

/* Bytes from a peer that are not UTF-8: a lone continuation byte, 0xff, a sequence cut short,
 * an overlong form, a surrogate; beside a valid "é". */
static void
not_utf8(void)
{
	log_info("closed by the client: bye\xff\xfe \x80 \xc3 \xc0\xaf \xed\xa0\x80 caf\xc3\xa9");
}

/* The longest parts there can be, each escaped to six bytes per byte: a message past its
 * bound, twelve fields with values past theirs. */
static void
longest(void)
{
	static const char *const keys[12] = {"a_key_of_forty_bytes_longer_than_its_bound", "f1",
	    "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11"};
	static char msg[4096], val[1024];
	struct log_field f[12];

	memset(msg, 1, sizeof(msg) - 1);
	memset(val, 2, sizeof(val) - 1);
	for (size_t i = 0; i < 12; i++)
		f[i] = LOG_STR(keys[i], val);
	log_fields(LOG_INFO, f, 12, "%s", msg);
}

static void
below(void)
{
	log_debug("not shown");
}

int
main(void)
{
	json_t *o;

	log_set_program("snaptun-test");
	capture(plain);
	CHECK(strlen(out) > 30 && strcmp(out + 24, " info  snaptun-test: hello 42") == 0 &&
		newlines == 1 && out[23] == 'Z' && out[10] == 'T',
	    "text: TS LEVEL PROGRAM: MSG (%s)", out);
	log_set_context("agent", "3", 1);
	capture(plain);
	CHECK(strstr(out, " info  snaptun-test agent=3: hello 42") != NULL,
	    "text: the context after the program (%s)", out);
	capture(fields);
	CHECK(strstr(out,
		  ": http request route=/v1/pools/{} status=200 who=\"two words\" "
		  "q=\"a\\\"b\"") != NULL,
	    "text: fields as key=value, quoted when needed (%s)", out);
	capture(hostile);
	CHECK(newlines == 1 && strstr(out, "\\x0a") != NULL && strstr(out, "\\x01") != NULL,
	    "text: control characters escaped, one line (%s)", out);
	capture(below);
	CHECK(out[0] == '\0', "below the level: nothing");
	capture(not_utf8);
	CHECK(newlines == 1 &&
		strstr(out, "bye\\xff\\xfe \\x80 \\xc3 \\xc0\\xaf \\xed\\xa0\\x80 caf\xc3\xa9") !=
		    NULL,
	    "text: bytes that are not UTF-8 as \\xNN, UTF-8 as it is (%s)", out);

	log_set_format(LOG_JSON);
	capture(fields);
	o = json_loads(out, 0, NULL);
	CHECK(o != NULL &&
		strcmp(json_string_value(json_object_get(o, "program")), "snaptun-test") == 0 &&
		json_integer_value(json_object_get(o, "agent")) == 3 &&
		strcmp(json_string_value(json_object_get(o, "level")), "info") == 0 &&
		strcmp(json_string_value(json_object_get(o, "msg")), "http request") == 0 &&
		strcmp(json_string_value(json_object_get(o, "route")), "/v1/pools/{}") == 0 &&
		json_integer_value(json_object_get(o, "status")) == 200 &&
		strcmp(json_string_value(json_object_get(o, "q")), "a\"b") == 0 &&
		strlen(json_string_value(json_object_get(o, "ts"))) == 24,
	    "json: ts, level, program, agent (a number), msg and the fields (%s)", out);
	CHECK(strncmp(out, "{\"ts\":", 6) == 0, "json: ts first");
	json_decref(o);
	capture(hostile);
	o = json_loads(out, 0, NULL);
	CHECK(o != NULL && newlines == 1 &&
		strcmp(json_string_value(json_object_get(o, "msg")),
		    "line one\nline two\t\"quoted\" \\ \x01") == 0,
	    "json: one line that decodes to the message as written (%s)", out);
	json_decref(o);
	capture(not_utf8);
	o = json_loads(out, 0, NULL);
	CHECK(o != NULL &&
		strcmp(json_string_value(json_object_get(o, "msg")),
		    "closed by the client: bye\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd "
		    "\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9") == 0,
	    "json: bytes that are not UTF-8 become U+FFFD, the line stays JSON (%s)", out);
	json_decref(o);
	capture(longest);
	o = json_loads(out, 0, NULL);
	CHECK(o != NULL && newlines == 1 && out[strlen(out) - 1] == '}' &&
		strlen(json_string_value(json_object_get(o, "msg"))) == 2047 &&
		json_object_size(o) == 5 + 8 && json_object_get(o, "f8") == NULL &&
		strlen(json_string_value(json_object_get(o, "a_key_of_forty_bytes_longer_than"))) ==
		    256,
	    "json: the longest message and fields are cut to their bounds, the line whole (%zu "
	    "bytes)",
	    strlen(out));
	json_decref(o);
	log_set_context(NULL, NULL, 0);
	capture(plain);
	o = json_loads(out, 0, NULL);
	CHECK(o != NULL && json_object_get(o, "agent") == NULL, "json: no context, no field");
	json_decref(o);
	CHECK(log_format_parse("json") == LOG_JSON && log_format_parse("text") == LOG_TEXT &&
		log_format_parse("JSON") < 0 && log_format_parse("") < 0,
	    "format names");
	return check_done();
}
