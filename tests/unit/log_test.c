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

static char out[8192];
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
