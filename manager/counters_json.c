#include "api.h"
#include "counters_json.h"

int
counters_json_set(json_t *o, const struct counters *c)
{
	json_t *drops = json_object();
	int rv = 0;

	if (drops == NULL)
		return -1;
	for (int i = 0; i < COUNTERS_DROP_N; i++)
		rv |= json_object_set_new(drops, counters_drop_names[i], api_count(c->drops[i]));
	rv |= json_object_set_new(o, "rx_bytes", api_count(c->rx_bytes));
	rv |= json_object_set_new(o, "rx_datagrams", api_count(c->rx_packets));
	rv |= json_object_set_new(o, "tx_bytes", api_count(c->tx_bytes));
	rv |= json_object_set_new(o, "tx_datagrams", api_count(c->tx_packets));
	rv |= json_object_set_new(o, "dropped_datagrams", api_count(c->dropped_packets));
	rv |= json_object_set_new(o, "drops", drops);
	return rv != 0 ? -1 : 0;
}
