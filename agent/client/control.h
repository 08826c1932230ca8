/* The running client's control socket: a UNIX stream socket on which `snaptun-client status`
 * and `down` ask the running `up`. One request per connection, one line:
 *
 *   status        the status as text lines          status json   the same as one JSON object
 *   down          stop the client (close code 0)
 *
 * The answer is "ok\n" and the body, or "error <text>\n"; then the server closes. Requests
 * are bounded (CONTROL_LINE_MAX bytes, CONTROL_WAIT_MS to arrive, CONTROL_CONNS at once);
 * only a peer of the same uid, or root, is served (SO_PEERCRED). */
#ifndef CLIENT_CONTROL_H
#define CLIENT_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "../../lib/loop.h"

#define CONTROL_LINE_MAX 64
#define CONTROL_ANSWER_MAX 4096
#define CONTROL_WAIT_MS 2000
#define CONTROL_CONNS 4

/* Answer one request line (without its newline) into out (cap bytes): the answer's length. */
typedef size_t control_fn(void *arg, const char *req, char *out, size_t cap);

struct control;

/* The default socket path: /run/snaptun/client.sock for root, else
 * $XDG_RUNTIME_DIR/snaptun-client.sock; NULL (with why) when neither applies. */
const char *control_default_path(char *buf, size_t cap);

/* Listen on path (its directory created 0700 when missing; a stale socket replaced; a live
 * one is an error: another client runs), serving requests on l with fn. NULL on failure
 * (logged). */
struct control *control_open(struct loop *l, const char *path, control_fn *fn, void *arg);

/* Stop listening, drop open requests, unlink the socket. NULL is fine. */
void control_close(struct control *c);

/* Client side: send req to the socket at path and read the answer into out (cap bytes,
 * NUL-terminated). The answer's length, or -1 with why (cap bytes) saying what failed. */
ssize_t control_ask(
    const char *path, const char *req, char *out, size_t cap, char *why, size_t whycap);

#endif
