/* The ALLOC requests in flight (link_pending.h). */
#include <stdlib.h>

#include "link_pending.h"

void
pendq_push(struct pendq *q, struct pending *p)
{
	p->next = NULL;
	if (q->tail != NULL)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->n++;
}

struct pending *
pendq_pop(struct pendq *q)
{
	struct pending *p = q->head;

	if (p != NULL) {
		if ((q->head = p->next) == NULL)
			q->tail = NULL;
		q->n--;
	}
	return p;
}

struct pending *
pendq_take(struct pendq *q, int64_t id)
{
	struct pending *prev = NULL;

	for (struct pending *p = q->head; p != NULL; prev = p, p = p->next) {
		if (p->id != id)
			continue;
		if (prev != NULL)
			prev->next = p->next;
		else
			q->head = p->next;
		if (q->tail == p)
			q->tail = prev;
		q->n--;
		return p;
	}
	return NULL;
}

void
pendq_clear(struct pendq *q)
{
	struct pending *p;

	while ((p = pendq_pop(q)) != NULL)
		free(p);
}
