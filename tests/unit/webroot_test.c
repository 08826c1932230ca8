/* The dashboard's file lookup: which request paths may name a file at all, that a file is found
 * only by a walk that follows no symlink (one in the directory, one on the way, one at the end
 * pointing out), media types, entity tags and If-None-Match. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../manager/webroot.h"
#include "check.h"

static int
path_ok(const char *p)
{
	const char *type;

	return webroot_path_check(p, strlen(p), &type) == 0;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

int
main(void)
{
	static const char *const good[] = {"/", "/index.html", "/app.css", "/js/app.js",
	    "/js/pages/overview.js", "/favicon.svg", "/a-b_c.d.js"};
	static const char *const bad[] = {"", "index.html", "/..", "/../etc/passwd",
	    "/js/../app.js", "/.hidden.js", "/js/.x.js", "//app.js", "/js//app.js", "/js/",
	    "/README.md", "/app", "/app.js/", "/a%2e.js", "/a b.js", "/a\\b.js", "/.js",
	    "/a/b/c/d/e/f/g/h/i.js"};
	char root[512], out[600], sub[600], link[600];
	const char *type = NULL;
	struct webroot *w;
	struct webfile f;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(path_ok(good[i]), "\"%s\" may name a file", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!path_ok(bad[i]), "\"%s\" is refused", bad[i]);
	{
		char longp[WEBROOT_PATH_MAX + 8];
		memset(longp, 'a', sizeof(longp));
		longp[0] = '/';
		memcpy(longp + sizeof(longp) - 4, ".js", 4);
		CHECK(!path_ok(longp), "a path over %d bytes is refused", WEBROOT_PATH_MAX);
	}
	CHECK(webroot_path_check("/a.js", 5, &type) == 0 &&
		strcmp(type, "text/javascript; charset=utf-8") == 0,
	    "a .js file is text/javascript (%s)", type);
	CHECK(webroot_path_check("/", 1, &type) == 0 && strncmp(type, "text/html", 9) == 0,
	    "/ is HTML (index.html)");
	/* Only the given length is read: "/a.jsX" cut to 5 bytes is "/a.js". */
	CHECK(webroot_path_check("/a.jsX", 5, &type) == 0, "only len bytes are read");

	/* root/ holds the dashboard; out/ beside it is what must never be reached. */
	snprintf(root, sizeof(root), "%s/web", check_tmpdir());
	snprintf(out, sizeof(out), "%s/out", check_tmpdir());
	snprintf(sub, sizeof(sub), "%s/js", root);
	mkdir(root, 0700);
	mkdir(out, 0700);
	mkdir(sub, 0700);
	put(root, "index.html", "<!doctype html>");
	put(sub, "app.js", "export {};");
	put(out, "secret.txt", "secret");
	put(out, "x.js", "secret");
	snprintf(link, sizeof(link), "%s/leak.txt", root);
	CHECK(symlink("../out/secret.txt", link) == 0, "a symlink to a file outside");
	snprintf(link, sizeof(link), "%s/outdir", root);
	CHECK(symlink("../out", link) == 0, "a symlink to a directory outside");
	snprintf(link, sizeof(link), "%s/same.html", root);
	CHECK(symlink("index.html", link) == 0, "a symlink inside");

	CHECK((w = webroot_new(root)) != NULL, "the directory opens");
	CHECK(webroot_open(w, "/", &f) == 0 && f.fd >= 0 && f.size == 15 &&
		strncmp(f.type, "text/html", 9) == 0 && f.etag[0] == '"',
	    "/ is index.html, 15 bytes, with a quoted entity tag (%s)", f.etag);
	close(f.fd);
	CHECK(webroot_open(w, "/js/app.js", &f) == 0 && f.size == 10, "a file in a subdirectory");
	close(f.fd);
	errno = 0;
	CHECK(webroot_open(w, "/leak.txt", &f) < 0 && errno == ENOENT && f.fd == -1,
	    "a symlink out is not followed (ENOENT)");
	CHECK(webroot_open(w, "/outdir/x.js", &f) < 0 && errno == ENOENT,
	    "a symlinked directory is not walked through");
	CHECK(webroot_open(w, "/same.html", &f) < 0, "no symlink is followed, not even inside");
	CHECK(webroot_open(w, "/js", &f) < 0, "a directory is no file");
	CHECK(webroot_open(w, "/nope.js", &f) < 0 && errno == ENOENT, "a missing file");
	CHECK(webroot_open(w, "/../out/x.js", &f) < 0 && errno == EINVAL, "\"..\" is refused");

	CHECK(webroot_open(w, "/index.html", &f) == 0, "index.html by name");
	close(f.fd);
	CHECK(webroot_etag_matches(f.etag, f.etag), "its own tag matches");
	{
		char list[160], weak[80];
		snprintf(list, sizeof(list), "\"x\", %s", f.etag);
		snprintf(weak, sizeof(weak), "W/%s", f.etag);
		CHECK(webroot_etag_matches(list, f.etag), "a list with it matches");
		CHECK(webroot_etag_matches(weak, f.etag), "its weak form matches");
	}
	CHECK(webroot_etag_matches("*", f.etag), "* matches");
	CHECK(!webroot_etag_matches("\"x\"", f.etag), "another tag does not");
	CHECK(!webroot_etag_matches(NULL, f.etag), "no header does not");
	put(root, "index.html", "<!doctype html><p>changed");
	{
		struct webfile g;
		CHECK(webroot_open(w, "/", &g) == 0 && strcmp(g.etag, f.etag) != 0,
		    "an edited file gets another tag (%s, was %s)", g.etag, f.etag);
		close(g.fd);
	}
	webroot_free(w);
	webroot_free(NULL);
	CHECK(webroot_new(link) == NULL && errno == ENOTDIR, "a file is no web directory");
	return check_done();
}
