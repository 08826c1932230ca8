/* The state-channel client's ALLOC requests in flight: FIFOs in sending order, so that with a
 * fixed timeout the head is always the first due, and a request is found by its frame's seq
 * when its ALLOC_RES comes. */
#ifndef AGENT_LINK_PENDING_H
#define AGENT_LINK_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "link.h"

/* An ALLOC_REQ in flight. The list is in sending order, so its deadlines never decrease (a
 * teardown zeroes them all): the head is the first due. */
struct pending {
	int64_t id; /* the ALLOC_REQ frame's seq */
	uint64_t deadline; /* 0: failed, deliver at the next link_expire() */
	uint64_t session_id; /* of the request: a grant that comes back late goes on hold */
	link_alloc_cb cb; /* NULL on the late list */
	void *arg;
	struct pending *next;
};

/* A FIFO of pending requests. */
struct pendq {
	struct pending *head, *tail;
	size_t n;
};

/* Append p (its next is the queue's). */
void pendq_push(struct pendq *q, struct pending *p);

/* Unlink the oldest; NULL when q is empty. */
struct pending *pendq_pop(struct pendq *q);

/* Unlink the request id from q; NULL when it is not there. */
struct pending *pendq_take(struct pendq *q, int64_t id);

/* Free every request of q without calling anything. */
void pendq_clear(struct pendq *q);

#endif
