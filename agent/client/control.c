/* The control socket (control.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "control.h"

struct control_conn {
	int fd;
	uint64_t timer;
	char buf[CONTROL_LINE_MAX + 1];
	size_t len;
	struct control *owner;
};

struct control {
	struct loop *l;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_fn *fn;
	void *arg;
	struct control_conn conns[CONTROL_CONNS];
};

const char *
control_default_path(char *buf, size_t cap)
{
	const char *xdg;
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, cap, "/run/snaptun/client.sock");
	else if ((xdg = getenv("XDG_RUNTIME_DIR")) != NULL && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/snaptun-client.sock", xdg);
	else
		return NULL;
	return n > 0 && (size_t)n < cap ? buf : NULL;
}

static int
addr_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

static void
conn_end(struct control_conn *cc)
{
	if (cc->fd == -1)
		return;
	loop_fd_del(cc->owner->l, cc->fd);
	close(cc->fd);
	cc->fd = -1;
	if (cc->timer != 0)
		loop_timer_cancel(cc->owner->l, cc->timer);
	cc->timer = 0;
}

static void
conn_answer(struct control_conn *cc, const char *text)
{
	/* a few KiB into an empty socket buffer: it never blocks */
	(void)send(cc->fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
	conn_end(cc);
}

static void
on_conn_timeout(struct loop *l, uint64_t id, void *arg)
{
	struct control_conn *cc = arg;

	(void)l;
	(void)id;
	cc->timer = 0;
	conn_answer(cc, "error no request within 2 s\n");
}

static void
on_conn(struct loop *l, int fd, unsigned events, void *arg)
{
	struct control_conn *cc = arg;
	char out[CONTROL_ANSWER_MAX + 4], *nl;
	ssize_t n;
	size_t len;

	(void)l;
	(void)events;
	n = recv(fd, cc->buf + cc->len, CONTROL_LINE_MAX - cc->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_end(cc);
		return;
	}
	cc->len += (size_t)n;
	cc->buf[cc->len] = '\0';
	if ((nl = memchr(cc->buf, '\n', cc->len)) == NULL) {
		if (cc->len == CONTROL_LINE_MAX)
			conn_answer(cc, "error request too long\n");
		return;
	}
	*nl = '\0';
	memcpy(out, "ok\n", 3);
	len = cc->owner->fn(cc->owner->arg, cc->buf, out + 3, sizeof(out) - 3);
	/* fn answers "error …" itself for a request it does not know */
	if (len >= 6 && strncmp(out + 3, "error ", 6) == 0)
		memmove(out, out + 3, len + 1);
	conn_answer(cc, out);
}

static void
on_accept(struct loop *l, int fd, unsigned events, void *arg)
{
	struct control *c = arg;
	struct control_conn *cc = NULL;
	struct ucred cred = {.uid = (uid_t)-1};
	socklen_t len = sizeof(cred);
	int cfd, i;

	(void)events;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn("control: refused a request of unknown uid: %s", strerror(errno));
		close(cfd);
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("control: refused a request of uid %ld", (long)cred.uid);
		close(cfd);
		return;
	}
	for (i = 0; i < CONTROL_CONNS && cc == NULL; i++)
		if (c->conns[i].fd == -1)
			cc = &c->conns[i];
	if (cc == NULL) {
		(void)send(cfd, "error busy\n", 11, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(cfd);
		return;
	}
	cc->fd = cfd;
	cc->len = 0;
	cc->owner = c;
	if (loop_fd_add(l, cfd, LOOP_READ, on_conn, cc) != 0 ||
	    (cc->timer = loop_timer_add(l, CONTROL_WAIT_MS * 1000000ull, 0, on_conn_timeout, cc)) ==
		0)
		conn_end(cc);
}

/* Clear the way for binding path: nothing there is fine; a socket no client answers on is a
 * stale one of a client that died, removed. A live socket (another client runs) or anything
 * that is not a socket (a typo'd --control naming someone's file) is refused, never removed.
 * 0 or -1 (logged). */
static int
stale_remove(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int probe, rv = -1;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_error("control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_error("control socket path %s exists and is not a socket: refusing to replace "
			  "it (remove it, or give another --control)",
		    path);
		return -1;
	}
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_error("control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (connect(probe, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		log_error("a client is running already on the control socket %s (or give this one "
			  "another --control)",
		    path);
	else if (errno != ECONNREFUSED)
		log_error("control socket %s: %s (left in place)", path, strerror(errno));
	else if (unlink(path) != 0 && errno != ENOENT)
		log_error("cannot remove the stale control socket %s: %s", path, strerror(errno));
	else
		rv = 0;
	close(probe);
	return rv;
}

/* The socket's directory: created 0700 when missing (the default /run/snaptun). */
static int
dir_ensure(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	log_error("cannot create the control socket's directory %s: %s", dir, strerror(errno));
	return -1;
}

struct control *
control_open(struct loop *l, const char *path, control_fn *fn, void *arg)
{
	struct sockaddr_un sun;
	struct control *c;
	int i;

	if (addr_of(path, &sun) != 0) {
		log_error("control socket path \"%s\" is too long", path);
		return NULL;
	}
	if (dir_ensure(path) != 0)
		return NULL;
	if (stale_remove(path, &sun) != 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->l = l;
	c->fn = fn;
	c->arg = arg;
	memcpy(c->path, sun.sun_path, sizeof(c->path));
	for (i = 0; i < CONTROL_CONNS; i++)
		c->conns[i].fd = -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1 || bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0600) != 0 || listen(c->fd, 8) != 0 ||
	    loop_fd_add(l, c->fd, LOOP_READ, on_accept, c) != 0) {
		log_error("control socket %s: %s", path, strerror(errno));
		if (c->fd != -1)
			close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

void
control_close(struct control *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CONTROL_CONNS; i++)
		conn_end(&c->conns[i]);
	loop_fd_del(c->l, c->fd);
	close(c->fd);
	(void)unlink(c->path);
	free(c);
}

ssize_t
control_ask(const char *path, const char *req, char *out, size_t cap, char *why, size_t whycap)
{
	struct sockaddr_un sun;
	struct timeval tv = {.tv_sec = 5};
	size_t len = 0;
	ssize_t n;
	int fd;

	if (addr_of(path, &sun) != 0) {
		snprintf(why, whycap, "control socket path \"%s\" is too long", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(why, whycap,
		    "cannot reach the client's control socket %s: %s (is "
		    "`snaptun-client up` running with this --control?)",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		snprintf(why, whycap, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (len + 1 < cap && (n = recv(fd, out + len, cap - 1 - len, 0)) > 0)
		len += (size_t)n;
	close(fd);
	out[len] = '\0';
	if (len == 0) {
		snprintf(why, whycap, "control socket %s: no answer", path);
		return -1;
	}
	return (ssize_t)len;
}
