#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mgrhttp.h"

/* The answer being received, bounded. */
struct sink {
	char *buf;
	size_t len;
	int overflow;
	long retry_after;
};

/* The transfer running now, for mgrhttp_cancel to wake; at most one at a time (the renewer's
 * thread, or join's main thread). */
static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static CURLM *running_multi;
static atomic_int cancelled;

void
mgrhttp_cancel(void)
{
	atomic_store(&cancelled, 1);
	pthread_mutex_lock(&running_mu);
	if (running_multi != NULL)
		(void)curl_multi_wakeup(running_multi);
	pthread_mutex_unlock(&running_mu);
}

/* Also inside curl's own steps (a slow TLS handshake between two polls). */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&cancelled) ? 1 : 0;
}

/* curl_easy_perform, but driven through a multi handle that mgrhttp_cancel can wake: a request
 * to a manager that never answers ends at once instead of after the timeout. */
static CURLcode
perform(CURL *c)
{
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	CURLM *m;
	CURLMsg *msg;
	int running = 1, left;

	if ((m = curl_multi_init()) == NULL)
		return cc;
	if (curl_multi_add_handle(m, c) != CURLM_OK) {
		curl_multi_cleanup(m);
		return cc;
	}
	pthread_mutex_lock(&running_mu);
	running_multi = m;
	pthread_mutex_unlock(&running_mu);
	cc = CURLE_ABORTED_BY_CALLBACK;
	while (!atomic_load(&cancelled)) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			cc = CURLE_RECV_ERROR;
			break;
		}
		if (!running) {
			cc = CURLE_RECV_ERROR; /* replaced by the transfer's own result below */
			while ((msg = curl_multi_info_read(m, &left)) != NULL)
				if (msg->msg == CURLMSG_DONE && msg->easy_handle == c)
					cc = msg->data.result;
			break;
		}
		if (curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) {
			cc = CURLE_RECV_ERROR;
			break;
		}
	}
	pthread_mutex_lock(&running_mu);
	running_multi = NULL;
	pthread_mutex_unlock(&running_mu);
	curl_multi_remove_handle(m, c);
	curl_multi_cleanup(m);
	return cc;
}

const char *
mgrhttp_url_shown(const char *url, char *buf, size_t cap)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL, *p;

	if (auth == NULL) {
		snprintf(buf, cap, "%s", url);
		return buf;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold '@' unescaped */
	if (at == NULL)
		snprintf(buf, cap, "%s", url);
	else
		snprintf(buf, cap, "%.*s***%s", (int)(auth - url), url, at);
	return buf;
}

int
mgrhttp_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	char *grown;

	if (s->len + len > MGRHTTP_ANSWER_MAX) {
		s->overflow = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if ((grown = realloc(s->buf, s->len + len + 1)) == NULL)
		return 0;
	s->buf = grown;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	long v = 0;
	size_t i;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		for (i = 12; i < len && (data[i] == ' ' || data[i] == '\t'); i++)
			;
		/* Delta-seconds only (what the manager sends); an HTTP date counts as absent. */
		for (; i < len && data[i] >= '0' && data[i] <= '9' && v < 86400; i++)
			v = v * 10 + (data[i] - '0');
		if (i < len && (data[i] == '\r' || data[i] == '\n'))
			s->retry_after = v;
	}
	return len;
}

/* The manager's own words for a failure: the problem+json detail, made printable and short. */
static void
problem_detail(const json_t *body, char *buf, size_t len)
{
	const char *d = json_string_value(json_object_get(body, "detail"));

	if (d == NULL)
		d = json_string_value(json_object_get(body, "title"));
	snprintf(buf, len, "%.300s", d != NULL ? d : "no detail");
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static enum mgrhttp_class
classify(long status)
{
	if (status >= 200 && status < 300)
		return MGRHTTP_OK;
	if (status == 408 || status == 429 || status >= 500)
		return MGRHTTP_TRANSIENT;
	return MGRHTTP_REFUSED;
}

enum mgrhttp_class
mgrhttp_post(const char *manager_url, const char *ca, const char *path, json_t *body,
    const char *what, struct mgrhttp_reply *r)
{
	char errbuf[CURL_ERROR_SIZE] = "", detail[320], *url = NULL, *text = NULL, shown[256];
	struct sink s = {.retry_after = -1};
	struct curl_slist *hdrs = NULL;
	size_t ulen = strlen(manager_url);
	CURL *c = NULL;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	r->class = MGRHTTP_TRANSIENT;
	r->retry_after = -1;
	/* "https://mgr/" and "https://mgr" name the same API. */
	while (ulen > 0 && manager_url[ulen - 1] == '/')
		ulen--;
	if (body == NULL || (text = json_dumps(body, JSON_COMPACT)) == NULL ||
	    (url = malloc(ulen + strlen(path) + 1)) == NULL) {
		snprintf(r->message, sizeof(r->message), "out of memory");
		goto out;
	}
	memcpy(url, manager_url, ulen);
	strcpy(url + ulen, path);
	if ((c = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
		snprintf(r->message, sizeof(r->message), "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)MGRHTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)MGRHTTP_TIMEOUT_MS / 3);
	/* Threads: no SIGALRM for name resolution timeouts. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "snaptun-client");
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cc = perform(c);
	if (cc != CURLE_OK) {
		if (cc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(r->message, sizeof(r->message),
			    "request to the manager cancelled: the client is stopping");
		else if (s.overflow)
			snprintf(r->message, sizeof(r->message),
			    "manager answer to %s is over %d bytes", path, MGRHTTP_ANSWER_MAX);
		else
			snprintf(r->message, sizeof(r->message), "manager %s unreachable: %s",
			    mgrhttp_url_shown(url, shown, sizeof(shown)),
			    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
		/* A certificate the CA does not vouch for will not get better by waiting. */
		if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		    cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT)
			r->class = MGRHTTP_REFUSED;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->retry_after = s.retry_after;
	if (s.len > 0)
		r->body = json_loadb(s.buf, s.len, JSON_REJECT_DUPLICATES, NULL);
	r->class = classify(r->status);
	if (r->class == MGRHTTP_OK)
		goto out;
	problem_detail(r->body, detail, sizeof(detail));
	if (r->class == MGRHTTP_REFUSED)
		snprintf(r->message, sizeof(r->message), "manager refused %s (%ld): %s", what,
		    r->status, detail);
	else if (r->retry_after >= 0)
		snprintf(r->message, sizeof(r->message),
		    "manager could not take %s now (%ld): %s; retry after %ld s", what, r->status,
		    detail, r->retry_after);
	else
		snprintf(r->message, sizeof(r->message), "manager could not take %s now (%ld): %s",
		    what, r->status, detail);
out:
	if (s.buf != NULL) {
		/* The answer may hold tokens. */
		memset(s.buf, 0, s.len);
		free(s.buf);
	}
	if (text != NULL) {
		memset(text, 0, strlen(text));
		free(text);
	}
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(url);
	json_decref(body);
	return r->class;
}

void
mgrhttp_reply_free(struct mgrhttp_reply *r)
{
	if (r == NULL)
		return;
	json_decref(r->body);
	r->body = NULL;
}
