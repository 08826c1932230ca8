/* The reference for the manager's HTTP benchmark: the least a libmicrohttpd server driven the
 * way the manager drives it can do. One thread; MHD_USE_EPOLL with the same flags and options as
 * manager/http.c; our own listen socket; our own epoll loop that waits on MHD's epoll fd (and a
 * signalfd) and calls MHD_run on every turn, like manager/main.c; each request answered on the
 * second call of the access handler (answering on the first closes keep-alive connections).
 * GET /v1/health gets a small constant JSON body, with the manager's headers; anything else 404.
 *
 *   ref_mhd_health PORT     listen on 127.0.0.1:PORT (0: any free port); prints the URL
 *                           "http://127.0.0.1:N" on stdout once listening; SIGTERM/SIGINT stop it.
 *
 * It is linked against libcore.a like every benchmark, and uses none of it. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* The manager's body is {"status":"ok","version":…,"uptime_seconds":…,"db":"ok"} + '\n'. */
static const char body[] = "{\"status\":\"ok\",\"version\":\"0.1.0\",\"uptime_seconds\":0,"
			   "\"db\":\"ok\"}\n";
static const char not_found[] = "{\"title\":\"Not Found\",\"status\":404}\n";
static int seen; /* the per-connection marker for the first call */

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	const char *text = body;
	size_t len = sizeof(body) - 1;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/v1/health") != 0 ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) {
		status = MHD_HTTP_NOT_FOUND;
		text = not_found;
		len = sizeof(not_found) - 1;
	}
	resp =
	    MHD_create_response_from_buffer(len, (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
on_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	*con_cls = NULL;
}

static int
listen_on(unsigned port, unsigned *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t salen = sizeof(sa);
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		fprintf(stderr, "ref_mhd_health: 127.0.0.1:%u: %s\n", port, strerror(errno));
		exit(1);
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev = {.events = EPOLLIN}, events[16];
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	MHD_UNSIGNED_LONG_LONG ms;
	sigset_t mask;
	unsigned port, bound;
	char *end;
	int lfd, ep, sfd, n, timeout, stop = 0;

	if (argc != 2 || (port = (unsigned)strtoul(argv[1], &end, 10)) > 65535 || *end != '\0' ||
	    argv[1][0] == '\0') {
		fprintf(stderr, "usage: ref_mhd_health PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(port, &bound);
	d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
	    NULL, on_access, NULL, MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "ref_mhd_health: MHD_start_daemon failed\n");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD)) == NULL ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "ref_mhd_health: event loop: %s\n", strerror(errno));
		return 1;
	}
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		return 1;
	ev.data.fd = info->epoll_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return 1;
	printf("http://127.0.0.1:%u\n", bound);
	fflush(stdout);
	while (!stop) {
		/* The manager bounds its wait by its next sweep; MHD's timeout bounds it here. */
		timeout = 5000;
		if (MHD_get_timeout(d, &ms) == MHD_YES && ms < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (int)ms;
		n = epoll_wait(ep, events, 16, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "ref_mhd_health: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++)
			if (events[i].data.fd == sfd)
				stop = 1;
		MHD_run(d);
	}
	MHD_stop_daemon(d);
	close(lfd);
	close(ep);
	close(sfd);
	return 0;
}
