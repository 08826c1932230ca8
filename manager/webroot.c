/* Static files of the dashboard: path checks, a symlink-free walk under one directory, media
 * types and entity tags. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "webroot.h"

#define WEBROOT_DEPTH_MAX 8

struct webroot {
	int dirfd;
	char *dir;
};

/* Only what the dashboard is made of; anything else (README.md, editor backups) is not served,
 * and every type is one the browser must not sniff past (nosniff is sent with it). */
static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

struct webroot *
webroot_new(const char *dir)
{
	struct webroot *w;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL || (w->dir = strdup(dir)) == NULL) {
		free(w);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	w->dirfd = fd;
	return w;
}

void
webroot_free(struct webroot *w)
{
	if (w == NULL)
		return;
	close(w->dirfd);
	free(w->dir);
	free(w);
}

const char *
webroot_dir(const struct webroot *w)
{
	return w->dir;
}

static int
segment_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

int
webroot_path_check(const char *path, size_t len, const char **type)
{
	size_t i, seg = 0, depth = 0, last = 0;

	if (len == 1 && path[0] == '/') {
		*type = types[0].type;
		return 0;
	}
	if (len < 2 || len > WEBROOT_PATH_MAX || path[0] != '/')
		return -1;
	for (i = 1; i <= len; i++) {
		if (i == len || path[i] == '/') {
			/* An empty segment ("//", a trailing "/") and a dot first ("..", ".git")
			 * are refused alike. */
			if (i == seg + 1 || path[seg + 1] == '.' || ++depth > WEBROOT_DEPTH_MAX)
				return -1;
			last = seg + 1;
			seg = i;
		} else if (!segment_char(path[i])) {
			return -1;
		}
	}
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		size_t n = strlen(types[t].ext);
		if (len - last > n && memcmp(path + len - n, types[t].ext, n) == 0) {
			*type = types[t].type;
			return 0;
		}
	}
	return -1;
}

int
webroot_open(struct webroot *w, const char *path, struct webfile *f)
{
	char rel[WEBROOT_PATH_MAX + sizeof("index.html")], *seg, *save = NULL;
	const char *type;
	struct stat st;
	int fd = -1, at = w->dirfd, rv = -1, err = ENOENT;

	f->fd = -1;
	if (webroot_path_check(path, strlen(path), &type) < 0) {
		errno = EINVAL;
		return -1;
	}
	snprintf(rel, sizeof(rel), "%s", strcmp(path, "/") == 0 ? "index.html" : path + 1);
	/* One segment at a time, never following a symlink: a link planted in the directory
	 * (to /etc, or to the state dir with its secrets) is refused whatever it points at. */
	for (seg = strtok_r(rel, "/", &save); seg != NULL; seg = strtok_r(NULL, "/", &save)) {
		int last = save == NULL || *save == '\0';
		int next = openat(at, seg,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (last ? 0 : O_DIRECTORY));
		if (at != w->dirfd)
			close(at);
		at = w->dirfd;
		if (next < 0)
			goto out;
		if (last)
			fd = next;
		else
			at = next;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->type = type;
	/* Changes with any edit or replacement of the file, which is all a revalidation needs. */
	snprintf(f->etag, sizeof(f->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
	    (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
		(unsigned long long)st.st_mtim.tv_nsec);
	fd = -1;
	rv = 0;
out:
	if (at != w->dirfd)
		close(at);
	if (fd >= 0)
		close(fd);
	if (rv < 0)
		errno = err;
	return rv;
}

int
webroot_etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	if (inm == NULL)
		return 0;
	/* A comma-separated list; a weak W/ prefix compares equal for GET (RFC 9110 13.1.2). */
	for (const char *p = inm; *p != '\0';) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}
