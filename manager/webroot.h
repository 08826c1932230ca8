/* The dashboard's static files (web/), served by the manager at "/". A request path is checked
 * as text first (webroot_path_check: short, plain segments, no "..", no hidden names, a known
 * file type) and then opened one segment at a time under a directory opened at start, with
 * O_NOFOLLOW: no symlink is followed, so nothing outside that directory can be served. */
#ifndef MANAGER_WEBROOT_H
#define MANAGER_WEBROOT_H

#include <stdint.h>

/* A request target longer than this is not a file of ours. */
#define WEBROOT_PATH_MAX 256
/* "<inode>-<size>-<mtime ns>" in hex, quoted. */
#define WEBROOT_ETAG_MAX 64

struct webroot;

/* One file found for a request: an open descriptor (the caller's: close it, or hand it to the
 * response that sends it), its size, media type (static text) and entity tag. */
struct webfile {
	int fd;
	uint64_t size;
	const char *type;
	char etag[WEBROOT_ETAG_MAX];
};

/* Open dir as the root of the files served. NULL with errno (ENOTDIR, ENOENT, …); nothing is
 * logged. webroot_free accepts NULL. */
struct webroot *webroot_new(const char *dir);
void webroot_free(struct webroot *w);

/* The directory w serves, as given. */
const char *webroot_dir(const struct webroot *w);

/* Whether path (a decoded request path, "/" standing for "/index.html") names a file that may
 * be served: at most WEBROOT_PATH_MAX bytes, segments of A-Z a-z 0-9 . _ - that do not start
 * with a dot, at most 8 deep, ending in an extension of a known media type. Writes that
 * type to *type. 0 or -1; never reads past len bytes. */
int webroot_path_check(const char *path, size_t len, const char **type);

/* Find path under w: 0 with *f filled (f->fd open), or -1 with errno (ENOENT for anything that
 * is not a regular file reached without a symlink, EINVAL for a path webroot_path_check
 * refuses). */
int webroot_open(struct webroot *w, const char *path, struct webfile *f);

/* Whether an If-None-Match header value (NULL: none) names etag, or is "*". */
int webroot_etag_matches(const char *if_none_match, const char *etag);

#endif
