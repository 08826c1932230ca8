#include <stdlib.h>
#include <string.h>

#include "ctrl_streams.h"

/* One control request: the stream's bytes so far (the parser judges only CTRL_MSG_MAX + 1). */
struct ctrl_stream {
	int64_t id;
	size_t len;
	int fin, answered;
	uint8_t buf[CTRL_MSG_MAX + 1];
};

void
ctrl_streams_init(struct ctrl_streams *cs)
{
	memset(cs, 0, sizeof(*cs));
}

void
ctrl_streams_free(struct ctrl_streams *cs)
{
	for (int i = 0; i < CTRL_STREAMS_MAX; i++) {
		free(cs->s[i]);
		cs->s[i] = NULL;
	}
}

/* The slot of stream id, or -1. */
static int
slot_of(const struct ctrl_streams *cs, int64_t id)
{
	for (int i = 0; i < CTRL_STREAMS_MAX; i++)
		if (cs->s[i] != NULL && cs->s[i]->id == id)
			return i;
	return -1;
}

void
ctrl_streams_drop(struct ctrl_streams *cs, int64_t id)
{
	int i = slot_of(cs, id);

	if (i >= 0) {
		free(cs->s[i]);
		cs->s[i] = NULL;
	}
}

int
ctrl_streams_feed(struct ctrl_streams *cs, int64_t id, const uint8_t *data, size_t len, int fin,
    int *rv, struct ctrl_req *req)
{
	struct ctrl_stream *s;
	size_t room, take;
	int i;

	if ((i = slot_of(cs, id)) < 0) {
		for (i = 0; i < CTRL_STREAMS_MAX && cs->s[i] != NULL; i++)
			;
		if (i == CTRL_STREAMS_MAX)
			return CTRL_STREAMS_FULL;
		if ((cs->s[i] = malloc(sizeof(*cs->s[i]))) == NULL)
			return CTRL_STREAMS_NOMEM;
		cs->s[i]->id = id;
		cs->s[i]->len = 0;
		cs->s[i]->fin = cs->s[i]->answered = 0;
	}
	s = cs->s[i];
	room = sizeof(s->buf) - s->len;
	take = len < room ? len : room;
	memcpy(s->buf + s->len, data, take);
	s->len += take;
	s->fin |= fin;
	if (s->answered) {
		if (s->fin)
			ctrl_streams_drop(cs, id);
		return CTRL_STREAMS_WAIT;
	}
	*rv = ctrl_parse(s->buf, s->len, s->fin, req);
	/* a request is handled once its stream has ended; an error as soon as it shows */
	if (*rv == CTRL_NEED_MORE || (*rv == CTRL_OK && !s->fin))
		return CTRL_STREAMS_WAIT;
	return CTRL_STREAMS_READY;
}

void
ctrl_streams_answered(struct ctrl_streams *cs, int64_t id)
{
	int i = slot_of(cs, id);

	if (i < 0)
		return;
	cs->s[i]->answered = 1;
	if (cs->s[i]->fin)
		ctrl_streams_drop(cs, id);
}

int
ctrl_streams_waiting(const struct ctrl_streams *cs, int64_t id)
{
	int i = slot_of(cs, id);

	return i < 0 ? -1 : !cs->s[i]->answered;
}
