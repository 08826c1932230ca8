/* One page of a collection: the one shape of every paged GET. See api.h (struct api_list). */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "api.h"

void
api_list_page(struct req *r, const struct api_list *l, const void *arg)
{
	json_t *items = NULL, *o;
	int64_t after, last = 0;
	char *v;
	int limit, n = 0, rv;

	if (req_page(r, &limit, &after) < 0)
		return;
	if ((v = calloc((size_t)limit, l->size)) == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	if ((rv = l->fetch(r, arg, after, limit, v, &n)) == 0 && (items = json_array()) == NULL)
		rv = ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		char *rec = v + (size_t)i * l->size;

		if (rv == 0 && ((o = l->render(r, rec)) == NULL || json_array_append_new(items, o)))
			rv = ERR_NOMEM;
		if (l->clear != NULL)
			l->clear(rec);
	}
	if (n > 0)
		memcpy(&last, v + (size_t)(n - 1) * l->size + l->id_at, sizeof(last));
	free(v);
	if (rv < 0) {
		json_decref(items);
		api_fail(r, rv, NULL, rv == ERR_NOT_FOUND ? l->not_found : NULL);
		return;
	}
	api_reply_page(r, items, n, limit, last);
}
