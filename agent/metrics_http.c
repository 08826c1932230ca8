#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/prom.h"
#include "../lib/sockaddr.h"
#include "metrics_http.h"

#define METRICS_CONN_MAX 64
#define METRICS_CONN_TIMEOUT 10 /* seconds a scraper's connection may idle */

struct metrics_http {
	struct MHD_Daemon *d;
	struct loop *loop;
	int listen_fd, epoll_fd;
	metrics_gather_fn *gather;
	void *arg;
};

/* A problem+json answer (the agent's HTTP errors look like the manager's). */
static enum MHD_Result
problem(struct MHD_Connection *c, unsigned status, const char *title, const char *detail)
{
	char body[384];
	struct MHD_Response *r;
	enum MHD_Result ret;
	int n = snprintf(body, sizeof(body),
	    "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%u,\"detail\":\"%s\"}\n", title,
	    status, detail);

	if ((r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
	if (status == 405)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *m = cls;
	struct metrics_snap s = {0};
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *text;

	(void)version;
	(void)upload_data;
	/* A body is never wanted: read and drop it, answer at its end. */
	if (*con_cls == NULL) {
		*con_cls = m;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return problem(c, 404, "Not found", "only /metrics is served here");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return problem(c, 405, "Method not allowed", "/metrics takes GET or HEAD");
	m->gather(m->arg, &s);
	if ((text = metrics_render(&s, &len)) == NULL)
		return problem(c, 503, "Service unavailable", "out of memory");
	if ((r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void
on_ready(struct loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	metrics_http_run(arg);
}

static int
listen_on(const char *addr, char *bound, size_t boundlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1;

	if (sockaddr_parse(addr, &ss, &len) < 0) {
		log_error(
		    "--metrics-listen \"%s\": expected a numeric ADDR:PORT ([v6]:PORT)", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &(socklen_t){sizeof(ss)}) < 0) {
		log_error("--metrics-listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sockaddr_format((struct sockaddr *)&ss, bound, boundlen);
	return fd;
}

struct metrics_http *
metrics_http_open(const char *addr, struct loop *loop, metrics_gather_fn *gather, void *arg,
    char *bound, size_t boundlen)
{
	struct metrics_http *m;
	const union MHD_DaemonInfo *info;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->loop = loop;
	m->gather = gather;
	m->arg = arg;
	m->epoll_fd = -1;
	if ((m->listen_fd = listen_on(addr, bound, boundlen)) < 0)
		goto fail;
	m->d =
	    MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_access, m, MHD_OPTION_LISTEN_SOCKET,
		m->listen_fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT, MHD_OPTION_END);
	if (m->d == NULL || (info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		log_error("--metrics-listen %s: cannot start the HTTP server", addr);
		goto fail;
	}
	m->epoll_fd = info->epoll_fd;
	if (loop_fd_add(loop, m->epoll_fd, LOOP_READ, on_ready, m) < 0) {
		log_error("--metrics-listen %s: %s", addr, strerror(errno));
		m->epoll_fd = -1;
		goto fail;
	}
	return m;
fail:
	metrics_http_close(m);
	return NULL;
}

void
metrics_http_close(struct metrics_http *m)
{
	if (m == NULL)
		return;
	if (m->epoll_fd >= 0)
		loop_fd_del(m->loop, m->epoll_fd);
	if (m->d != NULL)
		MHD_stop_daemon(m->d);
	if (m->listen_fd > 0)
		close(m->listen_fd);
	free(m);
}

uint64_t
metrics_http_expiry(struct metrics_http *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (m == NULL || MHD_get_timeout(m->d, &ms) != MHD_YES)
		return UINT64_MAX;
	return clock_mono_ns() + (uint64_t)ms * 1000000u;
}

void
metrics_http_run(struct metrics_http *m)
{
	MHD_run(m->d);
}
