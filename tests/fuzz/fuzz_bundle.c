/* Fuzzes the bundle parsers (agent/client/bundle.h): the bundle file (bundle_parse) and the
 * manager's answers (bundle_from_join, bundle_apply_refresh), all input from outside the client.
 * Invariants:
 * - no crash, no leak, no read past the input, whatever the bytes;
 * - a bundle that parses dumps to text that parses again and dumps to the same text (one
 *   model, one serialisation), and holds no more agents, networks or routes than the bounds;
 * - a refresh answer that is refused leaves the bundle as it was. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/client/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_file(const uint8_t *data, size_t size)
{
	struct bundle a, b;
	char err[512], *t1, *t2;

	if (bundle_parse((const char *)data, size, &a, err, sizeof(err)) < 0) {
		bundle_free(&a);
		return;
	}
	if (a.nagents > BUNDLE_AGENTS_MAX || a.nnetworks > BUNDLE_NETWORKS_MAX)
		abort();
	for (size_t i = 0; i < a.nnetworks; i++)
		if (a.networks[i].nroutes > BUNDLE_ROUTES_MAX)
			abort();
	t1 = bundle_dump(&a);
	if (t1 == NULL)
		abort();
	if (bundle_parse(t1, strlen(t1), &b, err, sizeof(err)) < 0)
		abort();
	t2 = bundle_dump(&b);
	if (t2 == NULL || strcmp(t1, t2) != 0)
		abort();
	free(t1);
	free(t2);
	bundle_free(&a);
	bundle_free(&b);
}

static void
check_answers(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct bundle b;
	char err[512], *before, *after;

	if (j == NULL)
		return;
	if (bundle_from_join(j, 1, &b, err, sizeof(err)) == 0) {
		before = bundle_dump(&b);
		if (bundle_apply_refresh(&b, j, 2, err, sizeof(err)) < 0) {
			after = bundle_dump(&b);
			if (before == NULL || after == NULL || strcmp(before, after) != 0)
				abort();
			free(after);
		}
		free(before);
	}
	bundle_free(&b);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_file(data, size);
	check_answers(data, size);
	return 0;
}
