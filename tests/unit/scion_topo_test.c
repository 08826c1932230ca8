/* The SCION topology file's border routers (agent/scion_topo.h): a topology as scionproto
 * writes it (other members left alone), the router of each interface, and every refusal naming
 * its member: not JSON, missing or mistyped members, bad ISD-AS, internal addresses that are
 * not a numeric HOST:PORT, interface IDs out of 1..65535 or claimed twice, no routers, a file
 * that is missing or too large. */
#include <stdio.h>
#include <string.h>

#include "../../agent/scion_topo.h"
#include "../../lib/isdas.h"
#include "check.h"

static const char good[] =
    "{\"attributes\": [\"core\"], \"isd_as\": \"1-ff00:0:110\", \"mtu\": 1472,\n"
    " \"control_service\": {\"cs1\": {\"addr\": \"127.0.0.11:31000\"}},\n"
    " \"border_routers\": {\n"
    "  \"br1\": {\"internal_addr\": \"127.0.0.9:31002\", \"interfaces\": {\n"
    "    \"1\": {\"underlay\": {\"local\": \"127.0.0.4:50000\", \"remote\": \"127.0.0.5:50000\"},\n"
    "           \"isd_as\": \"1-ff00:0:111\", \"link_to\": \"child\", \"mtu\": 1472},\n"
    "    \"41\": {\"isd_as\": \"1-ff00:0:112\", \"link_to\": \"child\"}}},\n"
    "  \"br2\": {\"internal_addr\": \"[fd00::9]:31004\", \"interfaces\": {\n"
    "    \"2\": {\"isd_as\": \"2-ff00:0:210\", \"link_to\": \"core\"}}}}}\n";

/* Parse text and expect a refusal whose reason holds want. */
static void
refused(const char *text, const char *want, const char *what)
{
	struct scion_topo t;
	char why[512] = "";
	int rv = scion_topo_parse(text, strlen(text), &t, why, sizeof(why));

	CHECK(rv == -1 && strstr(why, want) != NULL, "%s: refused, naming %s (\"%s\")", what, want,
	    why);
	scion_topo_free(&t);
}

static void
test_good(void)
{
	struct scion_topo t;
	struct addr a;
	char why[512] = "";
	uint64_t ia;
	const char *ia_why;
	int rv = scion_topo_parse(good, strlen(good), &t, why, sizeof(why));
	int r1, r2;

	isdas_parse("1-ff00:0:110", &ia, &ia_why);
	CHECK(rv == 0 && t.isd_as == ia && t.nrouters == 2 && t.nifs == 3,
	    "a scionproto topology: its ISD-AS, 2 routers, 3 interfaces (%s)", why);
	if (rv != 0)
		return;
	r1 = scion_topo_router_of(&t, 1);
	r2 = scion_topo_router_of(&t, 2);
	CHECK(
	    r1 >= 0 && r1 == scion_topo_router_of(&t, 41) && strcmp(t.routers[r1].name, "br1") == 0,
	    "interfaces 1 and 41 are br1's");
	addr_parse("127.0.0.9", &a);
	CHECK(r1 >= 0 && t.routers[r1].port == 31002 && memcmp(t.routers[r1].host.b, a.b, 4) == 0 &&
		t.routers[r1].host.family == 4,
	    "br1 at 127.0.0.9:31002");
	addr_parse("fd00::9", &a);
	CHECK(r2 >= 0 && r2 != r1 && t.routers[r2].port == 31004 &&
		t.routers[r2].host.family == 6 && memcmp(t.routers[r2].host.b, a.b, 16) == 0,
	    "interface 2 is br2's, at [fd00::9]:31004");
	CHECK(scion_topo_router_of(&t, 3) == -1 && scion_topo_router_of(&t, 0) == -1,
	    "interfaces 3 and 0: no router");
	scion_topo_free(&t);
}

