/* A tunnel's counters (lib/counters.h) as the API shows them, the same for a session
 * (GET /v1/sessions) and for an agent's totals (GET /v1/agents last_stats.total). */
#ifndef MANAGER_COUNTERS_JSON_H
#define MANAGER_COUNTERS_JSON_H

#include <jansson.h>

#include "../lib/counters.h"

/* Set on o the members rx_bytes, rx_datagrams, tx_bytes, tx_datagrams, dropped_datagrams and
 * drops (an object of the drop reasons, counters_drop_names[], each a count): 0, or -1 when out
 * of memory (o may then hold some of them). */
int counters_json_set(json_t *o, const struct counters *c);

#endif