static void
test_refusals(void)
{
	refused("{\"isd_as\": \"1-ff00:0:110\",", "not JSON", "cut JSON");
	refused("[]", "not a JSON object", "an array");
	refused("{\"border_routers\": {}}", "\"isd_as\"", "no isd_as");
	refused("{\"isd_as\": 7, \"border_routers\": {}}", "\"isd_as\"", "a number as isd_as");
	refused("{\"isd_as\": \"1-ff00:0:110:7\", \"border_routers\": {}}", "\"isd_as\"",
	    "a bad ISD-AS");
	refused("{\"isd_as\": \"0-ff00:0:110\", \"border_routers\": {}}", "\"isd_as\"", "ISD 0");
	refused("{\"isd_as\": \"1-ff00:0:110\"}", "\"border_routers\"", "no border_routers");
	refused(
	    "{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {}}", "has 0 routers", "no router");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": 3}}",
	    "\"border_routers.br1\" is not an object", "a router that is a number");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"interfaces\": "
		"{}}}}",
	    "\"border_routers.br1.internal_addr\" is missing", "no internal_addr");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9\", \"interfaces\": {}}}}",
	    "\"127.0.0.9\" is not a numeric HOST:PORT", "an address without a port");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9:0\", \"interfaces\": {}}}}",
	    "\"127.0.0.9:0\"", "port 0");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"br.example:31002\", \"interfaces\": {}}}}",
	    "\"br.example:31002\"", "a name, not an address");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"fd00::9:31002\", \"interfaces\": {}}}}",
	    "\"fd00::9:31002\"", "IPv6 without brackets");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9:31002\"}}}",
	    "\"border_routers.br1.interfaces\" is missing", "no interfaces");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9:31002\", \"interfaces\": {\"0\": {}}}}}",
	    "interface ID \"0\"", "interface 0");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9:31002\", \"interfaces\": {\"65536\": {}}}}}",
	    "interface ID \"65536\"", "interface 65536");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9:31002\", \"interfaces\": {\"-1\": {}}}}}",
	    "interface ID \"-1\"", "interface -1");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {\"br1\": {\"internal_addr\": "
		"\"127.0.0.9:31002\", \"interfaces\": {\"x1\": {}}}}}",
	    "interface ID \"x1\"", "interface x1");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"border_routers\": {"
		"\"br1\": {\"internal_addr\": \"127.0.0.9:31002\", \"interfaces\": {\"7\": {}}},"
		"\"br2\": {\"internal_addr\": \"127.0.0.10:31002\", \"interfaces\": {\"7\": {}}}}}",
	    "interface 7 is listed by two routers", "one interface, two routers");
	refused("{\"isd_as\": \"1-ff00:0:110\", \"isd_as\": \"1-ff00:0:111\"}", "not JSON",
	    "a member twice");
}

static void
test_load(void)
{
	struct scion_topo t;
	char path[512], why[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing.json", check_tmpdir());
	CHECK(scion_topo_load(path, &t, why, sizeof(why)) == -1 && strstr(why, path) != NULL &&
		strstr(why, "No such file") != NULL,
	    "a missing file: refused, naming it (\"%s\")", why);
	scion_topo_free(&t);
	snprintf(path, sizeof(path), "%s/topology.json", check_tmpdir());
	if ((f = fopen(path, "w")) != NULL) {
		fputs(good, f);
		fclose(f);
	}
	CHECK(scion_topo_load(path, &t, why, sizeof(why)) == 0 && t.nrouters == 2,
	    "the topology from a file");
	scion_topo_free(&t);
	if ((f = fopen(path, "w")) != NULL) {
		for (int i = 0; i <= SCION_TOPO_FILE_MAX; i += 16)
			fputs("                ", f);
		fclose(f);
	}
	CHECK(scion_topo_load(path, &t, why, sizeof(why)) == -1 && strstr(why, "over") != NULL,
	    "a file over %d bytes: refused (\"%s\")", SCION_TOPO_FILE_MAX, why);
	scion_topo_free(&t);
	remove(path);
}

int
main(void)
{
	test_good();
	test_refusals();
	test_load();
	return check_done();
}
